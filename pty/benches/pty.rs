//! grove-pty benchmarks. Run through `scripts/bench`, which runs each named benchmark in its own
//! process and collects the JSON lines this binary appends to `$GROVE_BENCH_OUT`.
//!
//! Every figure comes with a baseline measured in the same run: the flood benchmarks compare a
//! Grove terminal (reader thread → output log → subscriber) with a bare portable-pty read loop
//! over the same bytes.

#![allow(clippy::print_stdout, clippy::unwrap_used)] // a benchmark binary reports on stdout

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use grove_pty::{Chunk, Terminal, TerminalOptions};
use portable_pty::{CommandBuilder, PtySize, native_pty_system};

const MIB: usize = 1024 * 1024;
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
            _ => unreachable!(),
        }
    }
}

/// Appends one result line to `$GROVE_BENCH_OUT` and prints it.
fn report(name: &str, value: f64, unit: &str, baseline: f64, extra: &str) {
    let ratio = if baseline != 0.0 {
        value / baseline
    } else {
        0.0
    };
    let line = format!(
        "{{\"name\":\"{name}\",\"value\":{value:.3},\"unit\":\"{unit}\",\"baseline\":{baseline:.3},\"ratio\":{ratio:.3}{extra}}}"
    );
    println!("{line}");
    if let Ok(path) = std::env::var("GROVE_BENCH_OUT") {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .unwrap();
        writeln!(f, "{line}").unwrap();
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Deterministic pseudo-random source so every run floods the same bytes.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// 1 MiB of text with SGR colour changes, truecolour, cursor moves, UTF-8 and long lines.
fn mixed_block(seed: u64) -> Vec<u8> {
    let mut rng = Rng(seed | 1);
    let words = [
        "grove", "session", "worktree", "fn", "main()", "{", "}", "let", "x", "=", "42;", "é",
        "漢字", "→",
    ];
    let mut out = Vec::with_capacity(MIB + 256);
    while out.len() < MIB {
        let r = rng.next();
        match r % 8 {
            0 => out.extend_from_slice(format!("\x1b[{}m", 30 + r % 8).as_bytes()),
            1 => out.extend_from_slice(
                format!(
                    "\x1b[38;2;{};{};{}m",
                    r % 256,
                    (r >> 8) % 256,
                    (r >> 16) % 256
                )
                .as_bytes(),
            ),
            2 => out.extend_from_slice(b"\x1b[0m"),
            3 => out.extend_from_slice(b"\r\n"),
            4 => out.extend_from_slice(format!("\x1b[{}G", 1 + r % 80).as_bytes()),
            _ => {
                out.extend_from_slice(words[(r >> 3) as usize % words.len()].as_bytes());
                out.push(b' ');
            }
        }
    }
    out.truncate(MIB);
    // Never end a block inside a multibyte character.
    let n = grove_pty::utf8::complete_prefix_len(&out);
    out.truncate(n);
    out.resize(MIB, b' ');
    out
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

/// Writes (once, then reuses) a generated data file under the target dir.
fn data_file(kind: &str, size: usize, block: fn(u64) -> Vec<u8>) -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/bench-data");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{kind}-{}m.bin", size / MIB));
    if std::fs::metadata(&path).map(|m| m.len() as usize).ok() != Some(size) {
        let mut f = std::fs::File::create(&path).unwrap();
        for i in 0..size / MIB {
            f.write_all(&block(i as u64 * 7919 + 1)).unwrap();
        }
    }
    path
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

/// Grove's path: terminal reader thread → output log → one subscriber reading it all.
fn grove_read(path: &Path) -> (usize, Duration) {
    let started = Instant::now();
    let term = Terminal::spawn(
        TerminalOptions::new("sh", std::env::temp_dir()).args(["-c", &cat_script(path)]),
    )
    .unwrap();
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
