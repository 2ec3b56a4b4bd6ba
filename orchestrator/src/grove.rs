//! [`Grove`]: the one typed API over repos, sessions and terminals. The HTTP/WebSocket server,
//! the CLI (through the server) and the desktop shell are thin adapters over it.
//!
//! Methods that touch git, SQLite or processes block; async callers run them on
//! `spawn_blocking`. Each terminal has a monitor task (see [`crate::monitor`]) on the tokio
//! runtime that was current when [`Grove::open`] ran.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use grove_pty::{
    DEFAULT_LOG_CAPACITY, Flusher, OutputLog, PersistOptions, Terminal, TerminalOptions,
    TerminalSize,
};
use tokio::sync::{broadcast, mpsc};

use crate::data_dir::DataDir;
use crate::db::{Db, NewSession, RowState, SessionRow, TerminalRow};
use crate::error::{GroveError, Result};
use crate::git;
use crate::live::LiveTerminal;
use crate::repo_config::{self, RepoConfig};
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
        }
    }
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// What monitors need: the database and the event stream, but not the terminal map (so there
/// is no reference cycle between the map and the tasks it owns).
#[derive(Debug)]
pub(crate) struct Ctx {
    pub db: Mutex<Db>,
    pub events: broadcast::Sender<Event>,
    pub idle_after: Duration,
    pub shutting_down: AtomicBool,
    /// Sessions whose summary changed (e.g. setup finished); a task turns these into events.
    pub session_changed: mpsc::Sender<i64>,
}

impl Ctx {
    pub fn emit(&self, event: Event) {
        // No receiver is fine: nobody is listening.
        let _ = self.events.send(event);
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
    /// Git mutations of one repo are serialised: libgit2 takes ref and index locks that
    /// concurrent worktree creations would otherwise fight over.
    repo_locks: Mutex<HashMap<i64, Arc<Mutex<()>>>>,
    runtime: tokio::runtime::Handle,
}

/// Grove's core. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Grove {
    inner: Arc<Inner>,
}

fn slugify(name: &str) -> Result<String> {
    let mut slug = String::new();
    for c in name.trim().chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_alphanumeric() || c == '_' {
            slug.push(c);
        } else if !slug.ends_with('-') {
            slug.push('-');
        }
    }
    let slug = slug.trim_matches('-').to_owned();
    if slug.is_empty() {
        return Err(GroveError::Invalid(format!(
            "session name `{name}` needs at least one letter or digit"
        )));
    }
    if name.chars().count() > 80 {
        return Err(GroveError::Invalid(
            "session names are at most 80 characters".into(),
        ));
    }
    Ok(slug)
}

/// Quotes `s` for a POSIX shell.
fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// The first word of a command line, when it is a plain program name or path (so we can check
/// it exists before creating anything). `None` for anything shell-ish.
fn plain_program(command: &str) -> Option<&str> {
    let first = command.split_whitespace().next()?;
    first
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "._-/+".contains(c))
        .then_some(first)
}

