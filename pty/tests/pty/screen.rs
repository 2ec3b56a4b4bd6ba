//! The screen model: query answers with nobody attached, snapshot fidelity, restore.

use std::time::Duration;

use grove_pty::screen::{Model, Palette, ScreenOptions};
use grove_pty::{Screen, Terminal, TerminalSize};

use crate::support::{fixture, sh, wait_for};

const T: Duration = Duration::from_secs(20);
const SIZE: TerminalSize = TerminalSize { rows: 24, cols: 80 };

fn bash(script: &str) -> grove_pty::TerminalOptions {
    let mut opts = sh(script);
    opts.program = "bash".into();
    opts
}

#[test]
fn a_program_blocked_on_a_cursor_report_gets_exactly_one_with_nobody_attached() {
    // Like crossterm's cursor::position(): ask, then block until the answer arrives. Then
    // listen a while longer for a second answer that must not come.
    let term = Terminal::spawn(bash(
        "stty raw -echo; printf '\\033[3;7Hx\\033[6n'; \
         IFS= read -r -s -d R -t 10 reply || echo NO-REPLY; \
         extra=0; while IFS= read -r -s -d R -t 1 more; do extra=$((extra+1)); done; \
         printf '\\r\\nreply=%q extra=%d\\r\\n' \"$reply\" $extra",
    ))
    .unwrap();
    let text = wait_for(&term, "extra=", T);
    assert!(!text.contains("NO-REPLY"), "{text:?}");
    // Row 3, column 8: after the `x` printed at column 7.
    assert!(text.contains("reply=$'\\E[3;8' extra=0"), "{text:?}");
}

#[test]
fn device_attributes_version_modes_and_colours_are_answered_in_order() {
    // XTVERSION is answered by Grove's scanner, the others by the emulator: the answers must
    // still come in the order of the queries (programs use DA1 as the "end of answers" mark).
    let term = Terminal::spawn(bash(
        "stty raw -echo; printf '\\033[>q\\033[?2004$p\\033]11;?\\007\\033[c'; \
         IFS= read -r -s -d c -t 10 all; printf '\\r\\nall=%q\\r\\n' \"$all\"",
    ))
    .unwrap();
    let text = wait_for(&term, "all=", T);
    let line = text.lines().find(|l| l.contains("all=")).unwrap();
    let v = line.find("Grove").expect("XTVERSION answer");
    let m = line.find("2004;2$y").expect("DECRQM answer");
    let c = line
        .find("rgb:0d0d/1111/1717")
        .expect("background colour answer");
    let d = line.find("[?6").expect("DA1 answer");
    assert!(v < m && m < c && c < d, "{line}");
}

fn feed(bytes: &[u8]) -> Model {
    let mut m = Model::new(SIZE, 1000, Palette::default());
    m.feed_quietly(bytes);
    m
}

/// Feeds `bytes`, renders a snapshot, replays it into a fresh model and compares every cell,
/// the cursor and the modes.
fn assert_round_trip(name: &str, bytes: &[u8]) -> Model {
    let mut original = feed(bytes);
    let snapshot = original.snapshot();
    let replayed = Model::from_snapshot(&snapshot, SIZE, 1000, Palette::default());
    let (a, b) = (original.dump(), replayed.dump());
    if a != b {
        let (x, y) = a
            .lines()
            .zip(b.lines())
            .find(|(x, y)| x != y)
            .unwrap_or(("(length)", "(length)"));
        let at = x.bytes().zip(y.bytes()).take_while(|(p, q)| p == q).count();
        let cut =
            |s: &str| s[at.saturating_sub(80).min(s.len())..(at + 120).min(s.len())].to_owned();
        panic!(
            "{name}: the snapshot does not reproduce the screen; first difference:\n  original: …{}\n  replayed: …{}",
            cut(x),
            cut(y)
        );
    }
    // Rendering must not disturb the model (the alternate screen is swapped out and back).
    assert_eq!(original.dump(), a, "{name}: snapshot changed the model");
    original
}

