//! The engine under the actions: publishing through the intake into the
//! broker and its ring mirror, connecting and polling clients, the virtual
//! clock's timers, the mode machine's transitions, and chaos steps.
//!
//! Nothing here records to the script: the public actions call in here and
//! record what succeeded, and a chaos step calls in here directly, since
//! the seed fixes what it does.

use futures::FutureExt;
use futures::task::ArcWake;
use tidings_core::mode::{Component, Mode, OperatorInput, Transition};
use tidings_core::wire::Parser;
use tidings_core::{Event, Kind, Millis, SharedEvent, SubscribeOptions};

use crate::sim::Sim;
use crate::sim::client::{Client, LogEntry, LogKind};
use crate::sim::config::{MAX_CLIENTS, SimError};
use crate::sim::view::RingEntry;

/// The kinds a burst draws from.
const BURST_KINDS: [&str; 4] = [
    "item.created",
    "item.updated",
    "item.deleted",
    "revision.created",
];

impl Sim {
    /// Polls every client an executor would poll now.
    pub(super) fn settle(&mut self) {
        let now = self.now;
        for c in self.clients.iter_mut().filter(|c| !c.stalled) {
            if c.sub.is_some() && c.flag.take() {
                c.pull(now);
            }
        }
    }

    /// Mirrors a stored event into the ring view, evicting as the core's
    /// count bound does.
    fn store(&mut self, stored: &SharedEvent) {
        self.ring.push_back(RingEntry {
            id: stored.id().to_string(),
            seq: stored.id().seq(),
            event_type: stored.kind_str().to_owned(),
            data: stored.data().to_owned(),
            at: self.now.0,
        });
        while self.ring.len() > self.config.ring_size {
            self.ring.pop_front();
        }
    }

    /// Queues one publish in the intake; its id when it was stored at once
    /// (a commit latency of 0), `None` while it waits for its write.
    pub(super) fn do_publish(
        &mut self,
        kind: Kind,
        data: String,
    ) -> Result<Option<String>, SimError> {
        if self.mode.mode() == Mode::ReadOnly {
            return Err(SimError::ReadOnly);
        }
        let mut ticket = self.committer.publish(kind, data, self.now)?;
        self.run_writer();
        // Answered already if its write ended at once; otherwise the
        // publisher, which cannot wait here, finds its event in the ring.
        Ok((&mut ticket).now_or_never().map(|answer| {
            answer
                .expect("the simulated writer answers every publish")
                .to_string()
        }))
    }

    /// Publishes `n` events of random kinds; those that find the queue
    /// full are refused and counted, the others queued.
    pub(super) fn do_burst(&mut self, n: u64) -> Result<(), SimError> {
        if self.mode.mode() == Mode::ReadOnly {
            return Err(SimError::ReadOnly);
        }
        for _ in 0..n {
            let kind = BURST_KINDS[self.rng.below(BURST_KINDS.len() as u64) as usize];
            let part = self.rng.below(1000);
            let data = format!(r#"{{"part_number":"P-{part:03}","n":{}}}"#, self.made);
            self.made += 1;
            match self.do_publish(Kind::new(kind).expect("valid kind"), data) {
                Ok(_) => {}
                Err(SimError::QueueFull) => self.committer.note_refused(),
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Stores every write of the intake that has ended by now, in order,
    /// giving each event the next id, and answers its publisher.
    pub(super) fn run_writer(&mut self) {
        while let Some(batch) = self.committer.next_due(self.now) {
            for entry in batch {
                let urgent = entry.is_urgent();
                let (pending, reply) = entry.into_parts();
                let stored = if urgent {
                    self.broker.publish_state(&pending.data, self.now)
                } else {
                    self.broker
                        .publish(Event::new(pending.kind, pending.data), self.now)
                }
                .expect("the simulator never closes its broker");
                self.store(&stored);
                reply.answer(stored.id().clone());
            }
        }
    }

    /// The index of `name` for a new connection, created on first use.
    pub(super) fn client_for_connect(&mut self, name: &str) -> Result<usize, SimError> {
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

    pub(super) fn do_disconnect(&mut self, idx: usize) {
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
            ArcWake::wake_by_ref(&c.flag);
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
            _ => {
                let ms = self.rng.below(20);
                self.do_advance(ms);
            }
        }
        self.settle();
    }
}
