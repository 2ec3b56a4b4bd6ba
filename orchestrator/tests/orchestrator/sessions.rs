//! Sessions on worktrees through the API: creation, refusals, archive/restore/delete, drift,
//! setup, status, terminals.

use std::path::Path;

use grove_orchestrator::wire::{Drift, Session, SessionState, TerminalStatus};
use serde_json::json;

use crate::support::{Grove, TermClient, eventually, fixture_repo, git, rt};

fn code(v: &serde_json::Value) -> &str {
    v["code"].as_str().unwrap_or("")
}

fn session(g: &Grove, id: i64) -> Session {
    serde_json::from_value(g.ok("GET", &format!("/sessions/{id}"), None)).unwrap()
}

#[test]
fn add_repo_refusals_are_clear() {
    let dir = tempfile::tempdir().unwrap();
    let g = Grove::start(&dir.path().join("data"));
    let plain = dir.path().join("plain");
    std::fs::create_dir_all(&plain).unwrap();
    let bare = dir.path().join("bare.git");
    git(
        dir.path(),
        &["init", "-q", "--bare", bare.to_str().unwrap()],
    );
    let empty = dir.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    git(&empty, &["init", "-q"]);
    for (path, want) in [
        (dir.path().join("missing"), "path_missing"),
        (plain, "not_a_repo"),
        (bare, "bare_repo"),
        (empty, "empty_repo"),
    ] {
        let (status, body) = g.call("POST", "/repos", Some(json!({ "path": path })));
        assert_eq!(
            (status, code(&body)),
            (422, want),
            "{}: {body}",
            path.display()
        );
        assert!(
            body["message"]
                .as_str()
                .unwrap()
                .contains(path.file_name().unwrap().to_str().unwrap()),
            "{body}"
        );
    }
    let repo = fixture_repo(dir.path(), "ok");
    g.add_repo(&repo);
    let (status, body) = g.call("POST", "/repos", Some(json!({ "path": repo })));
    assert_eq!((status, code(&body)), (409, "repo_exists"));
    let (status, body) = g.call("POST", "/repos", Some(json!({ "nope": 1 })));
    assert_eq!((status, code(&body)), (400, "invalid_request"), "{body}");
}

#[test]
fn session_gets_a_locked_worktree_env_and_ports() {
    let dir = tempfile::tempdir().unwrap();
    let repo = fixture_repo(dir.path(), "repo");
    let g = Grove::start(&dir.path().join("data"));
    let repo_id = g.add_repo(&repo);
    let branches = g.ok("GET", &format!("/repos/{repo_id}/branches"), None);
    assert_eq!(branches[0]["name"], "main");
    let s = g.create_session(repo_id, "Env Check", "bash --norc --noprofile");
    assert_eq!(s.branch, "grove/env-check");
    assert_eq!(s.base, "main");
    assert!(Path::new(&s.worktree).join("README.md").exists());
    assert!(
        s.worktree.starts_with(
            dir.path()
                .join("data")
                .canonicalize()
                .unwrap()
                .to_str()
                .unwrap()
        )
    );
    let list = git(&repo, &["worktree", "list", "--porcelain"]);
    assert!(list.contains("locked"), "{list}");
    git(&repo, &["worktree", "prune"]);
    assert!(
        Path::new(&s.worktree).exists(),
        "prune leaves a locked worktree alone"
    );
    rt().block_on(async {
        let mut c = TermClient::connect(&g, s.terminals[0].id, "").await;
        c.send_input("echo \"S=$GROVE_SESSION W=$GROVE_WORKTREE P=$PORT B=$GROVE_PORT_BASE\"\n")
            .await;
        c.read_until(&format!(
            "S=Env Check W={} P={} B={}",
            s.worktree, s.port_base, s.port_base
        ))
        .await;
    });
    let (status, body) = g.call(
        "POST",
        "/sessions",
        Some(json!({ "repo_id": repo_id, "name": "Env Check" })),
    );
    assert_eq!((status, code(&body)), (409, "name_taken"));
    // A branch that exists already is an error that says so, or used on request.
    git(&repo, &["branch", "grove/taken"]);
    let (status, body) = g.call(
        "POST",
        "/sessions",
        Some(json!({ "repo_id": repo_id, "name": "taken", "command": "cat" })),
    );
    assert_eq!((status, code(&body)), (409, "branch_exists"), "{body}");
    let body = json!({ "repo_id": repo_id, "name": "taken", "command": "cat", "use_existing_branch": true });
    assert_eq!(g.call("POST", "/sessions", Some(body)).0, 200);
    let (status, body) = g.call(
        "POST",
        "/sessions",
        Some(json!({ "repo_id": repo_id, "name": "x", "command": "no-such-agent-cli" })),
    );
    assert_eq!((status, code(&body)), (422, "command_not_found"), "{body}");
    let (status, body) = g.call(
        "POST",
        "/sessions",
        Some(json!({ "repo_id": repo_id, "name": "y", "base": "nope", "command": "cat" })),
    );
    assert_eq!((status, code(&body)), (422, "ref_not_found"), "{body}");
}

