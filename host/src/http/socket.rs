//! The byte streams a connection is served over: [`Socket`], a TCP stream
//! whose registration can move from the runtime that accepted it to the
//! streams' runtime, [`Carrier`], what both transports (plain and TLS)
//! offer, and [`Rewind`], which reads a request head again that was read
//! before dispatch.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Buf, Bytes};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::server::TlsStream;

/// An accepted TCP stream, registered with one runtime's reactor at a
/// time: [`Carrier::detach`] takes it off the current one and
/// [`Carrier::attach`], called on another runtime, registers it there, so
/// a stream's wake-ups happen where its task runs.
#[derive(Debug)]
pub struct Socket(Option<TcpStream>);

impl Socket {
    /// A stream registered with the current runtime.
    pub fn new(tcp: TcpStream) -> Socket {
        Socket(Some(tcp))
    }

    fn tcp(&mut self) -> Pin<&mut TcpStream> {
        Pin::new(
            self.0
                .as_mut()
                .expect("a socket is attached while it is used"),
        )
    }
}

/// What a connection is served over: a plain [`Socket`] or TLS over one.
pub trait Carrier: AsyncRead + AsyncWrite + Unpin + Send + 'static {
    /// The TCP stream underneath.
    fn socket(&mut self) -> &mut Socket;

    /// Takes the TCP stream off the current runtime's reactor.
    fn detach(mut self) -> io::Result<Detached<Self>>
    where
        Self: Sized,
    {
        let tcp = self.socket().0.take().expect("attached").into_std()?;
        Ok(Detached { carrier: self, tcp })
    }
}

/// A carrier between two runtimes; [`Detached::attach`] on the new one.
#[derive(Debug)]
pub struct Detached<C> {
    carrier: C,
    tcp: std::net::TcpStream,
}

impl<C: Carrier> Detached<C> {
    /// Registers the stream with the current runtime's reactor.
    pub fn attach(self) -> io::Result<C> {
        let Detached { mut carrier, tcp } = self;
        carrier.socket().0 = Some(TcpStream::from_std(tcp)?);
        Ok(carrier)
    }
}

impl Carrier for Socket {
    fn socket(&mut self) -> &mut Socket {
        self
    }
}

impl Carrier for TlsStream<Socket> {
    fn socket(&mut self) -> &mut Socket {
        self.get_mut().0
    }
}

impl AsyncRead for Socket {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        self.tcp().poll_read(cx, buf)
    }
}

impl AsyncWrite for Socket {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.tcp().poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.tcp().poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.tcp().poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.tcp().poll_shutdown(cx)
    }
}

/// A carrier whose first bytes were already read: they are read again
/// first.
#[derive(Debug)]
pub struct Rewind<C> {
    prefix: Bytes,
    inner: C,
}

impl<C> Rewind<C> {
    /// `inner`, with `prefix` to be read before its next bytes.
    pub fn new(prefix: Bytes, inner: C) -> Rewind<C> {
        Rewind { prefix, inner }
    }
}

impl<C: AsyncRead + Unpin> AsyncRead for Rewind<C> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if !self.prefix.is_empty() {
            let n = self.prefix.len().min(buf.remaining());
            buf.put_slice(&self.prefix[..n]);
            self.prefix.advance(n);
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<C: AsyncWrite + Unpin> AsyncWrite for Rewind<C> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
