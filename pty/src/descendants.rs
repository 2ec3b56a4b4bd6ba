//! Every process a terminal started, including the ones that left its process group.
//!
//! Killing a terminal's process group ends what stayed in it, but a program may start daemons
//! that call `setsid` (Codex's `app-server-daemon` does) and double-fork so that their parent is
//! gone: no group kill reaches them, and they would outlive the terminal with their working
//! directory in a worktree Grove is about to delete.
//!
//! # How they are found
//!
//! Each terminal's program gets a unique `GROVE_TERMINAL_ID` in its environment ([`ENV`]).
//! Children inherit it through `fork`, `setsid` and `exec`, wherever they re-parent to, so when
//! the terminal ends ([`Descendants::end`]) every process of this user whose
//! `/proc/<pid>/environ` carries it is one of the terminal's, and so is every process below one
//! of those in the parent tree (which catches a child started with a cleared environment while
//! its parent lives). They get SIGTERM, then SIGKILL after the grace period, in rounds until a
//! scan finds none (a process that forks between a scan and its signal is caught by the next
//! one). Each signal goes through a pidfd opened before the process is checked again, so a pid
//! that was reused in between is never hit.
//!
//! A cgroup per terminal would be tighter still (nothing escapes `cgroup.kill`), but it needs a
//! systemd user instance that delegates a subtree, which servers and containers often lack; the
//! environment marker works wherever `/proc` does. What it cannot see: a process that both
//! replaces its environment and loses its parent (exec with a clean environment, then a double
//! fork), and setuid programs, whose environment this user may not read (nor signal them).
//!
//! # Who reaps them
//!
//! A killed daemon's parent is usually `init`, which in a container may never reap it. So the
//! process becomes a child subreaper (`PR_SET_CHILD_SUBREAPER`, set when the first terminal
//! starts): orphans of terminal processes re-parent to Grove, and Grove reaps them, both the ones
//! it kills and the ones that exit on their own (a `grove-reaper` thread checks every two
//! seconds).
//!
//! Reaping must never take the exit status of a child someone else waits for: a terminal's own
//! program (its waiter reaps it) or a command run with `std::process::Command`. A zombie is
//! reaped here only if it is our child, is not a terminal's program, and is in another session
//! than ours: terminal programs are session leaders and are registered as such while the
//! registry's lock is held across their spawn (so no waiting-to-be-registered program can be
//! taken for an orphan); plain commands stay in our session. The reaper and subreaper are
//! process-wide, like the attribute itself, and live as long as the process.
//!
//! # Other platforms
//!
//! macOS has no subreaper and no `/proc`; there the terminal's process group is killed and
//! daemons that called `setsid` remain (finding them by `KERN_PROCARGS2`, which shows a
//! process's environment, is still to do). On Windows each terminal's program is put in its own
//! Job Object created with `JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE`: everything it starts joins the
//! job (unless it breaks away on purpose), and ending the terminal terminates the job, and
//! closing the job's handle (also when Grove itself dies) kills what is left. What it cannot
//! catch: a process started between the spawn and the assignment to the job, a moment later.

/// The environment variable that marks every process of one terminal.
pub(crate) const ENV: &str = "GROVE_TERMINAL_ID";

/// One terminal's marker, and the way to end every process that carries it.
#[derive(Debug)]
pub(crate) struct Descendants {
    marker: String,
    /// The terminal's Job Object (none if Windows refused to create one: then only the program
    /// itself is killed, as before).
    #[cfg(windows)]
    job: Option<std::sync::Arc<windows::Job>>,
}

/// Held while a terminal's program is spawned, until its pid is registered.
pub(crate) struct Spawning {
    #[cfg(target_os = "linux")]
    leaders: parking_lot::MutexGuard<'static, std::collections::BTreeSet<u32>>,
    #[cfg(windows)]
    job: Option<std::sync::Arc<windows::Job>>,
}

impl Descendants {
    pub(crate) fn new() -> Descendants {
        use std::sync::atomic::{AtomicU64, Ordering};
        static NEXT: AtomicU64 = AtomicU64::new(0);
        // Unique on this machine: no other live process has our pid, and the clock tells this
        // process apart from an earlier one that had it.
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        Descendants {
            marker: format!(
                "{}-{nanos:x}-{}",
                std::process::id(),
                NEXT.fetch_add(1, Ordering::Relaxed)
            ),
            #[cfg(windows)]
            job: windows::Job::new()
                .map_err(|err| tracing::warn!(%err, "no Job Object: a terminal's child processes may outlive it"))
                .ok()
                .map(std::sync::Arc::new),
        }
    }

    /// The value of [`ENV`] for this terminal's program.
    pub(crate) fn marker(&self) -> &str {
        &self.marker
    }

    /// Call right before spawning the terminal's program; pass its pid to [`Spawning::leader`].
    pub(crate) fn spawning(&self) -> Spawning {
        #[cfg(target_os = "linux")]
        return Spawning {
            leaders: linux::spawning(),
        };
        #[cfg(windows)]
        return Spawning {
            job: self.job.clone(),
        };
        #[cfg(not(any(target_os = "linux", windows)))]
        Spawning {}
    }

    /// Ends every process that carries this terminal's marker or descends from one, except the
    /// terminal's own program `leader` (its waiter reaps it), and reaps those that were
    /// re-parented to us. SIGTERM first; SIGKILL for what is left after `grace`.
    pub(crate) fn end(&self, leader: u32, grace: std::time::Duration) {
        #[cfg(target_os = "linux")]
        linux::end(&self.marker, leader, grace);
        #[cfg(windows)]
        if let Some(job) = &self.job {
            // The program itself is ended by its killer; the job ends everything it started.
            let _ = (leader, grace);
            job.terminate();
        }
        #[cfg(not(any(target_os = "linux", windows)))]
        let _ = (leader, grace);
    }
}

impl Spawning {
    /// Registers the spawned program's pid (0 if spawning failed) and lets the reaper go on.
    pub(crate) fn leader(self, pid: u32) {
        #[cfg(target_os = "linux")]
        {
            let mut leaders = self.leaders;
            if pid != 0 {
                leaders.insert(pid);
            }
        }
        #[cfg(windows)]
        if let Some(job) = &self.job
            && pid != 0
            && let Err(err) = job.assign(pid)
        {
            tracing::warn!(pid, %err, "could not put a terminal's program in its Job Object");
        }
        #[cfg(not(any(target_os = "linux", windows)))]
        let _ = pid;
    }
}

/// The terminal's program `pid` was reaped by its waiter: the pid may be reused by anyone.
#[cfg(unix)]
pub(crate) fn leader_reaped(pid: u32) {
    #[cfg(target_os = "linux")]
    linux::leaders().remove(&pid);
    #[cfg(not(target_os = "linux"))]
    let _ = pid;
}

#[cfg(target_os = "linux")]
mod linux;
#[cfg(windows)]
mod windows;
