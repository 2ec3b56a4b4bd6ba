//! One task per terminal that follows its output log: spots attention signals (BEL, OSC 9,
//! OSC 777), tracks running/idle, records the setup's and the program's exit, and turns all of
//! it into events. It reads the log like any other subscriber, so it never slows the PTY.

use std::sync::{Arc, Weak};

use grove_pty::{Chunk, Terminal};
use tokio::time::Instant;

use crate::attention::{Scanner, Signal};
use crate::ctx::Ctx;
use crate::live::LiveTerminal;
use crate::wire::{Event, ExitInfo};

/// What woke the monitor.
enum Wake {
    Output(Chunk),
    Exited(grove_pty::ExitStatus),
    Idle,
}

/// Follows a terminal from where `sub` stands. The caller subscribes before the program can
/// print anything that matters (a new terminal from offset 0), so nothing slips past the monitor.
///
/// It holds the terminal weakly: while it waits, nothing of the terminal is kept alive by it, so
/// closing or deleting a terminal never waits for its monitor (a strong reference is taken only
/// to handle what woke it, and the exit wait holds the running program, which Grove ends
/// explicitly whenever it ends a terminal).
pub(crate) async fn run(ctx: Arc<Ctx>, live: Weak<LiveTerminal>, mut sub: grove_pty::Subscription) {
    let mut scanner = Scanner::default();
    let mut signals = Vec::new();
    let Some(mut changed) = live.upgrade().map(|l| l.watch()) else {
        return;
    };
    let mut current: Option<Weak<Terminal>> = None;
    let mut exit_recorded = false;
    loop {
        let (term, idle_at) = {
            let Some(strong) = live.upgrade() else { return };
            let term = strong.terminal();
            let same = match (&term, &current) {
                (Some(a), Some(b)) => std::ptr::eq(Arc::as_ptr(a), b.as_ptr()),
                (None, None) => true,
                _ => false,
            };
            if !same {
                exit_recorded = false;
                current = term.as_ref().map(Arc::downgrade);
            }
            let idle_at = {
                let st = strong.state.lock();
                (term.is_some() && !st.idle && st.exit.is_none())
                    .then(|| Instant::from_std(st.last_output) + ctx.idle_after)
            };
            (term, idle_at)
        };
        let exit_wait = {
            let term = if exit_recorded { None } else { term.clone() };
            async move {
                match term {
                    Some(t) => t.exited().await,
                    None => std::future::pending().await,
                }
            }
        };
        let wake = tokio::select! {
            chunk = sub.next(64 * 1024) => Wake::Output(chunk),
            status = exit_wait => Wake::Exited(status),
            () = sleep_until(idle_at), if idle_at.is_some() => Wake::Idle,
        };
        let Some(strong) = live.upgrade() else { return };
        match wake {
            Wake::Output(Chunk::Data { bytes, .. }) => {
                scanner.feed(&bytes, &mut signals);
                let was_idle = {
                    let mut st = strong.state.lock();
                    st.last_output = std::time::Instant::now();
                    std::mem::replace(&mut st.idle, false)
                };
                if was_idle {
                    strong.bump();
                    ctx.emit(Event::TerminalUpdated {
                        terminal: strong.info(),
                    });
                }
                for signal in signals.drain(..) {
                    handle_signal(&ctx, &strong, signal).await;
                }
            }
            Wake::Output(Chunk::Truncated { .. }) => scanner = Scanner::default(),
            Wake::Output(Chunk::End) => {
                // The output is complete. The reader usually sees the PTY close before the
                // waiter reaps the child: record the exit first, then wait until the program is
                // restarted (the log re-opens) or the terminal goes away.
                if !exit_recorded && let Some(t) = term {
                    let status = t.exited().await;
                    exit_recorded = true;
                    record_exit(&ctx, &strong, status.into()).await;
                }
                drop(strong);
                while live.upgrade().is_some_and(|l| l.log.is_closed()) {
                    if changed.changed().await.is_err() {
                        return;
                    }
                }
            }
            Wake::Exited(status) => {
                exit_recorded = true;
                record_exit(&ctx, &strong, status.into()).await;
            }
            Wake::Idle => {
                strong.update(|st| st.idle = true);
                ctx.emit(Event::TerminalUpdated {
                    terminal: strong.info(),
                });
            }
        }
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// Runs a database write on a blocking thread: SQLite may wait on the disk (or on another
/// writer), and this task shares the runtime's workers with every terminal socket.
async fn db_write<T: Send + 'static>(
    ctx: &Arc<Ctx>,
    f: impl FnOnce(&crate::db::Db) -> Result<T, crate::db::DbError> + Send + 'static,
) -> Option<T> {
    let ctx = Arc::clone(ctx);
    match tokio::task::spawn_blocking(move || f(&ctx.db.lock())).await {
        Ok(Ok(v)) => Some(v),
        Ok(Err(err)) => {
            tracing::warn!(%err, "a terminal's state could not be saved");
            None
        }
        Err(_) => None,
    }
}

async fn handle_signal(ctx: &Arc<Ctx>, live: &LiveTerminal, signal: Signal) {
    match signal {
        Signal::Bell | Signal::Notify(_) => {
            let message = match signal {
                Signal::Notify(m) => m,
                _ => None,
            };
            live.update(|st| {
                st.attention = true;
                st.bells += 1;
            });
            ctx.emit(Event::Attention {
                session_id: live.session_id,
                terminal_id: live.id,
                message,
            });
            ctx.emit(Event::TerminalUpdated {
                terminal: live.info(),
            });
        }
        Signal::SetupExit { nonce, code } => {
            // Only the session's own setup run knows the nonce, and it is spent on first use:
            // a program that prints this sequence (or replays it) changes nothing.
            let session = live.session_id;
            match db_write(ctx, move |db| db.take_setup_exit(session, &nonce, code)).await {
                Some(true) => {
                    let _ = ctx.session_changed.try_send(session);
                }
                Some(false) => tracing::warn!(
                    session,
                    "ignored a setup-exit report that did not carry the setup run's nonce"
                ),
                None => {}
            }
        }
    }
}

async fn record_exit(ctx: &Arc<Ctx>, live: &LiveTerminal, exit: ExitInfo) {
    // On shutdown the programs are ended by Grove itself: they show as "ended with the app"
    // after the next start, not as exited.
    if ctx.shutting_down.load(std::sync::atomic::Ordering::SeqCst) {
        return;
    }
    let id = live.id;
    db_write(ctx, move |db| {
        db.set_terminal_exit(id, exit.code, exit.signal)
    })
    .await;
    live.update(|st| st.exit = Some(exit));
    ctx.emit(Event::TerminalUpdated {
        terminal: live.info(),
    });
}
