//! The item API of the reference domain: items and their revisions in
//! storage, CSV and ODS import. Every successful write publishes its event
//! after the write is durable; a failed write publishes nothing.

use std::sync::Arc;
use std::time::SystemTime;

use poem::http::{HeaderValue, StatusCode, header};
use poem::web::{Data, Path};
use poem::{Body, Request, Response, handler};
use serde::Serialize;
use serde_json::json;
use tidings_core::topic::{HubUrl, Topic};
use tidings_core::{Event, EventId, Kind};

use crate::http::body::{json_body, json_response, read_body};
use crate::http::error::ApiError;
use crate::http::state::AppState;
use crate::items::import::{ImportError, parse_csv, parse_ods};
use crate::items::{ItemUpdate, NewItem, NewRevision, valid_part_number};

const ODS_MIME: &str = "application/vnd.oasis.opendocument.spreadsheet";

fn checked(part_number: &str) -> Result<&str, ApiError> {
    if valid_part_number(part_number) {
        Ok(part_number)
    } else {
        Err(ApiError::bad_request(
            "part_number must be 1 to 64 characters of [A-Za-z0-9._-]",
        ))
    }
}

/// The topic of an item's events: `<origin>/items/<part_number>`, where
/// the origin is that of `--hub-url`, else `http://<listen address>`.
pub fn item_topic(hub: &HubUrl, part_number: &str) -> Topic {
    let origin = hub.origin();
    Topic::new(&format!("{origin}/items/{part_number}")).expect("part numbers make topics")
}

/// Publishes the event of a durable write, on the item's topic (private
/// with `--private-items`). The write
/// already happened, so an event that cannot be stored (shutdown, the log
/// failing right after the write) only loses the notification, which is
/// logged.
async fn emit(state: &AppState, kind: &'static str, part_number: &str, data: &impl Serialize) {
    let kind = Kind::new(kind).expect("built-in kinds are valid");
    let data = serde_json::to_string(data).expect("items serialise");
    let event = Event::new(kind, data)
        .with_topics([item_topic(&state.hub_url, part_number)])
        .private(state.config.private_items);
    if let Err(e) = state.publish_after_write(event).await {
        tracing::warn!(error = %e, "event of a completed write not published");
    }
}

/// `resp` with the Mercure protocol's discovery links: the hub, with the
/// last event id as of `head` (read before the resource, so a client that
/// subscribes from it misses no later change), and the item's topic as
/// `rel="self"` when the resource is one item's.
fn linked(mut resp: Response, state: &AppState, head: &EventId, part: Option<&str>) -> Response {
    let hub = format!(
        "<{}>; rel=\"mercure\"; last-event-id=\"#{head}\"",
        state.hub_url
    );
    let links = std::iter::once(hub)
        .chain(part.map(|pn| format!("<{}>; rel=\"self\"", item_topic(&state.hub_url, pn))));
    for link in links {
        if let Ok(value) = HeaderValue::from_str(&link) {
            resp.headers_mut().append(header::LINK, value);
        }
    }
    resp
}

/// `GET /api/items`
#[handler]
pub async fn list(state: Data<&Arc<AppState>>) -> Result<Response, ApiError> {
    let head = state.hub.broker().head();
    let items = state.items.list().await?;
    Ok(linked(
        json_response(StatusCode::OK, &items),
        &state,
        &head,
        None,
    ))
}

/// `GET /api/items/{part_number}`
#[handler]
pub async fn get(
    Path(pn): Path<String>,
    state: Data<&Arc<AppState>>,
) -> Result<Response, ApiError> {
    let pn = checked(&pn)?;
    let head = state.hub.broker().head();
    let item = state.items.get(pn).await?;
    Ok(linked(
        json_response(StatusCode::OK, &item),
        &state,
        &head,
        Some(pn),
    ))
}

/// `POST /api/items`
#[handler]
pub async fn create(
    req: &Request,
    body: Body,
    state: Data<&Arc<AppState>>,
) -> Result<Response, ApiError> {
    state.require_editor(req)?;
    let input: NewItem = json_body(body, state.config.max_body_bytes).await?;
    input.validate()?;
    let _write = state.begin_write(true)?;
    let item = state.items.create(input, SystemTime::now()).await?;
    emit(&state, "item.created", &item.part_number, &item).await;
    let head = state.hub.broker().head();
    let resp = json_response(StatusCode::CREATED, &item);
    Ok(linked(resp, &state, &head, Some(&item.part_number)))
}

