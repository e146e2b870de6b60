//! The HTTP routes, one file per resource. A route parses and checks its
//! request, then calls the log or the items through
//! [`AppState`](super::state::AppState); it never stores an event or touches
//! storage itself, and never reads another route's file.

pub mod admin;
pub mod events;
pub mod health;
pub mod items;
pub mod mercure;
pub mod publish;

use crate::http::error::ApiError;

/// Any method on an unknown API path.
#[poem::handler]
pub fn not_found(req: &poem::Request) -> ApiError {
    ApiError::not_found(format!("no route {} {}", req.method(), req.uri().path()))
}
