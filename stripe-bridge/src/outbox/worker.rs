//! The outbox worker: a projector over the log that finds the Stripe calls events ask for
//! ([`stripe_call_for_event`]), keeps them in `stripe_outbox` with its checkpoint (one
//! transaction per page), and executes them one at a time in log order through any
//! `StripeClient`, appending each outcome as an event.
//!
//! Exactly once in Stripe: the idempotency key is `tally-cmd-<command uuid>` on every attempt.
//! If the process dies after Stripe executed a call but before the outcome event is appended,
//! the row is still `pending`; the next worker re-sends the same request, Stripe replays its
//! first answer, and the outcome is appended then (its event id derives from the command id, so
//! it is appended at most once). Rebuilding projections never runs this worker.

use chrono::{DateTime, Utc};
use ledger::domain::stripe_command::{command_stream_id, stripe_idempotency_key};
use ledger::domain::{
    Actor, DomainEvent, EventMetadata, StripeCommandFailed, StripeCommandSucceeded,
};
use ledger::store::stripe_outbox::{self, NewOutboxRow, OutboxLease, OutboxRow, OUTBOX_PROJECTION};
use ledger::store::{
    checkpoint, read, Checkpoint, EventStore, ExpectedVersion, FeedCursor, NewEvent,
};
use ledger::LedgerError;
use sqlx::Connection;
use std::time::Duration;
use stripe_client_core::StripeClient;

use crate::outbox::{send_stripe_call, stripe_call_for_event, RetryPolicy, StripeCall};
use crate::StripeCallError;

/// The metadata `source` of outcome events.
pub const OUTBOX_SOURCE: &str = "stripe_outbox";

/// Why the outbox worker stopped a pass (it retries the pass; nothing is skipped).
#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    /// The event store failed.
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    /// The database failed.
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    /// An event on the log cannot be read (unknown type or bad payload): the worker stops at it,
    /// as projectors do, and records it on its checkpoint.
    #[error("event at global position {global_position} cannot be read: {reason}")]
    PoisonEvent {
        /// Where it is.
        global_position: i64,
        /// Why.
        reason: String,
    },
}

/// How the worker reads and waits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutboxOptions {
    /// Events per page read from the log (default 500).
    pub page_size: i64,
    /// The longest wait between passes without a wake-up (default 250 ms).
    pub poll_interval: Duration,
    /// How retries are spaced.
    pub retry: RetryPolicy,
}

impl Default for OutboxOptions {
    fn default() -> Self {
        Self {
            page_size: 500,
            poll_interval: Duration::from_millis(250),
            retry: RetryPolicy::default(),
        }
    }
}

/// What one pass did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OutboxPass {
    /// Calls found on the log and queued.
    pub queued: u64,
    /// Requests sent to Stripe.
    pub sent: u64,
    /// Outcome events appended.
    pub completed: u64,
    /// When the oldest pending call is next due, if one is waiting for a retry.
    pub next_due: Option<DateTime<Utc>>,
}

/// The outbox worker over `client` (Tally's is `api::stripe_transport::StripeTransport`).
#[derive(Debug, Clone)]
pub struct OutboxWorker<C> {
    store: EventStore,
    client: C,
    options: OutboxOptions,
}

