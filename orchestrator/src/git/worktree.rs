//! A session's worktree from birth to removal: creating it (branch + locked worktree from the
//! resolved base), re-creating it on restore, and removing it (folder and this worktree's own
//! metadata, never a repo-wide prune) once [`super::removal`] says nothing would be lost.

use std::path::{Path, PathBuf};

use git2::{BranchType, ErrorCode, Repository, WorktreePruneOptions};

use super::add::{add_locked_worktree, relax_hash_verification};
use super::base::resolve_base;
use super::error::{GitError, ctx, io_ctx};
use super::paths::{locate_in_root, prepare_new_path, resolve};
use super::removal::check_removal;
use super::repo::{open_any, open_repo};

/// What [`create_worktree`] needs.
#[derive(Debug, Clone)]
pub struct NewWorktree<'a> {
    /// The main repository (its top folder).
    pub repo: &'a Path,
    /// Grove's worktree root: every worktree Grove manages lives strictly inside it.
    pub root: &'a Path,
    /// Where the worktree goes; must be strictly inside `root` and not exist yet.
    pub path: &'a Path,
    /// The session branch.
    pub branch: &'a str,
    /// Branch, remote branch, tag or commit to start from; `None` means the repo's current
    /// branch.
    pub base: Option<&'a str>,
    /// Check out `branch` as it is instead of creating it.
    pub use_existing_branch: bool,
    /// Recorded in the worktree's lock so `git worktree prune` explains why it is kept.
    pub lock_reason: &'a str,
}

/// The result of [`create_worktree`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedWorktree {
    /// Canonical path of the new worktree.
    pub path: PathBuf,
    /// The branch checked out in it.
    pub branch: String,
    /// The base as resolved: the branch, remote branch or tag name, or the full commit sha when
    /// the base was given as a commit.
    pub base: String,
    /// The commit the branch was created at (for an existing branch: the base's commit).
    pub base_commit: String,
    /// Non-fatal problems worth showing, e.g. a failed fetch.
    pub warnings: Vec<String>,
}

/// Creates a locked worktree for a session.
///
/// The base defaults to the repository's current branch. When the base is a local branch with an
/// upstream, the upstream is fetched first with the `git` CLI (30 s timeout; failure is only a
/// warning). If the local branch is then strictly behind its upstream, the worktree starts from
/// the upstream commit and a warning says so: the user asked for "main", and the freshest "main"
/// we know of is the upstream's; when local and upstream have diverged, the local branch wins
/// (it may hold the user's unpushed work) and a warning says that too. `base` keeps the name the
/// user chose either way.
///
/// The worktree is locked with `lock_reason`, so `git worktree prune` and `git gc` never reap it
/// even while its folder is temporarily unreachable.
///
/// Turns off libgit2's re-hashing of every object it reads, process-wide: `git` does not
/// re-hash on checkout either, and it costs ~20% of the checkout time.
pub fn create_worktree(opts: &NewWorktree) -> Result<CreatedWorktree, GitError> {
    relax_hash_verification();
    let repo = open_repo(opts.repo)?;
    // Cheap refusals first, before the (up to 30 s) fetch.
    let branch_exists = repo.find_branch(opts.branch, BranchType::Local).is_ok();
    if opts.use_existing_branch && !branch_exists {
        return Err(GitError::BranchMissing {
            branch: opts.branch.to_string(),
        });
    }
    if !opts.use_existing_branch {
        if branch_exists {
            return Err(GitError::BranchExists {
                branch: opts.branch.to_string(),
            });
        }
        if !git2::Branch::name_is_valid(opts.branch).map_err(ctx("cannot check branch name"))? {
            return Err(GitError::InvalidBranchName {
                branch: opts.branch.to_string(),
            });
        }
    }
    let target = prepare_new_path(opts.root, opts.path)?;

    let base = resolve_base(&repo, opts.repo, opts.base)?;
    // The fetch ran the CLI, which may have rewritten refs and packed-refs: reopen to be sure
    // libgit2 sees the same state.
    let repo = open_repo(opts.repo)?;

    let created = !opts.use_existing_branch;
    if created {
        let commit = repo
            .find_commit(base.commit)
            .map_err(ctx(format!("cannot read base commit {}", base.commit)))?;
        repo.branch(opts.branch, &commit, false).map_err(|e| {
            if e.code() == ErrorCode::Exists {
                // Created by someone else during the fetch.
                GitError::BranchExists {
                    branch: opts.branch.to_string(),
                }
            } else {
                ctx(format!("cannot create branch {}", opts.branch))(e)
            }
        })?;
    }

    let result = add_locked_worktree(&repo, &target, opts.branch, opts.lock_reason);
    if let Err(e) = result {
        if created {
            // Leave the repository as we found it: the branch only existed for this worktree.
            if let Ok(mut b) = repo.find_branch(opts.branch, BranchType::Local)
                && let Err(del) = b.delete()
            {
                tracing::warn!(branch = opts.branch, error = %del, "could not roll back branch");
            }
        }
        return Err(e);
    }
    Ok(CreatedWorktree {
        path: target,
        branch: opts.branch.to_string(),
        base: base.name,
        base_commit: base.commit.to_string(),
        warnings: base.warnings,
    })
}

