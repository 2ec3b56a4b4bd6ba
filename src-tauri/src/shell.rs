//! The shell's state and the few things it does with the window: hand the connection to the UI,
//! deliver UI actions (queued until the UI listens), show and hide, quit with a confirmation.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use grove_orchestrator::Grove;
use grove_orchestrator::wire::{SessionState, TerminalStatus};
use serde::Serialize;
use tauri::{AppHandle, Emitter, Manager};

use crate::links::{self, AuthOutcome, Link};
use crate::local_server::LocalServer;
use crate::settings::Settings;

/// The window every action is about.
pub const MAIN: &str = "main";
/// The event the UI listens to for [`UiAction`]s.
const UI_ACTION: &str = "grove:ui-action";
/// Actions kept while the UI is not listening yet; older ones are dropped beyond this.
const MAX_QUEUED: usize = 32;

/// What the shell asks the UI to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum UiAction {
    FocusSession {
        session_id: i64,
        /// The remote server the session is on; `None` for this one.
        #[serde(skip_serializing_if = "Option::is_none")]
        server: Option<String>,
    },
    NewSession,
    /// Open the update dialog (the tray's update item).
    ShowUpdate,
}

/// The address and token of the in-process server, for the UI only.
#[derive(Serialize)]
pub struct Connection {
    url: String,
    token: String,
}

#[derive(Default)]
struct UiQueue {
    ready: bool,
    queued: Vec<UiAction>,
}

/// Managed state of the app.
pub struct Shell {
    pub grove: Grove,
    server: Mutex<Option<LocalServer>>,
    ui: Mutex<UiQueue>,
    pub settings: Mutex<Settings>,
    settings_path: std::path::PathBuf,
    confirming: AtomicBool,
}

impl Shell {
    pub fn new(server: LocalServer, settings_path: std::path::PathBuf) -> Shell {
        Shell {
            grove: server.grove.clone(),
            server: Mutex::new(Some(server)),
            ui: Mutex::new(UiQueue::default()),
            settings: Mutex::new(Settings::load(&settings_path)),
            settings_path,
            confirming: AtomicBool::new(false),
        }
    }

    pub fn close_to_tray(&self) -> bool {
        self.settings
            .lock()
            .map(|s| s.close_to_tray)
            .unwrap_or(true)
    }

    pub fn set_close_to_tray(&self, on: bool) {
        self.edit_settings(|s| s.close_to_tray = on);
    }

    /// Changes the settings and saves them.
    pub fn edit_settings(&self, change: impl FnOnce(&mut Settings)) {
        if let Ok(mut s) = self.settings.lock() {
            change(&mut s);
            s.save(&self.settings_path);
        }
    }

