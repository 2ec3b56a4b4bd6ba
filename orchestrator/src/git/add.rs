//! Adding a locked worktree quickly: the worktree is added on a throwaway "seed" branch at a
//! fixed empty commit (nothing to check out), switched to its real branch, and filled by one
//! checkout of our own that skips content filters when they cannot change a file. Also the
//! clean-up of what a failed or crashed add left behind.

use std::path::{Path, PathBuf};

use git2::{BranchType, Oid, Repository, WorktreeAddOptions, build::CheckoutBuilder};

use super::error::{GitError, ctx};
use super::names::sanitize_name;
use super::repo::is_checked_out;

/// Prefix of the throwaway branches new worktrees are first added on (see
/// `add_locked_worktree`). Flat, so it cannot clash with a user branch folder.
pub(super) const SEED_PREFIX: &str = "grove-seed-";

/// Turns off libgit2's "strict hash verification" for the whole process, once.
///
/// libgit2 re-hashes (with collision-detecting SHA-1) every object it reads; on a 3,000-file
/// checkout that is ~20 ms of the ~90 ms total. `git` itself does not re-hash objects on
/// checkout (only `fsck` and transfers verify), so this matches the CLI's guarantees.
pub(super) fn relax_hash_verification() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| git2::opts::strict_hash_verification(false));
}

/// Adds the worktree at `target` on the existing local `branch`, locked with `lock_reason`.
///
/// Speed: libgit2's `git_worktree_add` checks out with options git2 does not let us set, and
/// that checkout looks up `.gitattributes` per file (two `realpath` calls each) and re-hashes
/// every blob; on a 3,000-file repo it took ~1.8x as long as `git worktree add`. So the worktree
/// is added on a throwaway "seed" branch pointing at an empty commit (nothing to check out), its
/// HEAD is then switched to `branch`, the seed branch deleted, and one forced `checkout_head` of
/// our own fills it, with filters disabled when no attributes or autocrlf could apply.
pub(super) fn add_locked_worktree(
    repo: &Repository,
    target: &Path,
    branch: &str,
    lock_reason: &str,
) -> Result<(), GitError> {
    if is_checked_out(repo, branch)? {
        return Err(GitError::BranchCheckedOut {
            branch: branch.to_string(),
        });
    }
    let raw_name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let base_name = sanitize_name(&raw_name).unwrap_or_else(|| "worktree".to_string());
    let admin = repo.commondir().join("worktrees");
    let mut name = base_name.clone();
    let mut n = 2;
    while fs_err::symlink_metadata(admin.join(&name)).is_ok() {
        name = format!("{base_name}-{n}");
        n += 1;
    }
    let context = || format!("cannot add worktree {}", target.display());
    let branch_commit = repo
        .find_branch(branch, BranchType::Local)
        .and_then(|b| b.get().peel_to_commit())
        .map_err(|_| GitError::BranchMissing {
            branch: branch.to_string(),
        })?;
    let seed = seed_commit(repo).map_err(ctx(context()))?;
    delete_stale_seed_branches(repo, seed.id());
    let mut seed_name = format!("{SEED_PREFIX}{name}");
    let mut n = 2;
    while repo.find_branch(&seed_name, BranchType::Local).is_ok() {
        seed_name = format!("{SEED_PREFIX}{name}-{n}");
        n += 1;
    }
    let seed_ref = repo
        .branch(&seed_name, &seed, false)
        .map_err(ctx(context()))?
        .into_reference();

    let mut add = WorktreeAddOptions::new();
    // Locked from the first moment, so a concurrent prune cannot reap it half-made.
    add.lock(true).reference(Some(&seed_ref));
    let added = repo.worktree(&name, target, Some(&add)).and_then(|wt| {
        let wt_repo = Repository::open_from_worktree(&wt)?;
        wt_repo.set_head(&format!("refs/heads/{branch}"))?;
        Ok((wt, wt_repo))
    });
    // The seed branch has served its purpose whether or not the add worked.
    if let Ok(mut b) = repo.find_branch(&seed_name, BranchType::Local)
        && let Err(e) = b.delete()
    {
        tracing::warn!(branch = seed_name, error = %e, "could not delete seed branch");
    }
    let filled = added.and_then(|(wt, wt_repo)| {
        let mut checkout = CheckoutBuilder::new();
        checkout.force();
        if !filters_may_apply(repo, &branch_commit) {
            checkout.disable_filters(true);
        }
        wt_repo.checkout_head(Some(&mut checkout))?;
        // libgit2's add can only lock without a reason: relock with ours.
        wt.unlock()?;
        wt.lock((!lock_reason.is_empty()).then_some(lock_reason))
    });
    if let Err(e) = filled {
        cleanup_failed_add(repo, &name, target);
        return Err(ctx(context())(e));
    }
    Ok(())
}

