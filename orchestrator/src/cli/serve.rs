//! `grove serve`.

use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use grove_orchestrator::server::access::Token;
use grove_orchestrator::server::{
    self, ServeError, ServeOptions, ServerFile, ServerInfo, TlsFiles,
};
use grove_orchestrator::vault::SecretString;
use grove_orchestrator::{Grove, GroveConfig};

use crate::ServeArgs;

pub fn run(data_dir: &Path, args: ServeArgs) -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("GROVE_LOG").unwrap_or_else(|_| {
                tracing_subscriber::EnvFilter::new("warn,grove_orchestrator=info")
            }),
        )
        .init();
    let tls = match (args.tls_cert, args.tls_key) {
        (Some(cert), Some(key)) => Some(TlsFiles { cert, key }),
        _ => None,
    };
    // Refuse an open plain-text listener before touching any state.
    if !args.host.is_loopback() && tls.is_none() && !args.tls_self_signed {
        return Err(ServeError::PlainNonLoopback { host: args.host }.into());
    }
    let token = args
        .token_file
        .as_deref()
        .map(Token::from_file)
        .transpose()?;
    // Read (and refused unless private) before anything starts.
    let vault_passphrase = args
        .vault_passphrase_file
        .as_deref()
        .map(read_passphrase_file)
        .transpose()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("grove-rt")
        .build()
        .context("could not start the async runtime")?;
    runtime.block_on(async move {
        let mut config = GroveConfig::new(data_dir);
        config.idle_after = Duration::from_secs(args.idle_after.max(1));
        config.worktree_root = args.worktree_root;
        config.branch_prefix = args.branch_prefix;
        config.vault_keychain = args.vault_keychain;
        config.github_poll = Duration::from_millis(args.github_poll_ms.max(100));
        config.watch = (!args.no_watch).then(|| grove_orchestrator::watch::WatchOptions {
            max_watches: args.watch_limit,
            ..Default::default()
        });
        if let Some(budget) = &args.read_budget {
            config.read_budget = parse_read_budget(budget)?;
        }
        config.lower_flood_priority = !args.no_flood_priority;
        let grove = Grove::open(config)?;
        // Made or reused only now that the data dir is this process's (Grove::open locks it).
        let (tls, fingerprint) = match tls {
            Some(files) => (Some(files), None),
            None if args.tls_self_signed => {
                match self_signed(data_dir, &args.host, &args.allow_hosts) {
                    Ok((files, fingerprint)) => {
                        let cert = files.cert.clone();
                        (Some(files), Some((fingerprint, cert)))
                    }
                    Err(e) => {
                        let g = grove.clone();
                        let _ = tokio::task::spawn_blocking(move || g.shutdown()).await;
                        return Err(e);
                    }
                }
            }
            None => (None, None),
        };
        if let (Some(pass), Some(file)) = (&vault_passphrase, &args.vault_passphrase_file) {
            let g = grove.clone();
            let pass = pass.clone();
            let unlocked = tokio::task::spawn_blocking(move || g.unlock_vault(&pass))
                .await
                .context("the vault unlock stopped")?;
            if let Err(e) = unlocked {
                let g = grove.clone();
                let _ = tokio::task::spawn_blocking(move || g.shutdown()).await;
                return Err(anyhow::anyhow!(
                    "could not unlock the vault with {}: {e}",
                    file.display()
                ));
            }
        }
        let opts = ServeOptions {
            host: args.host,
            port: args.port,
            tls,
            token,
            allow_origins: args.allow_origins,
            allow_hosts: args.allow_hosts,
            ping_interval: Duration::from_secs(args.ping_interval.max(1)),
        };
        let result = match server::start(&grove, opts).await {
            Ok(running) => {
                let pinned = match &fingerprint {
                    // The CLI trusts exactly this certificate (see cli::client).
                    Some((fingerprint, cert)) => {
                        let mut file = ServerFile::for_this_process(running.info());
                        file.fingerprint = Some(fingerprint.to_string());
                        file.tls_cert =
                            Some(std::path::absolute(cert).unwrap_or_else(|_| cert.clone()));
                        let path = grove.server_file();
                        file.write(&path)
                            .map_err(|source| ServeError::ServerFile { path, source })
                    }
                    None => Ok(()),
                };
                match pinned {
                    Ok(()) => {
                        announce(running.info());
                        if let Some((fingerprint, _)) = &fingerprint {
                            announce_fingerprint(fingerprint);
                        }
                        running.serve_until(shutdown_signal()).await
                    }
                    Err(e) => {
                        let _ = running.stop().await;
                        Err(e)
                    }
                }
            }
            Err(e) => Err(e),
        };
        let g = grove.clone();
        let _ = tokio::task::spawn_blocking(move || g.shutdown()).await;
        result?;
        Ok(())
    })
}

