//! Lending a push the GitHub token without writing it anywhere.
//!
//! For one `git push`, Grove injects through `GIT_CONFIG_COUNT`/`GIT_CONFIG_KEY_n`/
//! `GIT_CONFIG_VALUE_n` an empty `credential.helper` (which drops every inherited helper) and
//! then a helper that runs Grove's own executable as `git-credential --endpoint E --nonce N`.
//! Asked for a credential, that helper connects to Grove's private socket (a Unix socket in the
//! 0700 data dir; loopback TCP on Windows, where the nonce is the only guard), hands over the
//! nonce and the host git asks about, and prints the token Grove answers with to git's pipe.
//!
//! A nonce is good for one answer, for the one host the push goes to, for [`LOAN_TTL`]. The
//! token is never in an argument, an environment variable, `.git/config` or a file; the nonce
//! is in the helper's arguments and is worthless once used.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use crate::vault::{ExposeSecret, SecretString};

/// How long a lent token may be collected.
pub const LOAN_TTL: Duration = Duration::from_secs(600);
/// The argument that makes Grove's executables act as the credential helper.
pub const HELPER_ARG: &str = "git-credential";
/// Longest request read from a helper.
const MAX_REQUEST: u64 = 8 * 1024;
/// How long a helper connection may take.
const IO_TIMEOUT: Duration = Duration::from_secs(10);

struct Loan {
    host: String,
    token: SecretString,
    until: Instant,
}

#[derive(Default)]
struct Loans(Mutex<HashMap<String, Loan>>);

impl std::fmt::Debug for Loans {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Loans({} open)", self.0.lock().len())
    }
}

/// Grove's side: the socket and the open loans.
#[derive(Debug, Clone)]
pub struct Lender {
    loans: Arc<Loans>,
    endpoint: String,
    exe: PathBuf,
}

/// One push's loan: the environment for git, and the loan is withdrawn when this is dropped.
#[derive(Debug)]
pub struct LoanGuard {
    loans: Arc<Loans>,
    nonce: String,
    pub env: Vec<(String, String)>,
}

impl Drop for LoanGuard {
    fn drop(&mut self) {
        self.loans.0.lock().remove(&self.nonce);
    }
}

impl Lender {
    /// Starts listening in `dir` (the data dir). `exe` is the program git runs as the helper
    /// (Grove's own executable, which must handle [`HELPER_ARG`] as its first argument).
    pub fn start(dir: &Path, exe: PathBuf) -> std::io::Result<Lender> {
        let loans = Arc::new(Loans::default());
        let endpoint = listen(dir, loans.clone())?;
        Ok(Lender {
            loans,
            endpoint,
            exe,
        })
    }

    /// Lends `token` for `host` to one git command.
    pub fn lend(&self, host: &str, token: SecretString) -> std::io::Result<LoanGuard> {
        let nonce = super::oauth::random_b64(32).map_err(std::io::Error::other)?;
        self.loans.0.lock().insert(
            nonce.clone(),
            Loan {
                host: host.to_owned(),
                token,
                until: Instant::now() + LOAN_TTL,
            },
        );
        let helper = format!(
            "!{} {HELPER_ARG} --endpoint {} --nonce {nonce}",
            sh_quote(&self.exe.to_string_lossy()),
            sh_quote(&self.endpoint),
        );
        let env = vec![
            ("GIT_CONFIG_COUNT".into(), "2".into()),
            ("GIT_CONFIG_KEY_0".into(), "credential.helper".into()),
            ("GIT_CONFIG_VALUE_0".into(), String::new()),
            ("GIT_CONFIG_KEY_1".into(), "credential.helper".into()),
            ("GIT_CONFIG_VALUE_1".into(), helper),
            ("GIT_TERMINAL_PROMPT".into(), "0".into()),
            // No askpass program either: nothing may prompt, and nothing else may answer.
            ("GIT_ASKPASS".into(), String::new()),
            ("SSH_ASKPASS".into(), String::new()),
        ];
        Ok(LoanGuard {
            loans: self.loans.clone(),
            nonce,
            env,
        })
    }
}

