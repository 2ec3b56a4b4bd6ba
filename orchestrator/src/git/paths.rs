//! The one path-containment rule: Grove only creates or deletes worktrees strictly inside its
//! worktree root, reached without `..` and without a symlink anywhere between the root and the
//! worktree (inclusive). A path is compared after resolving it as far as it exists, so a
//! worktree whose folder is gone (or a root reached through a symlinked `/tmp`) still matches.

use std::path::{Component, Path, PathBuf};

use super::error::{GitError, io_ctx};

/// The rule: checks that `path` is strictly inside `root` without `..` or symlinks on the way,
/// and returns the canonical root and the path relative to it. Every worktree path Grove
/// creates or deletes passes through here.
pub(super) fn locate_in_root(root: &Path, path: &Path) -> Result<(PathBuf, PathBuf), GitError> {
    let outside = || GitError::OutsideRoot {
        path: path.to_path_buf(),
        root: root.to_path_buf(),
    };
    if path.components().any(|c| matches!(c, Component::ParentDir)) {
        return Err(outside());
    }
    let canon_root = fs_err::canonicalize(root).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            GitError::PathMissing {
                path: root.to_path_buf(),
            }
        } else {
            io_ctx(format!("cannot resolve {}", root.display()))(e)
        }
    })?;
    let rel = match path
        .strip_prefix(root)
        .or_else(|_| path.strip_prefix(&canon_root))
    {
        Ok(rel) => rel.to_path_buf(),
        // The path may reach the root through another spelling (e.g. a symlinked /tmp).
        Err(_) => resolve(path)
            .strip_prefix(&canon_root)
            .map_err(|_| outside())?
            .to_path_buf(),
    };
    if rel.as_os_str().is_empty() || !rel.components().all(|c| matches!(c, Component::Normal(_))) {
        return Err(outside());
    }
    // Refuse symlinks between the root and the path (inclusive): deleting or creating through
    // one could act on a folder outside the root.
    let mut cur = canon_root.clone();
    for comp in rel.components() {
        cur.push(comp);
        match fs_err::symlink_metadata(&cur) {
            Ok(meta) if meta.file_type().is_symlink() => {
                return Err(GitError::SymlinkEscape { path: cur });
            }
            Ok(_) => {}
            Err(_) => break,
        }
    }
    Ok((canon_root, rel))
}

/// Validates a new worktree location by [`locate_in_root`], creates its parent folders and
/// returns its final path.
pub(super) fn prepare_new_path(root: &Path, path: &Path) -> Result<PathBuf, GitError> {
    fs_err::create_dir_all(root).map_err(io_ctx(format!("cannot create {}", root.display())))?;
    let (canon_root, rel) = locate_in_root(root, path)?;
    let target = canon_root.join(&rel);
    if fs_err::symlink_metadata(&target).is_ok() {
        return Err(GitError::WorktreePathExists { path: target });
    }
    let parent = target.parent().unwrap_or(&canon_root);
    // The folders above a worktree are Grove's, so the user's alone (the worktree's own files
    // keep the user's umask).
    crate::data_dir::create_private_dir_all(parent)
        .map_err(io_ctx(format!("cannot create {}", parent.display())))?;
    // Re-check after creating: a symlink could have appeared between the check and the mkdir.
    let canon_parent = fs_err::canonicalize(parent)
        .map_err(io_ctx(format!("cannot resolve {}", parent.display())))?;
    if !canon_parent.starts_with(&canon_root) {
        return Err(GitError::OutsideRoot {
            path: path.to_path_buf(),
            root: root.to_path_buf(),
        });
    }
    Ok(target)
}

/// Resolves `p` as far as it exists: its deepest ancestor that resolves is canonicalized and
/// the rest appended. So a missing worktree folder still compares equal to its recorded path,
/// and a path spelled through a symlinked ancestor (a symlinked /tmp) is seen inside the root.
pub(super) fn resolve(p: &Path) -> PathBuf {
    if let Ok(c) = fs_err::canonicalize(p) {
        return c;
    }
    match (p.parent(), p.file_name()) {
        (Some(parent), Some(name)) => resolve(parent).join(name),
        _ => p.to_path_buf(),
    }
}

// Symlinked roots: unix only.
#[cfg(all(test, unix))]
#[allow(clippy::unwrap_used)]
mod tests {
    use crate::git::testing::{Fixture, git};
    use crate::git::{GitError, create_worktree};

    #[test]
    fn create_worktree_refuses_paths_outside_root() {
        let f = Fixture::new();
        let outside = f.tmp.path().join("elsewhere");
        let err = create_worktree(&f.opts(&outside, "grove/o")).unwrap_err();
        assert!(matches!(err, GitError::OutsideRoot { .. }), "{err:?}");
        assert!(!outside.exists());

        let sneaky = f.root.join("proj").join("..").join("..").join("escape");
        let err = create_worktree(&f.opts(&sneaky, "grove/o")).unwrap_err();
        assert!(matches!(err, GitError::OutsideRoot { .. }), "{err:?}");
        assert!(!f.tmp.path().join("escape").exists());

        let err = create_worktree(&f.opts(&f.root, "grove/o")).unwrap_err();
        assert!(matches!(err, GitError::OutsideRoot { .. }), "{err:?}");

        // A symlinked folder inside the root could lead anywhere.
        fs_err::create_dir_all(&outside).unwrap();
        std::os::unix::fs::symlink(&outside, f.root.join("link")).unwrap();
        let via_link = f.root.join("link").join("wt");
        let err = create_worktree(&f.opts(&via_link, "grove/o")).unwrap_err();
        assert!(matches!(err, GitError::SymlinkEscape { .. }), "{err:?}");
        assert!(!outside.join("wt").exists());

        let taken = f.wt_path("taken");
        fs_err::create_dir_all(&taken).unwrap();
        let err = create_worktree(&f.opts(&taken, "grove/o")).unwrap_err();
        assert!(
            matches!(err, GitError::WorktreePathExists { .. }),
            "{err:?}"
        );
        assert!(git(&f.repo, &["branch", "--list", "grove/o"]).is_empty());
    }
}