impl<C> OutboxWorker<C>
where
    C: StripeClient<Err = StripeCallError> + Sync + Send,
{
    /// A worker appending through `store` (share the process's store, so projectors wake on
    /// its outcome events) and calling Stripe through `client`.
    pub fn new(store: EventStore, client: C, options: OutboxOptions) -> Self {
        Self {
            store,
            client,
            options,
        }
    }

    /// Runs until the task is aborted (aborting is safe at any point: see the module
    /// documentation). Waits while another process holds the outbox lease.
    pub async fn run(self) {
        let mut lease = None;
        loop {
            if lease.is_none() {
                match OutboxLease::try_acquire(self.store.pool()).await {
                    Ok(Some(acquired)) => {
                        tracing::info!("outbox worker: executing Stripe commands");
                        lease = Some(acquired);
                    }
                    Ok(None) => {
                        tokio::time::sleep(Duration::from_secs(2)).await;
                        continue;
                    }
                    Err(error) => {
                        tracing::warn!(%error, "outbox worker: cannot take the lease");
                        tokio::time::sleep(Duration::from_secs(2)).await;
                        continue;
                    }
                }
            }
            let mut wake = self.store.signal().subscribe();
            wake.borrow_and_update();
            let wait = match self.run_pass().await {
                Ok(pass) => match pass.next_due {
                    Some(due) => (due - Utc::now())
                        .to_std()
                        .unwrap_or_default()
                        .min(self.options.poll_interval),
                    None => self.options.poll_interval,
                },
                Err(error) => {
                    tracing::error!(%error, "outbox worker pass failed; retrying");
                    // The lease's session may be gone with the database: take it again.
                    lease = None;
                    Duration::from_secs(1)
                }
            };
            let _ = tokio::time::timeout(wait, wake.changed()).await;
        }
    }

    /// One pass: queue the calls appended since the checkpoint, then execute every due call in
    /// log order. Call it only while holding the [`OutboxLease`] (tests call it directly).
    ///
    /// # Errors
    /// [`OutboxError`]: the database failed, or an event cannot be read.
    pub async fn run_pass(&self) -> Result<OutboxPass, OutboxError> {
        let mut pass = OutboxPass {
            queued: self.queue_new_calls().await?,
            ..OutboxPass::default()
        };
        loop {
            let Some(row) = stripe_outbox::oldest_pending(self.store.pool()).await? else {
                return Ok(pass);
            };
            if row.next_attempt_at > Utc::now() {
                pass.next_due = Some(row.next_attempt_at);
                return Ok(pass);
            }
            pass.sent += 1;
            if self.execute(&row).await? {
                pass.completed += 1;
            }
        }
    }

    /// The projector half: reads the log after the checkpoint page by page and, per page, in
    /// one transaction, advances the checkpoint and inserts the calls found (and marks rows
    /// whose outcome event is already on the log). Returns the calls queued.
    async fn queue_new_calls(&self) -> Result<u64, OutboxError> {
        let pool = self.store.pool();
        let mut queued = 0;
        loop {
            let mut conn = pool.acquire().await?;
            let previous = checkpoint::load(&mut conn, OUTBOX_PROJECTION).await?;
            let page =
                read::read_all_after(&mut *conn, previous.cursor, self.options.page_size).await?;
            let Some(last) = page.last() else {
                return Ok(queued);
            };
            let mut calls = Vec::new();
            let mut outcomes = Vec::new();
            for event in &page {
                let domain = match event.domain_event() {
                    Ok(domain) => domain,
                    Err(error) => {
                        let reason = error.to_string();
                        checkpoint::record_failure(
                            &mut *conn,
                            OUTBOX_PROJECTION,
                            previous.version,
                            Some(event.global_position),
                            &reason,
                        )
                        .await?;
                        return Err(OutboxError::PoisonEvent {
                            global_position: event.global_position,
                            reason,
                        });
                    }
                };
                if let Some((command_id, call)) = stripe_call_for_event(&domain) {
                    calls.push(NewOutboxRow {
                        command_id,
                        source_event_id: event.event_id,
                        global_position: event.global_position,
                        stripe_call: call.to_json(),
                    });
                }
                match domain {
                    DomainEvent::StripeCommandSucceeded(outcome) => {
                        outcomes.push((outcome.command_id, true, Some(outcome.stripe_object_id)));
                    }
                    DomainEvent::StripeCommandFailed(outcome) => {
                        outcomes.push((outcome.command_id, false, None));
                    }
                    _ => {}
                }
            }
            let next = Checkpoint {
                version: previous.version,
                cursor: FeedCursor {
                    transaction_id: last.transaction_id,
                    global_position: last.global_position,
                },
                events_applied: previous.events_applied + page.len() as i64,
            };
            let mut transaction = conn.begin().await?;
            if !checkpoint::advance(&mut transaction, OUTBOX_PROJECTION, true, &previous, &next)
                .await?
            {
                // Another instance moved the checkpoint: read again from where it is.
                transaction.rollback().await?;
                continue;
            }
            queued += stripe_outbox::insert_calls(&mut transaction, &calls).await?;
            for (command_id, succeeded, object_id) in &outcomes {
                stripe_outbox::mark_outcome_seen(
                    &mut transaction,
                    *command_id,
                    *succeeded,
                    object_id.as_deref(),
                )
                .await?;
            }
            transaction.commit().await?;
        }
    }

    /// Sends one pending call once; appends the outcome and finishes the row, or schedules the
    /// next attempt. Returns whether the call is finished.
    async fn execute(&self, row: &OutboxRow) -> Result<bool, OutboxError> {
        let pool = self.store.pool();
        let call: StripeCall = match serde_json::from_value(row.stripe_call.clone()) {
            Ok(call) => call,
            Err(error) => {
                let attempts = u32::try_from(row.attempts).unwrap_or(0);
                let failure = StripeCallError::Request {
                    detail: format!("stored call is unreadable: {error}"),
                };
                self.record_failure(row, attempts, &failure, false).await?;
                return Ok(true);
            }
        };
        let attempts = stripe_outbox::start_attempt(pool, row.command_id).await?;
        let attempts = u32::try_from(attempts).unwrap_or(u32::MAX);
        let key = stripe_idempotency_key(row.command_id);
        match send_stripe_call(&self.client, &call, &key).await {
            Ok(object) => {
                let outcome = DomainEvent::StripeCommandSucceeded(StripeCommandSucceeded {
                    command_id: row.command_id,
                    stripe_object_id: object.id.clone(),
                    stripe_object: object.object,
                    attempts,
                    completed_at: Utc::now(),
                });
                self.append_outcome(row, &outcome).await?;
                stripe_outbox::finish(pool, row.command_id, true, Some(&object.id), None).await?;
                tracing::info!(command_id = %row.command_id, stripe_object_id = %object.id, attempts, "Stripe command succeeded");
                Ok(true)
            }
            Err(error) if error.is_retryable() && attempts < self.options.retry.max_attempts => {
                let delay = self
                    .options
                    .retry
                    .delay_after(attempts, &error, rand::random());
                let due = Utc::now()
                    + chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::seconds(60));
                stripe_outbox::schedule_retry(
                    pool,
                    row.command_id,
                    due,
                    &error.code(),
                    &error.to_string(),
                    http_status(&error),
                )
                .await?;
                tracing::warn!(command_id = %row.command_id, attempts, ?delay, %error, "Stripe command will be retried");
                Ok(false)
            }
            Err(error) => {
                let exhausted = error.is_retryable();
                self.record_failure(row, attempts, &error, exhausted)
                    .await?;
                Ok(true)
            }
        }
    }

    async fn record_failure(
        &self,
        row: &OutboxRow,
        attempts: u32,
        error: &StripeCallError,
        retries_exhausted: bool,
    ) -> Result<(), OutboxError> {
        let code = if retries_exhausted {
            "retries_exhausted".to_owned()
        } else {
            error.code()
        };
        let message = match error {
            StripeCallError::Status {
                message: Some(message),
                ..
            } => message.clone(),
            other => other.to_string(),
        };
        let outcome = DomainEvent::StripeCommandFailed(StripeCommandFailed {
            command_id: row.command_id,
            code: code.clone(),
            message: message.clone(),
            http_status: http_status(error),
            attempts,
            failed_at: Utc::now(),
        });
        self.append_outcome(row, &outcome).await?;
        stripe_outbox::finish(
            self.store.pool(),
            row.command_id,
            false,
            None,
            Some((&code, &message, http_status(error))),
        )
        .await?;
        tracing::warn!(command_id = %row.command_id, %code, %message, attempts, "Stripe command failed");
        Ok(())
    }

    /// Appends the outcome to `command-<uuid>` under the one outcome event id of the command
    /// (UUIDv5 of the command id and `outcome`): a second outcome can never be stored.
    async fn append_outcome(
        &self,
        row: &OutboxRow,
        outcome: &DomainEvent,
    ) -> Result<(), OutboxError> {
        let metadata = EventMetadata {
            source: OUTBOX_SOURCE.to_owned(),
            actor: Actor::System,
            stripe_event_id: None,
            stripe_api_version: None,
            causation_id: Some(row.source_event_id),
            correlation_id: Some(row.command_id),
            stripe_fetch: None,
        };
        let event_id = outcome_event_id(row.command_id);
        let event = NewEvent::from_domain(event_id, outcome, metadata, Utc::now());
        self.store
            .append(
                &command_stream_id(row.command_id),
                ExpectedVersion::Any,
                &[event],
            )
            .await?;
        Ok(())
    }
}

pub use ledger::domain::stripe_command::outcome_event_id;

fn http_status(error: &StripeCallError) -> Option<u16> {
    match error {
        StripeCallError::Status { status, .. } => Some(*status),
        _ => None,
    }
}
