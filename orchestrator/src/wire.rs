//! Wire types: everything the server sends or accepts, defined once here. The TypeScript types in
//! `web/src/lib/wire/` are generated from these (`scripts/gen-types`); a test fails when the
//! generated files are stale.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// The largest terminal side Grove accepts, in rows or columns; larger requests are clamped.
/// Sizes come from clients: one frame asking for 65535×65535 would make the screen model
/// allocate until the server dies, and no display shows more than this.
pub const MAX_TERMINAL_SIDE: u16 = 1000;

/// A repository Grove knows.
#[derive(Debug, Clone, Serialize, Deserialize, TS, PartialEq)]
pub struct Repo {
    #[ts(type = "number")]
    pub id: i64,
    pub name: String,
    pub path: String,
}

/// What a repository's `grove.toml` asks for, as shown for approval.
#[derive(Debug, Clone, Serialize, Deserialize, TS, PartialEq, Eq, Default)]
pub struct RepoConfigView {
    pub setup: Vec<String>,
    pub copy: Vec<String>,
    pub agent: Option<String>,
    pub env: std::collections::BTreeMap<String, String>,
}

/// Whether a repository's `grove.toml` (in its HEAD commit) may be applied.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, TS, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum TrustState {
    /// The repository has no `grove.toml`: nothing to approve.
    None,
    /// The user approved exactly this config.
    Trusted,
    /// Never approved.
    Untrusted,
    /// An earlier version was approved; this one was not.
    Changed,
}

/// A repository's config and the user's approval of it.
#[derive(Debug, Clone, Serialize, Deserialize, TS, PartialEq)]
pub struct RepoTrust {
    #[ts(type = "number")]
    pub repo_id: i64,
    pub state: TrustState,
    /// SHA-256 of the config now in HEAD (empty without one); an approval names it.
    pub hash: String,
    pub config: RepoConfigView,
    /// The version approved last, to show what changed.
    pub approved: Option<RepoConfigView>,
    /// Keys in `config.env` that change how programs load code: applied only when allowed.
    pub dangerous_env: Vec<String>,
    /// The dangerous keys the current approval lets through.
    pub allowed_env: Vec<String>,
    /// What a new session of this repository runs when no command is given.
    pub default_command: String,
    /// The approval text, as `grove repo trust` prints it.
    pub summary: String,
}

/// Approves the config whose hash the user was shown.
#[derive(Debug, Clone, Serialize, Deserialize, TS, Default)]
pub struct TrustRequest {
    pub hash: String,
    /// Dangerous keys (see [`RepoTrust::dangerous_env`]) the user lets through.
    #[serde(default)]
    pub allow_env: Vec<String>,
}

/// A branch of a repository, for the base picker.
#[derive(Debug, Clone, Serialize, Deserialize, TS, PartialEq)]
pub struct Branch {
    pub name: String,
    pub remote: bool,
    pub head: bool,
}

/// Whether a session's worktree exists.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, TS, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum SessionState {
    Active,
    Archived,
}

/// A session's worktree no longer matches what Grove created; Grove acts on nothing until the
/// user decides.
#[derive(Debug, Clone, Serialize, Deserialize, TS, PartialEq, Eq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Drift {
    None,
    Missing,
    BranchChanged { actual: String },
}

/// A session: a worktree on its own branch plus its terminals.
#[derive(Debug, Clone, Serialize, Deserialize, TS, PartialEq)]
pub struct Session {
    #[ts(type = "number")]
    pub id: i64,
    #[ts(type = "number")]
    pub repo_id: i64,
    pub name: String,
    pub branch: String,
    pub base: String,
    pub worktree: String,
    pub state: SessionState,
    pub drift: Drift,
    /// First port of the session's block of 10 (`PORT`, `GROVE_PORT_BASE`).
    pub port_base: u16,
    /// Exit code of the setup commands, once they ran (`None` while running or without setup).
    pub setup_exit: Option<i32>,
    pub has_setup: bool,
    pub terminals: Vec<TerminalInfo>,
    #[ts(type = "number")]
    pub created_at: i64,
    /// The sidebar's `+added −deleted` and uncommitted dot; `None` until the worktree was first
    /// scanned (and for archived sessions).
    pub changes: Option<ChangeSummary>,
    /// The session branch's pull request, as last checked on GitHub.
    pub pull: Option<PullStatus>,
}

/// A session's changes at a glance, kept current by the file watcher.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, TS, PartialEq, Eq, Default)]
pub struct ChangeSummary {
    /// Files changed against the base (what a pull request shows, uncommitted work included).
    pub files: u32,
    /// Lines added against the base.
    #[ts(type = "number")]
    pub additions: u64,
    /// Lines deleted against the base.
    #[ts(type = "number")]
    pub deletions: u64,
    /// Files that differ from HEAD (staged, unstaged or untracked): the sidebar's dot.
    pub uncommitted: u32,
}

