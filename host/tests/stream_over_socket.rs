//! The SSE route over a real socket on port 0: `retry:` first, then the
//! current `server.state`, then live events; on shutdown the stream ends
//! with a final `server.state` and a jittered `retry:`.

use std::time::Duration;

use tidings_core::wire::{ParsedEvent, Parser};
use tidings_host::{Config, build};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// An HTTP/1.1 SSE response read straight off a socket.
struct RawStream {
    socket: TcpStream,
    pending: Vec<u8>,
    headers_done: bool,
    chunked: bool,
    parser: Parser,
}

impl RawStream {
    async fn open(addr: std::net::SocketAddr) -> RawStream {
        let mut socket = TcpStream::connect(addr).await.unwrap();
        socket
            .write_all(b"GET /api/events HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        RawStream {
            socket,
            pending: Vec::new(),
            headers_done: false,
            chunked: false,
            parser: Parser::new(),
        }
    }

    /// Reads until `n` events parsed or the stream ends.
    async fn events(&mut self, n: usize) -> Vec<ParsedEvent> {
        let mut out = Vec::new();
        let mut buf = vec![0u8; 8192];
        while out.len() < n {
            let read = tokio::time::timeout(Duration::from_secs(10), self.socket.read(&mut buf))
                .await
                .expect("data in time")
                .unwrap();
            if read == 0 {
                break;
            }
            self.pending.extend_from_slice(&buf[..read]);
            if !self.headers_done {
                let Some(end) = self.pending.windows(4).position(|w| w == b"\r\n\r\n") else {
                    continue;
                };
                let head = String::from_utf8_lossy(&self.pending[..end]).to_ascii_lowercase();
                assert!(head.starts_with("http/1.1 200"), "{head}");
                assert!(head.contains("content-type: text/event-stream"), "{head}");
                assert!(head.contains("cache-control: no-cache"), "{head}");
                assert!(head.contains("x-accel-buffering: no"), "{head}");
                self.chunked = head.contains("transfer-encoding: chunked");
                self.pending.drain(..end + 4);
                self.headers_done = true;
            }
            if !self.chunked {
                let body: Vec<u8> = self.pending.drain(..).collect();
                self.parser.feed(&body, &mut out).unwrap();
                continue;
            }
            // Chunked transfer encoding: take whole chunks only.
            let mut body = Vec::new();
            let mut rest = &self.pending[..];
            while let Some(eol) = rest.windows(2).position(|w| w == b"\r\n") {
                let size =
                    usize::from_str_radix(std::str::from_utf8(&rest[..eol]).unwrap().trim(), 16)
                        .unwrap();
                if rest.len() < eol + 2 + size + 2 {
                    break;
                }
                body.extend_from_slice(&rest[eol + 2..eol + 2 + size]);
                rest = &rest[eol + 2 + size + 2..];
            }
            let consumed = self.pending.len() - rest.len();
            self.pending.drain(..consumed);
            self.parser.feed(&body, &mut out).unwrap();
        }
        out
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_then_farewell_on_shutdown() {
    let server = build(Config::for_tests()).unwrap();
    let state = server.state.clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(server.run(listener, async move {
        let _ = stop_rx.await;
    }));

    let mut stream = RawStream::open(addr).await;
    let first = stream.events(1).await;
    assert_eq!(stream.parser.retry(), Some(state.config.retry_ms));
    assert_eq!(first[0].event, "server.state");
    assert_eq!(first[0].id, None);
    assert!(first[0].data.contains(r#""to":"normal""#));

    let kind = tidings_core::Kind::new("note").unwrap();
    let id = state
        .hub
        .publish(tidings_core::Event::new(kind, "{}"))
        .await
        .unwrap();
    let live = stream.events(1).await;
    assert_eq!(live[0].id.as_deref(), Some(id.to_string().as_str()));

    stop_tx.send(()).unwrap();
    let last = stream.events(1).await;
    assert_eq!(last[0].event, "server.state");
    assert!(last[0].data.contains(r#""reason":"shutdown""#));
    let retry = stream.parser.retry().unwrap();
    assert!(
        (state.config.retry_ms..=3 * state.config.retry_ms).contains(&retry),
        "{retry}"
    );
    assert!(stream.events(1).await.is_empty(), "the stream ends");
    tokio::time::timeout(Duration::from_secs(10), running)
        .await
        .expect("server stops")
        .unwrap()
        .unwrap();
}
