//! Attack cases: git. Values from a repository's git config or from a request end up on
//! `git`'s command line when Grove fetches a session's base; one that starts with `-` would be
//! read as an option (`--upload-pack=<command>` runs the command). Each is refused, through the
//! real server, before git runs.

use std::path::Path;

use serde_json::json;

use crate::support::{Grove, fixture_repo, git};

/// A bare `origin` next to `repo`, holding its `main`, and `main`'s upstream pointed at a
/// remote named `remote` (origin's URL) — what a hostile `.git/config` could say.
fn upstream_remote_named(dir: &Path, repo: &Path, remote: &str) {
    let origin = dir.join("origin.git");
    git(
        dir,
        &[
            "init",
            "-q",
            "--bare",
            "-b",
            "main",
            origin.to_str().unwrap(),
        ],
    );
    git(repo, &["remote", "add", "origin", origin.to_str().unwrap()]);
    git(repo, &["push", "-q", "-u", "origin", "main"]);
    git(
        repo,
        &[
            "config",
            &format!("remote.{remote}.url"),
            origin.to_str().unwrap(),
        ],
    );
    git(
        repo,
        &[
            "config",
            &format!("remote.{remote}.fetch"),
            &format!("+refs/heads/*:refs/remotes/{remote}/*"),
        ],
    );
    git(repo, &["config", "branch.main.remote", remote]);
}

/// Asserts a refused creation left nothing behind: no session, no branch.
fn nothing_left(g: &Grove, repo: &Path) {
    assert!(g.sessions().is_empty());
    assert!(
        git(repo, &["branch", "--list", "grove/*"])
            .trim()
            .is_empty()
    );
}

#[test]
fn an_upstream_remote_named_like_an_option_never_runs() {
    let dir = tempfile::tempdir().unwrap();
    let repo = fixture_repo(dir.path(), "repo");
    // Unrefused, `git fetch <remote> <branch>` would run `touch pwned` in the repo's folder.
    let remote = "--upload-pack=touch${IFS}pwned";
    upstream_remote_named(dir.path(), &repo, remote);
    let g = Grove::start(&dir.path().join("data"));
    let repo_id = g.add_repo(&repo);

    let body = json!({ "repo_id": repo_id, "name": "evil", "command": "bash" });
    let (status, body) = g.call("POST", "/sessions", Some(body));
    assert!(!repo.join("pwned").exists(), "git ran the injected command");
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("invalid_request")),
        "{body}"
    );
    let message = body["message"].as_str().unwrap();
    assert!(
        message.contains("remote") && message.contains(remote),
        "{message}"
    );
    nothing_left(&g, &repo);
}

#[test]
fn a_base_named_like_an_option_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let repo = fixture_repo(dir.path(), "repo");
    let g = Grove::start(&dir.path().join("data"));
    let repo_id = g.add_repo(&repo);

    let base = "--upload-pack=touch${IFS}pwned";
    let body = json!({ "repo_id": repo_id, "name": "evil", "command": "bash", "base": base });
    let (status, body) = g.call("POST", "/sessions", Some(body));
    assert!(!repo.join("pwned").exists(), "git ran the injected command");
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("invalid_request")),
        "{body}"
    );
    let message = body["message"].as_str().unwrap();
    assert!(
        message.contains("base") && message.contains(base),
        "{message}"
    );
    nothing_left(&g, &repo);
}
