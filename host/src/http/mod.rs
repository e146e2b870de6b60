//! Everything HTTP: the server's own accept loop and its two runtimes
//! (`accept.rs`), over plain TCP or TLS with HTTP/2 (`socket.rs`,
//! `tls.rs`), the rules on raw request heads (`head.rs`), streams per
//! client (`client_limit.rs`), the lean path for long-lived streams
//! (`lean.rs`), the routes (`routes/`), stream queries and their topic
//! selectors (`selectors.rs`), the form and query decoding they share,
//! apart from any request (`form.rs`), what both publish endpoints check
//! (`publishing.rs`), request authentication (`auth.rs`, and access tokens
//! in `credentials/`), the error type every route answers with
//! (`error.rs`), the state the handlers share (`state.rs`), and the router
//! with CORS and request metrics ([`app`]).
//!
//! Handlers validate input, check credentials and the mode, then call the
//! log and the items; no handler stores an event or touches storage itself.

pub mod accept;
pub mod auth;
pub mod body;
pub mod client_limit;
pub mod credentials;
pub mod error;
pub mod form;
pub mod head;
pub mod lean;
pub mod publishing;
pub mod routes;
pub mod selectors;
pub mod socket;
pub mod state;
pub mod tls;

use std::sync::Arc;

use poem::endpoint::{BoxEndpoint, StaticFilesEndpoint};
use poem::middleware::Cors;
use poem::{Endpoint, EndpointExt, IntoResponse, Route, get, post, put};
use tidings_core::topic::HubUrl;

use self::credentials::Credentials;
use self::state::AppState;
use crate::ops::metrics::route_label;

/// The HTTP application over `state`: every route, CORS when origins are
/// configured, the demo's static files, and a request counter per route.
/// `credentials` reach the handlers as request data.
pub fn app(state: Arc<AppState>, credentials: Arc<Credentials>) -> BoxEndpoint<'static> {
    let metrics = state.metrics.clone();
    let cors = (!state.config.cors_origins.is_empty()).then(|| {
        // Listed origins only, never `*` (refused at start): an origin
        // granted credentials may send a browser's token cookie.
        Cors::new()
            .allow_origins(state.config.cors_origins.iter().map(String::as_str))
            .allow_credentials(true)
            .allow_headers(["authorization", "content-type", "last-event-id"])
            .expose_headers([
                "retry-after",
                "www-authenticate",
                "link",
                "mercure-last-event-id",
            ])
    });
    let api = Route::new()
        .at("/api/events", get(routes::events::events))
        .at("/api/publish", post(routes::publish::publish))
        .at(
            selectors::HUB_PATH,
            get(routes::events::hub_events).post(routes::mercure::publish),
        )
        .at(
            metadata_path(&state.hub_url),
            get(routes::mercure::metadata),
        )
        .at(
            "/api/items",
            get(routes::items::list).post(routes::items::create),
        )
        .at("/api/items/import", post(routes::items::import))
        .at(
            "/api/items/:part_number",
            get(routes::items::get)
                .put(routes::items::update)
                .delete(routes::items::delete),
        )
        .at(
            "/api/items/:part_number/revisions",
            get(routes::items::revisions).post(routes::items::add_revision),
        )
        .at("/api/admin/read-only", put(routes::admin::read_only))
        .at("/health", get(routes::health::health))
        .at("/ready", get(routes::health::ready))
        .at("/metrics", get(routes::health::metrics))
        .at("/api/openapi.json", get(routes::health::openapi))
        // Unknown API paths are 404 for every method; only the rest
        // falls through to the demo's static files (GET only).
        .at("/api/*rest", routes::not_found)
        .nest(
            "/",
            // Through `get` so HEAD is answered as GET without a body.
            get(StaticFilesEndpoint::new(&state.config.web_dir).index_file("index.html")),
        );
    let metadata: Arc<str> = metadata_url(&state.hub_url).into();
    api.with_if(cors.is_some(), cors.unwrap_or_default())
        .data(state)
        .data(credentials)
        .catch_all_error(|err| async move { error::from_poem(err) })
        .around(move |ep, req| {
            let metrics = metrics.clone();
            let metadata = metadata.clone();
            async move {
                let route = route_label(req.uri().path());
                let mut resp = match ep.call(req).await {
                    Ok(resp) => resp.into_response(),
                    Err(err) => error::from_poem(err),
                };
                point_to_metadata(resp.headers_mut(), &metadata);
                metrics.record_request(route, resp.status().as_u16());
                Ok(resp)
            }
        })
        .boxed()
}

/// Where the hub's protected resource metadata (RFC 9728) is: the
/// well-known path inserted before the hub URL's path.
///
/// ```
/// use tidings_core::topic::HubUrl;
/// let hub = HubUrl::parse("https://hub.example.com/.well-known/mercure").unwrap();
/// assert_eq!(
///     tidings_host::http::metadata_url(&hub),
///     "https://hub.example.com/.well-known/oauth-protected-resource/.well-known/mercure"
/// );
/// ```
pub fn metadata_url(hub: &HubUrl) -> String {
    let path = if hub.path() == "/" { "" } else { hub.path() };
    format!("{}{METADATA_PATH}{path}", hub.origin())
}

/// The path of [`metadata_url`] on this server.
fn metadata_path(hub: &HubUrl) -> String {
    let path = if hub.path() == "/" { "" } else { hub.path() };
    format!("{METADATA_PATH}{path}")
}

/// The path RFC 9728 puts protected resource metadata under.
pub const METADATA_PATH: &str = "/.well-known/oauth-protected-resource";

/// Adds the `resource_metadata` parameter to a `WWW-Authenticate: Bearer`
/// challenge, as the draft asks of every one.
pub fn point_to_metadata(headers: &mut poem::http::HeaderMap, metadata: &str) {
    let Some(value) = headers.get(poem::http::header::WWW_AUTHENTICATE) else {
        return;
    };
    let Ok(challenge) = value.to_str() else {
        return;
    };
    if !challenge.starts_with("Bearer") || challenge.contains("resource_metadata=") {
        return;
    }
    let pointed = format!("{challenge}, resource_metadata=\"{metadata}\"");
    if let Ok(value) = poem::http::HeaderValue::from_str(&pointed) {
        headers.insert(poem::http::header::WWW_AUTHENTICATE, value);
    }
}
