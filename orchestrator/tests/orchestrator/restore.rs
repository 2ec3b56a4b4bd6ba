//! Crash-proof restore: `kill -9` Grove and everything comes back; one owner per data dir.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use grove_orchestrator::wire::TerminalStatus;

use crate::support::{Grove, TermClient, fixture_repo, git, rt};

#[test]
fn kill_9_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let repo = fixture_repo(dir.path(), "repo");
    let data = dir.path().join("data");
    let g = Grove::start(&data);
    let repo_id = g.add_repo(&repo);
    let mut before = Vec::new();
    for i in 0..5 {
        let s = g.create_session(repo_id, &format!("crash-{i}"), "bash --norc --noprofile");
        let wt = Path::new(&s.worktree).to_owned();
        std::fs::write(wt.join("README.md"), format!("edited by agent {i}\n")).unwrap();
        std::fs::write(wt.join(format!("new-{i}.txt")), "untracked work\n").unwrap();
        let bytes = rt().block_on(async {
            let mut c = TermClient::connect(&g, s.terminals[0].id, "?from=0").await;
            c.send_input(&format!("echo output-of-{i}; seq 1 2000 | tail -n 3\n"))
                .await;
            c.read_until(&format!("output-of-{i}\r\n1998\r\n1999\r\n2000"))
                .await;
            c.bytes
        });
        let status = git(&wt, &["status", "--porcelain"]);
        before.push((s.id, s.terminals[0].id, wt, status, bytes));
    }
    // The flusher writes at most once a second: wait until each log on disk holds what was
    // shown, then pull the plug.
    for (_, tid, _, _, bytes) in &before {
        let path = data.join(format!("logs/{tid}.log"));
        crate::support::eventually("the log is on disk", || {
            grove_pty::persist::load(&path, 64 << 20)
                .is_ok_and(|log| log.end_offset() >= bytes.len() as u64)
        });
    }
    g.kill9();

    let g = Grove::start(&data);
    let sessions = g.sessions();
    assert_eq!(sessions.len(), 5, "every session is listed again");
    for (sid, tid, wt, status, bytes) in before {
        let s = sessions.iter().find(|s| s.id == sid).unwrap();
        assert_eq!(s.terminals[0].id, tid);
        assert_eq!(
            s.terminals[0].status,
            TerminalStatus::EndedWithApp,
            "not relaunched silently"
        );
        assert_eq!(
            git(&wt, &["status", "--porcelain"]),
            status,
            "worktree byte-identical"
        );
        let replay = rt().block_on(async {
            let mut c = TermClient::connect(&g, tid, "?from=0").await;
            c.read_to_exit().await;
            c.bytes
        });
        assert!(replay.starts_with(&bytes), "log replays the same bytes");
        // The saved screen comes back as the snapshot of a fresh attach.
        let snap = rt().block_on(async { TermClient::connect(&g, tid, "").await.snapshot });
        let data = snap.expect("a snapshot").data;
        let i = sid_index(&bytes);
        assert!(
            data.contains(&format!("output-of-{i}")) && data.contains("2000"),
            "restored screen: {data:?}"
        );
    }
    // One call restarts an agent.
    let tid = sessions[0].terminals[0].id;
    g.ok("POST", &format!("/terminals/{tid}/restart"), None);
    rt().block_on(async {
        let mut c = TermClient::connect(&g, tid, "").await;
        c.send_input("echo back-again\n").await;
        c.read_until("back-again").await;
    });
}

/// Which `output-of-N` a terminal printed.
fn sid_index(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let at = text.find("output-of-").unwrap() + "output-of-".len();
    text[at..at + 1].to_owned()
}

#[test]
fn one_process_owns_a_data_dir() {
    let dir = tempfile::tempdir().unwrap();
    let g = Grove::start(dir.path());
    let out = Command::new(env!("CARGO_BIN_EXE_grove"))
        .arg("--data-dir")
        .arg(dir.path())
        .arg("serve")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("in use by another Grove") && err.contains(&format!("pid {}", g.child.id())),
        "{err}"
    );
}

