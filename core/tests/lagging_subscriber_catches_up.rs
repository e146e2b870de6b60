//! A stalled subscriber loses nothing the ring still holds; only one whose
//! cursor fell behind the tail gets `stream.reset` (lagged) and continues
//! from the tail.

mod common;

use std::sync::Arc;

use common::{Flag, drain, drain_now, publish_n, seqs};
use tidings_core::{Broker, BrokerConfig, Epoch, Millis, ResetReason, SubscribeOptions};

#[test]
fn stall_within_the_ring_catches_up_without_reset() {
    let broker = common::broker(8);
    let mut sub = broker.subscribe(SubscribeOptions::live()).unwrap();
    publish_n(&broker, 8, Millis(0));
    assert_eq!(seqs(&drain_now(&mut sub)), (1..=8).collect::<Vec<_>>());
    assert_eq!(broker.stats().resets, 0);
    assert_eq!(broker.stats().delivered, 8);
    drop(sub);
    assert_eq!(broker.stats().delivered, 8, "counted once");
}

#[test]
fn stall_past_the_ring_resets_then_continues_from_the_tail() {
    let broker = common::broker(4);
    let mut sub = broker.subscribe(SubscribeOptions::live()).unwrap();
    publish_n(&broker, 2, Millis(0));
    assert_eq!(seqs(&drain_now(&mut sub)), [1, 2]);
    publish_n(&broker, 6, Millis(10)); // 3..=8, ring holds 5..=8
    let items = drain_now(&mut sub);
    assert_eq!(items[0].reset_reason(), Some(ResetReason::Lagged));
    assert_eq!(items[0].data(), r#"{"reason":"lagged","head":"e1-8"}"#);
    assert_eq!(seqs(&items[1..]), [5, 6, 7, 8]);
    let stats = broker.stats();
    assert_eq!((stats.resets, stats.lagged), (1, 1));
}

#[test]
fn partial_batches_still_deliver_everything_in_order() {
    let config = BrokerConfig {
        history_size: 100,
        max_batch: 3,
        ..BrokerConfig::default()
    };
    let broker = Broker::new(Epoch::new("e1").unwrap(), config);
    let flag = Arc::new(Flag::default());
    let mut sub = broker.subscribe(SubscribeOptions::live()).unwrap();
    assert!(drain(&mut sub, &flag).0.is_empty());
    publish_n(&broker, 10, Millis(0));
    assert!(flag.take(), "publish woke the subscriber");
    assert_eq!(
        seqs(&drain(&mut sub, &flag).0),
        (1..=10).collect::<Vec<_>>()
    );
}
