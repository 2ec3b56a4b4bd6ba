//! Keeping a WebSocket honest about its client. A client that stops answering (a laptop that went
//! to sleep leaves a half-open connection that TCP alone notices only after minutes or hours) must
//! not keep a terminal's reader braked or a task alive: the server pings every
//! [`Liveness::ping_every`] and gives up on a client silent for two intervals, whether it is
//! waiting to send or to receive.

use std::time::{Duration, Instant};

use axum::extract::ws::{Message, WebSocket};

/// How often the server pings a socket's client, and how long it waits for a sign of life.
#[derive(Debug, Clone, Copy)]
pub struct Liveness {
    pub ping_every: Duration,
}

impl Liveness {
    /// Silence after which the client counts as gone: two missed pings.
    pub fn timeout(&self) -> Duration {
        self.ping_every * 2
    }
}

/// The client's last sign of life and the ping clock of one socket.
pub(crate) struct Heartbeat {
    liveness: Liveness,
    heard: Instant,
    ticks: tokio::time::Interval,
}

impl Heartbeat {
    pub(crate) fn new(liveness: Liveness) -> Heartbeat {
        // The first ping one interval in, not at once: a relayed socket must not get a ping ahead
        // of the `hello` its remote is about to send (clients read `hello` first).
        let first = tokio::time::Instant::now() + liveness.ping_every;
        let mut ticks = tokio::time::interval_at(first, liveness.ping_every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        Heartbeat {
            liveness,
            heard: Instant::now(),
            ticks,
        }
    }

    /// Passes a received message through, noting that anything from the client (a pong
    /// included) shows it is there.
    pub(crate) fn seen<T, E>(&mut self, msg: Option<Result<T, E>>) -> Option<Result<T, E>> {
        if let Some(Ok(_)) = msg {
            self.heard = Instant::now();
        }
        msg
    }

    /// When the client counts as gone unless it is heard from again.
    pub(crate) fn deadline(&self) -> tokio::time::Instant {
        tokio::time::Instant::from_std(self.heard + self.liveness.timeout())
    }

    /// Waits for the next ping time.
    pub(crate) async fn tick(&mut self) {
        self.ticks.tick().await;
    }

    /// On a tick: an error when the client has been silent too long, else sends a ping (giving up
    /// at the deadline, since a client that reads nothing never drains the socket).
    pub(crate) async fn ping(&mut self, socket: &mut WebSocket) -> Result<(), axum::Error> {
        if Instant::now() >= self.heard + self.liveness.timeout() {
            return Err(gone());
        }
        self.send(socket, Message::Ping(Default::default())).await
    }

    /// A send that fails once the client has been silent past the deadline.
    pub(crate) async fn send(
        &self,
        socket: &mut WebSocket,
        msg: Message,
    ) -> Result<(), axum::Error> {
        tokio::time::timeout_at(self.deadline(), socket.send(msg))
            .await
            .map_err(|_| gone())?
    }
}

fn gone() -> axum::Error {
    axum::Error::new(std::io::Error::new(
        std::io::ErrorKind::TimedOut,
        "the client stopped answering pings",
    ))
}
