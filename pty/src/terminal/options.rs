//! What a terminal is started with, and why starting or using one can fail.

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::flow::FlowOptions;
use crate::log::{DEFAULT_LOG_CAPACITY, OutputLog};
use crate::persist::{FlushRegistry, PersistError, PersistedLog};
use crate::process::ExitStatus;
use crate::screen::{Screen, ScreenOptions};
use crate::size::TerminalSize;

#[cfg(doc)]
use super::Terminal;

/// Where a terminal saves its output log.
#[derive(Debug, Clone)]
pub struct PersistOptions {
    /// The log file (created or continued).
    pub path: PathBuf,
    /// Flushes the log periodically; without one the log is saved only when the terminal closes.
    pub flusher: Option<FlushRegistry>,
}

/// Everything needed to start a terminal. Build with [`TerminalOptions::new`] and set fields.
///
/// Its `Debug` shows the environment's keys only: values may be secrets (API keys given to an
/// agent), and a debug print must not put them in a log.
#[derive(Clone)]
pub struct TerminalOptions {
    /// Program to run: a name looked up in `PATH`, or a path (relative to `cwd`).
    pub program: OsString,
    pub args: Vec<OsString>,
    /// Working directory; must exist.
    pub cwd: PathBuf,
    /// Environment set on top of the inherited one (and of the `TERM`/`COLORTERM` defaults).
    pub env: Vec<(OsString, OsString)>,
    /// Inherited variables to remove.
    pub env_remove: Vec<OsString>,
    /// Size the PTY has before the program starts.
    pub size: TerminalSize,
    /// Capacity of a new output log (ignored when continuing one).
    pub log_capacity: usize,
    /// A new output log, or one to continue (a restarted program, a log loaded from disk).
    pub log: LogSetting,
    /// How long attached clients may hold the program back, and how fast a terminal nobody
    /// reads is read (see [`crate::flow`]).
    pub flow: FlowOptions,
    /// Whether the reader of a terminal that floods (prints [`FLOOD_RATE`](super::FLOOD_RATE)
    /// or more) yields to other threads: on Linux it runs as `SCHED_BATCH` (never preempts on
    /// wake-up) until the output slows down. Off by default.
    pub lower_flood_priority: bool,
    /// Time between SIGHUP and SIGKILL when the terminal is killed.
    pub kill_grace: Duration,
    /// Names the terminal's threads (`pty-reader:<name>`), for debuggers and `top -H`.
    pub name: String,
    /// The screen model that answers the program's queries and renders snapshots.
    pub screen: ScreenSetting,
}

/// The output log a terminal fills.
///
/// A saved log has exactly one writer for its whole life, whichever program is filling it:
/// a restarted program continues the [`PersistedLog`] itself, never the log with a second
/// writer for its file (two writers that each append what they think is new duplicate bytes
/// and shift every later offset).
#[derive(Debug, Clone)]
pub enum LogSetting {
    /// A new log of [`TerminalOptions::log_capacity`] bytes, saved when `persist` is given.
    New { persist: Option<PersistOptions> },
    /// Continue a log that is kept in memory only.
    Continue(Arc<OutputLog>),
    /// Continue a saved log with the writer that saves it (see [`Terminal::persisted`]).
    ContinuePersisted(Arc<PersistedLog>),
}

/// Whether a terminal keeps a screen model (see [`crate::screen`]).
#[derive(Debug, Clone)]
pub enum ScreenSetting {
    /// No model: nothing answers the program's queries unless a pane does.
    Off,
    /// A new model following the log (saved beside the log file when the log is persisted).
    New(ScreenOptions),
    /// Continue a model (a restarted program, a restored terminal); it must follow `log`.
    Continue(Arc<Screen>),
}

impl std::fmt::Debug for TerminalOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let env_keys: Vec<&OsString> = self.env.iter().map(|(k, _)| k).collect();
        f.debug_struct("TerminalOptions")
            .field("program", &self.program)
            .field("args", &self.args)
            .field("cwd", &self.cwd)
            .field("env_keys", &env_keys)
            .field("env_remove", &self.env_remove)
            .field("size", &self.size)
            .field("log_capacity", &self.log_capacity)
            .field("log", &self.log)
            .field("flow", &self.flow)
            .field("lower_flood_priority", &self.lower_flood_priority)
            .field("kill_grace", &self.kill_grace)
            .field("name", &self.name)
            .field("screen", &self.screen)
            .finish()
    }
}

impl TerminalOptions {
    /// Options to run `program` in `cwd` with defaults for everything else: 24×80, an 8 MiB log,
    /// a 2 s kill grace period.
    pub fn new(program: impl Into<OsString>, cwd: impl Into<PathBuf>) -> Self {
        TerminalOptions {
            program: program.into(),
            args: Vec::new(),
            cwd: cwd.into(),
            env: Vec::new(),
            env_remove: Vec::new(),
            size: TerminalSize::default(),
            log_capacity: DEFAULT_LOG_CAPACITY,
            log: LogSetting::New { persist: None },
            flow: FlowOptions::default(),
            lower_flood_priority: false,
            kill_grace: Duration::from_secs(2),
            name: String::from("terminal"),
            screen: ScreenSetting::New(ScreenOptions::default()),
        }
    }

