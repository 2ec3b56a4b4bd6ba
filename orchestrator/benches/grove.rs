//! grove-orchestrator benchmarks. Run through `scripts/bench`, which runs each named benchmark in
//! its own process and collects the JSON lines this binary appends to `$GROVE_BENCH_OUT`.
//!
//! Every figure comes with a baseline measured in the same run, the floor Grove is compared with:
//!
//! - `session_ready`: create-session request → worktree checked out and the terminal's first
//!   output (in-process [`Grove`], 3,000-file repo) vs `git worktree add -b` on the same repo.
//! - `restore_50`: `Grove::open` + `sessions()` over 50 saved sessions vs opening the same SQLite
//!   file with rusqlite and `SELECT * FROM sessions`.
//! - `session_idle_rss`: `grove serve`'s RSS per idle session vs a bare process holding one
//!   portable-pty master per `sleep` child.
//! - `ws_flood`: PTY → `grove serve` → WebSocket client (this process) vs a bare portable-pty
//!   read loop of the same `cat`.
//! - `echo_latency[_flooded]`: one byte over the WebSocket to `cat` and back, optionally while a
//!   neighbour session floods, vs the same round trip directly on a portable-pty master.
//! - `echo_latency_scale`: the same round trip in one quiet session of 101 (95 idle `bash`, 5
//!   `yes`), floods detached and then attached to reading clients, vs a bare `cat` PTY while 5
//!   `yes` run in PTYs read by `script`; see [`echo_latency_scale`].
//!
//! - `vault_unlock`: unlocking a vault of 20 secrets (Argon2id with Grove's parameters, then the
//!   Stronghold snapshot read) vs the bare Argon2id derivation with the same parameters.
//! - `changes_latency`, `changes_scan`, `watch_cost`: the live file watcher behind review; see
//!   `review/watch.rs`.
//! - `remote_echo_latency`, `remote_ws_flood`: a second `grove serve --tls-self-signed` on
//!   loopback as the local server's remote; the echo round trip and the flood through the local
//!   server's relay vs a WebSocket directly to the remote over pinned TLS.
//! - `remote_isolation`: the local echo round trip while the remote is stopped (SIGSTOP) or killed
//!   vs while it is healthy; see [`remote_isolation`].
//!
//! Linux-oriented: RSS and CPU come from `/proc`.

#![allow(clippy::print_stdout, clippy::unwrap_used)] // a benchmark binary reports on stdout

use std::io::{BufRead, BufReader, Read, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use grove_orchestrator::wire::{ClientFrame, CreateSessionRequest, ServerFrame, Session};
use grove_orchestrator::{Grove, GroveConfig};
use grove_pty::Chunk;
use portable_pty::{CommandBuilder, PtySize, native_pty_system};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

#[path = "../../pty/benches/common/mod.rs"]
mod common;
// The integration tests' helpers (git fixtures, raw HTTP); the bench uses a few of them.
#[allow(dead_code)]
#[path = "../tests/orchestrator/support.rs"]
mod support;
use common::{MIB, Rng, bench_data_dir, data_file, median, mixed_block, percentile, report};
use support::{git, raw};
// The review benchmarks: the file watcher and the change counts.
#[path = "review/watch.rs"]
mod watch;
/// A generous bound on anything a benchmark waits for; hitting it is a bug, not a slow run.
const T: Duration = Duration::from_secs(60);
/// The re-exec'd child that measures the bare-PTY RSS baseline of `session_idle_rss`.
const BARE_RSS_CHILD: &str = "--bare-pty-rss-child";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(i) = args.iter().position(|a| a == BARE_RSS_CHILD) {
        bare_pty_rss_child(args[i + 1].parse().unwrap());
        return;
    }
    let names: Vec<&String> = args.iter().filter(|a| !a.starts_with("--")).collect();
    let all = [
        "session_ready",
        "restore_50",
        "session_idle_rss",
        "ws_flood",
        "echo_latency",
        "echo_latency_flooded",
        "echo_latency_scale",
        "vault_unlock",
        "changes_latency",
        "changes_scan",
        "watch_cost",
        "remote_echo_latency",
        "remote_ws_flood",
        "remote_isolation",
    ];
    let run: Vec<&str> = if names.is_empty() {
        all.to_vec()
    } else {
        all.iter()
            .copied()
            .filter(|n| names.iter().any(|x| x == n))
            .collect()
    };
    for name in run {
        match name {
            "session_ready" => session_ready(),
            "restore_50" => restore_50(),
            "session_idle_rss" => session_idle_rss(),
            "ws_flood" => ws_flood(),
            "echo_latency" => echo_latency(name, false),
            "echo_latency_flooded" => echo_latency(name, true),
            "echo_latency_scale" => echo_latency_scale(),
            "vault_unlock" => vault_unlock(),
            "changes_latency" => watch::changes_latency(),
            "changes_scan" => watch::changes_scan(),
            "watch_cost" => watch::watch_cost(),
            "remote_echo_latency" => remote_echo_latency(),
            "remote_ws_flood" => remote_ws_flood(),
            "remote_isolation" => remote_isolation(),
            _ => unreachable!(),
        }
    }
}

// ------------------------------------------------------------------------------------ reporting

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// A JSON string literal.
fn json_str(s: &str) -> String {
    serde_json::Value::String(s.into()).to_string()
}

/// A repo with two committed files on `main`.
fn small_repo(parent: &Path) -> PathBuf {
    let dir = parent.join("repo");
    std::fs::create_dir_all(dir.join("src")).unwrap();
    git(&dir, &["init", "-q", "-b", "main"]);
    std::fs::write(dir.join("README.md"), "# bench\n").unwrap();
    std::fs::write(dir.join("src/lib.rs"), "pub fn f() {}\n").unwrap();
    git(&dir, &["add", "."]);
    git(&dir, &["commit", "-q", "-m", "initial"]);
    dir
}

const BIG_FILES: usize = 3000;
const BIG_DIRS: usize = 100;

/// A repo of 3,000 files of 2–4 KiB in 100 directories, one commit on `main`; made once and
/// cached. Leftovers of an interrupted run (worktrees, branches) are cleared.
fn big_repo() -> PathBuf {
    let dir = bench_data_dir().join(format!("repo-{BIG_FILES}"));
    let done = bench_data_dir().join(format!("repo-{BIG_FILES}.done"));
    if !done.exists() {
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        git(&dir, &["init", "-q", "-b", "main"]);
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let words = [
            "let", "fn", "grove", "session", "worktree", "match", "Some(x)", "=>", "return",
            "self", "0x2a", "//", "impl", "{", "}", ";",
        ];
        for i in 0..BIG_FILES {
            let sub = dir.join(format!("d{:03}", i % BIG_DIRS));
            std::fs::create_dir_all(&sub).unwrap();
            let len = 2048 + (rng.next() % 2048) as usize;
            let mut text = String::with_capacity(len + 16);
            let mut col = 0;
            while text.len() < len {
                let w = words[(rng.next() % words.len() as u64) as usize];
                text.push_str(w);
                col += w.len() + 1;
                if col > 72 {
                    text.push('\n');
                    col = 0;
                } else {
                    text.push(' ');
                }
            }
            std::fs::write(sub.join(format!("f{i:04}.rs")), text).unwrap();
        }
        git(&dir, &["add", "."]);
        git(&dir, &["commit", "-q", "-m", "initial"]);
        std::fs::write(&done, "").unwrap();
    }
    let _ = std::fs::remove_dir_all(dir.join(".git/worktrees"));
    for branch in git(
        &dir,
        &["for-each-ref", "--format=%(refname:short)", "refs/heads/"],
    )
    .lines()
    .filter(|b| *b != "main")
    {
        git(&dir, &["branch", "-q", "-D", branch]);
    }
    dir
}

// ----------------------------------------------------------------------------------- test data

// ----------------------------------------------------------------------------------- /proc

fn rss_kib(pid: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// User + system CPU seconds of a process (all its threads) so far. `/proc` counts in USER_HZ,
/// which is 100 on Linux.
fn cpu_s(pid: &str) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    (ticks(11) + ticks(12)) as f64 / 100.0
}

/// The machine's busy and total CPU time so far (jiffies, all cores), from `/proc/stat`.
fn machine_jiffies() -> (u64, u64) {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let f: Vec<u64> = stat
        .lines()
        .next()
        .unwrap_or("")
        .split_whitespace()
        .skip(1)
        .filter_map(|v| v.parse().ok())
        .collect();
    let total: u64 = f.iter().sum();
    // idle and iowait
    let idle = f.get(3).copied().unwrap_or(0) + f.get(4).copied().unwrap_or(0);
    (total - idle, total)
}

