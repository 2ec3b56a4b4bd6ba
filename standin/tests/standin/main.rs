//! The stand-in exercised as its clients will: real HTTP over real sockets (ureq), the real
//! `git` CLI pushing to and cloning from it, and the binary driven through its admin endpoints.

// Helpers outside `#[test]` functions unwrap too: a panic in a test is a failed assertion.
#![allow(clippy::unwrap_used)]

mod api;
mod binary;
mod git;
mod oauth;
mod support;
