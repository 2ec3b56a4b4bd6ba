use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use grove_orchestrator::wire::{ClientFrame, ServerFrame, Session};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

// A real OpenSSH server (sshd and /proc): Linux.
#[cfg(target_os = "linux")]
#[path = "support/sshd.rs"]
pub mod sshd;

pub const T: Duration = Duration::from_secs(30);

pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args([
            "-c",
            "user.name=Grove Test",
            "-c",
            "user.email=test@grove.invalid",
            "-c",
            "init.defaultBranch=main",
        ])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A repo with a couple of committed files on `main`.
pub fn fixture_repo(parent: &Path, name: &str) -> PathBuf {
    let dir = parent.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    git(&dir, &["init", "-q", "-b", "main"]);
    std::fs::write(dir.join("README.md"), "# fixture\n").unwrap();
    std::fs::create_dir_all(dir.join("src")).unwrap();
    std::fs::write(dir.join("src/lib.rs"), "pub fn f() {}\n").unwrap();
    git(&dir, &["add", "."]);
    git(&dir, &["commit", "-q", "-m", "initial"]);
    dir
}

/// A running `grove serve` child process.
pub struct Grove {
    pub child: Child,
    pub url: String,
    pub token: String,
    pub addr: SocketAddr,
    pub data_dir: PathBuf,
    /// The line `grove serve` printed.
    pub banner: String,
}

impl Grove {
    pub fn start(data_dir: &Path) -> Grove {
        Self::start_with(data_dir, &[])
    }

    pub fn start_with(data_dir: &Path, extra: &[&str]) -> Grove {
        Self::start_env(data_dir, extra, &[])
    }

    /// Like [`Grove::start_with`], with extra environment for the server (e.g. a git config
    /// isolated from the user's).
    pub fn start_env(data_dir: &Path, extra: &[&str], envs: &[(&str, &str)]) -> Grove {
        let mut child = Command::new(env!("CARGO_BIN_EXE_grove"))
            .arg("--data-dir")
            .arg(data_dir)
            .arg("serve")
            .args(["--idle-after", "1"])
            .args(extra)
            .env("SHELL", "/bin/bash")
            .envs(envs.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        let url = line
            .trim()
            .strip_prefix("Grove is serving at ")
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap_or_else(|| panic!("unexpected: {line:?}"));
        // The token is printed only to a terminal: read it where the CLI does.
        let file: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(data_dir.join("server.json")).unwrap())
                .unwrap();
        let token = file["token"].as_str().unwrap().to_owned();
        let addr: SocketAddr = url.strip_prefix("http://").unwrap().parse().unwrap();
        Grove {
            child,
            url: url.into(),
            token,
            addr,
            data_dir: data_dir.into(),
            banner: line,
        }
    }

    pub fn kill9(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
        std::mem::forget(self);
    }

    pub fn stop(mut self) {
        terminate(&mut self.child);
        self.child.wait().unwrap();
        std::mem::forget(self);
    }

    pub fn host(&self) -> String {
        self.addr.to_string()
    }

    /// An API call with the token; returns (status, JSON body).
    pub fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> (u16, serde_json::Value) {
        let auth = format!("Bearer {}", self.token);
        let host = self.host();
        let (status, text) = raw(
            self.addr,
            method,
            &format!("/api/v1{path}"),
            &[("Host", host.as_str()), ("Authorization", auth.as_str())],
            body.map(|b| b.to_string()).as_deref(),
        );
        let json = serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text));
        (status, json)
    }

    pub fn ok(
        &self,
        method: &str,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> serde_json::Value {
        let (status, json) = self.call(method, path, body);
        assert!(
            (200..300).contains(&status),
            "{method} {path} -> {status}: {json}"
        );
        json
    }

    pub fn add_repo(&self, path: &Path) -> i64 {
        self.ok("POST", "/repos", Some(serde_json::json!({ "path": path })))
            .get("id")
            .and_then(|v| v.as_i64())
            .unwrap()
    }

    pub fn create_session(&self, repo_id: i64, name: &str, command: &str) -> Session {
        let body = serde_json::json!({ "repo_id": repo_id, "name": name, "command": command });
        serde_json::from_value(self.ok("POST", "/sessions", Some(body))).unwrap()
    }

    pub fn sessions(&self) -> Vec<Session> {
        serde_json::from_value(self.ok("GET", "/sessions", None)).unwrap()
    }

    pub fn ws_request(
        &self,
        path: &str,
    ) -> tokio_tungstenite::tungstenite::handshake::client::Request {
        let mut req = format!("ws://{}/api/v1{path}", self.addr)
            .into_client_request()
            .unwrap();
        let proto = format!("grove.v1, grove.token.{}", self.token);
        req.headers_mut().insert(
            "Sec-WebSocket-Protocol",
            HeaderValue::from_str(&proto).unwrap(),
        );
        req
    }

    pub fn grove_cli(&self, args: &[&str]) -> std::process::Output {
        Command::new(env!("CARGO_BIN_EXE_grove"))
            .arg("--data-dir")
            .arg(&self.data_dir)
            .args(args)
            .output()
            .unwrap()
    }
}

