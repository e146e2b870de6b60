//! A client that reconnects with its last id is replayed exactly what its
//! filter delivers: its selected topics, the private events its grants
//! match, nothing topic-less when it has selectors. A publisher's id
//! resumes too, and the log still names each event's seq. Runs natively
//! and, with `--target wasm32-unknown-unknown`, under Node.

#[macro_use]
mod common;

use tidings_wasm::sim::{
    ClientFilter, LogEntry, MatchType, Phase, Sim, SimConfig, TopicMatcher, Update, item_topic,
};
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test;

fn to(parts: &[&str], private: bool, data: &str, id: Option<&str>) -> Update {
    Update {
        event_type: Some("item.updated".into()),
        data: data.into(),
        topics: parts.iter().map(|p| item_topic(p)).collect(),
        private,
        id: id.map(str::to_owned),
    }
}

fn replayed(log: &[LogEntry]) -> Vec<(String, u64)> {
    log.iter()
        .filter(|e| e.phase == Some(Phase::Replay))
        .map(|e| (e.data.clone().unwrap(), e.seq.unwrap()))
        .collect()
}

fn pairs(list: &[(&str, u64)]) -> Vec<(String, u64)> {
    list.iter().map(|(d, s)| ((*d).to_owned(), *s)).collect()
}

both! {
    fn a_reconnect_replays_only_what_the_filter_delivers() {
        let mut s = Sim::new(SimConfig::default()).unwrap();
        let p1 = item_topic("P-001");
        let mine = ClientFilter {
            selectors: vec![TopicMatcher::new(MatchType::Exact, &p1)],
            grants: vec![TopicMatcher::new(MatchType::Exact, &p1)],
        };
        s.set_filter("T", mine.clone()).unwrap();
        s.connect("T", true).unwrap();
        s.publish_update(&to(&["P-001"], false, "a1", None)).unwrap(); // seq 1
        s.disconnect("T").unwrap();
        for (parts, private, data, id) in [
            (&["P-002"][..], false, "b1", None),         // 2
            (&["P-001"][..], true, "a2-private", None),  // 3
            (&["P-001"][..], false, "a3", Some("order-3")), // 4
            (&["P-002"][..], true, "b2-private", None),  // 5
            (&["P-002", "P-001"][..], false, "a4-alt", None), // 6
        ] {
            s.publish_update(&to(parts, private, data, id)).unwrap();
        }
        s.publish("note", "n1").unwrap(); // 7, topic-less
        s.advance(1).unwrap();

        s.connect("T", true).unwrap();
        let log = s.log("T", 0).unwrap();
        assert_eq!(log.iter().rev().find(|e| e.kind == tidings_wasm::sim::LogKind::Connect).unwrap().id.as_deref(), Some("s1-1"));
        assert_eq!(replayed(log), pairs(&[("a2-private", 3), ("a3", 4), ("a4-alt", 6)]));

        // The same selectors without the grant: the private one is left out.
        s.set_filter("N", ClientFilter { grants: vec![], ..mine.clone() }).unwrap();
        s.connect_from("N", "s1-1").unwrap();
        assert_eq!(replayed(s.log("N", 0).unwrap()), pairs(&[("a3", 4), ("a4-alt", 6)]));

        // No selectors, no grants: every public event, topic-less included.
        s.connect_from("E", "s1-1").unwrap();
        assert_eq!(replayed(s.log("E", 0).unwrap()), pairs(&[("b1", 2), ("a3", 4), ("a4-alt", 6), ("n1", 7)]));

        // A publisher's id resumes after its event.
        s.set_filter("S", mine).unwrap();
        s.connect_from("S", "order-3").unwrap();
        assert_eq!(replayed(s.log("S", 0).unwrap()), pairs(&[("a4-alt", 6)]));
        let t = &s.clients()[0];
        assert_eq!((t.received, t.private_received, t.last_id.as_deref()), (4, 1, Some("s1-6")));
        let stats = s.stats();
        assert_eq!(stats.catch_ups, 4, "each resume replayed something it delivers");
    }

    fn a_repeated_publishers_id_names_the_event_the_client_could_read() {
        // Two events share an id; a client selecting only the second reads
        // it under that id, and its log names the right seq and topic.
        let mut s = Sim::new(SimConfig::default()).unwrap();
        s.set_filter("B", ClientFilter { selectors: vec![TopicMatcher::new(MatchType::Exact, &item_topic("P-002"))], ..ClientFilter::default() }).unwrap();
        s.connect("B", true).unwrap();
        s.connect("A", true).unwrap();
        s.publish_update(&to(&["P-001"], false, "first", Some("dup"))).unwrap();
        s.advance(1).unwrap();
        s.publish_update(&to(&["P-002"], false, "second", Some("dup"))).unwrap();
        s.advance(1).unwrap();
        let b: Vec<_> = s.log("B", 0).unwrap().iter().filter(|e| e.seq.is_some()).cloned().collect();
        assert_eq!(b.len(), 1);
        assert_eq!((b[0].id.as_deref(), b[0].seq, b[0].topics.clone()), (Some("dup"), Some(2), vec![item_topic("P-002")]));
        let a: Vec<_> = s.log("A", 0).unwrap().iter().filter_map(|e| e.seq).collect();
        assert_eq!(a, [1, 2]);
        assert_eq!(s.ring().events.iter().map(|e| e.seen_by.join("")).collect::<Vec<_>>(), ["A", "BA"]);
    }
}
