//! The transports under remotes (issue 21): `grove serve --tls-self-signed` reached with a
//! pinned fingerprint over real TLS, and ssh tunnels through a real OpenSSH server.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use grove_orchestrator::remote::tls::{self, ConnectError, Fingerprint, Trust};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::{self, T};

/// A `grove serve --tls-self-signed` child.
struct TlsServer {
    child: Child,
    port: u16,
    fingerprint: Fingerprint,
    /// Kept open: the server's stdout must not be a closed pipe.
    _stdout: BufReader<ChildStdout>,
}

const TOKEN: &str = "remote-transport-test-token-0123456789abcdef";

fn token_file(dir: &Path) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join("token");
    std::fs::write(&path, TOKEN).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    path
}

fn serve_tls(data_dir: &Path, token: &Path) -> TlsServer {
    let mut child = Command::new(env!("CARGO_BIN_EXE_grove"))
        .arg("--data-dir")
        .arg(data_dir)
        .args(["serve", "--tls-self-signed", "--token-file"])
        .arg(token)
        .env("SHELL", "/bin/bash")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    let url = first
        .strip_prefix("Grove is serving at ")
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("unexpected first line: {first:?}"));
    let port: u16 = url
        .strip_prefix("https://127.0.0.1:")
        .unwrap_or_else(|| panic!("not an https URL: {url}"))
        .parse()
        .unwrap();
    let mut second = String::new();
    stdout.read_line(&mut second).unwrap();
    let fingerprint = second
        .trim_end()
        .strip_prefix("TLS certificate fingerprint (SHA-256): ")
        .unwrap_or_else(|| panic!("unexpected second line: {second:?}"))
        .parse()
        .unwrap();
    TlsServer {
        child,
        port,
        fingerprint,
        _stdout: stdout,
    }
}

impl TlsServer {
    fn stop(mut self) {
        self.terminate();
    }

    fn terminate(&mut self) {
        // SAFETY: SIGTERM to our own child.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            self.terminate();
        }
    }
}

