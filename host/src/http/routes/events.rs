//! `GET /api/events`: the SSE stream.
//!
//! Sends `retry:` first, then the current `server.state`, then replay, then
//! live events, as the core's pre-encoded frames: every frame queued at a
//! wake-up goes out in one write. When the server shuts down the stream ends
//! with a final `server.state` and a jittered `retry:`, so reconnects spread.

use std::sync::Arc;
use std::time::SystemTime;

use bytes::{Bytes, BytesMut};
use futures::{StreamExt, stream};
use poem::http::StatusCode;
use poem::web::Data;
use poem::{Body, Request, Response, handler};
use tidings_core::topic::Matcher;
use tidings_core::{
    Dialect, EARLIEST, Kind, MESSAGE_KIND, Start, SubscribeError, SubscribeOptions, Subscription,
    TopicFilter, wire,
};
use tokio::time::sleep;

use crate::http::credentials::{Presented, expiry_notice};
use crate::http::error::ApiError;
pub use crate::http::selectors::{Endpoint, EventsQuery};
use crate::http::state::AppState;

fn parse_types(types: &str) -> Result<Vec<Kind>, ApiError> {
    types
        .split(',')
        .map(|t| {
            Kind::new(t.trim()).map_err(|e| ApiError::bad_request(format!("types: {t:?}: {e}")))
        })
        .collect()
}

/// A stream being opened. On a node with a bus, a client whose last id is
/// older than the ring first gets the missing events read from the bus, in
/// chunks, then the subscription continues after them; only events the bus
/// no longer holds end in `stream.reset`.
#[derive(Debug)]
pub struct Opening {
    options: SubscribeOptions,
    topics: TopicFilter,
    replayed: bool,
    dialect: Dialect,
    /// The last id the client gave, as given.
    requested: Option<String>,
}

/// The next part of a stream being opened.
#[derive(Debug)]
pub enum Step {
    /// Frames of older events read from the bus; more steps follow.
    Replay(Bytes),
    /// The subscription: replay from the ring, then live events.
    Live(Subscription),
}

/// Starts opening a stream for a request whose query is `query` (see
/// [`EventsQuery`]): the `Last-Event-ID` header wins over the
/// `last_event_id` parameter; `types` and the selectors filter stored
/// events. The stream sees public events only until
/// [`Opening::authorize`] gives it the subscriber's grants. Shared by this
/// route and the lean path of `http/lean.rs`.
pub fn open(
    header_last_id: Option<String>,
    query: Option<&str>,
    state: &AppState,
    endpoint: Endpoint,
) -> Result<Opening, ApiError> {
    let query = EventsQuery::parse(query.unwrap_or(""), state.config.mercure_v0, endpoint)?;
    let last_event_id = header_last_id.or(query.last_event_id);
    let kinds = query.types.as_deref().map(parse_types).transpose()?;
    let selectors = query
        .selectors
        .as_deref()
        .map(|s| state.selectors.compile(s))
        .transpose()?;
    Ok(Opening {
        requested: last_event_id.clone(),
        options: SubscribeOptions {
            last_event_id,
            kinds,
        },
        topics: TopicFilter {
            selectors,
            authorization: Vec::new(),
        },
        replayed: false,
        dialect: endpoint.dialect(),
    })
}

impl Opening {
    /// Lets the stream receive the private events a topic of which matches
    /// one of `authorization` (the subscriber's grants), live or replayed.
    pub fn authorize(&mut self, authorization: Vec<Arc<Matcher>>) {
        self.topics.authorization = authorization;
    }

    /// The `Mercure-Last-Event-ID` of a stream whose first step is
    /// `first`, when the client gave a last id: that id when it named an
    /// event delivery continues after, else `earliest` (the protocol's "no
    /// preceding event": history gone, or nothing before it).
    pub fn reconciliation(&self, first: &Step) -> Option<String> {
        let requested = self.requested.as_deref()?;
        let found = match first {
            Step::Replay(_) => true,
            Step::Live(sub) => matches!(sub.start(), Start::After(seq) if seq > 0),
        };
        Some(
            if found && requested != EARLIEST {
                requested
            } else {
                EARLIEST
            }
            .to_owned(),
        )
    }