/// Removes a session's worktree folder and its metadata, keeping the branch.
///
/// Unless `force`, refuses with [`GitError::Dirty`] when files would be lost, then with
/// [`GitError::Unpushed`] when commits would only survive on the branch. Always refuses paths
/// outside `root` and symlinks on the way. The folder is deleted without following symlinks
/// (a link inside the worktree to an outside folder leaves that folder untouched), then only this
/// worktree's own `.git/worktrees/<name>` entry is pruned: never a repo-wide prune. A folder that
/// is already gone is fine: its metadata is still cleaned.
pub fn remove_worktree(
    repo: &Path,
    root: &Path,
    path: &Path,
    branch: &str,
    force: bool,
) -> Result<(), GitError> {
    let main = open_any(repo)?;
    let (canon_root, rel) = locate_in_root(root, path)?;
    let target = canon_root.join(rel);
    let exists = fs_err::symlink_metadata(&target).is_ok();
    let registered = find_worktree(&main, &target)?;
    if registered.is_none() {
        if exists {
            return Err(GitError::NotAWorktree { path: target });
        }
        // Nothing on disk and nothing registered: already removed.
        return Ok(());
    }
    if !force {
        let check = check_removal(repo, &target, branch)?;
        if !check.uncommitted.is_empty() || !check.untracked.is_empty() {
            return Err(GitError::Dirty {
                path: target,
                uncommitted: check.uncommitted,
                untracked: check.untracked,
            });
        }
        if check.unpushed > 0 {
            return Err(GitError::Unpushed {
                branch: branch.to_string(),
                commits: check.unpushed,
            });
        }
    }
    if exists {
        // std's remove_dir_all never follows symlinks: it unlinks them.
        fs_err::remove_dir_all(&target)
            .map_err(io_ctx(format!("cannot delete {}", target.display())))?;
    }
    if let Some(wt) = registered {
        prune_one(&wt, &target)?;
    }
    Ok(())
}

/// Unlocks and prunes exactly this worktree's metadata (its folder is already gone).
fn prune_one(wt: &git2::Worktree, target: &Path) -> Result<(), GitError> {
    if !matches!(wt.is_locked(), Ok(git2::WorktreeLockStatus::Unlocked)) {
        wt.unlock()
            .map_err(ctx(format!("cannot unlock worktree {}", target.display())))?;
    }
    let mut prune = WorktreePruneOptions::new();
    prune.valid(true).locked(true).working_tree(false);
    wt.prune(Some(&mut prune)).map_err(ctx(format!(
        "cannot prune worktree metadata of {}",
        target.display()
    )))
}

