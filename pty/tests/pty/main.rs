//! Integration tests for grove-pty: real PTYs, real processes, no stand-ins.

// Test helpers may unwrap: a panic there is a failed test with its location.
#![allow(clippy::unwrap_used)]

mod budget;
mod descendants;
mod flood;
mod io;
mod lifecycle;
mod persistence;
mod screen;
mod snapshot_golden;
mod support;
