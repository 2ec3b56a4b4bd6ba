//! The web UI (`web/dist`, built by `npm run build` in `web/`), served from the same origin as the
//! API. Release builds embed the files at compile time; debug builds read them from disk on each
//! request, so a rebuilt UI shows on reload. Without a built UI the server answers with a short
//! page that says how to build it.
//!
//! Unknown paths get `index.html` (the UI routes on the client), except under `/api/` and
//! `/assets/`, where a miss is a real 404. Every response carries a CSP without inline scripts:
//! xterm.js needs inline styles, and the WebSockets of the same origin are covered by `'self'`.

use axum::Router;
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::AppState;
use super::error::error_response;
use crate::wire::{ApiError, ErrorCode};

#[cfg(feature = "ui")]
#[derive(rust_embed::Embed)]
#[folder = "../web/dist/"]
#[allow_missing = true]
struct Dist;

/// Built without the `ui` feature (the desktop app, whose window carries the UI): no files.
#[cfg(not(feature = "ui"))]
struct Dist;

#[cfg(not(feature = "ui"))]
impl Dist {
    fn get(_path: &str) -> Option<NoFile> {
        None
    }
}

#[cfg(not(feature = "ui"))]
struct NoFile {
    data: std::borrow::Cow<'static, [u8]>,
}

const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
                   connect-src 'self'; img-src 'self' data:; font-src 'self' data:; \
                   object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const NOT_BUILT: &str = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Grove</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{background:#0d1117;color:#c9d1d9;font:15px/1.5 ui-monospace,monospace;margin:3rem}</style>
</head><body><h1>Grove</h1>
<p>The Grove server is running, but this binary was built without the web UI.
Build it with <code>cd web &amp;&amp; npm ci &amp;&amp; npm run build</code>, then rebuild
<code>grove</code> (<code>scripts/run</code> does both). Meanwhile the <code>grove</code> CLI works
(<code>grove session list</code>, <code>grove attach NAME</code>).</p>
</body></html>"#;

pub(super) fn routes() -> Router<AppState> {
    Router::new().fallback(get(serve))
}

async fn serve(uri: Uri) -> Response {
    let path = uri.path().trim_start_matches('/');
    if path == "api" || path.starts_with("api/") {
        return error_response(ApiError {
            code: ErrorCode::NotFound,
            message: format!("no such API route: {}", uri.path()),
        });
    }
    let path = if path.is_empty() { "index.html" } else { path };
    if let Some(file) = Dist::get(path) {
        return file_response(path, file.data.into_owned());
    }
    if path.starts_with("assets/") {
        return with_headers(
            StatusCode::NOT_FOUND,
            "text/plain; charset=utf-8",
            "no-store",
            b"not found".to_vec(),
        );
    }
    match Dist::get("index.html") {
        Some(index) => file_response("index.html", index.data.into_owned()),
        None => with_headers(
            StatusCode::OK,
            "text/html; charset=utf-8",
            "no-store",
            NOT_BUILT.as_bytes().to_vec(),
        ),
    }
}

fn file_response(path: &str, body: Vec<u8>) -> Response {
    // Vite puts a content hash in every asset name, so those never change; index.html must be
    // revalidated so a new build is picked up.
    let cache = if path.starts_with("assets/") {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    with_headers(StatusCode::OK, mime_of(path), cache, body)
}

fn with_headers(
    status: StatusCode,
    mime: &'static str,
    cache: &'static str,
    body: Vec<u8>,
) -> Response {
    let mut res = (status, body).into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(mime));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    res
}

fn mime_of(path: &str) -> &'static str {
    let ext = path.rsplit_once('.').map(|(_, e)| e).unwrap_or("");
    match ext {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" | "map" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "woff" => "font/woff",
        "ttf" => "font/ttf",
        "wasm" => "application/wasm",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mime_types() {
        assert_eq!(mime_of("index.html"), "text/html; charset=utf-8");
        assert_eq!(
            mime_of("assets/index-abc.js"),
            "text/javascript; charset=utf-8"
        );
        assert_eq!(mime_of("assets/x.css"), "text/css; charset=utf-8");
        assert_eq!(mime_of("noext"), "application/octet-stream");
    }

    #[tokio::test]
    async fn api_misses_are_json_404s_and_routes_fall_back_to_the_ui() {
        let res = serve(Uri::from_static("/api/v1/nope")).await;
        assert_eq!(res.status(), StatusCode::NOT_FOUND);
        let res = serve(Uri::from_static("/assets/missing-123.js")).await;
        assert_eq!(res.status(), StatusCode::NOT_FOUND);
        let res = serve(Uri::from_static("/some/client/route")).await;
        assert_eq!(res.status(), StatusCode::OK);
        let csp = res.headers().get(header::CONTENT_SECURITY_POLICY);
        assert_eq!(csp.and_then(|v| v.to_str().ok()), Some(CSP));
    }
}
