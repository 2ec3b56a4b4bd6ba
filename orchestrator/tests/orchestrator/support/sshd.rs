//! A real OpenSSH server for tests: Debian's `/usr/sbin/sshd` on 127.0.0.1 and a free high port,
//! with a host key and a client key made by `ssh-keygen` in a temp dir, and a wrapper script to
//! use as `GROVE_SSH` that runs `ssh -F CONFIG` (that key, a known_hosts holding the host key,
//! nothing from the user's own ssh setup). Runs as root (making `/run/sshd` if missing) or as
//! an ordinary user (who can then log in only as themselves, which is all it needs).
//!
//! `stop` ends sshd and every connection it serves (a tunnel through it drops); `start` starts
//! it again on the same port with the same host key.

use std::net::{Ipv4Addr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const SSHD: &str = "/usr/sbin/sshd";

pub struct Sshd {
    pub port: u16,
    pub dir: tempfile::TempDir,
    /// A script for `GROVE_SSH`: ssh with this fixture's client config.
    pub wrapper: PathBuf,
    /// The client's known_hosts, holding the host key for `[127.0.0.1]:port`.
    pub known_hosts: PathBuf,
    config: PathBuf,
    child: Option<Child>,
}

fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn free_port() -> u16 {
    std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn write_mode(path: &Path, text: &str, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

impl Sshd {
    /// Makes the keys and configs and starts sshd; returns once it accepts connections.
    pub fn start() -> Sshd {
        assert!(
            Path::new(SSHD).exists(),
            "{SSHD} is missing: install Debian's openssh-server (scripts/test does)"
        );
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        for key in ["host_key", "client_key"] {
            run(Command::new("ssh-keygen")
                .args(["-q", "-t", "ed25519", "-N", "", "-C", key, "-f"])
                .arg(d.join(key)));
        }
        let port = free_port();
        std::fs::copy(d.join("client_key.pub"), d.join("authorized_keys")).unwrap();
        let host_pub = std::fs::read_to_string(d.join("host_key.pub")).unwrap();
        let host_pub: Vec<&str> = host_pub.split_whitespace().take(2).collect();
        let known_hosts = d.join("known_hosts");
        std::fs::write(
            &known_hosts,
            format!("[127.0.0.1]:{port} {}\n", host_pub.join(" ")),
        )
        .unwrap();
        let config = d.join("sshd_config");
        std::fs::write(
            &config,
            format!(
                "ListenAddress 127.0.0.1\n\
                 HostKey {d}/host_key\n\
                 PidFile {d}/sshd.pid\n\
                 AuthorizedKeysFile {d}/authorized_keys\n\
                 StrictModes no\n\
                 UsePAM no\n\
                 PubkeyAuthentication yes\n\
                 PasswordAuthentication no\n\
                 KbdInteractiveAuthentication no\n\
                 PermitRootLogin prohibit-password\n\
                 AllowTcpForwarding yes\n\
                 ClientAliveInterval 5\n",
                d = d.display()
            ),
        )
        .unwrap();
        // Privilege separation needs this directory when sshd runs as root.
        // SAFETY: geteuid cannot fail and touches no memory.
        if unsafe { libc::geteuid() } == 0 {
            let _ = std::fs::create_dir_all("/run/sshd");
        }
        let wrapper = Sshd::client(d, "ssh", &known_hosts);
        let mut sshd = Sshd {
            port,
            wrapper,
            known_hosts,
            config,
            child: None,
            dir,
        };
        sshd.start_again();
        sshd
    }

    /// Another wrapper for `GROVE_SSH` with this fixture's key and `known_hosts` instead.
    pub fn wrapper_with_known_hosts(&self, name: &str, known_hosts: &Path) -> PathBuf {
        Sshd::client(self.dir.path(), name, known_hosts)
    }

    fn client(d: &Path, name: &str, known_hosts: &Path) -> PathBuf {
        let config = d.join(format!("{name}_config"));
        std::fs::write(
            &config,
            format!(
                "Host *\n\
                 \tIdentityFile {d}/client_key\n\
                 \tIdentitiesOnly yes\n\
                 \tIdentityAgent none\n\
                 \tUserKnownHostsFile {kh}\n\
                 \tGlobalKnownHostsFile /dev/null\n\
                 \tPasswordAuthentication no\n\
                 \tKbdInteractiveAuthentication no\n\
                 \tControlMaster no\n\
                 \tControlPath none\n",
                d = d.display(),
                kh = known_hosts.display()
            ),
        )
        .unwrap();
        let wrapper = d.join(name);
        write_mode(
            &wrapper,
            &format!("#!/bin/sh\nexec ssh -F '{}' \"$@\"\n", config.display()),
            0o755,
        );
        wrapper
    }

    /// The URL of this server for [`grove_orchestrator::remote::ssh::SshTarget::parse`].
    pub fn url(&self) -> String {
        format!("ssh://127.0.0.1:{}", self.port)
    }

    /// Starts sshd (again) on the same port; returns once it accepts connections.
    pub fn start_again(&mut self) {
        assert!(self.child.is_none(), "sshd is running already");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join("sshd.log"))
            .unwrap();
        let child = Command::new(SSHD)
            .args(["-D", "-e", "-f"])
            .arg(&self.config)
            .args(["-p", &self.port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect((Ipv4Addr::LOCALHOST, self.port)).is_err() {
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                panic!("sshd exited ({status}): {}", self.log());
            }
            assert!(
                Instant::now() < deadline,
                "sshd did not start: {}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// What sshd logged.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("sshd.log")).unwrap_or_default()
    }

    /// Ends sshd and every connection it serves (they run in processes of their own).
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let mut pids = descendants(child.id());
        pids.push(child.id());
        for pid in pids {
            // SAFETY: signals to processes this fixture started (sshd and its children).
            unsafe { libc::kill(pid as i32, libc::SIGKILL) };
        }
        child.wait().unwrap();
    }
}

/// Every process below `pid`, from /proc (sshd's connection processes start sessions of their
/// own, so a process group would not hold them).
pub fn descendants(pid: u32) -> Vec<u32> {
    let mut parents = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(p) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // "pid (comm) state ppid …": comm may hold spaces and parentheses.
        let Some(rest) = stat.rfind(')').map(|i| &stat[i + 1..]) else {
            continue;
        };
        if let Some(ppid) = rest
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse::<u32>().ok())
        {
            parents.push((p, ppid));
        }
    }
    let mut out = Vec::new();
    let mut frontier = vec![pid];
    while let Some(parent) = frontier.pop() {
        for &(p, pp) in &parents {
            if pp == parent && !out.contains(&p) {
                out.push(p);
                frontier.push(p);
            }
        }
    }
    out
}

impl Drop for Sshd {
    fn drop(&mut self) {
        self.stop();
    }
}
