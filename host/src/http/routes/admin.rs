//! `PUT /api/admin/read-only`: the operator's toggle over HTTP.

use std::sync::Arc;

use poem::http::StatusCode;
use poem::web::Data;
use poem::{Body, Request, Response, handler};
use serde::Deserialize;
use serde_json::json;
use tidings_core::mode::OperatorInput;

use crate::http::auth::{Role, require};
use crate::http::body::{json_body, json_response};
use crate::http::error::ApiError;
use crate::http::state::AppState;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReadOnlyRequest {
    read_only: bool,
}

/// Sets or clears read-only; answers the resulting mode.
#[handler]
pub async fn read_only(
    req: &Request,
    body: Body,
    state: Data<&Arc<AppState>>,
) -> Result<Response, ApiError> {
    require(req, Role::Admin, state.config.admin_token.as_deref())?;
    let input: ReadOnlyRequest = json_body(body, state.config.max_body_bytes).await?;
    let op = if input.read_only {
        OperatorInput::Set
    } else {
        OperatorInput::Clear
    };
    let mode = state.mode.operator(op);
    Ok(json_response(
        StatusCode::OK,
        &json!({ "mode": mode, "read_only": state.mode.mode().refuses_all_writes() }),
    ))
}
