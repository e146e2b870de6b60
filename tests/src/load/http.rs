//! Just enough HTTP/1.1 for the load tool: `http://` URLs, response heads,
//! bodies framed by `Transfer-Encoding: chunked`, `Content-Length` or the
//! end of the connection, and a keep-alive connection for publishing.
//!
//! A full client (reqwest, hyper) per SSE stream costs too much memory and
//! CPU for 10 000 streams on a 2-core machine that also runs the server; a
//! stream here is one `TcpStream`, one read buffer and a small state machine.

use std::io;
use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::conn::{Conn, connect};

/// A parsed `http[s]://host[:port]/path?query` URL with its address resolved.
#[derive(Debug, Clone)]
pub struct Url {
    /// `host[:port]` as written, for the `Host` header.
    pub authority: String,
    /// Where to connect.
    pub addr: SocketAddr,
    /// Path and query, starting with `/`.
    pub path: String,
    /// `https://`: TLS (`conn.rs`).
    pub tls: bool,
}

impl Url {
    /// Parses `text` and resolves its host (once, up front).
    pub async fn parse(text: &str) -> Result<Url, String> {
        let (rest, tls) = match (text.strip_prefix("http://"), text.strip_prefix("https://")) {
            (Some(rest), _) => (rest, false),
            (_, Some(rest)) => (rest, true),
            _ => {
                return Err(format!(
                    "{text}: only http:// and https:// URLs are supported"
                ));
            }
        };
        let (authority, path) = match rest.find(['/', '?']) {
            Some(i) if rest.as_bytes()[i] == b'/' => (&rest[..i], rest[i..].to_owned()),
            Some(i) => (&rest[..i], format!("/{}", &rest[i..])),
            None => (rest, "/".to_owned()),
        };
        if authority.is_empty() {
            return Err(format!("{text}: no host"));
        }
        let has_port = authority
            .rsplit_once(':')
            .is_some_and(|(host, port)| !host.ends_with(':') && port.parse::<u16>().is_ok());
        let target = if has_port {
            authority.to_owned()
        } else {
            format!("{authority}:{}", if tls { 443 } else { 80 })
        };
        let addr = tokio::net::lookup_host(&target)
            .await
            .map_err(|e| format!("{text}: cannot resolve {target}: {e}"))?
            .next()
            .ok_or_else(|| format!("{text}: {target} resolves to nothing"))?;
        Ok(Url {
            authority: authority.to_owned(),
            addr,
            path,
            tls,
        })
    }

    /// This URL with `{topic}` in its path replaced by `channel`: the route
    /// of one channel on a hub that routes by path (nchan's `/sub/<channel>`).
    pub fn with_channel(&self, channel: &str) -> Url {
        Url {
            path: self.path.replace(TOPIC, channel),
            ..self.clone()
        }
    }
}

/// The placeholder of a URL routed by channel.
pub const TOPIC: &str = "{topic}";

/// How the body of a response ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// `Transfer-Encoding: chunked`.
    Chunked,
    /// `Content-Length: n`.
    Length(u64),
    /// Neither: the body runs until the server closes the connection.
    Close,
}

/// The parts of a response head the tool needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Head {
    /// The status code.
    pub status: u16,
    /// How the body is framed.
    pub framing: Framing,
    /// Whether the connection may carry another request afterwards.
    pub keep_alive: bool,
}

/// The length of the head at the start of `buf` (blank line included), once
/// it is complete.
pub fn head_len(buf: &[u8]) -> Option<usize> {
    let mut i = 0;
    while let Some(off) = buf[i..].iter().position(|&b| b == b'\n') {
        let lf = i + off;
        // A blank line: "\n\n" or "\n\r\n".
        match buf.get(lf + 1) {
            Some(b'\n') => return Some(lf + 2),
            Some(b'\r') if buf.get(lf + 2) == Some(&b'\n') => return Some(lf + 3),
            _ => {}
        }
        i = lf + 1;
    }
    None
}