/// The agent terminal or an extra shell.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, TS, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum TerminalKind {
    Agent,
    Shell,
}

/// What a terminal is doing.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, TS, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum TerminalStatus {
    /// Printing output.
    Running,
    /// Alive, no output for a while.
    Idle,
    /// The program rang the bell or sent a notification: it needs the user.
    NeedsAttention,
    /// The program ended.
    Exited,
    /// The program was running when Grove stopped; its output is kept, restart it on request.
    EndedWithApp,
}

/// How a program ended.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, TS, PartialEq, Eq)]
pub struct ExitInfo {
    pub code: Option<i32>,
    pub signal: Option<i32>,
}

impl From<grove_pty::ExitStatus> for ExitInfo {
    fn from(s: grove_pty::ExitStatus) -> Self {
        ExitInfo {
            code: s.code,
            signal: s.signal,
        }
    }
}

/// A terminal of a session.
#[derive(Debug, Clone, Serialize, Deserialize, TS, PartialEq)]
pub struct TerminalInfo {
    #[ts(type = "number")]
    pub id: i64,
    #[ts(type = "number")]
    pub session_id: i64,
    pub kind: TerminalKind,
    pub command: String,
    pub status: TerminalStatus,
    pub exit: Option<ExitInfo>,
    pub rows: u16,
    pub cols: u16,
    /// Offset after the last byte of output.
    #[ts(type = "number")]
    pub log_end: u64,
    /// When `status` last changed (ms since the Unix epoch), so a UI can say how long a
    /// terminal has been idle or waiting for the user.
    #[ts(type = "number")]
    pub status_since: i64,
}

/// An agent preset: a plain command name, no special integration.
#[derive(Debug, Clone, Serialize, Deserialize, TS, PartialEq)]
pub struct AgentPreset {
    pub name: String,
    pub command: String,
    /// Whether the command is found on this machine.
    pub available: bool,
}

/// The steps of creating a session, reported as they happen.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, TS, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum CreateStage {
    Fetching,
    CreatingWorktree,
    CopyingFiles,
    StartingTerminal,
    Done,
}

/// Events on `/api/v1/events`.
#[derive(Debug, Clone, Serialize, Deserialize, TS, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    RepoAdded {
        repo: Repo,
    },
    RepoRemoved {
        #[ts(type = "number")]
        repo_id: i64,
    },
    /// Progress of a create request, keyed by the requested name.
    SessionProgress {
        #[ts(type = "number")]
        repo_id: i64,
        name: String,
        stage: CreateStage,
        message: Option<String>,
    },
    /// A session was created or changed (state, drift, setup, terminals).
    SessionUpdated {
        session: Session,
    },
    SessionRemoved {
        #[ts(type = "number")]
        session_id: i64,
    },
    /// A terminal's status changed.
    TerminalUpdated {
        terminal: TerminalInfo,
    },
    TerminalRemoved {
        #[ts(type = "number")]
        session_id: i64,
        #[ts(type = "number")]
        terminal_id: i64,
    },
    /// A terminal asked for the user (BEL, OSC 9, OSC 777 notify).
    Attention {
        #[ts(type = "number")]
        session_id: i64,
        #[ts(type = "number")]
        terminal_id: i64,
        message: Option<String>,
    },
    /// A session's worktree, index or branch changed: its new summary, and the files seen
    /// written (relative to the worktree). `all` says the watcher could not tell which files
    /// (a rescan after the watch limit, an overflow): treat every file as changed.
    SessionChanges {
        #[ts(type = "number")]
        session_id: i64,
        summary: ChangeSummary,
        paths: Vec<String>,
        all: bool,
    },
    /// A repository's config was approved or its approval revoked.
    RepoTrustChanged {
        trust: RepoTrust,
    },
    /// The vault was unlocked, locked, created or re-keyed.
    VaultChanged {
        status: VaultStatus,
    },
    /// A secret was set or deleted, or an exposure changed: list them again (names only).
    SecretsChanged,
    /// GitHub sign-in changed: signed in or out, a device code to show, a rejected token.
    GithubChanged {
        status: GithubStatus,
    },
    /// A line of a running push's progress.
    PushProgress {
        #[ts(type = "number")]
        session_id: i64,
        line: String,
    },
    /// A remote server was added, or its connection changed (connecting, connected, offline…).
    RemoteChanged {
        remote: Remote,
    },
    /// A remote server was removed: drop its sessions and close its panes.
    RemoteRemoved {
        name: String,
    },
    /// An event of the remote server `server`, relayed. Its ids are that server's own. After the
    /// remote (re)connects (a `remote_changed` to `connected`), reload its state: events it sent
    /// while it was offline are not replayed.
    Remote {
        server: String,
        event: Box<Event>,
    },
    /// The event stream fell behind and dropped events: reload the state.
    Resync,
}

