//! SSH tunnels to a remote Grove: the user's own OpenSSH (`ssh`, or the program in env
//! `GROVE_SSH`) forwards a local port on 127.0.0.1 to the remote's 127.0.0.1:REMOTE_PORT, with
//! the user's keys, agent, config and known hosts. Grove never answers a prompt: `BatchMode=yes`
//! makes ssh fail instead, and the failure is classified for the user ([`TunnelFailure`]). An
//! unknown host key is never accepted here; the user accepts it once in a terminal.
//!
//! A [`Tunnel`] supervises one ssh process: it reports [`TunnelState::Up`] once the local port
//! accepts connections, and starts ssh again with backoff when it exits, on the same local port
//! when that is still free. No secret goes on ssh's command line.

use std::ffi::OsString;
use std::net::{Ipv4Addr, SocketAddr};
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::watch;

/// `ssh://[user@]host[:port]`.
#[derive(Clone, Debug, PartialEq)]
pub struct SshTarget {
    pub user: Option<String>,
    pub host: String,
    pub port: Option<u16>,
}

impl SshTarget {
    /// Parses `ssh://[user@]host[:port]` (an IPv6 host in brackets).
    pub fn parse(url: &str) -> Result<SshTarget, String> {
        let form = "expected ssh://[user@]host[:port], e.g. ssh://me@devbox or ssh://devbox:2222";
        let rest = url
            .get(..6)
            .filter(|p| p.eq_ignore_ascii_case("ssh://"))
            .map(|_| &url[6..])
            .ok_or_else(|| format!("`{url}` is not an ssh:// URL: {form}"))?;
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        if rest.contains(['/', '?', '#']) {
            return Err(format!(
                "`{url}` has a path; the remote Grove's port is given separately (--remote-port): {form}"
            ));
        }
        let (user, hostport) = match rest.rsplit_once('@') {
            Some((u, h)) => (Some(u), h),
            None => (None, rest),
        };
        let (host, port) =
            if let Some(inner) = hostport.strip_prefix('[') {
                let (host, after) = inner.split_once(']').ok_or_else(|| {
                    format!("`{url}`: an IPv6 address needs its closing `]`: {form}")
                })?;
                match after {
                    "" => (host, None),
                    p => (
                        host,
                        Some(p.strip_prefix(':').ok_or_else(|| {
                            format!("`{url}`: expected `:PORT` after `]`: {form}")
                        })?),
                    ),
                }
            } else {
                match hostport.rsplit_once(':') {
                    Some((h, p)) => (h, Some(p)),
                    None => (hostport, None),
                }
            };
        let port = port
            .map(|p| {
                p.parse::<u16>()
                    .ok()
                    .filter(|p| *p != 0)
                    .ok_or_else(|| format!("`{url}`: `{p}` is not a port (1-65535)"))
            })
            .transpose()?;
        let plain = |s: &str| {
            !s.is_empty()
                && !s.starts_with('-')
                && !s.chars().any(|c| c.is_whitespace() || c.is_control())
        };
        if !plain(host) || host.contains(['@', '[', ']']) {
            return Err(format!("`{url}`: `{host}` is not a host name: {form}"));
        }
        if let Some(u) = user
            && (!plain(u) || u.contains(':'))
        {
            return Err(format!("`{url}`: `{u}` is not a user name: {form}"));
        }
        Ok(SshTarget {
            user: user.map(str::to_owned),
            host: host.to_owned(),
            port,
        })
    }

    /// `[user@]host` as ssh takes it.
    fn destination(&self) -> String {
        match &self.user {
            Some(u) => format!("{u}@{}", self.host),
            None => self.host.clone(),
        }
    }

    /// The command a user runs once to check and accept the host key.
    fn manual_command(&self) -> String {
        match self.port {
            Some(p) => format!("ssh -p {p} {}", self.destination()),
            None => format!("ssh {}", self.destination()),
        }
    }
}

