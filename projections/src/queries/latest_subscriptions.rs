//! The latest snapshot of every subscription the MRR read model holds: the ledger's side of
//! `tally reconcile`.

use crate::ProjectionError;
use ledger::domain::SubscriptionSnapshot;
use sqlx::types::Json;
use sqlx::{PgPool, Row};

/// Each subscription's latest snapshot by the order key of revenue-rules.md §6 (effective
/// time, change rank, source id), whatever its effective time (a change Stripe scheduled later
/// than now counts as the ledger's state). Sorted by subscription id. Bring the projections up
/// to date first (`catch_up_all`).
///
/// Errors: [`ProjectionError::Database`], or a row that no longer decodes.
pub async fn latest_subscription_snapshots(
    pool: &PgPool,
) -> Result<Vec<SubscriptionSnapshot>, ProjectionError> {
    let rows = sqlx::query(
        "SELECT DISTINCT ON (object_id) snapshot FROM mrr_subscription_snapshots
         ORDER BY object_id, effective_at DESC, change_rank DESC, source_id COLLATE \"C\" DESC",
    )
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|row| Ok(row.try_get::<Json<SubscriptionSnapshot>, _>("snapshot")?.0))
        .collect()
}
