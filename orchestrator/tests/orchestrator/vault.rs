//! The vault through the real server and the real CLI: canary secrets that must reach the
//! terminals of the repository they are mapped to and nothing else (no file in the data dir,
//! not the server's own environment, not another repository's terminals), wrong passphrases,
//! a corrupt snapshot, a passphrase change, restarts and a second server on the same data dir.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::json;

use crate::support::{Grove, TermClient, cli_stdin, fixture_repo, rt};

const PASS: &str = "correct horse battery";
const CANARY_API: &str = "sk-canary-api-7f3e9a1c5b";
const CANARY_CLI: &str = "ghp-canary-cli-2d8b4e6f0a";

fn code(body: &serde_json::Value) -> &str {
    body["code"].as_str().unwrap_or("")
}

/// Every file under `dir` whose bytes contain one of `needles`.
fn files_containing(dir: &Path, needles: &[&str]) -> Vec<PathBuf> {
    let mut hits = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let entry = entry.unwrap();
            let ty = entry.file_type().unwrap();
            if ty.is_dir() {
                stack.push(entry.path());
            } else if ty.is_file() {
                let bytes = std::fs::read(entry.path()).unwrap();
                if needles
                    .iter()
                    .any(|n| bytes.windows(n.len()).any(|w| w == n.as_bytes()))
                {
                    hits.push(entry.path());
                }
            }
        }
    }
    hits
}

/// A script (outside the data dir) that prints, for each variable, a hash prefix of its value
/// or `unset`: the values themselves must not end up in the terminal's log.
fn envcheck_script(dir: &Path) -> String {
    let path = dir.join("envcheck.sh");
    std::fs::write(
        &path,
        "for v in MYKEY CLI_CANARY; do\n\
           eval \"x=\\${$v-}\"\n\
           if [ -n \"$x\" ]; then echo \"$v:$(printf %s \"$x\" | sha256sum | cut -c1-16)\"; else echo \"$v:unset\"; fi\n\
         done\n\
         echo envcheck-done\n\
         exec cat\n",
    )
    .unwrap();
    format!("sh {}", path.display())
}

