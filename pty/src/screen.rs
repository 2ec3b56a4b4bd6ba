//! Grove's own model of each terminal's screen, kept beside its output log.
//!
//! A [`Screen`] is fed every byte of the log, in order, by the terminal's `pty-screen` thread
//! (or by whoever asks for a snapshot first). It does two things a byte log cannot:
//!
//! - **Answers the program's queries exactly once**, whether zero, one or many panes are
//!   attached: cursor position and device status reports, primary/secondary device attributes,
//!   DECRQM mode reports, XTVERSION, DECRQSS, OSC 4/10/11/12 colour queries (from the panes'
//!   palette) and text-area size reports. The panes are told not to answer (see
//!   `web/src/lib/terminal/queries.ts`). Clipboard reads (OSC 52 `?`) are never answered.
//! - **Renders snapshots**: escape sequences that redraw the current screen (scrollback, the
//!   alternate screen, attributes, cursor, modes) at a known log offset, so an attaching client
//!   shows the screen at once and continues with live bytes from that offset, and a full-screen
//!   program comes back right even after the log has dropped the bytes that drew it.
//!
//! The model is `alacritty_terminal` (see `model.rs` for why). Its state is saved next to the
//! log file (`*.screen`, at most once a second and when the output ends), so a restart shows
//! the last screen the program drew.

mod model;
mod scan;
mod serialize;
mod view;

use std::collections::VecDeque;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

pub use model::{Model, Palette};
pub use view::{Run, ScreenView, flag};

use crate::log::{Chunk, OutputLog};
use crate::size::TerminalSize;

/// Lines of history a screen model keeps by default (the log keeps the raw bytes besides).
pub const DEFAULT_SCROLLBACK_LINES: usize = 2000;

/// How a screen model is set up.
#[derive(Debug, Clone)]
pub struct ScreenOptions {
    pub scrollback: usize,
    pub palette: Palette,
}

impl Default for ScreenOptions {
    fn default() -> Self {
        ScreenOptions {
            scrollback: DEFAULT_SCROLLBACK_LINES,
            palette: Palette::default(),
        }
    }
}

/// A rendering of the screen as of log offset `offset`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// Offset of the first log byte *not* reflected in `data`.
    pub offset: u64,
    pub size: TerminalSize,
    /// Escape sequences for a freshly reset terminal of `size`.
    pub data: String,
}

/// Where the answers to the program's queries go (the PTY's input). Called while the model's
/// lock is held, so that answers leave in the order of the queries: it must only queue them,
/// never write to the PTY (a program that does not read its input would block the model).
pub type Responder = Arc<dyn Fn(&[u8]) + Send + Sync>;

/// The model, or while the terminal is quiet, the snapshot it is rebuilt from.
enum Slot {
    Awake(Box<Model>),
    /// A quiet terminal's model costs its whole grid (cells of every history line, ≈ 4 MB for
    /// 2000 lines of 80 columns); its snapshot costs about its text. Rebuilt on the next use.
    Asleep(Snapshot),
}

struct State {
    slot: Slot,
    /// Log offset of the next byte the model has not seen.
    offset: u64,
    /// Resizes waiting for the model to reach the log offset at which they happened.
    resizes: VecDeque<(u64, TerminalSize)>,
    /// False once the model missed bytes (restored from an old save, or fell a ring behind).
    exact: bool,
    saved_offset: u64,
    saved_at: Option<Instant>,
    /// The size the last save has (a resize without output since is still news to save).
    saved_size: Option<TerminalSize>,
    /// When the model last took output or was last woken.
    active_at: Instant,
}

impl State {
    fn new(model: Model, offset: u64, exact: bool) -> State {
        State {
            slot: Slot::Awake(Box::new(model)),
            offset,
            resizes: VecDeque::new(),
            exact,
            saved_offset: offset,
            saved_at: None,
            saved_size: None,
            active_at: Instant::now(),
        }
    }

    /// The size the screen has once its pending resizes apply.
    fn size(&self) -> TerminalSize {
        match (self.resizes.back(), &self.slot) {
            (Some((_, size)), _) => *size,
            (None, Slot::Awake(model)) => model.size(),
            (None, Slot::Asleep(snap)) => snap.size,
        }
    }

    /// Whether the screen differs from its last save: output since, or a resize.
    fn unsaved(&self) -> bool {
        self.saved_at.is_none()
            || self.offset != self.saved_offset
            || self.saved_size != Some(self.size())
    }

