//! The `grove` CLI against a running server.

use std::path::Path;
use std::process::Command;

use crate::support::{Grove, fixture_repo};

fn run(g: &Grove, args: &[&str]) -> (bool, String, String) {
    let out = g.grove_cli(args);
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn cli_drives_repos_and_sessions() {
    let dir = tempfile::tempdir().unwrap();
    let repo = fixture_repo(dir.path(), "myrepo");
    let g = Grove::start(&dir.path().join("data"));
    let (ok, out, err) = run(&g, &["repo", "add", repo.to_str().unwrap()]);
    assert!(ok, "{err}");
    assert!(out.contains("added myrepo"));
    let (ok, out, _) = run(&g, &["repo", "list"]);
    assert!(ok && out.contains("myrepo"));
    let (ok, out, err) = run(
        &g,
        &[
            "session",
            "new",
            "--repo",
            "myrepo",
            "--name",
            "cli-one",
            "--command",
            "cat",
        ],
    );
    assert!(ok, "{err}");
    assert!(out.contains("grove/cli-one"), "{out}");
    // Without --name the server picks one from the base branch, and the CLI says which.
    let (ok, out, err) = run(
        &g,
        &["session", "new", "--repo", "myrepo", "--command", "cat"],
    );
    assert!(ok, "{err}");
    assert!(out.starts_with("created main-"), "{out}");
    let unnamed = out.split_whitespace().nth(1).unwrap().to_owned();
    let (ok, _, err) = run(&g, &["session", "delete", &unnamed, "--force"]);
    assert!(ok, "{err}");
    let (ok, out, _) = run(&g, &["session", "list", "--json"]);
    assert!(ok);
    let list: serde_json::Value = serde_json::from_str(&out).unwrap();
    let wt = list[0]["worktree"].as_str().unwrap().to_owned();
    std::fs::write(Path::new(&wt).join("dirty.txt"), "x").unwrap();
    let (ok, _, err) = run(&g, &["session", "archive", "cli-one"]);
    assert!(!ok, "archive with untracked work must fail");
    assert_eq!(err.trim().lines().count(), 1, "one-line reason: {err}");
    assert!(
        err.contains("dirty.txt") || err.contains("untracked"),
        "{err}"
    );
    let (ok, _, err) = run(&g, &["session", "archive", "cli-one", "--force"]);
    assert!(ok, "{err}");
    let (ok, _, err) = run(&g, &["session", "restore", "cli-one"]);
    assert!(ok, "{err}");
    let (ok, _, err) = run(&g, &["session", "delete", "cli-one", "--force"]);
    assert!(ok, "{err}");
    let (ok, _, err) = run(&g, &["session", "archive", "nope"]);
    assert!(!ok && err.contains("no session named `nope`"), "{err}");
}

#[test]
fn cli_without_a_server_says_how_to_start_one() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_grove"))
        .arg("--data-dir")
        .arg(dir.path())
        .args(["session", "list"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no Grove server is running") && err.contains("grove serve"),
        "{err}"
    );
}

#[test]
fn attach_streams_and_detaches_with_ctrl_bracket() {
    let dir = tempfile::tempdir().unwrap();
    let repo = fixture_repo(dir.path(), "r");
    let g = Grove::start(&dir.path().join("data"));
    let repo_id = g.add_repo(&repo);
    g.create_session(repo_id, "att", "bash --norc --noprofile");
    let out = crate::support::attach_until(
        &g.data_dir,
        &["att"],
        "echo attached-$((40+2))\n",
        "attached-42",
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("detached"));
    // The session keeps running after a detach.
    assert_eq!(g.sessions()[0].terminals[0].exit, None);
}
