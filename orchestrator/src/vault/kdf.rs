//! The vault key's derivation: Argon2id over the key material with a random per-vault salt, and
//! the sidecar file (`vault.kdf.json`) that keeps salt, parameters and a check value.
//!
//! Argon2id gives 64 bytes: the first 32 are the snapshot key, the SHA-256 of the other 32 is
//! the check value. A wrong passphrase is told by the check value alone, before the snapshot is
//! read, so a wrong passphrase and a damaged snapshot are never confused (the check reveals
//! nothing about the key: it is a hash of other output bytes).

use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::{KeyMaterial, KeySource, VaultError};

/// Argon2id memory cost in KiB (128 MiB). With [`T_COST`] and [`P_COST`] one derivation takes
/// about 0.48 s in a release build on this project's 2-core x86-64 build machine (`scripts/bench
/// vault_unlock`), inside the 0.2–1 s band: slow for a guesser (each guess costs 128 MiB of
/// memory traffic), quick enough that nobody waits on an unlock. 64 MiB × 3 passes measured
/// 0.14 s there, too cheap.
pub const M_COST_KIB: u32 = 128 * 1024;
/// Argon2id passes.
pub const T_COST: u32 = 5;
/// Argon2id lanes (one: the derivation runs on one thread).
pub const P_COST: u32 = 1;
const SALT_LEN: usize = 16;
const OUT_LEN: usize = 64;
const FORMAT: u32 = 1;

/// The sidecar's contents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KdfParams {
    pub format: u32,
    /// Always `argon2id`.
    pub algorithm: String,
    /// Argon2 version (0x13).
    pub version: u32,
    pub m_cost_kib: u32,
    pub t_cost: u32,
    pub p_cost: u32,
    /// Hex.
    pub salt: String,
    /// Hex of SHA-256 over the second half of the derived bytes.
    pub check: String,
    pub key_source: KeySource,
}

/// A derived snapshot key (32 bytes), zeroed on drop.
pub struct DerivedKey(pub Zeroizing<Vec<u8>>);

impl std::fmt::Debug for DerivedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DerivedKey([redacted])")
    }
}

fn argon2(
    m_cost_kib: u32,
    t_cost: u32,
    p_cost: u32,
) -> Result<argon2::Argon2<'static>, VaultError> {
    let params = argon2::Params::new(m_cost_kib, t_cost, p_cost, Some(OUT_LEN))
        .map_err(|e| VaultError::Engine(format!("Argon2id parameters: {e}")))?;
    Ok(argon2::Argon2::new(
        argon2::Algorithm::Argon2id,
        argon2::Version::V0x13,
        params,
    ))
}

fn derive_raw(
    key: &KeyMaterial,
    salt: &[u8],
    m: u32,
    t: u32,
    p: u32,
) -> Result<Zeroizing<[u8; OUT_LEN]>, VaultError> {
    let mut out = Zeroizing::new([0u8; OUT_LEN]);
    argon2(m, t, p)?
        .hash_password_into(key.expose(), salt, out.as_mut())
        .map_err(|e| VaultError::Engine(format!("Argon2id: {e}")))?;
    Ok(out)
}

fn split(out: &[u8; OUT_LEN]) -> (DerivedKey, String) {
    let key = DerivedKey(Zeroizing::new(out[..32].to_vec()));
    let check = hex(&Sha256::digest(&out[32..]));
    (key, check)
}

/// New parameters with a fresh random salt, and the key they give for `key`.
pub fn create(key: &KeyMaterial) -> Result<(KdfParams, DerivedKey), VaultError> {
    let mut salt = [0u8; SALT_LEN];
    getrandom::fill(&mut salt)
        .map_err(|e| VaultError::Engine(format!("no randomness for the vault's salt: {e}")))?;
    let out = derive_raw(key, &salt, M_COST_KIB, T_COST, P_COST)?;
    let (derived, check) = split(&out);
    let params = KdfParams {
        format: FORMAT,
        algorithm: "argon2id".into(),
        version: 0x13,
        m_cost_kib: M_COST_KIB,
        t_cost: T_COST,
        p_cost: P_COST,
        salt: hex(&salt),
        check,
        key_source: key.source(),
    };
    Ok((params, derived))
}

/// The key `key` gives under `params`, or [`VaultError::WrongPassphrase`] when it does not
/// match the check value.
pub fn derive(params: &KdfParams, key: &KeyMaterial) -> Result<DerivedKey, VaultError> {
    let salt = unhex(&params.salt)
        .ok_or_else(|| VaultError::Engine("the vault's salt is not hex".into()))?;
    let out = derive_raw(key, &salt, params.m_cost_kib, params.t_cost, params.p_cost)?;
    let (derived, check) = split(&out);
    use subtle::ConstantTimeEq;
    if bool::from(check.as_bytes().ct_eq(params.check.as_bytes())) {
        Ok(derived)
    } else {
        Err(VaultError::WrongPassphrase)
    }
}

/// Reads a sidecar; `None` when there is none. One that cannot be parsed is corrupt.
pub fn read(path: &Path) -> Result<Option<KdfParams>, VaultError> {
    let text = match fs_err::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(VaultError::Io {
                path: path.to_owned(),
                source,
            });
        }
    };
    let params: KdfParams = serde_json::from_str(&text).map_err(|e| VaultError::Corrupt {
        path: path.to_owned(),
        reason: format!("not a Grove vault key file: {e}"),
    })?;
    let sane = params.format == FORMAT
        && params.algorithm == "argon2id"
        && params.version == 0x13
        && (8..=4 * 1024 * 1024).contains(&params.m_cost_kib)
        && (1..=64).contains(&params.t_cost)
        && (1..=16).contains(&params.p_cost);
    if !sane {
        return Err(VaultError::Corrupt {
            path: path.to_owned(),
            reason: "unknown format or out-of-range Argon2id parameters".into(),
        });
    }
    Ok(Some(params))
}

/// Writes a sidecar atomically (0600 temp file, fsync, rename, fsync of the folder).
pub fn write(path: &Path, params: &KdfParams) -> Result<(), VaultError> {
    let io = |source| VaultError::Io {
        path: path.to_owned(),
        source,
    };
    let text = serde_json::to_vec_pretty(params)
        .map_err(|e| VaultError::Engine(format!("vault key file: {e}")))?;
    crate::data_dir::write_private(path, &text).map_err(io)?;
    sync_dir(path).map_err(io)
}

/// Makes a rename in `path`'s folder durable.
pub(super) fn sync_dir(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    if let Some(dir) = path.parent() {
        fs_err::File::open(dir)?.sync_all()?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}