    /// The next step; call again after each [`Step::Replay`].
    pub async fn step(&mut self, state: &AppState) -> Result<Step, ApiError> {
        let mut step = self.next_step(state).await?;
        if let Step::Live(sub) = &mut step {
            sub.speak(self.dialect);
        }
        Ok(step)
    }

    async fn next_step(&mut self, state: &AppState) -> Result<Step, ApiError> {
        let broker = state.hub.broker();
        let refused = |e| match e {
            SubscribeError::Full => {
                ApiError::unavailable("too_many_clients", "too many streams are open", 5)
            }
            SubscribeError::Closed => {
                ApiError::unavailable("shutting_down", "the server is shutting down", 5)
            }
        };
        let subscribe = |options: &SubscribeOptions, topics: &TopicFilter| {
            broker
                .subscribe_with(options.clone(), topics.clone())
                .map(Step::Live)
                .map_err(refused)
        };
        let Some(bus) = state.hub.bus() else {
            return subscribe(&self.options, &self.topics);
        };
        if !self.replayed {
            self.resolve_supplied(state).await?;
            self.await_reader(state).await;
        }
        if let Some(sub) = broker
            .subscribe_retained_with(self.options.clone(), self.topics.clone())
            .map_err(refused)?
        {
            return Ok(Step::Live(sub));
        }
        // The id is of the current epoch and older than the ring.
        let epoch = broker.epoch();
        let Some((_, last)) = self.last_id() else {
            // Not reached: the broker only misses ids it could parse.
            return subscribe(&self.options, &self.topics);
        };
        let head = broker.head().seq();
        let records = bus.read_after(last).await.map_err(|e| {
            tracing::warn!(error = %e, "replay from the bus failed");
            ApiError::unavailable("bus_unavailable", "replay is unavailable; retry later", 5)
        })?;
        if records.first().map(|r| r.seq) != Some(last + 1) {
            // Gone from the bus too: the subscription says so.
            return subscribe(&self.options, &self.topics);
        }
        let mut out = BytesMut::new();
        if !self.replayed {
            if let Some(state) = broker.state_frame() {
                out.extend_from_slice(&state);
            }
            self.replayed = true;
        }
        let mut next = last;
        for r in records.iter().take_while(|r| r.seq <= head) {
            next = r.seq;
            // The broker's delivery rule, for events it no longer holds.
            let ev = &r.event;
            let kind = ev.kind.as_ref().map_or(MESSAGE_KIND, Kind::as_str);
            let wanted = self
                .options
                .kinds
                .as_ref()
                .is_none_or(|k| k.iter().any(|k| k.as_str() == kind))
                && self.topics.admits(&ev.topics, ev.private);
            if wanted {
                let id = match (&ev.supplied_id, self.dialect) {
                    (Some(id), _) => id.to_string(),
                    (None, Dialect::Native) => format!("{epoch}-{}", r.seq),
                    (None, Dialect::Mercure) => format!("#{epoch}-{}", r.seq),
                };
                let kind = ev.kind.as_ref().map(Kind::as_str);
                wire::encode_event(&mut out, Some(&id), kind, &ev.data)
                    .expect("stored kinds and ids encode");
            }
        }
        self.options.last_event_id = Some(format!("{epoch}-{next}"));
        Ok(Step::Replay(out.freeze()))
    }

    /// On a bus, a last id a publisher supplied is resolved by the bus (the
    /// same answer on every node, whatever this node's ring holds) and
    /// replaced by the generated id of that event.
    async fn resolve_supplied(&mut self, state: &AppState) -> Result<(), ApiError> {
        let (Some(bus), Some(last)) = (state.hub.bus(), self.options.last_event_id.as_deref())
        else {
            return Ok(());
        };
        let seq = bus.supplied_seq(last).await.map_err(|e| {
            tracing::warn!(error = %e, "resolving a supplied id on the bus failed");
            ApiError::unavailable("bus_unavailable", "replay is unavailable; retry later", 5)
        })?;
        if let Some(seq) = seq {
            let epoch = state.hub.broker().epoch();
            self.options.last_event_id = Some(format!("{epoch}-{seq}"));
        }
        Ok(())
    }

