//! A subscription to the global feed: catches up from a cursor in pages, then tails the live
//! log, woken in-process after each local commit, by other processes' NOTIFYs (relayed by
//! [`crate::store::notifications`]), and by a polling fallback.
//!
//! Delivery is gap-free and in global order (the transaction-id gate of
//! [`crate::store::read::read_all_after`]): every committed event exactly once, per-stream
//! order preserved. The cursor is the pair (transaction id, global position): persist
//! [`Subscription::cursor`], never the highest position seen.

use crate::store::{read, AppendSignal, FeedCursor, RecordedEvent};
use crate::LedgerError;
use sqlx::PgPool;
use std::time::Duration;
use tokio::sync::watch;

/// How a subscription reads and waits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SubscriptionOptions {
    /// The most events one page holds (default 1,000).
    pub page_size: i64,
    /// How long to wait for a wake-up before looking at the log anyway (default 250 ms): covers
    /// appends by processes that do not NOTIFY and a long writer elsewhere in the cluster
    /// finishing.
    pub poll_interval: Duration,
}

impl Default for SubscriptionOptions {
    fn default() -> Self {
        Self {
            page_size: 1000,
            poll_interval: Duration::from_millis(250),
        }
    }
}

/// A reader of the global feed from a cursor onwards. See the module documentation.
#[derive(Debug)]
pub struct Subscription {
    pool: PgPool,
    cursor: FeedCursor,
    wake: watch::Receiver<u64>,
    options: SubscriptionOptions,
}

impl Subscription {
    /// A subscription on `pool` delivering the events after `after`
    /// ([`FeedCursor::default`] = the start of the log), woken by `signal`.
    pub fn new(
        pool: PgPool,
        signal: &AppendSignal,
        after: FeedCursor,
        options: SubscriptionOptions,
    ) -> Self {
        Self {
            pool,
            cursor: after,
            wake: signal.subscribe(),
            options,
        }
    }

    /// The cursor after the last event delivered: persist it to resume later.
    pub fn cursor(&self) -> FeedCursor {
        self.cursor
    }

    /// The next page of events (1 to `page_size`), waiting until at least one is committed and
    /// deliverable. Cancel-safe: dropping the future loses nothing (the cursor only moves when
    /// a page is returned).
    pub async fn next_batch(&mut self) -> Result<Vec<RecordedEvent>, LedgerError> {
        loop {
            // Mark wake-ups seen before reading, so one arriving during the read is not lost.
            self.wake.borrow_and_update();
            let page = self.try_next_batch().await?;
            if !page.is_empty() {
                return Ok(page);
            }
            let _ = tokio::time::timeout(self.options.poll_interval, self.wake.changed()).await;
        }
    }

    /// The next page of events without waiting: empty when the subscription is caught up (or
    /// the feed is held back by an open writing transaction).
    pub async fn try_next_batch(&mut self) -> Result<Vec<RecordedEvent>, LedgerError> {
        let page = read::read_all_after(&self.pool, self.cursor, self.options.page_size).await?;
        if let Some(last) = page.last() {
            self.cursor = FeedCursor {
                transaction_id: last.transaction_id,
                global_position: last.global_position,
            };
        }
        Ok(page)
    }
}
