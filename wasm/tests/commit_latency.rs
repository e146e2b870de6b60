//! The publish intake in the simulator: with a commit latency, an event
//! reaches the ring and the clients only when its write ends, exactly once
//! and in order; publishes made during a write are written together; a
//! full queue refuses publishes but never a mode change; with a latency of
//! 0 nothing ever waits. Runs natively and, with
//! `--target wasm32-unknown-unknown`, under Node.

#[macro_use]
mod common;

use std::collections::BTreeMap;

use common::{checked_chaos, seq};
use tidings_core::mode::OperatorInput;
use tidings_wasm::sim::{CommitPhase, LogEntry, LogKind, Sim, SimConfig, SimError};
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test;

fn slow(latency: u64, queue: usize) -> Sim {
    Sim::new(SimConfig {
        commit_latency_ms: latency,
        publish_queue: queue,
        ..SimConfig::default()
    })
    .unwrap()
}

fn events(log: &[LogEntry]) -> Vec<&LogEntry> {
    log.iter().filter(|e| e.kind == LogKind::Event).collect()
}

/// How many events of the ring were stored at each time: one entry per
/// write.
fn writes(sim: &Sim) -> Vec<usize> {
    let mut at = BTreeMap::new();
    for e in sim.ring().events {
        *at.entry(e.at).or_insert(0) += 1;
    }
    at.into_values().collect()
}

