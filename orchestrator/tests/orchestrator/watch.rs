//! The live file watcher through the real server: `session_changes` on the events socket for
//! writes and commits, drift for branch switches and removed worktrees, inotify watches only on
//! folders git does not ignore (counted in the server's own `/proc`), the watch-limit fallback,
//! and no watcher left behind a deleted session.

use std::path::{Path, PathBuf};

use grove_orchestrator::wire::{ChangeSummary, Drift, Event};
use serde_json::json;

use crate::support::{Grove, events, eventually, fixture_repo, git, rt, wait_event};

/// The server's inotify instances and the watches they hold, from `/proc/<pid>/fdinfo`.
fn inotify(pid: u32) -> (usize, usize) {
    let mut instances = 0;
    let mut watches = 0;
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return (0, 0);
    };
    for fd in fds.flatten() {
        let is_inotify =
            std::fs::read_link(fd.path()).is_ok_and(|t| t.to_string_lossy().contains("inotify"));
        if !is_inotify {
            continue;
        }
        instances += 1;
        let info = std::fs::read_to_string(format!(
            "/proc/{pid}/fdinfo/{}",
            fd.file_name().to_string_lossy()
        ))
        .unwrap_or_default();
        watches += info
            .lines()
            .filter(|l| l.starts_with("inotify wd:"))
            .count();
    }
    (instances, watches)
}

/// Threads of the server whose name starts with `prefix`.
fn threads(pid: u32, prefix: &str) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .unwrap()
        .flatten()
        .filter(|t| {
            std::fs::read_to_string(t.path().join("comm")).is_ok_and(|c| c.starts_with(prefix))
        })
        .count()
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn changes_of(
    id: i64,
    mut pick: impl FnMut(&ChangeSummary, &[String], bool) -> bool,
) -> impl FnMut(Event) -> Option<(ChangeSummary, Vec<String>, bool)> {
    move |ev| match ev {
        Event::SessionChanges {
            session_id,
            summary,
            paths,
            all,
        } if session_id == id && pick(&summary, &paths, all) => Some((summary, paths, all)),
        _ => None,
    }
}

#[test]
fn writes_commits_and_branch_switches_reach_the_events_socket() {
    let dir = tempfile::tempdir().unwrap();
    let repo = fixture_repo(dir.path(), "repo");
    write(&repo.join(".gitignore"), "node_modules/\n");
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-qm", "ignore node_modules"]);
    let data = dir.path().join("data");
    let g = Grove::start(&data);
    let repo_id = g.add_repo(&repo);
    let s = g.create_session(repo_id, "watched", "cat");
    let wt = PathBuf::from(&s.worktree);
    // An ignored folder of 2,000 folders appears: it must cost no watch.
    for i in 0..1000 {
        std::fs::create_dir_all(wt.join(format!("node_modules/p{i}/lib"))).unwrap();
    }
    rt().block_on(async {
        let mut ev = events(&g).await;
        write(&wt.join("src/new.rs"), "one\ntwo\nthree\n");
        let (summary, paths, all) = wait_event(
            &mut ev,
            "session_changes for src/new.rs",
            changes_of(s.id, |_, p, _| p.contains(&"src/new.rs".to_string())),
        )
        .await;
        assert_eq!(
            summary,
            ChangeSummary {
                files: 1,
                additions: 3,
                deletions: 0,
                uncommitted: 1
            }
        );
        assert_eq!((paths.len(), all), (1, false), "{paths:?}");
    });
    let listed = g.sessions().into_iter().find(|x| x.id == s.id).unwrap();
    assert_eq!(listed.changes.map(|c| c.additions), Some(3));
    // Worktree root, src/, and a few git metadata folders: never node_modules.
    let (_, watches) = inotify(g.child.id());
    assert!((2..=8).contains(&watches), "{watches} inotify watches");

    rt().block_on(async {
        let mut ev = events(&g).await;
        git(&wt, &["add", "-A"]);
        git(&wt, &["commit", "-qm", "work"]);
        let (summary, _, _) = wait_event(
            &mut ev,
            "session_changes after the commit",
            changes_of(s.id, |c, _, _| c.uncommitted == 0),
        )
        .await;
        assert_eq!((summary.files, summary.additions), (1, 3));

        git(&wt, &["switch", "-q", "-c", "elsewhere"]);
        wait_event(&mut ev, "drift after the branch switch", |e| match e {
            Event::SessionUpdated { session } if session.id == s.id => (session.drift
                == Drift::BranchChanged {
                    actual: "elsewhere".into(),
                })
            .then_some(()),
            _ => None,
        })
        .await;
    });

    // After a restart the watcher starts again from the saved session, with the same costs.
    git(&wt, &["switch", "-q", "grove/watched"]);
    g.stop();
    let g = Grove::start(&data);
    eventually("the restored session's summary", || {
        g.sessions()[0].changes.is_some_and(|c| c.files == 1)
    });
    let (_, watches) = inotify(g.child.id());
    assert!((2..=8).contains(&watches), "{watches} inotify watches");
    rt().block_on(async {
        let mut ev = events(&g).await;
        std::fs::remove_dir_all(&wt).unwrap();
        wait_event(&mut ev, "drift when the worktree is removed", |e| match e {
            Event::SessionUpdated { session } if session.id == s.id => {
                (session.drift == Drift::Missing).then_some(())
            }
            _ => None,
        })
        .await;
    });
}

