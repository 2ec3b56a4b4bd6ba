//! The runner for the `git` binary, for what libgit2 cannot do here (fetch now; push and commit
//! later): [`GitCommand`] runs `git` with a timeout, drains its stdout and stderr on their own
//! threads so a chatty child never blocks on a full pipe, kills its whole process group on
//! timeout (git's helpers, ssh and shell aliases included), and reports failures as a
//! [`GitError`] naming the command and git's stderr.
//!
//! It also owns the one rule for values that come from users or from a repository's config and
//! end up on git's command line: [`GitCommand::operands`] puts them after `--end-of-options` and
//! refuses any that starts with `-`, so a remote called `--upload-pack=...` can never become an
//! option.

use std::ffi::{OsStr, OsString};
use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use super::error::GitError;

/// How long a command may run when the caller sets no timeout.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// How long output is still collected after git exited (or was killed). Its pipes normally close
/// with it; a helper it left running in the background (e.g. `git credential-cache--daemon`) may
/// hold them open, and must not hold the caller too.
const DRAIN_GRACE: Duration = Duration::from_secs(1);

/// The longest pause between two checks of whether git has exited.
const MAX_POLL: Duration = Duration::from_millis(25);

/// One run of the `git` binary, built up then [`run`](GitCommand::run).
///
/// The child gets no terminal prompt (`GIT_TERMINAL_PROMPT=0`: nobody could answer it), stdin
/// from [`stdin`](GitCommand::stdin) or nothing, and its own process group.
#[derive(Debug, Clone)]
pub struct GitCommand {
    cwd: PathBuf,
    args: Vec<OsString>,
    envs: Vec<(OsString, OsString)>,
    timeout: Duration,
    stdin: Option<Vec<u8>>,
    progress: Option<Progress>,
}

/// A callback handed each chunk of git's stderr as it arrives (`--progress` output).
#[derive(Clone)]
struct Progress(Arc<dyn Fn(&str) + Send + Sync>);

impl std::fmt::Debug for Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Progress(…)")
    }
}

/// What a successful [`GitCommand::run`] printed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GitOutput {
    /// Everything git wrote to stdout.
    pub stdout: Vec<u8>,
    /// Everything git wrote to stderr (progress, hints, warnings).
    pub stderr: Vec<u8>,
}

impl GitCommand {
    /// A `git` run in `cwd` with no arguments yet and [`DEFAULT_TIMEOUT`].
    pub fn new(cwd: impl Into<PathBuf>) -> GitCommand {
        GitCommand {
            cwd: cwd.into(),
            args: Vec::new(),
            envs: vec![("GIT_TERMINAL_PROMPT".into(), "0".into())],
            timeout: DEFAULT_TIMEOUT,
            stdin: None,
            progress: None,
        }
    }

    /// Appends one argument. For values that come from users or repository config, use
    /// [`operands`](GitCommand::operands) instead.
    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> GitCommand {
        self.args.push(arg.as_ref().to_owned());
        self
    }

