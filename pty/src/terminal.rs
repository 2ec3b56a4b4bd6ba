//! A terminal: one child process in a real PTY, its reader and waiter threads, and its log.

use std::ffi::{OsStr, OsString};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use portable_pty::{CommandBuilder, MasterPty, PtySize, native_pty_system};
use tokio::sync::Notify;

use crate::log::{DEFAULT_LOG_CAPACITY, OutputLog, Subscription};
use crate::persist::{FlushRegistry, PersistError, PersistedLog};
use crate::process::ExitStatus;
use crate::screen::{Screen, ScreenOptions};

/// Rows and columns of a terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct TerminalSize {
    pub rows: u16,
    pub cols: u16,
}

impl Default for TerminalSize {
    fn default() -> Self {
        TerminalSize { rows: 24, cols: 80 }
    }
}

/// Where a terminal saves its output log.
#[derive(Debug, Clone)]
pub struct PersistOptions {
    /// The log file (created or continued).
    pub path: PathBuf,
    /// Flushes the log periodically; without one the log is saved only when the terminal closes.
    pub flusher: Option<FlushRegistry>,
}

/// Everything needed to start a terminal. Build with [`TerminalOptions::new`] and set fields.
#[derive(Debug, Clone)]
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
    /// Capacity of a new output log (ignored when `log` is given).
    pub log_capacity: usize,
    /// Continue an existing log (e.g. one loaded from disk) instead of starting a new one.
    pub log: Option<Arc<OutputLog>>,
    /// Save the log to disk.
    pub persist: Option<PersistOptions>,
    /// Time between SIGHUP and SIGKILL when the terminal is killed.
    pub kill_grace: Duration,
    /// Names the terminal's threads (`pty-reader:<name>`), for debuggers and `top -H`.
    pub name: String,
    /// The screen model that answers the program's queries and renders snapshots.
    pub screen: ScreenSetting,
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
            log: None,
            persist: None,
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

    /// Sets one environment variable.
    pub fn env(mut self, key: impl Into<OsString>, value: impl Into<OsString>) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    fn env_value(&self, key: &str) -> Option<OsString> {
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
}

#[derive(Debug, Default)]
struct ExitState {
    status: Option<ExitStatus>,
}

#[derive(Debug, Default)]
struct Gate {
    paused: bool,
    stop: bool,
}

/// State shared between the handle and the terminal's threads.
#[derive(Debug)]
struct Shared {
    log: Arc<OutputLog>,
    exit: Mutex<ExitState>,
    exit_cond: Condvar,
    exit_notify: Notify,
    gate: Mutex<Gate>,
    gate_cond: Condvar,
    reader_done: Mutex<bool>,
    reader_done_cond: Condvar,
    persisted: Option<Arc<PersistedLog>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// One child process in a real PTY plus its output log.
///
/// Threads: a blocking reader (`pty-reader:<name>`) appends everything the PTY prints to the
/// log; a waiter (`pty-waiter:<name>`) records the exit status. Dropping the terminal ends the
/// child's whole process group (SIGHUP, then SIGKILL after the grace period), reaps it, saves
/// the log and joins both threads.
pub struct Terminal {
    shared: Arc<Shared>,
    master: Mutex<Box<dyn MasterPty + Send>>,
    writer: Arc<Mutex<Box<dyn Write + Send>>>,
    screen: Option<Arc<Screen>>,
    responder_id: u64,
    screen_stop: Arc<std::sync::atomic::AtomicBool>,
    screen_thread: Option<JoinHandle<()>>,
    size: Mutex<TerminalSize>,
    pid: u32,
    descendants: crate::descendants::Descendants,
    kill_grace: Duration,
    reader: Option<JoinHandle<()>>,
    waiter: Option<JoinHandle<()>>,
    #[cfg(windows)]
    killer: Mutex<Box<dyn portable_pty::ChildKiller + Send + Sync>>,
}

impl std::fmt::Debug for Terminal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Terminal")
            .field("pid", &self.pid)
            .finish_non_exhaustive()
    }
}

