//! Attack cases: files. The data dir is the user's alone (0700, every file 0600), one that
//! another user owns or can write to is refused, and the CLI never sends the token to whatever
//! now listens at a stale server file's address.

use std::io::Read;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::support::{Grove, eventually, fixture_repo};

/// Runs `grove serve` in `data_dir` (with `extra` args) and expects it to refuse to start.
fn serve_refused(data_dir: &Path, extra: &[&str]) -> String {
    let mut child = Command::new(env!("CARGO_BIN_EXE_grove"))
        .arg("--data-dir")
        .arg(data_dir)
        .arg("serve")
        .args(extra)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // A refusal exits at once; a server that started would run until killed.
    let deadline = std::time::Instant::now() + crate::support::T;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if std::time::Instant::now() > deadline {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!("grove serve started in {}", data_dir.display());
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert!(!status.success(), "grove serve started: {stderr}");
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
        std::fs::read_dir(data.join("logs")).unwrap().any(|e| e
            .unwrap()
            .path()
            .extension()
            .is_some_and(|x| x == "screen")),
        "a screen file was written"
    );
    assert!(stopped >= 3, "{stopped}");
}

#[test]
fn a_stale_server_file_never_sends_the_token() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o700)).unwrap();
    // Another program now listens on the port a crashed Grove used.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let token = "f".repeat(64);
    // A pid that no longer runs: a child we waited for.
    let mut dead = Command::new("true").spawn().unwrap();
    let pid = dead.id();
    dead.wait().unwrap();
    let file = serde_json::json!({
        "url": format!("http://127.0.0.1:{port}"),
        "token": token,
        "pid": pid,
        "exe": env!("CARGO_BIN_EXE_grove"),
    });
    std::fs::write(data.join("server.json"), file.to_string()).unwrap();
    // Whatever connects gets its bytes recorded.
    listener.set_nonblocking(true).unwrap();
    let received = std::sync::Arc::new(std::sync::Mutex::new(Vec::<u8>::new()));
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sink = {
        let (received, stop) = (received.clone(), stop.clone());
        std::thread::spawn(move || {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                match listener.accept() {
                    Ok((mut s, _)) => {
                        s.set_nonblocking(false).unwrap();
                        s.set_read_timeout(Some(std::time::Duration::from_secs(2)))
                            .unwrap();
                        let mut buf = [0u8; 4096];
                        while let Ok(n) = s.read(&mut buf) {
                            if n == 0 {
                                break;
                            }
                            received.lock().unwrap().extend_from_slice(&buf[..n]);
                        }
                    }
                    Err(_) => std::thread::sleep(std::time::Duration::from_millis(10)),
                }
            }
        })
    };
    let out = Command::new(env!("CARGO_BIN_EXE_grove"))
        .arg("--data-dir")
        .arg(&data)
        .args(["session", "list"])
        .output()
        .unwrap();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    sink.join().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains(&format!(
            "no Grove server is running for {}",
            data.display()
        )),
        "{err}"
    );
    let received = received.lock().unwrap();
    assert!(
        !String::from_utf8_lossy(&received).contains(&token),
        "the listener got the token"
    );
}

#[test]
fn the_token_is_printed_only_to_a_terminal_and_by_grove_open() {
    let dir = tempfile::tempdir().unwrap();
    let g = Grove::start(&dir.path().join("data"));
    // Our stdout pipe is not a terminal.
    assert!(!g.banner.contains(&g.token), "{}", g.banner);
    assert!(g.banner.contains("grove open"), "{}", g.banner);
    let out = g.grove_cli(&["open", "--print"]);
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("{}/#token={}", g.url, g.token)
    );
}

/// The offset the log file of a terminal reaches (its header's start offset plus what it holds).
fn log_end(path: &Path) -> u64 {
    let Ok(bytes) = std::fs::read(path) else {
        return 0;
    };
    if bytes.len() < 24 {
        return 0;
    }
    let start = u64::from_le_bytes(bytes[16..24].try_into().unwrap());
    start + bytes.len() as u64 - 24
}

#[test]
fn a_client_that_stops_answering_is_dropped_and_the_terminal_runs_on() {
    use futures_util::StreamExt;
    let dir = tempfile::tempdir().unwrap();
    let repo = fixture_repo(dir.path(), "repo");
    let data = dir.path().join("data");
    let g = Grove::start_with(&data, &["--ping-interval", "1"]);
    let repo_id = g.add_repo(&repo);
    let s = g.create_session(repo_id, "flood", "yes flooding-the-terminal");
    let id = s.terminals[0].id;
    let log = data.join("logs").join(format!("{id}.log"));
    crate::support::rt().block_on(async {
        let (mut ws, _) =
            tokio_tungstenite::connect_async(g.ws_request(&format!("/terminals/{id}")))
                .await
                .unwrap();
        // The hello, then nothing: this client never reads again, so it never answers a ping
        // and never acks; like a laptop that went to sleep, it only keeps the connection open.
        tokio::time::timeout(crate::support::T, ws.next())
            .await
            .expect("no hello within 30 s: attaching to a flooding terminal hung")
            .unwrap()
            .unwrap();
        let attached_at = log_end(&log);
        let deadline = tokio::time::Instant::now() + crate::support::T;
        // A braked reader would stop a few MiB past the attach (what the socket buffers hold).
        while log_end(&log) < attached_at + 32 * 1024 * 1024 {
            assert!(
                tokio::time::Instant::now() < deadline,
                "the terminal stayed braked by a client that stopped answering ({} bytes since)",
                log_end(&log) - attached_at
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        // And the server closed the socket: reading now reaches its end, not an endless stream.
        let ended = tokio::time::timeout(crate::support::T, async {
            while let Some(Ok(msg)) = ws.next().await {
                if msg.is_close() {
                    break;
                }
            }
        })
        .await;
        assert!(ended.is_ok(), "the server never dropped the silent client");
    });
}

#[test]
fn the_events_socket_refuses_a_big_message() {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    let dir = tempfile::tempdir().unwrap();
    let g = Grove::start(&dir.path().join("data"));
    crate::support::rt().block_on(async {
        let (mut ws, _) = tokio_tungstenite::connect_async(g.ws_request("/events"))
            .await
            .unwrap();
        // Clients have nothing to say on /events; 64 KiB is far past its small cap.
        ws.send(Message::Text("x".repeat(64 * 1024).into()))
            .await
            .unwrap();
        let ended = tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                match ws.next().await {
                    Some(Ok(Message::Close(_))) | Some(Err(_)) | None => break,
                    Some(Ok(_)) => {}
                }
            }
        })
        .await;
        assert!(ended.is_ok(), "the events socket took a 64 KiB message");
    });
}
