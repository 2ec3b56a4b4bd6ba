//! What a starting UI needs for its first screen, in one call: the repos, the agent presets, the
//! sessions and, when asked, the screen of the pane it opens with (so that pane draws without
//! waiting for its socket; the socket then continues from the snapshot's offset).

use super::*;
use crate::wire::{FirstPane, ScreenRun, ScreenSnapshot, ScreenView, SessionState, UiState};

impl Grove {
    /// The UI's whole state; with `first_pane`, also the first pane's screen (see [`FirstPane`]).
    /// A terminal whose screen cannot be read leaves `first_pane` empty: the pane then attaches
    /// over its socket as any other pane does.
    pub fn ui_state(&self, first_pane: bool) -> Result<UiState> {
        let repos = self.repos()?;
        let sessions = self.sessions()?;
        let agents = self.agent_presets();
        let first_pane = if first_pane {
            first_terminal(&repos, &sessions).and_then(|(session_id, terminal_id)| {
                let live = self.terminal(terminal_id).ok()?;
                let (snap, view) = live.screen().snapshot_and_view();
                Some(FirstPane {
                    session_id,
                    terminal_id,
                    offset: snap.offset,
                    snapshot: ScreenSnapshot {
                        cols: snap.size.cols,
                        rows: snap.size.rows,
                        data: snap.data,
                    },
                    view: screen_view(view, snap.size),
                })
            })
        } else {
            None
        };
        Ok(UiState {
            repos,
            agents,
            sessions,
            first_pane,
        })
    }
}

fn screen_view(v: grove_pty::ScreenView, size: grove_pty::TerminalSize) -> ScreenView {
    let hex = |[r, g, b]: [u8; 3]| format!("#{r:02x}{g:02x}{b:02x}");
    ScreenView {
        cols: size.cols,
        rows: size.rows,
        foreground: hex(v.foreground),
        background: hex(v.background),
        cursor_color: hex(v.cursor_color),
        lines: v
            .rows
            .into_iter()
            .map(|runs| {
                runs.into_iter()
                    .map(|r| ScreenRun {
                        text: r.text,
                        cols: r.cols,
                        fg: r.fg.map(hex),
                        bg: r.bg.map(hex),
                        flags: (r.flags != 0).then_some(r.flags),
                    })
                    .collect()
            })
            .collect(),
        cursor: v.cursor.map(|(row, col)| [row, col]),
    }
}

/// The (session, terminal) the UI shows first: the first terminal of the first active session in
/// the sidebar's order, `None` when that session has no terminal (the UI then shows none). The
/// sidebar sorts repos by name (the browser's `localeCompare`, which is case-insensitive first;
/// compared here by lower case, then as written, then by id) and a repo's sessions by creation
/// time, then id. The UI selects the session this returns, so a name the two sorts order
/// differently changes only which session opens first, never which pane is drawn.
fn first_terminal(repos: &[Repo], sessions: &[Session]) -> Option<(i64, i64)> {
    let mut repos: Vec<&Repo> = repos.iter().collect();
    repos.sort_by(|a, b| {
        (a.name.to_lowercase(), &a.name, a.id).cmp(&(b.name.to_lowercase(), &b.name, b.id))
    });
    let first = repos.iter().find_map(|repo| {
        sessions
            .iter()
            .filter(|s| s.repo_id == repo.id && s.state == SessionState::Active)
            .min_by_key(|s| (s.created_at, s.id))
    })?;
    first.terminals.first().map(|t| (first.id, t.id))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{TerminalKind, TerminalStatus};

    fn repo(id: i64, name: &str) -> Repo {
        Repo {
            id,
            name: name.into(),
            path: format!("/r/{name}"),
        }
    }

    fn session(
        id: i64,
        repo_id: i64,
        created_at: i64,
        state: SessionState,
        terminals: &[i64],
    ) -> Session {
        Session {
            id,
            repo_id,
            name: format!("s{id}"),
            branch: format!("grove/s{id}"),
            base: "main".into(),
            worktree: format!("/w/s{id}"),
            state,
            drift: Drift::None,
            port_base: 4000,
            setup_exit: None,
            has_setup: false,
            terminals: terminals
                .iter()
                .map(|&t| TerminalInfo {
                    id: t,
                    session_id: id,
                    kind: TerminalKind::Agent,
                    command: "bash".into(),
                    status: TerminalStatus::Running,
                    exit: None,
                    rows: 24,
                    cols: 80,
                    log_end: 0,
                    status_since: 0,
                })
                .collect(),
            created_at,
            changes: None,
            pull: None,
        }
    }

    #[test]
    fn the_first_pane_is_the_sidebars_first_active_session() {
        let repos = [repo(1, "zeta"), repo(2, "Alpha"), repo(3, "beta")];
        let sessions = [
            // Alpha's only session is archived; beta's older session comes first.
            session(10, 2, 1, SessionState::Archived, &[100]),
            session(11, 3, 9, SessionState::Active, &[110]),
            session(12, 3, 5, SessionState::Active, &[120, 121]),
            session(13, 1, 0, SessionState::Active, &[130]),
        ];
        assert_eq!(first_terminal(&repos, &sessions), Some((12, 120)));
        // The first session has no terminal: the UI shows none, so there is no first pane.
        let sessions = [
            session(12, 3, 5, SessionState::Active, &[]),
            session(13, 1, 0, SessionState::Active, &[130]),
        ];
        assert_eq!(first_terminal(&repos, &sessions), None);
        assert_eq!(first_terminal(&repos, &[]), None);
    }
}
