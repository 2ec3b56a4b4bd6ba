//! A session's changes at a glance (files, `+added −deleted` against the base, files not
//! committed yet), kept cheap to recompute: line counts are cached per file, keyed by its path,
//! its version on disk and the blob it is compared with, so a recount diffs only the files that
//! changed since the last one (or that the caller names as written).

use std::collections::{HashMap, HashSet};
use std::path::Path;

use git2::Oid;

use super::changes::{Scope, entries, measure, scope_commit, scope_tree, workdir_diff};
use super::error::GitError;
use super::repo::open_any;

/// What a worktree changed, in numbers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Files changed against the merge base with the base (uncommitted work included).
    pub files: u32,
    /// Lines added against the base.
    pub additions: u64,
    /// Lines deleted against the base.
    pub deletions: u64,
    /// Files that differ from HEAD (staged, unstaged or untracked).
    pub uncommitted: u32,
    /// Each changed file's version against the base (see `FileChange::version`), keyed by its
    /// raw path: two summaries with equal counts still tell which files changed in between.
    pub versions: HashMap<Vec<u8>, String>,
}

/// Line counts of files as last measured. One per watched worktree.
#[derive(Debug, Default)]
pub struct CountCache {
    counts: HashMap<Vec<u8>, Counted>,
}

#[derive(Debug, Clone)]
struct Counted {
    version: String,
    old: Oid,
    additions: usize,
    deletions: usize,
}

impl CountCache {
    /// How many files have their counts cached.
    pub fn len(&self) -> usize {
        self.counts.len()
    }

    /// Whether nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.counts.is_empty()
    }
}

/// Summarizes the worktree at `worktree` against `base` (a branch, tag or commit). Line counts
/// come from `cache` unless the file's version or compared blob changed, or its raw path is in
/// `touched` (files seen written: a rewrite within the clock's resolution keeps size and mtime).
pub fn summarize(
    worktree: &Path,
    base: &str,
    cache: &mut CountCache,
    touched: &HashSet<Vec<u8>>,
) -> Result<Summary, GitError> {
    let repo = open_any(worktree)?;
    let mut summary = Summary::default();

    let base_commit = scope_commit(&repo, worktree, base, Scope::Base)?;
    let head_commit = scope_commit(&repo, worktree, base, Scope::Uncommitted)?;
    let tree = scope_tree(&repo, worktree, base, Scope::Base)?;
    let diff = workdir_diff(&repo, worktree, &tree)?;
    let mut seen = HashSet::new();
    for entry in entries(&repo, &diff, worktree) {
        let path = entry.file.raw_path.clone();
        let old = diff
            .get_delta(entry.idx)
            .map(|d| d.old_file().id())
            .unwrap_or(Oid::ZERO_SHA1);
        let cached = cache.counts.get(&path).filter(|c| {
            c.version == entry.file.version && c.old == old && !touched.contains(&path)
        });
        let (additions, deletions) = match cached {
            Some(c) => (c.additions, c.deletions),
            None => {
                let (file, _) = measure(&repo, &diff, &entry, worktree, false)?;
                cache.counts.insert(
                    path.clone(),
                    Counted {
                        version: entry.file.version.clone(),
                        old,
                        additions: file.additions,
                        deletions: file.deletions,
                    },
                );
                (file.additions, file.deletions)
            }
        };
        summary.files += 1;
        summary.additions += additions as u64;
        summary.deletions += deletions as u64;
        summary.versions.insert(path.clone(), entry.file.version);
        seen.insert(path);
    }
    cache.counts.retain(|p, _| seen.contains(p));

    if head_commit == base_commit {
        // Nothing committed since the merge base: both scopes are the same diff, counted once.
        summary.uncommitted = summary.files;
        return Ok(summary);
    }
    let head = scope_tree(&repo, worktree, base, Scope::Uncommitted)?;
    let diff = workdir_diff(&repo, worktree, &head)?;
    summary.uncommitted = u32::try_from(entries(&repo, &diff, worktree).len()).unwrap_or(u32::MAX);
    Ok(summary)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::git::testing::{Fixture, git, write};

    #[test]
    fn counts_come_from_the_cache_until_a_file_changes() {
        let f = Fixture::new();
        let wt = f.create("sum", "grove/sum");
        let base = "main";
        let mut cache = CountCache::default();
        let none = HashSet::new();
        let s = summarize(&wt.path, base, &mut cache, &none).unwrap();
        assert_eq!(
            (s.files, s.additions, s.deletions, s.uncommitted),
            (0, 0, 0, 0)
        );

        write(&wt.path.join("a.txt"), "1\n2\n3\n");
        write(&wt.path.join("dir/b.txt"), "x\n");
        let s = summarize(&wt.path, base, &mut cache, &none).unwrap();
        assert_eq!(
            (s.files, s.additions, s.deletions, s.uncommitted),
            (2, 4, 0, 2)
        );
        assert_eq!(cache.len(), 2);

        // Committing moves nothing against the base, and empties the uncommitted count.
        git(&wt.path, &["add", "-A"]);
        git(&wt.path, &["commit", "-qm", "work"]);
        let s = summarize(&wt.path, base, &mut cache, &none).unwrap();
        assert_eq!((s.files, s.additions, s.uncommitted), (2, 4, 0));

        // A stale cache entry is proof the cache is used: a file rewritten with the same size
        // and mtime keeps its old counts unless it is named as touched.
        let a = wt.path.join("a.txt");
        let mtime = fs_err::metadata(&a).unwrap().modified().unwrap();
        fs_err::write(&a, "12345\n").unwrap();
        let file = fs_err::File::options().write(true).open(&a).unwrap();
        file.file().set_modified(mtime).unwrap();
        drop(file);
        let s = summarize(&wt.path, base, &mut cache, &none).unwrap();
        assert_eq!(
            s.additions, 4,
            "the stale count stays while nobody names the file"
        );
        let touched: HashSet<Vec<u8>> = [b"a.txt".to_vec()].into();
        let s = summarize(&wt.path, base, &mut cache, &touched).unwrap();
        assert_eq!((s.files, s.additions), (2, 2));

        fs_err::remove_file(wt.path.join("dir/b.txt")).unwrap();
        let s = summarize(&wt.path, base, &mut cache, &none).unwrap();
        assert_eq!((s.files, s.additions, s.deletions), (1, 1, 0));
        assert_eq!(cache.len(), 1);
    }
}
