use std::sync::Arc;
use std::time::{Duration, Instant};

use grove_pty::{Flusher, LogSetting, PersistedLog, Terminal, persist};

use crate::support::{T, read_to_end, sh, wait_for};

#[test]
fn log_survives_the_terminal_and_continues_with_the_same_offsets() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("term.log");
    let opts =
        sh("stty raw -echo; printf 'first run \\033[32mgreen\\033[0m\\n'").persist(&path, None);
    let term = Terminal::spawn(opts).unwrap();
    let first = read_to_end(term.log(), 0, T);
    drop(term);

    let loaded = Arc::new(persist::load(&path, 1 << 20).unwrap());
    assert_eq!(loaded.bounds(), (0, first.len() as u64));
    assert_eq!(read_to_end(&loaded, 0, T), first);

    // A restarted program continues the same log and its writer: offsets keep increasing.
    let mut opts = sh("stty raw -echo; printf 'second run\\n'");
    opts.log =
        LogSetting::ContinuePersisted(PersistedLog::new(&path, Arc::clone(&loaded)).unwrap());
    let term = Terminal::spawn(opts).unwrap();
    let second = read_to_end(term.log(), first.len() as u64, T);
    assert_eq!(second, b"second run\n");
    drop(term);
    let reloaded = Arc::new(persist::load(&path, 1 << 20).unwrap());
    let mut all = first.clone();
    all.extend_from_slice(b"second run\n");
    assert_eq!(read_to_end(&reloaded, 0, T), all);
}

#[test]
fn running_terminal_is_flushed_in_batches_without_closing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("live.log");
    let flusher = Flusher::spawn(Duration::from_millis(100)).unwrap();
    let opts = sh("echo batched-output; sleep 100").persist(&path, Some(flusher.registry()));
    let term = Terminal::spawn(opts).unwrap();
    wait_for(&term, "batched-output", T);
    let deadline = Instant::now() + T;
    loop {
        let saved = persist::load(&path, 1 << 20).unwrap();
        let mut bytes = Vec::new();
        saved.copy_range(0, usize::MAX, &mut bytes);
        if String::from_utf8_lossy(&bytes).contains("batched-output") {
            break;
        }
        assert!(Instant::now() < deadline, "never flushed while running");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(term.exit_status().is_none());
}

#[test]
fn restarted_programs_share_one_writer_so_the_file_holds_each_byte_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("restarts.log");
    let flusher = Flusher::spawn(Duration::from_millis(5)).unwrap();
    let run =
        |i: usize| format!("stty raw -echo; printf 'run-{i} '; sleep 0.05; printf 'done-{i}\\n'");
    let first = Terminal::spawn(sh(&run(0)).persist(&path, Some(flusher.registry()))).unwrap();
    let mut expected = read_to_end(first.log(), 0, T);
    let persisted = Arc::clone(first.persisted().unwrap());
    // Every old program stays around while the next one prints (as the orchestrator's monitor
    // keeps one until it notices the restart); each one flushes when it finally goes.
    let mut old = vec![first];
    for i in 1..8 {
        let mut opts = sh(&run(i));
        opts.log = LogSetting::ContinuePersisted(Arc::clone(&persisted));
        let term = Terminal::spawn(opts).unwrap();
        expected.extend(read_to_end(term.log(), expected.len() as u64, T));
        old.push(term);
    }
    for term in old {
        drop(term);
        std::thread::sleep(Duration::from_millis(10));
    }
    drop(flusher);
    let saved = Arc::new(persist::load(&path, 1 << 20).unwrap());
    assert_eq!(saved.bounds(), (0, expected.len() as u64));
    assert_eq!(
        String::from_utf8_lossy(&read_to_end(&saved, 0, T)),
        String::from_utf8_lossy(&expected)
    );
}
