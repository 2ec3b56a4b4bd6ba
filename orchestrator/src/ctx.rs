//! What a terminal's monitor shares with [`Grove`](crate::Grove): the database and the event
//! bus. Its own module so that neither the monitors nor Grove's core depend on each other's
//! internals (the terminal map and the tasks it owns stay out of the monitors' reach, so there
//! is no reference cycle between them either).

use std::sync::atomic::AtomicBool;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::sync::{broadcast, mpsc};

use crate::db::Db;
use crate::wire::Event;

/// What monitors need: the database and the event stream, but not the terminal map.
#[derive(Debug)]
pub(crate) struct Ctx {
    pub db: Mutex<Db>,
    pub events: broadcast::Sender<Event>,
    pub idle_after: Duration,
    pub shutting_down: AtomicBool,
    /// Sessions whose summary changed (e.g. setup finished); a task turns these into events.
    pub session_changed: mpsc::Sender<i64>,
}

impl Ctx {
    pub fn emit(&self, event: Event) {
        // No receiver is fine: nobody is listening.
        let _ = self.events.send(event);
    }
}
