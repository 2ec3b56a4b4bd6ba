#![allow(clippy::unwrap_used)]

#[cfg(unix)]
use std::os::unix::fs::PermissionsExt;

use super::*;
use crate::git::testing::{Fixture, commit_file, git, write};

fn by_path<'a>(list: &'a [FileChange], path: &str) -> &'a FileChange {
    list.iter()
        .find(|c| c.path == path)
        .unwrap_or_else(|| panic!("{path} not in {list:#?}"))
}

fn text(d: &FileDiff) -> &str {
    match &d.body {
        DiffBody::Text(t) => t,
        other => panic!("{} is not text: {other:?}", d.file.path),
    }
}

fn one_diff(wt: &Path, path: &str, scope: Scope) -> FileDiff {
    let mut all = diffs(wt, "main", scope, &[path.to_string()]).unwrap();
    assert_eq!(all.len(), 1, "{all:#?}");
    all.remove(0)
}

#[cfg(unix)]
#[test]
fn every_kind_with_counts_against_the_merge_base() {
    let f = Fixture::new();
    commit_file(&f.repo, "gone.txt", "a\nb\n");
    commit_file(&f.repo, "move-me.txt", "one\ntwo\nthree\nfour\nfive\n");
    commit_file(&f.repo, "link-or-file", "plain\n");
    commit_file(&f.repo, ".gitignore", "target/\n");
    let wt = f.create("kinds", "grove/kinds");
    // Committed on the session branch: counts against the base, not against HEAD.
    commit_file(&wt.path, "committed.txt", "c1\nc2\n");
    // A commit on main after branching must not show in the session's changes.
    commit_file(&f.repo, "main-only.txt", "later\n");

    write(&wt.path.join("README.md"), "hello\nmore\n");
    write(&wt.path.join("new/untracked.txt"), "u1\nu2\nu3\n");
    write(&wt.path.join("staged.txt"), "s\n");
    git(&wt.path, &["add", "staged.txt"]);
    fs_err::remove_file(wt.path.join("gone.txt")).unwrap();
    git(&wt.path, &["mv", "move-me.txt", "moved.txt"]);
    fs_err::remove_file(wt.path.join("link-or-file")).unwrap();
    std::os::unix::fs::symlink("README.md", wt.path.join("link-or-file")).unwrap();
    write(&wt.path.join("target/out.bin"), "ignored\n");

    let list = changes(&wt.path, "main", Scope::Base).unwrap();
    let summary: Vec<(&str, Option<&str>, ChangeKind, usize, usize)> = list
        .iter()
        .map(|c| {
            (
                c.path.as_str(),
                c.old_path.as_deref(),
                c.kind,
                c.additions,
                c.deletions,
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("README.md", None, ChangeKind::Modified, 1, 0),
            ("committed.txt", None, ChangeKind::Added, 2, 0),
            ("gone.txt", None, ChangeKind::Deleted, 0, 2),
            ("link-or-file", None, ChangeKind::TypeChanged, 1, 1),
            ("moved.txt", Some("move-me.txt"), ChangeKind::Renamed, 0, 0),
            ("new/untracked.txt", None, ChangeKind::Added, 3, 0),
            ("staged.txt", None, ChangeKind::Added, 1, 0),
        ]
    );

    let d = one_diff(&wt.path, "link-or-file", Scope::Base);
    assert!(text(&d).contains("-plain\n+README.md\n"), "{d:?}");
    let uncommitted = changes(&wt.path, "main", Scope::Uncommitted).unwrap();
    assert!(uncommitted.iter().all(|c| c.path != "committed.txt"));
    assert_eq!(uncommitted.len(), list.len() - 1);
}

#[test]
fn the_merge_base_scope_follows_a_moving_base() {
    let f = Fixture::new();
    let wt = f.create("mb", "grove/mb");
    commit_file(&f.repo, "README.md", "main moved on\n");
    commit_file(&f.repo, "main2.txt", "x\n");
    assert_eq!(changes(&wt.path, "main", Scope::Base).unwrap(), []);
    write(&wt.path.join("mine.txt"), "m\n");
    let list = changes(&wt.path, "main", Scope::Base).unwrap();
    assert_eq!(
        list.iter().map(|c| c.path.as_str()).collect::<Vec<_>>(),
        ["mine.txt"]
    );
    // An unknown base is a clear error, not an empty list.
    let err = changes(&wt.path, "no-such-base", Scope::Base).unwrap_err();
    assert!(matches!(err, GitError::RefNotFound { .. }), "{err:?}");
}

#[test]
fn crlf_and_missing_trailing_newline_diff_line_by_line() {
    let f = Fixture::new();
    commit_file(&f.repo, "dos.txt", "one\r\ntwo\r\nthree\r\n");
    commit_file(&f.repo, "tail.txt", "a\nb");
    let wt = f.create("eol", "grove/eol");
    write(&wt.path.join("dos.txt"), "one\r\nTWO\r\nthree\r\n");
    write(&wt.path.join("tail.txt"), "a\nb\nc");

    let dos = one_diff(&wt.path, "dos.txt", Scope::Base);
    assert_eq!((dos.file.additions, dos.file.deletions), (1, 1));
    assert!(text(&dos).contains("-two\r\n+TWO\r\n"), "{}", text(&dos));

    let tail = one_diff(&wt.path, "tail.txt", Scope::Base);
    assert_eq!((tail.file.additions, tail.file.deletions), (2, 1));
    let t = text(&tail);
    assert!(
        t.contains("-b\n\\ No newline at end of file\n+b\n+c\n\\ No newline at end of file"),
        "{t}"
    );
}

#[cfg(unix)]
#[test]
fn a_mode_only_change_is_modified_with_no_lines() {
    let f = Fixture::new();
    commit_file(&f.repo, "run.sh", "echo hi\n");
    let wt = f.create("mode", "grove/mode");
    let p = wt.path.join("run.sh");
    fs_err::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    let d = one_diff(&wt.path, "run.sh", Scope::Base);
    assert_eq!(d.file.kind, ChangeKind::Modified);
    assert_eq!((d.file.additions, d.file.deletions), (0, 0));
    let t = text(&d);
    assert!(t.contains("old mode 100644\nnew mode 100755"), "{t}");
}

#[cfg(unix)]
#[test]
fn a_symlink_is_shown_as_its_target_and_never_followed() {
    let f = Fixture::new();
    let secret = f.tmp.path().join("secret.txt");
    write(&secret, "top secret\n");
    let wt = f.create("links", "grove/links");
    std::os::unix::fs::symlink(&secret, wt.path.join("escape")).unwrap();
    std::os::unix::fs::symlink(f.tmp.path(), wt.path.join("dir-escape")).unwrap();
    let list = changes(&wt.path, "main", Scope::Base).unwrap();
    assert_eq!(
        list.iter().map(|c| c.path.as_str()).collect::<Vec<_>>(),
        ["dir-escape", "escape"]
    );
    let all = diffs(&wt.path, "main", Scope::Base, &[]).unwrap();
    let t = text(&all[1]);
    assert!(t.contains("new file mode 120000"), "{t}");
    assert!(t.contains(&format!("+{}", secret.display())), "{t}");
    for d in &all {
        assert!(!text(d).contains("top secret"), "followed a link: {d:?}");
    }
}

#[test]
fn renames_and_a_file_deleted_then_re_added() {
    let f = Fixture::new();
    commit_file(&f.repo, "old-name.txt", "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n");
    commit_file(&f.repo, "phoenix.txt", "first life\n");
    let wt = f.create("ren", "grove/ren");
    // Renamed without telling git: found among the untracked files.
    fs_err::rename(wt.path.join("old-name.txt"), wt.path.join("new-name.txt")).unwrap();
    write(
        &wt.path.join("new-name.txt"),
        "1\n2\n3\n4\n5\n6\n7\n8\n9\nten\n",
    );
    // Deleted in a commit, then written again.
    git(&wt.path, &["rm", "-q", "phoenix.txt"]);
    git(&wt.path, &["commit", "-qm", "rm phoenix"]);
    write(&wt.path.join("phoenix.txt"), "second life\n");

    let list = changes(&wt.path, "main", Scope::Base).unwrap();
    let renamed = by_path(&list, "new-name.txt");
    assert_eq!(renamed.kind, ChangeKind::Renamed);
    assert_eq!(renamed.old_path.as_deref(), Some("old-name.txt"));
    assert_eq!((renamed.additions, renamed.deletions), (1, 1));
    assert!(list.iter().all(|c| c.path != "old-name.txt"), "{list:#?}");
    let phoenix = by_path(&list, "phoenix.txt");
    assert_eq!(phoenix.kind, ChangeKind::Modified);
    assert_eq!((phoenix.additions, phoenix.deletions), (1, 1));
    // Against HEAD, where it is gone, it is new again.
    let list = changes(&wt.path, "main", Scope::Uncommitted).unwrap();
    assert_eq!(by_path(&list, "phoenix.txt").kind, ChangeKind::Added);
    // A rename's diff is found by either name.
    let d = one_diff(&wt.path, "old-name.txt", Scope::Base);
    assert!(text(&d).contains("rename from old-name.txt\nrename to new-name.txt"));
}

#[cfg(unix)]
#[test]
fn non_utf8_paths_are_listed_and_diffable() {
    #[cfg(unix)]
    use std::os::unix::ffi::OsStrExt;
    let f = Fixture::new();
    let wt = f.create("bytes", "grove/bytes");
    let name = std::ffi::OsStr::from_bytes(b"caf\xe9.txt");
    fs_err::write(wt.path.join(name), "latin-1 name\n").unwrap();
    let list = changes(&wt.path, "main", Scope::Base).unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].path, "caf\u{FFFD}.txt");
    assert_eq!(list[0].raw_path, b"caf\xe9.txt");
    assert_eq!(list[0].kind, ChangeKind::Added);
    let d = one_diff(&wt.path, "caf\u{FFFD}.txt", Scope::Base);
    assert!(text(&d).contains("+latin-1 name"), "{d:?}");
}

