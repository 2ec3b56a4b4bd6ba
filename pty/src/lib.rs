//! grove-pty: one child process in a real PTY plus its replayable output log.
//!
//! # How it works
//!
//! [`Terminal::spawn`] opens a PTY of the requested size (so the program never starts at a wrong
//! size), starts the program as a session leader in it, and starts four named threads:
//!
//! - **`pty-reader:<name>`** blocks in `read` on the PTY master and appends every chunk to the
//!   terminal's [`OutputLog`] exactly as produced (no UTF-8 decoding; see [`utf8`]). Before each
//!   read it asks [`flow`] control whether the attached clients let it go on: while every one of
//!   them is saturated (for at most 5 s each) it stops reading, the kernel buffer fills and the
//!   program blocks on `write`, as with a real terminal.
//! - **`pty-writer:<name>`** owns the PTY's input side: it writes the user's input and the screen
//!   model's answers in order, from a bounded queue, so a program that does not read its input
//!   blocks nothing but this thread.
//! - **`pty-waiter:<name>`** waits for the child to exit and records its [`ExitStatus`].
//! - **`pty-screen:<name>`** feeds the [`Screen`] model, which answers the program's terminal
//!   queries and renders snapshots (see [`screen`]).
//!
//! The [`OutputLog`] is a capped ring in which every byte has a `u64` offset. Readers are
//! [`Subscription`]s, plain cursors into the ring: [`OutputLog::subscribe`]`(n)` yields exactly the
//! bytes from offset `n` on — what the ring holds, then live output — with no gap or duplicate,
//! or a [`Chunk::Truncated`] marker first when `n` is older than the ring. No subscriber can make
//! memory grow, because nothing is queued per subscriber; only registered [`FlowReader`]s can
//! slow the program down, within the limits of [`flow`].
//!
//! Resizes go to the master (`TIOCSWINSZ`, the program gets `SIGWINCH`). Killing or dropping a
//! terminal sends SIGHUP to its whole process group, SIGKILL after a grace period, and reaps the
//! child; then every process that still carries the terminal's environment marker (daemons that
//! left the group with `setsid`) is ended too (see `descendants.rs`). Starting one is all or
//! nothing: a spawn that fails leaves no process behind.
//!
//! Logs can be saved and loaded with their offsets ([`persist`]); a single [`Flusher`] thread
//! batches writes for all terminals (once a second), never once per chunk. A saved log has one
//! [`PersistedLog`] writer for its whole life, which a restarted program continues.
//!
//! Windows: the code compiles with ConPTY through portable-pty, but killing ends only the direct
//! child (a Job Object to take grandchildren along is still to do).

mod descendants;
pub mod flow;
mod input;
mod log;
pub mod persist;
mod process;
pub mod screen;
mod size;
mod terminal;
pub mod utf8;

pub use flow::{FlowOptions, FlowReader, ReadBudget};
pub use input::{ANSWER_QUEUE, INPUT_QUEUE};
pub use log::{Chunk, DEFAULT_CHUNK, DEFAULT_LOG_CAPACITY, OutputLog, Subscription};
pub use persist::{FlushRegistry, Flusher, PersistError, PersistedLog};
pub use process::ExitStatus;
pub use screen::{Screen, ScreenOptions, ScreenView, Snapshot};
pub use size::TerminalSize;
pub use terminal::{
    FLOOD_COALESCE, FLOOD_NICE, FLOOD_RATE, FLOOD_WINDOW, INPUT_GRACE, LogSetting, PersistOptions,
    ScreenSetting, SpawnError, Terminal, TerminalError, TerminalOptions, program_exists,
};
