//! Terminal sockets: exact bytes, several clients, resume, flow control.

use std::time::Duration;

use grove_orchestrator::wire::{ClientFrame, UiState};

use crate::support::{Grove, TermClient, fixture_repo, rt};

fn setup(name: &str, command: &str) -> (tempfile::TempDir, Grove, i64) {
    let dir = tempfile::tempdir().unwrap();
    let repo = fixture_repo(dir.path(), "repo");
    let g = Grove::start(&dir.path().join("data"));
    let repo_id = g.add_repo(&repo);
    let s = g.create_session(repo_id, name, command);
    let tid = s.terminals[0].id;
    (dir, g, tid)
}

#[test]
fn typed_command_echoes_and_resize_reaches_the_program() {
    let (_dir, g, tid) = setup("echo", "bash --norc --noprofile");
    rt().block_on(async {
        let mut c = TermClient::connect(&g, tid, "").await;
        c.send_input("echo grove-$((6*7))\n").await;
        c.read_until("grove-42").await;
        c.send_control(&ClientFrame::Resize {
            rows: 33,
            cols: 101,
        })
        .await;
        c.send_input("echo size=$(tput lines)x$(tput cols)\n").await;
        c.read_until("size=33x101").await;
    });
}

/// More input than a terminal queues (1 MiB) for a program that is not reading yet: that socket
/// waits off the runtime until there is room (another session still echoes meanwhile), and every
/// byte reaches the program, in order.
#[test]
fn input_beyond_the_queue_waits_for_the_program_and_arrives_whole() {
    let dir = tempfile::tempdir().unwrap();
    let repo = fixture_repo(dir.path(), "repo");
    let g = Grove::start(&dir.path().join("data"));
    let repo_id = g.add_repo(&repo);
    // Each 512 KiB frame on a line of its own, then its first and last byte.
    let paste = g.create_session(
        repo_id,
        "paste",
        "sh -c 'stty raw -echo; sleep 2; head -c 2097152 | fold -w 524288 | cut -c1,524288 | tr -d \"\\n\"; echo =end'",
    );
    let typing = g.create_session(repo_id, "typing", "bash --norc --noprofile");
    rt().block_on(async {
        let mut c = TermClient::connect(&g, paste.terminals[0].id, "").await;
        // Four frames of 512 KiB: the third and fourth find the queue full.
        for letter in ["a", "b", "c", "d"] {
            c.send_input(&letter.repeat(512 * 1024)).await;
        }
        let mut t = TermClient::connect(&g, typing.terminals[0].id, "").await;
        t.send_input("echo still-$((40+2))\n").await;
        t.read_until("still-42").await;
        c.read_until("aabbccdd=end").await;
    });
}

#[test]
fn two_clients_see_identical_streams_and_resume_is_exact() {
    let (_dir, g, tid) = setup("pair", "bash --norc --noprofile");
    rt().block_on(async {
        let mut a = TermClient::connect(&g, tid, "?from=0").await;
        let mut b = TermClient::connect(&g, tid, "?from=0").await;
        a.send_input("seq 1 30000; echo first-done\n").await;
        a.read_until("\nfirst-done").await;
        b.read_until("\nfirst-done").await;
        // Drop `b` mid-stream and resume it from the offset it had reached.
        let b_offset = b.offset();
        let b_bytes = std::mem::take(&mut b.bytes);
        drop(b);
        a.send_input("seq 30001 60000; echo second-done\n").await;
        let mut b2 = TermClient::connect(&g, tid, &format!("?from={b_offset}")).await;
        assert_eq!(b2.start, b_offset);
        a.read_until("\nsecond-done").await;
        b2.read_until("\nsecond-done").await;
        let mut resumed = b_bytes;
        resumed.extend_from_slice(&b2.bytes);
        let n = resumed.len().min(a.bytes.len());
        assert!(n > 400_000, "a real amount of output: {n}");
        assert!(
            resumed[..n] == a.bytes[..n],
            "resumed stream differs from the continuous one"
        );
        assert_eq!(a.start, 0);
    });
}

