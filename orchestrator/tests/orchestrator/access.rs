//! The access matrix, over real sockets against the real binary.

use std::process::Command;

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

use crate::support::{Grove, raw, rt};

fn health(g: &Grove, headers: &[(&str, &str)], query: &str) -> u16 {
    raw(
        g.addr,
        "GET",
        &format!("/api/v1/health{query}"),
        headers,
        None,
    )
    .0
}

#[test]
fn http_refusals_and_acceptances() {
    let dir = tempfile::tempdir().unwrap();
    let g = Grove::start(dir.path());
    let host = g.host();
    let auth = format!("Bearer {}", g.token);
    let own = format!("http://{host}");
    let ok = [("Host", host.as_str()), ("Authorization", auth.as_str())];
    assert_eq!(health(&g, &ok, ""), 200);
    assert_eq!(health(&g, &[("Host", &host)], ""), 401, "no token");
    assert_eq!(
        health(&g, &[("Host", &host), ("Authorization", "Bearer 0000")], ""),
        401,
        "wrong token"
    );
    assert_eq!(
        health(&g, &[("Host", &host)], &format!("?token={}", g.token)),
        401,
        "token in query string"
    );
    let with_origin = |o: &str| health(&g, &[ok[0], ok[1], ("Origin", o)], "");
    assert_eq!(with_origin(&own), 200);
    // The desktop webview's origins are allowed only where the desktop app passes them.
    assert_eq!(with_origin("tauri://localhost"), 403);
    assert_eq!(with_origin("http://tauri.localhost"), 403);
    assert_eq!(with_origin("https://evil.example"), 403, "evil Origin");
    assert_eq!(with_origin("null"), 403, "null Origin");
    assert_eq!(
        with_origin("http://tauri.localhost.evil.com"),
        403,
        "look-alike Origin"
    );
    assert_eq!(
        with_origin(&format!("{own}.evil.com")),
        403,
        "look-alike of our own origin"
    );
    let port = g.addr.port();
    for host in [
        format!("evil.example:{port}"),
        format!("127.0.0.1.nip.io:{port}"),
    ] {
        assert_eq!(
            health(&g, &[("Host", &host), ok[1]], ""),
            403,
            "rebinding Host {host}"
        );
    }
    assert_eq!(
        health(&g, &[("Host", &format!("localhost:{port}")), ok[1]], ""),
        200
    );
    // Refusals carry the wire error shape and never echo the token.
    let (status, body) = raw(
        g.addr,
        "GET",
        "/api/v1/repos",
        &[("Host", &host), ("Authorization", "Bearer wrong")],
        None,
    );
    assert_eq!(status, 401);
    assert!(body.contains("\"code\":\"unauthorized\""), "{body}");
    assert!(!body.contains(&g.token));
    // The UI page itself needs no token (a browser cannot send one on navigation) but still
    // checks Host.
    assert_eq!(raw(g.addr, "GET", "/", &[("Host", &host)], None).0, 200);
    assert_eq!(
        raw(g.addr, "GET", "/", &[("Host", "evil.example")], None).0,
        403
    );
}

#[test]
fn old_token_is_refused_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let first = Grove::start(dir.path());
    let old = first.token.clone();
    first.stop();
    let g = Grove::start(dir.path());
    assert_ne!(g.token, old);
    assert!(g.token.len() >= 32, "at least 128 bits");
    let auth = format!("Bearer {old}");
    assert_eq!(
        health(&g, &[("Host", &g.host()), ("Authorization", &auth)], ""),
        401
    );
}

#[cfg(unix)]
#[test]
fn server_file_is_private_and_holds_the_address() {
    #[cfg(unix)]
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let g = Grove::start(dir.path());
    let path = dir.path().join("server.json");
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let file: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(file["url"], g.url.as_str());
    assert_eq!(file["token"], g.token.as_str());
}

