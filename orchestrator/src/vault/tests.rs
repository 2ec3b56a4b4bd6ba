use super::*;

fn pass(s: &str) -> KeyMaterial {
    KeyMaterial::passphrase(SecretString::from(s.to_owned()))
}

fn secret(s: &str) -> SecretString {
    SecretString::from(s.to_owned())
}

#[test]
fn set_lock_unlock_keeps_values_and_wrong_passphrase_touches_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let v = StrongholdVault::new(dir.path());
    assert_eq!(v.state(), VaultState::Uninitialized);
    assert!(matches!(v.list(), Err(VaultError::Locked)));
    v.unlock(&pass("correct horse")).unwrap();
    assert_eq!(v.state(), VaultState::Unlocked);
    assert_eq!(v.key_source(), Some(KeySource::Passphrase));
    v.set("OPENAI", &secret("sk-canary-1")).unwrap();
    v.set("GH", &secret("ghp-canary-2")).unwrap();
    let names: Vec<_> = v.list().unwrap().into_iter().map(|m| m.name).collect();
    assert_eq!(names, ["GH", "OPENAI"]);

    let snap = std::fs::read(v.snapshot_path()).unwrap();
    assert!(
        !snap.windows(6).any(|w| w == b"canary"),
        "plain text in the snapshot"
    );
    v.lock();
    assert_eq!(v.state(), VaultState::Locked);
    assert!(matches!(v.get("GH"), Err(VaultError::Locked)));

    // A wrong passphrase: refused, and neither file changed.
    let kdf = std::fs::read(dir.path().join("vault.kdf.json")).unwrap();
    assert!(matches!(
        v.unlock(&pass("wrong horse")),
        Err(VaultError::WrongPassphrase)
    ));
    assert_eq!(std::fs::read(v.snapshot_path()).unwrap(), snap);
    assert_eq!(
        std::fs::read(dir.path().join("vault.kdf.json")).unwrap(),
        kdf
    );

    // Another process (a new vault object) opens it with the right one.
    let v2 = StrongholdVault::new(dir.path());
    v2.unlock(&pass("correct horse")).unwrap();
    assert_eq!(
        v2.get("OPENAI").unwrap().unwrap().expose_secret(),
        "sk-canary-1"
    );
    assert!(v2.delete("OPENAI").unwrap());
    assert!(!v2.delete("OPENAI").unwrap());
    assert!(v2.get("OPENAI").unwrap().is_none());
    // Unlocking an open vault checks the passphrase again.
    assert!(matches!(
        v2.unlock(&pass("wrong horse")),
        Err(VaultError::WrongPassphrase)
    ));
}

#[test]
fn a_corrupt_snapshot_is_named_and_kept() {
    let dir = tempfile::tempdir().unwrap();
    let v = StrongholdVault::new(dir.path());
    v.unlock(&pass("correct horse")).unwrap();
    v.set("K", &secret("value-1")).unwrap();
    v.lock();
    let mut bytes = std::fs::read(v.snapshot_path()).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    std::fs::write(v.snapshot_path(), &bytes).unwrap();
    let err = v.unlock(&pass("correct horse")).unwrap_err();
    match &err {
        VaultError::Corrupt { path, .. } => assert_eq!(path, v.snapshot_path()),
        other => panic!("expected corrupt, got {other:?}"),
    }
    assert!(err.to_string().contains("vault.stronghold"), "{err}");
    assert_eq!(std::fs::read(v.snapshot_path()).unwrap(), bytes);
    assert_eq!(v.state(), VaultState::Locked);
    // A wrong passphrase is still told apart from the damage.
    assert!(matches!(
        v.unlock(&pass("wrong horse")),
        Err(VaultError::WrongPassphrase)
    ));
    // A damaged key file is named too.
    std::fs::write(dir.path().join("vault.kdf.json"), b"{not json").unwrap();
    match v.unlock(&pass("correct horse")) {
        Err(VaultError::Corrupt { path, .. }) => assert!(path.ends_with("vault.kdf.json")),
        other => panic!("expected corrupt, got {other:?}"),
    }
    // And a missing one, with the snapshot still there, never starts a new vault over it.
    std::fs::remove_file(dir.path().join("vault.kdf.json")).unwrap();
    assert!(matches!(
        v.unlock(&pass("correct horse")),
        Err(VaultError::Corrupt { .. })
    ));
    assert_eq!(std::fs::read(v.snapshot_path()).unwrap(), bytes);
}

