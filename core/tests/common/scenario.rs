//! A seeded scenario: many subscribers connect, disconnect, reconnect with
//! their last id, stall and resume while publishers burst past the ring.
//! Invariants are checked after every step.
//!
//! The driver is plain code over a manual clock and a waker flag per client,
//! so it runs the same natively and in WebAssembly.

use std::sync::Arc;

use std::task::{Context, Poll};

use bytes::BytesMut;
use futures::task::waker;
use tidings_core::wire::Parser;
use tidings_core::{
    Broker, BrokerConfig, Epoch, Event, EventId, Kind, Millis, ResetReason, SubscribeOptions,
    Subscription,
};

use super::{Flag, drain};

/// What a client saw, whichever interface it reads through.
#[derive(Debug)]
struct Seen {
    seq: Option<u64>,
    kind: String,
    reset: Option<ResetReason>,
}

fn reason_of(data: &str) -> Option<ResetReason> {
    let value: serde_json::Value = serde_json::from_str(data).ok()?;
    Some(match value["reason"].as_str()? {
        "unknown_epoch" => ResetReason::UnknownEpoch,
        "history_exceeded" => ResetReason::HistoryExceeded,
        "invalid_id" => ResetReason::InvalidId,
        "lagged" => ResetReason::Lagged,
        _ => return None,
    })
}

/// Polls a subscription as a real executor would after a wake-up: through
/// the `Stream` interface, or as a server does, through `poll_frames` and the
/// SSE parser. Returns what it saw and whether the stream ended.
fn pull(c: &mut Client) -> (Vec<Seen>, bool) {
    let sub = c.sub.as_mut().expect("connected");
    if !c.frames {
        let (items, ended) = drain(sub, &c.flag);
        let seen = items
            .iter()
            .map(|d| Seen {
                seq: d.id().map(EventId::seq),
                kind: d.kind().to_owned(),
                reset: d.reset_reason(),
            })
            .collect();
        return (seen, ended);
    }
    let waker = waker(c.flag.clone());
    let mut cx = Context::from_waker(&waker);
    let mut out = BytesMut::new();
    let mut parsed = Vec::new();
    let ended = loop {
        match sub.poll_frames(&mut cx, &mut out) {
            Poll::Ready(Some(_)) => {}
            Poll::Ready(None) => break true,
            Poll::Pending => break false,
        }
        c.parser.feed(&out, &mut parsed).expect("frames parse");
        out.clear();
    };
    let seen = parsed
        .into_iter()
        .map(|e| Seen {
            seq: e
                .id
                .map(|id| id.parse::<EventId>().expect("well-formed id").seq()),
            reset: (e.event == "stream.reset")
                .then(|| reason_of(&e.data))
                .flatten(),
            kind: e.event,
        })
        .collect();
    (seen, ended)
}

/// SplitMix64: tiny, seedable, the same on every platform.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

struct Client {
    sub: Option<Subscription>,
    /// Reads through `poll_frames` and the SSE parser instead of `Stream`.
    frames: bool,
    parser: Parser,
    flag: Arc<Flag>,
    stalled: bool,
    /// Seq of the last stored event received, across connections.
    last: Option<u64>,
    /// The seq the next stored event must have, unless a reset comes first.
    expect: Option<u64>,
}

/// What one seed did, to compare runs (native and wasm must agree).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcome {
    pub published: u64,
    pub delivered: u64,
    pub resets: u64,
    pub lagged: u64,
    pub catch_ups: u64,
    pub reconnects: u64,
}

