//! The bindings of the SSE wire format and of event ids: `encodeEvent`,
//! `parseEventId` and `SseParser`, the same encoder and parser the server
//! and its tests use.

use serde::Serialize;
use tidings_core::EventId;
use tidings_core::wire::{self, Parser};
use wasm_bindgen::prelude::*;

use crate::convert::{js_error, to_js};

/// Encodes one SSE event frame, as the server writes it: data split on CR,
/// LF and CRLF into `data:` lines; an id or type containing CR, LF or NUL
/// throws.
///
/// ```js
/// console.assert(encodeEvent("s1-7", "note", "a\r\nb") === "id: s1-7\nevent: note\ndata: a\ndata: b\n\n");
/// console.assert(encodeEvent(undefined, undefined, "") === "data:\n\n");
/// let threw = false;
/// try { encodeEvent("1\rdata: forged", "note", "x"); } catch (e) { threw = true; }
/// console.assert(threw);
/// ```
#[wasm_bindgen(js_name = encodeEvent)]
pub fn encode_event(
    id: Option<String>,
    #[wasm_bindgen(js_name = "type")] event_type: Option<String>,
    data: &str,
) -> Result<String, JsError> {
    let frame = wire::event_frame(id.as_deref(), event_type.as_deref(), data).map_err(js_error)?;
    Ok(String::from_utf8(frame.to_vec()).expect("frames of str input are UTF-8"))
}

/// Splits an event id `<epoch>-<seq>`; throws for a malformed one.
///
/// ```js
/// const id = parseEventId("s1-42");
/// console.assert(id.epoch === "s1" && id.seq === 42);
/// let threw = false;
/// try { parseEventId("s1-042"); } catch (e) { threw = true; }
/// console.assert(threw);
/// ```
#[wasm_bindgen(js_name = parseEventId, unchecked_return_type = "EventIdParts")]
pub fn parse_event_id(text: &str) -> Result<JsValue, JsError> {
    #[derive(Serialize)]
    struct Parts {
        epoch: String,
        seq: u64,
    }
    let id: EventId = text.parse().map_err(js_error)?;
    to_js(&Parts {
        epoch: id.epoch().to_string(),
        seq: id.seq(),
    })
}

/// A streaming `text/event-stream` parser that reads a stream exactly as a
/// browser's `EventSource` does: chunks may split anywhere, all three line
/// endings, comments, a BOM, and an unterminated last event is not
/// dispatched.
///
/// ```js
/// const parser = new SseParser();
/// console.assert(parser.feed("id: 1\nevent: greet\ndata: hel").length === 0);
/// const [ev] = parser.feed(new TextEncoder().encode("lo\r\n\r\n"));
/// console.assert(ev.type === "greet" && ev.data === "hello" && ev.id === "1");
/// ```
#[wasm_bindgen]
#[derive(Debug, Default)]
pub struct SseParser {
    parser: Parser,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsParsedEvent {
    #[serde(rename = "type")]
    event_type: String,
    data: String,
    id: Option<String>,
    last_event_id: String,
}

#[wasm_bindgen]
impl SseParser {
    /// A parser at the start of a stream.
    ///
    /// ```js
    /// const parser = new SseParser();
    /// console.assert(parser.lastEventId === "" && parser.retry === undefined);
    /// ```
    #[wasm_bindgen(constructor)]
    pub fn new() -> SseParser {
        SseParser::default()
    }

    /// Parses the next chunk (a `Uint8Array` or a string) and returns the
    /// events it completes. After an error (a line over 16 MiB) the parser
    /// cannot resynchronise: close the stream.
    ///
    /// ```js
    /// const parser = new SseParser();
    /// const events = parser.feed(": comment\ndata: a\ndata: b\n\nevent: x\n\n");
    /// console.assert(events.length === 1 && events[0].data === "a\nb" && events[0].type === "message");
    /// let threw = false;
    /// try { parser.feed(42); } catch (e) { threw = true; }
    /// console.assert(threw);
    /// ```
    #[wasm_bindgen(unchecked_return_type = "ParsedEvent[]")]
    pub fn feed(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "Uint8Array | string")] chunk: JsValue,
    ) -> Result<JsValue, JsError> {
        let bytes = if let Some(text) = chunk.as_string() {
            text.into_bytes()
        } else if chunk.is_instance_of::<js_sys::Uint8Array>() {
            js_sys::Uint8Array::from(chunk).to_vec()
        } else {
            return Err(js_error("feed takes a Uint8Array or a string"));
        };
        let mut events = Vec::new();
        self.parser.feed(&bytes, &mut events).map_err(js_error)?;
        let events: Vec<JsParsedEvent> = events
            .into_iter()
            .map(|e| JsParsedEvent {
                event_type: e.event,
                data: e.data,
                id: e.id,
                last_event_id: e.last_event_id,
            })
            .collect();
        to_js(&events)
    }

    /// The stream's last event id: what a reconnecting client sends as
    /// `Last-Event-ID`. Ids count only once their block is closed.
    ///
    /// ```js
    /// const parser = new SseParser();
    /// parser.feed("id: 5\ndata: x\n\nid: 6\n");
    /// console.assert(parser.lastEventId === "5");
    /// ```
    #[wasm_bindgen(getter = lastEventId)]
    pub fn last_event_id(&self) -> String {
        self.parser.last_event_id().to_owned()
    }

    /// The reconnection delay from the last valid `retry:` field, if any.
    ///
    /// ```js
    /// const parser = new SseParser();
    /// parser.feed("retry: 1500\nretry: 2s\n\n");
    /// console.assert(parser.retry === 1500);
    /// ```
    #[wasm_bindgen(getter)]
    pub fn retry(&self) -> Option<f64> {
        self.parser.retry().map(|ms| ms as f64)
    }

    /// Whether a partial event or line is pending — what a stream cut off
    /// now would lose (the spec discards it).
    ///
    /// ```js
    /// const parser = new SseParser();
    /// parser.feed("data: complete\n\n");
    /// console.assert(!parser.pending());
    /// parser.feed("data: cut off\n");
    /// console.assert(parser.pending());
    /// ```
    pub fn pending(&self) -> bool {
        self.parser.clone().finish()
    }
}
