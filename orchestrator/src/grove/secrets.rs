//! The vault and the secrets in it, as Grove's API: unlock, set/list/delete, and the user's
//! choice of which repository's terminals get which secret, under which variable.
//!
//! Values go one way only: from a request into the vault, and from the vault into a terminal's
//! environment at spawn (see `terminals::spawn_program`). Nothing here returns one.

use super::*;
use crate::vault::keychain::Keychain;
use crate::vault::{
    self, ExposeSecret, KeyMaterial, KeySource, SecretString, Vault, VaultError, VaultState,
};
use crate::wire::{ExposeSecretRequest, SecretExposure, SecretInfo, VaultStatus};

/// Variables Grove sets itself in every terminal: a secret cannot take their place.
const GROVE_VARS: &[&str] = &["PORT", "TERM", "COLORTERM"];

/// Refuses a variable name that is not a portable environment name or that Grove owns.
fn check_var(var: &str) -> Result<()> {
    let portable = !var.is_empty()
        && var.len() <= 128
        && !var.as_bytes()[0].is_ascii_digit()
        && var.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if !portable {
        return Err(GroveError::Invalid(format!(
            "`{var}` is not an environment variable name: use letters, digits and `_`, not starting with a digit"
        )));
    }
    if var.starts_with("GROVE_") || GROVE_VARS.contains(&var) {
        return Err(GroveError::Invalid(format!(
            "{var} is set by Grove in every terminal: choose another variable with --as"
        )));
    }
    Ok(())
}

/// Refuses the names Grove keeps for itself (the GitHub token): the secrets API never touches
/// them.
fn refuse_reserved(name: &str) -> Result<()> {
    if name.starts_with(super::github::RESERVED_PREFIX) {
        return Err(GroveError::Invalid(format!(
            "secret names starting with `{}` are Grove's own: choose another name",
            super::github::RESERVED_PREFIX
        )));
    }
    Ok(())
}

impl Grove {
    pub(super) fn vault(&self) -> &dyn Vault {
        self.inner.vault.as_ref()
    }

    pub fn vault_status(&self) -> VaultStatus {
        VaultStatus {
            state: self.vault().state(),
            key_source: self.vault().key_source(),
        }
    }

    /// Unlocks the vault with a passphrase; the first unlock creates it with that passphrase.
    pub fn unlock_vault(&self, passphrase: &SecretString) -> Result<VaultStatus> {
        if self.vault().key_source() == Some(KeySource::Keychain) {
            return Err(GroveError::Invalid(
                "this vault is keyed by the OS keychain, not a passphrase: Grove unlocks it from the keychain at start (`grove serve --vault-keychain`)".into(),
            ));
        }
        if self.vault().state() == VaultState::Uninitialized {
            vault::check_new_passphrase(passphrase)?;
        }
        self.unlock_vault_with(&KeyMaterial::passphrase(passphrase.clone()))
    }

    /// Unlocks (or creates) the vault with any key material (the desktop's keychain secret).
    pub fn unlock_vault_with(&self, key: &KeyMaterial) -> Result<VaultStatus> {
        self.vault().unlock(key)?;
        let status = self.vault_status();
        tracing::info!("vault unlocked");
        self.ctx().emit(Event::VaultChanged {
            status: status.clone(),
        });
        self.remotes_unlocked();
        Ok(status)
    }

    /// On a blocking thread: unlocks the vault from the OS keychain, or creates the vault with
    /// a new master secret there when there is no vault yet. A vault keyed by a passphrase, or
    /// no reachable keychain, leaves it locked (the user is asked instead).
    pub(super) fn spawn_keychain_unlock(&self) {
        let grove = self.clone();
        self.inner.runtime.spawn_blocking(move || {
            if let Err(err) = grove.unlock_from_keychain() {
                tracing::warn!(%err, "the vault stays locked: it could not be opened from the OS keychain");
            }
        });
    }

    /// See [`Grove::spawn_keychain_unlock`]; answers the vault's state afterwards.
    pub fn unlock_from_keychain(&self) -> Result<VaultStatus> {
        let keychain = Keychain::for_data_dir(self.data_dir());
        let unreachable = |e: vault::keychain::KeychainError| GroveError::Invalid(e.to_string());
        match (self.vault().state(), self.vault().key_source()) {
            (VaultState::Unlocked, _) | (_, Some(KeySource::Passphrase)) => {}
            (VaultState::Uninitialized, _) => {
                let secret = match keychain.get().map_err(unreachable)? {
                    Some(secret) => secret,
                    None => keychain.create().map_err(unreachable)?,
                };
                self.unlock_vault_with(&KeyMaterial::keychain(secret))?;
                tracing::info!("vault created with a master secret in the OS keychain");
            }
            (VaultState::Locked, _) => {
                let secret = keychain.get().map_err(unreachable)?.ok_or_else(|| {
                    GroveError::Invalid(
                        "the OS keychain has no master secret for this vault (was it removed?)"
                            .into(),
                    )
                })?;
                self.unlock_vault_with(&KeyMaterial::keychain(secret))?;
            }
        }
        Ok(self.vault_status())
    }

    pub fn lock_vault(&self) -> VaultStatus {
        self.vault().lock();
        self.remotes_locked();
        let status = self.vault_status();
        self.ctx().emit(Event::VaultChanged {
            status: status.clone(),
        });
        status
    }