/// Waits (at most `limit`) until the machine's cores were at least 90% idle over a second;
/// returns how long that took. Where /proc/stat is missing it returns at once.
fn wait_machine_idle(limit: Duration) -> Duration {
    let start = Instant::now();
    while start.elapsed() < limit {
        let (b0, t0) = machine_jiffies();
        std::thread::sleep(Duration::from_secs(1));
        let (b1, t1) = machine_jiffies();
        if t1 <= t0 || ((b1 - b0) as f64) < 0.1 * (t1 - t0) as f64 {
            break;
        }
    }
    start.elapsed()
}

// ------------------------------------------------------------------------------ grove serve

/// A running `grove serve` child process on its own data dir.
struct Server {
    child: Child,
    token: String,
    addr: SocketAddr,
    _dir: tempfile::TempDir,
    repo_id: i64,
    /// With `--tls-self-signed`: the certificate's fingerprint the server printed.
    fingerprint: Option<String>,
}

impl Server {
    /// Starts `grove serve` on a fresh data dir and registers a small repo.
    fn start() -> Server {
        let dir = tempfile::tempdir().unwrap();
        let repo = small_repo(dir.path());
        Server::launch(dir, Some(&repo), &[])
    }

    /// Starts `grove serve` on the data dir `<dir>/data` with `args`, registering `repo` (else
    /// the first repo it knows). With `--tls-self-signed` no repo is registered (this process
    /// speaks plain HTTP only; a remote's repos go through a local server's relay).
    fn launch(dir: tempfile::TempDir, repo: Option<&Path>, args: &[&str]) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_grove"))
            .arg("--data-dir")
            .arg(dir.path().join("data"))
            .arg("serve")
            .args(args)
            .env("SHELL", "/bin/sh")
            .env("GROVE_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        let url = line
            .trim()
            .strip_prefix("Grove is serving at ")
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap_or_else(|| panic!("unexpected: {line:?}"));
        let fingerprint = url.starts_with("https://").then(|| {
            let mut fp = String::new();
            stdout.read_line(&mut fp).unwrap();
            fp.trim()
                .strip_prefix("TLS certificate fingerprint (SHA-256): ")
                .unwrap_or_else(|| panic!("no fingerprint line: {fp:?}"))
                .to_owned()
        });
        // Keep reading stdout so the server never writes into a closed or full pipe.
        std::thread::spawn(move || {
            let mut sink = String::new();
            while stdout.read_line(&mut sink).map(|n| n > 0).unwrap_or(false) {
                sink.clear();
            }
        });
        // The token is printed only to a terminal; the server file has it.
        let file: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(dir.path().join("data/server.json")).unwrap(),
        )
        .unwrap();
        let token = file["token"].as_str().unwrap().to_owned();
        let addr: SocketAddr = url
            .strip_prefix("http://")
            .or_else(|| url.strip_prefix("https://"))
            .unwrap()
            .parse()
            .unwrap();
        let mut server = Server {
            child,
            token,
            addr,
            _dir: dir,
            repo_id: 0,
            fingerprint,
        };
        if server.fingerprint.is_some() {
            return server;
        }
        server.repo_id = match repo {
            Some(repo) => server.ok("POST", "/repos", Some(serde_json::json!({ "path": repo }))),
            None => server.ok("GET", "/repos", None)[0].clone(),
        }
        .get("id")
        .and_then(|v| v.as_i64())
        .unwrap();
        server
    }

    /// Stops the server (SIGTERM) and hands back its directory.
    fn stop(mut self) -> tempfile::TempDir {
        self.terminate();
        let dir = tempfile::tempdir().unwrap();
        std::mem::replace(&mut self._dir, dir)
    }

    /// Kills the server (SIGKILL: no goodbye to its clients) and hands back its directory.
    fn kill(mut self) -> tempfile::TempDir {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let dir = tempfile::tempdir().unwrap();
        std::mem::replace(&mut self._dir, dir)
    }

    fn pid(&self) -> String {
        self.child.id().to_string()
    }

    /// An API call with the token: status and body.
    fn call(&self, method: &str, path: &str, body: Option<serde_json::Value>) -> (u16, String) {
        let auth = format!("Bearer {}", self.token);
        let host = self.addr.to_string();
        raw(
            self.addr,
            method,
            &format!("/api/v1{path}"),
            &[("Host", host.as_str()), ("Authorization", auth.as_str())],
            body.map(|b| b.to_string()).as_deref(),
        )
    }

    /// An API call with the token; panics unless it succeeds.
    fn ok(&self, method: &str, path: &str, body: Option<serde_json::Value>) -> serde_json::Value {
        let (status, text) = self.call(method, path, body);
        assert!(
            (200..300).contains(&status),
            "{method} {path} -> {status}: {text}"
        );
        serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text))
    }

    /// Creates a session and returns its first terminal's id.
    fn create_session(&self, name: &str, command: &str) -> i64 {
        self.create_session_at("", self.repo_id, name, command)
    }

    /// Creates a session under the API base `base` ("" for this server,
    /// `/remotes/NAME/relay` for a remote of it) on `repo_id` there; its first terminal's id.
    fn create_session_at(&self, base: &str, repo_id: i64, name: &str, command: &str) -> i64 {
        let body = serde_json::json!({ "repo_id": repo_id, "name": name, "command": command });
        let path = format!("{base}/sessions");
        let s: Session = serde_json::from_value(self.ok("POST", &path, Some(body))).unwrap();
        s.terminals[0].id
    }

    /// The current end offset of a terminal's log.
    fn log_end(&self, terminal_id: i64) -> u64 {
        let sessions: Vec<Session> =
            serde_json::from_value(self.ok("GET", "/sessions", None)).unwrap();
        sessions
            .iter()
            .flat_map(|s| &s.terminals)
            .find(|t| t.id == terminal_id)
            .map(|t| t.log_end)
            .unwrap()
    }

    /// Attaches to a terminal; returns the socket (past `hello`) and the hello offset.
    async fn attach(&self, terminal_id: i64, query: &str) -> (Ws, u64) {
        self.attach_at("", terminal_id, query).await
    }

    /// A WebSocket request for `/api/v1{path}` with this server's token.
    fn ws_request(&self, path: &str) -> tokio_tungstenite::tungstenite::handshake::client::Request {
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

    /// [`Server::attach`] under the API base `base` (see [`Server::create_session_at`]).
    async fn attach_at(&self, base: &str, terminal_id: i64, query: &str) -> (Ws, u64) {
        let req = self.ws_request(&format!("{base}/terminals/{terminal_id}{query}"));
        // TCP_NODELAY, as browsers do for WebSockets.
        let (ws, _) = tokio_tungstenite::connect_async_with_config(req, None, true)
            .await
            .unwrap();
        past_hello(ws).await
    }

    /// Attaches to a terminal of this `--tls-self-signed` server directly, over TLS with its
    /// certificate pinned (what the relay does for each socket it relays).
    async fn attach_tls(&self, terminal_id: i64, query: &str) -> (TlsWs, u64) {
        use grove_orchestrator::remote::tls::{Fingerprint, Trust, connect};
        let fp: Fingerprint = self.fingerprint.as_deref().unwrap().parse().unwrap();
        let stream = connect(
            &self.addr.ip().to_string(),
            self.addr.port(),
            &Trust::Pinned(fp),
            T,
        )
        .await
        .unwrap();
        let req = self.ws_request(&format!("/terminals/{terminal_id}{query}"));
        let (ws, _) = tokio_tungstenite::client_async_with_config(req, stream, None)
            .await
            .unwrap();
        past_hello(ws).await
    }
}

/// Reads a terminal socket's `hello`; the socket and the hello's offset.
async fn past_hello<S: WsIo>(mut ws: WebSocketStream<S>) -> (WebSocketStream<S>, u64) {
    match tokio::time::timeout(T, ws.next()).await {
        Ok(Some(Ok(Message::Text(t)))) => match serde_json::from_str(&t).unwrap() {
            ServerFrame::Hello { offset, .. } => (ws, offset),
            other => panic!("expected hello, got {other:?}"),
        },
        other => panic!("expected hello, got {other:?}"),
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.terminate();
    }
}

