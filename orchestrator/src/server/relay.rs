//! Remote servers over this one: `/remotes` to list, add and remove them, and the relay
//! `/remotes/{name}/relay/{*path}`, which hands any request (WebSocket upgrades included) to the
//! remote's `/api/v1/{path}` with the remote's token. The UI talks to its own server only, with
//! its own token; the remote's token never leaves this process.

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{FromRequestParts, Path, Request, State};
use axum::http::{HeaderMap, HeaderName, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, delete, get};
use axum::{Json, Router};
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite;

use super::AppState;
use super::access::PROTOCOL;
use super::api::{Body, run};
use super::error::error_response;
use super::heartbeat::{Heartbeat, Liveness};
use crate::remote::link::{LinkError, RemoteSocket, bearer};
use crate::wire::{AddRemoteRequest, ApiError, ErrorCode};

/// Largest message relayed from the UI to a remote (the remote applies its own limits too).
const RELAY_INBOUND_MAX: usize = super::MAX_INBOUND;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/remotes", get(list).post(add))
        .route("/remotes/{name}", delete(remove))
        .route("/remotes/{name}/relay/{*path}", any(relay))
}

async fn list(State(s): State<AppState>) -> Response {
    Json(s.grove.list_remotes()).into_response()
}

async fn add(State(s): State<AppState>, Body(req): Body<AddRemoteRequest>) -> Response {
    match s.grove.add_remote(req).await {
        Ok(remote) => Json(remote).into_response(),
        Err(e) => error_response(e.to_api()),
    }
}

async fn remove(State(s): State<AppState>, Path(name): Path<String>) -> Response {
    run(s.grove, move |g| {
        g.remove_remote(&name).map(|()| serde_json::json!({}))
    })
    .await
}

/// Request headers that belong to this hop, or to the UI's side, and are not passed on.
fn hop_header(name: &HeaderName) -> bool {
    matches!(
        name.as_str(),
        "host"
            | "origin"
            | "referer"
            | "cookie"
            | "authorization"
            | "connection"
            | "keep-alive"
            | "proxy-connection"
            | "proxy-authorization"
            | "te"
            | "trailer"
            | "transfer-encoding"
            | "upgrade"
    ) || name.as_str().starts_with("sec-websocket")
}

fn is_websocket(headers: &HeaderMap) -> bool {
    headers
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"))
}

fn link_error(name: &str, err: &LinkError) -> Response {
    error_response(ApiError {
        code: err.code(),
        message: format!("remote `{name}`: {err}"),
    })
}

async fn relay(
    State(s): State<AppState>,
    Path((name, _)): Path<(String, String)>,
    req: Request,
) -> Response {
    let mut relay = match s.grove.remotes().relay(&name) {
        Ok(r) => r,
        Err(why) => {
            return error_response(ApiError {
                code: why.code,
                message: why.message,
            });
        }
    };
    let (route, token) = (relay.route.clone(), relay.token.clone());
    let (mut parts, body) = req.into_parts();
    // The raw (still percent-encoded) rest of the path, after `/remotes/{name}/relay`.
    let prefix = format!("/remotes/{name}/relay");
    let rest = parts.uri.path().strip_prefix(&prefix).unwrap_or("/");
    let target = match parts.uri.query() {
        Some(q) => format!("{rest}?{q}"),
        None => rest.to_owned(),
    };

    if is_websocket(&parts.headers) {
        let upgrade = match WebSocketUpgrade::from_request_parts(&mut parts, &s).await {
            Ok(u) => u,
            Err(rej) => return rej.into_response(),
        };
        // The remote's socket first: when it cannot be had, the UI gets an HTTP error (and its
        // pane retries) instead of a socket that closes at once.
        let remote = match route.websocket(&target, &token).await {
            Ok(ws) => ws,
            Err(e) => return link_error(&name, &e),
        };
        let liveness = s.liveness;
        return upgrade
            .protocols([PROTOCOL])
            .max_message_size(RELAY_INBOUND_MAX)
            .max_frame_size(RELAY_INBOUND_MAX)
            .on_upgrade(move |socket| async move {
                if let Err(err) = pump(socket, remote, liveness, relay).await {
                    tracing::debug!(remote = %name, %err, "relayed socket ended");
                }
            });
    }

    let mut builder = axum::http::Request::builder()
        .method(parts.method.clone())
        .uri(format!("/api/v1{target}"));
    for (k, v) in &parts.headers {
        if !hop_header(k) {
            builder = builder.header(k, v);
        }
    }
    let auth = match bearer(&token) {
        Ok(v) => v,
        Err(e) => return link_error(&name, &e),
    };
    let out = match builder.header(header::AUTHORIZATION, auth).body(body) {
        Ok(r) => r,
        Err(e) => {
            return error_response(ApiError {
                code: ErrorCode::InvalidRequest,
                message: format!("could not relay this request: {e}"),
            });
        }
    };
    // A remote that stops answering mid-request (a laptop lid, a frozen VM) is noticed by its
    // events socket; what is in flight on it ends then, instead of waiting forever.
    let sent = tokio::select! {
        res = route.send(out) => res,
        () = relay.lost() => {
            return error_response(ApiError {
                code: ErrorCode::RemoteOffline,
                message: format!("remote `{name}` stopped answering (or was removed) before it answered; try again once it is connected"),
            });
        }
    };
    let res = match sent {
        Ok(r) => r,
        Err(e) => return link_error(&name, &e),
    };
    if res.status() == StatusCode::UNAUTHORIZED {
        // Not the UI's token (that one passed here): the remote's. Never a 401, which would
        // tell the UI to ask its user for this server's token.
        return link_error(&name, &LinkError::Unauthorized);
    }
    let (mut rparts, rbody) = res.into_parts();
    rparts.headers.remove(header::CONNECTION);
    rparts.headers.remove(header::TRANSFER_ENCODING);
    rparts.headers.remove("keep-alive");
    Response::from_parts(rparts, axum::body::Body::new(rbody))
}

