//! Integration tests for grove-orchestrator: the real `grove` binary, real git repos and
//! worktrees in temp dirs, real PTYs, real sockets.

// Test helpers may unwrap: a panic there is a failed test with its location.
#![allow(clippy::unwrap_used)]
// Many tests check unix modes, symlinks and signals and are compiled on unix only; elsewhere the
// helpers only they use are unused.
#![cfg_attr(not(unix), allow(dead_code, unused_imports))]

mod access;
mod cli;
// File modes and signals on unix; the ssh half needs sshd and /proc (Linux).
#[cfg(unix)]
mod remote_transport;
// A git wrapper script on PATH and file modes: unix only.
#[cfg(unix)]
mod github;
// Token files with unix modes and SIGTERM.
#[cfg(unix)]
mod remotes;
mod restore;
mod review;
mod security;
mod sessions;
mod shutdown;
mod streaming;
mod support;
// File modes, /proc and a private D-Bus: unix only.
#[cfg(unix)]
mod vault;
mod watch;
mod wire_types;