impl Server {
    fn terminate(&mut self) {
        if let Ok(Some(_)) = self.child.try_wait() {
            return;
        }
        // SIGTERM, so the server ends its sessions' programs itself.
        let _ = Command::new("kill").args(["-TERM", &self.pid()]).status();
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

type Ws = WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;
type TlsWs = WebSocketStream<grove_orchestrator::remote::tls::TlsStream>;

/// A WebSocket's byte stream: plain TCP to a server, or TLS directly to a remote.
trait WsIo: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin {}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin> WsIo for T {}

async fn send_ack<S: WsIo>(ws: &mut WebSocketStream<S>, offset: u64) {
    let ack = serde_json::to_string(&ClientFrame::Ack { offset }).unwrap();
    ws.send(Message::Text(ack.into())).await.unwrap();
}

/// The next binary frame's bytes (control frames are skipped; `truncated` and `exit` panic).
async fn next_binary<S: WsIo>(ws: &mut WebSocketStream<S>) -> Vec<u8> {
    loop {
        match tokio::time::timeout(T, ws.next()).await {
            Ok(Some(Ok(Message::Binary(b)))) => return b.to_vec(),
            Ok(Some(Ok(Message::Text(t)))) => panic!("unexpected control frame: {t}"),
            Ok(Some(Ok(_))) => {}
            other => panic!("socket ended or went silent: {other:?}"),
        }
    }
}

fn client_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

// --------------------------------------------------------------------------------- bare PTYs

/// A bare portable-pty child: master, reader, writer. No log, no threads.
struct BarePty {
    _master: Box<dyn portable_pty::MasterPty + Send>,
    reader: Box<dyn Read + Send>,
    writer: Box<dyn Write + Send>,
    child: Box<dyn portable_pty::Child + Send + Sync>,
}

impl BarePty {
    fn spawn(script: &str) -> BarePty {
        let pair = native_pty_system()
            .openpty(PtySize {
                rows: 24,
                cols: 80,
                pixel_width: 0,
                pixel_height: 0,
            })
            .unwrap();
        let mut cmd = CommandBuilder::new("sh");
        cmd.args(["-c", script]);
        cmd.cwd(std::env::temp_dir());
        let child = pair.slave.spawn_command(cmd).unwrap();
        drop(pair.slave);
        BarePty {
            reader: pair.master.try_clone_reader().unwrap(),
            writer: pair.master.take_writer().unwrap(),
            _master: pair.master,
            child,
        }
    }

    /// Reads until the output so far ends with `needle`.
    fn read_until(&mut self, needle: &[u8]) {
        let mut seen = Vec::new();
        let mut buf = [0u8; 4096];
        while !seen.ends_with(needle) {
            let n = self.reader.read(&mut buf).unwrap();
            assert!(n > 0, "bare pty ended before {needle:?}");
            seen.extend_from_slice(&buf[..n]);
        }
    }
}

impl Drop for BarePty {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------------------- session_ready

const READY_RUNS: usize = 7;

fn session_ready() {
    let repo = big_repo();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let _enter = rt.enter();
    let (mut grove, mut bare) = (Vec::new(), Vec::new());
    // Run 0 warms the page cache and is not counted; then alternate so drift hits both alike.
    for i in 0..=READY_RUNS {
        let b = git_worktree_add(&repo, i);
        let g = grove_session_ready(&repo, i);
        if i > 0 {
            bare.push(b);
            grove.push(g);
        }
    }
    report(
        "session_ready",
        median(grove),
        "ms",
        median(bare),
        &format!(
            ",\"files\":{BIG_FILES},\"runs\":{READY_RUNS},\"baseline_is\":{}",
            json_str("git worktree add -b BRANCH PATH main (CLI)")
        ),
    );
}

/// Create-session request → the agent terminal's first output, on a fresh data dir.
fn grove_session_ready(repo: &Path, i: usize) -> f64 {
    let tmp = tempfile::tempdir().unwrap();
    let grove = Grove::open(GroveConfig::new(tmp.path().join("data"))).unwrap();
    let repo_id = grove.add_repo(repo.to_str().unwrap()).unwrap().id;
    let started = Instant::now();
    let session = grove
        .create_session(CreateSessionRequest {
            repo_id,
            name: format!("ready-{i}"),
            command: Some("echo ready".into()),
            ..Default::default()
        })
        .unwrap();
    let term = grove.terminal(session.terminals[0].id).unwrap();
    let mut sub = term.log().subscribe(0);
    loop {
        match sub.next_blocking(grove_pty::DEFAULT_CHUNK, Some(T)) {
            Some(Chunk::Data { .. }) => break,
            Some(Chunk::Truncated { .. }) => {}
            other => panic!("no output from the session's terminal: {other:?}"),
        }
    }
    let elapsed = ms(started.elapsed());
    assert!(term.log().end_offset() > 0);
    drop(term);
    grove.shutdown();
    drop(grove);
    // Grove locks its worktrees, so removing one takes --force twice.
    git(
        repo,
        &[
            "worktree",
            "remove",
            "--force",
            "--force",
            &session.worktree,
        ],
    );
    git(repo, &["branch", "-q", "-D", &session.branch]);
    elapsed
}

fn git_worktree_add(repo: &Path, i: usize) -> f64 {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("wt");
    let path = path.to_str().unwrap();
    let branch = format!("bench-base-{i}");
    let started = Instant::now();
    git(
        repo,
        &["worktree", "add", "-q", "-b", &branch, path, "main"],
    );
    let elapsed = ms(started.elapsed());
    git(repo, &["worktree", "remove", "--force", path]);
    git(repo, &["branch", "-q", "-D", &branch]);
    elapsed
}

// ------------------------------------------------------------------------------- restore_50

const RESTORE_SESSIONS: usize = 50;
const RESTORE_RUNS: usize = 5;

fn restore_50() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = small_repo(tmp.path());
    let data = tmp.path().join("data");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let _enter = rt.enter();
    {
        let grove = Grove::open(GroveConfig::new(&data)).unwrap();
        let repo_id = grove.add_repo(repo.to_str().unwrap()).unwrap().id;
        let terms: Vec<_> = (0..RESTORE_SESSIONS)
            .map(|i| {
                let s = grove
                    .create_session(CreateSessionRequest {
                        repo_id,
                        name: format!("restore-{i}"),
                        command: Some("echo hi".into()),
                        ..Default::default()
                    })
                    .unwrap();
                grove.terminal(s.terminals[0].id).unwrap()
            })
            .collect();
        let deadline = Instant::now() + T;
        while terms.iter().any(|t| t.log().end_offset() == 0) {
            assert!(Instant::now() < deadline, "sessions never printed");
            std::thread::sleep(Duration::from_millis(10));
        }
        grove.shutdown();
    }
    let db_path = data.join("grove.db");
    let (mut grove_ms, mut sqlite_ms) = (Vec::new(), Vec::new());
    for i in 0..=RESTORE_RUNS {
        let started = Instant::now();
        let conn = rusqlite::Connection::open(&db_path).unwrap();
        let mut stmt = conn.prepare("SELECT * FROM sessions").unwrap();
        let cols = stmt.column_count();
        let rows = stmt
            .query_map([], |row| {
                (0..cols)
                    .map(|c| row.get::<_, rusqlite::types::Value>(c))
                    .collect::<Result<Vec<_>, _>>()
            })
            .unwrap()
            .collect::<Result<Vec<_>, _>>()
            .unwrap();
        let floor = ms(started.elapsed());
        assert_eq!(rows.len(), RESTORE_SESSIONS);
        drop(stmt);
        drop(conn);

        let started = Instant::now();
        let grove = Grove::open(GroveConfig::new(&data)).unwrap();
        let sessions = grove.sessions().unwrap();
        let open = ms(started.elapsed());
        assert_eq!(sessions.len(), RESTORE_SESSIONS);
        grove.shutdown();
        drop(grove);
        // Run 0 warms caches and is not counted.
        if i > 0 {
            sqlite_ms.push(floor);
            grove_ms.push(open);
        }
    }
    report(
        "restore_50",
        median(grove_ms),
        "ms",
        median(sqlite_ms),
        &format!(
            ",\"sessions\":{RESTORE_SESSIONS},\"runs\":{RESTORE_RUNS},\"baseline_is\":{}",
            json_str("rusqlite open + SELECT * FROM sessions on the same file")
        ),
    );
}

// ------------------------------------------------------------------------- session_idle_rss

const IDLE_SESSIONS: usize = 20;
const IDLE_RUNS: usize = 3;
const IDLE_SETTLE: Duration = Duration::from_secs(2);

fn session_idle_rss() {
    let (mut grove, mut bare) = (Vec::new(), Vec::new());
    let (mut befores, mut afters) = (Vec::new(), Vec::new());
    for _ in 0..IDLE_RUNS {
        let out = Command::new(std::env::current_exe().unwrap())
            .args([BARE_RSS_CHILD, &IDLE_SESSIONS.to_string()])
            .stderr(Stdio::inherit())
            .output()
            .unwrap();
        assert!(out.status.success(), "bare pty child failed");
        let kib: f64 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
        bare.push(kib / IDLE_SESSIONS as f64);

        let server = Server::start();
        let pid = server.pid();
        // One request of each kind first, so first-use allocations are not counted.
        server.create_session("warm", "sleep 3600");
        server.ok("GET", "/sessions", None);
        std::thread::sleep(IDLE_SETTLE);
        let before = rss_kib(&pid);
        for i in 0..IDLE_SESSIONS {
            server.create_session(&format!("idle-{i}"), "sleep 3600");
        }
        std::thread::sleep(IDLE_SETTLE);
        let after = rss_kib(&pid);
        grove.push(after.saturating_sub(before) as f64 / IDLE_SESSIONS as f64);
        befores.push(before as f64);
        afters.push(after as f64);
    }
    report(
        "session_idle_rss",
        median(grove),
        "KiB",
        median(bare),
        &format!(
            ",\"sessions\":{IDLE_SESSIONS},\"runs\":{IDLE_RUNS},\"server_before_kib\":{},\"server_after_kib\":{},\"baseline_is\":{}",
            median(befores),
            median(afters),
            json_str(
                "RSS growth per PTY of a fresh process holding 20 portable-pty masters + `sleep 3600` children (open pty, spawn, keep master)"
            )
        ),
    );
}

/// The baseline child: prints its RSS growth in KiB from holding `n` bare PTYs running `sleep`.
fn bare_pty_rss_child(n: usize) {
    let before = rss_kib("self");
    let mut held = Vec::new();
    for _ in 0..n {
        let pair = native_pty_system()
            .openpty(PtySize {
                rows: 24,
                cols: 80,
                pixel_width: 0,
                pixel_height: 0,
            })
            .unwrap();
        let mut cmd = CommandBuilder::new("sleep");
        cmd.arg("3600");
        let child = pair.slave.spawn_command(cmd).unwrap();
        drop(pair.slave);
        held.push((pair.master, child));
    }
    std::thread::sleep(IDLE_SETTLE);
    let after = rss_kib("self");
    for (_, child) in &mut held {
        let _ = child.kill();
        let _ = child.wait();
    }
    println!("{}", after.saturating_sub(before));
}

// --------------------------------------------------------------------------------- ws_flood

const FLOOD_RUNS: usize = 3;
const FLOOD_SIZE: usize = 256 * MIB;

/// The baseline: a bare portable-pty read loop of the same `cat`, no log, no subscriber.
fn bare_read(path: &Path) -> (usize, Duration) {
    let started = Instant::now();
    let mut pty = BarePty::spawn(&format!("stty raw -echo && exec cat '{}'", path.display()));
    let mut buf = vec![0u8; 64 * 1024];
    let mut total = 0;
    loop {
        match pty.reader.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => total += n,
        }
    }
    (total, started.elapsed())
}

struct FloodRun {
    /// Bytes that reached the client (the file and its echo, minus any truncated away).
    delivered: u64,
    truncations: u64,
    elapsed: Duration,
    server_cpu_s: f64,
    client_cpu_s: f64,
    /// Binary frames received.
    frames: u64,
}

/// Attaches, starts the flood with a newline and reads (acking every frame) until the stream
/// has passed `expected` bytes. A `truncated` frame is counted, not fatal: it means the server
/// fell more than a log's capacity behind the PTY even though this client kept up.
async fn ws_read_all(server: &Server, terminal_id: i64, expected: u64) -> FloodRun {
    let (ws, start) = server.attach(terminal_id, "?from=0").await;
    ws_read_all_on(ws, start, &server.pid(), expected).await
}

/// [`ws_read_all`] on a socket already attached at `start`; server CPU is `pid`'s.
async fn ws_read_all_on<S: WsIo>(
    mut ws: WebSocketStream<S>,
    start: u64,
    pid: &str,
    expected: u64,
) -> FloodRun {
    let (server_cpu0, client_cpu0) = (cpu_s(pid), cpu_s("self"));
    let started = Instant::now();
    ws.send(Message::Binary(b"\n".to_vec().into()))
        .await
        .unwrap();
    let end = start + expected;
    let (mut offset, mut delivered, mut truncations, mut frames) = (start, 0u64, 0u64, 0u64);
    while offset < end {
        match tokio::time::timeout(T, ws.next()).await {
            Ok(Some(Ok(Message::Binary(b)))) => {
                offset += b.len() as u64;
                delivered += b.len() as u64;
                frames += 1;
            }
            Ok(Some(Ok(Message::Text(t)))) => match serde_json::from_str(&t).unwrap() {
                ServerFrame::Resync { offset: at, .. } => {
                    truncations += 1;
                    offset = at;
                }
                other => panic!("unexpected control frame: {other:?}"),
            },
            Ok(Some(Ok(_))) => continue,
            other => panic!("socket ended or went silent: {other:?}"),
        }
        send_ack(&mut ws, offset).await;
    }
    let elapsed = started.elapsed();
    assert_eq!(offset, end, "more output than the file and its echo");
    FloodRun {
        delivered,
        truncations,
        elapsed,
        server_cpu_s: cpu_s(pid) - server_cpu0,
        client_cpu_s: cpu_s("self") - client_cpu0,
        frames,
    }
}

fn ws_flood() {
    let path = data_file("mixed", FLOOD_SIZE, mixed_block);
    let size = std::fs::metadata(&path).unwrap().len();
    let server = Server::start();
    let rt = client_runtime();
    let (mut grove, mut bare) = (Vec::new(), Vec::new());
    let (mut server_cpu, mut client_cpu) = (Vec::new(), Vec::new());
    let (mut truncations, mut lost) = (0u64, 0u64);
    // Warm the page cache, then alternate so drift hits both sides alike.
    bare_read(&path);
    for i in 0..FLOOD_RUNS {
        let (n, d) = bare_read(&path);
        assert_eq!(n as u64, size, "every byte arrives");
        bare.push(n as f64 / 1e6 / d.as_secs_f64());

        // The terminal echoes the newline that starts the flood ("\r\n") before `stty` runs.
        let tid = server.create_session(
            &format!("flood-{i}"),
            &format!("sh -c 'read x; stty raw -echo; cat \"{}\"'", path.display()),
        );
        let run = rt.block_on(ws_read_all(&server, tid, size + 2));
        grove.push(run.delivered as f64 / 1e6 / run.elapsed.as_secs_f64());
        truncations += run.truncations;
        lost += size + 2 - run.delivered;
        server_cpu.push(run.server_cpu_s);
        client_cpu.push(run.client_cpu_s);
    }
    report(
        "ws_flood",
        median(grove),
        "MB/s",
        median(bare),
        &format!(
            ",\"bytes\":{size},\"runs\":{FLOOD_RUNS},\"truncations\":{truncations},\"lost_bytes\":{lost},\"server_cpu_s\":{:.2},\"client_cpu_s\":{:.2},\"baseline_is\":{}",
            median(server_cpu),
            median(client_cpu),
            json_str("bare portable-pty read loop of the same cat")
        ),
    );
}

// ----------------------------------------------------------------------------- echo_latency

const ECHO_TRIPS: usize = 1500;
const ECHO_BLOCK: usize = 150;
const ECHO_SCRIPT: &str = "stty raw -echo; printf ready; exec cat";

/// One byte in, the same byte back, over the terminal socket.
async fn ws_trip<S: WsIo>(
    ws: &mut WebSocketStream<S>,
    start: u64,
    received: &mut u64,
    byte: u8,
) -> Duration {
    let started = Instant::now();
    ws.send(Message::Binary(vec![byte].into())).await.unwrap();
    loop {
        let bytes = next_binary(ws).await;
        *received += bytes.len() as u64;
        if bytes.last() == Some(&byte) {
            break;
        }
    }
    let elapsed = started.elapsed();
    send_ack(ws, start + *received).await;
    elapsed
}

/// One byte in, the same byte back, directly on the PTY master.
fn bare_trip(pty: &mut BarePty, byte: u8) -> Duration {
    let started = Instant::now();
    pty.writer.write_all(&[byte]).unwrap();
    pty.writer.flush().unwrap();
    let mut buf = [0u8; 256];
    loop {
        let n = pty.reader.read(&mut buf).unwrap();
        assert!(n > 0, "bare cat ended");
        if buf[n - 1] == byte {
            break;
        }
    }
    started.elapsed()
}

fn echo_latency(name: &str, flooded: bool) {
    let server = Server::start();
    let neighbour = flooded.then(|| server.create_session("neighbour", "yes"));
    let tid = server.create_session("echo", &format!("sh -c '{ECHO_SCRIPT}'"));
    let mut pty = BarePty::spawn(ECHO_SCRIPT);
    pty.read_until(b"ready");
    let rt = client_runtime();
    let byte = |i: usize| b'a' + (i % 26) as u8;
    let (grove, bare, neighbour_mbps) = rt.block_on(async {
        let (mut ws, start) = server.attach(tid, "?from=0").await;
        let mut received = 0u64;
        let mut seen = Vec::new();
        while !seen.ends_with(b"ready") {
            let bytes = next_binary(&mut ws).await;
            received += bytes.len() as u64;
            seen.extend_from_slice(&bytes);
        }
        send_ack(&mut ws, start + received).await;
        // Warm up both paths, then alternate blocks so drift hits both alike.
        for i in 0..50 {
            ws_trip(&mut ws, start, &mut received, byte(i)).await;
            bare_trip(&mut pty, byte(i));
        }
        let flood_start = neighbour.map(|n| (server.log_end(n), Instant::now()));
        let (mut grove, mut bare) = (Vec::new(), Vec::new());
        for block in 0..ECHO_TRIPS / ECHO_BLOCK {
            for i in 0..ECHO_BLOCK {
                let b = byte(block * ECHO_BLOCK + i);
                grove.push(
                    ws_trip(&mut ws, start, &mut received, b)
                        .await
                        .as_secs_f64()
                        * 1e6,
                );
            }
            for i in 0..ECHO_BLOCK {
                let b = byte(block * ECHO_BLOCK + i);
                bare.push(bare_trip(&mut pty, b).as_secs_f64() * 1e6);
            }
        }
        let neighbour_mbps = match (neighbour, flood_start) {
            (Some(n), Some((from, t0))) => {
                (server.log_end(n) - from) as f64 / 1e6 / t0.elapsed().as_secs_f64()
            }
            _ => 0.0,
        };
        (grove, bare, neighbour_mbps)
    });
    let baseline_is = if flooded {
        "the same round trip directly on a portable-pty master, while the neighbour floods"
    } else {
        "the same round trip directly on a portable-pty master"
    };
    let mut extra = format!(
        ",\"trips\":{ECHO_TRIPS},\"baseline_is\":{}",
        json_str(baseline_is)
    );
    if flooded {
        extra.push_str(&format!(",\"neighbour_mb_s\":{neighbour_mbps:.1}"));
    }
    for p in [50.0, 99.0] {
        report(
            &format!("{name}_p{p}"),
            percentile(grove.clone(), p),
            "us",
            percentile(bare.clone(), p),
            &extra,
        );
    }
}

// ------------------------------------------------------------------------ echo_latency_scale

const SCALE_IDLE: usize = 95;
const SCALE_FLOODS: usize = 5;
/// Round trips per phase and side, in blocks that alternate Grove and the bare PTY.
const SCALE_TRIPS: usize = 1500;
const SCALE_BLOCK: usize = 150;
/// Time for the floods of one side to get going again after they were resumed.
const SCALE_SETTLE: Duration = Duration::from_millis(300);

/// The scene's phases: no flood running, the 5 floods with no client, the 5 floods each read
/// by a WebSocket client that acks every frame.
#[derive(Clone, Copy, PartialEq, Eq)]
enum ScalePhase {
    Quiet,
    Detached,
    Attached,
}

impl ScalePhase {
    fn name(self) -> &'static str {
        match self {
            ScalePhase::Quiet => "quiet",
            ScalePhase::Detached => "detached",
            ScalePhase::Attached => "attached",
        }
    }
}

