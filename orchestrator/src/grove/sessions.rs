//! Sessions: create (worktree + setup + agent), list, archive, restore, delete, drift.

use super::*;

impl Grove {
    /// Every session. Drift comes from a cache that each session's file watcher keeps true (it
    /// rechecks when HEAD, the branch or the worktree moves), not one libgit2 look per listing.
    pub fn sessions(&self) -> Result<Vec<Session>> {
        let rows = self.db().sessions()?;
        Ok(rows
            .iter()
            .filter(|r| r.state != RowState::Creating)
            .map(|r| self.session_wire(r))
            .collect())
    }

    /// One session, its drift checked now.
    pub fn session(&self, id: i64) -> Result<Session> {
        let row = self.session_row(id)?;
        self.check_drift(&row);
        Ok(self.session_wire(&row))
    }

    /// Checks a session's drift now and caches it; returns it and whether it changed.
    pub(super) fn check_drift(&self, row: &SessionRow) -> (Drift, bool) {
        let drift = Self::drift(row);
        let before = self.inner.drift.lock().insert(row.id, drift.clone());
        let changed = before.as_ref() != Some(&drift);
        (drift, changed)
    }

    /// The cached drift of a session, checked now when there is none yet.
    fn cached_drift(&self, row: &SessionRow) -> Drift {
        if row.state != RowState::Active {
            return Drift::None;
        }
        if let Some(d) = self.inner.drift.lock().get(&row.id) {
            return d.clone();
        }
        self.check_drift(row).0
    }

    pub(super) fn session_row(&self, id: i64) -> Result<SessionRow> {
        self.db().session(id)?.ok_or_else(|| GroveError::NotFound {
            what: "session",
            id: id.to_string(),
        })
    }

    pub(super) fn drift(row: &SessionRow) -> Drift {
        if row.state != RowState::Active {
            return Drift::None;
        }
        match git::drift(&row.worktree, &row.branch) {
            git::Drift::None => Drift::None,
            git::Drift::Missing => Drift::Missing,
            git::Drift::BranchChanged { actual } => Drift::BranchChanged { actual },
        }
    }

    pub(super) fn session_wire(&self, row: &SessionRow) -> Session {
        let mut terminals: Vec<TerminalInfo> = self
            .inner
            .terminals
            .lock()
            .values()
            .filter(|t| t.session_id == row.id)
            .map(|t| t.info())
            .collect();
        terminals.sort_by_key(|t| t.id);
        Session {
            id: row.id,
            repo_id: row.repo_id,
            name: row.name.clone(),
            branch: row.branch.clone(),
            base: row.base.clone(),
            worktree: row.worktree.display().to_string(),
            state: row.state.wire(),
            drift: self.cached_drift(row),
            port_base: row.port_base,
            setup_exit: row.setup_exit,
            has_setup: row.has_setup,
            terminals,
            created_at: row.created_at,
            changes: match row.state {
                RowState::Active => self.change_summary(row.id),
                _ => None,
            },
            pull: self.pull_of(row.id),
        }
    }

    pub(super) fn progress(
        &self,
        repo_id: i64,
        name: &str,
        stage: CreateStage,
        message: Option<String>,
    ) {
        self.ctx().emit(Event::SessionProgress {
            repo_id,
            name: name.into(),
            stage,
            message,
        });
    }

