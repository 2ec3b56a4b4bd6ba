//! The output log: a capped ring of bytes in which every byte has a monotonically increasing
//! `u64` offset, and the subscriptions that read it.
//!
//! The log never waits for a reader. Each [`Subscription`] is just a cursor (an offset) into the
//! shared ring, so a subscriber that falls behind costs nothing: when the writer has overwritten
//! the bytes at its cursor, its next read yields [`Chunk::Truncated`] and continues from the
//! oldest byte still held. Memory is bounded by the ring's capacity however many subscribers there
//! are and however slow they read.

use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex, MutexGuard};
use tokio::sync::Notify;

use crate::flow::{FlowOptions, FlowReader, Readers, budget_charge, budget_hold};

/// Default capacity of an output log: 8 MiB.
pub const DEFAULT_LOG_CAPACITY: usize = 8 * 1024 * 1024;

/// Largest chunk a subscription hands out by default: one WebSocket frame's worth.
pub const DEFAULT_CHUNK: usize = 64 * 1024;

/// What a subscription yields next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Chunk {
    /// Bytes exactly as the PTY produced them; `offset` is the offset of `bytes[0]`.
    Data { offset: u64, bytes: Vec<u8> },
    /// The bytes before `lost_until` are gone from the ring; the stream continues there.
    Truncated { lost_until: u64 },
    /// The terminal's reader finished (the PTY closed) and every byte has been yielded.
    End,
}

/// The ring itself. Offsets map to indices as `(offset - base) % capacity`, where `base` is the
/// offset stored at index 0. Until the ring is full it grows (so an idle terminal with little
/// output costs little memory); from then on it overwrites its oldest bytes.
#[derive(Debug)]
struct Ring {
    buf: Vec<u8>,
    capacity: usize,
    base: u64,
    start: u64,
    end: u64,
}

impl Ring {
    fn new(capacity: usize, start: u64) -> Self {
        Ring {
            buf: Vec::new(),
            capacity: capacity.max(1),
            base: start,
            start,
            end: start,
        }
    }

    fn append(&mut self, mut data: &[u8]) {
        let cap = self.capacity;
        if data.len() >= cap {
            // Everything the ring held is overwritten; keep only the newest `cap` bytes.
            let skip = data.len() - cap;
            data = &data[skip..];
            self.end += skip as u64;
            self.buf.clear();
            self.buf.extend_from_slice(data);
            self.base = self.end;
            self.start = self.end;
            self.end += cap as u64;
            return;
        }
        while !data.is_empty() {
            if self.buf.len() < cap {
                let n = (cap - self.buf.len()).min(data.len());
                // Grow geometrically but never past the capacity.
                let want = (self.buf.len() + n).max(self.buf.capacity() * 2).min(cap);
                if want > self.buf.capacity() {
                    self.buf.reserve_exact(want - self.buf.len());
                }
                self.buf.extend_from_slice(&data[..n]);
                self.end += n as u64;
                data = &data[n..];
            } else {
                let idx = self.index(self.end);
                let n = (cap - idx).min(data.len());
                self.buf[idx..idx + n].copy_from_slice(&data[..n]);
                self.end += n as u64;
                data = &data[n..];
            }
        }
        self.start = self.start.max(self.end.saturating_sub(cap as u64));
    }

    fn index(&self, offset: u64) -> usize {
        // The result is < capacity, which is a usize.
        ((offset - self.base) % self.capacity as u64) as usize
    }

    /// Copies up to `max` bytes starting at `offset` (which must be within `start..=end`).
    fn copy_out(&self, offset: u64, max: usize, out: &mut Vec<u8>) -> usize {
        let avail = (self.end - offset).min(max as u64) as usize;
        if avail == 0 {
            return 0;
        }
        let idx = self.index(offset);
        let first = avail.min(self.buf.len() - idx);
        out.extend_from_slice(&self.buf[idx..idx + first]);
        if first < avail {
            out.extend_from_slice(&self.buf[..avail - first]);
        }
        avail
    }
}

