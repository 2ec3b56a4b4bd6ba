//! Signed self-update through tauri-plugin-updater.
//!
//! # How it works
//!
//! A task started after the window checks the endpoint a few seconds after start-up and every
//! few hours ([`follow`]): it downloads only `latest.json`, off the UI thread, and a failure is
//! logged and shown once (the same failure again stays quiet). An update newer than the running
//! version (the plugin refuses older and equal ones) is offered in the UI's dialog and the tray,
//! unless the user chose *Skip this version* or *Later* for it. *Install and restart* downloads
//! the artifact with progress, and the plugin checks its minisign signature against the public
//! key built into the app (`plugins.updater.pubkey`, from `signing/updater.pub`) and the version
//! it was signed for (`requireSignedVersion`) before a byte is written; only then is the
//! executable replaced and the app quits, stopping every terminal (their logs and screens are
//! saved and restored by the next start), and starts the new version ([`relaunch`]). Anything that
//! fails leaves the running version as it is, and says why.
//!
//! The UI reaches all of it through the `update_*` commands and the `grove:update` event.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;
use tauri::menu::MenuItem;
use tauri::{AppHandle, Emitter, Manager, Wry};
use tauri_plugin_updater::{Error as UpdaterError, Update, UpdaterExt};

use crate::settings::{Later, UpdateSettings};
use crate::shell::{self, Shell, UiAction};

/// The event that carries every change of [`UpdateView`] to the UI.
const EVENT: &str = "grove:update";
/// The first check waits this long, so it never competes with start-up.
const FIRST_CHECK: Duration = Duration::from_secs(5);
/// Then one check this often.
const INTERVAL: Duration = Duration::from_secs(6 * 3600);
/// *Later* hides an offer for this long (the tray keeps it).
const LATER: Duration = Duration::from_secs(24 * 3600);
/// A check may take this long.
const TIMEOUT: Duration = Duration::from_secs(60);
/// A download may take this long (a 40 MB AppImage at 50 kB/s), so that a stalled one ends.
const DOWNLOAD_TIMEOUT: Duration = Duration::from_secs(15 * 60);
/// Progress reaches the UI at most this often.
const PROGRESS_EVERY: Duration = Duration::from_millis(100);
/// The argument a relaunch after an update carries: wait for the old process to be gone.
pub const AFTER_UPDATE_ARG: &str = "--after-update";

/// A release on offer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Offer {
    pub version: String,
    pub notes: Option<String>,
    /// RFC 3339, as published.
    pub date: Option<String>,
}

/// Where the updater stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Status {
    /// Not checked yet (or checks are off).
    Idle,
    Checking,
    UpToDate,
    Available {
        offer: Offer,
    },
    Downloading {
        offer: Offer,
        downloaded: u64,
        total: Option<u64>,
    },
    /// Downloaded and verified; the executable is being replaced.
    Installing {
        offer: Offer,
    },
    /// Installed; the app is quitting to start the new version.
    Restarting {
        offer: Offer,
    },
    Failed {
        message: String,
        offer: Option<Offer>,
    },
    /// The updater cannot work in this build (its configuration did not load).
    Disabled {
        reason: String,
    },
}

/// What the UI shows: the status and what the dialog needs to say.
#[derive(Debug, Clone, Serialize)]
pub struct UpdateView {
    pub current_version: String,
    pub status: Status,
    /// Whether the dialog should open by itself (an offer not skipped nor put off).
    pub prompt: bool,
    /// Programs running in sessions: a restart stops them (their sessions, logs and screens
    /// come back).
    pub running_programs: usize,
    /// The version that ran before this one, once after an update.
    pub updated_from: Option<String>,
    pub skipped: Option<String>,
    /// Checks at start and every few hours are on.
    pub auto_check: bool,
}

/// Managed state: the status, the update found by the last check, the tray's item.
pub struct Updates {
    status: Mutex<Status>,
    found: Mutex<Option<Update>>,
    /// One check or install at a time.
    busy: AtomicBool,
    /// The kind of the last failed check, so the same failure is shown once.
    reported: Mutex<Option<&'static str>>,
    /// The user asked for this check: show the result even for a skipped version.
    manual: AtomicBool,
    relaunch: AtomicBool,
    updated_from: Option<String>,
    tray_item: Mutex<Option<MenuItem<Wry>>>,
    /// What the tray's item says, so that progress does not rewrite it ten times a second.
    tray_text: Mutex<String>,
}

