//! Raw request heads (`host/src/http/head.rs`): what the accept loop judges
//! before dispatch and what the lean stream path takes from a head.
//!
//! The first input byte picks the mode. Even: the rest is a head as it came
//! off the wire. Properties: no panic; an accepted head has a path
//! without `?`, and only `Authorization`, `Cookie` and `Origin` lines among its
//! credentials. Odd: a `GET` head is built from the input (path, query,
//! `Last-Event-ID`, `Origin`, `X-Forwarded-For` lines, a body announced or
//! not, a token); reading it gives them back, and the conflict rule fires
//! exactly when both framings are present.

#![no_main]

use arbitrary::{Arbitrary, Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use tidings_fuzz::head::{conflicting_framing, stream_head};

/// Header-value text: visible ASCII and spaces inside, as httparse takes.
fn value(u: &mut Unstructured<'_>, max: usize) -> Result<String> {
    let len = u.int_in_range(1..=max)?;
    let mut s = String::with_capacity(len);
    for _ in 0..len {
        s.push(char::from(u.int_in_range(0x21u8..=0x7e)?));
    }
    Ok(s)
}

/// Target text: RFC 3986 path characters (unreserved, sub-delims, `:`,
/// `@`, `/`, `%`).
fn segment(u: &mut Unstructured<'_>, max: usize) -> Result<String> {
    const CHARS: &[u8] =
        b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!$&'()*+,;=:@/%";
    let len = u.int_in_range(0..=max)?;
    let mut s = String::with_capacity(len);
    for _ in 0..len {
        s.push(char::from(*u.choose(CHARS)?));
    }
    Ok(s)
}

fn built(u: &mut Unstructured<'_>) -> Result<()> {
    let path = format!("/{}", segment(u, 40)?);
    let query = if bool::arbitrary(u)? {
        Some(segment(u, 60)?)
    } else {
        None
    };
    let last = if bool::arbitrary(u)? {
        Some(value(u, 40)?)
    } else {
        None
    };
    let origin = if bool::arbitrary(u)? {
        Some(value(u, 40)?)
    } else {
        None
    };
    let hops: Vec<String> = (0..u.int_in_range(0..=3)?)
        .map(|_| value(u, 15))
        .collect::<Result<_>>()?;
    let token = if bool::arbitrary(u)? {
        Some(value(u, 60)?)
    } else {
        None
    };
    let length = bool::arbitrary(u)?;
    let chunked = bool::arbitrary(u)?;

    let mut head = format!("GET {path}");
    if let Some(q) = &query {
        head.push('?');
        head.push_str(q);
    }
    head.push_str(" HTTP/1.1\r\nhost: h\r\n");
    if let Some(l) = &last {
        head.push_str(&format!("last-event-id: {l}\r\n"));
    }
    if let Some(o) = &origin {
        head.push_str(&format!("Origin: {o}\r\n"));
    }
    for hop in &hops {
        head.push_str(&format!("X-Forwarded-For: {hop}\r\n"));
    }
    if let Some(t) = &token {
        head.push_str(&format!("authorization: Bearer {t}\r\n"));
    }
    if length {
        head.push_str("content-length: 5\r\n");
    }
    if chunked {
        head.push_str("transfer-encoding: chunked\r\n");
    }
    head.push_str("\r\n");

    assert_eq!(conflicting_framing(head.as_bytes()), length && chunked);
    let read = stream_head(head.as_bytes()).expect("a built GET head is read");
    assert_eq!(read.path, path);
    assert_eq!(read.query, query);
    assert_eq!(read.last_event_id, last);
    assert_eq!(read.origin, origin);
    assert_eq!(read.announces_body, length || chunked);
    let joined = (!hops.is_empty()).then(|| hops.join(","));
    assert_eq!(read.forwarded_for, joined);
    let tokens: Vec<&[u8]> = read
        .credentials
        .iter()
        .filter(|(n, _)| n == "authorization")
        .map(|(_, v)| v.as_slice())
        .collect();
    let expected = token.map(|t| format!("Bearer {t}").into_bytes());
    assert_eq!(
        tokens,
        expected
            .as_slice()
            .iter()
            .map(|v| v.as_slice())
            .collect::<Vec<_>>()
    );
    Ok(())
}

fn raw(bytes: &[u8]) {
    let _ = conflicting_framing(bytes);
    let Some(head) = stream_head(bytes) else {
        return;
    };
    assert!(!head.path.contains('?'));
    for (name, _) in &head.credentials {
        assert!(
            ["authorization", "cookie", "origin"]
                .iter()
                .any(|n| name.eq_ignore_ascii_case(n)),
            "{name} among the credentials"
        );
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    if mode % 2 == 0 {
        raw(rest);
    } else {
        let _ = built(&mut Unstructured::new(rest));
    }
});
