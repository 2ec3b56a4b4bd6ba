//! A local stand-in for GitHub, for Grove's tests: the REST endpoints Grove uses (under
//! `/api/v3`, as on GitHub Enterprise), the OAuth web and device flows, and real bare
//! repositories served over smart HTTP by `git http-backend`.
//!
//! How it works: [`Standin::start`] binds `127.0.0.1:0` and runs an axum server on a tokio
//! runtime in a thread of its own, so synchronous tests can use it. All state sits in one
//! `Mutex<State>` shared by the server and the control methods; handlers copy what they need
//! out of it, release it, and only then run `git` (to read a branch's sha, or as the CGI for
//! pushes and fetches). Dropping the `Standin` stops the runtime and with it every connection.
//! The binary `github-standin` serves the same router and adds nothing: the controls are also
//! reachable as loopback-only admin endpoints under `/_standin/` for the Node end-to-end tests.

// Handlers bail out early with `Result<_, Response>`: the error is the answer itself, built once
// per failed request of a test server, so its size does not matter.
#![allow(clippy::result_large_err)]

mod admin;
mod api;
mod controls;
mod git;
mod git_http;
mod oauth;
mod state;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread::JoinHandle;

use axum::Router;
use parking_lot::Mutex;
use tokio::sync::oneshot;

pub use state::RecordedRequest;
use state::State;

/// The OAuth app the stand-in knows until [`Standin::set_oauth_client`] says otherwise.
pub const DEFAULT_CLIENT_ID: &str = "Ov23li-grove-standin";
pub const DEFAULT_CLIENT_SECRET: &str = "grove-standin-secret";
/// Whom the web flow signs in until [`Standin::set_web_login`] says otherwise.
pub const DEFAULT_WEB_LOGIN: &str = "octocat";

pub(crate) struct Shared {
    pub root: PathBuf,
    pub url: String,
    pub state: Mutex<State>,
}

impl Shared {
    pub fn api_url(&self) -> String {
        format!("{}/api/v3", self.url)
    }

    pub fn repo_path(&self, owner: &str, name: &str) -> PathBuf {
        self.root.join(owner).join(format!("{name}.git"))
    }
}

