use std::time::{Duration, Instant};

use grove_pty::{SpawnError, Terminal, TerminalError, TerminalOptions, TerminalSize};

use crate::support::{T, sh, wait_for};

#[test]
fn exit_code_is_observed() {
    let term = Terminal::spawn(sh("exit 3")).unwrap();
    let status = term.wait_exit(T).unwrap();
    assert_eq!((status.code, status.signal), (Some(3), None));
    assert_eq!(status.to_string(), "exited with code 3");
}

#[test]
fn exit_signal_is_observed() {
    let term = Terminal::spawn(sh("kill -TERM $$; sleep 5")).unwrap();
    let status = term.wait_exit(T).unwrap();
    assert_eq!((status.code, status.signal), (None, Some(15)));
}

#[test]
fn input_after_exit_is_a_clear_error_and_resize_a_no_op() {
    let term = Terminal::spawn(sh("exit 0")).unwrap();
    term.wait_exit(T).unwrap();
    let err = term.write_input(b"ls\n").unwrap_err();
    assert!(matches!(err, TerminalError::Exited(_)));
    assert!(err.to_string().contains("has ended"), "{err}");
    term.resize(TerminalSize { rows: 10, cols: 10 }).unwrap();
}

fn alive(pid: u32) -> bool {
    // A zombie that init has not reaped yet is dead for our purposes.
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => {
            let state = stat
                .rsplit(')')
                .next()
                .and_then(|s| s.split_whitespace().next());
            state != Some("Z")
        }
        Err(_) => false,
    }
}

#[test]
fn kill_takes_the_whole_group_including_a_hup_ignoring_grandchild() {
    let term = Terminal::spawn(sh("trap '' HUP; sleep 1000 & echo gc=$!; wait")).unwrap();
    let text = wait_for(&term, "\n", T);
    let gc: u32 = text
        .split("gc=")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .and_then(|s| s.parse().ok())
        .expect("grandchild pid");
    let leader = term.pid();
    assert!(alive(gc) && alive(leader));
    let started = Instant::now();
    let status = term.kill().expect("reaped");
    assert_eq!(
        status.signal,
        Some(9),
        "SIGHUP was ignored, so SIGKILL ended it: {status}"
    );
    assert!(
        started.elapsed() >= Duration::from_millis(250),
        "waited the grace period first"
    );
    let deadline = Instant::now() + T;
    while alive(gc) {
        assert!(Instant::now() < deadline, "grandchild {gc} survived");
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(!alive(leader));
}

#[test]
fn drop_hangs_up_a_shell_quickly() {
    let term = Terminal::spawn(TerminalOptions::new("sh", std::env::temp_dir())).unwrap();
    let pid = term.pid();
    assert!(alive(pid));
    let started = Instant::now();
    drop(term);
    assert!(!alive(pid));
    assert!(started.elapsed() < Duration::from_secs(2));
}

fn count_dir(path: &str) -> usize {
    std::fs::read_dir(path).map(|d| d.count()).unwrap_or(0)
}

fn zombie_children() -> Vec<u32> {
    let me = std::process::id().to_string();
    let mut zombies = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let mut fields = stat.rsplit(')').next().unwrap_or("").split_whitespace();
        let (state, ppid) = (fields.next(), fields.next());
        if state == Some("Z") && ppid == Some(me.as_str()) {
            zombies.push(pid);
        }
    }
    zombies
}

