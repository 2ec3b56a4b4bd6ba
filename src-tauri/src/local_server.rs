//! The orchestrator's server, in-process on 127.0.0.1 with a random port and token, on Tauri's
//! tokio runtime. Same data dir and server file as `grove serve`, so the `grove` CLI talks to the
//! desktop app as it would to `grove serve`.

use std::path::PathBuf;

use grove_orchestrator::server::{self, Running, ServeOptions, ServerInfo};
use grove_orchestrator::{Grove, GroveConfig};

/// The origins of the app's own webview: `tauri://localhost` (Linux, macOS) and
/// `http(s)://tauri.localhost` (Windows). Nothing else is added.
pub const WEBVIEW_ORIGINS: [&str; 3] = [
    "tauri://localhost",
    "http://tauri.localhost",
    "https://tauri.localhost",
];

/// A running server and the Grove it serves. [`LocalServer::stop`] ends both.
pub struct LocalServer {
    pub grove: Grove,
    pub info: ServerInfo,
    running: Option<Running>,
}

/// The data dir: `GROVE_DATA_DIR`, else the OS app-data dir (`grove serve`'s default).
pub fn data_dir() -> anyhow::Result<PathBuf> {
    match std::env::var_os("GROVE_DATA_DIR") {
        Some(dir) if !dir.is_empty() => Ok(PathBuf::from(dir)),
        _ => Ok(grove_orchestrator::data_dir::default_root()?),
    }
}

impl LocalServer {
    /// Opens the data dir (taking its lock), binds 127.0.0.1:0 and starts serving, through the
    /// same start-up as `grove serve` (server file included); only the webview's origins are
    /// added.
    pub fn start(data_dir: PathBuf) -> anyhow::Result<LocalServer> {
        let began = std::time::Instant::now();
        tauri::async_runtime::block_on(async move {
            let mut config = GroveConfig::new(&data_dir);
            // The desktop keeps the vault's master secret in the OS keychain (macOS Keychain,
            // Windows Credential Manager, the Secret Service); GROVE_VAULT_KEYCHAIN=0 turns that
            // off, and the vault asks for a passphrase instead.
            config.vault_keychain = !matches!(
                std::env::var("GROVE_VAULT_KEYCHAIN").as_deref(),
                Ok("0" | "false" | "no")
            );
            let grove = Grove::open(config)?;
            let opts = ServeOptions {
                allow_origins: WEBVIEW_ORIGINS.map(String::from).into(),
                ..ServeOptions::default()
            };
            let running = server::start(&grove, opts).await?;
            let info = running.info().clone();
            tracing::info!(url = %info.url, ms = began.elapsed().as_millis() as u64, "serving the UI's API");
            Ok(LocalServer {
                grove,
                info,
                running: Some(running),
            })
        })
    }

    /// The `connect-src` sources for this server (HTTP and WebSocket), for the CSP.
    pub fn connect_sources(&self) -> String {
        let ws = self.info.url.replacen("http", "ws", 1);
        format!("{} {ws}", self.info.url)
    }

    /// Stops serving (which removes the server file) and ends every terminal. Blocking.
    pub fn stop(&mut self) {
        if let Some(running) = self.running.take()
            && let Err(err) = tauri::async_runtime::block_on(running.stop())
        {
            tracing::error!(%err, "the local server stopped");
        }
        self.grove.shutdown();
    }
}
