//! A terminal: one child process in a real PTY, its reader, writer and waiter threads, its
//! screen model's thread, and its log.

mod flood;
mod options;

use std::io::Read;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};
use portable_pty::{CommandBuilder, MasterPty, PtySize, native_pty_system};
use tokio::sync::Notify;

pub use flood::{FLOOD_COALESCE, FLOOD_NICE, FLOOD_RATE, FLOOD_WINDOW, INPUT_GRACE};
pub use options::{
    LogSetting, PersistOptions, ScreenSetting, SpawnError, TerminalError, TerminalOptions,
    program_exists,
};

use crate::flow::FlowOptions;
use crate::input::Writer;
use crate::log::{OutputLog, Subscription};
use crate::persist::{PersistError, PersistedLog};
use crate::process::ExitStatus;
use crate::screen::{Follower, Screen};
use crate::size::TerminalSize;
use options::{check_cwd, resolve_program};

#[derive(Debug, Default)]
struct ExitState {
    status: Option<ExitStatus>,
}

/// State shared between the handle and the terminal's threads.
#[derive(Debug)]
struct Shared {
    log: Arc<OutputLog>,
    exit: Mutex<ExitState>,
    exit_cond: Condvar,
    exit_notify: Notify,
    /// The reader stops at its next turn (the terminal is being dropped).
    stop: AtomicBool,
    /// The reader ignores flow control (the terminal is being killed: drain it to the end).
    unthrottled: AtomicBool,
    reader_done: Mutex<bool>,
    reader_done_cond: Condvar,
    persisted: Option<Arc<PersistedLog>>,
    flow: FlowOptions,
    lower_flood_priority: bool,
    /// When the terminal was spawned: the origin of `last_input_ms`.
    born: Instant,
    /// Milliseconds after `born` at which input was last written; `u64::MAX` for never.
    last_input_ms: AtomicU64,
}

impl Shared {
    /// Whether the terminal was typed into within [`INPUT_GRACE`] of `now`.
    fn typed_recently(&self, now: Instant) -> bool {
        let last = self.last_input_ms.load(Ordering::Relaxed);
        last != u64::MAX
            && now.saturating_duration_since(self.born).as_millis() as u64
                <= last.saturating_add(INPUT_GRACE.as_millis() as u64)
    }
}

/// One child process in a real PTY plus its output log.
///
/// Threads: a blocking reader (`pty-reader:<name>`) appends everything the PTY prints to the
/// log; a writer (`pty-writer:<name>`) writes input and the screen's answers to the PTY; a
/// waiter (`pty-waiter:<name>`) records the exit status; `pty-screen:<name>` feeds the screen
/// model. Dropping the terminal ends the child's whole process group (SIGHUP, then SIGKILL after
/// the grace period), reaps it, saves the log and joins the threads.
pub struct Terminal {
    shared: Arc<Shared>,
    master: Mutex<Box<dyn MasterPty + Send>>,
    writer: Writer,
    screen: Option<Arc<Screen>>,
    follower: Option<Follower>,
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

/// A child that [`Terminal::spawn`] has started but not yet handed to its waiter: if a later
/// step fails, dropping this kills the child's group and reaps it, so a failed spawn leaves no
/// process behind.
struct StartedChild {
    #[cfg(unix)]
    pid: u32,
    #[cfg(windows)]
    killer: Box<dyn portable_pty::ChildKiller + Send + Sync>,
    armed: bool,
}

impl Drop for StartedChild {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        #[cfg(unix)]
        if self.pid != 0 {
            use crate::process::imp;
            // Nothing else waits for this child: it cannot have been reaped, so the pid (and the
            // group id it leads) is still ours.
            if let Err(err) = imp::signal_group(self.pid, imp::KILL) {
                tracing::warn!(pid = self.pid, %err, "could not kill a terminal that failed to start");
            }
            if let Err(err) = imp::reap(self.pid) {
                tracing::warn!(pid = self.pid, %err, "could not reap a terminal that failed to start");
            }
        }
        #[cfg(windows)]
        {
            let _ = self.killer.kill();
        }
    }
}