    /// The model as of the log offset it has reached, with its offset. Pending resizes whose
    /// offset the model has reached were applied by the feed; any others happened after the last
    /// byte, so they apply now.
    fn current(&mut self, options: &ScreenOptions) -> (u64, &mut Model) {
        while let Some((_, size)) = self.resizes.pop_front() {
            self.model(options).resize(size);
        }
        (self.offset, self.model(options))
    }

    /// The model, rebuilt from its snapshot if it was asleep.
    fn model(&mut self, options: &ScreenOptions) -> &mut Model {
        if let Slot::Asleep(snap) = &self.slot {
            let model = Model::from_snapshot(
                &snap.data,
                snap.size,
                options.scrollback,
                options.palette.clone(),
            );
            self.slot = Slot::Awake(Box::new(model));
            self.active_at = Instant::now();
        }
        match &mut self.slot {
            Slot::Awake(model) => model,
            Slot::Asleep(_) => unreachable!("woken above"),
        }
    }
}

/// A terminal's screen model, shared by its feeder thread, the server and restarts of the
/// program (one screen per log, like the log itself).
pub struct Screen {
    log: Arc<OutputLog>,
    options: ScreenOptions,
    state: Mutex<State>,
    /// The current responder and a number naming it (see [`Screen::set_responder`]).
    responder: Mutex<(u64, Option<Responder>)>,
    file: Option<PathBuf>,
    /// Held while saving: the old program's follower can still be saving when a restarted
    /// program's starts, and both write the same temporary file.
    saving: Mutex<()>,
}

impl std::fmt::Debug for Screen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Screen")
            .field("offset", &self.offset())
            .field("file", &self.file)
            .finish_non_exhaustive()
    }
}

/// Bytes fed per step when catching up, so the lock is never held for long.
const CATCH_UP_STEP: usize = 256 * 1024;
/// How often a changing screen is saved.
const SAVE_EVERY: Duration = Duration::from_secs(1);
/// How long a terminal prints nothing before its model goes to sleep (rebuilding it takes a few
/// milliseconds; an idle agent waiting for its user sleeps almost all of the time).
pub const SLEEP_AFTER: Duration = Duration::from_secs(3);

impl Screen {
    /// A blank screen that will follow `log` from its oldest byte. `file` is where its state is
    /// saved (`None`: never saved).
    pub fn new(
        log: Arc<OutputLog>,
        size: TerminalSize,
        options: ScreenOptions,
        file: Option<PathBuf>,
    ) -> Arc<Screen> {
        let start = log.start_offset();
        let model = Model::new(size, options.scrollback, options.palette.clone());
        Arc::new(Screen {
            log,
            state: Mutex::new(State::new(model, start, start == 0)),
            options,
            responder: Mutex::new((0, None)),
            saving: Mutex::new(()),
            file,
        })
    }

    /// The screen saved in `file` (see [`Screen::save`]), continued with whatever `log` holds
    /// after it; a blank screen following the log when there is no usable save. A save that
    /// cannot be read is logged and replaced, never fatal.
    pub fn load(
        log: Arc<OutputLog>,
        size: TerminalSize,
        options: ScreenOptions,
        file: PathBuf,
    ) -> Arc<Screen> {
        let saved = match read_file(&file) {
            Ok(saved) => saved,
            Err(err) => {
                tracing::warn!(path = %file.display(), %err, "ignoring an unreadable screen save");
                None
            }
        };
        let (start, end) = log.bounds();
        match saved {
            // The save must describe a point the log has reached (the log may have been flushed
            // a moment before the save) and not before what it still holds.
            Some(snap) if snap.offset <= end && snap.offset >= start => {
                let model = Model::from_snapshot(
                    &snap.data,
                    snap.size,
                    options.scrollback,
                    options.palette.clone(),
                );
                Arc::new(Screen {
                    log,
                    state: Mutex::new(State::new(model, snap.offset, true)),
                    options,
                    responder: Mutex::new((0, None)),
                    saving: Mutex::new(()),
                    file: Some(file),
                })
            }
            _ => Screen::new(log, size, options, Some(file)),
        }
    }

    /// The log this screen follows.
    pub fn log(&self) -> &Arc<OutputLog> {
        &self.log
    }

    /// The options the model was made with.
    pub fn options(&self) -> &ScreenOptions {
        &self.options
    }

