//! Who may talk to the server. An open local terminal server is a remote shell for any web page
//! the user visits, so every request passes three checks, in this order:
//!
//! 1. **Host** (403): `localhost`, `127.0.0.1`, `[::1]` or a configured name — defeats DNS
//!    rebinding, where `evil.example` resolves to 127.0.0.1.
//! 2. **Origin** (403), when present: exact match against the server's own origins and the
//!    configured extras (the desktop app passes its webview's, `tauri://localhost` and
//!    `http(s)://tauri.localhost`; `grove serve` allows none of those unless told). `null` and
//!    look-alikes (`http://tauri.localhost.evil.com`) are refused. Requests without Origin (the
//!    CLI, curl) pass on to the token check.
//! 3. **Token** (401) on everything under `/api`: `Authorization: Bearer <token>` for HTTP, and for
//!    WebSockets (browsers cannot set headers there) a `grove.token.<token>` subprotocol offered
//!    next to `grove.v1`. Compared in constant time. A token in the query string is never read.
//!    CORS preflights (`OPTIONS`, which browsers send without the token) are the one exception:
//!    answered after the Host and Origin checks, they grant nothing by themselves.
//!
//! The token never appears in a URL the server sees, in logs or in error messages: `grove serve`
//! prints it in the URL *fragment*, which browsers do not send.

use std::path::Path;

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use subtle::ConstantTimeEq;

/// The subprotocol a Grove WebSocket speaks (and the server selects).
pub const PROTOCOL: &str = "grove.v1";
/// Prefix of the subprotocol that carries the token.
pub const TOKEN_PROTOCOL_PREFIX: &str = "grove.token.";

/// A launch token. `Debug` does not print it.
#[derive(Clone)]
pub struct Token(String);

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(…)")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("could not generate a random token: {0}")]
    Random(String),
    #[error("token file {path}: {reason}")]
    File { path: String, reason: String },
}

impl Token {
    /// 256 random bits, hex-encoded.
    pub fn generate() -> Result<Token, TokenError> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(|e| TokenError::Random(e.to_string()))?;
        Ok(Token(bytes.iter().map(|b| format!("{b:02x}")).collect()))
    }

    /// Reads a token from a file that only its owner can read (mode 0600 or stricter).
    pub fn from_file(path: &Path) -> Result<Token, TokenError> {
        let err = |reason: String| TokenError::File {
            path: path.display().to_string(),
            reason,
        };
        let meta = fs_err::metadata(path).map_err(|e| err(e.to_string()))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = meta.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                return Err(err(format!(
                    "is readable by others (mode {mode:o}); run `chmod 600 {}`",
                    path.display()
                )));
            }
        }
        #[cfg(not(unix))]
        let _ = meta;
        let text = fs_err::read_to_string(path).map_err(|e| err(e.to_string()))?;
        let token = text.trim();
        if token.len() < 32
            || !token
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(err(
                "must hold at least 32 letters, digits, '-' or '_' (128+ bits)".into(),
            ));
        }
        Ok(Token(token.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    fn matches(&self, candidate: &str) -> bool {
        self.0.as_bytes().ct_eq(candidate.as_bytes()).into()
    }
}

/// The access policy of one server.
#[derive(Debug, Clone)]
pub struct Access {
    token: Token,
    origins: Vec<String>,
    hosts: Vec<String>,
}

/// Why a request was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub status: StatusCode,
    pub message: &'static str,
}

impl Access {
    /// `own_origins`: the origins the server itself is reached at (scheme://host:port).
    pub fn new(
        token: Token,
        own_origins: Vec<String>,
        extra_origins: &[String],
        extra_hosts: &[String],
    ) -> Self {
        let mut origins = own_origins;
        origins.extend(
            extra_origins
                .iter()
                .map(|o| o.trim_end_matches('/').to_owned()),
        );
        let mut hosts: Vec<String> = vec!["localhost".into(), "127.0.0.1".into(), "[::1]".into()];
        hosts.extend(extra_hosts.iter().map(|h| h.to_ascii_lowercase()));
        Access {
            token,
            origins,
            hosts,
        }
    }

    pub fn token(&self) -> &Token {
        &self.token
    }

    /// Host and Origin checks, for every request (the UI's static files too). `authority` is
    /// the request URI's authority, which is where HTTP/2 carries the host (`:authority`).
    pub fn check_site(&self, headers: &HeaderMap, authority: Option<&str>) -> Result<(), Refusal> {
        let forbidden = |message| Refusal {
            status: StatusCode::FORBIDDEN,
            message,
        };
        let host = headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .or(authority)
            .ok_or(forbidden("missing Host header"))?;
        if !self
            .hosts
            .iter()
            .any(|h| h.eq_ignore_ascii_case(host_name(host)))
        {
            return Err(forbidden(
                "this Host is not allowed (start grove serve with --allow-host to add it)",
            ));
        }
        if let Some(origin) = headers.get(header::ORIGIN) {
            let origin = origin.to_str().map_err(|_| forbidden("malformed Origin"))?;
            if !self.origins.iter().any(|o| o == origin) {
                return Err(forbidden(
                    "this Origin is not allowed (start grove serve with --allow-origin to add it)",
                ));
            }
        }
        Ok(())
    }