/// How a file changed in a session.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, TS, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ChangeStatus {
    /// New, staged or untracked.
    Added,
    Modified,
    Deleted,
    /// Moved (and maybe edited); `old_path` says from where.
    Renamed,
    /// Became a symlink or a regular file.
    TypeChanged,
    Submodule,
}

/// One changed file of a session.
#[derive(Debug, Clone, Serialize, Deserialize, TS, PartialEq, Eq)]
pub struct ChangedFile {
    /// Relative to the worktree, `/`-separated; bytes that are not UTF-8 show as U+FFFD.
    pub path: String,
    /// The path before a rename.
    pub old_path: Option<String>,
    pub status: ChangeStatus,
    /// Lines added (0 for a binary file).
    #[ts(type = "number")]
    pub additions: u64,
    /// Lines deleted (0 for a binary file).
    #[ts(type = "number")]
    pub deletions: u64,
    pub binary: bool,
    /// Changes whenever the file's content may have changed (size and modification time of the
    /// worktree file, or the old blob of a deletion): a *viewed* mark holds while it is equal.
    pub version: String,
}

/// A session's changed files, sorted by path.
#[derive(Debug, Clone, Serialize, Deserialize, TS, PartialEq, Eq)]
pub struct Changes {
    pub files: Vec<ChangedFile>,
}

/// What changes are measured against.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, TS, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum ChangeScope {
    /// The merge base of the session branch and its base: what a pull request would show, plus
    /// uncommitted and untracked work.
    #[default]
    Base,
    /// The session's HEAD: only what is not committed yet.
    Uncommitted,
}

/// What a file's diff shows.
#[derive(Debug, Clone, Serialize, Deserialize, TS, PartialEq, Eq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DiffContent {
    /// A unified diff, `diff --git` header included.
    Text {
        patch: String,
    },
    Binary,
    /// Larger than 1 MB or 20,000 lines on one side: not diffed for display.
    TooLarge {
        #[ts(type = "number")]
        bytes: u64,
        /// Lines of the larger side, when it was small enough in bytes to count them.
        #[ts(type = "number | null")]
        lines: Option<u64>,
    },
}

/// One file's change and its diff.
#[derive(Debug, Clone, Serialize, Deserialize, TS, PartialEq, Eq)]
pub struct FileDiff {
    pub file: ChangedFile,
    pub content: DiffContent,
}

/// The diffs of a session's changed files (all, or the one asked for).
#[derive(Debug, Clone, Serialize, Deserialize, TS, PartialEq, Eq)]
pub struct Diffs {
    pub files: Vec<FileDiff>,
}

/// Commits a session's work with `git commit` (hooks and signing apply).
#[derive(Debug, Clone, Serialize, Deserialize, TS, Default)]
pub struct CommitRequest {
    pub message: String,
    /// Files to commit (their current content); empty commits everything, untracked included.
    #[serde(default)]
    pub paths: Vec<String>,
    /// Replace the last commit; refused (`already_pushed`) when it is on a remote or another
    /// branch.
    #[serde(default)]
    pub amend: bool,
}

/// The commit made.
#[derive(Debug, Clone, Serialize, Deserialize, TS, PartialEq, Eq)]
pub struct CommitResult {
    /// The new HEAD's full sha.
    pub commit: String,
}

/// Reverts a changed file (or one hunk of it) to the session's base, or to HEAD; undoable.
#[derive(Debug, Clone, Serialize, Deserialize, TS, Default)]
pub struct RevertRequest {
    /// The path as listed in the changes (for a rename, either name).
    pub path: String,
    /// The scope whose diff was shown: `base` reverts to the merge base, `uncommitted` to HEAD.
    #[serde(default)]
    #[ts(optional)]
    pub scope: Option<ChangeScope>,
    /// Revert only this hunk, named by its header as the diff showed it
    /// (`@@ -12,4 +12,6 @@`); without it, the whole file. A hunk no longer in the diff (the
    /// file changed since it was shown) is refused with `hunk_not_found`.
    #[serde(default)]
    #[ts(optional)]
    pub hunk: Option<String>,
}

/// What a revert did.
#[derive(Debug, Clone, Serialize, Deserialize, TS, PartialEq, Eq)]
pub struct RevertResult {
    /// Pass it to undo to put the discarded content back.
    pub undo_id: String,
    /// The files rewritten or removed.
    pub paths: Vec<String>,
}

/// Undoes a revert: the given one, or the latest.
#[derive(Debug, Clone, Serialize, Deserialize, TS, Default)]
pub struct UndoRequest {
    #[serde(default)]
    #[ts(optional)]
    pub undo_id: Option<String>,
}

/// What an undo restored.
#[derive(Debug, Clone, Serialize, Deserialize, TS, PartialEq, Eq)]
pub struct UndoResult {
    pub paths: Vec<String>,
}

