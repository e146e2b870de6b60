//! Why a request's credentials are refused, and the answer it gets: the
//! draft's error responses (RFC 6750 §3), each with its `WWW-Authenticate:
//! Bearer` challenge, and the API's usual JSON body.

use poem::http::StatusCode;

use crate::http::error::ApiError;
use crate::tokens::TokenError;

/// The realm of every challenge.
const REALM: &str = "tidings";

/// Why credentials were refused.
///
/// The `Display` text is for logs; clients get [`ApiError`] through
/// `From`, whose message never says which token check failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Denied {
    /// No token where one is needed: 401 with a bare challenge.
    #[error("no access token")]
    Missing,
    /// The token's presentation is malformed (two `Authorization` headers,
    /// another scheme, an empty token): 400 `invalid_request`.
    #[error("malformed presentation: {0}")]
    Malformed(&'static str),
    /// The token failed validation: 400 `invalid_request` when it is not
    /// even a JWS of acceptable size, else 401 `invalid_token`.
    #[error("token refused: {0}")]
    Token(TokenError),
    /// A valid token that does not allow the request: 403
    /// `insufficient_scope`.
    #[error("insufficient scope: {0}")]
    Scope(&'static str),
    /// A token in a cookie on a publish whose `Origin` is absent or not
    /// allowed by `--cors-origin` (a cross-site request forgery): 403.
    #[error("cookie token from an origin that is not allowed")]
    Origin,
    /// No editor token, without a publisher key: 401, as writes always
    /// answered.
    #[error("missing editor token")]
    NoEditorToken,
    /// The wrong editor token, without a publisher key: 403 `forbidden`.
    #[error("wrong editor token")]
    WrongEditorToken,
}

impl Denied {
    /// The status answered.
    pub fn status(&self) -> StatusCode {
        match self {
            Denied::Missing | Denied::NoEditorToken => StatusCode::UNAUTHORIZED,
            Denied::Malformed(_) => StatusCode::BAD_REQUEST,
            Denied::Token(e) if e.error_code() == "invalid_request" => StatusCode::BAD_REQUEST,
            Denied::Token(_) => StatusCode::UNAUTHORIZED,
            Denied::Scope(_) | Denied::Origin | Denied::WrongEditorToken => StatusCode::FORBIDDEN,
        }
    }

    /// The `WWW-Authenticate` value, for refusals about an access token.
    pub fn challenge(&self) -> Option<String> {
        let (error, description) = match self {
            Denied::Missing => return Some(format!("Bearer realm=\"{REALM}\"")),
            Denied::Malformed(why) => ("invalid_request", *why),
            Denied::Token(e) => (e.error_code(), e.public_message()),
            Denied::Scope(why) => ("insufficient_scope", *why),
            Denied::Origin | Denied::NoEditorToken | Denied::WrongEditorToken => return None,
        };
        // Every description is a constant without `"` or `\`, so it needs
        // no escaping inside the quoted string.
        Some(format!(
            "Bearer realm=\"{REALM}\", error=\"{error}\", error_description=\"{description}\""
        ))
    }
}

impl From<Denied> for ApiError {
    fn from(denied: Denied) -> ApiError {
        tracing::debug!(reason = %denied, "credentials refused");
        let status = denied.status();
        let (code, message) = match &denied {
            Denied::Missing => (
                "unauthorized",
                "an access token is required: Authorization: Bearer <token>",
            ),
            Denied::NoEditorToken => ("unauthorized", "missing Authorization: Bearer <token>"),
            Denied::WrongEditorToken => ("forbidden", "wrong token"),
            Denied::Malformed(why) => ("bad_request", *why),
            Denied::Token(e) if status == StatusCode::BAD_REQUEST => {
                ("bad_request", e.public_message())
            }
            Denied::Token(e) => ("unauthorized", e.public_message()),
            Denied::Scope(why) => ("forbidden", *why),
            Denied::Origin => (
                "forbidden",
                "a token in a cookie is accepted only from an origin allowed by --cors-origin",
            ),
        };
        let error = ApiError::new(status, code, message);
        match denied.challenge() {
            Some(challenge) => error.with_challenge(challenge),
            None => error,
        }
    }
}
