//! [`Grove`]: the one typed API over repos, sessions and terminals. The HTTP/WebSocket server,
//! the CLI (through the server) and the desktop shell are thin adapters over it.
//!
//! Methods that touch git, SQLite or processes block; async callers run them on
//! `spawn_blocking`. Each terminal has a monitor task (see [`crate::monitor`]) on the tokio
//! runtime that was current when [`Grove::open`] ran.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use parking_lot::{Mutex, MutexGuard};
use std::time::Duration;

use grove_pty::{
    DEFAULT_LOG_CAPACITY, Flusher, LogSetting, OutputLog, ReadBudget, Screen, ScreenOptions,
    ScreenSetting, Terminal, TerminalOptions, TerminalSize,
};
use tokio::sync::{broadcast, mpsc};

use crate::ctx::Ctx;
use crate::data_dir::DataDir;
use crate::db::{Db, NewSession, RowState, SessionRow};
use crate::error::{GroveError, Result};
use crate::git;
use crate::live::LiveTerminal;
use crate::repo_config::{self, RepoConfig};
mod github;
mod names;
mod remotes;
mod review;
mod secrets;
mod sessions;
mod terminals;
mod trust;
mod ui_state;
mod watching;

use crate::wire::{
    AgentPreset, Branch, CreateSessionRequest, CreateStage, Drift, Event, Repo, Session,
    TerminalInfo, TerminalKind,
};

/// Agent presets: plain command names, nothing agent-specific.
pub const AGENT_PRESETS: &[&str] = &["claude", "codex", "aider", "gemini", "opencode"];

/// Settings with defaults that need no configuration.
#[derive(Debug, Clone)]
pub struct GroveConfig {
    pub data_dir: PathBuf,
    /// Where worktrees go; default `<data dir>/worktrees`.
    pub worktree_root: Option<PathBuf>,
    /// Prefix of session branches; default `grove/`.
    pub branch_prefix: String,
    /// No output for this long makes a running terminal `idle`.
    pub idle_after: Duration,
    /// Output log capacity per terminal.
    pub log_capacity: usize,
    /// Between SIGHUP and SIGKILL when a terminal is closed.
    pub kill_grace: Duration,
    /// The shell for new terminals and the default agent; default `$SHELL`, else `/bin/sh`.
    pub shell: Option<String>,
    /// Keep the vault's key material in the OS keychain (a random master secret) and unlock
    /// the vault from it at start. Off, the vault takes a passphrase.
    pub vault_keychain: bool,
    /// How each session's file watcher batches and what it may cost; `None` watches nothing
    /// (summaries stay unknown and drift is only checked on request: for diagnosis).
    pub watch: Option<crate::watch::WatchOptions>,
    /// GitHub's endpoints; `None` reads `GROVE_GITHUB_URL` / `GROVE_GITHUB_API_URL`.
    pub github: Option<crate::github::Endpoints>,
    /// The OAuth app; `None` is the build's (with `GROVE_GITHUB_CLIENT_ID` / `_SECRET` overrides).
    pub github_app: Option<crate::github::OauthApp>,
    /// How often open pull requests are checked.
    pub github_poll: Duration,
    /// The program git runs as the credential helper; `None` is this executable, which must
    /// pass `git-credential …` arguments to `github::credential::helper_main`.
    pub helper_exe: Option<PathBuf>,
    /// How fast a terminal that no client is reading is read (`grove_pty::flow`, rule 5);
    /// `None` reads every terminal at full speed.
    pub read_budget: Option<ReadBudget>,
    /// Flooding terminals' readers yield to the others (`TerminalOptions::lower_flood_priority`).
    pub lower_flood_priority: bool,
}

impl GroveConfig {
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        GroveConfig {
            data_dir: data_dir.into(),
            worktree_root: None,
            branch_prefix: "grove/".into(),
            idle_after: Duration::from_secs(5),
            log_capacity: DEFAULT_LOG_CAPACITY,
            kill_grace: Duration::from_secs(2),
            shell: None,
            vault_keychain: false,
            watch: Some(crate::watch::WatchOptions::default()),
            github: None,
            github_app: None,
            github_poll: Duration::from_secs(60),
            helper_exe: None,
            read_budget: Some(ReadBudget::DEFAULT),
            lower_flood_priority: true,
        }
    }
}

