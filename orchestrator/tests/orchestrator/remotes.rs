//! Remote servers: a local `grove serve` relaying a second, real `grove serve` over pinned TLS
//! (`--tls-self-signed`): adding it (trust on first use), its sessions and terminals through the
//! relay and `--server`, its events on the local events socket, a remote that goes away and
//! comes back (panes resume from their offsets), a changed certificate (refused), and bad input.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use grove_orchestrator::wire::{Event, RemoteState, Session};
use serde_json::json;

use super::support::{Grove, T, TermClient, attach_until, events, fixture_repo, rt, wait_event};

const PASS: &str = "correct horse battery staple";

/// A `grove serve --tls-self-signed` on loopback.
struct TlsRemote {
    child: Child,
    port: u16,
    fingerprint: String,
}

impl TlsRemote {
    fn start(data_dir: &Path, token_file: &Path, port: u16) -> TlsRemote {
        let mut child = Command::new(env!("CARGO_BIN_EXE_grove"))
            .arg("--data-dir")
            .arg(data_dir)
            .arg("serve")
            .args(["--idle-after", "1", "--tls-self-signed", "--port"])
            .arg(port.to_string())
            .arg("--token-file")
            .arg(token_file)
            .env("SHELL", "/bin/bash")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut banner = String::new();
        out.read_line(&mut banner).unwrap();
        let url = banner
            .trim()
            .strip_prefix("Grove is serving at ")
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap_or_else(|| panic!("unexpected: {banner:?}"));
        let port: u16 = url.rsplit(':').next().unwrap().parse().unwrap();
        let mut line = String::new();
        out.read_line(&mut line).unwrap();
        let fingerprint = line
            .trim()
            .strip_prefix("TLS certificate fingerprint (SHA-256): ")
            .unwrap_or_else(|| panic!("no fingerprint line: {line:?}"))
            .to_owned();
        // Keep reading stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || {
            let mut sink = String::new();
            while out.read_line(&mut sink).map(|n| n > 0).unwrap_or(false) {
                sink.clear();
            }
        });
        TlsRemote {
            child,
            port,
            fingerprint,
        }
    }

    fn url(&self) -> String {
        format!("https://127.0.0.1:{}", self.port)
    }

    fn stop(mut self) {
        // SAFETY: SIGTERM to our own child.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        self.child.wait().unwrap();
        std::mem::forget(self);
    }
}

