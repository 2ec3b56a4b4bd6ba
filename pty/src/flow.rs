//! Flow control: how fast a terminal's program may print, given what its attached clients take.
//!
//! The whole rule lives here; the server's sockets only report what they sent and what their
//! client acknowledged ([`FlowReader`]), and the terminal's reader thread only asks whether it may
//! read on (`OutputLog::wait_for_room`).
//!
//! 1. **Saturation.** A client (a pane's socket, `grove attach`) acknowledges the offset it has
//!    parsed. Once [`HIGH_WATERMARK`] bytes or more that it was sent are unacknowledged it is
//!    *saturated* and gets nothing more until it is back under [`LOW_WATERMARK`] (the scheme of
//!    xterm.js's flow-control guide). A client whose socket is not taking a send is saturated for
//!    as long as that send is stuck.
//! 2. **Brake.** While every registered client is saturated, the PTY reader stops reading: the
//!    kernel's buffer fills and the program blocks in `write`, as with a real terminal that cannot
//!    keep up. One client that keeps up is enough to keep the program going; the others are left
//!    behind and resync from a snapshot when the ring has moved past them.
//! 3. **Bounded brake.** A saturated client brakes for at most [`FlowOptions::max_brake`] (5 s);
//!    after that it no longer counts until it reads again (acknowledges something, or a stuck send
//!    completes). A client that stopped reading — a dead socket, a suspended laptop — therefore
//!    never holds an agent for longer than that.
//! 4. **Lag.** Before appending, the reader also waits rather than overwrite bytes a client that is
//!    *not* saturated has not been handed yet, so a client slower than a flood but moving is
//!    throttled instead of truncated — for at most [`FlowOptions::max_lag`] (2 s) per read, after
//!    which that client gets `Chunk::Truncated`.
//! 5. **Budget.** A terminal that no client is reading — none attached, or every attached one
//!    saturated — needs no more than a person can take in later from its log and screen. When
//!    [`FlowOptions::unattended`] is set (Grove sets it; the library's default is off), such a
//!    terminal is read at most at [`ReadBudget::per_terminal`] bytes/s, and all such terminals of
//!    the process together at most at [`ReadBudget::overall`] bytes/s (token buckets that hold
//!    [`ReadBudget::burst`] bytes, so a short burst — a build's summary, a `cat` of a small
//!    file — passes at full speed). With the bucket empty the reader waits: the program blocks
//!    in `write` like any program whose terminal is not being looked at, and the cores go to the
//!    programs people are typing into. Bytes are only delayed, never dropped: every byte still
//!    reaches the log at its offset. A client that reads (one not saturated) lifts the budget at
//!    once, and from then on the pace is what that client acknowledges (rules 1–4).
//!
//! Nothing here queues bytes: a client is only an offset and a flag, so no client can make memory
//! grow, and none can hold another back.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::log::OutputLog;

/// Unacknowledged bytes from which on a client is saturated.
pub const HIGH_WATERMARK: u64 = 1024 * 1024;
/// Unacknowledged bytes at or below which a saturated client gets output again.
pub const LOW_WATERMARK: u64 = 256 * 1024;

/// Longest time a saturated client holds the program back (rule 3).
pub const DEFAULT_MAX_BRAKE: Duration = Duration::from_secs(5);
/// Longest time the reader waits, per read, for a moving client a whole ring behind (rule 4).
pub const DEFAULT_MAX_LAG: Duration = Duration::from_secs(2);

/// The time limits of a terminal's flow control (see the [module docs](self)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlowOptions {
    /// How long a saturated client that does not read counts as a brake.
    pub max_brake: Duration,
    /// How long the reader waits, per read, before overwriting what a moving client has not
    /// been handed yet.
    pub max_lag: Duration,
    /// How fast a terminal that no client reads is read (rule 5); `None` reads it at full speed.
    pub unattended: Option<ReadBudget>,
}

impl Default for FlowOptions {
    fn default() -> Self {
        FlowOptions {
            max_brake: DEFAULT_MAX_BRAKE,
            max_lag: DEFAULT_MAX_LAG,
            unattended: None,
        }
    }
}

/// Rule 5's rates, in bytes per second, and how much of them may be used at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadBudget {
    /// Most bytes/s read from one terminal that no client reads.
    pub per_terminal: u64,
    /// Most bytes/s read from all such terminals of the process together.
    pub overall: u64,
    /// Bytes each bucket holds: output up to this size passes at full speed.
    pub burst: u64,
}

