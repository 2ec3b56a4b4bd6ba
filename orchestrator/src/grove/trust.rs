//! Approving a repository's `grove.toml` (see [`crate::trust`]): what the UI and CLI show, the
//! approval itself, and the one place session creation gets a config from.

use super::*;
use crate::trust::{self, Approval, Trusted, Untrusted};
use crate::wire::{RepoConfigView, RepoTrust, TrustRequest, TrustState};

fn view(c: &RepoConfig) -> RepoConfigView {
    RepoConfigView {
        setup: c.setup.clone(),
        copy: c.copy.clone(),
        agent: c.agent.clone(),
        env: c.env.clone(),
    }
}

impl Grove {
    /// The repository's config in its HEAD commit and whether the user approved it.
    pub fn repo_trust(&self, repo_id: i64) -> Result<RepoTrust> {
        let repo = self.repo_row(repo_id)?;
        let head = repo_config::load_head(&repo.path)?;
        let approval = self.db().approval(repo_id)?;
        Ok(self.trust_wire(&repo, head.as_ref(), approval.as_ref()))
    }

    fn trust_wire(
        &self,
        repo: &crate::db::RepoRow,
        head: Option<&RepoConfig>,
        approval: Option<&Approval>,
    ) -> RepoTrust {
        let empty = RepoConfig::default();
        let config = head.unwrap_or(&empty);
        let state = match head.map(|c| trust::check(c, approval)) {
            None => TrustState::None,
            Some(Ok(_)) => TrustState::Trusted,
            Some(Err(Untrusted::New)) => TrustState::Untrusted,
            Some(Err(Untrusted::Changed)) => TrustState::Changed,
        };
        let allowed = match (state, approval) {
            (TrustState::Trusted, Some(a)) => a.allow_env.clone(),
            _ => Default::default(),
        };
        RepoTrust {
            repo_id: repo.id,
            state,
            hash: head.map(trust::hash).unwrap_or_default(),
            config: view(config),
            approved: approval.map(|a| view(&a.config)),
            dangerous_env: trust::code_loading_keys(config),
            allowed_env: allowed.iter().cloned().collect(),
            default_command: config
                .agent
                .clone()
                .unwrap_or_else(|| self.inner.shell.clone()),
            summary: match head {
                Some(c) => trust::summary(&repo.name, c, approval.map(|a| &a.config), &allowed),
                None => format!(
                    "{} has no grove.toml in its HEAD commit: nothing to approve.\n",
                    repo.name
                ),
            },
        }
    }

    /// Approves the config whose hash the user was shown, letting through the code-loading
    /// environment keys named in `req.allow_env`.
    pub fn trust_repo(&self, repo_id: i64, req: &TrustRequest) -> Result<RepoTrust> {
        let repo = self.repo_row(repo_id)?;
        let Some(head) = repo_config::load_head(&repo.path)? else {
            return Err(GroveError::Invalid(format!(
                "{} has no grove.toml in its HEAD commit: there is nothing to approve",
                repo.name
            )));
        };
        let hash = trust::hash(&head);
        if req.hash != hash {
            return Err(GroveError::ConfigChanged { repo: repo.name });
        }
        let allow_env =
            trust::check_allow_env(&head, &req.allow_env).map_err(GroveError::Invalid)?;
        let approval = Approval {
            hash,
            allow_env,
            config: head.clone(),
        };
        self.db().set_approval(repo_id, &approval)?;
        tracing::info!(repo = %repo.name, "grove.toml approved");
        let trust = self.trust_wire(&repo, Some(&head), Some(&approval));
        self.ctx().emit(Event::RepoTrustChanged {
            trust: trust.clone(),
        });
        Ok(trust)
    }

    /// Revokes the approval: new sessions are refused until the config is approved again, and
    /// new terminals of existing sessions get none of its environment.
    pub fn untrust_repo(&self, repo_id: i64) -> Result<RepoTrust> {
        let repo = self.repo_row(repo_id)?;
        self.db().remove_approval(repo_id)?;
        let head = repo_config::load_head(&repo.path)?;
        let trust = self.trust_wire(&repo, head.as_ref(), None);
        self.ctx().emit(Event::RepoTrustChanged {
            trust: trust.clone(),
        });
        Ok(trust)
    }

    /// The config a new session of `repo` applies: HEAD's `grove.toml` when the user approved
    /// exactly it, nothing when there is none, else `untrusted_config` with what it would do.
    pub(super) fn trusted_config(&self, repo: &crate::db::RepoRow) -> Result<Trusted> {
        let Some(head) = repo_config::load_head(&repo.path)? else {
            return Ok(Trusted::nothing());
        };
        let approval = self.db().approval(repo.id)?;
        trust::check(&head, approval.as_ref()).map_err(|why| GroveError::UntrustedConfig {
            repo: repo.name.clone(),
            why: match why {
                Untrusted::New => "not approved yet",
                Untrusted::Changed => "not the version you approved",
            },
            summary: trust::summary(
                &repo.name,
                &head,
                approval.as_ref().map(|a| &a.config),
                &Default::default(),
            ),
        })
    }

    /// The approved config's environment for a session's terminals (code-loading keys only
    /// where the approval names them); empty when the repository's config is not approved.
    pub(super) fn approved_env(&self, repo_id: i64) -> Vec<(String, String)> {
        match self.db().approval(repo_id) {
            Ok(Some(a)) => Trusted::from_approval(&a)
                .config()
                .env
                .clone()
                .into_iter()
                .collect(),
            Ok(None) => Vec::new(),
            Err(err) => {
                tracing::warn!(%err, "could not read the repository's approval");
                Vec::new()
            }
        }
    }
}
