//! Committing a session's work with the `git` CLI, so the repository's hooks, commit signing and
//! the user's git config apply exactly as in their own terminal. Failures git reports in words
//! become typed errors: nothing to commit, no identity, a hook that refused.

use std::path::Path;
use std::time::Duration;

use super::cli::GitCommand;
use super::error::{GitError, ctx};
use super::removal::count_unpushed;
use super::repo::open_any;

/// How long a commit may take: hooks run tests or linters, and signing may wait on an agent.
const COMMIT_TIMEOUT: Duration = Duration::from_secs(300);

/// What to commit.
#[derive(Debug, Clone)]
pub struct CommitRequest<'a> {
    /// The session's worktree.
    pub worktree: &'a Path,
    /// The session branch (to check whether the last commit is pushed before amending).
    pub branch: &'a str,
    /// The commit message.
    pub message: &'a str,
    /// Paths relative to the worktree to commit (their current content, new and deleted files
    /// included); empty commits everything, untracked files included.
    pub paths: &'a [String],
    /// Replace the last commit instead of adding one; refused when that commit is already on
    /// another branch, a remote or a tag.
    pub amend: bool,
}

/// Commits and returns the new HEAD's full sha.
pub fn commit(req: &CommitRequest) -> Result<String, GitError> {
    let wt = req.worktree;
    if req.message.trim().is_empty() {
        return Err(GitError::EmptyMessage);
    }
    if req.amend {
        let repo = open_any(wt)?;
        let head = repo
            .head()
            .and_then(|h| h.peel_to_commit())
            .map_err(ctx(format!("cannot read HEAD of {}", wt.display())))?
            .id();
        // The walk starts at HEAD and hides everything another ref holds: 0 means HEAD itself
        // is held elsewhere (pushed, or the base the branch started from).
        if count_unpushed(&repo, req.branch, &[head])? == 0 {
            return Err(GitError::AlreadyPushed {
                branch: req.branch.to_string(),
            });
        }
    }
    check_identity(wt)?;
    // Literal pathspecs: a file named `*.rs` or `:(glob)x` means that file, nothing more.
    let git = || GitCommand::new(wt).arg("--literal-pathspecs");
    let add = if req.paths.is_empty() {
        git().args(["add", "--all"])
    } else {
        git().args(["add", "--all", "--"]).args(req.paths)
    };
    add.run()?;
    // The message goes through stdin, so one that starts with `-` is never an option.
    let mut commit = git()
        .args(["commit", "--file=-"])
        .stdin(req.message.as_bytes().to_vec())
        .timeout(COMMIT_TIMEOUT);
    if req.amend {
        commit = commit.arg("--amend");
    }
    if !req.paths.is_empty() {
        // Exactly these paths, whatever else happens to be staged.
        commit = commit.args(["--only", "--"]).args(req.paths);
    }
    let (status, out) = commit.run_unchecked()?;
    if !status.success() {
        return Err(classify_failure(wt, &commit, status, &out));
    }
    let head = git().args(["rev-parse", "HEAD"]).run()?;
    Ok(String::from_utf8_lossy(&head.stdout).trim().to_string())
}

/// git falls back to the login name and host for a missing identity, which makes commits
/// nobody can attribute; Grove asks for a configured `user.name` instead, as the issue of a
/// plain message demands. `GIT_AUTHOR_NAME` in the environment counts too.
fn check_identity(wt: &Path) -> Result<(), GitError> {
    if std::env::var_os("GIT_AUTHOR_NAME").is_some_and(|v| !v.is_empty()) {
        return Ok(());
    }
    let (status, out) = GitCommand::new(wt)
        .args(["config", "--get", "user.name"])
        .run_unchecked()?;
    if !status.success() || out.stdout.iter().all(u8::is_ascii_whitespace) {
        return Err(GitError::IdentityMissing {
            detail: String::new(),
        });
    }
    Ok(())
}

/// Tells git's failures apart by what it printed.
fn classify_failure(
    wt: &Path,
    commit: &GitCommand,
    status: std::process::ExitStatus,
    out: &super::cli::GitOutput,
) -> GitError {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr).trim().to_string();
    let said = |needle: &str| stdout.contains(needle) || stderr.contains(needle);
    if said("nothing to commit")
        || said("no changes added to commit")
        || said("nothing added to commit")
    {
        return GitError::NothingToCommit {
            path: wt.to_path_buf(),
        };
    }
    if said("Please tell me who you are")
        || said("Author identity unknown")
        || said("empty ident name")
        || said("unable to auto-detect email address")
    {
        return GitError::IdentityMissing { detail: stderr };
    }
    if has_commit_hook(wt) {
        // Hooks print to stderr (git sends their stdout there too); what they said is the
        // reason the user needs to see, whole.
        let mut output = stderr;
        let stdout = stdout.trim();
        if !stdout.is_empty() {
            output = format!("{stdout}\n{output}");
        }
        return GitError::HookFailed { output };
    }
    GitError::CommandFailed {
        command: commit.display(),
        status,
        stderr,
    }
}

