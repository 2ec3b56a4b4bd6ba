//! The `grove` command line: `serve`, and a small HTTP client for everything else.

pub mod attach;
pub mod client;
pub mod review;
pub mod serve;
pub mod trust;

use serde::{Deserialize, Serialize};

/// What a running `grove serve` leaves in `<data dir>/server.json` (mode 0600) for the CLI.
#[derive(Debug, Serialize, Deserialize)]
pub struct ServerFile {
    pub url: String,
    pub token: String,
    pub pid: u32,
}
