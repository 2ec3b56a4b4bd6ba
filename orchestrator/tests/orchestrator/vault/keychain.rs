//! The vault's keychain path against a real Secret Service: a private `dbus-daemon` with
//! `gnome-keyring-daemon` (Debian's `dbus` and `gnome-keyring`, which `.ci/run` installs), its
//! keyrings in a temp home, so the user's own keychain is never touched.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::json;

use super::{CANARY_API, PASS, code, files_containing};
use crate::support::Grove;

/// A private D-Bus session with gnome-keyring's Secret Service, its keyrings in a temp home.
struct SecretService {
    bus: std::process::Child,
    address: String,
    home: PathBuf,
}

impl SecretService {
    fn start(home: &Path) -> SecretService {
        use std::io::{BufRead, BufReader};
        for tool in ["dbus-daemon", "gnome-keyring-daemon"] {
            assert!(
                Command::new("sh")
                    .args(["-c", &format!("command -v {tool}")])
                    .output()
                    .unwrap()
                    .status
                    .success(),
                "{tool} is missing: apt-get install dbus gnome-keyring (.ci/run does)"
            );
        }
        std::fs::create_dir_all(home.join("run")).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(home.join("run"), std::fs::Permissions::from_mode(0o700)).unwrap();
        let mut bus = Command::new("dbus-daemon")
            .args(["--session", "--nofork", "--print-address=1"])
            .envs(Self::env_of(home))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut address = String::new();
        BufReader::new(bus.stdout.take().unwrap())
            .read_line(&mut address)
            .unwrap();
        let address = address.trim().to_owned();
        let mut keyring = Command::new("gnome-keyring-daemon")
            .args(["--unlock", "--components=secrets"])
            .envs(Self::env_of(home))
            .env("DBUS_SESSION_BUS_ADDRESS", &address)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        keyring
            .stdin
            .take()
            .unwrap()
            .write_all(b"test keyring password")
            .unwrap();
        assert!(
            keyring.wait().unwrap().success(),
            "gnome-keyring-daemon did not start"
        );
        SecretService {
            bus,
            address,
            home: home.to_owned(),
        }
    }

    fn env_of(home: &Path) -> Vec<(String, String)> {
        vec![
            ("HOME".into(), home.display().to_string()),
            (
                "XDG_DATA_HOME".into(),
                home.join("data").display().to_string(),
            ),
            (
                "XDG_RUNTIME_DIR".into(),
                home.join("run").display().to_string(),
            ),
        ]
    }

    /// The environment a server needs to reach this Secret Service.
    fn env(&self) -> Vec<(String, String)> {
        let mut env = Self::env_of(&self.home);
        env.push(("DBUS_SESSION_BUS_ADDRESS".into(), self.address.clone()));
        env
    }
}

impl SecretService {
    /// The attributes and secret of each item of `service` found in all collections by the
    /// search `keyring` 3 makes (service, username, target), as another client sees them.
    fn items_of(&self, service: &str) -> Vec<(std::collections::HashMap<String, String>, String)> {
        let connection = zbus::blocking::connection::Builder::address(self.address.as_str())
            .unwrap()
            .build()
            .unwrap();
        let ss = secret_service::blocking::SecretService::connect_with_existing(
            secret_service::EncryptionType::Dh,
            connection,
        )
        .unwrap();
        let found = ss
            .search_items(std::collections::HashMap::from([
                ("service", service),
                ("target", "default"),
            ]))
            .unwrap();
        found
            .unlocked
            .iter()
            .chain(found.locked.iter())
            .map(|item| {
                item.ensure_unlocked().unwrap();
                let secret = String::from_utf8(item.get_secret().unwrap()).unwrap();
                (item.get_attributes().unwrap(), secret)
            })
            .collect()
    }
}

impl Drop for SecretService {
    fn drop(&mut self) {
        // gnome-keyring-daemon leaves when its bus goes away.
        let _ = self.bus.kill();
        let _ = self.bus.wait();
    }
}

