//! The OS keychain as the vault's key material (macOS Keychain and Windows Credential Manager
//! through `keyring`, the Secret Service on Linux desktops): a random 32-byte master secret, one
//! per data dir, created the first time and read back at every start.
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

    /// The master secret, or `None` when the keychain has none for this data dir.
    pub fn get(&self) -> Result<Option<SecretString>, KeychainError> {
        Ok(store::get(SERVICE, &self.account)?.map(SecretString::from))
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
        store::set(SERVICE, &self.account, secret.expose_secret())?;
        match self.get()? {
            Some(back) if back.expose_secret() == secret.expose_secret() => Ok(secret),
            _ => Err(KeychainError::Failed(
                "the keychain did not give back the secret just stored".into(),
            )),
        }
    }
}

/// macOS and Windows: their keychains through `keyring`.
#[cfg(not(target_os = "linux"))]
mod store {
    use super::KeychainError;

    pub fn get(service: &str, account: &str) -> Result<Option<String>, KeychainError> {
        match entry(service, account)?.get_password() {
            Ok(secret) => Ok(Some(secret)),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(classify(e)),
        }
    }

    pub fn set(service: &str, account: &str, secret: &str) -> Result<(), KeychainError> {
        entry(service, account)?
            .set_password(secret)
            .map_err(classify)
    }

    fn entry(service: &str, account: &str) -> Result<keyring::Entry, KeychainError> {
        keyring::Entry::new(service, account).map_err(classify)
    }

    fn classify(e: keyring::Error) -> KeychainError {
        match e {
            keyring::Error::PlatformFailure(inner) => KeychainError::Unreachable(inner.to_string()),
            keyring::Error::NoStorageAccess(inner) => KeychainError::Unreachable(inner.to_string()),
            other => KeychainError::Failed(other.to_string()),
        }
    }
}

/// Linux: the Secret Service (GNOME Keyring, KWallet, KeePassXC) over D-Bus. Items carry the
/// attributes `keyring` 3 gave them (service, username, target `default`, application), so a
/// secret stored by an earlier Grove is found, and the other way round.
#[cfg(target_os = "linux")]
mod store {
    use std::collections::HashMap;

    use secret_service::EncryptionType;
    use secret_service::blocking::{Item, SecretService};

    use super::KeychainError;

    /// The collection `keyring` named `default`: the Secret Service's default collection.
    const TARGET: &str = "default";

    pub fn get(service: &str, account: &str) -> Result<Option<String>, KeychainError> {
        let ss = connect()?;
        let Some(item) = find(&ss, service, account)? else {
            return Ok(None);
        };
        let bytes = item.get_secret().map_err(unreachable)?;
        String::from_utf8(bytes).map(Some).map_err(|_| {
            KeychainError::Failed(format!(
                "the keychain's entry for {account} ({service}) is not text; delete it and unlock with the passphrase"
            ))
        })
    }

    pub fn set(service: &str, account: &str, secret: &str) -> Result<(), KeychainError> {
        let ss = connect()?;
        if let Some(item) = find(&ss, service, account)? {
            return item
                .set_secret(secret.as_bytes(), "text/plain")
                .map_err(unreachable);
        }
        let collection = ss.get_default_collection().map_err(unreachable)?;
        collection.ensure_unlocked().map_err(unreachable)?;
        let mut attributes = search(service, account);
        attributes.insert("application", "rust-keyring");
        collection
            .create_item(
                &format!("{account}@{service}:{TARGET} (Grove's vault)"),
                attributes,
                secret.as_bytes(),
                true,
                "text/plain",
            )
            .map_err(unreachable)?;
        Ok(())
    }

    fn connect() -> Result<SecretService<'static>, KeychainError> {
        SecretService::connect(EncryptionType::Dh).map_err(unreachable)
    }

    fn search<'a>(service: &'a str, account: &'a str) -> HashMap<&'a str, &'a str> {
        HashMap::from([
            ("service", service),
            ("username", account),
            ("target", TARGET),
        ])
    }

    /// The one item for this account, unlocked (the Secret Service may prompt for that).
    fn find<'a>(
        ss: &'a SecretService<'a>,
        service: &str,
        account: &str,
    ) -> Result<Option<Item<'a>>, KeychainError> {
        let found = ss
            .search_items(search(service, account))
            .map_err(unreachable)?;
        let mut items: Vec<Item<'a>> = found.unlocked.into_iter().chain(found.locked).collect();
        if items.len() > 1 {
            return Err(KeychainError::Failed(format!(
                "the keychain has {} entries for {account} ({service}); delete all but one",
                items.len()
            )));
        }
        let Some(item) = items.pop() else {
            return Ok(None);
        };
        item.ensure_unlocked().map_err(unreachable)?;
        Ok(Some(item))
    }

    fn unreachable(e: secret_service::Error) -> KeychainError {
        KeychainError::Unreachable(e.to_string())
    }
}
