//! Daemons a terminal's program starts in their own session (`setsid`) and orphans by a double
//! fork: closing the terminal ends them, and no zombie is left behind.

use std::path::Path;
use std::time::{Duration, Instant};

use grove_pty::Terminal;

use crate::support::{T, sh, wait_for};

/// The pid a script wrote to `file`, once it is there.
fn pid_in(file: &Path) -> u32 {
    let deadline = Instant::now() + T;
    loop {
        if let Some(pid) = std::fs::read_to_string(file)
            .ok()
            .and_then(|s| s.trim().parse().ok())
        {
            return pid;
        }
        assert!(Instant::now() < deadline, "no pid in {}", file.display());
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// `/proc/<pid>/stat`'s state and parent, while the pid exists (zombies included).
fn state(pid: u32) -> Option<(String, u32)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let mut fields = stat.rsplit(')').next()?.split_whitespace();
    Some((fields.next()?.to_owned(), fields.next()?.parse().ok()?))
}

fn running(pid: u32) -> bool {
    state(pid).is_some_and(|(s, _)| s != "Z")
}

/// Waits until `pid` no longer exists at all: not running, and not left as a zombie.
fn wait_gone(pid: u32, what: &str) {
    let deadline = Instant::now() + T;
    while let Some((s, ppid)) = state(pid) {
        assert!(
            Instant::now() < deadline,
            "{what} {pid} is still there (state {s}, parent {ppid})"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn quoted(path: &Path) -> String {
    format!("'{}'", path.display())
}

#[test]
fn dropping_a_terminal_ends_a_setsid_daemon_that_keeps_the_pty() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("daemon.pid");
    let term = Terminal::spawn(sh(&format!(
        "setsid sh -c 'sleep 1000 & echo $! > {}' & wait; echo parted; sleep 1000",
        quoted(&file)
    )))
    .unwrap();
    let daemon = pid_in(&file);
    wait_for(&term, "parted", T);
    assert!(running(daemon));
    let leader_session = term.pid();
    assert_ne!(
        std::fs::read_to_string(format!("/proc/{daemon}/stat"))
            .unwrap()
            .rsplit(')')
            .next()
            .unwrap()
            .split_whitespace()
            .nth(3)
            .unwrap(),
        leader_session.to_string(),
        "the daemon left the terminal's session"
    );
    drop(term);
    wait_gone(daemon, "daemon");
}

#[test]
fn closing_a_terminal_whose_program_ended_still_ends_its_daemon() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("daemon.pid");
    // A proper daemon: its own session, no parent, none of the terminal's fds.
    let term = Terminal::spawn(sh(&format!(
        "setsid sh -c 'sleep 1000 </dev/null >/dev/null 2>&1 & echo $! > {}'; exit 0",
        quoted(&file)
    )))
    .unwrap();
    let daemon = pid_in(&file);
    assert_eq!(term.wait_exit(T).unwrap().code, Some(0));
    assert!(running(daemon));
    drop(term);
    wait_gone(daemon, "daemon");
}

#[test]
fn kill_ends_a_child_that_cleared_its_environment() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("daemon.pid");
    // `env -i` drops the marker; its parent (alive, marked) still leads to it.
    let term = Terminal::spawn(sh(&format!(
        "setsid sh -c 'env -i sleep 1000 </dev/null >/dev/null 2>&1 & echo $! > {}; wait' </dev/null >/dev/null 2>&1 & wait",
        quoted(&file)
    )))
    .unwrap();
    let daemon = pid_in(&file);
    assert!(running(daemon));
    term.kill().unwrap();
    wait_gone(daemon, "child without the marker");
}

#[test]
fn orphans_that_exit_on_their_own_are_reaped_and_no_one_elses_status_is_taken() {
    // A command of our own that has exited and that nobody has waited for yet: the reaper must
    // leave it to its owner.
    let mut own = std::process::Command::new("sh")
        .args(["-c", "exit 3"])
        .spawn()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("orphan.pid");
    let term = Terminal::spawn(sh(&format!(
        "setsid sh -c 'sleep 0.2 </dev/null >/dev/null 2>&1 & echo $! > {}'; exit 7",
        quoted(&file)
    )))
    .unwrap();
    let orphan = pid_in(&file);
    // The orphan was re-parented to this process (a subreaper), and once it exits it must not
    // stay a zombie here.
    wait_gone(orphan, "orphan");
    assert_eq!(term.wait_exit(T).unwrap().code, Some(7));
    assert_eq!(own.wait().unwrap().code(), Some(3));
}
