//! Ids assigned elsewhere: a source that lost or skipped history rebases the
//! broker and every subscriber is told; mode changes that are not part of the
//! stored history are announced live.

mod common;

use bytes::BytesMut;
use common::{drain_now, event, kinds, publish_n, seqs};
use futures::task::noop_waker_ref;
use std::task::{Context, Poll};
use tidings_core::{
    Broker, BrokerConfig, Epoch, EventId, Millis, ResetReason, SubscribeOptions, wire,
};

fn epoch(s: &str) -> Epoch {
    Epoch::new(s).unwrap()
}

#[test]
fn rebase_to_another_epoch_resets_every_subscriber_once() {
    let broker = common::broker(8);
    publish_n(&broker, 3, Millis(0));
    let mut a = broker
        .subscribe(SubscribeOptions::resume(broker.head().to_string()))
        .unwrap();
    let mut b = broker.subscribe(SubscribeOptions::live()).unwrap();
    drain_now(&mut a);
    drain_now(&mut b);

    broker.rebase(epoch("new"), 1);
    broker
        .append(EventId::new(epoch("new"), 1), event("n1"), Millis(1))
        .unwrap();
    for sub in [&mut a, &mut b] {
        let got = drain_now(sub);
        assert_eq!(kinds(&got), ["stream.reset", "note"]);
        assert_eq!(got[0].reset_reason(), Some(ResetReason::UnknownEpoch));
        assert_eq!(got[1].id().unwrap().to_string(), "new-1");
        assert!(drain_now(sub).is_empty(), "one reset per rebase");
    }
    // Old ids now name an unknown history; new ones resume.
    let mut old = broker.subscribe(SubscribeOptions::resume("e1-3")).unwrap();
    assert_eq!(
        drain_now(&mut old)[0].reset_reason(),
        Some(ResetReason::UnknownEpoch)
    );
    let mut new = broker.subscribe(SubscribeOptions::resume("new-0")).unwrap();
    assert_eq!(seqs(&drain_now(&mut new)), [1]);
}

#[test]
fn rebase_past_a_gap_keeps_the_epoch_and_says_history_exceeded() {
    let e = epoch("bus");
    let broker = Broker::resume_at(e.clone(), 1, BrokerConfig::default());
    broker
        .append(EventId::new(e.clone(), 1), event("a"), Millis(0))
        .unwrap();
    let mut sub = broker.subscribe(SubscribeOptions::resume("bus-0")).unwrap();
    assert_eq!(seqs(&drain_now(&mut sub)), [1]);

    broker.rebase(e.clone(), 10);
    broker
        .append(EventId::new(e.clone(), 10), event("j"), Millis(1))
        .unwrap();
    let got = drain_now(&mut sub);
    assert_eq!(got[0].reset_reason(), Some(ResetReason::HistoryExceeded));
    // The head the history started over from, although seq 10 was stored
    // before the notice was read: the notice does not race the next event.
    assert_eq!(
        got[0].data(),
        r#"{"reason":"history_exceeded","head":"bus-9"}"#
    );
    assert_eq!(seqs(&got), [10]);
    // A client that saw seq 1 asks later: the gap is explicit.
    let mut late = broker
        .subscribe_retained(SubscribeOptions::resume("bus-1"))
        .unwrap();
    assert!(late.is_none(), "events 2..9 are not held");
    late = broker
        .subscribe_retained(SubscribeOptions::resume("bus-9"))
        .unwrap();
    assert_eq!(seqs(&drain_now(late.as_mut().unwrap())), [10]);
}

#[test]
fn the_frame_path_sees_rebases_and_announcements_too() {
    let e = epoch("bus");
    let broker = Broker::resume_at(e.clone(), 1, BrokerConfig::default());
    broker.set_state(r#"{"to":"normal"}"#);
    let mut sub = broker.subscribe(SubscribeOptions::live()).unwrap();
    let mut cx = Context::from_waker(noop_waker_ref());
    let mut out = BytesMut::new();
    let Poll::Ready(Some(first)) = sub.poll_frames(&mut cx, &mut out) else {
        panic!()
    };
    assert_eq!(first.controls, 1, "the snapshot");
    out.clear();
    assert!(sub.poll_frames(&mut cx, &mut out).is_pending());

    broker.announce_state(r#"{"to":"degraded"}"#);
    broker.announce_state(r#"{"to":"normal"}"#);
    broker.rebase(e.clone(), 5);
    broker
        .append(EventId::new(e, 5), event("x"), Millis(0))
        .unwrap();
    let Poll::Ready(Some(batch)) = sub.poll_frames(&mut cx, &mut out) else {
        panic!()
    };
    assert_eq!((batch.events, batch.controls, batch.resets), (1, 2, 1));
    let mut parser = wire::Parser::new();
    let mut parsed = Vec::new();
    parser.feed(&out, &mut parsed).unwrap();
    let names: Vec<_> = parsed.iter().map(|p| p.event.as_str()).collect();
    assert_eq!(names, ["stream.reset", "server.state", "note"]);
    assert_eq!(
        parsed[1].data, r#"{"to":"normal"}"#,
        "only the latest announcement"
    );
    assert_eq!(broker.head().to_string(), "bus-5");
}

#[test]
fn a_new_subscriber_gets_the_announced_state_first() {
    let broker = common::broker(4);
    broker.announce_state(r#"{"to":"read_only"}"#);
    let mut sub = broker.subscribe(SubscribeOptions::live()).unwrap();
    let got = drain_now(&mut sub);
    assert_eq!(kinds(&got), ["server.state"]);
    assert_eq!(got[0].data(), r#"{"to":"read_only"}"#);
    assert_eq!(
        &broker.state_frame().unwrap()[..],
        b"event: server.state\ndata: {\"to\":\"read_only\"}\n\n"
    );
}
