//! A last id that the ring cannot honour yields `stream.reset` first — its
//! data names the reason and the head — then live events; never a silent gap.

mod common;

use common::{broker, drain_now, event, kinds, publish_n, seqs};
use tidings_core::{Millis, ResetReason, SubscribeOptions};

fn first_reset(last_id: &str) -> (ResetReason, String, Vec<u64>) {
    let broker = broker(4);
    publish_n(&broker, 10, Millis(0)); // holds 7..=10
    let mut sub = broker.subscribe(SubscribeOptions::resume(last_id)).unwrap();
    let first = drain_now(&mut sub);
    assert_eq!(first.len(), 1, "{first:?}");
    assert!(first[0].id().is_none(), "control events carry no id");
    broker.publish(event("after"), Millis(9)).unwrap();
    let live = seqs(&drain_now(&mut sub));
    (
        first[0].reset_reason().unwrap(),
        first[0].data().to_owned(),
        live,
    )
}

#[test]
fn other_epoch() {
    let (reason, data, live) = first_reset("e0-8");
    assert_eq!(reason, ResetReason::UnknownEpoch);
    assert_eq!(data, r#"{"reason":"unknown_epoch","head":"e1-10"}"#);
    assert_eq!(live, [11]);
}

#[test]
fn older_than_the_ring() {
    let (reason, data, live) = first_reset("e1-5");
    assert_eq!(reason, ResetReason::HistoryExceeded);
    assert_eq!(data, r#"{"reason":"history_exceeded","head":"e1-10"}"#);
    assert_eq!(live, [11]);
}

#[test]
fn ahead_of_the_head() {
    let (reason, _, live) = first_reset("e1-11");
    assert_eq!(reason, ResetReason::InvalidId);
    assert_eq!(live, [11]);
}

#[test]
fn malformed() {
    for junk in [
        "",
        "garbage",
        "e1-",
        "e1-01",
        "e1--1",
        "e1-1\n",
        "é-1",
        "e1-99999999999999999999",
    ] {
        let (reason, data, live) = first_reset(junk);
        assert_eq!(reason, ResetReason::InvalidId, "{junk:?}");
        assert!(data.starts_with(r#"{"reason":"invalid_id""#));
        assert_eq!(live, [11]);
    }
}

#[test]
fn state_snapshot_comes_before_the_reset() {
    let broker = broker(4);
    broker.set_state(r#"{"to":"normal"}"#);
    let mut sub = broker.subscribe(SubscribeOptions::resume("zz-1")).unwrap();
    let items = drain_now(&mut sub);
    assert_eq!(kinds(&items), ["server.state", "stream.reset"]);
    assert_eq!(items[0].data(), r#"{"to":"normal"}"#);
    assert_eq!(broker.stats().resets, 1);
}
