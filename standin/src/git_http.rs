//! Git over smart HTTP: every request needs Basic auth with a valid token as its password, then
//! `git http-backend` answers it as a CGI, the request body streamed into it and its output
//! streamed back.

use std::net::SocketAddr;
use std::process::Stdio;
use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, Path, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use futures_util::StreamExt;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

use crate::Shared;
use crate::state::repo_key;

pub(crate) fn router() -> Router<Arc<Shared>> {
    Router::new()
        .route("/{owner}/{repo}/info/refs", get(info_refs))
        .route("/{owner}/{repo}/git-upload-pack", post(upload_pack))
        .route("/{owner}/{repo}/git-receive-pack", post(receive_pack))
}

type Args = (
    State<Arc<Shared>>,
    ConnectInfo<SocketAddr>,
    Path<(String, String)>,
    Request,
);

async fn info_refs(
    shared: State<Arc<Shared>>,
    peer: ConnectInfo<SocketAddr>,
    path: Path<(String, String)>,
    request: Request,
) -> Response {
    cgi((shared, peer, path, request), "info/refs").await
}

async fn upload_pack(
    shared: State<Arc<Shared>>,
    peer: ConnectInfo<SocketAddr>,
    path: Path<(String, String)>,
    request: Request,
) -> Response {
    cgi((shared, peer, path, request), "git-upload-pack").await
}

async fn receive_pack(
    shared: State<Arc<Shared>>,
    peer: ConnectInfo<SocketAddr>,
    path: Path<(String, String)>,
    request: Request,
) -> Response {
    cgi((shared, peer, path, request), "git-receive-pack").await
}

/// The login of the token given as the Basic password, if it is valid.
fn basic_login(shared: &Shared, headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (_user, password) = decoded.split_once(':')?;
    let state = shared.state.lock();
    state.tokens.get(password).map(|t| t.login.clone())
}

fn text(status: StatusCode, body: &'static str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        body,
    )
        .into_response()
}

async fn cgi(
    (State(shared), ConnectInfo(peer), Path((owner, repo)), request): Args,
    service: &str,
) -> Response {
    let Some(name) = repo.strip_suffix(".git") else {
        return crate::api::error(StatusCode::NOT_FOUND, "Not Found");
    };
    let Some(login) = basic_login(&shared, request.headers()) else {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Basic realm=\"GitHub\"")],
            "Invalid username or token. Password authentication is not supported for Git operations.\n",
        )
            .into_response();
    };
    // The stored spelling: names are case-insensitive, the directories are not.
    let known = shared
        .state
        .lock()
        .repos
        .get(&repo_key(&owner, name))
        .map(|r| (r.owner.clone(), r.name.clone()));
    let Some((owner, name)) = known else {
        return text(StatusCode::NOT_FOUND, "Repository not found.\n");
    };

    let (parts, body) = request.into_parts();
    let header_str = |name: HeaderName| {
        parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let mut cmd = crate::git::tokio_command(None);
    cmd.arg("http-backend")
        .env("GIT_PROJECT_ROOT", &shared.root)
        .env("GIT_HTTP_EXPORT_ALL", "1")
        .env("REQUEST_METHOD", parts.method.as_str())
        .env("PATH_INFO", format!("/{owner}/{name}.git/{service}"))
        .env("QUERY_STRING", parts.uri.query().unwrap_or(""))
        .env("REMOTE_USER", &login)
        .env("REMOTE_ADDR", peer.ip().to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true);
    for (var, name) in [
        ("CONTENT_TYPE", header::CONTENT_TYPE),
        ("CONTENT_LENGTH", header::CONTENT_LENGTH),
        ("HTTP_CONTENT_ENCODING", header::CONTENT_ENCODING),
        ("HTTP_GIT_PROTOCOL", HeaderName::from_static("git-protocol")),
    ] {
        if let Some(value) = header_str(name) {
            cmd.env(var, value);
        }
    }
    let mut child = match cmd.spawn() {
        Ok(child) => child,
        Err(e) => {
            eprintln!("github-standin: cannot run git http-backend: {e}");
            return text(
                StatusCode::INTERNAL_SERVER_ERROR,
                "git http-backend did not start.\n",
            );
        }
    };
    let (Some(mut stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
        return text(
            StatusCode::INTERNAL_SERVER_ERROR,
            "git http-backend has no pipes.\n",
        );
    };
    // The body goes in while the answer comes out, so neither side waits on a full pipe.
    tokio::spawn(async move {
        let mut chunks = body.into_data_stream();
        while let Some(Ok(chunk)) = chunks.next().await {
            if stdin.write_all(&chunk).await.is_err() {
                break;
            }
        }
        // Dropping stdin closes it: the backend reads to the end of its input.
    });

    let mut reader = BufReader::new(stdout);
    let mut status = StatusCode::OK;
    let mut headers = HeaderMap::new();
    loop {
        let mut line = Vec::new();
        match reader.read_until(b'\n', &mut line).await {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        let line = String::from_utf8_lossy(&line);
        let line = line.trim_end_matches(['\r', '\n']);
        if line.is_empty() {
            break;
        }
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("status") {
            let code = value.split(' ').next().and_then(|c| c.parse::<u16>().ok());
            status = code
                .and_then(|c| StatusCode::from_u16(c).ok())
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        } else if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.trim().as_bytes()),
            HeaderValue::from_str(value),
        ) {
            headers.append(name, value);
        }
    }
    // The child is reaped once its output ends; `kill_on_drop` ends it if the client goes away.
    let body = futures_util::stream::unfold(Some((reader, child)), |open| async move {
        let (mut reader, mut child) = open?;
        let mut buf = vec![0u8; 64 * 1024];
        match reader.read(&mut buf).await {
            Ok(0) => {
                let _ = child.wait().await;
                None
            }
            Ok(n) => {
                buf.truncate(n);
                Some((
                    Ok::<_, std::io::Error>(Bytes::from(buf)),
                    Some((reader, child)),
                ))
            }
            Err(e) => Some((Err(e), None)),
        }
    });
    let mut response = Response::new(Body::from_stream(body));
    *response.status_mut() = status;
    *response.headers_mut() = headers;
    response
}