/// One review comment on a line or range of a changed file.
#[derive(Debug, Clone, Serialize, Deserialize, TS, PartialEq, Eq)]
pub struct ReviewComment {
    /// The file, as listed in the changes.
    pub path: String,
    /// First line commented on (1-based, in the new side; the old side's for a deleted line).
    pub line: u32,
    /// Last line of a range; absent for one line.
    #[serde(default)]
    #[ts(optional)]
    pub end_line: Option<u32>,
    /// The lines commented on, as the diff showed them (quoted to the agent).
    #[serde(default)]
    pub quote: String,
    /// What the user wrote.
    pub text: String,
}

/// Review comments typed into the session's agent terminal as one bracketed paste, each with
/// `path:line` and its quoted lines. Nothing is submitted: the user presses Enter.
#[derive(Debug, Clone, Serialize, Deserialize, TS, Default)]
pub struct SendCommentsRequest {
    pub comments: Vec<ReviewComment>,
}

/// Where the comments went.
#[derive(Debug, Clone, Serialize, Deserialize, TS, PartialEq, Eq)]
pub struct SentComments {
    #[ts(type = "number")]
    pub terminal_id: i64,
    /// The text typed (without the paste brackets).
    pub text: String,
}

/// A secret in a request (a vault passphrase, a secret's value). It is serialized only by the
/// clients that send it, prints as `[redacted]`, and is zeroed when dropped. No response carries
/// one.
#[derive(Clone)]
pub struct SecretText(pub secrecy::SecretString);

impl SecretText {
    pub fn new(text: impl Into<String>) -> SecretText {
        SecretText(secrecy::SecretString::from(text.into()))
    }
}

impl std::fmt::Debug for SecretText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

impl Serialize for SecretText {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use secrecy::ExposeSecret;
        s.serialize_str(self.0.expose_secret())
    }
}

impl<'de> Deserialize<'de> for SecretText {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(|s| SecretText(secrecy::SecretString::from(s)))
    }
}

/// Whether the vault can be used.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, TS, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum VaultState {
    /// No vault yet: the first unlock sets its passphrase.
    Uninitialized,
    /// Calls that need a secret answer `vault_locked` until it is unlocked.
    Locked,
    Unlocked,
}

/// Where the vault's key material comes from.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, TS, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum KeySource {
    /// A passphrase the user types (or a 0600 passphrase file).
    Passphrase,
    /// A random master secret in the OS keychain.
    Keychain,
}

/// The vault's state.
#[derive(Debug, Clone, Serialize, Deserialize, TS, PartialEq, Eq)]
pub struct VaultStatus {
    pub state: VaultState,
    /// How an existing vault is unlocked (none before it exists).
    pub key_source: Option<KeySource>,
}

/// Unlocks the vault (or creates it, when there is none, with this passphrase).
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct UnlockVaultRequest {
    #[ts(type = "string")]
    pub passphrase: SecretText,
}

/// Changes the vault's passphrase.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct ChangePassphraseRequest {
    #[ts(type = "string")]
    pub current: SecretText,
    #[ts(type = "string")]
    pub new: SecretText,
}

/// Sets a secret's value (`PUT /secrets/{name}`).
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct SetSecretRequest {
    #[ts(type = "string")]
    pub value: SecretText,
}

/// A secret as the API shows it: its name, when it was set, and where it is exposed. Never its
/// value.
#[derive(Debug, Clone, Serialize, Deserialize, TS, PartialEq, Eq)]
pub struct SecretInfo {
    pub name: String,
    /// Milliseconds since the epoch.
    #[ts(type = "number")]
    pub set_at: i64,
    pub exposed: Vec<SecretExposure>,
}

/// A secret put into the environment of one repository's terminals, as variable `var`.
#[derive(Debug, Clone, Serialize, Deserialize, TS, PartialEq, Eq)]
pub struct SecretExposure {
    #[ts(type = "number")]
    pub repo_id: i64,
    pub secret: String,
    pub var: String,
}

/// Exposes a secret to a repository's terminals (`var` defaults to the secret's name).
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct ExposeSecretRequest {
    #[ts(type = "number")]
    pub repo_id: i64,
    pub secret: String,
    #[serde(default)]
    pub var: Option<String>,
}