/// Whether an executable hook that can refuse a commit exists (in `core.hooksPath` or the
/// repository's hooks folder, as git itself resolves it).
fn has_commit_hook(wt: &Path) -> bool {
    let Ok(out) = GitCommand::new(wt)
        .args(["rev-parse", "--git-path", "hooks"])
        .run()
    else {
        return false;
    };
    let dir = wt.join(String::from_utf8_lossy(&out.stdout).trim());
    [
        "pre-commit",
        "prepare-commit-msg",
        "commit-msg",
        "pre-merge-commit",
    ]
    .iter()
    .any(|hook| is_executable(&dir.join(hook)))
}

fn is_executable(path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs_err::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    }
    #[cfg(not(unix))]
    {
        fs_err::metadata(path).is_ok_and(|m| m.is_file())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    #[cfg(unix)]
    use std::os::unix::fs::PermissionsExt;

    use super::*;
    use crate::git::testing::{Fixture, commit_file, git, write};

    fn req<'a>(
        wt: &'a Path,
        message: &'a str,
        paths: &'a [String],
        amend: bool,
    ) -> CommitRequest<'a> {
        CommitRequest {
            worktree: wt,
            branch: "grove/c",
            message,
            paths,
            amend,
        }
    }

    /// The test repo's own identity, so commits do not depend on the user's config.
    fn identity(f: &Fixture) {
        git(&f.repo, &["config", "user.name", "Test"]);
        git(&f.repo, &["config", "user.email", "test@example.com"]);
        git(&f.repo, &["config", "commit.gpgsign", "false"]);
    }

    #[test]
    fn commits_all_or_selected_paths_and_says_when_nothing_is_left() {
        let f = Fixture::new();
        identity(&f);
        let wt = f.create("c", "grove/c");
        write(&wt.path.join("a.txt"), "a\n");
        write(&wt.path.join("b.txt"), "b\n");
        write(&wt.path.join("-dash.txt"), "d\n");
        let only = ["a.txt".to_string(), "-dash.txt".to_string()];
        let sha = commit(&req(&wt.path, "-add a", &only, false)).unwrap();
        assert_eq!(sha, git(&wt.path, &["rev-parse", "HEAD"]));
        assert_eq!(git(&wt.path, &["log", "-1", "--format=%s"]), "-add a");
        assert_eq!(
            git(&wt.path, &["show", "--name-only", "--format="]),
            "-dash.txt\na.txt"
        );
        assert_eq!(git(&wt.path, &["status", "--porcelain"]), "?? b.txt");
        commit(&req(&wt.path, "the rest", &[], false)).unwrap();
        assert_eq!(git(&wt.path, &["status", "--porcelain"]), "");
        let err = commit(&req(&wt.path, "again", &[], false)).unwrap_err();
        assert!(matches!(err, GitError::NothingToCommit { .. }), "{err:?}");
        let err = commit(&req(&wt.path, "  ", &[], false)).unwrap_err();
        assert!(matches!(err, GitError::EmptyMessage), "{err:?}");
    }

    #[cfg(unix)]
    #[test]
    fn a_failing_hook_returns_its_output() {
        let f = Fixture::new();
        identity(&f);
        let hook = f.repo.join(".git/hooks/pre-commit");
        write(
            &hook,
            "#!/bin/sh\necho 'lint: 3 problems in a.txt' >&2\nexit 1\n",
        );
        fs_err::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
        let wt = f.create("c", "grove/c");
        write(&wt.path.join("a.txt"), "a\n");
        let err = commit(&req(&wt.path, "m", &[], false)).unwrap_err();
        assert!(
            matches!(&err, GitError::HookFailed { output } if output.contains("lint: 3 problems in a.txt")),
            "{err:?}"
        );
        write(&hook, "#!/bin/sh\nexit 0\n");
        commit(&req(&wt.path, "m", &[], false)).unwrap();
    }

    #[test]
    fn amends_only_an_unpushed_last_commit() {
        let f = Fixture::new();
        identity(&f);
        f.add_origin();
        let wt = f.create("c", "grove/c");
        // HEAD is the base's commit: amending would rewrite main's history.
        write(&wt.path.join("a.txt"), "a\n");
        let err = commit(&req(&wt.path, "m", &[], true)).unwrap_err();
        assert!(matches!(err, GitError::AlreadyPushed { .. }), "{err:?}");
        commit(&req(&wt.path, "first", &[], false)).unwrap();
        write(&wt.path.join("b.txt"), "b\n");
        commit(&req(&wt.path, "first, amended", &[], true)).unwrap();
        assert_eq!(
            git(&wt.path, &["log", "-1", "--format=%s"]),
            "first, amended"
        );
        assert_eq!(git(&wt.path, &["rev-list", "--count", "main..HEAD"]), "1");
        git(&wt.path, &["push", "-q", "origin", "grove/c"]);
        commit_file(&wt.path, "c.txt", "c\n");
        git(&wt.path, &["push", "-q", "origin", "grove/c"]);
        write(&wt.path.join("d.txt"), "d\n");
        let err = commit(&req(&wt.path, "m", &[], true)).unwrap_err();
        assert!(matches!(err, GitError::AlreadyPushed { .. }), "{err:?}");
    }
}