/// The commit new worktrees are first added on: empty tree, fixed author and date, so it is the
/// same object every time (written once, and never on any branch for more than a moment).
fn seed_commit(repo: &Repository) -> Result<git2::Commit<'_>, git2::Error> {
    let tree = repo.treebuilder(None)?.write()?;
    let tree = repo.find_tree(tree)?;
    let sig = git2::Signature::new("Grove", "grove@localhost", &git2::Time::new(0, 0))?;
    let oid = repo.commit(
        None,
        &sig,
        &sig,
        "Grove worktree seed: an empty commit used while adding a worktree\n",
        &tree,
        &[],
    )?;
    repo.find_commit(oid)
}

/// Whether a checkout of `commit` could come out different with filters than without.
///
/// On checkout, filters only ever convert LF to CRLF (with `core.autocrlf=true`,
/// `core.eol=crlf` or an `eol=crlf` attribute) or expand `ident`; libgit2 runs no external
/// filter drivers (e.g. LFS) either way. So filters can be skipped, which saves libgit2's
/// per-file attribute lookups, when the config asks for no CRLF and no attributes file mentions
/// `eol`, `crlf` or `ident`. Anything unreadable or unexpected counts as "may apply".
fn filters_may_apply(repo: &Repository, commit: &git2::Commit<'_>) -> bool {
    if cfg!(windows) {
        // Native line endings are CRLF there.
        return true;
    }
    let Ok(config) = repo.config().and_then(|mut c| c.snapshot()) else {
        return true;
    };
    let autocrlf = config
        .get_str("core.autocrlf")
        .unwrap_or("false")
        .to_ascii_lowercase();
    if matches!(autocrlf.as_str(), "true" | "yes" | "on" | "1") {
        return true;
    }
    if config
        .get_str("core.eol")
        .is_ok_and(|eol| eol.eq_ignore_ascii_case("crlf"))
    {
        return true;
    }
    let mentions = |text: &[u8]| {
        [&b"eol"[..], b"crlf", b"ident"]
            .iter()
            .any(|word| text.windows(word.len()).any(|w| w == *word))
    };

    let mut files = vec![
        repo.commondir().join("info").join("attributes"),
        PathBuf::from("/etc/gitattributes"),
    ];
    if let Ok(path) = config.get_path("core.attributesFile") {
        files.push(path);
    }
    if let Some(xdg) = std::env::var_os("XDG_CONFIG_HOME").filter(|v| !v.is_empty()) {
        files.push(PathBuf::from(xdg).join("git").join("attributes"));
    } else if let Some(home) = std::env::var_os("HOME") {
        files.push(
            PathBuf::from(home)
                .join(".config")
                .join("git")
                .join("attributes"),
        );
    }
    if let Ok(system) = git2::Config::find_system()
        && let Some(dir) = system.parent()
    {
        files.push(dir.join("gitattributes"));
    }
    for file in &files {
        match fs_err::read(file) {
            Ok(bytes) if mentions(&bytes) => return true,
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(_) => return true,
        }
    }

    let Ok(tree) = commit.tree() else {
        return true;
    };
    let mut blobs = Vec::new();
    let walked = tree.walk(git2::TreeWalkMode::PreOrder, |_, entry| {
        if entry.name_bytes() == b".gitattributes" {
            blobs.push(entry.id());
        }
        git2::TreeWalkResult::Ok
    });
    if walked.is_err() {
        return true;
    }
    blobs.iter().any(|id| {
        repo.find_blob(*id)
            .map(|blob| mentions(blob.content()))
            .unwrap_or(true)
    })
}

/// Removes what a failed `git_worktree_add` may have left: its metadata folder and its (new,
/// so Grove-owned) working folder.
fn cleanup_failed_add(repo: &Repository, name: &str, target: &Path) {
    let admin = repo.commondir().join("worktrees").join(name);
    // Only delete what is provably ours: a worktree folder whose `.git` file points at our
    // metadata folder (or that is still empty), and a metadata folder pointing back at it. A
    // folder someone else created in the meantime is left alone.
    let target_is_ours = fs_err::read_to_string(target.join(".git"))
        .map(|text| text.contains(&*admin.to_string_lossy()))
        .unwrap_or_else(|_| {
            fs_err::read_dir(target)
                .map(|mut d| d.next().is_none())
                .unwrap_or(false)
        });
    let admin_is_ours = fs_err::read_to_string(admin.join("gitdir"))
        .map(|text| Path::new(text.trim()).parent() == Some(target))
        .unwrap_or(true);
    for (dir, ours) in [(admin.as_path(), admin_is_ours), (target, target_is_ours)] {
        if ours
            && fs_err::symlink_metadata(dir).is_ok()
            && let Err(e) = fs_err::remove_dir_all(dir)
        {
            tracing::warn!(path = %dir.display(), error = %e, "cleanup after failed add");
        }
    }
}

