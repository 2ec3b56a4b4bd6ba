//! `grove attach NAME`: this TTY becomes the session's terminal until Ctrl-] detaches.

use std::io::{Read, Write};

use anyhow::{Context, bail};
use futures_util::{SinkExt, StreamExt};
use grove_orchestrator::server::access::{PROTOCOL, TOKEN_PROTOCOL_PREFIX};
use grove_orchestrator::wire::{ClientFrame, ServerFrame};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

use grove_orchestrator::remote::link::{BoxIo, DIAL_TIMEOUT};
use grove_orchestrator::remote::tls::{self, Trust};

use super::client::Client;

/// A connection to the server: plain on loopback, or TLS checked against the certificate the
/// server file pins (`--tls-self-signed`) or the system's roots (`--tls-cert`).
async fn dial(client: &Client) -> anyhow::Result<BoxIo> {
    let url = url::Url::parse(&client.base)?;
    let host = match url.host() {
        Some(url::Host::Ipv6(ip)) => ip.to_string(),
        Some(h) => h.to_string(),
        None => bail!("the server file's URL {} has no host", client.base),
    };
    let port = url
        .port_or_known_default()
        .context("the server file's URL has no port")?;
    if url.scheme() == "https" {
        let trust = client.tls_pin.map_or(Trust::SystemRoots, Trust::Pinned);
        let stream = tls::connect(&host, port, &trust, DIAL_TIMEOUT).await?;
        return Ok(Box::new(stream));
    }
    let stream = tokio::net::TcpStream::connect((host.as_str(), port)).await?;
    stream.set_nodelay(true)?;
    Ok(Box::new(stream))
}

/// The detach key: Ctrl-] (as in telnet).
const DETACH: u8 = 0x1d;

pub fn run(client: &Client, name: &str, repo: Option<&str>, index: usize) -> anyhow::Result<()> {
    let session = client.resolve_session(name, repo)?;
    let Some(term) = session.terminals.get(index.saturating_sub(1)) else {
        bail!(
            "session `{name}` has {} terminal(s); there is no terminal {index}",
            session.terminals.len()
        );
    };
    // The scheme only names the handshake: the connection (TLS or not) is dialled below.
    let ws_base = format!(
        "ws://{}{}",
        client.base.split("://").nth(1).unwrap_or_default(),
        client.prefix
    );
    // No offset: the server sends a snapshot of the screen, then live output.
    let url = format!("{ws_base}/terminals/{}", term.id);
    let mut request = url.into_client_request()?;
    let protocols = format!("{PROTOCOL}, {TOKEN_PROTOCOL_PREFIX}{}", client.token);
    request
        .headers_mut()
        .insert("Sec-WebSocket-Protocol", HeaderValue::from_str(&protocols)?);

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let _raw = RawMode::enable();
    eprint!("[grove] attached to {name}; detach with Ctrl-]\r\n");
    let result = runtime.block_on(async move {
        let io = dial(client).await.context("could not attach")?;
        let (ws, _) = tokio_tungstenite::client_async(request, io).await.context("could not attach")?;
        let (mut tx, mut rx) = ws.split();
        let (in_tx, mut in_rx) = tokio::sync::mpsc::channel::<Vec<u8>>(64);
        // stdin has no portable async read; one thread forwards it.
        std::thread::Builder::new().name("grove-attach-stdin".into()).spawn(move || {
            let mut buf = [0u8; 4096];
            let mut stdin = std::io::stdin();
            while let Ok(n) = stdin.read(&mut buf) {
                if n == 0 || in_tx.blocking_send(buf[..n].to_vec()).is_err() {
                    break;
                }
            }
        })?;
        if let Some((rows, cols)) = tty_size() {
            let frame = serde_json::to_string(&ClientFrame::Resize { rows, cols })?;
            tx.send(Message::Text(frame.into())).await?;
        }
        #[cfg(unix)]
        let mut winch = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::window_change())?;
        let mut offset = 0u64;
        let mut stdout = std::io::stdout();
        loop {
            #[cfg(unix)]
            let resized = winch.recv();
            #[cfg(not(unix))]
            let resized = std::future::pending::<Option<()>>();
            tokio::select! {
                input = in_rx.recv() => {
                    let Some(bytes) = input else { break };
                    if let Some(pos) = bytes.iter().position(|b| *b == DETACH) {
                        if pos > 0 {
                            tx.send(Message::Binary(bytes[..pos].to_vec().into())).await?;
                        }
                        eprint!("\r\n[grove] detached; {name} keeps running\r\n");
                        break;
                    }
                    tx.send(Message::Binary(bytes.into())).await?;
                }
                _ = resized => {
                    if let Some((rows, cols)) = tty_size() {
                        let frame = serde_json::to_string(&ClientFrame::Resize { rows, cols })?;
                        tx.send(Message::Text(frame.into())).await?;
                    }
                }
                msg = rx.next() => match msg {
                    Some(Ok(Message::Binary(bytes))) => {
                        stdout.write_all(&bytes)?;
                        stdout.flush()?;
                        offset += bytes.len() as u64;
                        let ack = serde_json::to_string(&ClientFrame::Ack { offset })?;
                        tx.send(Message::Text(ack.into())).await?;
                    }
                    Some(Ok(Message::Text(text))) => match serde_json::from_str::<ServerFrame>(&text) {
                        Ok(ServerFrame::Hello { offset: o, snapshot, .. }) => {
                            offset = o;
                            if let Some(snap) = snapshot {
                                draw_snapshot(&mut stdout, &snap.data)?;
                            }
                        }
                        Ok(ServerFrame::Resync { offset: o, snapshot }) => {
                            offset = o;
                            draw_snapshot(&mut stdout, &snapshot.data)?;
                        }
                        Ok(ServerFrame::Exit { exit }) => {
                            let how = match (exit.code, exit.signal) {
                                (_, Some(sig)) => format!("killed by signal {sig}"),
                                (Some(code), None) => format!("exited with code {code}"),
                                (None, None) => "ended with Grove".into(),
                            };
                            eprint!("\r\n[grove] the program {how}; restart it from Grove\r\n");
                            break;
                        }
                        Ok(ServerFrame::Error { error }) => eprint!("\r\n[grove] {}\r\n", error.message),
                        Ok(ServerFrame::Restarted { .. }) | Err(_) => {}
                    },
                    Some(Ok(Message::Close(_))) | None => break,
                    Some(Ok(_)) => {}
                    Some(Err(e)) => return Err(e.into()),
                },
            }
        }
        let _ = tx.send(Message::Close(None)).await;
        Ok::<(), anyhow::Error>(())
    });
    // Leave the user's terminal as we found it, whatever modes the program had set.
    let _ = std::io::stdout().write_all(RESTORE_MODES.as_bytes());
    let _ = std::io::stdout().flush();
    drop(_raw);
    result
}

