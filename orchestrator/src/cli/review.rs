//! `grove changes`, `grove diff` and `grove commit`: a session's work, through the same API the
//! review panel uses.

use anyhow::Context;
use anyhow::bail;
use grove_orchestrator::wire::{
    ChangeScope, ChangeStatus, Changes, CommitRequest, CommitResult, DiffContent, Diffs,
    RevertRequest, RevertResult, ReviewComment, SendCommentsRequest, SentComments, UndoRequest,
    UndoResult,
};

use super::client::Client;

fn scope_param(uncommitted: bool) -> &'static str {
    if uncommitted { "uncommitted" } else { "base" }
}

/// Percent-encodes a query value (everything but unreserved characters).
fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Lists the session's changed files: a table, or with `json` exactly the API's `Changes`.
pub fn changes(
    c: &Client,
    name: &str,
    repo: Option<&str>,
    json: bool,
    uncommitted: bool,
) -> anyhow::Result<()> {
    let s = c.resolve_session(name, repo)?;
    let changes: Changes = c.get(&format!(
        "/sessions/{}/changes?scope={}",
        s.id,
        scope_param(uncommitted)
    ))?;
    if json {
        // Exactly the documented fields (scripts read them); the API's `version` stays out.
        let files: Vec<serde_json::Value> = changes
            .files
            .iter()
            .map(|f| {
                serde_json::json!({
                    "path": f.path,
                    "old_path": f.old_path,
                    "status": f.status,
                    "additions": f.additions,
                    "deletions": f.deletions,
                    "binary": f.binary,
                })
            })
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({ "files": files }))?
        );
        return Ok(());
    }
    for f in &changes.files {
        let letter = match f.status {
            ChangeStatus::Added => "A",
            ChangeStatus::Modified => "M",
            ChangeStatus::Deleted => "D",
            ChangeStatus::Renamed => "R",
            ChangeStatus::TypeChanged => "T",
            ChangeStatus::Submodule => "S",
        };
        let counts = if f.binary {
            "binary".to_owned()
        } else {
            format!("+{} -{}", f.additions, f.deletions)
        };
        match &f.old_path {
            Some(old) => println!("{letter}\t{counts}\t{old} -> {}", f.path),
            None => println!("{letter}\t{counts}\t{}", f.path),
        }
    }
    Ok(())
}

/// Prints the unified diff of the session's changes (all, or `paths`), untracked files included.
pub fn diff(
    c: &Client,
    name: &str,
    repo: Option<&str>,
    paths: &[String],
    uncommitted: bool,
) -> anyhow::Result<()> {
    let s = c.resolve_session(name, repo)?;
    let scope = scope_param(uncommitted);
    let mut all = Vec::new();
    if paths.is_empty() {
        let d: Diffs = c.get(&format!("/sessions/{}/diff?scope={scope}", s.id))?;
        all.extend(d.files);
    } else {
        for p in paths {
            let d: Diffs = c.get(&format!(
                "/sessions/{}/diff?scope={scope}&path={}",
                s.id,
                encode(p)
            ))?;
            all.extend(d.files);
        }
    }
    for f in all {
        match f.content {
            DiffContent::Text { patch } => print!("{patch}"),
            DiffContent::Binary => {
                println!("diff --git a/{0} b/{0}\nBinary files differ", f.file.path)
            }
            DiffContent::TooLarge { bytes, lines } => {
                let lines = lines.map(|l| format!(", {l} lines")).unwrap_or_default();
                println!(
                    "diff --git a/{0} b/{0}\n# too large to show ({bytes} bytes{lines})",
                    f.file.path
                );
            }
        }
    }
    Ok(())
}