/// The script the first terminal runs: the setup commands, visibly, then the agent. The setup's
/// exit status is reported with Grove's private OSC so the monitor can record it.
fn agent_script(setup: &[String], command: &str) -> String {
    if setup.is_empty() {
        return command.to_owned();
    }
    let mut s = String::from("__grove_setup() {\n");
    for cmd in setup {
        s.push_str(&format!(
            "  printf '\\033[1;36m[grove] setup: %s\\033[0m\\n' {}\n  {{\n{}\n  }} || return $?\n",
            shell_quote(cmd),
            cmd
        ));
    }
    s.push_str("}\n__grove_setup\n__grove_s=$?\n");
    s.push_str(&format!(
        "printf '\\033]{};setup-exit;%d\\007' \"$__grove_s\"\n",
        crate::attention::GROVE_OSC
    ));
    s.push_str(
        "if [ \"$__grove_s\" -ne 0 ]; then printf '\\033[1;31m[grove] setup failed with exit %d; starting the agent anyway\\033[0m\\n' \"$__grove_s\"; fi\n",
    );
    s.push_str(command);
    s.push('\n');
    s
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
        let worktree_root = match &config.worktree_root {
            Some(r) => {
                fs_err::create_dir_all(r)?;
                fs_err::canonicalize(r)?
            }
            None => data.worktrees(),
        };
        let shell = config
            .shell
            .clone()
            .or_else(|| std::env::var("SHELL").ok().filter(|s| !s.is_empty()))
            .unwrap_or_else(|| "/bin/sh".into());
        let (events, _) = broadcast::channel(1024);
        let (session_changed, changed_rx) = mpsc::channel(256);
        let ctx = Arc::new(Ctx {
            db: Mutex::new(db),
            events,
            idle_after: config.idle_after,
            shutting_down: AtomicBool::new(false),
            session_changed,
        });
        let grove = Grove {
            inner: Arc::new(Inner {
                ctx,
                worktree_root,
                shell,
                terminals: Mutex::new(HashMap::new()),
                flusher: Flusher::spawn(Duration::from_secs(1))?,
                repo_locks: Mutex::new(HashMap::new()),
                runtime: tokio::runtime::Handle::current(),
                data,
                config,
            }),
        };
        grove.restore()?;
        grove.spawn_session_notifier(changed_rx);
        Ok(grove)
    }

    fn ctx(&self) -> &Arc<Ctx> {
        &self.inner.ctx
    }

    fn db(&self) -> MutexGuard<'_, Db> {
        lock(&self.inner.ctx.db)
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

    // ---------------------------------------------------------------- restore

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
            let live = LiveTerminal::new(&row, log, log_path, None);
            // Only what a restarted program prints from now on is news.
            self.start_monitor(&live, end);
            lock(&self.inner.terminals).insert(row.id, live);
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

    // ---------------------------------------------------------------- repos

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
        Arc::clone(lock(&self.inner.repo_locks).entry(repo_id).or_default())
    }

    // ---------------------------------------------------------------- sessions

    pub fn sessions(&self) -> Result<Vec<Session>> {
        let rows = self.db().sessions()?;
        Ok(rows
            .iter()
            .filter(|r| r.state != RowState::Creating)
            .map(|r| self.session_wire(r))
            .collect())
    }

    pub fn session(&self, id: i64) -> Result<Session> {
        Ok(self.session_wire(&self.session_row(id)?))
    }

    fn session_row(&self, id: i64) -> Result<SessionRow> {
        self.db().session(id)?.ok_or_else(|| GroveError::NotFound {
            what: "session",
            id: id.to_string(),
        })
    }

    fn drift(row: &SessionRow) -> Drift {
        if row.state != RowState::Active {
            return Drift::None;
        }
        match git::drift(&row.worktree, &row.branch) {
            git::Drift::None => Drift::None,
            git::Drift::Missing => Drift::Missing,
            git::Drift::BranchChanged { actual } => Drift::BranchChanged { actual },
        }
    }

    fn session_wire(&self, row: &SessionRow) -> Session {
        let mut terminals: Vec<TerminalInfo> = lock(&self.inner.terminals)
            .values()
            .filter(|t| t.session_id == row.id)
            .map(|t| t.info())
            .collect();
        terminals.sort_by_key(|t| t.id);
        Session {
            id: row.id,
            repo_id: row.repo_id,
            name: row.name.clone(),
            branch: row.branch.clone(),
            base: row.base.clone(),
            worktree: row.worktree.display().to_string(),
            state: row.state.wire(),
            drift: Self::drift(row),
            port_base: row.port_base,
            setup_exit: row.setup_exit,
            has_setup: row.has_setup,
            terminals,
            created_at: row.created_at,
        }
    }

    fn progress(&self, repo_id: i64, name: &str, stage: CreateStage, message: Option<String>) {
        self.ctx().emit(Event::SessionProgress {
            repo_id,
            name: name.into(),
            stage,
            message,
        });
    }

    /// Creates a session: branch + locked worktree from the base, copied files, then the first
    /// terminal running the setup commands (visibly) and the agent.
    pub fn create_session(&self, req: CreateSessionRequest) -> Result<Session> {
        let repo = self.repo_row(req.repo_id)?;
        let name = req.name.trim().to_owned();
        let slug = slugify(&name)?;
        let config = repo_config::load(&repo.path)?;
        let command = req
            .command
            .clone()
            .filter(|c| !c.trim().is_empty())
            .or_else(|| config.agent.clone())
            .unwrap_or_else(|| self.inner.shell.clone());
        self.check_command(&command)?;
        let branch = format!("{}{}", self.inner.config.branch_prefix, slug);
        let worktree = self
            .inner
            .worktree_root
            .join(sanitize(&repo.name))
            .join(&slug);
        let base_hint = req.base.clone().unwrap_or_default();

        let row = self
            .db()
            .reserve_session(
                &NewSession {
                    repo_id: repo.id,
                    name: &name,
                    branch: &branch,
                    base: &base_hint,
                    worktree: &worktree,
                    agent_command: &command,
                    has_setup: !config.setup.is_empty(),
                },
                crate::db::port_block_free,
            )?
            .ok_or_else(|| GroveError::NameTaken {
                name: name.clone(),
                repo: repo.name.clone(),
            })?;

        match self.create_worktree_for(&repo, &row, &req, &config) {
            Ok(()) => {}
            Err(e) => {
                let _ = self.db().delete_session(row.id);
                self.progress(repo.id, &name, CreateStage::Done, Some(e.to_string()));
                return Err(e);
            }
        }
        let row = self.session_row(row.id)?;
        self.progress(repo.id, &name, CreateStage::StartingTerminal, None);
        let size = TerminalSize {
            rows: req.rows.unwrap_or(24).max(1),
            cols: req.cols.unwrap_or(80).max(1),
        };
        let script = agent_script(&config.setup, &command);
        if let Err(e) = self.add_terminal(&row, TerminalKind::Agent, &command, &script, size) {
            // The worktree stays (it is the user's now); the session shows no terminal and can
            // get one with restart / new shell.
            tracing::warn!(session = row.id, %e, "could not start the agent terminal");
        }
        self.progress(repo.id, &name, CreateStage::Done, None);
        let session = self.session_wire(&row);
        self.ctx().emit(Event::SessionUpdated {
            session: session.clone(),
        });
        Ok(session)
    }

    fn create_worktree_for(
        &self,
        repo: &crate::db::RepoRow,
        row: &SessionRow,
        req: &CreateSessionRequest,
        config: &RepoConfig,
    ) -> Result<()> {
        let repo_lock = self.repo_lock(repo.id);
        let _guard = lock(&repo_lock);
        self.progress(repo.id, &row.name, CreateStage::CreatingWorktree, None);
        let created = git::create_worktree(&git::NewWorktree {
            repo: &repo.path,
            root: &self.inner.worktree_root,
            path: &row.worktree,
            branch: &row.branch,
            base: req.base.as_deref().filter(|b| !b.trim().is_empty()),
            use_existing_branch: req.use_existing_branch.unwrap_or(false),
            lock_reason: &format!("Grove session `{}`; archive it from Grove", row.name),
        })?;
        for w in &created.warnings {
            self.progress(repo.id, &row.name, CreateStage::Fetching, Some(w.clone()));
        }
        if !config.copy.is_empty() {
            self.progress(repo.id, &row.name, CreateStage::CopyingFiles, None);
            repo_config::copy_into(&repo.path, &created.path, &config.copy)?;
        }
        let db = self.db();
        db.set_session_base(row.id, &created.base)?;
        db.set_session_state(row.id, RowState::Active)?;
        Ok(())
    }

    fn check_command(&self, command: &str) -> Result<()> {
        if let Some(program) = plain_program(command)
            && !grove_pty::program_exists(program.as_ref(), &std::env::temp_dir())
        {
            return Err(GroveError::CommandNotFound {
                command: program.into(),
            });
        }
        Ok(())
    }

    fn terminal_env(&self, row: &SessionRow) -> Vec<(String, String)> {
        let mut env = vec![
            ("GROVE_SESSION".to_owned(), row.name.clone()),
            ("GROVE_SESSION_ID".to_owned(), row.id.to_string()),
            (
                "GROVE_WORKTREE".to_owned(),
                row.worktree.display().to_string(),
            ),
            ("GROVE_PORT_BASE".to_owned(), row.port_base.to_string()),
            ("PORT".to_owned(), row.port_base.to_string()),
        ];
        // The committed config as the worktree has it; a malformed one was reported at creation.
        if let Ok(cfg) = repo_config::load(&row.worktree) {
            env.extend(cfg.env);
        }
        env
    }

    fn spawn_program(
        &self,
        row: &SessionRow,
        terminal_id: i64,
        script: &str,
        size: TerminalSize,
        log: Option<Arc<OutputLog>>,
    ) -> Result<Terminal> {
        #[cfg(unix)]
        let mut opts = TerminalOptions::new("/bin/sh", &row.worktree).args(["-c", script]);
        #[cfg(windows)]
        let mut opts = TerminalOptions::new("cmd.exe", &row.worktree).args(["/C", script]);
        for (k, v) in self.terminal_env(row) {
            opts = opts.env(k, v);
        }
        opts.size = size;
        opts.log_capacity = self.inner.config.log_capacity;
        opts.log = log;
        opts.kill_grace = self.inner.config.kill_grace;
        opts.name = format!("t{terminal_id}");
        opts.persist = Some(PersistOptions {
            path: self.log_path(terminal_id),
            flusher: Some(self.inner.flusher.registry()),
        });
        Ok(Terminal::spawn(opts)?)
    }

    fn add_terminal(
        &self,
        row: &SessionRow,
        kind: TerminalKind,
        command: &str,
        script: &str,
        size: TerminalSize,
    ) -> Result<Arc<LiveTerminal>> {
        let trow = self
            .db()
            .add_terminal(row.id, kind, command, size.rows, size.cols)?;
        let term = match self.spawn_program(row, trow.id, script, size, None) {
            Ok(t) => t,
            Err(e) => {
                let _ = self.db().delete_terminal(trow.id);
                return Err(e);
            }
        };
        let live = LiveTerminal::new(
            &trow,
            Arc::clone(term.log()),
            self.log_path(trow.id),
            Some(term),
        );
        // From the log's first byte: the program may already have printed (e.g. the setup's
        // exit status) before the monitor task first runs.
        let start = live.log.start_offset();
        self.start_monitor(&live, start);
        lock(&self.inner.terminals).insert(trow.id, Arc::clone(&live));
        self.ctx().emit(Event::TerminalUpdated {
            terminal: live.info(),
        });
        Ok(live)
    }

    /// Starts the terminal's monitor, reading its log from offset `from`.
    fn start_monitor(&self, live: &Arc<LiveTerminal>, from: u64) {
        let sub = live.log.subscribe(from);
        let task = self.inner.runtime.spawn(crate::monitor::run(
            Arc::clone(self.ctx()),
            Arc::clone(live),
            sub,
        ));
        *lock(&live.monitor) = Some(task);
    }

    fn session_terminals(&self, session_id: i64) -> Vec<Arc<LiveTerminal>> {
        let mut v: Vec<_> = lock(&self.inner.terminals)
            .values()
            .filter(|t| t.session_id == session_id)
            .cloned()
            .collect();
        v.sort_by_key(|t| t.id);
        v
    }

    fn refuse_drift(&self, row: &SessionRow) -> Result<()> {
        let drift = match Self::drift(row) {
            Drift::None => return Ok(()),
            Drift::Missing => format!("its worktree {} is missing", row.worktree.display()),
            Drift::BranchChanged { actual } => {
                format!("its worktree is on {actual} instead of {}", row.branch)
            }
        };
        Err(GroveError::Drift {
            name: row.name.clone(),
            drift,
        })
    }

    /// Ends every program of a session (in parallel: each may take the kill grace period).
    fn stop_terminals(&self, session_id: i64) {
        let terms: Vec<_> = self
            .session_terminals(session_id)
            .iter()
            .filter_map(|t| t.take_terminal().map(|term| (Arc::clone(t), term)))
            .collect();
        std::thread::scope(|s| {
            for (live, term) in terms {
                s.spawn(move || {
                    let status = term.kill();
                    drop(term);
                    if let Some(status) = status {
                        let exit = crate::wire::ExitInfo::from(status);
                        let _ =
                            lock(&self.ctx().db).set_terminal_exit(live.id, exit.code, exit.signal);
                        live.update(|st| st.exit = Some(exit));
                    }
                });
            }
        });
    }

    /// Removes the worktree (keeping the branch). Refused when it holds uncommitted changes,
    /// untracked files or commits that exist nowhere else — unless `force`.
    pub fn archive_session(&self, id: i64, force: bool) -> Result<Session> {
        let row = self.session_row(id)?;
        if row.state != RowState::Active {
            return Err(GroveError::NotActive { name: row.name });
        }
        let repo = self.repo_row(row.repo_id)?;
        if !force {
            self.refuse_drift(&row)?;
        }
        let repo_lock = self.repo_lock(repo.id);
        let _guard = lock(&repo_lock);
        if !force {
            // Check before stopping anything, so a refusal changes nothing.
            refuse_unsafe_removal(&repo.path, &row)?;
        }
        self.stop_terminals(id);
        git::remove_worktree(
            &repo.path,
            &self.inner.worktree_root,
            &row.worktree,
            &row.branch,
            force,
        )?;
        self.db().set_session_state(id, RowState::Archived)?;
        let session = self.session(id)?;
        self.ctx().emit(Event::SessionUpdated {
            session: session.clone(),
        });
        Ok(session)
    }

    /// Re-creates an archived session's worktree on its branch and restarts its agent.
    pub fn restore_session(&self, id: i64) -> Result<Session> {
        let row = self.session_row(id)?;
        if row.state != RowState::Archived {
            return Err(GroveError::NotArchived { name: row.name });
        }
        let repo = self.repo_row(row.repo_id)?;
        {
            let repo_lock = self.repo_lock(repo.id);
            let _guard = lock(&repo_lock);
            git::restore_worktree(
                &repo.path,
                &self.inner.worktree_root,
                &row.worktree,
                &row.branch,
                &format!("Grove session `{}`; archive it from Grove", row.name),
            )?;
        }
        self.db().set_session_state(id, RowState::Active)?;
        if let Some(agent) = self
            .session_terminals(id)
            .into_iter()
            .find(|t| t.kind == TerminalKind::Agent)
        {
            self.restart_terminal(agent.id)?;
        }
        let session = self.session(id)?;
        self.ctx().emit(Event::SessionUpdated {
            session: session.clone(),
        });
        Ok(session)
    }

    /// Archive + delete the branch (only if merged into its base, unless `force`) + forget it.
    pub fn delete_session(&self, id: i64, force: bool) -> Result<()> {
        let row = self.session_row(id)?;
        let repo = self.repo_row(row.repo_id)?;
        if !force && row.state == RowState::Active {
            self.refuse_drift(&row)?;
        }
        if !force {
            // Refuse before touching anything when the branch is not merged.
            let repo_lock = self.repo_lock(repo.id);
            let _guard = lock(&repo_lock);
            if row.state == RowState::Active {
                refuse_unsafe_removal(&repo.path, &row)?;
            }
            if !git::branch_merged(&repo.path, &row.branch, &row.base)? {
                return Err(git::GitError::NotMerged {
                    branch: row.branch,
                    base: row.base,
                }
                .into());
            }
        }
        if row.state == RowState::Active {
            self.archive_session(id, force)?;
        }
        {
            let repo_lock = self.repo_lock(repo.id);
            let _guard = lock(&repo_lock);
            git::delete_branch(&repo.path, &row.branch, &row.base, force)?;
        }
        self.stop_terminals(id);
        let terms = self.session_terminals(id);
        for t in &terms {
            if let Some(task) = lock(&t.monitor).take() {
                task.abort();
            }
            lock(&self.inner.terminals).remove(&t.id);
            let _ = fs_err::remove_file(&t.log_path);
        }
        self.db().delete_session(id)?;
        self.ctx().emit(Event::SessionRemoved { session_id: id });
        Ok(())
    }

    // ---------------------------------------------------------------- terminals

    pub fn terminal(&self, id: i64) -> Result<Arc<LiveTerminal>> {
        lock(&self.inner.terminals)
            .get(&id)
            .cloned()
            .ok_or_else(|| GroveError::NotFound {
                what: "terminal",
                id: id.to_string(),
            })
    }

    /// Opens another shell (or `command`) in the session's worktree.
    pub fn new_terminal(&self, session_id: i64, command: Option<String>) -> Result<TerminalInfo> {
        let row = self.session_row(session_id)?;
        if row.state != RowState::Active {
            return Err(GroveError::NotActive { name: row.name });
        }
        self.refuse_drift(&row)?;
        let command = command
            .filter(|c| !c.trim().is_empty())
            .unwrap_or_else(|| self.inner.shell.clone());
        self.check_command(&command)?;
        let size = self
            .session_terminals(session_id)
            .first()
            .map(|t| lock(&t.state).size)
            .unwrap_or_default();
        let live = self.add_terminal(&row, TerminalKind::Shell, &command, &command, size)?;
        let _ = self.ctx().session_changed.try_send(session_id);
        Ok(live.info())
    }

    /// Starts the terminal's command again (the agent without its setup), continuing the same
    /// output log. A running program is ended first.
    pub fn restart_terminal(&self, id: i64) -> Result<TerminalInfo> {
        let live = self.terminal(id)?;
        let row = self.session_row(live.session_id)?;
        if row.state != RowState::Active {
            return Err(GroveError::NotActive { name: row.name });
        }
        self.refuse_drift(&row)?;
        self.check_command(&live.command)?;
        if let Some(old) = live.take_terminal() {
            old.kill();
        }
        let size = lock(&live.state).size;
        let term =
            self.spawn_program(&row, id, &live.command, size, Some(Arc::clone(&live.log)))?;
        drop(live.set_terminal(term));
        self.db().set_terminal_exit(id, None, None)?;
        let info = live.info();
        self.ctx().emit(Event::TerminalUpdated {
            terminal: info.clone(),
        });
        Ok(info)
    }

    /// Ends a terminal's program and forgets the terminal and its log.
    pub fn close_terminal(&self, id: i64) -> Result<()> {
        let live = self.terminal(id)?;
        if let Some(term) = live.take_terminal() {
            term.kill();
        }
        if let Some(task) = lock(&live.monitor).take() {
            task.abort();
        }
        lock(&self.inner.terminals).remove(&id);
        self.db().delete_terminal(id)?;
        let _ = fs_err::remove_file(&live.log_path);
        self.ctx().emit(Event::TerminalRemoved {
            session_id: live.session_id,
            terminal_id: id,
        });
        let _ = self.ctx().session_changed.try_send(live.session_id);
        Ok(())
    }

    /// Sends input to a terminal; clears its needs-attention flag (the user answered).
    pub fn write_input(&self, id: i64, bytes: &[u8]) -> Result<()> {
        let live = self.terminal(id)?;
        let term = live.terminal().ok_or_else(|| {
            GroveError::Terminal(grove_pty::TerminalError::Exited(grove_pty::ExitStatus {
                code: live.info().exit.and_then(|e| e.code),
                signal: None,
            }))
        })?;
        term.write_input(bytes)?;
        if lock(&live.state).attention {
            live.update(|st| st.attention = false);
            self.ctx().emit(Event::TerminalUpdated {
                terminal: live.info(),
            });
        }
        Ok(())
    }

    pub fn resize_terminal(&self, id: i64, rows: u16, cols: u16) -> Result<()> {
        let live = self.terminal(id)?;
        let size = TerminalSize { rows, cols };
        if let Some(term) = live.terminal() {
            term.resize(size)?;
        } else if rows == 0 || cols == 0 {
            return Err(GroveError::Terminal(
                grove_pty::TerminalError::InvalidSize { rows, cols },
            ));
        }
        let changed = {
            let mut st = lock(&live.state);
            let changed = st.size != size;
            st.size = size;
            changed
        };
        if changed {
            self.db().set_terminal_size(id, rows, cols)?;
        }
        Ok(())
    }

    /// Ends every program (they show as "ended with the app" after the next start) and saves
    /// every log. Blocks for at most about one kill grace period.
    pub fn shutdown(&self) {
        self.ctx().shutting_down.store(true, Ordering::SeqCst);
        let all: Vec<_> = lock(&self.inner.terminals).values().cloned().collect();
        std::thread::scope(|s| {
            for live in &all {
                if let Some(term) = live.take_terminal() {
                    s.spawn(move || drop(term));
                }
            }
        });
        for live in &all {
            if let Some(task) = lock(&live.monitor).take() {
                task.abort();
            }
        }
    }
}

