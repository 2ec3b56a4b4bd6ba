//! GitHub from a session: sign-in (a token given, the device flow, the desktop's browser flow),
//! pushing the session branch with the token lent to git for that one command, opening its pull
//! request, and following that pull request's state and checks.
//!
//! The token is kept in the vault under a name of Grove's own (`grove.github.<host>`), which
//! the secrets API neither lists nor lets anyone set, expose or delete.

use std::time::Instant;

use super::*;
use crate::github::client::Http;
use crate::github::credential::Lender;
use crate::github::oauth::{self, DevicePoll, Pkce};
use crate::github::pulls::{self, Created, NewPull};
use crate::github::remote::{self, RepoRef};
use crate::github::{Endpoints, GithubError, OauthApp};
use crate::vault::{ExposeSecret, SecretString, VaultState};
use crate::wire::{
    CreatePullRequest, DeviceLogin, GithubStatus, PullCreated, PullDraft, PullState, PullStatus,
    PushRequest, PushResult,
};

/// Prefix of the vault names Grove keeps for itself.
pub(crate) const RESERVED_PREFIX: &str = "grove.";
/// How long a browser sign-in's state is accepted.
const STATE_TTL: Duration = Duration::from_secs(600);
/// Longest wait between two device-flow polls.
const MAX_DEVICE_INTERVAL: u64 = 60;

/// A browser sign-in waiting for its `grove://auth/callback`.
struct PendingWeb {
    verifier: SecretString,
    started: Instant,
    host: String,
}

/// A device sign-in being polled.
struct PendingDevice {
    login: DeviceLogin,
}

/// GitHub's share of Grove's state.
pub(crate) struct GithubState {
    http: Http,
    app: OauthApp,
    endpoints: Endpoints,
    lender: Option<Lender>,
    web: Mutex<HashMap<String, PendingWeb>>,
    device: Mutex<Option<PendingDevice>>,
    /// Bumped to stop a device-flow poller (a new sign-in, logout).
    generation: std::sync::atomic::AtomicU64,
    problem: Mutex<Option<String>>,
    pulls: Mutex<HashMap<i64, PullStatus>>,
    poll: Duration,
}

impl std::fmt::Debug for GithubState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GithubState")
            .field("endpoints", &self.endpoints)
            .field("app", &self.app)
            .finish_non_exhaustive()
    }
}

impl GithubState {
    pub(crate) fn new(config: &GroveConfig, data_dir: &Path) -> Result<GithubState> {
        let endpoints = match &config.github {
            Some(ep) => ep.clone(),
            None => Endpoints::from_env()?,
        };
        let exe = config
            .helper_exe
            .clone()
            .or_else(|| std::env::current_exe().ok());
        let lender = match exe {
            Some(exe) => match Lender::start(data_dir, exe) {
                Ok(l) => Some(l),
                Err(e) => {
                    tracing::warn!(error = %e, "cannot open the git credential socket: pushes use git's own credentials");
                    None
                }
            },
            None => None,
        };
        Ok(GithubState {
            http: Http::new(),
            app: config.github_app.clone().unwrap_or_else(OauthApp::from_env),
            endpoints,
            lender,
            web: Mutex::new(HashMap::new()),
            device: Mutex::new(None),
            generation: Default::default(),
            problem: Mutex::new(None),
            pulls: Mutex::new(HashMap::new()),
            poll: config.github_poll,
        })
    }
}

/// The vault name of a host's token.
fn token_name(host: &str) -> String {
    format!("{RESERVED_PREFIX}github.{}", host_key(host))
}

/// The vault name of a host's account (login and scopes, as JSON).
fn account_name(host: &str) -> String {
    format!("{RESERVED_PREFIX}github-account.{}", host_key(host))
}

fn host_key(host: &str) -> String {
    host.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect()
}

#[derive(serde::Serialize, serde::Deserialize)]
struct StoredAccount {
    login: String,
    scopes: Vec<String>,
}

impl Grove {
    fn gh(&self) -> &GithubState {
        &self.inner.github
    }