/// Parses a complete response head (as delimited by [`head_len`]).
pub fn parse_head(head: &[u8]) -> Result<Head, String> {
    let text = std::str::from_utf8(head).map_err(|_| "response head is not UTF-8".to_owned())?;
    let mut lines = text.split('\n').map(|l| l.trim_end_matches('\r'));
    let status_line = lines.next().unwrap_or_default();
    let mut parts = status_line.split_whitespace();
    let version = parts.next().unwrap_or_default();
    if !version.starts_with("HTTP/1.") {
        return Err(format!("not an HTTP/1 response: {status_line:?}"));
    }
    let status: u16 = parts
        .next()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("bad status line {status_line:?}"))?;
    let mut chunked = false;
    let mut length = None;
    let mut keep_alive = version != "HTTP/1.0";
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = value
                .rsplit(',')
                .next()
                .is_some_and(|v| v.trim().eq_ignore_ascii_case("chunked"));
        } else if name.eq_ignore_ascii_case("content-length") {
            length = Some(
                value
                    .parse::<u64>()
                    .map_err(|_| format!("bad content-length {value:?}"))?,
            );
        } else if name.eq_ignore_ascii_case("connection") {
            for token in value.split(',') {
                let token = token.trim();
                if token.eq_ignore_ascii_case("close") {
                    keep_alive = false;
                } else if token.eq_ignore_ascii_case("keep-alive") {
                    keep_alive = true;
                }
            }
        }
    }
    let framing = if chunked {
        Framing::Chunked
    } else if let Some(n) = length {
        Framing::Length(n)
    } else if status == 204 || status == 304 || (100..200).contains(&status) {
        Framing::Length(0)
    } else {
        Framing::Close
    };
    if framing == Framing::Close {
        keep_alive = false;
    }
    Ok(Head {
        status,
        framing,
        keep_alive,
    })
}

/// Where a [`BodyDecoder`] is in the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Until the connection closes.
    Identity,
    /// This many bytes are left.
    Length(u64),
    /// Reading a chunk-size line; `digits` tells whether any hex digit came.
    Size { size: u64, digits: bool },
    /// Skipping chunk extensions up to the end of the size line.
    Ext { size: u64 },
    /// Inside a chunk, this many bytes left.
    Data(u64),
    /// After a chunk's data, before its CRLF.
    DataEnd,
    /// Trailer section after the last chunk; whether at a line start.
    Trailer { line_start: bool },
    /// The body is complete.
    Done,
}

/// Turns the bytes of a response body, as read, into its payload.
#[derive(Debug, Clone)]
pub struct BodyDecoder {
    state: State,
}

impl BodyDecoder {
    /// A decoder at the start of a body framed as `framing`.
    pub fn new(framing: Framing) -> BodyDecoder {
        let state = match framing {
            Framing::Chunked => State::Size {
                size: 0,
                digits: false,
            },
            Framing::Length(0) => State::Done,
            Framing::Length(n) => State::Length(n),
            Framing::Close => State::Identity,
        };
        BodyDecoder { state }
    }

    /// Whether the whole body has been seen.
    pub fn done(&self) -> bool {
        self.state == State::Done
    }