#[test]
fn binary_and_large_files_are_reported_not_diffed() {
    let f = Fixture::new();
    let wt = f.create("big", "grove/big");
    fs_err::write(wt.path.join("image.bin"), [0u8, 1, 2, 0, 255, 0, 7]).unwrap();
    let many: String = (0..20_001).map(|i| format!("{i}\n")).collect();
    write(&wt.path.join("many-lines.txt"), &many);
    let huge = "x".repeat(1024 * 1024 + 1);
    write(&wt.path.join("huge.txt"), &huge);

    let list = changes(&wt.path, "main", Scope::Base).unwrap();
    let bin = by_path(&list, "image.bin");
    assert!(bin.binary);
    assert_eq!((bin.additions, bin.deletions), (0, 0));
    assert_eq!(by_path(&list, "many-lines.txt").additions, 20_001);

    let d = one_diff(&wt.path, "image.bin", Scope::Base);
    assert_eq!(d.body, DiffBody::Binary);
    let d = one_diff(&wt.path, "many-lines.txt", Scope::Base);
    assert!(
        matches!(
            d.body,
            DiffBody::TooLarge {
                lines: Some(20_001),
                ..
            }
        ),
        "{:?}",
        d.body
    );
    let d = one_diff(&wt.path, "huge.txt", Scope::Base);
    assert_eq!(
        d.body,
        DiffBody::TooLarge {
            bytes: 1024 * 1024 + 1,
            lines: None
        }
    );
    let err = diffs(&wt.path, "main", Scope::Base, &["README.md".into()]).unwrap_err();
    assert!(matches!(err, GitError::NotChanged { .. }), "{err:?}");
}

