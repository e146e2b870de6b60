//! An SSE client over a real socket, parsing with the core's parser.

use std::collections::VecDeque;
use std::time::Duration;

use futures::StreamExt;
use futures::stream::BoxStream;
use tidings_core::wire::{ParsedEvent, Parser};

/// The client every stream is opened with. Built once: building one loads
/// the system's TLS roots, which costs milliseconds of CPU each time. It
/// keeps no idle connection, so every stream opens a fresh one, as after a
/// network drop.
fn stream_client() -> &'static reqwest::Client {
    static CLIENT: std::sync::OnceLock<reqwest::Client> = std::sync::OnceLock::new();
    CLIENT.get_or_init(|| {
        reqwest::Client::builder()
            .pool_max_idle_per_host(0)
            .build()
            .expect("client builds")
    })
}

/// One event as a client saw it.
pub type SseEvent = ParsedEvent;

/// A streaming `GET /api/events`.
pub struct SseClient {
    body: BoxStream<'static, reqwest::Result<bytes::Bytes>>,
    parser: Parser,
    queued: VecDeque<SseEvent>,
    /// The response status.
    pub status: u16,
    /// The response headers.
    pub headers: reqwest::header::HeaderMap,
    /// The HTTP version the response came over.
    pub version: reqwest::Version,
    ended: bool,
}

impl std::fmt::Debug for SseClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SseClient")
            .field("status", &self.status)
            .field("ended", &self.ended)
            .finish()
    }
}

impl SseClient {
    /// Opens `url` (a full URL, query included) with an optional
    /// `Last-Event-ID` header.
    pub async fn connect(url: &str, last_event_id: Option<&str>) -> SseClient {
        let headers: Vec<_> = last_event_id
            .map(|id| ("last-event-id", id))
            .into_iter()
            .collect();
        SseClient::connect_with(url, &headers).await
    }

    /// Opens `url` with these extra request headers (`Authorization`,
    /// `Cookie`, `Last-Event-ID`, …).
    pub async fn connect_with(url: &str, headers: &[(&str, &str)]) -> SseClient {
        SseClient::connect_via(stream_client(), url, headers).await
    }

    /// Opens `url` with `client` (TLS, a given HTTP version).
    pub async fn connect_via(
        client: &reqwest::Client,
        url: &str,
        headers: &[(&str, &str)],
    ) -> SseClient {
        let mut req = client.get(url).header("accept", "text/event-stream");
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        let resp = req.send().await.expect("stream request");
        SseClient {
            status: resp.status().as_u16(),
            version: resp.version(),
            headers: resp.headers().clone(),
            body: resp.bytes_stream().boxed(),
            parser: Parser::new(),
            queued: VecDeque::new(),
            ended: false,
        }
    }

    /// The next event within `timeout`; `None` on timeout or end of stream.
    pub async fn next(&mut self, timeout: Duration) -> Option<SseEvent> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Some(ev) = self.queued.pop_front() {
                return Some(ev);
            }
            if self.ended {
                return None;
            }
            match tokio::time::timeout_at(deadline, self.body.next()).await {
                Err(_) => return None,
                Ok(Some(Ok(chunk))) => {
                    let mut out = Vec::new();
                    self.parser.feed(&chunk, &mut out).expect("valid SSE");
                    self.queued.extend(out);
                }
                Ok(Some(Err(_))) | Ok(None) => self.ended = true,
            }
        }
    }

    /// The next event that is not a heartbeat.
    pub async fn next_non_heartbeat(&mut self, timeout: Duration) -> Option<SseEvent> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let ev = self.next(left).await?;
            if ev.event != "heartbeat" {
                return Some(ev);
            }
        }
    }

    /// Collects events until `n` stored events (with ids) arrived or
    /// `timeout` passed; control events are returned too.
    pub async fn collect_ids(&mut self, n: usize, timeout: Duration) -> Vec<SseEvent> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut out = Vec::new();
        let mut with_id = 0;
        while with_id < n {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let Some(ev) = self.next(left).await else {
                break;
            };
            with_id += usize::from(ev.id.is_some());
            out.push(ev);
        }
        out
    }

    /// The rest of the body as text (for a response that is not a stream,
    /// such as a refusal), within 20 s.
    pub async fn body_text(mut self) -> String {
        let mut body = Vec::new();
        let read = async {
            while let Some(Ok(chunk)) = self.body.next().await {
                body.extend_from_slice(&chunk);
            }
        };
        tokio::time::timeout(Duration::from_secs(20), read)
            .await
            .expect("the body ends");
        String::from_utf8_lossy(&body).into_owned()
    }

    /// The `retry:` value the server sent.
    pub fn retry(&self) -> Option<u64> {
        self.parser.retry()
    }

    /// The last id seen, as a browser would send it on reconnect.
    pub fn last_event_id(&self) -> &str {
        self.parser.last_event_id()
    }

    /// Whether the server ended the stream.
    pub fn ended(&self) -> bool {
        self.ended
    }
}

impl SseClient {
    /// The next stored event (one that carries an id), skipping control
    /// events; `None` on timeout or end of stream.
    pub async fn next_stored(&mut self, timeout: Duration) -> Option<SseEvent> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let ev = self.next(left).await?;
            if ev.id.is_some() {
                return Some(ev);
            }
        }
    }
}
