//! Request and response bodies: size-limited reads, JSON in and out, with
//! the errors every route answers alike.

use bytes::Bytes;
use poem::error::ReadBodyError;
use poem::http::StatusCode;
use poem::{Body, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::http::error::ApiError;

/// Reads a body of at most `limit` bytes; larger answers 413.
pub async fn read_body(body: Body, limit: usize) -> Result<Bytes, ApiError> {
    body.into_bytes_limit(limit).await.map_err(|e| match e {
        ReadBodyError::PayloadTooLarge => {
            ApiError::too_large(format!("the body is larger than {limit} bytes"))
        }
        other => ApiError::bad_request(format!("cannot read the body: {other}")),
    })
}

/// Reads and parses a JSON body; malformed JSON or wrong types answer 400
/// with serde's description.
pub async fn json_body<T: DeserializeOwned>(body: Body, limit: usize) -> Result<T, ApiError> {
    let bytes = read_body(body, limit).await?;
    serde_json::from_slice(&bytes)
        .map_err(|e| ApiError::bad_request(format!("invalid JSON body: {e}")))
}

/// A JSON response.
pub fn json_response(status: StatusCode, value: &impl Serialize) -> Response {
    Response::builder()
        .status(status)
        .content_type("application/json")
        .body(serde_json::to_vec(value).expect("responses serialise"))
}
