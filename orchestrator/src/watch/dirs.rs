//! The directory watches of one worktree. On Linux inotify watches one directory at a time, so
//! Grove walks the worktree with the `ignore` crate (nested `.gitignore`, `.git/info/exclude`,
//! the global excludes file, negations) and watches only the directories git does not ignore,
//! each non-recursively: an ignored `node_modules` of 30,000 folders costs no watch. New
//! directories get a watch when they appear, removed ones lose theirs. Elsewhere one recursive
//! watch covers the worktree and events are filtered through the same rules.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use notify::{RecursiveMode, Watcher as _};

/// Why a watch could not be added.
#[derive(Debug)]
pub(super) enum AddError {
    /// The system's (or the configured) watch limit is reached.
    Limit,
    /// Anything else (the folder vanished meanwhile, permissions): skipped.
    Other,
}

/// The directories one watcher holds, by path, with the inode each was watched at (a folder
/// deleted and made again under the same name needs a new watch).
#[derive(Debug)]
pub(super) struct DirWatches {
    root: PathBuf,
    watched: HashMap<PathBuf, u64>,
    max: Option<usize>,
}

impl DirWatches {
    pub(super) fn new(root: PathBuf, max: Option<usize>) -> DirWatches {
        DirWatches {
            root,
            watched: HashMap::new(),
            max,
        }
    }

    pub(super) fn len(&self) -> usize {
        self.watched.len()
    }

    pub(super) fn is_watched(&self, dir: &Path) -> bool {
        self.watched.contains_key(dir)
    }

    /// Whether `dir` is watched and still the folder it was watched as.
    pub(super) fn is_current(&self, dir: &Path) -> bool {
        self.watched.get(dir).is_some_and(|ino| {
            fs_err::symlink_metadata(dir).is_ok_and(|m| m.is_dir()) && *ino == inode(dir)
        })
    }

    /// Adds one non-recursive watch (recursive on other systems, for the root only).
    pub(super) fn add(
        &mut self,
        watcher: &mut notify::RecommendedWatcher,
        dir: &Path,
        extra: usize,
    ) -> Result<(), AddError> {
        let ino = inode(dir);
        if self.watched.get(dir) == Some(&ino) {
            return Ok(());
        }
        if let Some(max) = self.max
            && self.watched.len() + extra >= max
        {
            return Err(AddError::Limit);
        }
        let mode = if cfg!(target_os = "linux") {
            RecursiveMode::NonRecursive
        } else {
            RecursiveMode::Recursive
        };
        match watcher.watch(dir, mode) {
            Ok(()) => {
                self.watched.insert(dir.to_path_buf(), ino);
                Ok(())
            }
            Err(e) if matches!(e.kind, notify::ErrorKind::MaxFilesWatch) => Err(AddError::Limit),
            Err(e) => {
                tracing::debug!(dir = %dir.display(), err = %e, "could not watch a folder");
                Err(AddError::Other)
            }
        }
    }

    /// Drops the watches of `dir` and every folder under it.
    pub(super) fn remove_under(&mut self, watcher: &mut notify::RecommendedWatcher, dir: &Path) {
        let gone: Vec<PathBuf> = self
            .watched
            .keys()
            .filter(|p| p.starts_with(dir))
            .cloned()
            .collect();
        for p in gone {
            // The kernel already dropped the watch of a deleted folder; notify may say so.
            let _ = watcher.unwatch(&p);
            self.watched.remove(&p);
        }
    }

    /// Walks `from` (the root, or a new folder under it) by git's ignore rules and watches every
    /// folder not ignored (on Linux; elsewhere only the root). Returns the files found, relative
    /// to the root, so a folder that appeared with files already in it reports them.
    pub(super) fn walk_and_watch(
        &mut self,
        watcher: &mut notify::RecommendedWatcher,
        from: &Path,
        extra: usize,
    ) -> Result<Vec<PathBuf>, AddError> {
        let mut files = Vec::new();
        if !cfg!(target_os = "linux") {
            self.add(watcher, &self.root.clone(), extra)?;
            return Ok(files);
        }
        for entry in walker(from, from != self.root) {
            let Ok(entry) = entry else { continue };
            let Some(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_dir() {
                match self.add(watcher, entry.path(), extra) {
                    Ok(()) | Err(AddError::Other) => {}
                    Err(AddError::Limit) => return Err(AddError::Limit),
                }
            } else if entry.depth() > 0
                && let Ok(rel) = entry.path().strip_prefix(&self.root)
            {
                files.push(rel.to_path_buf());
            }
        }
        Ok(files)
    }

    /// Watches exactly the folders a fresh walk of the root finds: adds the missing ones and
    /// drops the ones now ignored or gone (after a `.gitignore` changed, or events were lost).
    pub(super) fn resync(
        &mut self,
        watcher: &mut notify::RecommendedWatcher,
        extra: usize,
    ) -> Result<(), AddError> {
        if !cfg!(target_os = "linux") {
            return self.add(watcher, &self.root.clone(), extra);
        }
        let mut want = HashMap::new();
        for entry in walker(&self.root, false).flatten() {
            if entry.file_type().is_some_and(|t| t.is_dir()) {
                want.insert(entry.path().to_path_buf(), inode(entry.path()));
            }
        }
        let stale: Vec<PathBuf> = self
            .watched
            .iter()
            .filter(|(p, ino)| want.get(*p) != Some(*ino))
            .map(|(p, _)| p.clone())
            .collect();
        for p in stale {
            let _ = watcher.unwatch(&p);
            self.watched.remove(&p);
        }
        let mut dirs: Vec<PathBuf> = want.into_keys().collect();
        dirs.sort();
        for d in dirs {
            match self.add(watcher, &d, extra) {
                Ok(()) | Err(AddError::Other) => {}
                Err(AddError::Limit) => return Err(AddError::Limit),
            }
        }
        Ok(())
    }
}

/// A walk by git's rules: hidden files count (git does not hide them), `.ignore` files do not
/// (git does not read them), `.git` is skipped, symlinks are not followed. `parents` reads the
/// ignore files of the folders above `from` (for a walk that starts inside the worktree).
fn walker(from: &Path, parents: bool) -> ignore::Walk {
    ignore::WalkBuilder::new(from)
        .hidden(false)
        .ignore(false)
        .parents(parents)
        .git_ignore(true)
        .git_global(true)
        .git_exclude(true)
        .require_git(false)
        .follow_links(false)
        .filter_entry(|e| e.file_name() != ".git")
        .build()
}

#[cfg(unix)]
fn inode(path: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    fs_err::metadata(path).map(|m| m.ino()).unwrap_or(0)
}

#[cfg(not(unix))]
fn inode(_path: &Path) -> u64 {
    0
}
