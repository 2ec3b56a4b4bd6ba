//! The `grove` binary: `grove serve` runs the process that owns a data dir and its sessions; every
//! other command talks to that running process over its HTTP API.

// A command-line program reports on stdout.
#![allow(clippy::print_stdout)]

mod cli;

use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "grove",
    version,
    about = "Run many AI coding sessions side by side, each in its own git worktree."
)]
struct Cli {
    /// Grove's data dir (state, logs, worktrees). Default: the OS app-data dir.
    #[arg(long, global = true, env = "GROVE_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Run the command on this remote server (`grove remote list`), through the local Grove.
    #[arg(long, global = true, value_name = "NAME")]
    server: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run Grove: own the data dir, keep sessions running, serve the API and UI.
    Serve(ServeArgs),
    /// Add, list or forget repositories.
    #[command(subcommand)]
    Repo(RepoCommand),
    /// Create, list, archive, restore or delete sessions.
    #[command(subcommand)]
    Session(SessionCommand),
    /// List a session's changed files against its base (untracked included, ignored excluded).
    Changes {
        /// Session name.
        name: String,
        #[arg(long)]
        repo: Option<String>,
        /// Print `{"files": [...]}` as JSON.
        #[arg(long)]
        json: bool,
        /// Only what is not committed yet (against HEAD).
        #[arg(long)]
        uncommitted: bool,
    },
    /// Print a session's unified diff against its base (untracked files included).
    Diff {
        /// Session name.
        name: String,
        /// Only these files.
        paths: Vec<String>,
        #[arg(long)]
        repo: Option<String>,
        /// Only what is not committed yet (against HEAD).
        #[arg(long)]
        uncommitted: bool,
    },
    /// Commit a session's work with `git commit` (hooks and signing apply).
    Commit {
        /// Session name.
        name: String,
        /// The commit message.
        #[arg(short, long)]
        message: String,
        /// Commit every change, untracked files included.
        #[arg(long, conflicts_with = "paths")]
        all: bool,
        /// Commit only these files.
        paths: Vec<String>,
        /// Replace the last commit (only if it is not pushed).
        #[arg(long)]
        amend: bool,
        #[arg(long)]
        repo: Option<String>,
    },
    /// Revert a changed file (or one hunk of it) to the base; `grove undo` puts it back.
    Revert {
        /// Session name.
        name: String,
        /// The file, as `grove changes` lists it.
        path: String,
        /// Only this hunk, by its header as `grove diff` prints it (`@@ -12,4 +12,6 @@`).
        #[arg(long)]
        hunk: Option<String>,
        /// Revert to HEAD (discard uncommitted work only) instead of the base.
        #[arg(long)]
        uncommitted: bool,
        #[arg(long)]
        repo: Option<String>,
    },
    /// Undo a revert: the latest, or the one `--id` names.
    Undo {
        /// Session name.
        name: String,
        /// The undo id `grove revert` printed.
        #[arg(long)]
        id: Option<String>,
        #[arg(long)]
        repo: Option<String>,
    },
    /// Type a review comment into the session's agent terminal (as a paste; nothing is
    /// submitted until you press Enter there).
    Comment {
        /// Session name.
        name: String,
        /// Where: `PATH:LINE` or `PATH:FIRST-LAST`.
        at: String,
        /// The comment.
        #[arg(short, long)]
        message: String,
        #[arg(long)]
        repo: Option<String>,
    },
    /// The vault that keeps secrets: status, unlock, lock, change its passphrase.
    #[command(subcommand)]
    Vault(VaultCommand),
    /// Secrets in the vault (values from stdin, never the command line) and which repositories'
    /// terminals get them.
    #[command(subcommand)]
    Secret(SecretCommand),
    /// Sign in to GitHub, see who is signed in, sign out.
    #[command(subcommand)]
    Github(GithubCommand),
    /// Push a session's branch (the signed-in GitHub token is lent to git for this push only).
    Push {
        /// Session name.
        name: String,
        /// Replace the remote branch if it is still where this repository last saw it.
        #[arg(long)]
        force_with_lease: bool,
        #[arg(long)]
        repo: Option<String>,
    },
    /// Open a session's pull request, or see where it stands.
    #[command(subcommand)]
    Pr(PrCommand),
    /// Remote Grove servers shown beside this one (over pinned TLS or an SSH tunnel).
    #[command(subcommand)]
    Remote(RemoteCommand),
    /// Open the running Grove in the browser (the URL carries the token; `grove serve` prints it
    /// only on a terminal).
    Open {
        /// Print the URL instead of opening it.
        #[arg(long)]
        print: bool,
    },
    /// Attach this terminal to a session's terminal. Detach with Ctrl-].
    Attach {
        /// Session name.
        name: String,
        #[arg(long)]
        repo: Option<String>,
        /// Which terminal of the session (1 = the agent).
        #[arg(long, default_value_t = 1)]
        terminal: usize,
    },
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on. Anything but loopback requires TLS (--tls-cert and --tls-key, or
    /// --tls-self-signed).
    #[arg(long, default_value = "127.0.0.1")]
    host: IpAddr,
    /// Port (0 = pick a free one).
    #[arg(long, default_value_t = 0)]
    port: u16,
    #[arg(long, requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Serve TLS with a self-signed certificate kept in the data dir (made on first use; the same
    /// across restarts). Its SHA-256 fingerprint is printed, for `grove remote add --fingerprint`.
    #[arg(long, conflicts_with_all = ["tls_cert", "tls_key"])]
    tls_self_signed: bool,
    /// Read the token from this file (mode 0600) instead of generating one.
    #[arg(long)]
    token_file: Option<PathBuf>,
    /// Another Origin allowed to use the API (exact match), e.g. https://grove.example.
    #[arg(long = "allow-origin")]
    allow_origins: Vec<String>,
    /// Another Host name allowed (besides localhost, 127.0.0.1, [::1]).
    #[arg(long = "allow-host")]
    allow_hosts: Vec<String>,
    /// Seconds without output after which a terminal counts as idle.
    #[arg(long, default_value_t = 5)]
    idle_after: u64,
    /// At most this many file watches per session; reaching it behaves like the system's inotify
    /// limit (the session is rescanned every few seconds). For tests and diagnosis.
    #[arg(long, hide = true)]
    watch_limit: Option<usize>,
    /// Watch no worktree: no live change summaries, drift checked only on request. For
    /// benchmarks and diagnosis.
    #[arg(long, hide = true)]
    no_watch: bool,
    /// Milliseconds between checks of open pull requests (GitHub's answers are cached by ETag).
    #[arg(long, hide = true, default_value_t = 60_000)]
    github_poll_ms: u64,
    /// How fast a terminal no client is reading is read: `PER_TERMINAL,OVERALL,BURST` in KiB/s
    /// and KiB, or `off` for full speed. For benchmarks and diagnosis.
    #[arg(long, hide = true)]
    read_budget: Option<String>,
    /// Flooding terminals keep their normal scheduling: their readers are not made
    /// `SCHED_BATCH`, their programs' autogroups not niced. For benchmarks and diagnosis.
    #[arg(long, hide = true)]
    no_flood_priority: bool,
    /// Where worktrees go (default: <data dir>/worktrees).
    #[arg(long)]
    worktree_root: Option<PathBuf>,
    /// Prefix of session branches.
    #[arg(long, default_value = "grove/")]
    branch_prefix: String,
    /// Unlock the vault at start with the passphrase in this file (mode 0600; one line).
    #[arg(long, env = "GROVE_VAULT_PASSPHRASE_FILE")]
    vault_passphrase_file: Option<PathBuf>,
    /// Keep the vault's key in the OS keychain (Secret Service, Keychain, Credential Manager)
    /// and unlock it from there at start; without a reachable keychain the vault stays locked.
    #[arg(long, env = "GROVE_VAULT_KEYCHAIN")]
    vault_keychain: bool,
    /// Seconds between WebSocket pings (and TCP keepalive probes); a client silent for two
    /// intervals is dropped.
    #[arg(long, default_value_t = 10)]
    ping_interval: u64,
}

#[derive(Debug, Subcommand)]
enum GithubCommand {
    /// Sign in: with a device code (default), a token on stdin, or the GitHub CLI's token.
    Login {
        /// Read a token from stdin (scripts, fine-grained tokens).
        #[arg(long, conflicts_with = "from_gh")]
        with_token: bool,
        /// Import the token of an installed `gh` (`gh auth token`), after asking.
        #[arg(long)]
        from_gh: bool,
        /// Import without asking (with --from-gh).
        #[arg(long, requires = "from_gh")]
        yes: bool,
        /// Also ask for the `workflow` scope, so agents may change `.github/workflows`.
        #[arg(long)]
        workflow: bool,
    },
    /// Who is signed in, and the token's scopes.
    Status {
        #[arg(long)]
        json: bool,
    },
    /// Sign out: delete the token from the vault.
    Logout,
}

#[derive(Debug, Subcommand)]
enum RemoteCommand {
    /// Add a remote server: `https://host:port` (its certificate is pinned on first use) or
    /// `ssh://[user@]host[:port]` with `--remote-port` (your OpenSSH, keys and config).
    Add {
        name: String,
        url: String,
        /// The remote's token (the file its `grove serve --token-file` reads, mode 0600);
        /// without it the token is asked for, or read from stdin.
        #[arg(long)]
        token_file: Option<PathBuf>,
        /// Pin this SHA-256 fingerprint (as `grove serve --tls-self-signed` prints it) instead
        /// of the one presented now.
        #[arg(long)]
        fingerprint: Option<String>,
        /// With ssh://: the port the remote `grove serve` listens on (on its 127.0.0.1).
        #[arg(long)]
        remote_port: Option<u16>,
    },
    /// List remote servers and their state.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Remove a remote server (its token is deleted from the vault).
    Rm { name: String },
}

#[derive(Debug, Subcommand)]
enum PrCommand {
    /// Push the branch and open its pull request (prints its URL; an existing one is linked).
    Create {
        /// Session name.
        name: String,
        #[arg(long)]
        title: String,
        #[arg(long)]
        body: Option<String>,
        /// Default: the session's base branch.
        #[arg(long)]
        base: Option<String>,
        #[arg(long)]
        draft: bool,
        #[arg(long)]
        repo: Option<String>,
    },
    /// The pull request's state, review and checks.
    Status {
        /// Session name.
        name: String,
        #[arg(long)]
        json: bool,
        #[arg(long)]
        repo: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
enum RepoCommand {
    /// Add a git repository by path.
    Add { path: PathBuf },
    /// List repositories.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Forget a repository (touches no file).
    Remove { repo: String },
    /// Show what the repository's grove.toml will run and set, and approve exactly that.
    /// Nothing in it applies until it is approved, and again after every change.
    Trust {
        /// Repository: id, name or path.
        repo: String,
        /// Approve without asking (for scripts): review the printed text first.
        #[arg(long)]
        yes: bool,
        /// Let this environment key through although it changes how programs load code
        /// (LD_PRELOAD, NODE_OPTIONS, PATH, ...). Repeat for each key.
        #[arg(long = "allow-env", value_name = "KEY")]
        allow_env: Vec<String>,
    },
    /// Revoke the approval of the repository's grove.toml.
    Untrust {
        /// Repository: id, name or path.
        repo: String,
    },
}

#[derive(Debug, Subcommand)]
enum VaultCommand {
    /// Whether the vault exists and is unlocked.
    Status,
    /// Unlock the vault (the passphrase is read without echo, or from stdin); the first unlock
    /// creates the vault with that passphrase.
    Unlock,
    /// Forget the vault's key until the next unlock.
    Lock,
    /// Change the vault's passphrase (current and new: typed, or two lines of stdin).
    Passphrase,
}

#[derive(Debug, Subcommand)]
enum SecretCommand {
    /// Set a secret; its value is read from stdin (or typed without echo).
    Set { name: String },
    /// List secrets: names, when they were set and where they are exposed (never values).
    List {
        #[arg(long)]
        json: bool,
    },
    /// Delete a secret (and every exposure of it).
    Rm { name: String },
    /// Put a secret into the environment of a repository's terminals, from their next start.
    Expose {
        name: String,
        /// Repository: id, name or path.
        #[arg(long)]
        repo: String,
        /// The environment variable (default: the secret's name).
        #[arg(long = "as", value_name = "VAR")]
        var: Option<String>,
    },
    /// Stop putting a secret into a repository's terminals.
    Unexpose {
        name: String,
        /// Repository: id, name or path.
        #[arg(long)]
        repo: String,
        /// Only this variable (default: every variable the secret is exposed as there).
        #[arg(long = "as", value_name = "VAR")]
        var: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
enum SessionCommand {
    /// Create a session: a branch and worktree from a base, and its agent terminal.
    New {
        /// Repository: id, name or path.
        #[arg(long)]
        repo: String,
        /// Session name (default: one picked for you from the base branch and a word; the
        /// name it got is printed).
        #[arg(long)]
        name: Option<String>,
        /// Branch, tag or commit to start from (default: the repo's current branch).
        #[arg(long)]
        base: Option<String>,
        /// Agent command (default: the approved grove.toml's agent, else your shell).
        #[arg(long)]
        command: Option<String>,
        /// Use the session's branch if it already exists.
        #[arg(long)]
        use_existing_branch: bool,
    },
    /// List sessions.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Remove a session's worktree, keeping its branch.
    Archive {
        name: String,
        #[arg(long)]
        repo: Option<String>,
        /// Archive even with uncommitted, untracked or unpushed work (it is lost).
        #[arg(long)]
        force: bool,
    },
    /// Re-create an archived session's worktree and restart its agent.
    Restore {
        name: String,
        #[arg(long)]
        repo: Option<String>,
    },
    /// Archive and delete the branch (only if merged, unless --force).
    Delete {
        name: String,
        #[arg(long)]
        repo: Option<String>,
        #[arg(long)]
        force: bool,
    },
}

fn main() -> ExitCode {
    // git runs Grove as its credential helper for the pushes Grove makes (see
    // `github::credential`); that is not a user command, so it bypasses the parser.
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some(grove_orchestrator::github::credential::HELPER_ARG) {
        let code = grove_orchestrator::github::credential::helper_main(&args[2..]);
        return ExitCode::from(u8::try_from(code).unwrap_or(1));
    }
    let cli = Cli::parse();
    let data_dir = match cli
        .data_dir
        .clone()
        .map(Ok)
        .unwrap_or_else(grove_orchestrator::data_dir::default_root)
    {
        Ok(d) => d,
        Err(e) => {
            eprintln!("grove: {e}");
            return ExitCode::FAILURE;
        }
    };
    let server = cli.server.clone();
    if server.is_some()
        && matches!(
            cli.command,
            Command::Serve(_) | Command::Remote(_) | Command::Open { .. }
        )
    {
        eprintln!(
            "grove: --server applies to commands on sessions, repositories and their work, not to `serve`, `remote` or `open`"
        );
        return ExitCode::FAILURE;
    }
    let connect = |data_dir: &std::path::Path| {
        cli::client::Client::connect(data_dir).map(|c| c.on_server(server.as_deref()))
    };
    let result = match cli.command {
        Command::Serve(args) => cli::serve::run(&data_dir, args),
        Command::Remote(cmd) => cli::client::Client::connect(&data_dir).and_then(|c| match cmd {
            RemoteCommand::Add {
                name,
                url,
                token_file,
                fingerprint,
                remote_port,
            } => cli::remote::add(
                &c,
                &name,
                &url,
                token_file.as_deref(),
                fingerprint,
                remote_port,
            ),
            RemoteCommand::List { json } => cli::remote::list(&c, json),
            RemoteCommand::Rm { name } => cli::remote::rm(&c, &name),
        }),
        Command::Repo(cmd) => connect(&data_dir).and_then(|c| match cmd {
            RepoCommand::Add { path } => c.repo_add(&path),
            RepoCommand::List { json } => c.repo_list(json),
            RepoCommand::Remove { repo } => c.repo_remove(&repo),
            RepoCommand::Trust {
                repo,
                yes,
                allow_env,
            } => cli::trust::trust(&c, &repo, yes, allow_env),
            RepoCommand::Untrust { repo } => cli::trust::untrust(&c, &repo),
        }),
        Command::Session(cmd) => connect(&data_dir).and_then(|c| match cmd {
            SessionCommand::New {
                repo,
                name,
                base,
                command,
                use_existing_branch,
            } => c.session_new(&repo, name.as_deref(), base, command, use_existing_branch),
            SessionCommand::List { json } => c.session_list(json),
            SessionCommand::Archive { name, repo, force } => {
                c.session_archive(&name, repo.as_deref(), force)
            }
            SessionCommand::Restore { name, repo } => c.session_restore(&name, repo.as_deref()),
            SessionCommand::Delete { name, repo, force } => {
                c.session_delete(&name, repo.as_deref(), force)
            }
        }),
        Command::Changes {
            name,
            repo,
            json,
            uncommitted,
        } => connect(&data_dir)
            .and_then(|c| cli::review::changes(&c, &name, repo.as_deref(), json, uncommitted)),
        Command::Diff {
            name,
            paths,
            repo,
            uncommitted,
        } => connect(&data_dir)
            .and_then(|c| cli::review::diff(&c, &name, repo.as_deref(), &paths, uncommitted)),
        Command::Commit {
            name,
            message,
            all,
            paths,
            amend,
            repo,
        } => connect(&data_dir).and_then(|c| {
            cli::review::commit(&c, &name, repo.as_deref(), message, all, paths, amend)
        }),
        Command::Revert {
            name,
            path,
            hunk,
            uncommitted,
            repo,
        } => connect(&data_dir)
            .and_then(|c| cli::review::revert(&c, &name, repo.as_deref(), path, hunk, uncommitted)),
        Command::Undo { name, id, repo } => {
            connect(&data_dir).and_then(|c| cli::review::undo(&c, &name, repo.as_deref(), id))
        }
        Command::Comment {
            name,
            at,
            message,
            repo,
        } => connect(&data_dir)
            .and_then(|c| cli::review::comment(&c, &name, repo.as_deref(), &at, message)),
        Command::Vault(cmd) => connect(&data_dir).and_then(|c| match cmd {
            VaultCommand::Status => cli::vault::status(&c),
            VaultCommand::Unlock => cli::vault::unlock(&c),
            VaultCommand::Lock => cli::vault::lock(&c),
            VaultCommand::Passphrase => cli::vault::passphrase(&c),
        }),
        Command::Secret(cmd) => connect(&data_dir).and_then(|c| match cmd {
            SecretCommand::Set { name } => cli::vault::secret_set(&c, &name),
            SecretCommand::List { json } => cli::vault::secret_list(&c, json),
            SecretCommand::Rm { name } => cli::vault::secret_rm(&c, &name),
            SecretCommand::Expose { name, repo, var } => {
                cli::vault::secret_expose(&c, &name, &repo, var)
            }
            SecretCommand::Unexpose { name, repo, var } => {
                cli::vault::secret_unexpose(&c, &name, &repo, var)
            }
        }),
        Command::Github(cmd) => connect(&data_dir).and_then(|c| match cmd {
            GithubCommand::Login {
                with_token,
                from_gh,
                yes,
                workflow,
            } => cli::github::login(&c, with_token, from_gh, yes, workflow),
            GithubCommand::Status { json } => cli::github::status(&c, json),
            GithubCommand::Logout => cli::github::logout(&c),
        }),
        Command::Push {
            name,
            force_with_lease,
            repo,
        } => connect(&data_dir)
            .and_then(|c| cli::github::push(&c, &name, repo.as_deref(), force_with_lease)),
        Command::Pr(cmd) => connect(&data_dir).and_then(|c| match cmd {
            PrCommand::Create {
                name,
                title,
                body,
                base,
                draft,
                repo,
            } => cli::github::pr_create(&c, &name, repo.as_deref(), title, body, base, draft),
            PrCommand::Status { name, json, repo } => {
                cli::github::pr_status(&c, &name, repo.as_deref(), json)
            }
        }),
        Command::Open { print } => connect(&data_dir).and_then(|c| c.open(print)),
        Command::Attach {
            name,
            repo,
            terminal,
        } => {
            connect(&data_dir).and_then(|c| cli::attach::run(&c, &name, repo.as_deref(), terminal))
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("grove: {e:#}");
            ExitCode::FAILURE
        }
    }
}
