//! Rules on a raw request head that hold before anything is dispatched,
//! over bytes only (no server state), so they can be tested and fuzzed on
//! their own.

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
