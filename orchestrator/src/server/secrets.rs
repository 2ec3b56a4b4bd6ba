//! The vault and secrets routes. Bodies that carry a passphrase or a value are parsed by
//! [`SecretBody`], whose errors never quote the body; no route returns a value.

use axum::Router;
use axum::extract::{FromRequest, Path, Request, State};
use axum::response::Response;
use axum::routing::{delete, get, post, put};
use serde::de::DeserializeOwned;

use super::AppState;
use super::api::{Body, run};
use super::error::error_response;
use crate::wire::{
    ApiError, ChangePassphraseRequest, ErrorCode, ExposeSecretRequest, SetSecretRequest,
    UnlockVaultRequest,
};

/// Largest body of a secret-bearing request: a 64 KiB value, JSON-escaped, with room to spare.
const SECRET_BODY_MAX: usize = 512 * 1024;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/vault", get(status))
        .route("/vault/unlock", post(unlock))
        .route("/vault/lock", post(lock))
        .route("/vault/passphrase", post(change_passphrase))
        .route("/secrets", get(list))
        .route("/secrets/{name}", put(set).delete(remove))
        .route("/exposures", get(exposures).post(expose))
        .route("/repos/{id}/exposures/{var}", delete(unexpose))
}

/// A JSON body holding a secret. A body that does not parse is refused with the expected shape
/// only: serde's messages may quote what they could not read.
pub(super) struct SecretBody<T>(pub(super) T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for SecretBody<T> {
    type Rejection = Response;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let refuse = |what: &str| {
            error_response(ApiError {
                code: ErrorCode::InvalidRequest,
                message: format!("{what}; see the API's request types for the expected fields"),
            })
        };
        let bytes = axum::body::to_bytes(req.into_body(), SECRET_BODY_MAX)
            .await
            .map_err(|_| refuse("the request body is too large or could not be read"))?;
        serde_json::from_slice(&bytes)
            .map(SecretBody)
            .map_err(|_| refuse("the request body is not the JSON object this route takes"))
    }
}

async fn status(State(s): State<AppState>) -> Response {
    run(s.grove, |g| Ok(g.vault_status())).await
}

async fn unlock(
    State(s): State<AppState>,
    SecretBody(req): SecretBody<UnlockVaultRequest>,
) -> Response {
    run(s.grove, move |g| g.unlock_vault(&req.passphrase.0)).await
}

async fn lock(State(s): State<AppState>) -> Response {
    run(s.grove, |g| Ok(g.lock_vault())).await
}

async fn change_passphrase(
    State(s): State<AppState>,
    SecretBody(req): SecretBody<ChangePassphraseRequest>,
) -> Response {
    run(s.grove, move |g| {
        g.change_vault_passphrase(&req.current.0, &req.new.0)
    })
    .await
}

async fn list(State(s): State<AppState>) -> Response {
    run(s.grove, |g| g.secrets()).await
}

async fn set(
    State(s): State<AppState>,
    Path(name): Path<String>,
    SecretBody(req): SecretBody<SetSecretRequest>,
) -> Response {
    run(s.grove, move |g| g.set_secret(&name, &req.value.0)).await
}

async fn remove(State(s): State<AppState>, Path(name): Path<String>) -> Response {
    run(s.grove, move |g| {
        g.delete_secret(&name)
            .map(|()| serde_json::json!({ "deleted": name }))
    })
    .await
}

async fn exposures(State(s): State<AppState>) -> Response {
    run(s.grove, |g| g.exposures()).await
}

async fn expose(State(s): State<AppState>, Body(req): Body<ExposeSecretRequest>) -> Response {
    run(s.grove, move |g| g.expose_secret(&req)).await
}

async fn unexpose(State(s): State<AppState>, Path((id, var)): Path<(i64, String)>) -> Response {
    run(s.grove, move |g| {
        g.unexpose_secret(id, &var)
            .map(|()| serde_json::json!({ "removed": var }))
    })
    .await
}
