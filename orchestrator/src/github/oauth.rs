//! Signing in to GitHub: the OAuth web flow with PKCE (S256) and a single-use state for the
//! desktop (the redirect comes back as `grove://auth/callback`), the device flow for everything
//! else, and reading who a token belongs to.
//!
//! GitHub's token endpoint answers errors with HTTP 200 and an `error` field; both flows read
//! that shape. Codes, verifiers, device codes and tokens are [`SecretString`]s: never logged.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::client::Http;
use super::{Endpoints, GithubError, OauthApp};
use crate::vault::{ExposeSecret, SecretString};

/// Where GitHub sends the browser back to after the user approved the desktop app.
pub const REDIRECT_URI: &str = "grove://auth/callback";
/// The grant type of a device-flow token request.
const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// `n` random bytes as unpadded base64url.
pub fn random_b64(n: usize) -> Result<String, GithubError> {
    let mut bytes = vec![0u8; n];
    getrandom::fill(&mut bytes)
        .map_err(|e| GithubError::SignIn(format!("no randomness from the OS: {e}")))?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// A PKCE verifier and its S256 challenge.
pub struct Pkce {
    pub verifier: SecretString,
    pub challenge: String,
}

impl Pkce {
    pub fn new() -> Result<Pkce, GithubError> {
        // 32 bytes → 43 characters, the shortest verifier RFC 7636 allows, all of it random.
        let verifier = random_b64(32)?;
        let challenge = challenge_of(&verifier);
        Ok(Pkce {
            verifier: SecretString::from(verifier),
            challenge,
        })
    }
}

/// `BASE64URL(SHA256(verifier))`, the S256 challenge.
pub fn challenge_of(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// The scopes Grove asks for: `repo`, and `workflow` only when the user allows agents to change
/// workflow files.
pub fn scopes(workflow: bool) -> &'static str {
    if workflow { "repo workflow" } else { "repo" }
}

/// The authorize page the system browser opens for the web flow.
pub fn authorize_url(
    ep: &Endpoints,
    app: &OauthApp,
    scope: &str,
    state: &str,
    challenge: &str,
) -> String {
    let mut url =
        url::Url::parse(&ep.web_url("/login/oauth/authorize")).unwrap_or_else(|_| ep.web.clone());
    url.query_pairs_mut()
        .append_pair("client_id", &app.client_id)
        .append_pair("redirect_uri", REDIRECT_URI)
        .append_pair("scope", scope)
        .append_pair("state", state)
        .append_pair("code_challenge", challenge)
        .append_pair("code_challenge_method", "S256")
        .append_pair("allow_signup", "true");
    url.to_string()
}

/// A token from the token endpoint.
pub struct Granted {
    pub token: SecretString,
    pub scope: String,
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: Option<String>,
    scope: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
    interval: Option<u64>,
}

fn token_answer(
    http: &Http,
    ep: &Endpoints,
    form: &[(&str, &str)],
) -> Result<TokenAnswer, GithubError> {
    let answer = http.post_form(&ep.web_url("/login/oauth/access_token"), form)?;
    if answer.status != 200 {
        return Err(GithubError::Api {
            status: answer.status,
            message: answer.message(),
        });
    }
    answer.json("the token endpoint's answer")
}

/// Exchanges the web flow's code (with the PKCE verifier and the app's secret) for a token.
pub fn exchange_code(
    http: &Http,
    ep: &Endpoints,
    app: &OauthApp,
    code: &SecretString,
    verifier: &SecretString,
) -> Result<Granted, GithubError> {
    let Some(secret) = &app.client_secret else {
        return Err(GithubError::SignIn(
            "this build has no OAuth client secret, so the browser sign-in cannot finish: sign in with a device code instead".into(),
        ));
    };
    let a = token_answer(
        http,
        ep,
        &[
            ("client_id", &app.client_id),
            ("client_secret", secret.expose_secret()),
            ("code", code.expose_secret()),
            ("redirect_uri", REDIRECT_URI),
            ("code_verifier", verifier.expose_secret()),
        ],
    )?;
    match (a.access_token, a.error) {
        (Some(token), None) => Ok(Granted {
            token: SecretString::from(token),
            scope: a.scope.unwrap_or_default(),
        }),
        (_, Some(error)) => Err(GithubError::SignIn(format!(
            "GitHub refused the sign-in ({error}{}): start it again",
            a.error_description
                .map(|d| format!(": {d}"))
                .unwrap_or_default()
        ))),
        (None, None) => Err(GithubError::BadResponse {
            what: "the token endpoint's answer".into(),
            detail: "neither a token nor an error".into(),
        }),
    }
}

/// A device-flow sign-in in progress: the code the user types, and where.
pub struct DeviceCode {
    pub device_code: SecretString,
    pub user_code: String,
    pub verification_uri: String,
    pub expires_in: u64,
    pub interval: u64,
}

#[derive(Deserialize)]
struct DeviceAnswer {
    device_code: Option<String>,
    user_code: Option<String>,
    verification_uri: Option<String>,
    expires_in: Option<u64>,
    interval: Option<u64>,
    error: Option<String>,
    error_description: Option<String>,
}

/// Starts the device flow.
pub fn start_device(
    http: &Http,
    ep: &Endpoints,
    app: &OauthApp,
    scope: &str,
) -> Result<DeviceCode, GithubError> {
    let answer = http.post_form(
        &ep.web_url("/login/device/code"),
        &[("client_id", &app.client_id), ("scope", scope)],
    )?;
    if answer.status != 200 {
        return Err(GithubError::Api {
            status: answer.status,
            message: answer.message(),
        });
    }
    let a: DeviceAnswer = answer.json("the device-code answer")?;
    if let Some(error) = a.error {
        return Err(GithubError::SignIn(format!(
            "GitHub refused to start a device sign-in ({error}{}); is the device flow enabled for the OAuth app?",
            a.error_description
                .map(|d| format!(": {d}"))
                .unwrap_or_default()
        )));
    }
    match (a.device_code, a.user_code, a.verification_uri) {
        (Some(device_code), Some(user_code), Some(verification_uri)) => Ok(DeviceCode {
            device_code: SecretString::from(device_code),
            user_code,
            verification_uri,
            expires_in: a.expires_in.unwrap_or(900),
            interval: a.interval.unwrap_or(5).max(1),
        }),
        _ => Err(GithubError::BadResponse {
            what: "the device-code answer".into(),
            detail: "device_code, user_code or verification_uri missing".into(),
        }),
    }
}

/// One poll of a device-flow sign-in.
pub enum DevicePoll {
    /// The user has not approved yet.
    Pending,
    /// Polling too fast: wait this many seconds between polls from now on.
    SlowDown(u64),
    Granted(Granted),
    /// The code expired before the user approved: start again.
    Expired,
    /// The user cancelled on GitHub.
    Denied,
}

/// Asks whether the user approved the device code yet.
pub fn poll_device(
    http: &Http,
    ep: &Endpoints,
    app: &OauthApp,
    device_code: &SecretString,
) -> Result<DevicePoll, GithubError> {
    let a = token_answer(
        http,
        ep,
        &[
            ("client_id", &app.client_id),
            ("device_code", device_code.expose_secret()),
            ("grant_type", DEVICE_GRANT),
        ],
    )?;
    if let Some(token) = a.access_token {
        return Ok(DevicePoll::Granted(Granted {
            token: SecretString::from(token),
            scope: a.scope.unwrap_or_default(),
        }));
    }
    match a.error.as_deref() {
        Some("authorization_pending") => Ok(DevicePoll::Pending),
        Some("slow_down") => Ok(DevicePoll::SlowDown(a.interval.unwrap_or(10))),
        Some("expired_token") | Some("token_expired") => Ok(DevicePoll::Expired),
        Some("access_denied") => Ok(DevicePoll::Denied),
        Some(other) => Err(GithubError::SignIn(format!(
            "GitHub refused the device sign-in ({other}{}): start it again",
            a.error_description
                .map(|d| format!(": {d}"))
                .unwrap_or_default()
        ))),
        None => Err(GithubError::BadResponse {
            what: "the token endpoint's answer".into(),
            detail: "neither a token nor an error".into(),
        }),
    }
}

/// Who a token belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub login: String,
    /// The token's scopes (empty for fine-grained tokens, which have none to list).
    pub scopes: Vec<String>,
}

