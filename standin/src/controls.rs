//! The controls tests use to set the scene: tokens, repositories, statuses, check runs, pull
//! request states, reviews and device-flow decisions. [`crate::Standin`] and the admin endpoints
//! both call these.

use std::collections::HashMap;
use std::path::PathBuf;

use crate::state::{CheckRun, DeviceState, Repo, Review, Status, Token, repo_key, timestamp};
use crate::{RecordedRequest, Shared, git};

impl Shared {
    /// Makes `token` valid for the API and for git, as `login` with `scopes`.
    pub(crate) fn add_token(&self, token: &str, login: &str, scopes: &[&str]) {
        let mut state = self.state.lock();
        state.user_id(login);
        state.tokens.insert(
            token.to_owned(),
            Token {
                login: login.to_owned(),
                scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
            },
        );
    }

    /// From now on `token` gets 401 from the API and git.
    pub(crate) fn revoke_token(&self, token: &str) {
        self.state.lock().tokens.remove(token);
    }

    /// Creates an empty bare repository `{root}/{owner}/{name}.git` (default branch `main`,
    /// pushes over HTTP enabled) and returns its path. Creating one that exists keeps it.
    pub(crate) fn create_repo(&self, owner: &str, name: &str) -> std::io::Result<PathBuf> {
        if !valid_name(owner) || !valid_name(name) {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!(
                    "{owner:?}/{name:?} is not a repository name: use letters, digits, '.', '-' and '_'"
                ),
            ));
        }
        let path = self.repo_path(owner, name);
        if !path.join("HEAD").exists() {
            std::fs::create_dir_all(&path)?;
            run(git::std_command(&path)
                .args(["init", "--quiet", "--bare", "--initial-branch=main"])
                .arg(&path))?;
        }
        run(git::std_command(&path).args(["config", "http.receivepack", "true"]))?;
        let mut state = self.state.lock();
        if !state.repos.contains_key(&repo_key(owner, name)) {
            let id = state.next_id();
            state.user_id(owner);
            state.repos.insert(
                repo_key(owner, name),
                Repo {
                    id,
                    owner: owner.to_owned(),
                    name: name.to_owned(),
                    draft_supported: true,
                    next_number: 0,
                    pulls: Vec::new(),
                    statuses: HashMap::new(),
                    check_runs: HashMap::new(),
                },
            );
        }
        Ok(path)
    }

    /// The URL to clone `owner/name` from, `{url}/{owner}/{name}.git`.
    pub(crate) fn clone_url(&self, owner: &str, name: &str) -> String {
        format!("{}/{owner}/{name}.git", self.url)
    }

    /// Sets the commit status `context` on `sha` (a sha or a branch name) to `state`
    /// (`pending`, `success`, `failure` or `error`), replacing an earlier one of that context.
    /// False when the repository is unknown.
    pub(crate) fn set_status(
        &self,
        owner: &str,
        repo: &str,
        sha: &str,
        context: &str,
        state: &str,
        target_url: Option<&str>,
    ) -> bool {
        let sha = self.resolve(owner, repo, sha);
        let mut guard = self.state.lock();
        let Some(repo) = guard.repo_mut(owner, repo) else {
            return false;
        };
        let status = Status {
            context: context.to_owned(),
            state: state.to_owned(),
            target_url: target_url.map(str::to_owned),
        };
        let list = repo.statuses.entry(sha).or_default();
        match list.iter_mut().find(|s| s.context == context) {
            Some(old) => *old = status,
            None => list.push(status),
        }
        true
    }

    /// Sets the check run `name` on `sha` (a sha or a branch name): `status` is `queued`,
    /// `in_progress` or `completed`, `conclusion` (`success`, `failure`, …) only when completed.
    /// False when the repository is unknown.
    #[allow(clippy::too_many_arguments)] // One argument per field of GitHub's check run.
    pub(crate) fn set_check_run(
        &self,
        owner: &str,
        repo: &str,
        sha: &str,
        name: &str,
        status: &str,
        conclusion: Option<&str>,
        html_url: Option<&str>,
    ) -> bool {
        let sha = self.resolve(owner, repo, sha);
        let mut guard = self.state.lock();
        let id = guard.next_id();
        let Some(repo) = guard.repo_mut(owner, repo) else {
            return false;
        };
        let list = repo.check_runs.entry(sha).or_default();
        let run = CheckRun {
            id,
            name: name.to_owned(),
            status: status.to_owned(),
            conclusion: conclusion.map(str::to_owned),
            html_url: html_url.map(str::to_owned),
        };
        match list.iter_mut().find(|r| r.name == name) {
            Some(old) => *old = CheckRun { id: old.id, ..run },
            None => list.push(run),
        }
        true
    }

    /// Changes pull request `number`: `state` `open`/`closed`, `merged` (true also closes it),
    /// `draft`. `None` leaves a field as it is. False when there is no such pull request.
    pub(crate) fn set_pull(
        &self,
        owner: &str,
        repo: &str,
        number: u64,
        state: Option<&str>,
        merged: Option<bool>,
        draft: Option<bool>,
    ) -> bool {
        let mut guard = self.state.lock();
        let Some(pull) = guard.pull_mut(owner, repo, number) else {
            return false;
        };
        if let Some(state) = state {
            pull.open = state == "open";
        }
        if let Some(merged) = merged {
            if merged {
                pull.open = false;
                pull.merged_at.get_or_insert_with(timestamp);
            } else {
                pull.merged_at = None;
            }
        }
        if let Some(draft) = draft {
            pull.draft = draft;
        }
        pull.updated_at = timestamp();
        true
    }

    /// Adds a review by `login` (`APPROVED`, `CHANGES_REQUESTED` or `COMMENTED`) to pull request
    /// `number`. False when there is no such pull request.
    pub(crate) fn add_review(
        &self,
        owner: &str,
        repo: &str,
        number: u64,
        login: &str,
        state: &str,
    ) -> bool {
        let mut guard = self.state.lock();
        let id = guard.next_id();
        guard.user_id(login);
        let Some(pull) = guard.pull_mut(owner, repo, number) else {
            return false;
        };
        pull.reviews.push(Review {
            id,
            login: login.to_owned(),
            state: state.to_owned(),
            submitted_at: timestamp(),
        });
        true
    }

    /// Whether `draft: true` is accepted when creating pull requests in `owner/repo` (GitHub
    /// refuses drafts in private repositories on free plans). False when the repository is unknown.
    pub(crate) fn set_draft_supported(&self, owner: &str, repo: &str, yes: bool) -> bool {
        match self.state.lock().repo_mut(owner, repo) {
            Some(repo) => {
                repo.draft_supported = yes;
                true
            }
            None => false,
        }
    }

    /// Approves the device code shown as `user_code`: the next poll gets a token for `login`.
    /// False when no pending device code has that user code.
    pub(crate) fn approve_device(&self, user_code: &str, login: &str, scopes: &[&str]) -> bool {
        self.set_device(
            user_code,
            DeviceState::Approved {
                login: login.to_owned(),
                scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
            },
        )
    }

    /// The user declined: the next poll gets `access_denied`.
    pub(crate) fn deny_device(&self, user_code: &str) -> bool {
        self.set_device(user_code, DeviceState::Denied)
    }

    /// The code ran out: the next poll gets `expired_token`.
    pub(crate) fn expire_device(&self, user_code: &str) -> bool {
        self.set_device(user_code, DeviceState::Expired)
    }

    /// The polling interval given to new device codes, in seconds (1 by default; GitHub says 5).
    pub(crate) fn set_device_interval(&self, secs: u64) {
        self.state.lock().device_interval = secs;
    }

    /// The user codes of device codes still waiting for the user, oldest first.
    pub(crate) fn pending_user_codes(&self) -> Vec<String> {
        let state = self.state.lock();
        let mut pending: Vec<_> = state
            .devices
            .values()
            .filter(|d| d.state == DeviceState::Pending)
            .collect();
        pending.sort_by_key(|d| d.issued);
        pending.iter().map(|d| d.user_code.clone()).collect()
    }

    /// Every request answered so far, oldest first (admin endpoints excluded).
    pub(crate) fn requests(&self) -> Vec<RecordedRequest> {
        self.state.lock().requests.clone()
    }

    /// The OAuth app's credentials the token endpoint checks.
    pub(crate) fn set_oauth_client(&self, client_id: &str, client_secret: &str) {
        let mut state = self.state.lock();
        state.client_id = client_id.to_owned();
        state.client_secret = client_secret.to_owned();
    }

    /// Whom the web flow's authorize page signs in (`octocat` by default).
    pub(crate) fn set_web_login(&self, login: &str) {
        self.state.lock().web_login = login.to_owned();
    }

    fn set_device(&self, user_code: &str, to: DeviceState) -> bool {
        let mut state = self.state.lock();
        match state.devices.values_mut().find(|d| {
            d.user_code.eq_ignore_ascii_case(user_code) && d.state == DeviceState::Pending
        }) {
            Some(device) => {
                device.state = to;
                true
            }
            None => false,
        }
    }

    /// A branch name or short sha resolved in the bare repository, or `name` as given.
    fn resolve(&self, owner: &str, repo: &str, name: &str) -> String {
        let known = self.state.lock().repos.contains_key(&repo_key(owner, repo));
        if !known {
            return name.to_owned();
        }
        git::resolve_blocking(&self.repo_path(owner, repo), name).unwrap_or_else(|| name.to_owned())
    }
}

/// Names GitHub would take for an owner or a repository (and safe as one path component).
fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name != "."
        && name != ".."
        && !name.ends_with(".git")
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
}

fn run(cmd: &mut std::process::Command) -> std::io::Result<()> {
    let status = cmd.status()?;
    if status.success() {
        Ok(())
    } else {
        Err(std::io::Error::other(format!(
            "{cmd:?} failed with {status}"
        )))
    }
}
