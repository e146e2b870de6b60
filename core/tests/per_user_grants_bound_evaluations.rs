//! A thousand per-user pattern grants: a private event for one user
//! evaluates a bounded number of matchers (the index finds the one grant
//! whose prefix fits), not one per user, and reaches that user only.

mod common;

use std::sync::Arc;

use common::{Flag, drain, seqs};
use tidings_core::topic::{Interner, MatcherKind, Topic};
use tidings_core::{
    Broker, BrokerConfig, Epoch, Event, Kind, Millis, SubscribeOptions, TopicFilter,
};

const USERS: usize = 1000;

#[test]
fn a_private_event_evaluates_a_bounded_number_of_grants() {
    let config = BrokerConfig {
        history_size: 1024,
        flush_interval_ms: 0,
        ..BrokerConfig::default()
    };
    let broker = Broker::new(Epoch::new("e").unwrap(), config);
    let interner = Interner::new();
    let mut subs: Vec<_> = (0..USERS)
        .map(|u| {
            let own = format!("https://example.com/users/{u}/{{x}}");
            let own = interner
                .intern(MatcherKind::UriTemplate, &own, None)
                .unwrap();
            // Each user selects and is granted its own updates.
            let filter = TopicFilter::select(vec![own.clone()]).authorized(vec![own]);
            let sub = broker
                .subscribe_with(SubscribeOptions::live(), filter)
                .unwrap();
            (sub, Arc::new(Flag::default()))
        })
        .collect();
    for (sub, flag) in &mut subs {
        assert!(drain(sub, flag).0.is_empty());
    }
    assert_eq!(broker.routing_stats().routes, USERS);

    let kind = Kind::new("order").unwrap();
    let before = broker.routing_stats().pattern_evaluations;
    let events = 200u64;
    for n in 0..events {
        let user = (n as usize * 7) % USERS;
        let topic = Topic::new(&format!("https://example.com/users/{user}/orders")).unwrap();
        let event = Event::new(kind.clone(), n.to_string())
            .with_topics([topic])
            .private(true);
        broker.publish(event, Millis(n)).unwrap();
    }
    let evaluations = broker.routing_stats().pattern_evaluations - before;
    // One selector and one grant per event, whatever the number of users.
    assert!(
        evaluations <= 2 * events,
        "{evaluations} evaluations for {events} events"
    );
    assert!(evaluations >= events, "the grant is evaluated");

    for (u, (sub, flag)) in subs.iter_mut().enumerate() {
        let expected: Vec<u64> = (0..events)
            .filter(|n| (*n as usize * 7) % USERS == u)
            .map(|n| n + 1)
            .collect();
        assert_eq!(flag.take(), !expected.is_empty(), "user {u} woken wrongly");
        assert_eq!(seqs(&drain(sub, flag).0), expected, "user {u}");
    }
    assert_eq!(broker.routing_stats().idle_wakeups, 0);

    // The last member of a route takes its grants out of the index.
    drop(subs);
    assert_eq!(broker.routing_stats().routes, 0);
    let before = broker.routing_stats().pattern_evaluations;
    let topic = Topic::new("https://example.com/users/1/orders").unwrap();
    let event = Event::new(kind, "late").with_topics([topic]).private(true);
    broker.publish(event, Millis(events)).unwrap();
    assert_eq!(broker.routing_stats().pattern_evaluations, before);
}