impl Terminal {
    /// Starts `opts.program` in a new PTY of `opts.size`.
    ///
    /// All or nothing: every step that can fail without a process (checks, the log file, the
    /// PTY) comes before the program starts, and if a later one fails (a thread cannot start)
    /// the program is killed and reaped before the error is returned.
    pub fn spawn(opts: TerminalOptions) -> Result<Terminal, SpawnError> {
        let TerminalSize { rows, cols } = opts.size;
        if rows == 0 || cols == 0 {
            return Err(SpawnError::InvalidSize { rows, cols });
        }
        check_cwd(&opts.cwd)?;
        let program = resolve_program(&opts)?;
        let program_name = opts.program.to_string_lossy().into_owned();

        let (log, persisted, continued) = match &opts.log {
            LogSetting::New { persist } => {
                let log = Arc::new(OutputLog::new(opts.log_capacity));
                let persisted = match persist {
                    Some(p) => {
                        let persisted = PersistedLog::new(&p.path, Arc::clone(&log))?;
                        if let Some(flusher) = &p.flusher {
                            flusher.register(&persisted);
                        }
                        Some(persisted)
                    }
                    None => None,
                };
                (log, persisted, false)
            }
            LogSetting::Continue(log) => (Arc::clone(log), None, true),
            LogSetting::ContinuePersisted(p) => (Arc::clone(p.log()), Some(Arc::clone(p)), true),
        };
        let screen = match opts.screen {
            ScreenSetting::Off => None,
            ScreenSetting::New(options) => {
                let file = persisted
                    .as_ref()
                    .map(|p| p.path().with_extension("screen"));
                Some(Screen::new(Arc::clone(&log), opts.size, options, file))
            }
            ScreenSetting::Continue(screen) => {
                screen.resize(opts.size);
                Some(screen)
            }
        };

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
        let pty_writer = pair.master.take_writer().map_err(|e| spawn_err(&e))?;
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
        let mut started = StartedChild {
            #[cfg(unix)]
            pid,
            #[cfg(windows)]
            killer: child.clone_killer(),
            armed: true,
        };
        let thread_err = |what| move |source| SpawnError::Thread { what, source };

        let writer = Writer::start(pty_writer, &opts.name).map_err(thread_err("writer"))?;
        let follower = match &screen {
            Some(screen) => {
                let input = writer.input().clone();
                let responder = Arc::new(move |answer: &[u8]| input.answer(answer));
                Some(Follower::start(screen, responder, &opts.name).map_err(thread_err("screen"))?)
            }
            None => None,
        };

        let shared = Arc::new(Shared {
            log,
            exit: Mutex::new(ExitState::default()),
            exit_cond: Condvar::new(),
            exit_notify: Notify::new(),
            stop: AtomicBool::new(false),
            unthrottled: AtomicBool::new(false),
            reader_done: Mutex::new(false),
            reader_done_cond: Condvar::new(),
            persisted,
            flow: opts.flow,
            lower_flood_priority: opts.lower_flood_priority,
            born: Instant::now(),
            last_input_ms: AtomicU64::new(u64::MAX),
        });
        if continued {
            shared.log.reopen();
        }
        let reader_thread = {
            let shared = Arc::clone(&shared);
            std::thread::Builder::new()
                .name(format!("pty-reader:{}", opts.name))
                .spawn(move || read_loop(&shared, reader, pending_fd, pid))
        };
        let reader_thread = match reader_thread {
            Ok(t) => t,
            Err(source) => {
                // Nothing will append or close the log we re-opened.
                shared.log.close();
                return Err(SpawnError::Thread {
                    what: "reader",
                    source,
                });
            }
        };

        #[cfg(windows)]
        let killer = Mutex::new(child.clone_killer());
        // The last step that can fail: if it does, the closure (and the child's handle) is
        // dropped unrun, and `started` kills and reaps the child by its pid; the reader then
        // sees the PTY close and ends by itself.
        let waiter = {
            let shared = Arc::clone(&shared);
            std::thread::Builder::new()
                .name(format!("pty-waiter:{}", opts.name))
                .spawn(move || wait_loop(&shared, child, pid))
                .map_err(thread_err("waiter"))?
        };
        started.armed = false;

        Ok(Terminal {
            shared,
            master: Mutex::new(pair.master),
            writer,
            screen,
            follower,
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

    /// The writer that saves the log, when it is saved. A restarted program continues it
    /// ([`LogSetting::ContinuePersisted`]).
    pub fn persisted(&self) -> Option<&Arc<PersistedLog>> {
        self.shared.persisted.as_ref()
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
        *self.size.lock()
    }

    /// Sends input bytes (keystrokes, paste) to the program, in order. The terminal's writer
    /// thread writes them; this waits only while a program that does not read its input already
    /// has [`INPUT_QUEUE`](crate::input::INPUT_QUEUE) bytes queued, so call it from a blocking
    /// context.
    pub fn write_input(&self, bytes: &[u8]) -> Result<(), TerminalError> {
        self.input(bytes, true).map(|_| ())
    }

    /// [`Terminal::write_input`] that never waits, so async code may call it: `Ok(false)`
    /// (nothing written) when the program has too much input queued already.
    pub fn try_write_input(&self, bytes: &[u8]) -> Result<bool, TerminalError> {
        self.input(bytes, false)
    }

    fn input(&self, bytes: &[u8], wait: bool) -> Result<bool, TerminalError> {
        if let Some(status) = self.exit_status() {
            return Err(TerminalError::Exited(status));
        }
        let now = self.shared.born.elapsed().as_millis() as u64;
        self.shared.last_input_ms.store(now, Ordering::Relaxed);
        let input = self.writer.input();
        let res = if wait {
            input.write(bytes).map(|()| true)
        } else {
            input.try_write(bytes)
        };
        res.map_err(|_| {
            self.exit_status()
                .map_or(TerminalError::Closing, TerminalError::Exited)
        })
    }

    /// Resizes the PTY; the program gets SIGWINCH. Once the program has exited only its screen
    /// follows (it is what the UI shows, at the UI's size).
    pub fn resize(&self, size: TerminalSize) -> Result<(), TerminalError> {
        let TerminalSize { rows, cols } = size;
        if rows == 0 || cols == 0 {
            return Err(TerminalError::InvalidSize { rows, cols });
        }
        if self.exit_status().is_some() {
            if let Some(screen) = &self.screen {
                screen.resize(size);
            }
            return Ok(());
        }
        self.master
            .lock()
            .resize(PtySize {
                rows,
                cols,
                pixel_width: 0,
                pixel_height: 0,
            })
            .map_err(|e| TerminalError::Resize(format!("{e:#}")))?;
        *self.size.lock() = size;
        if let Some(screen) = &self.screen {
            screen.resize(size);
        }
        Ok(())
    }

    /// The exit status, once the program has exited.
    pub fn exit_status(&self) -> Option<ExitStatus> {
        self.shared.exit.lock().status
    }

    /// Waits up to `timeout` for the program to exit.
    pub fn wait_exit(&self, timeout: Duration) -> Option<ExitStatus> {
        let mut guard = self.shared.exit.lock();
        self.shared
            .exit_cond
            .wait_while_for(&mut guard, |st| st.status.is_none(), timeout);
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
        *self.shared.reader_done.lock()
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
        // Input for a program being ended is moot, and writers waiting for room must not wait.
        self.writer.input().close();
        // A braked reader would never see the PTY close; the output no longer needs throttling.
        self.shared.unthrottled.store(true, Ordering::Relaxed);
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
        let mut guard = self.shared.reader_done.lock();
        self.shared
            .reader_done_cond
            .wait_while_for(&mut guard, |done| !*done, timeout);
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
        let exit = self.shared.exit.lock();
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
        if let Err(err) = self.killer.lock().kill() {
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

/// Whether the PTY has output waiting within `wait` (returns as soon as it has). `false` at
/// once where that cannot be asked.
fn output_within(fd: Option<&PendingFd>, wait: Duration) -> bool {
    #[cfg(unix)]
    if let Some(fd) = fd {
        use std::os::fd::AsRawFd;
        let mut pfd = libc::pollfd {
            fd: fd.fd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // Rounded up, so a wait of less than a millisecond still waits.
        let ms = wait.as_micros().div_ceil(1000).min(i32::MAX as u128) as i32;
        // SAFETY: one valid pollfd; poll returns after at most `ms` milliseconds.
        let rc = unsafe { libc::poll(&mut pfd, 1, ms) };
        return rc > 0 && pfd.revents & libc::POLLIN != 0;
    }
    #[cfg(not(unix))]
    let _ = (fd, wait);
    false
}

/// Whether the calling thread runs as a flood reader, and the flooding program's share of the
/// CPU. On Linux the reader runs as `SCHED_BATCH`, which never preempts a running thread when
/// it wakes up, so keystroke echoes of other terminals get the core first (unlike a nice value,
/// an unprivileged thread can switch back); and the program's session gets
/// [`flood::FLOOD_NICE`] as its autogroup's nice value (see `sched(7)`: each terminal's program
/// runs in a session, hence an autogroup, of its own, which the scheduler gives as much CPU as
/// the whole of Grove's process), put back to 0 when the flood ends.
#[cfg(target_os = "linux")]
fn set_flood_priority(flooding: bool, pid: u32) {
    if pid != 0 {
        let nice = if flooding { flood::FLOOD_NICE } else { 0 };
        if let Err(err) = std::fs::write(format!("/proc/{pid}/autogroup"), nice.to_string()) {
            tracing::debug!(%err, pid, "could not change the flooding program's autogroup nice value");
        }
    }
    let policy = if flooding {
        libc::SCHED_BATCH
    } else {
        libc::SCHED_OTHER
    };
    let param = libc::sched_param { sched_priority: 0 };
    // SAFETY: pid 0 is the calling thread; the param is valid for both policies.
    let rc = unsafe { libc::sched_setscheduler(0, policy, &param) };
    if rc != 0 {
        tracing::debug!(err = %std::io::Error::last_os_error(), "could not change the reader's scheduling policy");
    }
}

#[cfg(not(target_os = "linux"))]
fn set_flood_priority(_flooding: bool, _pid: u32) {}

/// The program's pid while it has not been reaped (so it cannot be another process's yet), or 0.
fn live_pid(shared: &Shared, pid: u32) -> u32 {
    if shared.exit.lock().status.is_none() {
        pid
    } else {
        0
    }
}

fn read_loop(
    shared: &Shared,
    mut reader: Box<dyn Read + Send>,
    pending_fd: Option<PendingFd>,
    pid: u32,
) {
    // 64 KiB: large enough that a flood costs few wake-ups, small enough to stay in cache.
    // Never more than the ring holds, so one read cannot overwrite what a reader has not seen.
    let mut buf = vec![0u8; (64 * 1024).min(shared.log.capacity()).max(1)];
    let mut unannounced = 0usize;
    // Wake at least every quarter ring, so a waiting subscriber is never overrun by one batch.
    let wake_every = buf.len().min(shared.log.capacity() / 4).max(1);
    // Whether the output floods (see `flood`), and since when the bytes not yet announced wait.
    let mut meter = flood::FloodMeter::new(Instant::now());
    let (mut flooding, mut held_since) = (false, None::<Instant>);
    loop {
        if shared.stop.load(Ordering::Relaxed) {
            break;
        }
        // Flow control of attached clients (see crate::flow); a terminal being killed drains
        // its output without it, so that the reader sees the PTY close.
        shared.log.wait_for_room(buf.len(), &shared.flow, || {
            shared.stop.load(Ordering::Relaxed) || shared.unthrottled.load(Ordering::Relaxed)
        });
        // A flood that stopped ends here, not at the next output, which may be long in coming:
        // a program that went quiet gets its share of the CPU back.
        if flooding
            && pending_fd.is_some()
            && !output_within(pending_fd.as_ref(), 2 * flood::FLOOD_WINDOW)
        {
            flooding = false;
            set_flood_priority(false, live_pid(shared, pid));
        }
        match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                // Batch before waking: while the PTY already holds more (a flood), keep reading
                // and wake subscribers once per ~64 KiB instead of once per 4 KiB read. An
                // interactive echo finds nothing pending and wakes them at once; a flood waits a
                // moment for more (see `flood`).
                shared.log.append_quietly(&buf[..n]);
                shared.log.charge_read(n, &shared.flow);
                unannounced += n;
                let now = Instant::now();
                let held = *held_since.get_or_insert(now);
                let floods = meter.record(n, now);
                // A flood's output is held back to be handed on in batches, for at most
                // FLOOD_COALESCE, unless somebody just typed into this terminal.
                let hold = floods && !shared.typed_recently(now);
                let wait = if hold {
                    (held + flood::FLOOD_COALESCE).saturating_duration_since(now)
                } else {
                    Duration::ZERO
                };
                if unannounced >= wake_every || !output_within(pending_fd.as_ref(), wait) {
                    shared.log.wake();
                    unannounced = 0;
                    held_since = None;
                }
                if shared.lower_flood_priority && flooding != floods {
                    flooding = floods;
                    set_flood_priority(flooding, live_pid(shared, pid));
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
    *shared.reader_done.lock() = true;
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
    let mut exit = shared.exit.lock();
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
    shared.exit.lock().status = Some(status);
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
        self.shared.stop.store(true, Ordering::Relaxed);
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
        // The model drains what the log holds, saves itself and stops.
        drop(self.follower.take());
        // The writer (a field) closes and joins, or detaches if a write is still blocked.
    }
}
