//! The lean path for long-lived streams: `GET /api/events` on a socket the
//! server accepted is answered here, straight from the core, without an
//! HTTP framework under it.
//!
//! A connection then holds its task, its subscription and a write buffer that
//! is empty while idle — not hyper's 8 KB read and write buffers, which exist
//! for the whole life of a connection and are the bulk of per-stream memory
//! with thousands of idle clients. The response is HTTP/1.1 with
//! `connection: close` and a close-delimited body, so frames go out as they
//! are, with no chunk framing. Every other request, and any later request on
//! a kept-alive connection, is served by poem through hyper (see
//! `accept.rs`); both paths share `routes/events.rs`.

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::SystemTime;

use bytes::BytesMut;
use futures::future::poll_fn;
use poem::IntoResponse;
use tokio::io::{AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::time::sleep;

use crate::http::credentials::Presented;
use crate::http::error::ApiError;
use crate::http::head;
use crate::http::routes::events::{self, Endpoint, MERCURE_LAST_EVENT_ID, Step};
use crate::http::selectors::HUB_PATH;
use crate::http::socket::Carrier;
use crate::http::state::AppState;

/// A write buffer grown past this by a burst is released once written.
const KEEP_BUFFER: usize = 16 << 10;

/// What the lean path needs from a request head: the head itself, which
/// endpoint it opens, and the headers that may carry a token (read once,
/// at open).
#[derive(Debug)]
pub struct StreamRequest {
    endpoint: Endpoint,
    head: head::StreamHead,
    presented: Presented,
}

/// Parses a complete request head; `Some` only for `GET /api/events` and
/// `GET /.well-known/mercure` over HTTP/1.x, which the lean path serves.
pub fn stream_request(head: &[u8]) -> Option<StreamRequest> {
    let mut head = head::stream_head(head)?;
    let endpoint = match head.path.as_str() {
        "/api/events" => Endpoint::Native,
        HUB_PATH => Endpoint::Hub,
        _ => return None,
    };
    let mut presented = Presented::default();
    for (name, value) in std::mem::take(&mut head.credentials) {
        presented.header(&name, &value);
    }
    Some(StreamRequest {
        endpoint,
        head,
        presented,
    })
}

/// The CORS grant for `origin`, if the allow-list names it.
fn cors(state: &AppState, origin: Option<&str>) -> Option<String> {
    let origin = origin?;
    state
        .config
        .cors_origins
        .iter()
        .any(|o| o == origin)
        .then(|| {
            format!(
                "access-control-allow-origin: {origin}\r\naccess-control-allow-credentials: true\r\n\
                 access-control-expose-headers: retry-after, www-authenticate, link, \
                 mercure-last-event-id\r\nvary: origin\r\n"
            )
        })
}

/// What woke a stream's task.
enum Woken {
    /// Frames to write.
    Frames,
    /// The broker closed: the server is shutting down.
    Closed,
    /// The client left (end of input or an error).
    Gone,
    /// Its token or lifetime ran out.
    Expired,
}

/// Serves one stream until the client leaves or the server shuts down.
pub async fn serve<C: Carrier>(
    mut socket: C,
    req: StreamRequest,
    state: Arc<AppState>,
    remote: SocketAddr,
) {
    let StreamRequest {
        endpoint,
        head,
        presented,
    } = req;
    let head::StreamHead {
        query,
        last_event_id,
        origin,
        announces_body,
        forwarded_for,
        ..
    } = head;
    let route = endpoint.path();
    let grant = cors(&state, origin.as_deref());
    if announces_body {
        let err = ApiError::bad_request("a stream request has no body");
        return refuse(socket, err, grant.as_deref(), &state, route).await;
    }
    let access = state
        .credentials
        .subscriber(&presented, query.as_deref(), SystemTime::now());
    drop(presented);
    let access = match access {
        Ok(access) => access,
        Err(denied) => return refuse(socket, denied.into(), grant.as_deref(), &state, route).await,
    };
    let admitted = state.admit_stream(
        Some(remote.ip()),
        forwarded_for.as_deref(),
        access.subject.as_deref(),
    );
    // The client's count is held for as long as its stream.
    let _slot = match admitted {
        Ok(slot) => slot,
        Err(err) => return refuse(socket, err, grant.as_deref(), &state, route).await,
    };
    let mut opening = match events::open(last_event_id, query.as_deref(), &state, endpoint) {
        Ok(opening) => opening,
        Err(err) => return refuse(socket, err, grant.as_deref(), &state, route).await,
    };
    drop(query);
    opening.authorize(access.authorization);
    // A stream ends when its token expires or its lifetime is up.
    let ending = events::Ending::of(&state, access.expires_at);
    let mut expiry = ending.as_ref().map(|e| Box::pin(sleep(e.left())));
    let mut step = match opening.step(&state).await {
        Ok(step) => step,
        Err(err) => return refuse(socket, err, grant.as_deref(), &state, route).await,
    };
    state.metrics.record_request(route, 200);
    let reconciliation = opening.reconciliation(&step);

    let mut out = BytesMut::with_capacity(256);
    out.extend_from_slice(
        b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\n\
          x-accel-buffering: no\r\nconnection: close\r\n",
    );
    if let Some(grant) = &grant {
        out.extend_from_slice(grant.as_bytes());
    }
    if let Some(id) = reconciliation {
        out.extend_from_slice(format!("{MERCURE_LAST_EVENT_ID}: {id}\r\n").as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(&events::preamble(&state));
    // Older events from the bus first, then the subscription; a failure on
    // the way closes the stream and the client resumes from its last id.
    let mut sub = loop {
        match step {
            Step::Live(sub) => break sub,
            Step::Replay(frames) => {
                out.extend_from_slice(&frames);
                if send(&mut socket, &out).await.is_err() {
                    return;
                }
                out.clear();
                step = match opening.step(&state).await {
                    Ok(step) => step,
                    Err(_) => return,
                };
            }
        }
    };
    // What opened the stream is not needed while it lasts.
    drop((opening, grant));
    if send(&mut socket, &out).await.is_err() {
        return;
    }
    out = BytesMut::new();

    let mut scratch = [0u8; 64];
    loop {
        // Every frame ready at a wake-up goes out in one write. Reading at the
        // same time notices a client that left, so it stops counting as
        // connected at once rather than at the next write; what a client
        // sends on a stream is ignored.
        let woken = poll_fn(|cx| {
            let mut read = ReadBuf::new(&mut scratch);
            match Pin::new(&mut socket).poll_read(cx, &mut read) {
                Poll::Ready(Ok(())) if read.filled().is_empty() => return Poll::Ready(Woken::Gone),
                Poll::Ready(Err(_)) => return Poll::Ready(Woken::Gone),
                // Read again at the next poll.
                Poll::Ready(Ok(())) => cx.waker().wake_by_ref(),
                Poll::Pending => {}
            }
            if let Some(expiry) = expiry.as_mut()
                && expiry.as_mut().poll(cx).is_ready()
            {
                return Poll::Ready(Woken::Expired);
            }
            sub.poll_frames(cx, &mut out).map(|batch| match batch {
                Some(_) => Woken::Frames,
                None => Woken::Closed,
            })
        })
        .await;
        match woken {
            Woken::Frames => {
                if send(&mut socket, &out).await.is_err() {
                    return;
                }
                out.clear();
                if out.capacity() > KEEP_BUFFER {
                    out = BytesMut::new();
                }
            }
            Woken::Gone => return,
            Woken::Expired => {
                let last = ending.as_ref().map(|e| e.frame.clone()).unwrap_or_default();
                let _ = socket.write_all(&last).await;
                let _ = socket.shutdown().await;
                return;
            }
            Woken::Closed => break,
        }
    }
    let _ = socket.write_all(&events::farewell(&state)).await;
    let _ = socket.shutdown().await;
}

/// Writes `bytes` and flushes: over TLS, records the socket could not take
/// at once would otherwise wait in the session until the next write.
async fn send<C: AsyncWrite + Unpin>(socket: &mut C, bytes: &[u8]) -> std::io::Result<()> {
    socket.write_all(bytes).await?;
    socket.flush().await
}

/// Answers a stream that cannot be opened with its error.
async fn refuse<C: AsyncWrite + Unpin>(
    mut socket: C,
    err: ApiError,
    grant: Option<&str>,
    state: &AppState,
    route: &'static str,
) {
    let status = err.status().as_u16();
    let mut resp = err.into_response();
    let metadata = crate::http::metadata_url(&state.hub_url);
    crate::http::point_to_metadata(resp.headers_mut(), &metadata);
    write_response(&mut socket, resp, grant).await;
    state.metrics.record_request(route, status);
}

/// Writes a small complete response (an error) and closes.
async fn write_response<C: AsyncWrite + Unpin>(
    socket: &mut C,
    resp: poem::Response,
    grant: Option<&str>,
) {
    let status = resp.status();
    let mut head = format!(
        "HTTP/1.1 {} {}\r\nconnection: close\r\n",
        status.as_u16(),
        status.canonical_reason().unwrap_or("")
    );
    for (name, value) in resp.headers() {
        if let Ok(value) = value.to_str() {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
    }
    head.push_str(grant.unwrap_or(""));
    let body = resp.into_body().into_bytes().await.unwrap_or_default();
    head.push_str(&format!("content-length: {}\r\n\r\n", body.len()));
    let _ = socket.write_all(head.as_bytes()).await;
    let _ = socket.write_all(&body).await;
    let _ = socket.shutdown().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_get_api_events_takes_the_lean_path() {
        let ok = stream_request(
            b"GET /api/events?types=a HTTP/1.1\r\nLast-Event-ID: x-1\r\nOrigin: o\r\n\r\n",
        )
        .unwrap();
        assert_eq!(ok.head.query.as_deref(), Some("types=a"));
        assert_eq!(ok.head.last_event_id.as_deref(), Some("x-1"));
        assert_eq!(ok.head.origin.as_deref(), Some("o"));
        for other in [
            &b"POST /api/events HTTP/1.1\r\n\r\n"[..],
            b"GET /api/eventsx HTTP/1.1\r\n\r\n",
            b"GET /health HTTP/1.1\r\n\r\n",
            b"GET /api/events HTTP/1.1\r\nUpgrade: h2c\r\n\r\n",
            b"GET /api/events HTTP/1.1\r\n",
            b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
        ] {
            assert!(
                stream_request(other).is_none(),
                "{:?}",
                String::from_utf8_lossy(other)
            );
        }
    }
}