    /// Appends arguments. For values that come from users or repository config, use
    /// [`operands`](GitCommand::operands) instead.
    pub fn args<I, S>(mut self, args: I) -> GitCommand
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.args
            .extend(args.into_iter().map(|a| a.as_ref().to_owned()));
        self
    }

    /// Appends `--end-of-options` and then each operand's value. Each operand is `(what, value)`,
    /// `what` naming it for the error (e.g. `"remote"`). A value starting with `-` is refused
    /// with [`GitError::OptionLike`] before anything runs: `--end-of-options` (git 2.24+)
    /// already stops git itself from reading it as an option, but git hands some operands on to
    /// other programs (a remote's host to ssh), where a leading `-` could still be one.
    pub fn operands(mut self, operands: &[(&str, &str)]) -> Result<GitCommand, GitError> {
        for (what, value) in operands {
            refuse_option_like(what, value)?;
        }
        self.args.push("--end-of-options".into());
        self.args
            .extend(operands.iter().map(|(_, value)| OsString::from(value)));
        Ok(self)
    }

    /// Adds (or overrides) one environment variable for git.
    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> GitCommand {
        self.envs
            .push((key.as_ref().to_owned(), value.as_ref().to_owned()));
        self
    }

    /// How long git may run before its process group is killed.
    pub fn timeout(mut self, timeout: Duration) -> GitCommand {
        self.timeout = timeout;
        self
    }

    /// Bytes to write to git's stdin (then closed). Without this, stdin is empty.
    pub fn stdin(mut self, bytes: impl Into<Vec<u8>>) -> GitCommand {
        self.stdin = Some(bytes.into());
        self
    }

    /// Hands each chunk of git's stderr to `f` as it arrives (it is still collected in
    /// [`GitOutput::stderr`]): for `--progress` output shown while a push runs.
    pub fn on_stderr(mut self, f: impl Fn(&str) + Send + Sync + 'static) -> GitCommand {
        self.progress = Some(Progress(Arc::new(f)));
        self
    }

    /// The arguments after `git`, as they will be passed.
    pub fn argv(&self) -> &[OsString] {
        &self.args
    }

    /// The command as shown in errors: `git` and its arguments.
    pub fn display(&self) -> String {
        let mut shown = String::from("git");
        for arg in &self.args {
            shown.push(' ');
            shown.push_str(&arg.to_string_lossy());
        }
        shown
    }

    /// Runs git and waits for it, at most the timeout. Success is exit status 0; anything else
    /// is [`GitError::CommandFailed`], [`GitError::CommandTimedOut`] or
    /// [`GitError::GitNotRunnable`].
    pub fn run(&self) -> Result<GitOutput, GitError> {
        let (status, out) = self.run_unchecked()?;
        if !status.success() {
            return Err(GitError::CommandFailed {
                command: self.display(),
                status,
                stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
            });
        }
        Ok(out)
    }

    /// Runs git like [`run`](GitCommand::run) but hands back its exit status and both outputs
    /// whatever the status, for callers that tell failures apart by what git printed (`git
    /// commit` says "nothing to commit" on stdout). A timeout is still
    /// [`GitError::CommandTimedOut`].
    pub fn run_unchecked(&self) -> Result<(ExitStatus, GitOutput), GitError> {
        let command = self.display();
        let mut cmd = Command::new("git");
        cmd.args(&self.args)
            .current_dir(&self.cwd)
            .stdin(if self.stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (key, value) in &self.envs {
            cmd.env(key, value);
        }
        // Its own process group, so a timeout can kill git's helpers (ssh, remote helpers,
        // shell aliases) with it: killing only git would leave them holding the pipes open.
        #[cfg(unix)]
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        let mut child = cmd.spawn().map_err(|source| GitError::GitNotRunnable {
            command: command.clone(),
            source,
        })?;

        let deadline = Instant::now() + self.timeout;
        let (tx, rx) = mpsc::channel();
        let started = start_io(&mut child, self.stdin.clone(), self.progress.clone(), tx);
        let waited = started.and_then(|()| wait_until(&mut child, deadline));
        let status = match waited {
            Ok(Some(status)) => Some(status),
            Ok(None) => {
                kill_group(&mut child);
                None
            }
            Err(source) => {
                kill_group(&mut child);
                return Err(GitError::Io {
                    context: format!("cannot run `{command}`"),
                    source,
                });
            }
        };
        let (stdout, stderr) = collect(&rx, Instant::now() + DRAIN_GRACE);
        match status {
            None => Err(GitError::CommandTimedOut {
                command,
                timeout: self.timeout,
                stderr: String::from_utf8_lossy(&stderr).trim().to_string(),
            }),
            Some(status) => Ok((status, GitOutput { stdout, stderr })),
        }
    }
}

/// Refuses a value for git's command line that starts with `-`, naming what it is.
pub fn refuse_option_like(what: &str, value: &str) -> Result<(), GitError> {
    if value.starts_with('-') {
        return Err(GitError::OptionLike {
            what: what.to_string(),
            value: value.to_string(),
        });
    }
    Ok(())
}

/// Which pipe a chunk of output came from.
#[derive(Clone, Copy)]
enum Pipe {
    Stdout,
    Stderr,
}