/// `grove serve` with its log (stderr) written to `log`.
fn start_logged(data: &Path, extra: &[&str], log: &Path) -> Grove {
    use std::io::BufRead;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_grove"))
        .arg("--data-dir")
        .arg(data)
        .arg("serve")
        .args(extra)
        .env("SHELL", "/bin/bash")
        .stdout(std::process::Stdio::piped())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .unwrap();
    let mut banner = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut banner)
        .unwrap();
    let url = banner
        .trim()
        .strip_prefix("Grove is serving at ")
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("unexpected: {banner:?}"))
        .to_owned();
    let file: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(data.join("server.json")).unwrap()).unwrap();
    Grove {
        child,
        token: file["token"].as_str().unwrap().to_owned(),
        addr: url.strip_prefix("http://").unwrap().parse().unwrap(),
        url,
        data_dir: data.into(),
        banner,
    }
}

#[test]
fn past_the_watch_limit_the_session_is_rescanned_and_still_updates() {
    let dir = tempfile::tempdir().unwrap();
    let repo = fixture_repo(dir.path(), "repo");
    let log = dir.path().join("serve.log");
    let g = start_logged(&dir.path().join("data"), &["--watch-limit", "1"], &log);
    let repo_id = g.add_repo(&repo);
    let s = g.create_session(repo_id, "limited", "cat");
    let wt = PathBuf::from(&s.worktree);
    let (_, watches) = inotify(g.child.id());
    assert!(watches <= 1, "{watches} inotify watches");
    rt().block_on(async {
        let mut ev = events(&g).await;
        write(&wt.join("src/deep/er.rs"), "x\n");
        let (summary, _, all) = wait_event(
            &mut ev,
            "session_changes from a rescan",
            changes_of(s.id, |_, p, _| p.contains(&"src/deep/er.rs".to_string())),
        )
        .await;
        assert!(all, "a rescan cannot tell which files changed");
        assert_eq!((summary.files, summary.additions), (1, 1));
    });
    // Said once, naming the session and the setting to raise.
    let text = std::fs::read_to_string(&log).unwrap();
    let warnings: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("fs.inotify.max_user_watches"))
        .collect();
    assert_eq!(warnings.len(), 1, "{text}");
    assert!(warnings[0].contains("session `limited`"), "{text}");
    assert!(warnings[0].contains("rescans it every 3 s"), "{text}");
}

#[test]
fn archiving_and_deleting_sessions_stop_their_watchers() {
    let dir = tempfile::tempdir().unwrap();
    let repo = fixture_repo(dir.path(), "repo");
    let g = Grove::start(&dir.path().join("data"));
    let pid = g.child.id();
    let repo_id = g.add_repo(&repo);
    let before = inotify(pid);
    let a = g.create_session(repo_id, "one", "cat");
    let b = g.create_session(repo_id, "two", "cat");
    eventually("two watcher threads", || threads(pid, "grove-watch-") == 2);
    assert_eq!(inotify(pid).0, before.0 + 2);
    assert!(inotify(pid).1 > before.1);

    g.ok(
        "POST",
        &format!("/sessions/{}/archive", a.id),
        Some(json!({ "force": true })),
    );
    eventually("one watcher thread", || threads(pid, "grove-watch-") == 1);
    assert_eq!(inotify(pid).0, before.0 + 1);
    g.ok("POST", &format!("/sessions/{}/restore", a.id), None);
    eventually("two watcher threads again", || {
        threads(pid, "grove-watch-") == 2
    });
    for id in [a.id, b.id] {
        g.ok(
            "POST",
            &format!("/sessions/{id}/delete"),
            Some(json!({ "force": true })),
        );
    }
    eventually("no watcher thread", || threads(pid, "grove-watch-") == 0);
    // notify's inotify reader threads end with their watcher, and every descriptor is closed.
    eventually("no inotify descriptor left", || inotify(pid) == before);
    eventually("no notify thread left", || threads(pid, "notify-rs") == 0);
}
