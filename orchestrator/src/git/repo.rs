//! Inspecting a repository and its branches: opening exactly the folder the user picked,
//! refusing missing, bare and empty repositories, listing branches, and reading HEAD.

use std::path::{Path, PathBuf};

use git2::{BranchType, ErrorCode, Repository};

use super::error::{GitError, ctx, io_ctx};

/// What Grove needs to know about a repository the user picked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoInfo {
    /// Canonical path of the repository's working directory.
    pub root: PathBuf,
    /// The working directory's folder name, used as the repo's display name.
    pub name: String,
    /// The branch HEAD is on, or `None` if HEAD is detached.
    pub head_branch: Option<String>,
}

/// Checks that `path` is the top folder of a non-bare git repository with at least one commit.
///
/// Uses `Repository::open`, not discovery: a subfolder of a repository is refused as
/// [`GitError::NotARepo`] so Grove never silently adopts a parent repository.
pub fn inspect_repo(path: &Path) -> Result<RepoInfo, GitError> {
    let repo = open_repo(path)?;
    let workdir = repo.workdir().ok_or_else(|| GitError::Bare {
        path: path.to_path_buf(),
    })?;
    let root = fs_err::canonicalize(workdir)
        .map_err(io_ctx(format!("cannot resolve {}", workdir.display())))?;
    let name = root
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| root.display().to_string());
    Ok(RepoInfo {
        head_branch: head_branch(&repo, path)?,
        root,
        name,
    })
}

/// Opens the repository at exactly `path`, refusing missing paths, non-repositories, bare and
/// empty repositories.
pub(super) fn open_repo(path: &Path) -> Result<Repository, GitError> {
    let repo = open_any(path)?;
    if repo.is_bare() {
        return Err(GitError::Bare {
            path: path.to_path_buf(),
        });
    }
    // Not `Repository::is_empty`: it compares HEAD with libgit2's idea of the default branch
    // name, which differs from git's `init.defaultBranch`. No commit = unborn HEAD and no refs.
    let unborn = matches!(repo.head(), Err(e) if e.code() == ErrorCode::UnbornBranch);
    let no_refs = || {
        repo.references()
            .map(|mut refs| refs.next().is_none())
            .unwrap_or(false)
    };
    if unborn && no_refs() {
        return Err(GitError::Empty {
            path: path.to_path_buf(),
        });
    }
    Ok(repo)
}

/// Opens the repository (or worktree) at exactly `path`, mapping "no repo here" errors.
pub(super) fn open_any(path: &Path) -> Result<Repository, GitError> {
    match fs_err::symlink_metadata(path) {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(GitError::PathMissing {
                path: path.to_path_buf(),
            });
        }
        Err(e) => return Err(io_ctx(format!("cannot read {}", path.display()))(e)),
    }
    Repository::open(path).map_err(|e| {
        if e.code() == ErrorCode::NotFound {
            GitError::NotARepo {
                path: path.to_path_buf(),
            }
        } else {
            ctx(format!("cannot open the repository at {}", path.display()))(e)
        }
    })
}

/// The branch HEAD points at (even if unborn), or `None` when HEAD is detached.
pub(super) fn head_branch(repo: &Repository, path: &Path) -> Result<Option<String>, GitError> {
    let head = repo
        .find_reference("HEAD")
        .map_err(ctx(format!("cannot read HEAD of {}", path.display())))?;
    Ok(head
        .symbolic_target()
        .ok()
        .flatten()
        .map(|t| t.strip_prefix("refs/heads/").unwrap_or(t).to_string()))
}

/// One branch of a repository, as listed by [`list_branches`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BranchInfo {
    /// Short name: `main` for a local branch, `origin/main` for a remote-tracking one.
    pub name: String,
    /// Whether this is a remote-tracking branch.
    pub remote: bool,
    /// Whether this is the branch the main checkout's HEAD is on.
    pub head: bool,
}

/// Lists local branches then remote-tracking branches, each sorted by name, with the HEAD branch
/// first. Symbolic remote refs such as `origin/HEAD` are left out: they only alias another
/// branch.
pub fn list_branches(repo: &Path) -> Result<Vec<BranchInfo>, GitError> {
    let r = open_any(repo)?;
    let mut out = Vec::new();
    for kind in [BranchType::Local, BranchType::Remote] {
        let mut these = Vec::new();
        let branches = r
            .branches(Some(kind))
            .map_err(ctx(format!("cannot list branches of {}", repo.display())))?;
        for item in branches {
            let (branch, _) =
                item.map_err(ctx(format!("cannot list branches of {}", repo.display())))?;
            if branch.get().symbolic_target().ok().flatten().is_some() {
                continue;
            }
            let Ok(Some(name)) = branch.name() else {
                // Non-UTF-8 branch names cannot be shown or passed back to us faithfully.
                continue;
            };
            these.push(BranchInfo {
                name: name.to_string(),
                remote: kind == BranchType::Remote,
                head: kind == BranchType::Local && branch.is_head(),
            });
        }
        these.sort_by(|a, b| b.head.cmp(&a.head).then_with(|| a.name.cmp(&b.name)));
        out.extend(these);
    }
    Ok(out)
}

