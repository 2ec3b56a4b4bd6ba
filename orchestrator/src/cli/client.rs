//! The CLI's client of a running Grove: finds it through `<data dir>/server.json`.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail};
use grove_orchestrator::server::ServerFile;
use grove_orchestrator::wire::{
    AddRepoRequest, ApiError, CreateSessionRequest, ForceRequest, Repo, Session, TerminalStatus,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

pub struct Client {
    pub base: String,
    pub token: String,
    /// `/api/v1`, or a remote's relay `/api/v1/remotes/NAME/relay` (`--server NAME`).
    pub prefix: String,
    /// The pinned certificate of a server serving `--tls-self-signed` (checked by [`pinned_tls`]).
    pub tls_pin: Option<grove_orchestrator::remote::tls::Fingerprint>,
    data_dir: PathBuf,
    agent: ureq::Agent,
}

/// TLS trusting exactly the server's self-signed certificate: the file the server file names,
/// once its fingerprint is checked to be the one the running server announced.
fn pinned_tls(fingerprint: &str, cert: Option<&Path>) -> anyhow::Result<ureq::tls::TlsConfig> {
    use grove_orchestrator::remote::tls::Fingerprint;
    let expected: Fingerprint = fingerprint
        .parse()
        .map_err(|e| anyhow!("the server file's fingerprint: {e}"))?;
    let cert = cert.ok_or_else(|| {
        anyhow!("the server file has a TLS fingerprint but no certificate: restart `grove serve`")
    })?;
    let pem = fs_err::read(cert)?;
    let cert_der = ureq::tls::Certificate::from_pem(&pem)
        .map_err(|e| anyhow!("{} is not a PEM certificate: {e}", cert.display()))?;
    let got = Fingerprint::of(cert_der.der());
    if got != expected {
        bail!(
            "{} (fingerprint {got}) is not the certificate the running server uses ({expected}): restart `grove serve`",
            cert.display()
        );
    }
    Ok(ureq::tls::TlsConfig::builder()
        .root_certs(ureq::tls::RootCerts::new_with_certs(&[cert_der]))
        .build())
}

impl Client {
    /// Finds the running server of `data_dir`. The token is used only when the server file
    /// belongs to a live Grove process of this user (see [`ServerFile::read_live`]).
    pub fn connect(data_dir: &Path) -> anyhow::Result<Client> {
        let file = ServerFile::read_live(data_dir)?;
        let mut config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(std::time::Duration::from_secs(600)));
        let mut tls_pin = None;
        if let Some(fingerprint) = &file.fingerprint {
            config = config.tls_config(pinned_tls(fingerprint, file.tls_cert.as_deref())?);
            tls_pin = fingerprint.parse().ok();
        }
        let agent: ureq::Agent = config.build().into();
        Ok(Client {
            base: file.url,
            token: file.token,
            prefix: "/api/v1".into(),
            tls_pin,
            data_dir: data_dir.to_owned(),
            agent,
        })
    }

    /// Talks to the remote server `server` through this one's relay (`None`/`local`: this one).
    pub fn on_server(mut self, server: Option<&str>) -> Client {
        if let Some(name) = server.filter(|n| *n != "local") {
            self.prefix = format!("/api/v1/remotes/{name}/relay");
        }
        self
    }

    /// The API's root URL: this server's, or a remote's through the relay.
    pub fn api_url(&self) -> String {
        format!("{}{}", self.base, self.prefix)
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.api_url())
    }

    fn finish<T: DeserializeOwned>(
        &self,
        res: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> anyhow::Result<T> {
        let mut res = res.map_err(|e| match e {
            ureq::Error::Io(_) | ureq::Error::ConnectionFailed | ureq::Error::HostNotFound => anyhow!(
                "no Grove server is running for {} (nothing answers at {}): start one with `grove serve`",
                self.data_dir.display(),
                self.base
            ),
            other => anyhow!(other),
        })?;
        if res.status().is_success() {
            return Ok(res.body_mut().read_json()?);
        }
        match res.body_mut().read_json::<ApiError>() {
            Ok(err) => bail!("{}", err.message),
            Err(_) => bail!("the server answered {}", res.status()),
        }
    }

    fn bearer(&self) -> String {
        format!("Bearer {}", self.token)
    }

    pub fn get<T: DeserializeOwned>(&self, path: &str) -> anyhow::Result<T> {
        let req = self
            .agent
            .get(self.url(path))
            .header("Authorization", self.bearer());
        self.finish(req.call())
    }

    pub fn post<T: DeserializeOwned>(
        &self,
        path: &str,
        body: &impl Serialize,
    ) -> anyhow::Result<T> {
        let req = self
            .agent
            .post(self.url(path))
            .header("Authorization", self.bearer());
        self.finish(req.send_json(body))
    }

    pub fn put<T: DeserializeOwned>(&self, path: &str, body: &impl Serialize) -> anyhow::Result<T> {
        let req = self
            .agent
            .put(self.url(path))
            .header("Authorization", self.bearer());
        self.finish(req.send_json(body))
    }

    pub fn delete<T: DeserializeOwned>(&self, path: &str) -> anyhow::Result<T> {
        let req = self
            .agent
            .delete(self.url(path))
            .header("Authorization", self.bearer());
        self.finish(req.call())
    }

    /// `grove open`: the browser URL with the token in its fragment (which browsers never send),
    /// opened in the default browser, or printed with `print` or when no browser can be started.
    pub fn open(&self, print: bool) -> anyhow::Result<()> {
        let url = format!("{}/#token={}", self.base, self.token);
        if print || !open_in_browser(&url) {
            println!("{url}");
        }
        Ok(())
    }

    pub fn resolve_repo(&self, key: &str) -> anyhow::Result<Repo> {
        let repos: Vec<Repo> = self.get("/repos")?;
        let canonical = fs_err::canonicalize(key)
            .ok()
            .map(|p| p.display().to_string());
        let found: Vec<&Repo> = repos
            .iter()
            .filter(|r| {
                r.id.to_string() == key || r.name == key || Some(&r.path) == canonical.as_ref()
            })
            .collect();
        match found.as_slice() {
            [one] => Ok((*one).clone()),
            [] => bail!(
                "no repository `{key}`: add it with `grove repo add PATH` (see `grove repo list`)"
            ),
            _ => bail!("`{key}` matches several repositories: use its id or path"),
        }
    }

    pub fn resolve_session(&self, name: &str, repo: Option<&str>) -> anyhow::Result<Session> {
        let repo_id = repo
            .map(|r| self.resolve_repo(r))
            .transpose()?
            .map(|r| r.id);
        let sessions: Vec<Session> = self.get("/sessions")?;
        let found: Vec<Session> = sessions
            .into_iter()
            .filter(|s| s.name == name && repo_id.is_none_or(|id| s.repo_id == id))
            .collect();
        match found.len() {
            1 => Ok(found
                .into_iter()
                .next()
                .ok_or_else(|| anyhow!("unreachable"))?),
            0 => bail!("no session named `{name}` (see `grove session list`)"),
            _ => bail!("several sessions are named `{name}`: add --repo"),
        }
    }

    pub fn repo_add(&self, path: &Path) -> anyhow::Result<()> {
        let abs = std::path::absolute(path)?;
        let repo: Repo = self.post(
            "/repos",
            &AddRepoRequest {
                path: abs.display().to_string(),
            },
        )?;
        println!("added {} (id {}) at {}", repo.name, repo.id, repo.path);
        Ok(())
    }

    pub fn repo_list(&self, json: bool) -> anyhow::Result<()> {
        let repos: Vec<Repo> = self.get("/repos")?;
        if json {
            println!("{}", serde_json::to_string_pretty(&repos)?);
        } else {
            for r in repos {
                println!("{}\t{}\t{}", r.id, r.name, r.path);
            }
        }
        Ok(())
    }

    pub fn repo_remove(&self, key: &str) -> anyhow::Result<()> {
        let repo = self.resolve_repo(key)?;
        let _: serde_json::Value = self.delete(&format!("/repos/{}", repo.id))?;
        println!("forgot {} (no file was touched)", repo.name);
        Ok(())
    }

    pub fn session_new(
        &self,
        repo: &str,
        name: Option<&str>,
        base: Option<String>,
        command: Option<String>,
        use_existing_branch: bool,
    ) -> anyhow::Result<()> {
        let repo = self.resolve_repo(repo)?;
        let req = CreateSessionRequest {
            repo_id: repo.id,
            // Empty: the server picks a free name, printed below.
            name: name.unwrap_or_default().into(),
            base,
            command,
            use_existing_branch: Some(use_existing_branch),
            rows: None,
            cols: None,
        };
        let s: Session = self.post("/sessions", &req)?;
        println!(
            "created {} on {} (from {}) in {}; ports {}-{}",
            s.name,
            s.branch,
            s.base,
            s.worktree,
            s.port_base,
            s.port_base + 9
        );
        Ok(())
    }

    pub fn session_list(&self, json: bool) -> anyhow::Result<()> {
        let sessions: Vec<Session> = self.get("/sessions")?;
        if json {
            println!("{}", serde_json::to_string_pretty(&sessions)?);
            return Ok(());
        }
        let repos: Vec<Repo> = self.get("/repos")?;
        println!("NAME\tREPO\tBRANCH\tSTATE\tSTATUS\tPORTS\tWORKTREE");
        for s in sessions {
            let repo = repos
                .iter()
                .find(|r| r.id == s.repo_id)
                .map(|r| r.name.as_str())
                .unwrap_or("?");
            let status = s
                .terminals
                .first()
                .map(|t| status_word(t.status))
                .unwrap_or("-");
            let state = match (&s.state, &s.drift) {
                (_, grove_orchestrator::wire::Drift::Missing) => "missing".to_owned(),
                (_, grove_orchestrator::wire::Drift::BranchChanged { actual }) => {
                    format!("branch changed to {actual}")
                }
                (grove_orchestrator::wire::SessionState::Active, _) => "active".into(),
                (grove_orchestrator::wire::SessionState::Archived, _) => "archived".into(),
            };
            println!(
                "{}\t{repo}\t{}\t{state}\t{status}\t{}\t{}",
                s.name, s.branch, s.port_base, s.worktree
            );
        }
        Ok(())
    }

    pub fn session_archive(
        &self,
        name: &str,
        repo: Option<&str>,
        force: bool,
    ) -> anyhow::Result<()> {
        let s = self.resolve_session(name, repo)?;
        let _: Session = self.post(
            &format!("/sessions/{}/archive", s.id),
            &ForceRequest { force },
        )?;
        println!("archived {} (branch {} kept)", s.name, s.branch);
        Ok(())
    }

    pub fn session_restore(&self, name: &str, repo: Option<&str>) -> anyhow::Result<()> {
        let s = self.resolve_session(name, repo)?;
        let s: Session = self.post(
            &format!("/sessions/{}/restore", s.id),
            &serde_json::json!({}),
        )?;
        println!("restored {} in {}", s.name, s.worktree);
        Ok(())
    }

    pub fn session_delete(
        &self,
        name: &str,
        repo: Option<&str>,
        force: bool,
    ) -> anyhow::Result<()> {
        let s = self.resolve_session(name, repo)?;
        let _: serde_json::Value = self.post(
            &format!("/sessions/{}/delete", s.id),
            &ForceRequest { force },
        )?;
        println!("deleted {} and its branch {}", s.name, s.branch);
        Ok(())
    }
}

fn status_word(s: TerminalStatus) -> &'static str {
    match s {
        TerminalStatus::Running => "running",
        TerminalStatus::Idle => "idle",
        TerminalStatus::NeedsAttention => "needs-attention",
        TerminalStatus::Exited => "exited",
        TerminalStatus::EndedWithApp => "ended-with-app",
    }
}

/// Starts the desktop's URL opener; false when there is none or it failed.
fn open_in_browser(url: &str) -> bool {
    let mut cmd = if cfg!(target_os = "macos") {
        std::process::Command::new("open")
    } else if cfg!(windows) {
        let mut c = std::process::Command::new("rundll32");
        c.arg("url.dll,FileProtocolHandler");
        c
    } else {
        std::process::Command::new("xdg-open")
    };
    // The URL goes as an argument, never through a shell.
    cmd.arg(url)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}
