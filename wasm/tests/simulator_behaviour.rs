//! What the simulator shows must be what the core does: lagged resets,
//! replays, catch-ups, the ring mirror, modes and exact replay of a script.
//! Runs natively and, with `--target wasm32-unknown-unknown`, under Node.

#[macro_use]
mod common;

use common::{checked_chaos, of_kind, seqs};
use tidings_wasm::sim::{LogKind, Phase, Sim, SimConfig, SimError};
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test;

fn sim(ring_size: usize, batch_size: usize) -> Sim {
    Sim::new(SimConfig {
        ring_size,
        batch_size,
        ..SimConfig::default()
    })
    .unwrap()
}

both! {
    fn a_client_stalled_past_the_ring_gets_a_lagged_reset_then_the_tail() {
        let mut s = sim(4, 4);
        s.connect("A", true).unwrap();
        s.stall("A").unwrap();
        s.publish_burst(10).unwrap();
        assert!(s.clients()[0].behind_ring);
        s.resume("A").unwrap();
        let log = s.log("A", 0).unwrap();
        let resets = of_kind(log, LogKind::Reset);
        assert_eq!(resets.len(), 1);
        assert_eq!(resets[0].reason.as_deref(), Some("lagged"));
        assert_eq!(resets[0].data.as_deref(), Some(r#"{"reason":"lagged","head":"s1-10"}"#));
        assert_eq!(seqs(log), [7, 8, 9, 10], "continues from the ring's tail");
        assert_eq!(s.stats().lagged, 1);
        assert!(!s.clients()[0].behind_ring);
    }

    fn a_client_stalled_past_its_queue_catches_up_in_several_writes() {
        let mut s = sim(32, 3);
        s.connect("A", true).unwrap();
        s.stall("A").unwrap();
        s.publish_burst(10).unwrap();
        assert_eq!(s.clients()[0].backlog, Some(10));
        s.resume("A").unwrap();
        let log = s.log("A", 0).unwrap();
        assert!(of_kind(log, LogKind::Reset).is_empty(), "nothing lost");
        assert_eq!(seqs(log), (1..=10).collect::<Vec<_>>());
        let events: Vec<_> = of_kind(log, LogKind::Event);
        assert!(events.iter().all(|e| e.phase == Some(Phase::CatchUp)));
        let writes: std::collections::BTreeSet<_> = events.iter().map(|e| e.write).collect();
        assert_eq!(writes.len(), 4, "10 events in writes of at most 3");
        assert_eq!(s.clients()[0].backlog, Some(0));
    }

    fn reconnecting_with_the_last_id_replays_exactly_what_was_missed() {
        let mut s = sim(16, 4);
        s.connect("A", true).unwrap();
        s.publish_burst(3).unwrap();
        s.disconnect("A").unwrap();
        s.publish_burst(4).unwrap();
        s.connect("A", true).unwrap();
        let log = s.log("A", 0).unwrap();
        assert_eq!(of_kind(log, LogKind::Connect)[1].id.as_deref(), Some("s1-3"));
        let replayed: Vec<_> = log.iter().filter(|e| e.phase == Some(Phase::Replay)).collect();
        assert_eq!(replayed.len(), 4);
        assert_eq!(seqs(log), (1..=7).collect::<Vec<_>>());
        assert_eq!(s.stats().catch_ups, 1);
    }

    fn reconnecting_without_the_last_id_gets_only_live_events() {
        let mut s = sim(16, 4);
        s.connect("A", true).unwrap();
        s.publish_burst(3).unwrap();
        s.disconnect("A").unwrap();
        s.publish_burst(4).unwrap();
        s.connect("A", false).unwrap();
        s.publish("note", "after").unwrap();
        s.advance(1).unwrap(); // the flush after the burst's wake-up
        assert_eq!(seqs(s.log("A", 0).unwrap()), [1, 2, 3, 8]);
    }

    fn stale_foreign_and_junk_ids_each_get_their_reset() {
        let mut s = sim(4, 4);
        s.publish_burst(10).unwrap();
        for (id, reason) in [
            ("s1-2", "history_exceeded"),
            ("other-2", "unknown_epoch"),
            ("s1-99", "invalid_id"),
            ("junk", "invalid_id"),
        ] {
            s.connect_from("D", id).unwrap();
            let reset = *of_kind(s.log("D", 0).unwrap(), LogKind::Reset).last().unwrap();
            assert_eq!(reset.reason.as_deref(), Some(reason), "{id}");
            s.disconnect("D").unwrap();
        }
    }

    fn the_ring_mirror_matches_the_cores_replay_decisions() {
        // The core keeps its ring private; the mirror's tail must be exactly
        // where the core starts answering history_exceeded.
        for (ring, n) in [(1, 1), (4, 3), (4, 4), (4, 9), (7, 50)] {
            let mut s = sim(ring, 2);
            s.publish_burst(n).unwrap();
            let view = s.ring();
            assert_eq!(view.head, n);
            assert_eq!(view.events.len(), ring.min(n as usize));
            assert_eq!(view.events.first().map(|e| e.seq), Some(view.tail));
            // Resuming after tail - 1 replays everything held…
            s.connect_from("X", &format!("s1-{}", view.tail - 1)).unwrap();
            let log = s.log("X", 0).unwrap().to_vec();
            assert!(of_kind(&log, LogKind::Reset).is_empty(), "ring {ring} n {n}");
            assert_eq!(seqs(&log), (view.tail..=view.head).collect::<Vec<_>>());
            s.disconnect("X").unwrap();
            // …and one further back is no longer covered.
            if view.tail >= 2 {
                s.connect_from("Y", &format!("s1-{}", view.tail - 2)).unwrap();
                let reset = of_kind(s.log("Y", 0).unwrap(), LogKind::Reset)[0].clone();
                assert_eq!(reset.reason.as_deref(), Some("history_exceeded"));
            }
        }
    }

    fn storage_failures_degrade_after_the_threshold_and_recover_with_hysteresis() {
        let mut s = Sim::new(SimConfig {
            probe_interval_ms: 100,
            fail_threshold: 3,
            recover_threshold: 2,
            ..SimConfig::default()
        })
        .unwrap();
        s.connect("A", true).unwrap();
        s.set_storage(false);
        s.advance(299).unwrap();
        assert_eq!(s.mode().mode.as_str(), "normal");
        s.advance(1).unwrap();
        assert_eq!(s.mode().mode.as_str(), "degraded");
        s.set_storage(true);
        s.advance(200).unwrap();
        let m = s.mode();
        assert_eq!(m.mode.as_str(), "normal");
        let reasons: Vec<_> = m.transitions.iter().map(|t| t.reason.as_str()).collect();
        assert_eq!(reasons, ["startup", "storage_unhealthy", "storage_recovered"]);
        assert_eq!(m.transitions[1].at.0, 300);
        // Clients saw both changes as stored server.state events, in order.
        let states: Vec<_> = s
            .log("A", 0)
            .unwrap()
            .iter()
            .filter(|e| e.kind == LogKind::Event && e.event_type.as_deref() == Some("server.state"))
            .map(|e| e.data.clone().unwrap())
            .collect();
        assert_eq!(states.len(), 2);
        assert!(states[0].contains(r#""to":"degraded""#));
    }

    fn read_only_refuses_publishes_and_wins_over_degraded() {
        let mut s = Sim::new(SimConfig {
            fail_threshold: 1,
            ..SimConfig::default()
        })
        .unwrap();
        s.operator(tidings_core::mode::OperatorInput::Set);
        assert_eq!(s.publish_burst(1), Err(SimError::ReadOnly));
        assert_eq!(s.publish("note", "x"), Err(SimError::ReadOnly));
        assert!(s.probe(false).is_none(), "read-only wins");
        let t = s.operator(tidings_core::mode::OperatorInput::Toggle).unwrap();
        assert_eq!((t.to.as_str(), t.reason.as_str()), ("degraded", "operator_writable"));
        assert!(s.publish_burst(1).is_ok(), "degraded still accepts publishes");
        assert_eq!(s.script(), "read-only:on,probe:fail,read-only:toggle,publish:1");
    }

    fn flushes_batch_wake_ups_on_the_virtual_clock() {
        let mut s = Sim::new(SimConfig {
            flush_interval_ms: 5,
            batch_size: 100,
            ..SimConfig::default()
        })
        .unwrap();
        s.connect("A", true).unwrap();
        s.publish("note", "1").unwrap(); // idle: rings at once
        s.publish("note", "2").unwrap(); // batched until the flush
        s.publish("note", "3").unwrap();
        assert_eq!(seqs(s.log("A", 0).unwrap()), [1]);
        s.advance(4).unwrap();
        assert_eq!(seqs(s.log("A", 0).unwrap()), [1]);
        s.advance(1).unwrap();
        let log = s.log("A", 0).unwrap();
        assert_eq!(seqs(log), [1, 2, 3]);
        let last: Vec<_> = of_kind(log, LogKind::Event).iter().map(|e| (e.at, e.write)).collect();
        assert_eq!(last[1], last[2], "one wake-up, one write for both");
        assert_eq!(last[1].0, 5);
    }

    fn a_script_replays_to_the_same_state() {
        let config = SimConfig {
            seed: 77,
            ring_size: 8,
            batch_size: 3,
            ..SimConfig::default()
        };
        let mut a = Sim::new(config.clone()).unwrap();
        a.apply_script("connect:A connect:B connect:C").unwrap();
        a.chaos(300).unwrap();
        a.stall("A").ok();
        a.publish("note", "comma, colon: and %").unwrap();
        a.connect_from("D", "s4d-1").unwrap();
        a.advance(1234).unwrap();
        // Frame-by-frame advances, merged into one action in the script.
        a.publish_burst(3).unwrap();
        for ms in [1, 0, 3, 997, 2, 5000] {
            a.advance(ms).unwrap();
        }
        assert!(a.script().ends_with(",publish:3,advance:6003"));
        let mut b = Sim::new(config).unwrap();
        b.apply_script(&a.script()).unwrap();
        assert_eq!(a.script(), b.script());
        assert_eq!(a.clients(), b.clients());
        for c in a.clients() {
            assert_eq!(a.log(&c.name, 0).unwrap(), b.log(&c.name, 0).unwrap());
        }
        assert_eq!(a.ring(), b.ring());
        assert_eq!(a.mode(), b.mode());
        assert_eq!(a.stats(), b.stats());
    }

    fn chaos_streams_deliver_what_each_filter_admits_without_gaps_between_resets() {
        for seed in 0..40 {
            let mut s = Sim::new(SimConfig {
                seed,
                ring_size: 1 + (seed as usize % 12),
                batch_size: 1 + (seed as usize % 5),
                flush_interval_ms: seed % 3,
                ..SimConfig::default()
            })
            .unwrap();
            for name in ["A", "B", "C", "D"] {
                s.connect(name, true).unwrap();
            }
            checked_chaos(&mut s, 400).unwrap_or_else(|msg| panic!("seed {seed}: {msg}"));
            let st = s.stats();
            let received: u64 = s.clients().iter().map(|c| c.received).sum();
            // Connected subscriptions report deliveries lazily; disconnect
            // everyone so the counter is complete.
            for c in s.clients().iter().filter(|c| c.connected) {
                s.disconnect(&c.name).unwrap();
            }
            assert_eq!(s.stats().delivered, received, "seed {seed}");
            assert!(st.published > 0);
        }
    }

    fn bad_input_is_refused_and_changes_nothing() {
        let mut s = sim(4, 4);
        assert_eq!(s.connect("bad name", true), Err(SimError::BadName));
        assert_eq!(s.disconnect("A"), Err(SimError::UnknownClient("A".into())));
        s.connect("A", true).unwrap();
        assert_eq!(s.connect("A", true), Err(SimError::Connected("A".into())));
        assert_eq!(s.publish_burst(0), Err(SimError::BadBurst));
        assert_eq!(s.advance(3_600_001), Err(SimError::TooLong));
        assert!(matches!(s.publish("no\nline breaks", "x"), Err(SimError::Kind(_))));
        assert!(matches!(s.apply_script("publish:1,warp:9"), Err(SimError::Script { index: 1, .. })));
        assert_eq!(s.script(), "connect:A,publish:1");
        for bad in [
            SimConfig { batch_size: 0, ..SimConfig::default() },
            SimConfig { fail_threshold: 0, ..SimConfig::default() },
            SimConfig { heartbeat_interval_ms: 5, ..SimConfig::default() },
            SimConfig { flush_interval_ms: 1001, ..SimConfig::default() },
        ] {
            assert!(matches!(Sim::new(bad), Err(SimError::Config(_))));
        }
    }
}

both! {
    fn a_stream_past_the_ring_lags_only_the_stalled_client() {
        let mut s = sim(8, 2);
        s.apply_script("connect:A,connect:B,stall:B,stream:12,resume:B").unwrap();
        let views = s.clients();
        assert_eq!((views[0].received, views[0].resets), (12, 0));
        assert_eq!((views[1].received, views[1].resets), (8, 1));
        assert_eq!(s.now(), 11);
    }

    fn a_burst_past_the_ring_within_one_flush_lags_everyone() {
        // Nobody reads between the publishes of one burst: size the ring
        // for the bursts you expect.
        let mut s = sim(8, 2);
        s.apply_script("connect:A,connect:B,publish:12").unwrap();
        assert!(s.clients().iter().all(|c| c.resets == 1 && c.received == 8));
    }

    fn events_batched_behind_a_flush_say_when_it_is_due() {
        let mut s = sim(8, 2);
        s.apply_script("connect:A,publish:1,publish:1").unwrap();
        assert_eq!(s.stats().flush_due, Some(1));
        assert_eq!(s.clients()[0].received, 1);
        s.advance(1).unwrap();
        assert_eq!(s.stats().flush_due, None);
        assert_eq!(s.clients()[0].received, 2);
    }
}
