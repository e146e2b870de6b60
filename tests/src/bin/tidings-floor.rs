//! `tidings-floor`: the floor of SSE fan-out on this machine — a sender
//! that does only what no hub can avoid, so a hub's CPU per delivery can
//! be reported as a ratio to it.
//!
//! A connection that starts with `GET ` is a stream: its request head is
//! read up to the blank line (not parsed), one fixed response head goes
//! out (the same as Tidings' lean path), and the socket joins the list.
//! `GET /health` answers `ok` and closes, so scripts can wait for it. A
//! connection that starts with `POST ` publishes, kept alive: each body
//! (`Content-Length` framed) becomes the frame
//! `id: <n>\nevent: load\ndata: <body>\n\n`, written with one `send` to
//! every stream, then the request is answered `200`.
//!
//! What it leaves out is what a hub is for: no history, no replay, no
//! routing, no ids beyond a counter, no authorization, no HTTP beyond
//! finding the end of a head and the body's length. Streams are
//! non-blocking; a stream whose socket buffer is full keeps its unsent
//! bytes for the next event (and is dropped past 1 MiB); a stream whose
//! peer left is dropped when a send fails.
//!
//! Threads: one accepts, one per connection reads its head, and each
//! publishing connection fans out on its own thread under the stream
//! list's lock, so every stream sees the events in one order.

use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

const STREAM_HEAD: &[u8] = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n\
cache-control: no-cache\r\nx-accel-buffering: no\r\nconnection: close\r\n\r\n";

/// Unsent bytes beyond which a stream is dropped.
const MAX_PENDING: usize = 1 << 20;

/// A stream and what it could not take yet.
struct Stream {
    socket: TcpStream,
    pending: Vec<u8>,
}

#[derive(Default)]
struct Streams {
    list: Vec<Stream>,
    next_id: u64,
}

impl Streams {
    /// Writes `frame` to every stream (after what each still owes), one
    /// `send` each; drops the streams that failed or fell too far behind.
    fn fan_out(&mut self, frame: &[u8]) {
        self.list.retain_mut(|s| {
            if !s.pending.is_empty() {
                match s.socket.write(&s.pending) {
                    Ok(n) => drop(s.pending.drain(..n)),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    Err(_) => return false,
                }
                if !s.pending.is_empty() {
                    s.pending.extend_from_slice(frame);
                    return s.pending.len() <= MAX_PENDING;
                }
            }
            match s.socket.write(frame) {
                Ok(n) if n == frame.len() => true,
                Ok(n) => {
                    s.pending.extend_from_slice(&frame[n..]);
                    true
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    s.pending.extend_from_slice(frame);
                    true
                }
                Err(_) => false,
            }
        });
    }
}

fn main() -> io::Result<()> {
    let mut args = std::env::args().skip(1);
    let listen = match (args.next().as_deref(), args.next()) {
        (Some("--listen"), Some(addr)) => addr,
        _ => {
            eprintln!("usage: tidings-floor --listen ADDR");
            std::process::exit(2);
        }
    };
    let listener = TcpListener::bind(&listen)?;
    eprintln!("listening on {}", listener.local_addr()?);
    let streams = Arc::new(Mutex::new(Streams::default()));
    for socket in listener.incoming() {
        let Ok(socket) = socket else { continue };
        let streams = Arc::clone(&streams);
        std::thread::spawn(move || {
            let _ = serve(socket, &streams);
        });
    }
    Ok(())
}

/// Reads one request head; returns it and the bytes read after it.
fn read_head(socket: &mut TcpStream, buf: &mut Vec<u8>) -> io::Result<Option<Vec<u8>>> {
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = buf[..end + 4].to_vec();
            buf.drain(..end + 4);
            return Ok(Some(head));
        }
        if buf.len() > 64 << 10 {
            return Err(io::Error::other("request head too large"));
        }
        let n = socket.read(&mut chunk)?;
        if n == 0 {
            return Ok(None);
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// The value of `Content-Length` in `head`, 0 if none.
fn content_length(head: &[u8]) -> usize {
    let head = String::from_utf8_lossy(head).to_ascii_lowercase();
    head.lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

fn serve(mut socket: TcpStream, streams: &Mutex<Streams>) -> io::Result<()> {
    socket.set_nodelay(true)?;
    let mut buf = Vec::new();
    let Some(head) = read_head(&mut socket, &mut buf)? else {
        return Ok(());
    };
    if head.starts_with(b"GET /health") {
        return socket
            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok");
    }
    if head.starts_with(b"GET ") {
        socket.write_all(STREAM_HEAD)?;
        socket.set_nonblocking(true)?;
        let pending = Vec::new();
        streams
            .lock()
            .expect("streams lock")
            .list
            .push(Stream { socket, pending });
        return Ok(());
    }
    let mut head = Some(head);
    loop {
        let h = match head.take() {
            Some(h) => h,
            None => match read_head(&mut socket, &mut buf)? {
                Some(h) => h,
                None => return Ok(()),
            },
        };
        if !h.starts_with(b"POST ") {
            return socket.write_all(
                b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
            );
        }
        let len = content_length(&h);
        let mut chunk = [0u8; 4096];
        while buf.len() < len {
            let n = socket.read(&mut chunk)?;
            if n == 0 {
                return Ok(());
            }
            buf.extend_from_slice(&chunk[..n]);
        }
        let body: Vec<u8> = buf.drain(..len).collect();
        {
            let mut streams = streams.lock().expect("streams lock");
            streams.next_id += 1;
            let mut frame = format!("id: {}\nevent: load\ndata: ", streams.next_id).into_bytes();
            frame.extend_from_slice(&body);
            frame.extend_from_slice(b"\n\n");
            streams.fan_out(&frame);
        }
        socket.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")?;
    }
}