#[derive(Debug)]
struct State {
    ring: Ring,
    closed: bool,
    /// Threads blocked in [`Subscription::next_blocking`] or [`OutputLog::wait_for_room`]; the
    /// writer and the flow readers only pay for a condvar wake-up when somebody is waiting.
    blocked: usize,
    /// The attached clients' flow control (see [`crate::flow`]).
    flow: Readers,
}

/// A capped ring of PTY output with byte offsets. Shared (`Arc`) between the terminal's reader
/// thread, which appends, and any number of subscriptions.
#[derive(Debug)]
pub struct OutputLog {
    state: Mutex<State>,
    cond: Condvar,
    notify: Notify,
}

impl OutputLog {
    /// An empty log whose first byte will get offset 0.
    pub fn new(capacity: usize) -> Self {
        Self::starting_at(capacity, 0)
    }

    /// An empty log whose first byte will get offset `start`; used when a log continues one that
    /// was saved to disk.
    pub fn starting_at(capacity: usize, start: u64) -> Self {
        OutputLog {
            state: Mutex::new(State {
                ring: Ring::new(capacity, start),
                closed: false,
                blocked: 0,
                flow: Readers::default(),
            }),
            cond: Condvar::new(),
            notify: Notify::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock()
    }

    /// The ring's capacity in bytes.
    pub fn capacity(&self) -> usize {
        self.lock().ring.capacity
    }

    /// Offset of the oldest byte the ring still holds.
    pub fn start_offset(&self) -> u64 {
        self.lock().ring.start
    }

    /// Offset the next byte will get (= total bytes ever written, counting from the log's origin).
    pub fn end_offset(&self) -> u64 {
        self.lock().ring.end
    }

    /// `(start, end)` read atomically.
    pub fn bounds(&self) -> (u64, u64) {
        let st = self.lock();
        (st.ring.start, st.ring.end)
    }

    /// Whether the writer has finished (the PTY closed).
    pub fn is_closed(&self) -> bool {
        self.lock().closed
    }

    /// Appends bytes and wakes subscribers. Called by the terminal's reader thread; public so
    /// that tests and restored logs can be fed directly.
    pub fn append(&self, data: &[u8]) {
        self.append_quietly(data);
        self.wake();
    }

    /// Appends without waking subscribers; the writer calls [`OutputLog::wake`] once a batch is
    /// complete (batching wake-ups is most of the cost of a flood).
    pub(crate) fn append_quietly(&self, data: &[u8]) {
        if !data.is_empty() {
            self.lock().ring.append(data);
        }
    }

    /// Wakes every subscriber waiting for output.
    pub(crate) fn wake(&self) {
        let wake_blocked = self.lock().blocked > 0;
        if wake_blocked {
            self.cond.notify_all();
        }
        self.notify.notify_waiters();
    }

    /// Marks the log finished: subscriptions yield [`Chunk::End`] once they have read everything.
    pub fn close(&self) {
        self.lock().closed = true;
        self.cond.notify_all();
        self.notify.notify_waiters();
    }

    /// Re-opens a closed log so that a restarted program continues it with increasing offsets.
    pub fn reopen(&self) {
        self.lock().closed = false;
    }

    /// Copies the bytes in `from..end` (clamped to what the ring holds) into `out`; returns the
    /// offset of the first byte copied.
    pub fn copy_range(&self, from: u64, max: usize, out: &mut Vec<u8>) -> u64 {
        let st = self.lock();
        let from = from.clamp(st.ring.start, st.ring.end);
        st.ring.copy_out(from, max, out);
        from
    }

    /// Registers a flow-controlled reader (an attached client) that has been handed the log up
    /// to `position`. See [`crate::flow`] for what it holds back.
    pub fn flow_reader(self: &Arc<Self>, position: u64) -> FlowReader {
        FlowReader::new(self, position)
    }

    /// Runs `f` on the flow-control state and wakes the PTY reader if it waits on it.
    pub(crate) fn with_flow<R>(&self, f: impl FnOnce(&mut Readers) -> R) -> R {
        let (r, wake) = {
            let mut st = self.lock();
            let r = f(&mut st.flow);
            (r, st.blocked > 0)
        };
        if wake {
            self.cond.notify_all();
        }
        r
    }

    /// For the terminal's reader thread, before it reads up to `want` more bytes: waits for as
    /// long as flow control holds the program back (see [`crate::flow`]). `stop` is polled so
    /// that a terminal being closed never stays blocked here.
    pub(crate) fn wait_for_room(&self, want: usize, opts: &FlowOptions, stop: impl Fn() -> bool) {
        let lag_deadline = Instant::now() + opts.max_lag;
        let mut woke = false;
        let mut st = self.lock();
        loop {
            let now = Instant::now();
            let (end, capacity) = (st.ring.end, st.ring.capacity);
            let until = match st.flow.hold(end, want, capacity, opts, now, lag_deadline) {
                Some(until) => until,
                // Rule 5, for a terminal no client is reading.
                None => match opts.unattended.filter(|_| !st.flow.anyone_reading()) {
                    None => return,
                    Some(budget) => match budget_hold(&mut st.flow.bucket, &budget, now) {
                        None => return,
                        Some(until) => until,
                    },
                },
            };
            if stop() {
                return;
            }
            if !woke {
                // The readers we wait for may be asleep on output appended quietly: wake them.
                self.cond.notify_all();
                self.notify.notify_waiters();
                woke = true;
            }
            st.blocked += 1;
            // Poll `stop` now and then; progress of a reader wakes us sooner.
            let timeout = until
                .saturating_duration_since(now)
                .min(Duration::from_millis(50));
            self.cond.wait_for(&mut st, timeout);
            st.blocked -= 1;
        }
    }

    /// For the terminal's reader thread, after it read `bytes`: charges them to rule 5's buckets
    /// when no client is reading (see [`crate::flow`]).
    pub(crate) fn charge_read(&self, bytes: usize, opts: &FlowOptions) {
        let Some(budget) = opts.unattended else {
            return;
        };
        let mut st = self.lock();
        if !st.flow.anyone_reading() {
            budget_charge(&mut st.flow.bucket, &budget, bytes, Instant::now());
        }
    }

    /// A cursor that yields exactly the bytes from offset `from` on: first what the ring still
    /// holds, then live output, with no gap and no duplicate. `from` is the number of bytes the
    /// caller has already seen (the offset of the next byte it wants). An offset older than the
    /// ring's start first yields [`Chunk::Truncated`]; an offset past the end is clamped to the end.
    pub fn subscribe(self: &Arc<Self>, from: u64) -> Subscription {
        let end = self.end_offset();
        Subscription {
            log: Arc::clone(self),
            next: from.min(end),
        }
    }

    /// One step of a subscription; `None` when there is nothing yet.
    fn poll(&self, next: &mut u64, max: usize) -> Option<Chunk> {
        let st = self.lock();
        Self::poll_locked(&st, next, max)
    }

    fn poll_locked(st: &State, next: &mut u64, max: usize) -> Option<Chunk> {
        if *next < st.ring.start {
            let lost_until = st.ring.start;
            *next = lost_until;
            return Some(Chunk::Truncated { lost_until });
        }
        if *next < st.ring.end {
            let mut bytes = Vec::with_capacity(max.min((st.ring.end - *next) as usize));
            let offset = *next;
            let n = st.ring.copy_out(offset, max.max(1), &mut bytes);
            *next += n as u64;
            return Some(Chunk::Data { offset, bytes });
        }
        st.closed.then_some(Chunk::End)
    }
}

/// A reader's cursor into an [`OutputLog`]. Cheap: holds an `Arc` and an offset; never buffers.
#[derive(Debug)]
pub struct Subscription {
    log: Arc<OutputLog>,
    next: u64,
}

impl Subscription {
    /// The offset of the next byte this subscription will yield.
    pub fn next_offset(&self) -> u64 {
        self.next
    }

