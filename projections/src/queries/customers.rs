//! Per-customer queries: MRR at an instant, and the audit trail of domain events.

use crate::ProjectionError;
use chrono::{DateTime, Utc};
use ledger::domain::Currency;
use ledger::store::{read, RecordedEvent};
use sqlx::PgPool;

/// A customer's MRR at an instant, in one currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerMrr {
    /// The currency of the figure.
    pub currency: Currency,
    /// MRR in minor units.
    pub mrr: i64,
}

/// The customer's MRR after every event with effective time <= `at` (revenue-rules.md §6), in
/// `currency` when given, else in the currency of its most recent MRR change before `at`.
/// `None` when the customer has no MRR history (in that currency) at all.
pub async fn customer_mrr_at(
    pool: &PgPool,
    customer: &str,
    at: DateTime<Utc>,
    currency: Option<&Currency>,
) -> Result<Option<CustomerMrr>, ProjectionError> {
    let row: Option<(String, i64)> = sqlx::query_as(
        "SELECT currency, mrr FROM mrr_customer_timeline
         WHERE customer_id = $1 AND valid_from <= $2 AND ($3::text IS NULL OR currency = $3)
         ORDER BY valid_from DESC, currency LIMIT 1",
    )
    .bind(customer)
    .bind(at)
    .bind(currency.map(Currency::as_str))
    .fetch_optional(pool)
    .await?;
    if let Some((currency, mrr)) = row {
        return Ok(Some(CustomerMrr {
            currency: Currency::new(&currency),
            mrr,
        }));
    }
    // Known in this currency, but only from later on: zero at `at`.
    let later: Option<String> = sqlx::query_scalar(
        "SELECT currency FROM mrr_customer_timeline
         WHERE customer_id = $1 AND ($2::text IS NULL OR currency = $2)
         ORDER BY valid_from LIMIT 1",
    )
    .bind(customer)
    .bind(currency.map(Currency::as_str))
    .fetch_optional(pool)
    .await?;
    Ok(later.map(|currency| CustomerMrr {
        currency: Currency::new(&currency),
        mrr: 0,
    }))
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
/// its metadata: the audit trail.
pub async fn customer_events(
    pool: &PgPool,
    customer: &str,
) -> Result<Vec<RecordedEvent>, ProjectionError> {
    let positions: Vec<i64> = sqlx::query_scalar(
        "SELECT global_position FROM customer_events WHERE customer_id = $1
         ORDER BY effective_at, global_position",
    )
    .bind(customer)
    .fetch_all(pool)
    .await?;
    Ok(read::read_positions(pool, &positions).await?)
}
