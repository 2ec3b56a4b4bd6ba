//! One hop to a remote server: dial it the way it is reached (pinned TLS, or plain TCP into an SSH
//! tunnel's local end), then speak HTTP/1.1 or WebSocket over that connection. Every connection
//! to a remote goes through [`Route::dial`], so the certificate pin is checked in one place.

use std::time::Duration;

use axum::http::{HeaderValue, Request, Response, StatusCode, header};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use secrecy::{ExposeSecret, SecretString};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite;

use super::tls::{self, ConnectError, Trust};
use crate::server::access::{PROTOCOL, TOKEN_PROTOCOL_PREFIX};
use crate::wire::{Health, PROTOCOL_VERSION};

/// A byte stream to a remote, TLS or not.
pub trait Io: AsyncRead + AsyncWrite + Unpin + Send + 'static {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + 'static> Io for T {}

pub type BoxIo = Box<dyn Io>;

/// A WebSocket to a remote.
pub type RemoteSocket = WebSocketStream<BoxIo>;

/// Longest a connection (TCP and TLS handshake) may take.
pub const DIAL_TIMEOUT: Duration = Duration::from_secs(10);

/// How to reach a remote's HTTP server right now.
#[derive(Debug, Clone)]
pub enum Route {
    /// `https://host:port`, its certificate pinned or checked against the system's roots.
    Tls {
        host: String,
        port: u16,
        trust: Trust,
    },
    /// The local end of an SSH tunnel to the remote's loopback `remote_port`.
    Tunnel { local_port: u16, remote_port: u16 },
}

/// Why a remote could not be talked to.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error(transparent)]
    Connect(#[from] ConnectError),
    #[error("the SSH tunnel's local end 127.0.0.1:{port} does not answer: {reason}")]
    Tunnel { port: u16, reason: String },
    #[error(
        "the remote refused the token it was added with (401): remove it and add it again with its current token"
    )]
    Unauthorized,
    #[error("the remote refused the request ({status}): {message}")]
    Refused { status: StatusCode, message: String },
    #[error(
        "the remote speaks protocol {theirs} (Grove {version}); this Grove speaks {PROTOCOL_VERSION}: run the same Grove version on both"
    )]
    Incompatible { theirs: u32, version: String },
    #[error("the remote answered with something that is not Grove: {0}")]
    NotGrove(String),
    #[error("the connection to the remote failed: {0}")]
    Protocol(String),
}

impl LinkError {
    /// The error code the API answers this failure with.
    pub fn code(&self) -> crate::wire::ErrorCode {
        use crate::wire::ErrorCode;
        match self {
            LinkError::Unauthorized => ErrorCode::RemoteUnauthorized,
            LinkError::Connect(ConnectError::FingerprintMismatch { .. }) => {
                ErrorCode::FingerprintMismatch
            }
            LinkError::Incompatible { .. } => ErrorCode::IncompatibleRemote,
            _ => ErrorCode::RemoteOffline,
        }
    }
}

impl Route {
    /// The Host header the remote sees: its own name, which its Host check allows (loopback through
    /// a tunnel; the name it was added with over TLS, which needs `--allow-host` there unless it
    /// is an address it listens on).
    pub fn authority(&self) -> String {
        match self {
            Route::Tls { host, port, .. } if host.contains(':') => format!("[{host}]:{port}"),
            Route::Tls { host, port, .. } => format!("{host}:{port}"),
            Route::Tunnel { remote_port, .. } => format!("127.0.0.1:{remote_port}"),
        }
    }

    /// A fresh connection to the remote.
    pub async fn dial(&self) -> Result<BoxIo, LinkError> {
        match self {
            Route::Tls { host, port, trust } => {
                let stream = tls::connect(host, *port, trust, DIAL_TIMEOUT).await?;
                Ok(Box::new(stream))
            }
            Route::Tunnel { local_port, .. } => {
                let addr = std::net::SocketAddr::from(([127, 0, 0, 1], *local_port));
                let stream =
                    match tokio::time::timeout(DIAL_TIMEOUT, tokio::net::TcpStream::connect(addr))
                        .await
                    {
                        Ok(Ok(s)) => s,
                        Ok(Err(e)) => {
                            return Err(LinkError::Tunnel {
                                port: *local_port,
                                reason: e.to_string(),
                            });
                        }
                        Err(_) => {
                            return Err(LinkError::Tunnel {
                                port: *local_port,
                                reason: "timed out".into(),
                            });
                        }
                    };
                let _ = stream.set_nodelay(true);
                Ok(Box::new(stream))
            }
        }
    }

