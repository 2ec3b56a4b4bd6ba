//! The live file watcher behind a session's review: one [`Watcher`] per active session.
//!
//! # How it works
//!
//! A watcher is one named thread (`grove-watch-<session>`) that owns a `notify` watcher (on
//! Linux one inotify instance and its reader thread) and the session's [`git::CountCache`].
//! notify's reader thread forwards raw events over a channel; the watcher thread blocks on it
//! (no timer runs while nothing happens), drops what is noise (opens and reads, ignored files,
//! the rest of `.git`), and debounces: a batch closes once events stop for
//! [`WatchOptions::debounce`], or [`WatchOptions::max_delay`] after it opened, and never sooner
//! than [`WatchOptions::min_gap`] after the previous report. So a file rewritten 50 times a
//! second costs a handful of recounts a second, and one write is reported within about the
//! debounce. (Not through `notify-debouncer-full`: its thread sleeps and wakes every quarter
//! debounce whether or not anything happened, 80 wake-ups a second per session at 50 ms, and
//! idle sessions must cost nothing.)
//!
//! A batch then keeps the directory watches true (new folders watched, removed ones dropped, a
//! changed `.gitignore` re-walks), recounts the session's summary with only the named files
//! re-diffed, and hands a [`Report`] to the sink, which turns it into events.
//!
//! The session's git metadata is watched too (HEAD, index, the branch and base refs,
//! `packed-refs`; see `gitdir`), so commits, resets and branch switches are seen; a change there,
//! or the worktree vanishing, asks the sink to recheck drift.
//!
//! When the system's inotify watch limit is reached (or [`WatchOptions::max_watches`], which
//! behaves the same and lets tests reach it), the watcher says so once in the log, naming the
//! session and `fs.inotify.max_user_watches`, keeps the watches it has, and rescans the session
//! every [`WatchOptions::rescan_every`]: updates get slower, never stop.
//!
//! Dropping a [`Watcher`] stops its thread and joins it; the notify watcher (and its inotify
//! descriptor and thread) is dropped with it.

use std::collections::{BTreeSet, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use notify::event::{AccessKind, AccessMode, EventKind, ModifyKind};
use notify::{RecursiveMode, Watcher as _};

use crate::git;
use crate::wire::ChangeSummary;

mod dirs;
mod gitdir;
#[cfg(test)]
mod tests;

use dirs::{AddError, DirWatches};
use gitdir::{GitEvent, GitPaths};

/// How a watcher batches and what it may cost.
#[derive(Debug, Clone)]
pub struct WatchOptions {
    /// A batch closes once no event came for this long.
    pub debounce: Duration,
    /// ... or this long after its first event, however busy the worktree.
    pub max_delay: Duration,
    /// Reports of one session are at least this far apart.
    pub min_gap: Duration,
    /// How often a session is rescanned once watching it fully is impossible.
    pub rescan_every: Duration,
    /// At most this many watches per session; reaching it behaves like the system refusing a
    /// watch. `None`: only the system's limit applies.
    pub max_watches: Option<usize>,
    /// At most this many paths in one report; more sets [`Report::all`].
    pub max_paths: usize,
}

impl Default for WatchOptions {
    fn default() -> Self {
        WatchOptions {
            debounce: Duration::from_millis(50),
            max_delay: Duration::from_millis(150),
            min_gap: Duration::from_millis(100),
            rescan_every: Duration::from_secs(3),
            max_watches: None,
            max_paths: 1000,
        }
    }
}

/// What a watcher watches: one session's worktree.
#[derive(Debug, Clone)]
pub struct WatchTarget {
    pub session_id: i64,
    /// The session's name, for the log.
    pub name: String,
    pub worktree: PathBuf,
    pub branch: String,
    /// What the summary is measured against (see [`git::summarize`]).
    pub base: String,
}

/// One batch's outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// The session's summary after the batch; `None` when it could not be computed (the
    /// worktree is gone, or mid-way through a git operation).
    pub summary: Option<ChangeSummary>,
    /// Worktree-relative files seen written (created, changed, deleted, renamed), sorted.
    pub paths: Vec<String>,
    /// Which files changed is not known (a rescan, lost events, or too many paths): treat
    /// every file as changed.
    pub all: bool,
    /// HEAD, the branch, or the worktree itself may have moved: recheck drift.
    pub recheck_drift: bool,
}