#[derive(Debug)]
struct Inner {
    config: GroveConfig,
    data: DataDir,
    ctx: Arc<Ctx>,
    worktree_root: PathBuf,
    shell: String,
    terminals: Mutex<HashMap<i64, Arc<LiveTerminal>>>,
    flusher: Flusher,
    /// Each active session's drift as last checked (on request, or when its watcher saw HEAD,
    /// the branch or the worktree move).
    drift: Mutex<HashMap<i64, Drift>>,
    /// Each active session's file watcher.
    watchers: Mutex<HashMap<i64, crate::watch::Watcher>>,
    /// Each active session's change summary, as its watcher last counted it.
    changes: Mutex<HashMap<i64, crate::wire::ChangeSummary>>,
    /// Git mutations of one repo are serialised: libgit2 takes ref and index locks that
    /// concurrent worktree creations would otherwise fight over.
    repo_locks: Mutex<HashMap<i64, Arc<Mutex<()>>>>,
    runtime: tokio::runtime::Handle,
    /// The secrets; locked until the user (or the keychain) unlocks it.
    vault: Box<dyn crate::vault::Vault>,
    /// GitHub sign-in, pushes and pull requests.
    github: github::GithubState,
    remotes: crate::remote::Remotes,
}

/// Grove's core. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Grove {
    inner: Arc<Inner>,
}

/// The user's shell: `$SHELL`, else `/bin/sh`. On Windows: `pwsh` if installed, else Windows
/// PowerShell, else `%COMSPEC%`, else `cmd.exe`.
fn default_shell() -> String {
    let var = |k: &str| std::env::var(k).ok().filter(|s| !s.is_empty());
    if cfg!(windows) {
        pick_windows_shell(|p| on_path(p, var("PATH").as_deref()), var("COMSPEC"))
    } else {
        var("SHELL").unwrap_or_else(|| "/bin/sh".into())
    }
}

/// Windows' shell choice, given which programs are on PATH.
fn pick_windows_shell(on_path: impl Fn(&str) -> bool, comspec: Option<String>) -> String {
    for candidate in ["pwsh.exe", "powershell.exe"] {
        if on_path(candidate) {
            return candidate.into();
        }
    }
    comspec.unwrap_or_else(|| "cmd.exe".into())
}

/// Whether `program` is a file in one of `path`'s folders.
fn on_path(program: &str, path: Option<&str>) -> bool {
    path.is_some_and(|p| std::env::split_paths(p).any(|dir| dir.join(program).is_file()))
}

/// The first word of a command line, when it is a plain program name or path (so we can check
/// it exists before creating anything). `None` for anything shell-ish.
fn plain_program(command: &str) -> Option<String> {
    let first = shlex::split(command)?.into_iter().next()?;
    first
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "._-/+".contains(c))
        .then_some(first)
}

impl Grove {
    /// Opens (and locks) the data dir, restores every session and terminal recorded there, and
    /// starts the background tasks. Must run inside a tokio runtime.
    pub fn open(config: GroveConfig) -> Result<Grove> {
        let data = DataDir::open(&config.data_dir).map_err(|e| match e {
            crate::data_dir::DataDirError::Io(io) => GroveError::Io(io),
            other => GroveError::Invalid(other.to_string()),
        })?;
        let db = Db::open(&data.db_path())?;
        let worktree_root = data
            .worktree_root(config.worktree_root.as_deref())
            .map_err(|e| match e {
                crate::data_dir::DataDirError::Io(io) => GroveError::Io(io),
                other => GroveError::Invalid(other.to_string()),
            })?;
        let shell = config.shell.clone().unwrap_or_else(default_shell);
        let github = github::GithubState::new(&config, data.root())?;
        let (events, _) = broadcast::channel(1024);
        let (session_changed, changed_rx) = mpsc::channel(256);
        let ctx = Arc::new(Ctx {
            db: Mutex::new(db),
            events,
            idle_after: config.idle_after,
            shutting_down: AtomicBool::new(false),
            session_changed,
        });
        let remotes =
            crate::remote::Remotes::new(ctx.events.clone(), tokio::runtime::Handle::current());
        let grove = Grove {
            inner: Arc::new(Inner {
                ctx,
                worktree_root,
                shell,
                terminals: Mutex::new(HashMap::new()),
                flusher: Flusher::spawn(Duration::from_secs(1))?,
                repo_locks: Mutex::new(HashMap::new()),
                drift: Mutex::new(HashMap::new()),
                watchers: Mutex::new(HashMap::new()),
                changes: Mutex::new(HashMap::new()),
                runtime: tokio::runtime::Handle::current(),
                vault: Box::new(crate::vault::StrongholdVault::new(data.root())),
                github,
                remotes,
                data,
                config,
            }),
        };
        grove.load_pulls()?;
        grove.restore()?;
        grove.spawn_session_notifier(changed_rx);
        grove.spawn_pull_poller();
        grove.start_remotes()?;
        if grove.inner.config.vault_keychain {
            grove.spawn_keychain_unlock();
        }
        Ok(grove)
    }

