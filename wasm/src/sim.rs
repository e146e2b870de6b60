//! The replay simulator: one [`Broker`], one [`ModeMachine`], named
//! simulated clients and a virtual clock, driven by explicit actions.
//!
//! This is plain Rust (no wasm-bindgen types), so it is tested natively as
//! well as in WebAssembly; [`crate::Simulation`] wraps it for JavaScript.
//!
//! # Discipline
//!
//! Clients are polled the way an executor polls tasks, and the way the
//! core's seeded scenario driver does: each client has a waker that only
//! records that it fired, and after every action every connected client
//! that is not stalled and whose waker fired is polled until it is pending.
//! A stalled client is not polled, even when woken; its backlog is simply
//! the ring from its cursor to the head. Time passes only in
//! [`Sim::advance`], which runs probes, heartbeats and flushes as they fall
//! due on the virtual clock.
//!
//! Clients read through [`Subscription::poll_frames`] and the SSE
//! [`Parser`], as a server writes and a browser reads, so every delivery
//! shown went through the wire format.
//!
//! # Reproducibility
//!
//! Every successful action is recorded in canonical text form
//! ([`Sim::script`]). A new simulator with the same [`SimConfig`] that
//! applies that script ([`Sim::apply_script`]) ends in exactly the same
//! state: all randomness comes from the seeded [`Rng`].

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use bytes::BytesMut;
use futures::task::{ArcWake, waker};
use serde::{Deserialize, Serialize};
use tidings_core::mode::{Component, Mode, ModeConfig, ModeMachine, OperatorInput, Transition};
use tidings_core::wire::{ParsedEvent, Parser};
use tidings_core::{
    Broker, BrokerConfig, Epoch, Event, EventId, Kind, KindError, Millis, SubscribeOptions,
    Subscription,
};

/// Most events one burst publishes.
pub const MAX_BURST: u64 = 10_000;
/// Most virtual milliseconds one [`Sim::advance`] covers.
pub const MAX_ADVANCE_MS: u64 = 3_600_000;
/// Most clients a simulation holds.
pub const MAX_CLIENTS: usize = 64;
/// Most events the ring may be configured to hold.
pub const MAX_RING: usize = 4096;
/// Shortest heartbeat or probe interval, when enabled.
pub const MIN_TIMER_MS: u64 = 10;

/// The kinds a burst draws from.
const BURST_KINDS: [&str; 4] = [
    "item.created",
    "item.updated",
    "item.deleted",
    "revision.created",
];

