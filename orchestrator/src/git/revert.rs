//! Reverting a file to the session's base, undoably: before a file is touched, what it held
//! (bytes, executable bit, symlink target, or nothing) is saved under an undo folder Grove owns
//! (files 0600, folders 0700), so undoing puts back exactly those bytes.
//!
//! Only the working tree changes; the index is left alone, so what the review shows (both scopes
//! compare with the working tree) is what the user sees. Paths are refused unless they are plain
//! relative paths, and no folder on the way to a file may be a symlink: a revert never writes or
//! deletes outside the worktree.

use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::changes::{ChangeKind, FileChange, Scope, bytes_path, changes, scope_commit};
use super::error::{GitError, ctx, io_ctx};
use super::repo::open_any;

/// What one file held, as saved for undo.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum Content {
    Absent,
    File { executable: bool, blob: String },
    Symlink { target: Vec<u8> },
}

/// One file a revert touched.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Touched {
    /// The path's exact bytes, relative to the worktree.
    path: Vec<u8>,
    /// What it held before the revert (saved blobs are named in `blob`).
    before: Content,
    /// A hash of what the revert left there, to notice later edits before undoing.
    after: String,
}

/// The manifest of one revert, `<undo dir>/<id>/manifest.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Manifest {
    files: Vec<Touched>,
}

/// What a revert did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reverted {
    /// The id that undoes it.
    pub undo_id: String,
    /// The files it rewrote or removed, relative to the worktree.
    pub paths: Vec<String>,
}

/// Reverts the changed file `path` (as listed by [`changes`] in `scope`; for a rename either
/// name) of the worktree to its content in the scope's commit (the merge base with `base`, or
/// HEAD): a file the session added is removed, a renamed one is moved back. What it held is kept
/// in `undo_dir`.
pub fn revert_file(
    worktree: &Path,
    base: &str,
    scope: Scope,
    path: &str,
    undo_dir: &Path,
) -> Result<Reverted, GitError> {
    let change = find_change(worktree, base, scope, path)?;
    let mut targets = vec![change.raw_path.clone()];
    if let Some(old) = &change.raw_old_path {
        targets.push(old.clone());
    }
    let repo = open_any(worktree)?;
    let tree = scope_tree(&repo, worktree, base, scope)?;
    let mut planned = Vec::new();
    for raw in &targets {
        let rel = bytes_path(raw);
        let wanted = match tree.get_path(&rel) {
            Ok(entry) => {
                let blob = entry
                    .to_object(&repo)
                    .and_then(|o| o.peel_to_blob())
                    .map_err(ctx(format!("cannot read {} at the base", rel.display())))?;
                match entry.filemode() {
                    0o120000 => Wanted::Symlink(blob.content().to_vec()),
                    mode => Wanted::File(blob.content().to_vec(), mode & 0o111 != 0),
                }
            }
            Err(_) => Wanted::Absent,
        };
        planned.push((raw.clone(), wanted));
    }
    rewrite(worktree, undo_dir, planned)
}