impl std::fmt::Display for SshTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        match (&self.user, self.port) {
            (Some(u), Some(p)) => write!(f, "ssh://{u}@{host}:{p}"),
            (Some(u), None) => write!(f, "ssh://{u}@{host}"),
            (None, Some(p)) => write!(f, "ssh://{host}:{p}"),
            (None, None) => write!(f, "ssh://{host}"),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum TunnelState {
    /// ssh is starting (or starting again).
    Starting,
    /// `127.0.0.1:local_port` reaches the remote's `127.0.0.1:REMOTE_PORT`.
    Up { local_port: u16 },
    /// ssh exited; it is started again after a delay.
    Down { reason: String, kind: TunnelFailure },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TunnelFailure {
    /// The host's key is not in known_hosts: the user must check and accept it once.
    HostKeyUnknown,
    /// The host's key differs from the one in known_hosts.
    HostKeyChanged,
    AuthFailed,
    Resolve,
    Refused,
    /// Anything else (the connection dropped, ssh missing, a forward that failed…).
    Exited,
}

/// The ssh program: env `GROVE_SSH`, else `ssh` on PATH.
fn program() -> OsString {
    std::env::var_os("GROVE_SSH")
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| "ssh".into())
}

/// ssh's arguments for a forward of `127.0.0.1:local` to the remote's `127.0.0.1:remote`.
fn ssh_args(target: &SshTarget, local: u16, remote: u16) -> Vec<String> {
    let mut args: Vec<String> = [
        "-N",
        "-T",
        "-o",
        "BatchMode=yes",
        // Never add a host key, whatever the user's config says (e.g. accept-new).
        "-o",
        "StrictHostKeyChecking=yes",
        "-o",
        "ExitOnForwardFailure=yes",
        "-o",
        "ServerAliveInterval=5",
        "-o",
        "ServerAliveCountMax=2",
        "-L",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect();
    args.push(format!("127.0.0.1:{local}:127.0.0.1:{remote}"));
    if let Some(p) = target.port {
        args.push("-p".into());
        args.push(p.to_string());
    }
    // The target was checked not to start with `-`; `--` ends the options all the same.
    args.push("--".into());
    args.push(target.destination());
    args
}

/// What ssh's stderr says went wrong, and what the user should do about it.
pub(crate) fn classify(stderr: &str, target: &SshTarget) -> (TunnelFailure, String) {
    // "channel N: open failed: connect failed: Connection refused" is about one forwarded
    // connection (the remote Grove not listening), not about ssh's own: left out.
    let lines: Vec<&str> = stderr
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("channel "))
        .collect();
    let find = |needle: &str| lines.iter().copied().find(|l| l.contains(needle));
    let host = &target.host;
    if find("REMOTE HOST IDENTIFICATION HAS CHANGED").is_some() {
        return (
            TunnelFailure::HostKeyChanged,
            format!(
                "the SSH host key of {host} CHANGED since it was accepted: someone may be intercepting the connection, or the server was reinstalled. Grove will not connect; check the new key with the server's admin, then update your known_hosts (`ssh-keygen -R {host}`) and run `{}` once",
                target.manual_command()
            ),
        );
    }
    if find("Host key verification failed").is_some() || find("host key is known for").is_some() {
        return (
            TunnelFailure::HostKeyUnknown,
            format!(
                "the SSH host key of {host} is not known yet, and Grove never accepts one by itself: run `{}` once in a terminal, check the key fingerprint it shows (with the server's admin), accept it, and Grove will connect",
                target.manual_command()
            ),
        );
    }
    if let Some(line) = find("Permission denied") {
        return (
            TunnelFailure::AuthFailed,
            format!(
                "ssh could not log in to {} ({line}). Grove runs ssh without prompts: use a key that needs no passphrase typed here (e.g. loaded in ssh-agent) and check that `{}` logs in",
                target.destination(),
                target.manual_command()
            ),
        );
    }
    if let Some(line) = find("Could not resolve hostname") {
        return (
            TunnelFailure::Resolve,
            format!("could not resolve {host}: check the name ({line})"),
        );
    }
    if lines
        .iter()
        .any(|l| l.contains("connect to host") && l.contains("Connection refused"))
    {
        let port = target.port.unwrap_or(22);
        return (
            TunnelFailure::Refused,
            format!("{host} refused the SSH connection on port {port}: is sshd running there?"),
        );
    }
    let reason = match lines.last() {
        Some(last) => format!("ssh exited: {last}"),
        None => "ssh exited without saying why".into(),
    };
    (TunnelFailure::Exited, reason)
}

/// An ssh process forwarding a local port to a remote Grove, started again when it exits.
/// Dropping it kills ssh and stops the supervision.
#[derive(Debug)]
pub struct Tunnel {
    state: watch::Receiver<TunnelState>,
    task: tokio::task::JoinHandle<()>,
}

impl Tunnel {
    /// Starts supervising ssh to `target`, forwarding to its `127.0.0.1:remote_port`. Must be
    /// called within a tokio runtime; the supervisor runs on it.
    pub fn start(target: SshTarget, remote_port: u16) -> Tunnel {
        Tunnel::start_with_program(target, remote_port, program())
    }

    /// [`Tunnel::start`] with this ssh program instead of env `GROVE_SSH` / `ssh`.
    pub fn start_with_program(
        target: SshTarget,
        remote_port: u16,
        program: impl Into<OsString>,
    ) -> Tunnel {
        let (tx, rx) = watch::channel(TunnelState::Starting);
        let task = tokio::spawn(supervise(target, remote_port, program.into(), tx));
        Tunnel { state: rx, task }
    }