impl Updates {
    /// `disabled` is why the plugin is not there (its configuration did not load), if so;
    /// `updated_from` the version that ran before this one, if it differs.
    pub fn new(disabled: Option<String>, updated_from: Option<String>) -> Updates {
        Updates {
            status: Mutex::new(match disabled {
                Some(reason) => Status::Disabled { reason },
                None => Status::Idle,
            }),
            found: Mutex::new(None),
            busy: AtomicBool::new(false),
            reported: Mutex::new(None),
            manual: AtomicBool::new(false),
            relaunch: AtomicBool::new(false),
            updated_from,
            tray_item: Mutex::new(None),
            tray_text: Mutex::new(String::new()),
        }
    }

    fn status(&self) -> Status {
        self.status
            .lock()
            .map(|s| s.clone())
            .unwrap_or(Status::Idle)
    }

    fn disabled(&self) -> bool {
        matches!(self.status(), Status::Disabled { .. })
    }

    pub fn set_tray_item(&self, item: MenuItem<Wry>) {
        if let Ok(mut slot) = self.tray_item.lock() {
            *slot = Some(item);
        }
    }
}

/// Releases a lock flag when dropped, whatever path the work takes.
struct Busy<'a>(&'a AtomicBool);

impl Drop for Busy<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::SeqCst);
    }
}

fn take_busy(updates: &Updates) -> Option<Busy<'_>> {
    (!updates.busy.swap(true, Ordering::SeqCst)).then_some(Busy(&updates.busy))
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Builds the view of the current state (what the commands return and the event carries).
pub fn view(app: &AppHandle) -> UpdateView {
    let updates = app.state::<Updates>();
    let shell = app.state::<Shell>();
    let settings = shell.settings().updates;
    let status = updates.status();
    let prompt = match &status {
        Status::Available { offer } => prompts(
            &offer.version,
            &settings,
            updates.manual.load(Ordering::SeqCst),
            now_secs(),
        ),
        _ => false,
    };
    UpdateView {
        current_version: app.package_info().version.to_string(),
        status,
        prompt,
        running_programs: shell::counts(&shell.grove).live_terminals,
        updated_from: updates.updated_from.clone(),
        skipped: settings.skipped,
        auto_check: settings.check,
    }
}

/// Whether an offer opens the dialog by itself: always when the user asked; otherwise unless
/// they skipped this version or put it off until later than `now`.
fn prompts(version: &str, settings: &UpdateSettings, manual: bool, now: u64) -> bool {
    manual
        || (settings.skipped.as_deref() != Some(version)
            && !settings
                .later
                .as_ref()
                .is_some_and(|l| l.version == version && l.until > now))
}

/// Sets the status, tells the UI and the tray.
fn set(app: &AppHandle, status: Status) {
    let updates = app.state::<Updates>();
    if let Ok(mut s) = updates.status.lock() {
        *s = status.clone();
    }
    if let Ok(item) = updates.tray_item.lock()
        && let Some(item) = item.as_ref()
    {
        let text = match &status {
            Status::Available { offer } => format!("Install Grove {}…", offer.version),
            Status::Downloading { offer, .. } | Status::Installing { offer } => {
                format!("Installing Grove {}…", offer.version)
            }
            _ => "Check for Updates…".to_owned(),
        };
        if let Ok(mut shown) = updates.tray_text.lock()
            && *shown != text
        {
            let _ = item.set_text(&text);
            *shown = text;
        }
    }
    // Counting programs reads SQLite: not on the caller's (async) thread.
    let app = app.clone();
    tauri::async_runtime::spawn_blocking(move || {
        if let Err(err) = app.emit_to(shell::MAIN, EVENT, view(&app)) {
            tracing::warn!(%err, "could not send the update status to the UI");
        }
    });
}

