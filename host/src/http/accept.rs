//! The server's own accept loop. Each connection's first request head is
//! read into a small buffer: `GET /api/events` goes to the lean stream path
//! (`lean.rs`); everything else is handed, with the bytes already
//! read, to poem through hyper's HTTP/1 connection.
//!
//! With TLS (`tls.rs`) the handshake comes first, within the same head
//! timeout. A client that negotiated `h2` by ALPN has its whole connection
//! served by hyper's HTTP/2 on the streams' runtime: its streams are
//! delivered there like lean ones, and each request that is not a stream is
//! answered on the request runtime, so a publish never waits behind the
//! streams. HTTP/1.1 over TLS is dispatched as plain HTTP/1.1 is.
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
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http_body_util::combinators::BoxBody;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulConnection;
use poem::endpoint::BoxEndpoint;
use poem::http::StatusCode;
use poem::http::uri::Scheme;
use poem::web::{LocalAddr, RemoteAddr};
use poem::{Addr, Endpoint};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::runtime::{Handle, Runtime};
use tokio::sync::{mpsc, watch};

use super::socket::{Carrier, Rewind, Socket};
use super::tls::Tls;
use super::{head, lean};
use crate::http::selectors::HUB_PATH;
use crate::http::state::AppState;

/// Largest request head read before dispatch; hyper answers larger ones.
const MAX_HEAD: usize = 16 << 10;

/// The answer to a head with both `Content-Length` and `Transfer-Encoding`.
const CONFLICTING_FRAMING: &[u8] = b"HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\
    content-type: application/json\r\ncontent-length: 77\r\n\r\n\
    {\"error\":\"bad_request\",\"message\":\"both Content-Length and Transfer-Encoding\"}";

/// Serves `listener` until `signal` resolves, then shuts down within the
/// configured deadline. Lean streams run on `streams` (see
/// [`streams_runtime`]); with `tls`, every connection is TLS.
pub async fn serve(
    listener: TcpListener,
    endpoint: BoxEndpoint<'static>,
    state: Arc<AppState>,
    streams: Handle,
    tls: Option<Tls>,
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
                        requests: Handle::current(),
                        streams: streams.clone(),
                        alive: alive_tx.clone(),
                    };
                    let _ = socket.set_nodelay(true);
                    let socket = Socket::new(socket);
                    match tls.clone() {
                        None => tokio::spawn(conn.run(socket, Scheme::HTTP)),
                        Some(tls) => tokio::spawn(conn.run_tls(socket, tls)),
                    };
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
    requests: Handle,
    streams: Handle,
    alive: mpsc::Sender<()>,
}

/// The runtime for lean streams and the tasks that wake them, with
/// `workers` threads ([`Config::workers`](crate::Config::workers)). Its
/// owner ends it with `shutdown_background`, as dropping a runtime from
/// async code would block.
pub fn streams_runtime(workers: usize) -> io::Result<Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .thread_name("tidings-streams")
        .enable_all()
        .build()
}

/// Whether a request is a stream (served where streams are).
fn is_stream(req: &hyper::Request<hyper::body::Incoming>) -> bool {
    req.method() == hyper::Method::GET && matches!(req.uri().path(), "/api/events" | HUB_PATH)
}

impl Conn {
    /// TLS first: a handshake not done within the head timeout is dropped.
    async fn run_tls(self, socket: Socket, tls: Tls) {
        let timeout = self.state.config.head_timeout;
        let accepted = tokio::time::timeout(timeout, tls.acceptor().accept(socket)).await;
        let Ok(Ok(tls)) = accepted else {
            return;
        };
        if tls.get_ref().1.alpn_protocol() == Some(b"h2") {
            self.run_h2(tls).await;
        } else {
            self.run(tls, Scheme::HTTPS).await;
        }
    }

