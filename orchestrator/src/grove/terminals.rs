//! A session's terminals: spawning programs with the session's environment, restart, close,
//! input and resize.

use super::*;
use crate::live::screen_path;

use crate::wire::MAX_TERMINAL_SIDE as MAX_SIDE;

/// A client's requested size made safe: each side within 1..=[`MAX_SIDE`].
pub(super) fn clamped_size(rows: u16, cols: u16) -> TerminalSize {
    TerminalSize {
        rows: rows.clamp(1, MAX_SIDE),
        cols: cols.clamp(1, MAX_SIDE),
    }
}

impl Grove {
    pub(super) fn check_command(&self, command: &str) -> Result<()> {
        if let Some(program) = plain_program(command)
            && !grove_pty::program_exists(program.as_ref(), &std::env::temp_dir())
        {
            return Err(GroveError::CommandNotFound { command: program });
        }
        Ok(())
    }

    /// Grove's own variables for a session's terminals.
    pub(super) fn grove_env(&self, row: &SessionRow) -> Vec<(String, String)> {
        let mut env = Vec::new();
        env.extend([
            ("GROVE_SESSION".to_owned(), row.name.clone()),
            ("GROVE_SESSION_ID".to_owned(), row.id.to_string()),
            (
                "GROVE_WORKTREE".to_owned(),
                row.worktree.display().to_string(),
            ),
            ("GROVE_PORT_BASE".to_owned(), row.port_base.to_string()),
            ("PORT".to_owned(), row.port_base.to_string()),
        ]);
        env
    }

    pub(super) fn spawn_program(
        &self,
        row: &SessionRow,
        terminal_id: i64,
        script: &str,
        size: TerminalSize,
        continued: Option<&LiveTerminal>,
    ) -> Result<Terminal> {
        #[cfg(unix)]
        let mut opts = TerminalOptions::new("/bin/sh", &row.worktree).args(["-c", script]);
        #[cfg(windows)]
        let mut opts = TerminalOptions::new("cmd.exe", &row.worktree).args(["/C", script]);
        // The approved config's environment first, then the secrets the user mapped to this
        // repository (the user's choice wins over the repository's), then Grove's own
        // variables: a repository cannot point GROVE_WORKTREE or PORT elsewhere.
        let secrets = self.secret_env(row.repo_id)?;
        for (k, v) in self.approved_env(row.repo_id) {
            opts = opts.env(k, v);
        }
        for (k, v) in &secrets {
            opts = opts.env(k, super::secrets::exposed(v));
        }
        for (k, v) in self.grove_env(row) {
            opts = opts.env(k, v);
        }
        // The server's own configuration is not the programs' business.
        opts.env_remove.push("GROVE_VAULT_PASSPHRASE_FILE".into());
        opts.size = size;
        opts.log_capacity = self.inner.config.log_capacity;
        let flusher = self.inner.flusher.registry();
        match continued {
            // A restart continues the log, its one writer and its screen.
            Some(live) => {
                opts.log = LogSetting::ContinuePersisted(live.persisted_log(&flusher)?);
                opts.screen = ScreenSetting::Continue(Arc::clone(&live.screen));
            }
            None => opts = opts.persist(self.log_path(terminal_id), Some(flusher)),
        }
        opts.kill_grace = self.inner.config.kill_grace;
        opts.flow.unattended = self.inner.config.read_budget;
        opts.lower_flood_priority = self.inner.config.lower_flood_priority;
        opts.name = format!("t{terminal_id}");
        Ok(Terminal::spawn(opts)?)
    }

