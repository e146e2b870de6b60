//! Access-token validation (`host/src/tokens/validate.rs`) before and
//! after the signature check: the compact JWS is split, its parts decoded
//! and its header read before anything is verified.
//!
//! The first input byte picks the mode. Even: the rest, as text, is the
//! token. Odd: the rest is split at NUL bytes into a header, claims and a
//! signature part; header and claims are base64url-encoded as given (so
//! any JSON, or none, reaches the parser), and the signature is the right
//! HS256 one when the control byte has bit 2, else the third part encoded.
//!
//! Properties: no panic, under both the current and the pre-standard
//! rules; a token is accepted only with the right signature, an allowed
//! `alg` (HS256), an `exp` after now for access tokens, and grants whose
//! every pattern is a string of the claims.

#![no_main]

use std::sync::LazyLock;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use tidings_fuzz::tokens::{TokenRules, Verifier, validate};

const SECRET: &[u8] = b"a secret of at least thirty-two bytes, for fuzzing";
const NOW: u64 = 1_700_000_000;

static VERIFIER: LazyLock<Verifier> =
    LazyLock::new(|| Verifier::from_secret(SECRET, &["HS256"]).unwrap());

fn strings(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) => out.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|v| strings(v, out)),
        Value::Object(map) => map.values().for_each(|v| strings(v, out)),
        _ => {}
    }
}

fn hs256(message: &str) -> String {
    let key = EncodingKey::from_secret(SECRET).unwrap();
    jsonwebtoken::crypto::sign(message.as_bytes(), &key, Algorithm::HS256).unwrap()
}

fn check(token: &str) {
    // Whether the token carries the right signature, and its claims.
    let (signed, claims) = match token.rsplit_once('.') {
        Some((message, signature)) => (
            hs256(message) == signature,
            message
                .split_once('.')
                .and_then(|(_, c)| URL_SAFE_NO_PAD.decode(c).ok()),
        ),
        None => (false, None),
    };
    for mercure_v0 in [false, true] {
        let rules = TokenRules {
            mercure_v0,
            ..TokenRules::default()
        };
        let Ok(grant) = validate(&VERIFIER, &rules, token, NOW) else {
            continue;
        };
        assert!(
            signed,
            "accepted a token without the right signature: {token:?}"
        );
        let claims: Value = serde_json::from_slice(claims.as_deref().unwrap()).unwrap();
        if let Some(exp) = grant.expires_at {
            assert!(exp > NOW);
        } else {
            assert!(mercure_v0, "an access token has an exp");
        }
        let mut given = Vec::new();
        strings(&claims, &mut given);
        for s in grant.publish.iter().chain(&grant.subscribe) {
            assert!(given.contains(&s.pattern), "{s:?} is not in the claims");
        }
        if let Some(sub) = &grant.subject {
            assert_eq!(
                claims.get("sub").and_then(Value::as_str),
                Some(sub.as_str())
            );
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&control, rest)) = data.split_first() else {
        return;
    };
    if control & 1 == 0 {
        if let Ok(token) = std::str::from_utf8(rest) {
            check(token);
        }
        return;
    }
    let mut parts = rest.splitn(3, |&b| b == 0);
    let header = parts.next().unwrap_or_default();
    let claims = parts.next().unwrap_or_default();
    let third = parts.next().unwrap_or_default();
    let message = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(claims)
    );
    let signature = if control & 4 != 0 {
        hs256(&message)
    } else {
        URL_SAFE_NO_PAD.encode(third)
    };
    check(&format!("{message}.{signature}"));
});