fn sha16(s: &str) -> String {
    let out = Command::new("sh")
        .args(["-c", "printf %s \"$1\" | sha256sum | cut -c1-16", "sh", s])
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

async fn terminal_output_until(g: &Grove, terminal_id: i64, needle: &str) -> String {
    let mut c = TermClient::connect(g, terminal_id, "?from=0").await;
    c.read_until(needle).await;
    String::from_utf8_lossy(&c.bytes).into_owned()
}

#[test]
fn canary_secrets_reach_only_the_mapped_repo_and_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let alpha = fixture_repo(dir.path(), "alpha");
    let beta = fixture_repo(dir.path(), "beta");
    let data = dir.path().join("data");
    let g = Grove::start(&data);
    let alpha_id = g.add_repo(&alpha);
    let beta_id = g.add_repo(&beta);

    assert_eq!(g.ok("GET", "/vault", None)["state"], "uninitialized");
    let (status, body) = g.call("GET", "/secrets", None);
    assert_eq!((status, code(&body)), (423, "vault_locked"), "{body}");
    // A passphrase too short for a new vault is refused.
    let (status, body) = g.call(
        "POST",
        "/vault/unlock",
        Some(json!({"passphrase": "short"})),
    );
    assert_eq!((status, code(&body)), (400, "invalid_request"), "{body}");

    // Created by the CLI (the passphrase on stdin), then one secret each way.
    let (ok, out, err) = cli_stdin(&g, &["vault", "unlock"], &format!("{PASS}\n"));
    assert!(ok, "{err}");
    assert!(out.contains("vault created and unlocked"), "{out}");
    let info = g.ok(
        "PUT",
        "/secrets/API_CANARY",
        Some(json!({ "value": CANARY_API })),
    );
    assert_eq!(info["name"], "API_CANARY");
    assert!(info.get("value").is_none());
    let (ok, out, err) = cli_stdin(
        &g,
        &["secret", "set", "CLI_CANARY"],
        &format!("{CANARY_CLI}\n"),
    );
    assert!(ok, "{err}");
    assert_eq!(out.trim(), "set CLI_CANARY");

    // Mapped to alpha only: one under another name, one under its own.
    let (ok, out, err) = cli_stdin(
        &g,
        &[
            "secret",
            "expose",
            "API_CANARY",
            "--repo",
            "alpha",
            "--as",
            "MYKEY",
        ],
        "",
    );
    assert!(ok, "{err}");
    assert!(out.contains("as MYKEY"), "{out}");
    let (ok, _, err) = cli_stdin(
        &g,
        &["secret", "expose", "CLI_CANARY", "--repo", "alpha"],
        "",
    );
    assert!(ok, "{err}");
    // Grove's own variables cannot be taken.
    let (status, body) = g.call(
        "POST",
        "/exposures",
        Some(json!({"repo_id": alpha_id, "secret": "API_CANARY", "var": "GROVE_SESSION"})),
    );
    assert_eq!(status, 400, "{body}");

    // Listing shows names, times and exposures; no response carries a value.
    let list = g.ok("GET", "/secrets", None);
    let text = list.to_string();
    assert!(
        !text.contains(CANARY_API) && !text.contains(CANARY_CLI),
        "{text}"
    );
    assert_eq!(list.as_array().unwrap().len(), 2);
    assert!(list[0]["set_at"].as_i64().unwrap() > 0);
    let (ok, out, _) = cli_stdin(&g, &["secret", "list"], "");
    assert!(
        ok && out.contains("API_CANARY") && out.contains("alpha as MYKEY"),
        "{out}"
    );
    assert!(!out.contains(CANARY_API) && !out.contains(CANARY_CLI));

    // A malformed body carrying a value is refused without quoting it.
    let (status, body) = g.call("PUT", "/secrets/X", Some(json!({ "valu": CANARY_API })));
    assert_eq!(status, 400);
    assert!(!body.to_string().contains(CANARY_API), "{body}");

    let cmd = envcheck_script(dir.path());
    let a = g.create_session(alpha_id, "mapped", &cmd);
    let b = g.create_session(beta_id, "unmapped", &cmd);
    let (want_api, want_cli) = (sha16(CANARY_API), sha16(CANARY_CLI));
    rt().block_on(async {
        let out = terminal_output_until(&g, a.terminals[0].id, "envcheck-done").await;
        assert!(out.contains(&format!("MYKEY:{want_api}")), "{out}");
        assert!(out.contains(&format!("CLI_CANARY:{want_cli}")), "{out}");
        let out = terminal_output_until(&g, b.terminals[0].id, "envcheck-done").await;
        assert!(
            out.contains("MYKEY:unset") && out.contains("CLI_CANARY:unset"),
            "{out}"
        );
    });
    // A restart gets them again (read from where the first run's output ended); another shell
    // of the session too.
    let first_end = g.ok("GET", &format!("/sessions/{}", a.id), None)["terminals"][0]["log_end"]
        .as_u64()
        .unwrap();
    g.ok(
        "POST",
        &format!("/terminals/{}/restart", a.terminals[0].id),
        None,
    );
    let shell = g.ok(
        "POST",
        &format!("/sessions/{}/terminals", a.id),
        Some(json!({ "command": cmd })),
    );
    rt().block_on(async {
        let mut c = TermClient::connect(&g, a.terminals[0].id, &format!("?from={first_end}")).await;
        c.read_until("envcheck-done").await;
        let out = String::from_utf8_lossy(&c.bytes).into_owned();
        assert!(out.contains(&format!("MYKEY:{want_api}")), "{out}");
        let out = terminal_output_until(&g, shell["id"].as_i64().unwrap(), "envcheck-done").await;
        assert!(out.contains(&format!("MYKEY:{want_api}")), "{out}");
    });

    // Archived and restored: the restored agent gets them again.
    g.ok(
        "POST",
        &format!("/sessions/{}/archive", a.id),
        Some(json!({ "force": true })),
    );
    let before_restore =
        g.ok("GET", &format!("/sessions/{}", a.id), None)["terminals"][0]["log_end"]
            .as_u64()
            .unwrap();
    g.ok("POST", &format!("/sessions/{}/restore", a.id), None);
    rt().block_on(async {
        let mut c =
            TermClient::connect(&g, a.terminals[0].id, &format!("?from={before_restore}")).await;
        c.read_until("envcheck-done").await;
        let out = String::from_utf8_lossy(&c.bytes).into_owned();
        assert!(out.contains(&format!("MYKEY:{want_api}")), "{out}");
    });

    // Nothing in plain text: no file under the data dir (database, logs, screens, server file,
    // worktrees, the vault), and not the server's own environment.
    let hits = files_containing(&data, &[CANARY_API, CANARY_CLI]);
    assert!(hits.is_empty(), "canary in {hits:?}");
    let environ = std::fs::read(format!("/proc/{}/environ", g.child.id())).unwrap();
    for canary in [CANARY_API, CANARY_CLI] {
        assert!(
            !environ
                .windows(canary.len())
                .any(|w| w == canary.as_bytes()),
            "canary in the server's environment"
        );
    }
    // Stopping writes the logs and screens out: still nothing.
    g.stop();
    let hits = files_containing(&data, &[CANARY_API, CANARY_CLI]);
    assert!(hits.is_empty(), "canary in {hits:?}");
}

