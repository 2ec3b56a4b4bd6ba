//! The remote servers this Grove relays: kept in the database, each token in the vault
//! (`grove.remote.<name>`), followed by [`Remotes`].

use secrecy::{ExposeSecret, SecretString};

use super::Grove;
use super::github::RESERVED_PREFIX;
use crate::db::RemoteRow;
use crate::error::{GroveError, Result};
use crate::remote::link::{LinkError, Route};
use crate::remote::manager::{Target, check_name, parse_target};
use crate::remote::tls::{self, ConnectError, Fingerprint, Trust};
use crate::remote::{RemoteSpec, Remotes};
use crate::vault::VaultState;
use crate::wire::{AddRemoteRequest, ErrorCode, Remote, Session};

/// The vault name of a remote's token.
fn token_name(name: &str) -> String {
    format!("{RESERVED_PREFIX}remote.{name}")
}

fn remote_error(code: ErrorCode, message: impl Into<String>) -> GroveError {
    GroveError::Remote {
        code,
        message: message.into(),
    }
}

/// A link failure while adding a remote, as the error the user sees.
fn add_error(url: &str, err: LinkError) -> GroveError {
    remote_error(err.code(), format!("{url}: {err}"))
}

fn spec_of(row: &RemoteRow) -> RemoteSpec {
    RemoteSpec {
        name: row.name.clone(),
        url: row.url.clone(),
        remote_port: row.remote_port,
        fingerprint: row.fingerprint.as_deref().and_then(|f| f.parse().ok()),
    }
}

impl Grove {
    pub fn remotes(&self) -> &Remotes {
        &self.inner.remotes
    }

    /// Follows every stored remote (with its token when the vault is open).
    pub(super) fn start_remotes(&self) -> Result<()> {
        let rows = self.db().remotes()?;
        for row in rows {
            let token = self.remote_token(&row.name);
            if let Err(err) = self.remotes().start(spec_of(&row), token) {
                tracing::warn!(remote = %row.name, %err, "a stored remote cannot be followed");
            }
        }
        Ok(())
    }

    fn remote_token(&self, name: &str) -> Option<SecretString> {
        if self.vault().state() != VaultState::Unlocked {
            return None;
        }
        self.vault().get(&token_name(name)).ok().flatten()
    }

    /// After the vault was unlocked: hands each remote its token.
    pub(super) fn remotes_unlocked(&self) {
        for name in self.remotes().names() {
            let token = self.remote_token(&name);
            self.remotes().set_token(&name, token);
        }
    }

    /// After the vault was locked: remotes let go of their tokens and wait for an unlock.
    pub(super) fn remotes_locked(&self) {
        let Ok(rows) = self.db().remotes() else {
            return;
        };
        for row in rows {
            let _ = self.remotes().start(spec_of(&row), None);
        }
    }

    pub fn list_remotes(&self) -> Vec<Remote> {
        self.remotes().list()
    }

