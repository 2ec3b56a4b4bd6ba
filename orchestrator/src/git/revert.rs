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

use super::changes::{ChangeKind, Scope, bytes_path, changes, scope_commit};
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

/// Reverts the changed file `path` (as listed by [`changes`] in the base scope; for a rename
/// either name) of the worktree to its content at the merge base with `base`: a file the session
/// added is removed, a renamed one is moved back. What it held is kept in `undo_dir`.
pub fn revert_file(
    worktree: &Path,
    base: &str,
    path: &str,
    undo_dir: &Path,
) -> Result<Reverted, GitError> {
    let list = changes(worktree, base, Scope::Base)?;
    let change = list
        .iter()
        .find(|c| c.path == path || c.old_path.as_deref() == Some(path))
        .ok_or_else(|| GitError::NotChanged {
            path: path.to_string(),
        })?;
    if change.kind == ChangeKind::Submodule {
        return Err(GitError::BadPath {
            path: format!("{path} (a submodule: revert it with git in the submodule)"),
        });
    }
    let mut targets = vec![change.raw_path.clone()];
    if let Some(old) = &change.raw_old_path {
        targets.push(old.clone());
    }
    let repo = open_any(worktree)?;
    let base_oid = scope_commit(&repo, worktree, base, Scope::Base)?;
    let tree = repo
        .find_commit(base_oid)
        .and_then(|c| c.tree())
        .map_err(ctx(format!("cannot read commit {base_oid}")))?;

    let id = new_undo_id();
    let entry_dir = undo_dir.join(&id);
    private_dir(&entry_dir)?;
    let mut manifest = Manifest { files: Vec::new() };
    let mut planned = Vec::new();
    for (n, raw) in targets.iter().enumerate() {
        let rel = bytes_path(raw);
        let abs = check_inside(worktree, &rel)?;
        let before = save_current(&abs, &entry_dir, n)?;
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
    for (abs, wanted) in &planned {
        apply(abs, wanted)?;
    }
    Ok(Reverted {
        undo_id: id,
        paths: targets
            .iter()
            .map(|p| String::from_utf8_lossy(p).into_owned())
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
    use std::os::unix::fs::PermissionsExt;

    use super::*;
    use crate::git::testing::{Fixture, commit_file, write};

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

        let r = revert_file(&wt.path, "main", "data.bin", &undo).unwrap();
        assert_eq!(r.paths, ["data.bin"]);
        assert_eq!(fs_err::read(wt.path.join("data.bin")).unwrap(), b"base\n");
        let saved = undo.join(&r.undo_id);
        let mode = |p: &Path| fs_err::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&saved), 0o700);
        assert_eq!(mode(&saved.join("manifest.json")), 0o600);
        assert_eq!(mode(&saved.join("0.blob")), 0o600);

        let r2 = revert_file(&wt.path, "main", "added.txt", &undo).unwrap();
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
        let r = revert_file(&wt.path, "main", "b.txt", &undo).unwrap();
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

    #[test]
    fn reverts_never_go_through_a_symlinked_folder() {
        let f = Fixture::new();
        let outside = f.tmp.path().join("outside");
        write(&outside.join("x.txt"), "keep\n");
        let wt = f.create("rv3", "grove/rv3");
        std::os::unix::fs::symlink(&outside, wt.path.join("link")).unwrap();
        let undo = f.tmp.path().join("undo/3");
        // The link itself is the change; reverting it removes the link, not what it points at.
        revert_file(&wt.path, "main", "link", &undo).unwrap();
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
        let err = revert_file(&wt.path, "main", "README.md", &undo).unwrap_err();
        assert!(matches!(err, GitError::NotChanged { .. }), "{err:?}");
    }
}
