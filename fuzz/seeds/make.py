#!/usr/bin/env python3
"""Writes the checked-in seed corpora under fuzz/corpus/<target>/ from
real examples (streams, ids, selectors, queries, claims and tokens of the
tests and docs). Run from anywhere: python3 fuzz/seeds/make.py"""

import base64
import hashlib
import hmac
import json
import os
import struct
import zlib

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "corpus")


def write(target, seeds):
    d = os.path.join(ROOT, target)
    os.makedirs(d, exist_ok=True)
    for old in os.listdir(d):
        os.remove(os.path.join(d, old))
    for seed in seeds:
        if isinstance(seed, str):
            seed = seed.encode()
        name = hashlib.sha1(seed).hexdigest()[:16]
        with open(os.path.join(d, name), "wb") as f:
            f.write(seed)


def le16(n):
    return struct.pack("<H", n)


# sse_parser: control byte (cut count, limit flag), cuts, stream.
STREAMS = [
    b"data: hello\n\n",
    b"id: 1\r\nevent: greet\r\ndata: hel",
    b"id: 1\r\nevent: greet\r\ndata: hello\r\n\r\ndata: partial\n",
    b"\xef\xbb\xbfdata: x\n\n",
    b"\xef\xbb\xbf\xef\xbb\xbfdata: x\n\n\xef\xbb\xbfdata: y\n\ndata: z\n\n",
    b"data: a\rdata: b\r\r",
    b"data: a\r\ndata: b\r\n\r\n",
    b"data: a\n\rdata: b\n\n",
    b": hello\ndata: a\n:data: b\n\n:\n\n",
    b"data\ndata\n\nevent: x\nevent\ndata: y\n\n",
    b"data:  two\ndata:none\ndata:\t tab\ndata: trailing \n\n",
    b"foo: bar\nData: x\ndata : y\nDATA\ndata: z\n\n",
    b"id: 5\ndata: x\n\nid: 6\n\nid\ndata: y\n\nid: a\x00b\ndata: z\n\n",
    b"retry: 1500\nretry: 2s\nretry:\nretry: -1\nretry: 99999999999999999999999\n\n",
    b"\xef\xbb\xbfid: 1\r\nevent: e\r\ndata: a\r\rdata\n: c\n\nretry: 7\n\n",
    b"data: \xff\xfe invalid \xc3\n\n",
    b'event: server.state\ndata: {"mode":"normal"}\n\n: keep-alive\n\n'
    b'id: k3x9-1\nevent: item.created\ndata: {"id":1}\n\n'
    b'event: stream.reset\ndata: {"reason":"unknown_epoch","head":"k3x9-1"}\n\n',
    b"id: #e1-4\nevent: heartbeat\ndata: {}\n\n",
]
sse = [b"\x00" + s for s in STREAMS]
sse += [b"\x02" + le16(3) + le16(14) + s for s in STREAMS[:6]]
sse += [b"\x11\x0f" + s for s in STREAMS[6:12]]  # line limit 16
write("sse_parser", sse)

# sse_roundtrip: arbitrary-decoded; a few byte strings shaped like it.
write("sse_roundtrip", [
    b"\x00\x01id\x01event\x05hello\x00",
    b"\x01\x00\x05a\r\nb\rc\x00\x02\x00\x00\x00\x05",
    b"\x00\x00\x00\x00\x00\x01\x07keep-alive\x02\xdc\x05",
    b"\x00\x01" + "é\u2028".encode() + b"\x00\x01\x00line one\nline two",
    bytes(range(64)),
])

# event_id: a last id, then supplied ids of the published events.
write("event_id", [
    "k3x9-42",
    "e1-0\n\n\n\n\n\n",
    "e1-3\norder-1\n\norder-2\n\n",
    "#e1-2\n\n\n\n",
    "earliest\na\nb\nc\nd\ne\nf",
    "order-42\norder-42\n\norder-42\n\n\n\n\n",
    "e1-1\ne1-1\ne1-1",
    "zz-1\n\n",
    "e1-18446744073709551615\n",
    "e1-18446744073709551616\n",
    "e1-042\n\n",
    "urn:uuid:1b4e28ba-2fa1-11d2-883f-0016d3cca427\n"
    "urn:uuid:1b4e28ba-2fa1-11d2-883f-0016d3cca427",
    "a-b-1\n#x\nearliest\n" + "x" * 257,
])