    /// The log this subscription reads.
    pub fn log(&self) -> &Arc<OutputLog> {
        &self.log
    }

    /// The next chunk if one is ready, without waiting.
    pub fn try_next(&mut self, max: usize) -> Option<Chunk> {
        self.log.poll(&mut self.next, max)
    }

    /// Waits up to `timeout` (forever with `None`) for the next chunk.
    pub fn next_blocking(&mut self, max: usize, timeout: Option<Duration>) -> Option<Chunk> {
        let deadline = timeout.map(|t| Instant::now() + t);
        let mut st = self.log.lock();
        loop {
            if let Some(chunk) = OutputLog::poll_locked(&st, &mut self.next, max) {
                return Some(chunk);
            }
            match deadline {
                None => {
                    st.blocked += 1;
                    self.log.cond.wait(&mut st);
                }
                Some(deadline) => {
                    let now = Instant::now();
                    if now >= deadline {
                        return None;
                    }
                    st.blocked += 1;
                    self.log.cond.wait_for(&mut st, deadline - now);
                }
            }
            st.blocked -= 1;
        }
    }

    /// Waits for the next chunk (async). Cancel-safe: dropping the future loses nothing.
    pub async fn next(&mut self, max: usize) -> Chunk {
        loop {
            let mut notified = std::pin::pin!(self.log.notify.notified());
            // Register before checking, so an append between the check and the await still
            // wakes us (`notify_waiters` only wakes registered waiters).
            notified.as_mut().enable();
            if let Some(chunk) = self.log.poll(&mut self.next, max) {
                return chunk;
            }
            notified.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn drain(sub: &mut Subscription) -> (Vec<u8>, Vec<u64>) {
        let mut out = Vec::new();
        let mut truncs = Vec::new();
        while let Some(c) = sub.try_next(7) {
            match c {
                Chunk::Data { offset, bytes } => {
                    assert_eq!(offset, sub.next_offset() - bytes.len() as u64);
                    out.extend(bytes)
                }
                Chunk::Truncated { lost_until } => truncs.push(lost_until),
                Chunk::End => break,
            }
        }
        (out, truncs)
    }

    #[test]
    fn grows_then_wraps() {
        let log = Arc::new(OutputLog::new(10));
        log.append(b"hello");
        assert_eq!(log.bounds(), (0, 5));
        log.append(b" world!");
        assert_eq!(log.bounds(), (2, 12));
        let mut sub = log.subscribe(2);
        assert_eq!(drain(&mut sub).0, b"llo world!");
        log.append(b"abc");
        assert_eq!(drain(&mut sub).0, b"abc");
        assert_eq!(log.lock().ring.buf.len(), 10);
    }

    #[test]
    fn oversized_append_keeps_newest() {
        let log = Arc::new(OutputLog::new(4));
        log.append(b"ab");
        log.append(b"0123456789");
        assert_eq!(log.bounds(), (8, 12));
        let mut sub = log.subscribe(0);
        let (bytes, truncs) = drain(&mut sub);
        assert_eq!(truncs, vec![8]);
        assert_eq!(bytes, b"6789");
        log.append(b"xy");
        assert_eq!(drain(&mut sub).0, b"xy");
    }

    #[test]
    fn truncation_marker_then_continues() {
        let log = Arc::new(OutputLog::new(8));
        let mut sub = log.subscribe(0);
        log.append(b"0123456789abcdef");
        assert_eq!(sub.try_next(100), Some(Chunk::Truncated { lost_until: 8 }));
        assert_eq!(
            sub.try_next(100),
            Some(Chunk::Data {
                offset: 8,
                bytes: b"89abcdef".to_vec()
            })
        );
        assert_eq!(sub.try_next(100), None);
        log.close();
        assert_eq!(sub.try_next(100), Some(Chunk::End));
    }

    #[test]
    fn future_offset_is_clamped() {
        let log = Arc::new(OutputLog::new(8));
        log.append(b"abc");
        let mut sub = log.subscribe(99);
        assert_eq!(sub.next_offset(), 3);
        assert_eq!(sub.try_next(10), None);
    }

    #[test]
    fn blocking_wait_wakes_on_append() {
        let log = Arc::new(OutputLog::new(64));
        let mut sub = log.subscribe(0);
        let writer = Arc::clone(&log);
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            writer.append(b"late");
        });
        let c = sub.next_blocking(64, Some(Duration::from_secs(5)));
        assert_eq!(
            c,
            Some(Chunk::Data {
                offset: 0,
                bytes: b"late".to_vec()
            })
        );
        assert_eq!(sub.next_blocking(64, Some(Duration::from_millis(10))), None);
        t.join().unwrap();
    }