fn check_cwd(cwd: &Path) -> Result<(), SpawnError> {
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
fn resolve_program(opts: &TerminalOptions) -> Result<PathBuf, SpawnError> {
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

impl Terminal {
    /// Starts `opts.program` in a new PTY of `opts.size`.
    pub fn spawn(opts: TerminalOptions) -> Result<Terminal, SpawnError> {
        let TerminalSize { rows, cols } = opts.size;
        if rows == 0 || cols == 0 {
            return Err(SpawnError::InvalidSize { rows, cols });
        }
        check_cwd(&opts.cwd)?;
        let program = resolve_program(&opts)?;
        let program_name = opts.program.to_string_lossy().into_owned();

        let pair = native_pty_system()
            .openpty(PtySize {
                rows,
                cols,
                pixel_width: 0,
                pixel_height: 0,
            })
            .map_err(|e| SpawnError::OpenPty {
                message: format!("{e:#}"),
            })?;

        let mut cmd = CommandBuilder::new(program.as_os_str());
        cmd.args(&opts.args);
        cmd.cwd(&opts.cwd);
        cmd.env("TERM", "xterm-256color");
        cmd.env("COLORTERM", "truecolor");
        for key in &opts.env_remove {
            cmd.env_remove(key);
        }
        for (k, v) in &opts.env {
            cmd.env(k, v);
        }
        let descendants = crate::descendants::Descendants::new();
        cmd.env(crate::descendants::ENV, descendants.marker());

        let spawn_err = |e: &dyn std::fmt::Display| SpawnError::Spawn {
            program: program_name.clone(),
            message: e.to_string(),
        };
        let reader = pair.master.try_clone_reader().map_err(|e| spawn_err(&e))?;
        let pending_fd = PendingFd::new(pair.master.as_ref());
        let writer = pair.master.take_writer().map_err(|e| spawn_err(&e))?;
        let spawning = descendants.spawning();
        let child = pair
            .slave
            .spawn_command(cmd)
            .map_err(|e| spawn_err(&format!("{e:#}")))?;
        spawning.leader(child.process_id().unwrap_or(0));
        // The child has its own copy of the slave; ours must close so that the reader sees EOF
        // when the child's side goes away.
        drop(pair.slave);
        let pid = child.process_id().unwrap_or(0);

        let log = match opts.log {
            Some(log) => {
                log.reopen();
                log
            }
            None => Arc::new(OutputLog::new(opts.log_capacity)),
        };
        let persisted = match &opts.persist {
            Some(p) => {
                let persisted = PersistedLog::new(&p.path, Arc::clone(&log))?;
                if let Some(flusher) = &p.flusher {
                    flusher.register(&persisted);
                }
                Some(persisted)
            }
            None => None,
        };
        let shared = Arc::new(Shared {
            log,
            exit: Mutex::new(ExitState::default()),
            exit_cond: Condvar::new(),
            exit_notify: Notify::new(),
            gate: Mutex::new(Gate::default()),
            gate_cond: Condvar::new(),
            reader_done: Mutex::new(false),
            reader_done_cond: Condvar::new(),
            persisted,
        });

        let writer = Arc::new(Mutex::new(writer));
        let screen = match opts.screen {
            ScreenSetting::Off => None,
            ScreenSetting::New(options) => {
                let file = opts
                    .persist
                    .as_ref()
                    .map(|p| p.path.with_extension("screen"));
                Some(Screen::new(
                    Arc::clone(&shared.log),
                    opts.size,
                    options,
                    file,
                ))
            }
            ScreenSetting::Continue(screen) => {
                screen.resize(opts.size);
                Some(screen)
            }
        };
        let screen_stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let mut responder_id = 0;
        let screen_thread = match &screen {
            Some(screen) => {
                let w = Arc::clone(&writer);
                responder_id = screen.set_responder(Arc::new(move |answer: &[u8]| {
                    let mut w = lock(&w);
                    // The program may have gone; an answer nobody reads is no error.
                    let _ = w.write_all(answer).and_then(|()| w.flush());
                }));
                let screen = Arc::clone(screen);
                let stop = Arc::clone(&screen_stop);
                Some(
                    std::thread::Builder::new()
                        .name(format!("pty-screen:{}", opts.name))
                        .spawn(move || crate::screen::follow(&screen, &stop))
                        .map_err(|source| SpawnError::Thread {
                            what: "screen",
                            source,
                        })?,
                )
            }
            None => None,
        };

        #[cfg(windows)]
        let killer = Mutex::new(child.clone_killer());

        let waiter = {
            let shared = Arc::clone(&shared);
            std::thread::Builder::new()
                .name(format!("pty-waiter:{}", opts.name))
                .spawn(move || wait_loop(&shared, child, pid))
                .map_err(|source| SpawnError::Thread {
                    what: "waiter",
                    source,
                })?
        };
        let reader_thread = {
            let shared = Arc::clone(&shared);
            std::thread::Builder::new()
                .name(format!("pty-reader:{}", opts.name))
                .spawn(move || read_loop(&shared, reader, pending_fd))
                .map_err(|source| SpawnError::Thread {
                    what: "reader",
                    source,
                })?
        };

        Ok(Terminal {
            shared,
            master: Mutex::new(pair.master),
            writer,
            screen,
            responder_id,
            screen_stop,
            screen_thread,
            size: Mutex::new(opts.size),
            pid,
            descendants,
            kill_grace: opts.kill_grace,
            reader: Some(reader_thread),
            waiter: Some(waiter),
            #[cfg(windows)]
            killer,
        })
    }

    /// The child's process id (and, on Unix, its process group id).
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// The terminal's output log.
    pub fn log(&self) -> &Arc<OutputLog> {
        &self.shared.log
    }

    /// The terminal's screen model, unless it was started without one.
    pub fn screen(&self) -> Option<&Arc<Screen>> {
        self.screen.as_ref()
    }

    /// Shorthand for `self.log().subscribe(from)`.
    pub fn subscribe(&self, from: u64) -> Subscription {
        self.shared.log.subscribe(from)
    }

    /// The current size.
    pub fn size(&self) -> TerminalSize {
        *lock(&self.size)
    }

    /// Writes input bytes (keystrokes, paste) to the program. Blocks while the PTY's input
    /// buffer is full (a program that does not read its input); call it from a blocking context.
    pub fn write_input(&self, bytes: &[u8]) -> Result<(), TerminalError> {
        if let Some(status) = self.exit_status() {
            return Err(TerminalError::Exited(status));
        }
        let mut w = lock(&self.writer);
        w.write_all(bytes)?;
        w.flush()?;
        Ok(())
    }

    /// Resizes the PTY; the program gets SIGWINCH. A no-op once the program has exited.
    pub fn resize(&self, size: TerminalSize) -> Result<(), TerminalError> {
        let TerminalSize { rows, cols } = size;
        if rows == 0 || cols == 0 {
            return Err(TerminalError::InvalidSize { rows, cols });
        }
        if self.exit_status().is_some() {
            return Ok(());
        }
        lock(&self.master)
            .resize(PtySize {
                rows,
                cols,
                pixel_width: 0,
                pixel_height: 0,
            })
            .map_err(|e| TerminalError::Resize(format!("{e:#}")))?;
        *lock(&self.size) = size;
        if let Some(screen) = &self.screen {
            screen.resize(size);
        }
        Ok(())
    }

    /// Flow control: while paused, the reader stops reading the PTY, so the kernel's buffer
    /// fills and the program blocks in `write` — exactly what a real terminal does when it
    /// cannot keep up. The server pauses when every attached client is saturated.
    pub fn set_reading_paused(&self, paused: bool) {
        lock(&self.shared.gate).paused = paused;
        self.shared.gate_cond.notify_all();
    }

    /// Whether reading is paused.
    pub fn is_reading_paused(&self) -> bool {
        lock(&self.shared.gate).paused
    }

    /// The exit status, once the program has exited.
    pub fn exit_status(&self) -> Option<ExitStatus> {
        lock(&self.shared.exit).status
    }

    /// Waits up to `timeout` for the program to exit.
    pub fn wait_exit(&self, timeout: Duration) -> Option<ExitStatus> {
        let guard = lock(&self.shared.exit);
        let (guard, _) = self
            .shared
            .exit_cond
            .wait_timeout_while(guard, timeout, |st| st.status.is_none())
            .unwrap_or_else(|p| p.into_inner());
        guard.status
    }

    /// Resolves when the program exits (async).
    pub async fn exited(&self) -> ExitStatus {
        loop {
            let mut notified = std::pin::pin!(self.shared.exit_notify.notified());
            notified.as_mut().enable();
            if let Some(status) = self.exit_status() {
                return status;
            }
            notified.await;
        }
    }

    /// Whether the reader has seen the PTY close (every process holding it has gone).
    pub fn output_finished(&self) -> bool {
        *lock(&self.shared.reader_done)
    }

    /// Saves the log now (when it is persisted).
    pub fn flush_log(&self) -> Result<(), PersistError> {
        match &self.shared.persisted {
            Some(p) => p.flush().map(|_| ()),
            None => Ok(()),
        }
    }

    /// Ends the program's whole process group: SIGHUP, then SIGKILL if anything is still alive
    /// after the grace period; then whatever left the group but carries the terminal's marker
    /// (see `descendants.rs`). Returns the exit status once the child is reaped.
    pub fn kill(&self) -> Option<ExitStatus> {
        // A paused reader would never see the PTY close; the output no longer needs throttling.
        self.set_reading_paused(false);
        self.signal(Signal::Hangup);
        let deadline = Instant::now() + self.kill_grace;
        // Wait for the leader to exit and, while the group may still hold the PTY, for the output
        // to finish: a grandchild that ignores SIGHUP keeps the PTY open and must be killed too.
        loop {
            if self.exit_status().is_some() && self.output_finished() {
                break;
            }
            if Instant::now() >= deadline {
                self.signal(Signal::Kill);
                break;
            }
            if self.output_finished() {
                self.wait_exit(Duration::from_millis(10));
            } else {
                self.wait_reader_done(Duration::from_millis(10));
            }
        }
        self.descendants.end(self.pid, self.kill_grace);
        self.wait_exit(Duration::from_secs(5))
    }

    fn wait_reader_done(&self, timeout: Duration) -> bool {
        let guard = lock(&self.shared.reader_done);
        let (guard, _) = self
            .shared
            .reader_done_cond
            .wait_timeout_while(guard, timeout, |done| !*done)
            .unwrap_or_else(|p| p.into_inner());
        *guard
    }

    #[cfg(unix)]
    fn signal(&self, signal: Signal) {
        use crate::process::imp;
        let sig = match signal {
            Signal::Hangup => imp::HANGUP,
            Signal::Kill => imp::KILL,
        };
        // Hold the exit lock so the waiter cannot reap the leader between our check and the
        // signal. After the leader is reaped the group id stays reserved for as long as any
        // member lives, which is exactly when the reader has not finished.
        let exit = lock(&self.shared.exit);
        if self.pid == 0 || (exit.status.is_some() && self.output_finished()) {
            return;
        }
        if let Err(err) = imp::signal_group(self.pid, sig) {
            tracing::warn!(pid = self.pid, %err, "could not signal the terminal's process group");
        }
        drop(exit);
    }

    #[cfg(windows)]
    fn signal(&self, _signal: Signal) {
        if self.exit_status().is_some() {
            return;
        }
        if let Err(err) = lock(&self.killer).kill() {
            tracing::warn!(pid = self.pid, %err, "could not kill the terminal's process");
        }
    }
}

#[derive(Clone, Copy)]
enum Signal {
    Hangup,
    Kill,
}

/// A duplicate of the PTY master's fd, owned by the reader thread, to ask whether more output is
/// already waiting (so wake-ups can be batched). `None` where that cannot be asked.
struct PendingFd {
    #[cfg(unix)]
    fd: std::os::fd::OwnedFd,
}

impl PendingFd {
    #[cfg(unix)]
    fn new(master: &dyn MasterPty) -> Option<PendingFd> {
        use std::os::fd::{BorrowedFd, RawFd};
        let raw: RawFd = master.as_raw_fd()?;
        // SAFETY: the master is alive for this call; we only borrow its fd to duplicate it.
        let borrowed = unsafe { BorrowedFd::borrow_raw(raw) };
        borrowed
            .try_clone_to_owned()
            .ok()
            .map(|fd| PendingFd { fd })
    }

    #[cfg(not(unix))]
    fn new(_master: &dyn MasterPty) -> Option<PendingFd> {
        None
    }
}

/// Whether the PTY has output waiting right now (never blocks).
fn more_pending(fd: Option<&PendingFd>) -> bool {
    #[cfg(unix)]
    if let Some(fd) = fd {
        use std::os::fd::AsRawFd;
        let mut pfd = libc::pollfd {
            fd: fd.fd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd, zero timeout.
        let rc = unsafe { libc::poll(&mut pfd, 1, 0) };
        return rc > 0 && pfd.revents & libc::POLLIN != 0;
    }
    #[cfg(not(unix))]
    let _ = fd;
    false
}

/// How long the reader waits for an active client that fell a whole ring behind before it
/// overwrites what that client has not read (the client then gets a truncation marker).
const MAX_LAG_WAIT: Duration = Duration::from_secs(2);

fn read_loop(shared: &Shared, mut reader: Box<dyn Read + Send>, pending_fd: Option<PendingFd>) {
    // 64 KiB: large enough that a flood costs few wake-ups, small enough to stay in cache.
    // Never more than the ring holds, so one read cannot overwrite what a reader has not seen.
    let mut buf = vec![0u8; (64 * 1024).min(shared.log.capacity()).max(1)];
    let mut unannounced = 0usize;
    // Wake at least every quarter ring, so a waiting subscriber is never overrun by one batch.
    let wake_every = buf.len().min(shared.log.capacity() / 4).max(1);
    loop {
        {
            let gate = lock(&shared.gate);
            let gate = shared
                .gate_cond
                .wait_while(gate, |g| g.paused && !g.stop)
                .unwrap_or_else(|p| p.into_inner());
            if gate.stop {
                break;
            }
        }
        // Flow control of attached clients (see OutputLog::wait_for_room).
        shared
            .log
            .wait_for_room(buf.len(), MAX_LAG_WAIT, || lock(&shared.gate).stop);
        match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                // Batch before waking: while the PTY already holds more (a flood), keep reading
                // and wake subscribers once per ~64 KiB instead of once per 4 KiB read. An
                // interactive echo finds nothing pending and wakes them at once.
                shared.log.append_quietly(&buf[..n]);
                unannounced += n;
                if unannounced >= wake_every || !more_pending(pending_fd.as_ref()) {
                    shared.log.wake();
                    unannounced = 0;
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            // Linux reports EIO once every process holding the slave side has closed it.
            Err(_) => break,
        }
    }
    if let Some(p) = &shared.persisted {
        p.flush_logged();
    }
    shared.log.close();
    *lock(&shared.reader_done) = true;
    shared.reader_done_cond.notify_all();
}

#[cfg(unix)]
fn wait_loop(shared: &Shared, child: Box<dyn portable_pty::Child + Send + Sync>, pid: u32) {
    use crate::process::imp;
    // We wait with waitpid ourselves (for the exact code and signal); std's Child does not
    // reap or kill on drop.
    drop(child);
    if let Err(err) = imp::wait_exited(pid) {
        tracing::warn!(pid, %err, "waiting for the terminal's process failed");
    }
    let mut exit = lock(&shared.exit);
    let status = imp::reap(pid).unwrap_or(ExitStatus {
        code: None,
        signal: None,
    });
    exit.status = Some(status);
    crate::descendants::leader_reaped(pid);
    drop(exit);
    shared.exit_cond.notify_all();
    shared.exit_notify.notify_waiters();
}

#[cfg(windows)]
fn wait_loop(shared: &Shared, mut child: Box<dyn portable_pty::Child + Send + Sync>, _pid: u32) {
    let status = match child.wait() {
        Ok(s) => ExitStatus {
            code: Some(s.exit_code() as i32),
            signal: None,
        },
        Err(_) => ExitStatus {
            code: None,
            signal: None,
        },
    };
    lock(&shared.exit).status = Some(status);
    shared.exit_cond.notify_all();
    shared.exit_notify.notify_waiters();
}

impl Drop for Terminal {
    fn drop(&mut self) {
        if self.exit_status().is_none() || !self.output_finished() {
            self.kill();
        } else {
            self.descendants.end(self.pid, self.kill_grace);
        }
        lock(&self.shared.gate).stop = true;
        self.shared.gate_cond.notify_all();
        if let Some(waiter) = self.waiter.take()
            && self.exit_status().is_some()
        {
            let _ = waiter.join();
        }
        if let Some(reader) = self.reader.take() {
            // A process that left our group may still hold the PTY open; do not hang on it.
            if self.wait_reader_done(Duration::from_secs(1)) {
                let _ = reader.join();
            } else {
                tracing::warn!(
                    pid = self.pid,
                    "terminal output still open after kill; detaching its reader"
                );
            }
        }
        if let Some(p) = &self.shared.persisted {
            p.flush_logged();
        }
        if let Some(screen) = &self.screen {
            // The model drains what the log holds, saves itself and stops.
            screen.clear_responder(self.responder_id);
            self.screen_stop
                .store(true, std::sync::atomic::Ordering::Relaxed);
            if let Some(t) = self.screen_thread.take() {
                let _ = t.join();
            }
        }
    }
}

/// Is `program` something [`Terminal::spawn`] would find? For callers that want to check a
/// command before creating anything.
pub fn program_exists(program: &OsStr, cwd: &Path) -> bool {
    resolve_program(&TerminalOptions::new(program, cwd)).is_ok()
}