    /// Adds arguments.
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// Saves a new log to `path` (flushed by `flusher`, else only when the output ends).
    pub fn persist(mut self, path: impl Into<PathBuf>, flusher: Option<FlushRegistry>) -> Self {
        self.log = LogSetting::New {
            persist: Some(PersistOptions {
                path: path.into(),
                flusher,
            }),
        };
        self
    }

    /// Sets one environment variable.
    pub fn env(mut self, key: impl Into<OsString>, value: impl Into<OsString>) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    pub(crate) fn env_value(&self, key: &str) -> Option<OsString> {
        if let Some((_, v)) = self.env.iter().rev().find(|(k, _)| k == key) {
            return Some(v.clone());
        }
        if self.env_remove.iter().any(|k| k == key) {
            return None;
        }
        std::env::var_os(key)
    }
}

/// Why a terminal could not start. Each variant names what was wrong.
#[derive(Debug, thiserror::Error)]
pub enum SpawnError {
    #[error("program `{program}` was not found in PATH: install it or give its full path")]
    ProgramNotFound { program: String },
    #[error("program {path} does not exist")]
    ProgramMissing { path: PathBuf },
    #[error("program {path} is not an executable file: check its permissions")]
    NotExecutable { path: PathBuf },
    #[error("working directory {path} does not exist: create it or choose another")]
    CwdMissing { path: PathBuf },
    #[error("working directory {path} is not a directory")]
    CwdNotDirectory { path: PathBuf },
    #[error("terminal size {rows}x{cols} is invalid: rows and columns must be at least 1")]
    InvalidSize { rows: u16, cols: u16 },
    #[error("could not open a PTY: {message}")]
    OpenPty { message: String },
    #[error("could not start `{program}`: {message}")]
    Spawn { program: String, message: String },
    #[error("could not start the terminal's {what} thread: {source}")]
    Thread {
        what: &'static str,
        source: std::io::Error,
    },
    #[error("could not open the terminal's log file: {0}")]
    Persist(#[from] PersistError),
}

/// Why an operation on a running terminal failed.
#[derive(Debug, thiserror::Error)]
pub enum TerminalError {
    #[error("the terminal's program has ended ({0}); restart it to type again")]
    Exited(ExitStatus),
    #[error("terminal size {rows}x{cols} is invalid: rows and columns must be at least 1")]
    InvalidSize { rows: u16, cols: u16 },
    #[error("could not write to the terminal: {0}")]
    Io(#[from] std::io::Error),
    #[error("could not resize the terminal: {0}")]
    Resize(String),
    #[error("the terminal is closing and takes no more input")]
    Closing,
}

pub(crate) fn check_cwd(cwd: &Path) -> Result<(), SpawnError> {
    match fs_err::metadata(cwd) {
        Ok(m) if m.is_dir() => Ok(()),
        Ok(_) => Err(SpawnError::CwdNotDirectory {
            path: cwd.to_owned(),
        }),
        Err(_) => Err(SpawnError::CwdMissing {
            path: cwd.to_owned(),
        }),
    }
}

fn is_executable(path: &Path) -> bool {
    let Ok(meta) = fs_err::metadata(path) else {
        return false;
    };
    if !meta.is_file() {
        return false;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        meta.permissions().mode() & 0o111 != 0
    }
    #[cfg(not(unix))]
    {
        true
    }
}

/// Resolves the program the way the child's `execvp` will, so that a missing program is a typed
/// error now rather than a terminal that prints an error and dies.
pub(crate) fn resolve_program(opts: &TerminalOptions) -> Result<PathBuf, SpawnError> {
    let program = Path::new(&opts.program);
    if program.components().count() > 1 || program.is_absolute() {
        let path = if program.is_absolute() {
            program.to_owned()
        } else {
            opts.cwd.join(program)
        };
        if !path.exists() {
            return Err(SpawnError::ProgramMissing { path });
        }
        if !is_executable(&path) {
            return Err(SpawnError::NotExecutable { path });
        }
        return Ok(path);
    }
    let not_found = || SpawnError::ProgramNotFound {
        program: opts.program.to_string_lossy().into_owned(),
    };
    if opts.program.is_empty() {
        return Err(not_found());
    }
    let path_var = opts.env_value("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path_var) {
        let dir = if dir.is_relative() {
            opts.cwd.join(dir)
        } else {
            dir
        };
        let candidate = dir.join(program);
        if is_executable(&candidate) {
            return Ok(candidate);
        }
        #[cfg(windows)]
        for ext in ["exe", "cmd", "bat"] {
            let c = candidate.with_extension(ext);
            if is_executable(&c) {
                return Ok(c);
            }
        }
    }
    Err(not_found())
}

/// Is `program` something [`Terminal::spawn`] would find? For callers that want to check a
/// command before creating anything.
pub fn program_exists(program: &OsStr, cwd: &Path) -> bool {
    resolve_program(&TerminalOptions::new(program, cwd)).is_ok()
}
