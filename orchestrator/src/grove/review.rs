//! Reviewing a session's work: its changed files and diffs (against the merge base with its
//! base, or against HEAD), committing, and reverting a file to the base with undo. The undo
//! records live in `<data dir>/undo/<session id>/`.

use super::*;
use crate::wire::{
    ChangeScope, ChangeStatus, ChangedFile, Changes, CommitRequest, CommitResult, DiffContent,
    Diffs, FileDiff, RevertRequest, RevertResult, ReviewComment, SendCommentsRequest, SentComments,
    TerminalKind, UndoResult,
};

impl Grove {
    /// The session's changed files in `scope`.
    pub fn changes(&self, id: i64, scope: ChangeScope) -> Result<Changes> {
        let row = self.reviewable(id)?;
        let files = git::changes(&row.worktree, &row.base, git_scope(scope))?;
        Ok(Changes {
            files: files.iter().map(changed_file).collect(),
        })
    }

    /// The diff of one changed file (`path`), or of all of them.
    pub fn diff(&self, id: i64, scope: ChangeScope, path: Option<&str>) -> Result<Diffs> {
        let row = self.reviewable(id)?;
        let only: Vec<String> = path.map(str::to_owned).into_iter().collect();
        let diffs = git::diffs(&row.worktree, &row.base, git_scope(scope), &only)?;
        Ok(Diffs {
            files: diffs
                .into_iter()
                .map(|d| FileDiff {
                    file: changed_file(&d.file),
                    content: match d.body {
                        git::DiffBody::Text(patch) => DiffContent::Text { patch },
                        git::DiffBody::Binary => DiffContent::Binary,
                        git::DiffBody::TooLarge { bytes, lines } => {
                            DiffContent::TooLarge { bytes, lines }
                        }
                    },
                })
                .collect(),
        })
    }

    /// Commits the session's work with `git commit`: all of it, or `req.paths`.
    pub fn commit(&self, id: i64, req: &CommitRequest) -> Result<CommitResult> {
        let row = self.unmoved(id)?;
        let commit = git::commit(&git::CommitRequest {
            worktree: &row.worktree,
            branch: &row.branch,
            message: &req.message,
            paths: &req.paths,
            amend: req.amend,
        })?;
        Ok(CommitResult { commit })
    }

    /// Reverts a changed file (or, with `req.hunk`, one hunk of it) to the scope's commit; the
    /// discarded content is kept for [`Grove::undo`].
    pub fn revert(&self, id: i64, req: &RevertRequest) -> Result<RevertResult> {
        let row = self.unmoved(id)?;
        let scope = git_scope(req.scope.unwrap_or_default());
        let undo = self.undo_dir(id);
        let r = match &req.hunk {
            Some(h) => git::revert_hunk(&row.worktree, &row.base, scope, &req.path, h, &undo)?,
            None => git::revert_file(&row.worktree, &row.base, scope, &req.path, &undo)?,
        };
        Ok(RevertResult {
            undo_id: r.undo_id,
            paths: r.paths,
        })
    }

    /// Undoes a revert (the given one, or the latest), byte for byte.
    pub fn undo(&self, id: i64, undo_id: Option<&str>) -> Result<UndoResult> {
        let row = self.unmoved(id)?;
        let paths = git::undo_revert(&row.worktree, &self.undo_dir(id), undo_id)?;
        Ok(UndoResult { paths })
    }

    /// Types review comments into the session's agent terminal as one paste (bracketed when the
    /// agent asked for bracketed paste, as every agent CLI does), without pressing Enter.
    pub fn send_comments(&self, id: i64, req: &SendCommentsRequest) -> Result<SentComments> {
        let row = self.reviewable(id)?;
        if req.comments.is_empty() {
            return Err(GroveError::Invalid(
                "no comments to send: write one on a line of the diff first".into(),
            ));
        }
        let agent = self
            .session_terminals(id)
            .into_iter()
            .filter(|t| t.kind == TerminalKind::Agent)
            .min_by_key(|t| t.id)
            .ok_or_else(|| {
                GroveError::Invalid(format!(
                    "session {} has no agent terminal to send the comments to",
                    row.name
                ))
            })?;
        let text = format_comments(&req.comments);
        let bracketed = agent.screen().with_model(|m| m.bracketed_paste());
        let mut bytes = Vec::with_capacity(text.len() + 12);
        if bracketed {
            bytes.extend_from_slice(b"\x1b[200~");
        }
        bytes.extend_from_slice(text.as_bytes());
        if bracketed {
            bytes.extend_from_slice(b"\x1b[201~");
        }
        self.write_input(agent.id, &bytes)?;
        Ok(SentComments {
            terminal_id: agent.id,
            text,
        })
    }

    pub(super) fn undo_dir(&self, id: i64) -> PathBuf {
        self.data_dir().join("undo").join(id.to_string())
    }

    /// An active session (an archived one has no worktree to look at).
    fn reviewable(&self, id: i64) -> Result<SessionRow> {
        let row = self.session_row(id)?;
        if row.state != RowState::Active {
            return Err(GroveError::NotActive { name: row.name });
        }
        Ok(row)
    }

    /// An active session whose worktree is where Grove put it, on its branch: writing to a
    /// worktree that drifted could commit onto a branch the user switched to.
    fn unmoved(&self, id: i64) -> Result<SessionRow> {
        let row = self.reviewable(id)?;
        self.refuse_drift(&row)?;
        Ok(row)
    }
}

/// The text the agent receives: each comment as `path:line` (or `path:first-last`), its quoted
/// lines and the user's words. Control characters other than newline and tab are dropped, so a
/// comment can neither end the paste early nor send keys.
pub(crate) fn format_comments(comments: &[ReviewComment]) -> String {
    let mut out = String::from("Review comments:\n");
    for c in comments {
        out.push('\n');
        out.push_str(&c.path);
        out.push(':');
        out.push_str(&c.line.to_string());
        if let Some(end) = c.end_line.filter(|&e| e > c.line) {
            out.push('-');
            out.push_str(&end.to_string());
        }
        out.push('\n');
        for line in c.quote.lines() {
            out.push_str("> ");
            out.push_str(line);
            out.push('\n');
        }
        out.push_str(c.text.trim_end());
        out.push('\n');
    }
    out.chars()
        .filter(|&ch| ch == '\n' || ch == '\t' || !ch.is_control())
        .collect()
}

fn git_scope(scope: ChangeScope) -> git::Scope {
    match scope {
        ChangeScope::Base => git::Scope::Base,
        ChangeScope::Uncommitted => git::Scope::Uncommitted,
    }
}

fn changed_file(c: &git::FileChange) -> ChangedFile {
    ChangedFile {
        path: c.path.clone(),
        old_path: c.old_path.clone(),
        status: match c.kind {
            git::ChangeKind::Added => ChangeStatus::Added,
            git::ChangeKind::Modified => ChangeStatus::Modified,
            git::ChangeKind::Deleted => ChangeStatus::Deleted,
            git::ChangeKind::Renamed => ChangeStatus::Renamed,
            git::ChangeKind::TypeChanged => ChangeStatus::TypeChanged,
            git::ChangeKind::Submodule => ChangeStatus::Submodule,
        },
        additions: c.additions as u64,
        deletions: c.deletions as u64,
        binary: c.binary,
        version: c.version.clone(),
    }
}