    /// Creates a session: branch + locked worktree from the base, copied files, then the first
    /// terminal running the setup commands (visibly) and the agent.
    pub fn create_session(&self, req: CreateSessionRequest) -> Result<Session> {
        let repo = self.repo_row(req.repo_id)?;
        let name = match req.name.trim() {
            "" => self.suggest_session_name(repo.id, req.base.as_deref())?,
            given => given.to_owned(),
        };
        let slug = slugify(&name)?;
        // Refused here, before anything is created, unless the user approved this exact config.
        let trusted = self.trusted_config(&repo)?;
        let config = trusted.config();
        let command = req
            .command
            .clone()
            .filter(|c| !c.trim().is_empty())
            .or_else(|| config.agent.clone())
            .unwrap_or_else(|| self.inner.shell.clone());
        self.check_command(&command)?;
        self.require_secrets(repo.id)?;
        let branch = format!("{}{}", self.inner.config.branch_prefix, slug);
        let worktree = self
            .inner
            .worktree_root
            .join(git::sanitize_name(&repo.name).unwrap_or_else(|| "repo".into()))
            .join(&slug);
        let base_hint = req.base.clone().unwrap_or_default();

        let row = self
            .db()
            .reserve_session(
                &NewSession {
                    repo_id: repo.id,
                    name: &name,
                    branch: &branch,
                    base: &base_hint,
                    worktree: &worktree,
                    agent_command: &command,
                    has_setup: !config.setup.is_empty(),
                },
                crate::db::port_block_free,
            )?
            .ok_or_else(|| GroveError::NameTaken {
                name: name.clone(),
                repo: repo.name.clone(),
            })?;

        for key in trusted.withheld() {
            self.progress(
                repo.id,
                &name,
                CreateStage::CreatingWorktree,
                Some(format!(
                    "{key} from grove.toml is not applied: it changes how programs load code. Allow it with `grove repo trust {} --allow-env {key}`",
                    repo.name
                )),
            );
        }
        match self.create_worktree_for(&repo, &row, &req, config) {
            Ok(()) => {}
            Err(e) => {
                let _ = self.db().delete_session(row.id);
                self.progress(repo.id, &name, CreateStage::Done, Some(e.to_string()));
                return Err(e);
            }
        }
        let row = self.session_row(row.id)?;
        self.start_watching(&row);
        self.progress(repo.id, &name, CreateStage::StartingTerminal, None);
        let size = super::terminals::clamped_size(req.rows.unwrap_or(24), req.cols.unwrap_or(80));
        let nonce = setup_nonce();
        if !config.setup.is_empty() && !nonce.is_empty() {
            self.db().set_setup_nonce(row.id, &nonce)?;
        }
        let script = agent_script(&config.setup, &command, &nonce);
        if let Err(e) = self.add_terminal(&row, TerminalKind::Agent, &command, &script, size) {
            // The worktree stays (it is the user's now); the session shows no terminal and can
            // get one with restart / new shell.
            tracing::warn!(session = row.id, %e, "could not start the agent terminal");
        }
        self.progress(repo.id, &name, CreateStage::Done, None);
        let session = self.session_wire(&row);
        self.ctx().emit(Event::SessionUpdated {
            session: session.clone(),
        });
        Ok(session)
    }

    pub(super) fn create_worktree_for(
        &self,
        repo: &crate::db::RepoRow,
        row: &SessionRow,
        req: &CreateSessionRequest,
        config: &RepoConfig,
    ) -> Result<()> {
        let repo_lock = self.repo_lock(repo.id);
        let _guard = repo_lock.lock();
        self.progress(repo.id, &row.name, CreateStage::CreatingWorktree, None);
        let created = git::create_worktree(&git::NewWorktree {
            repo: &repo.path,
            root: &self.inner.worktree_root,
            path: &row.worktree,
            branch: &row.branch,
            base: req.base.as_deref().filter(|b| !b.trim().is_empty()),
            use_existing_branch: req.use_existing_branch.unwrap_or(false),
            lock_reason: &format!("Grove session `{}`; archive it from Grove", row.name),
        })?;
        for w in &created.warnings {
            self.progress(repo.id, &row.name, CreateStage::Fetching, Some(w.clone()));
        }
        if !config.copy.is_empty() {
            self.progress(repo.id, &row.name, CreateStage::CopyingFiles, None);
            let copied = repo_config::copy_into(&repo.path, &created.path, &config.copy)?;
            for refused in copied.refused {
                self.progress(repo.id, &row.name, CreateStage::CopyingFiles, Some(refused));
            }
        }
        let db = self.db();
        db.set_session_base(row.id, &created.base)?;
        db.set_session_state(row.id, RowState::Active)?;
        Ok(())
    }

    pub(super) fn refuse_drift(&self, row: &SessionRow) -> Result<()> {
        // Always checked now: a refusal must not rest on a cached answer.
        let drift = match self.check_drift(row).0 {
            Drift::None => return Ok(()),
            Drift::Missing => format!("its worktree {} is missing", row.worktree.display()),
            Drift::BranchChanged { actual } => {
                format!("its worktree is on {actual} instead of {}", row.branch)
            }
        };
        Err(GroveError::Drift {
            name: row.name.clone(),
            drift,
        })
    }

