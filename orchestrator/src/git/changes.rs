//! What a session changed: the list of changed files with their status and line counts, and
//! their unified diffs, in two scopes: against the merge base of the session's HEAD and its base
//! (what a pull request would show, plus uncommitted and untracked work) and against HEAD (only
//! what is not committed yet).
//!
//! Both scopes compare a tree with the working tree *through the index*
//! (`diff_tree_to_workdir_with_index`), so staged and unstaged work count alike, untracked files
//! count as added and ignored files do not count. Renames are found among tracked and untracked
//! files; a file that became a symlink (or the reverse) is a type change, not a delete and an add.
//!
//! Symlinks are never followed: libgit2 diffs a link by its target path, so a link pointing out
//! of the worktree shows where it points and nothing of what it points at.

use std::path::Path;

use git2::{Delta, DiffFindOptions, DiffOptions, FileMode, Oid, Patch, Repository, Tree};

use super::error::{GitError, ctx, io_ctx};
use super::repo::open_any;

/// Files larger than this (on either side) are not diffed line by line for display.
pub const MAX_DIFF_BYTES: u64 = 1024 * 1024;
/// Files with more lines than this (on either side) are not diffed line by line for display.
pub const MAX_DIFF_LINES: u64 = 20_000;

/// What the changes are measured against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The merge base of the worktree's HEAD and the session's base: everything the session
    /// did, committed or not.
    Base,
    /// The worktree's HEAD: only what is not committed yet.
    Uncommitted,
}

/// How a file changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    /// New, staged or untracked.
    Added,
    Modified,
    Deleted,
    /// Moved (and maybe edited); `old_path` says from where.
    Renamed,
    /// Became a symlink, a regular file or an executable of another kind.
    TypeChanged,
    /// A submodule was added, removed or moved to another commit.
    Submodule,
}

/// One changed file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileChange {
    /// The path relative to the worktree, `/`-separated. Bytes that are not UTF-8 show as U+FFFD.
    pub path: String,
    /// The path's exact bytes, to reach the file on disk when it is not UTF-8.
    pub raw_path: Vec<u8>,
    /// The path before a rename.
    pub old_path: Option<String>,
    /// The old path's exact bytes.
    pub raw_old_path: Option<Vec<u8>>,
    pub kind: ChangeKind,
    /// Lines added (0 for a binary file).
    pub additions: usize,
    /// Lines deleted (0 for a binary file).
    pub deletions: usize,
    pub binary: bool,
    /// Differs whenever the content may have changed: the worktree file's size and modification
    /// time, or the old blob of a file no longer on disk.
    pub version: String,
}

/// What a file's diff shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DiffBody {
    /// A unified diff, `diff --git` header included. Content bytes that are not UTF-8 show as
    /// U+FFFD.
    Text(String),
    /// A binary file: no lines to show.
    Binary,
    /// Too large to show ([`MAX_DIFF_BYTES`], [`MAX_DIFF_LINES`]); the larger side's size.
    TooLarge {
        /// Bytes of the larger side.
        bytes: u64,
        /// Lines of the larger side, when it was small enough in bytes to count them.
        lines: Option<u64>,
    },
}

/// One file's change and its diff.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileDiff {
    pub file: FileChange,
    pub body: DiffBody,
}

/// Lists what changed in the worktree at `worktree` in `scope`; `base` is the session's base (a
/// branch, remote branch, tag or commit). Sorted by path.
pub fn changes(worktree: &Path, base: &str, scope: Scope) -> Result<Vec<FileChange>, GitError> {
    let repo = open_any(worktree)?;
    let tree = scope_tree(&repo, worktree, base, scope)?;
    let diff = workdir_diff(&repo, worktree, &tree)?;
    let mut out = Vec::new();
    for entry in entries(&repo, &diff, worktree) {
        out.push(measure(&repo, &diff, &entry, worktree, false)?.0);
    }
    Ok(out)
}

