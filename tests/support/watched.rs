//! A console link half that shows each chunk crossing it to a closure: tests count the traffic
//! or act on what the session types (cut the link when a command goes out).

use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// `inner`, with `watch` called on every chunk it read or wrote.
pub struct Watched<T, F> {
    pub inner: T,
    pub watch: F,
}

impl<T: AsyncRead + Unpin, F: FnMut(&[u8]) + Unpin> AsyncRead for Watched<T, F> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let poll = Pin::new(&mut self.inner).poll_read(cx, buf);
        (self.watch)(&buf.filled()[before..]);
        poll
    }
}

impl<T: AsyncWrite + Unpin, F: FnMut(&[u8]) + Unpin> AsyncWrite for Watched<T, F> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let poll = Pin::new(&mut self.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = &poll {
            (self.watch)(&buf[..*n]);
        }
        poll
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
