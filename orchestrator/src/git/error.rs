//! The module's one error type, [`GitError`]: each variant names the path, branch, reference or
//! command it is about, and its message says what the user can do. Also the small helpers that
//! wrap libgit2 and IO errors with what was being done.

use std::path::{Path, PathBuf};
use std::time::Duration;

/// How many file names a [`GitError::Dirty`] message lists before eliding the rest.
const LISTED_FILES: usize = 5;

/// Everything that can go wrong in this module. Each variant names the path, branch,
/// reference or command it is about, and its message says what the user can do about it.
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
    /// A file the request named has no change in the scope asked about.
    #[error("{path} has no changes to show: pick a file from the list of changes")]
    NotChanged {
        /// The path as given.
        path: String,
    },
    /// A commit without a message.
    #[error("the commit message is empty: write one")]
    EmptyMessage,
    /// `git commit` found nothing to commit.
    #[error("nothing to commit in {}: the selected files have no changes", path.display())]
    NothingToCommit {
        /// The worktree.
        path: PathBuf,
    },
    /// A hook (pre-commit, commit-msg, ...) refused the commit; `output` is what it printed.
    #[error("a git hook refused the commit:\n{output}")]
    HookFailed {
        /// Everything the hook (and git) printed.
        output: String,
    },
    /// git has no author name or email to commit with.
    #[error(
        "git does not know who you are: set it with `git config --global user.name \"Your Name\"` \
         and `git config --global user.email you@example.com`{}",
        stderr_summary(detail)
    )]
    IdentityMissing {
        /// What git said, if it got as far as running.
        detail: String,
    },
    /// Amending was asked for, but the last commit is already on another branch, a remote or a
    /// tag: rewriting it would diverge from what others have.
    #[error(
        "the last commit on {branch} is already pushed or on another branch: \
         make a new commit instead of amending"
    )]
    AlreadyPushed {
        /// The session branch.
        branch: String,
    },
    /// The file changed again after a revert, so undoing the revert would destroy that work.
    #[error(
        "{path} changed after it was reverted: undo would overwrite the new content; \
         revert it again or edit it by hand"
    )]
    ChangedSinceRevert {
        /// The file, relative to the worktree.
        path: String,
    },
    /// The hunk to revert is not in the file's diff any more (the file changed since the diff
    /// was shown).
    #[error("{path} has no hunk {header} now: the file changed; look at its diff again")]
    HunkNotFound {
        /// The file.
        path: String,
        /// The header asked for.
        header: String,
    },
    /// There is no revert to undo.
    #[error("nothing to undo: no revert of this session is kept")]
    NothingToUndo,
    /// The remote refused the push because it has commits the branch lacks.
    #[error(
        "the push of {branch} to {remote} was rejected: the remote branch has commits this one \
         does not (non-fast-forward). Update the branch (pull or rebase) and push again, or push \
         with --force-with-lease to replace it. Nothing changed locally.\n{detail}"
    )]
    PushRejected {
        /// The branch pushed.
        branch: String,
        /// The remote's name.
        remote: String,
        /// What git said.
        detail: String,
    },
    /// The remote could not be reached, or the connection broke during the push.
    #[error(
        "could not reach {remote}: the push did not complete and nothing changed locally; \
         check the network and push again.\n{detail}"
    )]
    PushNetwork {
        /// The remote's name.
        remote: String,
        /// What git said.
        detail: String,
    },
    /// The remote refused the credentials (or got none).
    #[error(
        "{remote} refused the credentials for this push: sign in to GitHub again (`grove github \
         login`) or check your access to the repository.\n{detail}"
    )]
    PushAuth {
        /// The remote's name.
        remote: String,
        /// What git said.
        detail: String,
    },
    /// The session branch has no remote to push to.
    #[error(
        "{path} has no remote `{remote}`: add one (`git remote add {remote} URL`) and push again",
        path = path.display()
    )]
    NoRemote {
        /// The repository.
        path: PathBuf,
        /// The remote looked for.
        remote: String,
    },
    /// A path from a request that is not a plain relative path inside the worktree.
    #[error("`{path}` is not a path inside the worktree: give it as listed in the changes")]
    BadPath {
        /// The refused path.
        path: String,
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
    /// A value bound for git's command line starts with `-`, so git (or a program git hands it
    /// to, such as ssh) could read it as an option. Refused before anything runs.
    #[error(
        "refusing the {what} `{value}`: it starts with `-`, so git could take it for an option; \
         rename it (if it comes from the repository's git config, fix it there)"
    )]
    OptionLike {
        /// What the value is, e.g. `remote`, `refspec` or `base`.
        what: String,
        /// The refused value.
        value: String,
    },
    /// The `git` binary could not be started.
    #[error("cannot run `{command}`: {source}; is git installed and on PATH?")]
    GitNotRunnable {
        /// The command line, starting with `git`.
        command: String,
        /// Why it could not start.
        source: std::io::Error,
    },
    /// `git` ran and failed.
    #[error("`{command}` failed ({status}){}", stderr_summary(stderr))]
    CommandFailed {
        /// The command line, starting with `git`.
        command: String,
        /// How it exited.
        status: std::process::ExitStatus,
        /// Everything git wrote to stderr, trimmed.
        stderr: String,
    },
    /// `git` ran past its timeout; it and every process it started were killed.
    #[error(
        "`{command}` timed out after {} and was stopped{}",
        seconds(*timeout),
        stderr_summary(stderr)
    )]
    CommandTimedOut {
        /// The command line, starting with `git`.
        command: String,
        /// The timeout it ran past.
        timeout: Duration,
        /// What git wrote to stderr before it was stopped, trimmed.
        stderr: String,
    },
}

/// The line of git's stderr that says what went wrong, as `: <line>`; empty without stderr.
/// git puts the reason on a `fatal:` or `error:` line and follows it with advice.
fn stderr_summary(stderr: &str) -> String {
    let lines = || stderr.lines().map(str::trim).filter(|l| !l.is_empty());
    lines()
        .find(|l| l.starts_with("fatal:") || l.starts_with("error:"))
        .or_else(|| lines().next_back())
        .map(|line| format!(": {line}"))
        .unwrap_or_default()
}

/// A duration as whole seconds, or milliseconds below one second.
fn seconds(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        format!("{} ms", d.as_millis())
    } else {
        format!("{} s", d.as_secs())
    }
}

pub(super) fn plural(n: usize, one: &str, many: &str) -> String {
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
pub(super) fn ctx(context: impl Into<String>) -> impl FnOnce(git2::Error) -> GitError {
    let context = context.into();
    move |source| GitError::Git { context, source }
}

/// Wraps an IO error with what we were doing.
pub(super) fn io_ctx(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> GitError {
    let context = context.into();
    move |source| GitError::Io { context, source }
}