/// Reverts one hunk of the changed file `path`: the hunk of its diff in `scope` whose header is
/// `header` (`@@ -12,4 +12,6 @@`, any text after the second `@@` ignored) gets the scope's lines
/// back; the rest of the file is left as it is. What the file held is kept in `undo_dir`. A
/// header no longer in the diff is [`GitError::HunkNotFound`].
pub fn revert_hunk(
    worktree: &Path,
    base: &str,
    scope: Scope,
    path: &str,
    header: &str,
    undo_dir: &Path,
) -> Result<Reverted, GitError> {
    let want = parse_header(header);
    {
        let not_found = || GitError::HunkNotFound {
            path: path.to_string(),
            header: header.to_string(),
        };
        let want = want.ok_or_else(not_found)?;
        let change = find_change(worktree, base, scope, path)?;
        let repo = open_any(worktree)?;
        let tree = scope_tree(&repo, worktree, base, scope)?;
        let old_raw = change.raw_old_path.as_ref().unwrap_or(&change.raw_path);
        let old = match tree.get_path(&bytes_path(old_raw)) {
            Ok(entry) if entry.filemode() != 0o120000 => entry
                .to_object(&repo)
                .and_then(|o| o.peel_to_blob())
                .map(|b| b.content().to_vec())
                .map_err(ctx(format!("cannot read {path} at the base")))?,
            Ok(_) => return Err(not_hunkable(path, "a symlink")),
            Err(_) => Vec::new(),
        };
        let abs = check_inside(worktree, &bytes_path(&change.raw_path))?;
        let (current, exec) = match read_current(&abs)? {
            Wanted::File(bytes, exec) => (bytes, exec),
            Wanted::Absent => return Err(not_hunkable(path, "deleted")),
            Wanted::Symlink(_) => return Err(not_hunkable(path, "a symlink")),
        };
        let patch = git2::Patch::from_buffers(&old, None, &current, None, None)
            .map_err(ctx(format!("cannot diff {path}")))?;
        if patch.delta().flags().is_binary() {
            return Err(not_hunkable(path, "binary"));
        }
        let hunk_idx = (0..patch.num_hunks())
            .find(|&i| {
                patch.hunk(i).is_ok_and(|(h, _)| {
                    (h.old_start(), h.old_lines(), h.new_start(), h.new_lines()) == want
                })
            })
            .ok_or_else(not_found)?;
        let mut restored = Vec::new();
        let lines = patch
            .num_lines_in_hunk(hunk_idx)
            .map_err(ctx(format!("cannot diff {path}")))?;
        for l in 0..lines {
            let line = patch
                .line_in_hunk(hunk_idx, l)
                .map_err(ctx(format!("cannot diff {path}")))?;
            // Context and deleted lines are the old side; their content keeps its newline (or
            // lacks it, at an end of file without one).
            if matches!(line.origin(), ' ' | '-') {
                restored.extend_from_slice(line.content());
            }
        }
        let (_, _, new_start, new_lines) = want;
        let cur_lines: Vec<&[u8]> = current.split_inclusive(|&b| b == b'\n').collect();
        // A hunk that adds nothing names the line *before* it (`+4,0`).
        let from = if new_lines == 0 {
            new_start as usize
        } else {
            (new_start as usize).saturating_sub(1)
        };
        let to = (from + new_lines as usize).min(cur_lines.len());
        let mut bytes = Vec::with_capacity(current.len());
        for part in &cur_lines[..from.min(cur_lines.len())] {
            bytes.extend_from_slice(part);
        }
        bytes.extend_from_slice(&restored);
        for part in &cur_lines[to..] {
            bytes.extend_from_slice(part);
        }
        rewrite(
            worktree,
            undo_dir,
            vec![(change.raw_path.clone(), Wanted::File(bytes, exec))],
        )
    }
}

fn not_hunkable(path: &str, why: &str) -> GitError {
    GitError::BadPath {
        path: format!("{path} ({why}: revert the whole file instead of a hunk)"),
    }
}

/// `(old_start, old_lines, new_start, new_lines)` of a hunk header; a count left out is 1.
fn parse_header(header: &str) -> Option<(u32, u32, u32, u32)> {
    let rest = header.trim_start().strip_prefix("@@ -")?;
    let (ranges, _) = rest.split_once(" @@")?;
    let (old, new) = ranges.split_once(" +")?;
    let range = |r: &str| -> Option<(u32, u32)> {
        match r.split_once(',') {
            Some((a, b)) => Some((a.parse().ok()?, b.parse().ok()?)),
            None => Some((r.parse().ok()?, 1)),
        }
    };
    let (a, b) = range(old)?;
    let (c, d) = range(new)?;
    Some((a, b, c, d))
}

/// The change to `path` (either name of a rename) in `scope`; submodules are refused.
fn find_change(
    worktree: &Path,
    base: &str,
    scope: Scope,
    path: &str,
) -> Result<FileChange, GitError> {
    let change = changes(worktree, base, scope)?
        .into_iter()
        .find(|c| c.path == path || c.old_path.as_deref() == Some(path))
        .ok_or_else(|| GitError::NotChanged {
            path: path.to_string(),
        })?;
    if change.kind == ChangeKind::Submodule {
        return Err(GitError::BadPath {
            path: format!("{path} (a submodule: revert it with git in the submodule)"),
        });
    }
    Ok(change)
}

fn scope_tree<'r>(
    repo: &'r git2::Repository,
    worktree: &Path,
    base: &str,
    scope: Scope,
) -> Result<git2::Tree<'r>, GitError> {
    let oid = scope_commit(repo, worktree, base, scope)?;
    repo.find_commit(oid)
        .and_then(|c| c.tree())
        .map_err(ctx(format!("cannot read commit {oid}")))
}