#[cfg(unix)]
#[test]
fn token_file_must_be_private() {
    #[cfg(unix)]
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let token_path = dir.path().join("token");
    let token = "f".repeat(40);
    std::fs::write(&token_path, &token).unwrap();
    std::fs::set_permissions(&token_path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_grove"))
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .args(["serve", "--token-file"])
        .arg(&token_path)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("chmod 600"), "{err}");
    std::fs::set_permissions(&token_path, std::fs::Permissions::from_mode(0o600)).unwrap();
    let g = Grove::start_with(
        &dir.path().join("data"),
        &["--token-file", token_path.to_str().unwrap()],
    );
    assert_eq!(g.token, token);
}

#[test]
fn non_loopback_host_without_tls_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_grove"))
        .arg("--data-dir")
        .arg(dir.path())
        .args(["serve", "--host", "0.0.0.0"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("without TLS") && err.contains("--tls-cert"),
        "{err}"
    );
    assert!(
        !dir.path().join("grove.db").exists(),
        "refused before touching state"
    );
}

#[test]
fn websocket_refusals_and_acceptance() {
    let dir = tempfile::tempdir().unwrap();
    let g = Grove::start(dir.path());
    rt().block_on(async {
        let status_of = |req| async move {
            match tokio_tungstenite::connect_async(req).await {
                Ok(_) => 101,
                Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => resp.status().as_u16(),
                Err(e) => panic!("{e}"),
            }
        };
        let url = format!("ws://{}/api/v1/events", g.addr);
        // No token.
        assert_eq!(
            status_of(url.clone().into_client_request().unwrap()).await,
            401
        );
        // Token in the query string only.
        assert_eq!(
            status_of(
                format!("{url}?token={}", g.token)
                    .into_client_request()
                    .unwrap()
            )
            .await,
            401
        );
        // Right token, evil origin.
        let mut req = g.ws_request("/events");
        req.headers_mut()
            .insert("Origin", HeaderValue::from_static("https://evil.example"));
        assert_eq!(status_of(req).await, 403);
        // Right token, allowed origin: accepted with the grove.v1 subprotocol.
        let mut req = g.ws_request("/events");
        let own = format!("http://{}", g.host());
        req.headers_mut()
            .insert("Origin", HeaderValue::from_str(&own).unwrap());
        let (_ws, resp) = tokio_tungstenite::connect_async(req).await.unwrap();
        assert_eq!(
            resp.headers().get("sec-websocket-protocol").unwrap(),
            "grove.v1"
        );
    });
}

#[test]
fn oversize_frame_closes_with_1009() {
    let dir = tempfile::tempdir().unwrap();
    let repo = crate::support::fixture_repo(dir.path(), "repo");
    let g = Grove::start(&dir.path().join("data"));
    let repo_id = g.add_repo(&repo);
    let s = g.create_session(repo_id, "big", "cat");
    rt().block_on(async {
        let (mut ws, _) = tokio_tungstenite::connect_async(
            g.ws_request(&format!("/terminals/{}", s.terminals[0].id)),
        )
        .await
        .unwrap();
        ws.send(Message::Binary(vec![b'x'; 2 * 1024 * 1024].into()))
            .await
            .unwrap();
        let mut code = None;
        while let Some(msg) = ws.next().await {
            match msg {
                Ok(Message::Close(Some(frame))) => {
                    code = Some(u16::from(frame.code));
                    break;
                }
                Ok(_) => continue,
                Err(_) => break,
            }
        }
        assert_eq!(code, Some(1009));
    });
}

