//! Subscriptions with equal selectors, authorization and kinds share one
//! route: a publish reaches them all through it, whatever their number,
//! and a refused or dropped subscription leaves no route behind.

mod common;

use tidings_core::topic::{Interner, MatcherKind, Topic};
use tidings_core::{
    Broker, BrokerConfig, Epoch, Event, Kind, Millis, SubscribeError, SubscribeOptions, TopicFilter,
};

#[test]
fn ten_thousand_equal_filters_are_one_route() {
    let config = BrokerConfig {
        max_subscribers: Some(10_000),
        ..BrokerConfig::default()
    };
    let broker = Broker::new(Epoch::new("e").unwrap(), config);
    let interner = Interner::new();
    let filter = || {
        let m = interner
            .intern(
                MatcherKind::UriTemplate,
                "https://example.com/news/{id}",
                None,
            )
            .unwrap();
        TopicFilter::select(vec![m])
    };
    let mut subs: Vec<_> = (0..10_000)
        .map(|_| {
            broker
                .subscribe_with(SubscribeOptions::live(), filter())
                .unwrap()
        })
        .collect();
    assert_eq!(broker.routing_stats().routes, 1);

    // Refused when full, and the distinct filter it brought is gone.
    let other = TopicFilter::select(vec![
        interner
            .intern(MatcherKind::Exact, "https://example.com/other", None)
            .unwrap(),
    ]);
    let refused = broker.subscribe_with(SubscribeOptions::live(), other);
    assert_eq!(refused.unwrap_err(), SubscribeError::Full);
    assert_eq!(broker.routing_stats().routes, 1);

    let topic = Topic::new("https://example.com/news/1").unwrap();
    let event = Event::new(Kind::new("k").unwrap(), "x").with_topics([topic]);
    let before = broker.routing_stats().pattern_evaluations;
    broker.publish(event, Millis(0)).unwrap();
    assert_eq!(broker.routing_stats().pattern_evaluations - before, 1);
    for sub in &mut subs {
        assert_eq!(common::seqs(&common::drain_now(sub)), [1]);
    }
    drop(subs);
    assert_eq!(broker.routing_stats().routes, 0);
    assert_eq!(broker.subscribers(), 0);
}