/// The diffs of the changed files in `scope`: all of them with `only` empty, else those whose
/// path (or old path) is in `only`. A path in `only` that did not change is
/// [`GitError::NotChanged`].
pub fn diffs(
    worktree: &Path,
    base: &str,
    scope: Scope,
    only: &[String],
) -> Result<Vec<FileDiff>, GitError> {
    let repo = open_any(worktree)?;
    let tree = scope_tree(&repo, worktree, base, scope)?;
    let diff = workdir_diff(&repo, worktree, &tree)?;
    let mut out = Vec::new();
    let mut found = vec![false; only.len()];
    for entry in entries(&repo, &diff, worktree) {
        if !only.is_empty() {
            let mut hit = false;
            for (i, want) in only.iter().enumerate() {
                if *want == entry.file.path || Some(want) == entry.file.old_path.as_ref() {
                    found[i] = true;
                    hit = true;
                }
            }
            if !hit {
                continue;
            }
        }
        out.push(file_diff(&repo, &diff, &entry, worktree)?);
    }
    if let Some(i) = found.iter().position(|f| !f) {
        return Err(GitError::NotChanged {
            path: only[i].clone(),
        });
    }
    Ok(out)
}

/// One change, before its lines are counted.
pub(super) struct Entry {
    /// The path, kind and old path; counts still zero.
    pub(super) file: FileChange,
    /// The delta that holds the change.
    pub(super) idx: usize,
    /// Whether the change is measured by comparing the delta's old blob with the file on disk
    /// rather than through libgit2's patch of the delta (see [`entries`]).
    pub(super) against_disk: bool,
}

/// The changes of a diff, sorted by path.
///
/// Two kinds of delta are compared with the file on disk instead of through libgit2's patch:
/// a file deleted from the index and written again (libgit2 merges "deleted in the index" and
/// "untracked in the worktree" into a plain deletion, losing the new file; it is one file whose
/// content changed), and a type change (whose libgit2 patch shows only the old side's removal).
pub(super) fn entries(repo: &Repository, diff: &git2::Diff<'_>, worktree: &Path) -> Vec<Entry> {
    let mut out: Vec<Entry> = Vec::new();
    for (idx, delta) in diff.deltas().enumerate() {
        let Some(mut kind) = kind_of(&delta) else {
            continue;
        };
        let mut against_disk = kind == ChangeKind::TypeChanged;
        if kind == ChangeKind::Deleted
            && let Some(rel) = delta.old_file().path_bytes()
        {
            let rel_path = bytes_path(rel);
            if let Ok(meta) = fs_err::symlink_metadata(worktree.join(&rel_path))
                && !meta.is_dir()
                && !repo.status_should_ignore(&rel_path).unwrap_or(false)
            {
                kind = if kind_class(delta.old_file().mode()) != u8::from(meta.is_symlink()) {
                    ChangeKind::TypeChanged
                } else {
                    ChangeKind::Modified
                };
                against_disk = true;
            }
        }
        // A file compared with the disk keeps its one path: name it by the old side, which a
        // deletion always has.
        let mut file = describe(
            &delta,
            if against_disk {
                ChangeKind::Deleted
            } else {
                kind
            },
        );
        file.kind = kind;
        file.version = version(worktree, &file.raw_path, delta.old_file().id());
        out.push(Entry {
            file,
            idx,
            against_disk,
        });
    }
    out.sort_by(|a, b| a.file.raw_path.cmp(&b.file.raw_path));
    out
}

/// Files, executables and links of one class: a change between classes is a type change (as
/// git sees it, the executable bit is a mode change, not a type change).
fn kind_class(mode: FileMode) -> u8 {
    match mode {
        FileMode::Link => 1,
        FileMode::Commit => 2,
        FileMode::Tree => 3,
        _ => 0,
    }
}

/// The commit a base names: a local branch, remote branch, tag, or anything `rev-parse` takes.
pub(super) fn base_commit(repo: &Repository, base: &str) -> Result<Oid, GitError> {
    ["refs/heads/", "refs/remotes/", "refs/tags/"]
        .iter()
        .find_map(|p| {
            repo.find_reference(&format!("{p}{base}"))
                .ok()?
                .peel_to_commit()
                .ok()
        })
        .or_else(|| repo.revparse_single(base).ok()?.peel_to_commit().ok())
        .map(|c| c.id())
        .ok_or_else(|| GitError::RefNotFound {
            reference: base.to_string(),
        })
}

