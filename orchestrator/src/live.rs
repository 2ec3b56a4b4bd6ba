//! A session's terminal as the orchestrator sees it: one output log that outlives any one run of
//! the program (restarts continue the same log and offsets), the running [`Terminal`] if any,
//! the one writer that saves that log, its status, and the clients attached to it.

use std::path::PathBuf;
use std::sync::Arc;

use parking_lot::Mutex;
use std::time::Instant;

use grove_pty::{
    FlowReader, FlushRegistry, OutputLog, PersistError, PersistedLog, Screen, Terminal,
    TerminalSize,
};
use tokio::sync::watch;

use crate::wire::{ExitInfo, TerminalInfo, TerminalKind, TerminalStatus};

#[derive(Debug)]
pub(crate) struct LiveState {
    pub attention: bool,
    /// How many times attention was raised: input clears only attention raised before it.
    pub bells: u64,
    pub idle: bool,
    pub ended_with_app: bool,
    pub exit: Option<ExitInfo>,
    pub last_output: Instant,
    pub size: TerminalSize,
    /// The status last announced, and since when (ms since the Unix epoch); kept by `bump`.
    shown: TerminalStatus,
    status_since: i64,
}

impl LiveState {
    fn status(&self) -> TerminalStatus {
        if self.ended_with_app {
            TerminalStatus::EndedWithApp
        } else if self.exit.is_some() {
            TerminalStatus::Exited
        } else if self.attention {
            TerminalStatus::NeedsAttention
        } else if self.idle {
            TerminalStatus::Idle
        } else {
            TerminalStatus::Running
        }
    }
}

#[derive(Debug)]
pub struct LiveTerminal {
    pub id: i64,
    pub session_id: i64,
    pub kind: TerminalKind,
    pub command: String,
    pub(crate) log: Arc<OutputLog>,
    pub(crate) log_path: PathBuf,
    /// The screen model, continued across restarts like the log.
    pub(crate) screen: Arc<Screen>,
    /// The log file's one writer, continued across restarts like the log (two would each append
    /// what they think is new, duplicating bytes and shifting every later offset). Opened by the
    /// first program, or on the first restart of a terminal restored from disk.
    persisted: Mutex<Option<Arc<PersistedLog>>>,
    term: Mutex<Option<Arc<Terminal>>>,
    pub(crate) state: Mutex<LiveState>,
    /// Bumped on every change of status, exit or program (restart); terminal sockets watch it.
    changed: watch::Sender<u64>,
    pub(crate) monitor: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl LiveTerminal {
    pub(crate) fn new(
        row: &crate::db::TerminalRow,
        log: Arc<OutputLog>,
        log_path: PathBuf,
        screen: Arc<Screen>,
        term: Option<Terminal>,
    ) -> Arc<Self> {
        let running = term.is_some();
        let persisted = term.as_ref().and_then(|t| t.persisted().cloned());
        let exit = match (row.exit_code, row.exit_signal) {
            (None, None) => None,
            (code, signal) => Some(ExitInfo { code, signal }),
        };
        let ended_with_app = !running && exit.is_none();
        let exit = if running { None } else { exit };
        let shown = if ended_with_app {
            TerminalStatus::EndedWithApp
        } else if exit.is_some() {
            TerminalStatus::Exited
        } else {
            TerminalStatus::Running
        };
        Arc::new(LiveTerminal {
            id: row.id,
            session_id: row.session_id,
            kind: row.kind,
            command: row.command.clone(),
            log,
            log_path,
            screen,
            persisted: Mutex::new(persisted),
            term: Mutex::new(term.map(Arc::new)),
            state: Mutex::new(LiveState {
                attention: false,
                bells: 0,
                idle: false,
                ended_with_app,
                exit,
                last_output: Instant::now(),
                shown,
                status_since: crate::db::now(),
                size: TerminalSize {
                    rows: row.rows.clamp(1, crate::wire::MAX_TERMINAL_SIDE),
                    cols: row.cols.clamp(1, crate::wire::MAX_TERMINAL_SIDE),
                },
            }),
            changed: watch::channel(0).0,
            monitor: Mutex::new(None),
        })
    }

    pub fn log(&self) -> &Arc<OutputLog> {
        &self.log
    }

    /// The terminal's screen model.
    pub fn screen(&self) -> &Arc<Screen> {
        &self.screen
    }

    /// The writer that saves this terminal's log, for a program that continues it: the one
    /// already open, or a new one (registered with `flusher`) if no program has run since the
    /// log was loaded.
    pub(crate) fn persisted_log(
        &self,
        flusher: &FlushRegistry,
    ) -> Result<Arc<PersistedLog>, PersistError> {
        let mut slot = self.persisted.lock();
        if let Some(p) = &*slot {
            return Ok(Arc::clone(p));
        }
        let p = PersistedLog::new(&self.log_path, Arc::clone(&self.log))?;
        flusher.register(&p);
        *slot = Some(Arc::clone(&p));
        Ok(p)
    }

    /// The running program, if any.
    pub fn terminal(&self) -> Option<Arc<Terminal>> {
        self.term.lock().clone()
    }

    /// Replaces the program (restart); returns the previous one so the caller can end it off the
    /// async runtime.
    pub(crate) fn set_terminal(&self, term: Terminal) -> Option<Arc<Terminal>> {
        let size = term.size();
        let old = self.term.lock().replace(Arc::new(term));
        {
            let mut st = self.state.lock();
            st.exit = None;
            st.ended_with_app = false;
            st.attention = false;
            st.idle = false;
            st.last_output = Instant::now();
            st.size = size;
        }
        self.bump();
        old
    }

    pub(crate) fn take_terminal(&self) -> Option<Arc<Terminal>> {
        self.term.lock().take()
    }

    pub fn status(&self) -> TerminalStatus {
        self.state.lock().status()
    }

    pub fn is_running(&self) -> bool {
        let st = self.state.lock();
        !st.ended_with_app && st.exit.is_none()
    }

    pub fn info(&self) -> TerminalInfo {
        let st = self.state.lock();
        let status = st.status();
        TerminalInfo {
            id: self.id,
            session_id: self.session_id,
            kind: self.kind,
            command: self.command.clone(),
            status,
            exit: st.exit,
            rows: st.size.rows,
            cols: st.size.cols,
            log_end: self.log.end_offset(),
            status_since: st.status_since,
        }
    }

    pub(crate) fn update<R>(&self, f: impl FnOnce(&mut LiveState) -> R) -> R {
        let r = f(&mut self.state.lock());
        self.bump();
        r
    }

    /// Announces a change. Every change of status goes through here, so this is where the time
    /// of the last status change is kept.
    pub(crate) fn bump(&self) {
        {
            let mut st = self.state.lock();
            let status = st.status();
            if status != st.shown {
                st.shown = status;
                st.status_since = crate::db::now();
            }
        }
        self.changed.send_modify(|v| *v += 1);
    }

    /// A receiver that sees every change of this terminal.
    pub fn watch(&self) -> watch::Receiver<u64> {
        self.changed.subscribe()
    }

    /// Registers an attached client that has been handed the log up to `position`, for flow
    /// control; dropping the reader detaches it. The rule is grove-pty's (`grove_pty::flow`) and
    /// lives with the log, so it survives restarts of the program.
    pub fn attach(&self, position: u64) -> FlowReader {
        self.log.flow_reader(position)
    }
}

/// Where a terminal's screen model is saved, beside its log.
pub(crate) fn screen_path(log_path: &std::path::Path) -> PathBuf {
    log_path.with_extension("screen")
}
