//! The actions: everything a page (or a script) can do to a simulation.
//!
//! An action is either refused, changing nothing, or it takes effect
//! through the engine, is recorded in the script in canonical form, and
//! lets every woken client read before it returns.

use tidings_core::mode::{Mode, OperatorInput, Transition};
use tidings_core::{Event, Kind};

use crate::sim::Sim;
use crate::sim::config::{MAX_ADVANCE_MS, MAX_BURST, MAX_COMMIT_LATENCY_MS, SimError};
use crate::sim::script::{filter_text, percent_encode, update_text};
use crate::sim::topics::{ClientFilter, Update};

impl Sim {
    /// Publishes one event, as `POST /api/publish` would: its id once it is
    /// stored, at once with a commit latency of 0, else `None` while it
    /// waits for its write (see [`committing`](Sim::committing)). Refused
    /// while the mode is `read_only`, and when the publish queue is full.
    ///
    /// ```
    /// use tidings_wasm::sim::{Sim, SimConfig, SimError};
    /// let mut sim = Sim::new(SimConfig::default()).unwrap();
    /// assert_eq!(sim.publish("note", "now").unwrap().as_deref(), Some("s1-1"));
    ///
    /// let slow = SimConfig { commit_latency_ms: 20, publish_queue: 1, ..SimConfig::default() };
    /// let mut sim = Sim::new(slow).unwrap();
    /// assert_eq!(sim.publish("note", "written").unwrap(), None); // the writer took it
    /// assert_eq!(sim.publish("note", "queued").unwrap(), None); // waits for the next write
    /// assert_eq!(sim.publish("note", "refused"), Err(SimError::QueueFull));
    /// assert_eq!(sim.script(), "event:note:written,event:note:queued");
    /// ```
    pub fn publish(&mut self, event_type: &str, data: &str) -> Result<Option<String>, SimError> {
        let kind = Kind::new(event_type)?;
        let id = self.do_publish(Event::new(kind, data))?;
        self.record(format!("event:{event_type}:{}", percent_encode(data)));
        self.settle();
        Ok(id)
    }

    /// Publishes one update with topics, as `POST /api/publish` with a
    /// body of `type`, `data`, `topics`, `private` and `id` would: checked
    /// as the server checks it, then like [`publish`](Sim::publish). Its id
    /// is the publisher's when it gave one. A private update reaches only
    /// the clients granted one of its topics.
    ///
    /// ```
    /// use tidings_wasm::sim::{ClientFilter, MatchType, Sim, SimConfig, SimError, TopicMatcher, Update};
    /// let mut sim = Sim::new(SimConfig::default()).unwrap();
    /// let topic = "https://example.com/items/P-001";
    /// let grant = ClientFilter { grants: vec![TopicMatcher::new(MatchType::Exact, topic)], ..ClientFilter::default() };
    /// sim.set_filter("A", grant).unwrap();
    /// sim.connect("A", true).unwrap();
    /// sim.connect("B", true).unwrap();
    /// let secret = Update { data: "s".into(), topics: vec![topic.into()], private: true, id: Some("order-7".into()), ..Update::default() };
    /// assert_eq!(sim.publish_update(&secret).unwrap().as_deref(), Some("order-7"));
    /// let [a, b] = [0, 1].map(|i| sim.clients()[i].private_received);
    /// assert_eq!((a, b), (1, 0));
    /// let reserved = Update { event_type: Some("server.state".into()), ..Update::default() };
    /// assert_eq!(sim.publish_update(&reserved), Err(SimError::ReservedKind("server.state".into())));
    /// assert_eq!(sim.script(), format!("filter:A:grant={topic},connect:A,connect:B,update:topic={topic};private=on;id=order-7;data=s"));
    /// ```
    pub fn publish_update(&mut self, update: &Update) -> Result<Option<String>, SimError> {
        let event = update.to_event(&self.broker.epoch())?;
        let id = self.do_publish(event)?;
        self.record(format!("update:{}", update_text(update)));
        self.settle();
        Ok(id)
    }

    /// Gives `name` (created if new, not connected) the selectors and
    /// grants its next connections open with, as the `match=` parameters
    /// and the token of a stream request; refused while it is connected,
    /// since a connection keeps what it was opened with.
    ///
    /// ```
    /// use tidings_wasm::sim::{ClientFilter, MatchType, Sim, SimConfig, SimError, TopicMatcher};
    /// let mut sim = Sim::new(SimConfig::default()).unwrap();
    /// let one = ClientFilter { selectors: vec![TopicMatcher::new(MatchType::Exact, "https://example.com/items/P-001")], ..ClientFilter::default() };
    /// sim.set_filter("A", one.clone()).unwrap();
    /// sim.connect("A", true).unwrap();
    /// sim.publish_burst(12).unwrap(); // public, on the topics of P-001 to P-004
    /// sim.advance(1).unwrap(); // the flush after the burst's first wake-up
    /// let a = &sim.clients()[0];
    /// assert!(a.received > 0 && a.received < 12);
    /// assert_eq!(sim.set_filter("A", one), Err(SimError::FilterWhileConnected("A".into())));
    /// ```
    pub fn set_filter(&mut self, name: &str, filter: ClientFilter) -> Result<(), SimError> {
        // Compiled first, so a refused filter creates no client.
        let compiled = filter.compile(&self.interner)?;
        let idx = self.disconnected_client(name, SimError::FilterWhileConnected)?;
        let text = filter_text(&filter);
        self.do_set_filter(idx, filter, compiled);
        self.record(format!("filter:{name}:{text}"));
        Ok(())
    }

    /// Publishes `n` events of random item kinds at the current time;
    /// returns the head seq. Those that find the publish queue full are
    /// refused and counted in
    /// [`StatsView::refused`](crate::sim::StatsView::refused).
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
        let idx = self.disconnected_client(name, SimError::Connected)?;
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
        let idx = self.disconnected_client(name, SimError::Connected)?;
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

    /// Makes each write of the publish intake take `ms` of virtual time
    /// from now on (at most [`MAX_COMMIT_LATENCY_MS`]), as a slower or
    /// faster store would; a write under way keeps its end.
    ///
    /// ```
    /// use tidings_wasm::sim::{Sim, SimConfig};
    /// let mut sim = Sim::new(SimConfig::default()).unwrap();
    /// sim.set_commit_latency(50).unwrap();
    /// sim.publish("note", "slow").unwrap();
    /// assert_eq!(sim.committing()[0].commit_at, 50);
    /// assert!(sim.set_commit_latency(60_001).is_err());
    /// assert_eq!(sim.script(), "latency:50,event:note:slow");
    /// ```
    pub fn set_commit_latency(&mut self, ms: u64) -> Result<(), SimError> {
        if ms > MAX_COMMIT_LATENCY_MS {
            return Err(SimError::BadLatency);
        }
        self.committer.set_latency(ms);
        self.record(format!("latency:{ms}"));
        Ok(())
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
}