/// The commit a scope compares with: the merge base of HEAD and `base`, or HEAD. Without a
/// merge base (unrelated histories) the base's own commit stands in.
pub(super) fn scope_commit(
    repo: &Repository,
    worktree: &Path,
    base: &str,
    scope: Scope,
) -> Result<Oid, GitError> {
    let head = repo
        .head()
        .and_then(|h| h.peel_to_commit())
        .map_err(ctx(format!("cannot read HEAD of {}", worktree.display())))?
        .id();
    match scope {
        Scope::Uncommitted => Ok(head),
        Scope::Base => {
            let base = base_commit(repo, base)?;
            Ok(repo.merge_base(head, base).unwrap_or(base))
        }
    }
}

pub(super) fn scope_tree<'r>(
    repo: &'r Repository,
    worktree: &Path,
    base: &str,
    scope: Scope,
) -> Result<Tree<'r>, GitError> {
    let oid = scope_commit(repo, worktree, base, scope)?;
    repo.find_commit(oid)
        .and_then(|c| c.tree())
        .map_err(ctx(format!("cannot read commit {oid}")))
}

/// The tree → working tree (through the index) diff with renames found.
pub(super) fn workdir_diff<'r>(
    repo: &'r Repository,
    worktree: &Path,
    tree: &Tree<'r>,
) -> Result<git2::Diff<'r>, GitError> {
    let mut opts = DiffOptions::new();
    opts.include_untracked(true)
        .recurse_untracked_dirs(true)
        .show_untracked_content(true)
        .include_ignored(false)
        .include_typechange(true)
        .ignore_submodules(false);
    let mut find = DiffFindOptions::new();
    find.renames(true).for_untracked(true);
    let take = |opts: &mut DiffOptions, find: &mut DiffFindOptions| {
        let mut diff = repo.diff_tree_to_workdir_with_index(Some(tree), Some(opts))?;
        diff.find_similar(Some(find))?;
        Ok::<_, git2::Error>(diff)
    };
    // A file an agent is writing can shrink or go between libgit2's stat of it and its read
    // ("error reading file for hashing", an OS error): the diff is taken again, a few times.
    let mut tries = 0;
    loop {
        match take(&mut opts, &mut find) {
            Err(e) if e.class() == git2::ErrorClass::Os && tries < DIFF_RETRIES => {
                tries += 1;
                std::thread::sleep(std::time::Duration::from_millis(5 * tries));
            }
            Err(e) if e.class() == git2::ErrorClass::Os => {
                return Err(ctx(format!(
                    "cannot diff the worktree {} while its files are being rewritten; try again",
                    worktree.display()
                ))(e));
            }
            taken => {
                return taken.map_err(ctx(format!(
                    "cannot diff the worktree {}",
                    worktree.display()
                )));
            }
        }
    }
}

/// How many more times a worktree diff is taken when a file changed under libgit2's read.
const DIFF_RETRIES: u64 = 3;

/// The kind of a delta, `None` for deltas that are no change (unmodified, ignored, unreadable).
fn kind_of(delta: &git2::DiffDelta<'_>) -> Option<ChangeKind> {
    let submodule =
        delta.old_file().mode() == FileMode::Commit || delta.new_file().mode() == FileMode::Commit;
    let kind = match delta.status() {
        Delta::Added | Delta::Untracked | Delta::Copied => ChangeKind::Added,
        Delta::Modified | Delta::Conflicted => ChangeKind::Modified,
        Delta::Deleted => ChangeKind::Deleted,
        Delta::Renamed => ChangeKind::Renamed,
        Delta::Typechange => ChangeKind::TypeChanged,
        Delta::Unmodified | Delta::Ignored | Delta::Unreadable => return None,
    };
    Some(if submodule {
        ChangeKind::Submodule
    } else {
        kind
    })
}

