//! The HTTP + WebSocket server over [`Grove`]: REST JSON under `/api/v1`, an events socket, one
//! socket per attached terminal, and the web UI from the same origin. Every request passes
//! [`access`] first.
//!
//! [`start`] is the one way to run it, shared by `grove serve` and the desktop app: it binds,
//! starts serving on the current tokio runtime and writes the server file the CLI finds it by.

pub mod access;
mod api;
mod conn;
mod error;
mod github;
mod heartbeat;
mod relay;
mod review;
mod secrets;
#[cfg(feature = "tls")]
pub mod self_signed;
pub mod server_file;
mod terminal_ws;
mod ui;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use tokio::sync::oneshot;

use crate::grove::Grove;
use access::{Access, Token};
use heartbeat::Liveness;
pub use server_file::{ServerFile, ServerFileError};

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
    /// Origins allowed besides the server's own (exact match). The desktop app passes its
    /// webview's here; `grove serve` allows none unless told.
    pub allow_origins: Vec<String>,
    pub allow_hosts: Vec<String>,
    /// How often sockets ping their client; one silent for two intervals is dropped. Also the
    /// TCP keepalive idle time.
    pub ping_interval: Duration,
}

/// Default [`ServeOptions::ping_interval`]: a client that went away is dropped within 30 s.
pub const DEFAULT_PING_INTERVAL: Duration = Duration::from_secs(10);

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
            ping_interval: DEFAULT_PING_INTERVAL,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(
        "refusing to listen on {host} without TLS: anyone on the network could run commands. Pass --tls-self-signed (or --tls-cert and --tls-key), or use an SSH tunnel to 127.0.0.1"
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
    #[error("TLS key {path} can be read by other users (mode {mode:o}); run `chmod 600 {path}`")]
    TlsKeyExposed { path: PathBuf, mode: u32 },
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
    /// A URL for clients on this machine (the CLI): `url`, or loopback when the server listens
    /// on every address.
    pub local_url: String,
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
    pub liveness: Liveness,
}

/// A bound server, not yet accepting.
pub struct Server {
    info: ServerInfo,
    router: Router,
    listener: std::net::TcpListener,
    tls: Option<TlsFiles>,
    ping_interval: Duration,
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
        let local_url = match addr.ip() {
            IpAddr::V4(ip) if ip.is_unspecified() => {
                format!("{scheme}://{}:{port}", Ipv4Addr::LOCALHOST)
            }
            IpAddr::V6(ip) if ip.is_unspecified() => {
                format!("{scheme}://[{}]:{port}", Ipv6Addr::LOCALHOST)
            }
            _ => url.clone(),
        };
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
        let ping_interval = opts.ping_interval.max(Duration::from_millis(100));
        let state = AppState {
            grove,
            access,
            liveness: Liveness {
                ping_every: ping_interval,
            },
        };
        let router = router(state);
        Ok(Server {
            info: ServerInfo {
                url,
                local_url,
                addr,
                token,
            },
            router,
            listener,
            tls: opts.tls,
            ping_interval,
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
        let keepalive = self.ping_interval;
        match self.tls {
            None => {
                let listener = conn::Listener {
                    inner: tokio::net::TcpListener::from_std(self.listener)?,
                    keepalive,
                };
                axum::serve(listener, self.router.into_make_service())
                    .with_graceful_shutdown(shutdown)
                    .await?;
            }
            #[cfg(not(feature = "tls"))]
            Some(_) => return Err(ServeError::Tls(NO_TLS.into())),
            #[cfg(feature = "tls")]
            Some(tls) => {
                let config = tls_config(&tls).await?;
                let handle = axum_server::Handle::new();
                let h = handle.clone();
                tokio::spawn(async move {
                    shutdown.await;
                    h.graceful_shutdown(Some(Duration::from_secs(2)));
                });
                let acceptor = conn::Capped {
                    inner: axum_server::tls_rustls::RustlsAcceptor::new(config)
                        .handshake_timeout(TLS_HANDSHAKE_TIMEOUT)
                        .acceptor(conn::Acceptor { keepalive }),
                    permits: Arc::new(tokio::sync::Semaphore::new(MAX_HANDSHAKES)),
                };
                let mut server = axum_server::from_tcp(self.listener)
                    .map_err(ServeError::Io)?
                    .acceptor(acceptor)
                    .handle(handle)
                    .first_request_timeout(HEADER_TIMEOUT);
                server
                    .http_builder()
                    .http1()
                    .header_read_timeout(HEADER_TIMEOUT)
                    .http2()
                    .keep_alive_interval(Some(keepalive))
                    .keep_alive_timeout(keepalive * 2);
                server.serve(self.router.into_make_service()).await?;
            }
        }
        Ok(())
    }
}

/// Over TLS (anyone on the network can connect): how long a client may take over its handshake,
/// and over a request's headers (the first request's included), before it is cut off.
#[cfg(feature = "tls")]
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
#[cfg(feature = "tls")]
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// Most connections in their TLS handshake at once; more are closed right away.
#[cfg(feature = "tls")]
const MAX_HANDSHAKES: usize = 64;

/// The TLS configuration, after checking that the key is the user's alone.
#[cfg(feature = "tls")]
async fn tls_config(tls: &TlsFiles) -> Result<axum_server::tls_rustls::RustlsConfig, ServeError> {
    check_key_mode(&tls.key)?;
    let _ = rustls::crypto::ring::default_provider().install_default();
    axum_server::tls_rustls::RustlsConfig::from_pem_file(&tls.cert, &tls.key)
        .await
        .map_err(|e| {
            ServeError::Tls(format!(
                "{} / {}: {e}",
                tls.cert.display(),
                tls.key.display()
            ))
        })
}

/// Refuses a private key that other users can read: they could impersonate this server.
pub fn check_key_mode(key: &std::path::Path) -> Result<(), ServeError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let meta = fs_err::metadata(key).map_err(|e| ServeError::Tls(e.to_string()))?;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(ServeError::TlsKeyExposed {
                path: key.to_owned(),
                mode,
            });
        }
    }
    #[cfg(not(unix))]
    let _ = key;
    Ok(())
}

