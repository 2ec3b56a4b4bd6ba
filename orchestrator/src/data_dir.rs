//! The data dir: where Grove keeps its database, output logs, worktrees and the server file, and
//! the lock that makes one process its only owner.
//!
//! Everything in it is the user's alone: the dir and the folders Grove makes in it are 0700, every
//! file Grove writes is 0600, and a data dir (or worktree root) that another user owns or could
//! write to is refused at start, since whoever can write there can plant a log, a server file or a
//! worktree that Grove would trust.

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
    #[error(
        "{what} {path} belongs to another user (uid {owner}, you are uid {me}); use one of your own (--data-dir / --worktree-root) or `chown {me} {path}`"
    )]
    NotOwned {
        what: &'static str,
        path: PathBuf,
        owner: u32,
        me: u32,
    },
    #[error("{what} {path} can be written by other users (mode {mode:o}); run `chmod 700 {path}`")]
    OpenToOthers {
        what: &'static str,
        path: PathBuf,
        mode: u32,
    },
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
    /// Creates the directory if needed (0700), refuses one that is not the user's alone, and
    /// takes the single-owner lock.
    pub fn open(root: &Path) -> Result<Self, DataDirError> {
        create_private_dir_all(root)?;
        let root = fs_err::canonicalize(root)?;
        check_private_dir("data dir", &root)?;
        for sub in ["logs", "worktrees"] {
            let sub = root.join(sub);
            create_private_dir_all(&sub)?;
            check_private_dir("data dir folder", &sub)?;
        }
        let lock_path = root.join("grove.lock");
        let mut lock = fs_err::OpenOptions::new();
        lock.read(true).write(true).create(true).truncate(false);
        private_file_mode(&mut lock);
        let mut lock = lock.open(&lock_path)?;
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
        let dir = DataDir { root, _lock: lock };
        dir.tighten_files()?;
        Ok(dir)
    }

    /// Makes the files an older Grove may have left readable (0644) owner-only, and creates the
    /// database file 0600 before SQLite does: SQLite gives its `-wal` and `-shm` files the
    /// database's mode.
    fn tighten_files(&self) -> std::io::Result<()> {
        let db = self.db_path();
        let mut opts = fs_err::OpenOptions::new();
        opts.read(true).write(true).create(true).truncate(false);
        private_file_mode(&mut opts);
        drop(opts.open(&db)?);
        let mut files = vec![db.clone(), self.root.join("grove.lock"), self.server_file()];
        for ext in ["db-wal", "db-shm"] {
            files.push(db.with_extension(ext));
        }
        for entry in fs_err::read_dir(self.logs())? {
            files.push(entry?.path());
        }
        for path in files {
            match fs_err::symlink_metadata(&path) {
                Ok(meta) if meta.is_file() => set_mode(&path, 0o600)?,
                _ => {}
            }
        }
        Ok(())
    }

    /// Where worktrees go: `custom` (created 0700 if missing, refused if it is not the user's
    /// alone), else `<data dir>/worktrees`.
    pub fn worktree_root(&self, custom: Option<&Path>) -> Result<PathBuf, DataDirError> {
        let Some(custom) = custom else {
            return Ok(self.worktrees());
        };
        create_private_dir_all(custom)?;
        let root = fs_err::canonicalize(custom)?;
        check_private_dir("worktree root", &root)?;
        Ok(root)
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

/// Writes `contents` to `path` readable by the owner only, atomically: a randomly named temp file
/// created with `O_EXCL | O_NOFOLLOW`, then a rename.
pub fn write_private(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    grove_pty::persist::write_private(path, |f| f.write_all(contents))
}

/// `create_dir_all`, with every folder it creates 0700.
pub fn create_private_dir_all(path: &Path) -> std::io::Result<()> {
    // fs-err has no `DirBuilder`; the error is given the path here instead.
    #[allow(clippy::disallowed_types)]
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(path).map_err(|e| {
        std::io::Error::new(
            e.kind(),
            format!("could not create {}: {e}", path.display()),
        )
    })
}

/// Refuses a folder another user owns or can write to, and makes one that others can merely read
/// (as an older Grove left it) 0700.
fn check_private_dir(what: &'static str, path: &Path) -> Result<(), DataDirError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let meta = fs_err::metadata(path)?;
        // SAFETY: geteuid cannot fail and touches no memory.
        let me = unsafe { libc::geteuid() };
        if meta.uid() != me {
            return Err(DataDirError::NotOwned {
                what,
                path: path.to_owned(),
                owner: meta.uid(),
                me,
            });
        }
        let mode = meta.mode() & 0o7777;
        if mode & 0o022 != 0 {
            return Err(DataDirError::OpenToOthers {
                what,
                path: path.to_owned(),
                mode,
            });
        }
        if mode & 0o077 != 0 {
            set_mode(path, 0o700)?;
        }
    }
    #[cfg(not(unix))]
    let _ = (what, path);
    Ok(())
}

fn set_mode(path: &Path, mode: u32) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs_err::set_permissions(path, std::fs::Permissions::from_mode(mode))?;
    }
    #[cfg(not(unix))]
    let _ = (path, mode);
    Ok(())
}

/// Mode 0600 for a file `opts` creates, and never through a symlink.
fn private_file_mode(opts: &mut fs_err::OpenOptions) {
    #[cfg(unix)]
    {
        use fs_err::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600).custom_flags(libc::O_NOFOLLOW);
    }
    #[cfg(not(unix))]
    let _ = opts;
}
