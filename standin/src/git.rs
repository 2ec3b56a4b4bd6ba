//! Reading the bare repositories with the `git` CLI: the answers show what is really there, so
//! a push moves a pull request's head.

use std::path::Path;
use std::process::Stdio;

/// Variables a surrounding git (a hook, a test run inside a worktree) may have set that would
/// point our commands at another repository.
const INHERITED: &[&str] = &[
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_COMMON_DIR",
    "GIT_NAMESPACE",
    "GIT_CONFIG_PARAMETERS",
    "GIT_CONFIG_COUNT",
];

pub(crate) fn std_command(repo: &Path) -> std::process::Command {
    let mut cmd = std::process::Command::new("git");
    for var in INHERITED {
        cmd.env_remove(var);
    }
    cmd.arg("--git-dir").arg(repo);
    cmd.stdin(Stdio::null()).stderr(Stdio::null());
    cmd
}

pub(crate) fn tokio_command(repo: Option<&Path>) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new("git");
    for var in INHERITED {
        cmd.env_remove(var);
    }
    if let Some(repo) = repo {
        cmd.arg("--git-dir").arg(repo);
    }
    cmd
}

async fn output(repo: &Path, args: &[&str]) -> Option<String> {
    let out = tokio_command(Some(repo))
        .args(args)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .await
        .ok()?;
    if !out.status.success() {
        return None;
    }
    Some(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// The sha `refs/heads/{branch}` points at, if the branch exists.
pub(crate) async fn branch_sha(repo: &Path, branch: &str) -> Option<String> {
    if branch.starts_with('-') {
        return None;
    }
    output(
        repo,
        &[
            "rev-parse",
            "--verify",
            "--quiet",
            &format!("refs/heads/{branch}^{{commit}}"),
        ],
    )
    .await
}

/// A branch name or (short) sha as a full commit sha.
pub(crate) async fn resolve(repo: &Path, name: &str) -> Option<String> {
    if name.starts_with('-') {
        return None;
    }
    if let Some(sha) = branch_sha(repo, name).await {
        return Some(sha);
    }
    output(
        repo,
        &[
            "rev-parse",
            "--verify",
            "--quiet",
            &format!("{name}^{{commit}}"),
        ],
    )
    .await
}

/// How many commits `head` has that `base` lacks (both branch names).
pub(crate) async fn commits_between(repo: &Path, base: &str, head: &str) -> Option<u64> {
    output(
        repo,
        &[
            "rev-list",
            "--count",
            &format!("refs/heads/{base}..refs/heads/{head}"),
            "--",
        ],
    )
    .await?
    .parse()
    .ok()
}

/// [`resolve`] for the control methods, which run outside the runtime.
pub(crate) fn resolve_blocking(repo: &Path, name: &str) -> Option<String> {
    if name.starts_with('-') {
        return None;
    }
    let out = std_command(repo)
        .args(["rev-parse", "--verify", "--quiet"])
        .arg(format!("{name}^{{commit}}"))
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}
