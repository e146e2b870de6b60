//! The client model: a simulated browser that reads its stream as an
//! `EventSource` does, and the log of everything it saw.
//!
//! A client reads only through [`Subscription::poll_frames`] and the SSE
//! [`Parser`], the way a server writes and a browser reads, so every entry
//! of its log went through the wire format. It does not decide when it is
//! read: the simulator polls it after its waker fired (see the `sim` module's
//! `# Discipline`).
//!
//! The wire carries no topics, so a log entry's topics, private flag and
//! seq come from the simulator, which knows every event the ring holds
//! ([`Known`]); an event is always still held when a client reads it.
//! Its waker counts the doorbell's rings, so a client knows how often it
//! was woken and how often a wake-up found nothing to read.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::task::{Context, Poll};

use bytes::BytesMut;
use futures::task::{ArcWake, waker};
use serde::Serialize;
use tidings_core::wire::{ParsedEvent, Parser};
use tidings_core::{Millis, Subscription, TopicFilter};

use crate::sim::topics::ClientFilter;

/// What a client log entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LogKind {
    /// The client connected (`id`: the `Last-Event-ID` it sent, if any).
    Connect,
    /// The client disconnected.
    Disconnect,
    /// The client stopped reading.
    Stall,
    /// The client started reading again.
    Resume,
    /// A stored event (it has an id).
    Event,
    /// The id-less `server.state` snapshot sent first on every connection.
    State,
    /// A `stream.reset` notice (`reason` says why).
    Reset,
    /// An id-less `heartbeat`.
    Heartbeat,
}

/// How a stored event reached a client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Published while the client was connected and reading.
    Live,
    /// Replayed on connect, after the `Last-Event-ID` the client sent.
    Replay,
    /// Published while the client was stalled, read from the ring on resume.
    CatchUp,
}

/// One line of a client's log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LogEntry {
    /// Virtual time, in milliseconds.
    pub at: u64,
    /// What happened.
    pub kind: LogKind,
    /// For stored events, how they came.
    pub phase: Option<Phase>,
    /// The event id; for `connect`, the `Last-Event-ID` sent.
    pub id: Option<String>,
    /// For stored events, the place in the history (the id may be the
    /// publisher's).
    pub seq: Option<u64>,
    /// For stored events, their topics (the wire does not carry them).
    pub topics: Vec<String>,
    /// For stored events, whether it was private.
    pub private: bool,
    /// The SSE event type.
    #[serde(rename = "type")]
    pub event_type: Option<String>,
    /// The event data.
    pub data: Option<String>,
    /// For `stream.reset`: `lagged`, `history_exceeded`, `unknown_epoch` or
    /// `invalid_id`.
    pub reason: Option<String>,
    /// Which connection of this client, from 1.
    pub connection: u32,
    /// Which write of the server carried it, counted per client from 1.
    pub write: Option<u64>,
}

impl LogEntry {
    /// An entry with only the fields every kind has.
    pub(super) fn note(at: Millis, kind: LogKind, connection: u32, id: Option<String>) -> LogEntry {
        LogEntry {
            at: at.0,
            kind,
            phase: None,
            id,
            seq: None,
            topics: Vec::new(),
            private: false,
            event_type: None,
            data: None,
            reason: None,
            connection,
            write: None,
        }
    }
}

/// A waker that only records that it fired, and counts how often: only
/// the client's doorbell holds it, so each wake is one ring.
#[derive(Debug, Default)]
pub(super) struct Flag {
    fired: AtomicBool,
    rings: AtomicU64,
}

impl ArcWake for Flag {
    fn wake_by_ref(arc_self: &Arc<Self>) {
        arc_self.rings.fetch_add(1, Ordering::SeqCst);
        arc_self.fired.store(true, Ordering::SeqCst);
    }
}

impl Flag {
    /// Whether it fired (or was poked) since the last call; clears it.
    pub(super) fn take(&self) -> bool {
        self.fired.swap(false, Ordering::SeqCst)
    }

    /// Marks the client due for a read without a ring: the simulator's own
    /// scheduling (a connection's first frames, a resume), not a wake-up.
    pub(super) fn poke(&self) {
        self.fired.store(true, Ordering::SeqCst);
    }

    /// Rings so far.
    pub(super) fn rings(&self) -> u64 {
        self.rings.load(Ordering::SeqCst)
    }
}

/// What the simulator knows of a stored event a client read.
#[derive(Debug)]
pub(super) struct Known {
    pub(super) seq: u64,
    pub(super) topics: Vec<String>,
    pub(super) private: bool,
}

/// Finds the event a client read: from its SSE id, the seq of the last
/// event the client read on this connection, and the client's filter.
pub(super) type Resolve<'a> = dyn Fn(&str, u64, &TopicFilter) -> Option<Known> + 'a;