/// Pids of the processes whose argv is exactly `yes <marker>`.
fn yes_pids(marker: &str) -> Vec<i32> {
    let mut pids = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<i32>().ok())
        else {
            continue;
        };
        let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
            continue;
        };
        let args: Vec<&[u8]> = cmdline
            .split(|&b| b == 0)
            .filter(|a| !a.is_empty())
            .collect();
        if args.len() == 2 && args[0].ends_with(b"yes") && args[1] == marker.as_bytes() {
            pids.push(pid);
        }
    }
    pids
}

/// The signals the scale benchmark sends to its floods.
#[derive(Clone, Copy)]
enum Sig {
    Stop,
    Cont,
    Kill,
}

#[cfg(unix)]
fn signal_pids(pids: &[i32], signal: Sig) {
    let signal = match signal {
        Sig::Stop => libc::SIGSTOP,
        Sig::Cont => libc::SIGCONT,
        Sig::Kill => libc::SIGKILL,
    };
    for &pid in pids {
        // SAFETY: plain kill(2) on a process this benchmark started (directly or via grove).
        unsafe {
            libc::kill(pid, signal);
        }
    }
}

/// The scale benchmark pauses floods with job-control signals, which Windows does not have; it
/// runs on unix only (the Windows check only compiles it).
#[cfg(not(unix))]
fn signal_pids(_pids: &[i32], _signal: Sig) {}

