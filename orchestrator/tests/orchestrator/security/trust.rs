//! Attack cases: a hostile repository's `grove.toml`. Its setup, agent and environment must run
//! nothing until the user approved that exact content, must be read from the main checkout's HEAD
//! only, and must not slip code-loading environment keys or links to secrets through.

use std::path::{Path, PathBuf};

use grove_orchestrator::wire::{RepoTrust, Session, TrustState};
use serde_json::json;

use crate::support::{Grove, eventually, fixture_repo, git};

fn code(v: &serde_json::Value) -> &str {
    v["code"].as_str().unwrap_or("")
}

fn commit_config(repo: &Path, text: &str) {
    std::fs::write(repo.join("grove.toml"), text).unwrap();
    git(repo, &["add", "grove.toml"]);
    git(repo, &["commit", "-q", "-m", "grove.toml"]);
}

fn trust_of(g: &Grove, repo_id: i64) -> RepoTrust {
    serde_json::from_value(g.ok("GET", &format!("/repos/{repo_id}/trust"), None)).unwrap()
}

/// `grove repo trust REPO ARGS...` through the real CLI; returns (success, stdout + stderr).
fn cli_trust(g: &Grove, args: &[&str]) -> (bool, String) {
    let mut all = vec!["repo", "trust"];
    all.extend_from_slice(args);
    let out = g.grove_cli(&all);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

fn try_create(g: &Grove, repo_id: i64, name: &str) -> (u16, serde_json::Value) {
    g.call(
        "POST",
        "/sessions",
        Some(json!({ "repo_id": repo_id, "name": name })),
    )
}

fn create(g: &Grove, repo_id: i64, name: &str, command: &str) -> Session {
    g.create_session(repo_id, name, command)
}

/// Runs `env` in a new terminal of the session and returns its output, one `K=V` a line.
fn env_of(g: &Grove, session: &Session, dir: &Path, tag: &str) -> String {
    let dump = dir.join(format!("env-{tag}.txt"));
    g.ok(
        "POST",
        &format!("/sessions/{}/terminals", session.id),
        Some(json!({ "command": format!("env > {}.tmp && mv {0}.tmp {0}; exec cat", dump.display()) })),
    );
    eventually("the terminal dumped its environment", || dump.exists());
    std::fs::read_to_string(&dump).unwrap()
}

struct Hostile {
    _dir: tempfile::TempDir,
    repo: PathBuf,
    marks: PathBuf,
    data: PathBuf,
}

fn hostile() -> Hostile {
    let dir = tempfile::tempdir().unwrap();
    let repo = fixture_repo(dir.path(), "hostile");
    let marks = dir.path().join("marks");
    std::fs::create_dir_all(&marks).unwrap();
    let data = dir.path().join("data");
    Hostile {
        repo,
        marks,
        data,
        _dir: dir,
    }
}

#[test]
fn setup_agent_and_env_run_nothing_until_approved_and_again_after_a_change() {
    let h = hostile();
    let m = h.marks.display();
    commit_config(
        &h.repo,
        &format!(
            "setup = [\"touch {m}/setup-ran\"]\nagent = \"sh -c 'touch {m}/agent-ran; exec cat'\"\n[env]\nHOSTILE_FLAG = \"set\"\n"
        ),
    );
    let g = Grove::start(&h.data);
    let repo_id = g.add_repo(&h.repo);

    // Never approved: refused before anything exists, saying what it would run and how to approve.
    let trust = trust_of(&g, repo_id);
    assert_eq!(trust.state, TrustState::Untrusted);
    assert_eq!(
        trust.default_command,
        format!("sh -c 'touch {m}/agent-ran; exec cat'")
    );
    let (status, body) = try_create(&g, repo_id, "first");
    assert_eq!((status, code(&body)), (409, "untrusted_config"), "{body}");
    let message = body["message"].as_str().unwrap();
    for needle in [
        &format!("$ touch {m}/setup-ran") as &str,
        "HOSTILE_FLAG=set",
        "grove repo trust hostile",
    ] {
        assert!(message.contains(needle), "{needle} in {message}");
    }
    assert!(g.sessions().is_empty());
    assert!(!h.data.join("worktrees/hostile/first").exists());
    // Neither does naming a command of one's own get around it.
    let (status, body) = g.call(
        "POST",
        "/sessions",
        Some(json!({ "repo_id": repo_id, "name": "own", "command": "cat" })),
    );
    assert_eq!((status, code(&body)), (409, "untrusted_config"), "{body}");

    // A script cannot approve by accident: without a terminal to ask on, `trust` needs --yes.
    let (ok, out) = cli_trust(&g, &["hostile"]);
    assert!(!ok && out.contains("--yes"), "{out}");
    assert_eq!(trust_of(&g, repo_id).state, TrustState::Untrusted);
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert!(!h.marks.join("setup-ran").exists());
    assert!(!h.marks.join("agent-ran").exists());

    // Approved: exactly that config runs.
    let (ok, out) = cli_trust(&g, &["hostile", "--yes"]);
    assert!(ok, "{out}");
    assert!(out.contains(&format!("$ touch {m}/setup-ran")), "{out}");
    let (status, body) = try_create(&g, repo_id, "first");
    assert_eq!(status, 200, "{body}");
    let first: Session = serde_json::from_value(body).unwrap();
    eventually("setup ran", || h.marks.join("setup-ran").exists());
    eventually("agent ran", || h.marks.join("agent-ran").exists());
    assert!(env_of(&g, &first, &h.marks, "first").contains("HOSTILE_FLAG=set\n"));

    // A new commit changes the config: refused again until re-approved, with the change shown.
    commit_config(
        &h.repo,
        &format!(
            "setup = [\"touch {m}/setup-ran\", \"touch {m}/changed-ran\"]\nagent = \"sh -c 'touch {m}/agent-ran; exec cat'\"\n[env]\nHOSTILE_FLAG = \"set\"\n"
        ),
    );
    let trust = trust_of(&g, repo_id);
    assert_eq!(trust.state, TrustState::Changed);
    assert!(
        trust
            .summary
            .contains(&format!("+ setup: touch {m}/changed-ran")),
        "{}",
        trust.summary
    );
    let (status, body) = try_create(&g, repo_id, "second");
    assert_eq!((status, code(&body)), (409, "untrusted_config"), "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("not the version you approved")
    );
    // Approving with a stale hash (what the user saw before the change) is refused too.
    let (status, body) = g.call(
        "PUT",
        &format!("/repos/{repo_id}/trust"),
        Some(json!({ "hash": "0".repeat(64) })),
    );
    assert_eq!((status, code(&body)), (409, "config_changed"), "{body}");
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert!(!h.marks.join("changed-ran").exists());

    let (ok, out) = cli_trust(&g, &["hostile", "--yes"]);
    assert!(ok, "{out}");
    create(&g, repo_id, "second", "cat");
    eventually("the re-approved setup ran", || {
        h.marks.join("changed-ran").exists()
    });

    // Revoked: refused again, and new terminals get none of its environment.
    let out = g.grove_cli(&["repo", "untrust", "hostile"]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(trust_of(&g, repo_id).state, TrustState::Untrusted);
    let (status, body) = try_create(&g, repo_id, "third");
    assert_eq!((status, code(&body)), (409, "untrusted_config"), "{body}");
    assert!(!env_of(&g, &first, &h.marks, "revoked").contains("HOSTILE_FLAG"));
}

#[test]
fn config_comes_from_head_never_the_working_tree_or_a_session_branch() {
    let h = hostile();
    let m = h.marks.display();
    commit_config(&h.repo, "[env]\nORIGIN_OF_CONFIG = \"head\"\n");
    let g = Grove::start(&h.data);
    let repo_id = g.add_repo(&h.repo);
    let (ok, out) = cli_trust(&g, &["hostile", "--yes"]);
    assert!(ok, "{out}");

    // An uncommitted edit in the main checkout (anyone's, or an agent's) is not the config.
    std::fs::write(
        h.repo.join("grove.toml"),
        format!(
            "setup = [\"touch {m}/worktree-setup\"]\n[env]\nORIGIN_OF_CONFIG = \"working-tree\"\n"
        ),
    )
    .unwrap();
    let s = create(&g, repo_id, "s", "cat");
    let env = env_of(&g, &s, &h.marks, "head");
    assert!(env.contains("ORIGIN_OF_CONFIG=head\n"), "{env}");
    git(&h.repo, &["checkout", "--", "grove.toml"]);

    // A session branch (a PR, a fork, an agent's commit) brings its own grove.toml: ignored.
    let wt = Path::new(&s.worktree);
    std::fs::write(
        wt.join("grove.toml"),
        "[env]\nORIGIN_OF_CONFIG = \"branch\"\nNODE_OPTIONS = \"--require ./x.js\"\n",
    )
    .unwrap();
    git(wt, &["commit", "-q", "-am", "branch config"]);
    let env = env_of(&g, &s, &h.marks, "branch");
    assert!(env.contains("ORIGIN_OF_CONFIG=head\n"), "{env}");
    assert!(!env.contains("NODE_OPTIONS"), "{env}");
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert!(!h.marks.join("worktree-setup").exists());
}

#[test]
fn code_loading_env_keys_apply_only_when_named() {
    let h = hostile();
    let evil = h.marks.join("evil");
    let e = evil.display();
    let dangerous = [
        ("NODE_OPTIONS", format!("--require {e}.js")),
        ("BASH_ENV", format!("{e}.sh")),
        ("ENV", format!("{e}.sh")),
        ("LD_PRELOAD", format!("{e}.so")),
        ("DYLD_INSERT_LIBRARIES", format!("{e}.dylib")),
        ("ZDOTDIR", format!("{e}")),
        ("PATH", format!("{e}:/usr/bin:/bin")),
        ("PYTHONPATH", format!("{e}")),
        ("PERL5OPT", format!("-M{e}")),
        ("RUBYOPT", format!("-r{e}")),
        ("GIT_SSH_COMMAND", format!("{e}")),
    ];
    let mut text = String::from("[env]\nPLAIN_SETTING = \"ok\"\n");
    for (k, v) in &dangerous {
        text.push_str(&format!("{k} = \"{v}\"\n"));
    }
    commit_config(&h.repo, &text);
    let g = Grove::start(&h.data);
    let repo_id = g.add_repo(&h.repo);
    let trust = trust_of(&g, repo_id);
    let mut listed = trust.dangerous_env.clone();
    listed.sort();
    let mut want: Vec<String> = dangerous.iter().map(|(k, _)| k.to_string()).collect();
    want.sort();
    assert_eq!(listed, want);

    let (ok, out) = cli_trust(&g, &["hostile", "--yes"]);
    assert!(ok, "{out}");
    for (k, _) in &dangerous {
        assert!(out.contains(&format!("Not applied: {k} ")), "{k} in {out}");
    }
    let s = create(&g, repo_id, "s", "cat");
    let env = env_of(&g, &s, &h.marks, "refused");
    assert!(env.contains("PLAIN_SETTING=ok\n"), "{env}");
    for (k, v) in &dangerous {
        assert!(
            !env.contains(&format!("{k}={v}\n")),
            "{k} was applied:\n{env}"
        );
    }

    // Named explicitly, one key goes through; the rest stay out. A typo is an error.
    let (ok, out) = cli_trust(&g, &["hostile", "--yes", "--allow-env", "NODE_OPTION"]);
    assert!(!ok && out.contains("NODE_OPTION"), "{out}");
    let (ok, out) = cli_trust(&g, &["hostile", "--yes", "--allow-env", "NODE_OPTIONS"]);
    assert!(ok, "{out}");
    let env = env_of(&g, &s, &h.marks, "allowed");
    assert!(
        env.contains(&format!("NODE_OPTIONS=--require {e}.js\n")),
        "{env}"
    );
    assert!(!env.contains(&format!("LD_PRELOAD={e}.so\n")), "{env}");
    // Grove's own variables cannot be pointed elsewhere by a repository.
    assert!(
        env.contains(&format!("GROVE_WORKTREE={}\n", s.worktree)),
        "{env}"
    );
}

#[cfg(unix)]
#[test]
fn a_copy_entry_linking_out_of_the_repo_is_refused() {
    let h = hostile();
    let secret = h.marks.join("id_ed25519");
    std::fs::write(&secret, "PRIVATE KEY\n").unwrap();
    std::os::unix::fs::symlink(&secret, h.repo.join(".env")).unwrap();
    std::fs::write(h.repo.join("inside.txt"), "fine\n").unwrap();
    std::fs::write(h.repo.join(".gitignore"), ".env\ninside.txt\n").unwrap();
    git(&h.repo, &["add", ".gitignore"]);
    commit_config(&h.repo, "copy = [\".env\", \"inside.txt\"]\n");
    let g = Grove::start(&h.data);
    let repo_id = g.add_repo(&h.repo);
    let (ok, out) = cli_trust(&g, &["hostile", "--yes"]);
    assert!(ok, "{out}");
    let s = create(&g, repo_id, "s", "cat");
    let wt = Path::new(&s.worktree);
    assert!(wt.join("inside.txt").exists(), "ordinary copies still work");
    assert!(
        std::fs::symlink_metadata(wt.join(".env")).is_err(),
        "the link's target was copied into the worktree"
    );
}

#[test]
fn restarting_grove_or_restoring_a_session_never_runs_setup_again() {
    let h = hostile();
    let counter = h.marks.join("setup-count");
    commit_config(
        &h.repo,
        &format!("setup = [\"echo ran >> {}\"]\n", counter.display()),
    );
    let g = Grove::start(&h.data);
    let repo_id = g.add_repo(&h.repo);
    let (ok, out) = cli_trust(&g, &["hostile", "--yes"]);
    assert!(ok, "{out}");
    let s = create(&g, repo_id, "s", "cat");
    eventually("setup ran once", || counter.exists());
    g.stop();

    let g = Grove::start(&h.data);
    g.ok("POST", &format!("/sessions/{}/archive", s.id), None);
    g.ok("POST", &format!("/sessions/{}/restore", s.id), None);
    let agent = g.sessions()[0].terminals[0].id;
    g.ok("POST", &format!("/terminals/{agent}/restart"), None);
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert_eq!(std::fs::read_to_string(&counter).unwrap(), "ran\n");
}

#[test]
fn a_program_cannot_forge_or_replay_the_setup_exit_report() {
    let h = hostile();
    commit_config(&h.repo, "setup = [\"true\"]\n");
    let g = Grove::start(&h.data);
    let repo_id = g.add_repo(&h.repo);
    let (ok, out) = cli_trust(&g, &["hostile", "--yes"]);
    assert!(ok, "{out}");
    // The agent runs after the setup reported 0. It forges a report with a made-up nonce, then
    // replays the real one if it can read it from its parent shell's command line (where the
    // shell did not exec the agent in its place), both saying 7.
    let done = h.marks.join("forged");
    let agent = format!(
        "sh -c 'printf \"\\033]6973;setup-exit;{};7\\007\"; n=$(tr \"\\0\" \"\\n\" < /proc/$PPID/cmdline | grep -o \"setup-exit;[0-9a-f]*\" | head -n1); printf \"\\033]6973;$n;7\\007\"; echo \"$n\" > {}; exec cat'",
        "0".repeat(32),
        done.display()
    );
    let s = create(&g, repo_id, "s", &agent);
    eventually("the agent forged its reports", || done.exists());
    let get = || -> Session {
        serde_json::from_value(g.ok("GET", &format!("/sessions/{}", s.id), None)).unwrap()
    };
    eventually("the setup's own report recorded", || {
        get().setup_exit.is_some()
    });
    // The forged reports were printed before `done` was written; give the monitor a moment to
    // read them, then check that none counted.
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert_eq!(get().setup_exit, Some(0));

    // Without setup there is no nonce at all: any report is ignored.
    let bare = h.marks.join("bare");
    commit_config(&h.repo, "agent = \"cat\"\n");
    let (ok, out) = cli_trust(&g, &["hostile", "--yes"]);
    assert!(ok, "{out}");
    let s2 = create(
        &g,
        repo_id,
        "s2",
        &format!(
            "sh -c 'printf \"\\033]6973;setup-exit;;3\\007\"; touch {}; exec cat'",
            bare.display()
        ),
    );
    eventually("the agent printed", || bare.exists());
    std::thread::sleep(std::time::Duration::from_millis(300));
    let got: Session =
        serde_json::from_value(g.ok("GET", &format!("/sessions/{}", s2.id), None)).unwrap();
    assert_eq!(got.setup_exit, None);
}