#[test]
fn attaching_without_an_offset_shows_the_screen_then_continues_live() {
    let (_dir, g, tid) = setup("snap", "bash --norc --noprofile");
    rt().block_on(async {
        let mut a = TermClient::connect(&g, tid, "?from=0").await;
        // Far more history than a pane keeps, then a screen drawn with colour.
        a.send_input("seq 1 200000; clear; printf '\\033[1;32mSCREEN-%s\\033[0m\\n' one two\n")
            .await;
        a.read_until("SCREEN-two").await;
        let end = a.offset();
        let mut b = TermClient::connect(&g, tid, "").await;
        let snap = b.snapshot.clone().expect("hello carries a snapshot");
        // The snapshot stands for everything up to the offset where the live bytes start.
        assert!(
            b.start >= end,
            "snapshot at {} before the output at {end}",
            b.start
        );
        assert!(
            snap.data.contains("SCREEN-one") && snap.data.contains("SCREEN-two"),
            "{:?}",
            snap.data
        );
        assert!(snap.data.contains(";32m"), "colour kept: {:?}", snap.data);
        assert!(
            !snap.data.contains("\n100000\r"),
            "cleared history is not replayed"
        );
        a.send_input("echo after-$((2+3))\n").await;
        b.read_until("after-5").await;
        a.read_until("after-5").await;
        // b got only what came after its snapshot: no replay, no gap.
        let a_tail = &a.bytes[(b.start - a.start) as usize..];
        assert!(a_tail.starts_with(&b.bytes[..b.bytes.len().min(a_tail.len())]));
        assert!(
            b.bytes.len() < 4096,
            "live bytes only, got {}",
            b.bytes.len()
        );
    });
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

#[test]
fn slow_client_stays_bounded_while_another_stays_live() {
    let (_dir, g, tid) = setup("flood", "bash --norc --noprofile");
    let pid = g.child.id();
    rt().block_on(async {
        let mut fast = TermClient::connect(&g, tid, "").await;
        let mut slow = TermClient::connect(&g, tid, "").await;
        slow.ack = false;
        let before = rss_kib(pid);
        // ~40 MB of output: five times the log's capacity.
        fast.send_input("seq 1 5000000; echo flood-done\n").await;
        let mut peak = before;
        let sample = async {
            loop {
                peak = peak.max(rss_kib(pid));
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        };
        tokio::select! {
            () = fast.read_until("\nflood-done") => {}
            () = sample => unreachable!(),
        }
        // The slow client read nothing: it must be left behind, not buffered for.
        let grown_mib = peak.saturating_sub(before) / 1024;
        assert!(
            grown_mib < 64,
            "server RSS grew by {grown_mib} MiB during a 40 MB flood"
        );
        assert!(
            fast.bytes.len() > 38_000_000,
            "the fast client got everything: {}",
            fast.bytes.len()
        );
        drop(slow);
    });
}

#[test]
fn a_lone_client_that_stops_acking_pauses_the_program() {
    let (_dir, g, tid) = setup("paused", "bash --norc --noprofile");
    let log_end = |g: &Grove| -> u64 {
        let s = g.sessions();
        s[0].terminals[0].log_end
    };
    rt().block_on(async {
        let mut c = TermClient::connect(&g, tid, "").await;
        c.ack = false;
        c.send_input("yes grove-flood\n").await;
        c.read_until("grove-flood\r\ngrove-flood").await;
        // Stop reading the socket entirely: the client is saturated after 1 MiB unacked.
        tokio::time::sleep(Duration::from_millis(800)).await;
        let a = log_end(&g);
        tokio::time::sleep(Duration::from_millis(800)).await;
        let b = log_end(&g);
        assert!(
            b - a < 256 * 1024,
            "the program kept writing while every client was saturated: {a} -> {b}"
        );
        // Acking again resumes the flood.
        c.ack = true;
        let ack = ClientFrame::Ack { offset: a };
        c.send_control(&ack).await;
        c.read_until("").await;
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        loop {
            c.send_control(&ClientFrame::Ack { offset: c.offset() })
                .await;
            let _ =
                tokio::time::timeout(Duration::from_millis(50), c.read_until("\u{0}never")).await;
            if log_end(&g) > b + 4 * 1024 * 1024 {
                break;
            }
            assert!(std::time::Instant::now() < deadline, "did not resume");
        }
        c.send_input("\u{3}").await;
    });
}

#[test]
fn a_client_that_never_reads_holds_a_flood_for_seconds_only() {
    let (_dir, g, tid) = setup("dead-client", "bash --norc --noprofile");
    let log_end = |g: &Grove| -> u64 { g.sessions()[0].terminals[0].log_end };
    rt().block_on(async {
        let mut c = TermClient::connect(&g, tid, "").await;
        c.ack = false;
        c.send_input("yes grove-flood\n").await;
        c.read_until("grove-flood\r\ngrove-flood").await;
        // From now on the client reads nothing at all (a dead socket): it saturates, brakes for
        // a few seconds, and then no longer counts.
        let start = log_end(&g);
        let braked = std::time::Instant::now();
        let deadline = braked + Duration::from_secs(20);
        while log_end(&g) < start + 8 * 1024 * 1024 {
            assert!(
                std::time::Instant::now() < deadline,
                "a client that never reads held the program: {start} -> {}",
                log_end(&g)
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        drop(c);
    });
}

#[test]
fn events_report_progress_attention_and_exit() {
    use futures_util::StreamExt;
    use grove_orchestrator::wire::{CreateStage, Event, TerminalStatus};
    use tokio_tungstenite::tungstenite::Message;

    let dir = tempfile::tempdir().unwrap();
    let repo = fixture_repo(dir.path(), "repo");
    let g = Grove::start(&dir.path().join("data"));
    let repo_id = g.add_repo(&repo);
    rt().block_on(async {
        let (mut events, _) = tokio_tungstenite::connect_async(g.ws_request("/events"))
            .await
            .unwrap();
        let s = g.create_session(repo_id, "evented", "bash --norc --noprofile");
        let tid = s.terminals[0].id;
        let mut c = TermClient::connect(&g, tid, "").await;
        c.send_input("printf 'bell\\a\\n'; sleep 0.3; exit 3\n")
            .await;
        let (mut done, mut updated, mut attention, mut exited) = (false, false, false, false);
        while !(done && updated && attention && exited) {
            let msg = tokio::time::timeout(Duration::from_secs(30), events.next())
                .await
                .expect("events went silent")
                .unwrap()
                .unwrap();
            let Message::Text(text) = msg else { continue };
            match serde_json::from_str::<Event>(&text).unwrap() {
                Event::SessionProgress {
                    stage: CreateStage::Done,
                    name,
                    message: None,
                    ..
                } => done |= name == "evented",
                Event::SessionUpdated { session } => updated |= session.id == s.id,
                Event::Attention { terminal_id, .. } => attention |= terminal_id == tid,
                Event::TerminalUpdated { terminal } => {
                    exited |= terminal.id == tid
                        && terminal.status == TerminalStatus::Exited
                        && terminal.exit.and_then(|e| e.code) == Some(3)
                }
                _ => {}
            }
        }
    });
}

#[test]
fn drift_behind_groves_back_is_announced_without_a_request() {
    use grove_orchestrator::wire::{Drift, Event};

    let dir = tempfile::tempdir().unwrap();
    let repo = fixture_repo(dir.path(), "repo");
    let g = Grove::start(&dir.path().join("data"));
    let repo_id = g.add_repo(&repo);
    let s = g.create_session(repo_id, "drifting", "cat");
    // Listing caches each session's drift; the watcher keeps the cache true.
    assert_eq!(g.sessions()[0].drift, Drift::None);
    rt().block_on(async {
        let mut events = crate::support::events(&g).await;
        crate::support::git(
            std::path::Path::new(&s.worktree),
            &["switch", "-q", "-c", "elsewhere"],
        );
        let moved = Drift::BranchChanged {
            actual: "elsewhere".into(),
        };
        crate::support::wait_event(&mut events, "session_updated with the drift", |ev| {
            matches!(ev, Event::SessionUpdated { session } if session.id == s.id && session.drift == moved)
                .then_some(())
        })
        .await;
    });
    assert_eq!(
        g.sessions()[0].drift,
        Drift::BranchChanged {
            actual: "elsewhere".into()
        }
    );
}

#[test]
fn the_first_pane_comes_with_the_state_and_its_socket_continues_it_exactly() {
    let (_dir, g, tid) = setup("first", "bash --norc --noprofile");
    rt().block_on(async {
        let mut a = TermClient::connect(&g, tid, "?from=0").await;
        // The prompt that follows is read too (spelled so that the echoed command does not
        // contain it): the screen's cursor is then after it, not at the start of the line.
        a.send_input("PS1='READY''> '; printf 'FIRST-%s\\n' one two\n")
            .await;
        a.read_until("FIRST-two").await;
        a.read_until("READY> ").await;
        // Without the query: the state alone, no screen.
        let plain: UiState = serde_json::from_value(g.ok("GET", "/state", None)).unwrap();
        assert_eq!(plain.sessions.len(), 1);
        assert_eq!(plain.repos.len(), 1);
        assert!(plain.agents.iter().any(|p| p.name == "shell"));
        assert_eq!(plain.first_pane, None);
        let state: UiState =
            serde_json::from_value(g.ok("GET", "/state?first_pane=true", None)).unwrap();
        let pane = state.first_pane.expect("the only session's pane");
        assert_eq!(pane.session_id, state.sessions[0].id);
        assert_eq!(pane.terminal_id, tid);
        assert!(
            pane.snapshot.data.contains("FIRST-two"),
            "{:?}",
            pane.snapshot.data
        );
        // The same screen as styled runs, for the page to draw before xterm loads.
        let view = &pane.view;
        assert_eq!(
            (view.cols, view.rows),
            (pane.snapshot.cols, pane.snapshot.rows)
        );
        assert_eq!(view.lines.len(), usize::from(view.rows));
        let text: Vec<String> = view
            .lines
            .iter()
            .map(|l| l.iter().map(|r| r.text.as_str()).collect())
            .collect();
        assert!(text.iter().any(|l| l == "FIRST-two"), "{text:?}");
        let [row, col] = view.cursor.expect("bash shows its cursor");
        assert!(
            usize::from(row) < text.len() && col > 0,
            "{text:?} {row}:{col}"
        );
        assert_eq!(view.background, "#0d1117");
        // The pane's socket resumes at the snapshot's offset: no second snapshot, no gap.
        let mut b = TermClient::connect(&g, tid, &format!("?from={}", pane.offset)).await;
        assert_eq!(b.start, pane.offset);
        assert!(b.snapshot.is_none());
        a.send_input("echo after-$((3+4))\n").await;
        a.read_until("after-7").await;
        b.read_until("after-7").await;
        let a_tail = &a.bytes[(pane.offset - a.start) as usize..];
        let n = b.bytes.len().min(a_tail.len());
        assert_eq!(&a_tail[..n], &b.bytes[..n], "the resumed stream differs");
    });
}
