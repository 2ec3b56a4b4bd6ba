//! Rule 5 of `grove_pty::flow`: a terminal that no client reads is read at its budget, yet every
//! byte reaches the log in order; a client that reads lifts the budget.

use std::time::{Duration, Instant};

use grove_pty::{ReadBudget, Terminal};

use crate::support::{T, read_to_end, sh};

/// What `seq 1 n` prints with the PTY in raw mode.
fn seq_output(n: u32) -> Vec<u8> {
    (1..=n)
        .map(|i| format!("{i}\n"))
        .collect::<String>()
        .into_bytes()
}

fn budgeted(script: &str, budget: ReadBudget) -> Terminal {
    let mut opts = sh(script);
    opts.flow.unattended = Some(budget);
    Terminal::spawn(opts).unwrap()
}

const KIB: u64 = 1024;
/// One read the reader may make on credit, beyond its tokens.
const ONE_READ: u64 = 64 * KIB;

#[test]
fn an_unattended_flood_is_read_at_the_budget_and_a_reading_client_lifts_it() {
    // 2.7 MB: 10 s at the budget.
    let expected = seq_output(400_000);
    let budget = ReadBudget {
        per_terminal: 256 * KIB,
        overall: 1 << 40,
        burst: 64 * KIB,
    };
    let term = budgeted("stty raw -echo; exec seq 1 400000", budget);
    let started = Instant::now();
    std::thread::sleep(Duration::from_secs(1));
    let end = term.log().end_offset();
    let allowed =
        budget.burst + (started.elapsed().as_secs_f64() * budget.per_terminal as f64) as u64;
    assert!(
        end <= allowed + ONE_READ,
        "{end} bytes read in {:?}, budget {allowed}",
        started.elapsed()
    );
    assert!(end >= 64 * KIB, "the flood still moves: {end} bytes");
    assert!(
        term.exit_status().is_none(),
        "seq waits in write, it is not done"
    );

    // A client that reads: the rest comes at full speed.
    let client = term.log().flow_reader(end);
    let attached = Instant::now();
    assert!(term.wait_exit(T).is_some());
    let rest = attached.elapsed();
    assert!(
        rest < Duration::from_secs(5),
        "the remaining {} bytes took {rest:?}; at the budget they take 10 s",
        expected.len() as u64 - end
    );
    drop(client);
    // Nothing lost, nothing moved: the whole output at its offsets.
    assert_eq!(read_to_end(term.log(), 0, T), expected);
    assert_eq!(term.log().end_offset(), expected.len() as u64);
}

#[test]
fn the_overall_budget_is_shared_by_every_unattended_terminal() {
    let budget = ReadBudget {
        per_terminal: 1 << 30,
        overall: 256 * KIB,
        burst: 64 * KIB,
    };
    let floods: Vec<Terminal> = (0..3)
        .map(|_| budgeted("stty raw -echo; exec yes grove", budget))
        .collect();
    let started = Instant::now();
    std::thread::sleep(Duration::from_secs(1));
    let total: u64 = floods.iter().map(|t| t.log().end_offset()).sum();
    let secs = started.elapsed().as_secs_f64();
    // Each terminal's own bucket and the shared one start full; each may read once on credit.
    let allowed = 4 * budget.burst + (secs * budget.overall as f64) as u64 + 3 * ONE_READ;
    assert!(
        total <= allowed,
        "{total} bytes in {secs:.2} s, budget {allowed}"
    );
    assert!(total >= 64 * KIB, "the floods still move: {total} bytes");
}

#[test]
fn a_saturated_client_that_stopped_reading_does_not_lift_the_budget() {
    let budget = ReadBudget {
        per_terminal: 256 * KIB,
        overall: 1 << 40,
        burst: 64 * KIB,
    };
    let mut opts = sh("stty raw -echo; exec yes grove");
    opts.flow.unattended = Some(budget);
    opts.flow.max_brake = Duration::from_millis(200);
    let term = Terminal::spawn(opts).unwrap();
    // A client whose socket stopped taking data: it brakes for 200 ms, then no longer counts.
    let mut client = term.log().flow_reader(0);
    client.set_stuck(true);
    std::thread::sleep(Duration::from_millis(300));
    let a = term.log().end_offset();
    let started = Instant::now();
    std::thread::sleep(Duration::from_secs(1));
    let grown = term.log().end_offset() - a;
    let allowed = budget.burst
        + (started.elapsed().as_secs_f64() * budget.per_terminal as f64) as u64
        + 2 * ONE_READ;
    assert!(grown <= allowed, "grew {grown} in {:?}", started.elapsed());
    assert!(grown >= 64 * KIB, "the flood still moves: {grown} bytes");
    drop(client);
}