    /// The endpoints for a repository: its git config's `grove.githubUrl` /
    /// `grove.githubApiUrl` (per repo, for GitHub Enterprise), else Grove's.
    fn endpoints_for(&self, repo_path: &Path) -> Result<Endpoints> {
        let cfg = git2::Repository::open(repo_path)
            .ok()
            .and_then(|r| r.config().ok())
            .and_then(|mut c| c.snapshot().ok());
        let get = |k: &str| cfg.as_ref().and_then(|c| c.get_string(k).ok());
        match (get("grove.githubUrl"), get("grove.githubApiUrl")) {
            (None, None) => Ok(self.gh().endpoints.clone()),
            (web, api) => Ok(Endpoints::from_urls(
                Some(web.as_deref().unwrap_or(self.gh().endpoints.web.as_str())),
                api.as_deref(),
            )?),
        }
    }

    fn token(&self, host: &str) -> Result<Option<SecretString>> {
        Ok(self.vault().get(&token_name(host))?)
    }

    fn require_token(&self, host: &str) -> Result<SecretString> {
        if self.vault().state() != VaultState::Unlocked {
            return Err(crate::vault::VaultError::Locked.into());
        }
        self.token(host)?.ok_or_else(|| {
            GithubError::SignedOut {
                host: host.to_owned(),
            }
            .into()
        })
    }

    /// GitHub sign-in as the UI shows it (for Grove's configured host).
    pub fn github_status(&self) -> GithubStatus {
        let ep = &self.gh().endpoints;
        let host = ep.host();
        let account = if self.vault().state() == VaultState::Unlocked {
            match (self.token(&host), self.vault().get(&account_name(&host))) {
                (Ok(Some(_)), Ok(Some(a))) => {
                    serde_json::from_str::<StoredAccount>(a.expose_secret()).ok()
                }
                _ => None,
            }
        } else {
            None
        };
        let problem = self.gh().problem.lock().clone().or_else(|| {
            (self.vault().state() != VaultState::Unlocked)
                .then(|| "the vault is locked: unlock it to use GitHub".to_owned())
        });
        GithubStatus {
            host,
            signed_in: account.is_some(),
            login: account.as_ref().map(|a| a.login.clone()),
            scopes: account.map(|a| a.scopes).unwrap_or_default(),
            device: self.gh().device.lock().as_ref().map(|d| d.login.clone()),
            problem,
            web_flow: self.gh().app.client_secret.is_some(),
            requested_scopes: vec!["repo".into()],
        }
    }

    fn github_changed(&self) {
        self.ctx().emit(Event::GithubChanged {
            status: self.github_status(),
        });
    }

    /// Keeps a token after GitHub accepted it (`GET /user`).
    fn store_token(&self, ep: &Endpoints, token: SecretString) -> Result<GithubStatus> {
        let account = match oauth::account(&self.gh().http, ep, &token) {
            Ok(a) => a,
            Err(GithubError::TokenRejected { host }) => {
                return Err(GithubError::SignIn(format!(
                    "GitHub ({host}) does not accept this token (401): check it and try again"
                ))
                .into());
            }
            Err(e) => return Err(e.into()),
        };
        let host = ep.host();
        self.vault().set(&token_name(&host), &token)?;
        let stored = serde_json::to_string(&StoredAccount {
            login: account.login.clone(),
            scopes: account.scopes.clone(),
        })
        .map_err(|e| GroveError::Invalid(e.to_string()))?;
        self.vault()
            .set(&account_name(&host), &SecretString::from(stored))?;
        *self.gh().problem.lock() = None;
        tracing::info!(host = %host, login = %account.login, scopes = ?account.scopes, "signed in to GitHub");
        self.github_changed();
        Ok(self.github_status())
    }

