//! Reconciliation (`tally reconcile`): Stripe's subscriptions, listed through any
//! async-stripe `StripeClient` ([`fetch_stripe_subscriptions`]), compared with the ledger's
//! latest snapshots ([`drift`], pure), and corrective snapshots for `--fix` ([`correction`],
//! appended by [`append_corrections`]).

pub mod correction;
pub mod drift;

pub use correction::{
    correction_event, StripeSubscriptionState, CORRECTION_NAMESPACE, RECONCILE_SOURCE,
};
pub use drift::{reconcile_subscriptions, subscription_drifts, DriftField, SubscriptionDrift};

use crate::backfill::{
    fetch_list_page, translate_listed_object, ListRequest, ListedResource, UnreadableObject,
};
use crate::error::BackfillError;
use crate::ingest::IngestError;
use chrono::{DateTime, Utc};
use ledger::domain::DomainEvent;
use ledger::store::{copy_append_chunk, AppendSignal, StreamEvent};
use sqlx::PgPool;
use stripe_client_core::StripeClient;

/// Stripe's subscriptions (every status), as snapshots, and the ones Tally could not read.
#[derive(Debug, Clone, Default)]
pub struct StripeSubscriptions {
    /// Every readable subscription.
    pub subscriptions: Vec<StripeSubscriptionState>,
    /// Listed subscriptions the translator could not read (reported, never dropped silently).
    pub unreadable: Vec<UnreadableObject>,
}

/// Pages through `GET /v1/subscriptions?status=all` and translates every subscription;
/// `clock` gives each page's fetch time.
///
/// Errors: [`BackfillError::Stripe`] / [`BackfillError::UnreadableList`] when a page cannot be
/// fetched or read.
pub async fn fetch_stripe_subscriptions<C>(
    client: &C,
    clock: impl Fn() -> DateTime<Utc>,
) -> Result<StripeSubscriptions, BackfillError>
where
    C: StripeClient + Sync,
    C::Err: std::error::Error + Send + Sync + 'static,
{
    let mut listed = StripeSubscriptions::default();
    let mut request = ListRequest::first(ListedResource::Subscriptions, None);
    loop {
        let page = fetch_list_page(client, &request).await?;
        let fetched_at = clock();
        for object in &page.objects {
            match translate_listed_object(ListedResource::Subscriptions, object, fetched_at) {
                Ok(DomainEvent::SubscriptionObserved(observed)) => {
                    listed.subscriptions.push(StripeSubscriptionState {
                        snapshot: observed.snapshot,
                        request: request.describe(),
                        fetched_at,
                    })
                }
                Ok(other) => listed.unreadable.push(UnreadableObject {
                    object_id: other.stream_id(),
                    reason: format!("translated as {}, not a subscription", other.event_type()),
                }),
                Err(unreadable) => listed.unreadable.push(unreadable),
            }
        }
        match page.next_cursor(&request)? {
            Some(last_id) => request = request.after(&last_id),
            None => break,
        }
    }
    Ok(listed)
}

/// Appends the corrective snapshots in one transaction (idempotent by event id); signals
/// `append_signal` after. Returns how many were written (0 when all were already stored).
///
/// Errors: [`BackfillError::Ingest`] when writing fails (nothing is written).
pub async fn append_corrections(
    pool: &PgPool,
    append_signal: &AppendSignal,
    corrections: &[StreamEvent],
) -> Result<u64, BackfillError> {
    if corrections.is_empty() {
        return Ok(0);
    }
    let mut conn = pool.acquire().await.map_err(IngestError::from)?;
    let outcome = copy_append_chunk(&mut conn, corrections, &[])
        .await
        .map_err(IngestError::from)?;
    drop(conn);
    append_signal.notify();
    Ok(outcome.appended)
}

#[cfg(test)]
mod tests;