/// Makes each `(path, wanted)` so, after saving what each path held into a new undo record.
fn rewrite(
    worktree: &Path,
    undo_dir: &Path,
    targets: Vec<(Vec<u8>, Wanted)>,
) -> Result<Reverted, GitError> {
    let id = new_undo_id();
    let entry_dir = undo_dir.join(&id);
    private_dir(&entry_dir)?;
    let mut manifest = Manifest { files: Vec::new() };
    let mut planned = Vec::new();
    for (n, (raw, wanted)) in targets.iter().enumerate() {
        let abs = check_inside(worktree, &bytes_path(raw))?;
        let before = save_current(&abs, &entry_dir, n)?;
        manifest.files.push(Touched {
            path: raw.clone(),
            before,
            after: wanted.hash(),
        });
        planned.push((abs, wanted));
    }
    write_private(
        &entry_dir.join("manifest.json"),
        &serde_json::to_vec(&manifest).map_err(|e| GitError::Io {
            context: "cannot record the revert".into(),
            source: std::io::Error::other(e),
        })?,
    )?;
    for (abs, wanted) in planned {
        apply(&abs, wanted)?;
    }
    Ok(Reverted {
        undo_id: id,
        paths: targets
            .iter()
            .map(|(p, _)| String::from_utf8_lossy(p).into_owned())
            .collect(),
    })
}

/// Undoes the revert `undo_id` (default: the latest kept in `undo_dir`), putting back exactly
/// what each file held. Refused with [`GitError::ChangedSinceRevert`] when a file changed since
/// the revert, so undo never destroys newer work. Returns the restored paths.
pub fn undo_revert(
    worktree: &Path,
    undo_dir: &Path,
    undo_id: Option<&str>,
) -> Result<Vec<String>, GitError> {
    let id = match undo_id {
        Some(id) => {
            if id.is_empty() || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
                return Err(GitError::NothingToUndo);
            }
            id.to_string()
        }
        None => latest_undo(undo_dir)?.ok_or(GitError::NothingToUndo)?,
    };
    let entry_dir = undo_dir.join(&id);
    let text = match fs_err::read(entry_dir.join("manifest.json")) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(GitError::NothingToUndo);
        }
        Err(e) => return Err(io_ctx("cannot read the undo record")(e)),
    };
    let manifest: Manifest = serde_json::from_slice(&text).map_err(|e| GitError::Io {
        context: format!("the undo record {} is damaged", entry_dir.display()),
        source: std::io::Error::other(e),
    })?;
    let mut planned = Vec::new();
    for t in &manifest.files {
        let rel = bytes_path(&t.path);
        let abs = check_inside(worktree, &rel)?;
        if current_hash(&abs)? != t.after {
            return Err(GitError::ChangedSinceRevert {
                path: String::from_utf8_lossy(&t.path).into_owned(),
            });
        }
        let wanted = match &t.before {
            Content::Absent => Wanted::Absent,
            Content::Symlink { target } => Wanted::Symlink(target.clone()),
            Content::File { executable, blob } => Wanted::File(
                fs_err::read(entry_dir.join(blob)).map_err(io_ctx("cannot read saved content"))?,
                *executable,
            ),
        };
        planned.push((abs, wanted));
    }
    for (abs, wanted) in &planned {
        apply(abs, wanted)?;
    }
    fs_err::remove_dir_all(&entry_dir).map_err(io_ctx("cannot remove the undo record"))?;
    Ok(manifest
        .files
        .iter()
        .map(|t| String::from_utf8_lossy(&t.path).into_owned())
        .collect())
}

/// What a file should become.
enum Wanted {
    Absent,
    File(Vec<u8>, bool),
    Symlink(Vec<u8>),
}

impl Wanted {
    fn hash(&self) -> String {
        let mut h = Sha256::new();
        match self {
            Wanted::Absent => h.update(b"absent"),
            Wanted::File(bytes, exec) => {
                h.update(if *exec { b"exec:" } else { b"file:" });
                h.update(bytes);
            }
            Wanted::Symlink(target) => {
                h.update(b"link:");
                h.update(target);
            }
        }
        format!("{:x}", h.finalize())
    }
}

/// The hash [`Wanted::hash`] gives for what is at `abs` now.
fn current_hash(abs: &Path) -> Result<String, GitError> {
    Ok(read_current(abs)?.hash())
}