    /// Signs in with a token the user gives (checked with GitHub first).
    pub fn github_login_token(&self, token: &SecretString) -> Result<GithubStatus> {
        let t = token.expose_secret().trim();
        if t.is_empty() || t.len() > 1024 || t.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(GroveError::Invalid(
                "that is not a GitHub token: give one line, e.g. the output of `gh auth token`"
                    .into(),
            ));
        }
        if self.vault().state() != VaultState::Unlocked {
            return Err(crate::vault::VaultError::Locked.into());
        }
        let ep = self.gh().endpoints.clone();
        self.store_token(&ep, SecretString::from(t.to_owned()))
    }

    /// Imports the token of an installed GitHub CLI (`gh auth token --hostname HOST`), when the
    /// user asked for it (the UI's button, `grove github login --from-gh`).
    pub fn github_login_gh(&self) -> Result<GithubStatus> {
        let host = self.gh().endpoints.host();
        let out = std::process::Command::new("gh")
            .args(["auth", "token", "--hostname", &host])
            .stdin(std::process::Stdio::null())
            .output()
            .map_err(|e| {
                GithubError::SignIn(format!(
                    "could not run the GitHub CLI (`gh auth token`): {e}. Install gh and sign in there, or sign in here"
                ))
            })?;
        if !out.status.success() {
            return Err(GithubError::SignIn(format!(
                "the GitHub CLI has no token for {host}: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ))
            .into());
        }
        let token = SecretString::from(String::from_utf8_lossy(&out.stdout).trim().to_owned());
        self.github_login_token(&token)
    }

    /// Signs out: the token and account are deleted from the vault.
    pub fn github_logout(&self) -> Result<GithubStatus> {
        self.cancel_device();
        let host = self.gh().endpoints.host();
        self.vault().delete(&token_name(&host))?;
        self.vault().delete(&account_name(&host))?;
        *self.gh().problem.lock() = None;
        tracing::info!(host = %host, "signed out of GitHub");
        self.github_changed();
        Ok(self.github_status())
    }

    /// GitHub said 401 to the token: forget it, say so once, keep everything else.
    fn token_rejected(&self, host: &str) {
        let _ = self.vault().delete(&token_name(host));
        let _ = self.vault().delete(&account_name(host));
        *self.gh().problem.lock() = Some(format!(
            "GitHub ({host}) rejected the token (revoked or expired): sign in again"
        ));
        tracing::warn!(host = %host, "GitHub rejected the token: signed out");
        self.github_changed();
    }

    /// Runs `f`; a rejected token signs the user out before the error goes back.
    fn with_github<T>(&self, host: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
        let out = f();
        if let Err(GroveError::Github(GithubError::TokenRejected { .. })) = &out {
            self.token_rejected(host);
        }
        out
    }

    fn cancel_device(&self) {
        self.gh()
            .generation
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        *self.gh().device.lock() = None;
    }

    /// Starts a device sign-in: the code to show; a background poll finishes it.
    pub fn github_login_device(&self, workflow: bool) -> Result<GithubStatus> {
        if self.vault().state() != VaultState::Unlocked {
            return Err(crate::vault::VaultError::Locked.into());
        }
        self.cancel_device();
        let ep = self.gh().endpoints.clone();
        let code = oauth::start_device(
            &self.gh().http,
            &ep,
            &self.gh().app,
            oauth::scopes(workflow),
        )?;
        let generation = self
            .gh()
            .generation
            .load(std::sync::atomic::Ordering::SeqCst);
        let login = DeviceLogin {
            user_code: code.user_code.clone(),
            verification_uri: code.verification_uri.clone(),
            expires_at: crate::db::now_secs() + i64::try_from(code.expires_in).unwrap_or(900),
        };
        *self.gh().device.lock() = Some(PendingDevice { login });
        *self.gh().problem.lock() = None;
        let grove = self.clone();
        std::thread::Builder::new()
            .name("github device sign-in".into())
            .spawn(move || grove.poll_device(ep, code, generation))?;
        self.github_changed();
        Ok(self.github_status())
    }

    fn poll_device(&self, ep: Endpoints, code: oauth::DeviceCode, generation: u64) {
        let current = || {
            self.gh()
                .generation
                .load(std::sync::atomic::Ordering::SeqCst)
                == generation
        };
        let deadline = Instant::now() + Duration::from_secs(code.expires_in);
        let mut interval = code.interval;
        let outcome: std::result::Result<SecretString, String> = loop {
            // Sleep in small steps so a cancelled sign-in stops promptly.
            let wake = Instant::now() + Duration::from_secs(interval);
            while Instant::now() < wake {
                if !current() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            if Instant::now() > deadline {
                break Err("the sign-in code expired before it was approved: start again".into());
            }
            match oauth::poll_device(&self.gh().http, &ep, &self.gh().app, &code.device_code) {
                Ok(DevicePoll::Pending) => {}
                Ok(DevicePoll::SlowDown(n)) => {
                    interval = n.max(interval + 5).min(MAX_DEVICE_INTERVAL);
                }
                Ok(DevicePoll::Granted(g)) => break Ok(g.token),
                Ok(DevicePoll::Expired) => {
                    break Err(
                        "the sign-in code expired before it was approved: start again".into(),
                    );
                }
                Ok(DevicePoll::Denied) => break Err("the sign-in was cancelled on GitHub".into()),
                // A network hiccup: keep polling until the code expires.
                Err(GithubError::Unreachable { detail, .. }) => {
                    tracing::warn!(%detail, "device sign-in poll failed; retrying");
                }
                Err(e) => break Err(e.to_string()),
            }
        };
        if !current() {
            return;
        }
        *self.gh().device.lock() = None;
        let result = match outcome {
            Ok(token) => self.store_token(&ep, token).map(|_| ()),
            Err(problem) => Err(GroveError::Invalid(problem)),
        };
        if let Err(e) = result {
            let msg = match e {
                GroveError::Invalid(m) => m,
                other => other.to_string(),
            };
            tracing::warn!(problem = %msg, "device sign-in did not finish");
            *self.gh().problem.lock() = Some(msg);
            self.github_changed();
        }
    }

    /// Starts a browser sign-in (desktop): the authorize page to open. Its redirect comes back
    /// to [`github_auth_callback`](Grove::github_auth_callback).
    pub fn github_login_web(&self, workflow: bool) -> Result<String> {
        if self.gh().app.client_secret.is_none() {
            return Err(GithubError::SignIn(
                "this build cannot sign in through the browser (no OAuth client secret): use the device code sign-in".into(),
            )
            .into());
        }
        if self.vault().state() != VaultState::Unlocked {
            return Err(crate::vault::VaultError::Locked.into());
        }
        let ep = &self.gh().endpoints;
        let state = oauth::random_b64(32)?;
        let pkce = Pkce::new()?;
        let url = oauth::authorize_url(
            ep,
            &self.gh().app,
            oauth::scopes(workflow),
            &state,
            &pkce.challenge,
        );
        let mut web = self.gh().web.lock();
        web.retain(|_, p| p.started.elapsed() < STATE_TTL);
        web.insert(
            state,
            PendingWeb {
                verifier: pkce.verifier,
                started: Instant::now(),
                host: ep.host(),
            },
        );
        Ok(url)
    }

    /// The `grove://auth/callback` redirect: checks the state (single use, 10 minutes), then
    /// exchanges the code with the PKCE verifier and keeps the token.
    pub fn github_auth_callback(
        &self,
        state: &str,
        code: Option<SecretString>,
        error: Option<&str>,
    ) -> Result<GithubStatus> {
        let pending = self.gh().web.lock().remove(state);
        let Some(pending) = pending.filter(|p| p.started.elapsed() < STATE_TTL) else {
            // Logged without the code (or the state, which would let a reader replay nothing
            // but is still nobody's business).
            tracing::warn!("refused a sign-in callback whose state is unknown, used or expired");
            return Err(GithubError::BadState.into());
        };
        let ep = self.gh().endpoints.clone();
        if ep.host() != pending.host {
            return Err(GithubError::BadState.into());
        }
        if let Some(error) = error {
            let msg = format!("the sign-in was not completed on GitHub ({error})");
            *self.gh().problem.lock() = Some(msg.clone());
            self.github_changed();
            return Err(GithubError::SignIn(msg).into());
        }
        let Some(code) = code else {
            return Err(GithubError::BadState.into());
        };
        let granted = oauth::exchange_code(
            &self.gh().http,
            &ep,
            &self.gh().app,
            &code,
            &pending.verifier,
        )?;
        self.store_token(&ep, granted.token)
    }

    /// Where a session's branch goes on GitHub: endpoints, the remote, and the repository.
    fn session_remote(
        &self,
        row: &SessionRow,
    ) -> Result<(Endpoints, String, String, Option<RepoRef>)> {
        let repo = self.repo_row(row.repo_id)?;
        let ep = self.endpoints_for(&repo.path)?;
        let remote = git2::Repository::open(&row.worktree)
            .ok()
            .and_then(|r| r.config().ok())
            .and_then(|c| c.get_string(&format!("branch.{}.remote", row.branch)).ok())
            .filter(|r| r != ".")
            .unwrap_or_else(|| "origin".to_owned());
        let url = git::remote_url(&row.worktree, &remote)?;
        let repo_ref = remote::parse(&url, &ep.host());
        Ok((ep, remote, url, repo_ref))
    }

    /// Pushes a session's branch (setting its upstream). On the GitHub host over https the
    /// signed-in token is lent to git for this one command; elsewhere git's own credentials
    /// apply. Progress goes out as `push_progress` events.
    pub fn push(&self, id: i64, req: &PushRequest) -> Result<PushResult> {
        let row = self.active_row(id)?;
        let (ep, remote, _url, repo_ref) = self.session_remote(&row)?;
        self.push_row(&row, &ep, &remote, repo_ref.as_ref(), req.force_with_lease)
    }

    fn active_row(&self, id: i64) -> Result<SessionRow> {
        let row = self.session_row(id)?;
        if row.state != RowState::Active {
            return Err(GroveError::NotActive { name: row.name });
        }
        Ok(row)
    }

    fn push_row(
        &self,
        row: &SessionRow,
        ep: &Endpoints,
        remote: &str,
        repo_ref: Option<&RepoRef>,
        force_with_lease: bool,
    ) -> Result<PushResult> {
        let host = ep.host();
        let lent = match (repo_ref, &self.gh().lender) {
            (Some(r), Some(lender)) if r.https => match self.token(&host) {
                Ok(Some(token)) => Some(lender.lend(&host, token)?),
                _ => None,
            },
            _ => None,
        };
        let events = self.ctx().clone();
        let session_id = row.id;
        let last = Mutex::new(Instant::now() - Duration::from_secs(1));
        let outcome = git::push(git::PushRequest {
            worktree: &row.worktree,
            remote,
            branch: &row.branch,
            force_with_lease,
            env: lent.as_ref().map(|l| l.env.clone()).unwrap_or_default(),
            progress: Some(Box::new(move |line: &str| {
                // At most ~10 progress events a second; the last line of each phase ends in
                // "done", which always goes out.
                let mut last = last.lock();
                if last.elapsed() >= Duration::from_millis(100) || line.contains("done") {
                    *last = Instant::now();
                    events.emit(Event::PushProgress {
                        session_id,
                        line: line.to_owned(),
                    });
                }
            })),
        });
        drop(lent);
        match outcome {
            Ok(o) => {
                tracing::info!(session = %row.name, remote, up_to_date = o.up_to_date, "pushed");
                Ok(PushResult {
                    remote: remote.to_owned(),
                    branch: row.branch.clone(),
                    sha: o.sha,
                    up_to_date: o.up_to_date,
                })
            }
            Err(git::GitError::PushAuth { remote: r, detail }) if repo_ref.is_some() => {
                // Was it our token? Ask GitHub; a 401 signs out.
                if let Ok(Some(token)) = self.token(&host)
                    && let Err(GithubError::TokenRejected { .. }) =
                        oauth::account(&self.gh().http, ep, &token)
                {
                    self.token_rejected(&host);
                    return Err(GithubError::TokenRejected { host }.into());
                }
                if self.token(&host).ok().flatten().is_none() {
                    return Err(GithubError::SignedOut { host }.into());
                }
                Err(git::GitError::PushAuth { remote: r, detail }.into())
            }
            Err(e) => Err(e.into()),
        }
    }

    /// A title and body for a session's pull request, from its commits over the base.
    pub fn pull_draft(&self, id: i64) -> Result<PullDraft> {
        let row = self.active_row(id)?;
        let (_, remote, repo_ref) = self.github_target(&row)?;
        let base = base_branch(&row.base, &remote);
        let out = git::GitCommand::new(&row.worktree)
            .args(["log", "--reverse", "--format=%s%x1f%b%x1e"])
            .arg(format!("{}..HEAD", row.base))
            .run()?;
        let log = String::from_utf8_lossy(&out.stdout);
        let commits: Vec<(String, String)> = log
            .split('\u{1e}')
            .filter_map(|c| {
                let (s, b) = c.trim().split_once('\u{1f}')?;
                Some((s.trim().to_owned(), b.trim().to_owned()))
            })
            .filter(|(s, _)| !s.is_empty())
            .collect();
        let (title, body) = match commits.as_slice() {
            [] => (row.name.replace(['-', '_'], " "), String::new()),
            [(s, b)] => (s.clone(), b.clone()),
            many => (
                row.name.replace(['-', '_'], " "),
                many.iter()
                    .map(|(s, _)| format!("- {s}"))
                    .collect::<Vec<_>>()
                    .join("\n"),
            ),
        };
        Ok(PullDraft {
            title,
            body,
            base,
            repo: repo_ref.full_name(),
        })
    }

    /// Like `session_remote`, for what only works on GitHub: a remote elsewhere is refused.
    fn github_target(&self, row: &SessionRow) -> Result<(Endpoints, String, RepoRef)> {
        let (ep, remote, url, repo_ref) = self.session_remote(row)?;
        match repo_ref {
            Some(r) => Ok((ep, remote, r)),
            None => Err(GithubError::NotGithub {
                path: row.worktree.display().to_string(),
                remote,
                url,
                host: ep.host(),
            }
            .into()),
        }
    }

    /// Opens the session's pull request: pushes the branch first (one action), then creates
    /// it, or links the one already open for the branch.
    pub fn create_pull(&self, id: i64, req: &CreatePullRequest) -> Result<PullCreated> {
        let row = self.active_row(id)?;
        if req.title.trim().is_empty() {
            return Err(GroveError::Invalid("a pull request needs a title".into()));
        }
        let (ep, remote, repo_ref) = self.github_target(&row)?;
        let host = ep.host();
        let token = self.require_token(&host)?;
        self.push_row(&row, &ep, &remote, Some(&repo_ref), false)?;
        let base = req
            .base
            .clone()
            .filter(|b| !b.trim().is_empty())
            .unwrap_or_else(|| base_branch(&row.base, &remote));
        let created = self.with_github(&host, || {
            Ok(pulls::create(
                &self.gh().http,
                &ep,
                &token,
                &repo_ref,
                &NewPull {
                    title: req.title.trim(),
                    body: req.body.as_deref().unwrap_or_default(),
                    head: &row.branch,
                    base: &base,
                    draft: req.draft,
                },
            )?)
        })?;
        let (number, existed) = match created {
            Created::New(n) => (n, false),
            Created::Existing(n) => (n, true),
        };
        let pull = self.fetch_pull(&ep, &token, &repo_ref, number)?;
        tracing::info!(session = %row.name, number, existed, "pull request linked");
        self.record_pull(row.id, pull.clone());
        Ok(PullCreated { pull, existed })
    }

    /// Reads a pull request's status; a rejected token signs out.
    fn fetch_pull(
        &self,
        ep: &Endpoints,
        token: &SecretString,
        repo_ref: &RepoRef,
        number: u64,
    ) -> Result<PullStatus> {
        self.with_github(&ep.host(), || {
            Ok(pulls::status(&self.gh().http, ep, token, repo_ref, number)?)
        })
    }

    /// The session's pull request as GitHub has it now (finding one opened elsewhere for the
    /// branch when none is linked yet).
    pub fn pull_status(&self, id: i64) -> Result<PullStatus> {
        let row = self.session_row(id)?;
        let (ep, _, repo_ref) = self.github_target(&row)?;
        let host = ep.host();
        let token = self.require_token(&host)?;
        let known = self.gh().pulls.lock().get(&id).map(|p| p.number);
        let number = match known {
            Some(n) => n,
            None => self
                .with_github(&host, || {
                    Ok(pulls::find_open(
                        &self.gh().http,
                        &ep,
                        &token,
                        &repo_ref,
                        &row.branch,
                    )?)
                })?
                .ok_or_else(|| GroveError::NotFound {
                    what: "pull request for session",
                    id: format!("{} (open one with `grove pr create`)", row.name),
                })?,
        };
        let pull = self.fetch_pull(&ep, &token, &repo_ref, number)?;
        self.record_pull(id, pull.clone());
        Ok(pull)
    }

    /// Keeps a pull request's status and tells the UIs when it changed.
    fn record_pull(&self, session_id: i64, pull: PullStatus) {
        let before = self.gh().pulls.lock().insert(session_id, pull.clone());
        let changed = before.as_ref().is_none_or(|b| {
            let mut b = b.clone();
            b.checked_at = pull.checked_at;
            b != pull
        });
        if let Ok(json) = serde_json::to_string(&pull)
            && let Err(e) = self.db().set_pull(session_id, &json)
        {
            tracing::warn!(error = %e, session_id, "cannot save the pull request's status");
        }
        if changed && let Ok(session) = self.session(session_id) {
            self.ctx().emit(Event::SessionUpdated { session });
        }
    }

    pub(super) fn pull_of(&self, session_id: i64) -> Option<PullStatus> {
        self.gh().pulls.lock().get(&session_id).cloned()
    }

    /// Loads the saved pull request statuses (at open).
    pub(super) fn load_pulls(&self) -> Result<()> {
        let rows = self.db().pulls()?;
        let mut pulls = self.gh().pulls.lock();
        for (id, json) in rows {
            if let Ok(p) = serde_json::from_str::<PullStatus>(&json) {
                pulls.insert(id, p);
            }
        }
        Ok(())
    }

    /// Follows open pull requests: every poll interval, each active session's open or draft pull
    /// request is checked (answers cached by ETag cost no rate limit), pausing while the rate
    /// limit is nearly used up.
    pub(super) fn spawn_pull_poller(&self) {
        let weak = Arc::downgrade(&self.inner);
        let every = self.gh().poll;
        self.inner.runtime.spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            tick.tick().await;
            loop {
                tick.tick().await;
                let Some(inner) = weak.upgrade() else { return };
                let grove = Grove { inner };
                if grove.ctx().shutting_down.load(Ordering::SeqCst) {
                    return;
                }
                let _ = tokio::task::spawn_blocking(move || grove.poll_pulls()).await;
            }
        });
    }

    fn poll_pulls(&self) {
        if self.vault().state() != VaultState::Unlocked {
            return;
        }
        let open: Vec<i64> = self
            .gh()
            .pulls
            .lock()
            .iter()
            .filter(|(_, p)| matches!(p.state, PullState::Open | PullState::Draft))
            .map(|(id, _)| *id)
            .collect();
        for id in open {
            let Ok(row) = self.session_row(id) else {
                continue;
            };
            if row.state != RowState::Active {
                continue;
            }
            let api_host = self
                .repo_row(row.repo_id)
                .ok()
                .and_then(|r| self.endpoints_for(&r.path).ok())
                .map(|e| crate::github::host_of(&e.api));
            if let Some(rate) = api_host.and_then(|h| self.gh().http.rate_limit(&h))
                && rate.remaining < 50
                && rate.reset > crate::db::now_secs()
            {
                tracing::info!(
                    reset = rate.reset,
                    "GitHub rate limit nearly used: pull request checks wait"
                );
                return;
            }
            match self.pull_status(id) {
                Ok(_) => {}
                Err(GroveError::Github(
                    GithubError::TokenRejected { .. } | GithubError::SignedOut { .. },
                )) => return,
                Err(e) => {
                    tracing::warn!(session = %row.name, error = %e, "cannot check the pull request")
                }
            }
        }
    }
}

/// The base as a branch name on the remote: `origin/main` → `main`.
fn base_branch(base: &str, remote: &str) -> String {
    base.strip_prefix(&format!("{remote}/"))
        .or_else(|| base.strip_prefix("refs/heads/"))
        .unwrap_or(base)
        .to_owned()
}
