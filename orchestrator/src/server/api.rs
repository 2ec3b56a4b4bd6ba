//! REST routes and the events socket. Each handler is a thin adapter: run one [`Grove`] call off
//! the async runtime and map its error to `{ code, message }` with a fitting status.

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{FromRequest, Path, Query, Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::broadcast::error::RecvError;

use super::AppState;
use super::access::PROTOCOL;
use super::error::error_response;
use super::heartbeat::{Heartbeat, Liveness};
use crate::error::GroveError;
use crate::grove::Grove;
use crate::wire::{
    AddRepoRequest, ApiError, CreateSessionRequest, ErrorCode, Event, ForceRequest, Health,
    NewTerminalRequest, PROTOCOL_VERSION, SuggestNameQuery, SuggestedName, TrustRequest,
};

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/health", get(health))
        .route("/state", get(ui_state))
        .route("/repos", get(list_repos).post(add_repo))
        .route("/repos/{id}", axum::routing::delete(remove_repo))
        .route("/repos/{id}/branches", get(branches))
        .route("/repos/{id}/suggest-name", get(suggest_name))
        .route(
            "/repos/{id}/trust",
            get(repo_trust).put(trust_repo).delete(untrust_repo),
        )
        .route("/agents", get(agents))
        .route("/sessions", get(list_sessions).post(create_session))
        .route("/sessions/{id}", get(get_session))
        .route("/sessions/{id}/archive", post(archive_session))
        .route("/sessions/{id}/restore", post(restore_session))
        .route("/sessions/{id}/delete", post(delete_session))
        .route("/sessions/{id}/terminals", post(new_terminal))
        .route(
            "/terminals/{id}",
            get(super::terminal_ws::upgrade).delete(close_terminal),
        )
        .route("/terminals/{id}/restart", post(restart_terminal))
        .route("/events", get(events))
        .merge(super::review::routes())
        .merge(super::secrets::routes())
        .merge(super::github::routes())
        .merge(super::relay::routes())
}

/// Runs a blocking Grove call and turns its result into a response.
pub(super) async fn run<T, F>(grove: Grove, f: F) -> Response
where
    T: Serialize + Send + 'static,
    F: FnOnce(&Grove) -> Result<T, GroveError> + Send + 'static,
{
    match tokio::task::spawn_blocking(move || f(&grove)).await {
        Ok(Ok(v)) => Json(v).into_response(),
        Ok(Err(e)) => {
            if e.code() == ErrorCode::Internal {
                tracing::error!(err = %e, "request failed");
            }
            error_response(e.to_api())
        }
        Err(join) => {
            tracing::error!(err = %join, "request handler panicked");
            error_response(ApiError {
                code: ErrorCode::Internal,
                message: "internal error".into(),
            })
        }
    }
}

/// A JSON body whose rejection is a wire error, not axum's plain text.
pub(super) struct Body<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Body<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(v)) => Ok(Body(v)),
            Err(rej) => Err(error_response(ApiError {
                code: ErrorCode::InvalidRequest,
                message: rej.body_text(),
            })),
        }
    }
}

/// An optional JSON body (missing or empty means the default).
pub(super) struct MaybeBody<T>(pub T);

impl<T: DeserializeOwned + Default, S: Send + Sync> FromRequest<S> for MaybeBody<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(IntoResponse::into_response)?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(MaybeBody(T::default()));
        }
        serde_json::from_slice(&bytes).map(MaybeBody).map_err(|e| {
            error_response(ApiError {
                code: ErrorCode::InvalidRequest,
                message: format!("invalid JSON body: {e}"),
            })
        })
    }
}

async fn health() -> Json<Health> {
    Json(Health {
        ok: true,
        version: env!("CARGO_PKG_VERSION").to_owned(),
        protocol: PROTOCOL_VERSION,
    })
}

#[derive(Debug, Default, serde::Deserialize)]
struct StateQuery {
    /// Also the first pane's screen (`?first_pane=true`): what a starting UI asks for.
    #[serde(default)]
    first_pane: bool,
}

async fn ui_state(State(s): State<AppState>, Query(q): Query<StateQuery>) -> Response {
    run(s.grove, move |g| g.ui_state(q.first_pane)).await
}

async fn list_repos(State(s): State<AppState>) -> Response {
    run(s.grove, |g| g.repos()).await
}

async fn add_repo(State(s): State<AppState>, Body(req): Body<AddRepoRequest>) -> Response {
    run(s.grove, move |g| g.add_repo(&req.path)).await
}

async fn remove_repo(State(s): State<AppState>, Path(id): Path<i64>) -> Response {
    run(s.grove, move |g| g.remove_repo(id)).await
}

