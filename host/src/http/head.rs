//! Reading raw request heads, over bytes only (no server state), so they
//! can be tested and fuzzed on their own: the rules that hold before
//! anything is dispatched, and what the lean stream path takes from a head.

/// Most header lines a stream request may have for the lean path; a head
/// with more goes to hyper, which has its own limit.
const MAX_HEADERS: usize = 32;

/// Whether a complete request head announces its body both ways, with
/// `Content-Length` and `Transfer-Encoding`: the request smuggling case of
/// RFC 9112 §6.3, refused with 400 rather than read by either framing.
/// A head that does not parse is not judged here.
///
/// ```
/// use tidings_host::http::head::conflicting_framing;
/// assert!(conflicting_framing(b"POST / HTTP/1.1\r\ncontent-length: 4\r\ntransfer-encoding: chunked\r\n\r\n"));
/// assert!(!conflicting_framing(b"POST / HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n"));
/// assert!(!conflicting_framing(b"GET / HTTP/1.1\r\n\r\n"));
/// ```
pub fn conflicting_framing(head: &[u8]) -> bool {
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut req = httparse::Request::new(&mut headers);
    if !matches!(req.parse(head), Ok(httparse::Status::Complete(_))) {
        return false;
    }
    let has = |name: &str| {
        req.headers
            .iter()
            .any(|h| h.name.eq_ignore_ascii_case(name))
    };
    has("content-length") && has("transfer-encoding")
}

/// What the lean path takes from a `GET` head.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct StreamHead {
    /// The path, without the query.
    pub path: String,
    /// The query, without the `?`.
    pub query: Option<String>,
    /// `Last-Event-ID` (the last one, if repeated).
    pub last_event_id: Option<String>,
    /// `Origin` (the last one, if repeated).
    pub origin: Option<String>,
    /// A `Content-Length` other than 0, or a `Transfer-Encoding`: a stream
    /// request has no body, and one that announces one is refused.
    pub announces_body: bool,
    /// Every `X-Forwarded-For`, joined as one list.
    pub forwarded_for: Option<String>,
    /// The `Authorization`, `Cookie` and `Origin` lines as sent, in order:
    /// what credentials are read from.
    pub credentials: Vec<(String, Vec<u8>)>,
}

/// Reads a complete request head: `Some` for a `GET` over HTTP/1.x with at
/// most 32 header lines and no `Upgrade`; the caller decides whether its
/// path is a stream's.
///
/// ```
/// use tidings_host::http::head::stream_head;
/// let head = stream_head(b"GET /api/events?a=1 HTTP/1.1\r\nLast-Event-ID: x-1\r\n\r\n").unwrap();
/// assert_eq!((head.path.as_str(), head.query.as_deref()), ("/api/events", Some("a=1")));
/// assert_eq!(head.last_event_id.as_deref(), Some("x-1"));
/// assert!(stream_head(b"POST /api/events HTTP/1.1\r\n\r\n").is_none());
/// ```
pub fn stream_head(head: &[u8]) -> Option<StreamHead> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    if !matches!(req.parse(head), Ok(httparse::Status::Complete(_))) || req.method != Some("GET") {
        return None;
    }
    let target = req.path?;
    let (path, query) = match target.split_once('?') {
        Some((path, query)) => (path, Some(query.to_owned())),
        None => (target, None),
    };
    let mut out = StreamHead {
        path: path.to_owned(),
        query,
        ..StreamHead::default()
    };
    for h in req.headers.iter() {
        let is = |name: &str| h.name.eq_ignore_ascii_case(name);
        let value = || String::from_utf8_lossy(h.value).into_owned();
        if is("authorization") || is("cookie") || is("origin") {
            out.credentials.push((h.name.to_owned(), h.value.to_vec()));
        }
        if is("last-event-id") {
            out.last_event_id = Some(value());
        } else if is("origin") {
            out.origin = Some(value());
        } else if is("transfer-encoding") || (is("content-length") && h.value.trim_ascii() != b"0")
        {
            out.announces_body = true;
        } else if is("x-forwarded-for") {
            let hops = out.forwarded_for.get_or_insert_default();
            if !hops.is_empty() {
                hops.push(',');
            }
            hops.push_str(&value());
        } else if is("upgrade") {
            return None;
        }
    }
    Some(out)
}
