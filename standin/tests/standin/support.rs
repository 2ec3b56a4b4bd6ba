//! A stand-in with one user and one repository, an HTTP client that reports every status, and
//! git helpers that see none of the machine's git configuration.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use grove_github_standin::Standin;
use serde_json::Value;
use tempfile::TempDir;
use ureq::http::HeaderMap;

pub const TOKEN: &str = "gho_alice_test_token";

pub struct Fixture {
    pub standin: Standin,
    pub dir: TempDir,
    pub bare: PathBuf,
    agent: ureq::Agent,
}

/// One answer, read to the end.
pub struct Answer {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: String,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.body))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// A client that neither follows redirects nor turns 4xx into errors, and sends no
/// User-Agent of its own (the requests below add one where they mean to).
pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .user_agent(ureq::config::AutoHeaderValue::None)
        .build()
        .into()
}

pub fn read(mut response: ureq::http::Response<ureq::Body>) -> Answer {
    Answer {
        status: response.status().as_u16(),
        headers: response.headers().clone(),
        body: response.body_mut().read_to_string().unwrap(),
    }
}

pub fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let standin = Standin::start(&dir.path().join("github")).unwrap();
    standin.add_token(TOKEN, "alice", &["repo", "workflow"]);
    let bare = standin.create_repo("alice", "proj").unwrap();
    Fixture {
        standin,
        dir,
        bare,
        agent: agent(),
    }
}

impl Fixture {
    pub fn api(&self, path: &str) -> String {
        format!("{}{path}", self.standin.api_url())
    }

    /// GET an API path as a client with a User-Agent and, if given, a token.
    pub fn get(&self, path: &str, token: Option<&str>) -> Answer {
        self.get_with(path, token, &[])
    }

    pub fn get_with(&self, path: &str, token: Option<&str>, headers: &[(&str, &str)]) -> Answer {
        let mut request = self
            .agent
            .get(self.api(path))
            .header("User-Agent", "grove-tests");
        if let Some(token) = token {
            request = request.header("Authorization", format!("Bearer {token}"));
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        read(request.call().unwrap())
    }

    /// POST a JSON body (as text, so tests can send broken JSON too) with the token.
    pub fn post(&self, path: &str, body: &str) -> Answer {
        read(
            self.agent
                .post(self.api(path))
                .header("User-Agent", "grove-tests")
                .header("Authorization", format!("token {TOKEN}"))
                .header("Content-Type", "application/json")
                .send(body)
                .unwrap(),
        )
    }

    /// A working copy with `main` (one commit) and `feature` (one more), both pushed with the
    /// token; returns the working copy and the sha of `feature`.
    pub fn pushed_feature(&self) -> (PathBuf, String) {
        let work = self.dir.path().join("work");
        git(
            self.dir.path(),
            &["init", "-q", "-b", "main", work.to_str().unwrap()],
        );
        commit(&work, "first");
        git(&work, &["checkout", "-q", "-b", "feature"]);
        commit(&work, "the feature");
        let pushed = push(
            &work,
            &self.standin.clone_url("alice", "proj"),
            Some(TOKEN),
            &["main", "feature"],
        );
        assert!(
            pushed.status.success(),
            "{}",
            String::from_utf8_lossy(&pushed.stderr)
        );
        let sha = git(&work, &["rev-parse", "HEAD"]);
        (work, sha)
    }
}

/// `git` with none of the machine's or user's configuration, never prompting.
pub fn git_command(dir: &Path) -> Command {
    let mut cmd = Command::new("git");
    cmd.current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_AUTHOR_NAME", "Test")
        .env("GIT_AUTHOR_EMAIL", "test@example.com")
        .env("GIT_COMMITTER_NAME", "Test")
        .env("GIT_COMMITTER_EMAIL", "test@example.com")
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE");
    cmd
}

/// Runs git and returns its trimmed stdout; panics with its stderr when it fails.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = git_command(dir).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

pub fn commit(work: &Path, message: &str) {
    std::fs::write(
        work.join(format!("{}.txt", message.replace(' ', "-"))),
        message,
    )
    .unwrap();
    git(work, &["add", "-A"]);
    git(work, &["commit", "-q", "-m", message]);
}

/// `git push url refs…` with inherited credential helpers dropped and, if given, a helper that
/// answers with `token` as the password.
pub fn push(work: &Path, url: &str, token: Option<&str>, refs: &[&str]) -> Output {
    let mut cmd = git_command(work);
    cmd.args(["-c", "credential.helper="]);
    if let Some(token) = token {
        cmd.arg("-c").arg(format!(
            "credential.helper=!f() {{ echo username=x-access-token; echo password={token}; }}; f"
        ));
    }
    cmd.args(["push", url]).args(refs).output().unwrap()
}