    /// Re-encrypts the vault under a new passphrase after checking the current one.
    pub fn change_vault_passphrase(
        &self,
        current: &SecretString,
        new: &SecretString,
    ) -> Result<VaultStatus> {
        vault::check_new_passphrase(new)?;
        if self.vault().state() == VaultState::Uninitialized {
            return Err(GroveError::Invalid(
                "there is no vault yet: `grove vault unlock` creates it with a passphrase".into(),
            ));
        }
        self.vault().rekey(
            &KeyMaterial::passphrase(current.clone()),
            &KeyMaterial::passphrase(new.clone()),
        )?;
        tracing::info!("vault passphrase changed");
        let status = self.vault_status();
        self.ctx().emit(Event::VaultChanged {
            status: status.clone(),
        });
        Ok(status)
    }

    /// Every secret's name, when it was set, and where it is exposed (never a value).
    pub fn secrets(&self) -> Result<Vec<SecretInfo>> {
        let metas = self.vault().list()?;
        let exposures = self.db().exposures(None)?;
        Ok(metas
            .into_iter()
            .filter(|m| !m.name.starts_with(super::github::RESERVED_PREFIX))
            .map(|m| SecretInfo {
                exposed: exposures
                    .iter()
                    .filter(|e| e.secret == m.name)
                    .cloned()
                    .collect(),
                name: m.name,
                set_at: m.set_at,
            })
            .collect())
    }

    pub fn set_secret(&self, name: &str, value: &SecretString) -> Result<SecretInfo> {
        refuse_reserved(name)?;
        let meta = self.vault().set(name, value)?;
        tracing::info!(secret = name, "secret set");
        let exposed = self
            .db()
            .exposures(None)?
            .into_iter()
            .filter(|e| e.secret == name)
            .collect();
        self.ctx().emit(Event::SecretsChanged);
        Ok(SecretInfo {
            name: meta.name,
            set_at: meta.set_at,
            exposed,
        })
    }

    /// Deletes a secret and every exposure of it.
    pub fn delete_secret(&self, name: &str) -> Result<()> {
        refuse_reserved(name)?;
        if !self.vault().delete(name)? {
            return Err(GroveError::NotFound {
                what: "secret",
                id: name.to_owned(),
            });
        }
        self.db().remove_exposures_of(name)?;
        tracing::info!(secret = name, "secret deleted");
        self.ctx().emit(Event::SecretsChanged);
        Ok(())
    }

    /// Every exposure (readable while the vault is locked: names only).
    pub fn exposures(&self) -> Result<Vec<SecretExposure>> {
        Ok(self.db().exposures(None)?)
    }

    /// Puts `secret` into the environment of the repository's terminals (from their next start)
    /// as `var` (default: the secret's name).
    pub fn expose_secret(&self, req: &ExposeSecretRequest) -> Result<SecretExposure> {
        let repo = self.repo_row(req.repo_id)?;
        vault::check_name(&req.secret)?;
        refuse_reserved(&req.secret)?;
        let var = req
            .var
            .clone()
            .filter(|v| !v.trim().is_empty())
            .unwrap_or_else(|| req.secret.clone());
        check_var(&var)?;
        if !self.vault().list()?.iter().any(|m| m.name == req.secret) {
            return Err(GroveError::NotFound {
                what: "secret",
                id: req.secret.clone(),
            });
        }
        self.db().set_exposure(repo.id, &var, &req.secret)?;
        tracing::info!(secret = %req.secret, repo = %repo.name, %var, "secret exposed");
        self.ctx().emit(Event::SecretsChanged);
        Ok(SecretExposure {
            repo_id: repo.id,
            secret: req.secret.clone(),
            var,
        })
    }

    pub fn unexpose_secret(&self, repo_id: i64, var: &str) -> Result<()> {
        let repo = self.repo_row(repo_id)?;
        if !self.db().remove_exposure(repo_id, var)? {
            return Err(GroveError::NotFound {
                what: "exposure",
                id: format!("{var} in {}", repo.name),
            });
        }
        self.ctx().emit(Event::SecretsChanged);
        Ok(())
    }

    /// Refuses (with `vault_locked`) to start a program of a repository that has secrets
    /// mapped while the vault is locked: the agent would start without its keys.
    pub(super) fn require_secrets(&self, repo_id: i64) -> Result<()> {
        if self.vault().state() != VaultState::Unlocked
            && !self.db().exposures(Some(repo_id))?.is_empty()
        {
            return Err(VaultError::Locked.into());
        }
        Ok(())
    }

    /// The environment a repository's terminals get from the vault: each exposed variable and
    /// its secret's value. A secret deleted behind the exposure's back is skipped, with a
    /// warning that names it.
    pub(super) fn secret_env(&self, repo_id: i64) -> Result<Vec<(String, SecretString)>> {
        let exposures = self.db().exposures(Some(repo_id))?;
        let mut env = Vec::with_capacity(exposures.len());
        for e in exposures {
            match self.vault().get(&e.secret)? {
                Some(value) => env.push((e.var, value)),
                None => {
                    tracing::warn!(secret = %e.secret, var = %e.var, "an exposed secret is no longer in the vault; not set")
                }
            }
        }
        Ok(env)
    }
}

/// How a secret's value goes into a terminal's options (the one place it leaves its wrapper).
pub(super) fn exposed(value: &SecretString) -> &str {
    value.expose_secret()
}
