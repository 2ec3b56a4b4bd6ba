//! grove-orchestrator: sessions on git worktrees, their terminals, Grove's state, and the
//! HTTP/WebSocket server every UI talks to.
//!
//! # How it works
//!
//! [`Grove`] is the one typed API. It owns the data dir (locked: one process per data dir), the
//! SQLite state (`db`), and a live terminal per terminal: a grove-pty output log that outlives
//! any one run of its program, the running program if any, and a monitor task that follows the
//! log for attention signals, idleness and exit. Git work goes through [`git`] (git2, and the
//! `git` CLI where hooks and the user's config must apply), per-repo settings through
//! `repo_config` (`grove.toml`), applied only once approved (`trust`).
//!
//! The public surface is what the `grove` binary, the desktop shell and the tests need: [`Grove`]
//! and its config, the [`server`], the [`wire`] types, the [`data_dir`] helpers, [`git`] and the
//! [`attention`] scanner; the rest is internal.
//!
//! The [`server`] adapts [`Grove`] to HTTP and WebSockets (axum): blocking calls run on
//! `spawn_blocking`, terminal sockets stream the log from a byte offset with ack-based flow
//! control. The `grove` binary runs the server (`grove serve`) or talks to a running one.
//!
//! After a crash or `kill -9`, [`Grove::open`] lists every session again with its worktree and
//! output; agents are not relaunched silently, each terminal shows it ended with the app.

pub mod attention;
mod ctx;
pub mod data_dir;
mod db;
pub mod error;
pub mod git;
pub mod github;
mod grove;
mod live;
mod monitor;
pub mod remote;
mod repo_config;
pub mod server;
mod trust;
pub mod vault;
pub mod watch;
pub mod wire;

pub use error::GroveError;
pub use grove::{AGENT_PRESETS, Grove, GroveConfig};
