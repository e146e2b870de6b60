//! The checks, in order: size, shape, algorithm, type, signature, claims,
//! grants.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::Validation;
use jsonwebtoken::errors::ErrorKind;
use serde_json::{Map, Value};

use super::error::{TokenError, short};
use super::grant::{self, Grant, Limits};
use super::key::Verifier;

/// What a token must say besides being signed by the right key.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TokenRules {
    /// The issuer: when set, `iss` is required and must equal it.
    pub issuer: Option<String>,
    /// The hub's resource identifier (its URL): when set, an access token's
    /// `aud` is required and must be or contain it. The draft requires hubs
    /// to configure it; without it a token made for another hub that shares
    /// the key is accepted.
    pub audience: Option<String>,
    /// Seconds of clock skew allowed on `exp` and `nbf` (default 0).
    pub leeway: u64,
    /// Whether pre-standard tokens (a `mercure` claim, as in Mercure up to
    /// v0.x) are accepted besides RFC 9068 access tokens.
    pub mercure_v0: bool,
    /// Bounds on size and grants.
    pub limits: Limits,
}

/// Which of the two token forms a token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Form {
    /// An RFC 9068 access token (`typ: at+jwt`) with `authorization_details`.
    Access,
    /// A pre-standard token with a `mercure` claim.
    Legacy,
}

/// Validates `token` (the bare JWS, without `Bearer `) at time `now`
/// (seconds since the epoch) and returns what it grants.
///
/// An access token must have `typ` `at+jwt` (or `application/at+jwt`, any
/// case), an allowed `alg`, a valid signature, an `exp` after `now`, an
/// `nbf` (if any) not after `now`, and `iss` and `aud` as the rules say.
///
/// With [`TokenRules::mercure_v0`], a token whose `typ` is absent or `JWT`
/// and that carries a `mercure` claim is read the pre-standard way: `exp`
/// is optional (checked when present), `aud` and `iss` are not required
/// (such tokens were never given them; checked when present, so a token
/// that names another issuer is still refused), and its
/// `authorization_details` are ignored.
///
/// ```
/// use tidings_host::tokens::{TokenRules, Verifier, validate};
///
/// let verifier = Verifier::from_flag("a secret of at least thirty-two bytes", &["HS256"]).unwrap();
/// let err = validate(&verifier, &TokenRules::default(), "not-a-token", 0).unwrap_err();
/// assert_eq!(err.error_code(), "invalid_request");
/// ```
pub fn validate(
    verifier: &Verifier,
    rules: &TokenRules,
    token: &str,
    now: u64,
) -> Result<Grant, TokenError> {
    let limits = &rules.limits;
    if token.len() > limits.max_token_bytes {
        return Err(TokenError::Oversized {
            len: token.len(),
            max: limits.max_token_bytes,
        });
    }
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(TokenError::Malformed("not three dot-separated parts"));
    };
    let header = json_object(header, "the header is not a base64url JSON object")?;
    // The claims are read before the signature is checked only to tell a
    // malformed token from a forged one, and the pre-standard form from a
    // wrong type; nothing is granted from them until the signature holds.
    let unverified = json_object(payload, "the claims are not a base64url JSON object")?;
    if URL_SAFE_NO_PAD.decode(signature).is_err() {
        return Err(TokenError::Malformed("the signature is not base64url"));
    }

    let alg = header
        .get("alg")
        .and_then(Value::as_str)
        .ok_or(TokenError::Malformed("the header has no alg"))?;
    let alg = verifier
        .allowed(alg)
        .ok_or_else(|| TokenError::AlgorithmNotAllowed(short(alg)))?;
    let form = form(&header, &unverified, rules)?;

    let claims = jsonwebtoken::decode::<Map<String, Value>>(
        token,
        &verifier.key,
        &validation(alg, rules, form),
    )
    .map_err(|e| from_jwt(e.into_kind()))?
    .claims;

    // A pre-standard token never named an issuer: one it names must be
    // the configured one, but none is needed (the key binds it).
    let iss = claims.get("iss");
    if let Some(issuer) = &rules.issuer
        && !(form == Form::Legacy && iss.is_none())
        && iss.and_then(Value::as_str) != Some(issuer.as_str())
    {
        return Err(TokenError::WrongIssuer);
    }
    let expires_at = lifetime(&claims, rules, form, now)?;
    let subject = match claims.get("sub") {
        None => None,
        Some(Value::String(sub)) => Some(sub.clone()),
        Some(_) => return Err(TokenError::InvalidClaims("sub is not a string".into())),
    };

    let grant = match form {
        Form::Access => grant::from_details(claims.get("authorization_details"), limits)?,
        Form::Legacy => match claims.get("mercure") {
            Some(claim) => grant::from_legacy(claim, limits)?,
            None => return Err(TokenError::InvalidClaims("no mercure claim".into())),
        },
    };
    Ok(Grant {
        expires_at,
        subject,
        ..grant
    })
}

