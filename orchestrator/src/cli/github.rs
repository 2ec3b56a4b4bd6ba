//! `grove github login|status|logout`, `grove push` and `grove pr create|status`: GitHub through
//! the running server, like the UI. Tokens are read from stdin (or `gh auth token`), never from
//! the command line.

use std::io::{IsTerminal, Read, Write};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use grove_orchestrator::wire::{
    ChecksState, CreatePullRequest, GithubStatus, PullCreated, PullState, PullStatus, PushRequest,
    PushResult, ReviewDecision, SecretText, StartLoginRequest, TokenLoginRequest,
};

use super::client::Client;

fn describe(s: &GithubStatus) -> String {
    if s.signed_in {
        let scopes = if s.scopes.is_empty() {
            "no classic scopes (a fine-grained token?)".to_owned()
        } else {
            format!("scopes: {}", s.scopes.join(", "))
        };
        format!(
            "signed in to {} as {} ({scopes})",
            s.host,
            s.login.as_deref().unwrap_or("?")
        )
    } else {
        format!("not signed in to {}", s.host)
    }
}

pub fn status(c: &Client, json: bool) -> anyhow::Result<()> {
    let s: GithubStatus = c.get("/github")?;
    if json {
        println!("{}", serde_json::to_string_pretty(&s)?);
        return Ok(());
    }
    println!("{}", describe(&s));
    if let Some(p) = &s.problem {
        println!("note: {p}");
    }
    Ok(())
}

pub fn logout(c: &Client) -> anyhow::Result<()> {
    let s: GithubStatus = c.post("/github/logout", &serde_json::json!({}))?;
    println!("{}; the token was deleted from the vault", describe(&s));
    Ok(())
}

/// Signs in: a token on stdin (`--with-token`), the `gh` CLI's token (`--from-gh`, after
/// asking), or the device flow (the default).
pub fn login(
    c: &Client,
    with_token: bool,
    from_gh: bool,
    yes: bool,
    workflow: bool,
) -> anyhow::Result<()> {
    let before: GithubStatus = c.get("/github")?;
    let mut scopes = vec!["repo"];
    if workflow {
        scopes.push("workflow");
    }
    if with_token {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .context("could not read the token from stdin")?;
        let token = text.trim().to_owned();
        if token.is_empty() {
            bail!(
                "no token on stdin: pipe one in, e.g. `gh auth token | grove github login --with-token`"
            );
        }
        return finish_token(c, token);
    }
    if from_gh {
        if !yes {
            if !std::io::stdin().is_terminal() {
                bail!(
                    "importing gh's token needs your consent: run it on a terminal, or add --yes"
                );
            }
            print!(
                "Import the GitHub CLI's token for {} into Grove's vault? [y/N] ",
                before.host
            );
            std::io::stdout().flush()?;
            let mut answer = String::new();
            std::io::stdin().read_line(&mut answer)?;
            if !matches!(answer.trim(), "y" | "Y" | "yes") {
                bail!("not imported; nothing changed");
            }
        }
        // The running Grove asks its own machine's gh: where the pushes happen.
        let s: GithubStatus = c.post("/github/login/gh", &serde_json::json!({}))?;
        println!("{}", describe(&s));
        return Ok(());
    }
    println!(
        "Grove asks GitHub ({}) for these scopes: {}",
        before.host,
        scopes.join(", ")
    );
    let started: GithubStatus = c.post("/github/login/device", &StartLoginRequest { workflow })?;
    let Some(device) = started.device else {
        bail!("GitHub did not hand out a device code; try again");
    };
    println!(
        "Open {} and enter the code {}",
        device.verification_uri, device.user_code
    );
    let deadline = Instant::now() + Duration::from_secs(20 * 60);
    loop {
        std::thread::sleep(Duration::from_millis(500));
        let s: GithubStatus = c.get("/github")?;
        if s.signed_in {
            println!("{}", describe(&s));
            return Ok(());
        }
        if s.device.is_none() {
            bail!(
                "{}",
                s.problem
                    .unwrap_or_else(|| "the sign-in was cancelled".to_owned())
            );
        }
        if Instant::now() > deadline {
            bail!("gave up waiting for the sign-in");
        }
    }
}

fn finish_token(c: &Client, token: String) -> anyhow::Result<()> {
    let s: GithubStatus = c.post(
        "/github/login/token",
        &TokenLoginRequest {
            token: SecretText::new(token),
        },
    )?;
    println!("{}", describe(&s));
    Ok(())
}

pub fn push(
    c: &Client,
    name: &str,
    repo: Option<&str>,
    force_with_lease: bool,
) -> anyhow::Result<()> {
    let s = c.resolve_session(name, repo)?;
    let r: PushResult = c.post(
        &format!("/sessions/{}/push", s.id),
        &PushRequest { force_with_lease },
    )?;
    if r.up_to_date {
        println!("{} is up to date on {}", r.branch, r.remote);
    } else {
        println!("pushed {} to {} ({})", r.branch, r.remote, short(&r.sha));
    }
    Ok(())
}

pub fn pr_create(
    c: &Client,
    name: &str,
    repo: Option<&str>,
    title: String,
    body: Option<String>,
    base: Option<String>,
    draft: bool,
) -> anyhow::Result<()> {
    let s = c.resolve_session(name, repo)?;
    let r: PullCreated = c.post(
        &format!("/sessions/{}/pr", s.id),
        &CreatePullRequest {
            title,
            body,
            base,
            draft,
        },
    )?;
    println!("{}", r.pull.url);
    if r.existed {
        eprintln!(
            "A pull request already exists for this branch: #{} (linked to the session)",
            r.pull.number
        );
    }
    Ok(())
}

pub fn pr_status(c: &Client, name: &str, repo: Option<&str>, json: bool) -> anyhow::Result<()> {
    let s = c.resolve_session(name, repo)?;
    let p: PullStatus = c.get(&format!("/sessions/{}/pr", s.id))?;
    if json {
        println!("{}", serde_json::to_string_pretty(&p)?);
        return Ok(());
    }
    let state = match p.state {
        PullState::Open => "open",
        PullState::Draft => "draft",
        PullState::Merged => "merged",
        PullState::Closed => "closed",
    };
    let review = match p.review {
        ReviewDecision::None => "no review decision",
        ReviewDecision::Approved => "approved",
        ReviewDecision::ChangesRequested => "changes requested",
    };
    println!(
        "#{} {} ({state}, {review}, checks {})",
        p.number,
        p.title,
        checks(p.checks)
    );
    println!("{}", p.url);
    for item in &p.check_items {
        println!(
            "  {:8} {}{}",
            checks(item.state),
            item.name,
            item.url
                .as_deref()
                .map(|u| format!("  {u}"))
                .unwrap_or_default()
        );
    }
    Ok(())
}

fn checks(c: ChecksState) -> &'static str {
    match c {
        ChecksState::None => "none",
        ChecksState::Pending => "pending",
        ChecksState::Passing => "passing",
        ChecksState::Failing => "failing",
    }
}

fn short(sha: &str) -> &str {
    sha.get(..10).unwrap_or(sha)
}