    fn ctx(&self) -> &Arc<Ctx> {
        &self.inner.ctx
    }

    fn db(&self) -> MutexGuard<'_, Db> {
        self.inner.ctx.db.lock()
    }

    pub fn data_dir(&self) -> &Path {
        self.inner.data.root()
    }

    pub fn server_file(&self) -> PathBuf {
        self.inner.data.server_file()
    }

    /// Events as they happen. A receiver that lags gets [`Event::Resync`] from the server.
    pub fn subscribe_events(&self) -> broadcast::Receiver<Event> {
        self.inner.ctx.events.subscribe()
    }

    fn spawn_session_notifier(&self, mut rx: mpsc::Receiver<i64>) {
        let weak = Arc::downgrade(&self.inner);
        self.inner.runtime.spawn(async move {
            while let Some(id) = rx.recv().await {
                let Some(inner) = weak.upgrade() else { return };
                let grove = Grove { inner };
                let built = tokio::task::spawn_blocking(move || {
                    let s = grove.session(id);
                    (grove, s)
                })
                .await;
                if let Ok((grove, Ok(session))) = built {
                    grove.ctx().emit(Event::SessionUpdated { session });
                }
            }
        });
    }

    fn restore(&self) -> Result<()> {
        let (sessions, terminals) = {
            let db = self.db();
            (db.sessions()?, db.terminals()?)
        };
        for s in &sessions {
            if s.state == RowState::Creating {
                // Grove stopped while creating this session.
                if s.worktree.exists() {
                    self.db().set_session_state(s.id, RowState::Active)?;
                } else {
                    self.db().delete_session(s.id)?;
                }
            }
        }
        for row in terminals {
            let log_path = self.log_path(row.id);
            let log = self.load_log(&log_path);
            let end = log.end_offset();
            let size = terminals::clamped_size(row.rows, row.cols);
            let screen = Screen::load(
                Arc::clone(&log),
                size,
                ScreenOptions::default(),
                crate::live::screen_path(&log_path),
            );
            let live = LiveTerminal::new(&row, log, log_path, screen, None);
            // Only what a restarted program prints from now on is news.
            self.start_monitor(&live, end);
            self.inner.terminals.lock().insert(row.id, live);
        }
        let sessions = self.db().sessions()?;
        for s in &sessions {
            if s.state == RowState::Active {
                self.start_watching(s);
            }
        }
        Ok(())
    }

    /// Loads a saved log; a missing one starts empty, an unreadable one is kept aside (never
    /// overwritten) and the terminal starts a new log.
    fn load_log(&self, path: &Path) -> Arc<OutputLog> {
        let cap = self.inner.config.log_capacity;
        match grove_pty::persist::load(path, cap) {
            Ok(log) => Arc::new(log),
            Err(grove_pty::PersistError::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => {
                let log = OutputLog::new(cap);
                log.close();
                Arc::new(log)
            }
            Err(err) => {
                let aside = path.with_extension(format!("corrupt-{}", crate::db::now()));
                let _ = fs_err::rename(path, &aside);
                tracing::warn!(%err, kept = %aside.display(), "terminal log unreadable; kept it aside");
                let log = OutputLog::new(cap);
                log.close();
                Arc::new(log)
            }
        }
    }

    fn log_path(&self, terminal_id: i64) -> PathBuf {
        self.inner.data.logs().join(format!("{terminal_id}.log"))
    }

    pub fn add_repo(&self, path: &str) -> Result<Repo> {
        let path = path.trim();
        if path.is_empty() {
            return Err(GroveError::Invalid(
                "give the path of a git repository".into(),
            ));
        }
        let expanded = expand_home(path);
        let info = git::inspect_repo(&expanded)?;
        let row =
            self.db()
                .add_repo(&info.root, &info.name)?
                .ok_or_else(|| GroveError::RepoExists {
                    path: info.root.display().to_string(),
                })?;
        let repo = repo_wire(&row);
        self.ctx().emit(Event::RepoAdded { repo: repo.clone() });
        Ok(repo)
    }

    pub fn repos(&self) -> Result<Vec<Repo>> {
        Ok(self.db().repos()?.iter().map(repo_wire).collect())
    }

    /// Forgets a repository; touches no file. Refused while it has sessions.
    pub fn remove_repo(&self, id: i64) -> Result<()> {
        let row = self.repo_row(id)?;
        let count = self.db().repo_session_count(id)?;
        if count > 0 {
            return Err(GroveError::RepoHasSessions {
                name: row.name,
                count,
            });
        }
        self.db().remove_repo(id)?;
        self.ctx().emit(Event::RepoRemoved { repo_id: id });
        Ok(())
    }

    fn repo_row(&self, id: i64) -> Result<crate::db::RepoRow> {
        self.db().repo(id)?.ok_or_else(|| GroveError::NotFound {
            what: "repository",
            id: id.to_string(),
        })
    }

    pub fn branches(&self, repo_id: i64) -> Result<Vec<Branch>> {
        let repo = self.repo_row(repo_id)?;
        Ok(git::list_branches(&repo.path)?
            .into_iter()
            .map(|b| Branch {
                name: b.name,
                remote: b.remote,
                head: b.head,
            })
            .collect())
    }

    pub fn agent_presets(&self) -> Vec<AgentPreset> {
        let cwd = std::env::temp_dir();
        let mut presets = vec![AgentPreset {
            name: "shell".into(),
            command: self.inner.shell.clone(),
            available: true,
        }];
        presets.extend(AGENT_PRESETS.iter().map(|name| AgentPreset {
            name: (*name).into(),
            command: (*name).into(),
            available: grove_pty::program_exists(name.as_ref(), &cwd),
        }));
        presets
    }

    fn repo_lock(&self, repo_id: i64) -> Arc<Mutex<()>> {
        Arc::clone(self.inner.repo_locks.lock().entry(repo_id).or_default())
    }

    /// Ends every program (they show as "ended with the app" after the next start), saves every
    /// log and screen, and only then returns. Blocks for about one kill grace period at most
    /// (programs that ignore SIGHUP get SIGKILL when it runs out).
    ///
    /// Every terminal is killed explicitly: other holders of a terminal (its monitor task, a
    /// socket) may keep it alive past this call, so nothing here relies on a drop.
    pub fn shutdown(&self) {
        self.ctx().shutting_down.store(true, Ordering::SeqCst);
        self.stop_all_watching();
        let all: Vec<_> = self.inner.terminals.lock().values().cloned().collect();
        // Monitors first, so none of them records the exits this causes as the programs' own.
        for live in &all {
            if let Some(task) = live.monitor.lock().take() {
                task.abort();
            }
        }
        std::thread::scope(|s| {
            for live in &all {
                s.spawn(move || {
                    if let Some(term) = live.take_terminal() {
                        // Returns once the program and every process holding its PTY are gone
                        // and the reader has put their last bytes in the log.
                        term.kill();
                        if let Err(err) = term.flush_log() {
                            tracing::warn!(terminal = live.id, %err, "could not save a log at shutdown");
                        }
                    }
                    live.screen.catch_up();
                    if let Err(err) = live.screen.save() {
                        tracing::warn!(terminal = live.id, %err, "could not save a screen at shutdown");
                    }
                });
            }
        });
    }
}

