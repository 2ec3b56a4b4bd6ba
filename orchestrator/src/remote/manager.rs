//! The connection to each remote server. One task per remote keeps an events socket open to it,
//! re-broadcasts its events on this server's bus (as [`Event::Remote`]), follows its state
//! (connecting, connected, offline and why) and reconnects with backoff. Each remote has its own
//! task and its own connections, so one that is slow, unreachable or restarting never holds up
//! this server or another remote; the relay asks [`Remotes::route`] and is refused at once when
//! a remote is not connected.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use parking_lot::Mutex;
use secrecy::SecretString;
use tokio::sync::{Notify, broadcast};
use tokio_tungstenite::tungstenite::Message;

use super::link::{LinkError, Route};
use super::ssh::{SshTarget, Tunnel, TunnelFailure, TunnelState};
use super::tls::{ConnectError, Fingerprint, Trust};
use crate::wire::{ErrorCode, Event, Remote, RemoteState, Session, SessionState, TerminalStatus};

/// What the registry keeps of a remote (its token lives in the vault).
#[derive(Debug, Clone, PartialEq)]
pub struct RemoteSpec {
    pub name: String,
    pub url: String,
    pub remote_port: Option<u16>,
    pub fingerprint: Option<Fingerprint>,
}

/// Where a remote is.
#[derive(Debug, Clone)]
pub enum Target {
    Https { host: String, port: u16 },
    Ssh { target: SshTarget, remote_port: u16 },
}

impl RemoteSpec {
    pub fn target(&self) -> Result<Target, String> {
        parse_target(&self.url, self.remote_port)
    }
}

/// Parses a remote's URL: `https://host[:port]` (default 443) or `ssh://[user@]host[:port]`,
/// which needs the remote `grove serve`'s port.
pub fn parse_target(url: &str, remote_port: Option<u16>) -> Result<Target, String> {
    if url.starts_with("ssh://") {
        let target = SshTarget::parse(url)?;
        let remote_port = remote_port.ok_or_else(|| {
            format!(
                "{url}: an ssh:// remote needs the port its `grove serve` listens on (there, on 127.0.0.1): pass --remote-port"
            )
        })?;
        return Ok(Target::Ssh {
            target,
            remote_port,
        });
    }
    let parsed = url::Url::parse(url).map_err(|e| {
        format!("{url}: not a URL ({e}); use https://host:port or ssh://[user@]host[:port]")
    })?;
    match parsed.scheme() {
        "https" => {}
        "http" => {
            return Err(format!(
                "{url}: plain http would send the token in the clear; start the remote with `grove serve --tls-self-signed` and use https://, or reach it with ssh://"
            ));
        }
        other => {
            return Err(format!(
                "{url}: unsupported scheme `{other}`; use https://host:port or ssh://[user@]host[:port]"
            ));
        }
    }
    if parsed.path() != "/" && !parsed.path().is_empty() {
        return Err(format!(
            "{url}: a remote's URL has no path; use https://host:port"
        ));
    }
    let host = match parsed.host() {
        Some(url::Host::Ipv6(ip)) => ip.to_string(),
        Some(h) => h.to_string(),
        None => return Err(format!("{url}: no host")),
    };
    Ok(Target::Https {
        host,
        port: parsed.port().unwrap_or(443),
    })
}

/// Whether `name` can name a remote: `[a-z0-9][a-z0-9-]*`, at most 32, not `local`.
pub fn check_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 32
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-');
    if !ok {
        return Err(format!(
            "`{name}` cannot name a remote: use lowercase letters, digits and `-` (at most 32, not starting with `-`)"
        ));
    }
    if name == "local" {
        return Err("`local` is this server's own name; pick another name for the remote".into());
    }
    Ok(())
}

#[derive(Debug, Clone)]
struct Status {
    state: RemoteState,
    detail: Option<String>,
    version: Option<String>,
    attention: u32,
}