/// Error codes the UI can act on.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, TS, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    InvalidRequest,
    NotFound,
    PathMissing,
    NotARepo,
    BareRepo,
    EmptyRepo,
    RepoExists,
    NameTaken,
    BranchExists,
    RefNotFound,
    DetachedBase,
    DirtyWorktree,
    UnpushedCommits,
    NotMerged,
    Drift,
    InvalidConfig,
    /// The repository's `grove.toml` was never approved, or changed since.
    UntrustedConfig,
    /// The config changed between showing it and approving it: show it again.
    ConfigChanged,
    CommandNotFound,
    TerminalExited,
    NotArchived,
    NotActive,
    /// A file asked about has no change in the scope asked about.
    NotChanged,
    /// `git commit` found nothing to commit.
    NothingToCommit,
    /// A git hook refused the commit; the message holds its output.
    HookFailed,
    /// git has no `user.name` / `user.email` to commit with.
    IdentityMissing,
    /// Amend refused: the last commit is already pushed or on another branch.
    AlreadyPushed,
    /// Undo refused: the file changed again after the revert.
    ChangedSinceRevert,
    /// No revert to undo.
    NothingToUndo,
    /// The hunk to revert is no longer in the file's diff: show the diff again.
    HunkNotFound,
    /// The vault is locked: unlock it (passphrase or keychain) and try again.
    VaultLocked,
    /// The passphrase does not open the vault; nothing was changed.
    WrongPassphrase,
    /// The vault's file cannot be read with the right key: it was kept as it is.
    VaultCorrupt,
    /// Not signed in to GitHub (or the token was rejected and removed): sign in.
    GithubSignedOut,
    /// GitHub could not be reached; nothing changed: try again.
    GithubUnreachable,
    /// GitHub's rate limit is used up until the time in the message.
    RateLimited,
    /// GitHub refused the request; the message says why.
    GithubError,
    /// The sign-in callback's state is wrong, used or expired: start again.
    BadState,
    /// The session's remote is not a repository on the configured GitHub host.
    NotGithub,
    /// The push was rejected (non-fast-forward): update the branch, or force with lease.
    PushRejected,
    /// The push failed on the network: nothing changed locally; retry.
    PushFailed,
    /// The repository does not allow draft pull requests: open a normal one.
    DraftUnsupported,
    /// A remote server is not connected (offline, restarting, wrong token, changed certificate):
    /// the message says which and what to do.
    RemoteOffline,
    /// The remote refused the token it was added with: remove it and add it again with the
    /// remote's current token.
    RemoteUnauthorized,
    /// The remote's TLS certificate is not the one pinned when it was added. Refused; never
    /// re-pinned silently.
    FingerprintMismatch,
    /// The remote speaks another protocol version; the message names both.
    IncompatibleRemote,
    /// A remote of that name exists already.
    RemoteExists,
    Unauthorized,
    Forbidden,
    Internal,
}

/// Every error the API returns.
#[derive(Debug, Clone, Serialize, Deserialize, TS, PartialEq)]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
}

// ---- GitHub ----

/// A pull request's state on GitHub.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, TS, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum PullState {
    Open,
    Draft,
    Merged,
    Closed,
}

/// The review decision, from the latest decisive review of each reviewer.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, TS, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ReviewDecision {
    None,
    Approved,
    ChangesRequested,
}

/// Checks (commit statuses and check runs) of a pull request's head, merged.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, TS, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ChecksState {
    None,
    Pending,
    Passing,
    Failing,
}

/// One check: a commit status context or a check run.
#[derive(Debug, Clone, Serialize, Deserialize, TS, PartialEq, Eq)]
pub struct CheckItem {
    pub name: String,
    pub state: ChecksState,
    pub url: Option<String>,
}

/// Where a session's pull request stands.
#[derive(Debug, Clone, Serialize, Deserialize, TS, PartialEq, Eq)]
pub struct PullStatus {
    #[ts(type = "number")]
    pub number: u64,
    pub url: String,
    pub title: String,
    /// `owner/name`.
    pub repo: String,
    pub state: PullState,
    pub review: ReviewDecision,
    pub checks: ChecksState,
    pub check_items: Vec<CheckItem>,
    pub head_sha: String,
    /// Unix seconds of the last check on GitHub.
    #[ts(type = "number")]
    pub checked_at: i64,
}

/// A device-flow sign-in waiting for the user: the code to type at the URL.
#[derive(Debug, Clone, Serialize, Deserialize, TS, PartialEq, Eq)]
pub struct DeviceLogin {
    pub user_code: String,
    pub verification_uri: String,
    /// Unix seconds after which the code no longer works.
    #[ts(type = "number")]
    pub expires_at: i64,
}

/// GitHub sign-in, as the UI shows it.
#[derive(Debug, Clone, Serialize, Deserialize, TS, PartialEq, Eq)]
pub struct GithubStatus {
    /// The GitHub web host (`github.com`, or an Enterprise host).
    pub host: String,
    pub signed_in: bool,
    pub login: Option<String>,
    /// The token's scopes (empty for fine-grained tokens).
    pub scopes: Vec<String>,
    /// A device sign-in in progress.
    pub device: Option<DeviceLogin>,
    /// Why the last sign-in failed or why Grove signed out (a rejected token), once.
    pub problem: Option<String>,
    /// Whether this build can sign in through the browser (`grove://` redirect); otherwise it
    /// uses a device code.
    pub web_flow: bool,
    /// The scopes Grove asks for, shown before sign-in.
    pub requested_scopes: Vec<String>,
}

