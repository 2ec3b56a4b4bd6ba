//! The OAuth endpoints of github.com: the web flow with PKCE (an authorize page that approves at
//! once) and the device flow (approved, denied or expired through the controls). The token
//! endpoint answers errors with HTTP 200 and an `error` field, JSON or form-encoded by `Accept`,
//! as GitHub does.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::Shared;
use crate::state::{
    ALNUM, AuthCode, CODE_LIFETIME, DEVICE_LIFETIME, Device, DeviceState, HEX, Token, random_string,
};

const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
const WEB_ERRORS: &str = "https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors";
const DEVICE_ERRORS: &str = "https://docs.github.com/developers/apps/authorizing-oauth-apps#error-codes-for-the-device-flow";
/// Letters and digits a person cannot mistake for one another, for user codes.
const USER_CODE: &[u8] = b"BCDFGHJKLMNPQRSTVWXZ23456789";

pub(crate) fn router() -> Router<Arc<Shared>> {
    Router::new()
        .route("/login/oauth/authorize", get(authorize))
        .route("/login/oauth/access_token", post(access_token))
        .route("/login/device/code", post(device_code))
        .route("/login/device", get(device_page))
}

/// The parameters of a request, from its query and its body (form-encoded or JSON).
fn params(
    query: HashMap<String, String>,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<HashMap<String, String>, Response> {
    let mut params = query;
    if body.is_empty() {
        return Ok(params);
    }
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("json"));
    let bad = || {
        (
            StatusCode::BAD_REQUEST,
            "The request body could not be parsed.\n",
        )
            .into_response()
    };
    if is_json {
        let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(body) else {
            return Err(bad());
        };
        for (key, value) in map {
            let value = match value {
                Value::String(s) => s,
                other => other.to_string(),
            };
            params.insert(key, value);
        }
    } else {
        let form: Vec<(String, String)> = serde_urlencoded::from_bytes(body).map_err(|_| bad())?;
        params.extend(form);
    }
    Ok(params)
}

/// An answer of the token endpoints: JSON when asked for, form-encoded otherwise.
fn answer(headers: &HeaderMap, value: Value) -> Response {
    let wants_json = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json"));
    if wants_json {
        return axum::Json(value).into_response();
    }
    let pairs: Vec<(String, String)> = match value {
        Value::Object(map) => map
            .into_iter()
            .map(|(k, v)| match v {
                Value::String(s) => (k, s),
                other => (k, other.to_string()),
            })
            .collect(),
        _ => Vec::new(),
    };
    let body = serde_urlencoded::to_string(pairs).unwrap_or_default();
    (
        [(
            header::CONTENT_TYPE,
            "application/x-www-form-urlencoded; charset=utf-8",
        )],
        body,
    )
        .into_response()
}

fn oauth_error(headers: &HeaderMap, error: &str, description: &str, uri: &str) -> Response {
    answer(
        headers,
        json!({"error": error, "error_description": description, "error_uri": uri}),
    )
}

fn web_error(headers: &HeaderMap, error: &str, description: &str) -> Response {
    let anchor = error.replace('_', "-");
    oauth_error(
        headers,
        error,
        description,
        &format!("{WEB_ERRORS}/#{anchor}"),
    )
}

fn device_error(headers: &HeaderMap, error: &str, description: &str) -> Response {
    oauth_error(headers, error, description, DEVICE_ERRORS)
}