    /// Log offset of the next byte the model has not seen yet.
    pub fn offset(&self) -> u64 {
        self.state.lock().offset
    }

    /// False when the model has missed output (it was restored from an older save than the log
    /// holds, or it fell a whole ring behind); it then shows what it could rebuild.
    pub fn is_exact(&self) -> bool {
        self.state.lock().exact
    }

    /// Sends the answers to the program's queries to `responder` (the running program's input).
    /// Returns a number for [`Screen::clear_responder`].
    pub fn set_responder(&self, responder: Responder) -> u64 {
        let mut r = self.responder.lock();
        r.0 += 1;
        r.1 = Some(responder);
        r.0
    }

    /// Drops answers from now on, unless another responder replaced responder `id` meanwhile
    /// (a restarted program).
    pub fn clear_responder(&self, id: u64) {
        let mut r = self.responder.lock();
        if r.0 == id {
            r.1 = None;
        }
    }

    /// Records a resize at the log's current end: output before it was drawn at the old size.
    pub fn resize(&self, size: TerminalSize) {
        let at = self.log.end_offset();
        let mut st = self.state.lock();
        if st.size() == size {
            // Nothing to reflow (and a sleeping model stays asleep).
            return;
        }
        if st.offset >= at && st.resizes.is_empty() {
            st.model(&self.options).resize(size);
        } else {
            st.resizes.push_back((at, size));
        }
    }

    /// Feeds what the log holds beyond the model, up to where the log ended when called;
    /// returns the model's new offset.
    ///
    /// Only up to that end: a program that prints faster than the model parses (`yes`) would
    /// otherwise keep this call, and the attach or query waiting on it, going forever.
    pub fn catch_up(&self) -> u64 {
        let target = self.log.end_offset();
        let mut buf = Vec::with_capacity(CATCH_UP_STEP);
        loop {
            let mut st = self.state.lock();
            if st.offset >= target {
                return st.offset;
            }
            buf.clear();
            let from = self.log.copy_range(st.offset, CATCH_UP_STEP, &mut buf);
            let wanted = usize::try_from(target.saturating_sub(from)).unwrap_or(usize::MAX);
            buf.truncate(wanted);
            if buf.is_empty() {
                return st.offset;
            }
            self.feed_locked(&mut st, from, &buf);
        }
    }

    /// Feeds a chunk that starts at log offset `offset` (bytes the model has already seen are
    /// skipped, so several feeders can never apply a byte twice).
    pub fn feed(&self, offset: u64, bytes: &[u8]) {
        let mut st = self.state.lock();
        self.feed_locked(&mut st, offset, bytes);
    }

    fn feed_locked(&self, st: &mut State, offset: u64, bytes: &[u8]) {
        let end = offset + bytes.len() as u64;
        if end <= st.offset {
            return;
        }
        let mut bytes = bytes;
        if offset > st.offset {
            // Bytes between were lost to the model.
            st.exact = false;
            st.offset = offset;
        } else {
            bytes = &bytes[(st.offset - offset) as usize..];
        }
        let mut answers = Vec::new();
        while !bytes.is_empty() {
            // Apply resizes that happened at or before this point of the stream.
            while let Some(&(at, size)) = st.resizes.front() {
                if at > st.offset {
                    break;
                }
                st.model(&self.options).resize(size);
                st.resizes.pop_front();
            }
            let until = st.resizes.front().map_or(bytes.len(), |&(at, _)| {
                ((at - st.offset) as usize).min(bytes.len())
            });
            st.model(&self.options).feed(&bytes[..until], &mut answers);
            st.active_at = Instant::now();
            st.offset += until as u64;
            bytes = &bytes[until..];
        }
        while let Some(&(at, size)) = st.resizes.front() {
            if at > st.offset {
                break;
            }
            st.model(&self.options).resize(size);
            st.resizes.pop_front();
        }
        if !answers.is_empty()
            && let Some(respond) = self.responder.lock().1.as_ref()
        {
            respond(&answers);
        }
    }

    /// The current screen, caught up with the log.
    pub fn snapshot(&self) -> Snapshot {
        self.catch_up();
        let mut st = self.state.lock();
        if let (Slot::Asleep(snap), true) = (&st.slot, st.resizes.is_empty()) {
            // Asleep means nothing happened since this snapshot was taken.
            return Snapshot {
                offset: st.offset,
                ..snap.clone()
            };
        }
        let (offset, model) = st.current(&self.options);
        Snapshot {
            offset,
            size: model.size(),
            data: model.snapshot(),
        }
    }