both! {
    fn an_event_reaches_clients_only_when_its_write_ends_once_and_in_order() {
        let mut s = slow(10, 64);
        s.connect("A", true).unwrap();
        assert_eq!(s.publish("note", "e1").unwrap(), None, "no id before the commit");
        s.advance(4).unwrap();
        s.publish("note", "e2").unwrap();
        s.publish("note", "e3").unwrap();
        let pending: Vec<_> = s
            .committing()
            .into_iter()
            .map(|e| (e.data, e.phase, e.queued_at, e.commit_at))
            .collect();
        assert_eq!(
            pending,
            [
                ("e1".to_owned(), CommitPhase::Writing, 0, 10),
                ("e2".to_owned(), CommitPhase::Queued, 4, 20),
                ("e3".to_owned(), CommitPhase::Queued, 4, 20),
            ]
        );
        let st = s.stats();
        assert_eq!((st.writing, st.queued, st.commit_due, st.published), (1, 2, Some(10), 0));

        s.advance(5).unwrap();
        assert!(events(s.log("A", 0).unwrap()).is_empty(), "nothing before t = 10");
        assert_eq!(s.ring().head, 0);
        s.advance(1).unwrap();
        let got: Vec<_> = events(s.log("A", 0).unwrap()).iter().map(|e| (seq(e), e.at)).collect();
        assert_eq!(got, [(1, 10)], "e1 at its commit, with the first id");
        // A client connecting now is replayed only what is stored.
        s.connect_from("B", "s1-0").unwrap();
        s.advance(9).unwrap();
        assert_eq!(events(s.log("A", 0).unwrap()).len(), 1, "e2 and e3 wait until t = 20");
        s.advance(1).unwrap();
        s.advance(100).unwrap();
        for name in ["A", "B"] {
            let log = s.log(name, 0).unwrap();
            let got: Vec<_> = events(log).iter().map(|e| (seq(e), e.data.clone().unwrap())).collect();
            let want: Vec<_> = [(1, "e1"), (2, "e2"), (3, "e3")]
                .into_iter()
                .map(|(n, d)| (n, d.to_owned()))
                .collect();
            assert_eq!(got, want, "{name}: each once, in order");
        }
        let times: Vec<_> = s.ring().events.iter().map(|e| e.at).collect();
        assert_eq!(times, [10, 20, 20], "stored when their writes ended");
        assert!(s.committing().is_empty());
        assert_eq!((s.stats().commit_due, s.stats().commits), (None, 2));
    }

    fn publishes_made_during_a_write_are_written_together() {
        // A burst: the idle writer takes the first, the rest queue for the
        // next write.
        let mut s = slow(10, 64);
        s.connect("A", true).unwrap();
        s.publish_burst(10).unwrap();
        assert_eq!((s.stats().writing, s.stats().queued), (1, 9));
        s.advance(20).unwrap();
        assert_eq!(writes(&s), [1, 9]);

        // A stream of one publish per millisecond: each write carries what
        // came while the previous one was under way.
        let mut s = Sim::new(SimConfig {
            commit_latency_ms: 10,
            ring_size: 64,
            ..SimConfig::default()
        })
        .unwrap();
        s.connect("A", true).unwrap();
        s.publish_stream(25).unwrap();
        s.advance(50).unwrap();
        assert_eq!(writes(&s), [1, 9, 10, 5]);
        assert_eq!(s.stats().commits, 4);
        let seqs: Vec<_> = events(s.log("A", 0).unwrap()).iter().map(|e| seq(e)).collect();
        assert_eq!(seqs, (1..=25).collect::<Vec<_>>(), "every event once, in publish order");
        let data: Vec<_> = s.ring().events.iter().map(|e| e.data.clone()).collect();
        for (n, d) in data.iter().enumerate() {
            assert!(d.ends_with(&format!(r#""n":{n}}}"#)), "ids follow publish order: {d}");
        }
    }

    fn a_full_queue_refuses_publishes() {
        let mut s = slow(10, 4);
        s.connect("A", true).unwrap();
        s.publish_burst(10).unwrap();
        let st = s.stats();
        assert_eq!((st.writing, st.queued, st.refused), (1, 4, 5), "one written, four queued");

        let before = (s.script(), s.stats(), s.committing());
        assert_eq!(s.publish("note", "one more"), Err(SimError::QueueFull));
        assert_eq!((s.script(), s.stats(), s.committing()), before, "a refused publish changes nothing");

        s.advance(10).unwrap(); // the writer takes the four: room again
        assert_eq!(s.publish("note", "fits").unwrap(), None);
        s.advance(20).unwrap();
        let data: Vec<_> = s.ring().events.iter().map(|e| e.data.clone()).collect();
        assert_eq!(data.len(), 6);
        assert!(data[4].ends_with(r#""n":4}"#), "the refused events never appear");
        assert_eq!(data[5], "fits");
        assert_eq!(events(s.log("A", 0).unwrap()).len(), 6);
        assert_eq!(s.stats().refused, 5);
    }

    fn mode_changes_are_never_refused_by_a_full_queue_and_keep_their_place() {
        let mut s = slow(10, 1);
        s.connect("A", true).unwrap();
        s.publish("note", "a").unwrap(); // written
        s.publish("note", "b").unwrap(); // queued: the queue is full
        assert_eq!(s.publish("note", "c"), Err(SimError::QueueFull));
        let t = s.operator(OperatorInput::Set).unwrap();
        assert_eq!(t.to.as_str(), "read_only");
        assert_eq!(s.mode().mode.as_str(), "read_only", "the mode changes at once");
        assert_eq!(s.publish("note", "d"), Err(SimError::ReadOnly));
        s.operator(OperatorInput::Clear).unwrap();
        let pending: Vec<_> = s.committing().into_iter().map(|e| (e.event_type, e.mode_change)).collect();
        assert_eq!(
            pending,
            [
                ("note".to_owned(), false),
                ("note".to_owned(), false),
                ("server.state".to_owned(), true),
                ("server.state".to_owned(), true),
            ],
            "both changes queued past a full queue"
        );
        s.advance(20).unwrap();
        let got: Vec<_> = events(s.log("A", 0).unwrap())
            .iter()
            .map(|e| (seq(e), e.event_type.clone().unwrap(), e.at))
            .collect();
        assert_eq!(
            got,
            [
                (1, "note".to_owned(), 10),
                (2, "note".to_owned(), 20),
                (3, "server.state".to_owned(), 20),
                (4, "server.state".to_owned(), 20),
            ],
            "in the order they were queued"
        );
        assert_eq!(s.stats().refused, 0, "a single refused publish is an error, not a count");
    }

    fn with_a_latency_of_0_nothing_waits_even_in_a_queue_of_one() {
        let mut s = Sim::new(SimConfig {
            ring_size: 256,
            publish_queue: 1,
            ..SimConfig::default()
        })
        .unwrap();
        s.connect("A", true).unwrap();
        assert_eq!(s.publish("note", "x").unwrap().as_deref(), Some("s1-1"));
        s.publish_burst(100).unwrap();
        s.publish_stream(50).unwrap();
        s.operator(OperatorInput::Toggle).unwrap();
        s.operator(OperatorInput::Toggle).unwrap();
        let st = s.stats();
        assert_eq!((st.published, st.commits, st.refused, st.queued, st.writing), (153, 153, 0, 0, 0));
        assert!(s.committing().is_empty());
        s.advance(1).unwrap(); // the flush after the last wake-up
        assert_eq!(s.clients()[0].received, 153);
    }

    fn the_latency_changes_mid_run_and_a_script_replays_exactly() {
        let config = SimConfig {
            seed: 21,
            ring_size: 12,
            batch_size: 3,
            commit_latency_ms: 7,
            publish_queue: 6,
            ..SimConfig::default()
        };
        let mut a = Sim::new(config.clone()).unwrap();
        a.apply_script("connect:A,connect:B,connect:C,chaos:300").unwrap();
        a.apply_script("latency:0,publish:5,latency:25,stream:40,publish:20").unwrap();
        assert!(a.stats().refused > 0, "the queue of 6 overflowed");
        assert!(matches!(a.apply("latency:60001"), Err(SimError::BadLatency)));
        let mut b = Sim::new(config).unwrap();
        b.apply_script(&a.script()).unwrap();
        assert_eq!(a.script(), b.script());
        assert_eq!(a.committing(), b.committing());
        assert_eq!(a.stats(), b.stats());
        assert_eq!(a.ring(), b.ring());
        for c in a.clients() {
            assert_eq!(a.log(&c.name, 0).unwrap(), b.log(&c.name, 0).unwrap());
        }
    }

    fn chaos_with_a_latency_keeps_every_stream_gapless_between_resets() {
        for seed in 0..20 {
            let mut s = Sim::new(SimConfig {
                seed,
                ring_size: 4 + (seed as usize % 12),
                commit_latency_ms: 1 + seed % 15,
                publish_queue: 1 + (seed as usize % 20),
                ..SimConfig::default()
            })
            .unwrap();
            for name in ["A", "B", "C"] {
                s.connect(name, true).unwrap();
            }
            // Gapless over what each client's filter admits.
            let mut check = checked_chaos(&mut s, 400).unwrap_or_else(|msg| panic!("seed {seed}: {msg}"));
            s.advance(100).unwrap();
            assert!(s.committing().is_empty(), "seed {seed}: every write ended");
            check.check(&s, "the last writes").unwrap_or_else(|msg| panic!("seed {seed}: {msg}"));
        }
    }

    fn bad_intake_settings_are_refused() {
        for bad in [
            SimConfig { publish_queue: 0, ..SimConfig::default() },
            SimConfig { publish_queue: 10_001, ..SimConfig::default() },
            SimConfig { commit_latency_ms: 60_001, ..SimConfig::default() },
        ] {
            assert!(matches!(Sim::new(bad), Err(SimError::Config(_))));
        }
        let defaults = SimConfig::default();
        assert_eq!((defaults.commit_latency_ms, defaults.publish_queue), (0, 1024));
    }
}