/// Run under cargo-nextest (scripts/test), where each test has its own process, so fd and
/// thread counts are this test's alone.
#[test]
fn two_hundred_open_close_cycles_leak_nothing() {
    // Warm up once so lazily created process-wide resources are not counted as leaks.
    drop(Terminal::spawn(sh("echo warm")).unwrap());
    let fds = count_dir("/proc/self/fd");
    let tasks = count_dir("/proc/self/task");
    for i in 0..200 {
        let script = if i % 2 == 0 { "echo hi" } else { "sleep 100" };
        let term = Terminal::spawn(sh(script)).unwrap();
        if i % 2 == 0 {
            term.wait_exit(T).unwrap();
        }
        drop(term);
    }
    // Orphans of the programs re-parent to this process (the subreaper, see
    // grove_pty::descendants) and are reaped within the reaper's two-second period.
    let deadline = Instant::now() + Duration::from_secs(8);
    loop {
        let (f, t) = (count_dir("/proc/self/fd"), count_dir("/proc/self/task"));
        let zombies = zombie_children();
        if f <= fds && t <= tasks && zombies.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "fds {fds} -> {f}, threads {tasks} -> {t}, zombies {zombies:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn missing_program_is_named() {
    let err = Terminal::spawn(TerminalOptions::new(
        "grove-no-such-program",
        std::env::temp_dir(),
    ))
    .unwrap_err();
    assert!(matches!(err, SpawnError::ProgramNotFound { .. }));
    assert!(err.to_string().contains("grove-no-such-program"), "{err}");
    let err =
        Terminal::spawn(TerminalOptions::new("/nope/bin/x", std::env::temp_dir())).unwrap_err();
    assert!(err.to_string().contains("/nope/bin/x"), "{err}");
}

#[test]
fn non_executable_program_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("script.sh");
    std::fs::write(&file, "#!/bin/sh\necho hi\n").unwrap();
    let err = Terminal::spawn(TerminalOptions::new(&file, dir.path())).unwrap_err();
    assert!(matches!(err, SpawnError::NotExecutable { .. }), "{err}");
}

#[test]
fn missing_cwd_is_named() {
    let err = Terminal::spawn(TerminalOptions::new("sh", "/no/such/dir/grove")).unwrap_err();
    assert!(matches!(err, SpawnError::CwdMissing { .. }));
    assert!(err.to_string().contains("/no/such/dir/grove"), "{err}");
    let file = tempfile::NamedTempFile::new().unwrap();
    let err = Terminal::spawn(TerminalOptions::new("sh", file.path())).unwrap_err();
    assert!(matches!(err, SpawnError::CwdNotDirectory { .. }), "{err}");
}

#[test]
fn zero_size_is_refused() {
    let mut opts = TerminalOptions::new("sh", std::env::temp_dir());
    opts.size = TerminalSize { rows: 0, cols: 80 };
    let err = Terminal::spawn(opts).unwrap_err();
    assert!(
        matches!(err, SpawnError::InvalidSize { rows: 0, cols: 80 }),
        "{err}"
    );
}

#[test]
fn a_spawn_that_fails_after_its_checks_leaves_no_process_behind() {
    // The log file cannot be created; the program ignores SIGHUP, so closing the PTY alone
    // would not end it.
    let marker = "918273645";
    let opts =
        sh(&format!("trap '' HUP; sleep {marker}")).persist("/no/such/dir/grove/t.log", None);
    let err = Terminal::spawn(opts).unwrap_err();
    assert!(matches!(err, SpawnError::Persist(_)), "{err}");
    assert!(err.to_string().contains("/no/such/dir/grove"), "{err}");
    // Ours: the program (our child) or what it started (our grandchild).
    let me = std::process::id();
    let ppid = |pid: u32| -> Option<u32> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        stat.rsplit(')')
            .next()?
            .split_whitespace()
            .nth(1)?
            .parse()
            .ok()
    };
    let running = || {
        std::fs::read_dir("/proc")
            .unwrap()
            .flatten()
            .filter_map(|e| e.file_name().to_string_lossy().parse::<u32>().ok())
            .filter(|&pid| {
                std::fs::read(format!("/proc/{pid}/cmdline"))
                    .is_ok_and(|cmd| String::from_utf8_lossy(&cmd).contains(marker))
            })
            .filter(|&pid| ppid(pid) == Some(me) || ppid(pid).and_then(ppid) == Some(me))
            .count()
    };
    // Give a process that was started a moment to show up (or to go).
    let deadline = Instant::now() + Duration::from_millis(500);
    while Instant::now() < deadline {
        assert_eq!(running(), 0, "the program was left running");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(
        zombie_children(),
        Vec::<u32>::new(),
        "the program was left unreaped"
    );
}
