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
    let mut last_notified: HashMap<i64, Instant> = HashMap::new();
    let mut exited: HashMap<i64, bool> = HashMap::new();
    let waiting = Arc::new(AtomicUsize::new(0));
    // Counting sessions reads SQLite, naming one does too, and showing a notification is a
    // D-Bus round trip: all of it runs on a blocking thread, never on the runtime's workers
    // (which carry every terminal socket).
    let tray = Arc::new(tray);
    let work = |refresh: bool, notes: Vec<(i64, &'static str, String)>| {
        let (app, grove, tray, waiting) =
            (app.clone(), grove.clone(), tray.clone(), waiting.clone());
        tokio::task::spawn_blocking(move || {
            if refresh && let Some(tray) = tray.as_ref() {
                tray.show(shell::counts(&grove));
            }
            for (session_id, what, body) in notes {
                let name = grove
                    .session(session_id)
                    .map(|s| s.name)
                    .unwrap_or_else(|_| format!("session {session_id}"));
                notify(
                    &app,
                    &waiting,
                    session_id,
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
        notes.retain(|(session_id, _, _)| {
            let recent = last_notified
                .get(session_id)
                .is_some_and(|t| t.elapsed() < PER_SESSION);
            if recent || focused {
                return false;
            }
            last_notified.insert(*session_id, Instant::now());
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
    )
}

/// The notification an event calls for, if any: (session, what happened, details). `exited`
/// remembers which terminals had exited, so only the transition notifies.
fn note_for(ev: &Event, exited: &mut HashMap<i64, bool>) -> Option<(i64, &'static str, String)> {
    match ev {
        Event::Attention {
            session_id,
            message,
            ..
        } => Some((
            *session_id,
            "needs your attention",
            message
                .clone()
                .unwrap_or_else(|| "A terminal rang the bell.".into()),
        )),
        Event::TerminalUpdated { terminal } => {
            let now_exited = terminal.status == TerminalStatus::Exited;
            let was = exited.insert(terminal.id, now_exited).unwrap_or(false);
            (terminal.kind == TerminalKind::Agent && now_exited && !was).then(|| {
                let how = match terminal.exit.and_then(|e| e.code) {
                    Some(0) => "The agent finished.".to_owned(),
                    Some(code) => format!("The agent exited with code {code}."),
                    None => "The agent ended.".to_owned(),
                };
                (terminal.session_id, "agent exited", how)
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
fn notify(app: &AppHandle, waiting: &Arc<AtomicUsize>, session_id: i64, summary: &str, body: &str) {
    let _ = (app, waiting, session_id, summary, body);
    tracing::info!("no notification: built without the `notifications` feature");
}

#[cfg(feature = "notifications")]
fn notify(app: &AppHandle, waiting: &Arc<AtomicUsize>, session_id: i64, summary: &str, body: &str) {
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
                                shell::dispatch(&app, UiAction::FocusSession { session_id });
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
        let _ = (app, waiting, session_id);
        if let Err(err) = n.show() {
            tracing::info!(%err, "no notification");
        }
    }
}