impl ReadBudget {
    /// What Grove uses: 2 MiB/s per terminal, 8 MiB/s in all, bursts of 1 MiB. Far above what a
    /// build or an agent prints, far below what `yes` or `cat` of a big file can.
    pub const DEFAULT: ReadBudget = ReadBudget {
        per_terminal: 2 * 1024 * 1024,
        overall: 8 * 1024 * 1024,
        burst: 1024 * 1024,
    };
}

/// A token bucket that may run into debt: a read is allowed while it holds any tokens and then
/// charged in full (the reader cannot know a read's size before it is done), and the next read
/// waits until the debt is paid off. So the long-run rate is exact whatever the reads' sizes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Bucket {
    tokens: f64,
    last: Option<Instant>,
}

impl Bucket {
    pub(crate) const fn new() -> Bucket {
        Bucket {
            tokens: 0.0,
            last: None,
        }
    }

    fn refill(&mut self, rate: u64, burst: u64, now: Instant) {
        self.tokens = match self.last {
            // A bucket starts full.
            None => burst as f64,
            Some(last) => {
                let gained = now.saturating_duration_since(last).as_secs_f64() * rate as f64;
                (self.tokens + gained).min(burst as f64)
            }
        };
        self.last = Some(now);
    }

    /// When a read may start: `None` now (the bucket holds tokens), else once it has gained
    /// `quantum` tokens again (at most `burst`), so that a throttled reader wakes for a batch of
    /// reads rather than for every read.
    pub(crate) fn ready_at(
        &mut self,
        rate: u64,
        burst: u64,
        quantum: u64,
        now: Instant,
    ) -> Option<Instant> {
        self.refill(rate, burst, now);
        (self.tokens <= 0.0).then(|| {
            let want = quantum.min(burst) as f64 - self.tokens;
            now + Duration::from_secs_f64(want / rate.max(1) as f64)
        })
    }

    pub(crate) fn charge(&mut self, bytes: usize, rate: u64, burst: u64, now: Instant) {
        self.refill(rate, burst, now);
        self.tokens -= bytes as f64;
    }
}

/// Rule 5's bucket for all the terminals of the process.
static OVERALL: parking_lot::Mutex<Bucket> = parking_lot::const_mutex(Bucket::new());

/// What a throttled reader waits for before it reads again: 64 KiB, one batch of reads.
const QUANTUM: u64 = 64 * 1024;

/// Until when rule 5 holds a terminal's reader back (`None`: read now), given its own bucket.
pub(crate) fn budget_hold(own: &mut Bucket, budget: &ReadBudget, now: Instant) -> Option<Instant> {
    let mine = own.ready_at(budget.per_terminal, budget.burst, QUANTUM, now);
    let all = OVERALL
        .lock()
        .ready_at(budget.overall, budget.burst, QUANTUM, now);
    mine.max(all)
}

/// Charges a read of `bytes` to a terminal's own bucket and the overall one (rule 5).
pub(crate) fn budget_charge(own: &mut Bucket, budget: &ReadBudget, bytes: usize, now: Instant) {
    own.charge(bytes, budget.per_terminal, budget.burst, now);
    OVERALL
        .lock()
        .charge(bytes, budget.overall, budget.burst, now);
}

/// What the log keeps of one client: how far it has been handed the log, and since when it has
/// been saturated without reading.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Slot {
    id: u64,
    position: u64,
    saturated_since: Option<Instant>,
}

/// Every client of one log. Lives in the log's state, under its lock, so that the rule survives
/// restarts of the program.
#[derive(Debug, Default)]
pub(crate) struct Readers {
    slots: Vec<Slot>,
    next_id: u64,
    /// This terminal's rule-5 bucket.
    pub(crate) bucket: Bucket,
}

impl Default for Bucket {
    fn default() -> Self {
        Bucket::new()
    }
}

