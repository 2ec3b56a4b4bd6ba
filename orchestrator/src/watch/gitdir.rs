//! The few files of a worktree's git metadata that matter to a session: its HEAD and index
//! (commits, resets, branch switches), its branch ref and its base's ref (loose, or in
//! `packed-refs`). A linked worktree's git dir lives outside it, at
//! `<repo>/.git/worktrees/<name>`; refs live in the common dir of the main repository.

use std::collections::{HashMap, HashSet};
use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// The git directories to watch (non-recursively) and, in each, the file names that matter.
#[derive(Debug, Default)]
pub(super) struct GitPaths {
    pub(super) dirs: HashMap<PathBuf, HashSet<OsString>>,
}

/// What an event under a watched git dir means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum GitEvent {
    /// HEAD, the index or a ref that matters changed: recount, and recheck drift.
    Changed,
    /// Another file of a watched git dir: nothing to do.
    Other,
}

impl GitPaths {
    /// Finds the git metadata of the worktree at `worktree`, on `branch`, against `base`.
    pub(super) fn find(worktree: &Path, branch: &str, base: &str) -> Option<GitPaths> {
        let repo = git2::Repository::open(worktree).ok()?;
        let git_dir = canonical(repo.path());
        let common = canonical(repo.commondir());
        let mut dirs: HashMap<PathBuf, HashSet<OsString>> = HashMap::new();
        let mut add = |dir: PathBuf, name: &str| {
            dirs.entry(dir).or_default().insert(OsString::from(name));
        };
        // The worktree's own git dir: its disappearance means the worktree is gone.
        add(git_dir.clone(), "HEAD");
        add(git_dir, "index");
        add(common.clone(), "packed-refs");
        let mut add_ref = |full: &str| {
            let path = common.join(full);
            if let (Some(dir), Some(name)) = (path.parent(), path.file_name())
                && dir.is_dir()
            {
                add(dir.to_path_buf(), &name.to_string_lossy());
            }
        };
        add_ref(&format!("refs/heads/{branch}"));
        for prefix in ["refs/heads/", "refs/remotes/", "refs/tags/"] {
            if repo.find_reference(&format!("{prefix}{base}")).is_ok() {
                add_ref(&format!("{prefix}{base}"));
                break;
            }
        }
        Some(GitPaths { dirs })
    }

    /// Classifies an event's path; `None` when it is not under a watched git dir.
    pub(super) fn classify(&self, path: &Path) -> Option<GitEvent> {
        if self.dirs.contains_key(path) {
            // The directory itself (deleted or moved): the worktree's metadata may be gone.
            return Some(GitEvent::Changed);
        }
        let names = self.dirs.get(path.parent()?)?;
        Some(match path.file_name() {
            Some(name) if names.contains(name) => GitEvent::Changed,
            _ => GitEvent::Other,
        })
    }
}

/// The path with symlinks resolved (inotify reports paths as they were watched; the worktree
/// and its git dir are compared by these), or as given when it cannot be resolved.
pub(super) fn canonical(path: &Path) -> PathBuf {
    let trimmed = path.components().collect::<PathBuf>();
    fs_err::canonicalize(&trimmed).unwrap_or(trimmed)
}
