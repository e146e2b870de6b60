//! Publishing rings every bell at once after an idle period, otherwise at
//! most once per flush interval through `flush(now)`; with
//! `ring_on_publish` off, only `flush(now)` rings.

mod common;

use std::sync::Arc;

use common::{Flag, drain, event, seqs};
use tidings_core::{Broker, BrokerConfig, Epoch, Millis, SubscribeOptions};

#[test]
fn idle_publish_wakes_at_once_and_bursts_wait_for_flush() {
    let broker = common::broker(64);
    let flag = Arc::new(Flag::default());
    let mut sub = broker.subscribe(SubscribeOptions::live()).unwrap();
    assert!(drain(&mut sub, &flag).0.is_empty());

    broker.publish(event("a"), Millis(100)).unwrap();
    assert!(flag.take(), "first publish after idle rings at once");
    assert_eq!(seqs(&drain(&mut sub, &flag).0), [1]);

    broker.publish(event("b"), Millis(100)).unwrap();
    broker.publish(event("c"), Millis(100)).unwrap();
    assert!(
        !flag.take(),
        "within the interval, publish only marks dirty"
    );
    assert_eq!(broker.next_flush(), Some(Millis(101)));
    assert!(!broker.flush(Millis(100)));
    assert!(!flag.take());
    assert!(broker.flush(Millis(101)));
    assert!(flag.take());
    // One wake-up carries the whole burst.
    assert_eq!(seqs(&drain(&mut sub, &flag).0), [2, 3]);
    assert_eq!(broker.stats().wakeups, 2);
}

#[test]
fn without_ring_on_publish_only_flush_rings() {
    let config = BrokerConfig {
        ring_on_publish: false,
        ..BrokerConfig::default()
    };
    let broker = Broker::new(Epoch::new("e").unwrap(), config);
    let flag = Arc::new(Flag::default());
    let mut sub = broker.subscribe(SubscribeOptions::live()).unwrap();
    drain(&mut sub, &flag);

    broker.publish(event("a"), Millis(100)).unwrap();
    assert!(!flag.take(), "an idle publish leaves the ring to flush");
    assert_eq!(broker.next_flush(), Some(Millis(1)), "due at once");
    assert!(broker.flush(Millis(100)));
    assert!(flag.take());
    assert_eq!(seqs(&drain(&mut sub, &flag).0), [1]);

    broker.publish(event("b"), Millis(100)).unwrap();
    assert_eq!(broker.next_flush(), Some(Millis(101)), "one interval later");
    assert!(!broker.flush(Millis(100)));
    assert!(broker.flush(Millis(101)));
    assert!(flag.take());
    assert_eq!(seqs(&drain(&mut sub, &flag).0), [2]);
}

#[test]
fn flush_with_nothing_pending_does_nothing() {
    let broker = common::broker(8);
    assert_eq!(broker.next_flush(), None);
    assert!(!broker.flush(Millis(5)));
    assert_eq!(broker.stats().wakeups, 0);
}

#[test]
fn clock_going_backwards_does_not_hold_events() {
    let broker = common::broker(8);
    let flag = Arc::new(Flag::default());
    let mut sub = broker.subscribe(SubscribeOptions::live()).unwrap();
    drain(&mut sub, &flag);
    broker.publish(event("a"), Millis(100)).unwrap();
    assert!(flag.take());
    drain(&mut sub, &flag);
    broker.publish(event("b"), Millis(50)).unwrap();
    assert!(flag.take());
}

#[test]
fn heartbeats_are_idless_unstored_and_coalesced() {
    let broker = common::broker(8);
    let flag = Arc::new(Flag::default());
    let mut sub = broker.subscribe(SubscribeOptions::live()).unwrap();
    drain(&mut sub, &flag);
    broker.heartbeat();
    broker.heartbeat();
    assert!(flag.take());
    let items = drain(&mut sub, &flag).0;
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].kind(), "heartbeat");
    assert!(items[0].id().is_none());
    assert_eq!(&items[0].frame()[..], b"event: heartbeat\ndata: {}\n\n");
    assert_eq!(broker.head().seq(), 0, "heartbeats take no id");
}
