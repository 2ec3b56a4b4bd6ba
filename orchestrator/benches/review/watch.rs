//! The review benchmarks: the live file watcher and the change counts behind it.
//!
//! - `changes_latency`: a file written in a session's worktree → `session_changes` naming it on
//!   a WebSocket client of `grove serve` (debounce included), median and p99 over 60 writes, vs a
//!   bare `notify` watcher in this process seeing a write in a folder of the same filesystem.
//! - `changes_scan`: the 3,000-file repo with 200 files modified and 50 untracked → Grove's full
//!   changes list with line counts (`git::changes`, libgit2, nothing cached) vs
//!   `git status --porcelain=v2` + `git diff --numstat <merge-base>` run as processes. The
//!   watcher's own recount (`git::summarize` with its count cache, nothing written since) is
//!   reported beside it.
//! - `watch_cost`: 20 sessions whose worktrees each hold an ignored `node_modules` of 30,000
//!   folders → the inotify watches `grove serve` holds (vs the tracked folders), its RSS per
//!   session and its CPU seconds over 60 idle seconds, vs the same server and sessions started
//!   with `--no-watch`.

use std::collections::HashSet;

use grove_orchestrator::git::{CountCache, Scope};
use grove_orchestrator::wire::Event;
use notify::Watcher as _;

use super::*;

/// The server's inotify watches, from `/proc/<pid>/fdinfo`.
fn inotify_watches(pid: &str) -> usize {
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return 0;
    };
    fds.flatten()
        .filter(|fd| {
            std::fs::read_link(fd.path()).is_ok_and(|t| t.to_string_lossy().contains("inotify"))
        })
        .map(|fd| {
            std::fs::read_to_string(format!(
                "/proc/{pid}/fdinfo/{}",
                fd.file_name().to_string_lossy()
            ))
            .unwrap_or_default()
            .lines()
            .filter(|l| l.starts_with("inotify wd:"))
            .count()
        })
        .sum()
}

fn create_session(server: &Server, name: &str) -> Session {
    let body = serde_json::json!({ "repo_id": server.repo_id, "name": name, "command": "cat" });
    serde_json::from_value(server.ok("POST", "/sessions", Some(body))).unwrap()
}

async fn events_socket(server: &Server) -> Ws {
    let mut req = format!("ws://{}/api/v1/events", server.addr)
        .into_client_request()
        .unwrap();
    let proto = format!("grove.v1, grove.token.{}", server.token);
    req.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        HeaderValue::from_str(&proto).unwrap(),
    );
    tokio_tungstenite::connect_async_with_config(req, None, true)
        .await
        .unwrap()
        .0
}

/// Waits for `session_changes` of session `id` naming `path`.
async fn wait_changes(ws: &mut Ws, id: i64, path: &str) {
    loop {
        let msg = tokio::time::timeout(T, ws.next())
            .await
            .unwrap_or_else(|_| panic!("no session_changes for {path}"))
            .unwrap()
            .unwrap();
        let Message::Text(text) = msg else { continue };
        if let Ok(Event::SessionChanges {
            session_id, paths, ..
        }) = serde_json::from_str(&text)
            && session_id == id
            && paths.iter().any(|p| p == path)
        {
            return;
        }
    }
}

const LATENCY_WRITES: usize = 60;