struct Entry {
    spec: RemoteSpec,
    target: Target,
    token: Mutex<Option<SecretString>>,
    status: Mutex<Status>,
    /// How to reach it while connected.
    route: Mutex<Option<Route>>,
    /// Wakes the task early (a token arrived, the vault was unlocked).
    wake: Notify,
    task: Mutex<Option<tokio::task::JoinHandle<()>>>,
    /// The remote's session names, by id (for notifications).
    names: Mutex<HashMap<i64, String>>,
    /// Becomes true when the remote is removed (or replaced): relayed sockets close.
    removed: tokio::sync::watch::Sender<bool>,
    /// How many times it has connected; bumped again when that connection ends, so what the
    /// relay has in flight on a connection that ended (a remote that stopped answering) ends too.
    epoch: tokio::sync::watch::Sender<u64>,
}

impl Entry {
    fn view(&self) -> Remote {
        let st = self.status.lock().clone();
        Remote {
            name: self.spec.name.clone(),
            url: self.spec.url.clone(),
            remote_port: self.spec.remote_port,
            fingerprint: self.spec.fingerprint.map(|f| f.to_string()),
            state: st.state,
            detail: st.detail,
            version: st.version,
            attention: st.attention,
        }
    }
}

impl Entry {
    /// Ends the task: its connections close and its tunnel (owned by the task) ends. Relayed
    /// panes close for good when the remote is `removed`; when it is only replaced (the vault
    /// was locked) they close to be retried.
    fn stop(&self, removed: bool) {
        if let Some(task) = self.task.lock().take() {
            task.abort();
        }
        if removed {
            self.removed.send_replace(true);
        } else {
            self.epoch.send_modify(|e| *e += 1);
        }
    }
}

/// The remotes this server relays, and their connections.
#[derive(Clone)]
pub struct Remotes {
    shared: Arc<Shared>,
}

struct Shared {
    events: broadcast::Sender<Event>,
    runtime: tokio::runtime::Handle,
    entries: Mutex<HashMap<String, Arc<Entry>>>,
}

impl std::fmt::Debug for Remotes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<String> = self.shared.entries.lock().keys().cloned().collect();
        f.debug_struct("Remotes").field("names", &names).finish()
    }
}

/// A connected remote, as the relay uses it.
pub struct Relay {
    pub route: Route,
    pub token: SecretString,
    pub removed: tokio::sync::watch::Receiver<bool>,
    /// Changes when the connection this relay was made on ends.
    pub epoch: tokio::sync::watch::Receiver<u64>,
}

impl Relay {
    /// Resolves when the remote is removed or the connection this relay was made on ends.
    pub async fn lost(&mut self) {
        let removed = self.removed.wait_for(|r| *r);
        let ended = self.epoch.changed();
        tokio::select! {
            _ = removed => {}
            _ = ended => {}
        }
    }
}

/// Why the relay cannot reach a remote now.
#[derive(Debug, Clone)]
pub struct Unavailable {
    pub code: ErrorCode,
    pub message: String,
}