# topic_match: e/u/t selector lines, other lines topics.
write("topic_match", [
    "e https://example.com/books/1\nu /books/:id\nt https://example.com/authors/{id}\n"
    "https://example.com/books/1\n/books/2\nhttps://example.com/authors/7",
    "e *\nu *\nt *\nanything at all\n/a",
    "t https://example.com/users/42/{x}\nt {+any}\nt https://example.com/{a,b}/{?q,r}\n"
    "https://example.com/users/42/orders\nhttps://example.com/x/y?q=1&r=2",
    "t /items/{id}{/rest*}{#frag}\nt {;path,list*}\nt {.dom*}\n/items/1/a/b#f\n;path=1\n.a.b",
    "u https://example.com/books/:id(\\d+)\nu /a/*\nu https://*.example.com/:p*\n"
    "https://example.com/books/12\nhttps://sub.example.com/x/y\n/a/b/c",
    "u HTTPS://EXAMPLE.COM/:id\nu /books/:id?\nu ../up\nhttps://example.com/Z\n/books\n/books/",
    "e /b/\u00fc\nt /b/{x}\n/b/\u00fc\n/b/%C3%BC",
    "t https://example.com/{id\nt {}\nt {x:3}\nt {x:10000}\nu :\nu (\n}",
])


# history_record: raw mode (first byte even) from record encodings.
def record(seq, payload_after_seq):
    payload = struct.pack("<Q", seq) + payload_after_seq
    return struct.pack("<II", len(payload), zlib.crc32(payload)) + payload


def v2(seq, data, kind=None, sid=None, retry=None, topics=(), private=False):
    flags = (1 if private else 0) | (2 if kind else 0) | (4 if sid else 0) | (8 if retry is not None else 0)
    out = bytes([0xFF, flags])
    if kind:
        out += bytes([len(kind.encode())]) + kind.encode()
    if sid:
        out += le16(len(sid.encode())) + sid.encode()
    if retry is not None:
        out += struct.pack("<Q", retry)
    out += le16(len(topics))
    for t in topics:
        out += le16(len(t.encode())) + t.encode()
    return record(seq, out + data.encode())


def v1(seq, kind, data):
    return record(seq, bytes([len(kind)]) + kind.encode() + data.encode())


rich = dict(sid="order-42", topics=("https://example.com/books/1", "/b/\u00fc"), private=True)
segments = [
    (7, v2(7, "line one\nline two", **rich)
        + v2(8, "line one\nline two", kind="book.updated", retry=1500, **rich)
        + v2(9, "{}", kind="book.updated") + v2(10, "")),
    (3, v1(3, "item.created", '{"a":1}') + v1(4, "note", "") + v2(5, "x", **rich)),
    (1, v2(1, '{"id":1,"name":"Widget"}', kind="item.created")),
    (1, v2(1, "cut", kind="k")[:-1]),
    (1, v2(1, "x") + v2(3, "wrong seq")),
    (2**64 - 1, v2(2**64 - 1, "last") + v2(0, "wrapped")),
]
hist = [b"\x00" + struct.pack("<Q", first) + seg for first, seg in segments]
hist += [b"\x01" + bytes(range(i, i + 48)) for i in (0, 7, 100)]
write("history_record", hist)