    /// Removes the worktree (keeping the branch). Refused when it holds uncommitted changes,
    /// untracked files or commits that exist nowhere else — unless `force`.
    pub fn archive_session(&self, id: i64, force: bool) -> Result<Session> {
        let row = self.session_row(id)?;
        if row.state != RowState::Active {
            return Err(GroveError::NotActive { name: row.name });
        }
        let repo = self.repo_row(row.repo_id)?;
        if !force {
            self.refuse_drift(&row)?;
        }
        let repo_lock = self.repo_lock(repo.id);
        let _guard = repo_lock.lock();
        if !force {
            // Check before stopping anything, so a refusal changes nothing.
            refuse_unsafe_removal(&repo.path, &row)?;
        }
        self.stop_terminals(id);
        self.stop_watching(id);
        git::remove_worktree(
            &repo.path,
            &self.inner.worktree_root,
            &row.worktree,
            &row.branch,
            force,
        )?;
        self.db().set_session_state(id, RowState::Archived)?;
        let session = self.session(id)?;
        self.ctx().emit(Event::SessionUpdated {
            session: session.clone(),
        });
        Ok(session)
    }

    /// Re-creates an archived session's worktree on its branch and restarts its agent.
    pub fn restore_session(&self, id: i64) -> Result<Session> {
        let row = self.session_row(id)?;
        if row.state != RowState::Archived {
            return Err(GroveError::NotArchived { name: row.name });
        }
        let repo = self.repo_row(row.repo_id)?;
        self.require_secrets(repo.id)?;
        {
            let repo_lock = self.repo_lock(repo.id);
            let _guard = repo_lock.lock();
            git::restore_worktree(
                &repo.path,
                &self.inner.worktree_root,
                &row.worktree,
                &row.branch,
                &format!("Grove session `{}`; archive it from Grove", row.name),
            )?;
        }
        self.db().set_session_state(id, RowState::Active)?;
        self.start_watching(&self.session_row(id)?);
        if let Some(agent) = self
            .session_terminals(id)
            .into_iter()
            .find(|t| t.kind == TerminalKind::Agent)
        {
            self.restart_terminal(agent.id)?;
        }
        let session = self.session(id)?;
        self.ctx().emit(Event::SessionUpdated {
            session: session.clone(),
        });
        Ok(session)
    }

    /// Archive + delete the branch (only if merged into its base, unless `force`) + forget it.
    pub fn delete_session(&self, id: i64, force: bool) -> Result<()> {
        let row = self.session_row(id)?;
        let repo = self.repo_row(row.repo_id)?;
        if !force && row.state == RowState::Active {
            self.refuse_drift(&row)?;
        }
        if !force {
            // Refuse before touching anything when the branch is not merged.
            let repo_lock = self.repo_lock(repo.id);
            let _guard = repo_lock.lock();
            if row.state == RowState::Active {
                refuse_unsafe_removal(&repo.path, &row)?;
            }
            if !git::branch_merged(&repo.path, &row.branch, &row.base)? {
                return Err(git::GitError::NotMerged {
                    branch: row.branch,
                    base: row.base,
                }
                .into());
            }
        }
        if row.state == RowState::Active {
            self.archive_session(id, force)?;
        }
        {
            let repo_lock = self.repo_lock(repo.id);
            let _guard = repo_lock.lock();
            git::delete_branch(&repo.path, &row.branch, &row.base, force)?;
        }
        self.stop_terminals(id);
        self.stop_watching(id);
        let terms = self.session_terminals(id);
        for t in &terms {
            if let Some(task) = t.monitor.lock().take() {
                task.abort();
            }
            self.inner.terminals.lock().remove(&t.id);
            let _ = fs_err::remove_file(&t.log_path);
            let _ = fs_err::remove_file(crate::live::screen_path(&t.log_path));
        }
        self.db().delete_session(id)?;
        // Reverted content can only be put back into the worktree, which is gone now.
        let _ = fs_err::remove_dir_all(self.undo_dir(id));
        self.ctx().emit(Event::SessionRemoved { session_id: id });
        Ok(())
    }
}