    /// A copy of the settings.
    pub fn settings(&self) -> Settings {
        self.settings.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Stops the server and every terminal (on exit).
    pub fn stop(&self) {
        let server = self.server.lock().ok().and_then(|mut s| s.take());
        if let Some(mut server) = server {
            server.stop();
        }
    }
}

/// The `connection` command: where the UI finds the server.
#[tauri::command]
pub fn connection(shell: tauri::State<'_, Shell>) -> Result<Connection, String> {
    let server = shell
        .server
        .lock()
        .map_err(|_| "shell state poisoned".to_owned())?;
    let server = server.as_ref().ok_or("the server has stopped")?;
    Ok(Connection {
        url: server.info.url.clone(),
        token: server.info.token.expose().to_owned(),
    })
}

/// The `github_sign_in` command: starts the browser sign-in (state + PKCE) and opens GitHub's
/// authorize page in the system browser (`GROVE_BROWSER`, if set, is the program to open it
/// with). The redirect comes back as a `grove://auth/callback` link. Returns the page's URL.
#[tauri::command]
pub async fn github_sign_in(
    shell: tauri::State<'_, Shell>,
    workflow: bool,
) -> Result<String, String> {
    let grove = shell.grove.clone();
    let url = tauri::async_runtime::spawn_blocking(move || grove.github_login_web(workflow))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?;
    open_in_browser(&url)
        .map_err(|e| format!("could not open the browser ({e}); open this page yourself: {url}"))?;
    Ok(url)
}

/// Opens an http(s) URL in the user's browser.
fn open_in_browser(url: &str) -> std::io::Result<()> {
    use std::process::{Command, Stdio};
    if !(url.starts_with("https://") || url.starts_with("http://")) {
        return Err(std::io::Error::other("not an http(s) URL"));
    }
    let mut cmd = if let Some(browser) = std::env::var_os("GROVE_BROWSER").filter(|b| !b.is_empty())
    {
        let mut c = Command::new(browser);
        c.arg(url);
        c
    } else if cfg!(target_os = "macos") {
        let mut c = Command::new("open");
        c.arg(url);
        c
    } else if cfg!(windows) {
        // explorer hands a URL to the default browser without a shell parsing it.
        let mut c = Command::new("explorer");
        c.arg(url);
        c
    } else {
        let mut c = Command::new("xdg-open");
        c.arg(url);
        c
    };
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut child = cmd.spawn()?;
    // Reap it in the background: openers exit quickly, browsers may not.
    std::thread::spawn(move || child.wait());
    Ok(())
}

/// The connection, handed to the page as it loads: an initialization script of the main window
/// (main frame only) that leaves it where the page's first line reads it (`web/src/lib/boot.ts`),
/// which saves the page the `connection` round trip before its first request. The script checks
/// the page's origin first, so the token is given to the app's own pages only, never to a page
/// the window might have been navigated to; it lives in memory only, like the command's answer.
/// The `connection` command stays for pages loaded from elsewhere (the dev server).
pub fn connection_script(shell: &Shell) -> Option<String> {
    let server = shell.server.lock().ok()?;
    let server = server.as_ref()?;
    let conn = serde_json::json!({
        "url": server.info.url,
        "token": server.info.token.expose(),
    });
    let origins = serde_json::json!(crate::local_server::WEBVIEW_ORIGINS);
    Some(format!(
        "(function () {{ if ({origins}.indexOf(window.location.origin) < 0) return; \
         Object.defineProperty(window, '__GROVE_CONNECTION__', \
         {{ value: Object.freeze({conn}), configurable: true }}); }})();"
    ))
}

/// The `desktop_ready` command: the UI listens from now on; returns what was queued before.
#[tauri::command]
pub fn desktop_ready(shell: tauri::State<'_, Shell>) -> Vec<UiAction> {
    match shell.ui.lock() {
        Ok(mut ui) => {
            ui.ready = true;
            std::mem::take(&mut ui.queued)
        }
        Err(_) => Vec::new(),
    }
}

/// Delivers an action to the UI now, or queues it until the UI is ready. Brings the window up.
pub fn dispatch(app: &AppHandle, action: UiAction) {
    show_main(app);
    let shell = app.state::<Shell>();
    let Ok(mut ui) = shell.ui.lock() else { return };
    if !ui.ready {
        if ui.queued.len() >= MAX_QUEUED {
            ui.queued.remove(0);
            tracing::warn!("too many actions before the UI was ready; dropped the oldest");
        }
        ui.queued.push(action);
        return;
    }
    drop(ui);
    if let Err(err) = app.emit_to(MAIN, UI_ACTION, action) {
        tracing::warn!(%err, "could not deliver an action to the UI");
    }
}

/// Handles one `grove:` link from the command line, a second launch or the OS.
pub fn open_link(app: &AppHandle, raw: &str) {
    let link = match links::parse(raw) {
        Ok(link) => link,
        Err(err) => {
            // The link itself is not logged: a malformed auth callback may still hold a code.
            tracing::warn!(%err, "ignored a grove:// link");
            return;
        }
    };
    match link {
        Link::Session(id) => {
            let grove = app.state::<Shell>().grove.clone();
            if grove.session(id).is_ok() {
                dispatch(
                    app,
                    UiAction::FocusSession {
                        session_id: id,
                        server: None,
                    },
                );
            } else {
                tracing::warn!(id, "ignored a link to a session that does not exist");
            }
        }
        Link::AuthCallback(cb) => {
            // The orchestrator checks the state (single use, 10 minutes) and exchanges the code
            // with the PKCE verifier, off the main thread (it talks to GitHub). The UI hears
            // the outcome as a `github_changed` event; the code is never logged.
            tracing::info!(callback = ?cb, "GitHub sign-in callback received");
            let grove = app.state::<Shell>().grove.clone();
            let (code, error) = match cb.outcome {
                AuthOutcome::Code(c) => {
                    (Some(grove_orchestrator::vault::SecretString::from(c)), None)
                }
                AuthOutcome::Error(e) => (None, Some(e)),
            };
            let state = cb.state;
            std::thread::spawn(move || {
                if let Err(err) = grove.github_auth_callback(&state, code, error.as_deref()) {
                    tracing::warn!(%err, "GitHub sign-in did not complete");
                }
            });
            show_main(app);
        }
    }
}

/// Shows, unminimizes and focuses the main window.
pub fn show_main(app: &AppHandle) {
    if let Some(w) = app.get_webview_window(MAIN) {
        let _ = w.show();
        let _ = w.unminimize();
        let _ = w.set_focus();
    }
}

/// Shows the window if hidden, hides it otherwise.
pub fn toggle_main(app: &AppHandle) {
    if let Some(w) = app.get_webview_window(MAIN) {
        if w.is_visible().unwrap_or(false) {
            let _ = w.hide();
        } else {
            show_main(app);
        }
    }
}

/// Sessions with a live program, and sessions waiting for the user.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub running: usize,
    pub attention: usize,
    /// Live terminals across all sessions (what quitting would stop).
    pub live_terminals: usize,
}