/// Signs in with a token given by the user (scripts, fine-grained tokens, `gh auth token`).
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct TokenLoginRequest {
    #[ts(type = "string")]
    pub token: SecretText,
}

/// Starts a device or browser sign-in.
#[derive(Debug, Clone, Default, Serialize, Deserialize, TS)]
pub struct StartLoginRequest {
    /// Also ask for the `workflow` scope (agents may change `.github/workflows`).
    #[serde(default)]
    pub workflow: bool,
}

/// The page to open in the system browser for a web sign-in.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct WebLogin {
    pub authorize_url: String,
}

/// The `grove://auth/callback` redirect's parameters.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct AuthCallbackRequest {
    pub state: String,
    #[serde(default)]
    #[ts(type = "string | null")]
    pub code: Option<SecretText>,
    #[serde(default)]
    pub error: Option<String>,
}

/// Pushes the session branch.
#[derive(Debug, Clone, Default, Serialize, Deserialize, TS)]
pub struct PushRequest {
    /// Replace the remote branch if it is where Grove last saw it (`--force-with-lease`).
    #[serde(default)]
    pub force_with_lease: bool,
}

/// What a push did.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct PushResult {
    pub remote: String,
    pub branch: String,
    pub sha: String,
    pub up_to_date: bool,
}

/// Opens a pull request for the session branch (pushing it first).
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct CreatePullRequest {
    pub title: String,
    #[serde(default)]
    pub body: Option<String>,
    /// Default: the session's base branch.
    #[serde(default)]
    pub base: Option<String>,
    #[serde(default)]
    pub draft: bool,
}

/// The pull request opened, or the one that already existed for the branch.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct PullCreated {
    pub pull: PullStatus,
    pub existed: bool,
}

/// A title and body prefilled from the session's commits, and the base.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct PullDraft {
    pub title: String,
    pub body: String,
    pub base: String,
    /// `owner/name` on GitHub.
    pub repo: String,
}

// ---- requests ----

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct AddRepoRequest {
    pub path: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS, Default)]
pub struct CreateSessionRequest {
    #[ts(type = "number")]
    pub repo_id: i64,
    /// Empty or missing: the server picks a free name (see [`SuggestedName`]).
    #[serde(default)]
    pub name: String,
    /// Branch, tag or commit; default the repo's current branch.
    #[serde(default)]
    #[ts(optional)]
    pub base: Option<String>,
    /// Agent command; default the repo's `grove.toml` agent, else the user's shell.
    #[serde(default)]
    #[ts(optional)]
    pub command: Option<String>,
    /// Check out an existing `grove/<name>` branch instead of refusing.
    #[serde(default)]
    #[ts(optional)]
    pub use_existing_branch: Option<bool>,
    #[serde(default)]
    #[ts(optional)]
    pub rows: Option<u16>,
    #[serde(default)]
    #[ts(optional)]
    pub cols: Option<u16>,
}

/// A free session name for a repo (`GET /repos/{id}/suggest-name?base=…`): the base branch and
/// a word, unused by any session or branch of that repo. What an empty name on create gets.
#[derive(Debug, Clone, Serialize, Deserialize, TS, PartialEq)]
pub struct SuggestedName {
    pub name: String,
}

/// The query of `GET /repos/{id}/suggest-name`.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct SuggestNameQuery {
    #[serde(default)]
    pub base: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS, Default)]
pub struct ForceRequest {
    #[serde(default)]
    pub force: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS, Default)]
pub struct NewTerminalRequest {
    /// Command to run; default the user's shell.
    #[serde(default)]
    #[ts(optional)]
    pub command: Option<String>,
}

/// Client → server text frames on a terminal socket.
#[derive(Debug, Clone, Serialize, Deserialize, TS, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientFrame {
    /// The pane's size changed.
    Resize { rows: u16, cols: u16 },
    /// The client has parsed every byte before `offset` (cumulative, so duplicates are harmless).
    Ack {
        #[ts(type = "number")]
        offset: u64,
    },
}

impl ClientFrame {
    /// Decodes a client text frame: any input gives a frame or an error, never a panic.
    pub fn decode(text: &str) -> Result<ClientFrame, String> {
        serde_json::from_str(text).map_err(|e| format!("bad control frame: {e}"))
    }
}

/// The server's rendering of a terminal's screen: escape sequences that, written into a freshly
/// reset terminal of `cols`×`rows`, reproduce its scrollback, screen, cursor and modes.
#[derive(Debug, Clone, Serialize, Deserialize, TS, PartialEq)]
pub struct ScreenSnapshot {
    pub cols: u16,
    pub rows: u16,
    pub data: String,
}

