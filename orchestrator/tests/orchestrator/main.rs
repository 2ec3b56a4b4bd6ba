//! Integration tests for grove-orchestrator: the real `grove` binary, real git repos and
//! worktrees in temp dirs, real PTYs, real sockets.

// Test helpers may unwrap: a panic there is a failed test with its location.
#![allow(clippy::unwrap_used)]

mod access;
mod cli;
mod restore;
mod review;
mod security;
mod sessions;
mod shutdown;
mod streaming;
mod support;
mod watch;
mod wire_types;
