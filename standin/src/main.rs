//! `github-standin --root DIR [--port N]`: serves the stand-in until killed, after printing one
//! JSON line `{"url":…,"api_url":…}` to stdout once it listens. Tests drive it through the
//! admin endpoints under `/_standin/`.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use grove_github_standin::Standin;

const USAGE: &str = "usage: github-standin --root DIR [--port N]";

fn main() -> ExitCode {
    let mut root: Option<PathBuf> = None;
    let mut port: u16 = 0;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--root" => root = args.next().map(PathBuf::from),
            "--port" => match args.next().and_then(|p| p.parse().ok()) {
                Some(p) => port = p,
                None => {
                    eprintln!("github-standin: --port needs a number from 0 to 65535\n{USAGE}");
                    return ExitCode::from(2);
                }
            },
            "-h" | "--help" => {
                eprintln!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            other => {
                eprintln!("github-standin: unknown argument {other:?}\n{USAGE}");
                return ExitCode::from(2);
            }
        }
    }
    let Some(root) = root else {
        eprintln!(
            "github-standin: --root DIR is required (the bare repositories go there)\n{USAGE}"
        );
        return ExitCode::from(2);
    };
    let standin = match Standin::start_on(&root, port) {
        Ok(standin) => standin,
        Err(e) => {
            eprintln!(
                "github-standin: cannot start on port {port} with root {}: {e}",
                root.display()
            );
            return ExitCode::FAILURE;
        }
    };
    let line = serde_json::json!({"url": standin.url(), "api_url": standin.api_url()});
    let mut stdout = std::io::stdout().lock();
    if writeln!(stdout, "{line}")
        .and_then(|()| stdout.flush())
        .is_err()
    {
        return ExitCode::FAILURE;
    }
    drop(stdout);
    // Serve until killed; the server runs on the stand-in's own thread.
    loop {
        std::thread::park();
    }
}
