//! `grove changes`, `grove diff` and `grove commit`: a session's work, through the same API the
//! review panel uses.

use anyhow::bail;
use grove_orchestrator::wire::{
    ChangeStatus, Changes, CommitRequest, CommitResult, DiffContent, Diffs,
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
        println!("{}", serde_json::to_string_pretty(&changes)?);
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
