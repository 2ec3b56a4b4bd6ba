#![allow(clippy::unwrap_used)]

use std::sync::mpsc::{Receiver, channel};

use super::*;
use crate::git::testing::{git, write};

/// A repo on `main` that ignores `node_modules/` (holding `folders` folders), and a linked
/// worktree of it on `grove/t`.
struct Fixture {
    _tmp: tempfile::TempDir,
    wt: PathBuf,
}

fn fixture(folders: usize) -> Fixture {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    fs_err::create_dir_all(&repo).unwrap();
    git(&repo, &["init", "-q", "-b", "main"]);
    write(&repo.join(".gitignore"), "node_modules/\n*.log\n");
    write(&repo.join("src/lib.rs"), "a\nb\nc\n");
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-qm", "init"]);
    let wt = tmp.path().join("wt");
    git(
        &repo,
        &[
            "worktree",
            "add",
            "-q",
            "-b",
            "grove/t",
            wt.to_str().unwrap(),
        ],
    );
    for i in 0..folders {
        fs_err::create_dir_all(wt.join(format!("node_modules/p{i}/lib"))).unwrap();
    }
    Fixture { _tmp: tmp, wt }
}

fn opts() -> WatchOptions {
    WatchOptions {
        rescan_every: Duration::from_millis(300),
        ..WatchOptions::default()
    }
}

fn start(f: &Fixture, opts: WatchOptions) -> (Watcher, Receiver<Report>) {
    let (tx, rx) = channel();
    let target = WatchTarget {
        session_id: 1,
        name: "t".into(),
        worktree: f.wt.clone(),
        branch: "grove/t".into(),
        base: "main".into(),
    };
    let sink: Sink = Box::new(move |r| {
        let _ = tx.send(r);
    });
    let w = Watcher::start(target, opts, sink).unwrap();
    let first = rx.recv_timeout(Duration::from_secs(20)).unwrap();
    assert_eq!(first.summary, Some(ChangeSummary::default()), "{first:?}");
    (w, rx)
}

/// The first report that `pick` accepts, within 10 s.
fn wait(rx: &Receiver<Report>, what: &str, pick: impl Fn(&Report) -> bool) -> Report {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(r) if pick(&r) => return r,
            Ok(_) => {}
            Err(_) => panic!("no report within 10 s: {what}"),
        }
    }
}

#[test]
fn writes_are_reported_with_counts_and_ignored_folders_cost_no_watch() {
    let f = fixture(300);
    let (w, rx) = start(&f, opts());
    // The worktree root and src/, plus the git metadata: never node_modules' 600 folders.
    assert!(w.watches() <= 2 + 4, "{} watches", w.watches());
    assert!(w.watches() >= 2, "{} watches", w.watches());
    let held = w.watches();

    write(&f.wt.join("src/new.rs"), "1\n2\n");
    let r = wait(&rx, "the new file", |r| {
        r.paths.contains(&"src/new.rs".into())
    });
    assert_eq!(
        r.summary,
        Some(ChangeSummary {
            files: 1,
            additions: 2,
            deletions: 0,
            uncommitted: 1
        })
    );
    assert!(!r.all);

    // An ignored file is no news; a new folder is watched, an ignored one is not.
    write(&f.wt.join("build.log"), "noise\n");
    fs_err::create_dir_all(f.wt.join("node_modules/fresh/deep")).unwrap();
    write(&f.wt.join("a/b/c/f.txt"), "x\n");
    let r = wait(&rx, "the file in new folders", |r| {
        r.paths.contains(&"a/b/c/f.txt".into())
    });
    assert!(
        !r.paths
            .iter()
            .any(|p| p.contains("log") || p.contains("node_modules")),
        "{r:?}"
    );
    assert_eq!(w.watches(), held + 3);
    write(&f.wt.join("a/b/c/g.txt"), "y\n");
    wait(&rx, "a file in the watched new folder", |r| {
        r.paths == vec!["a/b/c/g.txt".to_string()]
    });

    // A removed folder loses its watches.
    fs_err::remove_dir_all(f.wt.join("a")).unwrap();
    wait(&rx, "the removed files", |r| {
        r.summary.is_some_and(|s| s.files == 1)
    });
    assert_eq!(w.watches(), held);

    // A commit: nothing moves against the base, the uncommitted count drops, drift is checked.
    git(&f.wt, &["add", "-A"]);
    git(&f.wt, &["commit", "-qm", "work"]);
    let r = wait(&rx, "the commit", |r| {
        r.summary.is_some_and(|s| s.uncommitted == 0)
    });
    assert_eq!(r.summary.map(|s| (s.files, s.additions)), Some((1, 2)));

    // A branch switch asks for a drift check.
    git(&f.wt, &["switch", "-q", "-c", "elsewhere"]);
    wait(&rx, "the branch switch", |r| r.recheck_drift);
}

#[test]
fn a_changed_gitignore_rewalks_the_folders() {
    let f = fixture(5);
    let (w, rx) = start(&f, opts());
    let held = w.watches();
    write(&f.wt.join(".gitignore"), "*.log\n");
    wait(&rx, "the .gitignore change", |r| {
        r.paths.contains(&".gitignore".into())
    });
    // node_modules and its 10 folders are no longer ignored.
    assert_eq!(w.watches(), held + 11);
}

#[test]
fn the_watch_limit_falls_back_to_rescans_that_still_update() {
    let f = fixture(0);
    let (w, rx) = start(
        &f,
        WatchOptions {
            max_watches: Some(2),
            ..opts()
        },
    );
    assert!(w.degraded());
    assert!(w.watches() <= 2);
    // src/ is not watched, yet the write shows up through a rescan.
    write(&f.wt.join("src/lib.rs"), "a\nb\nc\nd\n");
    let r = wait(&rx, "the rescan", |r| {
        r.paths.contains(&"src/lib.rs".into())
    });
    assert!(r.all);
    assert_eq!(r.summary.map(|s| (s.files, s.additions)), Some((1, 1)));
}

#[test]
fn a_file_rewritten_fifty_times_a_second_is_reported_a_bounded_number_of_times() {
    let f = fixture(0);
    let o = opts();
    let (w, rx) = start(&f, o.clone());
    let before = w.reports();
    let began = Instant::now();
    let mut i = 0;
    while began.elapsed() < Duration::from_secs(2) {
        write(&f.wt.join("src/hot.rs"), &"line\n".repeat(i % 7 + 1));
        i += 1;
        std::thread::sleep(Duration::from_millis(20));
    }
    let elapsed = began.elapsed();
    std::thread::sleep(o.max_delay + o.min_gap + Duration::from_millis(300));
    let reports = w.reports() - before;
    let bound = (elapsed.as_millis() / o.min_gap.as_millis()) as usize + 2;
    assert!(reports >= 2, "{reports} reports for {i} writes");
    assert!(
        reports <= bound,
        "{reports} reports for {i} writes (bound {bound})"
    );
    let last = rx.try_iter().last().unwrap();
    assert_eq!(
        last.summary.map(|s| s.additions),
        Some(((i - 1) % 7 + 1) as u64)
    );
}

#[test]
fn dropping_the_watcher_ends_its_threads() {
    let f = fixture(0);
    let (w, rx) = start(&f, opts());
    drop(w);
    // The sink went with the thread: the channel is closed, and writes report nothing.
    write(&f.wt.join("src/after.rs"), "x\n");
    assert!(rx.recv_timeout(Duration::from_millis(500)).is_err());
}
