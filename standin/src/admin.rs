//! The controls as HTTP endpoints under `/_standin/`, for tests in other processes (the Node
//! end-to-end tests). JSON bodies in, JSON out (`{"ok":true}`, or `{"message"}` with 400 for a
//! bad body and 404 for an unknown repository, pull request or user code); loopback peers only.
//!
//! | endpoint | body |
//! |---|---|
//! | `POST /_standin/tokens` | `{token, login, scopes: [..]}` |
//! | `DELETE /_standin/tokens/{token}` | — |
//! | `POST /_standin/repos` | `{owner, name}` → `{path, clone_url}` |
//! | `POST /_standin/status` | `{owner, repo, sha, context, state, target_url?}` (`sha` may be a branch) |
//! | `POST /_standin/check_run` | `{owner, repo, sha, name, status, conclusion?, html_url?}` |
//! | `POST /_standin/pull` | `{owner, repo, number, state?, merged?, draft?}` |
//! | `POST /_standin/review` | `{owner, repo, number, login, state}` |
//! | `POST /_standin/draft_supported` | `{owner, repo, supported}` |
//! | `POST /_standin/device/approve` | `{user_code, login, scopes: [..]}` |
//! | `POST /_standin/device/deny`, `/_standin/device/expire` | `{user_code}` |
//! | `GET /_standin/device/pending` | → `["ABCD-1234", ..]`, oldest first |
//! | `POST /_standin/config` | `{device_interval?, client_id? + client_secret?, web_login?}` |
//! | `GET /_standin/requests` | → `[{method, path, user_agent, authorization, status}, ..]` |

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::json;

use crate::Shared;

pub(crate) fn router() -> Router<Arc<Shared>> {
    Router::new()
        .route("/tokens", post(add_token))
        .route("/tokens/{token}", delete(revoke_token))
        .route("/repos", post(create_repo))
        .route("/status", post(set_status))
        .route("/check_run", post(set_check_run))
        .route("/pull", post(set_pull))
        .route("/review", post(add_review))
        .route("/draft_supported", post(set_draft_supported))
        .route("/device/approve", post(approve_device))
        .route("/device/deny", post(deny_device))
        .route("/device/expire", post(expire_device))
        .route("/device/pending", get(pending_devices))
        .route("/config", post(config))
        .route("/requests", get(requests))
        .layer(axum::middleware::from_fn(loopback_only))
}

async fn loopback_only(
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
    next: Next,
) -> Response {
    if peer.ip().is_loopback() {
        next.run(request).await
    } else {
        admin_error(
            StatusCode::FORBIDDEN,
            "the admin endpoints answer loopback peers only",
        )
    }
}

fn admin_error(status: StatusCode, message: &str) -> Response {
    (status, axum::Json(json!({"message": message}))).into_response()
}

fn parse<T: DeserializeOwned>(body: &Bytes) -> Result<T, Response> {
    serde_json::from_slice(body)
        .map_err(|e| admin_error(StatusCode::BAD_REQUEST, &format!("bad JSON body: {e}")))
}

/// `{"ok": true}`, or 404 naming what was not found.
fn done(found: bool, what: &str) -> Response {
    if found {
        axum::Json(json!({"ok": true})).into_response()
    } else {
        admin_error(StatusCode::NOT_FOUND, &format!("no such {what}"))
    }
}

fn strs(list: &[String]) -> Vec<&str> {
    list.iter().map(String::as_str).collect()
}

macro_rules! body_or_400 {
    ($body:expr) => {
        match parse($body) {
            Ok(value) => value,
            Err(response) => return response,
        }
    };
}

#[derive(Deserialize)]
struct TokenBody {
    token: String,
    login: String,
    #[serde(default)]
    scopes: Vec<String>,
}

async fn add_token(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let b: TokenBody = body_or_400!(&body);
    shared.add_token(&b.token, &b.login, &strs(&b.scopes));
    done(true, "token")
}

async fn revoke_token(State(shared): State<Arc<Shared>>, Path(token): Path<String>) -> Response {
    shared.revoke_token(&token);
    done(true, "token")
}

#[derive(Deserialize)]
struct RepoBody {
    owner: String,
    name: String,
}

