//! Reviewing a session's work through the real server and the real `grove` CLI: changes in both
//! scopes, diffs, commit with real hooks, revert and undo.

#[cfg(unix)]
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use serde_json::json;

use crate::support::{Grove, TermClient, fixture_repo, git, rt};

/// The server's git sees no user or system config: only what each test's repo sets.
const ISOLATED: &[(&str, &str)] = &[
    ("GIT_CONFIG_GLOBAL", "/dev/null"),
    ("GIT_CONFIG_NOSYSTEM", "1"),
];

struct Setup {
    /// Holds the temp dir: bind it in tests, or it is deleted at once.
    _dir: tempfile::TempDir,
    g: Grove,
    repo: PathBuf,
    id: i64,
    wt: PathBuf,
}

fn setup(identity: bool) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let repo = fixture_repo(dir.path(), "proj");
    if identity {
        git(&repo, &["config", "user.name", "Grove Test"]);
        git(&repo, &["config", "user.email", "test@grove.invalid"]);
    }
    let g = Grove::start_env(&dir.path().join("data"), &[], ISOLATED);
    let repo_id = g.add_repo(&repo);
    let s = g.create_session(repo_id, "rev", "cat");
    let wt = PathBuf::from(&s.worktree);
    Setup {
        _dir: dir,
        g,
        repo,
        id: s.id,
        wt,
    }
}

fn write(path: &Path, bytes: impl AsRef<[u8]>) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}

fn files(g: &Grove, id: i64, scope: &str) -> Vec<serde_json::Value> {
    let v = g.ok(
        "GET",
        &format!("/sessions/{id}/changes?scope={scope}"),
        None,
    );
    v["files"].as_array().unwrap().clone()
}

fn summary(files: &[serde_json::Value]) -> Vec<String> {
    files
        .iter()
        .map(|f| {
            let mut parts = vec![
                f["status"].as_str().unwrap().to_owned(),
                f["path"].as_str().unwrap().to_owned(),
            ];
            if f["binary"].as_bool().unwrap() {
                parts.push("binary".into());
            }
            if let Some(old) = f["old_path"].as_str() {
                parts.push(format!("from {old}"));
            }
            parts.push(format!("+{} -{}", f["additions"], f["deletions"]));
            parts.join(" ")
        })
        .collect()
}