#[test]
fn a_submodule_is_its_own_kind() {
    let f = Fixture::new();
    let sub = f.tmp.path().join("sub");
    fs_err::create_dir_all(&sub).unwrap();
    git(&sub, &["init", "-q", "-b", "main"]);
    commit_file(&sub, "s.txt", "s\n");
    let wt = f.create("subm", "grove/subm");
    git(
        &wt.path,
        &[
            "submodule",
            "add",
            "-q",
            sub.to_str().unwrap(),
            "vendor/sub",
        ],
    );
    let list = changes(&wt.path, "main", Scope::Base).unwrap();
    assert_eq!(by_path(&list, "vendor/sub").kind, ChangeKind::Submodule);
    assert_eq!(by_path(&list, ".gitmodules").kind, ChangeKind::Added);
}

/// The diffs read into memory (see `read`) are exactly libgit2's patches of the same deltas:
/// headers for new files, empty files, mode changes and quoted paths, bodies, counts.
#[cfg(unix)]
#[test]
fn files_read_into_memory_diff_exactly_as_libgit2_diffs_them() {
    let f = Fixture::new();
    commit_file(&f.repo, "edit.txt", "one\ntwo\nthree\n");
    commit_file(&f.repo, "run.sh", "echo hi\n");
    commit_file(&f.repo, "both.sh", "a\n");
    commit_file(&f.repo, "emptied.txt", "gone\n");
    commit_file(&f.repo, "tail.txt", "a\nb");
    commit_file(&f.repo, "blob.bin", "text\n");
    let wt = f.create("read", "grove/read");
    let w = |p: &str, text: &str| write(&wt.path.join(p), text);
    w("edit.txt", "one\nTWO\nthree\nfour\n");
    let mode = |p: &str| {
        fs_err::set_permissions(wt.path.join(p), std::fs::Permissions::from_mode(0o755)).unwrap()
    };
    mode("run.sh");
    mode("both.sh");
    w("both.sh", "b\n");
    w("emptied.txt", "");
    w("tail.txt", "a\nb\nc");
    fs_err::write(wt.path.join("blob.bin"), b"\0\x01\x02binary").unwrap();
    w("new.txt", "fresh\nlines\n");
    w("new-empty.txt", "");
    w("sp \u{e9} \"q\".txt", "quoted\n");
    w("dir/nested.rs", "fn main() {}\n");
    w("new.sh", "#!/bin/sh\n");
    mode("new.sh");
    fs_err::write(wt.path.join("new.bin"), b"\0\0\0").unwrap();

    let repo = open_any(&wt.path).unwrap();
    let tree = scope_tree(&repo, &wt.path, "main", Scope::Base).unwrap();
    let diff = workdir_diff(&repo, &wt.path, &tree).unwrap();
    let list = entries(&repo, &diff, &wt.path);
    assert_eq!(
        list.len(),
        12,
        "{:#?}",
        list.iter().map(|e| &e.file.path).collect::<Vec<_>>()
    );
    for entry in &list {
        let delta = diff.get_delta(entry.idx).unwrap();
        assert!(
            read::readable(&repo, &delta),
            "{} is read by libgit2",
            entry.file.path
        );
        let (ours, text) = measure(&repo, &diff, entry, &wt.path, true).unwrap();
        let mut patch = Patch::from_diff(&diff, entry.idx).unwrap().unwrap();
        let binary = patch.delta().flags().is_binary();
        assert_eq!(ours.binary, binary, "{}", entry.file.path);
        if binary {
            assert_eq!(text, None);
            continue;
        }
        let (_, additions, deletions) = patch.line_stats().unwrap();
        assert_eq!(
            (ours.additions, ours.deletions),
            (additions, deletions),
            "{}",
            entry.file.path
        );
        let theirs = String::from_utf8(patch.to_buf().unwrap().to_vec()).unwrap();
        assert_eq!(
            text.as_deref(),
            Some(theirs.as_str()),
            "{}",
            entry.file.path
        );
    }
}