fn repo_wire(r: &crate::db::RepoRow) -> Repo {
    Repo {
        id: r.id,
        name: r.name.clone(),
        path: r.path.display().to_string(),
    }
}

fn expand_home(path: &str) -> PathBuf {
    if let Some(rest) = path.strip_prefix("~/")
        && let Some(home) = directories::BaseDirs::new()
    {
        return home.home_dir().join(rest);
    }
    PathBuf::from(path)
}

#[cfg(test)]
mod shell_tests {
    use super::*;

    #[test]
    fn windows_shell_prefers_pwsh_then_powershell_then_comspec() {
        let comspec = || Some(r"C:\Windows\system32\cmd.exe".to_owned());
        assert_eq!(pick_windows_shell(|_| true, comspec()), "pwsh.exe");
        assert_eq!(
            pick_windows_shell(|p| p == "powershell.exe", comspec()),
            "powershell.exe"
        );
        assert_eq!(
            pick_windows_shell(|_| false, comspec()),
            r"C:\Windows\system32\cmd.exe"
        );
        assert_eq!(pick_windows_shell(|_| false, None), "cmd.exe");
    }

    #[test]
    fn on_path_finds_a_program_in_a_path_list() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(dir.path().join("pwsh.exe"), "").unwrap_or_else(|e| panic!("{e}"));
        let path = std::env::join_paths([std::path::Path::new("/nonexistent"), dir.path()])
            .unwrap_or_else(|e| panic!("{e}"));
        let path = path.to_string_lossy();
        assert!(on_path("pwsh.exe", Some(&path)));
        assert!(!on_path("powershell.exe", Some(&path)));
        assert!(!on_path("pwsh.exe", None));
    }
}