/// One simulated browser tab: its connection, its `EventSource` state and
/// everything it has seen.
#[derive(Debug)]
pub(super) struct Client {
    pub(super) name: String,
    pub(super) sub: Option<Subscription>,
    pub(super) flag: Arc<Flag>,
    pub(super) parser: Parser,
    pub(super) stalled: bool,
    /// What a browser's `EventSource` keeps across reconnects.
    pub(super) last_id: Option<String>,
    pub(super) log: Vec<LogEntry>,
    pub(super) connections: u32,
    pub(super) writes: u64,
    pub(super) received: u64,
    pub(super) resets: u64,
    /// Private events received.
    pub(super) private_received: u64,
    /// Wake-ups after which reading found nothing.
    pub(super) idle_wakeups: u64,
    /// The waker's rings when it was last read.
    pub(super) rings_seen: u64,
    /// What its connections select and may see.
    pub(super) filter: ClientFilter,
    /// `filter`, compiled.
    pub(super) topic_filter: TopicFilter,
    /// Seq of the last stored event read on this connection (at connect,
    /// the one its delivery starts after).
    pub(super) position: u64,
    /// Events the ring holds past its cursor that its filter admits.
    pub(super) backlog: u64,
    /// Whether such an event was evicted before it read it: its next read
    /// is a lagged reset.
    pub(super) lost: bool,
    /// Stored events up to this seq are a replay on this connection.
    pub(super) replay_until: u64,
    /// Stored events up to this seq are a catch-up after a stall.
    pub(super) catch_up_until: u64,
}

impl Client {
    /// A client that has never connected.
    pub(super) fn new(name: &str) -> Client {
        Client {
            name: name.to_owned(),
            sub: None,
            flag: Arc::default(),
            parser: Parser::new(),
            stalled: false,
            last_id: None,
            log: Vec::new(),
            connections: 0,
            writes: 0,
            received: 0,
            resets: 0,
            private_received: 0,
            idle_wakeups: 0,
            rings_seen: 0,
            filter: ClientFilter::default(),
            topic_filter: TopicFilter::default(),
            position: 0,
            backlog: 0,
            lost: false,
            replay_until: 0,
            catch_up_until: 0,
        }
    }

    /// Polls until pending, as an executor does after a wake-up; every
    /// ready batch is one write, parsed as a browser would. Returns the
    /// seqs of the stored events read.
    pub(super) fn pull(&mut self, now: Millis, resolve: &Resolve<'_>) -> Vec<u64> {
        // Taken out while its events are recorded, put back after.
        let Some(mut sub) = self.sub.take() else {
            return Vec::new();
        };
        let rings = self.flag.rings();
        let woken = rings > self.rings_seen;
        self.rings_seen = rings;
        let waker = waker(self.flag.clone());
        let mut cx = Context::from_waker(&waker);
        let mut out = BytesMut::new();
        let mut parsed = Vec::new();
        let mut read = Vec::new();
        let writes = self.writes;
        // The simulator never closes its broker, so streams never end.
        while let Poll::Ready(Some(_)) = sub.poll_frames(&mut cx, &mut out) {
            self.writes += 1;
            self.parser
                .feed(&out, &mut parsed)
                .expect("the core's frames always parse");
            out.clear();
            for event in parsed.drain(..) {
                read.extend(self.record(event, now, resolve));
            }
        }
        if woken && self.writes == writes {
            self.idle_wakeups += 1;
        }
        // Read until pending: nothing it admits is left, and a lag was told.
        self.backlog = 0;
        self.lost = false;
        self.sub = Some(sub);
        read
    }

    /// Logs one parsed event; its seq if it is a stored one.
    fn record(&mut self, event: ParsedEvent, now: Millis, resolve: &Resolve<'_>) -> Option<u64> {
        let mut entry = LogEntry::note(now, LogKind::Event, self.connections, event.id.clone());
        entry.write = Some(self.writes);
        let mut seq = None;
        match &event.id {
            Some(id) => {
                let known = resolve(id, self.position, &self.topic_filter)
                    .expect("an event is held by the ring when a client reads it");
                self.position = known.seq;
                seq = Some(known.seq);
                entry.seq = seq;
                entry.private = known.private;
                entry.topics = known.topics;
                self.private_received += u64::from(known.private);
                let seq = known.seq;
                entry.phase = Some(if seq <= self.replay_until {
                    Phase::Replay
                } else if seq <= self.catch_up_until {
                    Phase::CatchUp
                } else {
                    Phase::Live
                });
                self.last_id = Some(id.clone());
                self.received += 1;
            }
            None => match event.event.as_str() {
                "stream.reset" => {
                    entry.kind = LogKind::Reset;
                    entry.reason = serde_json::from_str::<serde_json::Value>(&event.data)
                        .ok()
                        .and_then(|v| v["reason"].as_str().map(str::to_owned));
                    self.resets += 1;
                }
                "heartbeat" => entry.kind = LogKind::Heartbeat,
                _ => entry.kind = LogKind::State,
            },
        }
        entry.event_type = Some(event.event);
        entry.data = Some(event.data);
        self.log.push(entry);
        seq
    }
}
