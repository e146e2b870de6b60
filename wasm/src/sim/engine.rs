//! The engine under the actions: publishing through the intake into the
//! broker and its ring mirror, connecting and polling clients (and telling
//! each which event it read), the virtual clock's timers, the mode
//! machine's transitions, and chaos steps.
//!
//! Nothing here records to the script: the public actions call in here and
//! record what succeeded, and a chaos step calls in here directly, since
//! the seed fixes what it does.

use std::collections::VecDeque;

use futures::FutureExt;
use tidings_core::mode::{Component, Mode, OperatorInput, Transition};
use tidings_core::topic::Topic;
use tidings_core::wire::Parser;
use tidings_core::{Epoch, Event, Kind, Millis, SharedEvent, SubscribeOptions, TopicFilter};

use crate::sim::Sim;
use crate::sim::client::{Client, Known, LogEntry, LogKind};
use crate::sim::config::{MAX_CLIENTS, SimError};
use crate::sim::topics::{ClientFilter, MatchType, TopicMatcher, generated_by};
use crate::sim::view::RingEntry;

/// The kinds a burst draws from.
const BURST_KINDS: [&str; 4] = [
    "item.created",
    "item.updated",
    "item.deleted",
    "revision.created",
];

/// The items bursts and chaos write; each event's topic is its item's,
/// `https://example.com/items/<part number>`, as the server names them.
pub const ITEM_PARTS: [&str; 4] = ["P-001", "P-002", "P-003", "P-004"];

/// The topic of item `part`.
pub fn item_topic(part: &str) -> String {
    format!("https://example.com/items/{part}")
}

/// The filters a chaos step gives a disconnected client: every event, exact
/// topics, URL patterns, URI templates and `*`, with and without grants.
fn chaos_filter(choice: u64) -> ClientFilter {
    let m = TopicMatcher::new;
    let item = |n: usize| item_topic(ITEM_PARTS[n]);
    let (selectors, grants) = match choice {
        0 => (vec![], vec![]),
        1 => (vec![m(MatchType::Exact, &item(0))], vec![]),
        2 => (
            vec![m(MatchType::Exact, &item(0)), m(MatchType::Exact, &item(1))],
            vec![m(MatchType::Exact, &item(0))],
        ),
        3 => (
            vec![m(MatchType::Urlpattern, "/items/:pn")],
            vec![m(MatchType::Exact, "*")],
        ),
        4 => (vec![], vec![m(MatchType::Urlpattern, "/items/:pn")]),
        _ => (
            vec![m(MatchType::Uritemplate, "https://example.com/items/{pn}")],
            vec![m(MatchType::Uritemplate, &item(2))],
        ),
    };
    ClientFilter { selectors, grants }
}

/// The event a client read, from its SSE id: a generated id names its seq;
/// a publisher's id (which may repeat) names the first event after `after`
/// with that id that the client's filter admits, the one it must have been.
fn known(
    ring: &VecDeque<RingEntry>,
    epoch: &Epoch,
    id: &str,
    after: u64,
    filter: &TopicFilter,
) -> Option<Known> {
    let tail = ring.front()?.seq;
    let entry = match generated_by(id, epoch) {
        Some(seq) => ring.get(usize::try_from(seq.checked_sub(tail)?).ok()?)?,
        None => ring.iter().find(|e| {
            e.seq > after
                && e.supplied_id.as_deref() == Some(id)
                && filter.admits(&e.checked, e.private)
        })?,
    };
    Some(Known {
        seq: entry.seq,
        topics: entry.topics.clone(),
        private: entry.private,
    })
}

impl Sim {
    /// Polls every client an executor would poll now.
    pub(super) fn settle(&mut self) {
        let now = self.now;
        let epoch = self.broker.epoch();
        let ring = &mut self.ring;
        for c in self.clients.iter_mut().filter(|c| !c.stalled) {
            if c.sub.is_some() && c.flag.take() {
                let read = c.pull(now, &|id, after, filter| {
                    known(ring, &epoch, id, after, filter)
                });
                let tail = ring.front().map_or(0, |e| e.seq);
                for seq in read {
                    let entry = &mut ring[(seq - tail) as usize];
                    if !entry.seen_by.contains(&c.name) {
                        entry.seen_by.push(c.name.clone());
                    }
                }
            }
        }
    }

