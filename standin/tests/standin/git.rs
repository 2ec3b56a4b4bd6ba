//! The real `git` CLI against the stand-in's smart HTTP: the token is the only way in.

use sha2::Digest;

use crate::support::{TOKEN, commit, fixture, git, git_command, push};

#[test]
fn push_needs_a_valid_token_and_lands_in_the_bare_repository() {
    let fx = fixture();
    let url = fx.standin.clone_url("alice", "proj");
    let work = fx.dir.path().join("work");
    git(
        fx.dir.path(),
        &["init", "-q", "-b", "main", work.to_str().unwrap()],
    );
    commit(&work, "first");

    let anonymous = push(&work, &url, None, &["main"]);
    assert!(!anonymous.status.success());
    let stderr = String::from_utf8_lossy(&anonymous.stderr);
    assert!(stderr.contains("terminal prompts disabled"), "{stderr}");

    let wrong = push(&work, &url, Some("gho_wrong"), &["main"]);
    assert!(!wrong.status.success());
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("Authentication failed"));
    let bare_has = |branch: &str| {
        git_command(&fx.bare)
            .args([
                "rev-parse",
                "--verify",
                "--quiet",
                &format!("refs/heads/{branch}"),
            ])
            .output()
            .unwrap()
            .status
            .success()
    };
    assert!(!bare_has("main"));

    let pushed = push(&work, &url, Some(TOKEN), &["main"]);
    assert!(
        pushed.status.success(),
        "{}",
        String::from_utf8_lossy(&pushed.stderr)
    );
    assert_eq!(
        git(&fx.bare, &["rev-parse", "refs/heads/main"]),
        git(&work, &["rev-parse", "HEAD"])
    );

    // A clone over the same path sees the commit (upload-pack, gzip-encoded requests).
    let clone = fx.dir.path().join("clone");
    let cloned = git_command(fx.dir.path())
        .args(["-c", "credential.helper="])
        .arg("-c")
        .arg(format!(
            "credential.helper=!f() {{ echo username=x; echo password={TOKEN}; }}; f"
        ))
        .args(["clone", "-q", &url])
        .arg(&clone)
        .output()
        .unwrap();
    assert!(
        cloned.status.success(),
        "{}",
        String::from_utf8_lossy(&cloned.stderr)
    );
    assert_eq!(git(&clone, &["log", "--format=%s"]), "first");

    fx.standin.revoke_token(TOKEN);
    git(&work, &["checkout", "-q", "-b", "after-revoke"]);
    let revoked = push(&work, &url, Some(TOKEN), &["after-revoke"]);
    assert!(!revoked.status.success());
    assert!(!bare_has("after-revoke"));

    let git_requests: Vec<_> = fx
        .standin
        .requests()
        .into_iter()
        .filter(|r| r.path.starts_with("/alice/proj.git/"))
        .collect();
    assert!(
        git_requests
            .iter()
            .any(|r| r.status == 401 && !r.authorization)
    );
    assert!(
        git_requests
            .iter()
            .any(|r| r.path == "/alice/proj.git/git-receive-pack" && r.status == 200)
    );
    assert!(git_requests.iter().all(|r| {
        r.user_agent
            .as_deref()
            .is_some_and(|ua| ua.starts_with("git/"))
    }));
}

#[test]
fn unknown_repositories_are_not_found_after_auth() {
    let fx = fixture();
    let work = fx.dir.path().join("work");
    git(
        fx.dir.path(),
        &["init", "-q", "-b", "main", work.to_str().unwrap()],
    );
    commit(&work, "first");
    let url = fx.standin.clone_url("alice", "missing");
    let out = push(&work, &url, Some(TOKEN), &["main"]);
    assert!(!out.status.success());
    assert!(
        fx.standin
            .requests()
            .iter()
            .any(|r| r.path.starts_with("/alice/missing.git/") && r.status == 404)
    );
}

#[test]
fn a_push_larger_than_gits_post_buffer_streams_through_chunked() {
    let fx = fixture();
    let work = fx.dir.path().join("work");
    git(
        fx.dir.path(),
        &["init", "-q", "-b", "main", work.to_str().unwrap()],
    );
    // 3 MiB that do not compress: over git's 1 MiB http.postBuffer, so the pack goes out with
    // `Transfer-Encoding: chunked` and gzip is of no help.
    let mut data = Vec::with_capacity(3 << 20);
    let mut block = [7u8; 32];
    while data.len() < 3 << 20 {
        block = sha2::Sha256::digest(block).into();
        data.extend_from_slice(&block);
    }
    std::fs::write(work.join("blob.bin"), &data).unwrap();
    git(&work, &["add", "-A"]);
    git(&work, &["commit", "-q", "-m", "big"]);
    let url = fx.standin.clone_url("alice", "proj");
    let pushed = push(&work, &url, Some(TOKEN), &["main"]);
    assert!(
        pushed.status.success(),
        "{}",
        String::from_utf8_lossy(&pushed.stderr)
    );
    assert_eq!(
        git(&fx.bare, &["rev-parse", "main:blob.bin"]),
        git(&work, &["rev-parse", "HEAD:blob.bin"])
    );
    // Over the post buffer git first probes with a tiny POST, then streams the pack.
    let receive_packs = fx
        .standin
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/git-receive-pack") && r.status == 200)
        .count();
    assert_eq!(receive_packs, 2);
}