/// `PUT /api/items/{part_number}`
#[handler]
pub async fn update(
    req: &Request,
    Path(pn): Path<String>,
    body: Body,
    state: Data<&Arc<AppState>>,
) -> Result<Response, ApiError> {
    state.require_editor(req)?;
    let pn = checked(&pn)?;
    let input: ItemUpdate = json_body(body, state.config.max_body_bytes).await?;
    input.validate()?;
    let _write = state.begin_write(true)?;
    let item = state.items.update(pn, input, SystemTime::now()).await?;
    emit(&state, "item.updated", &item.part_number, &item).await;
    let head = state.hub.broker().head();
    Ok(linked(
        json_response(StatusCode::OK, &item),
        &state,
        &head,
        Some(pn),
    ))
}

/// `DELETE /api/items/{part_number}`
#[handler]
pub async fn delete(
    req: &Request,
    Path(pn): Path<String>,
    state: Data<&Arc<AppState>>,
) -> Result<Response, ApiError> {
    state.require_editor(req)?;
    let pn = checked(&pn)?;
    let _write = state.begin_write(true)?;
    let item = state.items.delete(pn).await?;
    emit(&state, "item.deleted", &item.part_number, &item).await;
    Ok(Response::builder().status(StatusCode::NO_CONTENT).finish())
}

/// `GET /api/items/{part_number}/revisions`
#[handler]
pub async fn revisions(
    Path(pn): Path<String>,
    state: Data<&Arc<AppState>>,
) -> Result<Response, ApiError> {
    let pn = checked(&pn)?;
    let head = state.hub.broker().head();
    let revisions = state.items.list_revisions(pn).await?;
    let resp = json_response(StatusCode::OK, &revisions);
    Ok(linked(resp, &state, &head, Some(pn)))
}

/// `POST /api/items/{part_number}/revisions`
#[handler]
pub async fn add_revision(
    req: &Request,
    Path(pn): Path<String>,
    body: Body,
    state: Data<&Arc<AppState>>,
) -> Result<Response, ApiError> {
    state.require_editor(req)?;
    let pn = checked(&pn)?;
    let input: NewRevision = json_body(body, state.config.max_body_bytes).await?;
    input.validate()?;
    let _write = state.begin_write(true)?;
    let (revision, _item) = state
        .items
        .add_revision(pn, input, SystemTime::now())
        .await?;
    emit(&state, "revision.created", &revision.part_number, &revision).await;
    let head = state.hub.broker().head();
    let resp = json_response(StatusCode::CREATED, &revision);
    Ok(linked(resp, &state, &head, Some(pn)))
}

/// `POST /api/items/import`: CSV (`text/csv`) or ODS, all or nothing.
#[handler]
pub async fn import(
    req: &Request,
    body: Body,
    state: Data<&Arc<AppState>>,
) -> Result<Response, ApiError> {
    state.require_editor(req)?;
    let content_type = req
        .content_type()
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let bytes = read_body(body, state.config.max_body_bytes).await?;
    let parse = match content_type.as_str() {
        "text/csv" => parse_csv,
        ODS_MIME => parse_ods,
        _ => {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                format!("import takes text/csv or {ODS_MIME}"),
            ));
        }
    };
    // Parsing megabytes of a spreadsheet would hold up every publish and
    // request waiting on the request runtime's worker.
    let rows = tokio::task::spawn_blocking(move || parse(&bytes))
        .await
        .map_err(ApiError::internal)?
        .map_err(|e| match e {
            ImportError::Row { row, message } => ApiError::new(
                StatusCode::BAD_REQUEST,
                "bad_row",
                format!("row {row}: {message}"),
            ),
            other => ApiError::bad_request(other.to_string()),
        })?;
    let _write = state.begin_write(true)?;
    let outcome = state.items.import(rows, SystemTime::now()).await?;
    for item in &outcome.created {
        emit(&state, "item.created", &item.part_number, item).await;
    }
    for item in &outcome.updated {
        emit(&state, "item.updated", &item.part_number, item).await;
    }
    Ok(json_response(
        StatusCode::CREATED,
        &json!({ "created": outcome.created.len(), "updated": outcome.updated.len() }),
    ))
}