/// GET `path` over an established TLS stream (HTTP/1.1, by hand): status and body.
async fn https_get(stream: &mut tls::TlsStream, port: u16, path: &str) -> (u16, String) {
    let req = format!(
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {TOKEN}\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(req.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    // The server may close without close_notify once it has answered: what was read counts.
    let _ = tokio::time::timeout(T, stream.read_to_end(&mut buf))
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&buf).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no HTTP answer: {text:?}"));
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

fn cli(data_dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_grove"))
        .arg("--data-dir")
        .arg(data_dir)
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn self_signed_server_is_pinned_probed_and_kept_across_restarts() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let token = token_file(tmp.path());
    let server = serve_tls(&data, &token);
    let fp = server.fingerprint;
    let port = server.port;
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&data.join("tls/self-signed.key")), 0o600);
        assert_eq!(mode(&data.join("tls")), 0o700);
    }
    let rt = support::rt();
    rt.block_on(async {
        // What the server presents is what it printed; no public root vouches for it.
        let probe = tls::probe("127.0.0.1", port, T).await.unwrap();
        assert_eq!(probe.fingerprint, fp);
        assert!(!probe.system_trusted);

        // Pinned: the API answers over it.
        let mut stream = tls::connect("127.0.0.1", port, &Trust::Pinned(fp), T)
            .await
            .unwrap();
        let (status, body) = https_get(&mut stream, port, "/api/v1/health").await;
        assert_eq!(status, 200, "{body}");
        let health: serde_json::Value =
            serde_json::from_str(body.trim()).unwrap_or_else(|e| panic!("{e}: {body:?}"));
        assert_eq!(health["ok"], true, "{body}");
        // By name too (the certificate names localhost).
        let mut stream = tls::connect("localhost", port, &Trust::Pinned(fp), T)
            .await
            .unwrap();
        assert_eq!(https_get(&mut stream, port, "/api/v1/repos").await.0, 200);

        // Any other pin is refused, loudly, naming both.
        let mut wrong = fp.0;
        wrong[31] ^= 1;
        let wrong = Fingerprint(wrong);
        match tls::connect("127.0.0.1", port, &Trust::Pinned(wrong), T).await {
            Err(ConnectError::FingerprintMismatch { expected, got }) => {
                assert_eq!((expected, got), (wrong, fp));
            }
            other => panic!(
                "expected a fingerprint mismatch, got {:?}",
                other.map(|_| ())
            ),
        }
        // System roots do not know it; the error carries the fingerprint to pin.
        match tls::connect("127.0.0.1", port, &Trust::SystemRoots, T).await {
            Err(e @ ConnectError::Untrusted { fingerprint, .. }) => {
                assert_eq!(fingerprint, fp);
                assert!(e.to_string().contains(&fp.to_string()), "{e}");
            }
            other => panic!("expected untrusted, got {:?}", other.map(|_| ())),
        }
    });

    // The local CLI pins it through the server file.
    let out = cli(&data, &["session", "list"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = cli(&data, &["repo", "list"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // ...and checks the certificate file against the fingerprint the server announced.
    let cert = data.join("tls/self-signed.crt");
    let saved = std::fs::read(&cert).unwrap();
    let other = tempfile::tempdir().unwrap();
    let (other_files, other_fp) =
        grove_orchestrator::server::self_signed::ensure(other.path(), &[]).unwrap();
    assert_ne!(other_fp, fp);
    std::fs::copy(&other_files.cert, &cert).unwrap();
    let out = cli(&data, &["repo", "list"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("is not the certificate the running server uses"),
        "{err}"
    );
    std::fs::write(&cert, saved).unwrap();

    // Restarted: the same certificate, so pins keep working.
    server.stop();
    let server = serve_tls(&data, &token);
    assert_eq!(server.fingerprint, fp);
    rt.block_on(async {
        let mut stream = tls::connect("127.0.0.1", server.port, &Trust::Pinned(fp), T)
            .await
            .unwrap();
        assert_eq!(
            https_get(&mut stream, server.port, "/api/v1/health")
                .await
                .0,
            200
        );
    });
    let out = cli(&data, &["repo", "list"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn connect_failures_say_what_went_wrong() {
    let tmp = tempfile::tempdir().unwrap();
    // Plain HTTP where TLS was expected.
    let plain = support::Grove::start(&tmp.path().join("data"));
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed_port = closed.local_addr().unwrap().port();
    drop(closed);
    support::rt().block_on(async {
        let pin = Trust::Pinned(Fingerprint([7; 32]));
        match tls::connect("127.0.0.1", closed_port, &pin, T).await {
            Err(ConnectError::Unreachable { addr, reason }) => {
                assert_eq!(addr, format!("127.0.0.1:{closed_port}"));
                assert!(reason.contains("refused"), "{reason}");
            }
            other => panic!("expected unreachable, got {:?}", other.map(|_| ())),
        }
        match tls::connect("127.0.0.1", plain.addr.port(), &pin, T).await {
            Err(ConnectError::Tls(_)) => {}
            other => panic!("expected a TLS error, got {:?}", other.map(|_| ())),
        }
        // A listener that never answers the handshake.
        let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = silent.local_addr().unwrap().port();
        let started = Instant::now();
        match tls::connect("127.0.0.1", port, &pin, Duration::from_millis(300)).await {
            Err(ConnectError::Timeout { addr }) => assert_eq!(addr, format!("127.0.0.1:{port}")),
            other => panic!("expected a timeout, got {:?}", other.map(|_| ())),
        }
        assert!(started.elapsed() < Duration::from_secs(5));
    });
}

#[cfg(target_os = "linux")]
mod ssh {
    use std::time::Duration;

    use grove_orchestrator::remote::ssh::{SshTarget, Tunnel, TunnelFailure, TunnelState};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use crate::support::T;
    use crate::support::sshd::{Sshd, descendants};

    /// A TCP echo server on 127.0.0.1; its port.
    async fn echo_server() -> u16 {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let (mut r, mut w) = s.split();
                    let _ = tokio::io::copy(&mut r, &mut w).await;
                });
            }
        });
        port
    }

    async fn wait_for(
        tunnel: &Tunnel,
        what: &str,
        f: impl Fn(&TunnelState) -> bool,
    ) -> TunnelState {
        let mut rx = tunnel.state();
        let got = tokio::time::timeout(T, rx.wait_for(|s| f(s)))
            .await
            .map(|r| r.map(|s| s.clone()));
        match got {
            Ok(Ok(s)) => s,
            _ => panic!(
                "timed out waiting for {what}; state {:?}",
                *tunnel.state().borrow()
            ),
        }
    }

    async fn echo_through(port: u16, text: &str) {
        let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .unwrap();
        s.write_all(text.as_bytes()).await.unwrap();
        let mut buf = vec![0u8; text.len()];
        tokio::time::timeout(T, s.read_exact(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(String::from_utf8(buf).unwrap(), text);
    }

    /// ssh processes below this test process (zombies included).
    fn ssh_children() -> Vec<u32> {
        descendants(std::process::id())
            .into_iter()
            .filter(|p| {
                std::fs::read_to_string(format!("/proc/{p}/comm")).is_ok_and(|c| c.trim() == "ssh")
            })
            .collect()
    }

    #[test]
    fn tunnel_forwards_drops_with_sshd_and_comes_back_by_itself() {
        let mut sshd = Sshd::start();
        let target = SshTarget::parse(&sshd.url()).unwrap();
        crate::support::rt().block_on(async {
            let echo = echo_server().await;
            let tunnel = Tunnel::start_with_program(target, echo, &sshd.wrapper);
            let up = wait_for(&tunnel, "up", |s| matches!(s, TunnelState::Up { .. })).await;
            let TunnelState::Up { local_port } = up else {
                unreachable!()
            };
            assert_eq!(tunnel.local_port(), Some(local_port));
            echo_through(local_port, "through the tunnel\n").await;
            assert_eq!(ssh_children().len(), 1);

            // sshd goes away with its connections: the tunnel is down, not silently dead.
            sshd.stop();
            let down = wait_for(&tunnel, "down", |s| matches!(s, TunnelState::Down { .. })).await;
            let TunnelState::Down { kind, reason } = down else {
                unreachable!()
            };
            assert!(
                matches!(kind, TunnelFailure::Exited | TunnelFailure::Refused),
                "{kind:?}: {reason}"
            );
            assert_eq!(tunnel.local_port(), None);

            // Back on the same port: the tunnel comes up again by itself, on the same local port.
            sshd.start_again();
            let up = wait_for(&tunnel, "up again", |s| matches!(s, TunnelState::Up { .. })).await;
            assert_eq!(
                up,
                TunnelState::Up { local_port },
                "sshd log: {}",
                sshd.log()
            );
            echo_through(local_port, "and again\n").await;

            // Dropped: ssh is killed and reaped.
            drop(tunnel);
            let deadline = tokio::time::Instant::now() + T;
            while !ssh_children().is_empty() {
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "ssh outlived its tunnel: {:?}",
                    ssh_children()
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            assert!(
                tokio::net::TcpStream::connect(("127.0.0.1", local_port))
                    .await
                    .is_err()
            );
        });
        // Nothing was added to the known hosts either.
        let known = std::fs::read_to_string(&sshd.known_hosts).unwrap();
        assert_eq!(known.lines().count(), 1, "{known}");
    }

    #[test]
    fn an_unknown_host_key_is_reported_and_never_accepted() {
        let sshd = Sshd::start();
        let known_hosts = sshd.dir.path().join("empty_known_hosts");
        std::fs::write(&known_hosts, "").unwrap();
        let wrapper = sshd.wrapper_with_known_hosts("ssh_unknown", &known_hosts);
        let target = SshTarget::parse(&sshd.url()).unwrap();
        crate::support::rt().block_on(async {
            let tunnel = Tunnel::start_with_program(target, 9, &wrapper);
            let down = wait_for(&tunnel, "down", |s| matches!(s, TunnelState::Down { .. })).await;
            let TunnelState::Down { kind, reason } = down else {
                unreachable!()
            };
            assert_eq!(kind, TunnelFailure::HostKeyUnknown, "{reason}");
            assert!(
                reason.contains(&format!("ssh -p {} 127.0.0.1", sshd.port)),
                "{reason}"
            );
            assert_eq!(tunnel.local_port(), None);
        });
        assert_eq!(
            std::fs::read_to_string(&known_hosts).unwrap(),
            "",
            "ssh added the host key"
        );
    }
}
