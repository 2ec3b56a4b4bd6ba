//! The OAuth web flow with PKCE and the device flow, errors answered as 200 + `error`.

use std::time::Duration;

use base64::Engine;
use grove_github_standin::{DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::support::{Answer, Fixture, agent, fixture, read};

const REDIRECT: &str = "grove://auth/callback";
const VERIFIER: &str = "a-verifier-of-at-least-43-characters-0123456789abcdef";

fn challenge(verifier: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// Opens the authorize page and returns the redirect's `code`, checking the echoed `state`.
fn authorize(fx: &Fixture, client_id: &str) -> Result<String, u16> {
    let url = format!(
        "{}/login/oauth/authorize?client_id={client_id}&redirect_uri={}&scope=repo&state=st%2Fate-1&code_challenge={}&code_challenge_method=S256",
        fx.standin.url(),
        "grove%3A%2F%2Fauth%2Fcallback",
        challenge(VERIFIER),
    );
    let answer = read(
        agent()
            .get(url)
            .header("User-Agent", "browser")
            .call()
            .unwrap(),
    );
    if answer.status != 302 {
        return Err(answer.status);
    }
    let location = answer.header("location").unwrap();
    let query = location.strip_prefix(&format!("{REDIRECT}?")).unwrap();
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).unwrap();
    assert!(
        pairs.contains(&("state".into(), "st/ate-1".into())),
        "{location}"
    );
    Ok(pairs.into_iter().find(|(k, _)| k == "code").unwrap().1)
}

fn token_request(fx: &Fixture, params: &[(&str, &str)], json: bool) -> Answer {
    let mut request = agent()
        .post(format!("{}/login/oauth/access_token", fx.standin.url()))
        .header("User-Agent", "grove-tests");
    if json {
        request = request.header("Accept", "application/json");
    }
    read(request.send_form(params.iter().copied()).unwrap())
}

fn exchange(fx: &Fixture, code: &str, verifier: &str, secret: &str) -> Value {
    let answer = token_request(
        fx,
        &[
            ("client_id", DEFAULT_CLIENT_ID),
            ("client_secret", secret),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", verifier),
        ],
        true,
    );
    assert_eq!(answer.status, 200, "token endpoint errors are HTTP 200");
    answer.json()
}

#[test]
fn web_flow_checks_client_pkce_and_single_use_codes() {
    let fx = fixture();
    assert_eq!(authorize(&fx, "someone-else"), Err(404));

    let code = authorize(&fx, DEFAULT_CLIENT_ID).unwrap();
    let wrong_secret = exchange(&fx, &code, VERIFIER, "not-the-secret");
    assert_eq!(wrong_secret["error"], "incorrect_client_credentials");
    assert!(wrong_secret["error_uri"].is_string());

    let wrong_verifier = exchange(
        &fx,
        &code,
        "another-verifier-entirely-0123456789abcdefgh",
        DEFAULT_CLIENT_SECRET,
    );
    assert_eq!(wrong_verifier["error"], "bad_verification_code");
    // A code tried once is spent, even with the right verifier afterwards.
    let retried = exchange(&fx, &code, VERIFIER, DEFAULT_CLIENT_SECRET);
    assert_eq!(retried["error"], "bad_verification_code");

    let code = authorize(&fx, DEFAULT_CLIENT_ID).unwrap();
    let granted = exchange(&fx, &code, VERIFIER, DEFAULT_CLIENT_SECRET);
    assert_eq!(granted["token_type"], "bearer");
    assert_eq!(granted["scope"], "repo");
    let token = granted["access_token"].as_str().unwrap();
    assert!(token.starts_with("gho_"), "{token}");
    let me = fx.get("/user", Some(token));
    assert_eq!(me.json()["login"], "octocat");
    assert_eq!(me.header("x-oauth-scopes"), Some("repo"));

    let reused = exchange(&fx, &code, VERIFIER, DEFAULT_CLIENT_SECRET);
    assert_eq!(reused["error"], "bad_verification_code");

    let code = authorize(&fx, DEFAULT_CLIENT_ID).unwrap();
    let elsewhere = token_request(
        &fx,
        &[
            ("client_id", DEFAULT_CLIENT_ID),
            ("client_secret", DEFAULT_CLIENT_SECRET),
            ("code", &code),
            ("redirect_uri", "http://evil.example/cb"),
            ("code_verifier", VERIFIER),
        ],
        false,
    );
    // Without `Accept: application/json` the answer is form-encoded.
    assert_eq!(elsewhere.status, 200);
    assert!(
        elsewhere.body.starts_with("error=redirect_uri_mismatch&"),
        "{}",
        elsewhere.body
    );
}

fn device_code(fx: &Fixture) -> Value {
    let answer = read(
        agent()
            .post(format!("{}/login/device/code", fx.standin.url()))
            .header("User-Agent", "grove-tests")
            .header("Accept", "application/json")
            .send_json(serde_json::json!({"client_id": DEFAULT_CLIENT_ID, "scope": "repo"}))
            .unwrap(),
    );
    assert_eq!(answer.status, 200);
    answer.json()
}

fn poll(fx: &Fixture, device_code: &str) -> Value {
    let params = [
        ("client_id", DEFAULT_CLIENT_ID),
        ("device_code", device_code),
        ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
    ];
    let answer = token_request(fx, &params, true);
    assert_eq!(answer.status, 200);
    answer.json()
}

#[test]
fn device_flow_pending_slow_down_deny_expire_and_approve() {
    let fx = fixture();
    let code = device_code(&fx);
    let user_code = code["user_code"].as_str().unwrap();
    assert_eq!(user_code.len(), 9);
    assert_eq!(&user_code[4..5], "-");
    assert_eq!(
        code["verification_uri"],
        format!("{}/login/device", fx.standin.url())
    );
    assert_eq!(code["expires_in"], 900);
    assert_eq!(code["interval"], 1);
    assert_eq!(fx.standin.pending_user_codes(), vec![user_code.to_owned()]);
    let device = code["device_code"].as_str().unwrap();

    assert_eq!(poll(&fx, device)["error"], "authorization_pending");
    let hurried = poll(&fx, device);
    assert_eq!(hurried["error"], "slow_down");
    assert_eq!(hurried["interval"], 6);
    assert!(fx.standin.deny_device(user_code));
    assert_eq!(poll(&fx, device)["error"], "access_denied");
    assert!(
        !fx.standin.approve_device(user_code, "alice", &["repo"]),
        "no longer pending"
    );

    let expiring = device_code(&fx);
    assert!(
        fx.standin
            .expire_device(expiring["user_code"].as_str().unwrap())
    );
    assert_eq!(
        poll(&fx, expiring["device_code"].as_str().unwrap())["error"],
        "expired_token"
    );
    assert_eq!(
        poll(&fx, "not-a-device-code")["error"],
        "incorrect_device_code"
    );

    let approved = device_code(&fx);
    let device = approved["device_code"].as_str().unwrap();
    assert_eq!(poll(&fx, device)["error"], "authorization_pending");
    assert!(fx.standin.approve_device(
        approved["user_code"].as_str().unwrap(),
        "carol",
        &["repo", "workflow"]
    ));
    std::thread::sleep(Duration::from_millis(1100));
    let granted = poll(&fx, device);
    assert_eq!(granted["scope"], "repo,workflow", "{granted}");
    let token = granted["access_token"].as_str().unwrap();
    assert_eq!(fx.get("/user", Some(token)).json()["login"], "carol");
    std::thread::sleep(Duration::from_millis(1100));
    assert_eq!(
        poll(&fx, device)["error"],
        "incorrect_device_code",
        "a device code grants once"
    );
}
