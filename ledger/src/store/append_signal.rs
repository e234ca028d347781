//! In-process wake-up for readers: appenders signal after commit, projectors wait on it.
//! (No NOTIFY inside the append transaction: it serializes every commit.)

use tokio::sync::watch;

/// A cheap, cloneable "something was appended" signal. Each receiver sees every change of the
/// counter at least once (missed intermediate values coalesce).
#[derive(Debug, Clone)]
pub struct AppendSignal {
    sender: watch::Sender<u64>,
}

impl Default for AppendSignal {
    fn default() -> Self {
        Self::new()
    }
}

impl AppendSignal {
    /// A new signal with no subscribers.
    pub fn new() -> Self {
        Self {
            sender: watch::Sender::new(0),
        }
    }

    /// Signals that events were committed. Call after commit, never inside the transaction.
    pub fn notify(&self) {
        self.sender
            .send_modify(|count| *count = count.wrapping_add(1));
    }

    /// A receiver to wait on with `changed()`.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.sender.subscribe()
    }
}
