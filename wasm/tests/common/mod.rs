//! What the simulator's test files share: reading a log, declaring a test
//! that runs natively and under Node in wasm32, and the seeded scenario
//! with topics whose every step is checked against the routing rule. Each
//! test file uses some of it.
#![allow(dead_code)]

use std::collections::BTreeMap;

use tidings_core::TopicFilter;
use tidings_core::topic::{Interner, Topic};
use tidings_wasm::sim::{
    ClientFilter, ITEM_PARTS, LogEntry, LogKind, MatchType, Rng, Sim, SimConfig, TopicMatcher,
    item_topic,
};

/// Declares each `fn` as a test natively and as a `wasm_bindgen_test` in
/// wasm32 (the file imports `wasm_bindgen_test` on wasm32).
macro_rules! both {
    ($($(#[$meta:meta])* fn $name:ident() $body:block)*) => {$(
        $(#[$meta])*
        #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test)]
        #[cfg_attr(not(target_arch = "wasm32"), test)]
        fn $name() $body
    )*};
}

/// The entries of `log` of `kind`.
pub fn of_kind(log: &[LogEntry], kind: LogKind) -> Vec<&LogEntry> {
    log.iter().filter(|e| e.kind == kind).collect()
}

/// The seq of a stored event's entry.
pub fn seq(e: &LogEntry) -> u64 {
    e.id.as_deref()
        .unwrap()
        .rsplit_once('-')
        .unwrap()
        .1
        .parse()
        .unwrap()
}

/// The seqs of the stored events in `log`, in order.
pub fn seqs(log: &[LogEntry]) -> Vec<u64> {
    of_kind(log, LogKind::Event).into_iter().map(seq).collect()
}

/// The filters the seeded scenarios start their clients with: every event,
/// exact topics, a relative URL pattern, a URI template, `*`, with and
/// without grants.
pub fn seeded_filter(choice: u64) -> ClientFilter {
    let m = TopicMatcher::new;
    let item = |n: usize| item_topic(ITEM_PARTS[n]);
    let (selectors, grants) = match choice % 6 {
        0 => (vec![], vec![]),
        1 => (vec![m(MatchType::Exact, &item(0))], vec![]),
        2 => (
            vec![m(MatchType::Urlpattern, "/items/:pn")],
            vec![m(MatchType::Exact, "*")],
        ),
        3 => (
            vec![m(MatchType::Exact, &item(1))],
            vec![m(MatchType::Exact, &item(1))],
        ),
        4 => (vec![], vec![m(MatchType::Urlpattern, "/items/:pn")]),
        _ => (
            vec![m(MatchType::Uritemplate, "https://example.com/items/{pn}")],
            vec![m(MatchType::Exact, &item(2))],
        ),
    };
    ClientFilter { selectors, grants }
}

/// Where the check of one client's log stands.
#[derive(Default)]
struct Reader {
    /// Log entries checked.
    read: usize,
    /// Seq of the last stored event of this stream since it (re)started.
    after: Option<u64>,
    /// The client's filter, and compiled (URL patterns are dear to compile).
    filter: Option<(ClientFilter, TopicFilter)>,
}

/// Checks, each time it is called, what every client read since the last
/// call: each stored event is one its filter admits (no private event
/// without a grant, no topic it did not select), seqs only grow, and
/// between two events of one stream, with no reset or reconnect between,
/// no event its filter admits was skipped (of those the ring showed at
/// some call: a burst may evict events unseen).
#[derive(Default)]
pub struct StreamCheck {
    known: BTreeMap<u64, (Vec<Topic>, bool)>,
    readers: BTreeMap<String, Reader>,
}

fn topics(list: &[String]) -> Vec<Topic> {
    list.iter().map(|t| Topic::new(t).unwrap()).collect()
}

impl StreamCheck {
    /// Checks the logs since the last call, and that each connected
    /// client's backlog is the ring's events from its cursor that its
    /// filter admits; `Err` names `when`, the client and the seq.
    pub fn check(&mut self, sim: &Sim, when: &str) -> Result<(), String> {
        let ring = sim.ring().events;
        for e in &ring {
            self.known.insert(e.seq, (topics(&e.topics), e.private));
        }
        for c in sim.clients() {
            let r = self.readers.entry(c.name.clone()).or_default();
            let now = ClientFilter {
                selectors: c.selectors.clone(),
                grants: c.grants.clone(),
            };
            if r.filter.as_ref().is_none_or(|(was, _)| *was != now) {
                let compiled = now.compile(&Interner::new()).unwrap();
                r.filter = Some((now, compiled));
            }
            let filter = &r.filter.as_ref().unwrap().1;
            let at = |seq: u64| format!("{when}, client {}, seq {seq}", c.name);
            if let Some(cursor) = c.cursor {
                let held = ring
                    .iter()
                    .filter(|e| e.seq >= cursor && filter.admits(&topics(&e.topics), e.private))
                    .count() as u64;
                if c.backlog != Some(held) {
                    return Err(at(cursor)
                        + &format!(": backlog {:?}, the ring holds {held} for it", c.backlog));
                }
            }
            for e in sim.log(&c.name, r.read).unwrap() {
                match e.kind {
                    LogKind::Reset | LogKind::Disconnect => r.after = None,
                    LogKind::Connect if e.id.is_none() => r.after = None,
                    LogKind::Event => {
                        let seq = e
                            .seq
                            .ok_or_else(|| at(0) + ": a stored event without a seq")?;
                        if !filter.admits(&topics(&e.topics), e.private) {
                            return Err(at(seq) + ": read an event its filter does not admit");
                        }
                        if let Some(after) = r.after {
                            if seq <= after {
                                return Err(at(seq) + &format!(": after seq {after}"));
                            }
                            let skipped = self
                                .known
                                .range(after + 1..seq)
                                .find(|(_, (t, private))| filter.admits(t, *private));
                            if let Some((missed, _)) = skipped {
                                return Err(
                                    at(seq) + &format!(": skipped seq {missed}, which it admits")
                                );
                            }
                        }
                        r.after = Some(seq);
                    }
                    _ => {}
                }
            }
            r.read = c.log_length;
        }
        Ok(())
    }
}

/// Takes `steps` chaos steps one at a time, with a [`StreamCheck`] after
/// each.
pub fn checked_chaos(sim: &mut Sim, steps: u32) -> Result<StreamCheck, String> {
    let mut check = StreamCheck::default();
    for step in 0..steps {
        sim.chaos(1).map_err(|e| e.to_string())?;
        check.check(sim, &format!("step {step}"))?;
    }
    Ok(check)
}

/// What a seeded routed scenario of the simulator ends with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoutedOutcome {
    pub published: u64,
    pub delivered: u64,
    /// Private events delivered, over all clients.
    pub private: u64,
    pub resets: u64,
    pub lagged: u64,
    /// Doorbells rung for stored events.
    pub bells: u64,
    /// Wake-ups that found nothing to read.
    pub idle: u64,
    /// Routes in use at the end, before everyone disconnects.
    pub routes: usize,
}

/// Runs one seed of the simulator with topics: four clients with seeded
/// filters, then `steps` chaos steps (bursts on item topics, private
/// updates, reconnects, filter changes, stalls, probes), checked with
/// [`checked_chaos`]; `Err` says which check broke where.
pub fn routed_scenario(seed: u64, steps: u32) -> Result<RoutedOutcome, String> {
    let mut sim = Sim::new(SimConfig {
        seed,
        ring_size: 4 + (seed as usize % 13),
        batch_size: 1 + (seed as usize % 4),
        flush_interval_ms: seed % 3,
        commit_latency_ms: if seed.is_multiple_of(4) {
            1 + seed % 7
        } else {
            0
        },
        ..SimConfig::default()
    })
    .map_err(|e| e.to_string())?;
    let mut rng = Rng::new(seed ^ 0x70_91c5);
    for name in ["A", "B", "C", "D"] {
        sim.set_filter(name, seeded_filter(rng.below(6)))
            .map_err(|e| e.to_string())?;
        sim.connect(name, true).map_err(|e| e.to_string())?;
    }
    checked_chaos(&mut sim, steps)?;
    let routes = sim.stats().routes;
    let clients = sim.clients();
    // Connected subscriptions report deliveries lazily; disconnected, the
    // counter is complete.
    for c in clients.iter().filter(|c| c.connected) {
        sim.disconnect(&c.name).map_err(|e| e.to_string())?;
    }
    let stats = sim.stats();
    let received: u64 = clients.iter().map(|c| c.received).sum();
    if stats.delivered != received {
        return Err(format!(
            "the broker delivered {} events, the clients read {received}",
            stats.delivered
        ));
    }
    Ok(RoutedOutcome {
        published: stats.published,
        delivered: stats.delivered,
        private: clients.iter().map(|c| c.private_received).sum(),
        resets: stats.resets,
        lagged: stats.lagged,
        bells: stats.bells,
        idle: stats.idle_wakeups,
        routes,
    })
}