#[test]
fn wrong_passphrase_change_restart_and_corrupt_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let repo = fixture_repo(dir.path(), "gamma");
    let other = fixture_repo(dir.path(), "delta");
    let data = dir.path().join("data");
    let g = Grove::start(&data);
    let repo_id = g.add_repo(&repo);
    let other_id = g.add_repo(&other);
    g.ok("POST", "/vault/unlock", Some(json!({ "passphrase": PASS })));
    g.ok(
        "PUT",
        "/secrets/TOKEN",
        Some(json!({ "value": CANARY_API })),
    );
    g.ok(
        "POST",
        "/exposures",
        Some(json!({ "repo_id": repo_id, "secret": "TOKEN", "var": "MYKEY" })),
    );
    let snapshot = data.join("vault.stronghold");
    let before = std::fs::read(&snapshot).unwrap();

    // A wrong passphrase, on an unlocked vault and on a locked one: refused, file untouched.
    let (status, body) = g.call(
        "POST",
        "/vault/unlock",
        Some(json!({"passphrase": "not the one"})),
    );
    assert_eq!((status, code(&body)), (422, "wrong_passphrase"), "{body}");
    g.ok("POST", "/vault/lock", None);
    let (status, body) = g.call(
        "POST",
        "/vault/unlock",
        Some(json!({"passphrase": "not the one"})),
    );
    assert_eq!((status, code(&body)), (422, "wrong_passphrase"), "{body}");
    assert!(!body.to_string().contains("not the one"));
    assert_eq!(std::fs::read(&snapshot).unwrap(), before);
    let (ok, _, err) = cli_stdin(&g, &["vault", "unlock"], "still not it\n");
    assert!(!ok && err.contains("wrong passphrase"), "{err}");
    assert_eq!(std::fs::read(&snapshot).unwrap(), before);

    // Locked: what needs a secret says so; the rest goes on.
    let (status, body) = g.call(
        "POST",
        "/sessions",
        Some(json!({"repo_id": repo_id, "name": "needs-key", "command": "cat"})),
    );
    assert_eq!((status, code(&body)), (423, "vault_locked"), "{body}");
    assert!(g.sessions().is_empty(), "nothing was created");
    g.create_session(other_id, "no-secrets", "cat");
    assert_eq!(g.ok("GET", "/exposures", None).as_array().unwrap().len(), 1);

    // Change the passphrase with the CLI (current and new on stdin).
    let new_pass = "a new passphrase";
    let (ok, _, err) = cli_stdin(
        &g,
        &["vault", "passphrase"],
        &format!("wrong one\n{new_pass}\n"),
    );
    assert!(!ok && err.contains("wrong passphrase"), "{err}");
    assert_eq!(std::fs::read(&snapshot).unwrap(), before);
    let (ok, out, err) = cli_stdin(
        &g,
        &["vault", "passphrase"],
        &format!("{PASS}\n{new_pass}\n"),
    );
    assert!(ok, "{err}");
    assert!(out.contains("changed"), "{out}");
    assert!(!data.join("vault.stronghold.next").exists());
    assert_ne!(std::fs::read(&snapshot).unwrap(), before);

    // A restart: locked again; the old passphrase no longer opens it, the new one does.
    g.stop();
    let g = Grove::start(&data);
    assert_eq!(g.ok("GET", "/vault", None)["state"], "locked");
    let (status, body) = g.call("GET", "/secrets", None);
    assert_eq!((status, code(&body)), (423, "vault_locked"), "{body}");
    let (status, body) = g.call("POST", "/vault/unlock", Some(json!({ "passphrase": PASS })));
    assert_eq!(code(&body), "wrong_passphrase", "{status} {body}");
    let (ok, _, err) = cli_stdin(&g, &["vault", "unlock"], &format!("{new_pass}\n"));
    assert!(ok, "{err}");
    assert_eq!(g.ok("GET", "/secrets", None)[0]["name"], "TOKEN");
    g.stop();

    // A passphrase file: refused unless private, then unlocks at start.
    let pass_file = dir.path().join("vault-pass");
    std::fs::write(&pass_file, format!("{new_pass}\n")).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&pass_file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_grove"))
        .arg("--data-dir")
        .arg(&data)
        .arg("serve")
        .env("GROVE_VAULT_PASSPHRASE_FILE", &pass_file)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("0600") && err.contains("chmod 600"), "{err}");
    std::fs::set_permissions(&pass_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let g = Grove::start_env(
        &data,
        &[],
        &[("GROVE_VAULT_PASSPHRASE_FILE", pass_file.to_str().unwrap())],
    );
    assert_eq!(g.ok("GET", "/vault", None)["state"], "unlocked");
    // The server's configuration does not leak into the terminals.
    let s = g.create_session(
        repo_id,
        "with-key",
        "sh -c 'echo \"F=[$GROVE_VAULT_PASSPHRASE_FILE]\"; exec cat'",
    );
    rt().block_on(async {
        let out = terminal_output_until(&g, s.terminals[0].id, "F=[").await;
        assert!(out.contains("F=[]"), "{out}");
    });
    g.stop();

    // A corrupt snapshot: named, kept byte for byte, and never written over.
    let mut bytes = std::fs::read(&snapshot).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x5a;
    std::fs::write(&snapshot, &bytes).unwrap();
    let g = Grove::start(&data);
    let (status, body) = g.call(
        "POST",
        "/vault/unlock",
        Some(json!({ "passphrase": new_pass })),
    );
    assert_eq!((status, code(&body)), (409, "vault_corrupt"), "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("vault.stronghold"),
        "{body}"
    );
    let (status, body) = g.call("PUT", "/secrets/NEW", Some(json!({ "value": "x-value" })));
    assert_eq!((status, code(&body)), (423, "vault_locked"), "{body}");
    let (status, _) = g.call(
        "POST",
        "/vault/passphrase",
        Some(json!({ "current": new_pass, "new": "yet another one" })),
    );
    assert_eq!(status, 409);
    assert_eq!(std::fs::read(&snapshot).unwrap(), bytes);
}

