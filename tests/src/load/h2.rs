//! Streams over HTTP/2 (`--http2`, with an `https://` URL and `--ca`):
//! hyper's client through reqwest, `--streams-per-connection` streams on
//! each connection (one reqwest client each, so each has its own). Only
//! the streams: the publishers stay on HTTP/1.1.

use std::io;

use bytes::{Buf, Bytes};

use super::conn::Conn;
use super::http::Url;

/// The clients that carry the HTTP/2 streams.
#[derive(Debug)]
pub struct H2Pool {
    clients: Vec<reqwest::Client>,
    per: usize,
}

impl H2Pool {
    /// Enough clients for `streams`, `per` on each connection, trusting
    /// `pem`.
    pub fn new(pem: &[u8], streams: usize, per: usize) -> Result<H2Pool, String> {
        let cert = reqwest::Certificate::from_pem(pem).map_err(|e| format!("--ca: {e}"))?;
        let clients = (0..streams.div_ceil(per))
            .map(|_| {
                reqwest::Client::builder()
                    .tls_certs_only([cert.clone()])
                    .build()
                    .map_err(|e| e.to_string())
            })
            .collect::<Result<_, _>>()?;
        Ok(H2Pool { clients, per })
    }

    /// Opens the stream of client `index` on `url` with `query` added.
    pub async fn open(
        &self,
        index: usize,
        url: &Url,
        query: &str,
        last_id: Option<&str>,
    ) -> Result<Source, String> {
        let sep = if url.path.contains('?') { '&' } else { '?' };
        let target = if query.is_empty() {
            format!("https://{}{}", url.authority, url.path)
        } else {
            format!("https://{}{}{sep}{query}", url.authority, url.path)
        };
        let mut req = self.clients[index / self.per % self.clients.len()]
            .get(target)
            .header("accept", "text/event-stream");
        if let Some(id) = last_id {
            req = req.header("last-event-id", id);
        }
        let resp = req.send().await.map_err(|e| format!("connect: {e}"))?;
        if resp.status().as_u16() != 200 {
            return Err(format!("connect: status {}", resp.status().as_u16()));
        }
        if resp.version() != reqwest::Version::HTTP_2 {
            return Err(format!("connect: {:?}, not HTTP/2", resp.version()));
        }
        Ok(Source::H2 {
            resp,
            pending: Bytes::new(),
        })
    }
}

/// Where a stream's body bytes come from.
#[derive(Debug)]
pub enum Source {
    /// A connection of its own, HTTP/1.1 framing to decode.
    Own(Conn),
    /// An HTTP/2 stream: the body as it is.
    H2 {
        /// The response whose body is read.
        resp: reqwest::Response,
        /// What is left of the last DATA frame.
        pending: Bytes,
    },
}

impl Source {
    /// Reads what is available into `buf` (0: the body ended).
    pub async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Source::Own(conn) => tokio::io::AsyncReadExt::read(conn, buf).await,
            Source::H2 { resp, pending } => {
                while pending.is_empty() {
                    match resp.chunk().await.map_err(io::Error::other)? {
                        Some(chunk) => *pending = chunk,
                        None => return Ok(0),
                    }
                }
                let n = pending.len().min(buf.len());
                buf[..n].copy_from_slice(&pending[..n]);
                pending.advance(n);
                Ok(n)
            }
        }
    }
}
