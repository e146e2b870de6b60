//! What gives stored events their ids, and stores them before anyone sees
//! them: the [`Hub`](hub::Hub) every endpoint publishes through, the
//! sequencer of a node alone (`sequencer.rs`) writing its durable history
//! (`history.rs`, its record format in `record.rs`), the Redis Streams bus
//! shared by several nodes (`bus/`), the bounded publish queue in front of
//! both (`queue.rs`), the broker's feed
//! of time and wake-ups (`feed.rs`) and publish admission (`admission.rs`).
//!
//! An event enters the broker only once it is durable: written to the
//! node's history, or held by Redis and read back in stream order. Nothing
//! here knows HTTP, configuration flags or metrics; callers pass values in.

pub mod admission;
pub mod bus;
pub mod epoch;
pub mod feed;
pub mod history;
pub mod hub;
pub mod queue;
pub mod record;
pub mod sequencer;
