//! Why a presented token was refused, and how to tell the client.

/// Why [`validate`](super::validate) refused a token.
///
/// The `Display` text is specific and meant for logs (it never contains the
/// token, and quotes at most a short, escaped piece of its header). Clients
/// get [`error_code`](Self::error_code) and
/// [`public_message`](Self::public_message), which say nothing about which
/// check failed: telling an attacker that the signature was fine but the
/// token had expired is exactly what the protocol wants hubs not to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// The token is longer than the configured limit.
    #[error("token is {len} bytes, more than the {max} allowed")]
    Oversized {
        /// The token's length in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The token is not a JWS in compact form with JSON header and claims.
    #[error("malformed token: {0}")]
    Malformed(&'static str),
    /// The header's `alg` is not on the allowlist (this includes `none`).
    #[error("algorithm {0:?} is not allowed")]
    AlgorithmNotAllowed(String),
    /// The header asks for an extension this hub does not implement.
    #[error("unsupported header parameters (crit or b64)")]
    UnsupportedHeader,
    /// The header's `typ` is not `at+jwt` (and no other accepted form applies).
    #[error("token type {0:?} is not at+jwt")]
    WrongType(Option<String>),
    /// A pre-standard token (a `mercure` claim) while those are not accepted.
    #[error("pre-standard token (mercure claim) while those are not accepted")]
    LegacyRefused,
    /// The signature does not verify with the configured key.
    #[error("bad signature")]
    BadSignature,
    /// `exp` is past (leeway included).
    #[error("token expired at {exp}, now is {now}")]
    Expired {
        /// The token's `exp`.
        exp: u64,
        /// The time of the check.
        now: u64,
    },
    /// `nbf` is still ahead (leeway included).
    #[error("token not valid before {nbf}, now is {now}")]
    NotYetValid {
        /// The token's `nbf`.
        nbf: u64,
        /// The time of the check.
        now: u64,
    },
    /// A claim the rules require is absent.
    #[error("required claim {0} is missing")]
    MissingClaim(&'static str),
    /// `iss` is not the configured issuer.
    #[error("wrong issuer")]
    WrongIssuer,
    /// `aud` does not contain the hub's resource identifier.
    #[error("wrong audience")]
    WrongAudience,
    /// A claim has the wrong shape, or the authorization details do not
    /// parse (one bad entry refuses the whole token).
    #[error("invalid claims: {0}")]
    InvalidClaims(String),
    /// The grants exceed a configured limit.
    #[error("too large: {0}")]
    LimitExceeded(String),
}

impl TokenError {
    /// The RFC 6750 `error` value for the `WWW-Authenticate: Bearer`
    /// challenge: `invalid_request` (answer 400) when the token is not even
    /// a JWT of acceptable size — the draft's "the malformed element is the
    /// access token" — and `invalid_token` (answer 401) for every token
    /// that is well formed but fails a check, including grants that do not
    /// parse or exceed limits, which the draft calls defects of the token.
    pub fn error_code(&self) -> &'static str {
        match self {
            Self::Oversized { .. } | Self::Malformed(_) => "invalid_request",
            Self::AlgorithmNotAllowed(_)
            | Self::UnsupportedHeader
            | Self::WrongType(_)
            | Self::LegacyRefused
            | Self::BadSignature
            | Self::Expired { .. }
            | Self::NotYetValid { .. }
            | Self::MissingClaim(_)
            | Self::WrongIssuer
            | Self::WrongAudience
            | Self::InvalidClaims(_)
            | Self::LimitExceeded(_) => "invalid_token",
        }
    }

    /// A message safe to send to the client (the `error_description`): one
    /// per error code, the same whichever check failed.
    pub fn public_message(&self) -> &'static str {
        match self.error_code() {
            "invalid_request" => "the access token is malformed",
            _ => "the access token is invalid",
        }
    }
}

/// A header value (`alg`, `typ`) as it may appear in a log: short, so a
/// token cannot fill a log line with its own text (`Display` escapes it).
pub(super) fn short(value: &str) -> String {
    value.chars().take(24).collect()
}
