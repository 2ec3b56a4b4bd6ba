//! `/api/v1/terminals/{id}`: one attached client of a terminal.
//!
//! Where the stream starts: with no query, a snapshot of the terminal's screen (rendered by its
//! screen model) and then live bytes from the offset the snapshot corresponds to; with
//! `?from=OFFSET`, exactly the bytes after OFFSET (a reconnecting client that is current) — or a
//! snapshot when the log no longer holds OFFSET.
//!
//! Server → client: a `hello` text frame with the offset of the first byte that follows (and the
//! snapshot, if any), then binary frames of PTY bytes exactly as produced (at most 64 KiB each,
//! whatever the log holds when the socket can take more), and text frames for `resync` (the
//! client fell a whole ring behind: a fresh snapshot replaces the lost bytes), `exit` and
//! `restarted`. Client → server: binary frames are input, text frames are `resize` and `ack`.
//!
//! Flow control is grove-pty's ([`grove_pty::flow`], which states the rule): this socket reports
//! what it sent and what the client acked, and sends nothing while its reader is saturated. A
//! client that stops reading is left behind (and gets `resync` when the ring moves past it), so
//! it never holds up another client, grows a buffer, or holds the program for more than a few
//! seconds.
//!
//! A client that stops answering (a laptop that went to sleep leaves a half-open connection) is
//! dropped: the server pings every [`Liveness`] interval and ends the socket when nothing, not even
//! a pong, has come back for two intervals, or when a send has been stuck that long.

use std::sync::Arc;

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, Query, State};
use axum::response::Response;
use grove_pty::Chunk;
use serde::Deserialize;

use super::AppState;
use super::access::PROTOCOL;
use super::error::{bad_request, error_response};
use super::heartbeat::{Heartbeat, Liveness};
use crate::grove::Grove;
use crate::live::LiveTerminal;
use crate::wire::{ApiError, ClientFrame, ErrorCode, ExitInfo, ScreenSnapshot, ServerFrame};

/// Most bytes in one binary frame.
pub const FRAME_MAX: usize = 64 * 1024;

#[derive(Debug, Deserialize)]
pub(super) struct AttachQuery {
    from: Option<String>,
}

pub(super) async fn upgrade(
    State(s): State<AppState>,
    Path(id): Path<i64>,
    Query(q): Query<AttachQuery>,
    ws: WebSocketUpgrade,
) -> Response {
    let live = match s.grove.terminal(id) {
        Ok(l) => l,
        Err(e) => return error_response(e.to_api()),
    };
    let (start, _) = live.log().bounds();
    let from = match q.from.as_deref().map(str::parse::<u64>) {
        None => None,
        Some(Ok(v)) => (v >= start).then_some(v),
        Some(Err(_)) => {
            let v = q.from.unwrap_or_default();
            return bad_request(format!(
                "`from` must be a byte offset (a non-negative integer), not `{v}`"
            ));
        }
    };
    let liveness = s.liveness;
    ws.protocols([PROTOCOL])
        .max_message_size(super::MAX_INBOUND)
        .max_frame_size(super::MAX_INBOUND)
        .on_upgrade(move |socket| async move {
            if let Err(err) = stream(s.grove, live, from, liveness, socket).await {
                tracing::debug!(%err, "terminal socket ended");
            }
        })
}

async fn send_frame(
    socket: &mut WebSocket,
    heartbeat: &Heartbeat,
    frame: &ServerFrame,
) -> Result<(), axum::Error> {
    let text = serde_json::to_string(frame).map_err(axum::Error::new)?;
    heartbeat.send(socket, Message::Text(text.into())).await
}

/// The terminal's current screen, rendered off the async runtime (catching the model up with
/// the log can take a moment after a flood).
async fn snapshot(live: &Arc<LiveTerminal>) -> Result<(u64, ScreenSnapshot), axum::Error> {
    let screen = Arc::clone(live.screen());
    let snap = tokio::task::spawn_blocking(move || screen.snapshot())
        .await
        .map_err(axum::Error::new)?;
    Ok((
        snap.offset,
        ScreenSnapshot {
            cols: snap.size.cols,
            rows: snap.size.rows,
            data: snap.data,
        },
    ))
}

