//! `grove remote add|list|rm`: the remote servers this Grove relays to its UI and CLI
//! (`--server NAME` on the other commands).

use std::io::{IsTerminal, Read};
use std::path::Path;

use anyhow::{Context, bail};
use grove_orchestrator::server::access::Token;
use grove_orchestrator::wire::{AddRemoteRequest, Remote, RemoteState, SecretText};

use super::client::Client;

/// The remote's token: from `--token-file` (mode 0600, like `grove serve --token-file`), else
/// typed without echo, else stdin.
fn read_token(file: Option<&Path>) -> anyhow::Result<SecretText> {
    if let Some(path) = file {
        let token = Token::from_file(path)?;
        return Ok(SecretText::new(token.expose()));
    }
    if std::io::stdin().is_terminal() {
        let t = rpassword::prompt_password("The remote's token (its --token-file): ")
            .context("could not read from the terminal")?;
        return Ok(SecretText::new(t.trim()));
    }
    let mut text = String::new();
    std::io::stdin()
        .read_to_string(&mut text)
        .context("could not read the token from stdin")?;
    let text = text.trim();
    if text.is_empty() {
        bail!(
            "no token: pass --token-file FILE (the remote's `grove serve --token-file`) or pipe it in"
        );
    }
    Ok(SecretText::new(text))
}

fn state(r: &Remote) -> &'static str {
    match r.state {
        RemoteState::Connecting => "connecting",
        RemoteState::Connected => "connected",
        RemoteState::Offline => "offline",
        RemoteState::Unauthorized => "token refused",
        RemoteState::FingerprintMismatch => "REFUSED: certificate changed",
        RemoteState::Incompatible => "incompatible",
        RemoteState::HostKeyUnknown => "unknown SSH host key",
        RemoteState::Locked => "vault locked",
    }
}

pub fn add(
    c: &Client,
    name: &str,
    url: &str,
    token_file: Option<&Path>,
    fingerprint: Option<String>,
    remote_port: Option<u16>,
) -> anyhow::Result<()> {
    let token = read_token(token_file)?;
    let remote: Remote = c.post(
        "/remotes",
        &AddRemoteRequest {
            name: name.to_owned(),
            url: url.to_owned(),
            token,
            fingerprint: fingerprint.clone(),
            remote_port,
        },
    )?;
    println!("added remote {} ({})", remote.name, remote.url);
    match (&remote.fingerprint, fingerprint) {
        (Some(fp), None) => println!(
            "pinned its certificate, SHA-256 {fp}\n  check that it matches what `grove serve --tls-self-signed` printed there"
        ),
        (Some(fp), Some(_)) => println!("pinned its certificate, SHA-256 {fp}"),
        (None, _) if url.starts_with("https://") => {
            println!("its certificate is trusted by the system's roots")
        }
        _ => {}
    }
    println!("use it with `grove session list --server {}`", remote.name);
    Ok(())
}

pub fn list(c: &Client, json: bool) -> anyhow::Result<()> {
    let remotes: Vec<Remote> = c.get("/remotes")?;
    if json {
        println!("{}", serde_json::to_string_pretty(&remotes)?);
        return Ok(());
    }
    if remotes.is_empty() {
        println!("no remote servers (add one with `grove remote add NAME URL --token-file FILE`)");
        return Ok(());
    }
    for r in &remotes {
        let port = r
            .remote_port
            .map(|p| format!(" → :{p}"))
            .unwrap_or_default();
        println!("{:<16} {}{port}  {}", r.name, r.url, state(r));
        if let Some(d) = &r.detail {
            println!("{:<16} {d}", "");
        }
        if let Some(fp) = &r.fingerprint {
            println!("{:<16} SHA-256 {fp}", "");
        }
    }
    Ok(())
}

pub fn rm(c: &Client, name: &str) -> anyhow::Result<()> {
    let _: serde_json::Value = c.delete(&format!("/remotes/{name}"))?;
    println!("removed remote {name} (its token is deleted from the vault)");
    Ok(())
}