impl Drop for TlsRemote {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn token_file(dir: &Path, token: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join("token");
    std::fs::write(&path, token).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    path
}

/// (success, stdout, stderr) of `grove ARGS` against `local`.
fn cli(local: &Grove, args: &[&str]) -> (bool, String, String) {
    let out = local.grove_cli(args);
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn remote_state(local: &Grove, name: &str) -> (RemoteState, serde_json::Value) {
    let all = local.ok("GET", "/remotes", None);
    let r = all
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == name)
        .unwrap_or_else(|| panic!("no remote {name} in {all}"))
        .clone();
    (serde_json::from_value(r["state"].clone()).unwrap(), r)
}

fn wait_state(local: &Grove, name: &str, want: RemoteState) -> serde_json::Value {
    let deadline = Instant::now() + T;
    loop {
        let (state, r) = remote_state(local, name);
        if state == want {
            return r;
        }
        assert!(
            Instant::now() < deadline,
            "remote {name} never {want:?}: {r}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn a_tls_remote_through_the_relay() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let repo = fixture_repo(root, "app");
    std::fs::create_dir_all(root.join("remote")).unwrap();
    let remote_token = "ab".repeat(32);
    let tf = token_file(root, &remote_token);
    let remote = TlsRemote::start(&root.join("remote"), &tf, 0);
    assert_eq!(remote.fingerprint.len(), 95, "{}", remote.fingerprint);

    let local = Grove::start(&root.join("local"));

    // Bad input first: each refused with a reason, nothing stored.
    let bad = |body: serde_json::Value, code: &str, needle: &str| {
        let (status, err) = local.call("POST", "/remotes", Some(body));
        assert!(status >= 400, "{status} {err}");
        assert_eq!(err["code"], code, "{err}");
        let msg = err["message"].as_str().unwrap();
        assert!(msg.contains(needle), "{msg:?} lacks {needle:?}");
    };
    let url = remote.url();
    // The vault is locked: the token would have nowhere safe to go.
    bad(
        json!({"name": "r1", "url": url, "token": remote_token}),
        "vault_locked",
        "",
    );
    local.ok("POST", "/vault/unlock", Some(json!({ "passphrase": PASS })));
    bad(
        json!({"name": "local", "url": url, "token": remote_token}),
        "invalid_request",
        "`local`",
    );
    bad(
        json!({"name": "Bad Name", "url": url, "token": remote_token}),
        "invalid_request",
        "cannot name a remote",
    );
    bad(
        json!({"name": "r1", "url": format!("http://127.0.0.1:{}", remote.port), "token": remote_token}),
        "invalid_request",
        "--tls-self-signed",
    );
    bad(
        json!({"name": "r1", "url": "ssh://devbox", "token": remote_token}),
        "invalid_request",
        "--remote-port",
    );
    bad(
        json!({"name": "r1", "url": "https://no-such-host.invalid:7443", "token": remote_token}),
        "remote_offline",
        "no-such-host.invalid",
    );
    bad(
        json!({"name": "r1", "url": url, "token": "cd".repeat(32)}),
        "remote_unauthorized",
        "token",
    );
    bad(
        json!({"name": "r1", "url": url, "token": remote_token, "fingerprint": "AB".repeat(32)}),
        "fingerprint_mismatch",
        "",
    );
    assert_eq!(local.ok("GET", "/remotes", None), json!([]));

    // Added from the CLI: the certificate presented now is pinned, and it is the one the
    // remote printed.
    let (ok, out, err) = cli(
        &local,
        &[
            "remote",
            "add",
            "r1",
            &url,
            "--token-file",
            tf.to_str().unwrap(),
        ],
    );
    assert!(ok, "{out}{err}");
    assert!(out.contains(&remote.fingerprint), "{out}");
    let r = wait_state(&local, "r1", RemoteState::Connected);
    assert_eq!(r["fingerprint"], remote.fingerprint.as_str());
    assert_eq!(r["version"], env!("CARGO_PKG_VERSION"));
    let (ok, out, _) = cli(
        &local,
        &[
            "remote",
            "add",
            "r1",
            &url,
            "--token-file",
            tf.to_str().unwrap(),
        ],
    );
    assert!(!ok && !out.contains("added"), "a second r1 was added");
    let (ok, out, _) = cli(&local, &["remote", "list"]);
    assert!(
        ok && out.contains("r1") && out.contains("connected"),
        "{out}"
    );

    // The remote's token is in no file of the local data dir (the vault is encrypted).
    for entry in walk(&root.join("local")) {
        let bytes = std::fs::read(&entry).unwrap_or_default();
        assert!(
            !String::from_utf8_lossy(&bytes).contains(&remote_token),
            "the remote's token is in {}",
            entry.display()
        );
    }

    rt().block_on(async {
        let mut ev = events(&local).await;
        // A session on the remote, made with `--server`: its events reach the local socket.
        let repo_s = repo.to_str().unwrap();
        let (ok, out, err) = cli(&local, &["repo", "add", repo_s, "--server", "r1"]);
        assert!(ok, "{out}{err}");
        let (ok, out, err) = cli(
            &local,
            &[
                "session",
                "new",
                "--repo",
                "app",
                "--name",
                "counter",
                "--command",
                "bash",
                "--server",
                "r1",
            ],
        );
        assert!(ok, "{out}{err}");
        let session: Session = wait_event(&mut ev, "the remote's session, relayed", |e| match e {
            Event::Remote { server, event } if server == "r1" => match *event {
                Event::SessionUpdated { session } if session.name == "counter" => Some(session),
                _ => None,
            },
            _ => None,
        })
        .await;
        // Not a local session.
        assert!(local.sessions().is_empty());
        let listed: Vec<Session> =
            serde_json::from_value(local.ok("GET", "/remotes/r1/relay/sessions", None)).unwrap();
        assert_eq!(
            listed.iter().map(|s| s.id).collect::<Vec<_>>(),
            vec![session.id]
        );
        let (ok, out, _) = cli(&local, &["session", "list", "--server", "r1"]);
        assert!(ok && out.contains("counter"), "{out}");

        // Its terminal through the relay: keystrokes in, echo out.
        let tid = session.terminals[0].id;
        let path = format!("/remotes/r1/relay/terminals/{tid}");
        let mut pane = TermClient::connect_path(&local, &path).await;
        pane.send_input("for i in $(seq 1 5); do echo tick-$i; done; echo relay-$((40+2))\r")
            .await;
        pane.read_until("relay-42").await;
        let offset = pane.offset();
        drop(pane);

        // `grove attach` too: through the relay, and straight to the TLS server (pinned from its
        // server file).
        let local_dir = local.data_dir.clone();
        attach_until(
            &local_dir,
            &["--server", "r1", "counter"],
            "echo via-relay-$((1+1))\n",
            "via-relay-2",
        );
        attach_until(
            &root.join("remote"),
            &["counter"],
            "echo via-tls-$((2+1))\n",
            "via-tls-3",
        );
        let offset = offset.max(
            serde_json::from_value::<Vec<Session>>(local.ok(
                "GET",
                "/remotes/r1/relay/sessions",
                None,
            ))
            .unwrap()[0]
                .terminals[0]
                .log_end,
        );

        // The remote stops: it shows offline with a reason, the relay refuses at once, and the
        // local server keeps answering.
        remote.stop();
        let r = wait_state(&local, "r1", RemoteState::Offline);
        assert!(r["detail"].as_str().is_some_and(|d| !d.is_empty()), "{r}");
        let started = Instant::now();
        let (status, err) = local.call("GET", "/remotes/r1/relay/sessions", None);
        assert_eq!(
            (status, err["code"].as_str()),
            (503, Some("remote_offline")),
            "{err}"
        );
        assert!(started.elapsed() < Duration::from_secs(2));
        local.ok("GET", "/sessions", None);

        // It comes back on the same port: connected again, and the pane resumes exactly where
        // it left off.
        let remote = TlsRemote::start(&root.join("remote"), &tf, free_port_or(remote_port(&r)));
        wait_state(&local, "r1", RemoteState::Connected);
        let mut pane = TermClient::connect_path(&local, &format!("{path}?from={offset}")).await;
        assert_eq!(
            pane.start, offset,
            "the resumed pane skipped or repeated output"
        );
        assert!(pane.snapshot.is_none());
        // The remote's restart ended the program (as a restart does); starting it again through
        // the relay continues the same stream.
        pane.read_to_exit().await;
        local.ok(
            "POST",
            &format!("/remotes/r1/relay/terminals/{tid}/restart"),
            None,
        );
        pane.send_input("echo back-$((6*7))\r").await;
        pane.read_until("back-42").await;
        drop(pane);

        // A new certificate on the same address is refused, loudly, and never re-pinned.
        let port = remote.port;
        remote.stop();
        std::fs::remove_dir_all(root.join("remote/tls")).unwrap();
        let remote = TlsRemote::start(&root.join("remote"), &tf, port);
        let r = wait_state(&local, "r1", RemoteState::FingerprintMismatch);
        assert_eq!(r["fingerprint"], json!(r["fingerprint"].as_str().unwrap()));
        assert_ne!(r["fingerprint"], remote.fingerprint.as_str());
        let (status, err) = local.call("GET", "/remotes/r1/relay/sessions", None);
        assert_eq!(
            (status, err["code"].as_str()),
            (502, Some("fingerprint_mismatch")),
            "{err}"
        );

        // Removed: its events stop, the relay does not know it, its token leaves the vault.
        let (ok, out, err) = cli(&local, &["remote", "rm", "r1"]);
        assert!(ok, "{out}{err}");
        wait_event(&mut ev, "remote_removed", |e| {
            matches!(e, Event::RemoteRemoved { ref name } if name == "r1").then_some(())
        })
        .await;
        let (status, _) = local.call("GET", "/remotes/r1/relay/sessions", None);
        assert_eq!(status, 404);
        drop(remote);
    });
}

/// A repository and a `bash` session `s` on the remote `name`, made through the relay.
fn remote_session(local: &Grove, name: &str, repo: &Path) -> Session {
    let repo_id = local
        .ok(
            "POST",
            &format!("/remotes/{name}/relay/repos"),
            Some(json!({ "path": repo })),
        )
        .get("id")
        .and_then(|v| v.as_i64())
        .unwrap();
    serde_json::from_value(local.ok(
        "POST",
        &format!("/remotes/{name}/relay/sessions"),
        Some(json!({ "repo_id": repo_id, "name": "s", "command": "bash" })),
    ))
    .unwrap()
}

/// The close code a relayed pane's socket ends with (output before it is skipped).
async fn close_code(pane: &mut TermClient) -> Option<u16> {
    use futures_util::StreamExt;
    use tokio_tungstenite::tungstenite::Message;
    let deadline = tokio::time::Instant::now() + T;
    loop {
        match tokio::time::timeout_at(deadline, pane.ws.next()).await {
            Ok(Some(Ok(Message::Close(frame)))) => return frame.map(|f| u16::from(f.code)),
            Ok(Some(Ok(_))) => continue,
            other => panic!("the pane was not closed with a reason: {other:?}"),
        }
    }
}

/// The port a remote's URL names.
fn remote_port(r: &serde_json::Value) -> u16 {
    r["url"]
        .as_str()
        .and_then(|u| u.rsplit(':').next())
        .and_then(|p| p.parse().ok())
        .unwrap()
}

fn free_port_or(port: u16) -> u16 {
    if port == 0 { free_port() } else { port }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// A TLS remote, a local server with its vault open, and the remote added to it as `name`
/// (with its printed fingerprint given, or pinned on first use).
struct Scene {
    dir: tempfile::TempDir,
    repo: PathBuf,
    remote: TlsRemote,
    local: Grove,
}

fn scene(name: &str, give_fingerprint: bool) -> Scene {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let repo = fixture_repo(root, "app");
    std::fs::create_dir_all(root.join("remote")).unwrap();
    let token = "ef".repeat(32);
    let tf = token_file(root, &token);
    let remote = TlsRemote::start(&root.join("remote"), &tf, 0);
    let local = Grove::start(&root.join("local"));
    local.ok("POST", "/vault/unlock", Some(json!({ "passphrase": PASS })));
    let mut body = json!({"name": name, "url": remote.url(), "token": token});
    if give_fingerprint {
        body["fingerprint"] = json!(remote.fingerprint);
    }
    local.ok("POST", "/remotes", Some(body));
    wait_state(&local, name, RemoteState::Connected);
    Scene {
        dir,
        repo,
        remote,
        local,
    }
}

#[test]
fn removing_a_remote_closes_its_panes() {
    let Scene {
        dir,
        repo,
        remote,
        local,
    } = scene("box", true);
    let root = dir.path();
    // Kept across a restart of the local server: its token waits in the vault until the vault
    // is unlocked.
    local.stop();
    let local = Grove::start(&root.join("local"));
    let r = wait_state(&local, "box", RemoteState::Locked);
    assert!(r["detail"].as_str().unwrap().contains("unlock"), "{r}");
    let (status, err) = local.call("GET", "/remotes/box/relay/sessions", None);
    assert_eq!(
        (status, err["code"].as_str()),
        (503, Some("remote_offline")),
        "{err}"
    );
    local.ok("POST", "/vault/unlock", Some(json!({ "passphrase": PASS })));
    wait_state(&local, "box", RemoteState::Connected);
    let session = remote_session(&local, "box", &repo);
    let tid = session.terminals[0].id;
    rt().block_on(async {
        let mut pane =
            TermClient::connect_path(&local, &format!("/remotes/box/relay/terminals/{tid}")).await;
        pane.send_input("echo up-$((1+1))\r").await;
        pane.read_until("up-2").await;
        // Locking the vault takes the remote's token away: the pane closes to be retried (1012),
        // and reopens once the vault is unlocked again.
        local.ok("POST", "/vault/lock", None);
        assert_eq!(close_code(&mut pane).await, Some(1012));
        wait_state(&local, "box", RemoteState::Locked);
        local.ok("POST", "/vault/unlock", Some(json!({ "passphrase": PASS })));
        wait_state(&local, "box", RemoteState::Connected);
        let mut pane =
            TermClient::connect_path(&local, &format!("/remotes/box/relay/terminals/{tid}")).await;
        local.ok("DELETE", "/remotes/box", None);
        assert_eq!(close_code(&mut pane).await, Some(1008));
    });
    assert_eq!(local.ok("GET", "/remotes", None), json!([]));
    // Its token left the vault with it: adding it again needs the token again.
    let (status, err) = local.call(
        "POST",
        "/remotes",
        Some(json!({"name": "box", "url": remote.url(), "token": "", "fingerprint": remote.fingerprint})),
    );
    assert_eq!(
        (status, err["code"].as_str()),
        (400, Some("invalid_request"))
    );
}

// The sshd fixture reads /proc.
#[cfg(target_os = "linux")]
#[test]
fn a_remote_behind_an_ssh_tunnel() {
    use super::support::sshd::Sshd;

    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let repo = fixture_repo(root, "app");
    let remote_token = "12".repeat(32);
    let tf = token_file(root, &remote_token);
    let port = free_port();
    let remote = Grove::start_with(
        &root.join("remote"),
        &[
            "--port",
            &port.to_string(),
            "--token-file",
            tf.to_str().unwrap(),
        ],
    );
    let mut sshd = Sshd::start();
    let local = Grove::start_env(
        &root.join("local"),
        &[],
        &[("GROVE_SSH", sshd.wrapper.to_str().unwrap())],
    );
    local.ok("POST", "/vault/unlock", Some(json!({ "passphrase": PASS })));

    let (status, err) = local.call(
        "POST",
        "/remotes",
        Some(json!({"name": "dev", "url": sshd.url(), "token": remote_token, "fingerprint": "AB".repeat(32), "remote_port": port})),
    );
    assert_eq!(
        (status, err["code"].as_str()),
        (400, Some("invalid_request")),
        "{err}"
    );
    let (ok, out, err) = cli(
        &local,
        &[
            "remote",
            "add",
            "dev",
            &sshd.url(),
            "--remote-port",
            &port.to_string(),
            "--token-file",
            tf.to_str().unwrap(),
        ],
    );
    assert!(ok, "{out}{err}");
    let r = wait_state(&local, "dev", RemoteState::Connected);
    assert_eq!(r["remote_port"], port);
    assert!(r["fingerprint"].is_null());

    // Through the tunnel: a session made on the remote, its terminal typed into.
    let session = remote_session(&local, "dev", &repo);
    assert_eq!(remote.sessions().len(), 1, "made on the remote");
    let tid = session.terminals[0].id;
    let path = format!("/remotes/dev/relay/terminals/{tid}");
    rt().block_on(async {
        let mut pane = TermClient::connect_path(&local, &path).await;
        pane.send_input("echo tunnel-$((20+22))\r").await;
        pane.read_until("tunnel-42").await;
        let offset = pane.offset();
        drop(pane);

        // The SSH server goes away: offline with a reason; it comes back: connected by itself,
        // and the pane resumes at its offset.
        sshd.stop();
        let r = wait_state(&local, "dev", RemoteState::Offline);
        assert!(r["detail"].as_str().is_some_and(|d| !d.is_empty()), "{r}");
        let (status, err) = local.call("GET", "/remotes/dev/relay/sessions", None);
        assert_eq!(
            (status, err["code"].as_str()),
            (503, Some("remote_offline")),
            "{err}"
        );
        sshd.start_again();
        wait_state(&local, "dev", RemoteState::Connected);
        let mut pane = TermClient::connect_path(&local, &format!("{path}?from={offset}")).await;
        assert_eq!(pane.start, offset);
        pane.send_input("echo again-$((40+2))\r").await;
        pane.read_until("again-42").await;
    });

    // A host key ssh does not know is shown, never accepted.
    let empty = root.join("empty_known_hosts");
    std::fs::write(&empty, "").unwrap();
    let strict = sshd.wrapper_with_known_hosts("strict", &empty);
    let other = Grove::start_env(
        &root.join("other"),
        &[],
        &[("GROVE_SSH", strict.to_str().unwrap())],
    );
    other.ok("POST", "/vault/unlock", Some(json!({ "passphrase": PASS })));
    other.ok(
        "POST",
        "/remotes",
        Some(json!({"name": "dev", "url": sshd.url(), "token": remote_token, "remote_port": port})),
    );
    let r = wait_state(&other, "dev", RemoteState::HostKeyUnknown);
    assert!(r["detail"].as_str().unwrap().contains("ssh"), "{r}");
    assert_eq!(
        std::fs::read_to_string(&empty).unwrap(),
        "",
        "ssh added the host key"
    );
}

#[test]
fn a_remote_that_stops_answering_ends_what_is_in_flight() {
    let Scene {
        dir: _dir,
        repo,
        remote,
        local,
        ..
    } = scene("vm", false);
    let session = remote_session(&local, "vm", &repo);
    let tid = session.terminals[0].id;
    rt().block_on(async {
        let mut pane =
            TermClient::connect_path(&local, &format!("/remotes/vm/relay/terminals/{tid}")).await;
        // The remote freezes (a suspended VM): its TCP stays open, nothing answers.
        // SAFETY: SIGSTOP to our own child.
        unsafe { libc::kill(remote.child.id() as i32, libc::SIGSTOP) };
        let started = Instant::now();
        let (status, err) = tokio::task::spawn_blocking({
            let (addr, token) = (local.addr, local.token.clone());
            move || {
                let host = addr.to_string();
                let auth = format!("Bearer {token}");
                super::support::raw(
                    addr,
                    "GET",
                    "/api/v1/remotes/vm/relay/sessions",
                    &[("Host", host.as_str()), ("Authorization", auth.as_str())],
                    None,
                )
            }
        })
        .await
        .unwrap();
        assert_eq!(status, 503, "{err}");
        assert!(err.contains("remote_offline"), "{err}");
        assert!(started.elapsed() < Duration::from_secs(40));
        // The pane is closed so that it retries (1012), not for good.
        assert_eq!(close_code(&mut pane).await, Some(1012));
        // Not connected (offline, or trying again), with the reason it dropped.
        let (state, r) = remote_state(&local, "vm");
        assert!(
            matches!(state, RemoteState::Offline | RemoteState::Connecting),
            "{r}"
        );
        assert!(
            r["detail"]
                .as_str()
                .is_some_and(|d| d.contains("no answer")),
            "{r}"
        );
    });
    // SAFETY: SIGCONT to our own child, so it can end.
    unsafe { libc::kill(remote.child.id() as i32, libc::SIGCONT) };
    wait_state(&local, "vm", RemoteState::Connected);
}