/// `from`: the offset to resume at, or `None` to start with a snapshot.
async fn stream(
    grove: Grove,
    live: Arc<LiveTerminal>,
    from: Option<u64>,
    liveness: Liveness,
    mut socket: WebSocket,
) -> Result<(), axum::Error> {
    let mut heartbeat = Heartbeat::new(liveness);
    let (from, snap) = match from {
        Some(from) => (from, None),
        None => {
            let (offset, snap) = snapshot(&live).await?;
            (offset, Some(snap))
        }
    };
    let mut sub = live.log().subscribe(from);
    let sent = sub.next_offset();
    send_frame(
        &mut socket,
        &heartbeat,
        &ServerFrame::Hello {
            offset: sent,
            terminal: live.info(),
            snapshot: snap,
        },
    )
    .await?;
    let mut flow = live.attach(sent);
    let mut changed = live.watch();
    // After the log ends: whether we told the client the exit yet.
    let mut at_end = false;
    let mut exit_sent = false;
    loop {
        tokio::select! {
            chunk = sub.next(FRAME_MAX), if !flow.is_saturated() && !at_end => match chunk {
                Chunk::Data { offset, bytes } => {
                    // The bytes are ours now: the ring may reuse their space.
                    flow.sent(offset + bytes.len() as u64);
                    send_output(&mut socket, &mut flow, &heartbeat, bytes).await?;
                }
                Chunk::Truncated { .. } => {
                    // The client fell a whole ring behind: a snapshot replaces what it missed,
                    // and the stream continues from the snapshot's offset.
                    let (offset, snapshot) = snapshot(&live).await?;
                    sub = live.log().subscribe(offset);
                    flow.resync(offset);
                    send_frame(&mut socket, &heartbeat, &ServerFrame::Resync { offset, snapshot }).await?;
                }
                Chunk::End => {
                    at_end = true;
                    exit_sent = false;
                    if let Some(exit) = ended(&live) {
                        exit_sent = true;
                        send_frame(&mut socket, &heartbeat, &ServerFrame::Exit { exit }).await?;
                    }
                }
            },
            res = changed.changed(), if at_end => {
                if res.is_err() {
                    break;
                }
                if !live.log().is_closed() {
                    at_end = false;
                    send_frame(&mut socket, &heartbeat, &ServerFrame::Restarted { terminal: live.info() }).await?;
                } else if !exit_sent && let Some(exit) = ended(&live) {
                    exit_sent = true;
                    send_frame(&mut socket, &heartbeat, &ServerFrame::Exit { exit }).await?;
                }
            }
            () = heartbeat.tick() => heartbeat.ping(&mut socket).await?,
            msg = socket.recv() => match heartbeat.seen(msg) {
                Some(Ok(Message::Binary(bytes))) => {
                    // A keystroke is queued for the terminal's writer right here; only input
                    // for a program that has stopped reading waits, off the runtime.
                    let res = match grove.try_write_input(live.id, &bytes) {
                        Ok(false) => {
                            let g = grove.clone();
                            let id = live.id;
                            tokio::task::spawn_blocking(move || g.write_input(id, &bytes))
                                .await
                                .unwrap_or(Ok(()))
                        }
                        res => res.map(|_| ()),
                    };
                    if let Err(e) = res {
                        send_frame(&mut socket, &heartbeat, &ServerFrame::Error { error: e.to_api() }).await?;
                    }
                }
                Some(Ok(Message::Text(text))) => match ClientFrame::decode(&text) {
                    Ok(ClientFrame::Ack { offset }) => flow.acked(offset),
                    Ok(ClientFrame::Resize { rows, cols }) => {
                        let g = grove.clone();
                        let id = live.id;
                        let res = tokio::task::spawn_blocking(move || g.resize_terminal(id, rows, cols)).await;
                        if let Ok(Err(e)) = res {
                            send_frame(&mut socket, &heartbeat, &ServerFrame::Error { error: e.to_api() }).await?;
                        }
                    }
                    Err(message) => {
                        let error = ApiError { code: ErrorCode::InvalidRequest, message };
                        send_frame(&mut socket, &heartbeat, &ServerFrame::Error { error }).await?;
                    }
                },
                Some(Ok(Message::Close(_))) | None => break,
                Some(Ok(_)) => {}
                Some(Err(err)) => {
                    let text = err.to_string();
                    if text.contains("too long") || text.contains("too big") || text.contains("Space limit") {
                        let _ = socket
                            .send(Message::Close(Some(CloseFrame { code: 1009, reason: "message too big (max 1 MiB)".into() })))
                            .await;
                    }
                    return Err(err);
                }
            }
        }
    }
    Ok(())
}

/// A send that takes longer than this means the client (or the network) is not taking data:
/// it then counts as saturated, so it no longer holds the PTY reader back for the others.
const STUCK_SEND: std::time::Duration = std::time::Duration::from_millis(50);

async fn send_output(
    socket: &mut WebSocket,
    flow: &mut grove_pty::FlowReader,
    heartbeat: &Heartbeat,
    bytes: Vec<u8>,
) -> Result<(), axum::Error> {
    let send = heartbeat.send(socket, Message::Binary(bytes.into()));
    tokio::pin!(send);
    tokio::select! {
        res = &mut send => res,
        () = tokio::time::sleep(STUCK_SEND) => {
            flow.set_stuck(true);
            let res = send.await;
            flow.set_stuck(false);
            res
        }
    }
}

/// The exit to report once the output has ended: the program's status, or an empty one for a
/// terminal that ended with the app.
fn ended(live: &LiveTerminal) -> Option<ExitInfo> {
    let info = live.info();
    match info.exit {
        Some(exit) => Some(exit),
        None if live.terminal().is_none() => Some(ExitInfo {
            code: None,
            signal: None,
        }),
        None => None,
    }
}
