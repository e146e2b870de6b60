//! The item domain: items and revisions, their validation ([`Item`],
//! [`NewItem`], …), the write operations ([`Items`], in `service.rs`), CSV
//! and ODS import (`import.rs`) and their documents on storage
//! (`store.rs`).
//!
//! It knows nothing of HTTP or events: the routes call [`Items`] and publish
//! an event for each successful write. It reaches storage only through
//! [`ItemStore`](store::ItemStore), never opendal.

pub mod import;
mod model;
mod service;
pub mod store;

pub use model::{
    Item, ItemError, ItemUpdate, NewItem, NewRevision, Revision, ValidationError, valid_part_number,
};
pub use service::{ImportOutcome, Items};

#[cfg(test)]
mod tests;
