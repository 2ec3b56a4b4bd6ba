//! The Stronghold backend: one client (`grove`) whose store holds each secret's value and the
//! time it was set, committed to `vault.stronghold` after every change.
//!
//! Files, all in the data dir:
//! - `vault.stronghold`: the snapshot (age-encrypted by the engine, which writes a temp file
//!   beside it, fsyncs and renames);
//! - `vault.kdf.json`: salt, Argon2id parameters and check value (see [`super::kdf`]);
//! - `vault.stronghold.next` / `vault.kdf.json.next`: only while the key changes. The new snapshot
//!   is written first, then the new key file; then each is renamed over the old one. Whatever
//!   step a crash interrupted, [`StrongholdVault::recover`] finishes or abandons the change so
//!   that the snapshot on disk and the key file beside it always belong together.

use std::path::{Path, PathBuf};

use iota_stronghold::{Client, KeyProvider, SnapshotPath, Stronghold};
use parking_lot::Mutex;
use zeroize::Zeroizing;

use super::kdf::{self, DerivedKey, KdfParams};
use super::{
    ExposeSecret, KeyMaterial, KeySource, SecretMeta, SecretString, Vault, VaultError, VaultState,
};

const CLIENT: &[u8] = b"grove";
const VALUE_PREFIX: &str = "secret/";
const SET_AT_PREFIX: &str = "set_at/";

/// The engine also stretches the snapshot key with scrypt (age's work factor, default 2^20,
/// about a second per write in release and far more in debug builds). Grove's key already comes
/// out of Argon2id at 0.2–1 s, so a second stretch of a 256-bit key adds time to every secret
/// written and nothing an attacker would notice; the engine itself advises a small factor for
/// strong keys. Reading accepts any factor the file names.
const AGE_WORK_FACTOR: u8 = 10;

/// The Stronghold-backed vault of one data dir.
pub struct StrongholdVault {
    snapshot: PathBuf,
    kdf: PathBuf,
    open: Mutex<Option<Open>>,
}

/// An unlocked vault: the engine's state, the client, and the key it is written with.
struct Open {
    stronghold: Stronghold,
    client: Client,
    key: KeyProvider,
    params: KdfParams,
}

impl std::fmt::Debug for StrongholdVault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StrongholdVault")
            .field("snapshot", &self.snapshot)
            .field("unlocked", &self.open.lock().is_some())
            .finish()
    }
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

fn engine(e: impl std::fmt::Display) -> VaultError {
    VaultError::Engine(e.to_string())
}

impl StrongholdVault {
    /// The vault of the data dir `root` (nothing is read until it is unlocked).
    pub fn new(root: &Path) -> StrongholdVault {
        if let Err(err) =
            iota_stronghold::engine::snapshot::try_set_encrypt_work_factor(AGE_WORK_FACTOR)
        {
            tracing::warn!(%err, "could not lower the snapshot's scrypt work factor");
        }
        StrongholdVault {
            snapshot: root.join("vault.stronghold"),
            kdf: root.join("vault.kdf.json"),
            open: Mutex::new(None),
        }
    }

    /// The snapshot file.
    pub fn snapshot_path(&self) -> &Path {
        &self.snapshot
    }

    fn snapshot_next(&self) -> PathBuf {
        with_suffix(&self.snapshot, ".next")
    }

    fn kdf_next(&self) -> PathBuf {
        with_suffix(&self.kdf, ".next")
    }

    /// Finishes or abandons a key change that a crash interrupted (see the module doc).
    fn recover(&self) -> Result<(), VaultError> {
        let (snap_next, kdf_next) = (self.snapshot_next(), self.kdf_next());
        let io = |path: &Path| {
            let path = path.to_owned();
            move |source| VaultError::Io { path, source }
        };
        match (snap_next.exists(), kdf_next.exists()) {
            (true, true) => {
                fs_err::rename(&snap_next, &self.snapshot).map_err(io(&self.snapshot))?;
                kdf::sync_dir(&self.snapshot).map_err(io(&self.snapshot))?;
                fs_err::rename(&kdf_next, &self.kdf).map_err(io(&self.kdf))?;
                kdf::sync_dir(&self.kdf).map_err(io(&self.kdf))?;
                tracing::warn!("finished a vault key change that was interrupted");
            }
            (false, true) => {
                fs_err::rename(&kdf_next, &self.kdf).map_err(io(&self.kdf))?;
                kdf::sync_dir(&self.kdf).map_err(io(&self.kdf))?;
                tracing::warn!("finished a vault key change that was interrupted");
            }
            (true, false) => {
                fs_err::remove_file(&snap_next).map_err(io(&snap_next))?;
                tracing::warn!("dropped a vault key change that was interrupted before its end");
            }
            (false, false) => {}
        }
        Ok(())
    }

