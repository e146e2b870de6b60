//! Closing the broker refuses new work; subscriptions deliver what was
//! stored before and end.

mod common;

use std::sync::Arc;

use common::{Flag, drain, event, publish_n, seqs};
use futures::StreamExt;
use futures::executor::block_on;
use tidings_core::{Millis, SubscribeError, SubscribeOptions};

#[test]
fn close_drains_then_ends() {
    let broker = common::broker(8);
    let flag = Arc::new(Flag::default());
    let mut sub = broker.subscribe(SubscribeOptions::live()).unwrap();
    assert!(drain(&mut sub, &flag).0.is_empty());
    broker.publish(event("x"), Millis(0)).unwrap();
    broker.publish(event("y"), Millis(0)).unwrap(); // not yet rung
    broker.close();
    assert!(flag.take(), "close wakes every subscriber");
    let (items, ended) = drain(&mut sub, &flag);
    assert_eq!(seqs(&items), [1, 2]);
    assert!(ended);
    assert!(block_on(sub.next()).is_none(), "stays ended");
}

#[test]
fn close_refuses_new_work() {
    let broker = common::broker(8);
    publish_n(&broker, 1, Millis(0));
    broker.close();
    broker.close();
    assert!(broker.is_closed());
    assert_eq!(
        broker.subscribe(SubscribeOptions::live()).unwrap_err(),
        SubscribeError::Closed
    );
    assert_eq!(
        broker
            .publish(event("late"), Millis(1))
            .unwrap_err()
            .into_event(),
        event("late")
    );
}

#[test]
fn a_blocked_reader_is_released_by_close() {
    let broker = common::broker(8);
    let mut sub = broker.subscribe(SubscribeOptions::live()).unwrap();
    let closer = broker.clone();
    let handle = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(20));
        closer.close();
    });
    assert!(block_on(sub.next()).is_none());
    handle.join().unwrap();
}

#[test]
fn dropping_unregisters() {
    let broker = common::broker(8);
    let subs: Vec<_> = (0..3)
        .map(|_| broker.subscribe(SubscribeOptions::live()).unwrap())
        .collect();
    assert_eq!(broker.subscribers(), 3);
    drop(subs);
    assert_eq!(broker.subscribers(), 0);
    // Slots are reused.
    let _again = broker.subscribe(SubscribeOptions::live()).unwrap();
    assert_eq!(broker.subscribers(), 1);
}
