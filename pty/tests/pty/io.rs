use std::sync::Arc;
use std::time::{Duration, Instant};

use grove_pty::{Chunk, Terminal, TerminalError, TerminalOptions, TerminalSize, utf8};
use proptest::prelude::*;

use crate::support::{T, fixture, read_to_end, sh, wait_for};

#[test]
fn echo_round_trip_through_cat() {
    let term = Terminal::spawn(TerminalOptions::new("cat", std::env::temp_dir())).unwrap();
    term.write_input(b"grove round trip\n").unwrap();
    // The line discipline echoes the input and cat prints it again.
    let text = wait_for(&term, "grove round trip\r\ngrove round trip\r\n", T);
    assert_eq!(text.matches("grove round trip").count(), 2);
}

#[test]
fn ansi_bytes_arrive_byte_exact() {
    let path = fixture("colors.ans");
    let expected = std::fs::read(&path).unwrap();
    let script = format!("stty raw -echo && cat '{}'", path.display());
    let term = Terminal::spawn(sh(&script)).unwrap();
    let got = read_to_end(term.log(), 0, T);
    assert_eq!(got, expected);
    assert_eq!(term.wait_exit(T).unwrap().code, Some(0));
}

#[test]
fn environment_defaults_and_overrides() {
    let term = Terminal::spawn(sh("echo \"T=$TERM C=$COLORTERM X=$GROVE_X\"").env("GROVE_X", "y"))
        .unwrap();
    wait_for(&term, "T=xterm-256color C=truecolor X=y", T);
    let opts = sh("echo \"T=$TERM\"").env("TERM", "dumb");
    let term = Terminal::spawn(opts).unwrap();
    wait_for(&term, "T=dumb", T);
}

#[test]
fn resize_reaches_the_child_with_sigwinch() {
    let mut opts = sh(
        "trap 'echo WINCH $(stty size)' WINCH; echo ready $(stty size); while :; do sleep 0.05; done",
    );
    opts.size = TerminalSize { rows: 30, cols: 90 };
    let term = Terminal::spawn(opts).unwrap();
    wait_for(&term, "ready 30 90", T);
    term.resize(TerminalSize {
        rows: 40,
        cols: 123,
    })
    .unwrap();
    wait_for(&term, "WINCH 40 123", T);
    assert_eq!(
        term.size(),
        TerminalSize {
            rows: 40,
            cols: 123
        }
    );
    let err = term.resize(TerminalSize { rows: 0, cols: 10 }).unwrap_err();
    assert!(matches!(err, TerminalError::InvalidSize { .. }), "{err}");
}

#[test]
fn tput_cols_follows_resize() {
    let term = Terminal::spawn(TerminalOptions::new("sh", std::env::temp_dir())).unwrap();
    term.resize(TerminalSize { rows: 20, cols: 77 }).unwrap();
    term.write_input(b"echo cols=$(tput cols)\n").unwrap();
    wait_for(&term, "cols=77", T);
}

#[test]
fn truncation_marker_when_the_ring_wrapped() {
    let mut opts =
        sh("stty raw -echo; i=0; while [ $i -lt 2000 ]; do echo line-$i; i=$((i+1)); done");
    opts.log_capacity = 4096;
    let term = Terminal::spawn(opts).unwrap();
    term.wait_exit(T).unwrap();
    let mut sub = term.subscribe(0);
    // Wait for the reader to drain the PTY.
    while !term.output_finished() {
        std::thread::sleep(Duration::from_millis(5));
    }
    let (start, end) = term.log().bounds();
    assert!(end > 4096 * 2);
    assert_eq!(start, end - 4096);
    assert_eq!(
        sub.try_next(1 << 20),
        Some(Chunk::Truncated { lost_until: start })
    );
    let Some(Chunk::Data { offset, bytes }) = sub.try_next(1 << 20) else {
        panic!("no data")
    };
    assert_eq!((offset, bytes.len()), (start, 4096));
    assert!(bytes.ends_with(b"line-1999\n"));
    assert_eq!(sub.try_next(1 << 20), Some(Chunk::End));
}