#[test]
fn rekey_switches_passphrase_and_keeps_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let v = StrongholdVault::new(dir.path());
    v.unlock(&pass("old passphrase")).unwrap();
    v.set("K", &secret("value-1")).unwrap();
    v.lock();
    assert!(matches!(
        v.rekey(&pass("not it at all"), &pass("new passphrase")),
        Err(VaultError::WrongPassphrase)
    ));
    v.rekey(&pass("old passphrase"), &pass("new passphrase"))
        .unwrap();
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".next"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    v.set("K2", &secret("value-2")).unwrap();
    v.lock();
    assert!(matches!(
        v.unlock(&pass("old passphrase")),
        Err(VaultError::WrongPassphrase)
    ));
    v.unlock(&pass("new passphrase")).unwrap();
    assert_eq!(v.get("K").unwrap().unwrap().expose_secret(), "value-1");
    assert_eq!(v.get("K2").unwrap().unwrap().expose_secret(), "value-2");
}

#[test]
fn an_interrupted_rekey_is_finished_or_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let v = StrongholdVault::new(root);
    v.unlock(&pass("old passphrase")).unwrap();
    v.set("K", &secret("value-1")).unwrap();
    // Keep the old pair, rekey, then put together each state a crash could leave.
    let old_snap = std::fs::read(root.join("vault.stronghold")).unwrap();
    let old_kdf = std::fs::read(root.join("vault.kdf.json")).unwrap();
    v.rekey(&pass("old passphrase"), &pass("new passphrase"))
        .unwrap();
    let new_snap = std::fs::read(root.join("vault.stronghold")).unwrap();
    let new_kdf = std::fs::read(root.join("vault.kdf.json")).unwrap();
    v.lock();

    // Crashed after writing the new snapshot only: the old pair stays valid.
    std::fs::write(root.join("vault.stronghold"), &old_snap).unwrap();
    std::fs::write(root.join("vault.kdf.json"), &old_kdf).unwrap();
    std::fs::write(root.join("vault.stronghold.next"), &new_snap).unwrap();
    v.unlock(&pass("old passphrase")).unwrap();
    assert!(!root.join("vault.stronghold.next").exists());
    v.lock();

    // Crashed after both new files were written: the change is finished.
    std::fs::write(root.join("vault.stronghold.next"), &new_snap).unwrap();
    std::fs::write(root.join("vault.kdf.json.next"), &new_kdf).unwrap();
    v.unlock(&pass("new passphrase")).unwrap();
    assert_eq!(v.get("K").unwrap().unwrap().expose_secret(), "value-1");
    v.lock();

    // Crashed after the snapshot's rename, before the key file's.
    std::fs::write(root.join("vault.kdf.json"), &old_kdf).unwrap();
    std::fs::write(root.join("vault.kdf.json.next"), &new_kdf).unwrap();
    v.unlock(&pass("new passphrase")).unwrap();
    assert_eq!(v.get("K").unwrap().unwrap().expose_secret(), "value-1");
}

#[test]
fn names_and_values_are_checked_without_echoing_values() {
    assert!(check_name("OPENAI_API_KEY").is_ok());
    assert!(check_name("gh.token-2").is_ok());
    for bad in ["", "a b", "x=y", "ü", &"a".repeat(MAX_NAME_LEN + 1)] {
        assert!(check_name(bad).is_err(), "{bad:?}");
    }
    let err = check_value(&secret("sk-\0-canary")).unwrap_err();
    assert!(!err.to_string().contains("canary"));
    assert!(check_value(&secret("")).is_err());
    assert!(check_new_passphrase(&secret("short")).is_err());
}
