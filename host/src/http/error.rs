//! The one HTTP error type: each case maps to a status and a JSON body
//! `{"error": "<code>", "message": "..."}`. Internal causes are logged, never
//! sent to clients.

use poem::http::StatusCode;
use poem::{IntoResponse, Response};
use serde_json::json;
use tidings_core::mode::Mode;

use crate::items::{ItemError, ValidationError};
use crate::log::queue::PublishFailed;

/// An error answered to an HTTP client.
#[derive(Debug, Clone)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    mode: Option<Mode>,
    retry_after: Option<u64>,
    challenge: Option<String>,
}

impl ApiError {
    /// An error with `status`, a stable machine-readable `code` and a message.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            mode: None,
            retry_after: None,
            challenge: None,
        }
    }

    /// The error with a `WWW-Authenticate` header of `challenge` (RFC 6750
    /// §3: every refusal about an access token carries one).
    pub fn with_challenge(self, challenge: String) -> ApiError {
        ApiError {
            challenge: Some(challenge),
            ..self
        }
    }

    /// 400: the request is malformed.
    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    /// 413: the body or the event is too large.
    pub fn too_large(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "too_large", message)
    }

    /// 404: no such resource.
    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// 503 with `Retry-After`: the server cannot take this now.
    pub fn unavailable(
        code: &'static str,
        message: impl Into<String>,
        retry_after: u64,
    ) -> ApiError {
        ApiError {
            retry_after: Some(retry_after),
            ..ApiError::new(StatusCode::SERVICE_UNAVAILABLE, code, message)
        }
    }

    /// 429 with `Retry-After`: this client has too many of something.
    pub fn too_many(code: &'static str, message: impl Into<String>, retry_after: u64) -> ApiError {
        ApiError {
            retry_after: Some(retry_after),
            ..ApiError::new(StatusCode::TOO_MANY_REQUESTS, code, message)
        }
    }

    /// 503 because the mode refuses the write.
    pub fn refused_by_mode(mode: Mode, retry_after: u64) -> ApiError {
        ApiError {
            mode: Some(mode),
            ..ApiError::unavailable(
                "mode_refuses_writes",
                format!("the server is {mode}: writes are refused"),
                retry_after,
            )
        }
    }

    /// 500, logging `cause` without sending it.
    pub fn internal(cause: impl std::fmt::Display) -> ApiError {
        tracing::error!(%cause, "internal error");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal error",
        )
    }

    /// The status answered.
    pub fn status(&self) -> StatusCode {
        self.status
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}): {}", self.status, self.code, self.message)
    }
}

impl std::error::Error for ApiError {}

impl poem::error::ResponseError for ApiError {
    fn status(&self) -> StatusCode {
        self.status
    }

    fn as_response(&self) -> Response {
        self.clone().into_response()
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = json!({ "error": self.code, "message": self.message });
        if let Some(mode) = self.mode {
            body["mode"] = json!(mode);
        }
        let mut resp = Response::builder()
            .status(self.status)
            .content_type("application/json")
            .body(body.to_string());
        if let Some(secs) = self.retry_after {
            resp.headers_mut()
                .insert(poem::http::header::RETRY_AFTER, secs.into());
        }
        if let Some(challenge) = self
            .challenge
            .and_then(|c| poem::http::HeaderValue::try_from(c).ok())
        {
            resp.headers_mut()
                .insert(poem::http::header::WWW_AUTHENTICATE, challenge);
        }
        resp
    }
}

impl From<PublishFailed> for ApiError {
    fn from(err: PublishFailed) -> ApiError {
        match err {
            PublishFailed::Closed => {
                ApiError::unavailable("shutting_down", "the server is shutting down", 5)
            }
            PublishFailed::Unavailable => ApiError::unavailable(
                "log_unavailable",
                "the event could not be stored; retry later",
                5,
            ),
            // The queue drains as fast as the log writes: a second is
            // enough for a batch or two.
            PublishFailed::Busy => ApiError::unavailable(
                "publish_queue_full",
                "too many publishes are waiting to be stored; retry later",
                1,
            ),
        }
    }
}

impl From<ValidationError> for ApiError {
    fn from(err: ValidationError) -> ApiError {
        ApiError::bad_request(err.to_string())
    }
}

impl From<ItemError> for ApiError {
    fn from(err: ItemError) -> ApiError {
        match err {
            ItemError::Invalid(e) => e.into(),
            ItemError::InvalidRow { row, message } => ApiError::new(
                StatusCode::BAD_REQUEST,
                "bad_row",
                format!("row {row}: {message}"),
            ),
            ItemError::Exists(pn) => ApiError::new(
                StatusCode::CONFLICT,
                "exists",
                format!("item {pn} already exists"),
            ),
            ItemError::NotFound(pn) => ApiError::not_found(format!("no item {pn}")),
            ItemError::Storage(e) => {
                tracing::warn!(error = %e, "storage operation failed");
                ApiError::unavailable("storage_unavailable", "storage is unavailable", 5)
            }
        }
    }
}

/// Turns any error poem raises itself (unknown route, wrong method, …) into
/// the same JSON shape.
pub fn from_poem(err: poem::Error) -> Response {
    if let Some(api) = err.downcast_ref::<ApiError>() {
        return api.clone().into_response();
    }
    let status = err.status();
    let code = match status {
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::PAYLOAD_TOO_LARGE => "too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        s if s.is_client_error() => "bad_request",
        _ => "internal",
    };
    let message = if status.is_server_error() {
        tracing::error!(error = %err, "unhandled error");
        "internal error".to_string()
    } else {
        err.to_string()
    };
    ApiError::new(status, code, message).into_response()
}