/// Checks `exp` and `nbf` against `now` and returns `exp`.
fn lifetime(
    claims: &Map<String, Value>,
    rules: &TokenRules,
    form: Form,
    now: u64,
) -> Result<Option<u64>, TokenError> {
    let expires_at = time(claims, "exp", f64::floor)?;
    match expires_at {
        // RFC 7519: the current time must be before `exp`.
        Some(exp) if now >= exp.saturating_add(rules.leeway) => {
            return Err(TokenError::Expired { exp, now });
        }
        None if form == Form::Access => return Err(TokenError::MissingClaim("exp")),
        _ => {}
    }
    if let Some(nbf) = time(claims, "nbf", f64::ceil)?
        && now.saturating_add(rules.leeway) < nbf
    {
        return Err(TokenError::NotYetValid { nbf, now });
    }
    Ok(expires_at)
}

/// Decides the form from the header's `typ` (and, for the pre-standard
/// form, the presence of a `mercure` claim).
fn form(
    header: &Map<String, Value>,
    claims: &Map<String, Value>,
    rules: &TokenRules,
) -> Result<Form, TokenError> {
    let typ = match header.get("typ") {
        None => None,
        Some(Value::String(typ)) => Some(typ.as_str()),
        Some(_) => return Err(TokenError::Malformed("typ is not a string")),
    };
    // RFC 7515 §4.1.9: media types compare case-insensitively, with the
    // `application/` prefix optional.
    let media = typ.map(|typ| {
        let lower = typ.to_ascii_lowercase();
        match lower.strip_prefix("application/") {
            Some(rest) => rest.to_owned(),
            None => lower,
        }
    });
    if media.as_deref() == Some("at+jwt") {
        return Ok(Form::Access);
    }
    let legacy = claims.contains_key("mercure");
    let plain = media.as_deref().is_none_or(|media| media == "jwt");
    match (legacy, plain, rules.mercure_v0) {
        (true, true, true) => Ok(Form::Legacy),
        (true, true, false) => Err(TokenError::LegacyRefused),
        _ => Err(TokenError::WrongType(typ.map(short))),
    }
}

/// jsonwebtoken's checks, every default set explicitly. Time is left to
/// [`validate`], which takes `now` as an argument rather than reading the
/// clock; `iss` is compared again there because jsonwebtoken also accepts
/// an array.
fn validation(alg: jsonwebtoken::Algorithm, rules: &TokenRules, form: Form) -> Validation {
    let mut validation = Validation::new(alg);
    validation.algorithms = vec![alg];
    validation.leeway = 0;
    validation.reject_tokens_expiring_in_less_than = 0;
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.sub = None;
    let mut required = Vec::new();
    if form == Form::Access {
        required.push("exp");
    }
    match &rules.issuer {
        Some(issuer) => {
            validation.set_issuer(&[issuer]);
            if form == Form::Access {
                required.push("iss");
            }
        }
        None => validation.iss = None,
    }
    match &rules.audience {
        Some(audience) => {
            validation.set_audience(&[audience]);
            validation.validate_aud = true;
            if form == Form::Access {
                required.push("aud");
            }
        }
        None => {
            validation.aud = None;
            validation.validate_aud = false;
        }
    }
    validation.set_required_spec_claims(&required);
    validation
}

fn from_jwt(kind: ErrorKind) -> TokenError {
    match kind {
        ErrorKind::InvalidSignature => TokenError::BadSignature,
        ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName => {
            TokenError::AlgorithmNotAllowed(String::new())
        }
        // Reached only past the shape checks above: a `crit` or `b64`
        // header this hub does not implement.
        ErrorKind::InvalidToken => TokenError::UnsupportedHeader,
        ErrorKind::MissingRequiredClaim(claim) => TokenError::MissingClaim(match claim.as_str() {
            "exp" => "exp",
            "iss" => "iss",
            "aud" => "aud",
            _ => "a registered claim",
        }),
        ErrorKind::InvalidIssuer => TokenError::WrongIssuer,
        ErrorKind::InvalidAudience => TokenError::WrongAudience,
        ErrorKind::InvalidClaimFormat(claim) => {
            TokenError::InvalidClaims(format!("{} has the wrong type", short(&claim)))
        }
        ErrorKind::Json(_) => {
            TokenError::InvalidClaims("the header or the claims do not parse".into())
        }
        ErrorKind::Base64(_) | ErrorKind::Utf8(_) => TokenError::Malformed("bad base64url"),
        // Key and backend errors cannot happen with a key that passed
        // `Verifier`'s checks; whatever they are, nothing was verified.
        _ => TokenError::BadSignature,
    }
}

/// A base64url part holding a JSON object.
fn json_object(part: &str, why: &'static str) -> Result<Map<String, Value>, TokenError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| TokenError::Malformed(why))?;
    match serde_json::from_slice(&bytes) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(TokenError::Malformed(why)),
    }
}

/// A NumericDate claim, rounded the safe way (`exp` down, `nbf` up).
fn time(
    claims: &Map<String, Value>,
    name: &'static str,
    round: fn(f64) -> f64,
) -> Result<Option<u64>, TokenError> {
    let Some(value) = claims.get(name) else {
        return Ok(None);
    };
    if let Some(secs) = value.as_u64() {
        return Ok(Some(secs));
    }
    match value.as_f64() {
        Some(secs) if secs.is_finite() && secs >= 0.0 && secs < u64::MAX as f64 => {
            Ok(Some(round(secs) as u64))
        }
        _ => Err(TokenError::InvalidClaims(format!(
            "{name} is not a NumericDate"
        ))),
    }
}
