//! The shell's own settings (the orchestrator knows nothing of windows or trays), a small JSON
//! file in the OS config dir.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// Closing the window hides it and keeps sessions running in the tray.
    pub close_to_tray: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            close_to_tray: true,
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