/// Whether `branch` is HEAD of the main checkout or of any linked worktree.
pub(super) fn is_checked_out(repo: &Repository, branch: &str) -> Result<bool, GitError> {
    let want = format!("refs/heads/{branch}");
    let heads_on = |r: &Repository| {
        r.find_reference("HEAD")
            .ok()
            .and_then(|h| h.symbolic_target().ok().flatten().map(|t| t == want))
            .unwrap_or(false)
    };
    // The main checkout's HEAD lives in the common dir.
    if let Ok(main) = Repository::open(repo.commondir())
        && heads_on(&main)
    {
        return Ok(true);
    }
    let names = repo.worktrees().map_err(ctx("cannot list worktrees"))?;
    for name in names.iter().flatten().flatten() {
        // Read HEAD from the metadata folder, which exists even when the worktree folder is
        // gone.
        let head = repo.commondir().join("worktrees").join(name).join("HEAD");
        if let Ok(text) = fs_err::read_to_string(&head)
            && text.trim().strip_prefix("ref: ") == Some(want.as_str())
        {
            return Ok(true);
        }
    }
    Ok(false)
}

/// The full sha of the commit checked out at `path` (a worktree or the main checkout).
pub fn head_commit(path: &Path) -> Result<String, GitError> {
    let repo = open_any(path)?;
    let head = repo
        .head()
        .map_err(ctx(format!("cannot read HEAD of {}", path.display())))?;
    let commit = head
        .peel_to_commit()
        .map_err(ctx(format!("cannot read HEAD of {}", path.display())))?;
    Ok(commit.id().to_string())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::git::testing::{Fixture, git};

    #[test]
    fn inspect_repo_reports_root_name_and_branch() {
        let f = Fixture::new();
        let info = inspect_repo(&f.repo).unwrap();
        assert_eq!(info.root, fs_err::canonicalize(&f.repo).unwrap());
        assert_eq!(info.name, "proj");
        assert_eq!(info.head_branch.as_deref(), Some("main"));
        git(&f.repo, &["checkout", "-q", "--detach"]);
        assert_eq!(inspect_repo(&f.repo).unwrap().head_branch, None);
    }

    #[test]
    fn inspect_repo_refusals() {
        let f = Fixture::new();
        let missing = f.tmp.path().join("nope");
        assert!(
            matches!(inspect_repo(&missing), Err(GitError::PathMissing { path }) if path == missing)
        );

        let plain = f.tmp.path().join("plain");
        fs_err::create_dir_all(&plain).unwrap();
        let err = inspect_repo(&plain).unwrap_err();
        assert!(matches!(err, GitError::NotARepo { .. }), "{err:?}");
        assert!(err.to_string().contains("run `git init`"), "{err}");

        let sub = f.repo.join("src");
        assert!(matches!(inspect_repo(&sub), Err(GitError::NotARepo { .. })));

        git(f.tmp.path(), &["init", "-q", "--bare", "bare.git"]);
        let bare = f.tmp.path().join("bare.git");
        assert!(matches!(inspect_repo(&bare), Err(GitError::Bare { .. })));

        let empty = f.tmp.path().join("empty");
        fs_err::create_dir_all(&empty).unwrap();
        git(&empty, &["init", "-q"]);
        let err = inspect_repo(&empty).unwrap_err();
        assert!(matches!(err, GitError::Empty { .. }), "{err:?}");
        assert!(err.to_string().contains("commit something first"));
    }

    #[test]
    fn list_branches_local_then_remote_head_first() {
        let f = Fixture::new();
        f.add_origin();
        git(&f.repo, &["branch", "zeta"]);
        git(&f.repo, &["branch", "alpha"]);
        git(&f.repo, &["push", "-q", "origin", "alpha"]);
        git(&f.repo, &["remote", "set-head", "origin", "main"]);
        let names: Vec<(String, bool, bool)> = list_branches(&f.repo)
            .unwrap()
            .into_iter()
            .map(|b| (b.name, b.remote, b.head))
            .collect();
        let expected = [
            ("main", false, true),
            ("alpha", false, false),
            ("zeta", false, false),
            ("origin/alpha", true, false),
            ("origin/main", true, false),
        ];
        let expected: Vec<(String, bool, bool)> = expected
            .iter()
            .map(|(n, r, h)| (n.to_string(), *r, *h))
            .collect();
        assert_eq!(names, expected);
    }
}
