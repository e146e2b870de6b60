//! Bearer-token checks of the write and admin routes, in constant time.
//!
//! The editor's check goes through the server's
//! [`Credentials`](crate::http::credentials::Credentials), which `http::app`
//! puts into every request: with `--publisher-jwt-key` a write route also
//! answers publisher tokens, with the draft's challenges (a valid one is
//! still refused, 403, since item writes take the editor token).

use std::sync::Arc;
use std::time::SystemTime;

use poem::Request;
use poem::http::StatusCode;

use crate::http::credentials::{Credentials, Presented, same_token};
use crate::http::error::ApiError;

/// Which token a route takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Writes and publishing.
    Editor,
    /// The admin API.
    Admin,
}

/// Checks the request's `Authorization: Bearer <token>` for `role`.
///
/// For [`Role::Admin`], `expected` is the admin token; none means the
/// admin API is disabled. For [`Role::Editor`] the editor token comes from
/// the request's credentials (`expected` is not read): none configured and
/// no publisher key means writes are open (only allowed on a loopback
/// listener, checked at start-up).
pub fn require(req: &Request, role: Role, expected: Option<&str>) -> Result<(), ApiError> {
    if role == Role::Editor {
        let credentials = req.data::<Arc<Credentials>>().ok_or_else(|| {
            ApiError::internal("a request without credentials: not from http::app")
        })?;
        credentials
            .publisher(&Presented::from_request(req), SystemTime::now())?
            .editor_only()?;
        return Ok(());
    }
    let Some(expected) = expected else {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "admin_disabled",
            "the admin API is disabled: start the server with --admin-token",
        ));
    };
    let given = req
        .headers()
        .get(poem::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    match given {
        Some(token) if same_token(token, expected) => Ok(()),
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