/// Refuses (with the details) when removing the worktree would lose work.
fn refuse_unsafe_removal(repo: &Path, row: &SessionRow) -> Result<()> {
    let check = git::check_removal(repo, &row.worktree, &row.branch)?;
    if !check.uncommitted.is_empty() || !check.untracked.is_empty() {
        return Err(git::GitError::Dirty {
            path: row.worktree.clone(),
            uncommitted: check.uncommitted,
            untracked: check.untracked,
        }
        .into());
    }
    if check.unpushed > 0 {
        return Err(git::GitError::Unpushed {
            branch: row.branch.clone(),
            commits: check.unpushed,
        }
        .into());
    }
    Ok(())
}

fn repo_wire(r: &crate::db::RepoRow) -> Repo {
    Repo {
        id: r.id,
        name: r.name.clone(),
        path: r.path.display().to_string(),
    }
}

fn sanitize(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let s = s.trim_start_matches('.').to_owned();
    if s.is_empty() { "repo".into() } else { s }
}

fn expand_home(path: &str) -> PathBuf {
    if let Some(rest) = path.strip_prefix("~/")
        && let Some(home) = directories::BaseDirs::new()
    {
        return home.home_dir().join(rest);
    }
    PathBuf::from(path)
}

#[allow(dead_code)]
fn _assert_send_sync() {
    fn is<T: Send + Sync>() {}
    is::<Grove>();
    is::<TerminalRow>();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_and_scripts() {
        assert_eq!(slugify("Fix login bug!").unwrap(), "fix-login-bug");
        assert_eq!(slugify("  a/b..c  ").unwrap(), "a-b-c");
        assert!(slugify("!!!").is_err());
        assert_eq!(plain_program("claude --resume"), Some("claude"));
        assert_eq!(plain_program("FOO=1 x"), None);
        let s = agent_script(&["echo 'hi'".into()], "bash");
        assert!(s.contains("'echo '\\''hi'\\'''"), "{s}");
        assert!(s.ends_with("bash\n"));
        assert_eq!(agent_script(&[], "bash"), "bash");
    }
}