/// A server that is serving and has written its server file. Shared by `grove serve` and the
/// desktop app. The server file goes away with it.
#[derive(Debug)]
pub struct Running {
    info: ServerInfo,
    server_file: PathBuf,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<Result<(), ServeError>>>,
}

/// Binds, checks the TLS files, starts serving on the current tokio runtime and writes the
/// server file (0600) for the CLI.
pub async fn start(grove: &Grove, opts: ServeOptions) -> Result<Running, ServeError> {
    #[cfg(feature = "tls")]
    if let Some(tls) = &opts.tls {
        // Fail before anything is written, with the file named.
        check_key_mode(&tls.key)?;
    }
    let server = Server::bind(grove.clone(), opts)?;
    let info = server.info().clone();
    let server_file = grove.server_file();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(server.run(async {
        let _ = stopped.await;
    }));
    let running = Running {
        info,
        server_file,
        stop: Some(stop),
        task: Some(task),
    };
    ServerFile::for_this_process(&running.info)
        .write(&running.server_file)
        .map_err(|source| ServeError::ServerFile {
            path: running.server_file.clone(),
            source,
        })?;
    Ok(running)
}

impl Running {
    pub fn info(&self) -> &ServerInfo {
        &self.info
    }

    /// Serves until `shutdown` resolves (or the server fails), then stops.
    pub async fn serve_until(
        mut self,
        shutdown: impl std::future::Future<Output = ()>,
    ) -> Result<(), ServeError> {
        let Some(mut task) = self.task.take() else {
            return Ok(());
        };
        tokio::select! {
            res = &mut task => return flatten(res),
            () = shutdown => {}
        }
        self.task = Some(task);
        self.stop().await
    }

    /// Stops accepting, lets open requests finish (a few seconds at most) and removes the server
    /// file.
    pub async fn stop(mut self) -> Result<(), ServeError> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let Some(task) = self.task.take() else {
            return Ok(());
        };
        match tokio::time::timeout(Duration::from_secs(3), task).await {
            Ok(res) => flatten(res),
            Err(_) => Ok(()),
        }
    }
}

fn flatten(res: Result<Result<(), ServeError>, tokio::task::JoinError>) -> Result<(), ServeError> {
    res.map_err(|e| ServeError::Io(std::io::Error::other(e)))?
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
        let _ = fs_err::remove_file(&self.server_file);
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
        Err(r) => error::refusal(r),
    }
}

async fn require_token(State(state): State<AppState>, req: Request, next: Next) -> Response {
    match state.access.check_token(req.headers()) {
        Ok(()) => next.run(req).await,
        Err(r) => error::refusal(r),
    }
}