    /// The epoch and seq of the client's last id, if it has that shape (in
    /// either dialect's spelling).
    fn last_id(&self) -> Option<(&str, u64)> {
        let last = self.options.last_event_id.as_deref()?;
        let (epoch, seq) = last.strip_prefix('#').unwrap_or(last).rsplit_once('-')?;
        Some((epoch, seq.parse().ok()?))
    }

    /// A client may come from a node further along the bus than this one:
    /// its last id is then ahead of this node's head for a moment. Waits
    /// (at most `--probe-timeout`) for this node's reader to get there,
    /// rather than calling a valid id invalid.
    async fn await_reader(&self, state: &AppState) {
        let broker = state.hub.broker();
        let Some((epoch, seq)) = self.last_id() else {
            return;
        };
        let deadline = tokio::time::Instant::now() + state.config.probe_timeout;
        while epoch == broker.epoch().as_str()
            && seq > broker.head().seq()
            && tokio::time::Instant::now() < deadline
        {
            tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        }
    }
}

/// The response header that tells a resuming client where delivery
/// continues (the Mercure protocol's reconciliation).
pub const MERCURE_LAST_EVENT_ID: &str = "mercure-last-event-id";

/// The first frame of every stream: the reconnection delay.
pub fn preamble(state: &AppState) -> Bytes {
    let mut first = BytesMut::new();
    wire::encode_retry(&mut first, state.config.retry_ms);
    first.freeze()
}

/// Opens a stream (this route serves clients that reach poem, e.g. tests
/// through its test client; sockets accepted by the server take the lean
/// path of `http/lean.rs`).
#[handler]
pub async fn events(req: &Request, state: Data<&Arc<AppState>>) -> Result<Response, ApiError> {
    stream_response(req, &state, Endpoint::Native).await
}

/// `GET /.well-known/mercure`: the Mercure protocol's stream (selectors
/// required, ids as `#<epoch>-<seq>` fragments, keep-alive comments), on
/// the same history and the same path through the core.
#[handler]
pub async fn hub_events(req: &Request, state: Data<&Arc<AppState>>) -> Result<Response, ApiError> {
    stream_response(req, &state, Endpoint::Hub).await
}

/// Opens a stream of `endpoint` for a request that reached poem.
pub async fn stream_response(
    req: &Request,
    state: &Arc<AppState>,
    endpoint: Endpoint,
) -> Result<Response, ApiError> {
    let header = req
        .headers()
        .get("last-event-id")
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    let access = state.credentials.subscriber(
        &Presented::from_request(req),
        req.uri().query(),
        SystemTime::now(),
    )?;
    let forwarded = forwarded_for(req.headers());
    let peer = req.remote_addr().as_socket_addr().map(|a| a.ip());
    let slot = state.admit_stream(peer, forwarded.as_deref(), access.subject.as_deref())?;
    let mut opening = open(header, req.uri().query(), state, endpoint)?;
    opening.authorize(access.authorization);
    // Errors before the first frame are answers; later ones end the stream
    // and the client resumes from the last id it got.
    let first_step = opening.step(state).await?;
    let reconciliation = opening.reconciliation(&first_step);
    let first = preamble(state);
    let steps = {
        let state = Arc::clone(state);
        stream::unfold((Some(first_step), Some(opening)), move |(step, opening)| {
            let state = state.clone();
            async move {
                let mut opening = opening?;
                let step = match step {
                    Some(step) => step,
                    None => opening.step(&state).await.ok()?,
                };
                let rest = matches!(step, Step::Replay(_)).then_some(opening);
                Some((step, (None, rest)))
            }
        })
    };
    let live = steps.flat_map(|step| match step {
        Step::Replay(frames) => stream::once(async move { frames }).left_stream(),
        Step::Live(mut sub) => {
            let mut buf = BytesMut::new();
            // Every frame ready at a wake-up, copied from the ring into
            // one buffer: one write per wake-up, whatever the number of
            // events.
            stream::poll_fn(move |cx| {
                sub.poll_frames(cx, &mut buf)
                    .map(|batch| batch.map(|_| buf.split().freeze()))
            })
            .right_stream()
        }
    });
    // A stream ends when its token expires or its lifetime is up, with
    // that ending's frame; otherwise at shutdown with the farewell.
    let ending = Arc::new(Ending::of(state, access.expires_at));
    let until = {
        let ending = ending.clone();
        async move {
            match ending.as_ref() {
                Some(ending) => sleep(ending.left()).await,
                None => std::future::pending().await,
            }
        }
    };
    let live = live.take_until(until);
    let farewell = {
        let state = Arc::clone(state);
        stream::once(async move {
            match ending.as_ref() {
                Some(ending) if SystemTime::now() >= ending.at => ending.frame.clone(),
                _ => farewell(&state),
            }
        })
    };
    let body = stream::once(async move { first })
        .chain(live)
        .chain(farewell)
        // The client's count is held for as long as its stream.
        .map(move |frame| {
            let _held = &slot;
            Ok::<Bytes, std::io::Error>(frame)
        });

    let mut response = Response::builder()
        .status(StatusCode::OK)
        .content_type("text/event-stream")
        .header("cache-control", "no-cache")
        .header("x-accel-buffering", "no");
    if let Some(id) = reconciliation {
        response = response.header(MERCURE_LAST_EVENT_ID, id);
    }
    Ok(response.body(Body::from_bytes_stream(body)))
}