    /// Decodes `input`, handing each run of payload bytes to `out`. Returns
    /// how many bytes of `input` belong to the body: fewer than its length
    /// only when the body ended inside it.
    pub fn feed(&mut self, input: &[u8], mut out: impl FnMut(&[u8])) -> Result<usize, String> {
        let mut i = 0;
        while i < input.len() {
            match self.state {
                State::Identity => {
                    out(&input[i..]);
                    i = input.len();
                }
                State::Length(left) => {
                    let take = usize::try_from(left)
                        .unwrap_or(usize::MAX)
                        .min(input.len() - i);
                    out(&input[i..i + take]);
                    i += take;
                    let left = left - take as u64;
                    self.state = if left == 0 {
                        State::Done
                    } else {
                        State::Length(left)
                    };
                }
                State::Data(left) => {
                    let take = usize::try_from(left)
                        .unwrap_or(usize::MAX)
                        .min(input.len() - i);
                    out(&input[i..i + take]);
                    i += take;
                    let left = left - take as u64;
                    self.state = if left == 0 {
                        State::DataEnd
                    } else {
                        State::Data(left)
                    };
                }
                State::Size { size, digits } => {
                    let b = input[i];
                    i += 1;
                    self.state = match b {
                        b'0'..=b'9' | b'a'..=b'f' | b'A'..=b'F' => {
                            let digit = (b as char).to_digit(16).unwrap_or(0) as u64;
                            let size = size
                                .checked_mul(16)
                                .and_then(|s| s.checked_add(digit))
                                .ok_or("chunk size overflows")?;
                            State::Size { size, digits: true }
                        }
                        b';' | b' ' | b'\t' if digits => State::Ext { size },
                        b'\r' if digits => State::Ext { size },
                        b'\n' if digits => Self::after_size(size),
                        _ => return Err(format!("bad byte {b:#04x} in a chunk size")),
                    };
                }
                State::Ext { size } => {
                    if let Some(off) = input[i..].iter().position(|&b| b == b'\n') {
                        i += off + 1;
                        self.state = Self::after_size(size);
                    } else {
                        i = input.len();
                    }
                }
                State::DataEnd => {
                    let b = input[i];
                    i += 1;
                    match b {
                        b'\r' => {}
                        b'\n' => {
                            self.state = State::Size {
                                size: 0,
                                digits: false,
                            }
                        }
                        _ => return Err(format!("bad byte {b:#04x} after chunk data")),
                    }
                }
                State::Trailer { line_start } => {
                    let b = input[i];
                    i += 1;
                    self.state = match b {
                        b'\r' => State::Trailer { line_start },
                        b'\n' if line_start => State::Done,
                        b'\n' => State::Trailer { line_start: true },
                        _ => State::Trailer { line_start: false },
                    };
                }
                State::Done => return Ok(i),
            }
        }
        Ok(i)
    }

    fn after_size(size: u64) -> State {
        if size == 0 {
            State::Trailer { line_start: true }
        } else {
            State::Data(size)
        }
    }
}

/// The request that opens an SSE stream; `query` (already encoded, maybe
/// empty) is added to the URL's own.
pub fn sse_request(url: &Url, query: &str, last_event_id: Option<&str>) -> Vec<u8> {
    let sep = match (query.is_empty(), url.path.contains('?')) {
        (true, _) => "",
        (false, true) => "&",
        (false, false) => "?",
    };
    let mut req = format!(
        "GET {}{sep}{query} HTTP/1.1\r\nHost: {}\r\nAccept: text/event-stream\r\nCache-Control: no-cache\r\n",
        url.path, url.authority
    );
    if let Some(id) = last_event_id {
        req.push_str("Last-Event-ID: ");
        req.push_str(id);
        req.push_str("\r\n");
    }
    req.push_str("\r\n");
    req.into_bytes()
}

/// One keep-alive connection that POSTs bodies to a URL (or to the route of
/// a channel on its host).
#[derive(Debug)]
pub struct Poster {
    url: Url,
    path: String,
    /// The request line after the path, and the headers, up to and
    /// including `Content-Length: `.
    rest: Vec<u8>,
    stream: Option<Conn>,
    buf: Vec<u8>,
    request: Vec<u8>,
}

impl Poster {
    /// A poster for `url` sending `headers` (each `Name: value`) and the
    /// given content type with every request; it connects on first use.
    pub fn new(url: &Url, content_type: &str, headers: &[String]) -> Poster {
        let mut rest = format!(
            " HTTP/1.1\r\nHost: {}\r\nContent-Type: {}\r\n",
            url.authority, content_type
        );
        for h in headers {
            rest.push_str(h.trim());
            rest.push_str("\r\n");
        }
        rest.push_str("Content-Length: ");
        Poster {
            url: url.clone(),
            path: url.path.clone(),
            rest: rest.into_bytes(),
            stream: None,
            buf: Vec::with_capacity(4096),
            request: Vec::with_capacity(1024),
        }
    }