/// Refuses (with the details) when removing the worktree would lose work.
fn refuse_unsafe_removal(repo: &Path, row: &SessionRow) -> Result<()> {
    let check = git::check_removal(repo, &row.worktree, &row.branch)?;
    if !check.uncommitted.is_empty() || !check.untracked.is_empty() {
        return Err(git::GitError::Dirty {
            path: row.worktree.clone(),
            uncommitted: check.uncommitted,
            untracked: check.untracked,
        }
        .into());
    }
    if check.unpushed > 0 {
        return Err(git::GitError::Unpushed {
            branch: row.branch.clone(),
            commits: check.unpushed,
        }
        .into());
    }
    Ok(())
}

fn slugify(name: &str) -> Result<String> {
    let Some(slug) = git::sanitize_name(&name.to_ascii_lowercase()) else {
        return Err(GroveError::Invalid(format!(
            "session name `{name}` needs at least one letter or digit"
        )));
    };
    if name.chars().count() > 80 {
        return Err(GroveError::Invalid(
            "session names are at most 80 characters".into(),
        ));
    }
    Ok(slug)
}

/// A fresh random nonce for a session's setup run (128 bits, hex).
fn setup_nonce() -> String {
    let mut bytes = [0u8; 16];
    if getrandom::fill(&mut bytes).is_err() {
        // Without randomness no report can be told from a forgery: an empty nonce never
        // matches, so the setup's exit simply stays unknown.
        return String::new();
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The script the first terminal runs: the setup commands, visibly, then the agent. The setup's
/// exit status is reported with Grove's private OSC, carrying the session's one-time `nonce`, so
/// the monitor records it only from this run (a program printing the sequence later is ignored).
fn agent_script(setup: &[String], command: &str, nonce: &str) -> String {
    if setup.is_empty() {
        return command.to_owned();
    }
    let mut s = String::from("__grove_setup() {\n");
    for cmd in setup {
        s.push_str(&format!(
            "  printf '\\033[1;36m[grove] setup: %s\\033[0m\\n' {}\n  {{\n{}\n  }} || return $?\n",
            shlex::try_quote(cmd).unwrap_or_else(|_| "'(a command with a NUL byte)'".into()),
            cmd
        ));
    }
    s.push_str("}\n__grove_setup\n__grove_s=$?\n");
    s.push_str(&format!(
        "printf '\\033]{};setup-exit;{nonce};%d\\007' \"$__grove_s\"\n",
        crate::attention::GROVE_OSC
    ));
    s.push_str(
        "if [ \"$__grove_s\" -ne 0 ]; then printf '\\033[1;31m[grove] setup failed with exit %d; starting the agent anyway\\033[0m\\n' \"$__grove_s\"; fi\n",
    );
    s.push_str(command);
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    pub(super) fn slugs_and_scripts() {
        assert_eq!(slugify("Fix login bug!").unwrap(), "fix-login-bug");
        assert_eq!(slugify("  a/b..c  ").unwrap(), "a-b-c");
        assert!(slugify("!!!").is_err());
        assert_eq!(plain_program("claude --resume").as_deref(), Some("claude"));
        assert_eq!(plain_program("'my agent' x"), None);
        assert_eq!(plain_program("FOO=1 x"), None);
        let s = agent_script(&["echo 'hi'".into()], "bash", "n0nce");
        assert!(s.contains("6973;setup-exit;n0nce;%d"), "{s}");
        // The shell prints each setup command exactly as written before running it.
        let out = std::process::Command::new("/bin/sh")
            .args([
                "-c",
                &agent_script(&["echo 'hi there'".into()], "true", "n"),
            ])
            .output()
            .unwrap_or_else(|e| panic!("sh: {e}"));
        let out = String::from_utf8_lossy(&out.stdout);
        assert!(out.contains("[grove] setup: echo 'hi there'"), "{out}");
        assert!(out.contains("\nhi there\n"), "{out}");
        assert!(s.ends_with("bash\n"));
        assert_eq!(agent_script(&[], "bash", "n0nce"), "bash");
        assert_eq!(setup_nonce().len(), 32);
        assert_ne!(setup_nonce(), setup_nonce());
    }
}