/// Runs one seed; `Err` says which invariant broke at which step.
pub fn run(seed: u64, steps: usize) -> Result<Outcome, String> {
    let mut rng = Rng::new(seed);
    let history = 4 + rng.below(60) as usize;
    let config = BrokerConfig {
        history_size: history,
        history_max_bytes: None,
        flush_interval_ms: rng.below(3),
        // Either the publish or the host's timer rings.
        ring_on_publish: rng.below(2) == 0,
        max_batch: 1 + rng.below(16) as usize,
        max_subscribers: None,
    };
    let broker = Broker::new(Epoch::new("s").unwrap(), config);
    broker.set_state(r#"{"to":"normal"}"#);
    let kind = Kind::new("note").unwrap();
    let n_clients = 2 + rng.below(14) as usize;
    let mut clients: Vec<Client> = (0..n_clients)
        .map(|i| Client {
            sub: None,
            frames: i % 2 == 1,
            parser: Parser::new(),
            flag: Arc::new(Flag::default()),
            stalled: false,
            last: None,
            expect: None,
        })
        .collect();
    let mut now = Millis(0);
    let mut out = Outcome::default();
    let mut received = 0u64;

    for step in 0..steps {
        let fail = |msg: String| Err(format!("step {step}: {msg}"));
        match rng.below(100) {
            // Publish a burst, sometimes far past the ring and the batch size.
            0..=29 => {
                let span = if rng.chance(10) {
                    3 * history as u64
                } else {
                    8
                };
                let n = 1 + rng.below(span);
                for _ in 0..n {
                    let data = format!("{{\"n\":{}}}", out.published);
                    if rng.chance(3) {
                        broker
                            .publish_state(&data, now)
                            .map_err(|e| e.to_string())?;
                    } else {
                        broker
                            .publish(Event::new(kind.clone(), data), now)
                            .map_err(|e| e.to_string())?;
                    }
                    out.published += 1;
                }
            }
            // Time passes; the host's timer flushes.
            30..=44 => {
                now = now.saturating_add(rng.below(3));
                if broker.next_flush().is_some_and(|t| t <= now) && !broker.flush(now) {
                    return fail("flush was due but did not ring".into());
                }
            }
            45..=54 => {
                let c = &mut clients[rng.below(n_clients as u64) as usize];
                if c.sub.is_none() {
                    // Reconnect: mostly with the last id, sometimes fresh or junk.
                    let roll = rng.below(10);
                    let last_id = match (roll, c.last) {
                        (0, _) => None,
                        (1, _) => Some("junk".to_string()),
                        (2, _) => Some("other-5".to_string()),
                        (_, Some(seq)) => Some(format!("s-{seq}")),
                        (_, None) => None,
                    };
                    let ring_tail = broker.head().seq().saturating_sub(history as u64) + 1;
                    let head = broker.head().seq();
                    c.expect = match (roll, c.last) {
                        (3.., Some(seq)) if seq + 1 >= ring_tail => Some(seq + 1),
                        // Live only: nothing before the next publish.
                        _ => Some(head + 1),
                    };
                    let sub = broker
                        .subscribe(SubscribeOptions {
                            last_event_id: last_id.clone(),
                            kinds: None,
                        })
                        .map_err(|e| e.to_string())?;
                    c.sub = Some(sub);
                    c.parser = Parser::new();
                    let (first, _) = pull(c);
                    if first.first().map(|s| s.kind.as_str()) != Some("server.state") {
                        return fail("a subscription must start with server.state".into());
                    }
                    let want_reset = match (roll, c.last) {
                        (1, _) => Some(ResetReason::InvalidId),
                        (2, _) => Some(ResetReason::UnknownEpoch),
                        (3.., Some(seq)) if seq + 1 < ring_tail => {
                            Some(ResetReason::HistoryExceeded)
                        }
                        _ => None,
                    };
                    if first.get(1).and_then(|s| s.reset) != want_reset {
                        return fail(format!(
                            "connect with {last_id:?} (tail {ring_tail}, head {head}): wanted reset {want_reset:?}, got {:?}",
                            first.get(1)
                        ));
                    }
                    if last_id.is_some() {
                        out.reconnects += 1;
                    }
                    let rest = &first[1 + usize::from(want_reset.is_some())..];
                    received += absorb(c, rest, &broker, history)
                        .map_err(|m| format!("step {step}: {m}"))?;
                } else {
                    c.sub = None;
                }
            }
            55..=62 => {
                let c = &mut clients[rng.below(n_clients as u64) as usize];
                c.stalled = !c.stalled;
                if !c.stalled {
                    // Resuming: the executor polls it again.
                    futures::task::ArcWake::wake_by_ref(&c.flag);
                }
            }
            63..=65 => broker.heartbeat(),
            _ => {}
        }

        // Every client a real executor would poll now, is polled.
        for c in clients.iter_mut().filter(|c| !c.stalled) {
            if c.sub.is_none() || !c.flag.take() {
                continue;
            }
            let (items, ended) = pull(c);
            if ended {
                return Err(format!("step {step}: subscription ended before close"));
            }
            received +=
                absorb(c, &items, &broker, history).map_err(|m| format!("step {step}: {m}"))?;
        }

        // Liveness: once no flush is pending, every running client has
        // everything.
        if broker.next_flush().is_none() {
            let head = broker.head().seq();
            for (i, c) in clients.iter().enumerate() {
                if c.sub.is_some() && !c.stalled && c.expect.is_some_and(|e| e != head + 1) {
                    return Err(format!(
                        "step {step}: client {i} is idle at {:?} but head is {head}",
                        c.expect
                    ));
                }
            }
        }
    }

    drop(clients);
    let stats = broker.stats();
    if stats.delivered != received {
        return Err(format!(
            "delivered counter {} != received {received}",
            stats.delivered
        ));
    }
    if stats.published != out.published {
        return Err(format!(
            "published counter {} != {}",
            stats.published, out.published
        ));
    }
    out.delivered = stats.delivered;
    out.resets = stats.resets;
    out.lagged = stats.lagged;
    out.catch_ups = stats.catch_ups;
    Ok(out)
}

/// Checks what a client received against the model; returns how many
/// stored events it got.
fn absorb(c: &mut Client, items: &[Seen], broker: &Broker, history: usize) -> Result<u64, String> {
    let mut stored = 0;
    for d in items {
        if let Some(reason) = d.reset {
            if reason != ResetReason::Lagged {
                return Err(format!("unexpected {reason:?} reset while connected"));
            }
            // Justified only if the next event was evicted.
            let head = broker.head().seq();
            let tail = head.saturating_sub(history as u64) + 1;
            let expect = c.expect.ok_or("lagged reset before any cursor")?;
            if expect >= tail {
                return Err(format!(
                    "lagged reset but ring still held {expect} (tail {tail})"
                ));
            }
            c.expect = None;
            continue;
        }
        let Some(seq) = d.seq else {
            if d.kind != "heartbeat" && d.kind != "server.state" {
                return Err(format!("unexpected control event {}", d.kind));
            }
            continue;
        };
        if c.last.is_some_and(|last| seq <= last) {
            return Err(format!("ids must increase: {seq} after {:?}", c.last));
        }
        if let Some(expect) = c.expect
            && seq != expect
        {
            return Err(format!("gap or duplicate: got {seq}, expected {expect}"));
        }
        c.last = Some(seq);
        c.expect = Some(seq + 1);
        stored += 1;
    }
    Ok(stored)
}