#[test]
fn ten_concurrent_creates_never_collide() {
    let dir = tempfile::tempdir().unwrap();
    let repo = fixture_repo(dir.path(), "repo");
    let g = Grove::start(&dir.path().join("data"));
    let repo_id = g.add_repo(&repo);
    let sessions: Vec<Session> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..10)
            .map(|i| {
                let g = &g;
                s.spawn(move || g.create_session(repo_id, &format!("par-{i}"), "cat"))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut ports: Vec<u16> = sessions.iter().map(|s| s.port_base).collect();
    let mut branches: Vec<&str> = sessions.iter().map(|s| s.branch.as_str()).collect();
    ports.sort();
    ports.dedup();
    branches.sort();
    branches.dedup();
    assert_eq!((ports.len(), branches.len()), (10, 10));
    for w in ports.windows(2) {
        assert!(w[1] - w[0] >= 10, "port blocks overlap: {ports:?}");
    }
    assert_eq!(g.sessions().len(), 10);
}

#[test]
fn archive_refuses_to_lose_work_and_restore_and_delete_behave() {
    let dir = tempfile::tempdir().unwrap();
    let repo = fixture_repo(dir.path(), "repo");
    let g = Grove::start(&dir.path().join("data"));
    let repo_id = g.add_repo(&repo);
    let s = g.create_session(repo_id, "work", "cat");
    let wt = Path::new(&s.worktree).to_owned();
    let archive = |force: bool| {
        g.call(
            "POST",
            &format!("/sessions/{}/archive", s.id),
            Some(json!({ "force": force })),
        )
    };

    std::fs::write(wt.join("README.md"), "changed\n").unwrap();
    let (status, body) = archive(false);
    assert_eq!((status, code(&body)), (409, "dirty_worktree"), "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("README.md"),
        "{body}"
    );
    assert!(wt.join("README.md").exists(), "a refusal changes nothing");
    assert_eq!(
        session(&g, s.id).terminals[0].status,
        TerminalStatus::Running
    );
    git(&wt, &["checkout", "README.md"]);

    std::fs::write(wt.join("new.txt"), "untracked\n").unwrap();
    let (status, body) = archive(false);
    assert_eq!((status, code(&body)), (409, "dirty_worktree"), "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("new.txt")
            || body["message"].as_str().unwrap().contains("untracked"),
        "{body}"
    );
    git(&wt, &["add", "new.txt"]);
    git(&wt, &["commit", "-q", "-m", "work"]);

    let (status, body) = archive(false);
    assert_eq!((status, code(&body)), (409, "unpushed_commits"), "{body}");
    // Deleting an unmerged branch is refused too.
    let (status, body) = g.call(
        "POST",
        &format!("/sessions/{}/delete", s.id),
        Some(json!({})),
    );
    assert_eq!(status, 409, "{body}");

    let (status, body) = archive(true);
    assert_eq!(status, 200, "{body}");
    assert!(!wt.exists());
    assert!(
        git(&repo, &["branch", "--list", "grove/work"]).contains("grove/work"),
        "branch kept"
    );
    assert_eq!(session(&g, s.id).state, SessionState::Archived);

    let restored: Session =
        serde_json::from_value(g.ok("POST", &format!("/sessions/{}/restore", s.id), None)).unwrap();
    assert_eq!(restored.state, SessionState::Active);
    assert_eq!(
        std::fs::read_to_string(wt.join("new.txt")).unwrap(),
        "untracked\n",
        "the commit is back"
    );

    let (status, _) = g.call(
        "POST",
        &format!("/sessions/{}/delete", s.id),
        Some(json!({ "force": true })),
    );
    assert_eq!(status, 200);
    assert!(!wt.exists());
    assert!(!git(&repo, &["branch", "--list", "grove/work"]).contains("grove/work"));
    assert!(g.sessions().is_empty());
    assert!(
        repo.join("README.md").exists(),
        "the main checkout is untouched"
    );
}

#[test]
fn drift_is_reported_and_blocks_actions() {
    let dir = tempfile::tempdir().unwrap();
    let repo = fixture_repo(dir.path(), "repo");
    let g = Grove::start(&dir.path().join("data"));
    let repo_id = g.add_repo(&repo);
    let a = g.create_session(repo_id, "switched", "cat");
    git(Path::new(&a.worktree), &["switch", "-q", "-c", "elsewhere"]);
    assert_eq!(
        session(&g, a.id).drift,
        Drift::BranchChanged {
            actual: "elsewhere".into()
        }
    );
    let (status, body) = g.call("POST", &format!("/sessions/{}/archive", a.id), None);
    assert_eq!((status, code(&body)), (409, "drift"), "{body}");
    assert!(body["message"].as_str().unwrap().contains("elsewhere"));

    let b = g.create_session(repo_id, "vanished", "cat");
    g.ok("POST", &format!("/sessions/{}/terminals", b.id), None);
    let _ = std::fs::remove_dir_all(&b.worktree);
    assert_eq!(session(&g, b.id).drift, Drift::Missing);
    let (status, body) = g.call("POST", &format!("/sessions/{}/terminals", b.id), None);
    assert_eq!((status, code(&body)), (409, "drift"), "{body}");
}

#[cfg(unix)]
#[test]
fn grove_toml_setup_copy_env_and_errors() {
    let dir = tempfile::tempdir().unwrap();
    let repo = fixture_repo(dir.path(), "repo");
    std::fs::write(
        repo.join("grove.toml"),
        "setup = [\"echo setting-up > setup-ran.txt\", \"echo setup-visible\"]\ncopy = [\".env\"]\n[env]\nGROVE_TEST_VAR = \"from-toml\"\n",
    )
    .unwrap();
    std::fs::write(repo.join(".gitignore"), ".env\n").unwrap();
    git(&repo, &["add", "."]);
    git(&repo, &["commit", "-q", "-m", "config"]);
    std::fs::write(repo.join(".env"), "SECRET=1\n").unwrap();
    {
        #[cfg(unix)]
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(repo.join(".env"), std::fs::Permissions::from_mode(0o600))
            .unwrap();
    }
    let g = Grove::start(&dir.path().join("data"));
    let repo_id = g.add_repo(&repo);
    // Nothing in grove.toml applies before the user approves it (security/trust.rs has the rest).
    let hash = g.ok("GET", &format!("/repos/{repo_id}/trust"), None)["hash"].clone();
    g.ok(
        "PUT",
        &format!("/repos/{repo_id}/trust"),
        Some(json!({ "hash": hash })),
    );
    let s = g.create_session(repo_id, "configured", "bash --norc --noprofile");
    assert!(s.has_setup);
    let wt = Path::new(&s.worktree).to_owned();
    {
        #[cfg(unix)]
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(wt.join(".env"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600, "copied keeping its mode");
    }
    rt().block_on(async {
        let mut c = TermClient::connect(&g, s.terminals[0].id, "?from=0").await;
        c.read_until("setup-visible").await;
        c.send_input("echo \"V=$GROVE_TEST_VAR\"\n").await;
        c.read_until("V=from-toml").await;
    });
    eventually("setup exit recorded", || {
        session(&g, s.id).setup_exit == Some(0)
    });
    assert!(wt.join("setup-ran.txt").exists());

    // A malformed grove.toml (as committed: that is the one Grove reads) is refused with its
    // line and column.
    std::fs::write(repo.join("grove.toml"), "setup = [\"ok\"]\ncopy = 3\n").unwrap();
    git(&repo, &["commit", "-q", "-am", "broken config"]);
    let (status, body) = g.call(
        "POST",
        "/sessions",
        Some(json!({ "repo_id": repo_id, "name": "bad", "command": "cat" })),
    );
    assert_eq!((status, code(&body)), (422, "invalid_config"), "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("grove.toml:2:"),
        "{body}"
    );
}

#[test]
fn status_follows_output_attention_and_exit_and_restart_continues_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let repo = fixture_repo(dir.path(), "repo");
    let g = Grove::start(&dir.path().join("data"));
    let repo_id = g.add_repo(&repo);
    let s = g.create_session(repo_id, "status", "bash --norc --noprofile");
    let tid = s.terminals[0].id;
    let status = |g: &Grove| session(g, s.id).terminals[0].status;
    eventually("idle after 1 s without output", || {
        status(&g) == TerminalStatus::Idle
    });
    rt().block_on(async {
        let mut c = TermClient::connect(&g, tid, "").await;
        c.send_input("printf 'need you\\a\\n'\n").await;
        c.read_until("need you").await;
    });
    eventually("bell = needs attention", || {
        status(&g) == TerminalStatus::NeedsAttention
    });
    rt().block_on(async {
        let mut c = TermClient::connect(&g, tid, "").await;
        c.send_input("printf '\\033]777;notify;Agent;waiting\\033\\\\'; exit 7\n")
            .await;
        c.read_to_exit().await;
        assert_eq!(c.exit.as_ref().unwrap()["code"], 7);
    });
    eventually("exited", || status(&g) == TerminalStatus::Exited);
    assert_eq!(session(&g, s.id).terminals[0].exit.unwrap().code, Some(7));
    let end_before = session(&g, s.id).terminals[0].log_end;
    g.ok("POST", &format!("/terminals/{tid}/restart"), None);
    rt().block_on(async {
        let mut c = TermClient::connect(&g, tid, &format!("?from={end_before}")).await;
        assert_eq!(c.start, end_before, "restart continues the same log");
        c.send_input("echo after-restart\n").await;
        c.read_until("after-restart").await;
    });
    // Another shell in the same session, then closing it.
    let t2 = g.ok("POST", &format!("/sessions/{}/terminals", s.id), None);
    let t2_id = t2["id"].as_i64().unwrap();
    assert_eq!(session(&g, s.id).terminals.len(), 2);
    g.ok("DELETE", &format!("/terminals/{t2_id}"), None);
    assert_eq!(session(&g, s.id).terminals.len(), 1);
}

#[test]
fn a_session_without_a_name_gets_a_free_one_from_its_base() {
    let dir = tempfile::tempdir().unwrap();
    let repo = fixture_repo(dir.path(), "repo");
    git(&repo, &["branch", "feature/login"]);
    let g = Grove::start(&dir.path().join("data"));
    let repo_id = g.add_repo(&repo);

    // What the new-session dialog prefills.
    let suggested = g.ok("GET", &format!("/repos/{repo_id}/suggest-name"), None);
    let suggested = suggested["name"].as_str().unwrap().to_owned();
    assert!(suggested.starts_with("main-"), "{suggested}");
    let from_feature = g.ok(
        "GET",
        &format!("/repos/{repo_id}/suggest-name?base=feature%2Flogin"),
        None,
    );
    assert!(
        from_feature["name"].as_str().unwrap().starts_with("login-"),
        "{from_feature}"
    );

    // No name, an empty one, a blank one: each gets its own free name, never a refusal.
    let mut names = Vec::new();
    for body in [
        json!({ "repo_id": repo_id, "command": "cat" }),
        json!({ "repo_id": repo_id, "name": "", "command": "cat" }),
        json!({ "repo_id": repo_id, "name": "  ", "command": "cat", "base": "feature/login" }),
    ] {
        let s: Session = serde_json::from_value(g.ok("POST", "/sessions", Some(body))).unwrap();
        assert_eq!(s.branch, format!("grove/{}", s.name));
        names.push(s.name);
    }
    assert!(names[0].starts_with("main-") && names[1].starts_with("main-"));
    assert!(names[2].starts_with("login-"), "{names:?}");
    assert_ne!(names[0], names[1]);
    // A suggestion never repeats a name in use.
    for _ in 0..20 {
        let n = g.ok("GET", &format!("/repos/{repo_id}/suggest-name"), None);
        let n = n["name"].as_str().unwrap();
        assert!(!names.iter().any(|x| x == n), "{n} is taken");
    }
    let (status, err) = g.call("GET", "/repos/999/suggest-name", None);
    assert_eq!((status, code(&err)), (404, "not_found"), "{err}");
}

#[test]
fn status_since_marks_when_the_status_last_changed() {
    let dir = tempfile::tempdir().unwrap();
    let repo = fixture_repo(dir.path(), "repo");
    let g = Grove::start(&dir.path().join("data"));
    let repo_id = g.add_repo(&repo);
    let s = g.create_session(repo_id, "since", "bash --norc --noprofile");
    let tid = s.terminals[0].id;
    let term = |g: &Grove| session(g, s.id).terminals[0].clone();
    eventually("idle", || term(&g).status == TerminalStatus::Idle);
    let idle_since = term(&g).status_since;
    assert!(
        idle_since >= s.created_at,
        "{idle_since} < {}",
        s.created_at
    );
    // Reading again does not move it: it is when the status changed, not when it was asked.
    std::thread::sleep(std::time::Duration::from_millis(30));
    assert_eq!(term(&g).status_since, idle_since);
    rt().block_on(async {
        let mut c = TermClient::connect(&g, tid, "").await;
        c.send_input("printf 'need you\\a\\n'\n").await;
        c.read_until("need you").await;
    });
    eventually("needs attention", || {
        term(&g).status == TerminalStatus::NeedsAttention
    });
    assert!(term(&g).status_since > idle_since);
}