/// `GET /api/v1/state`: everything the UI's first screen needs, in one answer (the repos, the
/// agent presets and every session), so a page makes one request where it made three.
#[derive(Debug, Clone, Serialize, Deserialize, TS, PartialEq)]
pub struct UiState {
    pub repos: Vec<Repo>,
    pub agents: Vec<AgentPreset>,
    pub sessions: Vec<Session>,
    /// With `?first_pane=true`: the pane the UI opens with and its screen, so it draws before
    /// its socket is open. `None` without the query, or when there is no active session with a
    /// terminal.
    pub first_pane: Option<FirstPane>,
}

/// The terminal a starting UI shows first (the first terminal of the first active session in the
/// sidebar's order: repos by name, then sessions by creation) and its screen.
#[derive(Debug, Clone, Serialize, Deserialize, TS, PartialEq)]
pub struct FirstPane {
    #[ts(type = "number")]
    pub session_id: i64,
    #[ts(type = "number")]
    pub terminal_id: i64,
    /// The log offset `snapshot` stands for: the pane's socket continues it exactly with
    /// `?from=offset` (or, should the log no longer hold it, answers with a fresh snapshot).
    #[ts(type = "number")]
    pub offset: u64,
    pub snapshot: ScreenSnapshot,
    /// The same screen as styled runs, for a page to draw before its terminal emulator has
    /// loaded; the emulator then takes over from `snapshot`.
    pub view: ScreenView,
}

/// The visible screen as runs of styled text, every colour resolved as the panes draw it
/// (`#rrggbb`; bold text in the eight base colours drawn bright, inverse applied, hidden text
/// blank).
#[derive(Debug, Clone, Serialize, Deserialize, TS, PartialEq)]
pub struct ScreenView {
    pub cols: u16,
    pub rows: u16,
    /// The default colours (a program may have changed them).
    pub foreground: String,
    pub background: String,
    pub cursor_color: String,
    /// One entry per row: its runs left to right, without its trailing blanks.
    pub lines: Vec<Vec<ScreenRun>>,
    /// `[row, column]` of the cursor, when the program shows it.
    pub cursor: Option<[u16; 2]>,
}

/// Cells drawn alike, side by side. A wide character and each character outside ASCII are runs
/// of their own.
#[derive(Debug, Clone, Serialize, Deserialize, TS, PartialEq)]
pub struct ScreenRun {
    pub text: String,
    /// The cells it covers.
    pub cols: u16,
    /// Absent: the default colour.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub fg: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub bg: Option<String>,
    /// Bits: 1 bold, 2 dim, 4 italic, 8 underline, 16 struck through.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub flags: Option<u8>,
}

/// Server → client text frames on a terminal socket. Output itself travels as binary frames.
#[derive(Debug, Clone, Serialize, Deserialize, TS, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerFrame {
    /// First frame: the offset of the first byte that will follow, and the terminal. With a
    /// `snapshot` (an attach without `from`, or one whose offset the log no longer holds), the
    /// client resets its screen and writes the snapshot first; the bytes that follow continue
    /// it exactly, from `offset`.
    Hello {
        #[ts(type = "number")]
        offset: u64,
        terminal: TerminalInfo,
        snapshot: Option<ScreenSnapshot>,
    },
    /// The client fell further behind than the log holds: reset the screen, write `snapshot`,
    /// and continue from `offset`.
    Resync {
        #[ts(type = "number")]
        offset: u64,
        snapshot: ScreenSnapshot,
    },
    /// The program ended (output before this frame is complete).
    Exit { exit: ExitInfo },
    /// The program was restarted: output continues in the same stream.
    Restarted { terminal: TerminalInfo },
    /// A request on this socket was refused.
    Error { error: ApiError },
}

// ---- remote servers ----

/// How far a remote server's connection got.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, TS, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum RemoteState {
    /// Connecting (or reconnecting after a drop; `detail` says why it dropped).
    Connecting,
    Connected,
    /// Unreachable, refused, timed out, the tunnel down: retried with backoff; `detail` says why.
    Offline,
    /// The remote refused the stored token.
    Unauthorized,
    /// The certificate is not the pinned one. Refused loudly; never re-pinned silently.
    FingerprintMismatch,
    /// The remote speaks another protocol version.
    Incompatible,
    /// SSH does not know the remote's host key: verify it with `ssh` once (never auto-accepted).
    HostKeyUnknown,
    /// The vault is locked, so the remote's token cannot be read: unlock it.
    Locked,
}

/// A remote Grove server this server relays to the UI.
#[derive(Debug, Clone, Serialize, Deserialize, TS, PartialEq)]
pub struct Remote {
    /// `[a-z0-9][a-z0-9-]*`, at most 32; `local` is reserved for this server.
    pub name: String,
    /// `https://host:port` or `ssh://[user@]host[:port]`.
    pub url: String,
    /// With `ssh://`: the port the remote `grove serve` listens on, on its own loopback.
    pub remote_port: Option<u16>,
    /// The pinned SHA-256 of the remote's TLS certificate (`AB:CD:…`, 32 bytes); `None` when the
    /// system's roots are trusted instead, or over SSH.
    pub fingerprint: Option<String>,
    pub state: RemoteState,
    /// Why it is not connected, and what to do; `None` when connected.
    pub detail: Option<String>,
    /// The remote's Grove version once it answered.
    pub version: Option<String>,
    /// Sessions of the remote that need the user (for the tray and "needs you").
    pub attention: u32,
}