#[test]
fn slow_subscriber_never_blocks_the_reader() {
    // The program waits for a go after saying it is ready, so the subscriber below is in place
    // before the flood can wrap the ring.
    let mut opts =
        sh("stty raw -echo; printf R; read go; head -c 3000000 /dev/zero | tr '\\0' 'x'");
    opts.log_capacity = 64 * 1024;
    let term = Terminal::spawn(opts).unwrap();
    let mut slow = term.subscribe(0);
    let first = slow.next_blocking(10, Some(T)).unwrap();
    assert_eq!(
        first,
        Chunk::Data {
            offset: 0,
            bytes: b"R".to_vec()
        }
    );
    term.write_input(b"\n").unwrap();
    // The program finishes although this subscriber has not read on.
    assert_eq!(term.wait_exit(T).unwrap().code, Some(0));
    while !term.output_finished() {
        std::thread::sleep(Duration::from_millis(5));
    }
    let end = 1 + 3_000_000;
    assert_eq!(term.log().end_offset(), end);
    assert_eq!(
        slow.try_next(1 << 20),
        Some(Chunk::Truncated {
            lost_until: end - 65536
        })
    );
}

#[test]
fn a_client_that_stops_reading_holds_a_flood_only_for_its_brake() {
    let mut opts = sh("stty raw -echo; exec yes grove");
    opts.flow.max_brake = Duration::from_secs(2);
    let term = Terminal::spawn(opts).unwrap();
    wait_for(&term, "grove\n", T);
    // The only attached client's socket stopped taking data (a dead client): it brakes.
    let mut client = term.log().flow_reader(term.log().end_offset());
    client.set_stuck(true);
    let braked = Instant::now();
    std::thread::sleep(Duration::from_millis(100));
    let a = term.log().end_offset();
    std::thread::sleep(Duration::from_millis(300));
    let b = term.log().end_offset();
    // At most one in-flight read completes after the brake.
    assert!(b - a <= 64 * 1024, "log grew by {} while braked", b - a);
    assert!(term.exit_status().is_none(), "yes is blocked, not dead");
    // The client never reads again, yet the program goes on once the brake has run out.
    let deadline = Instant::now() + T;
    while term.log().end_offset() < b + 1_000_000 {
        assert!(
            Instant::now() < deadline,
            "a client that stopped reading held the program for {:?}",
            braked.elapsed()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    let held = braked.elapsed();
    assert!(
        held >= Duration::from_millis(1500) && held < Duration::from_secs(6),
        "held for {held:?}"
    );
    // Reading again (its send completed) makes it count again.
    client.set_stuck(false);
    client.set_stuck(true);
    std::thread::sleep(Duration::from_millis(100));
    let a = term.log().end_offset();
    std::thread::sleep(Duration::from_millis(300));
    let b = term.log().end_offset();
    assert!(
        b - a <= 64 * 1024,
        "log grew by {} while braked again",
        b - a
    );
}

#[test]
fn a_paste_the_program_does_not_read_holds_up_neither_answers_nor_drop() {
    let dir = tempfile::tempdir().unwrap();
    let go = dir.path().join("go");
    let read = dir.path().join("read");
    const PASTE: usize = 256 * 1024;
    // The program reads nothing until told to; meanwhile it asks for the cursor position. Then
    // it reads exactly the paste and shows the first two bytes that follow it: the answer.
    let script = format!(
        "stty raw -echo; echo ready; while [ ! -e '{go}' ]; do sleep 0.02; done; \
         printf '\\033[6n'; echo queried; while [ ! -e '{read}' ]; do sleep 0.02; done; \
         dd bs=4096 count={blocks} iflag=fullblock of=/dev/null 2>/dev/null; \
         dd bs=1 count=2 2>/dev/null | od -An -tx1; echo; sleep 1000",
        go = go.display(),
        read = read.display(),
        blocks = PASTE / 4096,
    );
    let term = Arc::new(Terminal::spawn(sh(&script)).unwrap());
    wait_for(&term, "ready", T);
    // Far more than the PTY's input buffer holds: the rest waits for the program to read.
    let paste = |term: &Arc<Terminal>| {
        let (tx, rx) = std::sync::mpsc::channel();
        let term = Arc::clone(term);
        std::thread::spawn(move || {
            let res = term.write_input(&vec![b'p'; PASTE]);
            drop(term);
            let _ = tx.send(res.is_ok());
        });
        rx
    };
    let sent = paste(&term);
    assert_eq!(
        sent.recv_timeout(Duration::from_secs(5)),
        Ok(true),
        "a paste the program does not read yet must be queued, not block the caller"
    );
    std::fs::write(&go, "").unwrap();
    wait_for(&term, "queried", T);
    // The screen model answered the query without waiting for the PTY: it still follows.
    let (tx, rx) = std::sync::mpsc::channel();
    let screen = Arc::clone(term.screen().unwrap());
    std::thread::spawn(move || {
        let _ = tx.send(screen.snapshot());
    });
    let snap = rx
        .recv_timeout(Duration::from_secs(5))
        .expect("the screen model is stuck behind the blocked paste");
    assert!(snap.data.contains("queried"), "{:?}", snap.data);
    // The answer is delivered, right after the paste.
    std::fs::write(&read, "").unwrap();
    wait_for(&term, "1b 5b", T);

    // Another paste the program never reads: dropping the terminal still takes only its grace.
    let sent = paste(&term);
    assert_eq!(sent.recv_timeout(Duration::from_secs(5)), Ok(true));
    let term = Arc::try_unwrap(term).expect("no other owner");
    let started = Instant::now();
    drop(term);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "drop took {:?}",
        started.elapsed()
    );
}

#[test]
fn async_subscription_reads_live_output() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let term = Terminal::spawn(sh("sleep 0.2; echo async-hello")).unwrap();
    let mut sub = term.subscribe(0);
    let got = rt.block_on(async {
        let mut out = Vec::new();
        loop {
            match sub.next(1024).await {
                Chunk::Data { bytes, .. } => out.extend(bytes),
                Chunk::Truncated { .. } => panic!("truncated"),
                Chunk::End => break out,
            }
        }
    });
    assert_eq!(got, b"async-hello\r\n");
    let status = rt.block_on(term.exited());
    assert_eq!(status.code, Some(0));
}