/// SplitMix64: tiny, seedable and the same on every platform.
///
/// ```
/// use tidings_wasm::sim::Rng;
/// let mut a = Rng::new(7);
/// let mut b = Rng::new(7);
/// assert_eq!(a.next_u64(), b.next_u64());
/// assert!(a.below(10) < 10);
/// ```
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator whose sequence is fixed by `seed`.
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n`; `0` when `n` is `0`.
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next_u64() % n }
    }
}

/// How a simulation is set up. Every field has a default, so a partial
/// object (in JavaScript, `{ seed: 7 }`) is a complete configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct SimConfig {
    /// Seed of every random choice: burst payloads, chaos steps, the epoch.
    pub seed: u64,
    /// Events the history ring holds (1 to [`MAX_RING`]).
    pub ring_size: usize,
    /// The client queue: most events a client takes from the ring per
    /// wake-up, i.e. per write. A stalled client holds nothing; its backlog
    /// stays in the ring.
    pub batch_size: usize,
    /// Shortest time between two rings of the clients' doorbells (0 to
    /// 1000 ms; `0` rings on every publish).
    pub flush_interval_ms: u64,
    /// Virtual time between heartbeats; `0` sends none.
    pub heartbeat_interval_ms: u64,
    /// Virtual time between storage probes; `0` probes only on request.
    pub probe_interval_ms: u64,
    /// Consecutive failed probes after which storage is unhealthy.
    pub fail_threshold: u32,
    /// Consecutive successful probes after which it is healthy again.
    pub recover_threshold: u32,
    /// Whether the operator's read-only flag is set at the start.
    pub read_only: bool,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            seed: 1,
            ring_size: 16,
            batch_size: 4,
            flush_interval_ms: 1,
            heartbeat_interval_ms: 5_000,
            probe_interval_ms: 1_000,
            fail_threshold: 3,
            recover_threshold: 2,
            read_only: false,
        }
    }
}

/// Why a simulator refused a configuration or an action. A refused action
/// changes nothing and is not recorded in the script.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SimError {
    /// A configuration value is out of range.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// A client name is not 1 to 16 characters of `[A-Za-z0-9_]`.
    #[error("client name must be 1 to 16 characters of [A-Za-z0-9_]")]
    BadName,
    /// No client has that name.
    #[error("no client named {0}")]
    UnknownClient(String),
    /// The client is connected already.
    #[error("client {0} is already connected")]
    Connected(String),
    /// The client is not connected.
    #[error("client {0} is not connected")]
    NotConnected(String),
    /// [`MAX_CLIENTS`] clients exist already.
    #[error("a simulation holds at most {MAX_CLIENTS} clients")]
    TooManyClients,
    /// Publishing while the mode is `read_only`, as the server refuses it.
    #[error("writes are refused while the mode is read_only")]
    ReadOnly,
    /// An event type is not 1 to 64 characters of `[A-Za-z0-9._-]`.
    #[error(transparent)]
    Kind(#[from] KindError),
    /// A burst size outside 1 to [`MAX_BURST`].
    #[error("a burst publishes 1 to {MAX_BURST} events")]
    BadBurst,
    /// An advance longer than [`MAX_ADVANCE_MS`].
    #[error("advance by at most {MAX_ADVANCE_MS} ms at a time")]
    TooLong,
    /// A script action that does not parse.
    #[error("unknown action {0:?}")]
    BadAction(String),
    /// A script action that failed.
    #[error("action {index} ({action}): {source}")]
    Script {
        /// Position of the action in the script, from 0.
        index: usize,
        /// The action as written.
        action: String,
        /// Why it failed.
        source: Box<SimError>,
    },
}

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
    fn note(at: Millis, kind: LogKind, connection: u32, id: Option<String>) -> LogEntry {
        LogEntry {
            at: at.0,
            kind,
            phase: None,
            id,
            event_type: None,
            data: None,
            reason: None,
            connection,
            write: None,
        }
    }
}

/// A client as the page draws it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClientView {
    /// Its name.
    pub name: String,
    /// Whether it has a subscription.
    pub connected: bool,
    /// Whether it stopped reading.
    pub stalled: bool,
    /// Seq of the next stored event it will read, while connected.
    pub cursor: Option<u64>,
    /// Events the ring holds past its cursor, while connected.
    pub backlog: Option<u64>,
    /// Whether its next event was evicted: its next read is a lagged reset.
    pub behind_ring: bool,
    /// The `Last-Event-ID` it would send on reconnecting.
    pub last_id: Option<String>,
    /// Stored events received, across connections.
    pub received: u64,
    /// `stream.reset` notices received.
    pub resets: u64,
    /// Connections opened.
    pub connections: u32,
    /// Writes (wake-ups that delivered something) received.
    pub writes: u64,
    /// Entries in its log.
    pub log_length: usize,
}

/// One event held by the history ring.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RingEntry {
    /// Its id, `<epoch>-<seq>`.
    pub id: String,
    /// Its seq.
    pub seq: u64,
    /// Its type.
    #[serde(rename = "type")]
    pub event_type: String,
    /// Its data.
    pub data: String,
    /// When it was published.
    pub at: u64,
}

/// The history ring: the window of events a reconnecting client can still
/// be replayed.
///
/// The core keeps its ring private, so the simulator mirrors it: it knows
/// every event it published and the ring's count bound (it sets no byte
/// bound), which fixes exactly which events the core holds. Tests check the
/// mirror against the core's own replay decisions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RingView {
    /// The history's epoch.
    pub epoch: String,
    /// Most events held.
    pub capacity: usize,
    /// Seq of the oldest event held (`head + 1` when empty).
    pub tail: u64,
    /// Seq of the newest event stored (`0` before the first).
    pub head: u64,
    /// The events held, oldest first.
    pub events: Vec<RingEntry>,
}

/// The mode machine as the page draws it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ModeView {
    /// `normal`, `read_only` or `degraded`.
    pub mode: Mode,
    /// The operator's read-only flag.
    pub read_only: bool,
    /// Whether the machine considers storage healthy (after hysteresis).
    pub storage_healthy: bool,
    /// Whether the simulated store answers probes.
    pub storage_up: bool,
    /// Every transition, the start-up snapshot first.
    pub transitions: Vec<Transition>,
}

/// The broker's counters and the clock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StatsView {
    /// Virtual time, in milliseconds.
    pub now: u64,
    /// Events stored.
    pub published: u64,
    /// Stored events handed to clients (replays included).
    pub delivered: u64,
    /// Connections that were replayed events after their last id.
    pub catch_ups: u64,
    /// `stream.reset` notices sent.
    pub resets: u64,
    /// Of those, for clients that fell behind the ring.
    pub lagged: u64,
    /// Times the doorbells were rung.
    pub wakeups: u64,
    /// Connected clients.
    pub subscribers: usize,
    /// When stored events wait for the next wake-up: the time of the flush
    /// that will deliver them.
    pub flush_due: Option<u64>,
}

/// A waker that only records that it fired.
#[derive(Debug, Default)]
struct Flag(AtomicBool);

impl ArcWake for Flag {
    fn wake_by_ref(arc_self: &Arc<Self>) {
        arc_self.0.store(true, Ordering::SeqCst);
    }
}

impl Flag {
    fn take(&self) -> bool {
        self.0.swap(false, Ordering::SeqCst)
    }
}

#[derive(Debug)]
struct Client {
    name: String,
    sub: Option<Subscription>,
    flag: Arc<Flag>,
    parser: Parser,
    stalled: bool,
    /// What a browser's `EventSource` keeps across reconnects.
    last_id: Option<String>,
    log: Vec<LogEntry>,
    connections: u32,
    writes: u64,
    received: u64,
    resets: u64,
    /// Stored events up to this seq are a replay on this connection.
    replay_until: u64,
    /// Stored events up to this seq are a catch-up after a stall.
    catch_up_until: u64,
}

impl Client {
    fn new(name: &str) -> Client {
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
            replay_until: 0,
            catch_up_until: 0,
        }
    }

    /// Polls until pending, as an executor does after a wake-up; every
    /// ready batch is one write, parsed as a browser would.
    fn pull(&mut self, now: Millis) {
        // Taken out while its events are recorded, put back after.
        let Some(mut sub) = self.sub.take() else {
            return;
        };
        let waker = waker(self.flag.clone());
        let mut cx = Context::from_waker(&waker);
        let mut out = BytesMut::new();
        let mut parsed = Vec::new();
        // The simulator never closes its broker, so streams never end.
        while let Poll::Ready(Some(_)) = sub.poll_frames(&mut cx, &mut out) {
            self.writes += 1;
            self.parser
                .feed(&out, &mut parsed)
                .expect("the core's frames always parse");
            out.clear();
            for event in parsed.drain(..) {
                self.record(event, now);
            }
        }
        self.sub = Some(sub);
    }

    fn record(&mut self, event: ParsedEvent, now: Millis) {
        let mut entry = LogEntry::note(now, LogKind::Event, self.connections, event.id.clone());
        entry.write = Some(self.writes);
        match &event.id {
            Some(id) => {
                let seq = id.parse::<EventId>().map_or(0, |id| id.seq());
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
    }
}

/// A simulated Tidings server and its clients on a virtual clock.
///
/// ```
/// use tidings_wasm::sim::{Sim, SimConfig, LogKind};
///
/// let mut sim = Sim::new(SimConfig { ring_size: 4, ..SimConfig::default() }).unwrap();
/// sim.connect("A", true).unwrap();
/// sim.stall("A").unwrap();
/// sim.publish_burst(6).unwrap(); // more than the ring holds
/// sim.resume("A").unwrap();
/// let reset = sim.log("A", 0).unwrap().iter().find(|e| e.kind == LogKind::Reset).unwrap();
/// assert_eq!(reset.reason.as_deref(), Some("lagged"));
/// ```
#[derive(Debug)]
pub struct Sim {
    config: SimConfig,
    rng: Rng,
    broker: Broker,
    mode: ModeMachine,
    now: Millis,
    clients: Vec<Client>,
    ring: VecDeque<RingEntry>,
    transitions: Vec<Transition>,
    storage_up: bool,
    next_heartbeat: Option<Millis>,
    next_probe: Option<Millis>,
    script: Vec<String>,
    /// Events made by bursts so far, numbered in their data.
    made: u64,
}