    /// Reads the first request head and dispatches: a stream to the lean
    /// path, anything else to hyper's HTTP/1.
    async fn run<C: Carrier>(self, mut io: C, scheme: Scheme) {
        let mut head = BytesMut::with_capacity(1024);
        let complete = tokio::time::timeout(self.state.config.head_timeout, async {
            loop {
                match io.read_buf(&mut head).await {
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
        if head::conflicting_framing(&head) {
            // Later requests of a kept-alive connection are hyper's: it reads
            // such a request by its Transfer-Encoding and then closes.
            let _ = io.write_all(CONFLICTING_FRAMING).await;
            let _ = io.shutdown().await;
            return;
        }
        if let Some(req) = lean::stream_request(&head) {
            drop(head);
            // Moved to the streams' runtime, its I/O registered there too.
            let Ok(io) = io.detach() else {
                return;
            };
            let (state, alive, remote) = (self.state, self.alive, self.remote);
            self.streams.spawn(async move {
                if let Ok(io) = io.attach() {
                    lean::serve(io, req, state, remote).await;
                }
                drop(alive);
            });
            return;
        }
        let io = Rewind::new(head.freeze(), io);
        let service = self.service(scheme, None);
        let conn = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(self.state.config.head_timeout)
            .serve_connection(TokioIo::new(io), service);
        until_done_or_closing(conn, self.closing).await;
    }

    /// An HTTP/2 connection, served on the streams' runtime.
    async fn run_h2<C: Carrier>(self, io: C) {
        let Ok(io) = io.detach() else {
            return;
        };
        let streams = self.streams.clone();
        streams.spawn(async move {
            let Ok(io) = io.attach() else {
                return;
            };
            let service = self.service(Scheme::HTTPS, Some(self.requests.clone()));
            let conn = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
                .timer(TokioTimer::new())
                .serve_connection(TokioIo::new(io), service);
            until_done_or_closing(conn, self.closing).await;
            drop(self.alive);
        });
    }

    /// The hyper service answering with poem. With `requests`, every request
    /// but a stream is answered on that runtime.
    fn service(&self, scheme: Scheme, requests: Option<Handle>) -> Answer {
        Answer {
            endpoint: self.endpoint.clone(),
            local: self.local,
            remote: self.remote,
            scheme,
            requests,
        }
    }
}

/// Serves `conn` until it ends; once `closing` changes (sent once, after
/// the last connection was accepted), it finishes its requests and ends.
async fn until_done_or_closing<C: GracefulConnection>(conn: C, mut closing: watch::Receiver<bool>) {
    tokio::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => {}
        _ = closing.changed() => {
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        }
    }
}

/// Answers hyper's requests with poem.
#[derive(Clone)]
struct Answer {
    endpoint: Arc<BoxEndpoint<'static>>,
    local: SocketAddr,
    remote: SocketAddr,
    scheme: Scheme,
    /// Where requests other than streams are answered, if not here.
    requests: Option<Handle>,
}

type Answered = hyper::Response<BoxBody<Bytes, io::Error>>;

impl hyper::service::Service<hyper::Request<hyper::body::Incoming>> for Answer {
    type Response = Answered;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Answered, Infallible>> + Send>>;

    fn call(&self, req: hyper::Request<hyper::body::Incoming>) -> Self::Future {
        let endpoint = self.endpoint.clone();
        let elsewhere = self.requests.clone().filter(|_| !is_stream(&req));
        let req: poem::Request = (
            req,
            LocalAddr(Addr::SocketAddr(self.local)),
            RemoteAddr(Addr::SocketAddr(self.remote)),
            self.scheme.clone(),
        )
            .into();
        Box::pin(async move {
            let resp = match elsewhere {
                None => endpoint.get_response(req).await,
                Some(handle) => handle
                    .spawn(async move { endpoint.get_response(req).await })
                    .await
                    .unwrap_or_else(|_| StatusCode::SERVICE_UNAVAILABLE.into()),
            };
            Ok(Answered::from(resp))
        })
    }
}