/// The updater as configured: the endpoint from the settings (a mirror) if any, the public key
/// from the app's configuration (`GROVE_UPDATER_PUBKEY` replaces it in debug builds, for the
/// tests' own key pair).
fn updater(app: &AppHandle) -> Result<tauri_plugin_updater::Updater, String> {
    let mut builder = app.updater_builder().timeout(TIMEOUT);
    if let Some(endpoint) = app.state::<Shell>().settings().updates.endpoint {
        let url = url::Url::parse(&endpoint).map_err(|err| {
            format!(
                "The update endpoint in the settings ({endpoint}) is not a URL ({err}); fix or \
                 remove `updates.endpoint` in desktop.json."
            )
        })?;
        builder = builder.endpoints(vec![url]).map_err(|err| explain(&err))?;
    }
    #[cfg(debug_assertions)]
    if let Ok(key) = std::env::var("GROVE_UPDATER_PUBKEY") {
        builder = builder.pubkey(key);
    }
    // On Windows the installer takes over and the plugin exits the process itself: stop the
    // terminals first, as quitting does, so their logs and screens are saved.
    let handle = app.clone();
    builder = builder.on_before_exit(move || {
        if let Some(shell) = handle.try_state::<Shell>() {
            shell.stop();
        }
        handle.cleanup_before_exit();
    });
    builder.build().map_err(|err| explain(&err))
}

/// One check. `manual`: the user asked (the result is always shown, a skipped version too);
/// otherwise a failure is reported once and an offer respects *Skip* and *Later*.
pub async fn check(app: &AppHandle, manual: bool) {
    let updates = app.state::<Updates>();
    if updates.disabled() {
        return;
    }
    let Some(_busy) = take_busy(&updates) else {
        return; // a check or an install is under way; its result will be shown
    };
    updates.manual.store(manual, Ordering::SeqCst);
    if manual {
        set(app, Status::Checking);
    }
    let result = match updater(app) {
        Ok(updater) => updater
            .check()
            .await
            .map_err(|err| (kind_of(&err), explain(&err))),
        Err(message) => Err(("configuration", message)),
    };
    match result {
        Ok(Some(update)) => {
            let offer = Offer {
                version: update.version.clone(),
                notes: update.body.clone().filter(|n| !n.trim().is_empty()),
                date: update.raw_json["pub_date"].as_str().map(String::from),
            };
            tracing::info!(version = %offer.version, "an update is available");
            if let Ok(mut found) = updates.found.lock() {
                *found = Some(update);
            }
            if let Ok(mut r) = updates.reported.lock() {
                *r = None;
            }
            set(app, Status::Available { offer });
        }
        Ok(None) => {
            if let Ok(mut r) = updates.reported.lock() {
                *r = None;
            }
            set(app, Status::UpToDate);
        }
        Err((kind, message)) => {
            // The same kind of failure again (the details of a network error vary) stays quiet.
            let again = updates
                .reported
                .lock()
                .map(|mut r| r.replace(kind).is_some_and(|k| k == kind))
                .unwrap_or(false);
            if again && !manual {
                tracing::debug!(%message, "the update check failed again");
                return;
            }
            tracing::warn!(%message, "the update check failed");
            if !manual && matches!(updates.status(), Status::Available { .. }) {
                return; // the offer found before still stands
            }
            set(
                app,
                Status::Failed {
                    message,
                    offer: None,
                },
            );
        }
    }
}