/// Finds the registered worktree whose folder is `target`.
fn find_worktree(repo: &Repository, target: &Path) -> Result<Option<git2::Worktree>, GitError> {
    let want = resolve(target);
    let names = repo.worktrees().map_err(ctx("cannot list worktrees"))?;
    for name in names.iter().flatten().flatten() {
        let Ok(wt) = repo.find_worktree(name) else {
            continue;
        };
        if resolve(wt.path()) == want {
            return Ok(Some(wt));
        }
    }
    Ok(None)
}

/// Re-creates a removed worktree at `path` on the existing `branch`, locked with `lock_reason`.
/// Stale metadata left for the same path (folder deleted by hand) is pruned first. Like
/// [`create_worktree`], turns off libgit2's object re-hashing process-wide.
pub fn restore_worktree(
    repo: &Path,
    root: &Path,
    path: &Path,
    branch: &str,
    lock_reason: &str,
) -> Result<(), GitError> {
    relax_hash_verification();
    let main = open_repo(repo)?;
    main.find_branch(branch, BranchType::Local)
        .map_err(|_| GitError::BranchMissing {
            branch: branch.to_string(),
        })?;
    let target = prepare_new_path(root, path)?;
    if let Some(stale) = find_worktree(&main, &target)? {
        prune_one(&stale, &target)?;
    }
    add_locked_worktree(&main, &target, branch, lock_reason)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::git::add::SEED_PREFIX;
    use crate::git::testing::{Fixture, commit_file, git, write};
    use crate::git::{Drift, RemovalCheck, check_removal, drift, head_commit};

    #[test]
    fn create_worktree_from_current_branch_is_locked_and_survives_prune() {
        let f = Fixture::new();
        let head = git(&f.repo, &["rev-parse", "HEAD"]);
        let wt = f.create("s1", "grove/s1");
        assert_eq!(wt.branch, "grove/s1");
        assert_eq!(wt.base, "main");
        assert_eq!(wt.base_commit, head);
        assert!(wt.warnings.is_empty(), "{:?}", wt.warnings);
        assert_eq!(
            fs_err::read_to_string(wt.path.join("src/lib.rs")).unwrap(),
            "pub fn f() {}\n"
        );
        assert_eq!(git(&wt.path, &["status", "--porcelain"]), "");
        assert_eq!(
            git(&wt.path, &["symbolic-ref", "--short", "HEAD"]),
            "grove/s1"
        );
        assert_eq!(head_commit(&wt.path).unwrap(), head);
        assert_eq!(drift(&wt.path, "grove/s1"), Drift::None);

        let list = git(&f.repo, &["worktree", "list", "--porcelain"]);
        assert!(list.contains("locked grove session"), "{list}");
        // The seed branch used while adding must be gone.
        assert!(!git(&f.repo, &["branch", "--list"]).contains(SEED_PREFIX));
        git(&f.repo, &["worktree", "prune"]);
        assert!(git(&f.repo, &["worktree", "list"]).contains("[grove/s1]"));
        // Even with the folder unreachable, a locked worktree is not reaped.
        let moved = f.tmp.path().join("moved");
        fs_err::rename(&wt.path, &moved).unwrap();
        git(&f.repo, &["worktree", "prune"]);
        fs_err::rename(&moved, &wt.path).unwrap();
        assert!(git(&f.repo, &["worktree", "list"]).contains("[grove/s1]"));
        // The main checkout was not touched.
        assert_eq!(git(&f.repo, &["status", "--porcelain"]), "");
    }

    #[test]
    fn create_worktree_detached_head_needs_a_base() {
        let f = Fixture::new();
        git(&f.repo, &["checkout", "-q", "--detach"]);
        let path = f.wt_path("d");
        let err = create_worktree(&f.opts(&path, "grove/d")).unwrap_err();
        assert!(matches!(err, GitError::DetachedBase { .. }), "{err:?}");
        assert!(err.to_string().contains("pass a base branch/tag/commit"));
        assert!(git(&f.repo, &["branch", "--list", "grove/d"]).is_empty());
        let mut opts = f.opts(&path, "grove/d");
        opts.base = Some("main");
        assert_eq!(create_worktree(&opts).unwrap().base, "main");
    }

    #[test]
    fn create_worktree_branch_exists_and_use_existing_branch() {
        let f = Fixture::new();
        git(&f.repo, &["switch", "-q", "-c", "feature"]);
        let tip = commit_file(&f.repo, "feature.txt", "f\n");
        git(&f.repo, &["switch", "-q", "main"]);

        let path = f.wt_path("e");
        let err = create_worktree(&f.opts(&path, "feature")).unwrap_err();
        assert!(matches!(&err, GitError::BranchExists { branch } if branch == "feature"));
        assert!(
            err.to_string()
                .contains("already exists: choose another name")
        );
        assert!(
            fs_err::symlink_metadata(&path).is_err(),
            "nothing created on refusal"
        );

        let mut opts = f.opts(&path, "feature");
        opts.use_existing_branch = true;
        let wt = create_worktree(&opts).unwrap();
        assert!(wt.path.join("feature.txt").exists());
        assert_eq!(head_commit(&wt.path).unwrap(), tip);

        let path2 = f.wt_path("e2");
        let mut opts = f.opts(&path2, "nope");
        opts.use_existing_branch = true;
        assert!(matches!(
            create_worktree(&opts),
            Err(GitError::BranchMissing { .. })
        ));

        // main is checked out in the main checkout: git allows it in one place only.
        let mut opts = f.opts(&path2, "main");
        opts.use_existing_branch = true;
        let err = create_worktree(&opts).unwrap_err();
        assert!(matches!(err, GitError::BranchCheckedOut { .. }), "{err:?}");
        assert!(fs_err::symlink_metadata(&path2).is_err());

        let mut opts = f.opts(&path2, "bad..name");
        opts.base = Some("main");
        assert!(matches!(
            create_worktree(&opts),
            Err(GitError::InvalidBranchName { .. })
        ));
    }

    #[test]
    fn create_worktree_from_tag_sha_remote_branch_or_unknown() {
        let f = Fixture::new();
        let first = git(&f.repo, &["rev-list", "--max-parents=0", "HEAD"]);
        git(&f.repo, &["tag", "-a", "v1", "-m", "v1", &first]);
        commit_file(&f.repo, "later.txt", "later\n");

        let p = f.wt_path("tag");
        let mut opts = f.opts(&p, "grove/tag");
        opts.base = Some("v1");
        let wt = create_worktree(&opts).unwrap();
        assert_eq!(
            (wt.base.as_str(), wt.base_commit.as_str()),
            ("v1", first.as_str())
        );
        assert!(!wt.path.join("later.txt").exists());

        let p = f.wt_path("sha");
        let mut opts = f.opts(&p, "grove/sha");
        opts.base = Some(&first[..8]);
        let wt = create_worktree(&opts).unwrap();
        assert_eq!(wt.base, first);
        assert_eq!(head_commit(&wt.path).unwrap(), first);

        f.add_origin();
        let p = f.wt_path("remote");
        let mut opts = f.opts(&p, "grove/remote");
        opts.base = Some("origin/main");
        let wt = create_worktree(&opts).unwrap();
        assert_eq!(wt.base, "origin/main");
        assert!(wt.path.join("later.txt").exists());

        let p = f.wt_path("unknown");
        let mut opts = f.opts(&p, "grove/unknown");
        opts.base = Some("no-such-thing");
        let err = create_worktree(&opts).unwrap_err();
        assert!(
            matches!(&err, GitError::RefNotFound { reference } if reference == "no-such-thing")
        );
        assert!(git(&f.repo, &["branch", "--list", "grove/unknown"]).is_empty());
        assert!(fs_err::symlink_metadata(&p).is_err());
    }

    #[cfg(unix)]
    #[test]
    fn remove_refuses_a_symlinked_worktree_folder() {
        let f = Fixture::new();
        let wt = f.create("real", "grove/real");
        let elsewhere = f.tmp.path().join("elsewhere");
        fs_err::rename(&wt.path, &elsewhere).unwrap();
        std::os::unix::fs::symlink(&elsewhere, &wt.path).unwrap();
        let err = remove_worktree(&f.repo, &f.root, &wt.path, "grove/real", true).unwrap_err();
        assert!(matches!(err, GitError::SymlinkEscape { .. }), "{err:?}");
        assert!(elsewhere.join("README.md").exists());

        // A symlinked folder between the root and the worktree is refused too.
        fs_err::remove_file(&wt.path).unwrap();
        let parent = f.root.join("proj");
        let moved_parent = f.tmp.path().join("moved-parent");
        fs_err::rename(&parent, &moved_parent).unwrap();
        std::os::unix::fs::symlink(&moved_parent, &parent).unwrap();
        let err = remove_worktree(&f.repo, &f.root, &wt.path, "grove/real", true).unwrap_err();
        assert!(matches!(err, GitError::SymlinkEscape { .. }), "{err:?}");
    }

    #[test]
    fn remove_refuses_outside_root_and_non_worktrees() {
        let f = Fixture::new();
        let wt = f.create("x", "grove/x");
        let err = remove_worktree(&f.repo, &f.root, &f.repo, "main", true).unwrap_err();
        assert!(matches!(err, GitError::OutsideRoot { .. }), "{err:?}");
        let dotdot = f.root.join("..").join("proj");
        let err = remove_worktree(&f.repo, &f.root, &dotdot, "main", true).unwrap_err();
        assert!(matches!(err, GitError::OutsideRoot { .. }), "{err:?}");
        let stranger = f.wt_path("stranger");
        write(&stranger.join("file"), "mine\n");
        let err = remove_worktree(&f.repo, &f.root, &stranger, "main", true).unwrap_err();
        assert!(matches!(err, GitError::NotAWorktree { .. }), "{err:?}");
        assert!(stranger.join("file").exists());
        assert!(f.repo.join("README.md").exists() && wt.path.exists());
    }

    #[test]
    fn missing_worktree_drifts_and_remove_cleans_its_metadata() {
        let f = Fixture::new();
        let wt = f.create("gone", "grove/gone");
        fs_err::remove_dir_all(&wt.path).unwrap();
        assert_eq!(drift(&wt.path, "grove/gone"), Drift::Missing);
        assert!(f.repo.join(".git/worktrees/gone").exists());
        let check = check_removal(&f.repo, &wt.path, "grove/gone").unwrap();
        assert_eq!(check, RemovalCheck::default());
        remove_worktree(&f.repo, &f.root, &wt.path, "grove/gone", false).unwrap();
        assert!(!f.repo.join(".git/worktrees/gone").exists());
        assert!(!git(&f.repo, &["worktree", "list"]).contains("gone"));
        // Removing again is a no-op.
        remove_worktree(&f.repo, &f.root, &wt.path, "grove/gone", false).unwrap();
    }

    #[test]
    fn restore_recreates_the_worktree_on_its_branch() {
        let f = Fixture::new();
        let wt = f.create("restore", "grove/restore");
        let tip = commit_file(&wt.path, "work.txt", "work\n");
        remove_worktree(&f.repo, &f.root, &wt.path, "grove/restore", true).unwrap();
        assert!(!wt.path.exists());

        restore_worktree(&f.repo, &f.root, &wt.path, "grove/restore", "restored").unwrap();
        assert_eq!(
            fs_err::read_to_string(wt.path.join("work.txt")).unwrap(),
            "work\n"
        );
        assert_eq!(head_commit(&wt.path).unwrap(), tip);
        assert_eq!(drift(&wt.path, "grove/restore"), Drift::None);
        assert!(git(&f.repo, &["worktree", "list", "--porcelain"]).contains("locked restored"));

        // Folder deleted by hand: restore prunes the stale entry and re-creates it.
        fs_err::remove_dir_all(&wt.path).unwrap();
        restore_worktree(&f.repo, &f.root, &wt.path, "grove/restore", "again").unwrap();
        assert!(wt.path.join("work.txt").exists());

        let other = f.wt_path("other");
        let err = restore_worktree(&f.repo, &f.root, &other, "grove/none", "x").unwrap_err();
        assert!(matches!(err, GitError::BranchMissing { .. }), "{err:?}");
    }
}
