//! In-process wake-up for readers: appenders signal after commit, subscriptions and projectors
//! wait on it. (No NOTIFY inside the append transaction: it serializes every commit; see
//! [`crate::store::notifications`] for the debounced NOTIFY that wakes other processes.)

use tokio::sync::watch;

/// A cheap, cloneable "the log may have grown" signal, one per process.
///
/// Two counters: `committed` counts this process's own commits (the NOTIFY publisher forwards
/// them to other processes), `readers` counts every reason to look at the log again (own
/// commits, and NOTIFYs relayed from other processes). Each receiver sees every change at least
/// once (intermediate values coalesce).
#[derive(Debug, Clone)]
pub struct AppendSignal {
    committed: watch::Sender<u64>,
    readers: watch::Sender<u64>,
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
            committed: watch::Sender::new(0),
            readers: watch::Sender::new(0),
        }
    }

    /// Signals that this process committed events. Call after commit, never inside the
    /// transaction.
    pub fn notify(&self) {
        self.committed
            .send_modify(|count| *count = count.wrapping_add(1));
        self.wake_readers();
    }

    /// Wakes this process's readers without counting a local commit (used for NOTIFYs relayed
    /// from other processes, so they are not broadcast back).
    pub fn wake_readers(&self) {
        self.readers
            .send_modify(|count| *count = count.wrapping_add(1));
    }

    /// A receiver for readers, to wait on with `changed()`: fires after every local commit and
    /// every relayed NOTIFY.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.readers.subscribe()
    }

    /// A receiver of this process's own commits only (for the NOTIFY publisher).
    pub fn subscribe_to_local_commits(&self) -> watch::Receiver<u64> {
        self.committed.subscribe()
    }
}
