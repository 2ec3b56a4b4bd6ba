//! The shell's own settings (the orchestrator knows nothing of windows or trays), a small JSON
//! file in the OS config dir.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// Closing the window hides it and keeps sessions running in the tray.
    pub close_to_tray: bool,
    /// What the updater remembers and where it looks (see `update.rs`).
    pub updates: UpdateSettings,
}

/// The updater's part of the settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct UpdateSettings {
    /// Check at start and every few hours (a check downloads only the small `latest.json`).
    pub check: bool,
    /// A mirror's `latest.json` instead of the project's GitHub Releases; https only (plain http
    /// is accepted by debug builds, for the tests).
    pub endpoint: Option<String>,
    /// "Skip this version": never offered again unless the user checks by hand.
    pub skipped: Option<String>,
    /// "Later": not offered again before this time (Unix seconds) for this version.
    pub later: Option<Later>,
    /// The version that ran last, to say "updated to X" once after an update.
    pub last_version: Option<String>,
}

impl Default for UpdateSettings {
    fn default() -> Self {
        UpdateSettings {
            check: true,
            endpoint: None,
            skipped: None,
            later: None,
            last_version: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Later {
    pub version: String,
    pub until: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            close_to_tray: true,
            updates: UpdateSettings::default(),
        }
    }
}

impl Settings {
    /// Reads the file; a missing or unreadable one gives the defaults (with a log line).
    pub fn load(path: &PathBuf) -> Settings {
        match fs_err::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|err| {
                tracing::warn!(%err, path = %path.display(), "ignoring unreadable settings");
                Settings::default()
            }),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Settings::default(),
            Err(err) => {
                tracing::warn!(%err, "ignoring unreadable settings");
                Settings::default()
            }
        }
    }

    pub fn save(&self, path: &PathBuf) {
        let result = (|| -> anyhow::Result<()> {
            if let Some(dir) = path.parent() {
                fs_err::create_dir_all(dir)?;
            }
            let tmp = path.with_extension("tmp");
            fs_err::write(&tmp, serde_json::to_vec_pretty(self)?)?;
            fs_err::rename(&tmp, path)?;
            Ok(())
        })();
        if let Err(err) = result {
            tracing::warn!(%err, "could not save the desktop settings");
        }
    }
}
