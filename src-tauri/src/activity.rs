//! Follows the orchestrator's events in-process: keeps the tray's counts current and raises a
//! native notification when a terminal asks for the user or an agent exits. Clicking one focuses
//! its session (where the platform reports clicks: freedesktop notifications on Linux).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::time::{Duration, Instant};

use grove_orchestrator::wire::{Event, TerminalKind, TerminalStatus};
use tauri::{AppHandle, Manager};
use tokio::sync::broadcast::error::RecvError;

use crate::shell::{self, Shell};
use crate::tray::Tray;

/// Counts are recomputed at most this often during bursts of events.
const COALESCE: Duration = Duration::from_millis(150);
/// At most one notification per session this often (a program ringing the bell in a loop).
const PER_SESSION: Duration = Duration::from_secs(10);

/// Runs until the event stream ends (the app exits).
pub async fn follow(app: AppHandle, tray: Option<Tray>) {
    let grove = app.state::<Shell>().grove.clone();
    let mut events = grove.subscribe_events();
    let mut last_notified: HashMap<(Option<String>, i64), Instant> = HashMap::new();
    let mut exited: HashMap<(Option<String>, i64), bool> = HashMap::new();
    let waiting = Arc::new(AtomicUsize::new(0));
    // Counting sessions reads SQLite, naming one does too, and showing a notification is a
    // D-Bus round trip: all of it runs on a blocking thread, never on the runtime's workers
    // (which carry every terminal socket).
    let tray = Arc::new(tray);
    let work = |refresh: bool, notes: Vec<Note>| {
        let (app, grove, tray, waiting) =
            (app.clone(), grove.clone(), tray.clone(), waiting.clone());
        tokio::task::spawn_blocking(move || {
            if refresh && let Some(tray) = tray.as_ref() {
                tray.show(shell::counts(&grove));
            }
            for Note {
                server,
                session_id,
                what,
                body,
            } in notes
            {
                let name = match &server {
                    None => grove.session(session_id).map(|s| s.name).ok(),
                    Some(server) => grove
                        .remotes()
                        .session_name(server, session_id)
                        .map(|n| format!("{n} on {server}")),
                }
                .unwrap_or_else(|| format!("session {session_id}"));
                notify(
                    &app,
                    &waiting,
                    (session_id, server),
                    &format!("{name}: {what}"),
                    &body,
                );
            }
        })
    };
    let _ = work(true, Vec::new()).await;
    loop {
        let ev = match events.recv().await {
            Ok(ev) => ev,
            Err(RecvError::Lagged(_)) => {
                let _ = work(true, Vec::new()).await;
                continue;
            }
            Err(RecvError::Closed) => return,
        };
        let mut notes = Vec::new();
        notes.extend(note_for(&ev, &mut exited));
        let refresh = changes_counts(&ev);
        if refresh {
            // Let a burst settle, then count once; the burst's events still each get their
            // notification.
            tokio::time::sleep(COALESCE).await;
            while let Ok(ev) = events.try_recv() {
                notes.extend(note_for(&ev, &mut exited));
            }
        }
        let focused = !notes.is_empty() && window_focused(&app);
        notes.retain(|n| {
            let key = (n.server.clone(), n.session_id);
            let recent = last_notified
                .get(&key)
                .is_some_and(|t| t.elapsed() < PER_SESSION);
            if recent || focused {
                return false;
            }
            last_notified.insert(key, Instant::now());
            true
        });
        if refresh || !notes.is_empty() {
            let _ = work(refresh, notes).await;
        }
    }
}

/// Whether an event can change the tray's counts.
fn changes_counts(ev: &Event) -> bool {
    matches!(
        ev,
        Event::SessionUpdated { .. }
            | Event::SessionRemoved { .. }
            | Event::TerminalUpdated { .. }
            | Event::TerminalRemoved { .. }
            | Event::Attention { .. }
            | Event::Resync
            | Event::RemoteChanged { .. }
            | Event::RemoteRemoved { .. }
    )
}

/// A notification to show: a session (of this server, or of the remote `server`), what
/// happened, and details.
#[derive(Debug, PartialEq)]
struct Note {
    server: Option<String>,
    session_id: i64,
    what: &'static str,
    body: String,
}

/// The notification an event calls for, if any. `exited` remembers which terminals had exited,
/// so only the transition notifies. A remote's events (relayed) notify like this server's.
fn note_for(ev: &Event, exited: &mut HashMap<(Option<String>, i64), bool>) -> Option<Note> {
    note_on(None, ev, exited)
}