/// Reads the token's account (`GET /user`); a 401 is [`GithubError::TokenRejected`].
pub fn account(http: &Http, ep: &Endpoints, token: &SecretString) -> Result<Account, GithubError> {
    #[derive(Deserialize)]
    struct User {
        login: String,
    }
    let answer = http.get(&ep.api_url("/user"), token)?;
    match answer.status {
        200 => {
            let user: User = answer.json("GET /user")?;
            Ok(Account {
                login: user.login,
                scopes: parse_scopes(answer.scopes.as_deref()),
            })
        }
        401 => Err(GithubError::TokenRejected { host: ep.host() }),
        status => Err(GithubError::Api {
            status,
            message: answer.message(),
        }),
    }
}

/// `repo, workflow` → `["repo", "workflow"]`.
pub fn parse_scopes(header: Option<&str>) -> Vec<String> {
    header
        .unwrap_or_default()
        .split([',', ' '])
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn s256_challenge_is_unpadded_base64url_of_sha256() {
        // Computed independently: python3 -c "import hashlib,base64;
        // print(base64.urlsafe_b64encode(hashlib.sha256(b'...').digest()).rstrip(b'='))"
        assert_eq!(
            challenge_of("dBjftJeZ4CVP-mJ0PAiC6m1Lc5k2nE6X4w9kU4T_JNs"),
            "YRgk2O-L9tXucoXN06z0I1-qEhc9H5uX6bMlhHm6vYE"
        );
        let pkce = Pkce::new().unwrap();
        assert_eq!(pkce.verifier.expose_secret().len(), 43);
        assert_eq!(pkce.challenge, challenge_of(pkce.verifier.expose_secret()));
    }

    #[test]
    fn scopes_are_minimal_and_parsed() {
        assert_eq!(scopes(false), "repo");
        assert_eq!(scopes(true), "repo workflow");
        assert_eq!(parse_scopes(Some("repo, workflow")), ["repo", "workflow"]);
        assert!(parse_scopes(None).is_empty());
    }
}
