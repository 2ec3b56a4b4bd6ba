//! Test fixtures shared by the git module's unit tests: a real repository in a temp dir, built
//! with the `git` CLI isolated from the user's config.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

use tempfile::TempDir;

use super::{CreatedWorktree, NewWorktree, create_worktree};

/// Runs the `git` CLI in `dir`, isolated from the user's config, and returns its stdout.
pub(crate) fn git(dir: &Path, args: &[&str]) -> String {
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

/// Writes `text` to `path`, creating its folders.
pub(crate) fn write(path: &Path, text: &str) {
    fs_err::create_dir_all(path.parent().unwrap()).unwrap();
    fs_err::write(path, text).unwrap();
}

/// Commits `name` with `text` in `repo` and returns the new HEAD.
pub(super) fn commit_file(repo: &Path, name: &str, text: &str) -> String {
    write(&repo.join(name), text);
    git(repo, &["add", "-A"]);
    git(repo, &["commit", "-qm", &format!("add {name}")]);
    git(repo, &["rev-parse", "HEAD"])
}

/// A repository `proj` with two commits on `main`, and a worktree root next to it.
pub(super) struct Fixture {
    pub(super) tmp: TempDir,
    pub(super) repo: PathBuf,
    pub(super) root: PathBuf,
}

impl Fixture {
    pub(super) fn new() -> Fixture {
        let tmp = TempDir::new().unwrap();
        let repo = tmp.path().join("proj");
        fs_err::create_dir_all(&repo).unwrap();
        git(&repo, &["init", "-q", "-b", "main"]);
        commit_file(&repo, "README.md", "hello\n");
        commit_file(&repo, "src/lib.rs", "pub fn f() {}\n");
        let root = tmp.path().join("grove-worktrees");
        Fixture { tmp, repo, root }
    }

    pub(super) fn wt_path(&self, name: &str) -> PathBuf {
        self.root.join("proj").join(name)
    }

    pub(super) fn opts<'a>(&'a self, path: &'a Path, branch: &'a str) -> NewWorktree<'a> {
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

    pub(super) fn create(&self, name: &str, branch: &str) -> CreatedWorktree {
        let path = self.wt_path(name);
        create_worktree(&self.opts(&path, branch)).unwrap()
    }

    pub(super) fn add_origin(&self) -> PathBuf {
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