    /// Adds a remote: checks the name and URL, pins the certificate it presents now (trust on
    /// first use) unless a fingerprint is given or the system's roots trust it, checks the token
    /// with the remote when it can be reached, and keeps the token in the vault.
    pub async fn add_remote(&self, req: AddRemoteRequest) -> Result<Remote> {
        check_name(&req.name).map_err(GroveError::Invalid)?;
        let target = parse_target(&req.url, req.remote_port).map_err(GroveError::Invalid)?;
        let token = req.token.0.expose_secret().trim().to_owned();
        if token.is_empty() || !token.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(GroveError::Invalid(
                "the remote's token is empty or has spaces or control characters: give the token the remote `grove serve` uses (its --token-file)".into(),
            ));
        }
        let token = SecretString::from(token);
        if self.vault().state() != VaultState::Unlocked {
            return Err(crate::vault::VaultError::Locked.into());
        }
        if self.remotes().get(&req.name).is_some() {
            return Err(remote_error(
                ErrorCode::RemoteExists,
                format!(
                    "a remote named `{}` exists already: remove it first (`grove remote rm {}`) or pick another name",
                    req.name, req.name
                ),
            ));
        }
        let given: Option<Fingerprint> = req
            .fingerprint
            .as_deref()
            .filter(|f| !f.trim().is_empty())
            .map(|f| f.trim().parse::<Fingerprint>())
            .transpose()
            .map_err(GroveError::Invalid)?;
        let fingerprint = match &target {
            Target::Ssh { .. } => {
                if given.is_some() {
                    return Err(GroveError::Invalid(
                        "an ssh:// remote is authenticated by SSH's host key; it takes no TLS fingerprint".into(),
                    ));
                }
                None
            }
            Target::Https { host, port } => {
                let pin = match given {
                    Some(fp) => Some(fp),
                    None => {
                        let probe = tls::probe(host, *port, crate::remote::link::DIAL_TIMEOUT)
                            .await
                            .map_err(|e| {
                                remote_error(
                                    ErrorCode::RemoteOffline,
                                    format!(
                                        "{}: could not read its certificate to pin it: {e}. Start the remote, or pass its fingerprint (`grove serve --tls-self-signed` prints it) to add it while it is offline",
                                        req.url
                                    ),
                                )
                            })?;
                        (!probe.system_trusted).then_some(probe.fingerprint)
                    }
                };
                let route = Route::Tls {
                    host: host.clone(),
                    port: *port,
                    trust: pin.map_or(Trust::SystemRoots, Trust::Pinned),
                };
                let checked = async {
                    route.health(&token).await?;
                    route.get_json::<Vec<Session>>("/sessions", &token).await
                }
                .await;
                match checked {
                    Ok(_) => {}
                    // Offline with a fingerprint given: added, and connected once it is up.
                    Err(LinkError::Connect(
                        ConnectError::Unreachable { .. }
                        | ConnectError::Timeout { .. }
                        | ConnectError::Resolve { .. },
                    )) if given.is_some() => {}
                    Err(e) => return Err(add_error(&req.url, e)),
                }
                pin
            }
        };
        let row = RemoteRow {
            name: req.name.clone(),
            url: req.url.clone(),
            remote_port: req
                .remote_port
                .filter(|_| matches!(target, Target::Ssh { .. })),
            fingerprint: fingerprint.map(|f| f.to_string()),
        };
        let grove = self.clone();
        let stored_token = token.clone();
        let stored = tokio::task::spawn_blocking(move || -> Result<RemoteRow> {
            if !grove.db().add_remote(&row)? {
                return Err(remote_error(
                    ErrorCode::RemoteExists,
                    format!("a remote named `{}` exists already", row.name),
                ));
            }
            if let Err(e) = grove.vault().set(&token_name(&row.name), &stored_token) {
                let _ = grove.db().remove_remote(&row.name);
                return Err(e.into());
            }
            Ok(row)
        })
        .await
        .map_err(|e| GroveError::Io(std::io::Error::other(e)))??;
        tracing::info!(remote = %stored.name, url = %stored.url, fingerprint = ?stored.fingerprint, "remote added");
        self.remotes()
            .start(spec_of(&stored), Some(token))
            .map_err(GroveError::Invalid)
    }

    /// Forgets a remote: its connections close, its token leaves the vault.
    pub fn remove_remote(&self, name: &str) -> Result<()> {
        let in_db = self.db().remove_remote(name)?;
        let followed = self.remotes().remove(name);
        if !in_db && !followed {
            return Err(GroveError::NotFound {
                what: "remote",
                id: name.to_owned(),
            });
        }
        if self.vault().state() == VaultState::Unlocked {
            self.vault().delete(&token_name(name))?;
        } else {
            tracing::warn!(remote = %name, "removed while the vault is locked: its token stays in the vault until it is deleted there");
        }
        Ok(())
    }
}