/// Downloads, verifies and installs the update found by the last check, then quits to start it.
pub async fn install(app: &AppHandle) -> Result<(), String> {
    let updates = app.state::<Updates>();
    let Some(busy) = take_busy(&updates) else {
        return Err("An update check or install is already under way.".into());
    };
    let update = updates.found.lock().ok().and_then(|f| f.clone());
    let Some(mut update) = update else {
        return Err("No update is on offer; check for updates first.".into());
    };
    update.timeout = Some(DOWNLOAD_TIMEOUT);
    let offer = match updates.status() {
        Status::Available { offer }
        | Status::Failed {
            offer: Some(offer), ..
        } => offer,
        _ => Offer {
            version: update.version.clone(),
            notes: update.body.clone(),
            date: None,
        },
    };
    tracing::info!(version = %offer.version, "downloading the update");
    set(
        app,
        Status::Downloading {
            offer: offer.clone(),
            downloaded: 0,
            total: None,
        },
    );
    let mut downloaded = 0u64;
    let mut last = std::time::Instant::now();
    let progress_app = app.clone();
    let progress_offer = offer.clone();
    let bytes = update
        .download(
            |chunk, total| {
                downloaded += chunk as u64;
                if last.elapsed() >= PROGRESS_EVERY || total == Some(downloaded) {
                    last = std::time::Instant::now();
                    set(
                        &progress_app,
                        Status::Downloading {
                            offer: progress_offer.clone(),
                            downloaded,
                            total,
                        },
                    );
                }
            },
            || {},
        )
        .await;
    let result = bytes.and_then(|bytes| {
        // Verified: the plugin checks the signature before it returns the bytes.
        set(
            app,
            Status::Installing {
                offer: offer.clone(),
            },
        );
        update.install(bytes)
    });
    if let Err(err) = result {
        let message = format!(
            "{} Grove {} keeps running.",
            explain(&err),
            app.package_info().version
        );
        tracing::warn!(%message, version = %offer.version, "the update was not installed");
        set(
            app,
            Status::Failed {
                message: message.clone(),
                offer: Some(offer),
            },
        );
        return Err(message);
    }
    tracing::info!(version = %offer.version, "update installed; restarting");
    set(app, Status::Restarting { offer });
    drop(busy);
    updates.relaunch.store(true, Ordering::SeqCst);
    // The UI gets a moment to say so; then the same exit as Quit (terminals saved).
    tokio::time::sleep(Duration::from_millis(300)).await;
    app.exit(0);
    Ok(())
}

/// *Later*: the offer is not shown again for a day (the tray keeps it).
pub fn later(app: &AppHandle) {
    if let Status::Available { offer } = app.state::<Updates>().status() {
        app.state::<Shell>().edit_settings(|s| {
            s.updates.later = Some(Later {
                version: offer.version.clone(),
                until: now_secs() + LATER.as_secs(),
            })
        });
    }
    app.state::<Updates>().manual.store(false, Ordering::SeqCst);
    set(app, app.state::<Updates>().status());
}

/// *Skip this version*: never offered again unless the user checks by hand.
pub fn skip(app: &AppHandle) {
    if let Status::Available { offer } = app.state::<Updates>().status() {
        app.state::<Shell>()
            .edit_settings(|s| s.updates.skipped = Some(offer.version.clone()));
    }
    app.state::<Updates>().manual.store(false, Ordering::SeqCst);
    set(app, app.state::<Updates>().status());
}

/// The tray's update item: opens the dialog, checking first when nothing is known yet.
pub fn from_tray(app: &AppHandle) {
    let updates = app.state::<Updates>();
    if !matches!(updates.status(), Status::Available { .. }) {
        let app = app.clone();
        tauri::async_runtime::spawn(async move { check(&app, true).await });
    } else {
        updates.manual.store(true, Ordering::SeqCst);
    }
    shell::dispatch(app, UiAction::ShowUpdate);
}

/// Checks shortly after start-up, then every few hours, while checks are on.
pub async fn follow(app: AppHandle) {
    let (first, every) = match interval_override() {
        Some(every) => (every, every),
        None => (FIRST_CHECK, INTERVAL),
    };
    tokio::time::sleep(first).await;
    loop {
        if app.state::<Shell>().settings().updates.check {
            check(&app, false).await;
        }
        tokio::time::sleep(every).await;
    }
}

/// Debug builds: `GROVE_UPDATE_INTERVAL_SECS` replaces the hours between checks (for the tests).
fn interval_override() -> Option<Duration> {
    if !cfg!(debug_assertions) {
        return None;
    }
    let secs: u64 = std::env::var("GROVE_UPDATE_INTERVAL_SECS")
        .ok()?
        .parse()
        .ok()?;
    Some(Duration::from_secs(secs.max(1)))
}