/// Waits until `n` processes run `yes <marker>` and returns their pids.
fn wait_yes(marker: &str, n: usize) -> Vec<i32> {
    let deadline = Instant::now() + T;
    loop {
        let pids = yes_pids(marker);
        if pids.len() == n {
            return pids;
        }
        assert!(
            Instant::now() < deadline,
            "expected {n} `yes {marker}`, found {}",
            pids.len()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// What the clients attached to the floods got.
#[derive(Default)]
struct FloodClients {
    stop: std::sync::atomic::AtomicBool,
    bytes: std::sync::atomic::AtomicU64,
    resyncs: std::sync::atomic::AtomicU64,
}

/// One client per flood terminal, as a pane would be: reads every frame and acks it at once,
/// until `clients.stop`.
fn read_floods(server: &Server, tids: &[i64], clients: &FloodClients) {
    use std::sync::atomic::Ordering::Relaxed;
    let rt = client_runtime();
    rt.block_on(futures_util::future::join_all(tids.iter().map(
        |&tid| async move {
            let (mut ws, mut offset) = server.attach(tid, "").await;
            while !clients.stop.load(Relaxed) {
                let msg = match tokio::time::timeout(Duration::from_millis(50), ws.next()).await {
                    Err(_) => continue,
                    Ok(msg) => msg,
                };
                match msg {
                    Some(Ok(Message::Binary(b))) => {
                        offset += b.len() as u64;
                        clients.bytes.fetch_add(b.len() as u64, Relaxed);
                    }
                    Some(Ok(Message::Text(t))) => match serde_json::from_str(&t).unwrap() {
                        ServerFrame::Resync { offset: at, .. } => {
                            clients.resyncs.fetch_add(1, Relaxed);
                            offset = at;
                        }
                        other => panic!("unexpected control frame: {other:?}"),
                    },
                    Some(Ok(_)) => continue,
                    other => panic!("flood socket ended: {other:?}"),
                }
                send_ack(&mut ws, offset).await;
            }
            let _ = ws.close(None).await;
        },
    )));
}

struct ScaleResult {
    grove: Vec<f64>,
    bare: Vec<f64>,
    /// Server CPU (% of one core) while Grove's floods ran.
    server_cpu_pct: f64,
    /// Bytes/s the 5 floods added to their logs while they ran.
    flood_mb_s: f64,
    /// Bytes/s the attached clients received while the floods ran.
    client_mb_s: f64,
    resyncs: u64,
    rss_kib: u64,
}

/// The sum of the flood terminals' log ends.
fn floods_logged(server: &Server, tids: &[i64]) -> u64 {
    let sessions: Vec<Session> =
        serde_json::from_value(server.ok("GET", "/sessions", None)).unwrap();
    sessions
        .iter()
        .flat_map(|s| &s.terminals)
        .filter(|t| tids.contains(&t.id))
        .map(|t| t.log_end)
        .sum()
}

/// `echo_latency_scale`: one `grove serve` with 101 sessions on one repo — 95 idle `bash`, 5
/// `yes`, one `cat` — and, in this process, a bare `cat` PTY and 5 `yes` in PTYs read by
/// `script` (writing to /dev/null). Each phase alternates blocks: Grove's floods running (the
/// bare ones stopped with SIGSTOP) while keystrokes go over the WebSocket to the Grove `cat`,
/// then the bare floods running (Grove's stopped) while keystrokes go to the bare `cat`. So both
/// sides see the same load, 5 floods on the machine, and drift hits both alike.
fn echo_latency_scale() {
    use std::sync::atomic::Ordering::Relaxed;
    let marker = format!("grove-scale-{}", std::process::id());
    let bare_marker = format!("bare-scale-{}", std::process::id());
    // Variants for comparison, e.g. `--read-budget off --no-flood-priority`.
    let serve_args = std::env::var("GROVE_SCALE_SERVE_ARGS").unwrap_or_default();
    let server = {
        let dir = tempfile::tempdir().unwrap();
        let repo = small_repo(dir.path());
        let args: Vec<&str> = serve_args.split_whitespace().collect();
        Server::launch(dir, Some(&repo), &args)
    };
    let pid = server.pid();
    let started = Instant::now();
    for i in 0..SCALE_IDLE {
        server.create_session(&format!("idle-{i}"), "bash");
    }
    let floods: Vec<i64> = (0..SCALE_FLOODS)
        .map(|i| server.create_session(&format!("flood-{i}"), &format!("yes {marker}")))
        .collect();
    let tid = server.create_session("echo", &format!("sh -c '{ECHO_SCRIPT}'"));
    let grove_yes = wait_yes(&marker, SCALE_FLOODS);
    let bare_floods: Vec<Child> = (0..SCALE_FLOODS)
        .map(|_| {
            Command::new("script")
                .args(["-q", "-c", &format!("yes {bare_marker}"), "/dev/null"])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    let bare_yes = wait_yes(&bare_marker, SCALE_FLOODS);
    signal_pids(&grove_yes, Sig::Stop);
    signal_pids(&bare_yes, Sig::Stop);
    // The idle shells are still starting (a `.bashrc` may take a second of CPU each): measure
    // only once the machine has calmed down.
    let calm = wait_machine_idle(Duration::from_secs(180));
    eprintln!(
        "echo_latency_scale: {} sessions ready in {:.1} s, the machine idle after {:.1} s more; serve args: {serve_args:?}",
        SCALE_IDLE + SCALE_FLOODS + 1,
        started.elapsed().as_secs_f64() - calm.as_secs_f64(),
        calm.as_secs_f64()
    );
    let mut pty = BarePty::spawn(ECHO_SCRIPT);
    pty.read_until(b"ready");
    let rt = client_runtime();
    let byte = |i: usize| b'a' + (i % 26) as u8;
    let (mut ws, start, mut received) = rt.block_on(async {
        let (mut ws, start) = server.attach(tid, "?from=0").await;
        let mut received = 0u64;
        let mut seen = Vec::new();
        while !seen.ends_with(b"ready") {
            let bytes = next_binary(&mut ws).await;
            received += bytes.len() as u64;
            seen.extend_from_slice(&bytes);
        }
        send_ack(&mut ws, start + received).await;
        for i in 0..50 {
            ws_trip(&mut ws, start, &mut received, byte(i)).await;
            bare_trip(&mut pty, byte(i));
        }
        (ws, start, received)
    });
    let mut results = Vec::new();
    // `GROVE_SCALE_PHASES=detached,attached` runs only those phases (for quicker comparisons).
    let only = std::env::var("GROVE_SCALE_PHASES").unwrap_or_default();
    for phase in [
        ScalePhase::Quiet,
        ScalePhase::Detached,
        ScalePhase::Attached,
    ] {
        if !only.is_empty() && !only.split(',').any(|p| p.trim() == phase.name()) {
            continue;
        }
        eprintln!("echo_latency_scale: phase {}", phase.name());
        let clients = FloodClients::default();
        let result = std::thread::scope(|s| {
            if phase == ScalePhase::Attached {
                s.spawn(|| read_floods(&server, &floods, &clients));
                // Let the clients attach before the floods resume.
                std::thread::sleep(Duration::from_secs(1));
            }
            let (mut grove, mut bare) = (Vec::new(), Vec::new());
            let (mut cpu, mut secs, mut logged) = (0.0, 0.0, 0u64);
            let client_bytes0 = clients.bytes.load(Relaxed);
            for block in 0..SCALE_TRIPS / SCALE_BLOCK {
                // Grove's side.
                let (cpu0, t0, log0) =
                    (cpu_s(&pid), Instant::now(), floods_logged(&server, &floods));
                if phase != ScalePhase::Quiet {
                    signal_pids(&grove_yes, Sig::Cont);
                }
                std::thread::sleep(SCALE_SETTLE);
                rt.block_on(async {
                    for i in 0..SCALE_BLOCK {
                        let b = byte(block * SCALE_BLOCK + i);
                        let d = ws_trip(&mut ws, start, &mut received, b).await;
                        grove.push(d.as_secs_f64() * 1e6);
                    }
                });
                signal_pids(&grove_yes, Sig::Stop);
                cpu += cpu_s(&pid) - cpu0;
                secs += t0.elapsed().as_secs_f64();
                logged += floods_logged(&server, &floods) - log0;
                // The bare side.
                if phase != ScalePhase::Quiet {
                    signal_pids(&bare_yes, Sig::Cont);
                }
                std::thread::sleep(SCALE_SETTLE);
                for i in 0..SCALE_BLOCK {
                    let b = byte(block * SCALE_BLOCK + i);
                    bare.push(bare_trip(&mut pty, b).as_secs_f64() * 1e6);
                }
                signal_pids(&bare_yes, Sig::Stop);
            }
            let client_bytes = clients.bytes.load(Relaxed) - client_bytes0;
            let rss_kib = rss_kib(&pid);
            clients.stop.store(true, Relaxed);
            ScaleResult {
                grove,
                bare,
                server_cpu_pct: cpu / secs * 100.0,
                flood_mb_s: logged as f64 / 1e6 / secs,
                client_mb_s: client_bytes as f64 / 1e6 / secs,
                resyncs: clients.resyncs.load(Relaxed),
                rss_kib,
            }
        });
        results.push((phase, result));
    }
    signal_pids(&bare_yes, Sig::Cont);
    signal_pids(&grove_yes, Sig::Cont);
    for mut child in bare_floods {
        let _ = child.kill();
        let _ = child.wait();
    }
    signal_pids(&bare_yes, Sig::Kill);
    for (phase, r) in results {
        let baseline_is = if phase == ScalePhase::Quiet {
            "the same round trip on a bare portable-pty `cat`, nothing flooding"
        } else {
            "the same round trip on a bare portable-pty `cat` while 5 `yes` run in PTYs read by `script`"
        };
        let extra = format!(
            ",\"sessions\":{},\"floods\":{},\"trips\":{SCALE_TRIPS},\"server_rss_kib\":{},\"server_cpu_pct\":{:.0},\"flood_mb_s\":{:.1},\"client_mb_s\":{:.1},\"resyncs\":{},\"serve_args\":{},\"baseline_is\":{}",
            SCALE_IDLE + SCALE_FLOODS + 1,
            if phase == ScalePhase::Quiet {
                0
            } else {
                SCALE_FLOODS
            },
            r.rss_kib,
            r.server_cpu_pct,
            r.flood_mb_s,
            r.client_mb_s,
            r.resyncs,
            json_str(&serve_args),
            json_str(baseline_is)
        );
        for p in [50.0, 99.0] {
            report(
                &format!("echo_latency_scale_{}_p{p}", phase.name()),
                percentile(r.grove.clone(), p),
                "us",
                percentile(r.bare.clone(), p),
                &extra,
            );
        }
    }
}

// ---------------------------------------------------------------------------------- remote_*

/// The name the local server knows its remote by.
const REMOTE: &str = "bench";
/// The local vault's passphrase (a remote's token is kept in the vault).
const VAULT_PASS: &str = "correct horse battery staple";

/// A local `grove serve` and a second `grove serve --tls-self-signed` on loopback, added to the
/// first as its remote [`REMOTE`] with the certificate the remote printed pinned; a small repo
/// is registered on the remote through the relay.
struct RemoteScene {
    local: Server,
    /// `None` only while it is being restarted.
    remote: Option<Server>,
    token_file: PathBuf,
    port: u16,
    remote_repo: i64,
    _files: tempfile::TempDir,
}

impl RemoteScene {
    fn start() -> RemoteScene {
        let files = tempfile::tempdir().unwrap();
        let token_file = files.path().join("token");
        std::fs::write(&token_file, "5e".repeat(32)).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let private = std::fs::Permissions::from_mode(0o600);
            std::fs::set_permissions(&token_file, private).unwrap();
        }
        let repo = small_repo(files.path());
        let remote = RemoteScene::launch_remote(tempfile::tempdir().unwrap(), &token_file, 0);
        let port = remote.addr.port();
        let local = Server::start();
        local.ok(
            "POST",
            "/vault/unlock",
            Some(serde_json::json!({ "passphrase": VAULT_PASS })),
        );
        local.ok(
            "POST",
            "/remotes",
            Some(serde_json::json!({
                "name": REMOTE,
                "url": format!("https://127.0.0.1:{port}"),
                "token": remote.token,
                "fingerprint": remote.fingerprint,
            })),
        );
        let mut scene = RemoteScene {
            local,
            remote: Some(remote),
            token_file,
            port,
            remote_repo: 0,
            _files: files,
        };
        scene.wait_connected();
        let base = scene.base();
        scene.remote_repo = scene
            .local
            .ok(
                "POST",
                &format!("{base}/repos"),
                Some(serde_json::json!({ "path": repo })),
            )
            .get("id")
            .and_then(|v| v.as_i64())
            .unwrap();
        scene
    }

    fn launch_remote(dir: tempfile::TempDir, token_file: &Path, port: u16) -> Server {
        let port = port.to_string();
        let args = [
            "--tls-self-signed",
            "--token-file",
            token_file.to_str().unwrap(),
            "--port",
            &port,
        ];
        Server::launch(dir, None, &args)
    }

    /// The API base of the remote on the local server.
    fn base(&self) -> String {
        format!("/remotes/{REMOTE}/relay")
    }

    fn remote(&self) -> &Server {
        self.remote.as_ref().unwrap()
    }

    /// Waits until the local server reports its remote connected.
    fn wait_connected(&self) {
        let deadline = Instant::now() + T;
        loop {
            let remotes = self.local.ok("GET", "/remotes", None);
            let r = remotes
                .as_array()
                .unwrap()
                .iter()
                .find(|r| r["name"] == REMOTE)
                .unwrap()
                .clone();
            if r["state"] == "connected" {
                return;
            }
            assert!(Instant::now() < deadline, "the remote never connected: {r}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Kills the remote (SIGKILL); [`RemoteScene::restart`] brings it back on the same port.
    fn kill(&mut self) -> tempfile::TempDir {
        self.remote.take().unwrap().kill()
    }

    fn restart(&mut self, dir: tempfile::TempDir) {
        self.remote = Some(RemoteScene::launch_remote(dir, &self.token_file, self.port));
        self.wait_connected();
    }

    /// A session running [`ECHO_SCRIPT`] on the remote; its terminal id.
    fn remote_echo_session(&self, name: &str) -> i64 {
        self.local.create_session_at(
            &self.base(),
            self.remote_repo,
            name,
            &format!("sh -c '{ECHO_SCRIPT}'"),
        )
    }
}

/// Reads a freshly attached [`ECHO_SCRIPT`] terminal up to its `ready` and acks it; the bytes
/// received.
async fn until_ready<S: WsIo>(ws: &mut WebSocketStream<S>, start: u64) -> u64 {
    let mut received = 0u64;
    let mut seen = Vec::new();
    while !seen.ends_with(b"ready") {
        let bytes = next_binary(ws).await;
        received += bytes.len() as u64;
        seen.extend_from_slice(&bytes);
    }
    send_ack(ws, start + received).await;
    received
}

/// `remote_echo_latency`: one byte over a WebSocket to `cat` on the remote and back, through the
/// local server's relay (client → plain WebSocket → relay → pinned TLS WebSocket → remote) vs
/// directly to the remote over pinned TLS, on two sessions of the same remote; blocks
/// alternate so drift hits both alike.
fn remote_echo_latency() {
    let scene = RemoteScene::start();
    let base = scene.base();
    let via_relay = scene.remote_echo_session("echo-relay");
    let direct = scene.remote_echo_session("echo-direct");
    let rt = client_runtime();
    let byte = |i: usize| b'a' + (i % 26) as u8;
    let (relay, bare) = rt.block_on(async {
        let (mut rws, rstart) = scene.local.attach_at(&base, via_relay, "?from=0").await;
        let (mut dws, dstart) = scene.remote().attach_tls(direct, "?from=0").await;
        let mut rrecv = until_ready(&mut rws, rstart).await;
        let mut drecv = until_ready(&mut dws, dstart).await;
        for i in 0..50 {
            ws_trip(&mut rws, rstart, &mut rrecv, byte(i)).await;
            ws_trip(&mut dws, dstart, &mut drecv, byte(i)).await;
        }
        let (mut relay, mut bare) = (Vec::new(), Vec::new());
        for block in 0..ECHO_TRIPS / ECHO_BLOCK {
            for i in 0..ECHO_BLOCK {
                let b = byte(block * ECHO_BLOCK + i);
                let d = ws_trip(&mut rws, rstart, &mut rrecv, b).await;
                relay.push(d.as_secs_f64() * 1e6);
            }
            for i in 0..ECHO_BLOCK {
                let b = byte(block * ECHO_BLOCK + i);
                let d = ws_trip(&mut dws, dstart, &mut drecv, b).await;
                bare.push(d.as_secs_f64() * 1e6);
            }
        }
        (relay, bare)
    });
    for p in [50.0, 99.0] {
        let (r, d) = (percentile(relay.clone(), p), percentile(bare.clone(), p));
        report(
            &format!("remote_echo_latency_p{p}"),
            r,
            "us",
            d,
            &format!(
                ",\"added_us\":{:.1},\"trips\":{ECHO_TRIPS},\"baseline_is\":{}",
                r - d,
                json_str(
                    "the same round trip on a WebSocket directly to the remote over pinned TLS"
                )
            ),
        );
    }
}

/// Runs per side of `remote_ws_flood` (more than `ws_flood`'s: two servers and a relay share the
/// two cores, and single runs scatter).
const REMOTE_FLOOD_RUNS: usize = 5;

/// `remote_ws_flood`: the `ws_flood` flood (`cat` of the same 256 MiB file) in sessions of the
/// remote, read (acking every frame) through the local server's relay vs directly from the
/// remote over pinned TLS; the order alternates between runs.
fn remote_ws_flood() {
    let path = data_file("mixed", FLOOD_SIZE, mixed_block);
    let size = std::fs::metadata(&path).unwrap().len();
    let scene = RemoteScene::start();
    let base = scene.base();
    let command = format!("sh -c 'read x; stty raw -echo; cat \"{}\"'", path.display());
    let rt = client_runtime();
    let (remote_pid, local_pid) = (scene.remote().pid(), scene.local.pid());
    let (mut relay, mut bare) = (Vec::new(), Vec::new());
    let (mut remote_cpu, mut local_cpu, mut client_cpu) = (Vec::new(), Vec::new(), Vec::new());
    let (mut direct_remote_cpu, mut direct_client_cpu) = (Vec::new(), Vec::new());
    let (mut truncations, mut lost) = (0u64, 0u64);
    // Warm the page cache.
    bare_read(&path);
    for i in 0..REMOTE_FLOOD_RUNS {
        for relayed in [i % 2 == 1, i % 2 == 0] {
            let name = format!("flood-{}-{i}", if relayed { "relay" } else { "direct" });
            let tid = scene
                .local
                .create_session_at(&base, scene.remote_repo, &name, &command);
            let local_cpu0 = cpu_s(&local_pid);
            let run = rt.block_on(async {
                if relayed {
                    let (ws, start) = scene.local.attach_at(&base, tid, "?from=0").await;
                    ws_read_all_on(ws, start, &remote_pid, size + 2).await
                } else {
                    let (ws, start) = scene.remote().attach_tls(tid, "?from=0").await;
                    ws_read_all_on(ws, start, &remote_pid, size + 2).await
                }
            });
            let mbps = run.delivered as f64 / 1e6 / run.elapsed.as_secs_f64();
            eprintln!(
                "remote_ws_flood: {name}: {mbps:.1} MB/s, {} frames (avg {:.0} KiB), remote CPU {:.2} s, client CPU {:.2} s, local CPU {:.2} s",
                run.frames,
                run.delivered as f64 / run.frames.max(1) as f64 / 1024.0,
                run.server_cpu_s,
                run.client_cpu_s,
                cpu_s(&local_pid) - local_cpu0
            );
            truncations += run.truncations;
            lost += size + 2 - run.delivered;
            if relayed {
                relay.push(mbps);
                remote_cpu.push(run.server_cpu_s);
                local_cpu.push(cpu_s(&local_pid) - local_cpu0);
                client_cpu.push(run.client_cpu_s);
            } else {
                bare.push(mbps);
                direct_remote_cpu.push(run.server_cpu_s);
                direct_client_cpu.push(run.client_cpu_s);
            }
        }
    }
    report(
        "remote_ws_flood",
        median(relay),
        "MB/s",
        median(bare),
        &format!(
            ",\"bytes\":{size},\"runs\":{REMOTE_FLOOD_RUNS},\"truncations\":{truncations},\"lost_bytes\":{lost},\"relayed_remote_cpu_s\":{:.2},\"relayed_local_cpu_s\":{:.2},\"relayed_client_cpu_s\":{:.2},\"direct_remote_cpu_s\":{:.2},\"direct_client_cpu_s\":{:.2},\"baseline_is\":{}",
            median(remote_cpu),
            median(local_cpu),
            median(client_cpu),
            median(direct_remote_cpu),
            median(direct_client_cpu),
            json_str("the same flood read directly from the remote over pinned TLS")
        ),
    );
}

/// How long each phase of `remote_isolation` keystrokes go to the local session.
const ISO_ROUNDS: usize = 3;
const ISO_WINDOW: Duration = Duration::from_secs(5);
/// A stopped remote's phase outlasts the relay's dial timeout, so the relayed requests made at
/// its start end within it.
const ISO_STOPPED_WINDOW: Duration =
    Duration::from_secs(grove_orchestrator::remote::link::DIAL_TIMEOUT.as_secs() + 1);
/// Relayed requests made at the start of every phase, in parallel: HTTP and WebSocket.
const ISO_HTTP_HITS: usize = 6;
const ISO_WS_HITS: usize = 2;

#[derive(Clone, Copy)]
enum RemoteHealth {
    Healthy,
    Stopped,
    Killed,
}

impl RemoteHealth {
    fn name(self) -> &'static str {
        match self {
            RemoteHealth::Healthy => "healthy",
            RemoteHealth::Stopped => "stopped",
            RemoteHealth::Killed => "killed",
        }
    }
}

/// One relayed request's answer (101 for a WebSocket that opened) and how long it took.
type Hit = (u16, f64);

/// `GET /api/v1{path}` on `server` with its token; the status, or 0 when no answer came within
/// twice [`ISO_STOPPED_WINDOW`] (so a relay that never answers is reported, not waited for).
fn bounded_get(server: &Server, path: &str) -> u16 {
    let mut s = std::net::TcpStream::connect(server.addr).unwrap();
    s.set_read_timeout(Some(ISO_STOPPED_WINDOW * 2)).unwrap();
    let req = format!(
        "GET /api/v1{path} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\nConnection: close\r\n\r\n",
        server.addr, server.token
    );
    s.write_all(req.as_bytes()).unwrap();
    let mut head = [0u8; 12];
    match s.read_exact(&mut head) {
        Ok(()) => String::from_utf8_lossy(&head[9..12]).parse().unwrap_or(0),
        Err(_) => 0,
    }
}

/// [`ISO_HTTP_HITS`] relayed `GET /sessions` and [`ISO_WS_HITS`] relayed events sockets, all at
/// once; each one's status and milliseconds.
fn relay_hits(local: &Server) -> Vec<Hit> {
    std::thread::scope(|s| {
        let http: Vec<_> = (0..ISO_HTTP_HITS)
            .map(|_| {
                s.spawn(|| {
                    let t0 = Instant::now();
                    let status = bounded_get(local, &format!("/remotes/{REMOTE}/relay/sessions"));
                    (status, ms(t0.elapsed()))
                })
            })
            .collect();
        let ws: Vec<_> = (0..ISO_WS_HITS)
            .map(|_| {
                s.spawn(|| {
                    let req = local.ws_request(&format!("/remotes/{REMOTE}/relay/events"));
                    let t0 = Instant::now();
                    // Bounded, so a relay that never answers shows up as status 0 (and its
                    // wait) in the report instead of hanging the benchmark.
                    let bound = ISO_STOPPED_WINDOW * 2;
                    let status = client_runtime().block_on(async {
                        match tokio::time::timeout(bound, tokio_tungstenite::connect_async(req))
                            .await
                        {
                            Ok(Ok((mut ws, _))) => {
                                let _ = ws.close(None).await;
                                101
                            }
                            Ok(Err(tokio_tungstenite::tungstenite::Error::Http(res))) => {
                                res.status().as_u16()
                            }
                            // No HTTP answer at all: not expected from a local server.
                            Ok(Err(_)) | Err(_) => 0,
                        }
                    });
                    (status, ms(t0.elapsed()))
                })
            })
            .collect();
        http.into_iter()
            .chain(ws)
            .map(|h| h.join().unwrap())
            .collect()
    })
}

/// `remote_isolation`: keystroke → echo on a LOCAL session (the `echo_latency` round trip) while
/// the local server's remote is healthy, stopped (SIGSTOP: the kernel still accepts its
/// connections, nothing answers — the hardest case for the relay) and killed (connection
/// refused). Rounds of the three phases, so drift hits all alike; at the start of each phase the
/// relay of that remote is hit in parallel ([`relay_hits`]). A killed remote is started again on
/// its port (same data dir, same certificate) and reconnected before the next round.
fn remote_isolation() {
    let mut scene = RemoteScene::start();
    let tid = scene
        .local
        .create_session("echo", &format!("sh -c '{ECHO_SCRIPT}'"));
    let rt = client_runtime();
    let byte = |i: usize| b'a' + (i % 26) as u8;
    let (mut ws, start) = rt.block_on(scene.local.attach(tid, "?from=0"));
    let mut received = rt.block_on(until_ready(&mut ws, start));
    let mut n = 0usize;
    rt.block_on(async {
        for _ in 0..50 {
            ws_trip(&mut ws, start, &mut received, byte(n)).await;
            n += 1;
        }
    });
    let phases = [
        RemoteHealth::Healthy,
        RemoteHealth::Stopped,
        RemoteHealth::Killed,
    ];
    let mut trips: Vec<Vec<f64>> = vec![Vec::new(); 3];
    let mut hits: Vec<Vec<Hit>> = vec![Vec::new(); 3];
    let mut api: Vec<Vec<f64>> = vec![Vec::new(); 3];
    for _ in 0..ISO_ROUNDS {
        for (k, &phase) in phases.iter().enumerate() {
            let remote_pid = scene.remote().child.id() as i32;
            let mut dead = None;
            let window = match phase {
                RemoteHealth::Healthy => ISO_WINDOW,
                RemoteHealth::Stopped => {
                    signal_pids(&[remote_pid], Sig::Stop);
                    ISO_STOPPED_WINDOW
                }
                RemoteHealth::Killed => {
                    dead = Some(scene.kill());
                    ISO_WINDOW
                }
            };
            let local = &scene.local;
            std::thread::scope(|s| {
                let hitter = s.spawn(|| relay_hits(local));
                // The local API meanwhile, as a UI polling its own server.
                let poller = s.spawn(|| {
                    let mut times = Vec::new();
                    let t0 = Instant::now();
                    while t0.elapsed() < window {
                        let t = Instant::now();
                        local.ok("GET", "/remotes", None);
                        times.push(ms(t.elapsed()));
                        std::thread::sleep(Duration::from_millis(100));
                    }
                    times
                });
                let t0 = Instant::now();
                rt.block_on(async {
                    while t0.elapsed() < window {
                        let d = ws_trip(&mut ws, start, &mut received, byte(n)).await;
                        n += 1;
                        trips[k].push(d.as_secs_f64() * 1e6);
                    }
                });
                hits[k].extend(hitter.join().unwrap());
                api[k].extend(poller.join().unwrap());
            });
            match phase {
                RemoteHealth::Healthy => {}
                RemoteHealth::Stopped => {
                    signal_pids(&[remote_pid], Sig::Cont);
                    scene.wait_connected();
                }
                RemoteHealth::Killed => scene.restart(dead.take().unwrap()),
            }
        }
    }
    let p = |k: usize, q: f64| percentile(trips[k].clone(), q);
    let hit_summary = |k: usize| {
        let mut statuses: Vec<u16> = hits[k].iter().map(|h| h.0).collect();
        statuses.sort_unstable();
        statuses.dedup();
        let slowest = hits[k].iter().map(|h| h.1).fold(0.0, f64::max);
        let api_max = api[k].iter().copied().fold(0.0, f64::max);
        format!(
            ",\"{0}_p50_us\":{1:.1},\"{0}_p99_us\":{2:.1},\"{0}_trips\":{3},\"{0}_relay_statuses\":{4:?},\"{0}_relay_slowest_ms\":{5:.1},\"{0}_local_api_max_ms\":{6:.1}",
            phases[k].name(),
            p(k, 50.0),
            p(k, 99.0),
            trips[k].len(),
            statuses,
            slowest,
            api_max
        )
    };
    let extra = format!(
        "{}{}{},\"rounds\":{ISO_ROUNDS},\"baseline_is\":{}",
        hit_summary(0),
        hit_summary(1),
        hit_summary(2),
        json_str("the same local echo p99 while the remote is healthy (same run, alternating)")
    );
    for (k, phase) in phases.iter().enumerate().skip(1) {
        report(
            &format!("remote_isolation_{}_p99", phase.name()),
            p(k, 99.0),
            "us",
            p(0, 99.0),
            &extra,
        );
    }
}

// ------------------------------------------------------------------------------ vault_unlock

const UNLOCK_RUNS: usize = 7;

fn vault_unlock() {
    use grove_orchestrator::vault::{KeyMaterial, SecretString, StrongholdVault, Vault, kdf};
    let tmp = tempfile::tempdir().unwrap();
    let pass = || KeyMaterial::passphrase(SecretString::from("bench passphrase".to_owned()));
    let vault = StrongholdVault::new(tmp.path());
    vault.unlock(&pass()).unwrap();
    for i in 0..20 {
        let value = SecretString::from(format!("sk-bench-{i}-{}", "x".repeat(40)));
        vault.set(&format!("SECRET_{i}"), &value).unwrap();
    }
    vault.lock();
    let params = argon2::Params::new(kdf::M_COST_KIB, kdf::T_COST, kdf::P_COST, Some(64)).unwrap();
    let argon = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    let (mut grove, mut bare) = (Vec::new(), Vec::new());
    // Run 0 warms up and is not counted; the two alternate so drift hits both alike.
    for i in 0..=UNLOCK_RUNS {
        let fresh = StrongholdVault::new(tmp.path());
        let started = Instant::now();
        fresh.unlock(&pass()).unwrap();
        let g = ms(started.elapsed());
        assert_eq!(fresh.list().unwrap().len(), 20);
        let mut out = [0u8; 64];
        let started = Instant::now();
        argon
            .hash_password_into(b"bench passphrase", b"0123456789abcdef", &mut out)
            .unwrap();
        let b = ms(started.elapsed());
        if i > 0 {
            grove.push(g);
            bare.push(b);
        }
    }
    report(
        "vault_unlock",
        median(grove),
        "ms",
        median(bare),
        &format!(
            ",\"secrets\":20,\"runs\":{UNLOCK_RUNS},\"m_cost_kib\":{},\"t_cost\":{},\"p_cost\":{},\"baseline_is\":{}",
            kdf::M_COST_KIB,
            kdf::T_COST,
            kdf::P_COST,
            json_str("the bare Argon2id derivation with the same parameters")
        ),
    );
}
