//! Remote Grove servers: the list this server keeps, the connection to each, and the transport
//! under it (pinned TLS, or an SSH tunnel through the user's OpenSSH). The relay that hands a
//! remote's API, events and terminal sockets to the UI is in `server::relay`.

pub mod link;
pub mod manager;
pub mod ssh;
pub mod tls;

pub use manager::{RemoteSpec, Remotes};
