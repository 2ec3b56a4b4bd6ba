//! Removal safety: what removing a worktree or deleting a branch would lose. Uncommitted and
//! untracked files (from [`super::status`]), commits that no other branch, remote-tracking
//! branch or tag holds, and whether a branch is merged into its base.

use std::collections::HashSet;
use std::path::Path;

use git2::{BranchType, Oid, Repository};

use super::error::{GitError, ctx};
use super::repo::{is_checked_out, open_any};
use super::status::file_changes;

/// What removing a worktree would lose.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RemovalCheck {
    /// Modified, staged, deleted or conflicted tracked files.
    pub uncommitted: Vec<String>,
    /// Untracked files (not ignored ones), listed file by file inside untracked folders.
    pub untracked: Vec<String>,
    /// Commits reachable from the branch (or the worktree's HEAD) and from no other local
    /// branch, remote-tracking branch or tag.
    pub unpushed: usize,
}

/// Lists what removing the worktree at `path` (on `branch`) would destroy. A worktree folder
/// that is already gone has no files to lose; its branch's commits are still counted. A branch
/// that no longer exists counts as having nothing unpushed.
pub fn check_removal(repo: &Path, path: &Path, branch: &str) -> Result<RemovalCheck, GitError> {
    let main = open_any(repo)?;
    let mut check = RemovalCheck::default();
    let mut tips = Vec::new();
    if let Ok(branch_ref) = main.find_branch(branch, BranchType::Local)
        && let Ok(c) = branch_ref.get().peel_to_commit()
    {
        tips.push(c.id());
    }
    if fs_err::symlink_metadata(path).is_ok() {
        let wt = open_any(path)?;
        let changes = file_changes(&wt, path)?;
        check.uncommitted = changes.uncommitted;
        check.untracked = changes.untracked;
        // Commits made on a detached HEAD (or another branch) in the worktree are lost too.
        if let Ok(head) = wt.head()
            && let Ok(c) = head.peel_to_commit()
        {
            tips.push(c.id());
        }
    }
    check.unpushed = count_unpushed(&main, branch, &tips)?;
    Ok(check)
}

/// Counts commits reachable from `tips` but from no local branch other than `branch`, no
/// remote-tracking branch and no tag.
pub(super) fn count_unpushed(
    repo: &Repository,
    branch: &str,
    tips: &[Oid],
) -> Result<usize, GitError> {
    if tips.is_empty() {
        return Ok(0);
    }
    let own = format!("refs/heads/{branch}");
    let context = || format!("cannot walk the history of {branch}");
    let mut walk = repo.revwalk().map_err(ctx(context()))?;
    let mut pushed = HashSet::new();
    for tip in tips {
        if pushed.insert(*tip) {
            walk.push(*tip).map_err(ctx(context()))?;
        }
    }
    let refs = repo.references().map_err(ctx(context()))?;
    for r in refs.flatten() {
        let Ok(name) = r.name() else { continue };
        let counts = name.starts_with("refs/heads/")
            || name.starts_with("refs/remotes/")
            || name.starts_with("refs/tags/");
        if !counts || name == own || r.symbolic_target().ok().flatten().is_some() {
            continue;
        }
        // Tags may point at trees or blobs: only commits hide history.
        if let Ok(c) = r.peel_to_commit() {
            walk.hide(c.id()).map_err(ctx(context()))?;
        }
    }
    let mut n = 0;
    for oid in walk {
        oid.map_err(ctx(context()))?;
        n += 1;
    }
    Ok(n)
}

/// Whether local `branch` is merged into `base` (a branch, remote branch, tag or commit): its tip
/// is `base`'s tip or an ancestor of it. [`GitError::BranchMissing`] /
/// [`GitError::RefNotFound`] when either is gone.
pub fn branch_merged(repo: &Path, branch: &str, base: &str) -> Result<bool, GitError> {
    let r = open_any(repo)?;
    merged_in(&r, branch, base)
}

fn merged_in(r: &Repository, branch: &str, base: &str) -> Result<bool, GitError> {
    let tip = r
        .find_branch(branch, BranchType::Local)
        .map_err(|_| GitError::BranchMissing {
            branch: branch.to_string(),
        })?
        .get()
        .peel_to_commit()
        .map_err(ctx(format!("cannot read branch {branch}")))?
        .id();
    let base_tip = ["refs/heads/", "refs/remotes/", "refs/tags/"]
        .iter()
        .find_map(|p| {
            r.find_reference(&format!("{p}{base}"))
                .ok()?
                .peel_to_commit()
                .ok()
        })
        .or_else(|| r.revparse_single(base).ok()?.peel_to_commit().ok())
        .ok_or_else(|| GitError::RefNotFound {
            reference: base.to_string(),
        })?
        .id();
    Ok(tip == base_tip
        || r.graph_descendant_of(base_tip, tip)
            .map_err(ctx(format!("cannot compare {branch} with {base}")))?)
}