/// Where reports go. Called on the watcher's thread; it may block briefly.
pub type Sink = Box<dyn FnMut(Report) + Send>;

/// What a running watcher holds, for tests and benchmarks.
#[derive(Debug, Default)]
struct Stats {
    watches: AtomicUsize,
    degraded: AtomicBool,
    reports: AtomicUsize,
}

enum Msg {
    Fs(notify::Result<notify::Event>),
    Stop,
}

/// A running watcher. Dropping it stops and joins its thread.
pub struct Watcher {
    tx: mpsc::Sender<Msg>,
    thread: Option<JoinHandle<()>>,
    stats: Arc<Stats>,
}

impl std::fmt::Debug for Watcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watcher")
            .field("watches", &self.watches())
            .field("degraded", &self.degraded())
            .finish()
    }
}

impl Watcher {
    /// Starts watching `target`: walks it, adds the watches and computes the first summary on
    /// the watcher's own thread, then reports as files change.
    pub fn start(target: WatchTarget, opts: WatchOptions, sink: Sink) -> std::io::Result<Watcher> {
        let (tx, rx) = mpsc::channel();
        let stats = Arc::new(Stats::default());
        let fs_tx = tx.clone();
        let stats_w = Arc::clone(&stats);
        let thread = std::thread::Builder::new()
            .name(format!("grove-watch-{}", target.session_id))
            .spawn(move || {
                let notify = notify::recommended_watcher(move |ev| {
                    let _ = fs_tx.send(Msg::Fs(ev));
                });
                let mut w = Worker::new(target, opts, sink, stats_w, notify);
                w.run(&rx);
            })?;
        Ok(Watcher {
            tx,
            thread: Some(thread),
            stats,
        })
    }

    /// Directory and git-metadata watches held now.
    pub fn watches(&self) -> usize {
        self.stats.watches.load(Ordering::SeqCst)
    }

    /// Whether the watcher fell back to periodic rescans (watch limit reached).
    pub fn degraded(&self) -> bool {
        self.stats.degraded.load(Ordering::SeqCst)
    }

    /// Reports made so far.
    pub fn reports(&self) -> usize {
        self.stats.reports.load(Ordering::SeqCst)
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        let _ = self.tx.send(Msg::Stop);
        if let Some(t) = self.thread.take() {
            // The sink may hold the last reference to whatever owns this watcher: dropping it
            // there runs this on the watcher's own thread, which must not join itself.
            if t.thread().id() != std::thread::current().id() {
                let _ = t.join();
            }
        }
    }
}

/// What one batch collected.
#[derive(Debug, Default)]
struct Batch {
    /// Worktree-relative paths seen written.
    written: BTreeSet<PathBuf>,
    /// Paths whose only events were metadata (attributes, times): recounted, not reported.
    touched: BTreeSet<PathBuf>,
    /// Something under a watched git dir that matters changed.
    git: bool,
    /// The worktree root or its `.git` changed: recheck drift.
    drift: bool,
    /// Events were lost (queue overflow): rescan everything.
    rescan: bool,
}

impl Batch {
    fn is_empty(&self) -> bool {
        self.written.is_empty()
            && self.touched.is_empty()
            && !self.git
            && !self.drift
            && !self.rescan
    }
}

struct Worker {
    target: WatchTarget,
    /// The worktree path as the kernel reports it (symlinks resolved).
    root: PathBuf,
    opts: WatchOptions,
    sink: Sink,
    stats: Arc<Stats>,
    notify: Option<notify::RecommendedWatcher>,
    dirs: DirWatches,
    git: GitPaths,
    git_watches: usize,
    cache: git::CountCache,
    last: Option<git::Summary>,
    degraded: bool,
}

