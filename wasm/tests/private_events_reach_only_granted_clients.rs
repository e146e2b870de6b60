//! A private event reaches only the clients whose grants match one of its
//! topics (canonical or alternate), and among those only the ones whose
//! selectors select it; a public one reaches every client that selects
//! it. The ring records who read what, and each log entry carries the
//! event's topics and private flag. Runs natively and, with
//! `--target wasm32-unknown-unknown`, under Node.

#[macro_use]
mod common;

use tidings_wasm::sim::{
    ClientFilter, LogKind, MatchType, Sim, SimConfig, TopicMatcher, Update, item_topic,
};
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test;

fn m(t: MatchType, p: &str) -> TopicMatcher {
    TopicMatcher::new(t, p)
}

fn update(topics: &[&str], private: bool, data: &str) -> Update {
    Update {
        event_type: Some("item.updated".into()),
        data: data.into(),
        topics: topics.iter().map(|p| item_topic(p)).collect(),
        private,
        id: None,
    }
}

/// The data of the stored events `name` read, in order.
fn read(sim: &Sim, name: &str) -> Vec<String> {
    sim.log(name, 0)
        .unwrap()
        .iter()
        .filter(|e| e.kind == LogKind::Event)
        .map(|e| e.data.clone().unwrap())
        .collect()
}

both! {
    fn private_events_reach_only_the_granted_clients() {
        let mut s = Sim::new(SimConfig::default()).unwrap();
        let p1 = item_topic("P-001");
        let filters = [
            // Every public event, no private one.
            ("P", ClientFilter::default()),
            // Every public event, and the private ones of P-001.
            ("G", ClientFilter { grants: vec![m(MatchType::Exact, &p1)], ..ClientFilter::default() }),
            // Everything.
            ("W", ClientFilter { grants: vec![m(MatchType::Exact, "*")], ..ClientFilter::default() }),
            // Every item; of the private ones, P-002's (a relative pattern).
            ("U", ClientFilter {
                selectors: vec![m(MatchType::Urlpattern, "/items/:pn")],
                grants: vec![m(MatchType::Urlpattern, "/items/P-002")],
            }),
            // P-002 only, and no grant: its private events stay hidden.
            ("T", ClientFilter { selectors: vec![m(MatchType::Exact, &item_topic("P-002"))], ..ClientFilter::default() }),
        ];
        for (name, filter) in filters {
            s.set_filter(name, filter).unwrap();
            s.connect(name, true).unwrap();
        }
        s.publish_update(&update(&["P-001"], true, "secret-1")).unwrap();
        s.publish_update(&update(&["P-002"], true, "secret-2")).unwrap();
        // Granted through its alternate topic.
        s.publish_update(&update(&["P-003", "P-001"], true, "secret-3-1")).unwrap();
        s.publish_update(&update(&["P-002"], false, "public-2")).unwrap();
        s.publish("note", "no-topic").unwrap();
        s.advance(1).unwrap();

        assert_eq!(read(&s, "P"), ["public-2", "no-topic"]);
        assert_eq!(read(&s, "G"), ["secret-1", "secret-3-1", "public-2", "no-topic"]);
        assert_eq!(read(&s, "W"), ["secret-1", "secret-2", "secret-3-1", "public-2", "no-topic"]);
        assert_eq!(read(&s, "U"), ["secret-2", "public-2"], "selectors never match a topic-less event");
        assert_eq!(read(&s, "T"), ["public-2"]);

        let private: Vec<_> = s.clients().iter().map(|c| (c.name.clone(), c.private_received)).collect();
        let want: Vec<_> = [("P", 0), ("G", 2), ("W", 3), ("U", 1), ("T", 0)]
            .map(|(n, k)| (n.to_owned(), k))
            .into();
        assert_eq!(private, want);

        // The ring says who read each event; log entries carry its topics.
        let seen: Vec<_> = s.ring().events.iter().map(|e| (e.private, e.seen_by.join(""))).collect();
        assert_eq!(seen, [(true, "GW".into()), (true, "WU".into()), (true, "GW".into()), (false, "PGWUT".into()), (false, "PGW".into())]);
        let g = s.log("G", 0).unwrap().iter().find(|e| e.data.as_deref() == Some("secret-3-1")).unwrap().clone();
        assert!(g.private);
        assert_eq!(g.topics, [item_topic("P-003"), item_topic("P-001")]);
        assert_eq!(g.seq, Some(3));
    }

    fn an_update_is_checked_as_the_server_checks_a_publish() {
        use tidings_wasm::sim::SimError;
        let mut s = Sim::new(SimConfig::default()).unwrap();
        let no_topic = Update { private: true, ..Update::default() };
        assert_eq!(s.publish_update(&no_topic), Err(SimError::PrivateWithoutTopic));
        let reserved = Update { event_type: Some("stream.reset".into()), ..Update::default() };
        assert_eq!(s.publish_update(&reserved), Err(SimError::ReservedKind("stream.reset".into())));
        let forged = Update { id: Some("s1-1".into()), ..Update::default() };
        assert_eq!(s.publish_update(&forged), Err(SimError::GeneratedId("s1-1".into())));
        let many = Update { topics: (0..33).map(|n| format!("t{n}")).collect(), ..Update::default() };
        assert_eq!(s.publish_update(&many), Err(SimError::TooManyTopics));
        let wildcard = Update { topics: vec!["*".into()], ..Update::default() };
        assert!(matches!(s.publish_update(&wildcard), Err(SimError::Topic(_))));
        let earliest = Update { id: Some("earliest".into()), ..Update::default() };
        assert!(matches!(s.publish_update(&earliest), Err(SimError::SuppliedId(_))));
        // An id of another epoch is a publisher's id like any other.
        let other = Update { id: Some("s2-1".into()), ..Update::default() };
        assert_eq!(s.publish_update(&other).unwrap().as_deref(), Some("s2-1"));
        assert_eq!(s.script(), "update:id=s2-1;data=");
        assert_eq!(s.ring().events[0].event_type, "message", "an update without a type");
    }
}
