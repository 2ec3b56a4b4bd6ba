//! grove-pty benchmarks. Run through `scripts/bench`, which runs each named benchmark in its own
//! process and collects the JSON lines this binary appends to `$GROVE_BENCH_OUT`.
//!
//! Every figure comes with a baseline measured in the same run: the flood benchmarks compare a
//! Grove terminal (reader thread → output log → subscriber) with a bare portable-pty read loop
//! over the same bytes.

#![allow(clippy::print_stdout, clippy::unwrap_used)] // a benchmark binary reports on stdout

use std::io::Read;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use grove_pty::{Chunk, Terminal, TerminalOptions};
use portable_pty::{CommandBuilder, PtySize, native_pty_system};

mod common;
use common::{MIB, data_file, median, mixed_block, report};
use grove_pty::ScreenSetting;
use grove_pty::screen::{Model, Palette, ScreenOptions};
const REPS: usize = 5;

fn main() {
    let names: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let all = [
        "pty_flood_mixed",
        "pty_flood_lines",
        "pty_slow_subscriber_rss",
        "model_flood",
        "attach_snapshot",
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
            "pty_flood_mixed" => flood(name, &data_file("mixed", 256 * MIB, mixed_block)),
            "pty_flood_lines" => flood(name, &data_file("lines", 64 * MIB, lines_block)),
            "pty_slow_subscriber_rss" => {
                slow_subscriber_rss(&data_file("mixed", 256 * MIB, mixed_block))
            }
            "model_flood" => model_flood(&data_file("mixed", 256 * MIB, mixed_block)),
            "attach_snapshot" => attach_snapshot(&data_file("mixed", 256 * MIB, mixed_block)),
            _ => unreachable!(),
        }
    }
}

/// 1 MiB of short lines, like `yes` or a build log.
fn lines_block(seed: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(MIB);
    let mut i = seed;
    while out.len() < MIB {
        out.extend_from_slice(format!("y {i}\n").as_bytes());
        i += 1;
    }
    out.truncate(MIB);
    out
}

fn cat_script(path: &Path) -> String {
    format!("stty raw -echo && exec cat '{}'", path.display())
}

/// The baseline: a bare portable-pty read loop, no log, no subscriber.
fn bare_read(path: &Path) -> (usize, Duration) {
    let started = Instant::now();
    let pair = native_pty_system()
        .openpty(PtySize {
            rows: 24,
            cols: 80,
            pixel_width: 0,
            pixel_height: 0,
        })
        .unwrap();
    let mut cmd = CommandBuilder::new("sh");
    cmd.args(["-c", &cat_script(path)]);
    let mut child = pair.slave.spawn_command(cmd).unwrap();
    drop(pair.slave);
    let mut reader = pair.master.try_clone_reader().unwrap();
    let mut buf = vec![0u8; 64 * 1024];
    let mut total = 0;
    loop {
        match reader.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => total += n,
        }
    }
    let elapsed = started.elapsed();
    child.wait().unwrap();
    (total, elapsed)
}

/// Grove's path: terminal reader thread → output log (and screen model) → one subscriber
/// reading it all.
fn grove_read(path: &Path) -> (usize, Duration) {
    grove_read_with(path, ScreenSetting::New(ScreenOptions::default()))
}

fn grove_read_with(path: &Path, screen: ScreenSetting) -> (usize, Duration) {
    let started = Instant::now();
    let mut opts = TerminalOptions::new("sh", std::env::temp_dir()).args(["-c", &cat_script(path)]);
    opts.screen = screen;
    let term = Terminal::spawn(opts).unwrap();
    let mut sub = term.subscribe(0);
    let mut total = 0;
    loop {
        match sub.next_blocking(grove_pty::DEFAULT_CHUNK, None) {
            Some(Chunk::Data { bytes, .. }) => total += bytes.len(),
            Some(Chunk::Truncated { lost_until }) => {
                panic!("subscriber fell behind to {lost_until}")
            }
            Some(Chunk::End) | None => break,
        }
    }
    let elapsed = started.elapsed();
    drop(term);
    (total, elapsed)
}

fn flood(name: &str, path: &Path) {
    let size = std::fs::metadata(path).unwrap().len() as usize;
    let mbps = |(n, d): (usize, Duration)| {
        assert_eq!(n, size, "every byte arrives");
        n as f64 / 1e6 / d.as_secs_f64()
    };
    let (mut grove, mut bare) = (Vec::new(), Vec::new());
    // Warm the page cache, then alternate so drift hits both sides alike.
    bare_read(path);
    for _ in 0..REPS {
        bare.push(mbps(bare_read(path)));
        grove.push(mbps(grove_read(path)));
    }
    report(
        name,
        median(grove),
        "MB/s",
        median(bare),
        &format!(",\"bytes\":{size}"),
    );
}

fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// Peak RSS growth while 256 MiB flood through a terminal whose only subscriber reads slowly.
fn slow_subscriber_rss(path: &Path) {
    let size = std::fs::metadata(path).unwrap().len();
    let before = rss_kib();
    let peak = Arc::new(AtomicU64::new(before));
    let done = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (peak, done) = (Arc::clone(&peak), Arc::clone(&done));
        std::thread::spawn(move || {
            while !done.load(Ordering::Relaxed) {
                peak.fetch_max(rss_kib(), Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(2));
            }
        })
    };
    let term = Terminal::spawn(
        TerminalOptions::new("sh", std::env::temp_dir()).args(["-c", &cat_script(path)]),
    )
    .unwrap();
    let mut sub = term.subscribe(0);
    let (mut read, mut truncations) = (0u64, 0u64);
    while !term.output_finished() {
        match sub.next_blocking(4096, Some(Duration::from_millis(50))) {
            Some(Chunk::Data { bytes, .. }) => read += bytes.len() as u64,
            Some(Chunk::Truncated { .. }) => truncations += 1,
            _ => {}
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    let produced = term.log().end_offset();
    done.store(true, Ordering::Relaxed);
    sampler.join().unwrap();
    drop(term);
    assert_eq!(produced, size);
    let growth_mib = (peak.load(Ordering::Relaxed).saturating_sub(before)) as f64 / 1024.0;
    let capacity_mib = grove_pty::DEFAULT_LOG_CAPACITY as f64 / MIB as f64;
    report(
        "pty_slow_subscriber_rss",
        growth_mib,
        "MiB",
        capacity_mib,
        &format!(
            ",\"produced_mib\":{},\"read_mib\":{:.1},\"truncations\":{truncations}",
            size / MIB as u64,
            read as f64 / MIB as f64
        ),
    );
}

/// The same flood with the screen model on (Grove's default) and off, alternating.
fn model_flood(path: &Path) {
    let size = std::fs::metadata(path).unwrap().len() as usize;
    let mbps = |(n, d): (usize, Duration)| {
        assert_eq!(n, size, "every byte arrives");
        n as f64 / 1e6 / d.as_secs_f64()
    };
    let (mut on, mut off) = (Vec::new(), Vec::new());
    grove_read_with(path, ScreenSetting::Off);
    for _ in 0..REPS {
        off.push(mbps(grove_read_with(path, ScreenSetting::Off)));
        on.push(mbps(grove_read_with(
            path,
            ScreenSetting::New(ScreenOptions::default()),
        )));
    }
    report(
        "model_flood",
        median(on),
        "MB/s",
        median(off),
        &format!(",\"bytes\":{size}"),
    );
}

/// A terminal with 8 MiB of history: time until a fresh emulator holds the complete current
/// screen, from the server's snapshot versus by replaying the whole log. A fresh `Model` (the
/// same emulator) stands in for the pane on both sides.
fn attach_snapshot(path: &Path) {
    let history = 8 * MIB;
    let script = format!(
        "stty raw -echo cols 120 rows 40 && head -c {history} '{}' && exec sleep 60",
        path.display()
    );
    let mut opts = TerminalOptions::new("sh", std::env::temp_dir()).args(["-c", &script]);
    opts.size = grove_pty::TerminalSize {
        rows: 40,
        cols: 120,
    };
    let term = Terminal::spawn(opts).unwrap();
    while term.log().end_offset() < history as u64 {
        std::thread::sleep(Duration::from_millis(20));
    }
    let screen = term.screen().unwrap();
    let size = term.size();
    let opts = ScreenOptions::default();
    let expected = screen.with_model(|m| m.screen_text());
    let (mut snap_ms, mut replay_ms, mut snap_bytes) = (Vec::new(), Vec::new(), 0);
    for _ in 0..REPS {
        let t = Instant::now();
        let snap = screen.snapshot();
        let pane = Model::from_snapshot(&snap.data, snap.size, opts.scrollback, Palette::default());
        snap_ms.push(t.elapsed().as_secs_f64() * 1e3);
        assert_eq!(
            pane.screen_text(),
            expected,
            "the snapshot shows the screen"
        );
        snap_bytes = snap.data.len();

        let t = Instant::now();
        let mut log = Vec::new();
        term.log().copy_range(0, usize::MAX, &mut log);
        let mut pane = Model::new(size, opts.scrollback, Palette::default());
        pane.feed_quietly(&log);
        replay_ms.push(t.elapsed().as_secs_f64() * 1e3);
        assert_eq!(pane.screen_text(), expected, "the replay shows the screen");
    }
    drop(term);
    report(
        "attach_snapshot",
        median(snap_ms),
        "ms",
        median(replay_ms),
        &format!(",\"history_bytes\":{history},\"snapshot_bytes\":{snap_bytes}"),
    );
}
