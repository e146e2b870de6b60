//! Who a request is: its access token (or the editor token) found,
//! validated and turned into what it may do, independent of the routes.
//!
//! # Contract
//!
//! [`Credentials`] is built once, at start, from the flags; it refuses keys
//! that do not load or do not fit their algorithms. Each request's
//! credentials are gathered into a [`Presented`], then:
//!
//! - [`Credentials::subscriber`] gives a stream its [`Access`]: the
//!   matchers of its token's `subscribe` grants (for
//!   `TopicFilter::authorization`) and when the token expires. Without
//!   `--subscriber-jwt-key` every subscriber is anonymous and a presented
//!   token is not even read. With it, a stream without a token is refused
//!   (401) unless `--anonymous`, and a bad token is refused (400 or 401)
//!   even then.
//! - [`Credentials::publisher`] gives a publisher its [`Publisher`]: the
//!   editor (grants every topic), or a token's `publish` grants, which
//!   [`Publisher::may_publish`] checks against every topic of an event.
//!   Without `--publisher-jwt-key` only the editor token counts, with
//!   the answers writes always had (401 without it, 403 `forbidden` when
//!   wrong, open when none is configured).
//!
//! The token comes from `Authorization: Bearer <token>` (the scheme in any
//! case), which wins over a cookie (`--jwt-cookie`, and with
//! `--mercure-v0` also `mercureAuthorization`); with `--mercure-v0` a
//! stream's `authorization` query parameter comes between the two, as in
//! Mercure v0.24. No other query parameter is ever read. A cookie token on
//! a publish is accepted only with an `Origin` in `--cors-origin`.
//!
//! Refusals are [`Denied`], answered as the draft's error responses with a
//! `WWW-Authenticate: Bearer` challenge.
//!
//! Time is a parameter (`now`, wall-clock, since token times are): nothing
//! here reads a clock.

mod denied;
mod presented;

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::{Bytes, BytesMut};
use subtle::ConstantTimeEq;
use tidings_core::topic::{
    HubUrl, HubUrlError, Interner, Matcher, MatcherKind, PatternError, Topic,
};
use tidings_core::wire;

pub use self::denied::Denied;
pub use self::presented::Presented;
use self::presented::Source;
use crate::ops::config::Config;
use crate::tokens::{
    Grant, KeyError, Limits, Selector, SelectorKind, TokenError, TokenRules, Verifier, validate,
};

/// The cookie Mercure v0.x clients set, read too with `--mercure-v0`.
pub const LEGACY_COOKIE: &str = "mercureAuthorization";

/// The kind of the last event of a stream whose token expired.
pub const EXPIRED_KIND: &str = "stream.expired";