impl Sim {
    /// A simulation at time 0 with no clients; the epoch is `s<seed in hex>`.
    ///
    /// ```
    /// use tidings_wasm::sim::{Sim, SimConfig, SimError};
    /// assert_eq!(Sim::new(SimConfig { seed: 255, ..SimConfig::default() }).unwrap().ring().epoch, "sff");
    /// let err = Sim::new(SimConfig { ring_size: 0, ..SimConfig::default() }).unwrap_err();
    /// assert!(matches!(err, SimError::Config(_)));
    /// ```
    pub fn new(config: SimConfig) -> Result<Sim, SimError> {
        let bad = |msg: &str| Err(SimError::Config(msg.to_owned()));
        if !(1..=MAX_RING).contains(&config.ring_size) {
            return bad("ringSize must be 1 to 4096");
        }
        if !(1..=MAX_RING).contains(&config.batch_size) {
            return bad("batchSize must be 1 to 4096");
        }
        if config.flush_interval_ms > 1000 {
            return bad("flushIntervalMs must be 0 to 1000");
        }
        for (name, ms) in [
            ("heartbeatIntervalMs", config.heartbeat_interval_ms),
            ("probeIntervalMs", config.probe_interval_ms),
        ] {
            if ms != 0 && !(MIN_TIMER_MS..=MAX_ADVANCE_MS).contains(&ms) {
                return bad(&format!("{name} must be 0 (off) or 10 to 3600000"));
            }
        }
        let mode_config = ModeConfig::new(config.fail_threshold, config.recover_threshold)
            .map_err(|e| SimError::Config(e.to_string()))?;
        let epoch = Epoch::new(&format!("s{:x}", config.seed)).expect("hex epochs are valid");
        let broker = Broker::new(
            epoch,
            BrokerConfig {
                history_size: config.ring_size,
                history_max_bytes: None,
                flush_interval_ms: config.flush_interval_ms,
                ring_on_publish: true,
                max_batch: config.batch_size,
                max_subscribers: None,
            },
        );
        let mode = ModeMachine::new(mode_config, config.read_only, Millis(0));
        broker.set_state(&mode.last_transition().to_json());
        let timer = |ms: u64| (ms > 0).then_some(Millis(ms));
        Ok(Sim {
            rng: Rng::new(config.seed),
            transitions: vec![*mode.last_transition()],
            next_heartbeat: timer(config.heartbeat_interval_ms),
            next_probe: timer(config.probe_interval_ms),
            config,
            broker,
            mode,
            now: Millis(0),
            clients: Vec::new(),
            ring: VecDeque::new(),
            storage_up: true,
            script: Vec::new(),
            made: 0,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &SimConfig {
        &self.config
    }

    /// Virtual time, in milliseconds.
    pub fn now(&self) -> u64 {
        self.now.0
    }

    /// Every successful action so far, in canonical form, comma-separated.
    pub fn script(&self) -> String {
        self.script.join(",")
    }

    // ---- actions -------------------------------------------------------

    /// Publishes one event, as `POST /api/publish` would; refused while the
    /// mode is `read_only`.
    pub fn publish(&mut self, event_type: &str, data: &str) -> Result<String, SimError> {
        let kind = Kind::new(event_type)?;
        let id = self.do_publish(kind, data.to_owned())?;
        self.record(format!("event:{event_type}:{}", percent_encode(data)));
        self.settle();
        Ok(id)
    }

    /// Publishes `n` events of random item kinds at the current time.
    pub fn publish_burst(&mut self, n: u64) -> Result<u64, SimError> {
        if !(1..=MAX_BURST).contains(&n) {
            return Err(SimError::BadBurst);
        }
        self.do_burst(n)?;
        self.record(format!("publish:{n}"));
        self.settle();
        Ok(self.broker.head().seq())
    }

    /// Publishes `n` events of random item kinds one virtual millisecond
    /// apart — a steady stream of writes rather than one burst — so clients
    /// that are reading keep up and only a stalled one falls behind.
    ///
    /// ```
    /// use tidings_wasm::sim::{Sim, SimConfig};
    /// let mut sim = Sim::new(SimConfig { ring_size: 4, ..SimConfig::default() }).unwrap();
    /// sim.connect("A", true).unwrap();
    /// sim.publish_stream(10).unwrap();
    /// assert_eq!((sim.now(), sim.clients()[0].received, sim.clients()[0].resets), (9, 10, 0));
    /// ```
    pub fn publish_stream(&mut self, n: u64) -> Result<u64, SimError> {
        if !(1..=MAX_BURST).contains(&n) {
            return Err(SimError::BadBurst);
        }
        if self.mode.mode() == Mode::ReadOnly {
            return Err(SimError::ReadOnly);
        }
        for i in 0..n {
            if i > 0 {
                self.do_advance(1);
            }
            self.do_burst(1)?;
            self.settle();
        }
        self.record(format!("stream:{n}"));
        Ok(self.broker.head().seq())
    }

    /// Connects `name` (creating it if new), sending its last id when
    /// `with_last_id` and it has one.
    pub fn connect(&mut self, name: &str, with_last_id: bool) -> Result<(), SimError> {
        let idx = self.client_for_connect(name)?;
        let last = if with_last_id {
            self.clients[idx].last_id.clone()
        } else {
            None
        };
        self.do_connect(idx, last);
        self.record(if with_last_id {
            format!("connect:{name}")
        } else {
            format!("connect-live:{name}")
        });
        Ok(())
    }

    /// Connects `name` sending `last_event_id` as given — a stale, foreign
    /// or malformed id shows the core's `stream.reset` answers.
    pub fn connect_from(&mut self, name: &str, last_event_id: &str) -> Result<(), SimError> {
        let idx = self.client_for_connect(name)?;
        self.do_connect(idx, Some(last_event_id.to_owned()));
        self.record(format!(
            "connect-id:{name}:{}",
            percent_encode(last_event_id)
        ));
        Ok(())
    }

    /// Drops `name`'s connection; it keeps its last id.
    pub fn disconnect(&mut self, name: &str) -> Result<(), SimError> {
        let idx = self.connected(name)?;
        self.do_disconnect(idx);
        self.record(format!("disconnect:{name}"));
        Ok(())
    }

    /// Stops reading `name`'s stream (a no-op if it is stalled already).
    pub fn stall(&mut self, name: &str) -> Result<(), SimError> {
        let idx = self.connected(name)?;
        self.do_stall(idx, true);
        self.record(format!("stall:{name}"));
        Ok(())
    }

    /// Reads `name`'s stream again: it catches up from the ring, or gets a
    /// lagged reset if its next event was evicted.
    pub fn resume(&mut self, name: &str) -> Result<(), SimError> {
        let idx = self.connected(name)?;
        self.do_stall(idx, false);
        self.record(format!("resume:{name}"));
        Ok(())
    }

    /// Lets `ms` milliseconds of virtual time pass, running every probe,
    /// heartbeat and flush that falls due, in time order.
    pub fn advance(&mut self, ms: u64) -> Result<u64, SimError> {
        if ms > MAX_ADVANCE_MS {
            return Err(SimError::TooLong);
        }
        self.do_advance(ms);
        self.record(format!("advance:{ms}"));
        Ok(self.now.0)
    }

    /// Feeds one storage probe outcome to the mode machine now.
    pub fn probe(&mut self, ok: bool) -> Option<Transition> {
        let t = self.do_probe(ok);
        self.record(format!("probe:{}", if ok { "ok" } else { "fail" }));
        self.settle();
        t
    }

    /// Makes the simulated store answer (`true`) or fail (`false`) the
    /// periodic probes from now on; the mode follows after the thresholds.
    pub fn set_storage(&mut self, up: bool) {
        self.storage_up = up;
        self.record(format!("storage:{}", if up { "up" } else { "down" }));
    }

    /// Sets, clears or toggles the operator's read-only flag.
    pub fn operator(&mut self, input: OperatorInput) -> Option<Transition> {
        let t = self.do_operator(input);
        self.record(format!(
            "read-only:{}",
            match input {
                OperatorInput::Set => "on",
                OperatorInput::Clear => "off",
                OperatorInput::Toggle => "toggle",
            }
        ));
        self.settle();
        t
    }

    /// Sends one heartbeat to every client now.
    pub fn heartbeat(&mut self) {
        self.broker.heartbeat();
        self.record("heartbeat".to_owned());
        self.settle();
    }

    /// Takes `steps` random actions on the existing clients: bursts (some
    /// past the ring), time passing, reconnects, stalls, probes. The seed
    /// fixes them, so the script records only `chaos:<steps>`.
    pub fn chaos(&mut self, steps: u32) -> Result<(), SimError> {
        if steps > 10_000 {
            return Err(SimError::Config("chaos takes at most 10000 steps".into()));
        }
        for _ in 0..steps {
            self.chaos_step();
        }
        self.record(format!("chaos:{steps}"));
        Ok(())
    }

    /// Applies one action in the script's text form:
    ///
    /// | action | effect |
    /// |---|---|
    /// | `publish:<n>` | a burst of `n` events at once |
    /// | `stream:<n>` | `n` events, one per millisecond |
    /// | `event:<type>:<data>` | one event (data percent-encoded) |
    /// | `connect:<name>` | connect with the client's last id |
    /// | `connect-live:<name>` | connect without a last id |
    /// | `connect-id:<name>:<id>` | connect sending `id` (percent-encoded) |
    /// | `disconnect:<name>`, `stall:<name>`, `resume:<name>` | |
    /// | `advance:<ms>` | let time pass |
    /// | `probe:ok`, `probe:fail` | one storage probe |
    /// | `storage:up`, `storage:down` | what periodic probes find |
    /// | `read-only:on`, `read-only:off`, `read-only:toggle` | operator flag |
    /// | `heartbeat`, `chaos:<steps>` | |
    ///
    /// ```
    /// use tidings_wasm::sim::{Sim, SimConfig};
    /// let mut sim = Sim::new(SimConfig::default()).unwrap();
    /// sim.apply("connect:A").unwrap();
    /// sim.apply("event:note:a%2Cb").unwrap();
    /// assert_eq!(sim.log("A", 0).unwrap().last().unwrap().data.as_deref(), Some("a,b"));
    /// assert!(sim.apply("jump:3").is_err());
    /// assert_eq!(sim.script(), "connect:A,event:note:a%2Cb");
    /// ```
    pub fn apply(&mut self, action: &str) -> Result<(), SimError> {
        let bad = || SimError::BadAction(action.to_owned());
        let (verb, arg) = action.split_once(':').unwrap_or((action, ""));
        let number = |text: &str| text.parse::<u64>().map_err(|_| bad());
        match verb {
            "publish" => self.publish_burst(number(arg)?).map(drop),
            "stream" => self.publish_stream(number(arg)?).map(drop),
            "event" => {
                let (kind, data) = arg.split_once(':').ok_or_else(bad)?;
                let data = percent_decode(data).ok_or_else(bad)?;
                self.publish(kind, &data).map(drop)
            }
            "connect" => self.connect(arg, true),
            "connect-live" => self.connect(arg, false),
            "connect-id" => {
                let (name, id) = arg.split_once(':').ok_or_else(bad)?;
                let id = percent_decode(id).ok_or_else(bad)?;
                self.connect_from(name, &id)
            }
            "disconnect" => self.disconnect(arg),
            "stall" => self.stall(arg),
            "resume" => self.resume(arg),
            "advance" => self.advance(number(arg)?).map(drop),
            "probe" | "storage" => {
                let up = match arg {
                    "ok" if verb == "probe" => true,
                    "fail" if verb == "probe" => false,
                    "up" if verb == "storage" => true,
                    "down" if verb == "storage" => false,
                    _ => return Err(bad()),
                };
                if verb == "probe" {
                    self.probe(up);
                } else {
                    self.set_storage(up);
                }
                Ok(())
            }
            "read-only" => {
                let input = match arg {
                    "on" => OperatorInput::Set,
                    "off" => OperatorInput::Clear,
                    "toggle" => OperatorInput::Toggle,
                    _ => return Err(bad()),
                };
                self.operator(input);
                Ok(())
            }
            "heartbeat" if arg.is_empty() => {
                self.heartbeat();
                Ok(())
            }
            "chaos" => {
                let steps = u32::try_from(number(arg)?).map_err(|_| bad())?;
                self.chaos(steps)
            }
            _ => Err(bad()),
        }
    }

    /// Applies a comma- or whitespace-separated list of actions, stopping
    /// at the first that fails.
    pub fn apply_script(&mut self, script: &str) -> Result<(), SimError> {
        let actions = script
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|a| !a.is_empty());
        for (index, action) in actions.enumerate() {
            self.apply(action).map_err(|e| SimError::Script {
                index,
                action: action.to_owned(),
                source: Box::new(e),
            })?;
        }
        Ok(())
    }

    // ---- views ---------------------------------------------------------

    /// Every client, in the order they were first connected.
    pub fn clients(&self) -> Vec<ClientView> {
        let tail = self.tail();
        let head = self.broker.head().seq();
        self.clients
            .iter()
            .map(|c| {
                let cursor = c.sub.as_ref().map(Subscription::cursor);
                ClientView {
                    name: c.name.clone(),
                    connected: c.sub.is_some(),
                    stalled: c.stalled,
                    cursor,
                    backlog: cursor.map(|cur| (head + 1).saturating_sub(cur.max(tail))),
                    behind_ring: cursor.is_some_and(|cur| cur < tail),
                    last_id: c.last_id.clone(),
                    received: c.received,
                    resets: c.resets,
                    connections: c.connections,
                    writes: c.writes,
                    log_length: c.log.len(),
                }
            })
            .collect()
    }

    /// `name`'s log from entry `from` on (so a page fetches only what is new).
    pub fn log(&self, name: &str, from: usize) -> Result<&[LogEntry], SimError> {
        let c = self
            .clients
            .iter()
            .find(|c| c.name == name)
            .ok_or_else(|| SimError::UnknownClient(name.to_owned()))?;
        Ok(c.log.get(from..).unwrap_or_default())
    }

    /// The history ring.
    pub fn ring(&self) -> RingView {
        RingView {
            epoch: self.broker.epoch().to_string(),
            capacity: self.config.ring_size,
            tail: self.tail(),
            head: self.broker.head().seq(),
            events: self.ring.iter().cloned().collect(),
        }
    }

    /// The mode machine and every transition so far.
    pub fn mode(&self) -> ModeView {
        ModeView {
            mode: self.mode.mode(),
            read_only: self.mode.is_read_only(),
            storage_healthy: self.mode.health(Component::Storage),
            storage_up: self.storage_up,
            transitions: self.transitions.clone(),
        }
    }

    /// The broker's counters.
    pub fn stats(&self) -> StatsView {
        let s = self.broker.stats();
        StatsView {
            now: self.now.0,
            published: s.published,
            delivered: s.delivered,
            catch_ups: s.catch_ups,
            resets: s.resets,
            lagged: s.lagged,
            wakeups: s.wakeups,
            subscribers: self.broker.subscribers(),
            flush_due: self.broker.next_flush().map(|t| t.0),
        }
    }

    // ---- internals -----------------------------------------------------

    fn record(&mut self, action: String) {
        // A page whose clock follows real time advances every frame; one
        // `advance:<a+b>` does exactly what `advance:<a>,advance:<b>` does
        // (nothing is pending between them), so the script stays short.
        let ms = |a: &str| {
            a.strip_prefix("advance:")
                .and_then(|n| n.parse::<u64>().ok())
        };
        if let (Some(add), Some(prev)) = (ms(&action), self.script.last().and_then(|l| ms(l))) {
            *self.script.last_mut().expect("checked") = format!("advance:{}", prev + add);
            return;
        }
        self.script.push(action);
    }

    fn tail(&self) -> u64 {
        self.ring
            .front()
            .map_or(self.broker.head().seq() + 1, |e| e.seq)
    }

    /// Polls every client an executor would poll now.
    fn settle(&mut self) {
        let now = self.now;
        for c in self.clients.iter_mut().filter(|c| !c.stalled) {
            if c.sub.is_some() && c.flag.take() {
                c.pull(now);
            }
        }
    }

    fn store(&mut self, stored: &tidings_core::SharedEvent) {
        self.ring.push_back(RingEntry {
            id: stored.id().to_string(),
            seq: stored.id().seq(),
            event_type: stored.kind().to_string(),
            data: stored.data().to_owned(),
            at: self.now.0,
        });
        while self.ring.len() > self.config.ring_size {
            self.ring.pop_front();
        }
    }

    fn do_publish(&mut self, kind: Kind, data: String) -> Result<String, SimError> {
        if self.mode.mode() == Mode::ReadOnly {
            return Err(SimError::ReadOnly);
        }
        let stored = self
            .broker
            .publish(Event::new(kind, data), self.now)
            .expect("the simulator never closes its broker");
        self.store(&stored);
        Ok(stored.id().to_string())
    }

    fn do_burst(&mut self, n: u64) -> Result<(), SimError> {
        if self.mode.mode() == Mode::ReadOnly {
            return Err(SimError::ReadOnly);
        }
        for _ in 0..n {
            let kind = BURST_KINDS[self.rng.below(BURST_KINDS.len() as u64) as usize];
            let part = self.rng.below(1000);
            let data = format!(r#"{{"part_number":"P-{part:03}","n":{}}}"#, self.made);
            self.made += 1;
            self.do_publish(Kind::new(kind).expect("valid kind"), data)?;
        }
        Ok(())
    }

    fn client_for_connect(&mut self, name: &str) -> Result<usize, SimError> {
        let valid = (1..=16).contains(&name.len())
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if !valid {
            return Err(SimError::BadName);
        }
        match self.clients.iter().position(|c| c.name == name) {
            Some(idx) if self.clients[idx].sub.is_some() => {
                Err(SimError::Connected(name.to_owned()))
            }
            Some(idx) => Ok(idx),
            None if self.clients.len() >= MAX_CLIENTS => Err(SimError::TooManyClients),
            None => {
                self.clients.push(Client::new(name));
                Ok(self.clients.len() - 1)
            }
        }
    }

    fn connected(&self, name: &str) -> Result<usize, SimError> {
        let idx = self
            .clients
            .iter()
            .position(|c| c.name == name)
            .ok_or_else(|| SimError::UnknownClient(name.to_owned()))?;
        if self.clients[idx].sub.is_none() {
            return Err(SimError::NotConnected(name.to_owned()));
        }
        Ok(idx)
    }

    fn do_connect(&mut self, idx: usize, last_event_id: Option<String>) {
        let head = self.broker.head().seq();
        let sub = self
            .broker
            .subscribe(SubscribeOptions {
                last_event_id: last_event_id.clone(),
                kinds: None,
            })
            .expect("the simulator's broker is open and unlimited");
        let c = &mut self.clients[idx];
        c.sub = Some(sub);
        c.stalled = false;
        c.parser = Parser::new();
        c.connections += 1;
        c.replay_until = if last_event_id.is_some() { head } else { 0 };
        c.catch_up_until = 0;
        c.log.push(LogEntry::note(
            self.now,
            LogKind::Connect,
            c.connections,
            last_event_id,
        ));
        // The server writes the connection's first frames at once.
        ArcWake::wake_by_ref(&c.flag);
        self.settle();
    }

    fn do_disconnect(&mut self, idx: usize) {
        let c = &mut self.clients[idx];
        c.sub = None;
        c.stalled = false;
        c.flag.take();
        c.log.push(LogEntry::note(
            self.now,
            LogKind::Disconnect,
            c.connections,
            None,
        ));
    }

    fn do_stall(&mut self, idx: usize, stall: bool) {
        let head = self.broker.head().seq();
        let c = &mut self.clients[idx];
        if c.stalled == stall {
            return;
        }
        c.stalled = stall;
        let kind = if stall {
            LogKind::Stall
        } else {
            c.catch_up_until = head;
            // Whatever woke it while stalled is read now; wake it anyway so
            // a reset due for a cursor behind the ring is delivered.
            ArcWake::wake_by_ref(&c.flag);
            LogKind::Resume
        };
        c.log
            .push(LogEntry::note(self.now, kind, c.connections, None));
        self.settle();
    }

    fn do_advance(&mut self, ms: u64) {
        let end = self.now.saturating_add(ms);
        loop {
            self.run_due();
            if self.now >= end {
                break;
            }
            let next = [
                self.broker.next_flush(),
                self.next_heartbeat,
                self.next_probe,
            ]
            .into_iter()
            .flatten()
            .map(|t| t.max(self.now.saturating_add(1)))
            .fold(end, Millis::min);
            self.now = next;
        }
    }

    /// Runs what is due at the current time: a probe, a heartbeat, a flush,
    /// then polls the woken clients.
    fn run_due(&mut self) {
        let now = self.now;
        if let Some(t) = self.next_probe.filter(|t| *t <= now) {
            self.do_probe(self.storage_up);
            self.next_probe = Some(t.saturating_add(self.config.probe_interval_ms).max(now));
        }
        if let Some(t) = self.next_heartbeat.filter(|t| *t <= now) {
            self.broker.heartbeat();
            self.next_heartbeat =
                Some(t.saturating_add(self.config.heartbeat_interval_ms).max(now));
        }
        if self.broker.next_flush().is_some_and(|t| t <= now) {
            self.broker.flush(now);
        }
        self.settle();
    }

    fn do_probe(&mut self, ok: bool) -> Option<Transition> {
        let t = self.mode.handle_probe(Component::Storage, ok, self.now);
        t.inspect(|t| self.publish_transition(t))
    }

    fn do_operator(&mut self, input: OperatorInput) -> Option<Transition> {
        let t = self.mode.handle_operator(input, self.now);
        t.inspect(|t| self.publish_transition(t))
    }

    fn publish_transition(&mut self, t: &Transition) {
        let stored = self
            .broker
            .publish_state(&t.to_json(), self.now)
            .expect("the simulator never closes its broker");
        self.store(&stored);
        self.transitions.push(*t);
    }

    fn chaos_step(&mut self) {
        let n_clients = self.clients.len() as u64;
        match self.rng.below(100) {
            0..=29 => {
                let span = if self.rng.below(10) == 0 {
                    2 * self.config.ring_size as u64
                } else {
                    8
                };
                let n = 1 + self.rng.below(span);
                // Refused while read-only, like any write.
                let _ = self.do_burst(n);
            }
            30..=49 if n_clients > 0 => {
                let idx = self.rng.below(n_clients) as usize;
                let fresh = self.rng.below(10) == 0;
                if self.clients[idx].sub.is_some() {
                    self.do_disconnect(idx);
                } else {
                    let last = if fresh {
                        None
                    } else {
                        self.clients[idx].last_id.clone()
                    };
                    self.do_connect(idx, last);
                }
            }
            50..=64 if n_clients > 0 => {
                let idx = self.rng.below(n_clients) as usize;
                if self.clients[idx].sub.is_some() {
                    let stall = !self.clients[idx].stalled;
                    self.do_stall(idx, stall);
                }
            }
            65..=69 => {
                let ok = self.rng.below(3) != 0;
                self.do_probe(ok);
            }
            70..=72 => self.broker.heartbeat(),
            _ => {
                let ms = self.rng.below(20);
                self.do_advance(ms);
            }
        }
        self.settle();
    }
}

/// Percent-encodes everything outside `[A-Za-z0-9._~-]`, so any text fits
/// in a script action (and a URL).
///
/// ```
/// use tidings_wasm::sim::{percent_decode, percent_encode};
/// assert_eq!(percent_encode(r#"{"a":1, "é":2}"#), "%7B%22a%22%3A1%2C%20%22%C3%A9%22%3A2%7D");
/// assert_eq!(percent_decode("%7B%22a%22%3A1%2C%20%22%C3%A9%22%3A2%7D").unwrap(), r#"{"a":1, "é":2}"#);
/// assert_eq!(percent_decode("%G1"), None);
/// ```
pub fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'~' | b'-') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Reverses [`percent_encode`]; `None` for a bad escape or invalid UTF-8.
pub fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            if !hex.iter().all(u8::is_ascii_hexdigit) {
                return None;
            }
            let hex = std::str::from_utf8(hex).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}
