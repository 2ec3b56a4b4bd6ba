//! A worktree's status as removal safety needs it: which tracked files have uncommitted changes
//! and which files are untracked (ignored ones do not count: they are build output and caches,
//! not work).

use std::path::Path;

use git2::{Repository, Status, StatusOptions};

use super::error::{GitError, ctx};

/// The files a worktree's status lists, each as a path relative to the worktree.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct FileChanges {
    /// Modified, staged, deleted, renamed, retyped or conflicted tracked files.
    pub(super) uncommitted: Vec<String>,
    /// Untracked (not ignored) files, listed file by file inside untracked folders.
    pub(super) untracked: Vec<String>,
}

/// Reads the status of the worktree `wt` (opened from `path`, which names it in errors).
pub(super) fn file_changes(wt: &Repository, path: &Path) -> Result<FileChanges, GitError> {
    let mut so = StatusOptions::new();
    so.include_untracked(true)
        .recurse_untracked_dirs(true)
        .include_ignored(false)
        .exclude_submodules(false);
    let statuses = wt
        .statuses(Some(&mut so))
        .map_err(ctx(format!("cannot read the status of {}", path.display())))?;
    let changed = Status::INDEX_NEW
        | Status::INDEX_MODIFIED
        | Status::INDEX_DELETED
        | Status::INDEX_RENAMED
        | Status::INDEX_TYPECHANGE
        | Status::WT_MODIFIED
        | Status::WT_DELETED
        | Status::WT_TYPECHANGE
        | Status::WT_RENAMED
        | Status::CONFLICTED;
    let mut changes = FileChanges::default();
    for entry in statuses.iter() {
        let name = String::from_utf8_lossy(entry.path_bytes()).into_owned();
        let status = entry.status();
        if status.intersects(changed) {
            changes.uncommitted.push(name);
        } else if status.contains(Status::WT_NEW) {
            changes.untracked.push(name);
        }
    }
    Ok(changes)
}