/// PKCE S256: base64url (no padding) of the SHA-256 of the verifier.
pub(crate) fn s256(verifier: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

fn mint_token(shared: &Shared, login: &str, scopes: &[String]) -> String {
    let token = format!("gho_{}", random_string(ALNUM, 36));
    let mut state = shared.state.lock();
    state.user_id(login);
    state.tokens.insert(
        token.clone(),
        Token {
            login: login.to_owned(),
            scopes: scopes.to_vec(),
        },
    );
    token
}

fn token_answer(headers: &HeaderMap, token: &str, scopes: &[String]) -> Response {
    answer(
        headers,
        json!({"access_token": token, "token_type": "bearer", "scope": scopes.join(",")}),
    )
}

fn split_scopes(scope: Option<&String>) -> Vec<String> {
    scope
        .map(|s| {
            s.split([' ', ','])
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

async fn authorize(
    State(shared): State<Arc<Shared>>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let mut state = shared.state.lock();
    if query.get("client_id") != Some(&state.client_id) {
        return crate::api::error(StatusCode::NOT_FOUND, "Not Found");
    }
    let Some(redirect_uri) = query.get("redirect_uri") else {
        return (
            StatusCode::BAD_REQUEST,
            "The stand-in has no registered callback URL: pass redirect_uri.\n",
        )
            .into_response();
    };
    let challenge = query.get("code_challenge").cloned();
    if challenge.is_some() && query.get("code_challenge_method").map(String::as_str) != Some("S256")
    {
        return (
            StatusCode::BAD_REQUEST,
            "code_challenge_method must be S256.\n",
        )
            .into_response();
    }
    let code = random_string(HEX, 20);
    let login = state.web_login.clone();
    let client_id = state.client_id.clone();
    state.codes.insert(
        code.clone(),
        AuthCode {
            client_id,
            redirect_uri: redirect_uri.clone(),
            challenge,
            scopes: split_scopes(query.get("scope")),
            login,
            issued: Instant::now(),
        },
    );
    let mut pairs = vec![("code", code.as_str())];
    if let Some(given) = query.get("state") {
        pairs.push(("state", given));
    }
    let separator = if redirect_uri.contains('?') { '&' } else { '?' };
    let location = format!(
        "{redirect_uri}{separator}{}",
        serde_urlencoded::to_string(pairs).unwrap_or_default()
    );
    (StatusCode::FOUND, [(header::LOCATION, location)]).into_response()
}

async fn access_token(
    State(shared): State<Arc<Shared>>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let params = match params(query, &headers, &body) {
        Ok(params) => params,
        Err(response) => return response,
    };
    match params.get("grant_type").map(String::as_str) {
        Some(DEVICE_GRANT) => poll_device(&shared, &headers, &params),
        None | Some("authorization_code") => exchange_code(&shared, &headers, &params),
        Some(_) => device_error(
            &headers,
            "unsupported_grant_type",
            "The grant type is not supported.",
        ),
    }
}

fn exchange_code(
    shared: &Shared,
    headers: &HeaderMap,
    params: &HashMap<String, String>,
) -> Response {
    let bad_code = || {
        web_error(
            headers,
            "bad_verification_code",
            "The code passed is incorrect or expired.",
        )
    };
    let code = {
        let mut state = shared.state.lock();
        if params.get("client_id") != Some(&state.client_id)
            || params.get("client_secret") != Some(&state.client_secret)
        {
            return web_error(
                headers,
                "incorrect_client_credentials",
                "The client_id and/or client_secret passed are incorrect.",
            );
        }
        // Single use: whatever happens next, this code is spent.
        let Some(code) = params.get("code").and_then(|c| state.codes.remove(c)) else {
            return bad_code();
        };
        code
    };
    if code.issued.elapsed() > CODE_LIFETIME || params.get("client_id") != Some(&code.client_id) {
        return bad_code();
    }
    if params
        .get("redirect_uri")
        .is_some_and(|uri| uri != &code.redirect_uri)
    {
        return web_error(
            headers,
            "redirect_uri_mismatch",
            "The redirect_uri MUST match the registered callback URL for this application.",
        );
    }
    if let Some(challenge) = &code.challenge {
        let verified = params
            .get("code_verifier")
            .is_some_and(|verifier| &s256(verifier) == challenge);
        if !verified {
            return bad_code();
        }
    }
    let token = mint_token(shared, &code.login, &code.scopes);
    token_answer(headers, &token, &code.scopes)
}

async fn device_code(
    State(shared): State<Arc<Shared>>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let params = match params(query, &headers, &body) {
        Ok(params) => params,
        Err(response) => return response,
    };
    let mut state = shared.state.lock();
    if params.get("client_id") != Some(&state.client_id) {
        return crate::api::error(StatusCode::NOT_FOUND, "Not Found");
    }
    let device_code = random_string(HEX, 40);
    let user_code = format!(
        "{}-{}",
        random_string(USER_CODE, 4),
        random_string(USER_CODE, 4)
    );
    let interval = state.device_interval;
    let client_id = state.client_id.clone();
    state.devices.insert(
        device_code.clone(),
        Device {
            user_code: user_code.clone(),
            client_id,
            interval,
            issued: Instant::now(),
            last_poll: None,
            state: DeviceState::Pending,
        },
    );
    drop(state);
    answer(
        &headers,
        json!({
            "device_code": device_code,
            "user_code": user_code,
            "verification_uri": format!("{}/login/device", shared.url),
            "expires_in": DEVICE_LIFETIME.as_secs(),
            "interval": interval,
        }),
    )
}

fn poll_device(shared: &Shared, headers: &HeaderMap, params: &HashMap<String, String>) -> Response {
    let mut state = shared.state.lock();
    if params.get("client_id") != Some(&state.client_id) {
        return device_error(
            headers,
            "incorrect_client_credentials",
            "The client_id and/or client_secret passed are incorrect.",
        );
    }
    let client_id = state.client_id.clone();
    let Some(device) = params
        .get("device_code")
        .and_then(|c| state.devices.get_mut(c))
        .filter(|d| d.client_id == client_id)
    else {
        return device_error(
            headers,
            "incorrect_device_code",
            "The device_code provided is not valid.",
        );
    };
    let now = Instant::now();
    if device.issued.elapsed() > DEVICE_LIFETIME && device.state != DeviceState::Used {
        device.state = DeviceState::Expired;
    }
    if matches!(
        device.state,
        DeviceState::Pending | DeviceState::Approved { .. }
    ) {
        let too_soon = device
            .last_poll
            .is_some_and(|last| now.duration_since(last).as_secs_f64() < device.interval as f64);
        device.last_poll = Some(now);
        if too_soon {
            device.interval += 5;
            return answer(
                headers,
                json!({
                    "error": "slow_down",
                    "error_description": "Too many requests have been made in the same timeframe.",
                    "error_uri": DEVICE_ERRORS,
                    "interval": device.interval,
                }),
            );
        }
    }
    match device.state.clone() {
        DeviceState::Pending => device_error(
            headers,
            "authorization_pending",
            "The authorization request is still pending.",
        ),
        DeviceState::Denied => device_error(
            headers,
            "access_denied",
            "The authorization request was denied.",
        ),
        DeviceState::Expired => {
            device_error(headers, "expired_token", "The device code has expired.")
        }
        DeviceState::Used => device_error(
            headers,
            "incorrect_device_code",
            "The device_code provided is not valid.",
        ),
        DeviceState::Approved { login, scopes } => {
            device.state = DeviceState::Used;
            drop(state);
            let token = mint_token(shared, &login, &scopes);
            token_answer(headers, &token, &scopes)
        }
    }
}

async fn device_page() -> Html<&'static str> {
    Html(
        "<!doctype html><title>Device activation</title>\
         <h1>Device activation</h1>\
         <p>This is Grove's GitHub stand-in: tests approve user codes through its controls.</p>",
    )
}