    /// Writes the whole state to `path` with `key`, owner-only and durable.
    fn commit(open: &Open, key: &KeyProvider, path: &Path) -> Result<(), VaultError> {
        open.stronghold
            .commit_with_keyprovider(&SnapshotPath::from_path(path), key)
            .map_err(engine)?;
        let io = |source| VaultError::Io {
            path: path.to_owned(),
            source,
        };
        // The engine creates its temp file with the process's umask; the content is encrypted,
        // but every file in the data dir is the user's alone.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs_err::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(io)?;
        }
        kdf::sync_dir(path).map_err(io)
    }

    fn key_provider(key: DerivedKey) -> Result<KeyProvider, VaultError> {
        KeyProvider::try_from(key.0).map_err(|e| engine(format!("{e:?}")))
    }

    /// Reads the snapshot with a key that passed the check: any failure now means the file is
    /// damaged (or not Grove's), never a wrong passphrase.
    fn load(&self, key: DerivedKey, params: KdfParams) -> Result<Open, VaultError> {
        let key = Self::key_provider(key)?;
        let stronghold = Stronghold::default();
        let path = SnapshotPath::from_path(&self.snapshot);
        // The engine unwraps in places; a damaged file must not take the server down.
        let loaded = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            stronghold.load_client_from_snapshot(CLIENT, &key, &path)
        }));
        let client = match loaded {
            Ok(Ok(client)) => client,
            Ok(Err(e)) => {
                return Err(VaultError::Corrupt {
                    path: self.snapshot.clone(),
                    reason: e.to_string(),
                });
            }
            Err(_) => {
                return Err(VaultError::Corrupt {
                    path: self.snapshot.clone(),
                    reason: "the vault engine could not parse it".into(),
                });
            }
        };
        Ok(Open {
            stronghold,
            client,
            key,
            params,
        })
    }

    /// A new, empty vault under `key`: the key file first, then the snapshot.
    fn create(&self, key: &KeyMaterial) -> Result<Open, VaultError> {
        let (params, derived) = kdf::create(key)?;
        let open = self.empty(params, derived)?;
        kdf::write(&self.kdf, &open.params)?;
        Self::commit(&open, &open.key, &self.snapshot)?;
        Ok(open)
    }

    fn empty(&self, params: KdfParams, derived: DerivedKey) -> Result<Open, VaultError> {
        let key = Self::key_provider(derived)?;
        let stronghold = Stronghold::default();
        let client = stronghold.create_client(CLIENT).map_err(engine)?;
        Ok(Open {
            stronghold,
            client,
            key,
            params,
        })
    }

    fn unlock_locked(&self, key: &KeyMaterial) -> Result<Open, VaultError> {
        self.recover()?;
        let Some(params) = kdf::read(&self.kdf)? else {
            if self.snapshot.exists() {
                return Err(VaultError::Corrupt {
                    path: self.kdf.clone(),
                    reason: "it is missing, and without it the vault beside it cannot be opened"
                        .into(),
                });
            }
            return self.create(key);
        };
        let derived = kdf::derive(&params, key)?;
        if !self.snapshot.exists() {
            // The key file is written before the first snapshot: a crash between the two
            // leaves an empty vault to write.
            tracing::warn!(path = %self.snapshot.display(), "vault snapshot missing; starting it empty");
            let open = self.empty(params, derived)?;
            Self::commit(&open, &open.key, &self.snapshot)?;
            return Ok(open);
        }
        self.load(derived, params)
    }

    fn with_open<T>(
        &self,
        f: impl FnOnce(&Open) -> Result<T, VaultError>,
    ) -> Result<T, VaultError> {
        let guard = self.open.lock();
        let open = guard.as_ref().ok_or(VaultError::Locked)?;
        f(open)
    }
}

fn value_key(name: &str) -> Vec<u8> {
    format!("{VALUE_PREFIX}{name}").into_bytes()
}

fn set_at_key(name: &str) -> Vec<u8> {
    format!("{SET_AT_PREFIX}{name}").into_bytes()
}

impl Vault for StrongholdVault {
    fn state(&self) -> VaultState {
        if self.open.lock().is_some() {
            VaultState::Unlocked
        } else if self.snapshot.exists() || self.kdf.exists() || self.kdf_next().exists() {
            VaultState::Locked
        } else {
            VaultState::Uninitialized
        }
    }

    fn key_source(&self) -> Option<KeySource> {
        if let Some(open) = self.open.lock().as_ref() {
            return Some(open.params.key_source);
        }
        kdf::read(&self.kdf).ok().flatten().map(|p| p.key_source)
    }

