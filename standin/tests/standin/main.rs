//! The stand-in exercised as its clients will: real HTTP over real sockets (ureq), the real
//! `git` CLI pushing to and cloning from it, and the binary driven through its admin endpoints.

mod api;
mod binary;
mod git;
mod oauth;
mod support;
