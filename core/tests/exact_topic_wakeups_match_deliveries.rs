//! A thousand subscriptions on distinct exact topics, events spread over
//! them: only the subscriptions an event is for are woken, so wake-ups
//! match deliveries and none finds nothing to deliver.

mod common;

use std::sync::Arc;

use common::{Flag, drain, seqs};
use tidings_core::topic::{Interner, MatcherKind, Topic};
use tidings_core::{
    Broker, BrokerConfig, Epoch, Event, Kind, Millis, SubscribeOptions, TopicFilter,
};

const SUBS: usize = 1000;

fn topic(i: usize) -> String {
    format!("https://example.com/items/{i}")
}

#[test]
fn wakeups_equal_deliveries_on_distinct_exact_topics() {
    let config = BrokerConfig {
        history_size: 4096,
        ring_on_publish: false,
        ..BrokerConfig::default()
    };
    let broker = Broker::new(Epoch::new("e").unwrap(), config);
    let interner = Interner::new();
    let mut subs: Vec<_> = (0..SUBS)
        .map(|i| {
            let m = interner
                .intern(MatcherKind::Exact, &topic(i), None)
                .unwrap();
            let sub = broker
                .subscribe_with(SubscribeOptions::live(), TopicFilter::select(vec![m]))
                .unwrap();
            (sub, Arc::new(Flag::default()), Vec::new())
        })
        .collect();
    for (sub, flag, _) in &mut subs {
        assert!(drain(sub, flag).0.is_empty());
    }
    assert_eq!(broker.routing_stats().routes, SUBS);

    let kind = Kind::new("item.updated").unwrap();
    let mut expected = vec![Vec::new(); SUBS];
    let mut seq = 0;
    let mut woken_expected = 0;
    for round in 0..20u64 {
        // 50 events per round over 37 distinct topics, some twice.
        let mut targets = std::collections::BTreeSet::new();
        for j in 0..50usize {
            let target = (round as usize * 131 + (j % 37) * 17) % SUBS;
            let event = Event::new(kind.clone(), format!("{round}/{j}"))
                .with_topics([Topic::new(&topic(target)).unwrap()]);
            broker.publish(event, Millis(round * 10)).unwrap();
            seq += 1;
            expected[target].push(seq);
            targets.insert(target);
        }
        woken_expected += targets.len() as u64;
        assert!(broker.flush(Millis(round * 10 + 5)));
        // Like an executor: only woken subscriptions run.
        for (i, (sub, flag, got)) in subs.iter_mut().enumerate() {
            let woken = flag.take();
            assert_eq!(
                woken,
                targets.contains(&i),
                "subscription {i}, round {round}"
            );
            if woken {
                got.extend(seqs(&drain(sub, flag).0));
                flag.take();
            }
        }
    }
    for (i, (_, _, got)) in subs.iter().enumerate() {
        assert_eq!(got, &expected[i], "subscription {i}");
    }
    let routing = broker.routing_stats();
    let delivered: u64 = subs.iter().map(|(_, _, got)| got.len() as u64).sum();
    assert_eq!(delivered, 20 * 50);
    assert_eq!(routing.idle_wakeups, 0);
    assert_eq!(routing.rung, woken_expected);
    assert!(routing.rung <= delivered);
}