#[test]
fn a_second_server_on_the_data_dir_leaves_the_vault_alone() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let g = Grove::start(&data);
    g.ok("POST", "/vault/unlock", Some(json!({ "passphrase": PASS })));
    g.ok("PUT", "/secrets/ONE", Some(json!({ "value": CANARY_API })));
    let snapshot = std::fs::read(data.join("vault.stronghold")).unwrap();
    let kdf = std::fs::read(data.join("vault.kdf.json")).unwrap();

    let pass_file = dir.path().join("pass");
    std::fs::write(&pass_file, "some other passphrase").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&pass_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_grove"))
        .arg("--data-dir")
        .arg(&data)
        .args(["serve", "--vault-passphrase-file"])
        .arg(&pass_file)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("in use by another Grove"), "{err}");

    assert_eq!(
        std::fs::read(data.join("vault.stronghold")).unwrap(),
        snapshot
    );
    assert_eq!(std::fs::read(data.join("vault.kdf.json")).unwrap(), kdf);
    // The first one still works, and what it writes next is readable after a restart.
    g.ok("PUT", "/secrets/TWO", Some(json!({ "value": CANARY_CLI })));
    g.stop();
    let g = Grove::start(&data);
    g.ok("POST", "/vault/unlock", Some(json!({ "passphrase": PASS })));
    let names: Vec<String> = g
        .ok("GET", "/secrets", None)
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["ONE", "TWO"]);
}

// Against a real Secret Service (dbus-daemon + gnome-keyring-daemon): Linux's keychain.
#[cfg(target_os = "linux")]
mod keychain;
