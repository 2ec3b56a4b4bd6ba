//! Attack cases: files. The data dir is the user's alone (0700, every file 0600), one that
//! another user owns or can write to is refused, and the CLI never sends the token to whatever
//! now listens at a stale server file's address.

use std::io::Read;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::{Grove, eventually, fixture_repo};

/// Runs `grove serve` in `data_dir` (with `extra` args) and expects it to refuse to start.
fn serve_refused(data_dir: &Path, extra: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_grove"))
        .arg("--data-dir")
        .arg(data_dir)
        .arg("serve")
        .args(extra)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "grove serve started: {stderr}");
    stderr
}

#[test]
fn a_data_dir_others_can_write_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o777)).unwrap();
    let err = serve_refused(&data, &[]);
    assert!(err.contains(&data.display().to_string()), "{err}");
    assert!(err.contains("chmod 700"), "names the fix: {err}");
    assert!(
        !data.join("grove.db").exists(),
        "nothing was written into it"
    );
}

#[test]
fn a_data_dir_of_another_user_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o700)).unwrap();
    // We run as root in CI; `nobody` is another user.
    std::os::unix::fs::chown(&data, Some(65534), Some(65534)).unwrap();
    let err = serve_refused(&data, &[]);
    assert!(err.contains(&data.display().to_string()), "{err}");
    assert!(err.contains("belongs to another user"), "{err}");
    assert!(err.contains("chown"), "names the fix: {err}");
}

#[test]
fn a_worktree_root_others_can_write_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("worktrees");
    std::fs::create_dir(&root).unwrap();
    std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o777)).unwrap();
    let err = serve_refused(
        &dir.path().join("data"),
        &["--worktree-root", root.to_str().unwrap()],
    );
    assert!(err.contains("worktree root"), "{err}");
    assert!(err.contains(&root.display().to_string()), "{err}");
}

/// Every entry under `data` except what is inside a worktree (agents' files keep the umask):
/// folders 0700, files 0600. Returns how many files were checked.
fn assert_private(data: &Path) -> usize {
    let worktrees = data.join("worktrees");
    let mut files = 0;
    let mut stack: Vec<PathBuf> = vec![data.to_owned()];
    let mut bad = Vec::new();
    while let Some(dir) = stack.pop() {
        let mode = std::fs::symlink_metadata(&dir).unwrap().mode() & 0o777;
        if mode != 0o700 {
            bad.push(format!("{} is a folder with mode {mode:o}", dir.display()));
        }
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            // worktrees/<repo>/<session> is the worktree itself.
            let in_worktree = path
                .strip_prefix(&worktrees)
                .is_ok_and(|rel| rel.components().count() >= 2);
            if in_worktree {
                continue;
            }
            if meta.is_dir() {
                stack.push(path);
            } else {
                files += 1;
                let mode = meta.mode() & 0o777;
                if mode != 0o600 {
                    bad.push(format!("{} has mode {mode:o}", path.display()));
                }
            }
        }
    }
    assert!(bad.is_empty(), "not private: {bad:#?}");
    files
}

#[test]
fn every_file_grove_writes_is_private() {
    let dir = tempfile::tempdir().unwrap();
    let repo = fixture_repo(dir.path(), "repo");
    let data = dir.path().join("data");
    let g = Grove::start(&data);
    let repo_id = g.add_repo(&repo);
    let s = g.create_session(repo_id, "files", "printf 'printed-%s\\n' here; cat");
    let log = data.join("logs").join(format!("{}.log", s.terminals[0].id));
    // The log is flushed about once a second.
    eventually("the terminal's output reached its log file", || {
        let mut text = Vec::new();
        std::fs::File::open(&log)
            .and_then(|mut f| f.read_to_end(&mut text))
            .is_ok_and(|_| String::from_utf8_lossy(&text).contains("printed-here"))
    });
    assert!(data.join("server.json").exists());
    let running = assert_private(&data);
    assert!(running >= 4, "db, lock, server file, log: {running}");
    // Stopping saves the screens too.
    g.stop();
    let stopped = assert_private(&data);
    assert!(
        std::fs::read_dir(data.join("logs"))
            .unwrap()
            .any(|e| e.unwrap().path().extension().is_some_and(|x| x == "screen")),
        "a screen file was written"
    );
    assert!(stopped >= 3, "{stopped}");
}