/// Single-quotes `s` for the POSIX shell git runs `!` helpers with.
fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// Answers one helper's request: `nonce=…`, `host=…`, `protocol=…`, a blank line.
fn answer(loans: &Loans, stream: &mut (impl Read + Write)) -> std::io::Result<()> {
    let mut reader = BufReader::new(Read::by_ref(stream).take(MAX_REQUEST));
    let mut fields = HashMap::new();
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            break;
        }
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        if let Some((k, v)) = l.split_once('=') {
            fields.insert(k.to_owned(), v.to_owned());
        }
    }
    drop(reader);
    let nonce = fields.get("nonce").cloned().unwrap_or_default();
    let host = fields.get("host").cloned().unwrap_or_default();
    let protocol = fields.get("protocol").cloned().unwrap_or_default();
    // Taken out whatever happens next: a nonce answers once.
    let loan = loans.0.lock().remove(&nonce);
    let reply = match loan {
        None => {
            tracing::warn!("a git credential request came with an unknown or used nonce: refused");
            "error=unknown or used nonce\n\n".to_owned()
        }
        Some(loan) if loan.until < Instant::now() => {
            tracing::warn!("a git credential request came after its loan expired: refused");
            "error=expired\n\n".to_owned()
        }
        Some(loan) if !loan.host.eq_ignore_ascii_case(&host) => {
            tracing::warn!(asked = %host, lent = %loan.host, "a git credential request named another host: refused");
            "error=wrong host\n\n".to_owned()
        }
        Some(_) if protocol != "https" && protocol != "http" => "error=not http(s)\n\n".to_owned(),
        Some(loan) => format!(
            "username=x-access-token\npassword={}\n\n",
            loan.token.expose_secret()
        ),
    };
    stream.write_all(reply.as_bytes())?;
    stream.flush()
}

fn serve_one(loans: &Loans, stream: &mut (impl Read + Write)) {
    if let Err(e) = answer(loans, stream) {
        tracing::warn!(error = %e, "a git credential request failed");
    }
}

#[cfg(unix)]
fn listen(dir: &Path, loans: Arc<Loans>) -> std::io::Result<String> {
    use std::os::unix::net::UnixListener;
    let path = dir.join("git-credential.sock");
    // A socket left by a process that died; the data dir lock says no other Grove owns it.
    let _ = std::fs::remove_file(&path);
    let listener = UnixListener::bind(&path)?;
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
    }
    std::thread::Builder::new()
        .name("git credentials".into())
        .spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let _ = stream.set_read_timeout(Some(IO_TIMEOUT));
                let _ = stream.set_write_timeout(Some(IO_TIMEOUT));
                serve_one(&loans, &mut stream);
            }
        })?;
    Ok(path.to_string_lossy().into_owned())
}

#[cfg(not(unix))]
fn listen(_dir: &Path, loans: Arc<Loans>) -> std::io::Result<String> {
    let listener = std::net::TcpListener::bind(("127.0.0.1", 0))?;
    let addr = listener.local_addr()?.to_string();
    std::thread::Builder::new()
        .name("git credentials".into())
        .spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let _ = stream.set_read_timeout(Some(IO_TIMEOUT));
                let _ = stream.set_write_timeout(Some(IO_TIMEOUT));
                serve_one(&loans, &mut stream);
            }
        })?;
    Ok(addr)
}

#[cfg(unix)]
fn connect(endpoint: &str) -> std::io::Result<std::os::unix::net::UnixStream> {
    std::os::unix::net::UnixStream::connect(endpoint)
}

#[cfg(not(unix))]
fn connect(endpoint: &str) -> std::io::Result<std::net::TcpStream> {
    std::net::TcpStream::connect(endpoint)
}