impl Readers {
    fn add(&mut self, position: u64) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        self.slots.push(Slot {
            id,
            position,
            saturated_since: None,
        });
        id
    }

    fn remove(&mut self, id: u64) {
        self.slots.retain(|s| s.id != id);
    }

    fn update(&mut self, id: u64, position: u64, saturated: bool, progressed: bool, now: Instant) {
        if let Some(slot) = self.slots.iter_mut().find(|s| s.id == id) {
            slot.position = position;
            slot.saturated_since = match (saturated, slot.saturated_since) {
                (false, _) => None,
                // Reading again restarts the brake: a slow client that moves keeps counting.
                (true, Some(_)) if progressed => Some(now),
                (true, Some(since)) => Some(since),
                (true, None) => Some(now),
            };
        }
    }

    /// Whether some client is reading (rule 5): one that is not saturated.
    pub(crate) fn anyone_reading(&self) -> bool {
        self.slots.iter().any(|s| s.saturated_since.is_none())
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.slots.len()
    }

    /// Until when the PTY reader must hold off before appending `want` bytes to a ring of
    /// `capacity` that ends at `end`: `None` when it may read now. `lag_deadline` is when the
    /// current wait for a lagging client (rule 4) gives up.
    pub(crate) fn hold(
        &self,
        end: u64,
        want: usize,
        capacity: usize,
        opts: &FlowOptions,
        now: Instant,
        lag_deadline: Instant,
    ) -> Option<Instant> {
        let brake_ends = |s: &Slot| {
            s.saturated_since
                .map(|since| since + opts.max_brake)
                .filter(|&until| until > now)
        };
        // Rules 2 and 3: every client saturated, and none of them for too long.
        if !self.slots.is_empty() && self.slots.iter().all(|s| brake_ends(s).is_some()) {
            return self.slots.iter().filter_map(brake_ends).min();
        }
        // Rule 4.
        let new_end = end + want as u64;
        let lagging = self.slots.iter().any(|s| {
            s.saturated_since.is_none() && new_end.saturating_sub(s.position) > capacity as u64
        });
        (lagging && now < lag_deadline).then_some(lag_deadline)
    }
}

/// One attached client's share of a log's flow control: the server tells it what the client
/// was sent and what it acknowledged, and asks it whether to send more. Dropping it detaches
/// the client.
#[derive(Debug)]
pub struct FlowReader {
    log: Arc<OutputLog>,
    id: u64,
    sent: u64,
    acked: u64,
    over_watermark: bool,
    stuck: bool,
}

impl FlowReader {
    /// Registers a client that has been handed (and has parsed) the log up to `position`.
    pub fn new(log: &Arc<OutputLog>, position: u64) -> FlowReader {
        let id = log.with_flow(|readers| readers.add(position));
        FlowReader {
            log: Arc::clone(log),
            id,
            sent: position,
            acked: position,
            over_watermark: false,
            stuck: false,
        }
    }

    /// The client has been handed every byte before `offset` (the ring may reuse their space).
    pub fn sent(&mut self, offset: u64) {
        self.sent = self.sent.max(offset);
        if self.sent - self.acked >= HIGH_WATERMARK {
            self.over_watermark = true;
        }
        self.report(false);
    }

    /// The client has parsed every byte before `offset` (clamped to what it was sent).
    pub fn acked(&mut self, offset: u64) {
        let offset = offset.clamp(self.acked, self.sent);
        let progressed = offset > self.acked;
        self.acked = offset;
        if self.over_watermark && self.sent - self.acked <= LOW_WATERMARK {
            self.over_watermark = false;
        }
        self.report(progressed);
    }

    /// The client's stream starts over at `offset` (a snapshot replaced what it missed): bytes
    /// before it were never sent, so they can never be acknowledged.
    pub fn resync(&mut self, offset: u64) {
        self.sent = offset;
        self.acked = offset;
        self.over_watermark = false;
        self.report(true);
    }

    /// A send to the client is taking long (`true`) or has completed (`false`).
    pub fn set_stuck(&mut self, stuck: bool) {
        let completed = self.stuck && !stuck;
        self.stuck = stuck;
        self.report(completed);
    }

    /// Whether the client can take no more for now: send it nothing while this holds.
    pub fn is_saturated(&self) -> bool {
        self.over_watermark || self.stuck
    }

    /// Offset of the first byte the client has not been sent.
    pub fn sent_offset(&self) -> u64 {
        self.sent
    }

    fn report(&self, progressed: bool) {
        let (id, sent, saturated) = (self.id, self.sent, self.is_saturated());
        let now = Instant::now();
        self.log.with_flow(|readers| {
            readers.update(id, sent, saturated, progressed, now);
        });
    }
}

