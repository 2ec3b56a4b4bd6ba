//! `<data dir>/server.json` (0600): where a running server tells the CLI its address and token.
//! `grove serve` and the desktop app write it through [`super::start`]; the CLI reads it with
//! [`ServerFile::read_live`], which hands the token over only when the file belongs to a live
//! Grove process of this user. A file left behind by a crash may name a port that another program
//! listens on now, and that program must never see the token.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::ServerInfo;

/// The contents of `server.json`. `Debug` does not print the token.
#[derive(Clone, Serialize, Deserialize)]
pub struct ServerFile {
    /// A URL the local CLI can reach (loopback when the server listens on every address).
    pub url: String,
    pub token: String,
    /// The serving process.
    pub pid: u32,
    /// That process's executable, to tell it from an unrelated process that got the same pid.
    #[serde(default)]
    pub exe: Option<PathBuf>,
    /// Over TLS with a self-signed certificate: its SHA-256 fingerprint (`AB:CD:…`) and file.
    /// The CLI trusts exactly that certificate, after checking the file still has that
    /// fingerprint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_cert: Option<PathBuf>,
}

impl std::fmt::Debug for ServerFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerFile")
            .field("url", &self.url)
            .field("pid", &self.pid)
            .field("exe", &self.exe)
            .field("fingerprint", &self.fingerprint)
            .finish_non_exhaustive()
    }
}

/// Why the CLI cannot use a server file.
#[derive(Debug, thiserror::Error)]
pub enum ServerFileError {
    #[error(
        "no Grove server is running for {data_dir}: start one with `grove serve --data-dir {data_dir}` (or the desktop app)"
    )]
    NotRunning { data_dir: PathBuf },
    #[error("{path} is not a Grove server file ({reason}); delete it and start Grove again")]
    Invalid { path: PathBuf, reason: String },
    #[error("could not read {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl ServerFile {
    /// The file for this process serving at `info`.
    pub fn for_this_process(info: &ServerInfo) -> ServerFile {
        ServerFile {
            url: info.local_url.clone(),
            token: info.token.expose().to_owned(),
            pid: std::process::id(),
            exe: std::env::current_exe().ok(),
            fingerprint: None,
            tls_cert: None,
        }
    }

    /// Writes it (0600, atomically) to `path`.
    pub fn write(&self, path: &Path) -> std::io::Result<()> {
        let json = serde_json::to_vec(self).map_err(std::io::Error::other)?;
        crate::data_dir::write_private(path, &json)
    }

    /// Reads the server file of `data_dir` if a live Grove process of this user wrote it.
    pub fn read_live(data_dir: &Path) -> Result<ServerFile, ServerFileError> {
        let path = crate::data_dir::server_file(data_dir);
        let not_running = || ServerFileError::NotRunning {
            data_dir: data_dir.to_owned(),
        };
        let text = match fs_err::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(not_running()),
            Err(source) => return Err(ServerFileError::Io { path, source }),
        };
        let file: ServerFile =
            serde_json::from_str(&text).map_err(|e| ServerFileError::Invalid {
                path: path.clone(),
                reason: e.to_string(),
            })?;
        if !file.process_is_live() {
            return Err(not_running());
        }
        Ok(file)
    }

    /// Whether `pid` is a live process of this user running the executable that wrote the file.
    fn process_is_live(&self) -> bool {
        #[cfg(unix)]
        {
            let Ok(pid) = libc::pid_t::try_from(self.pid) else {
                return false;
            };
            // Signal 0 checks existence and permission only. EPERM means another user's process,
            // which is not ours either.
            // SAFETY: kill with signal 0 sends nothing and touches no memory.
            if pid <= 0 || unsafe { libc::kill(pid, 0) } != 0 {
                return false;
            }
            if cfg!(target_os = "linux") {
                return self.proc_matches(Path::new(&format!("/proc/{pid}")));
            }
            // No procfs (macOS): a live process of ours is as far as we can tell.
            true
        }
        #[cfg(not(unix))]
        {
            // Windows: the data dir is the user's own; the pid is not checked.
            true
        }
    }

    #[cfg(unix)]
    fn proc_matches(&self, proc_dir: &Path) -> bool {
        use std::os::unix::fs::MetadataExt;
        // SAFETY: geteuid cannot fail and touches no memory.
        let me = unsafe { libc::geteuid() };
        let Ok(meta) = fs_err::metadata(proc_dir) else {
            return false;
        };
        if meta.uid() != me {
            return false;
        }
        let (Some(expected), Ok(actual)) = (&self.exe, fs_err::read_link(proc_dir.join("exe")))
        else {
            return false;
        };
        // A binary rebuilt while it runs shows as "<path> (deleted)".
        let actual = actual.to_string_lossy();
        let actual = actual.strip_suffix(" (deleted)").unwrap_or(&actual);
        Path::new(actual) == expected
    }
}
