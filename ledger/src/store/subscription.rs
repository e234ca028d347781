//! A subscription to the global feed: catches up from a cursor in pages, then tails the live
//! log, woken in-process after each local commit, by other processes' NOTIFYs (relayed by
//! [`crate::store::notifications`]), and by a polling fallback.
//!
//! Delivery is gap-free and in global order (the transaction-id gate of
//! [`crate::store::read::read_all_after`]): every committed event exactly once, per-stream
//! order preserved. The cursor is the pair (transaction id, global position): persist
//! [`Subscription::cursor`], never the highest position seen.
//!
//! While catching up, the next page is read ahead: after a full page is returned, the read of
//! the page after it starts at once, on its own task, so that the server produces page N+1
//! while the caller handles page N (on two cores, reading the log and using it overlap).

use crate::store::{read, AppendSignal, FeedCursor, RecordedEvent};
use crate::LedgerError;
use sqlx::PgPool;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

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
    /// The read of the page after `cursor`, started when the last page returned was full.
    read_ahead: Option<JoinHandle<Result<Vec<RecordedEvent>, LedgerError>>>,
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
            read_ahead: None,
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
    /// the feed is held back by an open writing transaction). Cancel-safe, like
    /// [`Subscription::next_batch`].
    pub async fn try_next_batch(&mut self) -> Result<Vec<RecordedEvent>, LedgerError> {
        let page = match self.read_ahead_page().await? {
            Some(page) => page,
            None => read::read_all_after(&self.pool, self.cursor, self.options.page_size).await?,
        };
        if let Some(last) = page.last() {
            self.cursor = FeedCursor {
                transaction_id: last.transaction_id,
                global_position: last.global_position,
            };
        }
        if page.len() as i64 >= self.options.page_size {
            // Probably more to catch up with: start reading the next page now.
            let (pool, cursor, limit) = (self.pool.clone(), self.cursor, self.options.page_size);
            self.read_ahead = Some(tokio::spawn(async move {
                read::read_all_after(&pool, cursor, limit).await
            }));
        }
        Ok(page)
    }

    /// The page read ahead, if one was started and found events. `None` when none was started,
    /// or when it came back empty: it may have run before a wake-up the caller has since
    /// marked seen, so only a fresh read can say the subscription is caught up.
    async fn read_ahead_page(&mut self) -> Result<Option<Vec<RecordedEvent>>, LedgerError> {
        let Some(pending) = self.read_ahead.as_mut() else {
            return Ok(None);
        };
        // Awaited in place, taken only once finished: a cancelled call leaves it for the next.
        let finished = pending.await;
        self.read_ahead = None;
        match finished {
            Ok(Ok(page)) if page.is_empty() => Ok(None),
            Ok(Ok(page)) => Ok(Some(page)),
            Ok(Err(error)) => Err(error),
            Err(join_error) if join_error.is_panic() => {
                std::panic::resume_unwind(join_error.into_panic())
            }
            Err(_) => Ok(None),
        }
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        if let Some(pending) = self.read_ahead.take() {
            pending.abort();
        }
    }
}
