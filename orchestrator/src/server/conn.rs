//! Accepted connections, plain or under TLS: each gets `TCP_NODELAY` (keystroke echoes are tiny
//! frames that must never wait for Nagle), TCP keepalive (a peer that vanished without a FIN is
//! noticed by the kernel too, not only by the WebSocket pings), and a lingering close.
//!
//! **Lingering close.** When the server ends a connection while the client is still sending (a
//! WebSocket message over the size cap, refused with close code 1009 while the rest of it is in
//! flight), closing a socket with unread bytes makes the kernel answer with a reset instead of a
//! FIN, and a reset can overtake the close frame the server just sent: the client sees "connection
//! reset" instead of 1009. So a dropped connection first shuts its write side (the FIN goes out
//! after everything already written) and then reads and discards what the client still sends, for
//! at most [`LINGER_TIME`] and [`LINGER_BYTES`], before it is closed.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

/// Longest a closed connection is drained before it is dropped.
pub const LINGER_TIME: Duration = Duration::from_secs(2);
/// Most bytes drained from a closed connection.
pub const LINGER_BYTES: usize = 4 * 1024 * 1024;

/// One accepted TCP connection. Dropping it closes it gracefully (see the module docs).
#[derive(Debug)]
pub struct Conn {
    io: Option<TcpStream>,
}

impl Conn {
    /// Sets the connection's socket options; `keepalive` is the idle time before the first probe.
    pub fn new(io: TcpStream, keepalive: Duration) -> Conn {
        if let Err(err) = io.set_nodelay(true) {
            tracing::debug!(%err, "could not set TCP_NODELAY");
        }
        let params = socket2::TcpKeepalive::new().with_time(keepalive);
        #[cfg(any(target_os = "linux", target_os = "macos", target_os = "windows"))]
        let params = params.with_interval(keepalive);
        #[cfg(any(target_os = "linux", target_os = "macos"))]
        let params = params.with_retries(3);
        if let Err(err) = socket2::SockRef::from(&io).set_tcp_keepalive(&params) {
            tracing::debug!(%err, "could not set TCP keepalive");
        }
        Conn { io: Some(io) }
    }

    fn io(&mut self) -> std::io::Result<&mut TcpStream> {
        self.io
            .as_mut()
            .ok_or_else(|| std::io::Error::from(std::io::ErrorKind::NotConnected))
    }
}

impl AsyncRead for Conn {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        match self.get_mut().io() {
            Ok(io) => Pin::new(io).poll_read(cx, buf),
            Err(e) => Poll::Ready(Err(e)),
        }
    }
}

impl AsyncWrite for Conn {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        match self.get_mut().io() {
            Ok(io) => Pin::new(io).poll_write(cx, buf),
            Err(e) => Poll::Ready(Err(e)),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut().io() {
            Ok(io) => Pin::new(io).poll_flush(cx),
            Err(e) => Poll::Ready(Err(e)),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut().io() {
            Ok(io) => Pin::new(io).poll_shutdown(cx),
            Err(e) => Poll::Ready(Err(e)),
        }
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        let Some(io) = self.io.take() else { return };
        // Outside a runtime (the server is going away with it) the socket just closes.
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(linger(io));
        }
    }
}

async fn linger(mut io: TcpStream) {
    let _ = io.shutdown().await;
    let drain = async {
        let mut buf = vec![0u8; 64 * 1024];
        let mut total = 0;
        while total < LINGER_BYTES {
            match io.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => total += n,
            }
        }
    };
    let _ = tokio::time::timeout(LINGER_TIME, drain).await;
}

/// The plain-HTTP listener: every accepted connection becomes a [`Conn`].
#[derive(Debug)]
pub struct Listener {
    pub inner: TcpListener,
    pub keepalive: Duration,
}

impl axum::serve::Listener for Listener {
    type Io = Conn;
    type Addr = std::net::SocketAddr;

    async fn accept(&mut self) -> (Conn, std::net::SocketAddr) {
        loop {
            match self.inner.accept().await {
                Ok((io, addr)) => return (Conn::new(io, self.keepalive), addr),
                // Out of file descriptors and the like: wait a moment rather than spin.
                Err(err) => {
                    tracing::warn!(%err, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<std::net::SocketAddr> {
        self.inner.local_addr()
    }
}

#[cfg(feature = "tls")]
pub use tls::{Acceptor, Capped};

#[cfg(feature = "tls")]
mod tls {
    use std::future::Future;
    use std::pin::Pin;
    use std::sync::Arc;
    use std::time::Duration;

    use axum_server::accept::Accept;
    use tokio::net::TcpStream;
    use tokio::sync::Semaphore;

    use super::Conn;

    /// Turns a TLS server's accepted streams into [`Conn`]s.
    #[derive(Debug, Clone)]
    pub struct Acceptor {
        pub keepalive: Duration,
    }

    impl<S> Accept<TcpStream, S> for Acceptor {
        type Stream = Conn;
        type Service = S;
        type Future = std::future::Ready<std::io::Result<(Conn, S)>>;

        fn accept(&self, stream: TcpStream, service: S) -> Self::Future {
            std::future::ready(Ok((Conn::new(stream, self.keepalive), service)))
        }
    }

    /// At most `permits` connections in `inner`'s accept step at once (the TLS handshake, which
    /// anyone on the network can start without a token); more are closed at once, so a flood
    /// of half-done handshakes cannot exhaust memory or file descriptors.
    #[derive(Debug, Clone)]
    pub struct Capped<A> {
        pub inner: A,
        pub permits: Arc<Semaphore>,
    }

    impl<A, S> Accept<TcpStream, S> for Capped<A>
    where
        A: Accept<TcpStream, S> + Clone + Send + Sync + 'static,
        A::Future: Send + 'static,
        S: Send + 'static,
    {
        type Stream = A::Stream;
        type Service = A::Service;
        type Future =
            Pin<Box<dyn Future<Output = std::io::Result<(A::Stream, A::Service)>> + Send>>;

        fn accept(&self, stream: TcpStream, service: S) -> Self::Future {
            let permit = Arc::clone(&self.permits).try_acquire_owned();
            let inner = self.inner.accept(stream, service);
            Box::pin(async move {
                let Ok(_permit) = permit else {
                    return Err(std::io::Error::other(
                        "too many connections still in their TLS handshake",
                    ));
                };
                inner.await
            })
        }
    }
}
