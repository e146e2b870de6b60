//! `tidings-core` is the deterministic heart of Tidings: it has no runtime,
//! reads no clock, draws no random numbers and performs no I/O — time,
//! epochs and probe outcomes are inputs; stored events, SSE frames and mode
//! transitions are outputs.
//!
//! The same code therefore runs under tokio on the server, in a browser as
//! WebAssembly, and in tests that step a manual clock, where a seeded
//! scenario replays exactly.
//!
//! ```
//! use futures::{StreamExt, executor::block_on};
//! use tidings_core::{Broker, BrokerConfig, Epoch, Event, Kind, Millis, SubscribeOptions};
//!
//! let broker = Broker::new(Epoch::new("boot1").unwrap(), BrokerConfig::default());
//! let mut live = broker.subscribe(SubscribeOptions::live()).unwrap();
//! let kind = Kind::new("item.created").unwrap();
//! broker.publish(Event::new(kind, r#"{"part_number":"A-1"}"#), Millis(0)).unwrap();
//!
//! let delivery = block_on(live.next()).unwrap();
//! assert_eq!(delivery.id().unwrap().to_string(), "boot1-1");
//! assert_eq!(
//!     &delivery.frame()[..],
//!     b"id: boot1-1\nevent: item.created\ndata: {\"part_number\":\"A-1\"}\n\n"
//! );
//!
//! // A client that remembers an id from an earlier history is told to
//! // resynchronise rather than silently skipping events.
//! let mut stale = broker.subscribe(SubscribeOptions::resume("boot0-9")).unwrap();
//! assert_eq!(block_on(stale.next()).unwrap().kind(), "stream.reset");
//! ```
//!
//! The pieces: [`Broker`] and [`Subscription`] (fan-out and replay over a
//! [`HistoryRing`], routed by [`topic`] and authorization), [`EventId`] and
//! [`Epoch`], [`mode::ModeMachine`] (normal, read-only, degraded), [`wire`]
//! (the SSE encoder and parser) and [`intake`] (the bounded queue that
//! groups publishes into one write).
#![forbid(unsafe_code)]
#![warn(missing_docs, missing_debug_implementations)]

// Imports run one way: `event`, `id`, `topic` and `wire` at the bottom;
// `control` (control events, deliveries) and `route` (which subscriptions
// an event reaches) above them; `shared` (the state a broker and its
// subscriptions share, with its lock order) above those; `subscription`
// reads `shared`; `broker` writes it and hands out subscriptions. Nothing
// below names what is above it, and the layout check holds that.
mod broker;
mod control;
mod decimal;
mod doorbell;
mod event;
mod id;
pub mod intake;
pub mod mode;
mod ring;
mod route;
mod shared;
mod stats;
mod subscription;
mod time;
pub mod topic;
mod wakes;
pub mod wire;

pub use broker::{Broker, PublishError};
pub use control::{
    Control, ControlKind, Delivery, HEARTBEAT_KIND, RESET_KIND, ResetReason, STATE_KIND,
};
pub use event::{Event, Kind, KindError, MAX_KIND_LEN, MESSAGE_KIND, SharedEvent, StoredEvent};
pub use id::{
    EARLIEST, Epoch, EventId, IdError, MAX_EPOCH_LEN, MAX_SUPPLIED_ID_LEN, SuppliedId,
    SuppliedIdError,
};
pub use ring::{HistoryRing, Locate};
pub use shared::BrokerConfig;
pub use stats::{BrokerStats, RoutingStats};
pub use subscription::{
    Dialect, Frames, Start, SubscribeError, SubscribeOptions, Subscription, TopicFilter,
};
pub use time::Millis;
