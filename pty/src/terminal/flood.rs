//! Telling a flood from interactive output, and what the reader does differently for one.
//!
//! A terminal *floods* while it prints at [`FLOOD_RATE`] or more, over windows of
//! [`FLOOD_WINDOW`]: `yes`, a `cat` of a big file, a verbose build. A flooding terminal's reader
//! hands its output on in batches — it wakes the subscribers (sockets, the screen model) once
//! per [`FLOOD_COALESCE`] or 64 KiB rather than after every read — so a flood costs a few
//! wake-ups and frames per frame-time instead of one per 4 KiB the PTY returns. Nobody can see
//! the difference: a display refreshes every 16 ms. A terminal that was typed into within
//! [`INPUT_GRACE`] is never batched, so a keystroke's echo leaves at once even in a terminal
//! that just printed a lot.

use std::time::{Duration, Instant};

/// Output rate from which on a terminal floods: 1 MiB/s, far above what a person reads, an
/// agent's TUI redraws or a build's log, far below what `yes` or `cat` print.
pub const FLOOD_RATE: u64 = 1024 * 1024;
/// The window the rate is measured over.
pub const FLOOD_WINDOW: Duration = Duration::from_millis(100);
/// Longest a flooding terminal's reader holds output back to batch it.
pub const FLOOD_COALESCE: Duration = Duration::from_millis(4);
/// A terminal that received input this recently is interactive: its output is never held.
pub const INPUT_GRACE: Duration = Duration::from_millis(250);

/// The autogroup nice value of a flooding program's session on Linux (0 once it stops): a tenth of
/// the CPU weight of a normal one, so programs people type into get the cores first, while a
/// flood on an otherwise idle machine still runs at full speed.
pub const FLOOD_NICE: i32 = 10;

/// Bytes in one window from which on the terminal floods.
const WINDOW_BYTES: u64 = FLOOD_RATE * FLOOD_WINDOW.as_millis() as u64 / 1000;

/// The reader's view of its terminal's output rate.
#[derive(Debug)]
pub(crate) struct FloodMeter {
    window_start: Instant,
    /// Bytes read in the current window.
    bytes: u64,
    /// Whether the previous full window reached the rate.
    last_window_flooded: bool,
}

impl FloodMeter {
    pub(crate) fn new(now: Instant) -> FloodMeter {
        FloodMeter {
            window_start: now,
            bytes: 0,
            last_window_flooded: false,
        }
    }

    /// Counts `n` bytes read at `now`; returns whether the terminal floods: the current window
    /// already reached the rate, or the previous one did (so the state holds steady across a
    /// window's start).
    pub(crate) fn record(&mut self, n: usize, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.window_start);
        if elapsed >= FLOOD_WINDOW {
            // Windows with no read at all in between flooded by no means.
            self.last_window_flooded = elapsed < 2 * FLOOD_WINDOW && self.bytes >= WINDOW_BYTES;
            self.window_start = now;
            self.bytes = 0;
        }
        self.bytes += n as u64;
        self.last_window_flooded || self.bytes >= WINDOW_BYTES
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_steady_stream_above_the_rate_floods_and_a_pause_ends_it() {
        let t0 = Instant::now();
        let mut m = FloodMeter::new(t0);
        // 4 KiB every millisecond is 4 MiB/s: flooding within the first window.
        let mut flooding_at = None;
        for ms in 0..300u64 {
            let now = t0 + Duration::from_millis(ms);
            if m.record(4096, now) && flooding_at.is_none() {
                flooding_at = Some(ms);
            }
        }
        assert_eq!(flooding_at, Some(25), "100 KiB in, the terminal floods");
        assert!(m.record(4096, t0 + Duration::from_millis(301)));
        // A pause of a second: the next read is not a flood.
        assert!(!m.record(10, t0 + Duration::from_millis(1400)));
    }

    #[test]
    fn interactive_output_never_floods() {
        let t0 = Instant::now();
        let mut m = FloodMeter::new(t0);
        // A TUI redrawing 20 KiB 30 times a second is 600 KiB/s.
        for frame in 0..90u64 {
            let now = t0 + Duration::from_millis(frame * 33);
            assert!(!m.record(20 * 1024, now), "frame {frame}");
        }
    }
}
