//! Waking other processes: after local commits, one task sends at most one NOTIFY per
//! [`DEBOUNCE`] (outside every append transaction); another LISTENs and relays other processes'
//! NOTIFYs into the local [`AppendSignal`]. Readers keep a polling fallback, so a lost
//! notification only delays them.
//!
//! Why not NOTIFY inside the append: PostgreSQL serializes the commits of every transaction that
//! queued a notification (measured: 41-61 % of append throughput lost; event-store notes).

use crate::store::AppendSignal;
use sqlx::postgres::PgListener;
use sqlx::PgPool;
use std::time::Duration;
use tokio::task::JoinHandle;
use uuid::Uuid;

/// The NOTIFY channel: its payload is the sending process's instance id (a UUID), so a process
/// ignores its own notifications.
pub const CHANNEL: &str = "tally_events";

/// The shortest interval between two NOTIFYs of one process.
pub const DEBOUNCE: Duration = Duration::from_millis(20);

/// How long the relay waits before listening again after its connection failed.
const RECONNECT_PAUSE: Duration = Duration::from_secs(1);

/// The two background tasks of cross-process wake-ups; stopped when dropped.
#[derive(Debug)]
pub struct FeedNotifications {
    publisher: JoinHandle<()>,
    relay: JoinHandle<()>,
}

impl FeedNotifications {
    /// Starts publishing this process's commits (as signalled on `signal`) and relaying other
    /// processes' commits into `signal`. Needs a tokio runtime. Database errors are logged and
    /// retried, never fatal: polling still delivers every event.
    pub fn start(pool: PgPool, signal: AppendSignal) -> Self {
        let instance = Uuid::new_v4().to_string();
        let publisher = tokio::spawn(publish_local_commits(
            pool.clone(),
            signal.clone(),
            instance.clone(),
        ));
        let relay = tokio::spawn(relay_other_processes(pool, signal, instance));
        Self { publisher, relay }
    }
}

impl Drop for FeedNotifications {
    fn drop(&mut self) {
        self.publisher.abort();
        self.relay.abort();
    }
}

async fn publish_local_commits(pool: PgPool, signal: AppendSignal, instance: String) {
    let mut commits = signal.subscribe_to_local_commits();
    while commits.changed().await.is_ok() {
        if let Err(error) = sqlx::query("SELECT pg_notify($1, $2)")
            .bind(CHANNEL)
            .bind(&instance)
            .execute(&pool)
            .await
        {
            tracing::warn!(%error, "cannot send the append NOTIFY; other processes will poll");
        }
        tokio::time::sleep(DEBOUNCE).await;
    }
}

async fn relay_other_processes(pool: PgPool, signal: AppendSignal, instance: String) {
    loop {
        let mut listener = match listen(&pool).await {
            Ok(listener) => listener,
            Err(error) => {
                tracing::warn!(%error, "cannot LISTEN for appends of other processes; polling");
                tokio::time::sleep(RECONNECT_PAUSE).await;
                continue;
            }
        };
        loop {
            match listener.try_recv().await {
                Ok(Some(notification)) => {
                    if notification.payload() != instance {
                        signal.wake_readers();
                    }
                }
                // The connection was lost (and is re-established by the next call):
                // notifications may have been missed, so look at the log.
                Ok(None) => signal.wake_readers(),
                Err(error) => {
                    tracing::warn!(%error, "LISTEN connection failed; reconnecting");
                    signal.wake_readers();
                    tokio::time::sleep(RECONNECT_PAUSE).await;
                    break;
                }
            }
        }
    }
}

async fn listen(pool: &PgPool) -> Result<PgListener, sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen(CHANNEL).await?;
    Ok(listener)
}
