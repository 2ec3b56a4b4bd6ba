//! The data dir: where Grove keeps its database, output logs, worktrees and the server file, and
//! the lock that makes one process its only owner.

use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

/// Errors opening the data dir.
#[derive(Debug, thiserror::Error)]
pub enum DataDirError {
    #[error("no data dir: set GROVE_DATA_DIR or pass --data-dir (no home directory was found)")]
    NoDefault,
    #[error(
        "data dir {path} is in use by another Grove ({holder}); stop it or use another --data-dir"
    )]
    Locked { path: PathBuf, holder: String },
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// The OS-appropriate default (e.g. `~/.local/share/grove` on Linux).
pub fn default_root() -> Result<PathBuf, DataDirError> {
    directories::ProjectDirs::from("dev", "grove", "grove")
        .map(|d| d.data_dir().to_owned())
        .ok_or(DataDirError::NoDefault)
}

/// An opened, locked data dir. The lock is released when this is dropped (or the process dies:
/// it is an OS file lock, so a `kill -9` never leaves a stale lock behind).
#[derive(Debug)]
pub struct DataDir {
    root: PathBuf,
    _lock: fs_err::File,
}

impl DataDir {
    /// Creates the directory if needed and takes the single-owner lock.
    pub fn open(root: &Path) -> Result<Self, DataDirError> {
        fs_err::create_dir_all(root)?;
        let root = fs_err::canonicalize(root)?;
        for sub in ["logs", "worktrees"] {
            fs_err::create_dir_all(root.join(sub))?;
        }
        let lock_path = root.join("grove.lock");
        let mut lock = fs_err::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&lock_path)?;
        match lock.file().try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = lock.read_to_string(&mut holder);
                let holder = holder.trim();
                let holder = if holder.is_empty() {
                    "unknown process".into()
                } else {
                    holder.to_owned()
                };
                return Err(DataDirError::Locked { path: root, holder });
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(e.into()),
        }
        lock.set_len(0)?;
        lock.rewind()?;
        write!(lock, "pid {}", std::process::id())?;
        lock.flush()?;
        Ok(DataDir { root, _lock: lock })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn db_path(&self) -> PathBuf {
        self.root.join("grove.db")
    }

    pub fn logs(&self) -> PathBuf {
        self.root.join("logs")
    }

    pub fn worktrees(&self) -> PathBuf {
        self.root.join("worktrees")
    }

    /// The 0600 file where a running server leaves its address and token for the CLI.
    pub fn server_file(&self) -> PathBuf {
        server_file(&self.root)
    }
}

/// Path of the server file for a data dir root (usable without taking the lock, by the CLI).
pub fn server_file(root: &Path) -> PathBuf {
    root.join("server.json")
}

/// Writes `contents` to `path` readable by the owner only, atomically (temp file + rename).
pub fn write_private(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    let mut opts = fs_err::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use fs_err::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(&tmp)?;
    f.write_all(contents)?;
    f.sync_all()?;
    drop(f);
    fs_err::rename(&tmp, path)
}
