//! Git operations for Grove sessions: inspecting a repository, creating, checking, removing and
//! restoring the per-session worktrees, and deleting session branches.
//!
//! Everything goes through libgit2 (`git2`) except fetching: libgit2 is built here without
//! https/ssh transports, and the `git` CLI honours the user's credential helpers and ssh config,
//! so the one network operation shells out to `git fetch` with a timeout.
//!
//! Safety rules this module keeps:
//! - it never touches the main checkout's working files;
//! - it never runs a repo-wide `git worktree prune` or `git gc` (and passes `--no-auto-gc` to
//!   fetch), so other tools' worktrees and Grove's own are never reaped behind the user's back;
//! - it only ever deletes directories strictly inside Grove's worktree root, refuses symlinked
//!   paths there, and deletes without following symlinks.
//!
//! Side effects worth knowing: creating a worktree turns off libgit2's per-object hash
//! re-verification for the whole process (git does not re-verify on checkout either), and
//! writes one fixed empty "seed" commit object into the repository (see
//! `add_locked_worktree`). Checkouts are done by libgit2, which runs no external filter
//! drivers: Git LFS files stay pointer files in Grove's worktrees.

use std::collections::HashSet;
use std::io::Read;
use std::path::{Component, Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use git2::{
    BranchType, ErrorCode, Oid, Repository, Status, StatusOptions, WorktreeAddOptions,
    WorktreePruneOptions, build::CheckoutBuilder,
};

/// How long the pre-creation `git fetch` of the base's upstream may take before we give up on it
/// (and create the worktree from what we already have).
const FETCH_TIMEOUT: Duration = Duration::from_secs(30);

/// Prefix of the throwaway branches new worktrees are first added on (see
/// `add_locked_worktree`). Flat, so it cannot clash with a user branch folder.
const SEED_PREFIX: &str = "grove-seed-";

/// How many file names a [`GitError::Dirty`] message lists before eliding the rest.
const LISTED_FILES: usize = 5;

/// Everything that can go wrong in this module. Each variant names the path, branch or
/// reference it is about, and its message says what the user can do about it.
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    /// The given path does not exist on disk.
    #[error("{} does not exist", path.display())]
    PathMissing {
        /// The missing path.
        path: PathBuf,
    },
    /// The path exists but is not the top folder of a git repository.
    #[error(
        "{} is not a git repository: run `git init` or pick the repo's folder",
        path.display()
    )]
    NotARepo {
        /// The path that was expected to be a repository.
        path: PathBuf,
    },
    /// The repository has no working tree, so there is nothing to branch worktrees from.
    #[error("{} is a bare repository: pick a repository with a checkout", path.display())]
    Bare {
        /// The bare repository's path.
        path: PathBuf,
    },
    /// The repository has no commit to base a worktree on.
    #[error("{} has no commits yet: commit something first", path.display())]
    Empty {
        /// The empty repository's path.
        path: PathBuf,
    },
    /// A base branch, tag or commit could not be found.
    #[error(
        "`{reference}` is not a branch, remote branch, tag or commit in this repository: \
         check the name or fetch it first"
    )]
    RefNotFound {
        /// The reference as the user gave it.
        reference: String,
    },
    /// No base was given and the repository's HEAD is detached, so there is no default branch.
    #[error(
        "{} has a detached HEAD, so there is no current branch to start from: \
         pass a base branch/tag/commit",
        path.display()
    )]
    DetachedBase {
        /// The repository's path.
        path: PathBuf,
    },
    /// The session branch to create already exists.
    #[error("branch {branch} already exists: choose another name or use the existing branch")]
    BranchExists {
        /// The existing branch's name.
        branch: String,
    },
    /// A branch that had to exist does not.
    #[error("branch {branch} does not exist: check the name, or create a new branch instead")]
    BranchMissing {
        /// The missing branch's name.
        branch: String,
    },
    /// The branch is already checked out in another worktree (or the main checkout), and git
    /// allows a branch in only one worktree at a time.
    #[error(
        "branch {branch} is already checked out in another worktree: \
         switch that worktree to another branch, or pick another branch"
    )]
    BranchCheckedOut {
        /// The branch's name.
        branch: String,
    },
    /// The requested branch name is not a valid git branch name.
    #[error("`{branch}` is not a valid branch name: avoid spaces, `..`, `~`, `^`, `:` and `\\`")]
    InvalidBranchName {
        /// The rejected name.
        branch: String,
    },
    /// Something already exists where the worktree should be created.
    #[error("{} already exists: pick another worktree path or remove it first", path.display())]
    WorktreePathExists {
        /// The occupied path.
        path: PathBuf,
    },
    /// The path is not strictly inside Grove's worktree root.
    #[error(
        "{} is not inside Grove's worktree folder {}: Grove only manages worktrees there",
        path.display(),
        root.display()
    )]
    OutsideRoot {
        /// The refused path.
        path: PathBuf,
        /// Grove's worktree root.
        root: PathBuf,
    },
    /// The worktree path, or a folder between the root and it, is a symlink.
    #[error(
        "{} is a symlink: Grove refuses to create or delete worktrees through symlinks; \
         remove the link by hand",
        path.display()
    )]
    SymlinkEscape {
        /// The symlink found on the way.
        path: PathBuf,
    },
    /// The directory exists inside the root but is not a registered worktree of this repository.
    #[error(
        "{} is not a worktree of this repository: Grove will not delete it; remove it by hand \
         if you do not need it",
        path.display()
    )]
    NotAWorktree {
        /// The directory's path.
        path: PathBuf,
    },
    /// The worktree has uncommitted or untracked files that removal would destroy.
    #[error("{}", dirty_message(path, uncommitted, untracked))]
    Dirty {
        /// The worktree's path.
        path: PathBuf,
        /// Modified, staged, deleted or conflicted tracked files.
        uncommitted: Vec<String>,
        /// Untracked (not ignored) files.
        untracked: Vec<String>,
    },
    /// The branch has commits that no other branch, remote-tracking branch or tag contains.
    #[error("{}", unpushed_message(branch, *commits))]
    Unpushed {
        /// The session branch.
        branch: String,
        /// How many commits would only survive on this branch.
        commits: usize,
    },
    /// The branch is not merged into the base, so deleting it would lose commits.
    #[error("branch {branch} is not merged into {base}: merge it first, or force")]
    NotMerged {
        /// The branch to delete.
        branch: String,
        /// The base it was checked against.
        base: String,
    },
    /// Any other libgit2 or filesystem failure, with what we were doing at the time.
    #[error("{context}: {source}")]
    Git {
        /// What was being done.
        context: String,
        /// The underlying libgit2 error.
        source: git2::Error,
    },
    /// A filesystem operation failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done, naming the path.
        context: String,
        /// The underlying IO error.
        source: std::io::Error,
    },
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn dirty_message(path: &Path, uncommitted: &[String], untracked: &[String]) -> String {
    let mut counts = Vec::new();
    if !uncommitted.is_empty() {
        counts.push(plural(
            uncommitted.len(),
            "uncommitted file",
            "uncommitted files",
        ));
    }
    if !untracked.is_empty() {
        counts.push(plural(untracked.len(), "untracked file", "untracked files"));
    }
    let all: Vec<&str> = uncommitted
        .iter()
        .chain(untracked)
        .map(String::as_str)
        .collect();
    let mut listed = all
        .iter()
        .take(LISTED_FILES)
        .copied()
        .collect::<Vec<_>>()
        .join(", ");
    if all.len() > LISTED_FILES {
        listed.push_str(", …");
    }
    format!(
        "{} in {} ({listed}); commit or stash them, or force",
        counts.join(" and "),
        path.display()
    )
}

