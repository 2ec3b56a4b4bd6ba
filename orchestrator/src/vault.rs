//! The vault: where the user's secrets (agents' API keys, tokens) live, encrypted at rest.
//!
//! # How it works
//!
//! [`Vault`] is a small trait so that the backend can change (upstream Stronghold is not carried
//! into Tauri 3); [`StrongholdVault`] is the one backend: an `iota_stronghold` snapshot at
//! `<data dir>/vault.stronghold`. Its 32-byte key is derived with Argon2id ([`kdf`]) from key
//! material (a passphrase, or a random master secret kept in the OS keychain) and a random
//! per-vault salt; salt, parameters and a check value live beside the snapshot in
//! `vault.kdf.json`, written atomically. The check value tells a wrong passphrase (the vault is
//! not touched) from a snapshot that the right key cannot read (corrupt: it is named and kept,
//! never overwritten).
//!
//! The vault starts locked. Only the calls that need a secret fail while it is locked; values
//! leave it only as [`SecretString`]s on their way into a terminal's environment. No method
//! returns a value to a client, and no error message carries one.

pub mod kdf;
pub mod keychain;
mod stronghold;

use std::path::PathBuf;

pub use secrecy::{ExposeSecret, SecretString};
pub use stronghold::StrongholdVault;

pub use crate::wire::{KeySource, VaultState};

/// Longest secret name.
pub const MAX_NAME_LEN: usize = 64;
/// Largest secret value (bytes).
pub const MAX_VALUE_LEN: usize = 64 * 1024;
/// Shortest passphrase Grove accepts for a new vault.
pub const MIN_PASSPHRASE_LEN: usize = 8;

/// Key material for the vault: a passphrase or the keychain's master secret. Never printed.
pub struct KeyMaterial {
    source: KeySource,
    bytes: SecretString,
}

impl KeyMaterial {
    pub fn passphrase(passphrase: SecretString) -> KeyMaterial {
        KeyMaterial {
            source: KeySource::Passphrase,
            bytes: passphrase,
        }
    }

    /// A master secret from the OS keychain (hex of 32 random bytes).
    pub fn keychain(secret: SecretString) -> KeyMaterial {
        KeyMaterial {
            source: KeySource::Keychain,
            bytes: secret,
        }
    }

    pub fn source(&self) -> KeySource {
        self.source
    }

    pub(crate) fn expose(&self) -> &[u8] {
        self.bytes.expose_secret().as_bytes()
    }
}

impl std::fmt::Debug for KeyMaterial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "KeyMaterial({:?}, [redacted])", self.source)
    }
}

/// A secret's name and when it was last set (ms since the epoch). Never its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretMeta {
    pub name: String,
    pub set_at: i64,
}

/// What went wrong with the vault. No variant carries a secret value.
#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    #[error(
        "the vault is locked: unlock it in Grove or with `grove vault unlock` (or start the server with --vault-passphrase-file)"
    )]
    Locked,
    #[error("wrong passphrase: the vault was not changed")]
    WrongPassphrase,
    #[error(
        "the vault file {path} cannot be read ({reason}); it was left as it is: restore it from a backup, or move it (and vault.kdf.json) aside to start a new vault"
    )]
    Corrupt { path: PathBuf, reason: String },
    #[error("{0}")]
    Invalid(String),
    #[error("vault file {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the vault engine failed: {0}")]
    Engine(String),
}

/// The vault's interface. Implementations are internally synchronised.
pub trait Vault: Send + Sync + std::fmt::Debug {
    fn state(&self) -> VaultState;
    /// The source of the key material of an existing vault (None when there is none yet).
    fn key_source(&self) -> Option<KeySource>;
    /// Opens the vault with `key`; creates it when there is none yet. Unlocking an unlocked vault
    /// checks `key` again (and answers [`VaultError::WrongPassphrase`] when it does not match).
    fn unlock(&self, key: &KeyMaterial) -> Result<(), VaultError>;
    /// Forgets the key and every value held in memory.
    fn lock(&self);
    /// Re-encrypts the vault under `new` (a fresh salt), after checking `current`. The new
    /// snapshot is written beside the old one and renamed over it only once it is on disk.
    fn rekey(&self, current: &KeyMaterial, new: &KeyMaterial) -> Result<(), VaultError>;
    fn list(&self) -> Result<Vec<SecretMeta>, VaultError>;
    fn set(&self, name: &str, value: &SecretString) -> Result<SecretMeta, VaultError>;
    /// Removes a secret; `false` when there was none by that name.
    fn delete(&self, name: &str) -> Result<bool, VaultError>;
    /// A value, for a terminal's environment only.
    fn get(&self, name: &str) -> Result<Option<SecretString>, VaultError>;
}

/// Refuses a name that is empty, too long, or not made of `A-Z a-z 0-9 _ . -`.
pub fn check_name(name: &str) -> Result<(), VaultError> {
    let ok = !name.is_empty()
        && name.len() <= MAX_NAME_LEN
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(VaultError::Invalid(format!(
            "secret names are 1 to {MAX_NAME_LEN} characters of A-Z, a-z, 0-9, `_`, `.` and `-`"
        )))
    }
}

/// Refuses a value that cannot go into an environment variable. The message never quotes it.
pub fn check_value(value: &SecretString) -> Result<(), VaultError> {
    let v = value.expose_secret();
    if v.is_empty() {
        return Err(VaultError::Invalid("the secret's value is empty".into()));
    }
    if v.len() > MAX_VALUE_LEN {
        return Err(VaultError::Invalid(format!(
            "the secret's value is longer than {MAX_VALUE_LEN} bytes"
        )));
    }
    if v.contains('\0') {
        return Err(VaultError::Invalid(
            "the secret's value contains a NUL byte, which no environment variable can hold".into(),
        ));
    }
    Ok(())
}

/// Refuses a passphrase too short to protect a new vault.
pub fn check_new_passphrase(passphrase: &SecretString) -> Result<(), VaultError> {
    if passphrase.expose_secret().chars().count() < MIN_PASSPHRASE_LEN {
        return Err(VaultError::Invalid(format!(
            "a vault passphrase needs at least {MIN_PASSPHRASE_LEN} characters"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
