//! GitHub: where it is ([`Endpoints`]), its REST API ([`client`]), sign-in ([`oauth`]), the
//! credential helper that lends a push the token without writing it anywhere ([`credential`]),
//! which repository a remote is ([`remote`]), and pull requests and their checks ([`pulls`]).
//!
//! The token lives in the vault only (see `crate::grove::github`); this module receives it as a
//! [`SecretString`](crate::vault::SecretString) for one request at a time and never logs it.

pub mod client;
pub mod credential;
pub mod oauth;
pub mod pulls;
pub mod remote;

use url::Url;

/// The OAuth app's client id built into this binary (`GROVE_GITHUB_CLIENT_ID` at build time);
/// `GROVE_GITHUB_CLIENT_ID` at run time overrides it.
const BUILT_CLIENT_ID: Option<&str> = option_env!("GROVE_GITHUB_CLIENT_ID");
/// The OAuth app's client secret, given to release builds by the release workflow's secrets;
/// never in the repository. Without it the desktop web flow is off and sign-in uses the device
/// flow. `GROVE_GITHUB_CLIENT_SECRET` at run time overrides it (tests).
const BUILT_CLIENT_SECRET: Option<&str> = option_env!("GROVE_GITHUB_CLIENT_SECRET");
/// Grove's OAuth app on github.com (a public identifier).
const DEFAULT_CLIENT_ID: &str = "Ov23liGroveDesktopApp";

/// Sent with every request: GitHub refuses requests without a User-Agent.
pub const USER_AGENT: &str = concat!("Grove/", env!("CARGO_PKG_VERSION"));

/// Where GitHub is: its web host (sign-in pages, git remotes) and its REST API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    /// `https://github.com`, or an Enterprise host.
    pub web: Url,
    /// `https://api.github.com`, or `<host>/api/v3` on Enterprise.
    pub api: Url,
}

impl Endpoints {
    /// From `GROVE_GITHUB_URL` and `GROVE_GITHUB_API_URL`, each defaulting as documented.
    pub fn from_env() -> Result<Endpoints, GithubError> {
        let web = std::env::var("GROVE_GITHUB_URL")
            .ok()
            .filter(|v| !v.is_empty());
        let api = std::env::var("GROVE_GITHUB_API_URL")
            .ok()
            .filter(|v| !v.is_empty());
        Endpoints::from_urls(web.as_deref(), api.as_deref())
    }

    /// From a web URL and an API URL; a missing API URL is `api.github.com` for github.com and
    /// `<web>/api/v3` for anything else (GitHub Enterprise Server).
    pub fn from_urls(web: Option<&str>, api: Option<&str>) -> Result<Endpoints, GithubError> {
        let parse = |what: &str, v: &str| {
            let url = Url::parse(v.trim_end_matches('/')).map_err(|e| {
                GithubError::Config(format!(
                    "{what} `{v}` is not a URL ({e}): give e.g. https://github.example.com"
                ))
            })?;
            if !matches!(url.scheme(), "https" | "http") || url.host_str().is_none() {
                return Err(GithubError::Config(format!(
                    "{what} `{v}` must be an http(s) URL with a host"
                )));
            }
            Ok(url)
        };
        let web = parse("GROVE_GITHUB_URL", web.unwrap_or("https://github.com"))?;
        let api = match api {
            Some(api) => parse("GROVE_GITHUB_API_URL", api)?,
            None if web.host_str() == Some("github.com") => {
                parse("GROVE_GITHUB_API_URL", "https://api.github.com")?
            }
            None => parse(
                "GROVE_GITHUB_API_URL",
                &format!("{}/api/v3", web.as_str().trim_end_matches('/')),
            )?,
        };
        Ok(Endpoints { web, api })
    }

    /// The web host with its port when it has one (`github.com`, `127.0.0.1:8080`): what git's
    /// credential requests name, and what tokens are kept by.
    pub fn host(&self) -> String {
        host_of(&self.web)
    }

    /// An API URL for `path` (which starts with `/`).
    pub fn api_url(&self, path: &str) -> String {
        format!("{}{}", self.api.as_str().trim_end_matches('/'), path)
    }

    /// A web URL for `path` (which starts with `/`).
    pub fn web_url(&self, path: &str) -> String {
        format!("{}{}", self.web.as_str().trim_end_matches('/'), path)
    }
}

/// `host[:port]` of a URL.
pub fn host_of(url: &Url) -> String {
    let host = url.host_str().unwrap_or_default();
    match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    }
}

/// The OAuth app Grove signs in as.
#[derive(Clone)]
pub struct OauthApp {
    pub client_id: String,
    /// Only release builds (and tests) have it; the web flow needs it.
    pub client_secret: Option<crate::vault::SecretString>,
}

impl std::fmt::Debug for OauthApp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OauthApp")
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret.as_ref().map(|_| "…"))
            .finish()
    }
}

impl OauthApp {
    /// The build's app, with `GROVE_GITHUB_CLIENT_ID` / `GROVE_GITHUB_CLIENT_SECRET` from the
    /// environment taking precedence.
    pub fn from_env() -> OauthApp {
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        OauthApp {
            client_id: env("GROVE_GITHUB_CLIENT_ID")
                .or(BUILT_CLIENT_ID.filter(|v| !v.is_empty()).map(str::to_owned))
                .unwrap_or_else(|| DEFAULT_CLIENT_ID.to_owned()),
            client_secret: env("GROVE_GITHUB_CLIENT_SECRET")
                .or(BUILT_CLIENT_SECRET
                    .filter(|v| !v.is_empty())
                    .map(str::to_owned))
                .map(crate::vault::SecretString::from),
        }
    }
}

/// What can go wrong talking to GitHub. Messages say what to do; none quotes a token or code.
#[derive(Debug, thiserror::Error)]
pub enum GithubError {
    #[error("GitHub settings: {0}")]
    Config(String),
    #[error(
        "not signed in to GitHub ({host}): sign in first (`grove github login`, or Sign in in the app)"
    )]
    SignedOut { host: String },
    #[error(
        "GitHub ({host}) rejected the token (401): it was revoked or expired. Sign in again; nothing in progress was lost"
    )]
    TokenRejected { host: String },
    #[error(
        "could not reach GitHub at {url}: {detail}. Check the network (or GROVE_GITHUB_API_URL) and try again"
    )]
    Unreachable { url: String, detail: String },
    #[error("GitHub's rate limit is used up until {reset}: Grove waits; try again then")]
    RateLimited { reset: i64 },
    #[error("GitHub refused the request ({status}): {message}")]
    Api { status: u16, message: String },
    #[error("GitHub answered something Grove cannot read ({what}): {detail}")]
    BadResponse { what: String, detail: String },
    #[error("{0}")]
    SignIn(String),
    #[error(
        "the sign-in link was refused: its state is wrong, already used or expired (older than 10 minutes). Start the sign-in again"
    )]
    BadState,
    #[error(
        "{remote} of {path} points at {url}, which is not a repository on {host}: Grove can push and open pull requests only there"
    )]
    NotGithub {
        path: String,
        remote: String,
        url: String,
        host: String,
    },
    #[error("{0}")]
    Pull(String),
    #[error(
        "Draft pull requests are not supported in this repository: open it as a normal pull request instead"
    )]
    DraftUnsupported,
}