fn read_current(abs: &Path) -> Result<Wanted, GitError> {
    let what = || format!("cannot read {}", abs.display());
    match fs_err::symlink_metadata(abs) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Wanted::Absent),
        Err(e) => Err(io_ctx(what())(e)),
        Ok(meta) if meta.is_symlink() => {
            let target = fs_err::read_link(abs).map_err(io_ctx(what()))?;
            Ok(Wanted::Symlink(os_bytes(target.as_os_str())))
        }
        Ok(meta) if meta.is_file() => {
            let bytes = fs_err::read(abs).map_err(io_ctx(what()))?;
            Ok(Wanted::File(bytes, is_exec(&meta)))
        }
        Ok(_) => Err(GitError::BadPath {
            path: format!("{} (a folder)", abs.display()),
        }),
    }
}

/// Saves what `abs` holds now into `entry_dir` (blob `n`), returning its description.
fn save_current(abs: &Path, entry_dir: &Path, n: usize) -> Result<Content, GitError> {
    Ok(match read_current(abs)? {
        Wanted::Absent => Content::Absent,
        Wanted::Symlink(target) => Content::Symlink { target },
        Wanted::File(bytes, executable) => {
            let blob = format!("{n}.blob");
            write_private(&entry_dir.join(&blob), &bytes)?;
            Content::File { executable, blob }
        }
    })
}

/// Makes `abs` hold `wanted`. Whatever is there is removed first (a symlink itself, never what
/// it points at); missing folders are created.
fn apply(abs: &Path, wanted: &Wanted) -> Result<(), GitError> {
    let what = || format!("cannot write {}", abs.display());
    match fs_err::symlink_metadata(abs) {
        Ok(meta) if meta.is_dir() => {
            return Err(GitError::BadPath {
                path: format!("{} (a folder)", abs.display()),
            });
        }
        Ok(_) => fs_err::remove_file(abs).map_err(io_ctx(what()))?,
        Err(_) => {}
    }
    if let Some(parent) = abs.parent()
        && !matches!(wanted, Wanted::Absent)
    {
        fs_err::create_dir_all(parent).map_err(io_ctx(what()))?;
    }
    match wanted {
        Wanted::Absent => Ok(()),
        Wanted::File(bytes, exec) => {
            let mut opts = fs_err::OpenOptions::new();
            opts.write(true).create_new(true);
            #[cfg(unix)]
            {
                use fs_err::os::unix::fs::OpenOptionsExt;
                opts.mode(if *exec { 0o777 } else { 0o666 });
            }
            // Windows has no executable bit to restore.
            #[cfg(not(unix))]
            let _ = exec;
            let mut f = opts.open(abs).map_err(io_ctx(what()))?;
            std::io::Write::write_all(&mut f, bytes).map_err(io_ctx(what()))
        }
        Wanted::Symlink(target) => {
            #[cfg(unix)]
            {
                std::os::unix::fs::symlink(bytes_path(target), abs).map_err(io_ctx(what()))
            }
            #[cfg(not(unix))]
            {
                let _ = target;
                Err(GitError::BadPath {
                    path: format!("{} (symlinks need unix)", abs.display()),
                })
            }
        }
    }
}

fn is_exec(meta: &std::fs::Metadata) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        meta.permissions().mode() & 0o111 != 0
    }
    #[cfg(not(unix))]
    {
        let _ = meta;
        false
    }
}

fn os_bytes(s: &std::ffi::OsStr) -> Vec<u8> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        s.as_bytes().to_vec()
    }
    #[cfg(not(unix))]
    {
        s.to_string_lossy().into_owned().into_bytes()
    }
}

/// A folder only the user can read (0700), created with its parents.
fn private_dir(dir: &Path) -> Result<(), GitError> {
    let what = || format!("cannot create {}", dir.display());
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        b.mode(0o700);
    }
    b.create(dir).map_err(io_ctx(what()))
}

/// A file only the user can read (0600): the discarded content may be anything, secrets too.
fn write_private(path: &Path, bytes: &[u8]) -> Result<(), GitError> {
    let what = || format!("cannot write {}", path.display());
    let mut opts = fs_err::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use fs_err::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path).map_err(io_ctx(what()))?;
    std::io::Write::write_all(&mut f, bytes).map_err(io_ctx(what()))
}

/// Ids sort by time: nanoseconds since the epoch, zero-padded, plus a counter for ties.
fn new_undo_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!(
        "{nanos:024}-{:06}",
        SEQ.fetch_add(1, Ordering::Relaxed) % 1_000_000
    )
}

/// The newest undo record's id in `undo_dir`.
fn latest_undo(undo_dir: &Path) -> Result<Option<String>, GitError> {
    let entries = match fs_err::read_dir(undo_dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_ctx("cannot list undo records")(e)),
    };
    Ok(entries
        .flatten()
        .filter(|e| e.path().join("manifest.json").is_file())
        .filter_map(|e| e.file_name().into_string().ok())
        .max())
}