pub fn counts(grove: &Grove) -> Counts {
    let Ok(sessions) = grove.sessions() else {
        return Counts::default();
    };
    let mut c = Counts::default();
    for s in sessions.iter().filter(|s| s.state == SessionState::Active) {
        let live = |t: &&grove_orchestrator::wire::TerminalInfo| {
            matches!(
                t.status,
                TerminalStatus::Running | TerminalStatus::Idle | TerminalStatus::NeedsAttention
            )
        };
        let n = s.terminals.iter().filter(live).count();
        c.live_terminals += n;
        c.running += usize::from(n > 0);
        c.attention += usize::from(
            s.terminals
                .iter()
                .any(|t| t.status == TerminalStatus::NeedsAttention),
        );
    }
    // Remote servers' sessions that need the user count too.
    c.attention += grove.remotes().attention();
    c
}

/// Quits, asking first when programs are still running in sessions.
pub fn request_quit(app: &AppHandle) {
    let shell = app.state::<Shell>();
    let live = counts(&shell.grove).live_terminals;
    if live == 0 {
        app.exit(0);
        return;
    }
    if shell.confirming.swap(true, Ordering::SeqCst) {
        return; // a confirmation is already open
    }
    let app = app.clone();
    let handle = app.clone();
    // GTK dialogs are made on the main thread; the answer is awaited off it.
    let _ = handle.run_on_main_thread(move || {
        let plural = if live == 1 { "" } else { "s" };
        let answer = rfd::AsyncMessageDialog::new()
            .set_level(rfd::MessageLevel::Warning)
            .set_title("Quit Grove?")
            .set_description(format!(
                "{live} program{plural} still running in your sessions will be stopped. \
                 Their output is kept, and they can be restarted next time."
            ))
            .set_buttons(rfd::MessageButtons::OkCancelCustom(
                "Quit".into(),
                "Cancel".into(),
            ))
            .show();
        std::thread::spawn(move || {
            let result = tauri::async_runtime::block_on(answer);
            app.state::<Shell>()
                .confirming
                .store(false, Ordering::SeqCst);
            let quit = match result {
                rfd::MessageDialogResult::Ok | rfd::MessageDialogResult::Yes => true,
                rfd::MessageDialogResult::Custom(label) => label == "Quit",
                _ => false,
            };
            if quit {
                app.exit(0);
            }
        });
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use grove_orchestrator::GroveConfig;
    use grove_orchestrator::wire::CreateSessionRequest;
    use std::process::Command;

    fn git(dir: &std::path::Path, args: &[&str]) {
        let ok = Command::new("git")
            .args(args)
            .current_dir(dir)
            .status()
            .unwrap()
            .success();
        assert!(ok, "git {args:?}");
    }

    /// What the tray shows and what quitting would stop, from a real Grove with real sessions.
    #[test]
    fn counts_follow_live_terminals() {
        let dir = tempfile::tempdir().unwrap();
        let repo = dir.path().join("repo");
        fs_err::create_dir_all(&repo).unwrap();
        git(&repo, &["init", "-q", "-b", "main"]);
        fs_err::write(repo.join("a.txt"), "a\n").unwrap();
        git(&repo, &["add", "."]);
        git(
            &repo,
            &[
                "-c",
                "user.name=t",
                "-c",
                "user.email=t@t.invalid",
                "commit",
                "-qm",
                "init",
            ],
        );
        tauri::async_runtime::block_on(async {
            let grove = Grove::open(GroveConfig::new(dir.path().join("data"))).unwrap();
            assert_eq!(counts(&grove), Counts::default());
            let r = grove.add_repo(&repo.display().to_string()).unwrap();
            let g = grove.clone();
            let session = tokio::task::spawn_blocking(move || {
                g.create_session(CreateSessionRequest {
                    repo_id: r.id,
                    name: "one".into(),
                    base: None,
                    command: Some("cat".into()),
                    use_existing_branch: None,
                    rows: None,
                    cols: None,
                })
            })
            .await
            .unwrap()
            .unwrap();
            let c = counts(&grove);
            assert_eq!((c.running, c.attention, c.live_terminals), (1, 0, 1));
            grove.delete_session(session.id, true).unwrap();
            assert_eq!(counts(&grove), Counts::default());
            grove.shutdown();
        });
    }
}
