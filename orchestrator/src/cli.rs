//! The `grove` command line: `serve`, `open`, and a small HTTP client for everything else.

pub mod attach;
pub mod client;
pub mod github;
pub mod remote;
pub mod review;
pub mod serve;
pub mod trust;
pub mod vault;
