//! TLS to a remote Grove: rustls with ring, and either a pinned SHA-256 fingerprint of the
//! server's leaf certificate (what `grove serve --tls-self-signed` prints) or Mozilla's root
//! certificates (webpki-roots) for a server with a public certificate.
//!
//! Pinning accepts a server iff its leaf certificate hashes to the pin; the handshake's
//! signatures are still verified (with the ring provider's algorithms), so only the holder of
//! the pinned certificate's key gets through. Names and dates are not checked for a pinned
//! certificate: the pin is the identity.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};
use sha2::{Digest, Sha256};

/// SHA-256 of a certificate's DER.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint(pub [u8; 32]);

impl Fingerprint {
    /// The fingerprint of `cert_der` (a leaf certificate, DER).
    pub fn of(cert_der: &[u8]) -> Fingerprint {
        Fingerprint(Sha256::digest(cert_der).into())
    }
}

impl fmt::Display for Fingerprint {
    /// `AB:CD:…`: uppercase hex pairs joined by `:`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, b) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(":")?;
            }
            write!(f, "{b:02X}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl FromStr for Fingerprint {
    type Err = String;

    /// 64 hex digits, in pairs joined by `:` or not, any case, after an optional `sha256:`.
    fn from_str(s: &str) -> Result<Fingerprint, String> {
        let bad = |why: &str| {
            format!(
                "`{s}` is not a certificate fingerprint ({why}): expected the SHA-256 that `grove serve` prints, 32 hex pairs like AB:CD:EF:… (colons and a `sha256:` prefix optional)"
            )
        };
        let t = s.trim();
        let t = t
            .get(..7)
            .filter(|p| p.eq_ignore_ascii_case("sha256:"))
            .map_or(t, |_| &t[7..]);
        let hex: Vec<u8> = if t.contains(':') {
            let pairs: Vec<&str> = t.split(':').collect();
            if pairs.iter().any(|p| p.len() != 2) {
                return Err(bad("every part between colons must be two hex digits"));
            }
            pairs.concat().into_bytes()
        } else {
            t.as_bytes().to_vec()
        };
        if hex.len() != 64 {
            return Err(bad(&format!("{} hex digits instead of 64", hex.len())));
        }
        let mut out = [0u8; 32];
        for (i, pair) in hex.chunks(2).enumerate() {
            let digit = |c: u8| (c as char).to_digit(16);
            match (digit(pair[0]), digit(pair[1])) {
                (Some(hi), Some(lo)) => out[i] = (hi * 16 + lo) as u8,
                _ => return Err(bad("not hex")),
            }
        }
        Ok(Fingerprint(out))
    }
}

/// How a server's certificate is trusted.
#[derive(Clone, Debug)]
pub enum Trust {
    /// Exactly the certificate with this fingerprint.
    Pinned(Fingerprint),
    /// A certificate for the host name, issued by one of Mozilla's roots (webpki-roots).
    SystemRoots,
}

#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("could not resolve {host}: check the name")]
    Resolve { host: String },
    #[error("could not connect to {addr}: {reason}")]
    Unreachable { addr: String, reason: String },
    #[error(
        "{addr} did not answer in time: check that Grove is running there and the port is open"
    )]
    Timeout { addr: String },
    #[error(
        "REFUSED: the server's TLS certificate changed (expected fingerprint {expected}, got {got}). Someone may be intercepting the connection; if you regenerated it, remove and add the remote again"
    )]
    FingerprintMismatch {
        expected: Fingerprint,
        got: Fingerprint,
    },
    #[error(
        "the server's TLS certificate (fingerprint {fingerprint}) is not trusted: {reason}. If it is Grove's self-signed certificate, add the remote with --fingerprint {fingerprint} after checking it against what `grove serve` printed there"
    )]
    Untrusted {
        fingerprint: Fingerprint,
        reason: String,
    },
    #[error("TLS handshake failed: {0}")]
    Tls(String),
}

pub type TlsStream = tokio_rustls::client::TlsStream<tokio::net::TcpStream>;

/// What a server presents, for trust on first use.
#[derive(Clone, Debug)]
pub struct Probe {
    pub fingerprint: Fingerprint,
    /// Whether the system roots accept it for this host name.
    pub system_trusted: bool,
}