fn unpushed_message(branch: &str, commits: usize) -> String {
    let verb = if commits == 1 { "exists" } else { "exist" };
    format!(
        "{} on {branch} {verb} on no other branch or remote; push or merge them, or force",
        plural(commits, "commit", "commits")
    )
}

/// Wraps a libgit2 error with what we were doing.
fn ctx(context: impl Into<String>) -> impl FnOnce(git2::Error) -> GitError {
    let context = context.into();
    move |source| GitError::Git { context, source }
}

/// Wraps an IO error with what we were doing.
fn io_ctx(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> GitError {
    let context = context.into();
    move |source| GitError::Io { context, source }
}

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
fn open_repo(path: &Path) -> Result<Repository, GitError> {
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
fn open_any(path: &Path) -> Result<Repository, GitError> {
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
fn head_branch(repo: &Repository, path: &Path) -> Result<Option<String>, GitError> {
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

/// A base resolved to a commit.
struct ResolvedBase {
    name: String,
    commit: Oid,
    warnings: Vec<String>,
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

/// Resolves the base (default: HEAD's branch), fetching a local branch's upstream first.
fn resolve_base(
    repo: &Repository,
    repo_path: &Path,
    base: Option<&str>,
) -> Result<ResolvedBase, GitError> {
    let name = match base {
        Some(b) => b.to_string(),
        None => match head_branch(repo, repo_path)? {
            Some(b) => b,
            None => {
                return Err(GitError::DetachedBase {
                    path: repo_path.to_path_buf(),
                });
            }
        },
    };
    let not_found = || GitError::RefNotFound {
        reference: name.clone(),
    };
    let peel = |refname: &str| -> Option<Oid> {
        repo.find_reference(refname)
            .ok()?
            .peel_to_commit()
            .ok()
            .map(|c| c.id())
    };

    let local_ref = format!("refs/heads/{name}");
    if let Some(local) = peel(&local_ref) {
        let mut warnings = Vec::new();
        let commit = match fetch_upstream(repo, repo_path, &local_ref, &mut warnings) {
            Some(upstream_ref) => {
                // The CLI just updated the ref on disk; read it fresh.
                match Repository::open(repo_path).ok().and_then(|fresh| {
                    let oid = fresh
                        .find_reference(&upstream_ref)
                        .ok()?
                        .peel_to_commit()
                        .ok()?
                        .id();
                    let ab = fresh.graph_ahead_behind(local, oid).ok()?;
                    Some((oid, ab))
                }) {
                    Some((upstream, (0, behind))) if behind > 0 => {
                        let short = upstream_ref
                            .strip_prefix("refs/remotes/")
                            .unwrap_or(&upstream_ref);
                        warnings.push(format!(
                            "based on {short} which is {} ahead of {name}",
                            plural(behind, "commit", "commits")
                        ));
                        upstream
                    }
                    Some((_, (ahead, behind))) if ahead > 0 && behind > 0 => {
                        let short = upstream_ref
                            .strip_prefix("refs/remotes/")
                            .unwrap_or(&upstream_ref);
                        warnings.push(format!(
                            "{name} has diverged from {short} ({ahead} ahead, {behind} behind); \
                             based on the local {name}"
                        ));
                        local
                    }
                    _ => local,
                }
            }
            None => local,
        };
        return Ok(ResolvedBase {
            name,
            commit,
            warnings,
        });
    }
    for refname in [format!("refs/remotes/{name}"), format!("refs/tags/{name}")] {
        if let Some(commit) = peel(&refname) {
            return Ok(ResolvedBase {
                name,
                commit,
                warnings: Vec::new(),
            });
        }
    }
    let commit = repo
        .revparse_single(&name)
        .ok()
        .and_then(|o| o.peel_to_commit().ok())
        .ok_or_else(not_found)?;
    Ok(ResolvedBase {
        name: commit.id().to_string(),
        commit: commit.id(),
        warnings: Vec::new(),
    })
}

/// Fetches the upstream of `local_ref` with the `git` CLI. Returns the upstream's
/// remote-tracking ref name when there is one (fetched or not), pushing any failure into
/// `warnings`.
fn fetch_upstream(
    repo: &Repository,
    repo_path: &Path,
    local_ref: &str,
    warnings: &mut Vec<String>,
) -> Option<String> {
    let remote = repo.branch_upstream_remote(local_ref).ok()?;
    let remote = remote.as_str().ok()?.to_string();
    let merge = repo.branch_upstream_merge(local_ref).ok()?;
    let merge = merge.as_str().ok()?.to_string();
    let upstream = repo.branch_upstream_name(local_ref).ok()?;
    let upstream = upstream.as_str().ok()?.to_string();
    if remote == "." {
        // The upstream is another local branch: nothing to fetch.
        return Some(upstream);
    }
    let branch = local_ref.strip_prefix("refs/heads/").unwrap_or(local_ref);
    if let Err(why) = run_git_fetch(repo_path, &remote, &merge, FETCH_TIMEOUT) {
        warnings.push(format!(
            "could not fetch {remote} before branching from {branch} ({why}); \
             using the last fetched state"
        ));
    }
    Some(upstream)
}

/// Runs `git -C <repo> fetch --quiet --no-auto-gc <remote> <refspec>` with a timeout.
/// `--no-auto-gc` because an auto gc could prune worktrees repo-wide, which Grove never does.
fn run_git_fetch(
    repo_path: &Path,
    remote: &str,
    refspec: &str,
    timeout: Duration,
) -> Result<(), String> {
    let mut cmd = Command::new("git");
    cmd.arg("-C")
        .arg(repo_path)
        .args(["fetch", "--quiet", "--no-auto-gc", remote, refspec])
        // Never wait on a credential prompt nobody can see: fail and warn instead.
        .env("GIT_TERMINAL_PROMPT", "0");
    run_with_timeout(&mut cmd, timeout)
}

/// Runs `cmd` with no stdin, killing it after `timeout`; the error is a one-line reason.
fn run_with_timeout(cmd: &mut Command, timeout: Duration) -> Result<(), String> {
    let program = cmd.get_program().to_string_lossy().into_owned();
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {program}: {e}"))?;
    let deadline = Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(status)) if status.success() => return Ok(()),
            Ok(Some(status)) => {
                let mut stderr = String::new();
                if let Some(mut pipe) = child.stderr.take() {
                    // Best effort: the message only decorates the warning.
                    let _ = pipe.read_to_string(&mut stderr);
                }
                let stderr = stderr.trim();
                return Err(match stderr.lines().last() {
                    Some(line) => format!("{program} failed: {line}"),
                    None => format!("{program} {status}"),
                });
            }
            Ok(None) if Instant::now() >= deadline => {
                // Only the direct child is killed; a helper it spawned gets SIGPIPE on stderr.
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("{program} timed out after {:.0?}", timeout));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => return Err(format!("cannot wait for {program}: {e}")),
        }
    }
}

/// Checks that `path` is strictly inside `root` without `..` or symlinks on the way, and returns
/// the canonical root and the path relative to it.
fn locate_in_root(root: &Path, path: &Path) -> Result<(PathBuf, PathBuf), GitError> {
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
        // The path may reach the root through another spelling (e.g. a symlinked /tmp): resolve
        // its deepest existing ancestor and retry.
        Err(_) => {
            let mut existing = path;
            let mut rest = Vec::new();
            while fs_err::symlink_metadata(existing).is_err() {
                rest.push(existing.file_name().ok_or_else(outside)?);
                existing = existing.parent().ok_or_else(outside)?;
            }
            let mut resolved = fs_err::canonicalize(existing).map_err(|_| outside())?;
            resolved.extend(rest.iter().rev());
            resolved
                .strip_prefix(&canon_root)
                .map_err(|_| outside())?
                .to_path_buf()
        }
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

/// Validates a new worktree location, creates its parent folders and returns its final path.
fn prepare_new_path(root: &Path, path: &Path) -> Result<PathBuf, GitError> {
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

/// Turns off libgit2's "strict hash verification" for the whole process, once.
///
/// libgit2 re-hashes (with collision-detecting SHA-1) every object it reads; on a 3,000-file
/// checkout that is ~20 ms of the ~90 ms total. `git` itself does not re-hash objects on
/// checkout (only `fsck` and transfers verify), so this matches the CLI's guarantees.
fn relax_hash_verification() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| git2::opts::strict_hash_verification(false));
}

/// Turns a folder name into a worktree name that the `git` CLI accepts as a ref component.
fn sanitize_worktree_name(raw: &str) -> String {
    let cleaned: String = raw
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '-'
            }
        })
        .collect();
    let cleaned = cleaned
        .trim_start_matches('.')
        .trim_end_matches(".lock")
        .to_string();
    if cleaned.is_empty() {
        "worktree".to_string()
    } else {
        cleaned
    }
}

