//! The server's own accept loop. Each connection's first request head is
//! read into a small buffer: `GET /api/events` goes to the lean stream path
//! (`lean.rs`); everything else is handed, with the bytes already
//! read, to poem through hyper's HTTP/1 connection.
//!
//! Lean streams run on a runtime of their own ([`streams_runtime`]), with
//! the flusher that rings their doorbells, apart from the one that accepts
//! connections and answers requests. With thousands of streams woken by
//! each ring, a publish request sharing their run queue would wait behind
//! all of them, so publish latency would grow with the number of clients;
//! on its own threads it is scheduled by the OS next to them.
//!
//! Shutdown, in order: `/ready` turns 503 and new writes are refused while
//! writes under way finish (the loop still accepts, so probes can see it);
//! then the hub closes — every stream delivers what was stored and ends with
//! its farewell — accepting stops, kept-alive connections finish their
//! current request, and the loop returns once every connection is gone or
//! the deadline has passed.

use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Buf, Bytes, BytesMut};
use http_body_util::combinators::BoxBody;
use hyper_util::rt::TokioIo;
use poem::endpoint::BoxEndpoint;
use poem::web::{LocalAddr, RemoteAddr};
use poem::{Addr, Endpoint};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::runtime::{Handle, Runtime};
use tokio::sync::{mpsc, watch};

use super::lean;
use crate::http::state::AppState;

/// Largest request head read before dispatch; hyper answers larger ones.
const MAX_HEAD: usize = 16 << 10;
/// A client that sends no complete head within this time is dropped.
const HEAD_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves `listener` until `signal` resolves, then shuts down within the
/// configured deadline. Lean streams run on `streams` (see
/// [`streams_runtime`]).
pub async fn serve(
    listener: TcpListener,
    endpoint: BoxEndpoint<'static>,
    state: Arc<AppState>,
    streams: Handle,
    signal: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let local = listener.local_addr()?;
    let endpoint = Arc::new(endpoint);
    let deadline = state.config.shutdown_timeout;
    let (closing_tx, closing_rx) = watch::channel(false);
    // Every connection task holds a sender; when all are gone, `recv` ends.
    let (alive_tx, mut alive_rx) = mpsc::channel::<()>(1);

    let (drained_tx, mut drained_rx) = tokio::sync::oneshot::channel();
    let lifecycle = state.lifecycle.clone();
    tokio::spawn(async move {
        signal.await;
        tracing::info!("shutting down");
        if !lifecycle.stop(deadline / 2).await {
            tracing::warn!("writes still running at the shutdown deadline");
        }
        let _ = drained_tx.send(());
    });

    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((socket, remote)) => {
                    let conn = Conn {
                        state: state.clone(),
                        endpoint: endpoint.clone(),
                        local,
                        remote,
                        closing: closing_rx.clone(),
                        streams: streams.clone(),
                        alive: alive_tx.clone(),
                    };
                    tokio::spawn(conn.run(socket));
                }
                Err(e) => {
                    // Out of descriptors or similar: back off, keep serving.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            },
            _ = &mut drained_rx => break,
        }
    }
    drop(listener);
    state.hub.close();
    let _ = closing_tx.send(true);
    drop(alive_tx);
    if tokio::time::timeout(deadline / 2, alive_rx.recv())
        .await
        .is_err()
    {
        tracing::warn!("connections still open at the shutdown deadline");
    }
    tracing::info!("stopped");
    Ok(())
}

struct Conn {
    state: Arc<AppState>,
    endpoint: Arc<BoxEndpoint<'static>>,
    local: SocketAddr,
    remote: SocketAddr,
    closing: watch::Receiver<bool>,
    streams: Handle,
    alive: mpsc::Sender<()>,
}

/// The runtime for lean streams and the tasks that wake them, with
/// `workers` threads (default: one fewer than the cores, at least one; see
/// `--stream-workers`). Its owner ends it with `shutdown_background`, as
/// dropping a runtime from async code would block.
pub fn streams_runtime(workers: Option<u16>) -> io::Result<Runtime> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let workers = workers.map_or(cores.saturating_sub(1).max(1), usize::from);
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .thread_name("tidings-streams")
        .enable_all()
        .build()
}

impl Conn {
    async fn run(mut self, mut socket: TcpStream) {
        let _ = socket.set_nodelay(true);
        let mut head = BytesMut::with_capacity(1024);
        let complete = tokio::time::timeout(HEAD_TIMEOUT, async {
            loop {
                match socket.read_buf(&mut head).await {
                    Ok(0) | Err(_) => return false,
                    Ok(_) if head.windows(4).any(|w| w == b"\r\n\r\n") => return true,
                    Ok(_) if head.len() >= MAX_HEAD => return true,
                    Ok(_) => {}
                }
            }
        })
        .await;
        if !matches!(complete, Ok(true)) {
            return;
        }
        if let Some(req) = lean::stream_request(&head) {
            drop(head);
            // Moved to the streams' runtime, its I/O registered there too.
            let Ok(socket) = socket.into_std() else {
                return;
            };
            let (state, alive) = (self.state, self.alive);
            self.streams.spawn(async move {
                if let Ok(socket) = TcpStream::from_std(socket) {
                    lean::serve(socket, req, state).await;
                }
                drop(alive);
            });
            return;
        }
        let io = Rewind {
            prefix: head.freeze(),
            inner: socket,
        };
        let (endpoint, local, remote) = (self.endpoint.clone(), self.local, self.remote);
        let service =
            hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                let endpoint = endpoint.clone();
                async move {
                    let req: poem::Request = (
                        req,
                        LocalAddr(Addr::SocketAddr(local)),
                        RemoteAddr(Addr::SocketAddr(remote)),
                        poem::http::uri::Scheme::HTTP,
                    )
                        .into();
                    let resp = endpoint.get_response(req).await;
                    Ok::<_, Infallible>(hyper::Response::<BoxBody<Bytes, io::Error>>::from(resp))
                }
            });
        let conn =
            hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(io), service);
        tokio::pin!(conn);
        tokio::select! {
            _ = conn.as_mut() => {}
            // Sent once, after the last connection was accepted.
            _ = self.closing.changed() => {
                conn.as_mut().graceful_shutdown();
                let _ = conn.await;
            }
        }
    }
}

/// A socket whose first bytes were already read: they are read again first.
struct Rewind {
    prefix: Bytes,
    inner: TcpStream,
}

impl AsyncRead for Rewind {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if !self.prefix.is_empty() {
            let n = self.prefix.len().min(buf.remaining());
            buf.put_slice(&self.prefix[..n]);
            self.prefix.advance(n);
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for Rewind {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