/// After an installed update, on exit (the terminals are stopped by then): starts the new
/// version. It waits until this process is gone (it holds the data dir and the single-instance
/// name until then): its stdin is a pipe that closes when this process ends.
pub fn relaunch(app: &AppHandle) {
    let Some(updates) = app.try_state::<Updates>() else {
        return;
    };
    if !updates.relaunch.load(Ordering::SeqCst) {
        return;
    }
    let exe = match tauri::process::current_binary(&app.env()) {
        Ok(exe) => exe,
        Err(err) => {
            tracing::error!(%err, "the update is installed but Grove cannot find itself to restart; start it again");
            return;
        }
    };
    let args = std::env::args_os()
        .skip(1)
        .filter(|a| a != AFTER_UPDATE_ARG)
        .collect::<Vec<_>>();
    match std::process::Command::new(&exe)
        .args(args)
        .arg(AFTER_UPDATE_ARG)
        .stdin(std::process::Stdio::piped())
        .spawn()
    {
        Ok(mut child) => {
            // Held open until this process exits: the new one reads it to its end first.
            if let Some(stdin) = child.stdin.take() {
                std::mem::forget(stdin);
            }
            tracing::info!(pid = child.id(), exe = %exe.display(), "started the updated Grove");
        }
        Err(err) => {
            tracing::error!(%err, exe = %exe.display(), "the update is installed but could not be started; start Grove again")
        }
    }
}

/// In a process started by [`relaunch`]: waits (at most 30 s) until the one that started it has
/// exited, before taking the data dir and the single-instance name.
pub fn wait_for_predecessor() {
    if !std::env::args_os().any(|a| a == AFTER_UPDATE_ARG) {
        return;
    }
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::Read;
        let mut sink = [0u8; 64];
        let mut stdin = std::io::stdin();
        while matches!(stdin.read(&mut sink), Ok(n) if n > 0) {}
        let _ = tx.send(());
    });
    if rx.recv_timeout(Duration::from_secs(30)).is_err() {
        tracing::warn!("the previous Grove did not exit within 30 s; starting anyway");
    }
}

/// Puts the updater's state in place and starts the periodic check. `disabled`: why the plugin
/// is not there, if it is not.
pub fn setup(app: &AppHandle, disabled: Option<String>) {
    let current = app.package_info().version.to_string();
    let shell = app.state::<Shell>();
    let last = shell.settings().updates.last_version;
    if last.as_deref() != Some(current.as_str()) {
        shell.edit_settings(|s| s.updates.last_version = Some(current.clone()));
    }
    let updated_from = last.filter(|l| *l != current);
    if let Some(from) = &updated_from {
        tracing::info!(from = %from, to = %current, "Grove was updated");
    }
    tracing::info!(version = %current, "Grove desktop");
    if let Some(reason) = &disabled {
        tracing::error!(%reason, "updates are off");
    }
    let off = disabled.is_some();
    app.manage(Updates::new(disabled, updated_from));
    if !off {
        tauri::async_runtime::spawn(follow(app.clone()));
    }
}

/// The `update_state` command: where the updater stands.
#[tauri::command]
pub async fn update_state(app: AppHandle) -> Result<UpdateView, String> {
    tauri::async_runtime::spawn_blocking(move || view(&app))
        .await
        .map_err(|err| err.to_string())
}

/// The `update_check` command: checks now (the user asked) and returns the result.
#[tauri::command]
pub async fn update_check(app: AppHandle) -> Result<UpdateView, String> {
    check(&app, true).await;
    update_state(app).await
}

/// The `update_install` command: *Install and restart*.
#[tauri::command]
pub async fn update_install(app: AppHandle) -> Result<(), String> {
    install(&app).await
}

/// The `update_later` command.
#[tauri::command]
pub async fn update_later(app: AppHandle) {
    let _ = tauri::async_runtime::spawn_blocking(move || later(&app)).await;
}

/// The `update_skip` command: *Skip this version*.
#[tauri::command]
pub async fn update_skip(app: AppHandle) {
    let _ = tauri::async_runtime::spawn_blocking(move || skip(&app)).await;
}

/// What kind of failure `err` is, to report each kind once.
fn kind_of(err: &UpdaterError) -> &'static str {
    match err {
        UpdaterError::Reqwest(e) if e.is_decode() => "answer",
        UpdaterError::Reqwest(_) | UpdaterError::Network(_) => "network",
        UpdaterError::Serialization(_) | UpdaterError::ReleaseNotFound => "answer",
        UpdaterError::TargetsNotFound(_) | UpdaterError::TargetNotFound(_) => "platform",
        UpdaterError::Minisign(_)
        | UpdaterError::Base64(_)
        | UpdaterError::SignatureUtf8(_)
        | UpdaterError::SignedVersionMismatch { .. }
        | UpdaterError::MissingSignedVersion => "signature",
        _ => "other",
    }
}

