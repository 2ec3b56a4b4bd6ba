//! `grove repo trust REPO` and `grove repo untrust REPO`: show exactly what a repository's
//! `grove.toml` will run and set, and approve that content (or revoke the approval).

use std::io::{BufRead, IsTerminal, Write};

use anyhow::bail;
use grove_orchestrator::wire::{RepoTrust, TrustRequest, TrustState};

use super::client::Client;

/// Prints the approval text and, after a "y" on the terminal or with `--yes`, approves exactly the
/// content shown (by its hash: a config that changes in between is refused by the server).
pub fn trust(c: &Client, key: &str, yes: bool, allow_env: Vec<String>) -> anyhow::Result<()> {
    let repo = c.resolve_repo(key)?;
    let path = format!("/repos/{}/trust", repo.id);
    let current: RepoTrust = c.get(&path)?;
    print!("{}", current.summary);
    match current.state {
        TrustState::None => return Ok(()),
        TrustState::Trusted if allow_env.is_empty() => {
            println!("Already approved.");
            return Ok(());
        }
        _ => {}
    }
    if !yes {
        let stdin = std::io::stdin();
        if !stdin.is_terminal() {
            bail!(
                "not approved: standard input is not a terminal to ask on. Review the text above, then run `grove repo trust {} --yes`",
                repo.name
            );
        }
        print!("Approve this config for {}? [y/N] ", repo.name);
        std::io::stdout().flush()?;
        let mut answer = String::new();
        stdin.lock().read_line(&mut answer)?;
        if !matches!(answer.trim(), "y" | "Y" | "yes" | "Yes") {
            bail!("not approved; nothing changed");
        }
    }
    let trust: RepoTrust = c.put(
        &path,
        &TrustRequest {
            hash: current.hash,
            allow_env,
        },
    )?;
    let withheld: Vec<&String> = trust
        .dangerous_env
        .iter()
        .filter(|k| !trust.allowed_env.contains(k))
        .collect();
    println!("Approved grove.toml of {}.", repo.name);
    for k in withheld {
        println!(
            "Not applied: {k} (changes how programs load code; allow it with --allow-env {k})"
        );
    }
    Ok(())
}

/// Revokes the approval: new sessions are refused until it is approved again.
pub fn untrust(c: &Client, key: &str) -> anyhow::Result<()> {
    let repo = c.resolve_repo(key)?;
    let _: RepoTrust = c.delete(&format!("/repos/{}/trust", repo.id))?;
    println!(
        "grove.toml of {} is no longer approved: new sessions are refused until you approve it again.",
        repo.name
    );
    Ok(())
}
