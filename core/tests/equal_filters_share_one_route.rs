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

/// Ten thousand streams on one topic, each with its own grant (a token per
/// user): one group. A public event is recorded once, whatever their
/// number; a private one only for the route its topic grants.
#[test]
fn ten_thousand_distinct_grants_on_one_topic_are_one_group() {
    const USERS: usize = 10_000;
    let config = BrokerConfig {
        max_subscribers: Some(USERS),
        ..BrokerConfig::default()
    };
    let broker = Broker::new(Epoch::new("e").unwrap(), config);
    let interner = Interner::new();
    let news = interner
        .intern(MatcherKind::Exact, "https://example.com/news", None)
        .unwrap();
    let grant = |u: usize| {
        let own = format!("https://example.com/users/{u}");
        interner.intern(MatcherKind::Exact, &own, None).unwrap()
    };
    let mut subs: Vec<_> = (0..USERS)
        .map(|u| {
            let own = grant(u);
            let filter = TopicFilter::select(vec![news.clone(), own.clone()]).authorized(vec![own]);
            broker
                .subscribe_with(SubscribeOptions::live(), filter)
                .unwrap()
        })
        .collect();
    let stats = broker.routing_stats();
    assert_eq!((stats.routes, stats.groups), (USERS, USERS));

    // The selections differ (each names its user's topic): give them all
    // one selection and distinct grants instead.
    drop(subs);
    subs = (0..USERS)
        .map(|u| {
            let filter = TopicFilter::select(vec![news.clone()]).authorized(vec![grant(u)]);
            broker
                .subscribe_with(SubscribeOptions::live(), filter)
                .unwrap()
        })
        .collect();
    let stats = broker.routing_stats();
    assert_eq!((stats.routes, stats.groups), (USERS, 1));
    let kind = Kind::new("k").unwrap();
    let topic = |t: &str| Topic::new(t).unwrap();
    let before = broker.routing_stats().recorded;
    broker
        .publish(
            Event::new(kind.clone(), "all").with_topics([topic("https://example.com/news")]),
            Millis(0),
        )
        .unwrap();
    assert_eq!(broker.routing_stats().recorded - before, 1, "one group");
    // Private, on the news topic and user 7's: only user 7 may see it.
    let private = Event::new(kind, "seven")
        .with_topics([
            topic("https://example.com/news"),
            topic("https://example.com/users/7"),
        ])
        .private(true);
    broker.publish(private, Millis(0)).unwrap();
    assert_eq!(
        broker.routing_stats().recorded - before,
        2,
        "one granted route"
    );
    for (u, sub) in subs.iter_mut().enumerate() {
        let got = common::seqs(&common::drain_now(sub));
        assert_eq!(got, if u == 7 { vec![1, 2] } else { vec![1] }, "user {u}");
    }
}
