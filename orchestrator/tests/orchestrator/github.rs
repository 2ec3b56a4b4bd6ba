//! GitHub end to end, against the local stand-in (GitHub's wire format, and a real bare
//! repository behind `git http-backend` that wants the token to push): sign-in with a token, the
//! device flow and the browser flow's callback; commit, push, open a pull request, open it again
//! (linked, not duplicated), checks pending → failing → passing on the session; a revoked token
//! signs out and loses nothing. Every `git` Grove runs goes through a wrapper on PATH that
//! records its argv and environment: the token is in none of them, nor anywhere in the data dir.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use grove_github_standin::{DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, Standin};
use serde_json::{Value, json};

use crate::support::{Grove, cli_stdin, eventually, fixture_repo, git};

const TOKEN: &str = "gho_grove_test_token_5f1c9a7e";
const PASS: &str = "correct horse battery staple";

struct Scene {
    _dir: tempfile::TempDir,
    root: PathBuf,
    standin: Standin,
    grove: Grove,
    git_log: PathBuf,
    repo: PathBuf,
    repo_id: i64,
}

/// A `git` on PATH that appends its argv and environment to `log`, then runs the real one.
fn git_wrapper(bin: &Path, log: &Path) {
    let real = String::from_utf8(
        Command::new("sh")
            .args(["-c", "command -v git"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap()
    .trim()
    .to_owned();
    std::fs::create_dir_all(bin).unwrap();
    let script = format!(
        "#!/bin/sh\n{{ printf 'ARGV:'; for a in \"$@\"; do printf ' %s' \"$a\"; done; printf '\\n'; env | sed 's/^/ENV: /'; }} >> '{}'\nexec '{real}' \"$@\"\n",
        log.display()
    );
    let path = bin.join("git");
    std::fs::write(&path, script).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn scene() -> Scene {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    let standin = Standin::start(&root.join("github")).unwrap();
    standin.add_token(TOKEN, "octo", &["repo"]);
    standin.set_device_interval(1);
    let bare = standin.create_repo("octo", "demo").unwrap();
    let repo = fixture_repo(&root, "demo");
    git(&repo, &["push", "-q", bare.to_str().unwrap(), "main"]);
    git(
        &repo,
        &[
            "remote",
            "add",
            "origin",
            &standin.clone_url("octo", "demo"),
        ],
    );
    let git_log = root.join("git-calls.log");
    git_wrapper(&root.join("bin"), &git_log);
    // The GitHub CLI, signed in with the stand-in's token (it would ask GitHub; nothing here can).
    let gh = root.join("bin/gh");
    std::fs::write(
        &gh,
        format!(
            "#!/bin/sh\n[ \"$1 $2 $3\" = \"auth token --hostname\" ] && [ \"$4\" = \"{}\" ] && echo {TOKEN} && exit 0\necho 'no oauth token for that host' >&2; exit 1\n",
            standin.url().trim_start_matches("http://")
        ),
    )
    .unwrap();
    std::fs::set_permissions(&gh, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!(
        "{}:{}",
        root.join("bin").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let home = root.join("home");
    std::fs::create_dir_all(&home).unwrap();
    let url = standin.url();
    let api = standin.api_url();
    let grove = Grove::start_env(
        &root.join("data"),
        &["--github-poll-ms", "300"],
        &[
            ("PATH", path.as_str()),
            ("HOME", home.to_str().unwrap()),
            ("GIT_CONFIG_NOSYSTEM", "1"),
            ("GROVE_GITHUB_URL", url.as_str()),
            ("GROVE_GITHUB_API_URL", api.as_str()),
            ("GROVE_GITHUB_CLIENT_ID", DEFAULT_CLIENT_ID),
            ("GROVE_GITHUB_CLIENT_SECRET", DEFAULT_CLIENT_SECRET),
        ],
    );
    grove.ok("POST", "/vault/unlock", Some(json!({ "passphrase": PASS })));
    let repo_id = grove.add_repo(&repo);
    Scene {
        _dir: dir,
        root,
        standin,
        grove,
        git_log,
        repo,
        repo_id,
    }
}

fn code(body: &Value) -> &str {
    body["code"].as_str().unwrap_or_default()
}

/// A session whose worktree has one new committed file.
fn session_with_commit(s: &Scene, name: &str) -> (i64, String) {
    let session = s.grove.create_session(s.repo_id, name, "cat");
    std::fs::write(
        Path::new(&session.worktree).join(format!("{name}.txt")),
        "work\n",
    )
    .unwrap();
    git(Path::new(&session.worktree), &["add", "."]);
    git(
        Path::new(&session.worktree),
        &["commit", "-q", "-m", &format!("Add {name}")],
    );
    (session.id, session.branch)
}

/// Every file under `dir` whose bytes contain `needle`.
fn files_containing(dir: &Path, needle: &[u8]) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            let Ok(meta) = std::fs::symlink_metadata(&p) else {
                continue;
            };
            if meta.is_dir() {
                stack.push(p);
            } else if meta.is_file()
                && let Ok(bytes) = std::fs::read(&p)
                && bytes.windows(needle.len()).any(|w| w == needle)
            {
                found.push(p);
            }
        }
    }
    found
}

#[test]
fn token_push_pull_request_checks_and_a_revoked_token() {
    let s = scene();
    let g = &s.grove;
    assert_eq!(g.ok("GET", "/github", None)["signed_in"], false);

    // A token GitHub does not know is refused; nothing is kept.
    let (ok, _, err) = cli_stdin(
        g,
        &["github", "login", "--with-token"],
        "gho_not_a_real_token\n",
    );
    assert!(!ok && err.contains("does not accept this token"), "{err}");
    // The real one, on stdin (never argv).
    let (ok, out, err) = cli_stdin(
        g,
        &["github", "login", "--with-token"],
        &format!("{TOKEN}\n"),
    );
    assert!(ok, "{err}");
    assert!(
        out.contains("signed in to") && out.contains("as octo"),
        "{out}"
    );
    let (ok, out, _) = cli_stdin(g, &["github", "status"], "");
    assert!(
        ok && out.contains("octo") && out.contains("scopes: repo"),
        "{out}"
    );
    // The token is Grove's own: not listed, not settable, not exposable as a secret.
    let secrets = g.ok("GET", "/secrets", None);
    assert_eq!(secrets.as_array().unwrap().len(), 0, "{secrets}");

    // Commit in a session, push: the bare repository behind the stand-in has the branch.
    let (id, branch) = session_with_commit(&s, "feature");
    let (ok, out, err) = cli_stdin(g, &["push", "feature"], "");
    assert!(ok, "{err}");
    assert!(out.contains(&format!("pushed {branch}")), "{out}");
    let bare = s.root.join("github/octo/demo.git");
    let head = git(
        Path::new(&g.sessions().iter().find(|x| x.id == id).unwrap().worktree),
        &["rev-parse", "HEAD"],
    )
    .trim()
    .to_owned();
    assert_eq!(
        git(&bare, &["rev-parse", &format!("refs/heads/{branch}")]).trim(),
        head
    );

    // Open the pull request; opening it again links the same one.
    let (ok, out, err) = cli_stdin(
        g,
        &["pr", "create", "feature", "--title", "Add feature"],
        "",
    );
    assert!(ok, "{err}");
    let url = out.trim().to_owned();
    assert!(url.ends_with("/octo/demo/pull/1"), "{url}");
    let (ok, out, err) = cli_stdin(g, &["pr", "create", "feature", "--title", "Again"], "");
    assert!(ok, "{err}");
    assert_eq!(out.trim(), url);
    assert!(err.contains("already exists"), "{err}");

    // Checks on the head commit, as the session shows them (the poller follows them).
    let pull_of = || g.ok("GET", &format!("/sessions/{id}"), None)["pull"].clone();
    assert_eq!(pull_of()["state"], "open");
    for (state, shown) in [
        ("pending", "pending"),
        ("failure", "failing"),
        ("success", "passing"),
    ] {
        assert!(s.standin.set_status(
            "octo",
            "demo",
            &head,
            "ci/test",
            state,
            Some("https://ci.example/1")
        ));
        eventually(&format!("checks {shown}"), || pull_of()["checks"] == shown);
    }
    let (ok, out, _) = cli_stdin(g, &["pr", "status", "feature"], "");
    assert!(
        ok && out.contains("#1 Add feature (open") && out.contains("ci/test"),
        "{out}"
    );

    // The token is in no git process's argv or environment, and nowhere on disk; the helper
    // that lent it was injected for the push only.
    let log = std::fs::read_to_string(&s.git_log).unwrap();
    assert!(log.contains("ARGV: push"), "the wrapper saw no push");
    assert!(
        log.contains("GIT_CONFIG_VALUE_1=!") && log.contains("git-credential --endpoint"),
        "no injected helper"
    );
    assert!(
        !log.contains(TOKEN),
        "the token reached a git process's argv or environment"
    );
    for dir in [&s.root.join("data"), &s.repo, &s.root.join("home")] {
        let found = files_containing(dir, TOKEN.as_bytes());
        assert!(found.is_empty(), "the token is on disk in {found:?}");
    }
    assert!(
        !std::fs::read_to_string(s.repo.join(".git/config"))
            .unwrap()
            .contains("credential")
    );

    // A revoked token: the next check gets 401, Grove signs out and says why; the session and
    // its pull request stay.
    s.standin.revoke_token(TOKEN);
    eventually("signed out after 401", || {
        g.ok("GET", "/github", None)["signed_in"] == false
    });
    let status = g.ok("GET", "/github", None);
    assert!(
        status["problem"]
            .as_str()
            .unwrap()
            .contains("rejected the token"),
        "{status}"
    );
    assert_eq!(pull_of()["number"], 1);
    let (code_, body) = g.call(
        "POST",
        &format!("/sessions/{id}/pr"),
        Some(json!({"title": "x"})),
    );
    assert_eq!((code_, code(&body)), (409, "github_signed_out"), "{body}");
}

#[test]
fn pull_request_refusals_and_a_failed_push() {
    let s = scene();
    let g = &s.grove;
    // Before sign-in, opening a pull request says to sign in.
    let (id, _) = session_with_commit(&s, "early");
    let (st, body) = g.call(
        "POST",
        &format!("/sessions/{id}/pr"),
        Some(json!({"title": "x"})),
    );
    assert_eq!((st, code(&body)), (409, "github_signed_out"), "{body}");
    g.ok(
        "POST",
        "/github/login/token",
        Some(json!({ "token": TOKEN })),
    );

    // Drafts refused by the repository: a plain message offering a normal pull request.
    assert!(s.standin.set_draft_supported("octo", "demo", false));
    let (st, body) = g.call(
        "POST",
        &format!("/sessions/{id}/pr"),
        Some(json!({"title": "x", "draft": true})),
    );
    assert_eq!((st, code(&body)), (422, "draft_unsupported"), "{body}");
    let created = g.ok(
        "POST",
        &format!("/sessions/{id}/pr"),
        Some(json!({"title": "x"})),
    );
    assert_eq!(created["existed"], false);

    // No commits over the base.
    let empty = g.create_session(s.repo_id, "empty", "cat");
    let (st, body) = g.call(
        "POST",
        &format!("/sessions/{}/pr", empty.id),
        Some(json!({"title": "x"})),
    );
    assert_eq!(code(&body), "github_error", "{st} {body}");
    assert!(
        body["message"].as_str().unwrap().contains("has no commits"),
        "{body}"
    );

    // The prefilled title comes from the one commit.
    let draft = g.ok("GET", &format!("/sessions/{id}/pr/draft"), None);
    assert_eq!(draft["title"], "Add early");
    assert_eq!(draft["base"], "main");
    assert_eq!(draft["repo"], "octo/demo");

    // The network fails mid-push (nothing listens): reported, nothing changed locally.
    let (id2, _) = session_with_commit(&s, "offline");
    let wt = g
        .sessions()
        .into_iter()
        .find(|x| x.id == id2)
        .unwrap()
        .worktree;
    let before = git(Path::new(&wt), &["rev-parse", "HEAD"]);
    git(
        &s.repo,
        &[
            "remote",
            "set-url",
            "origin",
            "http://127.0.0.1:9/octo/demo.git",
        ],
    );
    let (st, body) = g.call("POST", &format!("/sessions/{id2}/push"), None);
    assert_eq!((st, code(&body)), (502, "push_failed"), "{body}");
    assert_eq!(git(Path::new(&wt), &["rev-parse", "HEAD"]), before);
    // A remote that is not on the GitHub host: no pull request there.
    git(
        &s.repo,
        &[
            "remote",
            "set-url",
            "origin",
            "https://gitlab.example/octo/demo.git",
        ],
    );
    let (st, body) = g.call(
        "POST",
        &format!("/sessions/{id2}/pr"),
        Some(json!({"title": "x"})),
    );
    assert_eq!((st, code(&body)), (422, "not_github"), "{body}");
}

#[test]
fn device_flow_and_browser_flow_sign_in() {
    let s = scene();
    let g = &s.grove;
    // Device flow: a code to show; approving it on "GitHub" signs in.
    let started = g.ok("POST", "/github/login/device", None);
    let user_code = started["device"]["user_code"].as_str().unwrap().to_owned();
    assert!(
        started["device"]["verification_uri"]
            .as_str()
            .unwrap()
            .ends_with("/login/device")
    );
    assert!(s.standin.approve_device(&user_code, "octo", &["repo"]));
    eventually("device sign-in", || {
        g.ok("GET", "/github", None)["signed_in"] == true
    });
    g.ok("POST", "/github/logout", None);
    // A denied one ends with a plain problem.
    let started = g.ok("POST", "/github/login/device", None);
    let user_code = started["device"]["user_code"].as_str().unwrap().to_owned();
    assert!(s.standin.deny_device(&user_code));
    eventually("denied", || {
        g.ok("GET", "/github", None)["problem"]
            .as_str()
            .is_some_and(|p| p.contains("cancelled"))
    });

    // The GitHub CLI's token, imported only with consent.
    g.ok("POST", "/github/logout", None);
    let (ok, _, err) = cli_stdin(g, &["github", "login", "--from-gh"], "");
    assert!(!ok && err.contains("consent"), "{err}");
    assert_eq!(g.ok("GET", "/github", None)["signed_in"], false);
    let (ok, out, err) = cli_stdin(g, &["github", "login", "--from-gh", "--yes"], "");
    assert!(ok, "{err}");
    assert!(out.contains("as octo"), "{out}");
    g.ok("POST", "/github/logout", None);

    // Browser flow: the authorize page redirects to grove://auth/callback with code and state;
    // the stand-in checks the PKCE verifier at the exchange.
    let authorize = g.ok("POST", "/github/login/web", None)["authorize_url"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        authorize.contains("code_challenge_method=S256"),
        "{authorize}"
    );
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .max_redirects(0)
        .http_status_as_error(false)
        .build()
        .into();
    let resp = agent
        .get(&authorize)
        .header("User-Agent", "test")
        .call()
        .unwrap();
    let location = resp.headers()["location"].to_str().unwrap().to_owned();
    let link = url::Url::parse(&location).unwrap();
    assert_eq!(
        (link.scheme(), link.host_str(), link.path()),
        ("grove", Some("auth"), "/callback")
    );
    let q: std::collections::HashMap<String, String> = link.query_pairs().into_owned().collect();
    // A wrong state is refused.
    let (st, body) = g.call(
        "POST",
        "/github/callback",
        Some(json!({"state": "forged", "code": q["code"]})),
    );
    assert_eq!((st, code(&body)), (400, "bad_state"), "{body}");
    let status = g.ok(
        "POST",
        "/github/callback",
        Some(json!({"state": q["state"], "code": q["code"]})),
    );
    assert_eq!(status["signed_in"], true, "{status}");
    assert_eq!(status["login"], "octocat");
    // The state is single-use.
    let (st, body) = g.call(
        "POST",
        "/github/callback",
        Some(json!({"state": q["state"], "code": q["code"]})),
    );
    assert_eq!((st, code(&body)), (400, "bad_state"), "{body}");
}