fn describe(delta: &git2::DiffDelta<'_>, kind: ChangeKind) -> FileChange {
    // A deleted file has only an old side; everything else is named by its new side.
    let side = if kind == ChangeKind::Deleted {
        delta.old_file()
    } else {
        delta.new_file()
    };
    let raw_path = side.path_bytes().unwrap_or_default().to_vec();
    let raw_old_path = (kind == ChangeKind::Renamed)
        .then(|| delta.old_file().path_bytes().unwrap_or_default().to_vec());
    FileChange {
        path: String::from_utf8_lossy(&raw_path).into_owned(),
        old_path: raw_old_path
            .as_deref()
            .map(|p| String::from_utf8_lossy(p).into_owned()),
        raw_path,
        raw_old_path,
        kind,
        additions: 0,
        deletions: 0,
        binary: false,
        version: String::new(),
    }
}

/// A file's version for *viewed* marks: its size and modification time on disk (a symlink's
/// own, never its target's), or the old blob when the file is gone.
fn version(worktree: &Path, raw_path: &[u8], old: Oid) -> String {
    match fs_err::symlink_metadata(worktree.join(bytes_path(raw_path))) {
        Ok(meta) => {
            let nanos = meta
                .modified()
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_nanos());
            format!("{}-{nanos:x}", meta.len())
        }
        Err(_) => format!("gone-{old}"),
    }
}

/// Counts the lines of a change and, with `text`, renders its unified diff. `None` text for a
/// binary file.
pub(super) fn measure(
    repo: &Repository,
    diff: &git2::Diff<'_>,
    entry: &Entry,
    worktree: &Path,
    text: bool,
) -> Result<(FileChange, Option<String>), GitError> {
    let context = || format!("cannot diff {} in {}", entry.file.path, worktree.display());
    let mut file = entry.file.clone();
    let mut rendered = None;
    let mut take = |patch: Option<Patch<'_>>| -> Result<(), GitError> {
        let Some(mut patch) = patch else {
            // libgit2 makes no patch for a binary file.
            file.binary = true;
            return Ok(());
        };
        file.binary = patch.delta().flags().is_binary();
        if !file.binary {
            let (_, additions, deletions) = patch.line_stats().map_err(ctx(context()))?;
            file.additions = additions;
            file.deletions = deletions;
            if text {
                let buf = patch.to_buf().map_err(ctx(context()))?;
                rendered = Some(String::from_utf8_lossy(&buf).into_owned());
            }
        }
        Ok(())
    };
    let own = (!entry.against_disk)
        .then(|| diff.get_delta(entry.idx))
        .flatten()
        .filter(|delta| read::readable(repo, delta));
    if let Some(delta) = own {
        // Read here, not mapped by libgit2 (see `read`).
        let new = read_side(&worktree.join(bytes_path(&entry.file.raw_path)))
            .map_err(io_ctx(context()))?;
        let path = bytes_path(&entry.file.raw_path);
        let old_id = delta.old_file().id();
        let old = match old_id.is_zero() {
            true => None,
            false => Some(repo.find_blob(old_id).map_err(ctx(context()))?),
        };
        let patch = match &old {
            Some(old) => Patch::from_blob_and_buffer(old, Some(&path), &new, Some(&path), None),
            None => Patch::from_buffers(&[], Some(&path), &new, Some(&path), None),
        }
        .map_err(ctx(context()))?;
        take(Some(patch))?;
        if let Some(body) = rendered.take() {
            // The buffers' patch names its sides as blobs; libgit2's names them as the delta
            // does (new file, modes). Its own four header lines give way to that.
            let new_id = Oid::hash_object(git2::ObjectType::Blob, &new).map_err(ctx(context()))?;
            let hunks = body.splitn(5, '\n').nth(4).unwrap_or_default();
            rendered = Some(read::header(repo, &delta, new_id, file.binary) + hunks);
        }
        return Ok((file, rendered));
    }
    match entry.against_disk {
        false => take(Patch::from_diff(diff, entry.idx).map_err(ctx(context()))?)?,
        true => {
            let old_id = diff
                .get_delta(entry.idx)
                .map(|d| d.old_file().id())
                .unwrap_or(Oid::ZERO_SHA1);
            let old = repo.find_blob(old_id).map_err(ctx(context()))?;
            let new = read_side(&worktree.join(bytes_path(&entry.file.raw_path)))
                .map_err(io_ctx(context()))?;
            let path = bytes_path(&entry.file.raw_path);
            let patch = Patch::from_blob_and_buffer(&old, Some(&path), &new, Some(&path), None)
                .map_err(ctx(context()))?;
            take(Some(patch))?;
        }
    }
    Ok((file, rendered))
}