    pub fn state(&self) -> watch::Receiver<TunnelState> {
        self.state.clone()
    }

    /// The local port while the tunnel is up.
    pub fn local_port(&self) -> Option<u16> {
        match *self.state.borrow() {
            TunnelState::Up { local_port } => Some(local_port),
            _ => None,
        }
    }
}

impl Drop for Tunnel {
    fn drop(&mut self) {
        // The task owns the child (kill_on_drop): aborting it kills ssh, and tokio reaps it.
        self.task.abort();
    }
}

/// Delays between starts: 0.5 s doubling to 10 s; 30 s after a failure only the user can fix.
const FIRST_DELAY: Duration = Duration::from_millis(500);
const MAX_DELAY: Duration = Duration::from_secs(10);
const USER_FIX_DELAY: Duration = Duration::from_secs(30);
/// How often the local port is tried while ssh starts.
const POLL: Duration = Duration::from_millis(50);
/// A tunnel up this long counts as healthy: the next failure starts over from the first delay.
const HEALTHY: Duration = Duration::from_secs(30);

/// A free port on 127.0.0.1, preferring `previous`.
fn pick_port(previous: Option<u16>) -> std::io::Result<u16> {
    if let Some(p) = previous
        && std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, p)).is_ok()
    {
        return Ok(p);
    }
    Ok(std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?
        .local_addr()?
        .port())
}

async fn supervise(
    target: SshTarget,
    remote_port: u16,
    program: OsString,
    state: watch::Sender<TunnelState>,
) {
    let mut local = None;
    let mut delay = FIRST_DELAY;
    loop {
        state.send_if_modified(|s| {
            let was = std::mem::replace(s, TunnelState::Starting);
            was != TunnelState::Starting
        });
        let (kind, reason, up_for) = match pick_port(local) {
            Ok(port) => {
                local = Some(port);
                run_once(&program, &target, port, remote_port, &state).await
            }
            Err(e) => (
                TunnelFailure::Exited,
                format!("could not find a free local port on 127.0.0.1: {e}"),
                Duration::ZERO,
            ),
        };
        tracing::info!(target = %target, ?kind, %reason, "ssh tunnel down");
        state.send_replace(TunnelState::Down { reason, kind });
        if up_for >= HEALTHY {
            delay = FIRST_DELAY;
        }
        let wait = match kind {
            TunnelFailure::HostKeyUnknown
            | TunnelFailure::HostKeyChanged
            | TunnelFailure::AuthFailed => USER_FIX_DELAY,
            _ => delay,
        };
        delay = (delay * 2).min(MAX_DELAY);
        tokio::time::sleep(wait).await;
    }
}

