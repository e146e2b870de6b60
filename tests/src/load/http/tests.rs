use super::*;

fn decode(framing: Framing, pieces: &[&[u8]]) -> (Vec<u8>, bool) {
    let mut d = BodyDecoder::new(framing);
    let mut out = Vec::new();
    for p in pieces {
        d.feed(p, |b| out.extend_from_slice(b)).unwrap();
    }
    (out, d.done())
}

#[test]
fn chunked_split_anywhere() {
    let body = b"5;ext=1\r\nhello\r\n1a\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\nX-T: 1\r\n\r\n";
    for cut in 0..body.len() {
        let (out, done) = decode(Framing::Chunked, &[&body[..cut], &body[cut..]]);
        assert_eq!(out, b"helloabcdefghijklmnopqrstuvwxyz", "cut at {cut}");
        assert!(done);
    }
    let bytes: Vec<&[u8]> = body.chunks(1).collect();
    assert_eq!(
        decode(Framing::Chunked, &bytes).0,
        b"helloabcdefghijklmnopqrstuvwxyz"
    );
}

#[test]
fn length_and_close() {
    assert_eq!(
        decode(Framing::Length(3), &[b"ab", b"cdef"]),
        (b"abc".to_vec(), true)
    );
    assert_eq!(
        decode(Framing::Close, &[b"ab", b"cd"]),
        (b"abcd".to_vec(), false)
    );
    assert!(
        BodyDecoder::new(Framing::Chunked)
            .feed(b"zz\r\n", |_| {})
            .is_err()
    );
}

#[tokio::test]
async fn urls_take_http_and_https_with_their_default_ports() {
    let plain = Url::parse("http://127.0.0.1/api/events").await.unwrap();
    assert_eq!((plain.addr.port(), plain.tls), (80, false));
    let tls = Url::parse("https://127.0.0.1?x=1").await.unwrap();
    assert_eq!(
        (tls.addr.port(), tls.tls, tls.path.as_str()),
        (443, true, "/?x=1")
    );
    assert!(Url::parse("ftp://127.0.0.1/").await.is_err());
}

#[test]
fn stream_requests_add_the_query() {
    let line = |path: &str, query: &str| {
        let url = Url {
            authority: "h".into(),
            addr: "127.0.0.1:1".parse().unwrap(),
            path: path.into(),
            tls: false,
        };
        let req = String::from_utf8(sse_request(&url, query, Some("e-1"))).unwrap();
        req.lines().next().unwrap().to_owned()
    };
    assert_eq!(line("/ev", ""), "GET /ev HTTP/1.1");
    assert_eq!(line("/ev", "match=a"), "GET /ev?match=a HTTP/1.1");
    assert_eq!(line("/ev?x=1", "match=a"), "GET /ev?x=1&match=a HTTP/1.1");
}

#[test]
fn heads() {
    let raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nrest";
    let n = head_len(raw).unwrap();
    assert_eq!(&raw[n..], b"rest");
    let head = parse_head(&raw[..n]).unwrap();
    assert_eq!(
        (head.status, head.framing, head.keep_alive),
        (200, Framing::Chunked, true)
    );
    let head =
        parse_head(b"HTTP/1.1 202 Accepted\nContent-Length: 9\nConnection: close\n\n").unwrap();
    assert_eq!(
        (head.status, head.framing, head.keep_alive),
        (202, Framing::Length(9), false)
    );
    let head = parse_head(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n").unwrap();
    assert_eq!(head.framing, Framing::Close);
    assert!(head_len(b"HTTP/1.1 200 OK\r\nA: b\r\n").is_none());
}
