//! Shared helpers of the core's behaviour tests.
#![allow(dead_code)]

pub mod scenario;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use futures::task::{ArcWake, waker};
use futures::{Stream, StreamExt};
use tidings_core::{Broker, BrokerConfig, Delivery, Epoch, Event, Kind, Millis, Subscription};

/// A waker that records whether it was woken, so a test polls a
/// subscription only when a real executor would.
#[derive(Debug, Default)]
pub struct Flag(AtomicBool);

impl ArcWake for Flag {
    fn wake_by_ref(arc_self: &Arc<Self>) {
        arc_self.0.store(true, Ordering::SeqCst);
    }
}

impl Flag {
    pub fn take(&self) -> bool {
        self.0.swap(false, Ordering::SeqCst)
    }
}

/// Polls `sub` until it is pending or ended; returns what it yielded and
/// whether it ended.
pub fn drain(sub: &mut Subscription, flag: &Arc<Flag>) -> (Vec<Delivery>, bool) {
    let waker = waker(flag.clone());
    let mut cx = Context::from_waker(&waker);
    let mut out = Vec::new();
    loop {
        match sub.poll_next_unpin(&mut cx) {
            Poll::Ready(Some(d)) => out.push(d),
            Poll::Ready(None) => return (out, true),
            Poll::Pending => return (out, false),
        }
    }
}

/// Polls without caring about wake-ups.
pub fn drain_now(sub: &mut Subscription) -> Vec<Delivery> {
    drain(sub, &Arc::new(Flag::default())).0
}

pub fn broker(history_size: usize) -> Broker {
    let config = BrokerConfig {
        history_size,
        ..BrokerConfig::default()
    };
    Broker::new(Epoch::new("e1").unwrap(), config)
}

pub fn event(data: impl Into<String>) -> Event {
    Event::new(Kind::new("note").unwrap(), data)
}

/// Publishes `n` events at `now` and flushes well after, so every bell rings.
pub fn publish_n(broker: &Broker, n: usize, now: Millis) {
    for i in 0..n {
        broker.publish(event(i.to_string()), now).unwrap();
    }
    broker.flush(now.saturating_add(1000));
}

pub fn seqs(deliveries: &[Delivery]) -> Vec<u64> {
    deliveries
        .iter()
        .filter_map(|d| d.id().map(|id| id.seq()))
        .collect()
}

pub fn kinds(deliveries: &[Delivery]) -> Vec<&str> {
    deliveries.iter().map(|d| d.kind()).collect()
}

/// Asserts a stream is a `Stream` of deliveries (compile-time check helper).
pub fn is_stream<S: Stream<Item = Delivery>>(_: &S) {}