#[test]
fn snapshots_reproduce_recorded_sessions_cell_by_cell() {
    for name in ["colors.ans", "vim.ans", "vim-quit.ans", "htop.ans"] {
        let bytes = std::fs::read(fixture(name)).unwrap();
        let m = assert_round_trip(name, &bytes);
        match name {
            "vim.ans" | "htop.ans" => assert!(m.alternate_screen(), "{name} is full-screen"),
            _ => assert!(!m.alternate_screen(), "{name}"),
        }
    }
    let vim = feed(&std::fs::read(fixture("vim.ans")).unwrap());
    assert!(
        vim.screen_text().contains("appended ✓ 漢字"),
        "{}",
        vim.screen_text()
    );
}

#[test]
fn snapshots_reproduce_wide_combining_wrapped_scrolled_and_modal_state() {
    let mut s = String::new();
    // History that scrolled off, wide and combining characters, a wrapped long line.
    for i in 0..60 {
        s.push_str(&format!(
            "line {i} \x1b[1;3{}mcolour\x1b[0m é 漢字 e\u{301}\r\n",
            i % 8
        ));
    }
    s.push_str(&"wrap-".repeat(30));
    // A wide character that does not fit in the last column wraps whole.
    s.push_str(&format!("\r\n{}漢", "x".repeat(79)));
    // Truecolour, 256 colours, underline styles and colour, inverse, strike, a hyperlink.
    s.push_str("\r\n\x1b[38;2;1;2;3;48;5;200mrgb\x1b[4:3;58:2::9:8:7mcurl\x1b[0;7;9minv\x1b[0m");
    s.push_str("\x1b]8;;https://example.com\x1b\\link\x1b]8;;\x1b\\ ");
    // Erase with a background colour, a scroll region with origin mode, a saved cursor.
    s.push_str("\x1b[44m\x1b[K\x1b[0m\x1b[5;20r\x1b[?6h\x1b[2;3H\x1b7\x1b[4;9H");
    // Modes: app cursor/keypad, bracketed paste, SGR mouse, focus, hidden cursor, title.
    s.push_str("\x1b[?1h\x1b=\x1b[?2004h\x1b[?1002;1006h\x1b[?1004h\x1b[?25l\x1b]2;my title\x07");
    // The attributes the next character will get.
    s.push_str("\x1b[1;32m");
    let m = assert_round_trip("synthetic", s.as_bytes());
    assert!(m.dump().contains("region=Some((4, 19))"), "{}", m.dump());

    // A pending wrap at the last column survives: the next character goes to the next line.
    let mut s = String::from("\x1b[1;1H");
    s.push_str(&"z".repeat(80));
    let mut a = assert_round_trip("pending wrap", s.as_bytes());
    let mut b = Model::from_snapshot(&a.snapshot(), SIZE, 1000, Palette::default());
    a.feed_quietly(b"Q");
    b.feed_quietly(b"Q");
    assert_eq!(a.dump(), b.dump());
    assert!(a.screen_text().lines().nth(1).unwrap().starts_with('Q'));
}

#[test]
fn snapshots_reproduce_the_alternate_screen_and_the_primary_screen_behind_it() {
    let mut s = String::from("shell prompt $ ls\r\nfile-a file-b\r\n$ vim\x1b[?1049h\x1b[H\x1b[2J");
    s.push_str("\x1b[1;1H~ editor line\x1b[24;1H\x1b[7m-- INSERT --\x1b[0m\x1b[3;5H");
    let mut m = assert_round_trip("alternate", s.as_bytes());
    // Leaving the alternate screen returns to the primary screen and its cursor.
    let mut replayed = Model::from_snapshot(&m.snapshot(), SIZE, 1000, Palette::default());
    m.feed_quietly(b"\x1b[?1049lback");
    replayed.feed_quietly(b"\x1b[?1049lback");
    assert_eq!(m.dump(), replayed.dump());
    assert!(m.screen_text().contains("$ vimback"), "{}", m.screen_text());
}

