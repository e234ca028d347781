//! Snapshot rows with the event each came from (its recorded time, global position, type and
//! Stripe Event id): the input of time travel (`as_of`), customer timelines and restatements.

use crate::read_models::SnapshotTable;
use crate::rules::{Observed, RecordedMrrSnapshots, RecordedSnapshot, SnapshotSource};
use crate::ProjectionError;
use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use sqlx::types::Json;
use sqlx::{PgPool, Row};

/// Which rows of a snapshot table to load.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Selection<'a> {
    /// Every row.
    All,
    /// Rows whose scope is one of these.
    Scopes(&'a [String]),
    /// Rows of these objects.
    ObjectIds(&'a [String]),
}

/// The stream prefix of a table's objects (`<prefix>-<object id>` is the object's stream).
fn stream_prefix(table: SnapshotTable) -> &'static str {
    match table {
        SnapshotTable::MrrSubscriptions => "subscription-",
        SnapshotTable::MrrDiscounts => "discount-",
        SnapshotTable::MrrCoupons => "coupon-",
        SnapshotTable::CashInvoices => "invoice-",
        SnapshotTable::CashCharges => "charge-",
    }
}

/// Loads the `selection` of `table` with each row's source event, keeping only rows whose
/// event was recorded at or before `known_by` (`None`: all). Rows in order key order per
/// object. The source event is found by the row's `source_id` (Stripe Event id, else event id)
/// in its object's stream (found through `events_stream_version_key`: a stream holds few
/// events, so no index on the source id is kept; it would cost every append).
pub(crate) async fn load_recorded<T: DeserializeOwned>(
    pool: &PgPool,
    table: SnapshotTable,
    selection: Selection<'_>,
    known_by: Option<DateTime<Utc>>,
) -> Result<Vec<RecordedSnapshot<T>>, ProjectionError> {
    let (filter, keys): (&str, &[String]) = match selection {
        Selection::All => ("true", &[]),
        Selection::Scopes(scopes) => ("s.scope = ANY($2)", scopes),
        Selection::ObjectIds(ids) => ("s.object_id = ANY($2)", ids),
    };
    // Table names and filters are constants, never input.
    let sql = format!(
        "SELECT s.scope, s.effective_at, s.change, s.source_id, s.snapshot,
                e.global_position, e.recorded_at, e.event_type,
                e.metadata->>'stripe_event_id' AS stripe_event_id
         FROM {table} s
         CROSS JOIN LATERAL (
             SELECT global_position, recorded_at, event_type, metadata FROM events
             WHERE coalesce(metadata->>'stripe_event_id', event_id::text) = s.source_id
               AND stream_id = $1 || s.object_id
             ORDER BY global_position LIMIT 1) e
         WHERE {filter} AND ($3::timestamptz IS NULL OR e.recorded_at <= $3)
         ORDER BY s.scope, s.object_id, s.effective_at, s.change_rank, s.source_id",
        table = table.name()
    );
    let rows = sqlx::query(&sql)
        .bind(stream_prefix(table))
        .bind(keys)
        .bind(known_by)
        .fetch_all(pool)
        .await?;
    rows.iter()
        .map(|row| {
            let change: String = row.try_get("change")?;
            Ok(RecordedSnapshot {
                scope: row.try_get("scope")?,
                observed: Observed {
                    effective_at: row.try_get("effective_at")?,
                    change: serde_json::from_value(serde_json::Value::String(change))?,
                    source_id: row.try_get("source_id")?,
                    snapshot: row.try_get::<Json<T>, _>("snapshot")?.0,
                },
                source: SnapshotSource {
                    recorded_at: row.try_get("recorded_at")?,
                    global_position: row.try_get("global_position")?,
                    event_type: row.try_get("event_type")?,
                    stripe_event_id: row.try_get("stripe_event_id")?,
                },
            })
        })
        .collect()
}

/// Every subscription, discount and coupon snapshot recorded at or before `known_by`
/// (`None`: all), with sources.
pub(crate) async fn all_mrr_snapshots(
    pool: &PgPool,
    known_by: Option<DateTime<Utc>>,
) -> Result<RecordedMrrSnapshots, ProjectionError> {
    Ok(RecordedMrrSnapshots {
        subscriptions: load_recorded(
            pool,
            SnapshotTable::MrrSubscriptions,
            Selection::All,
            known_by,
        )
        .await?,
        discounts: load_recorded(pool, SnapshotTable::MrrDiscounts, Selection::All, known_by)
            .await?,
        coupons: load_recorded(pool, SnapshotTable::MrrCoupons, Selection::All, known_by).await?,
    })
}

/// One customer's subscription and discount snapshots (also discounts stored under one of its
/// subscriptions) and the coupons they name, recorded at or before `known_by` (`None`: all).
pub(crate) async fn customer_mrr_snapshots(
    pool: &PgPool,
    customer: &str,
    known_by: Option<DateTime<Utc>>,
) -> Result<RecordedMrrSnapshots, ProjectionError> {
    let customer_scope = [customer.to_owned()];
    let subscriptions: Vec<RecordedSnapshot<ledger::domain::SubscriptionSnapshot>> = load_recorded(
        pool,
        SnapshotTable::MrrSubscriptions,
        Selection::Scopes(&customer_scope),
        known_by,
    )
    .await?;
    let mut scopes: Vec<String> = subscriptions
        .iter()
        .map(|row| format!("subscription:{}", row.observed.snapshot.subscription))
        .collect();
    scopes.push(customer.to_owned());
    scopes.sort();
    scopes.dedup();
    let discounts: Vec<RecordedSnapshot<ledger::domain::DiscountSnapshot>> = load_recorded(
        pool,
        SnapshotTable::MrrDiscounts,
        Selection::Scopes(&scopes),
        known_by,
    )
    .await?;
    let mut coupon_ids: Vec<String> = discounts
        .iter()
        .map(|row| row.observed.snapshot.coupon_id.clone())
        .collect();
    coupon_ids.sort();
    coupon_ids.dedup();
    let coupons = load_recorded(
        pool,
        SnapshotTable::MrrCoupons,
        Selection::ObjectIds(&coupon_ids),
        known_by,
    )
    .await?;
    Ok(RecordedMrrSnapshots {
        subscriptions,
        discounts,
        coupons,
    })
}
