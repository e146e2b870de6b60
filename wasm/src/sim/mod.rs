//! The replay simulator: one [`Broker`], one [`ModeMachine`], named
//! simulated clients and a virtual clock, driven by explicit actions.
//!
//! Its contract: the same [`SimConfig`] and the same actions end in exactly
//! the same state, natively and in WebAssembly. It reads no clock and no
//! entropy; time is its virtual clock and every random choice comes from
//! the seeded [`Rng`].
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
//! Clients read through [`Subscription::poll_frames`](tidings_core::Subscription::poll_frames)
//! and the SSE [`Parser`](tidings_core::wire::Parser), as a server writes and
//! a browser reads, so every delivery shown went through the wire format.
//!
//! # Reproducibility
//!
//! Every successful action is recorded in canonical text form
//! ([`Sim::script`]). A new simulator with the same [`SimConfig`] that
//! applies that script ([`Sim::apply_script`]) ends in exactly the same
//! state: all randomness comes from the seeded [`Rng`].
//!
//! # Layout
//!
//! [`Sim`] is declared here with its constructor; its methods are spread
//! by concern, each file one `impl Sim` block:
//!
//! - `config`: [`SimConfig`], the limits and [`SimError`];
//! - `topics`: a client's [`ClientFilter`] (selectors and grants) and an
//!   [`Update`] to topics, checked and compiled as the server does;
//! - `commit`: the publish intake and its simulated writer, with the
//!   [`PendingEvent`]s on their way into the history;
//! - `rng`: the seeded [`Rng`];
//! - `client`: a simulated browser and its [`LogEntry`] log;
//! - `actions`: the public actions, which check, act and record;
//! - `engine`: what the actions do to the broker, the clients and the clock;
//! - `script`: the action language ([`Sim::apply`]) and its recording;
//! - `view`: the snapshots a page draws ([`Sim::clients`], [`Sim::ring`], …).
//!
//! Imports between them run one way: `actions` uses `script`, `topics`
//! and `config`; `engine` uses `client`, `commit`, `view`, `topics` and
//! `config`; `view` uses `client`, `commit`, `topics` and `config`;
//! `script` uses `topics` and `config`; `client` uses `topics`; `topics`
//! and `commit` use `config`; `config` and `rng` use none of the others.
//!
//! # Topics
//!
//! Every client has a [`ClientFilter`]: its selectors and its grants, set
//! while it is disconnected ([`Sim::set_filter`]) and opened with on each
//! connection, as a stream's query and token are. Events reach a client
//! by the core's routing rule, replays included, and wake only the clients
//! they reach: [`StatsView::idle_wakeups`] and each client's
//! [`ClientView::idle_wakeups`] count the wake-ups that found nothing.
//! Bursts publish public events on the topics of [`ITEM_PARTS`]; chaos also
//! publishes private updates and changes the filters of disconnected
//! clients. The wire carries no topics: each log entry's topics come from
//! the ring mirror, which also records which clients read each event
//! ([`RingEntry::seen_by`]).
//!
//! # Publishing
//!
//! Publishes and mode changes go through the core's bounded publish intake
//! and a simulated writer whose writes take
//! [`commit_latency_ms`](SimConfig::commit_latency_ms) of virtual time (see
//! `commit`): an event enters the ring, gets its id and reaches clients
//! when its write ends, and a publish that finds the queue full is refused
//! where the server would make it wait. With the default latency of 0
//! every publish is stored the moment it is made.

mod actions;
mod client;
mod commit;
mod config;
mod engine;
mod rng;
mod script;
mod topics;
mod view;

use std::collections::VecDeque;

use tidings_core::mode::{ModeConfig, ModeMachine, Transition};
use tidings_core::topic::Interner;
use tidings_core::{Broker, BrokerConfig, Epoch, Millis};

use crate::sim::client::Client;
pub use crate::sim::client::{LogEntry, LogKind, Phase};
use crate::sim::commit::Committer;
pub use crate::sim::commit::{CommitPhase, PendingEvent};
pub use crate::sim::config::{
    MAX_ADVANCE_MS, MAX_BURST, MAX_CLIENTS, MAX_COMMIT_LATENCY_MS, MAX_PUBLISH_QUEUE, MAX_RING,
    MIN_TIMER_MS, SimConfig, SimError,
};
pub use crate::sim::engine::{ITEM_PARTS, item_topic};
pub use crate::sim::rng::Rng;
pub use crate::sim::script::{percent_decode, percent_encode};
pub use crate::sim::topics::{
    ClientFilter, HUB_URL, MAX_MATCHERS, MAX_TOPICS, MatchType, TopicMatcher, Update,
};
pub use crate::sim::view::{ClientView, ModeView, RingEntry, RingView, StatsView};

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
    /// The publish intake and its writer.
    committer: Committer,
    /// The clients' compiled matchers, shared: equal filters share a route.
    interner: Interner,
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
        if config.commit_latency_ms > MAX_COMMIT_LATENCY_MS {
            return bad("commitLatencyMs must be 0 to 60000");
        }
        if !(1..=MAX_PUBLISH_QUEUE).contains(&config.publish_queue) {
            return bad("publishQueue must be 1 to 10000");
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
            committer: Committer::new(config.publish_queue, config.commit_latency_ms),
            interner: Interner::new(),
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
}