#[test]
fn a_full_screen_program_is_restored_after_the_log_wrapped_past_its_start() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.log");
    // Enter the alternate screen, draw a marker, then redraw one line far more than the ring
    // holds (64 KiB), so the bytes that entered the alternate screen are gone from the log.
    let mut opts = bash(
        "stty raw -echo; printf '\\033[?1049h\\033[H\\033[2J\\033[1;1H\\033[1mALT-MARKER\\033[0m'; \
         for i in $(seq 1 20000); do printf '\\033[5;1Hcount %d' $i; done; sleep 30",
    );
    opts.log_capacity = 64 * 1024;
    let opts = opts.persist(&path, None);
    let term = Terminal::spawn(opts).unwrap();
    wait_for_screen(&term, "count 20000");
    assert!(term.log().start_offset() > 0, "the log must have wrapped");
    let snap = term.screen().unwrap().snapshot();
    assert_eq!(snap.offset, term.log().end_offset());
    assert!(snap.data.contains("\x1b[?1049h"));
    let m = Model::from_snapshot(&snap.data, snap.size, 1000, Palette::default());
    assert!(m.alternate_screen());
    let text = m.screen_text();
    assert!(
        text.starts_with("ALT-MARKER\n") && text.contains("count 20000"),
        "{text}"
    );

    // After the app goes away, the saved log and screen bring the same screen back.
    drop(term);
    let log = std::sync::Arc::new(grove_pty::persist::load(&path, 64 * 1024).unwrap());
    let screen = Screen::load(
        log,
        SIZE,
        ScreenOptions::default(),
        path.with_extension("screen"),
    );
    assert!(screen.is_exact());
    let restored = screen.with_model(|m| (m.alternate_screen(), m.screen_text()));
    assert!(restored.0, "alternate screen lost on restore");
    assert!(restored.1.contains("ALT-MARKER") && restored.1.contains("count 20000"));
}

