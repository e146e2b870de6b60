//! `grant.rs` and `error.rs` of `host/src/tokens/` once more, so that the
//! conversions that run after the signature check can be called on any
//! JSON value without signing it first (in the server they are private to
//! `tokens`).

#[path = "../../host/src/tokens/error.rs"]
mod error;
#[path = "../../host/src/tokens/grant.rs"]
mod grant;

pub use error::TokenError;
pub use grant::{Grant, Limits, Selector, SelectorKind};

/// The grant of an `authorization_details` claim.
pub fn from_details(
    details: Option<&serde_json::Value>,
    limits: &Limits,
) -> Result<Grant, TokenError> {
    grant::from_details(details, limits)
}

/// The grant of a pre-standard `mercure` claim.
pub fn from_legacy(claim: &serde_json::Value, limits: &Limits) -> Result<Grant, TokenError> {
    grant::from_legacy(claim, limits)
}