/// A file's content as git sees it: a symlink's is its target path, never what it points at.
fn read_side(path: &Path) -> std::io::Result<Vec<u8>> {
    let meta = fs_err::symlink_metadata(path)?;
    if meta.file_type().is_symlink() {
        let target = fs_err::read_link(path)?;
        #[cfg(unix)]
        {
            use std::os::unix::ffi::OsStrExt;
            return Ok(target.as_os_str().as_bytes().to_vec());
        }
        #[cfg(not(unix))]
        return Ok(target.to_string_lossy().into_owned().into_bytes());
    }
    fs_err::read(path)
}

/// The diff of a change: too large ones are measured, not diffed.
fn file_diff(
    repo: &Repository,
    diff: &git2::Diff<'_>,
    entry: &Entry,
    worktree: &Path,
) -> Result<FileDiff, GitError> {
    let old = diff
        .get_delta(entry.idx)
        .map(|d| old_side(repo, &d))
        .unwrap_or((0, Some(0)));
    let new = new_side(worktree, &entry.file);
    let bytes = old.0.max(new.0);
    let lines = match (old.1, new.1) {
        (Some(a), Some(b)) => Some(a.max(b)),
        _ => None,
    };
    if bytes > MAX_DIFF_BYTES || lines.is_some_and(|l| l > MAX_DIFF_LINES) {
        let (file, _) = measure(repo, diff, entry, worktree, false)?;
        return Ok(FileDiff {
            file,
            body: DiffBody::TooLarge { bytes, lines },
        });
    }
    let (file, text) = measure(repo, diff, entry, worktree, true)?;
    let body = match text {
        Some(t) if !file.binary => DiffBody::Text(t),
        _ => DiffBody::Binary,
    };
    Ok(FileDiff { file, body })
}

/// Bytes and (when at most [`MAX_DIFF_BYTES`]) lines of the old side, a blob in the odb.
fn old_side(repo: &Repository, delta: &git2::DiffDelta<'_>) -> (u64, Option<u64>) {
    let file = delta.old_file();
    if file.id().is_zero() || file.mode() == FileMode::Commit {
        return (0, Some(0));
    }
    let Ok(blob) = repo.find_blob(file.id()) else {
        return (0, Some(0));
    };
    let bytes = blob.size() as u64;
    (
        bytes,
        (bytes <= MAX_DIFF_BYTES).then(|| count_lines(blob.content())),
    )
}

/// Bytes and (when at most [`MAX_DIFF_BYTES`]) lines of the new side, the file in the worktree.
/// A symlink is measured by its target path, never followed.
fn new_side(worktree: &Path, file: &FileChange) -> (u64, Option<u64>) {
    let path = worktree.join(bytes_path(&file.raw_path));
    let Ok(meta) = fs_err::symlink_metadata(&path) else {
        return (0, Some(0));
    };
    if !meta.is_file() {
        return (meta.len(), Some(1));
    }
    let bytes = meta.len();
    if bytes > MAX_DIFF_BYTES {
        return (bytes, None);
    }
    match fs_err::read(&path) {
        Ok(content) => (bytes, Some(count_lines(&content))),
        Err(_) => (bytes, None),
    }
}

fn count_lines(content: &[u8]) -> u64 {
    let newlines = memchr::memchr_iter(b'\n', content).count() as u64;
    newlines + u64::from(!content.is_empty() && !content.ends_with(b"\n"))
}

/// A relative path from git's bytes (exact on unix, where paths are bytes).
pub(super) fn bytes_path(bytes: &[u8]) -> std::path::PathBuf {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        std::path::PathBuf::from(std::ffi::OsStr::from_bytes(bytes))
    }
    #[cfg(not(unix))]
    {
        std::path::PathBuf::from(String::from_utf8_lossy(bytes).into_owned())
    }
}

mod read;

#[cfg(test)]
mod tests;
