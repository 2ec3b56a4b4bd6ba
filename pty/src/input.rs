//! A terminal's input side: one `pty-writer` thread owns the PTY writer and writes, in the order
//! they came, the input the user sends and the screen model's answers to the program's queries.
//!
//! Nobody else ever writes to the PTY, and nobody writes while holding a lock somebody else
//! needs: a program that does not read its input blocks only this thread. Input is bounded
//! ([`INPUT_QUEUE`] bytes queued; [`Input::write`] waits for room beyond that), answers are
//! never waited for (a program that floods queries without reading its input loses answers past
//! [`ANSWER_QUEUE`] bytes, which it cannot read anyway).

use std::collections::VecDeque;
use std::io::Write;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

/// Most input bytes queued for a program that does not read (beyond them, a writer waits).
pub const INPUT_QUEUE: usize = 1024 * 1024;
/// Most answer bytes queued for a program that does not read (beyond them, answers are dropped).
pub const ANSWER_QUEUE: usize = 64 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Input,
    Answer,
}

#[derive(Debug, Default)]
struct Queue {
    items: VecDeque<(Kind, Vec<u8>)>,
    input_bytes: usize,
    answer_bytes: usize,
    /// No more writes: the terminal is being killed, or the PTY refused a write.
    closed: bool,
    /// The thread is to end (the terminal is dropped).
    exit: bool,
    /// The thread has finished (it is not blocked in a write).
    done: bool,
}

#[derive(Debug, Default)]
struct Shared {
    queue: Mutex<Queue>,
    /// Signalled when there is something to write, or room, or the queue closes.
    cond: Condvar,
}

/// Why input could not be queued.
#[derive(Debug, thiserror::Error)]
pub(crate) enum InputError {
    #[error("the terminal no longer takes input")]
    Closed,
}

/// The handle to a terminal's `pty-writer` thread. Cheap to clone (for the screen's responder).
#[derive(Debug, Clone)]
pub(crate) struct Input {
    shared: Arc<Shared>,
}

/// Owns the `pty-writer` thread: dropping it closes the queue and joins the thread unless it is
/// stuck in a write (a process that left the program's group still holds the PTY open without
/// reading), which is then detached.
#[derive(Debug)]
pub(crate) struct Writer {
    input: Input,
    thread: Option<JoinHandle<()>>,
}

impl Writer {
    /// Starts `pty-writer:<name>` writing to `pty`.
    pub(crate) fn start(pty: Box<dyn Write + Send>, name: &str) -> std::io::Result<Writer> {
        let shared = Arc::new(Shared::default());
        let worker = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name(format!("pty-writer:{name}"))
            .spawn(move || {
                // `pty` is dropped when the loop returns, before we report being done: its drop
                // writes too, and may block like any write.
                write_loop(&worker, pty);
                worker.queue.lock().done = true;
                worker.cond.notify_all();
            })?;
        Ok(Writer {
            input: Input { shared },
            thread: Some(thread),
        })
    }

    pub(crate) fn input(&self) -> &Input {
        &self.input
    }
}

impl Input {
    /// Queues input, waiting while more than [`INPUT_QUEUE`] bytes are queued already (one
    /// larger write is taken whole when the queue is empty).
    pub(crate) fn write(&self, bytes: &[u8]) -> Result<(), InputError> {
        self.queue(bytes, true).map(|_| ())
    }

    /// Queues input if that needs no wait; `Ok(false)` (nothing queued) if it would.
    pub(crate) fn try_write(&self, bytes: &[u8]) -> Result<bool, InputError> {
        self.queue(bytes, false)
    }

    fn queue(&self, bytes: &[u8], wait: bool) -> Result<bool, InputError> {
        if bytes.is_empty() {
            return Ok(true);
        }
        let mut q = self.shared.queue.lock();
        while !q.closed && q.input_bytes > 0 && q.input_bytes + bytes.len() > INPUT_QUEUE {
            if !wait {
                return Ok(false);
            }
            self.shared.cond.wait(&mut q);
        }
        if q.closed {
            return Err(InputError::Closed);
        }
        q.input_bytes += bytes.len();
        q.items.push_back((Kind::Input, bytes.to_vec()));
        drop(q);
        self.shared.cond.notify_all();
        Ok(true)
    }

    /// Queues an answer to the program's query; never waits.
    pub(crate) fn answer(&self, bytes: &[u8]) {
        let mut q = self.shared.queue.lock();
        if q.closed {
            return;
        }
        if q.answer_bytes + bytes.len() > ANSWER_QUEUE {
            tracing::debug!(
                len = bytes.len(),
                "dropping an answer: the program has not read its input for a while"
            );
            return;
        }
        q.answer_bytes += bytes.len();
        q.items.push_back((Kind::Answer, bytes.to_vec()));
        drop(q);
        self.shared.cond.notify_all();
    }

    /// Refuses further input and drops what is queued; wakes everyone waiting.
    pub(crate) fn close(&self) {
        let mut q = self.shared.queue.lock();
        close_locked(&mut q);
        drop(q);
        self.shared.cond.notify_all();
    }
}

fn close_locked(q: &mut Queue) {
    q.closed = true;
    q.items.clear();
    q.input_bytes = 0;
    q.answer_bytes = 0;
}

fn write_loop(shared: &Shared, mut pty: Box<dyn Write + Send>) {
    loop {
        let (kind, bytes) = {
            let mut q = shared.queue.lock();
            loop {
                // The thread keeps the PTY writer until the terminal is dropped, not merely
                // killed: dropping portable-pty's writer sends the program a newline and an EOF
                // (to make a reader see the end), which a program still running must not get.
                if q.exit {
                    return;
                }
                if let Some(item) = q.items.pop_front() {
                    break item;
                }
                shared.cond.wait(&mut q);
            }
        };
        // No lock is held here: this is where a program that does not read blocks us.
        let res = pty.write_all(&bytes).and_then(|()| pty.flush());
        let mut q = shared.queue.lock();
        match kind {
            Kind::Input => q.input_bytes = q.input_bytes.saturating_sub(bytes.len()),
            Kind::Answer => q.answer_bytes = q.answer_bytes.saturating_sub(bytes.len()),
        }
        if let Err(err) = res {
            // The program has gone (EIO once the other side of the PTY is closed).
            tracing::debug!(%err, "the terminal's input was refused; dropping the rest");
            close_locked(&mut q);
        }
        drop(q);
        shared.cond.notify_all();
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        let shared = &self.input.shared;
        {
            let mut q = shared.queue.lock();
            close_locked(&mut q);
            q.exit = true;
        }
        shared.cond.notify_all();
        let deadline = Instant::now() + Duration::from_secs(1);
        let mut q = shared.queue.lock();
        while !q.done {
            if shared.cond.wait_until(&mut q, deadline).timed_out() {
                break;
            }
        }
        let done = q.done;
        drop(q);
        if let Some(thread) = self.thread.take() {
            if done {
                let _ = thread.join();
            } else {
                tracing::warn!(
                    "terminal input still blocked after the program ended; detaching its writer"
                );
            }
        }
    }
}