    /// The current screen as [`Screen::snapshot`] gives it and, from the same state, the visible
    /// screen as styled runs ([`ScreenView`]). Wakes a sleeping model (the view needs its cells).
    pub fn snapshot_and_view(&self) -> (Snapshot, ScreenView) {
        self.catch_up();
        let mut st = self.state.lock();
        let asleep = match (&st.slot, st.resizes.is_empty()) {
            (Slot::Asleep(snap), true) => Some(snap.data.clone()),
            _ => None,
        };
        let (offset, model) = st.current(&self.options);
        let data = asleep.unwrap_or_else(|| model.snapshot());
        let snapshot = Snapshot {
            offset,
            size: model.size(),
            data,
        };
        (snapshot, model.view())
    }

    /// Runs `f` on the model, caught up with the log (tests and diagnostics).
    pub fn with_model<R>(&self, f: impl FnOnce(&Model) -> R) -> R {
        self.catch_up();
        f(self.state.lock().model(&self.options))
    }

    /// Whether the model is asleep (see [`Screen::sleep_if_quiet`]).
    pub fn is_asleep(&self) -> bool {
        matches!(self.state.lock().slot, Slot::Asleep(_))
    }

    /// Puts the model to sleep when it has taken no output for `quiet` and is caught up with
    /// the log, between sequences, with no resize pending: it keeps only its snapshot and is
    /// rebuilt from it (the same bytes an attaching pane gets) when output, a resize or a
    /// snapshot request next needs it. Returns whether it is asleep.
    pub fn sleep_if_quiet(&self, quiet: Duration) -> bool {
        let mut guard = self.state.lock();
        let st = &mut *guard;
        let model = match &mut st.slot {
            Slot::Asleep(_) => return true,
            Slot::Awake(model) => model,
        };
        if !model.at_rest()
            || !st.resizes.is_empty()
            || st.active_at.elapsed() < quiet
            || self.log.end_offset() != st.offset
        {
            return false;
        }
        let snap = Snapshot {
            offset: st.offset,
            size: model.size(),
            data: model.snapshot(),
        };
        st.slot = Slot::Asleep(snap);
        drop(guard);
        release_freed_memory();
        true
    }

    /// Saves the screen to its file when it changed since the last save (atomically: a crash
    /// mid-save leaves the previous save).
    pub fn save(&self) -> std::io::Result<()> {
        let Some(file) = &self.file else {
            return Ok(());
        };
        let _saving = self.saving.lock();
        let snap = {
            let st = self.state.lock();
            if !st.unsaved() {
                return Ok(());
            }
            drop(st);
            self.snapshot()
        };
        write_file(file, &snap)?;
        let mut st = self.state.lock();
        st.saved_offset = snap.offset;
        st.saved_at = Some(Instant::now());
        st.saved_size = Some(snap.size);
        Ok(())
    }

    fn save_due(&self) -> bool {
        let st = self.state.lock();
        self.file.is_some()
            && (st.offset != st.saved_offset || st.saved_size.is_some_and(|z| z != st.size()))
            && st.saved_at.is_none_or(|t| t.elapsed() >= SAVE_EVERY)
    }

    fn save_logged(&self) {
        if let Err(err) = self.save() {
            tracing::warn!(path = ?self.file, %err, "could not save the terminal's screen");
        }
    }
}

const MAGIC: &str = "GROVE-SCREEN 1";

fn write_file(path: &Path, snap: &Snapshot) -> std::io::Result<()> {
    crate::persist::write_private(path, |f| {
        write!(
            f,
            "{MAGIC}\n{} {} {}\n",
            snap.offset, snap.size.rows, snap.size.cols
        )?;
        f.write_all(snap.data.as_bytes())
    })
}