    pub(super) fn add_terminal(
        &self,
        row: &SessionRow,
        kind: TerminalKind,
        command: &str,
        script: &str,
        size: TerminalSize,
    ) -> Result<Arc<LiveTerminal>> {
        let trow = self
            .db()
            .add_terminal(row.id, kind, command, size.rows, size.cols)?;
        let term = match self.spawn_program(row, trow.id, script, size, None) {
            Ok(t) => t,
            Err(e) => {
                let _ = self.db().delete_terminal(trow.id);
                // The log file is opened before the program starts.
                let _ = fs_err::remove_file(self.log_path(trow.id));
                return Err(e);
            }
        };
        let log_path = self.log_path(trow.id);
        let screen = match term.screen() {
            Some(screen) => Arc::clone(screen),
            None => Screen::new(
                Arc::clone(term.log()),
                size,
                ScreenOptions::default(),
                Some(screen_path(&log_path)),
            ),
        };
        let live = LiveTerminal::new(&trow, Arc::clone(term.log()), log_path, screen, Some(term));
        // From the log's first byte: the program may already have printed (e.g. the setup's
        // exit status) before the monitor task first runs.
        let start = live.log.start_offset();
        self.start_monitor(&live, start);
        self.inner
            .terminals
            .lock()
            .insert(trow.id, Arc::clone(&live));
        self.ctx().emit(Event::TerminalUpdated {
            terminal: live.info(),
        });
        Ok(live)
    }

    /// Starts the terminal's monitor, reading its log from offset `from`.
    pub(super) fn start_monitor(&self, live: &Arc<LiveTerminal>, from: u64) {
        let sub = live.log.subscribe(from);
        let task = self.inner.runtime.spawn(crate::monitor::run(
            Arc::clone(self.ctx()),
            Arc::downgrade(live),
            sub,
        ));
        *live.monitor.lock() = Some(task);
    }

    pub(super) fn session_terminals(&self, session_id: i64) -> Vec<Arc<LiveTerminal>> {
        let mut v: Vec<_> = self
            .inner
            .terminals
            .lock()
            .values()
            .filter(|t| t.session_id == session_id)
            .cloned()
            .collect();
        v.sort_by_key(|t| t.id);
        v
    }

    /// Ends every program of a session (in parallel: each may take the kill grace period).
    pub(super) fn stop_terminals(&self, session_id: i64) {
        let terms: Vec<_> = self
            .session_terminals(session_id)
            .iter()
            .filter_map(|t| t.take_terminal().map(|term| (Arc::clone(t), term)))
            .collect();
        std::thread::scope(|s| {
            for (live, term) in terms {
                s.spawn(move || {
                    let status = term.kill();
                    drop(term);
                    if let Some(status) = status {
                        let exit = crate::wire::ExitInfo::from(status);
                        let _ =
                            self.ctx()
                                .db
                                .lock()
                                .set_terminal_exit(live.id, exit.code, exit.signal);
                        live.update(|st| st.exit = Some(exit));
                    }
                });
            }
        });
    }

    pub fn terminal(&self, id: i64) -> Result<Arc<LiveTerminal>> {
        self.inner
            .terminals
            .lock()
            .get(&id)
            .cloned()
            .ok_or_else(|| GroveError::NotFound {
                what: "terminal",
                id: id.to_string(),
            })
    }

    /// Opens another shell (or `command`) in the session's worktree.
    pub fn new_terminal(&self, session_id: i64, command: Option<String>) -> Result<TerminalInfo> {
        let row = self.session_row(session_id)?;
        if row.state != RowState::Active {
            return Err(GroveError::NotActive { name: row.name });
        }
        self.refuse_drift(&row)?;
        let command = command
            .filter(|c| !c.trim().is_empty())
            .unwrap_or_else(|| self.inner.shell.clone());
        self.check_command(&command)?;
        let size = self
            .session_terminals(session_id)
            .first()
            .map(|t| t.state.lock().size)
            .unwrap_or_default();
        let live = self.add_terminal(&row, TerminalKind::Shell, &command, &command, size)?;
        let _ = self.ctx().session_changed.try_send(session_id);
        Ok(live.info())
    }