/// `worktree/rel`, once `rel` is known to be a plain relative path outside `.git` with no
/// symlinked folder on the way (the last component may be a symlink: it is replaced, never
/// followed).
fn check_inside(worktree: &Path, rel: &Path) -> Result<PathBuf, GitError> {
    let bad = || GitError::BadPath {
        path: rel.display().to_string(),
    };
    let parts: Vec<Component<'_>> = rel.components().collect();
    if parts.is_empty()
        || !parts.iter().all(|c| matches!(c, Component::Normal(_)))
        || parts.first() == Some(&Component::Normal(".git".as_ref()))
    {
        return Err(bad());
    }
    let mut at = worktree.to_path_buf();
    for part in &parts[..parts.len() - 1] {
        at.push(part);
        match fs_err::symlink_metadata(&at) {
            Ok(meta) if meta.is_symlink() => return Err(GitError::SymlinkEscape { path: at }),
            Ok(meta) if !meta.is_dir() => return Err(bad()),
            _ => {}
        }
    }
    Ok(worktree.join(rel))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    #[cfg(unix)]
    use std::os::unix::fs::PermissionsExt;

    use super::*;
    use crate::git::testing::{Fixture, commit_file, write};

    #[cfg(unix)]
    #[test]
    fn revert_then_undo_is_byte_identical() {
        let f = Fixture::new();
        commit_file(&f.repo, "data.bin", "base\n");
        let wt = f.create("rv", "grove/rv");
        let undo = f.tmp.path().join("undo/1");
        // Bytes that are not UTF-8, CRLF and no trailing newline: kept exactly.
        let edited: &[u8] = b"\xff\xfe edited\r\nno newline";
        fs_err::write(wt.path.join("data.bin"), edited).unwrap();
        fs_err::set_permissions(
            wt.path.join("data.bin"),
            std::fs::Permissions::from_mode(0o755),
        )
        .unwrap();
        write(&wt.path.join("added.txt"), "new work\n");

        let r = revert_file(&wt.path, "main", Scope::Base, "data.bin", &undo).unwrap();
        assert_eq!(r.paths, ["data.bin"]);
        assert_eq!(fs_err::read(wt.path.join("data.bin")).unwrap(), b"base\n");
        let saved = undo.join(&r.undo_id);
        let mode = |p: &Path| fs_err::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&saved), 0o700);
        assert_eq!(mode(&saved.join("manifest.json")), 0o600);
        assert_eq!(mode(&saved.join("0.blob")), 0o600);

        let r2 = revert_file(&wt.path, "main", Scope::Base, "added.txt", &undo).unwrap();
        assert!(!wt.path.join("added.txt").exists());

        // Undo takes the latest first.
        assert_eq!(undo_revert(&wt.path, &undo, None).unwrap(), ["added.txt"]);
        assert_eq!(
            fs_err::read(wt.path.join("added.txt")).unwrap(),
            b"new work\n"
        );
        assert_eq!(
            undo_revert(&wt.path, &undo, Some(&r.undo_id)).unwrap(),
            ["data.bin"]
        );
        assert_eq!(fs_err::read(wt.path.join("data.bin")).unwrap(), edited);
        assert_eq!(mode(&wt.path.join("data.bin")) & 0o100, 0o100);
        assert!(!saved.exists());
        let err = undo_revert(&wt.path, &undo, Some(&r2.undo_id)).unwrap_err();
        assert!(matches!(err, GitError::NothingToUndo), "{err:?}");
        assert!(matches!(
            undo_revert(&wt.path, &undo, None),
            Err(GitError::NothingToUndo)
        ));
    }

    #[test]
    fn undo_refuses_to_overwrite_newer_work_and_renames_move_back() {
        let f = Fixture::new();
        commit_file(&f.repo, "a.txt", "1\n2\n3\n4\n5\n6\n");
        let wt = f.create("rv2", "grove/rv2");
        let undo = f.tmp.path().join("undo/2");
        fs_err::rename(wt.path.join("a.txt"), wt.path.join("b.txt")).unwrap();
        let r = revert_file(&wt.path, "main", Scope::Base, "b.txt", &undo).unwrap();
        assert_eq!(r.paths, ["b.txt", "a.txt"]);
        assert!(!wt.path.join("b.txt").exists());
        assert_eq!(
            fs_err::read_to_string(wt.path.join("a.txt")).unwrap(),
            "1\n2\n3\n4\n5\n6\n"
        );
        // The agent writes the file again: undo must not destroy that.
        write(&wt.path.join("a.txt"), "agent again\n");
        let err = undo_revert(&wt.path, &undo, None).unwrap_err();
        assert!(
            matches!(err, GitError::ChangedSinceRevert { .. }),
            "{err:?}"
        );
        assert_eq!(
            fs_err::read_to_string(wt.path.join("a.txt")).unwrap(),
            "agent again\n"
        );
    }

    #[cfg(unix)]
    #[test]
    fn reverts_never_go_through_a_symlinked_folder() {
        let f = Fixture::new();
        let outside = f.tmp.path().join("outside");
        write(&outside.join("x.txt"), "keep\n");
        let wt = f.create("rv3", "grove/rv3");
        std::os::unix::fs::symlink(&outside, wt.path.join("link")).unwrap();
        let undo = f.tmp.path().join("undo/3");
        // The link itself is the change; reverting it removes the link, not what it points at.
        revert_file(&wt.path, "main", Scope::Base, "link", &undo).unwrap();
        assert!(fs_err::symlink_metadata(wt.path.join("link")).is_err());
        assert_eq!(
            fs_err::read_to_string(outside.join("x.txt")).unwrap(),
            "keep\n"
        );
        undo_revert(&wt.path, &undo, None).unwrap();
        assert!(
            fs_err::symlink_metadata(wt.path.join("link"))
                .unwrap()
                .is_symlink()
        );
        let err = check_inside(&wt.path, Path::new("link/x.txt")).unwrap_err();
        assert!(matches!(err, GitError::SymlinkEscape { .. }), "{err:?}");
        for bad in ["../x", "/etc/passwd", ".git/config", ""] {
            assert!(check_inside(&wt.path, Path::new(bad)).is_err(), "{bad}");
        }
        let err = revert_file(&wt.path, "main", Scope::Base, "README.md", &undo).unwrap_err();
        assert!(matches!(err, GitError::NotChanged { .. }), "{err:?}");
    }

    /// The headers of the file's diff in the base scope.
    fn headers(wt: &Path, path: &str) -> Vec<String> {
        let d = crate::git::diffs(wt, "main", Scope::Base, &[path.to_string()]).unwrap();
        match &d[0].body {
            crate::git::DiffBody::Text(t) => t
                .lines()
                .filter(|l| l.starts_with("@@"))
                .map(str::to_owned)
                .collect(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn hunks_at_the_edges_revert_byte_for_byte() {
        let f = Fixture::new();
        commit_file(&f.repo, "tail.txt", "x\ny");
        commit_file(&f.repo, "gone.txt", "a\nb\n");
        let wt = f.create("rv4", "grove/rv4");
        let undo = f.tmp.path().join("undo/4");
        // No newline at the end on either side.
        fs_err::write(wt.path.join("tail.txt"), "x\nz").unwrap();
        let h = headers(&wt.path, "tail.txt");
        assert_eq!(h, ["@@ -1,2 +1,2 @@"]);
        revert_hunk(&wt.path, "main", Scope::Base, "tail.txt", &h[0], &undo).unwrap();
        assert_eq!(fs_err::read(wt.path.join("tail.txt")).unwrap(), b"x\ny");
        // A hunk whose new side is empty names the line before it (`+0,0`).
        fs_err::write(wt.path.join("gone.txt"), "").unwrap();
        let h = headers(&wt.path, "gone.txt");
        assert_eq!(h, ["@@ -1,2 +0,0 @@"]);
        revert_hunk(&wt.path, "main", Scope::Base, "gone.txt", &h[0], &undo).unwrap();
        assert_eq!(fs_err::read(wt.path.join("gone.txt")).unwrap(), b"a\nb\n");
        // Undo takes the latest back first.
        undo_revert(&wt.path, &undo, None).unwrap();
        assert_eq!(fs_err::read(wt.path.join("gone.txt")).unwrap(), b"");
        for bad in ["", "@@ -1 +1 @", "@@ -a,1 +1,1 @@", "@@ -9,2 +9,2 @@"] {
            let err = revert_hunk(&wt.path, "main", Scope::Base, "gone.txt", bad, &undo);
            assert!(
                matches!(err, Err(GitError::HunkNotFound { .. })),
                "{bad}: {err:?}"
            );
        }
        assert_eq!(parse_header("@@ -3 +4,0 @@ fn x"), Some((3, 1, 4, 0)));
    }
}