fn to_remote(msg: Message) -> Option<tungstenite::Message> {
    Some(match msg {
        Message::Text(t) => tungstenite::Message::Text(t.as_str().into()),
        Message::Binary(b) => tungstenite::Message::Binary(b),
        Message::Close(frame) => {
            tungstenite::Message::Close(frame.map(|f| tungstenite::protocol::CloseFrame {
                code: f.code.into(),
                reason: f.reason.as_str().into(),
            }))
        }
        // Each hop answers its own pings.
        Message::Ping(_) | Message::Pong(_) => return None,
    })
}

fn to_local(msg: tungstenite::Message) -> Option<Message> {
    Some(match msg {
        tungstenite::Message::Text(t) => Message::Text(t.as_str().into()),
        tungstenite::Message::Binary(b) => Message::Binary(b),
        tungstenite::Message::Close(frame) => Message::Close(frame.map(|f| CloseFrame {
            code: f.code.into(),
            reason: f.reason.as_str().into(),
        })),
        _ => return None,
    })
}

/// Passes frames both ways until either side ends. The UI's side is pinged like any socket of
/// this server, so a UI that vanished lets go of the remote's terminal.
async fn pump(
    mut local: WebSocket,
    mut remote: RemoteSocket,
    liveness: Liveness,
    mut relay: crate::remote::manager::Relay,
) -> Result<(), axum::Error> {
    let mut heartbeat = Heartbeat::new(liveness);
    loop {
        tokio::select! {
            // Removed: the pane closes for good (1008 is not retried). The connection ended (the
            // remote stopped answering): 1012, the pane retries and resumes from its offset.
            () = relay.lost() => {
                let (code, reason) = if *relay.removed.borrow() {
                    (1008, "the remote server was removed")
                } else {
                    (1012, "the remote server stopped answering")
                };
                let _ = heartbeat
                    .send(
                        &mut local,
                        Message::Close(Some(CloseFrame {
                            code,
                            reason: reason.into(),
                        })),
                    )
                    .await;
                let _ = remote.close(None).await;
                return Ok(());
            }
            msg = local.recv() => {
                let Some(Ok(msg)) = heartbeat.seen(msg) else {
                    let _ = remote.close(None).await;
                    return Ok(());
                };
                let closing = matches!(msg, Message::Close(_));
                if let Some(m) = to_remote(msg) && remote.send(m).await.is_err() {
                    return Ok(());
                }
                if closing {
                    return Ok(());
                }
            }
            msg = remote.next() => {
                match msg {
                    Some(Ok(m)) => {
                        let closing = matches!(m, tungstenite::Message::Close(_));
                        if let Some(m) = to_local(m) {
                            heartbeat.send(&mut local, m).await?;
                        }
                        if closing {
                            return Ok(());
                        }
                    }
                    _ => {
                        // The remote went away without a word: tell the UI it may retry.
                        let _ = heartbeat
                            .send(
                                &mut local,
                                Message::Close(Some(CloseFrame {
                                    code: 1012,
                                    reason: "the remote server went away".into(),
                                })),
                            )
                            .await;
                        return Ok(());
                    }
                }
            }
            () = heartbeat.tick() => heartbeat.ping(&mut local).await?,
        }
    }
}