/// `POST /api/v1/remotes`.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct AddRemoteRequest {
    pub name: String,
    pub url: String,
    /// The remote server's token (its `--token-file`).
    #[ts(type = "string")]
    pub token: SecretText,
    /// Pin this fingerprint; without it the certificate the remote presents now is pinned
    /// (trust on first use), unless the system's roots already trust it.
    #[serde(default)]
    #[ts(optional)]
    pub fingerprint: Option<String>,
    /// Required with `ssh://`: the remote `grove serve`'s port on its loopback.
    #[serde(default)]
    #[ts(optional)]
    pub remote_port: Option<u16>,
}

/// `GET /api/v1/health`: what a server is and which protocol it speaks.
#[derive(Debug, Clone, Serialize, Deserialize, TS, PartialEq)]
pub struct Health {
    pub ok: bool,
    pub version: String,
    /// [`PROTOCOL_VERSION`]; missing in Grove before remotes (treated as incompatible).
    #[serde(default)]
    pub protocol: u32,
}

/// The API and socket protocol this Grove speaks. A remote must speak the same.
pub const PROTOCOL_VERSION: u32 = 1;

/// Everything exported to TypeScript, for the generator and the staleness test.
pub fn export_all(dir: &std::path::Path) -> Result<(), ts_rs::ExportError> {
    // Offsets and ids are u64/i64 in Rust; they stay far below 2^53, so `number` is exact.
    let cfg = ts_rs::Config::new()
        .with_large_int("number")
        .with_out_dir(dir);
    macro_rules! export {
        ($($t:ty),* $(,)?) => { $( <$t as TS>::export_all(&cfg)?; )* };
    }
    export!(
        Remote,
        RemoteState,
        AddRemoteRequest,
        Health,
        Repo,
        RepoTrust,
        TrustRequest,
        Branch,
        Session,
        TerminalInfo,
        AgentPreset,
        Event,
        ApiError,
        AddRepoRequest,
        CreateSessionRequest,
        SuggestedName,
        ForceRequest,
        NewTerminalRequest,
        ClientFrame,
        ServerFrame,
        ScreenSnapshot,
        ScreenView,
        ScreenRun,
        UiState,
        FirstPane,
        Changes,
        ChangeScope,
        Diffs,
        CommitRequest,
        CommitResult,
        RevertRequest,
        RevertResult,
        UndoRequest,
        UndoResult,
        ReviewComment,
        SendCommentsRequest,
        SentComments,
        VaultState,
        KeySource,
        VaultStatus,
        UnlockVaultRequest,
        ChangePassphraseRequest,
        SetSecretRequest,
        SecretInfo,
        SecretExposure,
        ExposeSecretRequest,
        PullState,
        ReviewDecision,
        ChecksState,
        CheckItem,
        PullStatus,
        DeviceLogin,
        GithubStatus,
        TokenLoginRequest,
        StartLoginRequest,
        WebLogin,
        AuthCallbackRequest,
        PushRequest,
        PushResult,
        CreatePullRequest,
        PullCreated,
        PullDraft,
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_frames_decode() {
        assert_eq!(
            ClientFrame::decode(r#"{"type":"ack","offset":42}"#),
            Ok(ClientFrame::Ack { offset: 42 })
        );
        assert_eq!(
            ClientFrame::decode(r#"{"type":"resize","rows":40,"cols":120}"#),
            Ok(ClientFrame::Resize {
                rows: 40,
                cols: 120
            })
        );
        for bad in [
            "",
            "{",
            "null",
            r#"{"type":"ack"}"#,
            r#"{"type":"resize","rows":-1,"cols":2}"#,
            r#"{"type":"rm -rf"}"#,
        ] {
            assert!(ClientFrame::decode(bad).is_err(), "{bad}");
        }
    }

    proptest::proptest! {
        /// Any text a client may send decodes to a frame or an error; it never panics.
        #[test]
        fn decoding_never_panics(text in ".{0,300}") {
            let _ = ClientFrame::decode(&text);
        }

        #[test]
        fn decoding_json_like_input_never_panics(
            ty in proptest::sample::select(vec!["ack", "resize", "x", ""]),
            a in proptest::prelude::any::<i64>(),
            b in proptest::prelude::any::<f64>(),
        ) {
            let _ = ClientFrame::decode(&format!(r#"{{"type":"{ty}","offset":{a},"rows":{b},"cols":{a}}}"#));
        }
    }
}