/// Deletes seed branches a crash left behind (still on the seed commit and checked out
/// nowhere), so they do not pile up in the user's branch list.
fn delete_stale_seed_branches(repo: &Repository, seed: Oid) {
    let Ok(branches) = repo.branches(Some(BranchType::Local)) else {
        return;
    };
    for (mut branch, _) in branches.flatten() {
        let stale = matches!(branch.name(), Ok(Some(n)) if n.starts_with(SEED_PREFIX))
            && branch.get().target() == Some(seed)
            && !branch.is_head();
        let name = branch.name().ok().flatten().unwrap_or_default().to_string();
        if stale
            && !is_checked_out(repo, &name).unwrap_or(true)
            && let Err(e) = branch.delete()
        {
            tracing::warn!(branch = name, error = %e, "could not delete stale seed branch");
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::git::testing::{Fixture, commit_file, git, write};
    use crate::git::{create_worktree, remove_worktree};

    #[test]
    fn stale_seed_branches_from_a_crash_are_cleaned_up() {
        let f = Fixture::new();
        let repo = Repository::open(&f.repo).unwrap();
        let seed = seed_commit(&repo).unwrap();
        repo.branch(&format!("{SEED_PREFIX}crashed"), &seed, false)
            .unwrap();
        f.create("after", "grove/after");
        let branches = git(&f.repo, &["branch", "--list"]);
        assert!(!branches.contains(SEED_PREFIX), "{branches}");
    }

    #[test]
    fn filters_are_skipped_only_when_they_cannot_change_files() {
        let f = Fixture::new();
        let repo = Repository::open(&f.repo).unwrap();
        let head = || repo.head().unwrap().peel_to_commit().unwrap();
        // The user's own global attributes or autocrlf may already require filters.
        let machine = filters_may_apply(&repo, &head());
        commit_file(
            &f.repo,
            "docs/.gitattributes",
            "* text=auto\n*.md linguist-documentation\n",
        );
        assert_eq!(filters_may_apply(&repo, &head()), machine);
        commit_file(&f.repo, "src/.gitattributes", "*.rs ident\n");
        assert!(filters_may_apply(&repo, &head()));
        git(&f.repo, &["rm", "-q", "src/.gitattributes"]);
        git(&f.repo, &["commit", "-qm", "rm"]);
        assert_eq!(filters_may_apply(&repo, &head()), machine);
        git(&f.repo, &["config", "core.autocrlf", "true"]);
        assert!(filters_may_apply(&repo, &head()));
        git(&f.repo, &["config", "core.autocrlf", "input"]);
        assert_eq!(filters_may_apply(&repo, &head()), machine);
        write(&f.repo.join(".git/info/attributes"), "*.txt eol=crlf\n");
        assert!(filters_may_apply(&repo, &head()));
    }

    #[test]
    fn create_worktree_keeps_line_ending_filters_when_attributes_exist() {
        let f = Fixture::new();
        commit_file(&f.repo, ".gitattributes", "*.txt text eol=crlf\n");
        commit_file(&f.repo, "a.txt", "one\ntwo\n");
        let wt = f.create("crlf", "grove/crlf");
        assert_eq!(
            fs_err::read(wt.path.join("a.txt")).unwrap(),
            b"one\r\ntwo\r\n"
        );
        assert_eq!(git(&wt.path, &["status", "--porcelain"]), "");
    }

    #[test]
    fn same_folder_name_twice_gets_unique_metadata_names() {
        let f = Fixture::new();
        let a = f.root.join("a").join("same");
        let b = f.root.join("b").join("same");
        create_worktree(&f.opts(&a, "grove/a")).unwrap();
        create_worktree(&f.opts(&b, "grove/b")).unwrap();
        let admin = f.repo.join(".git/worktrees");
        assert!(admin.join("same").is_dir() && admin.join("same-2").is_dir());
        remove_worktree(&f.repo, &f.root, &b, "grove/b", false).unwrap();
        assert!(admin.join("same").is_dir() && !admin.join("same-2").exists());
        assert!(a.join("README.md").exists());
    }
}
