//! What a page draws: plain, serialisable snapshots of the clients (with
//! their filters), the history ring (with each event's topics and the
//! clients that read it), the events on their way into it, the mode
//! machine and the counters, routing's included.
//!
//! Views are taken on request (copies, except a client's log, which is
//! lent); nothing here changes the simulation, so reading one between two
//! actions does not change what the next one does.

use serde::Serialize;
use tidings_core::Subscription;
use tidings_core::mode::{Component, Mode, Transition};
use tidings_core::topic::Topic;

use crate::sim::Sim;
use crate::sim::client::LogEntry;
use crate::sim::commit::PendingEvent;
use crate::sim::config::SimError;
use crate::sim::topics::TopicMatcher;

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
    /// Seq its reading resumes from, while connected (its next event is
    /// the first one from there its filter admits).
    pub cursor: Option<u64>,
    /// Events the ring holds past its cursor that its filter admits: what
    /// its next reads deliver, while connected.
    pub backlog: Option<u64>,
    /// Whether an event it would read was evicted: its next read is a
    /// lagged reset. (A cursor behind the ring's tail is no lag when the
    /// evicted events were not for it.)
    pub behind_ring: bool,
    /// The `Last-Event-ID` it would send on reconnecting.
    pub last_id: Option<String>,
    /// Stored events received, across connections.
    pub received: u64,
    /// `stream.reset` notices received.
    pub resets: u64,
    /// Connections opened.
    pub connections: u32,
    /// Writes received: one per read that delivered something.
    pub writes: u64,
    /// Times its doorbell woke it, across connections.
    pub wakeups: u64,
    /// Of those, wake-ups after which it found nothing to read.
    pub idle_wakeups: u64,
    /// Private events received.
    pub private_received: u64,
    /// What its connections select (none: every event).
    pub selectors: Vec<TopicMatcher>,
    /// What its token grants: the private events it may see.
    pub grants: Vec<TopicMatcher>,
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
    /// Its topics, the first canonical.
    pub topics: Vec<String>,
    /// Whether only clients granted one of its topics may receive it.
    pub private: bool,
    /// The publisher's id, which is its SSE id, if it gave one.
    pub supplied_id: Option<String>,
    /// The clients that have read it, in the order they first did.
    pub seen_by: Vec<String>,
    /// `topics`, checked, for the filters' matchers.
    #[serde(skip)]
    pub(super) checked: Vec<Topic>,
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

/// The broker's counters, the publish intake's and the clock.
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
    /// Distinct routes: filters in use by connected clients (equal filters
    /// share one).
    pub routes: usize,
    /// Doorbells rung for stored events: each is one client woken.
    pub bells: u64,
    /// Wake-ups after which a client found nothing to read. Routing wakes
    /// only the clients an event reaches, so these come only from a client
    /// that read events before the ring meant for them (a burst read whole
    /// at its first event's wake-up, then rung again by the flush).
    pub idle_wakeups: u64,
    /// Topic matcher evaluations made to route events.
    pub matcher_evaluations: u64,
    /// Connected clients.
    pub subscribers: usize,
    /// When stored events wait for the next wake-up: the time of the flush
    /// that will deliver them.
    pub flush_due: Option<u64>,
    /// How long a write of the publish intake takes now.
    pub commit_latency_ms: u64,
    /// Events in the publish queue, waiting for the next write.
    pub queued: usize,
    /// Events in the write under way.
    pub writing: usize,
    /// When the write under way ends and its events are stored.
    pub commit_due: Option<u64>,
    /// Writes finished (one per publish with a latency of 0; fewer, each
    /// of several events, under load with a latency).
    pub commits: u64,
    /// Events of bursts and streams refused because the publish queue was
    /// full (a single refused publish is an error and changes nothing).
    pub refused: u64,
}

impl Sim {
    /// Every client, in the order they were first connected.
    pub fn clients(&self) -> Vec<ClientView> {
        self.clients
            .iter()
            .map(|c| {
                let cursor = c.sub.as_ref().map(Subscription::cursor);
                ClientView {
                    name: c.name.clone(),
                    connected: c.sub.is_some(),
                    stalled: c.stalled,
                    cursor,
                    backlog: cursor.map(|_| c.backlog),
                    behind_ring: c.lost,
                    last_id: c.last_id.clone(),
                    received: c.received,
                    resets: c.resets,
                    connections: c.connections,
                    writes: c.writes,
                    wakeups: c.flag.rings(),
                    idle_wakeups: c.idle_wakeups,
                    private_received: c.private_received,
                    selectors: c.filter.selectors.clone(),
                    grants: c.filter.grants.clone(),
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

    /// The broker's counters, routing's included.
    pub fn stats(&self) -> StatsView {
        let s = self.broker.stats();
        let routing = self.broker.routing_stats();
        StatsView {
            now: self.now.0,
            published: s.published,
            delivered: s.delivered,
            catch_ups: s.catch_ups,
            resets: s.resets,
            lagged: s.lagged,
            wakeups: s.wakeups,
            routes: routing.routes,
            bells: routing.rung,
            idle_wakeups: routing.idle_wakeups,
            matcher_evaluations: routing.pattern_evaluations,
            subscribers: self.broker.subscribers(),
            flush_due: self.broker.next_flush().map(|t| t.0),
            commit_latency_ms: self.committer.latency_ms(),
            queued: self.committer.queued(),
            writing: self.committer.writing(),
            commit_due: self.committer.next_commit().map(|t| t.0),
            commits: self.committer.commits(),
            refused: self.committer.refused(),
        }
    }

    /// The events published and not stored yet: those in the write under
    /// way, then those queued for the next, each in the order they will get
    /// their ids. Always empty with a commit latency of 0.
    ///
    /// ```
    /// use tidings_wasm::sim::{CommitPhase, Sim, SimConfig};
    /// let mut sim = Sim::new(SimConfig { commit_latency_ms: 10, ..SimConfig::default() }).unwrap();
    /// sim.publish_burst(3).unwrap(); // the writer takes the first alone
    /// let pending = sim.committing();
    /// let when: Vec<_> = pending.iter().map(|e| (e.phase, e.commit_at)).collect();
    /// assert_eq!(when, [(CommitPhase::Writing, 10), (CommitPhase::Queued, 20), (CommitPhase::Queued, 20)]);
    /// sim.advance(20).unwrap();
    /// assert!(sim.committing().is_empty());
    /// assert_eq!((sim.ring().head, sim.stats().commits), (3, 2));
    /// ```
    pub fn committing(&self) -> Vec<PendingEvent> {
        self.committer.pending(self.now)
    }

    /// Seq of the oldest event the ring holds (`head + 1` when empty).
    pub(super) fn tail(&self) -> u64 {
        self.ring
            .front()
            .map_or(self.broker.head().seq() + 1, |e| e.seq)
    }
}
