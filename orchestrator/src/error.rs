//! The orchestrator's error type and its mapping to the wire's `{ code, message }`.

use crate::git::GitError;
use crate::repo_config::ConfigError;
use crate::vault::VaultError;
use crate::wire::{ApiError, ErrorCode};

#[derive(Debug, thiserror::Error)]
pub enum GroveError {
    #[error("{what} {id} was not found")]
    NotFound { what: &'static str, id: String },
    #[error("invalid request: {0}")]
    Invalid(String),
    #[error("{path} is already added as a repository")]
    RepoExists { path: String },
    #[error("repository {name} still has {count} session(s): delete them first")]
    RepoHasSessions { name: String, count: i64 },
    #[error("a session named `{name}` already exists in {repo}: choose another name")]
    NameTaken { name: String, repo: String },
    #[error("command `{command}` was not found in PATH: install it or give its full path")]
    CommandNotFound { command: String },
    #[error("session `{name}` is archived: restore it first")]
    NotActive { name: String },
    #[error("session `{name}` is not archived")]
    NotArchived { name: String },
    #[error(
        "session `{name}`: {drift}. Grove will not act on it until you decide: fix it in the worktree, or force"
    )]
    Drift { name: String, drift: String },
    /// Creating a session is refused until the user approves the repository's config; the
    /// message is the approval text followed by how to approve it.
    #[error(
        "{summary}This config is {why}. Review it, then approve it in Grove or with `grove repo trust {repo}`"
    )]
    UntrustedConfig {
        repo: String,
        why: &'static str,
        summary: String,
    },
    #[error(
        "grove.toml of {repo} changed since it was shown to you: review it again before approving"
    )]
    ConfigChanged { repo: String },
    #[error(transparent)]
    Git(#[from] GitError),
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Db(#[from] crate::db::DbError),
    #[error(transparent)]
    Vault(#[from] crate::vault::VaultError),
    #[error(transparent)]
    Spawn(#[from] grove_pty::SpawnError),
    #[error(transparent)]
    Terminal(#[from] grove_pty::TerminalError),
    #[error(transparent)]
    Persist(#[from] grove_pty::PersistError),
    #[error(transparent)]
    Github(#[from] crate::github::GithubError),
    /// A remote server's refusal or state, with the code the UI acts on.
    #[error("{message}")]
    Remote {
        code: crate::wire::ErrorCode,
        message: String,
    },
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

impl GroveError {
    pub fn code(&self) -> ErrorCode {
        use GroveError as E;
        match self {
            E::NotFound { .. } => ErrorCode::NotFound,
            E::Remote { code, .. } => *code,
            E::Invalid(_) => ErrorCode::InvalidRequest,
            E::RepoExists { .. } => ErrorCode::RepoExists,
            E::RepoHasSessions { .. } => ErrorCode::InvalidRequest,
            E::NameTaken { .. } => ErrorCode::NameTaken,
            E::CommandNotFound { .. } => ErrorCode::CommandNotFound,
            E::NotActive { .. } => ErrorCode::NotActive,
            E::NotArchived { .. } => ErrorCode::NotArchived,
            E::Drift { .. } => ErrorCode::Drift,
            E::UntrustedConfig { .. } => ErrorCode::UntrustedConfig,
            E::ConfigChanged { .. } => ErrorCode::ConfigChanged,
            E::Git(g) => match g {
                GitError::PathMissing { .. } => ErrorCode::PathMissing,
                GitError::NotARepo { .. } => ErrorCode::NotARepo,
                GitError::Bare { .. } => ErrorCode::BareRepo,
                GitError::Empty { .. } => ErrorCode::EmptyRepo,
                GitError::RefNotFound { .. } => ErrorCode::RefNotFound,
                GitError::DetachedBase { .. } => ErrorCode::DetachedBase,
                GitError::BranchExists { .. } => ErrorCode::BranchExists,
                GitError::Dirty { .. } => ErrorCode::DirtyWorktree,
                GitError::Unpushed { .. } => ErrorCode::UnpushedCommits,
                GitError::NotMerged { .. } => ErrorCode::NotMerged,
                GitError::OptionLike { .. } => ErrorCode::InvalidRequest,
                GitError::NotChanged { .. } => ErrorCode::NotChanged,
                GitError::NothingToCommit { .. } => ErrorCode::NothingToCommit,
                GitError::HookFailed { .. } => ErrorCode::HookFailed,
                GitError::IdentityMissing { .. } => ErrorCode::IdentityMissing,
                GitError::AlreadyPushed { .. } => ErrorCode::AlreadyPushed,
                GitError::ChangedSinceRevert { .. } => ErrorCode::ChangedSinceRevert,
                GitError::NothingToUndo => ErrorCode::NothingToUndo,
                GitError::HunkNotFound { .. } => ErrorCode::HunkNotFound,
                GitError::EmptyMessage | GitError::BadPath { .. } => ErrorCode::InvalidRequest,
                GitError::PushRejected { .. } => ErrorCode::PushRejected,
                GitError::PushNetwork { .. } => ErrorCode::PushFailed,
                GitError::PushAuth { .. } => ErrorCode::GithubSignedOut,
                GitError::NoRemote { .. } => ErrorCode::NotGithub,
                _ => ErrorCode::Internal,
            },
            E::Config(_) => ErrorCode::InvalidConfig,
            E::Github(g) => {
                use crate::github::GithubError as G;
                match g {
                    G::Config(_) => ErrorCode::InvalidConfig,
                    G::SignedOut { .. } | G::TokenRejected { .. } => ErrorCode::GithubSignedOut,
                    G::Unreachable { .. } => ErrorCode::GithubUnreachable,
                    G::RateLimited { .. } => ErrorCode::RateLimited,
                    G::BadState => ErrorCode::BadState,
                    G::NotGithub { .. } => ErrorCode::NotGithub,
                    G::DraftUnsupported => ErrorCode::DraftUnsupported,
                    G::Api { .. } | G::BadResponse { .. } | G::SignIn(_) | G::Pull(_) => {
                        ErrorCode::GithubError
                    }
                }
            }
            E::Vault(v) => match v {
                VaultError::Locked => ErrorCode::VaultLocked,
                VaultError::WrongPassphrase => ErrorCode::WrongPassphrase,
                VaultError::Corrupt { .. } => ErrorCode::VaultCorrupt,
                VaultError::Invalid(_) => ErrorCode::InvalidRequest,
                VaultError::Io { .. } | VaultError::Engine(_) => ErrorCode::Internal,
            },
            E::Spawn(grove_pty::SpawnError::ProgramNotFound { .. })
            | E::Spawn(grove_pty::SpawnError::ProgramMissing { .. })
            | E::Spawn(grove_pty::SpawnError::NotExecutable { .. }) => ErrorCode::CommandNotFound,
            E::Terminal(grove_pty::TerminalError::Exited(_)) => ErrorCode::TerminalExited,
            E::Terminal(grove_pty::TerminalError::InvalidSize { .. }) => ErrorCode::InvalidRequest,
            _ => ErrorCode::Internal,
        }
    }

    pub fn to_api(&self) -> ApiError {
        ApiError {
            code: self.code(),
            message: self.to_string(),
        }
    }
}

pub type Result<T, E = GroveError> = std::result::Result<T, E>;
