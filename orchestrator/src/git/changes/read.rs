//! Diffing a worktree file from a copy read into memory, never through libgit2's map of it.
//!
//! libgit2 maps a worktree file it diffs (when no filter applies), sized from a `stat` taken a
//! moment before. A file truncated and written again in between (an agent or a formatter saving
//! in place) leaves mapped pages past its new end, and touching them raises SIGBUS, which kills
//! the whole server. So the common changes, a file modified in place or added, with no
//! attribute that would filter it or change how it is diffed, are read here with `read()` and
//! diffed from that buffer. The body comes from the same xdiff either way; the header is the one
//! libgit2 prints for the delta (`git_diff_delta__format_file_header`), written from the delta's
//! paths and modes and the ids of the two contents.
//!
//! Everything else (renames, conflicts, symlinks, submodules, files with `text`, `eol`, `crlf`,
//! `ident`, `filter`, `diff` or `working-tree-encoding` attributes, `core.autocrlf`) still goes
//! through `Patch::from_diff`. libgit2 reads a file that has filters rather than mapping it, so
//! what is left of the race is a file with such an attribute that in the end needs no filter.

use git2::{AttrCheckFlags, Delta, DiffDelta, FileMode, Oid, Repository};

use super::bytes_path;

/// Attributes that give a file a filter or a diff driver of its own.
const ATTRIBUTES: [&str; 7] = [
    "text",
    "eol",
    "crlf",
    "ident",
    "filter",
    "diff",
    "working-tree-encoding",
];

/// Whether `delta`'s new side can be read here and diffed as a plain buffer, with the same
/// result as libgit2's patch of the delta.
pub(super) fn readable(repo: &Repository, delta: &DiffDelta<'_>) -> bool {
    let regular = |mode: FileMode| matches!(mode, FileMode::Blob | FileMode::BlobExecutable);
    let (old, new) = (delta.old_file(), delta.new_file());
    let plain = match delta.status() {
        Delta::Modified => regular(old.mode()),
        Delta::Added | Delta::Untracked => old.id().is_zero(),
        _ => false,
    };
    let Some(path) = new.path_bytes() else {
        return false;
    };
    plain
        && regular(new.mode())
        && old.path_bytes() == Some(path)
        && !filtered_or_attributed(repo, path)
}

/// True when a filter or diff attribute may apply to `path`; anything unreadable counts too.
fn filtered_or_attributed(repo: &Repository, path: &[u8]) -> bool {
    let Ok(config) = repo.config().and_then(|mut c| c.snapshot()) else {
        return true;
    };
    match config.get_str("core.autocrlf") {
        Ok(v)
            if !matches!(
                v.to_ascii_lowercase().as_str(),
                "false" | "no" | "off" | "0"
            ) =>
        {
            return true;
        }
        Err(e) if e.code() != git2::ErrorCode::NotFound => return true,
        _ => {}
    }
    let path = bytes_path(path);
    ATTRIBUTES.iter().any(|name| {
        !matches!(
            repo.get_attr_bytes(&path, name, AttrCheckFlags::FILE_THEN_INDEX),
            Ok(None)
        )
    })
}

/// How many hex digits libgit2 prints of an id in a patch header (`core.abbrev`).
fn abbrev(repo: &Repository) -> usize {
    let Ok(config) = repo.config().and_then(|mut c| c.snapshot()) else {
        return 7;
    };
    if config.get_bool("core.abbrev").is_ok_and(|on| !on) {
        return 40;
    }
    match config.get_i32("core.abbrev") {
        Ok(n) if n >= 4 => (n as usize).min(40),
        _ => 7,
    }
}

/// The header libgit2 prints for `delta` when its new side's content has the id `new_id`.
/// `binary` leaves out the `---`/`+++` lines, as libgit2 does.
pub(super) fn header(
    repo: &Repository,
    delta: &DiffDelta<'_>,
    new_id: Oid,
    binary: bool,
) -> String {
    let (old, new) = (delta.old_file(), delta.new_file());
    let path = new.path_bytes().unwrap_or_default();
    let (old_mode, new_mode) = (mode_bits(old.mode()), mode_bits(new.mode()));
    let old_id = old.id();
    let unchanged = (old_id.is_zero() && new_id.is_zero()) || old_id == new_id;
    let mut out = format!("diff --git {} {}\n", quote(b"a/", path), quote(b"b/", path));
    if unchanged && old_mode != new_mode {
        out.push_str(&format!("old mode {old_mode:o}\nnew mode {new_mode:o}\n"));
    }
    if !unchanged {
        let n = abbrev(repo);
        let ids = format!("{}..{}", &old_id.to_string()[..n], &new_id.to_string()[..n]);
        if old_mode == new_mode {
            out.push_str(&format!("index {ids} {old_mode:o}\n"));
        } else {
            if old_mode == 0 {
                out.push_str(&format!("new file mode {new_mode:o}\n"));
            } else {
                out.push_str(&format!("old mode {old_mode:o}\nnew mode {new_mode:o}\n"));
            }
            out.push_str(&format!("index {ids}\n"));
        }
        if !binary {
            let from = if old_id.is_zero() {
                "/dev/null".to_owned()
            } else {
                quote(b"a/", path)
            };
            out.push_str(&format!("--- {from}\n+++ {}\n", quote(b"b/", path)));
        }
    }
    out
}

fn mode_bits(mode: FileMode) -> u32 {
    match mode {
        FileMode::Unreadable => 0,
        m => u32::from(m) & 0o177777,
    }
}

/// A path as libgit2 writes it in a patch header (`git_str_quote`): in double quotes with C
/// escapes when it has a quote, a backslash or a byte outside printable ASCII, or starts with
/// `!`.
fn quote(prefix: &[u8], path: &[u8]) -> String {
    let full = [prefix, path].concat();
    let plain = |b: u8| b != b'"' && b != b'\\' && (b' '..=b'~').contains(&b);
    if full.first() != Some(&b'!') && full.iter().all(|&b| plain(b)) {
        return String::from_utf8_lossy(&full).into_owned();
    }
    let mut out = String::from("\"");
    for &b in &full {
        match b {
            0x07..=0x0d => {
                out.push('\\');
                out.push(['a', 'b', 't', 'n', 'v', 'f', 'r'][usize::from(b - 0x07)]);
            }
            b'"' | b'\\' => {
                out.push('\\');
                out.push(char::from(b));
            }
            b' ' => out.push(' '),
            b if !(b'!'..=b'~').contains(&b) => out.push_str(&format!("\\{b:03o}")),
            b => out.push(char::from(b)),
        }
    }
    out.push('"');
    out
}