/// Every `X-Forwarded-For` of a request, joined as one list.
fn forwarded_for(headers: &poem::http::HeaderMap) -> Option<String> {
    let all: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    (!all.is_empty()).then(|| all.join(","))
}

/// When a stream ends before shutdown, and what it is sent last: its
/// token's expiry (a `stream.expired` notice), or `--stream-lifetime`
/// (a `retry:`, so the client resumes with its last id), whichever comes
/// first.
#[derive(Debug)]
pub struct Ending {
    /// When.
    pub at: SystemTime,
    /// The last frame.
    pub frame: Bytes,
}

impl Ending {
    /// The ending of a stream opened now whose token expires at
    /// `token_expires` (`None`: no token, or one without `exp`).
    pub fn of(state: &AppState, token_expires: Option<SystemTime>) -> Option<Ending> {
        let now = SystemTime::now();
        let lifetime = state.config.stream_lifetime.map(|l| now + l);
        match (token_expires, lifetime) {
            (Some(token), Some(life)) if life < token => Some(Ending::lifetime(state, life)),
            (Some(token), _) => Some(Ending {
                at: token,
                frame: expiry_notice(),
            }),
            (None, Some(life)) => Some(Ending::lifetime(state, life)),
            (None, None) => None,
        }
    }

    fn lifetime(state: &AppState, at: SystemTime) -> Ending {
        let mut frame = BytesMut::new();
        wire::encode_retry(&mut frame, state.config.retry_ms);
        Ending {
            at,
            frame: frame.freeze(),
        }
    }

    /// Time left from now (zero once due).
    pub fn left(&self) -> std::time::Duration {
        self.at
            .duration_since(SystemTime::now())
            .unwrap_or_default()
    }
}

/// The last frames of a stream ended by shutdown: the state clients should
/// assume, and a retry delay spread over `[retry, 3 × retry]`.
pub fn farewell(state: &AppState) -> Bytes {
    let last = state.mode.last_transition();
    let data = serde_json::json!({
        "from": last.to,
        "to": last.to,
        "reason": "shutdown",
        "at": state.hub.clock().now(),
    })
    .to_string();
    let mut out = BytesMut::new();
    wire::encode_event(&mut out, None, Some(tidings_core::STATE_KIND), &data)
        .expect("constant kind encodes");
    let mut jitter = [0u8; 2];
    let spread = match getrandom::fill(&mut jitter) {
        Ok(()) => {
            u64::from(u16::from_le_bytes(jitter)) * 2 * state.config.retry_ms / u64::from(u16::MAX)
        }
        Err(_) => state.config.retry_ms,
    };
    wire::encode_retry(&mut out, state.config.retry_ms + spread);
    out.freeze()
}