/// Connects to `host:port` and completes a TLS handshake trusting the server by `trust`, all
/// within `timeout`. SNI is `host` (IP addresses work too).
pub async fn connect(
    host: &str,
    port: u16,
    trust: &Trust,
    timeout: Duration,
) -> Result<TlsStream, ConnectError> {
    let verifier = Arc::new(Verifier::new(Mode::from(trust))?);
    let addr = display_addr(host, port);
    tokio::time::timeout(timeout, handshake(host, port, verifier))
        .await
        .map_err(|_| ConnectError::Timeout { addr })?
}

/// Connects to `host:port` and reports the certificate it presents and whether the system roots
/// accept it. Nothing is sent after the handshake.
pub async fn probe(host: &str, port: u16, timeout: Duration) -> Result<Probe, ConnectError> {
    let verifier = Arc::new(Verifier::new(Mode::Probe)?);
    let addr = display_addr(host, port);
    tokio::time::timeout(timeout, handshake(host, port, verifier.clone()))
        .await
        .map_err(|_| ConnectError::Timeout { addr })??;
    let seen = verifier.seen.lock().clone();
    match seen {
        Some(seen) => Ok(Probe {
            fingerprint: seen.fingerprint,
            system_trusted: seen.system_error.is_none(),
        }),
        None => Err(ConnectError::Tls(
            "the server presented no certificate".into(),
        )),
    }
}

fn display_addr(host: &str, port: u16) -> String {
    if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

async fn handshake(
    host: &str,
    port: u16,
    verifier: Arc<Verifier>,
) -> Result<TlsStream, ConnectError> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let name = ServerName::try_from(bare.to_owned())
        .map_err(|_| ConnectError::Resolve { host: host.into() })?;
    let addrs: Vec<_> = tokio::net::lookup_host((bare, port))
        .await
        .map_err(|_| ConnectError::Resolve { host: host.into() })?
        .collect();
    if addrs.is_empty() {
        return Err(ConnectError::Resolve { host: host.into() });
    }
    let mut last = None;
    let mut tcp = None;
    for a in &addrs {
        match tokio::net::TcpStream::connect(a).await {
            Ok(s) => {
                tcp = Some(s);
                break;
            }
            Err(e) => last = Some((a, e)),
        }
    }
    let tcp = match (tcp, last) {
        (Some(s), _) => s,
        (None, Some((a, e))) => {
            return Err(ConnectError::Unreachable {
                addr: a.to_string(),
                reason: io_reason(&e),
            });
        }
        (None, None) => return Err(ConnectError::Resolve { host: host.into() }),
    };
    let _ = tcp.set_nodelay(true);
    let config = rustls::ClientConfig::builder_with_provider(verifier.provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| ConnectError::Tls(e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(verifier.clone())
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    match connector.connect(name, tcp).await {
        Ok(s) => Ok(s),
        Err(e) => Err(verifier.explain(&e)),
    }
}

fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::ConnectionRefused => {
            "connection refused (is Grove running there, on that port?)".into()
        }
        _ => e.to_string(),
    }
}

#[derive(Debug, Clone, Copy)]
enum Mode {
    Pinned(Fingerprint),
    SystemRoots,
    /// Record what is presented, accept it.
    Probe,
}

impl From<&Trust> for Mode {
    fn from(t: &Trust) -> Mode {
        match t {
            Trust::Pinned(f) => Mode::Pinned(*f),
            Trust::SystemRoots => Mode::SystemRoots,
        }
    }
}

#[derive(Debug, Clone)]
struct Seen {
    fingerprint: Fingerprint,
    /// Why the system roots refused it, if they did.
    system_error: Option<rustls::Error>,
}

/// One connection's certificate verifier: remembers what the server presented, so a refusal can
/// be reported with the fingerprint.
#[derive(Debug)]
struct Verifier {
    mode: Mode,
    provider: Arc<CryptoProvider>,
    roots: Option<Arc<WebPkiServerVerifier>>,
    seen: Mutex<Option<Seen>>,
}