/// Undoes what a snapshot or the program may have switched on: alternate screen, mouse and focus
/// reporting, bracketed paste, application cursor keys and keypad, hidden cursor, attributes,
/// scroll region.
const RESTORE_MODES: &str = "\x1b[0m\x1b[r\x1b[?1049l\x1b[?1000l\x1b[?1002l\x1b[?1003l\x1b[?1004l\x1b[?1006l\x1b[?2004l\x1b[?1l\x1b>\x1b[?25h\r\n";

/// Clears the screen and draws a snapshot of the program's.
fn draw_snapshot(out: &mut impl Write, data: &str) -> std::io::Result<()> {
    out.write_all(b"\x1b[0m\x1b[H\x1b[2J")?;
    out.write_all(data.as_bytes())?;
    out.flush()
}

#[cfg(unix)]
fn tty_size() -> Option<(u16, u16)> {
    // SAFETY: TIOCGWINSZ fills a plain struct.
    let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
    // SAFETY: ioctl on stdout with a valid out-pointer.
    let rc = unsafe { libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut ws) };
    (rc == 0 && ws.ws_row > 0 && ws.ws_col > 0).then_some((ws.ws_row, ws.ws_col))
}

#[cfg(not(unix))]
fn tty_size() -> Option<(u16, u16)> {
    None
}

/// Puts the TTY in raw mode while attached and restores it on drop.
struct RawMode {
    #[cfg(unix)]
    saved: Option<libc::termios>,
}

impl RawMode {
    #[cfg(unix)]
    fn enable() -> RawMode {
        // SAFETY: isatty/tcgetattr/tcsetattr on stdin with valid pointers.
        unsafe {
            if libc::isatty(libc::STDIN_FILENO) != 1 {
                return RawMode { saved: None };
            }
            let mut t: libc::termios = std::mem::zeroed();
            if libc::tcgetattr(libc::STDIN_FILENO, &mut t) != 0 {
                return RawMode { saved: None };
            }
            let saved = t;
            libc::cfmakeraw(&mut t);
            libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, &t);
            RawMode { saved: Some(saved) }
        }
    }

    #[cfg(not(unix))]
    fn enable() -> RawMode {
        RawMode {}
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        #[cfg(unix)]
        if let Some(saved) = &self.saved {
            // SAFETY: restores the attributes saved above.
            unsafe {
                libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, saved);
            }
        }
    }
}