fn read_file(path: &Path) -> std::io::Result<Option<Snapshot>> {
    let text = match fs_err::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let bad = || std::io::Error::new(std::io::ErrorKind::InvalidData, "not a Grove screen save");
    let (magic, rest) = text.split_once('\n').ok_or_else(bad)?;
    let (header, data) = rest.split_once('\n').ok_or_else(bad)?;
    if magic != MAGIC {
        return Err(bad());
    }
    let mut parts = header.split(' ');
    let mut next = || parts.next().ok_or_else(bad);
    let offset = next()?.parse::<u64>().map_err(|_| bad())?;
    let rows = next()?.parse::<u16>().map_err(|_| bad())?;
    let cols = next()?.parse::<u16>().map_err(|_| bad())?;
    if rows == 0 || cols == 0 {
        return Err(bad());
    }
    Ok(Some(Snapshot {
        offset,
        size: TerminalSize { rows, cols },
        data: data.to_owned(),
    }))
}

/// A running `pty-screen` thread and the responder it answers through: started by a terminal,
/// it follows the terminal's log until the output ends. Dropping it lets the model drain what
/// the log holds, save itself and stop, and joins the thread.
pub(crate) struct Follower {
    screen: Arc<Screen>,
    responder_id: u64,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Follower {
    /// Answers the program's queries through `responder` and starts the thread
    /// (`pty-screen:<name>`).
    pub(crate) fn start(
        screen: &Arc<Screen>,
        responder: Responder,
        name: &str,
    ) -> std::io::Result<Follower> {
        let responder_id = screen.set_responder(responder);
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let screen = Arc::clone(screen);
            let stop = Arc::clone(&stop);
            std::thread::Builder::new()
                .name(format!("pty-screen:{name}"))
                .spawn(move || follow(&screen, &stop))
        };
        let thread = match thread {
            Ok(t) => t,
            Err(err) => {
                screen.clear_responder(responder_id);
                return Err(err);
            }
        };
        Ok(Follower {
            screen: Arc::clone(screen),
            responder_id,
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for Follower {
    fn drop(&mut self) {
        self.screen.clear_responder(self.responder_id);
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The `pty-screen` thread's work: follow the log, feed the model, save it now and then, until
/// the output ends (or `stop`, for a reader that could not be joined).
///
/// The model never slows the program down: this thread runs at a lower priority than the PTY
/// readers and the server, so during a flood the CPU goes to moving output and the model catches
/// up when there is room (a program waiting for an answer prints nothing, so it is answered at
/// once). A flood longer than the whole log (8 MiB) can leave the model more than a ring behind;
/// it then continues from the oldest byte the log still holds, marked inexact — for the floods
/// that do this (builds, `cat`, test runs) the screen and history are rebuilt from those last
/// megabytes all the same.
fn follow(screen: &Screen, stop: &AtomicBool) {
    lower_priority();
    let log = Arc::clone(&screen.log);
    let mut sub = log.subscribe(screen.offset());
    loop {
        match sub.next_blocking(CATCH_UP_STEP, Some(Duration::from_millis(100))) {
            Some(Chunk::Data { offset, bytes }) => {
                screen.feed(offset, &bytes);
                let at = screen.offset();
                if sub.next_offset() < at {
                    // Somebody else fed further (a snapshot caught up): skip what they did.
                    sub = log.subscribe(at);
                }
                if screen.save_due() {
                    screen.save_logged();
                }
            }
            Some(Chunk::Truncated { lost_until }) => {
                tracing::debug!(lost_until, "screen model fell a ring behind a flood");
                screen.feed(lost_until, &[]);
            }
            Some(Chunk::End) => break,
            None => {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                if screen.save_due() {
                    screen.save_logged();
                }
                screen.sleep_if_quiet(SLEEP_AFTER);
            }
        }
    }
    screen.catch_up();
    screen.save_logged();
    // The output has ended: only a snapshot will ever be asked of this screen.
    screen.sleep_if_quiet(Duration::ZERO);
}

/// Hands the pages of a model that went to sleep back to the OS. glibc keeps freed small
/// blocks (a model's rows) in its arenas, so without this a sleeping model would still count
/// against the app's memory.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn release_freed_memory() {
    // SAFETY: malloc_trim only returns free memory to the OS; it takes the allocator's locks.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn release_freed_memory() {}

/// Nice 19 for the calling thread (Linux schedules threads as tasks): it still gets a share of
/// a busy CPU, so answers never starve, but yields to the PTY readers during floods.
#[cfg(target_os = "linux")]
fn lower_priority() {
    // SAFETY: gettid has no preconditions; setpriority on our own thread id only affects it.
    unsafe {
        let tid = libc::gettid();
        libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, 19);
    }
}

#[cfg(not(target_os = "linux"))]
fn lower_priority() {}
