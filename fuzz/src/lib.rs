//! The units the fuzz targets drive that live in the server crate, compiled
//! here from their own files: each names only std, `tidings-core` and small
//! crates, so the fuzz crate needs neither poem nor tokio nor opendal.
//!
//! - [`record`]: the history record format (`host/src/log/record.rs`).
//! - [`form`]: form and query decoding (`host/src/http/form.rs`).
//! - [`head`]: raw request heads (`host/src/http/head.rs`).
//! - [`tokens`]: access-token validation (`host/src/tokens/`).
//! - [`claims`]: the claim-to-grant conversion of `host/src/tokens/grant.rs`,
//!   reachable directly (in the server it is private to `tokens`).

#![allow(dead_code)]

#[path = "../../host/src/log/record.rs"]
pub mod record;

#[path = "../../host/src/http/form.rs"]
pub mod form;

#[path = "../../host/src/http/head.rs"]
pub mod head;

#[path = "../../host/src/tokens/mod.rs"]
pub mod tokens;

pub mod claims;

/// Splits `bytes` into chunks at the cut points `cuts` (taken modulo the
/// length, sorted): the same stream, delivered as a network might.
pub fn chunks<'a>(bytes: &'a [u8], cuts: &[u16]) -> Vec<&'a [u8]> {
    if bytes.is_empty() {
        return vec![bytes];
    }
    let mut at: Vec<usize> = cuts
        .iter()
        .map(|&c| usize::from(c) % (bytes.len() + 1))
        .collect();
    at.sort_unstable();
    let mut out = Vec::with_capacity(at.len() + 1);
    let mut start = 0;
    for cut in at {
        out.push(&bytes[start..cut]);
        start = cut;
    }
    out.push(&bytes[start..]);
    out
}
