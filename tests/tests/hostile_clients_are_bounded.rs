//! Slow and hostile clients, against the real binary over raw sockets:
//!
//! - a request head sent a byte at a time is closed within the head
//!   timeout, on a new connection and on a kept-alive one;
//! - a header line of 1 MiB answers 431, on the API and the stream path;
//! - a request target over 64 KiB answers 414, on both, while one of
//!   33 KiB (32 long selectors) is served;
//! - `Content-Length` with `Transfer-Encoding` answers 400 and closes; a
//!   stream request (`GET`) that announces a body answers 400;
//! - 3000 half-open connections (a partial head each) leave `/health`
//!   answering promptly and the server's memory bounded.

use std::time::{Duration, Instant};

use tidings_tests::Tidings;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const HEAD_TIMEOUT: Duration = Duration::from_secs(1);

async fn server() -> Tidings {
    Tidings::start(&["--head-timeout", "1s"]).await
}

/// Sends `request` (ignoring a reset while sending: the server may answer
/// and close before it has read everything) and returns the response head's
/// status code and whether the server then closed the connection.
async fn answer(server: &Tidings, request: Vec<u8>) -> (u16, String) {
    let mut socket = TcpStream::connect(server.addr).await.expect("connect");
    let (mut rd, mut wr) = socket.split();
    let write = async {
        let _ = wr.write_all(&request).await;
    };
    let read = async {
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            match rd.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
            if got.windows(4).any(|w| w == b"\r\n\r\n") {
                break;
            }
        }
        got
    };
    let (_, got) =
        tokio::time::timeout(Duration::from_secs(20), async { tokio::join!(write, read) })
            .await
            .expect("an answer within 20 s");
    let head = String::from_utf8_lossy(&got).into_owned();
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {head:?}"));
    (status, head.to_ascii_lowercase())
}

/// Whether the server closes `socket` within `within` (reading what it sends).
async fn closed_within(socket: &mut TcpStream, within: Duration) -> bool {
    let mut buf = [0u8; 1024];
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, socket.read(&mut buf)).await {
            Err(_) => return false,
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => {}
        }
    }
}

