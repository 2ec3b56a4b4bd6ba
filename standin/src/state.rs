//! What the stand-in knows: tokens, repositories with their pull requests, statuses and check
//! runs, OAuth codes and device codes, the rate-limit counters and the request log. One `Mutex`
//! guards it all; nobody holds it across an `.await` or a `git` call.

use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::Serialize;

/// One request the stand-in answered (the admin endpoints are not recorded).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RecordedRequest {
    pub method: String,
    /// Path and query, as the client sent them.
    pub path: String,
    pub user_agent: Option<String>,
    /// Whether an `Authorization` header was present. The token itself is never recorded.
    pub authorization: bool,
    pub status: u16,
}

#[derive(Debug, Clone)]
pub(crate) struct Token {
    pub login: String,
    pub scopes: Vec<String>,
}

#[derive(Debug, Clone)]
pub(crate) struct Status {
    pub context: String,
    pub state: String,
    pub target_url: Option<String>,
}

#[derive(Debug, Clone)]
pub(crate) struct CheckRun {
    pub id: u64,
    pub name: String,
    pub status: String,
    pub conclusion: Option<String>,
    pub html_url: Option<String>,
}

#[derive(Debug, Clone)]
pub(crate) struct Review {
    pub id: u64,
    pub login: String,
    pub state: String,
    pub submitted_at: String,
}

#[derive(Debug, Clone)]
pub(crate) struct Pull {
    pub id: u64,
    pub number: u64,
    pub title: String,
    pub body: Option<String>,
    pub head_ref: String,
    /// The head's sha when last seen; the answers read the branch again each time.
    pub head_sha: String,
    pub base_ref: String,
    pub base_sha: String,
    pub open: bool,
    pub draft: bool,
    pub merged_at: Option<String>,
    pub login: String,
    pub created_at: String,
    pub updated_at: String,
    pub reviews: Vec<Review>,
}

#[derive(Debug)]
pub(crate) struct Repo {
    pub id: u64,
    pub owner: String,
    pub name: String,
    pub draft_supported: bool,
    pub next_number: u64,
    pub pulls: Vec<Pull>,
    /// Latest status per context, by commit sha, in the order the contexts first appeared.
    pub statuses: HashMap<String, Vec<Status>>,
    /// Latest check run per name, by commit sha.
    pub check_runs: HashMap<String, Vec<CheckRun>>,
}

#[derive(Debug)]
pub(crate) struct AuthCode {
    pub client_id: String,
    pub redirect_uri: String,
    pub challenge: Option<String>,
    pub scopes: Vec<String>,
    pub login: String,
    pub issued: Instant,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DeviceState {
    Pending,
    Approved {
        login: String,
        scopes: Vec<String>,
    },
    Denied,
    Expired,
    /// The token was handed out; the device code is spent.
    Used,
}

#[derive(Debug)]
pub(crate) struct Device {
    pub user_code: String,
    pub client_id: String,
    pub interval: u64,
    pub issued: Instant,
    pub last_poll: Option<Instant>,
    pub state: DeviceState,
}

#[derive(Debug)]
pub(crate) struct Rate {
    pub used: u64,
    pub reset: u64,
}

pub(crate) const RATE_LIMIT: u64 = 5000;
/// GitHub's limit for requests without a token.
pub(crate) const ANONYMOUS_RATE_LIMIT: u64 = 60;
pub(crate) const CODE_LIFETIME: Duration = Duration::from_secs(600);
pub(crate) const DEVICE_LIFETIME: Duration = Duration::from_secs(900);

#[derive(Debug)]
pub(crate) struct State {
    pub tokens: HashMap<String, Token>,
    pub repos: HashMap<String, Repo>,
    pub users: HashMap<String, u64>,
    pub next_id: u64,
    pub rates: HashMap<String, Rate>,
    pub client_id: String,
    pub client_secret: String,
    /// Whom the web flow's authorize page signs in (it approves without asking).
    pub web_login: String,
    pub codes: HashMap<String, AuthCode>,
    pub devices: HashMap<String, Device>,
    pub device_interval: u64,
    pub requests: Vec<RecordedRequest>,
}

impl State {
    pub fn new() -> Self {
        State {
            tokens: HashMap::new(),
            repos: HashMap::new(),
            users: HashMap::new(),
            next_id: 1000,
            rates: HashMap::new(),
            client_id: crate::DEFAULT_CLIENT_ID.to_owned(),
            client_secret: crate::DEFAULT_CLIENT_SECRET.to_owned(),
            web_login: crate::DEFAULT_WEB_LOGIN.to_owned(),
            codes: HashMap::new(),
            devices: HashMap::new(),
            device_interval: 1,
            requests: Vec::new(),
        }
    }

    pub fn next_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    pub fn user_id(&mut self, login: &str) -> u64 {
        if let Some(id) = self.users.get(login) {
            return *id;
        }
        let id = self.next_id();
        self.users.insert(login.to_owned(), id);
        id
    }

    pub fn repo_mut(&mut self, owner: &str, name: &str) -> Option<&mut Repo> {
        self.repos.get_mut(&repo_key(owner, name))
    }

    pub fn pull_mut(&mut self, owner: &str, name: &str, number: u64) -> Option<&mut Pull> {
        self.repo_mut(owner, name)?
            .pulls
            .iter_mut()
            .find(|p| p.number == number)
    }

    /// Counts one request against `key`'s hourly budget and returns (limit, remaining, reset, used).
    pub fn count_request(
        &mut self,
        key: &str,
        anonymous: bool,
        count: bool,
    ) -> (u64, u64, u64, u64) {
        let now = unix_now();
        let rate = self.rates.entry(key.to_owned()).or_insert(Rate {
            used: 0,
            reset: now + 3600,
        });
        if now >= rate.reset {
            rate.used = 0;
            rate.reset = now + 3600;
        }
        if count {
            rate.used += 1;
        }
        let limit = if anonymous {
            ANONYMOUS_RATE_LIMIT
        } else {
            RATE_LIMIT
        };
        (
            limit,
            limit.saturating_sub(rate.used),
            rate.reset,
            rate.used,
        )
    }
}

/// GitHub's names are case-insensitive; so are the stand-in's.
pub(crate) fn repo_key(owner: &str, name: &str) -> String {
    format!(
        "{}/{}",
        owner.to_ascii_lowercase(),
        name.to_ascii_lowercase()
    )
}

pub(crate) fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Now as GitHub writes times: `2011-01-26T19:01:12Z`.
pub(crate) fn timestamp() -> String {
    let secs = unix_now();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days as i64);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// Days since 1970-01-01 to (year, month, day), Howard Hinnant's algorithm.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// `len` random characters from `alphabet`, for tokens and codes.
pub(crate) fn random_string(alphabet: &[u8], len: usize) -> String {
    let mut bytes = vec![0u8; len];
    if getrandom::fill(&mut bytes).is_err() {
        // A test double can live with a weaker source than the OS's; the values only need to
        // differ from each other.
        use sha2::Digest;
        static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let seed = sha2::Sha256::digest(format!("{nanos}:{n}:{}", std::process::id()));
        for (i, b) in bytes.iter_mut().enumerate() {
            *b = seed[i % seed.len()].wrapping_add(i as u8);
        }
    }
    bytes
        .iter()
        .map(|b| char::from(alphabet[usize::from(*b) % alphabet.len()]))
        .collect()
}

pub(crate) const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
pub(crate) const HEX: &[u8] = b"0123456789abcdef";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_782), (2024, 2, 29));
        assert_eq!(civil_from_days(20_454), (2026, 1, 1));
    }
}
