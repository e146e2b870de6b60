//! A subscription on a quiet topic, with the ring wrapping many times over
//! other topics, gets every event of its topic and no reset: a lag is a lag
//! only when an event it would have delivered left the ring unread.

mod common;

use std::sync::Arc;

use common::{Flag, drain, kinds, seqs};
use tidings_core::topic::{Interner, MatcherKind, Topic};
use tidings_core::{
    Broker, BrokerConfig, Epoch, Event, Kind, Millis, SubscribeOptions, TopicFilter,
};

#[test]
fn a_quiet_subscription_is_never_reset_by_other_topics() {
    let ring = 8;
    let config = BrokerConfig {
        history_size: ring,
        flush_interval_ms: 0,
        ..BrokerConfig::default()
    };
    let broker = Broker::new(Epoch::new("e").unwrap(), config);
    let interner = Interner::new();
    let quiet = interner
        .intern(MatcherKind::Exact, "https://example.com/quiet", None)
        .unwrap();
    let flag = Arc::new(Flag::default());
    let mut sub = broker
        .subscribe_with(SubscribeOptions::live(), TopicFilter::select(vec![quiet]))
        .unwrap();
    // Reads everything, but only at the very end: it lags for real.
    let mut everything = broker.subscribe(SubscribeOptions::live()).unwrap();
    assert!(drain(&mut sub, &flag).0.is_empty());

    let kind = Kind::new("k").unwrap();
    let noisy = Topic::new("https://example.com/noisy").unwrap();
    let quiet = Topic::new("https://example.com/quiet").unwrap();
    let mut expected = Vec::new();
    let mut got = Vec::new();
    for n in 1..=2000u64 {
        let topic = if n % 250 == 0 { &quiet } else { &noisy };
        let event = Event::new(kind.clone(), n.to_string()).with_topics([topic.clone()]);
        broker.publish(event, Millis(n)).unwrap();
        if topic == &quiet {
            expected.push(n);
        }
        // Like an executor: the subscription runs only when woken.
        if flag.take() {
            let batch = drain(&mut sub, &flag).0;
            assert!(kinds(&batch).iter().all(|k| *k == "k"), "{batch:?}");
            got.extend(seqs(&batch));
            flag.take();
        }
    }
    assert_eq!(got, expected);
    assert!(broker.stats().lagged == 0);

    let all = common::drain_now(&mut everything);
    assert_eq!(kinds(&all)[0], "stream.reset");
    assert_eq!(
        seqs(&all),
        (2000 - ring as u64 + 1..=2000).collect::<Vec<_>>()
    );
    assert_eq!(broker.stats().lagged, 1);
}
