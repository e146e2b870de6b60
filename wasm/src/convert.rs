//! Crossing the JavaScript boundary: errors become `Error` objects whose
//! message is the Rust error's, values become plain JSON-compatible objects.

use serde::Serialize;
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