#[cfg(unix)]
#[test]
fn tls_serves_https_with_the_given_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = self_signed(dir.path());
    // A key other users can read is refused, naming it and the fix.
    #[cfg(unix)]
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let refused = Command::new(env!("CARGO_BIN_EXE_grove"))
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .args(["serve", "--tls-cert"])
        .arg(&cert)
        .arg("--tls-key")
        .arg(&key)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success(), "{err}");
    assert!(
        err.contains(&key.display().to_string()) && err.contains("chmod 600"),
        "{err}"
    );
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    let (mut child, addr) = serve_tls(dir.path(), &cert, &key);
    let file: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("data/server.json")).unwrap(),
    )
    .unwrap();
    let token = file["token"].as_str().unwrap();
    let auth = format!("Authorization: Bearer {token}");
    let https = format!("https://{addr}/api/v1/health");
    assert_eq!(
        curl(&["--cacert", cert.to_str().unwrap(), "-H", &auth], &https),
        "200"
    );
    assert_eq!(curl(&["--cacert", cert.to_str().unwrap()], &https), "401");
    // Plain HTTP on the TLS port gets no answer.
    assert_ne!(
        curl(&["-H", &auth], &format!("http://{addr}/api/v1/health")),
        "200"
    );
    let _ = child.kill();
    let _ = child.wait();
}

/// A self-signed certificate for 127.0.0.1 and localhost, and its key (mode 0600).
fn self_signed(dir: &std::path::Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let out = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
        ])
        .args([
            "-addext",
            "subjectAltName=IP:127.0.0.1,DNS:localhost",
            "-keyout",
        ])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (cert, key)
}

/// `grove serve` over TLS with the data dir in `dir`; the child and the address it serves.
fn serve_tls(
    dir: &std::path::Path,
    cert: &std::path::Path,
    key: &std::path::Path,
) -> (std::process::Child, String) {
    use std::io::BufRead;
    let mut child = Command::new(env!("CARGO_BIN_EXE_grove"))
        .arg("--data-dir")
        .arg(dir.join("data"))
        .args(["serve", "--tls-cert"])
        .arg(cert)
        .arg("--tls-key")
        .arg(key)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .trim()
        .strip_prefix("Grove is serving at https://")
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("{line}"))
        .to_owned();
    (child, addr)
}

/// Anyone on the network can open a TLS connection without a token: connections stuck in their
/// handshake are capped (more are closed at once) and cut off after the handshake timeout, and
/// the server keeps serving.
#[test]
fn tls_caps_and_times_out_silent_handshakes() {
    use std::io::Read;
    use std::time::{Duration, Instant};
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = self_signed(dir.path());
    let (mut child, addr) = serve_tls(dir.path(), &cert, &key);
    // Connections that never start their handshake.
    let opened = Instant::now();
    let mut silent: Vec<std::net::TcpStream> = (0..64)
        .map(|_| std::net::TcpStream::connect(&addr).unwrap())
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    // One more is closed right away: reading ends at once instead of waiting.
    let mut extra = std::net::TcpStream::connect(&addr).unwrap();
    extra
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let started = Instant::now();
    let mut buf = [0u8; 16];
    // Closed: end of stream or a reset; a read that timed out means the server kept it.
    let closed = |s: &mut std::net::TcpStream, buf: &mut [u8]| match s.read(buf) {
        Ok(n) => n == 0,
        Err(e) => !matches!(
            e.kind(),
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
        ),
    };
    let ended = closed(&mut extra, &mut buf);
    assert!(
        ended && started.elapsed() < Duration::from_secs(4),
        "a connection past the cap was kept open ({:?})",
        started.elapsed()
    );
    // The silent ones are cut off by the handshake timeout (10 s), not kept for ever.
    let first = &mut silent[0];
    first
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let was_closed = closed(first, &mut buf);
    let after = opened.elapsed();
    assert!(
        was_closed && after >= Duration::from_secs(8) && after < Duration::from_secs(19),
        "a silent handshake was closed after {after:?}"
    );
    drop(silent);
    // And the server still serves.
    assert_eq!(
        curl(
            &["--cacert", cert.to_str().unwrap()],
            &format!("https://{addr}/api/v1/health")
        ),
        "401"
    );
    let _ = child.kill();
    let _ = child.wait();
}