    /// The token check for API requests: Bearer header, or the WebSocket subprotocol.
    pub fn check_token(&self, headers: &HeaderMap) -> Result<(), Refusal> {
        let unauthorized = Refusal {
            status: StatusCode::UNAUTHORIZED,
            message: "missing or wrong token: open the URL grove serve printed, or pass the token",
        };
        if let Some(auth) = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            && let Some(candidate) = auth.strip_prefix("Bearer ")
        {
            return if self.token.matches(candidate.trim()) {
                Ok(())
            } else {
                Err(unauthorized)
            };
        }
        for value in headers.get_all(header::SEC_WEBSOCKET_PROTOCOL) {
            let Ok(value) = value.to_str() else { continue };
            for proto in value.split(',').map(str::trim) {
                if let Some(candidate) = proto.strip_prefix(TOKEN_PROTOCOL_PREFIX)
                    && self.token.matches(candidate)
                {
                    return Ok(());
                }
            }
        }
        Err(unauthorized)
    }
}

/// Whether a request is a CORS preflight (`OPTIONS` with `Access-Control-Request-Method`).
pub fn is_preflight(method: &axum::http::Method, headers: &HeaderMap) -> bool {
    method == axum::http::Method::OPTIONS
        && headers.contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
}

/// CORS response headers for an Origin that already passed [`Access::check_site`]: that exact
/// origin, the methods and headers the API uses, no credentials (the token is a header, not a
/// cookie).
pub fn add_cors_headers(headers: &mut HeaderMap, origin: HeaderValue) {
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET, POST, PUT, DELETE"),
    );
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("authorization, content-type"),
    );
    headers.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("600"),
    );
    headers.append(header::VARY, HeaderValue::from_static("Origin"));
}

/// The host part of a Host header value (`[::1]:8080` → `[::1]`, `a.b:1` → `a.b`).
fn host_name(host: &str) -> &str {
    if host.starts_with('[') {
        return host.find(']').map(|i| &host[..=i]).unwrap_or(host);
    }
    host.rsplit_once(':').map(|(h, _)| h).unwrap_or(host)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn access() -> Access {
        Access::new(
            Token("a".repeat(64)),
            vec!["http://127.0.0.1:5000".into()],
            &["https://grove.example".into(), "tauri://localhost".into()],
            &["devbox".into()],
        )
    }

    fn headers(pairs: &[(header::HeaderName, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(k.clone(), HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn hosts_and_origins() {
        let a = access();
        let ok = |h: &HeaderMap| a.check_site(h, None).is_ok();
        assert!(ok(&headers(&[(header::HOST, "127.0.0.1:5000")])));
        assert!(ok(&headers(&[(header::HOST, "localhost:5000")])));
        assert!(ok(&headers(&[(header::HOST, "[::1]:5000")])));
        assert!(ok(&headers(&[(header::HOST, "DEVBOX:5000")])));
        assert!(!ok(&headers(&[(header::HOST, "evil.example:5000")])));
        assert!(!ok(&headers(&[])));
        assert!(
            a.check_site(&headers(&[]), Some("127.0.0.1:5000")).is_ok(),
            "HTTP/2 :authority"
        );
        assert!(
            a.check_site(&headers(&[]), Some("evil.example:5000"))
                .is_err()
        );
        let with_origin =
            |o: &str| headers(&[(header::HOST, "127.0.0.1:5000"), (header::ORIGIN, o)]);
        assert!(ok(&with_origin("http://127.0.0.1:5000")));
        assert!(ok(&with_origin("tauri://localhost")));
        assert!(
            !ok(&with_origin("http://tauri.localhost")),
            "webview origins only when passed"
        );
        assert!(ok(&with_origin("https://grove.example")));
        for bad in [
            "null",
            "http://tauri.localhost.evil.com",
            "http://127.0.0.1:5000.evil",
            "http://evil.com",
            "tauri://localhostx",
        ] {
            assert!(!ok(&with_origin(bad)), "{bad}");
        }
    }

    #[test]
    fn tokens() {
        let a = access();
        let t = "a".repeat(64);
        assert!(
            a.check_token(&headers(&[(header::AUTHORIZATION, &format!("Bearer {t}"))]))
                .is_ok()
        );
        assert!(
            a.check_token(&headers(&[(header::AUTHORIZATION, "Bearer nope")]))
                .is_err()
        );
        assert!(a.check_token(&headers(&[])).is_err());
        let proto = format!("grove.v1, grove.token.{t}");
        assert!(
            a.check_token(&headers(&[(header::SEC_WEBSOCKET_PROTOCOL, &proto)]))
                .is_ok()
        );
        assert!(
            a.check_token(&headers(&[(
                header::SEC_WEBSOCKET_PROTOCOL,
                "grove.v1, grove.token.x"
            )]))
            .is_err()
        );
        assert_eq!(format!("{:?}", a.token()), "Token(…)");
    }
}