/// A file with an attribute that filters it, and a rename, still go through libgit2's patch.
#[test]
fn filtered_and_renamed_files_are_left_to_libgit2() {
    let f = Fixture::new();
    commit_file(&f.repo, ".gitattributes", "*.crlf text eol=crlf\n");
    commit_file(&f.repo, "a.crlf", "one\n");
    commit_file(&f.repo, "moved.txt", "a\nb\nc\nd\ne\nf\n");
    let wt = f.create("attr", "grove/attr");
    write(&wt.path.join("a.crlf"), "one\r\ntwo\r\n");
    fs_err::rename(wt.path.join("moved.txt"), wt.path.join("moved-to.txt")).unwrap();
    let repo = open_any(&wt.path).unwrap();
    let tree = scope_tree(&repo, &wt.path, "main", Scope::Base).unwrap();
    let diff = workdir_diff(&repo, &wt.path, &tree).unwrap();
    for entry in entries(&repo, &diff, &wt.path) {
        let delta = diff.get_delta(entry.idx).unwrap();
        assert!(!read::readable(&repo, &delta), "{}", entry.file.path);
    }
    let crlf = one_diff(&wt.path, "a.crlf", Scope::Base);
    assert_eq!(
        (crlf.file.additions, crlf.file.deletions),
        (1, 0),
        "{}",
        text(&crlf)
    );
}

/// A file truncated and written again over and over while its diff is taken: libgit2 would map
/// it and could touch pages past its new end (SIGBUS, the end of the server). Read into memory,
/// every diff is of some whole version of the file.
#[test]
fn a_file_rewritten_in_place_while_diffed_never_crashes_the_diff() {
    let f = Fixture::new();
    commit_file(&f.repo, "hot.txt", "seed\n");
    let wt = f.create("hot", "grove/hot");
    let path = wt.path.join("hot.txt");
    let big: String = (0..20_000).map(|i| format!("line {i}\n")).collect();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let (stop, path, big) = (stop.clone(), path.clone(), big.clone());
        std::thread::spawn(move || {
            use std::io::Write;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                // Truncate, then write in pieces: the file is short for a moment, every time.
                let mut file = fs_err::File::create(&path).unwrap();
                for piece in big.as_bytes().chunks(4096) {
                    file.write_all(piece).unwrap();
                }
            }
        })
    };
    let started = std::time::Instant::now();
    let mut diffs_taken = 0;
    while started.elapsed() < std::time::Duration::from_secs(3) {
        match diffs(&wt.path, "main", Scope::Base, &["hot.txt".to_string()]) {
            Ok(d) => {
                let lines = d[0].file.additions;
                assert!(lines <= 20_000, "{lines}");
            }
            // A file that changed size under libgit2's own stat is a clean error, not a crash:
            // one naming the file, or (libgit2's read failed every try) the worktree.
            Err(e) => assert!(
                e.to_string().contains("hot.txt")
                    || e.to_string()
                        .contains("while its files are being rewritten"),
                "{e}"
            ),
        }
        diffs_taken += 1;
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    writer.join().unwrap();
    assert!(diffs_taken > 10, "{diffs_taken}");
}