pub fn changes_latency() {
    let server = Server::start();
    let s = create_session(&server, "latency");
    let wt = PathBuf::from(&s.worktree);
    // The floor: a bare notify watcher, no debounce, on a folder of the same filesystem.
    let bare_dir = tempfile::tempdir_in(wt.parent().unwrap()).unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let mut bare = notify::recommended_watcher(move |ev: notify::Result<notify::Event>| {
        if let Ok(ev) = ev {
            let _ = tx.send(ev);
        }
    })
    .unwrap();
    bare.watch(bare_dir.path(), notify::RecursiveMode::NonRecursive)
        .unwrap();
    let rt = client_runtime();
    let (grove, floor) = rt.block_on(async {
        let mut ws = events_socket(&server).await;
        let (mut grove, mut floor) = (Vec::new(), Vec::new());
        for i in 0..LATENCY_WRITES + 10 {
            let name = format!("src/w{i}.rs");
            let t0 = Instant::now();
            std::fs::write(wt.join(&name), "x\n".repeat(i + 1)).unwrap();
            wait_changes(&mut ws, s.id, &name).await;
            let grove_ms = ms(t0.elapsed());

            while rx.try_recv().is_ok() {}
            let file = bare_dir.path().join(format!("b{i}"));
            let t0 = Instant::now();
            std::fs::write(&file, "x\n").unwrap();
            loop {
                let ev = rx.recv_timeout(T).unwrap();
                if ev.paths.contains(&file) {
                    break;
                }
            }
            let floor_ms = ms(t0.elapsed());
            if i >= 10 {
                grove.push(grove_ms);
                floor.push(floor_ms);
            }
            // Writes a moment apart, as an agent's edits are; the watcher's minimum gap
            // between reports is 100 ms.
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
        (grove, floor)
    });
    let extra = format!(
        ",\"writes\":{LATENCY_WRITES},\"debounce_ms\":50,\"baseline_is\":{}",
        json_str("a bare notify watcher in the client process seeing a write (no debounce)")
    );
    for p in [50.0, 99.0] {
        report(
            &format!("changes_latency_p{p}"),
            percentile(grove.clone(), p),
            "ms",
            percentile(floor.clone(), p),
            &extra,
        );
    }
}

const SCAN_RUNS: usize = 15;

pub fn changes_scan() {
    let repo = big_repo();
    let tmp = tempfile::tempdir().unwrap();
    let wt = tmp.path().join("wt");
    git(
        &repo,
        &[
            "worktree",
            "add",
            "-q",
            "-b",
            "bench-scan",
            wt.to_str().unwrap(),
        ],
    );
    // 200 files modified (a line changed, three added), 50 untracked.
    let mut modified = 0;
    for i in (0..BIG_FILES).step_by(BIG_FILES / 200) {
        let path = wt.join(format!("d{:03}/f{i:04}.rs", i % BIG_DIRS));
        let text = std::fs::read_to_string(&path).unwrap();
        let (first, rest) = text.split_once('\n').unwrap();
        std::fs::write(&path, format!("{first} changed\n{rest}one\ntwo\nthree\n")).unwrap();
        modified += 1;
    }
    for i in 0..50 {
        std::fs::write(
            wt.join(format!("d{:03}/new{i}.rs", i * 2)),
            "fn new() {}\n".repeat(20),
        )
        .unwrap();
    }
    let mb = git(&wt, &["merge-base", "HEAD", "main"]).trim().to_owned();
    let git_cli = || {
        let t0 = Instant::now();
        let status = Command::new("git")
            .arg("-C")
            .arg(&wt)
            .args(["status", "--porcelain=v2"])
            .output()
            .unwrap();
        let numstat = Command::new("git")
            .arg("-C")
            .arg(&wt)
            .args(["diff", "--numstat", &mb])
            .output()
            .unwrap();
        let d = t0.elapsed();
        assert!(status.status.success() && numstat.status.success());
        assert_eq!(
            String::from_utf8_lossy(&numstat.stdout).lines().count(),
            modified
        );
        d
    };
    let grove_scan = || {
        let t0 = Instant::now();
        let files = grove_orchestrator::git::changes(&wt, "main", Scope::Base).unwrap();
        let d = t0.elapsed();
        assert_eq!(files.len(), modified + 50);
        assert_eq!(
            files.iter().map(|f| f.additions).sum::<usize>(),
            modified * 4 + 50 * 20
        );
        d
    };
    // Warm both (the first `git status` refreshes the index's stat data).
    git_cli();
    grove_scan();
    let (mut grove, mut cli) = (Vec::new(), Vec::new());
    for _ in 0..SCAN_RUNS {
        grove.push(ms(grove_scan()));
        cli.push(ms(git_cli()));
    }
    let mut cache = CountCache::default();
    let none = HashSet::new();
    grove_orchestrator::git::summarize(&wt, "main", &mut cache, &none).unwrap();
    let warm: Vec<f64> = (0..SCAN_RUNS)
        .map(|_| {
            let t0 = Instant::now();
            let s = grove_orchestrator::git::summarize(&wt, "main", &mut cache, &none).unwrap();
            assert_eq!(s.files as usize, modified + 50);
            ms(t0.elapsed())
        })
        .collect();
    git(
        &repo,
        &["worktree", "remove", "--force", wt.to_str().unwrap()],
    );
    git(&repo, &["branch", "-q", "-D", "bench-scan"]);
    report(
        "changes_scan",
        median(grove),
        "ms",
        median(cli),
        &format!(
            ",\"files\":{BIG_FILES},\"modified\":{modified},\"untracked\":50,\"watcher_recount_ms\":{:.2},\"baseline_is\":{}",
            median(warm),
            json_str("git status --porcelain=v2 + git diff --numstat <merge-base>, as processes")
        ),
    );
}

const COST_SESSIONS: usize = 20;
const COST_PACKAGES: usize = 1000;
/// Each package folder holds this many folders: 1,000 × (1 + 29) = 30,000 per worktree.
const COST_SUBFOLDERS: usize = 29;

/// RSS (KiB) and CPU seconds of an idle server over `idle`, after it settled.
fn idle_cost(server: &Server, idle: Duration) -> (u64, f64) {
    let pid = server.pid();
    std::thread::sleep(Duration::from_secs(3));
    let cpu0 = cpu_s(&pid);
    std::thread::sleep(idle);
    (rss_kib(&pid), cpu_s(&pid) - cpu0)
}

pub fn watch_cost() {
    let idle = Duration::from_secs(
        std::env::var("GROVE_BENCH_IDLE_S")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(60),
    );
    let dir = tempfile::tempdir().unwrap();
    let repo = small_repo(dir.path());
    std::fs::write(repo.join(".gitignore"), "node_modules/\n").unwrap();
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-qm", "ignore node_modules"]);
    let server = Server::launch(dir, Some(&repo), &[]);
    let mut worktrees = Vec::new();
    for i in 0..COST_SESSIONS {
        worktrees.push(PathBuf::from(
            create_session(&server, &format!("w{i}")).worktree,
        ));
    }
    let dir = server.stop();
    for wt in &worktrees {
        for p in 0..COST_PACKAGES {
            for s in 0..COST_SUBFOLDERS {
                std::fs::create_dir_all(wt.join(format!("node_modules/p{p}/s{s}"))).unwrap();
            }
        }
    }
    let folders = COST_PACKAGES * (1 + COST_SUBFOLDERS);
    // Tracked folders: the worktree root and src/.
    let tracked = COST_SESSIONS * 2;

    let off = Server::launch(dir, None, &["--no-watch"]);
    let (rss_off, cpu_off) = idle_cost(&off, idle);
    let watches_off = inotify_watches(&off.pid());
    let dir = off.stop();

    let on = Server::launch(dir, None, &[]);
    let t0 = Instant::now();
    loop {
        let sessions: Vec<Session> =
            serde_json::from_value(on.ok("GET", "/sessions", None)).unwrap();
        if sessions.iter().all(|s| s.changes.is_some()) {
            break;
        }
        assert!(t0.elapsed() < T, "the watchers never counted every session");
        std::thread::sleep(Duration::from_millis(50));
    }
    let ready_ms = ms(t0.elapsed());
    let (rss_on, cpu_on) = idle_cost(&on, idle);
    let watches = inotify_watches(&on.pid());
    // Reported before the 600,000 folders are removed (with `on`'s directory), which takes a
    // while.

    let extra = format!(
        ",\"sessions\":{COST_SESSIONS},\"ignored_folders_per_worktree\":{folders},\"idle_s\":{},\"all_counted_ms\":{ready_ms:.0},\"watches_without_watcher\":{watches_off}",
        idle.as_secs()
    );
    report(
        "watch_cost_inotify_watches",
        watches as f64,
        "watches",
        tracked as f64,
        &format!(
            "{extra},\"baseline_is\":{}",
            json_str("the tracked folders of the 20 worktrees")
        ),
    );
    report(
        "watch_cost_rss_per_session",
        rss_on.saturating_sub(rss_off) as f64 / 1024.0 / COST_SESSIONS as f64,
        "MiB",
        rss_off as f64 / 1024.0 / COST_SESSIONS as f64,
        &format!(
            "{extra},\"baseline_is\":{}",
            json_str("the server's whole RSS per session with --no-watch")
        ),
    );
    report(
        "watch_cost_idle_cpu",
        cpu_on,
        "s",
        cpu_off,
        &format!(
            "{extra},\"baseline_is\":{}",
            json_str("the same idle seconds with --no-watch")
        ),
    );
}