impl Worker {
    fn new(
        target: WatchTarget,
        opts: WatchOptions,
        sink: Sink,
        stats: Arc<Stats>,
        notify: notify::Result<notify::RecommendedWatcher>,
    ) -> Worker {
        let root = gitdir::canonical(&target.worktree);
        let git = GitPaths::find(&root, &target.branch, &target.base).unwrap_or_default();
        let mut w = Worker {
            dirs: DirWatches::new(root.clone(), opts.max_watches),
            root,
            git,
            git_watches: 0,
            cache: git::CountCache::default(),
            last: None,
            degraded: false,
            notify: None,
            target,
            opts,
            sink,
            stats,
        };
        match notify {
            Ok(n) => w.notify = Some(n),
            // Typically the per-user limit of inotify instances (`fs.inotify.max_user_instances`).
            Err(e) => w.degrade(&format!("could not start a file watcher ({e})")),
        }
        w
    }

    fn run(&mut self, rx: &mpsc::Receiver<Msg>) {
        self.watch_git();
        self.resync();
        self.report(Batch::default(), true);
        let mut last_report = Instant::now();
        loop {
            let first = if self.degraded {
                rx.recv_timeout(self.opts.rescan_every)
            } else {
                rx.recv().map_err(|_| mpsc::RecvTimeoutError::Disconnected)
            };
            let mut batch = Batch::default();
            match first {
                Ok(Msg::Stop) | Err(mpsc::RecvTimeoutError::Disconnected) => return,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    batch.rescan = true;
                }
                Ok(Msg::Fs(ev)) => self.add(&mut batch, ev),
            }
            if batch.is_empty() {
                continue;
            }
            // Debounce: collect until quiet, or too long, but never before the minimum gap.
            let opened = Instant::now();
            let mut last_event = opened;
            loop {
                let quiet = last_event + self.opts.debounce;
                let deadline = quiet
                    .min(opened + self.opts.max_delay)
                    .max(last_report + self.opts.min_gap);
                let now = Instant::now();
                if now >= deadline {
                    break;
                }
                match rx.recv_timeout(deadline - now) {
                    Ok(Msg::Fs(ev)) => {
                        let before = batch_size(&batch);
                        self.add(&mut batch, ev);
                        if batch_size(&batch) != before {
                            last_event = Instant::now();
                        }
                    }
                    Ok(Msg::Stop) | Err(mpsc::RecvTimeoutError::Disconnected) => return,
                    Err(mpsc::RecvTimeoutError::Timeout) => {}
                }
            }
            let rescan = batch.rescan;
            self.report(batch, rescan);
            last_report = Instant::now();
        }
    }

    /// Sorts one raw event into the batch.
    fn add(&self, batch: &mut Batch, ev: notify::Result<notify::Event>) {
        let ev = match ev {
            Ok(ev) => ev,
            Err(e) => {
                tracing::debug!(session = self.target.session_id, err = %e, "watch error");
                batch.rescan = true;
                return;
            }
        };
        if ev.need_rescan() {
            batch.rescan = true;
        }
        let written = match ev.kind {
            EventKind::Create(_) | EventKind::Remove(_) => true,
            EventKind::Modify(ModifyKind::Metadata(_)) => false,
            EventKind::Modify(_) => true,
            EventKind::Access(AccessKind::Close(AccessMode::Write)) => true,
            // Opens and reads (Grove's own diffs read every changed file): noise.
            EventKind::Access(_) => return,
            EventKind::Any | EventKind::Other => false,
        };
        for path in ev.paths {
            if let Some(g) = self.git.classify(&path) {
                if g == GitEvent::Changed {
                    batch.git = true;
                }
                continue;
            }
            if path == self.root
                || path.parent() == Some(self.root.as_path())
                    && path.file_name() == Some(".git".as_ref())
            {
                batch.drift = true;
                continue;
            }
            let Ok(rel) = path.strip_prefix(&self.root) else {
                continue;
            };
            if rel.starts_with(".git") {
                continue;
            }
            if written {
                batch.written.insert(rel.to_path_buf());
            } else {
                batch.touched.insert(rel.to_path_buf());
            }
        }
    }

    /// Watches the git metadata that matters.
    fn watch_git(&mut self) {
        let Some(n) = self.notify.as_mut() else {
            return;
        };
        let mut limit = false;
        for dir in self.git.dirs.keys() {
            if self.opts.max_watches.is_some_and(|m| self.git_watches >= m) {
                limit = true;
                break;
            }
            match n.watch(dir, RecursiveMode::NonRecursive) {
                Ok(()) => self.git_watches += 1,
                Err(e) if matches!(e.kind, notify::ErrorKind::MaxFilesWatch) => {
                    limit = true;
                    break;
                }
                Err(e) => {
                    tracing::debug!(dir = %dir.display(), err = %e, "could not watch git metadata")
                }
            }
        }
        if limit {
            self.limit_reached();
        }
        self.publish_stats();
    }

    /// Makes the directory watches match a fresh walk.
    fn resync(&mut self) {
        if self.degraded {
            return;
        }
        let Some(n) = self.notify.as_mut() else {
            return;
        };
        if let Err(AddError::Limit) = self.dirs.resync(n, self.git_watches) {
            self.limit_reached();
        }
        self.publish_stats();
    }

    /// Keeps the watches of the folders among `paths` true; returns files found in new folders.
    fn track_dirs(&mut self, paths: &BTreeSet<PathBuf>) -> Vec<PathBuf> {
        let mut found = Vec::new();
        if self.degraded || !cfg!(target_os = "linux") {
            return found;
        }
        let Some(n) = self.notify.as_mut() else {
            return found;
        };
        let mut limit = false;
        for rel in paths {
            let abs = self.root.join(rel);
            let is_dir = fs_err::symlink_metadata(&abs).is_ok_and(|m| m.is_dir());
            let current = self.dirs.is_current(&abs);
            if self.dirs.is_watched(&abs) && !current {
                // Gone, or replaced by another folder of the same name.
                self.dirs.remove_under(n, &abs);
            }
            if is_dir && !current {
                match self.dirs.walk_and_watch(n, &abs, self.git_watches) {
                    Ok(files) => found.extend(files),
                    Err(AddError::Limit) => {
                        limit = true;
                        break;
                    }
                    Err(AddError::Other) => {}
                }
            }
        }
        if limit {
            self.limit_reached();
        }
        self.publish_stats();
        found
    }

    fn limit_reached(&mut self) {
        self.degrade(&format!(
            "the file watch limit is reached ({} watches held); raise it with `sysctl fs.inotify.max_user_watches=<more>`",
            self.dirs.len() + self.git_watches
        ));
    }

    /// Falls back to rescanning every few seconds, and says so once.
    fn degrade(&mut self, why: &str) {
        if self.degraded {
            return;
        }
        self.degraded = true;
        self.stats.degraded.store(true, Ordering::SeqCst);
        tracing::warn!(
            session = self.target.session_id,
            name = %self.target.name,
            "session `{}`: {why}. Grove rescans it every {} s instead of watching it live.",
            self.target.name,
            self.opts.rescan_every.as_secs_f64()
        );
    }

    fn publish_stats(&self) {
        self.stats
            .watches
            .store(self.dirs.len() + self.git_watches, Ordering::SeqCst);
    }

    /// Processes a batch: watches, ignore rules, the recount, the report.
    fn report(&mut self, batch: Batch, all: bool) {
        let repo = git2::Repository::open(&self.root).ok();
        let visible = |rel: &Path| -> bool {
            let Some(repo) = repo.as_ref() else {
                return true;
            };
            let mut probe = rel.to_path_buf();
            if fs_err::symlink_metadata(self.root.join(rel)).is_ok_and(|m| m.is_dir()) {
                // libgit2 matches folder-only patterns (`target/`) by a trailing slash.
                probe.push("");
            }
            !repo.is_path_ignored(&probe).unwrap_or(false)
        };
        let written: BTreeSet<PathBuf> = batch.written.into_iter().filter(|p| visible(p)).collect();
        let touched: BTreeSet<PathBuf> = batch.touched.into_iter().filter(|p| visible(p)).collect();
        drop(repo);
        let rescan = all || batch.rescan;
        // A changed `.gitignore` may ignore or unignore any folder; lost events hide new ones.
        let ignore_changed = written
            .iter()
            .any(|p| p.file_name() == Some(".gitignore".as_ref()));
        if ignore_changed || batch.rescan {
            self.resync();
        }
        let mut written = written;
        let found = self.track_dirs(&written.clone());
        written.extend(found);
        if !rescan && written.is_empty() && touched.is_empty() && !batch.git && !batch.drift {
            return;
        }

        let names: HashSet<Vec<u8>> = written
            .iter()
            .chain(&touched)
            .map(|p| path_bytes(p))
            .collect();
        let summary = match git::summarize(&self.root, &self.target.base, &mut self.cache, &names) {
            Ok(s) => Some(s),
            Err(e) => {
                tracing::debug!(session = self.target.session_id, err = %e, "could not count the changes");
                None
            }
        };
        // Files only seen as metadata changes, or found by a rescan, count as written when their
        // version moved.
        // Folders are not files to review, and a deleted file matters only if git knew it.
        let known = |p: &Vec<u8>| {
            summary.as_ref().is_some_and(|s| s.versions.contains_key(p))
                || self
                    .last
                    .as_ref()
                    .is_some_and(|s| s.versions.contains_key(p))
        };
        let mut paths: BTreeSet<String> = written
            .iter()
            .filter(|p| match fs_err::symlink_metadata(self.root.join(p)) {
                Ok(m) => !m.is_dir(),
                Err(_) => known(&path_bytes(p)),
            })
            .map(|p| p.to_string_lossy().replace('\\', "/"))
            .collect();
        if let (Some(now), Some(before)) = (summary.as_ref(), self.last.as_ref()) {
            for (p, v) in &now.versions {
                if before.versions.get(p) != Some(v) && (rescan || names.contains(p)) {
                    paths.insert(String::from_utf8_lossy(p).into_owned());
                }
            }
            if rescan {
                for p in before
                    .versions
                    .keys()
                    .filter(|p| !now.versions.contains_key(*p))
                {
                    paths.insert(String::from_utf8_lossy(p).into_owned());
                }
            }
        }
        let changed = match (&summary, &self.last) {
            (Some(a), Some(b)) => counts(a) != counts(b),
            (Some(_), None) => true,
            (None, _) => false,
        };
        let first = self.last.is_none() && summary.is_some();
        let recheck_drift = batch.git || batch.drift || (self.degraded && batch.rescan);
        if summary.is_some() {
            self.last = summary.clone();
        }
        if paths.is_empty() && !changed && !recheck_drift && !first {
            return;
        }
        let mut paths: Vec<String> = paths.into_iter().collect();
        let mut all_flag = rescan && !first && (!paths.is_empty() || changed);
        if paths.len() > self.opts.max_paths {
            paths.truncate(self.opts.max_paths);
            all_flag = true;
        }
        self.stats.reports.fetch_add(1, Ordering::SeqCst);
        (self.sink)(Report {
            summary: summary.as_ref().map(counts),
            paths,
            all: all_flag,
            recheck_drift,
        });
    }
}

fn batch_size(b: &Batch) -> (usize, usize, bool, bool, bool) {
    (b.written.len(), b.touched.len(), b.git, b.drift, b.rescan)
}

fn counts(s: &git::Summary) -> ChangeSummary {
    ChangeSummary {
        files: s.files,
        additions: s.additions,
        deletions: s.deletions,
        uncommitted: s.uncommitted,
    }
}

#[cfg(unix)]
fn path_bytes(p: &Path) -> Vec<u8> {
    use std::os::unix::ffi::OsStrExt;
    p.as_os_str().as_bytes().to_vec()
}

#[cfg(not(unix))]
fn path_bytes(p: &Path) -> Vec<u8> {
    p.to_string_lossy().replace('\\', "/").into_bytes()
}
