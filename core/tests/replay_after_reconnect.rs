//! A client that reconnects with its last id receives exactly what it
//! missed, in order, then live events.

mod common;

use common::{broker, drain_now, event, publish_n, seqs};
use tidings_core::{Millis, SubscribeOptions};

#[test]
fn resumes_right_after_the_last_id() {
    let broker = broker(16);
    publish_n(&broker, 5, Millis(0));
    let mut sub = broker.subscribe(SubscribeOptions::resume("e1-2")).unwrap();
    assert_eq!(seqs(&drain_now(&mut sub)), [3, 4, 5]);
    broker.publish(event("live"), Millis(5)).unwrap();
    let live = drain_now(&mut sub);
    assert_eq!(seqs(&live), [6]);
    assert_eq!(live[0].data(), "live");
    assert_eq!(broker.stats().catch_ups, 1);
}

#[test]
fn last_id_at_head_replays_nothing_and_resets_nothing() {
    let broker = broker(16);
    publish_n(&broker, 3, Millis(0));
    let mut sub = broker.subscribe(SubscribeOptions::resume("e1-3")).unwrap();
    assert!(drain_now(&mut sub).is_empty());
    assert_eq!(broker.stats().resets, 0);
    assert_eq!(broker.stats().catch_ups, 0);
}

#[test]
fn id_zero_means_everything_still_held() {
    let broker = broker(4);
    publish_n(&broker, 4, Millis(0));
    let mut sub = broker.subscribe(SubscribeOptions::resume("e1-0")).unwrap();
    assert_eq!(seqs(&drain_now(&mut sub)), [1, 2, 3, 4]);
}

#[test]
fn oldest_held_boundary_is_covered() {
    let broker = broker(4);
    publish_n(&broker, 10, Millis(0)); // holds 7..=10
    let mut sub = broker.subscribe(SubscribeOptions::resume("e1-6")).unwrap();
    assert_eq!(seqs(&drain_now(&mut sub)), [7, 8, 9, 10]);
    assert_eq!(broker.stats().resets, 0);
}

#[test]
fn kind_filter_skips_other_kinds_but_keeps_order() {
    use tidings_core::{Event, Kind};
    let broker = broker(16);
    let a = Kind::new("a").unwrap();
    let b = Kind::new("b").unwrap();
    for kind in [&a, &b, &a, &b] {
        broker
            .publish(Event::new(kind.clone(), ""), Millis(0))
            .unwrap();
    }
    let options = SubscribeOptions {
        last_event_id: Some("e1-0".into()),
        kinds: Some(vec![b.clone()]),
    };
    let mut sub = broker.subscribe(options).unwrap();
    assert_eq!(seqs(&drain_now(&mut sub)), [2, 4]);
}