    #[test]
    fn flow_readers_hold_the_writer_back() {
        let log = Arc::new(OutputLog::new(100));
        let never = || false;
        let opts = |lag_ms, brake_ms| FlowOptions {
            max_lag: Duration::from_millis(lag_ms),
            max_brake: Duration::from_millis(brake_ms),
            unattended: None,
        };
        // Nobody registered: never waits.
        log.wait_for_room(60, &opts(5000, 5000), never);
        log.append(&[0; 60]);
        let mut reader = log.flow_reader(0);
        // 60 + 60 > 100 would overrun the active reader: waits until the lag deadline.
        let t = Instant::now();
        log.wait_for_room(60, &opts(120, 5000), never);
        assert!(t.elapsed() >= Duration::from_millis(100));
        // Once it has been handed enough, no wait.
        reader.sent(30);
        reader.acked(30);
        let t = Instant::now();
        log.wait_for_room(60, &opts(5000, 5000), never);
        assert!(t.elapsed() < Duration::from_secs(1));
        // A saturated reader brakes until it is no longer saturated...
        reader.set_stuck(true);
        let other = Arc::clone(&log);
        let waiter = std::thread::spawn(move || {
            let t = Instant::now();
            other.wait_for_room(1, &opts(5000, 5000), || false);
            t.elapsed()
        });
        std::thread::sleep(Duration::from_millis(150));
        reader.set_stuck(false);
        let waited = waiter.join().unwrap();
        assert!(
            waited >= Duration::from_millis(100) && waited < Duration::from_secs(4),
            "{waited:?}"
        );
        // ...or until its brake runs out.
        reader.set_stuck(true);
        let t = Instant::now();
        log.wait_for_room(1, &opts(5000, 200), never);
        let waited = t.elapsed();
        assert!(
            waited >= Duration::from_millis(150) && waited < Duration::from_secs(4),
            "{waited:?}"
        );
        // Dropping the registration releases the writer too; `stop` always does.
        drop(reader);
        assert_eq!(log.lock().flow.len(), 0);
        let mut blocked = log.flow_reader(0);
        blocked.set_stuck(true);
        log.wait_for_room(1, &opts(5000, 5000), || true);
    }

    proptest::proptest! {
        #[test]
        fn ring_matches_model(cap in 1usize..64, writes in proptest::collection::vec(proptest::collection::vec(0u8..=255, 0..80), 0..40), from in 0u64..2000) {
            let log = Arc::new(OutputLog::new(cap));
            let mut all = Vec::new();
            for w in &writes { log.append(w); all.extend_from_slice(w); }
            let (start, end) = log.bounds();
            proptest::prop_assert_eq!(end, all.len() as u64);
            proptest::prop_assert_eq!(start, all.len().saturating_sub(cap) as u64);
            let mut sub = log.subscribe(from);
            let (bytes, truncs) = drain(&mut sub);
            let from = from.min(end);
            if from < start {
                proptest::prop_assert_eq!(truncs, vec![start]);
                proptest::prop_assert_eq!(&bytes[..], &all[start as usize..]);
            } else {
                proptest::prop_assert!(truncs.is_empty());
                proptest::prop_assert_eq!(&bytes[..], &all[from as usize..]);
            }
        }
    }
}
