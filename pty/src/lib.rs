//! grove-pty: one child process in a real PTY plus its replayable output log.
//!
//! # How it works
//!
//! [`Terminal::spawn`] opens a PTY of the requested size (so the program never starts at a wrong
//! size), starts the program as a session leader in it, and starts two named threads:
//!
//! - **`pty-reader:<name>`** blocks in `read` on the PTY master and appends every chunk to the
//!   terminal's [`OutputLog`] exactly as produced (no UTF-8 decoding; see [`utf8`]). When the
//!   server says every consumer is saturated ([`Terminal::set_reading_paused`]) it stops reading,
//!   the kernel buffer fills and the program blocks on `write`, as with a real terminal.
//! - **`pty-waiter:<name>`** waits for the child to exit and records its [`ExitStatus`].
//!
//! The [`OutputLog`] is a capped ring in which every byte has a `u64` offset. Readers are
//! [`Subscription`]s, plain cursors into the ring: [`OutputLog::subscribe`]`(n)` yields exactly the
//! bytes from offset `n` on — what the ring holds, then live output — with no gap or duplicate,
//! or a [`Chunk::Truncated`] marker first when `n` is older than the ring. No subscriber can block
//! the reader or make memory grow, because nothing is queued per subscriber.
//!
//! Input goes straight to the PTY writer ([`Terminal::write_input`]); resizes go to the master
//! (`TIOCSWINSZ`, the program gets `SIGWINCH`). Killing or dropping a terminal sends SIGHUP to
//! its whole process group, SIGKILL after a grace period, and reaps the child; then every
//! process that still carries the terminal's environment marker (daemons that left the group
//! with `setsid`) is ended too (see `descendants.rs`).
//!
//! Logs can be saved and loaded with their offsets ([`persist`]); a single [`Flusher`] thread
//! batches writes for all terminals (once a second), never once per chunk.
//!
//! Windows: the code compiles with ConPTY through portable-pty, but killing ends only the direct
//! child (a Job Object to take grandchildren along is still to do).

mod descendants;
mod log;
pub mod persist;
mod process;
pub mod screen;
mod terminal;
pub mod utf8;

pub use log::{Chunk, DEFAULT_CHUNK, DEFAULT_LOG_CAPACITY, FlowReader, OutputLog, Subscription};
pub use persist::{FlushRegistry, Flusher, PersistError, PersistedLog};
pub use process::ExitStatus;
pub use screen::{Screen, ScreenOptions, Snapshot};
pub use terminal::{
    PersistOptions, ScreenSetting, SpawnError, Terminal, TerminalError, TerminalOptions,
    TerminalSize, program_exists,
};
