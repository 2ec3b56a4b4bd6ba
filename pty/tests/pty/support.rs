use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use grove_pty::{Chunk, OutputLog, Terminal, TerminalOptions};

pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/pty/fixtures")
        .join(name)
}

pub fn sh(script: &str) -> TerminalOptions {
    let cwd = std::env::temp_dir();
    let mut opts = TerminalOptions::new("sh", cwd).args(["-c", script]);
    opts.kill_grace = Duration::from_millis(300);
    opts
}

/// Reads the whole log from `from` until it ends (or `timeout`), panicking on truncation.
pub fn read_to_end(log: &Arc<OutputLog>, from: u64, timeout: Duration) -> Vec<u8> {
    let deadline = Instant::now() + timeout;
    let mut sub = log.subscribe(from);
    let mut out = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(
            !left.is_zero(),
            "timed out; got {} bytes: {:?}",
            out.len(),
            tail(&out)
        );
        match sub.next_blocking(64 * 1024, Some(left)) {
            Some(Chunk::Data { bytes, .. }) => out.extend(bytes),
            Some(Chunk::Truncated { lost_until }) => {
                panic!("unexpected truncation to {lost_until}")
            }
            Some(Chunk::End) => return out,
            None => {}
        }
    }
}

/// Waits until the log's text contains `needle`; returns everything read so far.
pub fn wait_for(term: &Terminal, needle: &str, timeout: Duration) -> String {
    let deadline = Instant::now() + timeout;
    loop {
        let mut bytes = Vec::new();
        term.log().copy_range(0, usize::MAX, &mut bytes);
        let text = String::from_utf8_lossy(&bytes).into_owned();
        if text.contains(needle) {
            return text;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {needle:?}; screen: {:?}",
            tail(bytes.as_slice())
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn tail(bytes: &[u8]) -> String {
    String::from_utf8_lossy(&bytes[bytes.len().saturating_sub(400)..]).into_owned()
}

pub const T: Duration = Duration::from_secs(20);
