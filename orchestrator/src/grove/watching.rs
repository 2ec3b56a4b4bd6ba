//! Each active session's file watcher (see [`crate::watch`]): started when the session becomes
//! active (created, restored, or found active at startup), stopped when it is archived or
//! deleted and at shutdown. Its reports become `session_changes` events, keep the sessions'
//! change summaries, and trigger drift checks (a branch switched or a worktree removed behind
//! Grove's back), which replace polling.

use super::*;
use crate::watch::{Report, WatchTarget, Watcher};
use crate::wire::ChangeSummary;

impl Grove {
    /// Starts (or restarts) the watcher of an active session.
    pub(super) fn start_watching(&self, row: &SessionRow) {
        self.stop_watching(row.id);
        let Some(opts) = self.inner.config.watch.clone() else {
            return;
        };
        let weak = Arc::downgrade(&self.inner);
        let id = row.id;
        let sink = Box::new(move |report: Report| {
            let Some(inner) = weak.upgrade() else { return };
            Grove { inner }.on_watch_report(id, report);
        });
        let target = WatchTarget {
            session_id: row.id,
            name: row.name.clone(),
            worktree: row.worktree.clone(),
            branch: row.branch.clone(),
            base: row.base.clone(),
        };
        match Watcher::start(target, opts, sink) {
            Ok(w) => {
                self.inner.watchers.lock().insert(row.id, w);
            }
            Err(err) => {
                tracing::warn!(session = row.id, %err, "could not start the session's file watcher");
            }
        }
    }

    /// Stops a session's watcher (joining its thread) and forgets its summary.
    pub(super) fn stop_watching(&self, id: i64) {
        // Taken out of the map before the join: the watcher's last report may take Grove's
        // other locks, never this one.
        let watcher = self.inner.watchers.lock().remove(&id);
        drop(watcher);
        // After the join: no report can put it back.
        self.inner.changes.lock().remove(&id);
    }

    /// Stops every watcher (at shutdown).
    pub(super) fn stop_all_watching(&self) {
        let all: Vec<Watcher> = self.inner.watchers.lock().drain().map(|(_, w)| w).collect();
        drop(all);
    }

    /// The session's change summary as last counted; `None` before the first count.
    pub(super) fn change_summary(&self, id: i64) -> Option<ChangeSummary> {
        self.inner.changes.lock().get(&id).copied()
    }

    /// File watches held by every session's watcher, and how many sessions are rescanned
    /// periodically because a watch limit was reached. For diagnosis and benchmarks.
    pub fn watch_stats(&self) -> (usize, usize) {
        let watchers = self.inner.watchers.lock();
        let watches = watchers.values().map(Watcher::watches).sum();
        let degraded = watchers.values().filter(|w| w.degraded()).count();
        (watches, degraded)
    }

    /// Called on the watcher's thread. No report arrives after [`Grove::stop_watching`]
    /// returns: dropping a watcher joins its thread.
    fn on_watch_report(&self, id: i64, report: Report) {
        if let Some(summary) = report.summary {
            let before = self.inner.changes.lock().insert(id, summary);
            if before != Some(summary) || !report.paths.is_empty() || report.all {
                self.ctx().emit(Event::SessionChanges {
                    session_id: id,
                    summary,
                    paths: report.paths,
                    all: report.all,
                });
            }
        }
        if report.recheck_drift
            && let Ok(row) = self.session_row(id)
            && row.state == RowState::Active
            && self.check_drift(&row).1
        {
            self.ctx().emit(Event::SessionUpdated {
                session: self.session_wire(&row),
            });
        }
    }
}