/// Checks that the lines `line-N` of a replay count up from 0 in each run (a run that was
/// killed may end in a cut line); returns the number of runs. A byte written to the log file
/// twice, or lost, shows up as a run that jumps.
fn check_runs(bytes: &[u8]) -> usize {
    let text = String::from_utf8_lossy(bytes);
    let mut runs = 0;
    let mut next = 0u64;
    let mut prev = "";
    for piece in text.split("line-").skip(1) {
        let before = std::mem::replace(&mut prev, piece);
        let Some(n) = piece
            .split_once("\r\n")
            .and_then(|(n, _)| n.parse::<u64>().ok())
        else {
            // A line cut by the restart: the next run starts over.
            next = 0;
            continue;
        };
        if n == 0 {
            runs += 1;
        } else {
            assert_eq!(
                n, next,
                "line-{n} where line-{next} was due (after {before:?}): bytes duplicated or lost"
            );
        }
        next = n + 1;
    }
    runs
}

#[test]
fn restarts_while_printing_leave_one_copy_of_every_byte_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let repo = fixture_repo(dir.path(), "repo");
    let data = dir.path().join("data");
    let g = Grove::start(&data);
    let repo_id = g.add_repo(&repo);
    let command = "i=0; while [ $i -lt 20000 ]; do echo line-$i; i=$((i+1)); done; echo fini''shed; sleep 1000";
    let s = g.create_session(repo_id, "restarts", command);
    let tid = s.terminals[0].id;
    let mut from = 0;
    for _ in 0..12 {
        std::thread::sleep(Duration::from_millis(60));
        let info = g.ok("POST", &format!("/terminals/{tid}/restart"), None);
        from = info["log_end"].as_u64().unwrap();
    }
    // The last run prints to its end.
    rt().block_on(async {
        let mut c = TermClient::connect(&g, tid, &format!("?from={from}")).await;
        c.read_until("finished").await;
    });
    let end = g.sessions()[0].terminals[0].log_end;
    let before = rt().block_on(async {
        let mut c = TermClient::connect(&g, tid, "?from=0").await;
        c.read_to_offset(end).await;
        assert!(c.resyncs.is_empty());
        c.bytes
    });
    assert_eq!(before.len() as u64, end);
    assert!(check_runs(&before) >= 12, "every restart started a run");
    g.stop();

    let g = Grove::start(&data);
    let after = rt().block_on(async {
        let mut c = TermClient::connect(&g, tid, "?from=0").await;
        c.read_to_exit().await;
        c.bytes
    });
    check_runs(&after);
    // Same bytes at the same offsets; only what the program printed while Grove ended it
    // follows.
    assert!(
        after.len() >= before.len() && after[..before.len()] == before[..],
        "the saved log differs from what was printed: {} bytes saved, {} printed",
        after.len(),
        before.len()
    );
    let extra = &after[before.len()..];
    assert!(
        extra.len() < 64,
        "the saved log holds {} bytes more than were printed",
        extra.len()
    );
}

/// The screen of a terminal that ended with the app follows the UI's size, and a restart draws
/// the first pane at that size (no reflow and no resize when the window did not change).
#[test]
fn an_ended_terminal_keeps_the_size_the_ui_gave_it_across_restarts() {
    use grove_orchestrator::wire::{ClientFrame, UiState};
    let dir = tempfile::tempdir().unwrap();
    let repo = fixture_repo(dir.path(), "repo");
    let data = dir.path().join("data");
    let g = Grove::start(&data);
    let repo_id = g.add_repo(&repo);
    let s = g.create_session(repo_id, "sized", "bash --norc --noprofile");
    let tid = s.terminals[0].id;
    rt().block_on(async {
        let mut c = TermClient::connect(&g, tid, "?from=0").await;
        c.send_input("echo sized-$((2*21))\n").await;
        c.read_until("sized-42").await;
    });
    g.stop();

    let first_pane_size = |g: &Grove| {
        let state: UiState =
            serde_json::from_value(g.ok("GET", "/state?first_pane=true", None)).unwrap();
        let pane = state.first_pane.expect("the only session's pane");
        assert!(
            pane.snapshot.data.contains("sized-42"),
            "{:?}",
            pane.snapshot.data
        );
        (pane.snapshot.rows, pane.snapshot.cols)
    };
    let g = Grove::start(&data);
    assert_eq!(
        g.sessions()[0].terminals[0].status,
        TerminalStatus::EndedWithApp
    );
    assert_eq!(first_pane_size(&g), (24, 80));
    rt().block_on(async {
        let mut c = TermClient::connect(&g, tid, "").await;
        c.send_control(&ClientFrame::Resize {
            rows: 45,
            cols: 128,
        })
        .await;
    });
    crate::support::eventually("the screen takes the pane's size", || {
        first_pane_size(&g) == (45, 128)
    });
    g.stop();

    let g = Grove::start(&data);
    assert_eq!(first_pane_size(&g), (45, 128));
    g.stop();
}