/// The helper's side, run as `<exe> git-credential --endpoint E --nonce N <operation>` with
/// git's request on stdin. Only `get` is answered; `store` and `erase` do nothing (Grove keeps
/// the token in its vault). Returns the exit code.
pub fn helper_main(args: &[String]) -> i32 {
    let mut endpoint = None;
    let mut nonce = None;
    let mut operation = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--endpoint" => endpoint = it.next().cloned(),
            "--nonce" => nonce = it.next().cloned(),
            other => operation = Some(other.to_owned()),
        }
    }
    let (Some(endpoint), Some(nonce)) = (endpoint, nonce) else {
        eprintln!("grove git-credential: usage: git-credential --endpoint E --nonce N get");
        return 2;
    };
    if operation.as_deref() != Some("get") {
        return 0;
    }
    let mut request = String::new();
    if std::io::stdin()
        .take(MAX_REQUEST)
        .read_to_string(&mut request)
        .is_err()
    {
        return 1;
    }
    let field = |k: &str| {
        request
            .lines()
            .find_map(|l| l.strip_prefix(k).and_then(|v| v.strip_prefix('=')))
            .unwrap_or_default()
            .to_owned()
    };
    let result = (|| -> std::io::Result<String> {
        let mut stream = connect(&endpoint)?;
        write!(
            stream,
            "nonce={nonce}\nhost={}\nprotocol={}\n\n",
            field("host"),
            field("protocol")
        )?;
        stream.flush()?;
        let mut reply = String::new();
        stream.take(MAX_REQUEST).read_to_string(&mut reply)?;
        Ok(reply)
    })();
    match result {
        Ok(reply) if reply.starts_with("username=") => {
            let mut out = std::io::stdout();
            // git reads the credential from this pipe; nothing else sees it.
            let _ = out.write_all(reply.trim_end().as_bytes());
            let _ = out.write_all(b"\n");
            let _ = out.flush();
            0
        }
        Ok(reply) => {
            eprintln!(
                "grove git-credential: Grove refused: {}",
                reply.trim().trim_start_matches("error=")
            );
            0
        }
        Err(e) => {
            eprintln!("grove git-credential: cannot reach Grove ({e}); is it still running?");
            0
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    struct Duplex {
        input: std::io::Cursor<Vec<u8>>,
        output: Vec<u8>,
    }
    impl Read for Duplex {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            self.input.read(buf)
        }
    }
    impl Write for Duplex {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.output.write(buf)
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn ask(loans: &Loans, req: &str) -> String {
        let mut d = Duplex {
            input: std::io::Cursor::new(req.as_bytes().to_vec()),
            output: Vec::new(),
        };
        answer(loans, &mut d).unwrap();
        String::from_utf8(d.output).unwrap()
    }

    #[test]
    fn a_nonce_answers_once_and_only_for_its_host() {
        let loans = Loans::default();
        let lend = |n: &str| {
            loans.0.lock().insert(
                n.into(),
                Loan {
                    host: "github.com".into(),
                    token: SecretString::from("tok".to_owned()),
                    until: Instant::now() + LOAN_TTL,
                },
            )
        };
        lend("n1");
        let ok = ask(&loans, "nonce=n1\nhost=github.com\nprotocol=https\n\n");
        assert_eq!(ok, "username=x-access-token\npassword=tok\n\n");
        assert!(ask(&loans, "nonce=n1\nhost=github.com\nprotocol=https\n\n").starts_with("error="));
        lend("n2");
        assert!(
            ask(&loans, "nonce=n2\nhost=evil.example\nprotocol=https\n\n").starts_with("error=")
        );
        // Refused once is gone too.
        assert!(ask(&loans, "nonce=n2\nhost=github.com\nprotocol=https\n\n").starts_with("error="));
    }

    #[test]
    fn quoting_survives_spaces_and_quotes() {
        assert_eq!(sh_quote("/a b/it's"), r"'/a b/it'\''s'");
    }
}
