//! Integration tests for grove-pty: real PTYs, real processes, no stand-ins.

mod io;
mod lifecycle;
mod persistence;
mod support;
