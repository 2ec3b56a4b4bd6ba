//! A flood (`grove_pty::FLOOD_RATE` or more) is handed on in batches, and on Linux its program
//! gets less of the CPU until it stops; a quiet terminal's output is handed on at once.

use std::time::{Duration, Instant};

use grove_pty::{Chunk, Terminal};

use crate::support::{T, sh};

fn flooding(script: &str) -> Terminal {
    let mut opts = sh(script);
    opts.lower_flood_priority = true;
    Terminal::spawn(opts).unwrap()
}

/// The sizes of the chunks a subscriber that is always waiting gets, until the output ends.
fn chunk_sizes(term: &Terminal) -> Vec<usize> {
    let mut sub = term.subscribe(0);
    let deadline = Instant::now() + T;
    let mut sizes = Vec::new();
    loop {
        assert!(Instant::now() < deadline, "the output did not end");
        match sub.next_blocking(1 << 20, Some(Duration::from_millis(200))) {
            Some(Chunk::Data { bytes, .. }) => sizes.push(bytes.len()),
            Some(Chunk::End) => return sizes,
            Some(Chunk::Truncated { lost_until }) => panic!("truncated to {lost_until}"),
            None => {}
        }
    }
}

#[test]
fn a_flood_reaches_subscribers_in_batches_and_every_byte_arrives() {
    // 4 MiB in writes of 4 KiB half a millisecond apart: 8 MB/s, a flood, yet one the reader
    // drains faster than it comes, so every read finds nothing more waiting.
    let total = 4 << 20;
    let term = flooding(&format!(
        "stty raw -echo; exec python3 -c 'import os, time\nfor _ in range({n}):\n    os.write(1, b\"x\" * 4096)\n    time.sleep(0.0005)'",
        n = total / 4096
    ));
    let sizes = chunk_sizes(&term);
    assert_eq!(sizes.iter().sum::<usize>(), total, "every byte arrives");
    let mut sorted = sizes.clone();
    sorted.sort_unstable();
    let median = sorted[sorted.len() / 2];
    // Announced after every read, each write would reach the waiting subscriber alone (4 KiB);
    // batched, a chunk holds the writes of a few milliseconds.
    assert!(
        median > 4096,
        "median chunk {median} bytes over {} chunks",
        sizes.len()
    );
}

#[test]
fn quiet_output_is_handed_on_at_once() {
    // Lines a tenth of a second apart: no flood, and no line waits for the next one.
    let term = flooding("stty raw -echo; for i in 1 2 3 4 5; do echo line$i; sleep 0.1; done");
    let sizes = chunk_sizes(&term);
    assert_eq!(sizes.len(), 5, "one chunk per line: {sizes:?}");
}

/// The autogroup nice value of `pid`'s session (`/proc/PID/autogroup` reads
/// `/autogroup-N nice V`).
#[cfg(target_os = "linux")]
fn autogroup_nice(pid: u32) -> Option<i32> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/autogroup")).ok()?;
    text.split_whitespace().last()?.parse().ok()
}

#[cfg(target_os = "linux")]
fn wait_nice(pid: u32, want: i32) {
    let deadline = Instant::now() + T;
    loop {
        let nice = autogroup_nice(pid);
        if nice == Some(want) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "autogroup nice of {pid} is {nice:?}, want {want}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[cfg(target_os = "linux")]
#[test]
fn a_flooding_program_gets_less_cpu_until_its_flood_ends() {
    if autogroup_nice(std::process::id()).is_none() {
        // A kernel built without CONFIG_SCHED_AUTOGROUP has no such knob to turn.
        eprintln!("no /proc/self/autogroup: nothing to check on this kernel");
        return;
    }
    // Floods until told to stop (a file appears), then waits quietly for input.
    let dir = tempfile::tempdir().unwrap();
    let stop = dir.path().join("stop");
    let script = format!(
        "stty raw -echo; while [ ! -e '{0}' ]; do head -c 1048576 /dev/zero; done; echo flood-over; read x",
        stop.display()
    );
    let term = flooding(&script);
    let pid = term.pid();
    // Someone reads, as a pane would: the flood runs at full speed.
    let reader = std::thread::spawn({
        let log = std::sync::Arc::clone(term.log());
        move || {
            let mut sub = log.subscribe(0);
            while !matches!(sub.next_blocking(1 << 20, None), Some(Chunk::End) | None) {}
        }
    });
    wait_nice(pid, grove_pty::FLOOD_NICE);
    std::fs::write(&stop, b"").unwrap();
    // Quiet now, blocked in `read`: its share of the CPU comes back without more output.
    crate::support::wait_for(&term, "flood-over", T);
    wait_nice(pid, 0);
    assert!(term.exit_status().is_none(), "still waiting for input");
    drop(term);
    reader.join().unwrap();
}
