//! Bearer-token checks, in constant time.

use poem::Request;
use poem::http::StatusCode;
use subtle::ConstantTimeEq;

use crate::http::error::ApiError;

/// Which token a route takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Writes and publishing.
    Editor,
    /// The admin API.
    Admin,
}

/// Checks the request's `Authorization: Bearer <token>` against `expected`.
///
/// No editor token configured means writes are open (only allowed on a
/// loopback listener, checked at start-up); no admin token means the admin
/// API is disabled.
pub fn require(req: &Request, role: Role, expected: Option<&str>) -> Result<(), ApiError> {
    let Some(expected) = expected else {
        return match role {
            Role::Editor => Ok(()),
            Role::Admin => Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "admin_disabled",
                "the admin API is disabled: start the server with --admin-token",
            )),
        };
    };
    let given = req
        .headers()
        .get(poem::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    match given {
        Some(token) if bool::from(token.as_bytes().ct_eq(expected.as_bytes())) => Ok(()),
        Some(_) => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "wrong token",
        )),
        None => Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "missing Authorization: Bearer <token>",
        )),
    }
}