impl Drop for FlowReader {
    fn drop(&mut self) {
        let id = self.id;
        self.log.with_flow(|readers| readers.remove(id));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CAP: usize = 100;

    fn opts() -> FlowOptions {
        FlowOptions {
            max_brake: Duration::from_secs(5),
            max_lag: Duration::from_secs(2),
            unattended: None,
        }
    }

    #[test]
    fn a_bucket_starts_full_runs_into_debt_and_waits_for_a_quantum() {
        let t0 = Instant::now();
        let mut b = Bucket::new();
        // Full: 1,000 tokens at 100/s.
        assert_eq!(b.ready_at(100, 1000, 50, t0), None);
        // A read larger than what is left is allowed, and charged in full.
        b.charge(1200, 100, 1000, t0);
        // 200 of debt plus a quantum of 50: 2.5 s at 100/s.
        assert_eq!(
            b.ready_at(100, 1000, 50, t0),
            Some(t0 + Duration::from_millis(2500))
        );
        // Once anything is in the bucket the reader may read again.
        assert_eq!(
            b.ready_at(100, 1000, 50, t0 + Duration::from_millis(2010)),
            None
        );
        // Time never fills it past its burst.
        b.charge(1, 100, 1000, t0 + Duration::from_secs(3600));
        assert!(b.tokens <= 999.0);
    }

    #[test]
    fn only_a_client_that_is_not_saturated_counts_as_reading() {
        let t0 = Instant::now();
        let mut r = Readers::default();
        assert!(!r.anyone_reading(), "nobody attached");
        let a = r.add(0);
        assert!(r.anyone_reading());
        r.update(a, 0, true, false, t0);
        assert!(!r.anyone_reading(), "saturated");
        r.update(a, 0, false, true, t0);
        assert!(r.anyone_reading());
    }

    #[test]
    fn nobody_attached_never_holds() {
        let now = Instant::now();
        assert_eq!(Readers::default().hold(0, 60, CAP, &opts(), now, now), None);
    }

    #[test]
    fn all_saturated_brake_until_the_first_brake_ends() {
        let t0 = Instant::now();
        let mut r = Readers::default();
        let a = r.add(0);
        let b = r.add(0);
        r.update(a, 0, true, false, t0);
        assert_eq!(r.hold(0, 1, CAP, &opts(), t0, t0), None, "b still reads");
        let t1 = t0 + Duration::from_secs(1);
        r.update(b, 0, true, false, t1);
        let until = t0 + Duration::from_secs(5);
        assert_eq!(r.hold(0, 1, CAP, &opts(), t1, t1), Some(until));
        // Once a's brake has run out the program goes on, although a never read again.
        let later = until + Duration::from_millis(1);
        assert_eq!(r.hold(0, 1, CAP, &opts(), later, later), None);
        // Reading again makes a a brake again.
        r.update(a, 0, true, true, later);
        let t2 = t1 + Duration::from_secs(5);
        assert_eq!(r.hold(0, 1, CAP, &opts(), later, later), Some(t2));
        // Staying saturated without reading does not restart the brake.
        r.update(b, 0, true, false, later);
        assert_eq!(r.hold(0, 1, CAP, &opts(), later, later), Some(t2));
    }

    #[test]
    fn a_moving_client_a_ring_behind_holds_until_the_lag_deadline() {
        let t0 = Instant::now();
        let mut r = Readers::default();
        let a = r.add(0);
        let deadline = t0 + Duration::from_secs(2);
        assert_eq!(r.hold(60, 40, CAP, &opts(), t0, deadline), None, "fits");
        assert_eq!(r.hold(60, 41, CAP, &opts(), t0, deadline), Some(deadline));
        assert_eq!(r.hold(60, 41, CAP, &opts(), deadline, deadline), None);
        r.update(a, 30, false, true, t0);
        assert_eq!(r.hold(60, 60, CAP, &opts(), t0, deadline), None);
        // A saturated client is left behind rather than waited for.
        let b = r.add(0);
        r.update(b, 0, true, false, t0);
        assert_eq!(r.hold(60, 60, CAP, &opts(), t0, deadline), None);
    }

    #[test]
    fn watermarks_and_stuck_sends_saturate() {
        let log = Arc::new(OutputLog::new(CAP));
        let mut f = FlowReader::new(&log, 10);
        f.sent(9 + HIGH_WATERMARK);
        assert!(!f.is_saturated(), "just under the high watermark");
        f.sent(11 + HIGH_WATERMARK);
        assert!(f.is_saturated());
        f.acked(11 + HIGH_WATERMARK - LOW_WATERMARK - 1);
        assert!(f.is_saturated(), "above the low watermark");
        f.acked(11 + HIGH_WATERMARK - LOW_WATERMARK);
        assert!(!f.is_saturated());
        // Acks beyond what was sent are clamped.
        f.acked(u64::MAX);
        f.set_stuck(true);
        assert!(f.is_saturated());
        f.set_stuck(false);
        assert!(!f.is_saturated());
        f.sent(100 + 3 * HIGH_WATERMARK);
        assert!(f.is_saturated());
        f.resync(5 * HIGH_WATERMARK);
        assert!(!f.is_saturated());
        assert_eq!(f.sent_offset(), 5 * HIGH_WATERMARK);
        assert_eq!(log.with_flow(|r| r.len()), 1);
        drop(f);
        assert_eq!(log.with_flow(|r| r.len()), 0);
    }
}
