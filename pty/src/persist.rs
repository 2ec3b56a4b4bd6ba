//! Saving an output log to disk with its offsets, and loading it back.
//!
//! File format (little endian): `b"GROVELOG"`, `u32` version, `u32` reserved, `u64` offset of the
//! first stored byte, then the raw bytes. New output is *appended*, so the header never changes
//! between compactions and a crash mid-write leaves a valid file that merely ends a little early.
//! When the file holds more than twice the ring's capacity, or the ring has moved past what the
//! file holds, it is rewritten from the ring (temp file + rename, so a crash keeps the old one).
//!
//! Writes are batched: a [`Flusher`] thread flushes every registered log at most once per
//! interval (default 1 s), and a terminal flushes once more when it closes. Nothing writes per
//! PTY chunk.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Weak};

use parking_lot::{Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::log::OutputLog;

const MAGIC: &[u8; 8] = b"GROVELOG";
const VERSION: u32 = 1;
const HEADER_LEN: u64 = 24;

/// Errors reading or writing a saved log. Each names the file.
#[derive(Debug, thiserror::Error)]
pub enum PersistError {
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error("{path} is not a Grove output log ({reason}); it was left untouched")]
    Corrupt { path: PathBuf, reason: &'static str },
}

/// An output log's file on disk and how much of the log it holds.
#[derive(Debug)]
pub struct LogFile {
    path: PathBuf,
    file: fs_err::File,
    /// Offset of the first byte stored in the file.
    file_start: u64,
    /// Offset up to which the file holds the log (exclusive).
    persisted: u64,
}

impl LogFile {
    /// Opens `path` to persist `log`. A file that already holds exactly the log's history (as
    /// after [`load`]) is appended to; anything else is replaced by the log's current contents.
    pub fn open(path: &Path, log: &OutputLog) -> Result<Self, PersistError> {
        if let Ok((file_start, file_end)) = read_header_bounds(path) {
            let (start, end) = log.bounds();
            if file_end == end && file_start <= start {
                let file = open_append_private(path)?;
                return Ok(LogFile {
                    path: path.to_owned(),
                    file,
                    file_start,
                    persisted: end,
                });
            }
        }
        Self::rewrite(path, log)
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Offset up to which the file holds the log.
    pub fn persisted_offset(&self) -> u64 {
        self.persisted
    }

    fn rewrite(path: &Path, log: &OutputLog) -> Result<Self, PersistError> {
        let mut bytes = Vec::new();
        let start = log.copy_range(0, log.capacity(), &mut bytes);
        write_private(path, |f| {
            f.write_all(&header(start))?;
            f.write_all(&bytes)
        })?;
        let file = open_append_private(path)?;
        Ok(LogFile {
            path: path.to_owned(),
            file,
            file_start: start,
            persisted: start + bytes.len() as u64,
        })
    }

    /// Writes what the log gained since the last flush. Returns the number of log bytes written.
    pub fn flush(&mut self, log: &OutputLog) -> Result<u64, PersistError> {
        let (start, end) = log.bounds();
        if end == self.persisted {
            return Ok(0);
        }
        let held = self.persisted - self.file_start;
        let cap = log.capacity() as u64;
        if self.persisted < start || held + (end - self.persisted) > 2 * cap {
            return self.compact(log);
        }
        let mut bytes = Vec::with_capacity((end - self.persisted) as usize);
        let from = log.copy_range(self.persisted, usize::MAX, &mut bytes);
        if from != self.persisted {
            // The ring moved past our position between the two reads: rewrite instead.
            return self.compact(log);
        }
        self.file.write_all(&bytes)?;
        self.persisted += bytes.len() as u64;
        Ok(bytes.len() as u64)
    }

    fn compact(&mut self, log: &OutputLog) -> Result<u64, PersistError> {
        let before = self.persisted;
        *self = Self::rewrite(&self.path, log)?;
        Ok(self.persisted.saturating_sub(before))
    }
}

/// Replaces `path` atomically with a file only its owner can read (0600), written by `write`.
///
/// The temp file next to it gets a random name and is created with `O_EXCL` and `O_NOFOLLOW`,
/// so a file or link planted at a predictable name can never be written through; the rename then
/// swaps it in whole, so a crash leaves the old file or the new one, never half of one.
pub fn write_private(
    path: &Path,
    write: impl FnOnce(&mut fs_err::File) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let (tmp, mut file) = create_private_temp(path)?;
    let written = write(&mut file).and_then(|()| file.sync_all());
    drop(file);
    match written.and_then(|()| fs_err::rename(&tmp, path)) {
        Ok(()) => Ok(()),
        Err(err) => {
            let _ = fs_err::remove_file(&tmp);
            Err(err)
        }
    }
}

/// A new, empty 0600 file beside `path` with a random name (`.<name>.<random>.tmp`).
fn create_private_temp(path: &Path) -> std::io::Result<(PathBuf, fs_err::File)> {
    use std::hash::{BuildHasher, Hasher};
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut last = None;
    for _ in 0..16 {
        // `RandomState` is seeded from the OS's randomness once per process and differs per
        // instance; the name only has to be unguessable enough that a collision is rare, since
        // `O_EXCL` already refuses anything that exists.
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u32(std::process::id());
        let tmp = dir.join(format!(".{name}.{:016x}.tmp", h.finish()));
        let mut opts = fs_err::OpenOptions::new();
        opts.write(true).create_new(true);
        private_mode(&mut opts);
        match opts.open(&tmp) {
            Ok(f) => return Ok((tmp, f)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| std::io::Error::other("no free temp file name")))
}

/// Opens an existing file for appending, never through a symlink, and makes it owner-only.
fn open_append_private(path: &Path) -> std::io::Result<fs_err::File> {
    let mut opts = fs_err::OpenOptions::new();
    opts.append(true);
    private_mode(&mut opts);
    let file = opts.open(path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        // A log written by an older Grove may still be 0644.
        file.file()
            .set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(file)
}

/// Mode 0600 for a created file and `O_NOFOLLOW`, so the last path component is never a link.
fn private_mode(opts: &mut fs_err::OpenOptions) {
    #[cfg(unix)]
    {
        use fs_err::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600).custom_flags(libc::O_NOFOLLOW);
    }
    #[cfg(not(unix))]
    let _ = opts;
}

fn header(start: u64) -> [u8; HEADER_LEN as usize] {
    let mut h = [0u8; HEADER_LEN as usize];
    h[..8].copy_from_slice(MAGIC);
    h[8..12].copy_from_slice(&VERSION.to_le_bytes());
    h[16..24].copy_from_slice(&start.to_le_bytes());
    h
}

fn parse_header(path: &Path, h: &[u8]) -> Result<u64, PersistError> {
    let corrupt = |reason| PersistError::Corrupt {
        path: path.to_owned(),
        reason,
    };
    if h.len() < HEADER_LEN as usize || &h[..8] != MAGIC {
        return Err(corrupt("missing GROVELOG header"));
    }
    let mut v = [0u8; 4];
    v.copy_from_slice(&h[8..12]);
    if u32::from_le_bytes(v) != VERSION {
        return Err(corrupt("unsupported version"));
    }
    let mut s = [0u8; 8];
    s.copy_from_slice(&h[16..24]);
    Ok(u64::from_le_bytes(s))
}

fn read_header_bounds(path: &Path) -> Result<(u64, u64), PersistError> {
    let mut f = fs_err::File::open(path)?;
    let len = f.metadata()?.len();
    let mut h = [0u8; HEADER_LEN as usize];
    f.read_exact(&mut h)?;
    let start = parse_header(path, &h)?;
    Ok((start, start + (len - HEADER_LEN)))
}

/// Loads a saved log into a new, closed [`OutputLog`] of `capacity` bytes with its offsets
/// preserved (only the newest `capacity` bytes are kept). Pass it in
/// [`TerminalOptions::log`](crate::TerminalOptions::log) to continue it.
pub fn load(path: &Path, capacity: usize) -> Result<OutputLog, PersistError> {
    let data = fs_err::read(path)?;
    let start = parse_header(path, &data)?;
    let bytes = &data[HEADER_LEN as usize..];
    let skip = bytes.len().saturating_sub(capacity);
    let log = OutputLog::starting_at(capacity, start + skip as u64);
    log.append(&bytes[skip..]);
    log.close();
    Ok(log)
}

/// A log together with its file: what a terminal and the [`Flusher`] share.
#[derive(Debug)]
pub struct PersistedLog {
    log: Arc<OutputLog>,
    file: Mutex<LogFile>,
}

impl PersistedLog {
    /// Opens (see [`LogFile::open`]) the file for `log`.
    pub fn new(path: &Path, log: Arc<OutputLog>) -> Result<Arc<Self>, PersistError> {
        let file = LogFile::open(path, &log)?;
        Ok(Arc::new(PersistedLog {
            log,
            file: Mutex::new(file),
        }))
    }

    /// The log this file saves.
    pub fn log(&self) -> &Arc<OutputLog> {
        &self.log
    }

    /// The file's path.
    pub fn path(&self) -> PathBuf {
        self.file.lock().path.clone()
    }

    /// Flushes new bytes to disk now.
    pub fn flush(&self) -> Result<u64, PersistError> {
        let mut file = self.file.lock();
        file.flush(&self.log)
    }

    /// Flushes, logging (not returning) a failure: for background and shutdown paths.
    pub(crate) fn flush_logged(&self) {
        if let Err(err) = self.flush() {
            let path = self.file.lock().path.clone();
            tracing::warn!(path = %path.display(), %err, "could not save terminal output");
        }
    }
}

#[derive(Debug, Default)]
struct FlusherShared {
    entries: Mutex<Vec<Weak<PersistedLog>>>,
    stop: Mutex<bool>,
    cond: Condvar,
}

/// A cloneable handle to register logs with a running [`Flusher`].
#[derive(Debug, Clone)]
pub struct FlushRegistry(Arc<FlusherShared>);

impl FlushRegistry {
    /// Flushes `log` on every tick until the last `Arc` to it is dropped.
    pub fn register(&self, log: &Arc<PersistedLog>) {
        self.0.entries.lock().push(Arc::downgrade(log));
    }
}

/// One background thread that flushes every registered log once per interval. Dropping it
/// stops the thread after a final flush.
#[derive(Debug)]
pub struct Flusher {
    shared: Arc<FlusherShared>,
    thread: Option<JoinHandle<()>>,
}

impl Flusher {
    /// Starts the flusher thread.
    pub fn spawn(interval: Duration) -> std::io::Result<Self> {
        let shared = Arc::new(FlusherShared::default());
        let worker = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("grove-log-flusher".into())
            .spawn(move || flusher_loop(&worker, interval))?;
        Ok(Flusher {
            shared,
            thread: Some(thread),
        })
    }

    /// A handle to register logs with this flusher.
    pub fn registry(&self) -> FlushRegistry {
        FlushRegistry(Arc::clone(&self.shared))
    }
}

fn flusher_loop(shared: &FlusherShared, interval: Duration) {
    loop {
        let stopping = {
            let mut stop = shared.stop.lock();
            shared
                .cond
                .wait_while_for(&mut stop, |stop| !*stop, interval);
            *stop
        };
        let live: Vec<Arc<PersistedLog>> = {
            let mut entries = shared.entries.lock();
            entries.retain(|w| w.strong_count() > 0);
            entries.iter().filter_map(Weak::upgrade).collect()
        };
        for log in live {
            log.flush_logged();
        }
        if stopping {
            return;
        }
    }
}

impl Drop for Flusher {
    fn drop(&mut self) {
        *self.shared.stop.lock() = true;
        self.shared.cond.notify_all();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn append_compact_and_load_preserve_offsets() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.log");
        let log = Arc::new(OutputLog::new(16));
        let mut file = LogFile::open(&path, &log).unwrap();
        let mut all = Vec::new();
        for i in 0..50u8 {
            let chunk = vec![i; (i % 5) as usize + 1];
            log.append(&chunk);
            all.extend_from_slice(&chunk);
            if i % 3 == 0 {
                file.flush(&log).unwrap();
            }
        }
        file.flush(&log).unwrap();
        let size = fs_err::metadata(&path).unwrap().len();
        assert!(
            size <= HEADER_LEN + 2 * 16 + 8,
            "file stays bounded: {size}"
        );
        let loaded = Arc::new(load(&path, 16).unwrap());
        assert_eq!(loaded.bounds(), log.bounds());
        let mut a = Vec::new();
        loaded.copy_range(0, 100, &mut a);
        assert_eq!(a, all[all.len() - 16..]);
        // Re-opening a file that matches the loaded log appends instead of rewriting.
        let reopened = LogFile::open(&path, &loaded).unwrap();
        assert_eq!(reopened.persisted_offset(), all.len() as u64);
    }

    #[test]
    fn corrupt_file_is_named_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.log");
        fs_err::write(&path, b"not a log").unwrap();
        let err = load(&path, 16).unwrap_err();
        assert!(err.to_string().contains("bad.log"), "{err}");
        assert_eq!(fs_err::read(&path).unwrap(), b"not a log");
    }

    #[test]
    fn flusher_writes_without_being_asked() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.log");
        let log = Arc::new(OutputLog::new(1024));
        let persisted = PersistedLog::new(&path, Arc::clone(&log)).unwrap();
        let flusher = Flusher::spawn(Duration::from_millis(20)).unwrap();
        flusher.registry().register(&persisted);
        log.append(b"saved by the flusher");
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while load(&path, 1024).unwrap().end_offset() < 20 {
            assert!(std::time::Instant::now() < deadline, "flusher never wrote");
            std::thread::sleep(Duration::from_millis(10));
        }
        drop(flusher);
    }
}
