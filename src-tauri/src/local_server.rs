//! The orchestrator's server, in-process on 127.0.0.1 with a random port and token, on Tauri's
//! tokio runtime. Same data dir and server file as `grove serve`, so the `grove` CLI talks to the
//! desktop app as it would to `grove serve`.

use std::path::PathBuf;

use anyhow::Context;
use grove_orchestrator::server::{ServeOptions, Server, ServerInfo};
use grove_orchestrator::{Grove, GroveConfig};
use tokio::sync::oneshot;

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
    stop: Option<oneshot::Sender<()>>,
    task: Option<tauri::async_runtime::JoinHandle<()>>,
}

/// The data dir: `GROVE_DATA_DIR`, else the OS app-data dir (`grove serve`'s default).
pub fn data_dir() -> anyhow::Result<PathBuf> {
    match std::env::var_os("GROVE_DATA_DIR") {
        Some(dir) if !dir.is_empty() => Ok(PathBuf::from(dir)),
        _ => Ok(grove_orchestrator::data_dir::default_root()?),
    }
}

impl LocalServer {
    /// Opens the data dir (taking its lock), binds 127.0.0.1:0 and starts serving.
    pub fn start(data_dir: PathBuf) -> anyhow::Result<LocalServer> {
        let began = std::time::Instant::now();
        tauri::async_runtime::block_on(async move {
            let grove = Grove::open(GroveConfig::new(&data_dir))?;
            let opts = ServeOptions {
                allow_origins: WEBVIEW_ORIGINS.map(String::from).into(),
                ..ServeOptions::default()
            };
            let server = Server::bind(grove.clone(), opts)?;
            let info = server.info().clone();
            let file = grove.server_file();
            let contents = serde_json::json!({
                "url": info.url,
                "token": info.token.expose(),
                "pid": std::process::id(),
            });
            grove_orchestrator::data_dir::write_private(&file, contents.to_string().as_bytes())
                .with_context(|| format!("could not write the server file {}", file.display()))?;
            let (stop, stopped) = oneshot::channel::<()>();
            let task = tauri::async_runtime::spawn(async move {
                let shutdown = async {
                    let _ = stopped.await;
                };
                if let Err(err) = server.run(shutdown).await {
                    tracing::error!(%err, "the local server stopped");
                }
            });
            tracing::info!(url = %info.url, ms = began.elapsed().as_millis() as u64, "serving the UI's API");
            Ok(LocalServer {
                grove,
                info,
                stop: Some(stop),
                task: Some(task),
            })
        })
    }

    /// The `connect-src` sources for this server (HTTP and WebSocket), for the CSP.
    pub fn connect_sources(&self) -> String {
        let ws = self.info.url.replacen("http", "ws", 1);
        format!("{} {ws}", self.info.url)
    }

    /// Stops serving, ends every terminal and removes the server file. Blocking.
    pub fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = tauri::async_runtime::block_on(async {
                tokio::time::timeout(std::time::Duration::from_secs(3), task).await
            });
        }
        let _ = fs_err::remove_file(self.grove.server_file());
        self.grove.shutdown();
    }
}