async fn create_repo(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let b: RepoBody = body_or_400!(&body);
    let created = {
        let shared = shared.clone();
        let (owner, name) = (b.owner.clone(), b.name.clone());
        // `git init` blocks; keep it off the runtime's only thread.
        tokio::task::spawn_blocking(move || shared.create_repo(&owner, &name)).await
    };
    match created {
        Ok(Ok(path)) => axum::Json(json!({
            "path": path,
            "clone_url": shared.clone_url(&b.owner, &b.name),
        }))
        .into_response(),
        Ok(Err(e)) => admin_error(StatusCode::BAD_REQUEST, &e.to_string()),
        Err(e) => admin_error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}

#[derive(Deserialize)]
struct StatusBody {
    owner: String,
    repo: String,
    sha: String,
    context: String,
    state: String,
    target_url: Option<String>,
}

async fn set_status(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let b: StatusBody = body_or_400!(&body);
    let found = blocking(shared, move |s| {
        s.set_status(
            &b.owner,
            &b.repo,
            &b.sha,
            &b.context,
            &b.state,
            b.target_url.as_deref(),
        )
    })
    .await;
    done(found, "repository")
}

#[derive(Deserialize)]
struct CheckRunBody {
    owner: String,
    repo: String,
    sha: String,
    name: String,
    status: String,
    conclusion: Option<String>,
    html_url: Option<String>,
}

async fn set_check_run(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let b: CheckRunBody = body_or_400!(&body);
    let found = blocking(shared, move |s| {
        s.set_check_run(
            &b.owner,
            &b.repo,
            &b.sha,
            &b.name,
            &b.status,
            b.conclusion.as_deref(),
            b.html_url.as_deref(),
        )
    })
    .await;
    done(found, "repository")
}

/// Runs a control that may call `git` off the runtime's only thread.
async fn blocking(shared: Arc<Shared>, f: impl FnOnce(&Shared) -> bool + Send + 'static) -> bool {
    tokio::task::spawn_blocking(move || f(&shared))
        .await
        .unwrap_or(false)
}

#[derive(Deserialize)]
struct PullBody {
    owner: String,
    repo: String,
    number: u64,
    state: Option<String>,
    merged: Option<bool>,
    draft: Option<bool>,
}

async fn set_pull(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let b: PullBody = body_or_400!(&body);
    let found = shared.set_pull(
        &b.owner,
        &b.repo,
        b.number,
        b.state.as_deref(),
        b.merged,
        b.draft,
    );
    done(found, "pull request")
}

#[derive(Deserialize)]
struct ReviewBody {
    owner: String,
    repo: String,
    number: u64,
    login: String,
    state: String,
}

async fn add_review(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let b: ReviewBody = body_or_400!(&body);
    let found = shared.add_review(&b.owner, &b.repo, b.number, &b.login, &b.state);
    done(found, "pull request")
}

#[derive(Deserialize)]
struct DraftBody {
    owner: String,
    repo: String,
    supported: bool,
}

async fn set_draft_supported(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let b: DraftBody = body_or_400!(&body);
    done(
        shared.set_draft_supported(&b.owner, &b.repo, b.supported),
        "repository",
    )
}

#[derive(Deserialize)]
struct DeviceBody {
    user_code: String,
    #[serde(default)]
    login: Option<String>,
    #[serde(default)]
    scopes: Vec<String>,
}

async fn approve_device(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let b: DeviceBody = body_or_400!(&body);
    let Some(login) = b.login else {
        return admin_error(StatusCode::BAD_REQUEST, "approve needs a login");
    };
    done(
        shared.approve_device(&b.user_code, &login, &strs(&b.scopes)),
        "pending user code",
    )
}

async fn deny_device(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let b: DeviceBody = body_or_400!(&body);
    done(shared.deny_device(&b.user_code), "pending user code")
}

async fn expire_device(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let b: DeviceBody = body_or_400!(&body);
    done(shared.expire_device(&b.user_code), "pending user code")
}

async fn pending_devices(State(shared): State<Arc<Shared>>) -> Response {
    axum::Json(shared.pending_user_codes()).into_response()
}

#[derive(Deserialize)]
struct ConfigBody {
    device_interval: Option<u64>,
    client_id: Option<String>,
    client_secret: Option<String>,
    web_login: Option<String>,
}

async fn config(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let b: ConfigBody = body_or_400!(&body);
    if let Some(secs) = b.device_interval {
        shared.set_device_interval(secs);
    }
    match (b.client_id, b.client_secret) {
        (Some(id), Some(secret)) => shared.set_oauth_client(&id, &secret),
        (None, None) => {}
        _ => {
            return admin_error(
                StatusCode::BAD_REQUEST,
                "client_id and client_secret go together",
            );
        }
    }
    if let Some(login) = b.web_login {
        shared.set_web_login(&login);
    }
    done(true, "config")
}

async fn requests(State(shared): State<Arc<Shared>>) -> Response {
    axum::Json(shared.requests()).into_response()
}