# http_form: queries (first byte even) and built inputs (odd).
QUERIES = [
    "topic=https%3A%2F%2Fexample.com%2Fbooks%2F1&lastEventID=k3x9-42",
    "match=https%3A%2F%2Fex.com%2Fa&match_urlpattern=/b/:id&match=x",
    "match_exact=%2Fbooks%2F1&types=item.created,item.deleted&last_event_id=k3x9-7",
    "topic=*&authorization=eyJhbGciOiJIUzI1NiJ9.e30.c2ln",
    "topic=https%3A%2F%2Fexample.com%2Fbooks%2F%7Bid%7D&topic=%2Fauthors%2F1",
    "match_regex=.*&MATCHES=1",
    "topic=%2Fa&topic=b&data=x%0Ay&private=&retry=15&id=order-42&type=book.updated",
    "topic=a&data=hello+world&private=on&unknown=1",
    "topic=a&retry=-1&data=%FF",
    "authorization=a&authorization=b",
    "a=1&&b&a=x+y%21&=&%3D=%26",
    "match=%E2%80%8B&match=%0A",
]
form = [b"\x00" + q.encode() for q in QUERIES]
form += [b"\x01" + bytes(range(i, i + 64)) for i in (0, 32, 150)]
write("http_form", form)

# token_claims: claim values (JSON).
DETAIL = "https://mercure.rocks/authorization-detail"
CLAIMS = [
    [{"type": DETAIL, "actions": ["publish", "subscribe", "future-action"], "topics": [
        {"match": "https://example.com/a"},
        {"match": "https://example.com/b/:id", "match_type": "urlpattern"}]},
     {"type": "https://other.example/detail", "actions": [1], "topics": "ignored"},
     {"type": DETAIL, "actions": ["subscribe"], "topics": [{"match": "*", "match_type": "exact"}],
      "payload": {"tenant": "t1"}},
     {"type": "mercure", "actions": ["publish"], "topics": [{"match": "*"}]}],
    [{"type": DETAIL, "actions": ["subscribe"], "topics": [{"match": "*", "match_type": "regex"}]}],
    [{"type": DETAIL, "actions": [], "topics": [{"match": "a"}]}],
    [{"type": DETAIL, "actions": ["publish"], "topics": [{"match": "a\u0007"}], "payload": 1}],
    {"publish": ["*"], "subscribe": ["https://example.com/books/{id}", "https://example.com/books/1"],
     "payload": {"user": "u1"}},
    {"publish": [], "subscribe": [1]},
    {"subscribe": ["{+any}", "*", "/plain"]},
    "not an array",
    [],
]
write("token_claims", [json.dumps(c) for c in CLAIMS])

# token_compact: tokens as text (even) or header NUL claims NUL signature (odd).
SECRET = b"a secret of at least thirty-two bytes, for fuzzing"


def b64(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def token(header, claims):
    msg = b64(json.dumps(header).encode()) + "." + b64(json.dumps(claims).encode())
    sig = hmac.new(SECRET, msg.encode(), hashlib.sha256).digest()
    return msg + "." + b64(sig)


access = {"sub": "urn:uuid:bb3de268-05b0-4c65-b44e-8f9acefc29d6", "exp": 1_700_000_300,
          "authorization_details": CLAIMS[0]}
legacy = {"mercure": CLAIMS[4]}
compact = [
    b"\x00" + token({"alg": "HS256", "typ": "at+jwt"}, access).encode(),
    b"\x00" + token({"alg": "HS256"}, legacy).encode(),
    b"\x00" + token({"alg": "none", "typ": "at+jwt"}, access).encode(),
    b"\x00not-a-token",
    b"\x00a.b.c.d",
    b"\x00" + (b64(b"{not json") + ".e30.c2ln").encode(),
]
for header, claims in [
    ({"alg": "HS256", "typ": "at+jwt"}, access),
    ({"alg": "HS256", "typ": "application/AT+JWT"}, dict(access, nbf=1_700_000_000.5)),
    ({"alg": "HS256", "typ": "JWT"}, legacy),
    ({"alg": "HS256", "typ": "at+jwt", "crit": ["b64"], "b64": False}, access),
    ({"alg": "HS256", "typ": "at+jwt", "kid": "k1"}, dict(access, exp="soon")),
]:
    raw = json.dumps(header).encode() + b"\x00" + json.dumps(claims).encode() + b"\x00"
    compact.append(b"\x05" + raw)
    compact.append(b"\x01" + raw + b"sig")
write("token_compact", compact)
