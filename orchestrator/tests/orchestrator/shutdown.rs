//! Quitting: `grove serve` on SIGTERM ends every process its terminals started (also a
//! grandchild that ignores SIGHUP) and saves each log up to the last byte printed.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::support::{Grove, eventually, fixture_repo};

/// Whether `pid` is a live process (a zombie waiting to be reaped counts as gone).
fn alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => {
            // The state follows the parenthesised command name.
            let state = stat.rsplit_once(") ").map(|(_, r)| r.chars().next());
            !matches!(state, Some(Some('Z' | 'X')))
        }
        Err(_) => false,
    }
}

/// The pid a program wrote to `path`, once it has written it whole (`echo $$ > f` creates the
/// file before it writes the number).
fn read_pid(path: &Path) -> i32 {
    let parse = || {
        std::fs::read_to_string(path)
            .ok()
            .and_then(|t| t.strip_suffix('\n').and_then(|n| n.parse().ok()))
    };
    eventually("the program wrote its pid", || parse().is_some());
    parse().unwrap()
}

/// Everything the saved log of terminal `id` holds.
fn saved_log(data: &Path, id: i64) -> Vec<u8> {
    let log = grove_pty::persist::load(&data.join(format!("logs/{id}.log")), 64 << 20).unwrap();
    let mut out = Vec::new();
    let mut at = log.start_offset();
    loop {
        let before = out.len();
        let from = log.copy_range(at, 1 << 20, &mut out);
        let n = out.len() - before;
        if n == 0 {
            break;
        }
        at = from + n as u64;
    }
    out
}

#[test]
fn sigterm_ends_every_process_and_saves_every_last_byte() {
    let dir = tempfile::tempdir().unwrap();
    let repo = fixture_repo(dir.path(), "repo");
    let data = dir.path().join("data");
    let marks = dir.path().join("marks");
    std::fs::create_dir_all(&marks).unwrap();
    let m = marks.display();
    let g = Grove::start(&data);
    let repo_id = g.add_repo(&repo);

    // Two busy programs that print until they are told to stop, then say goodbye; and one whose
    // grandchild ignores SIGHUP and keeps printing, noting each line it printed in a file.
    let mut terms = Vec::new();
    for i in 0..2 {
        let cmd = format!(
            "sh -c 'echo $$ > {m}/pid-{i}; trap \"echo bye-{i}; exit 0\" HUP TERM; n=0; while :; do n=$((n+1)); echo busy-{i}-$n; done'"
        );
        let s = g.create_session(repo_id, &format!("busy-{i}"), &cmd);
        terms.push(s.terminals[0].id);
    }
    let cmd = format!(
        "sh -c 'sh -c \"trap \\\"\\\" HUP; echo \\$\\$ > {m}/pid-stubborn; n=0; while :; do n=\\$((n+1)); echo stubborn-\\$n; echo stubborn-\\$n > {m}/last-stubborn; done\" & wait'"
    );
    let s = g.create_session(repo_id, "stubborn", &cmd);
    let stubborn = s.terminals[0].id;
    for name in ["pid-0", "pid-1", "pid-stubborn", "last-stubborn"] {
        eventually(name, || marks.join(name).exists());
    }
    let pids: Vec<i32> = ["pid-0", "pid-1", "pid-stubborn"]
        .iter()
        .map(|n| read_pid(&marks.join(n)))
        .collect();
    assert!(pids.iter().all(|p| alive(*p)));

    let started = Instant::now();
    g.stop();
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(10),
        "grove serve took {took:?} to quit"
    );
    for pid in &pids {
        assert!(!alive(*pid), "process {pid} outlived grove serve");
    }

    // Each busy program's log ends with the goodbye it printed when told to stop.
    for (i, id) in terms.iter().enumerate() {
        let log = saved_log(&data, *id);
        let text = String::from_utf8_lossy(&log);
        assert!(
            text.trim_end().ends_with(&format!("bye-{i}")),
            "log of busy-{i} ends with {:?}",
            &text[text.len().saturating_sub(80)..]
        );
    }
    // The stubborn one's last noted line (printed before it was noted) is in its log.
    let last = std::fs::read_to_string(marks.join("last-stubborn")).unwrap();
    let log = saved_log(&data, stubborn);
    let needle = format!("{}\r\n", last.trim());
    assert!(
        String::from_utf8_lossy(&log).contains(&needle),
        "the stubborn program's last line {needle:?} is not in its saved log"
    );
}

/// What the desktop app does on Quit: `Grove::shutdown()` and then the process exits at once. So
/// everything must be over when the call returns, with no help from drops that come later.
#[test]
fn shutdown_returns_only_after_every_process_ended_and_every_log_was_saved() {
    use grove_orchestrator::wire::CreateSessionRequest;
    use grove_orchestrator::{Grove, GroveConfig};

    let dir = tempfile::tempdir().unwrap();
    let repo = fixture_repo(dir.path(), "repo");
    let data = dir.path().join("data");
    let marks = dir.path().join("marks");
    std::fs::create_dir_all(&marks).unwrap();
    let m = marks.display();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let _enter = rt.enter();
    let grove = Grove::open(GroveConfig::new(&data)).unwrap();
    let repo_id = grove.add_repo(repo.to_str().unwrap()).unwrap().id;
    let mut ids = Vec::new();
    for i in 0..3 {
        let command = format!(
            "sh -c 'echo $$ > {m}/pid-{i}; trap \"echo bye-{i}; exit 0\" HUP; n=0; while :; do n=$((n+1)); echo busy-{i}-$n; done'"
        );
        let s = grove
            .create_session(CreateSessionRequest {
                repo_id,
                name: format!("busy-{i}"),
                command: Some(command),
                ..Default::default()
            })
            .unwrap();
        ids.push(s.terminals[0].id);
    }
    let pids: Vec<i32> = (0..3)
        .map(|i| {
            let f = marks.join(format!("pid-{i}"));
            eventually("the program started", || f.exists());
            read_pid(&f)
        })
        .collect();

    grove.shutdown();
    for pid in &pids {
        assert!(
            !alive(*pid),
            "process {pid} still runs after shutdown() returned"
        );
    }
    for (i, id) in ids.iter().enumerate() {
        let log = saved_log(&data, *id);
        let text = String::from_utf8_lossy(&log);
        assert!(
            text.trim_end().ends_with(&format!("bye-{i}")),
            "saved log of busy-{i} ends with {:?}",
            &text[text.len().saturating_sub(80)..]
        );
    }
}