    /// Sends one HTTP request on a new connection. `req`'s URI is the path and query on the
    /// remote; the Host header is set here.
    pub async fn send<B>(&self, mut req: Request<B>) -> Result<Response<Incoming>, LinkError>
    where
        B: hyper::body::Body + Send + 'static,
        B::Data: Send,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let io = self.dial().await?;
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(io))
            .await
            .map_err(|e| LinkError::Protocol(e.to_string()))?;
        tokio::spawn(async move {
            if let Err(err) = conn.await {
                tracing::debug!(%err, "remote HTTP connection ended");
            }
        });
        let host = HeaderValue::from_str(&self.authority())
            .map_err(|e| LinkError::Protocol(e.to_string()))?;
        req.headers_mut().insert(header::HOST, host);
        sender
            .send_request(req)
            .await
            .map_err(|e| LinkError::Protocol(e.to_string()))
    }

    /// Checks that the remote is a Grove speaking this protocol (and takes the token); its
    /// version.
    pub async fn health(&self, token: &SecretString) -> Result<String, LinkError> {
        let req = Request::get("/api/v1/health")
            .header(header::AUTHORIZATION, bearer(token)?)
            .body(axum::body::Body::empty())
            .map_err(|e| LinkError::Protocol(e.to_string()))?;
        let res = self.send(req).await?;
        let status = res.status();
        let body = axum::body::to_bytes(axum::body::Body::new(res.into_body()), 64 * 1024)
            .await
            .map_err(|e| LinkError::Protocol(e.to_string()))?;
        if !status.is_success() {
            return Err(refused(status, &body));
        }
        let health: Health = serde_json::from_slice(&body)
            .map_err(|e| LinkError::NotGrove(format!("/api/v1/health: {e}")))?;
        if health.protocol != PROTOCOL_VERSION {
            return Err(LinkError::Incompatible {
                theirs: health.protocol,
                version: health.version,
            });
        }
        Ok(health.version)
    }

    /// A JSON GET with the remote's token.
    pub async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        token: &SecretString,
    ) -> Result<T, LinkError> {
        let req = Request::get(format!("/api/v1{path}"))
            .header(header::AUTHORIZATION, bearer(token)?)
            .body(axum::body::Body::empty())
            .map_err(|e| LinkError::Protocol(e.to_string()))?;
        let res = self.send(req).await?;
        let status = res.status();
        let body = axum::body::to_bytes(axum::body::Body::new(res.into_body()), 64 * 1024 * 1024)
            .await
            .map_err(|e| LinkError::Protocol(e.to_string()))?;
        if status == StatusCode::UNAUTHORIZED {
            return Err(LinkError::Unauthorized);
        }
        if !status.is_success() {
            return Err(refused(status, &body));
        }
        serde_json::from_slice(&body).map_err(|e| LinkError::NotGrove(format!("{path}: {e}")))
    }

    /// Opens a WebSocket to the remote's `/api/v1{path_and_query}` with its token.
    pub async fn websocket(
        &self,
        path_and_query: &str,
        token: &SecretString,
    ) -> Result<RemoteSocket, LinkError> {
        use tungstenite::client::IntoClientRequest;
        let io = self.dial().await?;
        let url = format!("ws://{}/api/v1{path_and_query}", self.authority());
        let mut req = url
            .into_client_request()
            .map_err(|e| LinkError::Protocol(e.to_string()))?;
        let protocols = HeaderValue::from_str(&format!(
            "{PROTOCOL}, {TOKEN_PROTOCOL_PREFIX}{}",
            token.expose_secret()
        ))
        .map_err(|_| {
            LinkError::Protocol("the remote's token is not a valid header value".into())
        })?;
        req.headers_mut()
            .insert(header::SEC_WEBSOCKET_PROTOCOL, protocols);
        let config = tungstenite::protocol::WebSocketConfig::default()
            .max_message_size(Some(64 * 1024 * 1024))
            .max_frame_size(Some(64 * 1024 * 1024));
        // Bounded like the dial: a remote that took the connection and then stopped answering
        // (a stopped or hung process) must not hold the UI's socket open forever.
        let handshake = tokio_tungstenite::client_async_with_config(req, io, Some(config));
        let Ok(answer) = tokio::time::timeout(DIAL_TIMEOUT, handshake).await else {
            return Err(LinkError::Connect(ConnectError::Timeout {
                addr: self.authority(),
            }));
        };
        match answer {
            Ok((ws, _)) => Ok(ws),
            Err(tungstenite::Error::Http(res)) => {
                let status = res.status();
                if status == StatusCode::UNAUTHORIZED {
                    return Err(LinkError::Unauthorized);
                }
                let body = res.body().clone().unwrap_or_default();
                Err(refused(status, &body))
            }
            Err(e) => Err(LinkError::Protocol(e.to_string())),
        }
    }
}