async fn branches(State(s): State<AppState>, Path(id): Path<i64>) -> Response {
    run(s.grove, move |g| g.branches(id)).await
}

async fn suggest_name(
    State(s): State<AppState>,
    Path(id): Path<i64>,
    Query(q): Query<SuggestNameQuery>,
) -> Response {
    run(s.grove, move |g| {
        Ok(SuggestedName {
            name: g.suggest_session_name(id, q.base.as_deref())?,
        })
    })
    .await
}

async fn repo_trust(State(s): State<AppState>, Path(id): Path<i64>) -> Response {
    run(s.grove, move |g| g.repo_trust(id)).await
}

async fn trust_repo(
    State(s): State<AppState>,
    Path(id): Path<i64>,
    Body(req): Body<TrustRequest>,
) -> Response {
    run(s.grove, move |g| g.trust_repo(id, &req)).await
}

async fn untrust_repo(State(s): State<AppState>, Path(id): Path<i64>) -> Response {
    run(s.grove, move |g| g.untrust_repo(id)).await
}

async fn agents(State(s): State<AppState>) -> Response {
    run(s.grove, |g| Ok(g.agent_presets())).await
}

async fn list_sessions(State(s): State<AppState>) -> Response {
    run(s.grove, |g| g.sessions()).await
}

async fn get_session(State(s): State<AppState>, Path(id): Path<i64>) -> Response {
    run(s.grove, move |g| g.session(id)).await
}

async fn create_session(
    State(s): State<AppState>,
    Body(req): Body<CreateSessionRequest>,
) -> Response {
    run(s.grove, move |g| g.create_session(req)).await
}

async fn archive_session(
    State(s): State<AppState>,
    Path(id): Path<i64>,
    MaybeBody(req): MaybeBody<ForceRequest>,
) -> Response {
    run(s.grove, move |g| g.archive_session(id, req.force)).await
}

async fn restore_session(State(s): State<AppState>, Path(id): Path<i64>) -> Response {
    run(s.grove, move |g| g.restore_session(id)).await
}

async fn delete_session(
    State(s): State<AppState>,
    Path(id): Path<i64>,
    MaybeBody(req): MaybeBody<ForceRequest>,
) -> Response {
    run(s.grove, move |g| {
        g.delete_session(id, req.force)
            .map(|()| serde_json::json!({"deleted": id}))
    })
    .await
}

async fn new_terminal(
    State(s): State<AppState>,
    Path(id): Path<i64>,
    MaybeBody(req): MaybeBody<NewTerminalRequest>,
) -> Response {
    run(s.grove, move |g| g.new_terminal(id, req.command)).await
}

async fn restart_terminal(State(s): State<AppState>, Path(id): Path<i64>) -> Response {
    run(s.grove, move |g| g.restart_terminal(id)).await
}

async fn close_terminal(State(s): State<AppState>, Path(id): Path<i64>) -> Response {
    run(s.grove, move |g| {
        g.close_terminal(id)
            .map(|()| serde_json::json!({"closed": id}))
    })
    .await
}

/// Largest message a client may send on the events socket: it has nothing to say there but
/// close frames and pongs, so anything big is refused before it is buffered.
const EVENTS_INBOUND_MAX: usize = 4 * 1024;

async fn events(State(s): State<AppState>, ws: WebSocketUpgrade) -> Response {
    ws.protocols([PROTOCOL])
        .max_message_size(EVENTS_INBOUND_MAX)
        .max_frame_size(EVENTS_INBOUND_MAX)
        .on_upgrade(move |socket| async move {
            if let Err(err) = stream_events(s.grove, s.liveness, socket).await {
                tracing::debug!(%err, "events socket ended");
            }
        })
}

async fn stream_events(
    grove: Grove,
    liveness: Liveness,
    mut socket: WebSocket,
) -> Result<(), axum::Error> {
    let mut rx = grove.subscribe_events();
    let mut heartbeat = Heartbeat::new(liveness);
    loop {
        tokio::select! {
            ev = rx.recv() => {
                let ev = match ev {
                    Ok(ev) => ev,
                    // The client fell behind by more than the channel holds: tell it to reload
                    // rather than silently missing events.
                    Err(RecvError::Lagged(_)) => Event::Resync,
                    Err(RecvError::Closed) => break,
                };
                let Ok(text) = serde_json::to_string(&ev) else { continue };
                heartbeat.send(&mut socket, Message::Text(text.into())).await?;
            }
            () = heartbeat.tick() => heartbeat.ping(&mut socket).await?,
            msg = socket.recv() => match heartbeat.seen(msg) {
                Some(Ok(Message::Close(_))) | None => break,
                Some(Err(err)) => return Err(err),
                Some(Ok(_)) => {}
            }
        }
    }
    Ok(())
}