/// `--tls-self-signed`: the data dir's certificate, covering the address listened on (when it is
/// one address) and every `--allow-host`.
#[cfg(feature = "tls")]
fn self_signed(
    data_dir: &Path,
    host: &std::net::IpAddr,
    allow_hosts: &[String],
) -> anyhow::Result<(TlsFiles, grove_orchestrator::remote::tls::Fingerprint)> {
    let mut hosts = allow_hosts.to_vec();
    if !host.is_loopback() && !host.is_unspecified() {
        hosts.push(host.to_string());
    }
    Ok(server::self_signed::ensure(data_dir, &hosts)?)
}

#[cfg(not(feature = "tls"))]
fn self_signed(
    _data_dir: &Path,
    _host: &std::net::IpAddr,
    _allow_hosts: &[String],
) -> anyhow::Result<(TlsFiles, grove_orchestrator::remote::tls::Fingerprint)> {
    anyhow::bail!(
        "this build of Grove has no TLS support (built without the `tls` feature): --tls-self-signed needs a default build"
    )
}

/// The vault passphrase from a file that only its owner can read (one line; a trailing newline
/// is not part of it).
fn read_passphrase_file(path: &Path) -> anyhow::Result<SecretString> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let meta = fs_err::metadata(path)?;
        let mode = meta.mode() & 0o777;
        if mode & 0o077 != 0 {
            anyhow::bail!(
                "vault passphrase file {} can be read by others (mode {mode:o}); it must be mode 0600: run `chmod 600 {}`",
                path.display(),
                path.display()
            );
        }
        // SAFETY: geteuid cannot fail and touches no memory.
        let me = unsafe { libc::geteuid() };
        if meta.uid() != me {
            anyhow::bail!(
                "vault passphrase file {} belongs to uid {}, not you (uid {me}): use a file of your own, mode 0600",
                path.display(),
                meta.uid()
            );
        }
    }
    let mut text = fs_err::read_to_string(path)?;
    if text.ends_with('\n') {
        text.pop();
        if text.ends_with('\r') {
            text.pop();
        }
    }
    if text.is_empty() {
        anyhow::bail!("vault passphrase file {} is empty", path.display());
    }
    Ok(SecretString::from(text))
}

/// The first line on stdout. The token is a password: it goes into the URL only when a person is
/// watching (stdout is a terminal), never into a pipe or a log file; `grove open` gives the full
/// URL to the user any time.
fn announce(info: &ServerInfo) {
    use std::io::{IsTerminal, Write};
    let mut out = std::io::stdout();
    if out.is_terminal() {
        println!("Grove is serving at {}", info.browser_url());
    } else {
        println!(
            "Grove is serving at {} (`grove open` opens it with its token, `grove open --print` prints that URL)",
            info.url
        );
    }
    let _ = out.flush();
}

/// The line after the first, with `--tls-self-signed`: what `grove remote add --fingerprint`
/// takes on the other machine. Tests read this exact prefix.
fn announce_fingerprint(fingerprint: &grove_orchestrator::remote::tls::Fingerprint) {
    use std::io::Write;
    println!("TLS certificate fingerprint (SHA-256): {fingerprint}");
    let _ = std::io::stdout().flush();
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}

/// `--read-budget`: `off`, or `PER_TERMINAL,OVERALL,BURST` in KiB/s and KiB.
fn parse_read_budget(text: &str) -> anyhow::Result<Option<grove_pty::ReadBudget>> {
    if text == "off" {
        return Ok(None);
    }
    let kib: Vec<u64> = text
        .split(',')
        .map(|v| v.trim().parse::<u64>().map(|v| v * 1024))
        .collect::<Result<_, _>>()
        .map_err(|_| anyhow::anyhow!("--read-budget takes `off` or PER_TERMINAL,OVERALL,BURST in KiB/s and KiB, not `{text}`"))?;
    match kib[..] {
        [per_terminal, overall, burst] => Ok(Some(grove_pty::ReadBudget {
            per_terminal,
            overall,
            burst,
        })),
        _ => anyhow::bail!(
            "--read-budget takes `off` or PER_TERMINAL,OVERALL,BURST in KiB/s and KiB, not `{text}`"
        ),
    }
}
