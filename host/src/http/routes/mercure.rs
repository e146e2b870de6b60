//! `POST /.well-known/mercure`: the Mercure protocol's publish.
//!
//! The body is `application/x-www-form-urlencoded`: `topic` (repeatable,
//! at least one; the first is canonical), `data`, `private` (its presence
//! alone marks the update), `id`, `type` and `retry` (digits only); fields
//! the protocol does not define are ignored. The rules are those of every
//! publish (`http/publishing.rs`): no topic in the hub's reserved namespace
//! nor `*`, no `type` the server emits (`mercure` included), no id starting
//! with `#` or equal to `earliest`, no control or format character in any
//! value. The answer is `200 text/plain; charset=utf-8` whose body is the
//! update's id: the publisher's, or the generated `#<epoch>-<seq>`.
//!
//! The stream of the same path is served by `routes/events.rs`. The hub's
//! protected resource metadata (RFC 9728), which every Bearer challenge
//! points to, is served here too.

use std::sync::Arc;

use poem::http::StatusCode;
use poem::web::Data;
use poem::{Body, Request, Response, handler};

use crate::http::body::read_body;
use crate::http::error::ApiError;
use crate::http::form;
use crate::http::publishing::{self, Fields};
use crate::http::state::AppState;

/// The fields of a form body (decoded by [`form::mercure_fields`]).
fn fields(body: &str) -> Result<Fields, ApiError> {
    form::mercure_fields(body).map_err(|e| ApiError::bad_request(e.0))
}

/// Publishes one update; answers its id as text.
#[handler]
pub async fn publish(
    req: &Request,
    body: Body,
    state: Data<&Arc<AppState>>,
) -> Result<Response, ApiError> {
    let publisher = publishing::publisher(req, &state)?;
    let form = req
        .content_type()
        .and_then(|t| t.split(';').next())
        .is_some_and(|t| {
            t.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    if !form {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "a publish is application/x-www-form-urlencoded",
        ));
    }
    let body = read_body(body, state.config.max_body_bytes).await?;
    let body = std::str::from_utf8(&body)
        .map_err(|_| ApiError::bad_request("the body is not UTF-8".to_owned()))?;
    let event = fields(body)?.into_event(&state)?;
    let supplied = event.supplied_id.clone();
    let id = publishing::publish(&state, &publisher, event).await?;
    let id = supplied.map_or_else(|| format!("#{id}"), |s| s.to_string());
    Ok(Response::builder()
        .status(StatusCode::OK)
        .content_type("text/plain; charset=utf-8")
        .body(id))
}

/// The protected resource metadata document (RFC 9728, as the draft
/// profiles it): the resource identifier tokens must name in `aud`, the
/// authorization detail type, how a token may be presented, the matcher
/// types of selectors.
#[handler]
pub fn metadata(state: Data<&Arc<AppState>>) -> Response {
    let config = &state.config;
    let mut doc = serde_json::json!({
        "resource": state.hub_url.as_str(),
        "authorization_details_types_supported": [crate::tokens::DETAIL_TYPE],
        "bearer_methods_supported": ["header"],
        "mercure_matcher_types_supported": ["exact", "urlpattern"],
    });
    if config.publisher_jwt_key.is_some() || config.subscriber_jwt_key.is_some() {
        doc["mercure_cookie"] = config.jwt_cookie.clone().into();
    }
    crate::http::body::json_response(StatusCode::OK, &doc)
}
