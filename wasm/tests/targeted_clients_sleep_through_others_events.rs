//! A client with an exact selector is woken only for its own events: the
//! other clients' traffic never rings its bell, so its wake-ups equal its
//! writes of live events and none finds nothing to read. Equal filters
//! share one route. Runs natively and, with
//! `--target wasm32-unknown-unknown`, under Node.

#[macro_use]
mod common;

use std::collections::BTreeSet;

use tidings_wasm::sim::{
    ClientFilter, LogKind, MatchType, Phase, Sim, SimConfig, TopicMatcher, Update, item_topic,
};
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test;

fn only(part: &str) -> ClientFilter {
    ClientFilter {
        selectors: vec![TopicMatcher::new(MatchType::Exact, &item_topic(part))],
        ..ClientFilter::default()
    }
}

fn to(part: &str, private: bool, n: u32) -> Update {
    Update {
        data: n.to_string(),
        topics: vec![item_topic(part)],
        private,
        ..Update::default()
    }
}

/// The writes that carried `name`'s live events: one per wake-up.
fn live_writes(sim: &Sim, name: &str) -> usize {
    let writes: BTreeSet<_> = sim
        .log(name, 0)
        .unwrap()
        .iter()
        .filter(|e| e.kind == LogKind::Event && e.phase == Some(Phase::Live))
        .map(|e| e.write)
        .collect();
    writes.len()
}

both! {
    fn a_targeted_client_is_woken_only_for_its_own_events() {
        // No heartbeats or probes: they would wake everyone, by design.
        let mut s = Sim::new(SimConfig {
            heartbeat_interval_ms: 0,
            probe_interval_ms: 0,
            ..SimConfig::default()
        })
        .unwrap();
        for (name, filter) in [("T", only("P-001")), ("T2", only("P-001")), ("O", only("P-002")), ("E", ClientFilter::default())] {
            s.set_filter(name, filter).unwrap();
            s.connect(name, true).unwrap();
        }
        assert_eq!(s.stats().routes, 3, "T and T2 share a route");
        for n in 0..40 {
            // Spaced out, so every publish rings at once and nobody reads
            // an event before the ring meant for it.
            s.advance(2).unwrap();
            let part = if n % 10 == 0 { "P-001" } else { "P-002" };
            s.publish_update(&to(part, false, n)).unwrap();
        }
        // A private event for its topic, which T is not granted.
        s.advance(2).unwrap();
        s.publish_update(&to("P-001", true, 99)).unwrap();
        s.advance(2).unwrap();

        let views = s.clients();
        let [t, t2, o, e] = [0, 1, 2, 3].map(|i| views[i].clone());
        assert_eq!((t.received, o.received, e.received), (4, 36, 40));
        assert_eq!(t.wakeups, 4, "one wake-up per event of its own");
        assert_eq!(t.wakeups as usize, live_writes(&s, "T"));
        assert_eq!(t.idle_wakeups, 0);
        assert_eq!((t2.wakeups, t2.idle_wakeups), (4, 0));
        assert_eq!(o.wakeups as usize, live_writes(&s, "O"));
        assert_eq!(e.wakeups, 40, "the unfiltered client is woken for everything public");
        let st = s.stats();
        assert_eq!(st.idle_wakeups, 0, "no wake-up anywhere found nothing");
        assert_eq!(st.bells, 4 + 4 + 36 + 40);
    }

    fn a_burst_read_at_its_first_wake_up_costs_no_idle_wake_up() {
        // The first event of a burst rings at once and the client then reads
        // the whole burst; the flush a millisecond later finds it has read
        // everything, so it does not ring it for nothing.
        let mut s = Sim::new(SimConfig { heartbeat_interval_ms: 0, probe_interval_ms: 0, ..SimConfig::default() }).unwrap();
        s.connect("E", true).unwrap();
        s.publish_burst(5).unwrap();
        let e = &s.clients()[0];
        assert_eq!((e.received, e.wakeups, e.idle_wakeups), (5, 1, 0));
        s.advance(1).unwrap();
        let e = &s.clients()[0];
        assert_eq!((e.received, e.wakeups, e.idle_wakeups), (5, 1, 0));
        assert_eq!(s.stats().idle_wakeups, 0, "the client counts what the broker counts");
        // Spaced out, the same events cost one wake-up each and no idle one.
        s.publish_stream(5).unwrap();
        s.advance(1).unwrap();
        let e = &s.clients()[0];
        assert_eq!((e.received, e.wakeups, e.idle_wakeups), (10, 6, 0));
    }

    fn others_events_wrapping_the_ring_do_not_lag_a_quiet_client() {
        let mut s = Sim::new(SimConfig { ring_size: 8, ..SimConfig::default() }).unwrap();
        s.set_filter("T", only("P-001")).unwrap();
        s.connect("T", true).unwrap();
        s.stall("T").unwrap();
        for n in 0..20 {
            s.publish_update(&to("P-002", false, n)).unwrap();
        }
        let t = s.clients()[0].clone();
        assert!(t.cursor.unwrap() < s.ring().tail, "the ring wrapped past its cursor");
        assert_eq!((t.backlog, t.behind_ring), (Some(0), false), "nothing it reads was lost");
        s.resume("T").unwrap();
        assert_eq!(s.clients()[0].resets, 0);

        // One of its own events evicted unread: that is a lag.
        s.stall("T").unwrap();
        s.publish_update(&to("P-001", false, 99)).unwrap();
        assert_eq!(s.clients()[0].backlog, Some(1));
        for n in 0..8 {
            s.publish_update(&to("P-002", false, n)).unwrap();
        }
        let t = s.clients()[0].clone();
        assert_eq!((t.backlog, t.behind_ring), (Some(0), true));
        s.resume("T").unwrap();
        let t = s.clients()[0].clone();
        assert_eq!((t.resets, t.behind_ring, t.received), (1, false, 0));
    }
}
