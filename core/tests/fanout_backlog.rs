//! `Broker::lagging`: the fan-out backlog by age and depth that publishers
//! may wait on.

use std::task::{Context, Poll};

use bytes::BytesMut;
use futures::task::noop_waker_ref;
use tidings_core::{
    Broker, BrokerConfig, Epoch, Event, Kind, Millis, SubscribeOptions, Subscription,
};

/// Any seq: backlog by age alone.
const ALL: u64 = u64::MAX;

fn broker() -> Broker {
    let config = BrokerConfig {
        flush_interval_ms: 0,
        ..BrokerConfig::default()
    };
    Broker::new(Epoch::new("e").unwrap(), config)
}

fn publish(broker: &Broker, at: u64) {
    let event = Event::new(Kind::new("k").unwrap(), "x");
    broker.publish(event, Millis(at)).unwrap();
}

/// Reads what is ready; whether anything was.
fn read(sub: &mut Subscription) -> bool {
    let mut cx = Context::from_waker(noop_waker_ref());
    matches!(
        sub.poll_frames(&mut cx, &mut BytesMut::new()),
        Poll::Ready(Some(_))
    )
}

#[test]
fn a_subscriber_counts_from_its_first_unread_wakeup_until_it_reads() {
    let broker = broker();
    let mut idle = broker.subscribe(SubscribeOptions::live()).unwrap();
    let mut busy = broker.subscribe(SubscribeOptions::live()).unwrap();
    assert!(!read(&mut idle) && !read(&mut busy)); // both wait on their bells

    publish(&broker, 100);
    assert!(read(&mut idle));
    assert!(!read(&mut idle));
    // `busy` has not read since 100; a later publish does not make it younger.
    publish(&broker, 200);
    assert_eq!(broker.lagging(Millis(99), ALL), 0);
    assert_eq!(broker.lagging(Millis(100), ALL), 1); // busy, since 100
    assert_eq!(broker.lagging(Millis(200), ALL), 2); // and idle, since 200

    assert!(read(&mut busy));
    assert_eq!(broker.lagging(Millis(200), ALL), 1);
    assert!(read(&mut idle));
    assert_eq!(broker.lagging(Millis(200), ALL), 0);
}

#[test]
fn a_subscriber_busy_with_its_client_is_not_backlog() {
    let broker = broker();
    let mut sub = broker.subscribe(SubscribeOptions::live()).unwrap();
    assert!(!read(&mut sub));
    publish(&broker, 10);
    assert_eq!(broker.lagging(Millis(10), ALL), 1);
    assert!(read(&mut sub)); // takes the wake-up, reads seq 1, goes to write it
    assert_eq!(broker.lagging(Millis(10), ALL), 0);
    // Rung while writing (or blocked on a client that does not read): the
    // server is not behind on its account, so nothing counts.
    publish(&broker, 20);
    assert_eq!(broker.lagging(Millis(u64::MAX), ALL), 0);
    assert!(read(&mut sub));
    assert!(!read(&mut sub)); // waits again
    publish(&broker, 30);
    assert_eq!(broker.lagging(Millis(30), ALL), 1);
}

#[test]
fn heartbeats_announcements_and_dropped_subscribers_are_not_backlog() {
    let broker = broker();
    let mut subs: Vec<_> = (0..4)
        .map(|_| broker.subscribe(SubscribeOptions::live()).unwrap())
        .collect();
    for sub in &mut subs {
        assert!(!read(sub));
    }
    broker.heartbeat();
    broker.announce_state(r#"{"to":"degraded"}"#);
    assert_eq!(broker.lagging(Millis(u64::MAX), ALL), 0);
    for sub in &mut subs {
        assert!(read(sub));
        assert!(!read(sub));
    }
    publish(&broker, 5);
    assert_eq!(broker.lagging(Millis(5), ALL), 4);
    subs.truncate(1);
    assert_eq!(broker.lagging(Millis(5), ALL), 1);
}

#[test]
fn depth_counts_the_events_stored_since_an_unread_wakeup() {
    let broker = broker();
    let mut slow = broker.subscribe(SubscribeOptions::live()).unwrap();
    let mut quick = broker.subscribe(SubscribeOptions::live()).unwrap();
    assert!(!read(&mut slow) && !read(&mut quick));
    publish(&broker, 10); // seq 1 wakes both
    assert!(read(&mut quick));
    assert!(!read(&mut quick));
    for at in 11..=14 {
        publish(&broker, at); // seqs 2..=5, each read by `quick` at once
        assert!(read(&mut quick));
        assert!(!read(&mut quick));
    }
    publish(&broker, 15); // seq 6
    // `quick` was woken for seq 6; `slow` still for seq 1, five events back.
    assert_eq!(broker.lagging(Millis(15), 6), 2);
    assert_eq!(broker.lagging(Millis(15), 5), 1);
    assert_eq!(broker.lagging(Millis(15), 1), 1);
    assert_eq!(broker.lagging(Millis(15), 0), 0);
    assert_eq!(broker.lagging(Millis(14), 6), 1, "`quick` was woken at 15");
    assert!(read(&mut slow));
    assert_eq!(broker.lagging(Millis(15), 6), 1);
}
