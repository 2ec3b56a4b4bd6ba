//! STUB (lead's placeholder until the transport branch lands).
use std::time::Duration;
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint(pub [u8; 32]);
impl Fingerprint {
    pub fn of(_cert_der: &[u8]) -> Fingerprint {
        Fingerprint([0; 32])
    }
}
impl std::fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = self.0.iter().map(|b| format!("{b:02X}")).collect();
        f.write_str(&parts.join(":"))
    }
}
impl std::fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}
impl std::str::FromStr for Fingerprint {
    type Err = String;
    fn from_str(_s: &str) -> Result<Self, String> {
        Err("stub".into())
    }
}
#[derive(Clone, Debug)]
pub enum Trust {
    Pinned(Fingerprint),
    SystemRoots,
}
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("could not resolve {host}")]
    Resolve { host: String },
    #[error("{addr}: {reason}")]
    Unreachable { addr: String, reason: String },
    #[error("{addr}: timed out")]
    Timeout { addr: String },
    #[error("REFUSED: fingerprint {got} is not the pinned {expected}")]
    FingerprintMismatch {
        expected: Fingerprint,
        got: Fingerprint,
    },
    #[error("untrusted {fingerprint}: {reason}")]
    Untrusted {
        fingerprint: Fingerprint,
        reason: String,
    },
    #[error("TLS: {0}")]
    Tls(String),
}
pub type TlsStream = tokio_rustls::client::TlsStream<tokio::net::TcpStream>;
pub async fn connect(
    host: &str,
    _port: u16,
    _trust: &Trust,
    _timeout: Duration,
) -> Result<TlsStream, ConnectError> {
    Err(ConnectError::Resolve { host: host.into() })
}
pub struct Probe {
    pub fingerprint: Fingerprint,
    pub system_trusted: bool,
}
pub async fn probe(host: &str, _port: u16, _timeout: Duration) -> Result<Probe, ConnectError> {
    Err(ConnectError::Resolve { host: host.into() })
}