fn start_with_env(data: &Path, extra: &[&str], env: &[(String, String)]) -> Grove {
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    Grove::start_env(data, extra, &env)
}

#[test]
fn the_keychain_keeps_the_master_secret_and_unlocks_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let service = SecretService::start(&dir.path().join("home"));
    let env = service.env();
    let unlocked = |g: &Grove| {
        let s = g.ok("GET", "/vault", None);
        s["state"] == "unlocked" && s["key_source"] == "keychain"
    };

    // No vault yet: one is created with a new master secret in the keychain.
    let g = start_with_env(&data, &["--vault-keychain"], &env);
    crate::support::eventually("the vault created from the keychain", || unlocked(&g));
    g.ok("PUT", "/secrets/KC", Some(json!({ "value": CANARY_API })));
    // Keyed by the keychain: a passphrase is not how it opens.
    let (status, body) = g.call("POST", "/vault/unlock", Some(json!({ "passphrase": PASS })));
    assert_eq!(status, 400, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("keychain"),
        "{body}"
    );
    g.stop();
    let kdf = std::fs::read_to_string(data.join("vault.kdf.json")).unwrap();
    assert!(kdf.contains("\"keychain\""), "{kdf}");
    // The item is where Grove builds on `keyring` 3 look for it, and the other way round: the
    // default collection, found by service, username and target `default`.
    let item = service.items_of("dev.grove.vault");
    assert_eq!(item.len(), 1, "{item:?}");
    let (attributes, secret) = &item[0];
    assert_eq!(
        attributes.get("target").map(String::as_str),
        Some("default")
    );
    assert_eq!(
        attributes.get("application").map(String::as_str),
        Some("rust-keyring")
    );
    let account = attributes.get("username").cloned().unwrap_or_default();
    assert!(account.ends_with("data"), "{attributes:?}");
    assert!(
        secret.len() == 64 && secret.bytes().all(|b| b.is_ascii_hexdigit()),
        "a 32-byte hex master secret"
    );

    // A restart unlocks it again from the keychain, secrets intact.
    let g = start_with_env(&data, &["--vault-keychain"], &env);
    crate::support::eventually("the vault unlocked from the keychain", || unlocked(&g));
    assert_eq!(g.ok("GET", "/secrets", None)[0]["name"], "KC");
    g.stop();

    // No keychain reachable: the vault stays locked, and says where its key lives.
    let mut no_bus = SecretService::env_of(&dir.path().join("home"));
    no_bus.push((
        "DBUS_SESSION_BUS_ADDRESS".into(),
        format!("unix:path={}", dir.path().join("no-bus").display()),
    ));
    let g = start_with_env(&data, &["--vault-keychain"], &no_bus);
    std::thread::sleep(std::time::Duration::from_millis(500));
    let s = g.ok("GET", "/vault", None);
    assert_eq!(
        (s["state"].as_str(), s["key_source"].as_str()),
        (Some("locked"), Some("keychain"))
    );
    let (status, body) = g.call("GET", "/secrets", None);
    assert_eq!((status, code(&body)), (423, "vault_locked"), "{body}");
    // Nothing about the vault in plain text on disk.
    assert!(files_containing(&data, &[CANARY_API]).is_empty());
}

#[test]
fn without_a_keychain_the_passphrase_path_is_used() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut no_bus = SecretService::env_of(&dir.path().join("home"));
    no_bus.push((
        "DBUS_SESSION_BUS_ADDRESS".into(),
        format!("unix:path={}", dir.path().join("no-bus").display()),
    ));
    let g = start_with_env(&data, &["--vault-keychain"], &no_bus);
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert_eq!(g.ok("GET", "/vault", None)["state"], "uninitialized");
    g.ok("POST", "/vault/unlock", Some(json!({ "passphrase": PASS })));
    let s = g.ok("GET", "/vault", None);
    assert_eq!(
        (s["state"].as_str(), s["key_source"].as_str()),
        (Some("unlocked"), Some("passphrase"))
    );
}
