//! A small typed client for GitHub's REST API over `ureq` (rustls): every request sends a
//! User-Agent and the API version, answers are cached by ETag (a `304 Not Modified` costs no rate
//! limit), and the rate-limit headers are kept so pollers can back off before GitHub refuses.

use std::collections::HashMap;
use std::time::Duration;

use parking_lot::Mutex;
use serde::de::DeserializeOwned;

use super::{GithubError, USER_AGENT};
use crate::vault::{ExposeSecret, SecretString};

/// Longest any one request may take.
const TIMEOUT: Duration = Duration::from_secs(30);
/// Largest answer read.
const MAX_BODY: u64 = 10 * 1024 * 1024;
/// Cached answers kept (LRU-ish: the cache is cleared when full).
const MAX_CACHED: usize = 512;

/// The rate limit as GitHub last reported it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RateLimit {
    pub limit: u64,
    pub remaining: u64,
    /// Unix seconds when the window resets.
    pub reset: i64,
}

/// One answer: status, body, and the headers Grove reads.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub body: Vec<u8>,
    /// `x-oauth-scopes` (classic tokens only).
    pub scopes: Option<String>,
    /// Served from the ETag cache after a 304.
    pub cached: bool,
}

impl Answer {
    pub fn json<T: DeserializeOwned>(&self, what: &str) -> Result<T, GithubError> {
        serde_json::from_slice(&self.body).map_err(|e| GithubError::BadResponse {
            what: what.to_owned(),
            detail: e.to_string(),
        })
    }

    /// GitHub's error message in the body (`{"message": …}`), or the status.
    pub fn message(&self) -> String {
        serde_json::from_slice::<serde_json::Value>(&self.body)
            .ok()
            .and_then(|v| v.get("message").and_then(|m| m.as_str()).map(str::to_owned))
            .unwrap_or_else(|| format!("HTTP {}", self.status))
    }
}

/// The HTTP side of GitHub, shared by everything that talks to it.
#[derive(Debug)]
pub struct Http {
    agent: ureq::Agent,
    /// url → (etag, body) of the last 200.
    etags: Mutex<HashMap<String, (String, Vec<u8>)>>,
    rate: Mutex<HashMap<String, RateLimit>>,
}

impl Default for Http {
    fn default() -> Self {
        Http::new()
    }
}

impl Http {
    pub fn new() -> Http {
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(TIMEOUT))
            .user_agent(USER_AGENT)
            .build();
        Http {
            agent: config.into(),
            etags: Mutex::new(HashMap::new()),
            rate: Mutex::new(HashMap::new()),
        }
    }

    /// The rate limit last seen for the API at `api_host`.
    pub fn rate_limit(&self, api_host: &str) -> Option<RateLimit> {
        self.rate.lock().get(api_host).copied()
    }

    /// A GET with the token, answered from the ETag cache when GitHub says nothing changed.
    pub fn get(&self, url: &str, token: &SecretString) -> Result<Answer, GithubError> {
        let cached = self.etags.lock().get(url).cloned();
        let mut req = self
            .agent
            .get(url)
            .header("Accept", "application/vnd.github+json")
            .header("X-GitHub-Api-Version", "2022-11-28")
            .header("Authorization", format!("Bearer {}", token.expose_secret()));
        if let Some((etag, _)) = &cached {
            req = req.header("If-None-Match", etag);
        }
        let answer = self.finish(url, req.call())?;
        if answer.status == 304
            && let Some((_, body)) = cached
        {
            return Ok(Answer {
                status: 200,
                body,
                scopes: answer.scopes,
                cached: true,
            });
        }
        Ok(answer)
    }

    /// A POST of JSON with the token.
    pub fn post_json(
        &self,
        url: &str,
        token: &SecretString,
        body: &serde_json::Value,
    ) -> Result<Answer, GithubError> {
        let req = self
            .agent
            .post(url)
            .header("Accept", "application/vnd.github+json")
            .header("X-GitHub-Api-Version", "2022-11-28")
            .header("Authorization", format!("Bearer {}", token.expose_secret()));
        self.finish(url, req.send_json(body))
    }

    /// A POST of a form without a token, answered in JSON (GitHub's OAuth endpoints).
    pub fn post_form(&self, url: &str, form: &[(&str, &str)]) -> Result<Answer, GithubError> {
        let req = self.agent.post(url).header("Accept", "application/json");
        self.finish(url, req.send_form(form.iter().copied()))
    }

    fn finish(
        &self,
        url: &str,
        sent: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> Result<Answer, GithubError> {
        let mut resp = sent.map_err(|e| GithubError::Unreachable {
            url: strip_query(url),
            detail: e.to_string(),
        })?;
        let status = resp.status().as_u16();
        let header = |name: &str| {
            resp.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let scopes = header("x-oauth-scopes");
        let etag = header("etag");
        let rate = (|| {
            Some(RateLimit {
                limit: header("x-ratelimit-limit")?.parse().ok()?,
                remaining: header("x-ratelimit-remaining")?.parse().ok()?,
                reset: header("x-ratelimit-reset")?.parse().ok()?,
            })
        })();
        let body = resp
            .body_mut()
            .with_config()
            .limit(MAX_BODY)
            .read_to_vec()
            .map_err(|e| GithubError::Unreachable {
                url: strip_query(url),
                detail: e.to_string(),
            })?;
        if let (Some(rate), Ok(parsed)) = (rate, url::Url::parse(url)) {
            self.rate.lock().insert(super::host_of(&parsed), rate);
        }
        if status == 200
            && let Some(etag) = etag
        {
            let mut etags = self.etags.lock();
            if etags.len() >= MAX_CACHED {
                etags.clear();
            }
            etags.insert(url.to_owned(), (etag, body.clone()));
        }
        if (status == 403 || status == 429)
            && let Some(rate) = rate
            && rate.remaining == 0
        {
            return Err(GithubError::RateLimited { reset: rate.reset });
        }
        Ok(Answer {
            status,
            body,
            scopes,
            cached: false,
        })
    }
}

/// A URL without its query, for messages.
fn strip_query(url: &str) -> String {
    url.split('?').next().unwrap_or(url).to_owned()
}