    /// Mirrors a stored event into the ring view, evicting as the core's
    /// count bound does, and keeps each connected client's backlog: the
    /// events from its cursor on that its filter admits.
    fn store(&mut self, stored: &SharedEvent) {
        for c in &mut self.clients {
            if c.sub.is_some() && c.topic_filter.admits(stored.topics(), stored.is_private()) {
                c.backlog += 1;
            }
        }
        self.ring.push_back(RingEntry {
            id: stored.id().to_string(),
            seq: stored.id().seq(),
            event_type: stored.kind_str().to_owned(),
            data: stored.data().to_owned(),
            at: self.now.0,
            topics: stored
                .topics()
                .iter()
                .map(|t| t.as_str().to_owned())
                .collect(),
            private: stored.is_private(),
            supplied_id: stored.supplied_id().map(|id| id.as_str().to_owned()),
            seen_by: Vec::new(),
            checked: stored.topics().to_vec(),
        });
        while self.ring.len() > self.config.ring_size {
            let gone = self.ring.pop_front().expect("the ring is over its bound");
            for c in &mut self.clients {
                let unread = c.sub.as_ref().is_some_and(|sub| sub.cursor() <= gone.seq);
                if unread && c.topic_filter.admits(&gone.checked, gone.private) {
                    c.backlog -= 1;
                    c.lost = true;
                }
            }
        }
    }

    /// Queues one publish in the intake; its id when it was stored at once
    /// (a commit latency of 0), `None` while it waits for its write. The id
    /// is the publisher's, if it gave one.
    pub(super) fn do_publish(&mut self, event: Event) -> Result<Option<String>, SimError> {
        if self.mode.mode() == Mode::ReadOnly {
            return Err(SimError::ReadOnly);
        }
        let supplied = event.supplied_id.clone();
        let mut ticket = self.committer.publish(event, self.now)?;
        self.run_writer();
        // Answered already if its write ended at once; otherwise the
        // publisher, which cannot wait here, finds its event in the ring.
        Ok((&mut ticket).now_or_never().map(|answer| {
            let id = answer.expect("the simulated writer answers every publish");
            supplied.map_or_else(|| id.to_string(), |s| s.as_str().to_owned())
        }))
    }

