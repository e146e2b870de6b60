//! Filters and updates in the script language: each is recorded in one
//! canonical form that parses back to itself, a scenario with topics,
//! private updates and publishers' ids replays to the same state, and a
//! malformed or refused action changes nothing. Runs natively and, with
//! `--target wasm32-unknown-unknown`, under Node.

#[macro_use]
mod common;

use tidings_wasm::sim::{ClientFilter, MatchType, Sim, SimConfig, SimError, TopicMatcher};
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test;

fn config() -> SimConfig {
    SimConfig {
        seed: 21,
        ring_size: 12,
        batch_size: 3,
        ..SimConfig::default()
    }
}

both! {
    fn a_scenario_with_topics_replays_to_the_same_state() {
        let mut a = Sim::new(config()).unwrap();
        a.apply_script(
            "filter:A:match=https://example.com/items/P-001;grant=https://example.com/items/P-001 \
             filter:B:match_urlpattern=/items/:pn;grant_urlpattern=/items/P-00%5B12%5D \
             filter:C:match_uritemplate=https://example.com/items/%7Bpn%7D;grant=* \
             connect:A connect:B connect:C connect:D \
             update:type=item.updated;topic=https://example.com/items/P-001;private=on;data=%7B%22a%22%3A1%7D \
             update:topic=https://example.com/items/P-002;topic=https://example.com/items/P-001;id=order-1;data=two%2C%20parts \
             publish:6 advance:1 chaos:200",
        )
        .unwrap();
        let mut b = Sim::new(config()).unwrap();
        b.apply_script(&a.script()).unwrap();
        assert_eq!(a.script(), b.script());
        assert_eq!(a.clients(), b.clients());
        for c in a.clients() {
            assert_eq!(a.log(&c.name, 0).unwrap(), b.log(&c.name, 0).unwrap(), "{}", c.name);
        }
        assert_eq!(a.ring(), b.ring());
        assert_eq!(a.stats(), b.stats());
        let b_view = &a.clients()[1];
        assert_eq!(b_view.grants, [TopicMatcher::new(MatchType::Urlpattern, "/items/P-00[12]")]);
        assert!(a.clients().iter().map(|c| c.private_received).sum::<u64>() > 0);
    }

    fn every_action_is_recorded_in_a_form_that_parses_back_to_itself() {
        let mut s = Sim::new(config()).unwrap();
        for action in [
            "filter:A:match=https://example.com/a%20b;match_urlpattern=/x/:y;grant_uritemplate=https://example.com/%7Bz%7D",
            "filter:B:",
            "update:type=note;topic=urn:a;topic=urn:b;private=on;id=x%3By;data=%25%2C%3B%26%2B%23",
            "update:data=",
        ] {
            s.apply(action).unwrap();
            assert_eq!(s.script().rsplit(',').next().unwrap(), action);
        }
        // Other spellings of the same actions are recorded canonically.
        s.apply("filter:C:grant_exact=*;match_exact=urn:a").unwrap();
        assert!(s.script().ends_with(",filter:C:match=urn:a;grant=*"));
        s.apply("update:data=d;topic=urn:a").unwrap();
        assert!(s.script().ends_with(",update:topic=urn:a;data=d"));
    }

    fn malformed_and_refused_topic_actions_change_nothing() {
        let mut s = Sim::new(config()).unwrap();
        s.apply("connect:A").unwrap();
        let before = s.script();
        for bad in [
            "filter:B:match_regex=.*",
            "filter:B:grant=%zz",
            "filter:B:nothing",
            "filter:B",
            "update:topic=urn:a;colour=red",
            "update:private=yes;topic=urn:a",
            "update:id=a;id=b",
            "update:data=a;data=b",
        ] {
            assert!(matches!(s.apply(bad), Err(SimError::BadAction(_))), "{bad}");
        }
        assert_eq!(s.apply("filter:A:match=urn:a"), Err(SimError::FilterWhileConnected("A".into())));
        assert!(matches!(s.apply("filter:B:match_urlpattern=(("), Err(SimError::Pattern(_))));
        assert_eq!(s.apply("update:private=on;data=x"), Err(SimError::PrivateWithoutTopic));
        assert_eq!(s.apply("update:id=s15-3;data=x"), Err(SimError::GeneratedId("s15-3".into())));
        assert_eq!(s.script(), before);
        assert_eq!(s.clients().len(), 1, "a refused filter creates no client");
        let many = ClientFilter { selectors: vec![TopicMatcher::new(MatchType::Exact, "urn:a"); 33], ..ClientFilter::default() };
        assert_eq!(s.set_filter("Z", many), Err(SimError::TooManyMatchers));
    }
}
