//! Access-token validation for the Mercure protocol: a JWS in, a [`Grant`]
//! or a [`TokenError`] out, from plain data (the token, the rules, a
//! [`Verifier`] and `now`).
//!
//! # Contract
//!
//! [`validate`] accepts a token only if every check below passes, in this
//! order, and says nothing about the rest once one fails:
//!
//! 1. size ([`Limits::max_token_bytes`], 8 KiB by default) and shape: three
//!    base64url parts without padding, header and claims JSON objects
//!    (else `invalid_request`);
//! 2. the header's `alg` is on the [`Verifier`]'s allowlist. `none` never
//!    is, the token never picks the algorithm, and the allowlist fits the
//!    key's family (refused when the verifier is built);
//! 3. the header's `typ` is `at+jwt` (RFC 9068; `application/at+jwt` and
//!    any case too), checked by hand because jsonwebtoken does not;
//! 4. the signature, with the configured key only (the header's `kid`,
//!    `jwk`, `jku`, `x5u` are ignored);
//! 5. `exp` present and after `now`, `nbf` (when present) not after `now`,
//!    both with [`TokenRules::leeway`] (0 by default); `iss` and `aud` as
//!    [`TokenRules`] say;
//! 6. the `authorization_details` entries of type [`DETAIL_TYPE`] parse
//!    completely (one bad entry refuses the token; entries of other types
//!    are ignored) and stay within [`Limits`].
//!
//! Pre-standard tokens (Mercure v0.x: a `mercure` claim with `publish` and
//! `subscribe` selector lists, no `typ: at+jwt`, optional `exp`, no `aud`)
//! pass only with [`TokenRules::mercure_v0`]; see [`validate`] for what is
//! checked on them. Every error maps to the draft's error responses through
//! [`TokenError::error_code`], with a [`TokenError::public_message`] that
//! does not reveal which check failed.
//!
//! **Architecture Invariant:** this module knows nothing about HTTP,
//! headers, cookies, the clock or the runtime: it depends on jsonwebtoken,
//! serde_json and base64 only, so that it can become a crate of its own and
//! be fuzzed. Finding the token in a request, choosing between the
//! publisher and the subscriber verifier and compiling [`Selector`]s into
//! matchers happen in `http::credentials`; ending a stream at
//! [`Grant::expires_at`], in the stream paths.

mod error;
mod grant;
mod key;
mod validate;

pub use error::TokenError;
pub use grant::{DETAIL_TYPE, Grant, Limits, Selector, SelectorKind};
pub use key::{DEFAULT_ALGORITHMS, KeyError, Verifier};
pub use validate::{TokenRules, validate};

#[cfg(test)]
mod tests;
