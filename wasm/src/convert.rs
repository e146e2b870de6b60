//! Crossing the JavaScript boundary: errors become `Error` objects whose
//! message is the Rust error's, values become plain JSON-compatible objects,
//! and plain objects from JavaScript become Rust values, unknown fields
//! refused.

use serde::Serialize;
use serde::de::DeserializeOwned;
use wasm_bindgen::prelude::*;

/// An `Error` for JavaScript with `e`'s message.
pub(crate) fn js_error(e: impl std::fmt::Display) -> JsError {
    JsError::new(&e.to_string())
}

/// `value` as `JSON.parse` would give it: maps become objects (not `Map`s),
/// `None` becomes `null`, and 64-bit integers become numbers (an error past
/// 2^53), so a page can compare what it gets with `JSON.stringify`.
pub(crate) fn to_js<T: Serialize + ?Sized>(value: &T) -> Result<JsValue, JsError> {
    value
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(js_error)
}

/// A plain object from JavaScript as `T`; an `Error` naming `what` when it
/// is not one, or has a field `T` does not know or one of the wrong type.
pub(crate) fn from_js<T: DeserializeOwned>(value: &JsValue, what: &str) -> Result<T, JsError> {
    // Through JSON text rather than serde-wasm-bindgen, which reads only the
    // fields it knows and so would let a typo pass.
    let text = js_sys::JSON::stringify(value)
        .ok()
        .and_then(|t| t.as_string())
        .ok_or_else(|| js_error(format!("{what} must be a plain object")))?;
    serde_json::from_str(&text).map_err(|e| js_error(format!("invalid {what}: {e}")))
}
