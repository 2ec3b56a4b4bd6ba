//! The OS keychain as the vault's key material (macOS Keychain, Windows Credential Manager, the
//! Secret Service on Linux desktops, through `keyring`): a random 32-byte master secret, one per
//! data dir, created the first time and read back at every start.
//!
//! Every call may block on the OS (D-Bus on Linux): callers run it off the async runtime.

use std::path::Path;

use super::SecretString;

/// The keychain's service name for Grove's vault.
const SERVICE: &str = "dev.grove.vault";

/// Why the keychain could not be used. Never carries the secret.
#[derive(Debug, thiserror::Error)]
pub enum KeychainError {
    #[error("no OS keychain is reachable ({0})")]
    Unreachable(String),
    #[error("the OS keychain failed: {0}")]
    Failed(String),
}

/// The keychain entry of one data dir.
#[derive(Debug, Clone)]
pub struct Keychain {
    account: String,
}

impl Keychain {
    /// The entry for the data dir `root` (its path is the entry's account name, so each data dir
    /// has its own master secret).
    pub fn for_data_dir(root: &Path) -> Keychain {
        Keychain {
            account: root.display().to_string(),
        }
    }

    fn entry(&self) -> Result<keyring::Entry, KeychainError> {
        keyring::Entry::new(SERVICE, &self.account).map_err(classify)
    }

    /// The master secret, or `None` when the keychain has none for this data dir.
    pub fn get(&self) -> Result<Option<SecretString>, KeychainError> {
        match self.entry()?.get_password() {
            Ok(secret) => Ok(Some(SecretString::from(secret))),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(classify(e)),
        }
    }

    /// Makes a new random master secret, stores it, and reads it back (a keychain that accepts a
    /// write but cannot give it back would lock the vault away for good).
    pub fn create(&self) -> Result<SecretString, KeychainError> {
        let mut bytes = zeroize::Zeroizing::new([0u8; 32]);
        getrandom::fill(bytes.as_mut())
            .map_err(|e| KeychainError::Failed(format!("no randomness: {e}")))?;
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        let secret = SecretString::from(hex);
        use secrecy::ExposeSecret;
        self.entry()?
            .set_password(secret.expose_secret())
            .map_err(classify)?;
        match self.get()? {
            Some(back) if back.expose_secret() == secret.expose_secret() => Ok(secret),
            _ => Err(KeychainError::Failed(
                "the keychain did not give back the secret just stored".into(),
            )),
        }
    }
}

fn classify(e: keyring::Error) -> KeychainError {
    match e {
        keyring::Error::PlatformFailure(inner) => KeychainError::Unreachable(inner.to_string()),
        keyring::Error::NoStorageAccess(inner) => KeychainError::Unreachable(inner.to_string()),
        other => KeychainError::Failed(other.to_string()),
    }
}