/// Adds the worktree at `target` on the existing local `branch`, locked with `lock_reason`.
///
/// Speed: libgit2's `git_worktree_add` checks out with options git2 does not let us set, and
/// that checkout looks up `.gitattributes` per file (two `realpath` calls each) and re-hashes
/// every blob; on a 3,000-file repo it took ~1.8x as long as `git worktree add`. So the worktree
/// is added on a throwaway "seed" branch pointing at an empty commit (nothing to check out), its
/// HEAD is then switched to `branch`, the seed branch deleted, and one forced `checkout_head` of
/// our own fills it, with filters disabled when no attributes or autocrlf could apply.
fn add_locked_worktree(
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
    let base_name = sanitize_worktree_name(&raw_name);
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

/// Whether `branch` is HEAD of the main checkout or of any linked worktree.
fn is_checked_out(repo: &Repository, branch: &str) -> Result<bool, GitError> {
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
        for entry in statuses.iter() {
            let name = String::from_utf8_lossy(entry.path_bytes()).into_owned();
            let status = entry.status();
            if status.intersects(changed) {
                check.uncommitted.push(name);
            } else if status.contains(Status::WT_NEW) {
                check.untracked.push(name);
            }
        }
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
fn count_unpushed(repo: &Repository, branch: &str, tips: &[Oid]) -> Result<usize, GitError> {
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

/// Resolves `p` as far as it exists, so a missing worktree folder still compares equal.
fn normalize(p: &Path) -> PathBuf {
    if let Ok(c) = fs_err::canonicalize(p) {
        return c;
    }
    match (p.parent(), p.file_name()) {
        (Some(parent), Some(name)) => normalize(parent).join(name),
        _ => p.to_path_buf(),
    }
}

/// Finds the registered worktree whose folder is `target`.
fn find_worktree(repo: &Repository, target: &Path) -> Result<Option<git2::Worktree>, GitError> {
    let want = normalize(target);
    let names = repo.worktrees().map_err(ctx("cannot list worktrees"))?;
    for name in names.iter().flatten().flatten() {
        let Ok(wt) = repo.find_worktree(name) else {
            continue;
        };
        if normalize(wt.path()) == want {
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

/// How a session's worktree differs from what Grove recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Drift {
    /// The worktree is where it should be, on the expected branch.
    None,
    /// The worktree folder, its `.git` file, or its metadata in the main repository is gone.
    Missing,
    /// The worktree is on another branch or detached.
    BranchChanged {
        /// The branch name, or `detached at <short sha>`.
        actual: String,
    },
}

/// Compares the worktree at `path` with the branch Grove expects it on.
pub fn drift(path: &Path, expected_branch: &str) -> Drift {
    if fs_err::symlink_metadata(path.join(".git")).is_err() {
        return Drift::Missing;
    }
    let Ok(repo) = Repository::open(path) else {
        return Drift::Missing;
    };
    let Ok(head) = repo.find_reference("HEAD") else {
        return Drift::Missing;
    };
    match head.symbolic_target().ok().flatten() {
        Some(target) => {
            let name = target.strip_prefix("refs/heads/").unwrap_or(target);
            if name == expected_branch {
                Drift::None
            } else {
                Drift::BranchChanged {
                    actual: name.to_string(),
                }
            }
        }
        None => {
            let sha = head.target().map(|o| o.to_string()).unwrap_or_default();
            Drift::BranchChanged {
                actual: format!("detached at {}", &sha[..sha.len().min(7)]),
            }
        }
    }
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
    use tempfile::TempDir;

    /// Runs the `git` CLI in `dir`, isolated from the user's config, and returns its stdout.
    fn git(dir: &Path, args: &[&str]) -> String {
        let out = Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(["-c", "user.name=Test", "-c", "user.email=test@example.com"])
            .args(["-c", "commit.gpgsign=false", "-c", "tag.gpgsign=false"])
            .args([
                "-c",
                "init.defaultBranch=main",
                "-c",
                "protocol.file.allow=always",
            ])
            .args(args)
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "git {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    fn write(path: &Path, text: &str) {
        fs_err::create_dir_all(path.parent().unwrap()).unwrap();
        fs_err::write(path, text).unwrap();
    }

    fn commit_file(repo: &Path, name: &str, text: &str) -> String {
        write(&repo.join(name), text);
        git(repo, &["add", "-A"]);
        git(repo, &["commit", "-qm", &format!("add {name}")]);
        git(repo, &["rev-parse", "HEAD"])
    }

    struct Fixture {
        tmp: TempDir,
        repo: PathBuf,
        root: PathBuf,
    }

    impl Fixture {
        fn new() -> Fixture {
            let tmp = TempDir::new().unwrap();
            let repo = tmp.path().join("proj");
            fs_err::create_dir_all(&repo).unwrap();
            git(&repo, &["init", "-q", "-b", "main"]);
            commit_file(&repo, "README.md", "hello\n");
            commit_file(&repo, "src/lib.rs", "pub fn f() {}\n");
            let root = tmp.path().join("grove-worktrees");
            Fixture { tmp, repo, root }
        }

        fn wt_path(&self, name: &str) -> PathBuf {
            self.root.join("proj").join(name)
        }

        fn opts<'a>(&'a self, path: &'a Path, branch: &'a str) -> NewWorktree<'a> {
            NewWorktree {
                repo: &self.repo,
                root: &self.root,
                path,
                branch,
                base: None,
                use_existing_branch: false,
                lock_reason: "grove session",
            }
        }

        fn create(&self, name: &str, branch: &str) -> CreatedWorktree {
            let path = self.wt_path(name);
            create_worktree(&self.opts(&path, branch)).unwrap()
        }

        fn add_origin(&self) -> PathBuf {
            let origin = self.tmp.path().join("origin.git");
            git(
                self.tmp.path(),
                &["init", "-q", "--bare", "-b", "main", "origin.git"],
            );
            git(
                &self.repo,
                &["remote", "add", "origin", origin.to_str().unwrap()],
            );
            git(&self.repo, &["push", "-q", "-u", "origin", "main"]);
            origin
        }
    }

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
    fn drift_detects_branch_switch_and_detached_head() {
        let f = Fixture::new();
        let wt = f.create("drift", "grove/drift");
        git(&wt.path, &["switch", "-q", "-c", "other"]);
        assert_eq!(
            drift(&wt.path, "grove/drift"),
            Drift::BranchChanged {
                actual: "other".to_string()
            }
        );
        git(&wt.path, &["checkout", "-q", "--detach"]);
        let short = git(&wt.path, &["rev-parse", "--short=7", "HEAD"]);
        assert_eq!(
            drift(&wt.path, "grove/drift"),
            Drift::BranchChanged {
                actual: format!("detached at {short}")
            }
        );
        fs_err::remove_file(wt.path.join(".git")).unwrap();
        assert_eq!(drift(&wt.path, "grove/drift"), Drift::Missing);
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

    #[test]
    fn create_fetches_the_base_upstream_first() {
        let f = Fixture::new();
        let origin = f.add_origin();
        let other = f.tmp.path().join("other");
        git(
            f.tmp.path(),
            &["clone", "-q", origin.to_str().unwrap(), "other"],
        );
        let upstream_tip = commit_file(&other, "from-origin.txt", "new\n");
        git(&other, &["push", "-q", "origin", "main"]);
        let local_main = git(&f.repo, &["rev-parse", "main"]);

        let wt = f.create("fetched", "grove/fetched");
        assert!(wt.path.join("from-origin.txt").exists());
        assert_eq!(wt.base, "main");
        assert_eq!(wt.base_commit, upstream_tip);
        assert_eq!(
            wt.warnings,
            ["based on origin/main which is 1 commit ahead of main"]
        );
        // The fetch updated the remote-tracking branch but not the user's own main.
        assert_eq!(git(&f.repo, &["rev-parse", "origin/main"]), upstream_tip);
        assert_eq!(git(&f.repo, &["rev-parse", "main"]), local_main);
        assert!(!f.repo.join("from-origin.txt").exists());

        // Diverged: the local branch wins, with a warning.
        commit_file(&f.repo, "local.txt", "local\n");
        let wt = f.create("diverged", "grove/diverged");
        assert!(wt.path.join("local.txt").exists() && !wt.path.join("from-origin.txt").exists());
        assert_eq!(wt.warnings.len(), 1, "{:?}", wt.warnings);
        assert!(wt.warnings[0].contains("diverged"), "{:?}", wt.warnings);
    }

    #[test]
    fn unreachable_upstream_only_warns() {
        let f = Fixture::new();
        f.add_origin();
        let gone = f.tmp.path().join("no-such-remote.git");
        git(
            &f.repo,
            &["remote", "set-url", "origin", gone.to_str().unwrap()],
        );
        let wt = f.create("offline", "grove/offline");
        assert_eq!(wt.base_commit, git(&f.repo, &["rev-parse", "main"]));
        assert_eq!(wt.warnings.len(), 1, "{:?}", wt.warnings);
        assert!(
            wt.warnings[0].starts_with("could not fetch origin"),
            "{:?}",
            wt.warnings
        );
    }

    #[test]
    fn fetch_command_times_out_or_fails_softly() {
        let start = Instant::now();
        let mut hung = Command::new("sleep");
        hung.arg("30");
        let err = run_with_timeout(&mut hung, Duration::from_millis(300)).unwrap_err();
        assert!(err.contains("timed out"), "{err}");
        assert!(start.elapsed() < Duration::from_secs(10));
        let mut missing = Command::new("grove-no-such-program");
        let err = run_with_timeout(&mut missing, Duration::from_secs(1)).unwrap_err();
        assert!(err.starts_with("cannot run"), "{err}");
    }
}