impl Remotes {
    pub fn new(events: broadcast::Sender<Event>, runtime: tokio::runtime::Handle) -> Remotes {
        Remotes {
            shared: Arc::new(Shared {
                events,
                runtime,
                entries: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// Starts following a remote (replacing one of the same name). Without a token (the vault
    /// is locked) it waits in [`RemoteState::Locked`] for [`Remotes::set_token`].
    pub fn start(&self, spec: RemoteSpec, token: Option<SecretString>) -> Result<Remote, String> {
        let target = spec.target()?;
        let entry = Arc::new(Entry {
            target,
            token: Mutex::new(token),
            status: Mutex::new(Status {
                state: RemoteState::Connecting,
                detail: None,
                version: None,
                attention: 0,
            }),
            route: Mutex::new(None),
            wake: Notify::new(),
            task: Mutex::new(None),
            names: Mutex::new(HashMap::new()),
            removed: tokio::sync::watch::Sender::new(false),
            epoch: tokio::sync::watch::Sender::new(0),
            spec,
        });
        let task = self
            .shared
            .runtime
            .spawn(follow(entry.clone(), self.shared.events.clone()));
        *entry.task.lock() = Some(task);
        let view = entry.view();
        let old = self
            .shared
            .entries
            .lock()
            .insert(entry.spec.name.clone(), entry);
        if let Some(old) = old {
            old.stop(false);
        }
        let _ = self.shared.events.send(Event::RemoteChanged {
            remote: view.clone(),
        });
        Ok(view)
    }

    /// Stops following a remote: its connections close and its tunnel ends.
    pub fn remove(&self, name: &str) -> bool {
        let removed = self.shared.entries.lock().remove(name);
        let found = removed.is_some();
        if let Some(old) = removed {
            old.stop(true);
        }
        if found {
            let _ = self.shared.events.send(Event::RemoteRemoved {
                name: name.to_owned(),
            });
        }
        found
    }

    /// Gives a remote its token (after the vault was unlocked).
    pub fn set_token(&self, name: &str, token: Option<SecretString>) {
        let entry = self.shared.entries.lock().get(name).cloned();
        if let Some(e) = entry {
            *e.token.lock() = token;
            e.wake.notify_one();
        }
    }

    /// The names of the remotes followed.
    pub fn names(&self) -> Vec<String> {
        self.shared.entries.lock().keys().cloned().collect()
    }

    /// Every remote, by name.
    pub fn list(&self) -> Vec<Remote> {
        let mut all: Vec<Remote> = self
            .shared
            .entries
            .lock()
            .values()
            .map(|e| e.view())
            .collect();
        all.sort_by(|a, b| a.name.cmp(&b.name));
        all
    }

    pub fn get(&self, name: &str) -> Option<Remote> {
        self.shared.entries.lock().get(name).map(|e| e.view())
    }

    /// The name of a remote's session, when it is known.
    pub fn session_name(&self, server: &str, session_id: i64) -> Option<String> {
        let entry = self.shared.entries.lock().get(server).cloned()?;
        entry.names.lock().get(&session_id).cloned()
    }

    /// Sessions of every remote that need the user.
    pub fn attention(&self) -> usize {
        self.shared
            .entries
            .lock()
            .values()
            .map(|e| e.status.lock().attention as usize)
            .sum()
    }

    /// How to reach a connected remote, and its token; why not, when it is not connected.
    pub fn route(&self, name: &str) -> Result<(Route, SecretString), Unavailable> {
        self.relay(name).map(|r| (r.route, r.token))
    }

    /// What the relay needs of a connected remote: its route, its token, and a signal that
    /// turns true when the remote is removed (its relayed sockets close then).
    pub fn relay(&self, name: &str) -> Result<Relay, Unavailable> {
        let Some(entry) = self.shared.entries.lock().get(name).cloned() else {
            return Err(Unavailable {
                code: ErrorCode::NotFound,
                message: format!("no remote server is named `{name}` (see `grove remote list`)"),
            });
        };
        let status = entry.status.lock().clone();
        let route = entry.route.lock().clone();
        let token = entry.token.lock().clone();
        match (status.state, route, token) {
            (RemoteState::Connected, Some(route), Some(token)) => Ok(Relay {
                route,
                token,
                removed: entry.removed.subscribe(),
                epoch: entry.epoch.subscribe(),
            }),
            (state, _, _) => {
                let code = match state {
                    RemoteState::Unauthorized => ErrorCode::RemoteUnauthorized,
                    RemoteState::FingerprintMismatch => ErrorCode::FingerprintMismatch,
                    RemoteState::Incompatible => ErrorCode::IncompatibleRemote,
                    _ => ErrorCode::RemoteOffline,
                };
                let why = status.detail.unwrap_or_else(|| describe(state).to_owned());
                Err(Unavailable {
                    code,
                    message: format!("remote `{name}` is not connected: {why}"),
                })
            }
        }
    }
}

fn describe(state: RemoteState) -> &'static str {
    match state {
        RemoteState::Connecting => "connecting",
        RemoteState::Connected => "connected",
        RemoteState::Offline => "offline",
        RemoteState::Unauthorized => "the remote refused its token",
        RemoteState::FingerprintMismatch => "its certificate is not the pinned one",
        RemoteState::Incompatible => "it speaks another protocol version",
        RemoteState::HostKeyUnknown => "SSH does not know its host key",
        RemoteState::Locked => "the vault is locked: unlock it to connect",
    }
}

/// Backoff between attempts: from [`RETRY_FIRST`] doubling to [`RETRY_MAX`]; refusals that will
/// not fix themselves (wrong token, changed certificate) are retried every [`RETRY_REFUSED`].
const RETRY_FIRST: Duration = Duration::from_millis(250);
const RETRY_MAX: Duration = Duration::from_secs(5);
const RETRY_REFUSED: Duration = Duration::from_secs(30);
/// The events socket pings the remote this often, and gives up after [`SILENCE`] without a frame.
const PING_EVERY: Duration = Duration::from_secs(5);
const SILENCE: Duration = Duration::from_secs(15);

/// Updates a remote's status and tells the UI when it changed.
fn set_status(entry: &Entry, events: &broadcast::Sender<Event>, f: impl FnOnce(&mut Status)) {
    let changed = {
        let mut st = entry.status.lock();
        let before = (
            st.state,
            st.detail.clone(),
            st.version.clone(),
            st.attention,
        );
        f(&mut st);
        before
            != (
                st.state,
                st.detail.clone(),
                st.version.clone(),
                st.attention,
            )
    };
    if changed {
        let _ = events.send(Event::RemoteChanged {
            remote: entry.view(),
        });
    }
}

fn state_of(err: &LinkError) -> RemoteState {
    match err {
        LinkError::Connect(ConnectError::FingerprintMismatch { .. }) => {
            RemoteState::FingerprintMismatch
        }
        LinkError::Unauthorized => RemoteState::Unauthorized,
        LinkError::Incompatible { .. } => RemoteState::Incompatible,
        _ => RemoteState::Offline,
    }
}

/// One remote's life: connect, relay events while connected, reconnect with backoff.
async fn follow(entry: Arc<Entry>, events: broadcast::Sender<Event>) {
    let mut backoff = RETRY_FIRST;
    let mut tunnel: Option<Tunnel> = None;
    loop {
        let token = entry.token.lock().clone();
        let Some(token) = token else {
            set_status(&entry, &events, |st| {
                st.state = RemoteState::Locked;
                st.detail = Some(describe(RemoteState::Locked).into());
            });
            entry.wake.notified().await;
            continue;
        };
        set_status(&entry, &events, |st| st.state = RemoteState::Connecting);
        let route = match &entry.target {
            Target::Https { host, port } => Route::Tls {
                host: host.clone(),
                port: *port,
                trust: match entry.spec.fingerprint {
                    Some(fp) => Trust::Pinned(fp),
                    None => Trust::SystemRoots,
                },
            },
            Target::Ssh {
                target,
                remote_port,
            } => {
                let t = tunnel.get_or_insert_with(|| Tunnel::start(target.clone(), *remote_port));
                let mut rx = t.state();
                let remote_port = *remote_port;
                let local_port = loop {
                    let state = rx.borrow_and_update().clone();
                    match state {
                        TunnelState::Up { local_port } => break Some(local_port),
                        TunnelState::Down { reason, kind } => {
                            set_status(&entry, &events, |st| {
                                st.state = match kind {
                                    TunnelFailure::HostKeyUnknown
                                    | TunnelFailure::HostKeyChanged => RemoteState::HostKeyUnknown,
                                    _ => RemoteState::Offline,
                                };
                                st.detail = Some(reason);
                            });
                        }
                        TunnelState::Starting => {}
                    }
                    if rx.changed().await.is_err() {
                        break None;
                    }
                };
                let Some(local_port) = local_port else {
                    tunnel = None;
                    tokio::time::sleep(backoff).await;
                    continue;
                };
                Route::Tunnel {
                    local_port,
                    remote_port,
                }
            }
        };
        drop(token);
        let outcome = connect_and_follow(&entry, &events, &route).await;
        *entry.route.lock() = None;
        entry.epoch.send_modify(|e| *e += 1);
        let wait = match outcome {
            Followed::Dropped(why) => {
                backoff = RETRY_FIRST;
                set_status(&entry, &events, |st| {
                    st.state = RemoteState::Offline;
                    st.detail = Some(why);
                });
                RETRY_FIRST
            }
            Followed::Failed(err) => {
                let state = state_of(&err);
                set_status(&entry, &events, |st| {
                    st.state = state;
                    st.detail = Some(err.to_string());
                });
                if state == RemoteState::FingerprintMismatch {
                    tracing::error!(remote = %entry.spec.name, err = %err, "remote refused: certificate changed");
                } else {
                    tracing::info!(remote = %entry.spec.name, err = %err, "remote not connected");
                }
                match state {
                    RemoteState::Offline => {
                        let w = backoff;
                        backoff = (backoff * 2).min(RETRY_MAX);
                        w
                    }
                    _ => RETRY_REFUSED,
                }
            }
        };
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = entry.wake.notified() => {}
        }
    }
}

enum Followed {
    /// Never got connected.
    Failed(LinkError),
    /// Was connected; the connection ended for this reason.
    Dropped(String),
}

async fn connect_and_follow(
    entry: &Arc<Entry>,
    events: &broadcast::Sender<Event>,
    route: &Route,
) -> Followed {
    let Some(token) = entry.token.lock().clone() else {
        return Followed::Failed(LinkError::Protocol("no token".into()));
    };
    let version = match route.health(&token).await {
        Ok(v) => v,
        Err(e) => return Followed::Failed(e),
    };
    let mut socket = match route.websocket("/events", &token).await {
        Ok(s) => s,
        Err(e) => return Followed::Failed(e),
    };
    let sessions: Vec<Session> = match route.get_json("/sessions", &token).await {
        Ok(s) => s,
        Err(e) => return Followed::Failed(e),
    };
    let mut cache: HashMap<i64, Session> = sessions.into_iter().map(|s| (s.id, s)).collect();
    *entry.route.lock() = Some(route.clone());
    entry.epoch.send_modify(|e| *e += 1);
    *entry.names.lock() = cache.values().map(|s| (s.id, s.name.clone())).collect();
    let name = entry.spec.name.clone();
    tracing::info!(remote = %name, %version, "remote connected");
    set_status(entry, events, |st| {
        st.state = RemoteState::Connected;
        st.detail = None;
        st.version = Some(version);
        st.attention = attention(&cache);
    });
    let mut ping = tokio::time::interval(PING_EVERY);
    ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut heard = Instant::now();
    loop {
        tokio::select! {
            msg = socket.next() => {
                heard = Instant::now();
                let text = match msg {
                    None => return Followed::Dropped("the remote closed the connection".into()),
                    Some(Err(e)) => return Followed::Dropped(format!("the connection dropped: {e}")),
                    Some(Ok(Message::Text(t))) => t,
                    Some(Ok(Message::Close(frame))) => {
                        let why = frame
                            .map(|f| format!("the remote closed the connection ({} {})", u16::from(f.code), f.reason))
                            .unwrap_or_else(|| "the remote closed the connection".into());
                        return Followed::Dropped(why);
                    }
                    Some(Ok(_)) => continue,
                };
                let event: Event = match serde_json::from_str(text.as_str()) {
                    Ok(e) => e,
                    Err(err) => {
                        tracing::debug!(remote = %name, %err, "skipped a remote event this Grove does not know");
                        continue;
                    }
                };
                if matches!(event, Event::Remote { .. } | Event::RemoteChanged { .. } | Event::RemoteRemoved { .. }) {
                    // A remote's own remotes are not shown through it.
                    continue;
                }
                let resync = matches!(event, Event::Resync);
                track(&mut cache, &event);
                if resync
                    && let Ok(sessions) = route.get_json::<Vec<Session>>("/sessions", &token).await
                {
                    cache = sessions.into_iter().map(|s| (s.id, s)).collect();
                }
                let n = attention(&cache);
                set_status(entry, events, |st| st.attention = n);
                *entry.names.lock() = cache.values().map(|s| (s.id, s.name.clone())).collect();
                let _ = events.send(Event::Remote { server: name.clone(), event: Box::new(event) });
            }
            _ = ping.tick() => {
                if heard.elapsed() > SILENCE {
                    return Followed::Dropped(format!("no answer for {} s", SILENCE.as_secs()));
                }
                if let Err(e) = socket.send(Message::Ping(Vec::new().into())).await {
                    return Followed::Dropped(format!("the connection dropped: {e}"));
                }
            }
        }
    }
}

/// Keeps the remote's sessions current from its events (for the attention count).
fn track(cache: &mut HashMap<i64, Session>, event: &Event) {
    match event {
        Event::SessionUpdated { session } => {
            cache.insert(session.id, session.clone());
        }
        Event::SessionRemoved { session_id } => {
            cache.remove(session_id);
        }
        Event::TerminalUpdated { terminal } => {
            for s in cache.values_mut() {
                if let Some(t) = s.terminals.iter_mut().find(|t| t.id == terminal.id) {
                    *t = terminal.clone();
                }
            }
        }
        Event::TerminalRemoved {
            session_id,
            terminal_id,
        } => {
            if let Some(s) = cache.get_mut(session_id) {
                s.terminals.retain(|t| t.id != *terminal_id);
            }
        }
        _ => {}
    }
}

fn attention(cache: &HashMap<i64, Session>) -> u32 {
    let n = cache
        .values()
        .filter(|s| s.state == SessionState::Active)
        .filter(|s| {
            s.terminals
                .iter()
                .any(|t| t.status == TerminalStatus::NeedsAttention)
        })
        .count();
    u32::try_from(n).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(check_name("devbox").is_ok());
        assert!(check_name("gpu-1").is_ok());
        assert!(check_name("local").is_err());
        assert!(check_name("").is_err());
        assert!(check_name("-x").is_err());
        assert!(check_name("Dev").is_err());
        assert!(check_name("a/b").is_err());
        assert!(check_name(&"a".repeat(33)).is_err());
    }

    #[test]
    fn targets() {
        match parse_target("https://devbox.example:7443", None) {
            Ok(Target::Https { host, port }) => {
                assert_eq!((host.as_str(), port), ("devbox.example", 7443))
            }
            other => panic!("{other:?}"),
        }
        match parse_target("https://[::1]:9", None) {
            Ok(Target::Https { host, port }) => assert_eq!((host.as_str(), port), ("::1", 9)),
            other => panic!("{other:?}"),
        }
        let e = parse_target("http://devbox:80", None)
            .err()
            .unwrap_or_default();
        assert!(e.contains("--tls-self-signed"), "{e}");
        let e = parse_target("ftp://devbox", None).err().unwrap_or_default();
        assert!(e.contains("unsupported scheme"), "{e}");
        let e = parse_target("https://devbox/api", None)
            .err()
            .unwrap_or_default();
        assert!(e.contains("no path"), "{e}");
    }
}