#[tokio::test]
async fn a_head_sent_a_byte_at_a_time_is_closed_within_the_head_timeout() {
    let server = server().await;
    for path in ["/health", "/api/events"] {
        // Started before the connect: the server's timer starts at its
        // accept, which may run before this task resumes from the connect.
        let started = Instant::now();
        let mut socket = TcpStream::connect(server.addr).await.unwrap();
        let head = format!(
            "GET {path} HTTP/1.1\r\nhost: x\r\nx-slow: {}\r\n\r\n",
            "a".repeat(200)
        );
        let mut closed = false;
        for byte in head.bytes() {
            if socket.write_all(&[byte]).await.is_err() {
                closed = true;
                break;
            }
            if closed_within(&mut socket, Duration::from_millis(50)).await {
                closed = true;
                break;
            }
        }
        let took = started.elapsed();
        assert!(closed, "{path}: a head trickled over {took:?} was served");
        assert!(
            took >= HEAD_TIMEOUT && took < HEAD_TIMEOUT * 3,
            "{path}: closed after {took:?}, the head timeout is {HEAD_TIMEOUT:?}"
        );
    }

    // A kept-alive connection: the first request is answered, the second
    // head trickles and is closed within the same timeout.
    let mut socket = TcpStream::connect(server.addr).await.unwrap();
    socket
        .write_all(b"GET /health HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = vec![0u8; 4096];
    let n = socket.read(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    let started = Instant::now();
    let mut closed = false;
    for byte in
        b"GET /health HTTP/1.1\r\nhost: x\r\nx-slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
            .iter()
            .cycle()
            .take(400)
    {
        if socket.write_all(&[*byte]).await.is_err()
            || closed_within(&mut socket, Duration::from_millis(50)).await
        {
            closed = true;
            break;
        }
    }
    let took = started.elapsed();
    assert!(
        closed && took < HEAD_TIMEOUT * 3,
        "kept-alive trickle: closed {closed} after {took:?}"
    );
}

#[tokio::test]
async fn oversized_heads_and_targets_are_refused() {
    let server = server().await;
    let big = "a".repeat(1 << 20);
    for path in ["/health", "/api/events"] {
        let (status, _) = answer(
            &server,
            format!("GET {path} HTTP/1.1\r\nhost: x\r\nx-big: {big}\r\n\r\n").into_bytes(),
        )
        .await;
        assert_eq!(status, 431, "{path} with a 1 MiB header line");
        let long = "b".repeat(70 << 10);
        let (status, _) = answer(
            &server,
            format!("GET {path}?q={long} HTTP/1.1\r\nhost: x\r\n\r\n").into_bytes(),
        )
        .await;
        assert_eq!(status, 414, "{path} with a 70 KiB target");
    }
    // Just within the limit is served.
    let fits = "c".repeat(33 << 10);
    let (status, _) = answer(
        &server,
        format!("GET /health?q={fits} HTTP/1.1\r\nhost: x\r\n\r\n").into_bytes(),
    )
    .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn conflicting_framing_and_stream_bodies_are_refused() {
    let server = server().await;
    // A valid publish by its chunks: served by either framing it would
    // store an event.
    let json = r#"{"type":"t","data":1}"#;
    let smuggle = format!(
        "POST /api/publish HTTP/1.1\r\nhost: x\r\nauthorization: Bearer editor-secret\r\n\
         content-type: application/json\r\ncontent-length: {}\r\ntransfer-encoding: chunked\r\n\r\n\
         {:x}\r\n{json}\r\n0\r\n\r\n",
        json.len(),
        json.len()
    );
    let before = server.head().await;
    let (status, head) = answer(&server, smuggle.into_bytes()).await;
    assert_eq!(status, 400);
    assert!(head.contains("connection: close"), "{head}");
    for body in [
        "content-length: 5\r\n\r\nhello",
        "transfer-encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
    ] {
        for path in ["/api/events", "/.well-known/mercure?topic=*"] {
            let (status, _) = answer(
                &server,
                format!("GET {path} HTTP/1.1\r\nhost: x\r\n{body}").into_bytes(),
            )
            .await;
            assert_eq!(status, 400, "GET {path} announcing a body ({body:?})");
        }
    }
    assert_eq!(server.head().await, before, "nothing was published");
    // The same publish with one framing is stored: the refusal above is
    // the conflict's.
    let chunked = format!(
        "POST /api/publish HTTP/1.1\r\nhost: x\r\nauthorization: Bearer editor-secret\r\n\
         content-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n\
         {:x}\r\n{json}\r\n0\r\n\r\n",
        json.len()
    );
    assert_eq!(answer(&server, chunked.into_bytes()).await.0, 202);
    // An empty body announced as such is no body.
    let (status, _) = answer(
        &server,
        b"GET /api/events HTTP/1.1\r\nhost: x\r\ncontent-length: 0\r\n\r\n".to_vec(),
    )
    .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn three_thousand_half_open_connections_leave_health_answering() {
    let server = Tidings::start(&["--head-timeout", "30s"]).await;
    let before = server.rss_kib();
    let mut held = Vec::with_capacity(3000);
    for i in 0..3000 {
        let mut socket = TcpStream::connect(server.addr).await.expect("connect");
        let partial: &[u8] = if i % 2 == 0 {
            b"GET /api/ev"
        } else {
            b"GET /health HTTP/1.1\r\nhost"
        };
        socket.write_all(partial).await.unwrap();
        held.push(socket);
    }
    // Give the server time to accept and read them all.
    tokio::time::sleep(Duration::from_millis(500)).await;
    for _ in 0..5 {
        let started = Instant::now();
        let (status, _) = server.get_json("/health").await;
        assert_eq!(status, 200);
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "/health took {:?}",
            started.elapsed()
        );
    }
    let grown = server.rss_kib().saturating_sub(before);
    assert!(
        grown < 64 * 1024,
        "3000 half-open connections grew the server by {grown} KiB"
    );
    println!(
        "3000 half-open connections: +{grown} KiB RSS ({} B each)",
        grown * 1024 / 3000
    );
}
