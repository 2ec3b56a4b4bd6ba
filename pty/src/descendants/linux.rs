//! The Linux side: `/proc` scans, signals through pidfds, the subreaper and its reaper thread.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::fs::MetadataExt;
use std::sync::OnceLock;

use parking_lot::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::ENV;

/// The pids of terminal programs not yet reaped by their waiters.
static LEADERS: Mutex<BTreeSet<u32>> = Mutex::new(BTreeSet::new());

/// How often the reaper looks for orphans that exited on their own.
const REAP_EVERY: Duration = Duration::from_secs(2);
/// How long `end` keeps sending SIGKILL after the grace period before it gives up.
const KILL_FOR: Duration = Duration::from_secs(2);
const POLL: Duration = Duration::from_millis(20);

pub(super) fn leaders() -> MutexGuard<'static, BTreeSet<u32>> {
    LEADERS.lock()
}

pub(super) fn spawning() -> MutexGuard<'static, BTreeSet<u32>> {
    start();
    leaders()
}

/// Makes this process a subreaper and starts the reaper, once.
fn start() {
    static STARTED: OnceLock<()> = OnceLock::new();
    STARTED.get_or_init(|| {
        // SAFETY: plain prctl with integer arguments.
        let rc = unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
        if rc != 0 {
            let err = std::io::Error::last_os_error();
            tracing::warn!(%err, "could not become a child subreaper; orphans go to init");
            return;
        }
        let reaper = std::thread::Builder::new()
            .name("grove-reaper".into())
            .spawn(|| {
                loop {
                    std::thread::sleep(REAP_EVERY);
                    reap_orphans();
                }
            });
        if let Err(err) = reaper {
            tracing::warn!(%err, "could not start the orphan reaper");
        }
    });
}

/// What `/proc/<pid>/stat` says about a process.
#[derive(Debug, Clone, Copy)]
struct Proc {
    pid: u32,
    ppid: u32,
    session: u32,
    zombie: bool,
    /// When it started (clock ticks after boot): with the pid, names one process for good.
    start: u64,
}

fn stat(pid: u32) -> Option<Proc> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may contain anything, parentheses included: the fields we want follow
    // its last `)`.
    let rest = &text[text.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    let state = fields.next()?;
    let ppid = fields.next()?.parse().ok()?;
    let _pgrp = fields.next()?;
    let session = fields.next()?.parse().ok()?;
    // Field 22 of the man page; the state above was field 3.
    let start = fields.nth(22 - 7)?.parse().ok()?;
    Some(Proc {
        pid,
        ppid,
        session,
        zombie: state == "Z" || state == "X",
        start,
    })
}

fn all_pids() -> impl Iterator<Item = u32> {
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
}

/// Whether the process's environment holds exactly `entry` (`NAME=value`).
fn carries(pid: u32, entry: &[u8]) -> bool {
    std::fs::read(format!("/proc/{pid}/environ"))
        .map(|env| env.split(|b| *b == 0).any(|e| e == entry))
        .unwrap_or(false)
}

fn owned_by(pid: u32, uid: u32) -> bool {
    std::fs::metadata(format!("/proc/{pid}")).is_ok_and(|m| m.uid() == uid)
}

/// Every live process of ours that carries `entry`, or was found before (`known`, by pid and
/// start time: its parent may have died and taken the link to the marked ones with it), or
/// descends from one of those; except ourselves and `leader`.
fn targets(entry: &[u8], leader: u32, known: &HashSet<(u32, u64)>) -> Vec<Proc> {
    let me = std::process::id();
    // SAFETY: plain syscall.
    let uid = unsafe { libc::geteuid() };
    let procs: Vec<Proc> = all_pids()
        .filter(|&pid| pid > 1 && pid != me && owned_by(pid, uid))
        .filter_map(stat)
        .collect();
    let mut children: HashMap<u32, Vec<usize>> = HashMap::new();
    for (i, p) in procs.iter().enumerate() {
        children.entry(p.ppid).or_default().push(i);
    }
    let mut queue = Vec::new();
    for (i, p) in procs.iter().enumerate() {
        if !p.zombie && (known.contains(&(p.pid, p.start)) || carries(p.pid, entry)) {
            queue.push(i);
        }
    }
    let mut seen: HashSet<usize> = queue.iter().copied().collect();
    let mut found = Vec::new();
    while let Some(i) = queue.pop() {
        let p = procs[i];
        if !p.zombie && p.pid != leader {
            found.push(p);
        }
        for &c in children.get(&p.pid).into_iter().flatten() {
            if seen.insert(c) {
                queue.push(c);
            }
        }
    }
    found
}

