//! The Mercure protocol's spellings: generated ids as `#<epoch>-<seq>`
//! fragments resume like the native `<epoch>-<seq>`, `earliest` replays
//! everything held, and a subscription says where its delivery started.

mod common;

use common::{drain_now, seqs};
use tidings_core::{
    Broker, BrokerConfig, EARLIEST, Epoch, Event, Kind, Millis, Start, SubscribeOptions, SuppliedId,
};

fn broker_with(events: u64, ring: usize) -> Broker {
    let config = BrokerConfig {
        history_size: ring,
        ..BrokerConfig::default()
    };
    let broker = Broker::new(Epoch::new("e").unwrap(), config);
    for n in 1..=events {
        let event = Event::new(Kind::new("k").unwrap(), n.to_string());
        broker.publish(event, Millis(n)).unwrap();
    }
    broker
}

#[test]
fn both_spellings_of_a_generated_id_resume_alike() {
    let broker = broker_with(5, 8);
    for last in ["e-2", "#e-2"] {
        let mut sub = broker.subscribe(SubscribeOptions::resume(last)).unwrap();
        assert_eq!(sub.start(), Start::After(2), "{last}");
        assert_eq!(seqs(&drain_now(&mut sub)), [3, 4, 5], "{last}");
    }
}

#[test]
fn earliest_replays_everything_held() {
    let broker = broker_with(10, 4);
    let mut sub = broker
        .subscribe(SubscribeOptions::resume(EARLIEST))
        .unwrap();
    assert_eq!(sub.start(), Start::After(6));
    let got = drain_now(&mut sub);
    assert!(got.iter().all(|d| d.kind() != "stream.reset"), "no reset");
    assert_eq!(seqs(&got), [7, 8, 9, 10]);
}

#[test]
fn start_says_live_resumed_or_reset() {
    let broker = broker_with(10, 4);
    let live = broker.subscribe(SubscribeOptions::live()).unwrap();
    assert_eq!(live.start(), Start::Live);
    let evicted = broker.subscribe(SubscribeOptions::resume("#e-1")).unwrap();
    assert_eq!(evicted.start(), Start::Reset);
    let unknown = broker
        .subscribe(SubscribeOptions::resume("#other-1"))
        .unwrap();
    assert_eq!(unknown.start(), Start::Reset);
    // A fragment is never a publisher's id, so it is never looked up as one.
    assert!(SuppliedId::new("#e-1").is_err());
}
