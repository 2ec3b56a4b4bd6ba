//! Pushing a session branch with the `git` CLI, so the user's transports, proxies and ssh config
//! apply. Credentials, where Grove supplies them, come from the caller as `GIT_CONFIG_*`
//! variables naming a credential helper for this one command (see `crate::github::credential`):
//! nothing is written to the repository's config but the branch's upstream.
//!
//! What git reports in words becomes a typed error: a rejected (non-fast-forward) push, a
//! network failure, refused credentials.

use std::path::Path;
use std::time::Duration;

use super::cli::GitCommand;
use super::error::{GitError, ctx};
use super::repo::open_any;

/// How long a push may take: large first pushes over slow links, pre-push hooks.
const PUSH_TIMEOUT: Duration = Duration::from_secs(600);

/// Called with each line of progress git prints.
pub type ProgressFn = Box<dyn Fn(&str) + Send + Sync>;

/// One push of a branch to a remote.
pub struct PushRequest<'a> {
    /// The session's worktree.
    pub worktree: &'a Path,
    /// The remote's name (`origin`).
    pub remote: &'a str,
    /// The local branch, pushed to the same name on the remote.
    pub branch: &'a str,
    /// Replace the remote branch if it still is where this repository last saw it.
    pub force_with_lease: bool,
    /// Extra environment for git (the credential helper's `GIT_CONFIG_*`).
    pub env: Vec<(String, String)>,
    /// Called with each progress line git prints.
    pub progress: Option<ProgressFn>,
}

/// What a push did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushOutcome {
    /// The remote already had this commit.
    pub up_to_date: bool,
    /// The pushed commit.
    pub sha: String,
}

/// The URL of `remote` in the repository at `path` (its push URL when one is set).
pub fn remote_url(path: &Path, remote: &str) -> Result<String, GitError> {
    let repo = open_any(path)?;
    let found = repo.find_remote(remote).map_err(|_| GitError::NoRemote {
        path: path.to_path_buf(),
        remote: remote.to_string(),
    })?;
    let push_url = found.pushurl().ok().flatten().filter(|u| !u.is_empty());
    push_url
        .or_else(|| found.url().ok().filter(|u| !u.is_empty()))
        .map(str::to_owned)
        .ok_or_else(|| GitError::NoRemote {
            path: path.to_path_buf(),
            remote: remote.to_string(),
        })
}

/// Pushes `branch` to `remote` and sets it as the branch's upstream.
pub fn push(req: PushRequest<'_>) -> Result<PushOutcome, GitError> {
    let sha = {
        let repo = open_any(req.worktree)?;
        let reference = repo
            .find_branch(req.branch, git2::BranchType::Local)
            .map_err(|_| GitError::RefNotFound {
                reference: req.branch.to_string(),
            })?;
        reference
            .get()
            .peel_to_commit()
            .map_err(ctx(format!("cannot read the tip of {}", req.branch)))?
            .id()
            .to_string()
    };
    let mut cmd = GitCommand::new(req.worktree)
        .args(["push", "--progress", "--porcelain", "--set-upstream"])
        .timeout(PUSH_TIMEOUT);
    if req.force_with_lease {
        cmd = cmd.arg("--force-with-lease");
    }
    for (k, v) in &req.env {
        cmd = cmd.env(k, v);
    }
    if let Some(progress) = req.progress {
        cmd = cmd.on_stderr(move |chunk| {
            // Progress lines end in \r while they count, \n when done.
            for line in chunk.split(['\r', '\n']) {
                let line = line.trim();
                if !line.is_empty() {
                    progress(line);
                }
            }
        });
    }
    let refspec = format!("refs/heads/{0}:refs/heads/{0}", req.branch);
    let cmd = cmd.operands(&[("remote", req.remote), ("refspec", &refspec)])?;
    let (status, out) = cmd.run_unchecked()?;
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    if status.success() {
        // Porcelain: `=` marks a ref that was already up to date.
        let up_to_date = stdout
            .lines()
            .any(|l| l.starts_with('=') && l.contains(&refspec));
        return Ok(PushOutcome { up_to_date, sha });
    }
    Err(classify(req.branch, req.remote, &stdout, &stderr))
}