fn note_on(
    server: Option<&str>,
    ev: &Event,
    exited: &mut HashMap<(Option<String>, i64), bool>,
) -> Option<Note> {
    let server_owned = server.map(str::to_owned);
    match ev {
        Event::Remote { server, event } if server_owned.is_none() => {
            note_on(Some(server), event, exited)
        }
        Event::Attention {
            session_id,
            message,
            ..
        } => Some(Note {
            server: server_owned,
            session_id: *session_id,
            what: "needs your attention",
            body: message
                .clone()
                .unwrap_or_else(|| "A terminal rang the bell.".into()),
        }),
        Event::TerminalUpdated { terminal } => {
            let now_exited = terminal.status == TerminalStatus::Exited;
            let was = exited
                .insert((server_owned.clone(), terminal.id), now_exited)
                .unwrap_or(false);
            (terminal.kind == TerminalKind::Agent && now_exited && !was).then(|| {
                let how = match terminal.exit.and_then(|e| e.code) {
                    Some(0) => "The agent finished.".to_owned(),
                    Some(code) => format!("The agent exited with code {code}."),
                    None => "The agent ended.".to_owned(),
                };
                Note {
                    server: server_owned,
                    session_id: terminal.session_id,
                    what: "agent exited",
                    body: how,
                }
            })
        }
        _ => None,
    }
}

fn window_focused(app: &AppHandle) -> bool {
    app.get_webview_window(shell::MAIN)
        .is_some_and(|w| w.is_focused().unwrap_or(false) && w.is_visible().unwrap_or(false))
}

#[cfg(not(feature = "notifications"))]
fn notify(
    app: &AppHandle,
    waiting: &Arc<AtomicUsize>,
    session: (i64, Option<String>),
    summary: &str,
    body: &str,
) {
    let _ = (app, waiting, session, summary, body);
    tracing::info!("no notification: built without the `notifications` feature");
}

#[cfg(feature = "notifications")]
fn notify(
    app: &AppHandle,
    waiting: &Arc<AtomicUsize>,
    session: (i64, Option<String>),
    summary: &str,
    body: &str,
) {
    let (session_id, server) = session;
    let mut n = notify_rust::Notification::new();
    // Notification servers render a subset of markup in these: a program's (or a session
    // name's) `<a href=…>` must arrive as text.
    use grove_orchestrator::attention::escape_markup;
    n.appname("Grove")
        .summary(&escape_markup(summary))
        .body(&escape_markup(body));
    #[cfg(all(unix, not(target_os = "macos")))]
    {
        use std::sync::atomic::Ordering;

        use crate::shell::UiAction;
        /// Notifications whose click is awaited at once (each waits on its own thread until
        /// closed).
        const MAX_WAITING: usize = 8;
        n.action("default", "Show session");
        match n.show() {
            Ok(handle) => {
                if waiting.fetch_add(1, Ordering::SeqCst) >= MAX_WAITING {
                    waiting.fetch_sub(1, Ordering::SeqCst);
                    return;
                }
                let app = app.clone();
                let counter = waiting.clone();
                let spawned = std::thread::Builder::new()
                    .name("notification click".into())
                    .spawn(move || {
                        handle.wait_for_action(|action| {
                            if action == "default" {
                                shell::dispatch(
                                    &app,
                                    UiAction::FocusSession {
                                        session_id,
                                        server: server.clone(),
                                    },
                                );
                            }
                        });
                        counter.fetch_sub(1, Ordering::SeqCst);
                    });
                if spawned.is_err() {
                    waiting.fetch_sub(1, Ordering::SeqCst);
                    tracing::warn!("could not wait for a notification click");
                }
            }
            Err(err) => tracing::info!(%err, "no notification (is a notification daemon running?)"),
        }
    }
    #[cfg(not(all(unix, not(target_os = "macos"))))]
    {
        // macOS and Windows report no click through notify-rust: the notification only informs.
        let _ = (app, waiting, session_id, server);
        if let Err(err) = n.show() {
            tracing::info!(%err, "no notification");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use grove_orchestrator::wire::{ExitInfo, TerminalInfo};

    fn agent(session_id: i64, status: TerminalStatus) -> TerminalInfo {
        TerminalInfo {
            id: 7,
            session_id,
            kind: TerminalKind::Agent,
            command: "claude".into(),
            status,
            exit: None,
            rows: 24,
            cols: 80,
            log_end: 0,
            status_since: 0,
        }
    }

    #[test]
    fn remote_events_notify_with_their_server() {
        let mut exited = HashMap::new();
        let bell = Event::Attention {
            session_id: 3,
            terminal_id: 7,
            message: None,
        };
        let relayed = Event::Remote {
            server: "devbox".into(),
            event: Box::new(bell.clone()),
        };
        let local = note_for(&bell, &mut exited).map(|n| (n.server, n.session_id));
        assert_eq!(local, Some((None, 3)));
        let remote = note_for(&relayed, &mut exited).map(|n| (n.server, n.session_id));
        assert_eq!(remote, Some((Some("devbox".into()), 3)));

        // Exits are tracked per server: the same terminal id on two servers are two terminals.
        let mut t = agent(3, TerminalStatus::Exited);
        t.exit = Some(ExitInfo {
            code: Some(0),
            signal: None,
        });
        let exit_remote = Event::Remote {
            server: "devbox".into(),
            event: Box::new(Event::TerminalUpdated {
                terminal: t.clone(),
            }),
        };
        assert!(note_for(&exit_remote, &mut exited).is_some());
        assert!(
            note_for(&exit_remote, &mut exited).is_none(),
            "notified twice"
        );
        assert!(note_for(&Event::TerminalUpdated { terminal: t }, &mut exited).is_some());
    }
}