    /// Publishes `n` public events of random kinds, each to the topic of a
    /// random item; those that find the queue full are refused and
    /// counted, the others queued.
    pub(super) fn do_burst(&mut self, n: u64) -> Result<(), SimError> {
        if self.mode.mode() == Mode::ReadOnly {
            return Err(SimError::ReadOnly);
        }
        for _ in 0..n {
            let kind = BURST_KINDS[self.rng.below(BURST_KINDS.len() as u64) as usize];
            let event = self.item_event(kind, false);
            match self.do_publish(event) {
                Ok(_) => {}
                Err(SimError::QueueFull) => self.committer.note_refused(),
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// An event of `kind` about a random item, on that item's topic,
    /// numbered in its data.
    fn item_event(&mut self, kind: &str, private: bool) -> Event {
        let part = ITEM_PARTS[self.rng.below(ITEM_PARTS.len() as u64) as usize];
        let n = self.made;
        self.made += 1;
        let data = if private {
            format!(r#"{{"part_number":"{part}","n":{n},"private":true}}"#)
        } else {
            format!(r#"{{"part_number":"{part}","n":{n}}}"#)
        };
        let topic = Topic::new(&item_topic(part)).expect("item topics are valid");
        Event::new(Kind::new(kind).expect("valid kind"), data)
            .with_topics([topic])
            .private(private)
    }

    /// Stores every write of the intake that has ended by now, in order,
    /// giving each event the next id, and answers its publisher.
    pub(super) fn run_writer(&mut self) {
        while let Some(batch) = self.committer.next_due(self.now) {
            for entry in batch {
                let urgent = entry.is_urgent();
                let (pending, reply) = entry.into_parts();
                let stored = if urgent {
                    self.broker.publish_state(&pending.event.data, self.now)
                } else {
                    self.broker.publish(pending.event, self.now)
                }
                .expect("the simulator never closes its broker");
                self.store(&stored);
                reply.answer(stored.id().clone());
            }
        }
    }

    /// The index of `name`, which must not be connected (`connected` is
    /// the refusal if it is), created on first use.
    pub(super) fn disconnected_client(
        &mut self,
        name: &str,
        connected: fn(String) -> SimError,
    ) -> Result<usize, SimError> {
        let valid = (1..=16).contains(&name.len())
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if !valid {
            return Err(SimError::BadName);
        }
        match self.clients.iter().position(|c| c.name == name) {
            Some(idx) if self.clients[idx].sub.is_some() => Err(connected(name.to_owned())),
            Some(idx) => Ok(idx),
            None if self.clients.len() >= MAX_CLIENTS => Err(SimError::TooManyClients),
            None => {
                self.clients.push(Client::new(name));
                Ok(self.clients.len() - 1)
            }
        }
    }

    /// Gives client `idx`, which is not connected, `filter` (`compiled`)
    /// for its next connections.
    pub(super) fn do_set_filter(
        &mut self,
        idx: usize,
        filter: ClientFilter,
        compiled: TopicFilter,
    ) {
        let c = &mut self.clients[idx];
        c.filter = filter;
        c.topic_filter = compiled;
    }

    /// The index of `name`, which must be connected.
    pub(super) fn connected(&self, name: &str) -> Result<usize, SimError> {
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

    pub(super) fn do_connect(&mut self, idx: usize, last_event_id: Option<String>) {
        let head = self.broker.head().seq();
        let options = SubscribeOptions {
            last_event_id: last_event_id.clone(),
            kinds: None,
        };
        let sub = self
            .broker
            .subscribe_with(options, self.clients[idx].topic_filter.clone())
            .expect("the simulator's broker is open and unlimited");
        let c = &mut self.clients[idx];
        let cursor = sub.cursor();
        c.backlog = self
            .ring
            .iter()
            .filter(|e| e.seq >= cursor && c.topic_filter.admits(&e.checked, e.private))
            .count() as u64;
        c.lost = false;
        c.position = cursor.saturating_sub(1);
        c.rings_seen = c.flag.rings();
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
        c.flag.poke();
        self.settle();
    }

    pub(super) fn do_disconnect(&mut self, idx: usize) {
        let c = &mut self.clients[idx];
        c.sub = None;
        c.backlog = 0;
        c.lost = false;
        c.stalled = false;
        c.flag.take();
        c.log.push(LogEntry::note(
            self.now,
            LogKind::Disconnect,
            c.connections,
            None,
        ));
    }

    pub(super) fn do_stall(&mut self, idx: usize, stall: bool) {
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
            c.flag.poke();
            LogKind::Resume
        };
        c.log
            .push(LogEntry::note(self.now, kind, c.connections, None));
        self.settle();
    }

    pub(super) fn do_advance(&mut self, ms: u64) {
        let end = self.now.saturating_add(ms);
        loop {
            self.run_due();
            if self.now >= end {
                break;
            }
            let next = [
                self.committer.next_commit(),
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

    /// Runs what is due at the current time: a write's commit, a probe, a
    /// heartbeat, a flush, then polls the woken clients.
    fn run_due(&mut self) {
        self.run_writer();
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

    pub(super) fn do_probe(&mut self, ok: bool) -> Option<Transition> {
        let t = self.mode.handle_probe(Component::Storage, ok, self.now);
        t.inspect(|t| self.publish_transition(t))
    }

    pub(super) fn do_operator(&mut self, input: OperatorInput) -> Option<Transition> {
        let t = self.mode.handle_operator(input, self.now);
        t.inspect(|t| self.publish_transition(t))
    }

    /// Queues the `server.state` event of `t`; it is stored, in order with
    /// the publishes queued before it, when its write ends.
    fn publish_transition(&mut self, t: &Transition) {
        self.committer.publish_state(t.to_json(), self.now);
        self.transitions.push(*t);
        self.run_writer();
    }

    pub(super) fn chaos_step(&mut self) {
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
            73..=79 => {
                // An update of one item, private half the time.
                let private = self.rng.below(2) == 0;
                let event = self.item_event("item.updated", private);
                // Refused while read-only, like any write.
                if let Err(SimError::QueueFull) = self.do_publish(event) {
                    self.committer.note_refused();
                }
            }
            80..=84 if n_clients > 0 => {
                let idx = self.rng.below(n_clients) as usize;
                let filter = chaos_filter(self.rng.below(6));
                if self.clients[idx].sub.is_none() {
                    let compiled = filter
                        .compile(&self.interner)
                        .expect("the chaos filters compile");
                    self.do_set_filter(idx, filter, compiled);
                }
            }
            _ => {
                let ms = self.rng.below(20);
                self.do_advance(ms);
            }
        }
        self.settle();
    }
}