/// Commits the session's work: everything with `all`, else `paths`.
pub fn commit(
    c: &Client,
    name: &str,
    repo: Option<&str>,
    message: String,
    all: bool,
    paths: Vec<String>,
    amend: bool,
) -> anyhow::Result<()> {
    if !all && paths.is_empty() {
        bail!("say what to commit: --all, or the paths of the files");
    }
    let s = c.resolve_session(name, repo)?;
    let r: CommitResult = c.post(
        &format!("/sessions/{}/commit", s.id),
        &CommitRequest {
            message,
            paths,
            amend,
        },
    )?;
    println!(
        "committed {} on {}",
        &r.commit[..r.commit.len().min(12)],
        s.branch
    );
    Ok(())
}

/// Reverts a file (or a hunk) and prints how to undo it.
pub fn revert(
    c: &Client,
    name: &str,
    repo: Option<&str>,
    path: String,
    hunk: Option<String>,
    uncommitted: bool,
) -> anyhow::Result<()> {
    let s = c.resolve_session(name, repo)?;
    let r: RevertResult = c.post(
        &format!("/sessions/{}/revert", s.id),
        &RevertRequest {
            path,
            scope: Some(if uncommitted {
                ChangeScope::Uncommitted
            } else {
                ChangeScope::Base
            }),
            hunk,
        },
    )?;
    println!(
        "reverted {}; undo with: grove undo {} --id {}",
        r.paths.join(", "),
        s.name,
        r.undo_id
    );
    Ok(())
}

/// Undoes a revert.
pub fn undo(c: &Client, name: &str, repo: Option<&str>, id: Option<String>) -> anyhow::Result<()> {
    let s = c.resolve_session(name, repo)?;
    let r: UndoResult = c.post(
        &format!("/sessions/{}/undo", s.id),
        &UndoRequest { undo_id: id },
    )?;
    println!("restored {}", r.paths.join(", "));
    Ok(())
}

/// Sends one review comment to the agent.
pub fn comment(
    c: &Client,
    name: &str,
    repo: Option<&str>,
    at: &str,
    text: String,
) -> anyhow::Result<()> {
    let (path, line, end_line) = parse_at(at)?;
    let s = c.resolve_session(name, repo)?;
    let sent: SentComments = c.post(
        &format!("/sessions/{}/comments", s.id),
        &SendCommentsRequest {
            comments: vec![ReviewComment {
                path,
                line,
                end_line,
                quote: String::new(),
                text,
            }],
        },
    )?;
    println!("typed into terminal {}:\n{}", sent.terminal_id, sent.text);
    Ok(())
}

/// `PATH:LINE` or `PATH:FIRST-LAST`.
fn parse_at(at: &str) -> anyhow::Result<(String, u32, Option<u32>)> {
    let usage = || format!("`{at}` is not PATH:LINE or PATH:FIRST-LAST (e.g. src/main.rs:12)");
    let (path, lines) = at.rsplit_once(':').with_context(usage)?;
    if path.is_empty() {
        bail!(usage());
    }
    let (first, last) = match lines.split_once('-') {
        Some((a, b)) => (a, Some(b)),
        None => (lines, None),
    };
    let first: u32 = first.parse().ok().filter(|&n| n > 0).with_context(usage)?;
    let last = match last {
        Some(l) => Some(
            l.parse::<u32>()
                .ok()
                .filter(|&n| n >= first)
                .with_context(usage)?,
        ),
        None => None,
    };
    Ok((path.to_string(), first, last))
}

#[cfg(test)]
mod tests {
    use super::parse_at;

    #[test]
    fn comment_locations_parse_or_say_what_is_wrong() {
        assert_eq!(
            parse_at("src/a.rs:12").ok(),
            Some(("src/a.rs".into(), 12, None))
        );
        assert_eq!(
            parse_at("a:b.rs:3-9").ok(),
            Some(("a:b.rs".into(), 3, Some(9)))
        );
        for bad in ["src/a.rs", ":3", "a.rs:0", "a.rs:x", "a.rs:9-3"] {
            let err = parse_at(bad)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(err.contains("PATH:LINE"), "{bad}: {err}");
        }
    }
}