/// Why the credentials could not be built from the flags.
#[derive(Debug, thiserror::Error)]
pub enum CredentialsError {
    /// `--publisher-jwt-key` does not load or does not fit
    /// `--publisher-jwt-alg`.
    #[error("--publisher-jwt-key: {0}")]
    PublisherKey(#[source] KeyError),
    /// `--subscriber-jwt-key` does not load or does not fit
    /// `--subscriber-jwt-alg`.
    #[error("--subscriber-jwt-key: {0}")]
    SubscriberKey(#[source] KeyError),
    /// `--hub-url` is not an absolute URL.
    #[error("--hub-url: {0}")]
    HubUrl(#[from] HubUrlError),
}

/// The server's keys and rules for credentials (see the [module
/// docs](self)).
pub struct Credentials {
    editor_token: Option<String>,
    publisher: Option<Verifier>,
    subscriber: Option<Verifier>,
    rules: TokenRules,
    hub: Option<HubUrl>,
    interner: Interner,
    /// Cookie names, in the order they are looked for.
    cookies: Vec<String>,
    anonymous: bool,
    origins: Vec<String>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the editor token.
        f.debug_struct("Credentials")
            .field("editor_token", &self.editor_token.as_ref().map(|_| "…"))
            .field("publisher", &self.publisher)
            .field("subscriber", &self.subscriber)
            .field("rules", &self.rules)
            .field("cookies", &self.cookies)
            .field("anonymous", &self.anonymous)
            .field("origins", &self.origins)
            .finish_non_exhaustive()
    }
}

/// What a stream may receive beyond public events.
#[derive(Debug, Clone, Default)]
pub struct Access {
    /// Matchers of the token's `subscribe` grants, shared through the
    /// interner (equal grants are one `Arc`): a private event reaches the
    /// stream only if one of its topics matches one of them. Empty for an
    /// anonymous subscriber.
    pub authorization: Vec<Arc<Matcher>>,
    /// When the token stops being valid (its `exp`, leeway included): the
    /// stream must end then, with [`expiry_notice`]. `None` without a
    /// token, or for a pre-standard token without `exp`.
    pub expires_at: Option<SystemTime>,
    /// The token's `sub`, which `--max-streams-per-client` counts under.
    pub subject: Option<String>,
}

impl Access {
    /// How long the stream may stay open from `now` (zero once expired);
    /// `None` when it never has to end for its token.
    ///
    /// ```
    /// use std::time::{Duration, UNIX_EPOCH};
    /// use tidings_host::http::credentials::Access;
    ///
    /// let access = Access { expires_at: Some(UNIX_EPOCH + Duration::from_secs(100)), ..Access::default() };
    /// assert_eq!(access.time_left(UNIX_EPOCH + Duration::from_secs(40)), Some(Duration::from_secs(60)));
    /// assert_eq!(access.time_left(UNIX_EPOCH + Duration::from_secs(400)), Some(Duration::ZERO));
    /// assert_eq!(Access::default().time_left(UNIX_EPOCH), None);
    /// ```
    pub fn time_left(&self, now: SystemTime) -> Option<Duration> {
        self.expires_at
            .map(|at| at.duration_since(now).unwrap_or(Duration::ZERO))
    }
}

/// The last frames of a stream whose token expired: an id-less
/// [`EXPIRED_KIND`] event, `{"reason":"token_expired"}`. A browser's
/// `EventSource` then reconnects with the same token and is refused (401),
/// which ends it; a client that renews its token reconnects with the new
/// one.
///
/// ```
/// let frame = tidings_host::http::credentials::expiry_notice();
/// assert_eq!(&frame[..], &b"event: stream.expired\ndata: {\"reason\":\"token_expired\"}\n\n"[..]);
/// ```
pub fn expiry_notice() -> Bytes {
    let mut out = BytesMut::new();
    wire::encode_event(
        &mut out,
        None,
        Some(EXPIRED_KIND),
        r#"{"reason":"token_expired"}"#,
    )
    .expect("a constant kind and data encode");
    out.freeze()
}

/// Who a publisher is.
#[derive(Debug, Clone)]
pub enum Publisher {
    /// The editor token (or no protection, on loopback without one): every
    /// topic, and events without topics.
    Editor,
    /// A publisher token: the topics its `publish` grants match.
    Token {
        /// Matchers of the grants.
        grants: Vec<Arc<Matcher>>,
    },
}

impl Publisher {
    /// Whether an event with `topics` may be published: the editor always;
    /// a token only if every topic matches one of its grants, and never
    /// for an event without topics (those are the server's own kind).
    pub fn may_publish(&self, topics: &[Topic]) -> Result<(), Denied> {
        let Publisher::Token { grants } = self else {
            return Ok(());
        };
        if topics.is_empty() {
            return Err(Denied::Scope(
                "an event without topics takes the editor token",
            ));
        }
        let granted = |topic: &Topic| grants.iter().any(|m| m.matches(topic));
        if topics.iter().all(granted) {
            Ok(())
        } else {
            Err(Denied::Scope(
                "the access token does not allow publishing to every topic of the event",
            ))
        }
    }

    /// Whether this is the editor, which requests other than publishing
    /// (item writes) require.
    pub fn editor_only(&self) -> Result<(), Denied> {
        match self {
            Publisher::Editor => Ok(()),
            Publisher::Token { .. } => Err(Denied::Scope("this request takes the editor token")),
        }
    }
}

impl Credentials {
    /// Loads the keys named by the flags and fixes the rules. Expects a
    /// `config` that passed [`Config::validate`] (issuer and hub URL set
    /// with any key).
    pub fn from_config(config: &Config) -> Result<Credentials, CredentialsError> {
        let publisher = config
            .publisher_jwt_key
            .as_deref()
            .map(|key| Verifier::from_flag(key, &config.publisher_jwt_alg))
            .transpose()
            .map_err(CredentialsError::PublisherKey)?;
        let subscriber = config
            .subscriber_jwt_key
            .as_deref()
            .map(|key| Verifier::from_flag(key, &config.subscriber_jwt_alg))
            .transpose()
            .map_err(CredentialsError::SubscriberKey)?;
        let hub = config.hub_url.as_deref().map(HubUrl::parse).transpose()?;
        let mut cookies = vec![config.jwt_cookie.clone()];
        if config.mercure_v0 && config.jwt_cookie != LEGACY_COOKIE {
            cookies.push(LEGACY_COOKIE.to_owned());
        }
        Ok(Credentials {
            editor_token: config.editor_token.clone(),
            publisher,
            subscriber,
            rules: TokenRules {
                issuer: config.jwt_issuer.clone(),
                // As written: `aud` is compared as a string, and the
                // canonical form may differ (a trailing `/`).
                audience: config.hub_url.clone(),
                leeway: config.jwt_leeway,
                mercure_v0: config.mercure_v0,
                limits: Limits::default(),
            },
            hub,
            interner: Interner::new(),
            cookies,
            anonymous: config.anonymous,
            origins: config.cors_origins.clone(),
        })
    }

    /// The stream's access from its credentials and its raw `query` (read
    /// only with `--mercure-v0`, for its `authorization` parameter).
    ///
    /// ```
    /// use std::time::SystemTime;
    /// use tidings_host::Config;
    /// use tidings_host::http::credentials::{Credentials, Presented};
    ///
    /// // Without a subscriber key, every stream is anonymous, whatever it
    /// // presents.
    /// let credentials = Credentials::from_config(&Config::for_tests()).unwrap();
    /// let mut presented = Presented::default();
    /// presented.header("authorization", b"Bearer not-even-a-jwt");
    /// let access = credentials.subscriber(&presented, None, SystemTime::now()).unwrap();
    /// assert!(access.authorization.is_empty());
    /// assert_eq!(access.expires_at, None);
    /// ```
    pub fn subscriber(
        &self,
        presented: &Presented,
        query: Option<&str>,
        now: SystemTime,
    ) -> Result<Access, Denied> {
        let Some(verifier) = &self.subscriber else {
            return Ok(Access::default());
        };
        let query = query.filter(|_| self.rules.mercure_v0);
        let Some(found) = presented::find(presented, query, &self.cookies)? else {
            return if self.anonymous {
                Ok(Access::default())
            } else {
                Err(Denied::Missing)
            };
        };
        let grant = self.check(verifier, &found.token, now)?;
        let expires_at = grant.expires_at.and_then(|exp| {
            UNIX_EPOCH.checked_add(Duration::from_secs(exp.saturating_add(self.rules.leeway)))
        });
        Ok(Access {
            authorization: self.compile(&grant.subscribe)?,
            expires_at,
            subject: grant.subject,
        })
    }

    /// The publisher from its credentials (no query parameter is read).
    ///
    /// ```
    /// use std::time::SystemTime;
    /// use tidings_host::Config;
    /// use tidings_host::http::credentials::{Credentials, Denied, Presented};
    ///
    /// let mut config = Config::for_tests();
    /// config.editor_token = Some("editor-secret".into());
    /// let credentials = Credentials::from_config(&config).unwrap();
    /// let mut presented = Presented::default();
    /// presented.header("authorization", b"Bearer wrong");
    /// let refused = credentials.publisher(&presented, SystemTime::now()).unwrap_err();
    /// assert_eq!(refused, Denied::WrongEditorToken);
    /// ```
    pub fn publisher(&self, presented: &Presented, now: SystemTime) -> Result<Publisher, Denied> {
        let Some(verifier) = &self.publisher else {
            return self.editor_token_only(presented);
        };
        let Some(found) = presented::find(presented, None, &self.cookies)? else {
            return Err(Denied::Missing);
        };
        match found.source {
            Source::Header
                if self
                    .editor_token
                    .as_deref()
                    .is_some_and(|editor| same_token(&found.token, editor)) =>
            {
                return Ok(Publisher::Editor);
            }
            Source::Cookie if !self.origin_allowed(presented) => return Err(Denied::Origin),
            _ => {}
        }
        let grant = self.check(verifier, &found.token, now)?;
        Ok(Publisher::Token {
            grants: self.compile(&grant.publish)?,
        })
    }

    /// The editor-token check writes had before publisher keys, answered
    /// the same way.
    fn editor_token_only(&self, presented: &Presented) -> Result<Publisher, Denied> {
        let Some(expected) = &self.editor_token else {
            return Ok(Publisher::Editor);
        };
        match presented
            .first_authorization()
            .and_then(|v| v.strip_prefix("Bearer "))
        {
            Some(token) if same_token(token, expected) => Ok(Publisher::Editor),
            Some(_) => Err(Denied::WrongEditorToken),
            None => Err(Denied::NoEditorToken),
        }
    }

    fn origin_allowed(&self, presented: &Presented) -> bool {
        presented
            .origin()
            .is_some_and(|origin| self.origins.iter().any(|o| o.as_bytes() == origin))
    }

    fn check(&self, verifier: &Verifier, token: &str, now: SystemTime) -> Result<Grant, Denied> {
        let secs = now
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| since.as_secs());
        validate(verifier, &self.rules, token, secs).map_err(Denied::Token)
    }

    /// The grants' matchers, interned. A pattern that does not compile
    /// refuses the whole token, as the draft requires; a pre-standard
    /// selector with a `{` that is no URI template matches itself only, as
    /// it did in Mercure v0.x.
    fn compile(&self, selectors: &[Selector]) -> Result<Vec<Arc<Matcher>>, Denied> {
        selectors
            .iter()
            .map(|selector| {
                let kind = match selector.kind {
                    SelectorKind::Any | SelectorKind::Exact => MatcherKind::Exact,
                    SelectorKind::UrlPattern => MatcherKind::UrlPattern,
                    SelectorKind::UriTemplate => MatcherKind::UriTemplate,
                };
                let base = self.hub.as_ref();
                match self.interner.intern(kind, &selector.pattern, base) {
                    Err(PatternError::InvalidTemplate { .. }) => {
                        self.interner
                            .intern(MatcherKind::Exact, &selector.pattern, base)
                    }
                    compiled => compiled,
                }
                .map_err(|e| {
                    Denied::Token(TokenError::InvalidClaims(format!(
                        "a grant does not compile: {e}"
                    )))
                })
            })
            .collect()
    }
}

/// Whether `given` is `expected`, in time that depends on their lengths
/// only.
pub(crate) fn same_token(given: &str, expected: &str) -> bool {
    bool::from(given.as_bytes().ct_eq(expected.as_bytes()))
}

#[cfg(test)]
mod tests;