fn wait_for_screen(term: &Terminal, needle: &str) {
    let deadline = std::time::Instant::now() + T;
    let screen = term.screen().unwrap();
    loop {
        let text = screen.with_model(|m| m.screen_text());
        if text.contains(needle) {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "screen never showed {needle:?}: {text}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn resizes_apply_at_their_place_in_the_stream_and_reflow() {
    let term = Terminal::spawn(bash(
        "stty raw -echo; printf '%s' \"$(printf 'abcdefghij%.0s' $(seq 1 12))\"; read -r _",
    ))
    .unwrap();
    wait_for(&term, "abcdefghij", T);
    wait_for_screen(&term, "abcdefghij");
    let screen = term.screen().unwrap();
    // 120 characters wrap once at 80 columns; at 40 columns they fill three rows (the emulator
    // keeps the cursor's row and moves what does not fit above into the history).
    assert_eq!(
        screen.with_model(|m| m.screen_text().lines().filter(|l| !l.is_empty()).count()),
        2
    );
    term.resize(TerminalSize { rows: 24, cols: 40 }).unwrap();
    let snap = screen.snapshot();
    assert_eq!(snap.size, TerminalSize { rows: 24, cols: 40 });
    let m = Model::from_snapshot(&snap.data, snap.size, 1000, Palette::default());
    let rows: Vec<_> = m
        .all_text()
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect();
    assert_eq!(rows.len(), 3, "{rows:?}");
    assert_eq!(rows[2].len(), 40);
}

#[test]
fn a_quiet_terminal_model_sleeps_and_wakes_exactly_where_it_was() {
    // A full-screen program's screen (vim, with the primary screen behind it), then quiet until
    // input arrives. (The recording's queries are answered into the input: keep its last word.)
    let vim = fixture("vim.ans");
    let term = Terminal::spawn(bash(&format!(
        "stty raw -echo; cat '{}'; IFS= read -r -d x line; printf '\\033[2;3HWOKE:%s' \"${{line: -5}}\"; read -r _",
        vim.display()
    )))
    .unwrap();
    let screen = term.screen().unwrap();
    wait_for_screen(&term, "appended ✓ 漢字");
    let before = screen.snapshot();
    // The terminal's own screen thread puts the model to sleep once it has been quiet.
    let deadline = std::time::Instant::now() + grove_pty::screen::SLEEP_AFTER + T;
    while !screen.is_asleep() {
        assert!(
            std::time::Instant::now() < deadline,
            "a quiet model never went to sleep"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // Asleep, it renders the same snapshot without waking.
    assert_eq!(screen.snapshot(), before);
    assert!(screen.is_asleep(), "a snapshot woke the model");

    // Output wakes it; it goes on exactly like a model that never slept.
    term.write_input(b"hellox").unwrap();
    wait_for(&term, "WOKE:hello", T);
    wait_for_screen(&term, "WOKE:hello");
    assert!(!screen.is_asleep());
    assert_eq!(
        screen.with_model(|m| m.dump()),
        never_slept(term.log()).dump()
    );
    assert!(screen.with_model(|m| m.alternate_screen()));
}

#[test]
fn a_model_does_not_sleep_inside_an_escape_sequence_or_a_character() {
    let log = std::sync::Arc::new(grove_pty::OutputLog::new(1 << 16));
    let screen = Screen::new(log.clone(), SIZE, ScreenOptions::default(), None);
    let parts: [&[u8]; 3] = [
        b"abc\x1b[3",
        "8;5;1mred \u{20ac}".as_bytes(),
        b"\x1b[0m done",
    ];
    // Split inside the CSI, then inside the three bytes of the euro sign.
    let euro_cut = parts[1].len() - 1;
    for (bytes, rests) in [
        (parts[0], false),
        (&parts[1][..euro_cut], false),
        (&parts[1][euro_cut..], true),
        (parts[2], true),
    ] {
        log.append(bytes);
        screen.catch_up();
        assert_eq!(
            screen.sleep_if_quiet(Duration::ZERO),
            rests,
            "after {bytes:?}"
        );
    }
    assert_eq!(screen.with_model(|m| m.dump()), never_slept(&log).dump());
}

/// A model fed the whole log at once, as if it had never slept.
fn never_slept(log: &grove_pty::OutputLog) -> Model {
    let mut all = Vec::new();
    log.copy_range(0, usize::MAX, &mut all);
    let mut m = Model::new(
        SIZE,
        ScreenOptions::default().scrollback,
        Palette::default(),
    );
    m.feed_quietly(&all);
    m
}

/// A character split across two reads and followed by a byte that is not UTF-8: vte 0.15,
/// given the halves in two calls, resumes one byte too far and drops the byte after the
/// character. The model hands vte whole characters, so the screen is the same however the
/// output was cut.
#[test]
fn a_character_split_across_reads_loses_nothing_after_it() {
    let bytes = b"caf\xc3\xa9!\xff ok\r\n";
    let whole = feed(bytes).screen_text();
    assert!(whole.starts_with("caf\u{e9}!"), "{whole:?}");
    for cut in 0..=bytes.len() {
        let mut m = Model::new(SIZE, 1000, Palette::default());
        m.feed_quietly(&bytes[..cut]);
        m.feed_quietly(&bytes[cut..]);
        assert_eq!(m.screen_text(), whole, "cut at {cut}");
    }
}

/// Waits for the save file to describe `size` (the follower saves within a second of a change).
fn wait_for_saved_size(path: &std::path::Path, size: TerminalSize) {
    let deadline = std::time::Instant::now() + T;
    let want = format!("{} {}", size.rows, size.cols);
    loop {
        let head = std::fs::read_to_string(path).unwrap_or_default();
        let line = head.lines().nth(1).unwrap_or_default().to_owned();
        if line.ends_with(&want) {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the save never had the size {want}: {line:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_resize_without_output_is_saved_and_an_ended_programs_screen_follows_resizes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.log");
    let screen_file = path.with_extension("screen");
    // `cat` with echo off prints nothing when resized: the resize is the screen's only change.
    let opts = bash("stty -echo; printf 'ready\\n'; cat").persist(&path, None);
    let term = Terminal::spawn(opts).unwrap();
    wait_for_screen(&term, "ready");
    wait_for_saved_size(&screen_file, SIZE);
    let wide = TerminalSize {
        rows: 45,
        cols: 128,
    };
    term.resize(wide).unwrap();
    wait_for_saved_size(&screen_file, wide);

    // The program ends; the UI, at another size, resizes what it shows.
    term.write_input(b"\x04").unwrap();
    let deadline = std::time::Instant::now() + T;
    while term.exit_status().is_none() {
        assert!(std::time::Instant::now() < deadline, "cat never exited");
        std::thread::sleep(Duration::from_millis(20));
    }
    let narrow = TerminalSize {
        rows: 30,
        cols: 100,
    };
    term.resize(narrow).unwrap();
    let screen = term.screen().unwrap();
    assert_eq!(screen.snapshot().size, narrow);
    screen.save().unwrap();
    drop(term);

    // A restart draws it at that size, with what it showed.
    let log = std::sync::Arc::new(grove_pty::persist::load(&path, 1 << 20).unwrap());
    let restored = Screen::load(log, SIZE, ScreenOptions::default(), screen_file);
    let snap = restored.snapshot();
    assert_eq!(snap.size, narrow);
    assert!(restored.with_model(|m| m.screen_text()).contains("ready"));
}
