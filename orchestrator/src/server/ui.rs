//! The web UI, served from the same origin as the API. Until the Svelte UI lands this is a
//! minimal page that proves the server is up and how to reach it.

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

use super::AppState;

const INDEX: &str = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Grove</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{background:#0d1117;color:#c9d1d9;font:15px/1.5 ui-monospace,monospace;margin:3rem}</style>
</head><body><h1>Grove</h1>
<p>The Grove server is running. The web UI ships with the next release; meanwhile use the
<code>grove</code> CLI (<code>grove session list</code>, <code>grove attach NAME</code>).</p>
</body></html>"#;

pub(super) fn routes() -> Router<AppState> {
    Router::new().route("/", get(index))
}

async fn index() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'self'; style-src 'self' 'unsafe-inline'",
            ),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        INDEX,
    )
}
