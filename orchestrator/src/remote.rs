//! Remotes: other `grove serve` hosts this server talks to on the UI's behalf (issue 21).
//!
//! The transports live here: [`tls`] connects to `https://host:port` with a pinned certificate
//! fingerprint or the system roots, [`ssh`] runs the user's own OpenSSH to forward a local port
//! to a remote Grove listening on its loopback.

pub mod ssh;
pub mod tls;
