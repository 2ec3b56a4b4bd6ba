//! STUB (lead's placeholder until the transport branch lands).
#[derive(Clone, Debug, PartialEq)]
pub struct SshTarget {
    pub user: Option<String>,
    pub host: String,
    pub port: Option<u16>,
}
impl SshTarget {
    pub fn parse(url: &str) -> Result<SshTarget, String> {
        Err(format!("stub {url}"))
    }
}
#[derive(Clone, Debug, PartialEq)]
pub enum TunnelState {
    Starting,
    Up { local_port: u16 },
    Down { reason: String, kind: TunnelFailure },
}
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TunnelFailure {
    HostKeyUnknown,
    HostKeyChanged,
    AuthFailed,
    Resolve,
    Refused,
    Exited,
}
pub struct Tunnel {
    rx: tokio::sync::watch::Receiver<TunnelState>,
}
impl Tunnel {
    pub fn start(_target: SshTarget, _remote_port: u16) -> Tunnel {
        let (_tx, rx) = tokio::sync::watch::channel(TunnelState::Starting);
        Tunnel { rx }
    }
    pub fn state(&self) -> tokio::sync::watch::Receiver<TunnelState> {
        self.rx.clone()
    }
    pub fn local_port(&self) -> Option<u16> {
        None
    }
}