/// Starts the threads that drain stdout and stderr into `tx` and feed stdin. Output travels
/// in chunks, so whatever arrived is kept even if a background helper keeps a pipe open.
fn start_io(
    child: &mut Child,
    stdin: Option<Vec<u8>>,
    progress: Option<Progress>,
    tx: mpsc::Sender<(Pipe, Vec<u8>)>,
) -> std::io::Result<()> {
    if let Some(out) = child.stdout.take() {
        let tx = tx.clone();
        thread::Builder::new()
            .name("git stdout".into())
            .spawn(move || drain(out, Pipe::Stdout, None, &tx))?;
    }
    if let Some(err) = child.stderr.take() {
        thread::Builder::new()
            .name("git stderr".into())
            .spawn(move || drain(err, Pipe::Stderr, progress, &tx))?;
    }
    if let (Some(bytes), Some(mut pipe)) = (stdin, child.stdin.take()) {
        thread::Builder::new()
            .name("git stdin".into())
            .spawn(move || {
                // A git that stops reading early (or dies) breaks the pipe; its exit status
                // says what went wrong, so the write error adds nothing.
                let _ = pipe.write_all(&bytes);
            })?;
    }
    Ok(())
}

/// Reads `pipe` to its end, sending each chunk; stops early if nobody collects any more.
fn drain<R: Read>(
    mut pipe: R,
    which: Pipe,
    progress: Option<Progress>,
    tx: &mpsc::Sender<(Pipe, Vec<u8>)>,
) {
    let mut buf = vec![0; 64 * 1024];
    loop {
        match pipe.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                if let Some(Progress(f)) = &progress {
                    f(&String::from_utf8_lossy(&buf[..n]));
                }
                if tx.send((which, buf[..n].to_vec())).is_err() {
                    return;
                }
            }
        }
    }
}

/// Waits for the child until `deadline`; `None` when it is still running then.
///
/// A polling loop rather than the `wait-timeout` crate: that crate installs a process-wide
/// SIGCHLD handler, and this process also runs PTY children and tokio's signal handling. The
/// pause grows from 1 ms to [`MAX_POLL`], which is nothing next to a network fetch.
fn wait_until(child: &mut Child, deadline: Instant) -> std::io::Result<Option<ExitStatus>> {
    let mut pause = Duration::from_millis(1);
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(Some(status));
        }
        let now = Instant::now();
        if now >= deadline {
            return Ok(None);
        }
        thread::sleep(pause.min(deadline - now));
        pause = (pause * 2).min(MAX_POLL);
    }
}

/// Kills the child's whole process group, then reaps the child.
fn kill_group(child: &mut Child) {
    #[cfg(unix)]
    {
        if let Ok(pid) = libc::pid_t::try_from(child.id()) {
            // SAFETY: killpg only sends a signal. The group is the one our child leads
            // (`process_group(0)`), and its id cannot be reused while the child is unreaped.
            unsafe { libc::killpg(pid, libc::SIGKILL) };
        }
    }
    // Also the only kill there is off unix; harmless after killpg.
    let _ = child.kill();
    if let Err(e) = child.wait() {
        tracing::warn!(pid = child.id(), error = %e, "could not reap a killed git");
    }
}