/// Runs ssh once, until it exits: how it failed and how long it was up.
async fn run_once(
    program: &OsString,
    target: &SshTarget,
    local: u16,
    remote_port: u16,
    state: &watch::Sender<TunnelState>,
) -> (TunnelFailure, String, Duration) {
    let mut cmd = tokio::process::Command::new(program);
    cmd.args(ssh_args(target, local, remote_port))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            return (
                TunnelFailure::Exited,
                format!(
                    "could not run `{}` ({e}): install OpenSSH's client, or set GROVE_SSH to its path",
                    program.to_string_lossy()
                ),
                Duration::ZERO,
            );
        }
    };
    // The last lines ssh wrote, read until it closes stderr.
    let stderr = child.stderr.take().map(|err| {
        tokio::spawn(async move {
            let mut lines = BufReader::new(err).lines();
            let mut kept: Vec<String> = Vec::new();
            while let Ok(Some(line)) = lines.next_line().await {
                if kept.len() == 32 {
                    kept.remove(0);
                }
                kept.push(line);
            }
            kept.join("\n")
        })
    });
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, local));
    let mut up_since = None;
    let status = loop {
        tokio::select! {
            status = child.wait() => break status,
            () = tokio::time::sleep(POLL), if up_since.is_none() => {
                if tokio::net::TcpStream::connect(addr).await.is_ok() {
                    up_since = Some(tokio::time::Instant::now());
                    state.send_replace(TunnelState::Up { local_port: local });
                }
            }
        }
    };
    let up_for = up_since.map_or(Duration::ZERO, |t| t.elapsed());
    let said = match stderr {
        Some(task) => tokio::time::timeout(Duration::from_secs(2), task)
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or_default(),
        None => String::new(),
    };
    let (kind, mut reason) = classify(&said, target);
    if kind == TunnelFailure::Exited && said.trim().is_empty() {
        reason = match status {
            Ok(s) => format!("ssh exited ({s}) without saying why"),
            Err(e) => format!("ssh could not be waited for: {e}"),
        };
    }
    (kind, reason, up_for)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(user: Option<&str>, host: &str, port: Option<u16>) -> SshTarget {
        SshTarget {
            user: user.map(Into::into),
            host: host.into(),
            port,
        }
    }

    #[test]
    fn parses_ssh_urls() {
        for (url, want) in [
            ("ssh://devbox", t(None, "devbox", None)),
            ("ssh://me@devbox", t(Some("me"), "devbox", None)),
            ("ssh://me@devbox:2222", t(Some("me"), "devbox", Some(2222))),
            (
                "SSH://devbox.example.com:22/",
                t(None, "devbox.example.com", Some(22)),
            ),
            ("ssh://10.0.0.5:2200", t(None, "10.0.0.5", Some(2200))),
            ("ssh://[::1]", t(None, "::1", None)),
            (
                "ssh://root@[fe80::1]:2222",
                t(Some("root"), "fe80::1", Some(2222)),
            ),
        ] {
            let got = SshTarget::parse(url).unwrap_or_else(|e| panic!("{url}: {e}"));
            assert_eq!(got, want, "{url}");
            // Display gives a URL that parses back to the same target.
            assert_eq!(SshTarget::parse(&got.to_string()).unwrap(), want);
        }
    }

    #[test]
    fn refuses_what_is_not_an_ssh_target() {
        for url in [
            "devbox",
            "https://devbox",
            "ssh://",
            "ssh://me@",
            "ssh://devbox:0",
            "ssh://devbox:70000",
            "ssh://devbox:ssh",
            "ssh://devbox/path",
            "ssh://-oProxyCommand=touch${IFS}pwned",
            "ssh://-oProxyCommand=x@devbox",
            "ssh://dev box",
            "ssh://[::1",
            "ssh://[::1]2222",
        ] {
            let err = SshTarget::parse(url).unwrap_err();
            assert!(err.contains(url), "{url}: {err}");
        }
    }

    #[test]
    fn args_forward_loopback_and_carry_no_secret() {
        let args = ssh_args(&t(Some("me"), "devbox", Some(2222)), 40000, 7777);
        let joined = args.join(" ");
        assert!(
            joined.contains("-L 127.0.0.1:40000:127.0.0.1:7777"),
            "{joined}"
        );
        assert!(joined.contains("-o BatchMode=yes"), "{joined}");
        assert!(joined.contains("-o StrictHostKeyChecking=yes"), "{joined}");
        assert!(joined.contains("-o ExitOnForwardFailure=yes"), "{joined}");
        assert!(joined.ends_with("-p 2222 -- me@devbox"), "{joined}");
        let args = ssh_args(&t(None, "devbox", None), 1, 2);
        assert!(!args.contains(&"-p".to_owned()));
        assert_eq!(args.last().map(String::as_str), Some("devbox"));
    }

    #[test]
    fn stderr_is_classified() {
        let target = t(Some("me"), "devbox", Some(2222));
        let cases = [
            (
                "No ED25519 host key is known for [127.0.0.1]:2222 and you have requested strict checking.\r\nHost key verification failed.\r\n",
                TunnelFailure::HostKeyUnknown,
                "ssh -p 2222 me@devbox",
            ),
            (
                "Host key verification failed.\n",
                TunnelFailure::HostKeyUnknown,
                "never accepts",
            ),
            (
                "@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@\n@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @\n@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@\nIT IS POSSIBLE THAT SOMEONE IS DOING SOMETHING NASTY!\nHost key verification failed.\n",
                TunnelFailure::HostKeyChanged,
                "CHANGED",
            ),
            (
                "me@127.0.0.1: Permission denied (publickey).\n",
                TunnelFailure::AuthFailed,
                "Permission denied (publickey)",
            ),
            (
                "ssh: Could not resolve hostname devbox: Name or service not known\n",
                TunnelFailure::Resolve,
                "could not resolve devbox",
            ),
            (
                "ssh: connect to host devbox port 2222: Connection refused\n",
                TunnelFailure::Refused,
                "port 2222",
            ),
            (
                "Warning: something\nClient_loop: send disconnect: Broken pipe\n",
                TunnelFailure::Exited,
                "ssh exited: Client_loop: send disconnect: Broken pipe",
            ),
            ("", TunnelFailure::Exited, "without saying why"),
            (
                "channel 2: open failed: connect failed: Connection refused\nTimeout, server devbox not responding.\nchannel 3: open failed: connect failed: Connection refused\n",
                TunnelFailure::Exited,
                "ssh exited: Timeout, server devbox not responding.",
            ),
        ];
        for (stderr, kind, needle) in cases {
            let (got, reason) = classify(stderr, &target);
            assert_eq!(got, kind, "{stderr:?}");
            assert!(reason.contains(needle), "{stderr:?}: {reason}");
        }
    }
}
