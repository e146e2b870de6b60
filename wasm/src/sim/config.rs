//! How a simulation is set up, the limits it enforces, and why it refuses
//! a configuration or an action.
//!
//! The limits are the simulator's, not the core's: they bound what one call,
//! or one action of a script restored from a URL, can make a page compute.

use serde::{Deserialize, Serialize};
use tidings_core::topic::{PatternError, TopicError};
use tidings_core::{KindError, SuppliedIdError};

/// Most events one burst publishes.
pub const MAX_BURST: u64 = 10_000;
/// Most virtual milliseconds one [`Sim::advance`](crate::sim::Sim::advance) covers.
pub const MAX_ADVANCE_MS: u64 = 3_600_000;
/// Most clients a simulation holds.
pub const MAX_CLIENTS: usize = 64;
/// Most events the ring may be configured to hold.
pub const MAX_RING: usize = 4096;
/// Shortest heartbeat or probe interval, when enabled.
pub const MIN_TIMER_MS: u64 = 10;
/// Longest simulated write of the publish intake.
pub const MAX_COMMIT_LATENCY_MS: u64 = 60_000;
/// Most publishes the publish intake may be configured to hold.
pub const MAX_PUBLISH_QUEUE: usize = 10_000;

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
    /// Virtual time one write of the publish intake takes (0 to
    /// [`MAX_COMMIT_LATENCY_MS`]): a published event enters the history,
    /// and gets its id, this long after the writer took it. `0` stores
    /// every publish at once.
    pub commit_latency_ms: u64,
    /// Publishes the intake holds while a write is under way (1 to
    /// [`MAX_PUBLISH_QUEUE`]); one more is refused with
    /// [`SimError::QueueFull`]. Mode changes do not count against it.
    pub publish_queue: usize,
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
            commit_latency_ms: 0,
            publish_queue: 1024,
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
    /// Publishing while the publish intake holds
    /// [`publish_queue`](SimConfig::publish_queue) events waiting for their
    /// write. The server makes such a publisher wait for room, up to
    /// `--publish-queue-wait`, and answers 503 only then; an action cannot
    /// wait, so the simulator refuses at once.
    #[error("the publish queue is full")]
    QueueFull,
    /// A commit latency above [`MAX_COMMIT_LATENCY_MS`].
    #[error("a commit takes at most {MAX_COMMIT_LATENCY_MS} ms")]
    BadLatency,
    /// An event type breaks the kind rule (see `tidings_core::Kind`).
    #[error(transparent)]
    Kind(#[from] KindError),
    /// An update's type is one only the server emits (`server.*`,
    /// `stream.*`, `heartbeat`, `mercure`).
    #[error("type {0} is reserved for the server")]
    ReservedKind(String),
    /// An update's topic breaks the protocol's character rules.
    #[error(transparent)]
    Topic(#[from] TopicError),
    /// An update carries more than [`MAX_TOPICS`](crate::sim::MAX_TOPICS) topics.
    #[error("an update carries at most {} topics", crate::sim::MAX_TOPICS)]
    TooManyTopics,
    /// A private update without a topic, which no grant could match.
    #[error("a private update needs a topic, which grants are matched against")]
    PrivateWithoutTopic,
    /// An update's id breaks the rule for publishers' ids.
    #[error(transparent)]
    SuppliedId(#[from] SuppliedIdError),
    /// An update's id is spelled like one this simulation generates, which
    /// would shadow the event that has it.
    #[error("id {0} is spelled like an id this simulation generates")]
    GeneratedId(String),
    /// A selector or grant does not compile.
    #[error(transparent)]
    Pattern(#[from] PatternError),
    /// A connected client's filter: a connection keeps the filter it was
    /// opened with, as a stream keeps its URL and token.
    #[error("client {0} is connected: disconnect it before changing its filter")]
    FilterWhileConnected(String),
    /// A filter with more than [`MAX_MATCHERS`](crate::sim::MAX_MATCHERS)
    /// selectors or grants.
    #[error(
        "a filter holds at most {} selectors and as many grants",
        crate::sim::MAX_MATCHERS
    )]
    TooManyMatchers,
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