/// The HTTP status code curl gets for `url` (empty when it got none).
fn curl(extra: &[&str], url: &str) -> String {
    let out = Command::new("curl")
        .args([
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "--max-time",
            "10",
        ])
        .args(extra)
        .arg(url)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Status line and headers (lower-cased names) of a raw HTTP/1.1 exchange.
fn raw_head(addr: std::net::SocketAddr, request: &str) -> (u16, Vec<(String, String)>) {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut resp = Vec::new();
    s.read_to_end(&mut resp).unwrap();
    let text = String::from_utf8_lossy(&resp).into_owned();
    let head = text.split("\r\n\r\n").next().unwrap_or("");
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    (status, headers)
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

#[test]
fn cors_for_the_desktop_webview_only() {
    let dir = tempfile::tempdir().unwrap();
    // The origins the desktop app passes for its webview.
    let g = Grove::start_with(
        dir.path(),
        &[
            "--allow-origin",
            "tauri://localhost",
            "--allow-origin",
            "http://tauri.localhost",
        ],
    );
    let host = g.host();
    let preflight = |host: &str, origin: &str| {
        raw_head(
            g.addr,
            &format!(
                "OPTIONS /api/v1/repos HTTP/1.1\r\nHost: {host}\r\nOrigin: {origin}\r\n\
                 Access-Control-Request-Method: POST\r\n\
                 Access-Control-Request-Headers: authorization, content-type\r\n\
                 Connection: close\r\n\r\n"
            ),
        )
    };
    // The webview's origins get a preflight answer without a token, echoing that exact origin.
    for origin in ["tauri://localhost", "http://tauri.localhost"] {
        let (status, h) = preflight(&host, origin);
        assert_eq!(status, 204, "{origin}");
        assert_eq!(header(&h, "access-control-allow-origin"), Some(origin));
        assert!(
            header(&h, "access-control-allow-headers").is_some_and(|v| v.contains("authorization"))
        );
        assert_eq!(header(&h, "access-control-allow-credentials"), None);
    }
    // Other origins and hosts are refused before CORS, with no CORS headers.
    for (host, origin) in [
        (host.as_str(), "https://evil.example"),
        (host.as_str(), "null"),
        (host.as_str(), "tauri://localhost.evil"),
        ("evil.example", "tauri://localhost"),
    ] {
        let (status, h) = preflight(host, origin);
        assert_eq!(status, 403, "{host} {origin}");
        assert_eq!(header(&h, "access-control-allow-origin"), None);
    }
    // The actual request still needs the token, and its answer carries the CORS headers.
    let get = |auth: &str| {
        raw_head(
            g.addr,
            &format!(
                "GET /api/v1/repos HTTP/1.1\r\nHost: {host}\r\nOrigin: tauri://localhost\r\n\
                 {auth}Connection: close\r\n\r\n"
            ),
        )
    };
    let (status, h) = get("");
    assert_eq!(status, 401, "no token");
    assert_eq!(
        header(&h, "access-control-allow-origin"),
        Some("tauri://localhost"),
        "the UI must be able to read the refusal"
    );
    let (status, h) = get(&format!("Authorization: Bearer {}\r\n", g.token));
    assert_eq!(status, 200);
    assert_eq!(
        header(&h, "access-control-allow-origin"),
        Some("tauri://localhost")
    );
    // An OPTIONS that is not a preflight is not answered by CORS: it meets the token check.
    let (status, _) = raw_head(
        g.addr,
        &format!(
            "OPTIONS /api/v1/repos HTTP/1.1\r\nHost: {host}\r\nOrigin: tauri://localhost\r\n\
             Connection: close\r\n\r\n"
        ),
    );
    assert_eq!(status, 401);
    // Same-origin and origin-less requests (the CLI) are unchanged: no CORS headers without
    // Origin.
    let (_, h) = raw_head(
        g.addr,
        &format!(
            "GET /api/v1/health HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {}\r\n\
             Connection: close\r\n\r\n",
            g.token
        ),
    );
    assert_eq!(header(&h, "access-control-allow-origin"), None);
}