/// Sends `sig` to the process if its pid still names the one we found (same start time): the
/// pidfd pins the process before the check, so a pid reused in between is never signalled.
fn signal(t: &Proc, sig: libc::c_int) {
    let pid = t.pid;
    let same = || stat(pid).is_some_and(|now| now.start == t.start);
    // SAFETY: plain syscall; a non-negative result is a new fd that we own.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::pid_t, 0) };
    if fd < 0 {
        // Kernels before 5.3 have no pidfds: check, then signal, and accept the small window.
        if std::io::Error::last_os_error().raw_os_error() == Some(libc::ENOSYS) && same() {
            // SAFETY: plain syscall.
            unsafe { libc::kill(pid as libc::pid_t, sig) };
        }
        return;
    }
    // SAFETY: pidfd_open returned a fresh fd that nothing else owns.
    let fd = unsafe { OwnedFd::from_raw_fd(fd as libc::c_int) };
    if same() {
        use std::os::fd::AsRawFd;
        // SAFETY: plain syscall on a pidfd we own; no siginfo.
        unsafe {
            libc::syscall(
                libc::SYS_pidfd_send_signal,
                fd.as_raw_fd(),
                sig,
                std::ptr::null::<libc::siginfo_t>(),
                0,
            )
        };
    }
}

pub(super) fn end(marker: &str, leader: u32, grace: Duration) {
    let entry = format!("{ENV}={marker}").into_bytes();
    let me = std::process::id();
    let kill_at = Instant::now() + grace;
    let give_up = kill_at + KILL_FOR;
    let mut termed = HashSet::new();
    let mut known = HashSet::new();
    loop {
        let found = targets(&entry, leader, &known);
        if found.is_empty() {
            break;
        }
        let now = Instant::now();
        if now >= give_up {
            let pids: Vec<u32> = found.iter().map(|t| t.pid).collect();
            tracing::warn!(?pids, "processes of a closed terminal would not end");
            break;
        }
        for t in &found {
            known.insert((t.pid, t.start));
            if now >= kill_at {
                signal(t, libc::SIGKILL);
            } else if termed.insert(t.pid) {
                signal(t, libc::SIGTERM);
            }
        }
        std::thread::sleep(POLL);
    }
    // Those that end up re-parented to us (now, or once their parent has died too) are ours
    // to reap; wait a moment for them rather than leave them to the reaper's next round.
    let deadline = Instant::now() + Duration::from_secs(1);
    while !known.is_empty() && Instant::now() < deadline {
        let leaders = leaders();
        let ours = Ours::now();
        known.retain(|&(pid, start)| match stat(pid) {
            Some(p) if p.start == start => {
                !(p.zombie && (p.ppid != me || (ours.orphan(&p, &leaders) && reaped(pid))))
            }
            _ => false,
        });
        drop(leaders);
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Who we are, to tell our orphans from children that others wait for.
struct Ours {
    pid: u32,
    session: u32,
}

impl Ours {
    fn now() -> Ours {
        Ours {
            pid: std::process::id(),
            // SAFETY: plain syscall.
            session: unsafe { libc::getsid(0) } as u32,
        }
    }

    /// An exited child of ours that no one else waits for: not a terminal's program, and in
    /// another session than ours (commands we run ourselves stay in ours).
    fn orphan(&self, p: &Proc, leaders: &BTreeSet<u32>) -> bool {
        p.zombie && p.ppid == self.pid && p.session != self.session && !leaders.contains(&p.pid)
    }
}

/// Reaps `pid` if it has exited; true once it is gone (also when someone else reaped it).
fn reaped(pid: u32) -> bool {
    let mut status = 0;
    // SAFETY: plain syscall with a valid out-pointer.
    let rc = unsafe { libc::waitpid(pid as libc::pid_t, &mut status, libc::WNOHANG) };
    rc != 0
}

/// Reaps our exited children that no one else waits for (see [`Ours::orphan`]).
fn reap_orphans() {
    let leaders = leaders();
    // Only look further when some child of ours has exited; WNOWAIT leaves it for its owner.
    // SAFETY: `info` is a plain C struct that waitid fills in; zeroed is a valid value.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    // SAFETY: plain syscall with a valid out-pointer.
    let rc = unsafe {
        libc::waitid(
            libc::P_ALL,
            0,
            &mut info,
            libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
        )
    };
    // SAFETY: waitid filled `info` (or left it zeroed, which reads as pid 0).
    if rc != 0 || unsafe { info.si_pid() } == 0 {
        return;
    }
    let ours = Ours::now();
    for p in all_pids().filter_map(stat) {
        if ours.orphan(&p, &leaders) {
            reaped(p.pid);
        }
    }
    drop(leaders);
}