/// A running stand-in. Dropping it stops the server.
pub struct Standin {
    shared: Arc<Shared>,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Standin {
    /// Starts a stand-in on `127.0.0.1` on a free port, keeping bare repositories under `root`.
    pub fn start(root: &Path) -> std::io::Result<Standin> {
        Self::start_on(root, 0)
    }

    /// Starts a stand-in on `127.0.0.1:port` (0 picks a free port).
    pub fn start_on(root: &Path, port: u16) -> std::io::Result<Standin> {
        std::fs::create_dir_all(root)?;
        let listener = std::net::TcpListener::bind(("127.0.0.1", port))?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            root: root.to_path_buf(),
            url: format!("http://{addr}"),
            state: Mutex::new(State::new()),
        });
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let app = router(shared.clone());
        let (shutdown, stopped) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("github-standin".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let listener = match tokio::net::TcpListener::from_std(listener) {
                        Ok(listener) => listener,
                        Err(e) => {
                            eprintln!("github-standin: cannot listen on {addr}: {e}");
                            return;
                        }
                    };
                    let serve = axum::serve(
                        listener,
                        app.into_make_service_with_connect_info::<SocketAddr>(),
                    );
                    // No graceful shutdown: idle keep-alive connections of a test's HTTP
                    // client would hold it open. Dropping the runtime ends every task.
                    tokio::select! {
                        result = serve => {
                            if let Err(e) = result {
                                eprintln!("github-standin: server stopped: {e}");
                            }
                        }
                        _ = stopped => {}
                    }
                });
            })?;
        Ok(Standin {
            shared,
            shutdown: Some(shutdown),
            thread: Some(thread),
        })
    }

    /// The web and git base, `http://127.0.0.1:PORT` (`GROVE_GITHUB_URL`).
    pub fn url(&self) -> String {
        self.shared.url.clone()
    }

    /// The REST base, `http://127.0.0.1:PORT/api/v3` (`GROVE_GITHUB_API_URL`).
    pub fn api_url(&self) -> String {
        self.shared.api_url()
    }

    /// The directory holding the bare repositories, as `{root}/{owner}/{name}.git`.
    pub fn root(&self) -> &Path {
        &self.shared.root
    }

    /// Makes `token` valid for the API and for git, as `login` with `scopes`.
    pub fn add_token(&self, token: &str, login: &str, scopes: &[&str]) {
        self.shared.add_token(token, login, scopes)
    }

    /// From now on `token` gets 401 from the API and git.
    pub fn revoke_token(&self, token: &str) {
        self.shared.revoke_token(token)
    }

    /// Creates an empty bare repository `{root}/{owner}/{name}.git` (default branch `main`,
    /// pushes over HTTP enabled) and returns its path. Creating one that exists keeps it.
    pub fn create_repo(&self, owner: &str, name: &str) -> std::io::Result<PathBuf> {
        self.shared.create_repo(owner, name)
    }

    /// The URL to clone `owner/name` from, `{url}/{owner}/{name}.git`.
    pub fn clone_url(&self, owner: &str, name: &str) -> String {
        self.shared.clone_url(owner, name)
    }

    /// Sets the commit status `context` on `sha` (a sha or a branch name) to `state`
    /// (`pending`, `success`, `failure` or `error`), replacing an earlier one of that context.
    /// False when the repository is unknown.
    pub fn set_status(
        &self,
        owner: &str,
        repo: &str,
        sha: &str,
        context: &str,
        state: &str,
        target_url: Option<&str>,
    ) -> bool {
        self.shared
            .set_status(owner, repo, sha, context, state, target_url)
    }

    /// Sets the check run `name` on `sha` (a sha or a branch name): `status` is `queued`,
    /// `in_progress` or `completed`, `conclusion` (`success`, `failure`, …) only when completed.
    /// False when the repository is unknown.
    #[allow(clippy::too_many_arguments)] // One argument per field of GitHub's check run.
    pub fn set_check_run(
        &self,
        owner: &str,
        repo: &str,
        sha: &str,
        name: &str,
        status: &str,
        conclusion: Option<&str>,
        html_url: Option<&str>,
    ) -> bool {
        self.shared
            .set_check_run(owner, repo, sha, name, status, conclusion, html_url)
    }

    /// Changes pull request `number`: `state` `open`/`closed`, `merged` (true also closes it),
    /// `draft`. `None` leaves a field as it is. False when there is no such pull request.
    pub fn set_pull(
        &self,
        owner: &str,
        repo: &str,
        number: u64,
        state: Option<&str>,
        merged: Option<bool>,
        draft: Option<bool>,
    ) -> bool {
        self.shared
            .set_pull(owner, repo, number, state, merged, draft)
    }

    /// Adds a review by `login` (`APPROVED`, `CHANGES_REQUESTED` or `COMMENTED`) to pull request
    /// `number`. False when there is no such pull request.
    pub fn add_review(
        &self,
        owner: &str,
        repo: &str,
        number: u64,
        login: &str,
        state: &str,
    ) -> bool {
        self.shared.add_review(owner, repo, number, login, state)
    }

    /// Whether `draft: true` is accepted when creating pull requests in `owner/repo` (GitHub
    /// refuses drafts in private repositories on free plans). False when the repository is unknown.
    pub fn set_draft_supported(&self, owner: &str, repo: &str, yes: bool) -> bool {
        self.shared.set_draft_supported(owner, repo, yes)
    }

    /// Approves the device code shown as `user_code`: the next poll gets a token for `login`.
    /// False when no pending device code has that user code.
    pub fn approve_device(&self, user_code: &str, login: &str, scopes: &[&str]) -> bool {
        self.shared.approve_device(user_code, login, scopes)
    }

    /// The user declined: the next poll gets `access_denied`.
    pub fn deny_device(&self, user_code: &str) -> bool {
        self.shared.deny_device(user_code)
    }

    /// The code ran out: the next poll gets `expired_token`.
    pub fn expire_device(&self, user_code: &str) -> bool {
        self.shared.expire_device(user_code)
    }

    /// The polling interval given to new device codes, in seconds (1 by default; GitHub says 5).
    pub fn set_device_interval(&self, secs: u64) {
        self.shared.set_device_interval(secs)
    }

    /// The user codes of device codes still waiting for the user, oldest first.
    pub fn pending_user_codes(&self) -> Vec<String> {
        self.shared.pending_user_codes()
    }

    /// Every request answered so far, oldest first (admin endpoints excluded).
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.requests()
    }

    /// The OAuth app's credentials the token endpoint checks.
    pub fn set_oauth_client(&self, client_id: &str, client_secret: &str) {
        self.shared.set_oauth_client(client_id, client_secret)
    }

    /// Whom the web flow's authorize page signs in (`octocat` by default).
    pub fn set_web_login(&self, login: &str) {
        self.shared.set_web_login(login)
    }
}

impl Drop for Standin {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .nest("/api/v3", api::router(shared.clone()))
        .merge(oauth::router())
        .merge(git_http::router())
        .nest("/_standin", admin::router())
        .fallback(api::not_found)
        .layer(axum::middleware::from_fn_with_state(shared.clone(), record))
        .with_state(shared)
}

/// Logs every request but the admin ones, with its answer's status.
async fn record(
    axum::extract::State(shared): axum::extract::State<Arc<Shared>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let path = request
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_default();
    if path.starts_with("/_standin/") {
        return next.run(request).await;
    }
    let method = request.method().to_string();
    let user_agent = request
        .headers()
        .get(axum::http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let authorization = request
        .headers()
        .contains_key(axum::http::header::AUTHORIZATION);
    let response = next.run(request).await;
    shared.state.lock().requests.push(RecordedRequest {
        method,
        path,
        user_agent,
        authorization,
        status: response.status().as_u16(),
    });
    response
}
