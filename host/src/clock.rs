//! The server's clock, fed into the core as [`Millis`].

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use tidings_core::Millis;

/// Milliseconds since the Unix epoch, read from a monotonic clock anchored
/// at start-up, so the broker's flush pacing never sees time go backwards.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    wall_at_start: u64,
    start: Instant,
}

impl Clock {
    /// A clock anchored now.
    pub fn new() -> Clock {
        let wall = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        Clock {
            wall_at_start: wall.as_millis() as u64,
            start: Instant::now(),
        }
    }

    /// The current time.
    pub fn now(&self) -> Millis {
        Millis(self.wall_at_start + self.start.elapsed().as_millis() as u64)
    }

    /// The instant at which [`now`](Self::now) will read `at`.
    pub fn instant_of(&self, at: Millis) -> Instant {
        self.start + std::time::Duration::from_millis(at.0.saturating_sub(self.wall_at_start))
    }

    /// Time since start-up.
    pub fn uptime(&self) -> std::time::Duration {
        self.start.elapsed()
    }
}

impl Default for Clock {
    fn default() -> Self {
        Clock::new()
    }
}
