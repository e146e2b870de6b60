//! Event ids (`core/src/id.rs`) and resuming from a `Last-Event-ID`
//! (`Subscription::register` in `core/src/subscription.rs`).
//!
//! Input: the first line is the last id a client presents; each further
//! line is the supplied id of one published event (an invalid one publishes
//! the event without an id).
//!
//! Properties: no panic. Whatever parses as an `EventId`, `Epoch` or
//! `SuppliedId` displays as exactly the text it came from, which parses to
//! the same value. Resuming a broker (epoch `e1`, a ring of four, up to
//! eight events published) from the text delivers exactly what the resume
//! rules say: after the earliest held event with that supplied id, else
//! after the generated id (`#` prefix allowed) of this epoch when still
//! held, else a `stream.reset` with the right reason and no event.

#![no_main]

use futures::StreamExt;
use futures::executor::block_on;
use libfuzzer_sys::fuzz_target;
use tidings_core::{
    Broker, BrokerConfig, ControlKind, Delivery, EARLIEST, Epoch, Event, EventId, Millis,
    ResetReason, SubscribeOptions, SuppliedId,
};

const RING: u64 = 4;

fn round_trips(text: &str) {
    if let Ok(id) = text.parse::<EventId>() {
        assert_eq!(id.to_string(), text);
        assert_eq!(id.to_string().parse::<EventId>().as_ref(), Ok(&id));
        assert_eq!(id.epoch().as_str(), text.rsplit_once('-').unwrap().0);
        assert_eq!(EventId::new(id.epoch().clone(), id.seq()), id);
    }
    if let Ok(epoch) = Epoch::new(text) {
        assert_eq!(epoch.to_string(), text);
        assert_eq!(epoch.to_string().parse::<Epoch>().as_ref(), Ok(&epoch));
        // An epoch never holds the separator, so `<epoch>-<seq>` splits back.
        let id = EventId::new(epoch.clone(), 7);
        assert_eq!(id.to_string().parse::<EventId>(), Ok(id));
    }
    if let Ok(id) = SuppliedId::new(text) {
        assert_eq!(id.as_str(), text);
        assert_eq!(SuppliedId::new(&id.to_string()).as_ref(), Ok(&id));
        assert!(!text.starts_with('#') && text != EARLIEST);
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Resumed {
    Events(Vec<u64>),
    Reset(ResetReason),
}

fn expected(text: &str, ids: &[Option<SuppliedId>]) -> Resumed {
    let head = ids.len() as u64;
    let tail = head.saturating_sub(RING) + 1;
    let after = |seq: u64| Resumed::Events((seq + 1..=head).collect());
    if text == EARLIEST {
        return after(tail - 1);
    }
    let held = (tail..=head).find(|&seq| {
        ids[seq as usize - 1]
            .as_ref()
            .is_some_and(|id| id.as_str() == text)
    });
    if let Some(seq) = held {
        return after(seq);
    }
    match text.strip_prefix('#').unwrap_or(text).parse::<EventId>() {
        Err(_) => Resumed::Reset(ResetReason::InvalidId),
        Ok(id) if id.epoch().as_str() != "e1" => Resumed::Reset(ResetReason::UnknownEpoch),
        Ok(id) if id.seq() > head => Resumed::Reset(ResetReason::InvalidId),
        Ok(id) if id.seq() + 1 < tail => Resumed::Reset(ResetReason::HistoryExceeded),
        Ok(id) => after(id.seq()),
    }
}

fn resumed(text: &str, ids: &[Option<SuppliedId>]) -> Resumed {
    let config = BrokerConfig {
        history_size: RING as usize,
        ..BrokerConfig::default()
    };
    let broker = Broker::new(Epoch::new("e1").unwrap(), config);
    for (n, id) in ids.iter().enumerate() {
        let event = Event::untyped(n.to_string()).with_supplied_id(id.clone());
        broker.publish(event, Millis(0)).unwrap();
    }
    let sub = broker
        .subscribe(SubscribeOptions::resume(text))
        .expect("a resume never fails to register");
    broker.close();
    let got: Vec<Delivery> = block_on(sub.collect());
    let mut events = Vec::new();
    let mut reset = None;
    for delivery in got {
        match delivery {
            Delivery::Event(event) => {
                assert_eq!(event.id().epoch().as_str(), "e1");
                events.push(event.id().seq());
            }
            Delivery::Control(control) => match control.control_kind() {
                ControlKind::Reset(reason) => {
                    assert!(reset.is_none() && events.is_empty(), "one reset, first");
                    reset = Some(reason);
                }
                other => panic!("unexpected control {other:?}"),
            },
        }
    }
    match reset {
        Some(reason) => {
            assert!(events.is_empty(), "a reset delivers nothing older");
            Resumed::Reset(reason)
        }
        None => Resumed::Events(events),
    }
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut lines = text.split('\n');
    let last_id = lines.next().unwrap_or_default();
    round_trips(last_id);
    round_trips(&text);
    let ids: Vec<Option<SuppliedId>> = lines
        .take(8)
        .map(|line| SuppliedId::new(line).ok())
        .collect();
    assert_eq!(resumed(last_id, &ids), expected(last_id, &ids));
});