impl Verifier {
    fn new(mode: Mode) -> Result<Verifier, ConnectError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let roots = match mode {
            Mode::Pinned(_) => None,
            Mode::SystemRoots | Mode::Probe => {
                let store = RootCertStore {
                    roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
                };
                Some(
                    WebPkiServerVerifier::builder_with_provider(Arc::new(store), provider.clone())
                        .build()
                        .map_err(|e| ConnectError::Tls(e.to_string()))?,
                )
            }
        };
        Ok(Verifier {
            mode,
            provider,
            roots,
            seen: Mutex::new(None),
        })
    }

    /// The error for a failed handshake.
    fn explain(&self, e: &std::io::Error) -> ConnectError {
        let seen = self.seen.lock().clone();
        match (self.mode, seen) {
            (Mode::Pinned(expected), Some(s)) if s.fingerprint != expected => {
                ConnectError::FingerprintMismatch {
                    expected,
                    got: s.fingerprint,
                }
            }
            (
                Mode::SystemRoots,
                Some(Seen {
                    fingerprint,
                    system_error: Some(err),
                }),
            ) => ConnectError::Untrusted {
                fingerprint,
                reason: err.to_string(),
            },
            _ => match e.kind() {
                std::io::ErrorKind::UnexpectedEof | std::io::ErrorKind::ConnectionReset => {
                    ConnectError::Tls(format!(
                        "the server closed the connection during the handshake ({e}): is it a TLS server (https)?"
                    ))
                }
                _ => ConnectError::Tls(e.to_string()),
            },
        }
    }
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let fingerprint = Fingerprint::of(end_entity);
        let system = self.roots.as_ref().map(|roots| {
            roots.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        });
        *self.seen.lock() = Some(Seen {
            fingerprint,
            system_error: system.as_ref().and_then(|r| r.as_ref().err().cloned()),
        });
        match self.mode {
            Mode::Pinned(pin) if pin == fingerprint => Ok(ServerCertVerified::assertion()),
            Mode::Pinned(_) => Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::ApplicationVerificationFailure,
            )),
            Mode::SystemRoots => match system {
                Some(r) => r,
                None => Err(rustls::Error::General("no root store".into())),
            },
            Mode::Probe => Ok(ServerCertVerified::assertion()),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_formats_and_parses_back() {
        let f = Fingerprint::of(b"not really a certificate");
        let text = f.to_string();
        assert_eq!(text.len(), 32 * 3 - 1);
        assert!(
            text.chars()
                .all(|c| c == ':' || c.is_ascii_digit() || c.is_ascii_uppercase())
        );
        assert_eq!(format!("{f:?}"), text);
        assert_eq!(text.parse::<Fingerprint>(), Ok(f));
        assert_eq!(text.to_lowercase().parse::<Fingerprint>(), Ok(f));
        assert_eq!(text.replace(':', "").parse::<Fingerprint>(), Ok(f));
        assert_eq!(format!("sha256:{text}").parse::<Fingerprint>(), Ok(f));
        assert_eq!(
            format!("SHA256:{}", text.to_lowercase()).parse::<Fingerprint>(),
            Ok(f)
        );
        assert_eq!(format!("  {text}\n").parse::<Fingerprint>(), Ok(f));
        // A known value: SHA-256 of the empty string.
        assert_eq!(
            Fingerprint::of(b"").to_string(),
            "E3:B0:C4:42:98:FC:1C:14:9A:FB:F4:C8:99:6F:B9:24:27:AE:41:E4:64:9B:93:4C:A4:95:99:1B:78:52:B8:55"
        );
    }

    #[test]
    fn bad_fingerprints_are_refused_with_the_expected_form() {
        let good = Fingerprint::of(b"x").to_string();
        for bad in [
            "",
            "sha256:",
            "AB:CD",
            &good[..good.len() - 3],
            &format!("{good}:00"),
            &good.replace(':', "-"),
            &format!("ZZ{}", &good[2..]),
            &good.replacen(':', "", 1),
            "md5:00",
        ] {
            let err = bad.parse::<Fingerprint>().unwrap_err();
            assert!(err.contains("32 hex pairs"), "{bad:?}: {err}");
        }
    }

    #[test]
    fn errors_read_as_advice() {
        let a = Fingerprint([1; 32]);
        let b = Fingerprint([2; 32]);
        let text = ConnectError::FingerprintMismatch {
            expected: a,
            got: b,
        }
        .to_string();
        assert!(text.starts_with("REFUSED"), "{text}");
        assert!(text.contains(&a.to_string()) && text.contains(&b.to_string()));
        assert!(text.contains("remove and add the remote again"));
        assert_eq!(
            ConnectError::Resolve {
                host: "nowhere.invalid".into()
            }
            .to_string(),
            "could not resolve nowhere.invalid: check the name"
        );
    }
}