/// Asks the server to shut down cleanly (SIGTERM; Windows has no such signal, so it is ended).
fn terminate(child: &mut std::process::Child) {
    #[cfg(unix)]
    // SAFETY: sending SIGTERM to our own child.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGTERM)
    };
    #[cfg(not(unix))]
    let _ = child.kill();
}

impl Drop for Grove {
    fn drop(&mut self) {
        terminate(&mut self.child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One raw HTTP/1.1 request, so tests control every header (Host included).
pub fn raw(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> (u16, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(T)).unwrap();
    let mut req = format!("{method} {path} HTTP/1.1\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    if let Some(b) = body {
        req.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            b.len()
        ));
    } else {
        req.push_str("Content-Length: 0\r\n");
    }
    req.push_str("\r\n");
    if let Some(b) = body {
        req.push_str(b);
    }
    s.write_all(req.as_bytes()).unwrap();
    let mut resp = Vec::new();
    s.read_to_end(&mut resp).unwrap();
    let text = String::from_utf8_lossy(&resp).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
    // Undo chunked encoding if the server used it.
    let body = if text
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(body)
    } else {
        body.to_owned()
    };
    (status, body)
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        s = rest[n..].trim_start_matches("\r\n");
    }
    out
}

pub type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A terminal socket reader that collects bytes and control frames.
pub struct TermClient {
    pub ws: Ws,
    pub start: u64,
    pub bytes: Vec<u8>,
    pub exit: Option<serde_json::Value>,
    /// The screen snapshot `hello` carried (an attach without an offset).
    pub snapshot: Option<grove_orchestrator::wire::ScreenSnapshot>,
    /// Offsets at which `resync` replaced lost output with a snapshot.
    pub resyncs: Vec<u64>,
    pub ack: bool,
}

impl TermClient {
    pub async fn connect(grove: &Grove, terminal_id: i64, query: &str) -> TermClient {
        Self::connect_path(grove, &format!("/terminals/{terminal_id}{query}")).await
    }

    /// A terminal socket at any path under `/api/v1` (a remote's terminal through the relay).
    pub async fn connect_path(grove: &Grove, path: &str) -> TermClient {
        let (ws, _) = tokio_tungstenite::connect_async(grove.ws_request(path))
            .await
            .unwrap();
        let mut c = TermClient {
            ws,
            start: 0,
            bytes: Vec::new(),
            exit: None,
            snapshot: None,
            resyncs: Vec::new(),
            ack: true,
        };
        match c.next_frame().await {
            Some(Some(ServerFrame::Hello {
                offset, snapshot, ..
            })) => {
                c.start = offset;
                c.snapshot = snapshot;
            }
            other => panic!("expected hello, got {other:?}"),
        }
        c
    }

    pub fn offset(&self) -> u64 {
        self.start + self.bytes.len() as u64
    }

    /// The next control frame, or `Some(None)` after a binary frame; `None` when closed.
    async fn next_frame(&mut self) -> Option<Option<ServerFrame>> {
        {
            let Ok(next) = tokio::time::timeout(T, self.ws.next()).await else {
                let tail = &self.bytes[self.bytes.len().saturating_sub(600)..];
                panic!(
                    "socket silent for 30 s; last output: {:?}",
                    String::from_utf8_lossy(tail)
                );
            };
            match next? {
                Ok(Message::Text(t)) => Some(Some(serde_json::from_str(&t).unwrap())),
                Ok(Message::Binary(b)) => {
                    self.bytes.extend_from_slice(&b);
                    if self.ack {
                        let ack = serde_json::to_string(&ClientFrame::Ack {
                            offset: self.offset(),
                        })
                        .unwrap();
                        self.ws.send(Message::Text(ack.into())).await.unwrap();
                    }
                    Some(None)
                }
                Ok(Message::Close(_)) | Err(_) => None,
                Ok(_) => Some(None),
            }
        }
    }

