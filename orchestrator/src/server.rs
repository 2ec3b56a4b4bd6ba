//! The HTTP + WebSocket server over [`Grove`]: REST JSON under `/api/v1`, an events socket, one
//! socket per attached terminal, and the web UI from the same origin. Every request passes
//! [`access`] first.

pub mod access;
mod api;
mod review;
mod terminal_ws;
mod ui;

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};

use crate::grove::Grove;
use crate::wire::{ApiError, ErrorCode};
use access::{Access, Token};

/// Largest inbound message or request body: 1 MiB.
pub const MAX_INBOUND: usize = 1024 * 1024;

/// How to run the server.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub host: IpAddr,
    /// 0 picks a free port.
    pub port: u16,
    pub tls: Option<TlsFiles>,
    pub token: Option<Token>,
    pub allow_origins: Vec<String>,
    pub allow_hosts: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            host: IpAddr::from([127, 0, 0, 1]),
            port: 0,
            tls: None,
            token: None,
            allow_origins: Vec::new(),
            allow_hosts: Vec::new(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(
        "refusing to listen on {host} without TLS: anyone on the network could run commands. Pass --tls-cert and --tls-key, or use an SSH tunnel to 127.0.0.1"
    )]
    PlainNonLoopback { host: IpAddr },
    #[error(transparent)]
    Token(#[from] access::TokenError),
    #[error("could not listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("TLS: {0}")]
    Tls(String),
    #[error("could not write the server file {path}: {source}")]
    ServerFile {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("server error: {0}")]
    Io(#[from] std::io::Error),
}

/// What a running server is reachable at.
#[derive(Debug, Clone)]
pub struct ServerInfo {
    pub url: String,
    pub addr: SocketAddr,
    pub token: Token,
}

impl ServerInfo {
    /// The URL a browser opens: the token rides in the fragment, which is never sent.
    pub fn browser_url(&self) -> String {
        format!("{}/#token={}", self.url, self.token.expose())
    }
}

#[derive(Debug, Clone)]
pub(crate) struct AppState {
    pub grove: Grove,
    pub access: Arc<Access>,
}

/// A bound server, not yet accepting.
pub struct Server {
    info: ServerInfo,
    router: Router,
    listener: std::net::TcpListener,
    tls: Option<TlsFiles>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("url", &self.info.url)
            .finish_non_exhaustive()
    }
}

/// Why TLS options fail in a build without the `tls` feature.
#[cfg(not(feature = "tls"))]
const NO_TLS: &str = "this build of Grove has no TLS support (built without the `tls` feature); \
                      run `grove serve` from a default build, or use an SSH tunnel to 127.0.0.1";

impl Server {
    /// Checks the options, binds the socket and builds the router.
    pub fn bind(grove: Grove, opts: ServeOptions) -> Result<Server, ServeError> {
        if !opts.host.is_loopback() && opts.tls.is_none() {
            return Err(ServeError::PlainNonLoopback { host: opts.host });
        }
        #[cfg(not(feature = "tls"))]
        if opts.tls.is_some() {
            return Err(ServeError::Tls(NO_TLS.into()));
        }
        let token = match opts.token.clone() {
            Some(t) => t,
            None => Token::generate()?,
        };
        let addr = SocketAddr::new(opts.host, opts.port);
        let listener = std::net::TcpListener::bind(addr)
            .map_err(|source| ServeError::Bind { addr, source })?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let scheme = if opts.tls.is_some() { "https" } else { "http" };
        let port = addr.port();
        let url_host = match addr.ip() {
            IpAddr::V6(ip) => format!("[{ip}]"),
            IpAddr::V4(ip) => ip.to_string(),
        };
        let url = format!("{scheme}://{url_host}:{port}");
        let mut own = vec![
            format!("{scheme}://127.0.0.1:{port}"),
            format!("{scheme}://localhost:{port}"),
            format!("{scheme}://[::1]:{port}"),
        ];
        own.extend(
            opts.allow_hosts
                .iter()
                .map(|h| format!("{scheme}://{h}:{port}")),
        );
        let mut hosts = opts.allow_hosts.clone();
        if !opts.host.is_loopback() && !opts.host.is_unspecified() {
            hosts.push(url_host.clone());
            own.push(url.clone());
        }
        let access = Arc::new(Access::new(token.clone(), own, &opts.allow_origins, &hosts));
        let state = AppState { grove, access };
        let router = router(state);
        Ok(Server {
            info: ServerInfo { url, addr, token },
            router,
            listener,
            tls: opts.tls,
        })
    }