/// An error and its causes, "outer: inner: …" (reqwest's own message leaves the cause out).
fn with_causes(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(e) = source {
        let more = e.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = e.source();
    }
    text
}

/// The `update_auto_check` command: turns the checks at start and every few hours on or off.
#[tauri::command]
pub async fn update_auto_check(app: AppHandle, on: bool) -> Result<UpdateView, String> {
    tauri::async_runtime::spawn_blocking(move || {
        app.state::<Shell>().edit_settings(|s| s.updates.check = on);
        view(&app)
    })
    .await
    .map_err(|err| err.to_string())
}

/// Why an update failed, in words for the user.
fn explain(err: &UpdaterError) -> String {
    match err {
        UpdaterError::Minisign(e) => format!(
            "The update's signature does not match Grove's signing key ({e}), so it was refused: \
             it may have been tampered with or signed by someone else."
        ),
        UpdaterError::Base64(_) | UpdaterError::SignatureUtf8(_) => {
            "The update's signature is malformed, so the update was refused.".into()
        }
        UpdaterError::SignedVersionMismatch { signed, announced } => format!(
            "The update announced as {announced} is signed as version {signed}, so it was \
             refused (the release description may have been altered)."
        ),
        UpdaterError::MissingSignedVersion => {
            "The update's signature does not name its version, so it was refused.".into()
        }
        UpdaterError::Reqwest(e) if e.is_decode() => format!(
            "The update server's answer is not a valid latest.json ({}).",
            with_causes(e)
        ),
        UpdaterError::Reqwest(e) => {
            format!("Could not reach the update server: {}.", with_causes(e))
        }
        UpdaterError::Network(e) => format!("The download failed: {e}."),
        UpdaterError::Serialization(e) => {
            format!("The update server's answer is not a valid latest.json ({e}).")
        }
        UpdaterError::ReleaseNotFound => {
            "The update server did not answer with a release description (latest.json).".into()
        }
        UpdaterError::TargetsNotFound(t) => format!(
            "The release has no update for this platform (looked for {}).",
            t.join(", ")
        ),
        UpdaterError::TargetNotFound(t) => {
            format!("The release has no update for this platform ({t}).")
        }
        UpdaterError::InsecureTransportProtocol => {
            "The update endpoint must use https; fix `updates.endpoint` in desktop.json.".into()
        }
        UpdaterError::EmptyEndpoints => "No update endpoint is configured.".into(),
        UpdaterError::Io(e) => format!("Could not write the update ({}).", with_causes(e)),
        UpdaterError::TempDirNotOnSameMountPoint => {
            "Could not replace the app: no temporary folder on the same disk as it.".into()
        }
        other => format!("The update failed: {other}."),
    }
}

/// The updater plugin, or why it cannot run: its configuration (`plugins.updater` in
/// tauri.conf.json) is checked here, so a broken one disables updates instead of failing the
/// app's start.
pub fn plugin(
    context: &tauri::Context<Wry>,
) -> Result<tauri::plugin::TauriPlugin<Wry, tauri_plugin_updater::Config>, String> {
    let config = context
        .config()
        .plugins
        .0
        .get("updater")
        .cloned()
        .unwrap_or(serde_json::Value::Null);
    let parsed: tauri_plugin_updater::Config = serde_json::from_value(config)
        .map_err(|err| format!("the updater's configuration did not load: {err}"))?;
    if parsed.pubkey.trim().is_empty() {
        return Err("the updater has no public key".into());
    }
    Ok(tauri_plugin_updater::Builder::new().build())
}