    /// Reads until the output contains `needle`.
    pub async fn read_until(&mut self, needle: &str) {
        // Search only what arrived since the last look (plus an overlap), so a long stream
        // costs linear time.
        let mut searched = 0usize;
        loop {
            let from = searched.saturating_sub(needle.len());
            if String::from_utf8_lossy(&self.bytes[from..]).contains(needle) {
                return;
            }
            searched = self.bytes.len();
            match self.next_frame().await {
                Some(Some(ServerFrame::Resync { offset, .. })) => self.resyncs.push(offset),
                Some(Some(ServerFrame::Exit { exit })) => {
                    self.exit = Some(serde_json::to_value(exit).unwrap());
                    panic!(
                        "terminal exited before {needle:?}: {}",
                        String::from_utf8_lossy(&self.bytes)
                    );
                }
                Some(_) => {}
                None => panic!("socket closed before {needle:?}"),
            }
        }
    }

    /// Reads until the stream has reached log offset `end`.
    pub async fn read_to_offset(&mut self, end: u64) {
        while self.offset() < end {
            match self.next_frame().await {
                Some(Some(ServerFrame::Resync { offset, .. })) => self.resyncs.push(offset),
                Some(_) => {}
                None => panic!("socket closed at {} before {end}", self.offset()),
            }
        }
    }

    /// Reads until the program's exit frame.
    pub async fn read_to_exit(&mut self) {
        while self.exit.is_none() {
            match self.next_frame().await {
                Some(Some(ServerFrame::Exit { exit })) => {
                    self.exit = Some(serde_json::to_value(exit).unwrap())
                }
                Some(_) => {}
                None => panic!("socket closed before exit"),
            }
        }
    }

    pub async fn send_input(&mut self, text: &str) {
        self.ws
            .send(Message::Binary(text.as_bytes().to_vec().into()))
            .await
            .unwrap();
    }

    pub async fn send_control(&mut self, frame: &ClientFrame) {
        self.ws
            .send(Message::Text(serde_json::to_string(frame).unwrap().into()))
            .await
            .unwrap();
    }
}

/// An `/events` socket of `g`.
pub async fn events(g: &Grove) -> Ws {
    tokio_tungstenite::connect_async(g.ws_request("/events"))
        .await
        .unwrap()
        .0
}

/// The first event on an `/events` socket that `pick` accepts, waiting at most `T`.
pub async fn wait_event<R>(
    events: &mut Ws,
    what: &str,
    mut pick: impl FnMut(grove_orchestrator::wire::Event) -> Option<R>,
) -> R {
    let deadline = tokio::time::Instant::now() + T;
    loop {
        let msg = tokio::time::timeout_at(deadline, events.next())
            .await
            .unwrap_or_else(|_| panic!("no event within {T:?}: {what}"))
            .unwrap()
            .unwrap();
        let Message::Text(text) = msg else { continue };
        if let Some(r) = pick(serde_json::from_str(&text).unwrap()) {
            return r;
        }
    }
}

pub fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Waits until `f` holds.
pub fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + T;
    while !f() {
        assert!(Instant::now() < deadline, "timed out: {what}");
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// Runs the `grove` CLI against `g` with `stdin` piped in; (success, stdout, stderr).
pub fn cli_stdin(g: &Grove, args: &[&str], stdin: &str) -> (bool, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_grove"))
        .arg("--data-dir")
        .arg(&g.data_dir)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `grove --data-dir DATA attach ARGS…`: types `line`, waits until the attached terminal shows
/// `want`, detaches with Ctrl-]; its output, after checking it succeeded.
pub fn attach_until(
    data_dir: &Path,
    args: &[&str],
    line: &str,
    want: &str,
) -> std::process::Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_grove"))
        .arg("--data-dir")
        .arg(data_dir)
        .arg("attach")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let reader = {
        let seen = std::sync::Arc::clone(&seen);
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stdout.read(&mut buf) {
                if n == 0 {
                    break;
                }
                seen.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        })
    };
    stdin.write_all(line.as_bytes()).unwrap();
    let deadline = Instant::now() + T;
    while !String::from_utf8_lossy(&seen.lock().unwrap()).contains(want) {
        if let Ok(Some(status)) = child.try_wait() {
            let mut err = String::new();
            child
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut err)
                .unwrap();
            panic!("attach {args:?} ended ({status}): {err}");
        }
        assert!(
            Instant::now() < deadline,
            "attach {args:?} never showed {want:?}"
        );
        std::thread::sleep(Duration::from_millis(25));
    }
    stdin.write_all(&[0x1d]).unwrap();
    let out = child.wait_with_output().unwrap();
    reader.join().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}
