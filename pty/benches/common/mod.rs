//! Pieces shared by Grove's benchmark binaries (`pty/benches/pty.rs`, included by path from
//! `orchestrator/benches/grove.rs`): reporting in `scripts/bench`'s JSON-lines format and the
//! generated test data, so both floods use the same cached file.

// Each benchmark binary uses a subset of these.
#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};

pub const MIB: usize = 1024 * 1024;

/// Appends one result line to `$GROVE_BENCH_OUT` and prints it.
pub fn report(name: &str, value: f64, unit: &str, baseline: f64, extra: &str) {
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

pub fn median(v: Vec<f64>) -> f64 {
    percentile(v, 50.0)
}

/// Nearest-rank percentile.
pub fn percentile(mut v: Vec<f64>, p: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * v.len() as f64).ceil() as usize;
    v[rank.clamp(1, v.len()) - 1]
}

pub fn bench_data_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/bench-data");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Deterministic pseudo-random source so every run uses the same bytes.
pub struct Rng(pub u64);
impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// 1 MiB of text with SGR colour changes, truecolour, cursor moves, UTF-8 and long lines .
pub fn mixed_block(seed: u64) -> Vec<u8> {
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

/// Writes (once, then reuses) a generated data file under the target dir.
pub fn data_file(kind: &str, size: usize, block: fn(u64) -> Vec<u8>) -> PathBuf {
    let path = bench_data_dir().join(format!("{kind}-{}m.bin", size / MIB));
    if std::fs::metadata(&path).map(|m| m.len() as usize).ok() != Some(size) {
        let mut f = std::fs::File::create(&path).unwrap();
        for i in 0..size / MIB {
            f.write_all(&block(i as u64 * 7919 + 1)).unwrap();
        }
    }
    path
}
