//! GitHub routes: sign-in (token, device flow, browser flow and its callback), sign-out, and a
//! session's push and pull request. Thin adapters over [`Grove`](crate::grove::Grove).

use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::{get, post};

use super::AppState;
use super::api::{Body, MaybeBody, run};
use super::secrets::SecretBody;
use crate::wire::{
    AuthCallbackRequest, CreatePullRequest, PushRequest, StartLoginRequest, TokenLoginRequest,
    WebLogin,
};

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/github", get(status))
        .route("/github/login/token", post(login_token))
        .route("/github/login/device", post(login_device))
        .route("/github/login/gh", post(login_gh))
        .route("/github/login/web", post(login_web))
        .route("/github/callback", post(callback))
        .route("/github/logout", post(logout))
        .route("/sessions/{id}/push", post(push))
        .route("/sessions/{id}/pr", get(pull_status).post(create_pull))
        .route("/sessions/{id}/pr/draft", get(pull_draft))
}

async fn status(State(s): State<AppState>) -> Response {
    run(s.grove, |g| Ok(g.github_status())).await
}

async fn login_token(
    State(s): State<AppState>,
    SecretBody(req): SecretBody<TokenLoginRequest>,
) -> Response {
    let token = req.token.0;
    run(s.grove, move |g| g.github_login_token(&token)).await
}

async fn login_gh(State(s): State<AppState>) -> Response {
    run(s.grove, |g| g.github_login_gh()).await
}

async fn login_device(
    State(s): State<AppState>,
    MaybeBody(req): MaybeBody<StartLoginRequest>,
) -> Response {
    run(s.grove, move |g| g.github_login_device(req.workflow)).await
}

async fn login_web(
    State(s): State<AppState>,
    MaybeBody(req): MaybeBody<StartLoginRequest>,
) -> Response {
    run(s.grove, move |g| {
        g.github_login_web(req.workflow)
            .map(|authorize_url| WebLogin { authorize_url })
    })
    .await
}

async fn callback(
    State(s): State<AppState>,
    SecretBody(req): SecretBody<AuthCallbackRequest>,
) -> Response {
    let code = req.code.map(|c| c.0);
    run(s.grove, move |g| {
        g.github_auth_callback(&req.state, code, req.error.as_deref())
    })
    .await
}

async fn logout(State(s): State<AppState>) -> Response {
    run(s.grove, |g| g.github_logout()).await
}

async fn push(
    State(s): State<AppState>,
    Path(id): Path<i64>,
    MaybeBody(req): MaybeBody<PushRequest>,
) -> Response {
    run(s.grove, move |g| g.push(id, &req)).await
}

async fn pull_status(State(s): State<AppState>, Path(id): Path<i64>) -> Response {
    run(s.grove, move |g| g.pull_status(id)).await
}

async fn pull_draft(State(s): State<AppState>, Path(id): Path<i64>) -> Response {
    run(s.grove, move |g| g.pull_draft(id)).await
}

async fn create_pull(
    State(s): State<AppState>,
    Path(id): Path<i64>,
    Body(req): Body<CreatePullRequest>,
) -> Response {
    run(s.grove, move |g| g.create_pull(id, &req)).await
}