/// Turns a failed push's output into the error the user can act on.
fn classify(branch: &str, remote: &str, stdout: &str, stderr: &str) -> GitError {
    let detail = stderr
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("hint:") && !is_progress(l))
        .collect::<Vec<_>>()
        .join("\n");
    let both = format!("{stdout}\n{stderr}");
    let rejected = both
        .lines()
        .any(|l| l.starts_with('!') || l.contains("[rejected]") || l.contains("[remote rejected]"));
    if rejected
        && (both.contains("non-fast-forward")
            || both.contains("fetch first")
            || both.contains("stale info"))
    {
        return GitError::PushRejected {
            branch: branch.to_string(),
            remote: remote.to_string(),
            detail,
        };
    }
    let auth = [
        "Authentication failed",
        "could not read Username",
        "could not read Password",
        "terminal prompts disabled",
        "The requested URL returned error: 401",
        "The requested URL returned error: 403",
        "Permission denied (publickey",
    ];
    if auth.iter().any(|a| stderr.contains(a)) {
        return GitError::PushAuth {
            remote: remote.to_string(),
            detail,
        };
    }
    let network = [
        "Could not resolve host",
        "Failed to connect",
        "Connection refused",
        "Connection reset",
        "Connection timed out",
        "Operation timed out",
        "unable to access",
        "The remote end hung up",
        "early EOF",
        "RPC failed",
        "Could not read from remote repository",
        "send-pack: unexpected disconnect",
        "Empty reply from server",
    ];
    if network.iter().any(|n| stderr.contains(n)) {
        return GitError::PushNetwork {
            remote: remote.to_string(),
            detail,
        };
    }
    GitError::CommandFailed {
        command: format!("git push {remote} {branch}"),
        status: exit_failure(),
        stderr: detail,
    }
}

fn is_progress(line: &str) -> bool {
    [
        "Enumerating objects",
        "Counting objects",
        "Delta compression",
        "Compressing objects",
        "Writing objects",
        "Total ",
    ]
    .iter()
    .any(|p| line.starts_with(p))
}

/// A non-zero exit status for [`GitError::CommandFailed`], whose callers only display it.
fn exit_failure() -> std::process::ExitStatus {
    #[cfg(unix)]
    {
        std::os::unix::process::ExitStatusExt::from_raw(1 << 8)
    }
    #[cfg(windows)]
    {
        std::os::windows::process::ExitStatusExt::from_raw(1)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::git::testing::{Fixture, git, write};

    fn req<'a>(f: &'a Fixture, branch: &'a str, force: bool) -> PushRequest<'a> {
        PushRequest {
            worktree: &f.repo,
            remote: "origin",
            branch,
            force_with_lease: force,
            env: Vec::new(),
            progress: None,
        }
    }

    #[test]
    fn pushes_then_says_up_to_date_then_refuses_a_non_fast_forward() {
        let f = Fixture::new();
        let bare = f.add_origin();
        git(&f.repo, &["checkout", "-q", "-b", "feature"]);
        write(&f.repo.join("a.txt"), "one\n");
        git(&f.repo, &["add", "."]);
        git(&f.repo, &["commit", "-q", "-m", "one"]);
        let lines = std::sync::Arc::new(parking_lot::Mutex::new(Vec::<String>::new()));
        let seen = lines.clone();
        let mut r = req(&f, "feature", false);
        r.progress = Some(Box::new(move |l| seen.lock().push(l.to_string())));
        let out = push(r).unwrap();
        assert!(!out.up_to_date);
        assert_eq!(
            git(&bare, &["rev-parse", "refs/heads/feature"]),
            git(&f.repo, &["rev-parse", "HEAD"])
        );
        assert!(
            lines.lock().iter().any(|l| l.contains("objects")),
            "{:?}",
            lines.lock()
        );
        assert!(push(req(&f, "feature", false)).unwrap().up_to_date);

        // Someone else moves the remote branch; our amended commit no longer fast-forwards.
        let other = f.tmp.path().join("other");
        git(
            f.tmp.path(),
            &[
                "clone",
                "-q",
                "-b",
                "feature",
                bare.to_str().unwrap(),
                other.to_str().unwrap(),
            ],
        );
        write(&other.join("b.txt"), "theirs\n");
        git(&other, &["add", "."]);
        git(&other, &["commit", "-q", "-m", "theirs"]);
        git(&other, &["push", "-q", "origin", "feature"]);
        write(&f.repo.join("a.txt"), "two\n");
        git(&f.repo, &["commit", "-q", "-am", "two"]);
        let before = git(&f.repo, &["rev-parse", "HEAD"]);
        let err = push(req(&f, "feature", false)).unwrap_err();
        assert!(matches!(err, GitError::PushRejected { .. }), "{err:?}");
        assert!(err.to_string().contains("--force-with-lease"), "{err}");
        assert_eq!(git(&f.repo, &["rev-parse", "HEAD"]), before);
        // Explicit force-with-lease replaces it once our view of the remote is current.
        git(&f.repo, &["fetch", "-q", "origin"]);
        push(req(&f, "feature", true)).unwrap();
        assert_eq!(git(&bare, &["rev-parse", "refs/heads/feature"]), before);
    }

    #[test]
    fn an_unreachable_remote_is_a_network_error_and_a_missing_one_is_named() {
        let f = Fixture::new();
        git(
            &f.repo,
            &[
                "remote",
                "add",
                "origin",
                "http://127.0.0.1:9/owner/repo.git",
            ],
        );
        let err = push(req(&f, "main", false)).unwrap_err();
        assert!(matches!(err, GitError::PushNetwork { .. }), "{err:?}");
        git(&f.repo, &["remote", "remove", "origin"]);
        let err = remote_url(&f.repo, "origin").unwrap_err();
        assert!(matches!(err, GitError::NoRemote { .. }), "{err:?}");
    }
}