    /// Drops the connection, e.g. after a request was abandoned half-way.
    pub fn reset(&mut self) {
        self.stream = None;
    }

    /// Sends `body` and waits for the whole response; returns its status.
    /// With `channel`, `{topic}` in the URL's path stands for it (a hub that
    /// routes by path).
    ///
    /// A kept-alive connection that the server closed while idle is
    /// reopened and the request sent once more, but only when not a single
    /// byte of response came back.
    pub async fn post(&mut self, channel: Option<&str>, body: &[u8]) -> io::Result<u16> {
        self.request.clear();
        self.request.extend_from_slice(b"POST ");
        match channel {
            Some(channel) => self
                .request
                .extend_from_slice(self.path.replace(TOPIC, channel).as_bytes()),
            None => self.request.extend_from_slice(self.path.as_bytes()),
        }
        self.request.extend_from_slice(&self.rest);
        self.request
            .extend_from_slice(format!("{}\r\n\r\n", body.len()).as_bytes());
        self.request.extend_from_slice(body);
        let reused = self.stream.is_some();
        match self.exchange().await {
            Ok(status) => Ok(status),
            Err((e, answered)) => {
                self.stream = None;
                if reused && !answered {
                    self.exchange().await.map_err(|(e, _)| {
                        self.stream = None;
                        e
                    })
                } else {
                    Err(e)
                }
            }
        }
    }

    /// One request and response; on error, whether any response byte came.
    async fn exchange(&mut self) -> Result<u16, (io::Error, bool)> {
        if self.stream.is_none() {
            let stream = connect(&self.url).await.map_err(|e| (e, false))?;
            self.stream = Some(stream);
        }
        let stream = self.stream.as_mut().expect("connected above");
        stream
            .write_all(&self.request)
            .await
            .map_err(|e| (e, false))?;
        stream.flush().await.map_err(|e| (e, false))?;
        self.buf.clear();
        let head = loop {
            if let Some(n) = head_len(&self.buf) {
                let head = parse_head(&self.buf[..n])
                    .map_err(|e| (io::Error::new(io::ErrorKind::InvalidData, e), true))?;
                self.buf.drain(..n);
                break head;
            }
            if self.buf.len() > 64 * 1024 {
                return Err((
                    io::Error::new(io::ErrorKind::InvalidData, "response head too large"),
                    true,
                ));
            }
            let answered = !self.buf.is_empty();
            if read_more(stream, &mut self.buf)
                .await
                .map_err(|e| (e, answered))?
                == 0
            {
                return Err((
                    io::Error::new(io::ErrorKind::UnexpectedEof, "closed before a response"),
                    answered,
                ));
            }
        };
        // Read (and drop) the body so the connection can carry the next one.
        let mut decoder = BodyDecoder::new(head.framing);
        let mut pending = std::mem::take(&mut self.buf);
        loop {
            decoder
                .feed(&pending, |_| {})
                .map_err(|e| (io::Error::new(io::ErrorKind::InvalidData, e), true))?;
            if decoder.done() {
                break;
            }
            pending.clear();
            if read_more(stream, &mut pending)
                .await
                .map_err(|e| (e, true))?
                == 0
            {
                if head.framing == Framing::Close {
                    break;
                }
                return Err((
                    io::Error::new(io::ErrorKind::UnexpectedEof, "closed inside a response"),
                    true,
                ));
            }
        }
        pending.clear();
        self.buf = pending;
        if !head.keep_alive || !decoder.done() {
            self.stream = None;
        }
        Ok(head.status)
    }
}

/// Appends what one read returns to `buf`; returns how many bytes came.
async fn read_more(stream: &mut Conn, buf: &mut Vec<u8>) -> io::Result<usize> {
    let mut chunk = [0u8; 4096];
    let n = stream.read(&mut chunk).await?;
    buf.extend_from_slice(&chunk[..n]);
    Ok(n)
}

#[cfg(test)]
mod tests;