/// Debug builds only: the version a test stamped into a copy of the binary replaces the
/// configured one, so that one build gives the tests both version N and N+1.
#[cfg(debug_assertions)]
pub fn stamp_version(context: &mut tauri::Context<Wry>) {
    // "GROVE_VERSION_STAMP=" then the version, NUL-padded. The tests patch the bytes after the
    // prefix in a copy; the prefix occurs exactly once in the binary.
    #[used]
    static STAMP: [u8; 52] =
        *b"GROVE_VERSION_STAMP=\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0";
    let stamp = std::hint::black_box(&STAMP);
    let value = &stamp[20..];
    let len = value.iter().position(|&b| b == 0).unwrap_or(value.len());
    if len == 0 {
        return;
    }
    match std::str::from_utf8(&value[..len])
        .ok()
        .and_then(|v| semver::Version::parse(v).ok())
    {
        Some(version) => context.package_info_mut().version = version,
        None => tracing::warn!("ignoring an unreadable version stamp"),
    }
}

#[cfg(not(debug_assertions))]
pub fn stamp_version(_context: &mut tauri::Context<Wry>) {}

#[cfg(test)]
mod tests {
    use super::*;

    fn conf() -> serde_json::Value {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        serde_json::from_str(&std::fs::read_to_string(dir.join("tauri.conf.json")).unwrap())
            .unwrap()
    }

    /// The key in the app is the one committed in signing/, and the configuration loads as the
    /// plugin will load it (a release build rejects anything but https).
    #[test]
    fn the_configured_key_is_the_committed_one() {
        let conf = conf();
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let committed = std::fs::read_to_string(dir.join("../signing/updater.pub")).unwrap();
        let updater = &conf["plugins"]["updater"];
        assert_eq!(updater["pubkey"].as_str().unwrap(), committed.trim());
        // The key decodes to a minisign public key.
        use base64::Engine;
        let text = base64::engine::general_purpose::STANDARD
            .decode(committed.trim())
            .unwrap();
        let text = String::from_utf8(text).unwrap();
        minisign_verify::PublicKey::decode(&text).unwrap();
        let parsed: tauri_plugin_updater::Config = serde_json::from_value(updater.clone()).unwrap();
        assert!(parsed.require_signed_version);
        assert!(!parsed.dangerous_insecure_transport_protocol);
        assert!(!parsed.allow_downgrades);
        assert!(parsed.endpoints.iter().all(|u| u.scheme() == "https"));
        assert!(!parsed.endpoints.is_empty());
    }

    /// *Skip this version* and *Later* keep the dialog closed for that version only; a check the
    /// user asked for always shows it.
    #[test]
    fn skip_and_later_hold_back_that_version_only() {
        let mut s = UpdateSettings::default();
        assert!(prompts("0.2.0", &s, false, 100));
        s.skipped = Some("0.2.0".into());
        assert!(!prompts("0.2.0", &s, false, 100));
        assert!(prompts("0.2.0", &s, true, 100));
        assert!(prompts("0.3.0", &s, false, 100));
        s.skipped = None;
        s.later = Some(Later {
            version: "0.2.0".into(),
            until: 200,
        });
        assert!(!prompts("0.2.0", &s, false, 100));
        assert!(prompts("0.2.0", &s, false, 200), "later has passed");
        assert!(prompts("0.3.0", &s, false, 100));
        // What the settings file keeps survives a restart.
        let back: crate::settings::Settings = serde_json::from_str(
            &serde_json::to_string(&crate::settings::Settings {
                close_to_tray: true,
                updates: s.clone(),
            })
            .unwrap(),
        )
        .unwrap();
        assert_eq!(back.updates.later, s.later);
    }

    /// A broken or missing configuration disables updates; it never stops the app.
    #[test]
    fn a_broken_configuration_disables_updates() {
        let mut context: tauri::Context<Wry> = tauri::generate_context!();
        assert!(plugin(&context).is_ok());
        for broken in [
            serde_json::Value::Null,
            serde_json::json!({ "endpoints": ["https://x.invalid/latest.json"] }),
            serde_json::json!({ "pubkey": "k", "endpoints": ["not a url"] }),
            serde_json::json!({ "pubkey": "", "endpoints": [] }),
            serde_json::json!("garbage"),
        ] {
            context
                .config_mut()
                .plugins
                .0
                .insert("updater".into(), broken.clone());
            assert!(plugin(&context).is_err(), "{broken} was accepted");
        }
        context.config_mut().plugins.0.remove("updater");
        assert!(plugin(&context).is_err());
    }
}
