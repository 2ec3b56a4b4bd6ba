//! `grove vault ...` and `grove secret ...`: the vault and its secrets through the running
//! server. Passphrases and values are read from the terminal without echo, or from stdin when it
//! is not a terminal; never from the command line (argv is visible to every user of the machine
//! in `ps`).

use std::io::{IsTerminal, Read};

use anyhow::{Context, bail};
use grove_orchestrator::wire::{
    ChangePassphraseRequest, ExposeSecretRequest, Repo, SecretExposure, SecretInfo, SecretText,
    SetSecretRequest, UnlockVaultRequest, VaultState, VaultStatus,
};

use super::client::Client;

/// One line typed without echo on the terminal.
fn prompt(label: &str) -> anyhow::Result<SecretText> {
    let text = rpassword::prompt_password(label).context("could not read from the terminal")?;
    Ok(SecretText::new(text))
}

/// All of stdin, without one trailing newline.
fn stdin_text(what: &str) -> anyhow::Result<String> {
    let mut text = String::new();
    std::io::stdin()
        .read_to_string(&mut text)
        .with_context(|| format!("could not read the {what} from stdin"))?;
    if text.ends_with('\n') {
        text.pop();
        if text.ends_with('\r') {
            text.pop();
        }
    }
    Ok(text)
}

fn stdin_is_tty() -> bool {
    std::io::stdin().is_terminal()
}

/// A new passphrase: typed twice on a terminal, one line of stdin otherwise.
fn new_passphrase(label: &str) -> anyhow::Result<SecretText> {
    if !stdin_is_tty() {
        return Ok(SecretText::new(stdin_text("passphrase")?));
    }
    let first = prompt(label)?;
    let again = prompt("Type it again: ")?;
    use secrecy::ExposeSecret;
    if first.0.expose_secret() != again.0.expose_secret() {
        bail!("the two passphrases differ; nothing was changed");
    }
    Ok(first)
}

fn describe(status: &VaultStatus) -> &'static str {
    match status.state {
        VaultState::Uninitialized => "no vault yet (`grove vault unlock` creates it)",
        VaultState::Locked => "locked",
        VaultState::Unlocked => "unlocked",
    }
}

pub fn status(c: &Client) -> anyhow::Result<()> {
    let status: VaultStatus = c.get("/vault")?;
    println!("vault: {}", describe(&status));
    Ok(())
}

pub fn unlock(c: &Client) -> anyhow::Result<()> {
    let status: VaultStatus = c.get("/vault")?;
    let creating = status.state == VaultState::Uninitialized;
    let passphrase = if creating {
        new_passphrase("New vault passphrase: ")?
    } else if stdin_is_tty() {
        prompt("Vault passphrase: ")?
    } else {
        SecretText::new(stdin_text("passphrase")?)
    };
    let _: VaultStatus = c.post("/vault/unlock", &UnlockVaultRequest { passphrase })?;
    println!(
        "{}",
        if creating {
            "vault created and unlocked"
        } else {
            "vault unlocked"
        }
    );
    Ok(())
}

pub fn lock(c: &Client) -> anyhow::Result<()> {
    let _: VaultStatus = c.post("/vault/lock", &serde_json::json!({}))?;
    println!("vault locked");
    Ok(())
}

/// Current and new passphrase: prompted on a terminal; two lines of stdin otherwise.
pub fn passphrase(c: &Client) -> anyhow::Result<()> {
    let (current, new) = if stdin_is_tty() {
        (
            prompt("Current vault passphrase: ")?,
            new_passphrase("New vault passphrase: ")?,
        )
    } else {
        let text = stdin_text("passphrases")?;
        let mut lines = text.lines();
        match (lines.next(), lines.next(), lines.next()) {
            (Some(cur), Some(new), None) => (SecretText::new(cur), SecretText::new(new)),
            _ => bail!("give the current and the new passphrase on stdin, one per line"),
        }
    };
    let _: VaultStatus = c.post(
        "/vault/passphrase",
        &ChangePassphraseRequest { current, new },
    )?;
    println!("vault passphrase changed");
    Ok(())
}

pub fn secret_set(c: &Client, name: &str) -> anyhow::Result<()> {
    let value = if stdin_is_tty() {
        prompt(&format!("Value of {name}: "))?
    } else {
        SecretText::new(stdin_text("value")?)
    };
    let info: SecretInfo = c.put(&format!("/secrets/{name}"), &SetSecretRequest { value })?;
    println!("set {}", info.name);
    Ok(())
}

pub fn secret_list(c: &Client, json: bool) -> anyhow::Result<()> {
    let secrets: Vec<SecretInfo> = c.get("/secrets")?;
    if json {
        println!("{}", serde_json::to_string_pretty(&secrets)?);
        return Ok(());
    }
    let repos: Vec<Repo> = c.get("/repos")?;
    let repo_name = |id: i64| {
        repos
            .iter()
            .find(|r| r.id == id)
            .map(|r| r.name.clone())
            .unwrap_or_else(|| id.to_string())
    };
    for s in secrets {
        let exposed: Vec<String> = s
            .exposed
            .iter()
            .map(|e| format!("{} as {}", repo_name(e.repo_id), e.var))
            .collect();
        println!(
            "{}\tset {}\t{}",
            s.name,
            format_time(s.set_at),
            if exposed.is_empty() {
                "not exposed".to_owned()
            } else {
                format!("exposed to {}", exposed.join(", "))
            }
        );
    }
    Ok(())
}

pub fn secret_rm(c: &Client, name: &str) -> anyhow::Result<()> {
    let _: serde_json::Value = c.delete(&format!("/secrets/{name}"))?;
    println!("deleted {name} (and where it was exposed)");
    Ok(())
}

pub fn secret_expose(
    c: &Client,
    name: &str,
    repo: &str,
    var: Option<String>,
) -> anyhow::Result<()> {
    let repo = c.resolve_repo(repo)?;
    let e: SecretExposure = c.post(
        "/exposures",
        &ExposeSecretRequest {
            repo_id: repo.id,
            secret: name.to_owned(),
            var,
        },
    )?;
    println!(
        "{} goes into {}'s terminals as {} (from each terminal's next start)",
        e.secret, repo.name, e.var
    );
    Ok(())
}

pub fn secret_unexpose(
    c: &Client,
    name: &str,
    repo: &str,
    var: Option<String>,
) -> anyhow::Result<()> {
    let repo = c.resolve_repo(repo)?;
    let all: Vec<SecretExposure> = c.get("/exposures")?;
    let vars: Vec<String> = all
        .into_iter()
        .filter(|e| e.repo_id == repo.id && e.secret == name)
        .map(|e| e.var)
        .filter(|v| var.as_ref().is_none_or(|want| want == v))
        .collect();
    if vars.is_empty() {
        bail!(
            "{name} is not exposed to {}{}",
            repo.name,
            var.map(|v| format!(" as {v}")).unwrap_or_default()
        );
    }
    for v in vars {
        let _: serde_json::Value = c.delete(&format!("/repos/{}/exposures/{v}", repo.id))?;
        println!(
            "{name} no longer goes into {}'s terminals as {v} (from each terminal's next start)",
            repo.name
        );
    }
    Ok(())
}

/// Milliseconds since the epoch as `YYYY-MM-DD HH:MM UTC`.
fn format_time(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02} UTC",
        rem / 3600,
        (rem % 3600) / 60
    )
}
