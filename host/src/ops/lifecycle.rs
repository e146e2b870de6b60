//! Readiness and in-flight writes, for a graceful shutdown: `/ready` turns
//! 503, new writes are refused, writes under way finish, then the streams
//! end.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::time::Duration;

use tokio::sync::Notify;

/// Whether the server is serving, and which writes are under way.
#[derive(Debug, Default)]
pub struct Lifecycle {
    stopping: AtomicBool,
    writes: AtomicUsize,
    idle: Notify,
}

/// Held for the duration of one write; dropping it ends the write.
#[derive(Debug)]
pub struct WriteGuard(Arc<Lifecycle>);

impl Drop for WriteGuard {
    fn drop(&mut self) {
        if self.0.writes.fetch_sub(1, SeqCst) == 1 {
            self.0.idle.notify_waiters();
        }
    }
}

impl Lifecycle {
    /// Whether shutdown has begun.
    pub fn is_stopping(&self) -> bool {
        self.stopping.load(SeqCst)
    }

    /// Registers a write, or `None` once shutdown has begun.
    pub fn begin_write(self: &Arc<Self>) -> Option<WriteGuard> {
        self.writes.fetch_add(1, SeqCst);
        let guard = WriteGuard(self.clone());
        // Checked after counting, so `stop` either sees this write or the
        // write sees `stopping`.
        (!self.is_stopping()).then_some(guard)
    }

    /// Begins shutdown and waits, at most `deadline`, for writes under way.
    /// Returns whether they all finished.
    pub async fn stop(&self, deadline: Duration) -> bool {
        self.stopping.store(true, SeqCst);
        tokio::time::timeout(deadline, async {
            loop {
                let idle = self.idle.notified();
                if self.writes.load(SeqCst) == 0 {
                    return;
                }
                idle.await;
            }
        })
        .await
        .is_ok()
    }
}
