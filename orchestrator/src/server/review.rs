//! Routes for reviewing a session's work: its changes and diffs, commit, revert and undo. Thin
//! adapters over [`Grove`](crate::grove::Grove)'s review methods, like the rest of the API.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::{get, post};
use serde::Deserialize;

use super::AppState;
use super::api::{Body, MaybeBody, run};
use crate::wire::{ChangeScope, CommitRequest, RevertRequest, SendCommentsRequest, UndoRequest};

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/sessions/{id}/changes", get(changes))
        .route("/sessions/{id}/diff", get(diff))
        .route("/sessions/{id}/commit", post(commit))
        .route("/sessions/{id}/revert", post(revert))
        .route("/sessions/{id}/undo", post(undo))
        .route("/sessions/{id}/comments", post(comments))
}

#[derive(Debug, Deserialize)]
struct ChangesQuery {
    #[serde(default)]
    scope: ChangeScope,
}

#[derive(Debug, Deserialize)]
struct DiffQuery {
    /// One file (as listed in the changes); without it, every changed file.
    path: Option<String>,
    #[serde(default)]
    scope: ChangeScope,
}

async fn changes(
    State(s): State<AppState>,
    Path(id): Path<i64>,
    Query(q): Query<ChangesQuery>,
) -> Response {
    run(s.grove, move |g| g.changes(id, q.scope)).await
}

async fn diff(
    State(s): State<AppState>,
    Path(id): Path<i64>,
    Query(q): Query<DiffQuery>,
) -> Response {
    run(s.grove, move |g| g.diff(id, q.scope, q.path.as_deref())).await
}

async fn commit(
    State(s): State<AppState>,
    Path(id): Path<i64>,
    Body(req): Body<CommitRequest>,
) -> Response {
    run(s.grove, move |g| g.commit(id, &req)).await
}

async fn revert(
    State(s): State<AppState>,
    Path(id): Path<i64>,
    Body(req): Body<RevertRequest>,
) -> Response {
    run(s.grove, move |g| g.revert(id, &req)).await
}

async fn undo(
    State(s): State<AppState>,
    Path(id): Path<i64>,
    MaybeBody(req): MaybeBody<UndoRequest>,
) -> Response {
    run(s.grove, move |g| g.undo(id, req.undo_id.as_deref())).await
}

async fn comments(
    State(s): State<AppState>,
    Path(id): Path<i64>,
    Body(req): Body<SendCommentsRequest>,
) -> Response {
    run(s.grove, move |g| g.send_comments(id, &req)).await
}