    /// Starts the terminal's command again (the agent without its setup), continuing the same
    /// output log. A running program is ended first.
    pub fn restart_terminal(&self, id: i64) -> Result<TerminalInfo> {
        let live = self.terminal(id)?;
        let row = self.session_row(live.session_id)?;
        if row.state != RowState::Active {
            return Err(GroveError::NotActive { name: row.name });
        }
        self.refuse_drift(&row)?;
        self.check_command(&live.command)?;
        if let Some(old) = live.take_terminal() {
            old.kill();
        }
        let size = live.state.lock().size;
        let term = self.spawn_program(&row, id, &live.command, size, Some(&live))?;
        drop(live.set_terminal(term));
        self.db().set_terminal_exit(id, None, None)?;
        let info = live.info();
        self.ctx().emit(Event::TerminalUpdated {
            terminal: info.clone(),
        });
        Ok(info)
    }

    /// Ends a terminal's program and forgets the terminal and its log.
    pub fn close_terminal(&self, id: i64) -> Result<()> {
        let live = self.terminal(id)?;
        if let Some(term) = live.take_terminal() {
            term.kill();
        }
        if let Some(task) = live.monitor.lock().take() {
            task.abort();
        }
        self.inner.terminals.lock().remove(&id);
        self.db().delete_terminal(id)?;
        let _ = fs_err::remove_file(&live.log_path);
        let _ = fs_err::remove_file(screen_path(&live.log_path));
        self.ctx().emit(Event::TerminalRemoved {
            session_id: live.session_id,
            terminal_id: id,
        });
        let _ = self.ctx().session_changed.try_send(live.session_id);
        Ok(())
    }

    /// Sends input to a terminal; clears its needs-attention flag (the user answered).
    pub fn write_input(&self, id: i64, bytes: &[u8]) -> Result<()> {
        self.input(id, bytes, true).map(|_| ())
    }

    /// [`Grove::write_input`] that never waits (async code calls it first): `Ok(false)`, nothing
    /// written, when the program already has too much input queued.
    pub fn try_write_input(&self, id: i64, bytes: &[u8]) -> Result<bool> {
        self.input(id, bytes, false)
    }

    fn input(&self, id: i64, bytes: &[u8], wait: bool) -> Result<bool> {
        let live = self.terminal(id)?;
        let term = live.terminal().ok_or_else(|| {
            GroveError::Terminal(grove_pty::TerminalError::Exited(grove_pty::ExitStatus {
                code: live.info().exit.and_then(|e| e.code),
                signal: None,
            }))
        })?;
        let bells = live.state.lock().bells;
        if wait {
            term.write_input(bytes)?;
        } else if !term.try_write_input(bytes)? {
            return Ok(false);
        }
        // The user answered what had rung before this input; a bell the input itself caused (a
        // program that answers at once can ring before this line runs) is left standing.
        if live.state.lock().attention {
            let cleared = live.update(|st| {
                let answered = st.attention && st.bells == bells;
                if answered {
                    st.attention = false;
                }
                answered
            });
            if cleared {
                self.ctx().emit(Event::TerminalUpdated {
                    terminal: live.info(),
                });
            }
        }
        Ok(true)
    }

    pub fn resize_terminal(&self, id: i64, rows: u16, cols: u16) -> Result<()> {
        let live = self.terminal(id)?;
        let (rows, cols) = (rows.min(MAX_SIDE), cols.min(MAX_SIDE));
        let size = TerminalSize { rows, cols };
        if let Some(term) = live.terminal() {
            term.resize(size)?;
        } else if rows == 0 || cols == 0 {
            return Err(GroveError::Terminal(
                grove_pty::TerminalError::InvalidSize { rows, cols },
            ));
        } else {
            // No program (it ended before a restart): the screen the UI shows follows the UI's
            // size, so the next start draws it at that size without a reflow.
            live.screen().resize(size);
        }
        let changed = {
            let mut st = live.state.lock();
            let changed = st.size != size;
            st.size = size;
            changed
        };
        if changed {
            self.db().set_terminal_size(id, rows, cols)?;
        }
        Ok(())
    }
}