/// Collects output chunks until both pipes are closed or `until` passes.
fn collect(rx: &mpsc::Receiver<(Pipe, Vec<u8>)>, until: Instant) -> (Vec<u8>, Vec<u8>) {
    let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
    loop {
        let left = until.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok((Pipe::Stdout, chunk)) => stdout.extend_from_slice(&chunk),
            Ok((Pipe::Stderr, chunk)) => stderr.extend_from_slice(&chunk),
            // Both pipes closed (every sender gone), or a helper still holds one open.
            Err(_) => return (stdout, stderr),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::git::testing::{Fixture, git};

    #[test]
    fn runs_git_and_returns_its_output() {
        let f = Fixture::new();
        let out = GitCommand::new(&f.repo)
            .args(["rev-parse", "HEAD"])
            .run()
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            git(&f.repo, &["rev-parse", "HEAD"])
        );
    }

    #[test]
    fn stdin_bytes_reach_git() {
        let f = Fixture::new();
        let out = GitCommand::new(&f.repo)
            .args(["hash-object", "--stdin"])
            .stdin(b"hello\n".to_vec())
            .run()
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            "ce013625030ba8dba906f756967f9e9ca394464a"
        );
    }

    #[test]
    fn failure_names_the_command_and_gits_stderr() {
        let f = Fixture::new();
        let err = GitCommand::new(&f.repo)
            .args(["rev-parse", "--verify", "no-such-ref"])
            .run()
            .unwrap_err();
        assert!(
            matches!(&err, GitError::CommandFailed { command, stderr, .. }
                if command == "git rev-parse --verify no-such-ref"
                    && stderr.contains("Needed a single revision")),
            "{err:?}"
        );
        let msg = err.to_string();
        assert!(
            msg.starts_with("`git rev-parse --verify no-such-ref` failed"),
            "{msg}"
        );
        assert!(msg.contains("fatal: Needed a single revision"), "{msg}");
    }

    #[test]
    fn a_missing_git_is_a_clear_error() {
        let f = Fixture::new();
        let err = GitCommand::new(&f.repo)
            .arg("status")
            .env("PATH", f.tmp.path().join("no-bin"))
            .run()
            .unwrap_err();
        assert!(matches!(err, GitError::GitNotRunnable { .. }), "{err:?}");
        assert!(err.to_string().contains("is git installed"), "{err}");
    }

    #[test]
    fn a_chatty_git_never_blocks_on_its_pipes() {
        // 2 MB on each pipe: far past the 64 KB a pipe holds, so an undrained pipe would hang
        // git until the timeout.
        let f = Fixture::new();
        let out = GitCommand::new(&f.repo)
            .args([
                "-c",
                "alias.chatty=!head -c 2000000 /dev/zero >&2; head -c 2000000 /dev/zero",
                "chatty",
            ])
            .timeout(Duration::from_secs(20))
            .run()
            .unwrap();
        assert_eq!((out.stdout.len(), out.stderr.len()), (2_000_000, 2_000_000));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn timeout_kills_the_whole_process_group() {
        // git runs the alias through a shell, which starts a sleep in the background: git's
        // grandchild, holding both pipes open. Killing only git would leave it running.
        let f = Fixture::new();
        let pid_file = f.tmp.path().join("sleep.pid");
        let alias = format!(
            "alias.hang=!sleep 60 & echo $! > '{}'; wait",
            pid_file.display()
        );
        let start = Instant::now();
        let err = GitCommand::new(&f.repo)
            .args(["-c", &alias, "hang"])
            .timeout(Duration::from_millis(500))
            .run()
            .unwrap_err();
        assert!(matches!(err, GitError::CommandTimedOut { .. }), "{err:?}");
        assert!(err.to_string().contains("timed out"), "{err}");
        assert!(start.elapsed() < Duration::from_secs(10));
        let pid: i32 = fs_err::read_to_string(&pid_file)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        // The sleep is re-parented to init once its shell dies; it is gone once reaped, or a
        // zombie until then.
        let gone = || {
            fs_err::read_to_string(format!("/proc/{pid}/stat"))
                .map(|stat| {
                    stat.rsplit(')')
                        .next()
                        .unwrap_or("")
                        .trim()
                        .starts_with('Z')
                })
                .unwrap_or(true)
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while !gone() && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(20));
        }
        assert!(gone(), "the background sleep {pid} outlived the timeout");
    }

    #[test]
    fn operands_follow_end_of_options_and_refuse_leading_dashes() {
        let cmd = GitCommand::new(".")
            .args(["fetch", "--quiet"])
            .operands(&[("remote", "origin"), ("refspec", "refs/heads/main")])
            .unwrap();
        assert_eq!(
            cmd.argv(),
            [
                "fetch",
                "--quiet",
                "--end-of-options",
                "origin",
                "refs/heads/main"
            ]
        );
        let err = GitCommand::new(".")
            .arg("fetch")
            .operands(&[("remote", "origin"), ("refspec", "--upload-pack=touch x")])
            .unwrap_err();
        assert!(
            matches!(&err, GitError::OptionLike { what, value }
                if what == "refspec" && value == "--upload-pack=touch x"),
            "{err:?}"
        );
        assert!(err.to_string().contains("`--upload-pack=touch x`"), "{err}");
    }
}