/// The remote's token as a bearer header value (marked sensitive, so it is never logged).
pub fn bearer(token: &SecretString) -> Result<HeaderValue, LinkError> {
    let mut v =
        HeaderValue::from_str(&format!("Bearer {}", token.expose_secret())).map_err(|_| {
            LinkError::Protocol("the remote's token is not a valid header value".into())
        })?;
    v.set_sensitive(true);
    Ok(v)
}

/// The remote's refusal, with its own message when it sent one.
fn refused(status: StatusCode, body: &[u8]) -> LinkError {
    if status == StatusCode::UNAUTHORIZED {
        return LinkError::Unauthorized;
    }
    let message = serde_json::from_slice::<crate::wire::ApiError>(body)
        .map(|e| e.message)
        .unwrap_or_else(|_| String::from_utf8_lossy(body).chars().take(200).collect());
    LinkError::Refused { status, message }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A one-request HTTP server on loopback answering `status` and `body`; its port.
    async fn answer_once(status: &'static str, body: &'static str) -> u16 {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("bind: {e}"));
        let port = listener
            .local_addr()
            .unwrap_or_else(|e| panic!("addr: {e}"))
            .port();
        tokio::spawn(async move {
            if let Ok((mut s, _)) = listener.accept().await {
                let mut buf = [0u8; 4096];
                let _ = s.read(&mut buf).await;
                let reply = format!(
                    "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = s.write_all(reply.as_bytes()).await;
            }
        });
        port
    }

    fn route(port: u16) -> Route {
        Route::Tunnel {
            local_port: port,
            remote_port: 7070,
        }
    }

    #[tokio::test]
    async fn health_names_an_incompatible_protocol() {
        let token = SecretString::from("t".repeat(64));
        let port = answer_once("200 OK", r#"{"ok":true,"version":"9.0.0","protocol":2}"#).await;
        let err = route(port)
            .health(&token)
            .await
            .err()
            .map(|e| e.to_string());
        let err = err.unwrap_or_default();
        assert!(err.contains("protocol 2") && err.contains("9.0.0"), "{err}");
        // A Grove from before the protocol field counts as incompatible (protocol 0).
        let port = answer_once("200 OK", r#"{"ok":true,"version":"0.0.9"}"#).await;
        let err = route(port)
            .health(&token)
            .await
            .err()
            .map(|e| e.to_string());
        assert!(err.unwrap_or_default().contains("protocol 0"));
        let port = answer_once("200 OK", "<html>not grove</html>").await;
        let err = route(port).health(&token).await.err();
        assert!(matches!(err, Some(LinkError::NotGrove(_))), "{err:?}");
        let port = answer_once("401 Unauthorized", "{}").await;
        let err = route(port).health(&token).await.err();
        assert!(matches!(err, Some(LinkError::Unauthorized)), "{err:?}");
        let port = answer_once(
            "403 Forbidden",
            r#"{"code":"forbidden","message":"this Host is not allowed"}"#,
        )
        .await;
        let err = route(port)
            .health(&token)
            .await
            .err()
            .map(|e| e.to_string());
        assert!(err.unwrap_or_default().contains("this Host is not allowed"));
        assert_eq!(route(port).authority(), "127.0.0.1:7070");
    }
}