#[test]
fn utf8_helper_cuts_real_output_safely() {
    let term = Terminal::spawn(sh("stty raw -echo; printf '%s' 'aé€😀'")).unwrap();
    let bytes = read_to_end(term.log(), 0, T);
    for cut in 0..=bytes.len() {
        let n = utf8::complete_prefix_len(&bytes[..cut]);
        assert!(std::str::from_utf8(&bytes[..n]).is_ok());
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 6, ..ProptestConfig::default() })]
    /// While a flood is running, subscriptions started at random offsets each reproduce exactly
    /// the source bytes from that offset on.
    #[test]
    fn replay_from_any_offset_is_exact(offsets in proptest::collection::vec(0.0f64..1.0, 4)) {
        let source: Vec<u8> = (0..150_000u32).flat_map(|i| format!("{i} \x1b[3{}mgrove\x1b[0m é\n", i % 8).into_bytes()).collect();
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("flood.txt");
        std::fs::write(&file, &source).unwrap();
        let term = Terminal::spawn(sh(&format!("stty raw -echo; cat '{}'", file.display()))).unwrap();
        let mut readers = Vec::new();
        for frac in offsets {
            // Pick an offset within what has been produced so far, while the flood runs.
            std::thread::sleep(Duration::from_millis(3));
            let from = (term.log().end_offset() as f64 * frac) as u64;
            let log = term.log().clone();
            readers.push((from, std::thread::spawn(move || read_to_end(&log, from, T))));
        }
        for (from, reader) in readers {
            let got = reader.join().unwrap();
            prop_assert!(got == source[from as usize..], "mismatch from offset {}", from);
        }
    }
}

#[test]
fn a_slow_but_steady_flow_reader_is_never_truncated() {
    // A flood twenty times the ring, read by a client that is slower than the program but keeps
    // moving: the program is held back instead of the client losing output.
    let mut opts = sh("stty raw -echo; head -c 20000000 /dev/zero | tr '\\0' 'y'");
    opts.log_capacity = 1 << 20;
    let term = Terminal::spawn(opts).unwrap();
    let mut flow = term.log().flow_reader(0);
    let mut sub = term.subscribe(0);
    let mut total = 0u64;
    loop {
        match sub.next_blocking(64 * 1024, Some(T)) {
            Some(Chunk::Data { bytes, offset }) => {
                total += bytes.len() as u64;
                // Handed on and parsed at once: this client is never saturated, only slow.
                flow.sent(offset + bytes.len() as u64);
                flow.acked(offset + bytes.len() as u64);
                // Slower than the PTY: about 64 KiB per millisecond at most.
                std::thread::sleep(Duration::from_millis(1));
            }
            Some(Chunk::Truncated { lost_until }) => {
                panic!("truncated to {lost_until} after {total} bytes")
            }
            Some(Chunk::End) => break,
            None => panic!("stalled after {total} bytes"),
        }
    }
    assert_eq!(total, 20_000_000);
}
