//! Wire types: everything the server sends or accepts, defined once here. The TypeScript types in
//! `web/src/lib/wire/` are generated from these (`scripts/gen-types`); a test fails when the
//! generated files are stale.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// A repository Grove knows.
#[derive(Debug, Clone, Serialize, Deserialize, TS, PartialEq)]
pub struct Repo {
    #[ts(type = "number")]
    pub id: i64,
    pub name: String,
    pub path: String,
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
    /// The event stream fell behind and dropped events: reload the state.
    Resync,
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
    CommandNotFound,
    TerminalExited,
    NotArchived,
    NotActive,
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

// ---- requests ----

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct AddRepoRequest {
    pub path: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS, Default)]
pub struct CreateSessionRequest {
    #[ts(type = "number")]
    pub repo_id: i64,
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
        Repo,
        Branch,
        Session,
        TerminalInfo,
        AgentPreset,
        Event,
        ApiError,
        AddRepoRequest,
        CreateSessionRequest,
        ForceRequest,
        NewTerminalRequest,
        ClientFrame,
        ServerFrame,
        ScreenSnapshot,
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