/// Deletes the local `branch` if it is merged into `base` (see [`branch_merged`]); otherwise
/// [`GitError::NotMerged`] unless `force`. A branch checked out in any worktree is refused.
pub fn delete_branch(repo: &Path, branch: &str, base: &str, force: bool) -> Result<(), GitError> {
    let r = open_any(repo)?;
    let mut b = r
        .find_branch(branch, BranchType::Local)
        .map_err(|_| GitError::BranchMissing {
            branch: branch.to_string(),
        })?;
    if !force && !merged_in(&r, branch, base)? {
        return Err(GitError::NotMerged {
            branch: branch.to_string(),
            base: base.to_string(),
        });
    }
    if is_checked_out(&r, branch)? {
        return Err(GitError::BranchCheckedOut {
            branch: branch.to_string(),
        });
    }
    b.delete()
        .map_err(ctx(format!("cannot delete branch {branch}")))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::git::remove_worktree;
    use crate::git::testing::{Fixture, commit_file, git, write};

    #[test]
    fn remove_refuses_uncommitted_changes_then_force_removes() {
        let f = Fixture::new();
        let wt = f.create("dirty", "grove/dirty");
        write(&wt.path.join("README.md"), "changed\n");
        write(&wt.path.join("src/new.rs"), "staged\n");
        git(&wt.path, &["add", "src/new.rs"]);
        fs_err::remove_file(wt.path.join("src/lib.rs")).unwrap();
        let check = check_removal(&f.repo, &wt.path, "grove/dirty").unwrap();
        assert_eq!(check.uncommitted, ["README.md", "src/lib.rs", "src/new.rs"]);
        assert!(check.untracked.is_empty());

        let err = remove_worktree(&f.repo, &f.root, &wt.path, "grove/dirty", false).unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, GitError::Dirty { .. }), "{err:?}");
        assert!(msg.starts_with("3 uncommitted files in "), "{msg}");
        assert!(
            msg.ends_with("(README.md, src/lib.rs, src/new.rs); commit or stash them, or force")
        );
        assert!(wt.path.join("README.md").exists());

        remove_worktree(&f.repo, &f.root, &wt.path, "grove/dirty", true).unwrap();
        assert!(!wt.path.exists());
        assert!(!git(&f.repo, &["worktree", "list"]).contains("dirty"));
        // The branch is kept.
        assert!(!git(&f.repo, &["branch", "--list", "grove/dirty"]).is_empty());
    }

    #[test]
    fn remove_refuses_untracked_files_but_not_ignored_ones() {
        let f = Fixture::new();
        commit_file(&f.repo, ".gitignore", "target/\n");
        let wt = f.create("untracked", "grove/untracked");
        write(&wt.path.join("target/debug/big"), "ignored\n");
        let check = check_removal(&f.repo, &wt.path, "grove/untracked").unwrap();
        assert_eq!(check, RemovalCheck::default());

        write(&wt.path.join("notes/a/b.txt"), "x\n");
        write(&wt.path.join("notes/c.txt"), "y\n");
        let check = check_removal(&f.repo, &wt.path, "grove/untracked").unwrap();
        assert_eq!(check.untracked, ["notes/a/b.txt", "notes/c.txt"]);
        let err =
            remove_worktree(&f.repo, &f.root, &wt.path, "grove/untracked", false).unwrap_err();
        assert!(
            err.to_string().starts_with("2 untracked files in "),
            "{err}"
        );

        write(&wt.path.join("README.md"), "changed\n");
        let err =
            remove_worktree(&f.repo, &f.root, &wt.path, "grove/untracked", false).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("1 uncommitted file and 2 untracked files in ")
        );
    }

    #[test]
    fn remove_refuses_unpushed_commits_until_pushed() {
        let f = Fixture::new();
        f.add_origin();
        let wt = f.create("unpushed", "grove/unpushed");
        commit_file(&wt.path, "work.txt", "1\n");
        commit_file(&wt.path, "work2.txt", "2\n");
        let check = check_removal(&f.repo, &wt.path, "grove/unpushed").unwrap();
        assert_eq!(check.unpushed, 2);
        let err = remove_worktree(&f.repo, &f.root, &wt.path, "grove/unpushed", false).unwrap_err();
        assert!(
            matches!(err, GitError::Unpushed { commits: 2, .. }),
            "{err:?}"
        );
        assert_eq!(
            err.to_string(),
            "2 commits on grove/unpushed exist on no other branch or remote; \
             push or merge them, or force"
        );
        // Dirty is reported before unpushed.
        write(&wt.path.join("scratch.txt"), "x\n");
        let err = remove_worktree(&f.repo, &f.root, &wt.path, "grove/unpushed", false).unwrap_err();
        assert!(matches!(err, GitError::Dirty { .. }), "{err:?}");
        fs_err::remove_file(wt.path.join("scratch.txt")).unwrap();

        git(&wt.path, &["push", "-q", "origin", "grove/unpushed"]);
        assert_eq!(
            check_removal(&f.repo, &wt.path, "grove/unpushed")
                .unwrap()
                .unpushed,
            0
        );
        remove_worktree(&f.repo, &f.root, &wt.path, "grove/unpushed", false).unwrap();
        assert!(!wt.path.exists());
    }

    #[test]
    fn remove_allowed_after_merge_into_main_and_commits_on_detached_head_count() {
        let f = Fixture::new();
        let wt = f.create("merged", "grove/merged");
        commit_file(&wt.path, "work.txt", "1\n");
        assert_eq!(
            check_removal(&f.repo, &wt.path, "grove/merged")
                .unwrap()
                .unpushed,
            1
        );
        git(&f.repo, &["merge", "-q", "--ff-only", "grove/merged"]);
        assert_eq!(
            check_removal(&f.repo, &wt.path, "grove/merged")
                .unwrap()
                .unpushed,
            0
        );

        // Work committed on a detached HEAD in the worktree would be lost too.
        git(&wt.path, &["checkout", "-q", "--detach"]);
        commit_file(&wt.path, "detached.txt", "1\n");
        assert_eq!(
            check_removal(&f.repo, &wt.path, "grove/merged")
                .unwrap()
                .unpushed,
            1
        );
        let err = remove_worktree(&f.repo, &f.root, &wt.path, "grove/merged", false).unwrap_err();
        assert!(matches!(err, GitError::Unpushed { .. }), "{err:?}");
        git(&wt.path, &["switch", "-q", "grove/merged"]);
        remove_worktree(&f.repo, &f.root, &wt.path, "grove/merged", false).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn remove_does_not_follow_symlinks_inside_the_worktree() {
        let f = Fixture::new();
        let outside = f.tmp.path().join("precious");
        write(&outside.join("keep.txt"), "keep\n");
        let wt = f.create("links", "grove/links");
        std::os::unix::fs::symlink(&outside, wt.path.join("link-to-precious")).unwrap();
        std::os::unix::fs::symlink(outside.join("keep.txt"), wt.path.join("file-link")).unwrap();
        let check = check_removal(&f.repo, &wt.path, "grove/links").unwrap();
        assert_eq!(check.untracked, ["file-link", "link-to-precious"]);
        remove_worktree(&f.repo, &f.root, &wt.path, "grove/links", true).unwrap();
        assert!(!wt.path.exists());
        assert_eq!(
            fs_err::read_to_string(outside.join("keep.txt")).unwrap(),
            "keep\n"
        );
    }

    #[test]
    fn delete_branch_only_when_merged_unless_forced() {
        let f = Fixture::new();
        let wt = f.create("del", "grove/del");
        commit_file(&wt.path, "work.txt", "work\n");
        let err = delete_branch(&f.repo, "grove/del", "main", false).unwrap_err();
        assert!(matches!(
            err,
            GitError::BranchCheckedOut { .. } | GitError::NotMerged { .. }
        ));
        remove_worktree(&f.repo, &f.root, &wt.path, "grove/del", true).unwrap();
        assert!(!branch_merged(&f.repo, "grove/del", "main").unwrap());
        let err = delete_branch(&f.repo, "grove/del", "main", false).unwrap_err();
        assert!(matches!(err, GitError::NotMerged { .. }), "{err:?}");
        assert_eq!(
            err.to_string(),
            "branch grove/del is not merged into main: merge it first, or force"
        );
        git(
            &f.repo,
            &["merge", "-q", "--no-ff", "-m", "merge", "grove/del"],
        );
        delete_branch(&f.repo, "grove/del", "main", false).unwrap();
        assert!(git(&f.repo, &["branch", "--list", "grove/del"]).is_empty());

        git(&f.repo, &["branch", "unmerged"]);
        git(&f.repo, &["switch", "-q", "unmerged"]);
        commit_file(&f.repo, "u.txt", "u\n");
        git(&f.repo, &["switch", "-q", "main"]);
        assert!(matches!(
            delete_branch(&f.repo, "unmerged", "main", false),
            Err(GitError::NotMerged { .. })
        ));
        delete_branch(&f.repo, "unmerged", "main", true).unwrap();
        assert!(matches!(
            delete_branch(&f.repo, "unmerged", "main", true),
            Err(GitError::BranchMissing { .. })
        ));
        assert!(matches!(
            delete_branch(&f.repo, "main", "main", true),
            Err(GitError::BranchCheckedOut { .. })
        ));
    }
}
