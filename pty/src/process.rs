//! Platform process handling: how a terminal's child is awaited, reaped and killed.
//!
//! On Unix portable-pty makes the child a session leader (`setsid`), so its pid is also its
//! process group id and the whole group (including grandchildren that ignore SIGHUP) can be
//! signalled with `killpg`. We wait for the child ourselves with `waitid(WNOWAIT)` first and only
//! reap it while holding the terminal's exit lock, so a kill can never be sent to a pid that was
//! already reaped and reused.
//!
//! Windows has no process groups in this sense; there the child is killed directly (a Job Object
//! that takes grandchildren with it is still to do).

use std::fmt;

/// How a terminal's process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct ExitStatus {
    /// The exit code, when the process exited normally.
    pub code: Option<i32>,
    /// The signal that ended the process, when one did (Unix only).
    pub signal: Option<i32>,
}

impl ExitStatus {
    /// True for exit code 0.
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }
}

impl fmt::Display for ExitStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.code, self.signal) {
            (_, Some(sig)) => write!(f, "killed by signal {sig}{}", signal_name(sig)),
            (Some(code), None) => write!(f, "exited with code {code}"),
            (None, None) => write!(f, "exited with unknown status"),
        }
    }
}

fn signal_name(sig: i32) -> &'static str {
    match sig {
        1 => " (SIGHUP)",
        2 => " (SIGINT)",
        9 => " (SIGKILL)",
        15 => " (SIGTERM)",
        _ => "",
    }
}

#[cfg(unix)]
pub(crate) mod imp {
    use super::ExitStatus;
    use std::io;

    /// Blocks until `pid` has exited, leaving it a zombie (not reaped).
    pub(crate) fn wait_exited(pid: u32) -> io::Result<()> {
        loop {
            // SAFETY: `info` is a plain C struct that waitid fills in; zeroed is a valid value.
            let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
            // SAFETY: plain syscall with a valid out-pointer.
            let rc = unsafe {
                libc::waitid(
                    libc::P_PID,
                    pid as libc::id_t,
                    &mut info,
                    libc::WEXITED | libc::WNOWAIT,
                )
            };
            if rc == 0 {
                return Ok(());
            }
            let err = io::Error::last_os_error();
            if err.kind() != io::ErrorKind::Interrupted {
                return Err(err);
            }
        }
    }

    /// Reaps an exited `pid` and decodes its status.
    pub(crate) fn reap(pid: u32) -> io::Result<ExitStatus> {
        let mut status: libc::c_int = 0;
        loop {
            // SAFETY: plain syscall with a valid out-pointer.
            let rc = unsafe { libc::waitpid(pid as libc::pid_t, &mut status, 0) };
            if rc >= 0 {
                break;
            }
            let err = io::Error::last_os_error();
            if err.kind() != io::ErrorKind::Interrupted {
                return Err(err);
            }
        }
        Ok(if libc::WIFSIGNALED(status) {
            ExitStatus {
                code: None,
                signal: Some(libc::WTERMSIG(status)),
            }
        } else {
            ExitStatus {
                code: Some(libc::WEXITSTATUS(status)),
                signal: None,
            }
        })
    }

    /// Sends `sig` to the process group led by `pid`. A group that no longer exists is not an
    /// error (the work is already done).
    pub(crate) fn signal_group(pid: u32, sig: libc::c_int) -> io::Result<()> {
        // SAFETY: plain syscall.
        let rc = unsafe { libc::killpg(pid as libc::pid_t, sig) };
        if rc == 0 {
            return Ok(());
        }
        let err = io::Error::last_os_error();
        if err.raw_os_error() == Some(libc::ESRCH) {
            Ok(())
        } else {
            Err(err)
        }
    }

    pub(crate) const HANGUP: libc::c_int = libc::SIGHUP;
    pub(crate) const KILL: libc::c_int = libc::SIGKILL;
}
