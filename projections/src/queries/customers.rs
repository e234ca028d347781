//! Per-customer queries: MRR at an instant, and the audit trail of domain events.

use crate::ProjectionError;
use chrono::{DateTime, Utc};
use ledger::domain::Currency;
use ledger::store::{read, RecordedEvent};
use sqlx::PgPool;

/// The currencies in which `customer` has ever had MRR, sorted.
pub async fn customer_currencies(
    pool: &PgPool,
    customer: &str,
) -> Result<Vec<Currency>, ProjectionError> {
    let currencies: Vec<String> = sqlx::query_scalar(
        "SELECT DISTINCT currency FROM mrr_customer_timeline WHERE customer_id = $1 ORDER BY currency",
    )
    .bind(customer)
    .fetch_all(pool)
    .await?;
    Ok(currencies
        .iter()
        .map(|currency| Currency::new(currency))
        .collect())
}

/// The customer's MRR in `currency`, in minor units, after every event with effective time
/// <= `at` (revenue-rules.md §6); 0 before its first subscription counts.
pub async fn customer_mrr_at(
    pool: &PgPool,
    customer: &str,
    currency: &Currency,
    at: DateTime<Utc>,
) -> Result<i64, ProjectionError> {
    let mrr: Option<i64> = sqlx::query_scalar(
        "SELECT mrr FROM mrr_customer_timeline
         WHERE customer_id = $1 AND currency = $2 AND valid_from <= $3
         ORDER BY valid_from DESC LIMIT 1",
    )
    .bind(customer)
    .bind(currency.as_str())
    .bind(at)
    .fetch_optional(pool)
    .await?;
    Ok(mrr.unwrap_or(0))
}

/// Whether any event about `customer` is in the log (as far as the audit projection has read).
pub async fn customer_is_known(pool: &PgPool, customer: &str) -> Result<bool, ProjectionError> {
    let found: Option<i64> = sqlx::query_scalar(
        "SELECT global_position FROM customer_events WHERE customer_id = $1 LIMIT 1",
    )
    .bind(customer)
    .fetch_optional(pool)
    .await?;
    Ok(found.is_some())
}

/// Every domain event about `customer`, in effective-time order (then global position), with
/// its metadata: the audit trail. With `as_of`, only the events recorded at or before it
/// (`recorded_at <= as_of`, UTC): the trail as the log held it then, so a later correction
/// cannot rewrite what an earlier report was based on. `None`: the log as it is now.
///
/// Reads what the `customer_events` projection has indexed (callers that need the latest
/// events catch up first). `recorded_at` is the appending transaction's start, so an event
/// whose transaction committed just after `as_of` may be included.
pub async fn customer_events(
    pool: &PgPool,
    customer: &str,
    as_of: Option<DateTime<Utc>>,
) -> Result<Vec<RecordedEvent>, ProjectionError> {
    let positions: Vec<i64> = sqlx::query_scalar(
        "SELECT global_position FROM customer_events WHERE customer_id = $1
         ORDER BY effective_at, global_position",
    )
    .bind(customer)
    .fetch_all(pool)
    .await?;
    let mut events = read::read_positions(pool, &positions).await?;
    if let Some(as_of) = as_of {
        events.retain(|event| event.recorded_at <= as_of);
    }
    Ok(events)
}