    pub fn info(&self) -> &ServerInfo {
        &self.info
    }

    /// Serves until `shutdown` resolves.
    pub async fn run(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> Result<(), ServeError> {
        match self.tls {
            None => {
                use axum::serve::ListenerExt;
                // Keystrokes and their echoes are tiny frames: never hold them for Nagle.
                let listener = tokio::net::TcpListener::from_std(self.listener)?.tap_io(|tcp| {
                    if let Err(err) = tcp.set_nodelay(true) {
                        tracing::debug!(%err, "could not set TCP_NODELAY");
                    }
                });
                axum::serve(listener, self.router.into_make_service())
                    .with_graceful_shutdown(shutdown)
                    .await?;
            }
            #[cfg(not(feature = "tls"))]
            Some(_) => return Err(ServeError::Tls(NO_TLS.into())),
            #[cfg(feature = "tls")]
            Some(tls) => {
                let _ = rustls::crypto::ring::default_provider().install_default();
                let config =
                    axum_server::tls_rustls::RustlsConfig::from_pem_file(&tls.cert, &tls.key)
                        .await
                        .map_err(|e| {
                            ServeError::Tls(format!(
                                "{} / {}: {e}",
                                tls.cert.display(),
                                tls.key.display()
                            ))
                        })?;
                let handle = axum_server::Handle::new();
                let h = handle.clone();
                tokio::spawn(async move {
                    shutdown.await;
                    h.graceful_shutdown(Some(std::time::Duration::from_secs(2)));
                });
                axum_server::from_tcp_rustls(self.listener, config)
                    .map_err(ServeError::Io)?
                    // As on plain HTTP: small keystroke frames are never held for Nagle.
                    .map(|tls| tls.acceptor(axum_server::accept::NoDelayAcceptor::new()))
                    .handle(handle)
                    .serve(self.router.into_make_service())
                    .await?;
            }
        }
        Ok(())
    }
}

fn router(state: AppState) -> Router {
    let api = api::routes()
        .layer(middleware::from_fn_with_state(state.clone(), require_token))
        .layer(DefaultBodyLimit::max(MAX_INBOUND));
    Router::new()
        .nest("/api/v1", api)
        .merge(ui::routes())
        // Inside `require_site`: a preflight is answered only for an allowed Host and Origin.
        .layer(middleware::from_fn(cors))
        .layer(middleware::from_fn_with_state(state.clone(), require_site))
        .with_state(state)
}

/// CORS for the allowed cross origins (the desktop webview at `tauri://localhost` calls
/// `http://127.0.0.1:PORT`). `require_site` has already refused any Origin not on the list, so
/// the one echoed here is an allowed one, never `*`. A preflight carries no token (browsers do not
/// send one) and is answered here, before the token check; the real request still needs it.
async fn cors(req: Request, next: Next) -> Response {
    let origin = req.headers().get(axum::http::header::ORIGIN).cloned();
    let Some(origin) = origin else {
        return next.run(req).await;
    };
    let mut res = if access::is_preflight(req.method(), req.headers()) {
        StatusCode::NO_CONTENT.into_response()
    } else {
        next.run(req).await
    };
    access::add_cors_headers(res.headers_mut(), origin);
    res
}

async fn require_site(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let authority = req.uri().authority().map(|a| a.as_str());
    match state.access.check_site(req.headers(), authority) {
        Ok(()) => next.run(req).await,
        Err(r) => refusal(r),
    }
}

async fn require_token(State(state): State<AppState>, req: Request, next: Next) -> Response {
    match state.access.check_token(req.headers()) {
        Ok(()) => next.run(req).await,
        Err(r) => refusal(r),
    }
}

fn refusal(r: access::Refusal) -> Response {
    let code = if r.status == StatusCode::UNAUTHORIZED {
        ErrorCode::Unauthorized
    } else {
        ErrorCode::Forbidden
    };
    (
        r.status,
        axum::Json(ApiError {
            code,
            message: r.message.into(),
        }),
    )
        .into_response()
}