#[cfg(unix)]
#[test]
fn every_status_kind_in_both_scopes_and_the_cli_json() {
    let Setup {
        _dir,
        g,
        repo,
        id,
        wt,
        ..
    } = setup(true);
    let sub = repo.parent().unwrap().join("sub");
    fixture_repo(repo.parent().unwrap(), "sub");
    // Committed in the session: in the base scope only.
    write(&wt.join("committed.txt"), "c\n");
    git(&wt, &["add", "committed.txt"]);
    git(&wt, &["commit", "-qm", "session work"]);
    // A commit on main after the session branched must not show.
    write(&repo.join("main-only.txt"), "later\n");
    git(&repo, &["add", "main-only.txt"]);
    git(&repo, &["commit", "-qm", "main moves on"]);

    write(&wt.join("README.md"), "# fixture\nmore\n");
    write(&wt.join("notes/new.txt"), "a\nb\n");
    std::fs::remove_file(wt.join("src/lib.rs")).unwrap();
    git(&wt, &["mv", "committed.txt", "renamed.txt"]);
    write(&wt.join("blob.bin"), [0u8, 159, 146, 150, 0]);
    std::os::unix::fs::symlink("README.md", wt.join("link")).unwrap();
    write(&wt.join(".gitignore"), "target/\n");
    write(&wt.join("target/out"), "ignored\n");
    git(
        &wt,
        &[
            "-c",
            "protocol.file.allow=always",
            "submodule",
            "add",
            "-q",
            sub.to_str().unwrap(),
            "vendor/sub",
        ],
    );

    let base = files(&g, id, "base");
    assert_eq!(
        summary(&base),
        [
            "added .gitignore +1 -0",
            "added .gitmodules +3 -0",
            "modified README.md +1 -0",
            "added blob.bin binary +0 -0",
            "added link +1 -0",
            "added notes/new.txt +2 -0",
            "added renamed.txt +1 -0",
            "deleted src/lib.rs +0 -1",
            "submodule vendor/sub +1 -0",
        ]
    );
    let uncommitted = files(&g, id, "uncommitted");
    let renamed = uncommitted
        .iter()
        .find(|f| f["path"] == "renamed.txt")
        .unwrap();
    assert_eq!(renamed["status"], "renamed");
    assert_eq!(renamed["old_path"], "committed.txt");

    // A type change: a tracked file becomes a symlink.
    std::fs::remove_file(wt.join("README.md")).unwrap();
    std::os::unix::fs::symlink("notes/new.txt", wt.join("README.md")).unwrap();
    let base = files(&g, id, "base");
    let readme = base.iter().find(|f| f["path"] == "README.md").unwrap();
    assert_eq!(readme["status"], "type_changed");

    // The CLI's JSON has exactly the fields the issue names (the API adds `version`).
    let out = g.grove_cli(&["changes", "rev", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let obj = v.as_object().unwrap();
    assert_eq!(obj.keys().collect::<Vec<_>>(), ["files"]);
    for f in v["files"].as_array().unwrap() {
        let mut keys: Vec<&String> = f.as_object().unwrap().keys().collect();
        keys.sort();
        assert_eq!(
            keys,
            [
                "additions",
                "binary",
                "deletions",
                "old_path",
                "path",
                "status"
            ]
        );
    }
    assert_eq!(v["files"].as_array().unwrap().len(), base.len());

    // Bad input gets a clear, typed error.
    let (status, err) = g.call(
        "GET",
        &format!("/sessions/{id}/changes?scope=sideways"),
        None,
    );
    assert_eq!(status, 400, "{err}");
    let (status, err) = g.call("GET", "/sessions/999/changes", None);
    assert_eq!((status, err["code"].as_str()), (404, Some("not_found")));
}

#[test]
fn diffs_of_one_file_or_all_through_api_and_cli() {
    let Setup {
        _dir, g, id, wt, ..
    } = setup(true);
    write(&wt.join("README.md"), "# fixture\r\nno newline");
    write(&wt.join("untracked dir/ü n.txt"), "hello\n");
    let big: String = (0..20_001).map(|i| format!("{i}\n")).collect();
    write(&wt.join("big.txt"), big);

    let d = g.ok(
        "GET",
        &format!("/sessions/{id}/diff?path=README.md&scope=base"),
        None,
    );
    let files = d["files"].as_array().unwrap();
    assert_eq!(files.len(), 1);
    assert_eq!(files[0]["content"]["kind"], "text");
    let patch = files[0]["content"]["patch"].as_str().unwrap();
    assert!(
        patch.contains("-# fixture\n+# fixture\r\n+no newline\n\\ No newline at end of file"),
        "{patch}"
    );
    let d = g.ok("GET", &format!("/sessions/{id}/diff?path=big.txt"), None);
    assert_eq!(d["files"][0]["content"]["kind"], "too_large");
    assert_eq!(d["files"][0]["content"]["lines"], 20_001);
    let (status, err) = g.call("GET", &format!("/sessions/{id}/diff?path=src/lib.rs"), None);
    assert_eq!((status, err["code"].as_str()), (404, Some("not_changed")));

    let out = g.grove_cli(&["diff", "rev"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        // Non-ASCII paths are quoted in headers, as git does.
        text.contains("+++ \"b/untracked dir/\\303\\274 n.txt\"\n@@ -0,0 +1 @@\n+hello"),
        "{text}"
    );
    assert!(text.contains("# too large to show"), "{text}");
    let out = g.grove_cli(&["diff", "rev", "untracked dir/ü n.txt"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && text.contains("+hello") && !text.contains("README"));
}

#[cfg(unix)]
#[test]
fn commit_through_a_failing_then_passing_hook() {
    let Setup {
        _dir,
        g,
        repo,
        id,
        wt,
        ..
    } = setup(true);
    let hook = repo.join(".git/hooks/pre-commit");
    write(
        &hook,
        "#!/bin/sh\necho 'pre-commit: trailing whitespace in a.txt' >&2\nexit 1\n",
    );
    std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
    write(&wt.join("a.txt"), "a \n");
    write(&wt.join("b.txt"), "b\n");

    let (status, err) = g.call(
        "POST",
        &format!("/sessions/{id}/commit"),
        Some(json!({"message": "work"})),
    );
    assert_eq!(
        (status, err["code"].as_str()),
        (422, Some("hook_failed")),
        "{err}"
    );
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .contains("pre-commit: trailing whitespace in a.txt"),
        "{err}"
    );

    write(&hook, "#!/bin/sh\nexit 0\n");
    let out = g.grove_cli(&["commit", "rev", "-m", "just a", "a.txt"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(git(&wt, &["log", "-1", "--format=%s"]).trim(), "just a");
    // The failed attempt staged everything (`git add --all`), as it would in a terminal; only
    // a.txt was committed now.
    assert_eq!(git(&wt, &["status", "--porcelain"]).trim(), "A  b.txt");
    let out = g.grove_cli(&["commit", "rev", "-m", "the rest", "--all"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(git(&wt, &["status", "--porcelain"]).trim(), "");
    assert_eq!(files(&g, id, "uncommitted").len(), 0);
    assert_eq!(files(&g, id, "base").len(), 2);

    let (status, err) = g.call(
        "POST",
        &format!("/sessions/{id}/commit"),
        Some(json!({"message": "again"})),
    );
    assert_eq!(
        (status, err["code"].as_str()),
        (409, Some("nothing_to_commit")),
        "{err}"
    );
    let out = g.grove_cli(&["commit", "rev", "-m", "x"]);
    assert!(!out.status.success());
}

#[test]
fn a_missing_identity_is_a_plain_error() {
    let Setup {
        _dir, g, id, wt, ..
    } = setup(false);
    write(&wt.join("a.txt"), "a\n");
    let (status, err) = g.call(
        "POST",
        &format!("/sessions/{id}/commit"),
        Some(json!({"message": "work"})),
    );
    assert_eq!(
        (status, err["code"].as_str()),
        (422, Some("identity_missing")),
        "{err}"
    );
    assert!(
        err["message"].as_str().unwrap().contains("user.name"),
        "{err}"
    );
}

#[cfg(unix)]
#[test]
fn revert_and_undo_restore_byte_identical_content() {
    let Setup {
        _dir, g, id, wt, ..
    } = setup(true);
    let edited: &[u8] = b"\xff\xfe not utf-8\r\nno newline";
    write(&wt.join("README.md"), edited);
    let r = g.ok(
        "POST",
        &format!("/sessions/{id}/revert"),
        Some(json!({"path": "README.md"})),
    );
    assert_eq!(std::fs::read(wt.join("README.md")).unwrap(), b"# fixture\n");
    assert_eq!(files(&g, id, "base").len(), 0);
    let undo_id = r["undo_id"].as_str().unwrap();
    let kept = g.data_dir.join("undo").join(id.to_string()).join(undo_id);
    let mode = std::fs::metadata(kept.join("0.blob"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);

    let u = g.ok("POST", &format!("/sessions/{id}/undo"), None);
    assert_eq!(u["paths"], json!(["README.md"]));
    assert_eq!(std::fs::read(wt.join("README.md")).unwrap(), edited);
    let (status, err) = g.call("POST", &format!("/sessions/{id}/undo"), None);
    assert_eq!(
        (status, err["code"].as_str()),
        (409, Some("nothing_to_undo")),
        "{err}"
    );
    let (status, err) = g.call(
        "POST",
        &format!("/sessions/{id}/revert"),
        Some(json!({"path": "../outside"})),
    );
    assert_eq!(
        (status, err["code"].as_str()),
        (404, Some("not_changed")),
        "{err}"
    );
}

#[test]
fn one_hunk_reverts_through_the_cli_and_undo_puts_it_back() {
    let Setup {
        _dir, g, id, wt, ..
    } = setup(true);
    let lines: Vec<String> = (1..=30).map(|i| format!("line {i}")).collect();
    write(&wt.join("notes.txt"), lines.join("\n") + "\n");
    git(&wt, &["add", "notes.txt"]);
    git(&wt, &["commit", "-qm", "notes"]);
    let mut edited = lines.clone();
    edited[2] = "line 3 edited".into();
    edited[24] = "line 25 edited".into();
    edited.insert(25, "a new line".into());
    let edited = edited.join("\n") + "\n";
    write(&wt.join("notes.txt"), &edited);

    let d = g.ok(
        "GET",
        &format!("/sessions/{id}/diff?path=notes.txt&scope=uncommitted"),
        None,
    );
    let patch = d["files"][0]["content"]["patch"]
        .as_str()
        .unwrap()
        .to_owned();
    let headers: Vec<&str> = patch.lines().filter(|l| l.starts_with("@@")).collect();
    // git appends the nearest line above as context; the header is passed whole.
    assert_eq!(
        headers,
        ["@@ -1,6 +1,6 @@", "@@ -22,7 +22,8 @@ line 21"],
        "{patch}"
    );

    let out = g.grove_cli(&[
        "revert",
        "rev",
        "notes.txt",
        "--uncommitted",
        "--hunk",
        headers[1],
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut want = lines.clone();
    want[2] = "line 3 edited".into();
    assert_eq!(
        std::fs::read_to_string(wt.join("notes.txt")).unwrap(),
        want.join("\n") + "\n",
        "only the second hunk went back"
    );
    // The same header again is gone from the diff: refused, nothing touched.
    let (status, err) = g.call(
        "POST",
        &format!("/sessions/{id}/revert"),
        Some(json!({"path": "notes.txt", "scope": "uncommitted", "hunk": headers[1]})),
    );
    assert_eq!(
        (status, err["code"].as_str()),
        (409, Some("hunk_not_found")),
        "{err}"
    );
    let out = g.grove_cli(&["undo", "rev"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(wt.join("notes.txt")).unwrap(),
        edited
    );

    // The whole file to HEAD keeps the session's commit of it.
    g.ok(
        "POST",
        &format!("/sessions/{id}/revert"),
        Some(json!({"path": "notes.txt", "scope": "uncommitted"})),
    );
    assert_eq!(
        std::fs::read_to_string(wt.join("notes.txt")).unwrap(),
        lines.join("\n") + "\n"
    );
}

#[test]
fn comments_arrive_in_the_agent_terminal_as_one_bracketed_paste() {
    let dir = tempfile::tempdir().unwrap();
    let repo = fixture_repo(dir.path(), "proj");
    let g = Grove::start_env(&dir.path().join("data"), &[], ISOLATED);
    let repo_id = g.add_repo(&repo);
    // An "agent" that turns on bracketed paste, then shows every byte it reads (`cat -v`
    // prints ESC as ^[).
    let s = g.create_session(
        repo_id,
        "talk",
        r#"sh -c 'printf "\033[?2004hREADY\n"; stty -echo -icanon; exec cat -v'"#,
    );
    let tid = s.terminals[0].id;
    rt().block_on(async {
        let mut c = TermClient::connect(&g, tid, "?from=0").await;
        c.read_until("READY").await;
        let sent = g.ok(
            "POST",
            &format!("/sessions/{}/comments", s.id),
            Some(json!({"comments": [
                {"path": "src/lib.rs", "line": 1, "quote": "pub fn f() {}", "text": "Name this better."},
                {"path": "README.md", "line": 2, "end_line": 4, "quote": "a\nb", "text": "no\u{1b}[201~ escape"},
            ]})),
        );
        assert_eq!(sent["terminal_id"], tid);
        c.read_until("^[[201~").await;
        let out = String::from_utf8_lossy(&c.bytes).replace('\r', "");
        let start = out.find("^[[200~").expect("paste start");
        let body = &out[start..];
        assert_eq!(
            body.trim_end(),
            "^[[200~Review comments:\n\nsrc/lib.rs:1\n> pub fn f() {}\nName this better.\n\n\
             README.md:2-4\n> a\n> b\nno[201~ escape\n^[[201~",
            "{out}"
        );
    });
    let (status, err) = g.call(
        "POST",
        &format!("/sessions/{}/comments", s.id),
        Some(json!({"comments": []})),
    );
    assert_eq!(
        (status, err["code"].as_str()),
        (400, Some("invalid_request")),
        "{err}"
    );

    let out = g.grove_cli(&["comment", "talk", "src/lib.rs:1", "-m", "From the CLI."]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("src/lib.rs:1\nFrom the CLI."));
    let out = g.grove_cli(&["comment", "talk", "src/lib.rs", "-m", "x"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("PATH:LINE"));
}