    fn unlock(&self, key: &KeyMaterial) -> Result<(), VaultError> {
        let mut guard = self.open.lock();
        if let Some(open) = guard.as_ref() {
            kdf::derive(&open.params, key)?;
            return Ok(());
        }
        *guard = Some(self.unlock_locked(key)?);
        Ok(())
    }

    fn lock(&self) {
        if let Some(open) = self.open.lock().take() {
            let _ = open.stronghold.clear();
        }
    }

    fn rekey(&self, current: &KeyMaterial, new: &KeyMaterial) -> Result<(), VaultError> {
        let mut guard = self.open.lock();
        match guard.as_ref() {
            Some(open) => {
                kdf::derive(&open.params, current)?;
            }
            None => *guard = Some(self.unlock_locked(current)?),
        }
        let open = guard.as_mut().ok_or(VaultError::Locked)?;
        let (params, derived) = kdf::create(new)?;
        let key = Self::key_provider(derived)?;
        let (snap_next, kdf_next) = (self.snapshot_next(), self.kdf_next());
        Self::commit(open, &key, &snap_next)?;
        if let Err(e) = kdf::write(&kdf_next, &params) {
            let _ = fs_err::remove_file(&snap_next);
            return Err(e);
        }
        // From here on the change is complete on disk: `recover` would finish it.
        self.recover()?;
        open.key = key;
        open.params = params;
        Ok(())
    }

    fn list(&self) -> Result<Vec<SecretMeta>, VaultError> {
        self.with_open(|open| {
            let store = open.client.store();
            let mut out = Vec::new();
            for key in store.keys().map_err(engine)? {
                let Ok(key) = String::from_utf8(key) else {
                    continue;
                };
                let Some(name) = key.strip_prefix(SET_AT_PREFIX) else {
                    continue;
                };
                let set_at = store
                    .get(key.as_bytes())
                    .map_err(engine)?
                    .and_then(|v| String::from_utf8(v).ok())
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0);
                out.push(SecretMeta {
                    name: name.to_owned(),
                    set_at,
                });
            }
            out.sort_by(|a, b| a.name.cmp(&b.name));
            Ok(out)
        })
    }

    fn set(&self, name: &str, value: &SecretString) -> Result<SecretMeta, VaultError> {
        super::check_name(name)?;
        super::check_value(value)?;
        self.with_open(|open| {
            let store = open.client.store();
            let set_at = crate::db::now();
            let old_value = store
                .insert(
                    value_key(name),
                    value.expose_secret().as_bytes().to_vec(),
                    None,
                )
                .map_err(engine)?
                .map(Zeroizing::new);
            let old_at = store
                .insert(set_at_key(name), set_at.to_string().into_bytes(), None)
                .map_err(engine)?;
            if let Err(e) = Self::commit(open, &open.key, &self.snapshot) {
                // Memory goes back to what the file holds.
                match old_value {
                    Some(v) => drop(store.insert(value_key(name), v.to_vec(), None)),
                    None => drop(store.delete(&value_key(name))),
                }
                match old_at {
                    Some(v) => drop(store.insert(set_at_key(name), v, None)),
                    None => drop(store.delete(&set_at_key(name))),
                }
                return Err(e);
            }
            Ok(SecretMeta {
                name: name.to_owned(),
                set_at,
            })
        })
    }

    fn delete(&self, name: &str) -> Result<bool, VaultError> {
        super::check_name(name)?;
        self.with_open(|open| {
            let store = open.client.store();
            let old_value = store
                .delete(&value_key(name))
                .map_err(engine)?
                .map(Zeroizing::new);
            let old_at = store.delete(&set_at_key(name)).map_err(engine)?;
            if old_value.is_none() && old_at.is_none() {
                return Ok(false);
            }
            if let Err(e) = Self::commit(open, &open.key, &self.snapshot) {
                if let Some(v) = old_value {
                    drop(store.insert(value_key(name), v.to_vec(), None));
                }
                if let Some(v) = old_at {
                    drop(store.insert(set_at_key(name), v, None));
                }
                return Err(e);
            }
            Ok(true)
        })
    }

    fn get(&self, name: &str) -> Result<Option<SecretString>, VaultError> {
        super::check_name(name)?;
        self.with_open(|open| {
            let Some(bytes) = open.client.store().get(&value_key(name)).map_err(engine)? else {
                return Ok(None);
            };
            match String::from_utf8(bytes) {
                Ok(s) => Ok(Some(SecretString::from(s))),
                Err(e) => {
                    drop(Zeroizing::new(e.into_bytes()));
                    Err(VaultError::Engine(format!(
                        "secret {name} is not UTF-8 text"
                    )))
                }
            }
        })
    }
}
