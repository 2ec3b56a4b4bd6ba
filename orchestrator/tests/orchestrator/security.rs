//! The security suite: each attack from the threat list tried against the real `grove` binary,
//! real repos and real sockets, and each refused. One file per area.

// File modes (0600/0700) and symlinks: unix only.
#[cfg(unix)]
mod files;
mod git;
mod terminals;
mod trust;
