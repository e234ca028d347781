//! The shared shape of snapshot tables: every observed snapshot of a billing object, keyed by a
//! scope (customer or currency), the object id and the order key of revenue-rules.md §6.

use crate::rules::Observed;
use crate::ProjectionError;
use chrono::{DateTime, Utc};
use ledger::domain::ObservedChange;
use ledger::store::RecordedEvent;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::value::RawValue;
use sqlx::types::Json;
use sqlx::{PgConnection, PgExecutor, Row};

/// One of the snapshot tables of `migrations/0002_read_models.sql`.
#[derive(Debug, Clone, Copy)]
pub(crate) enum SnapshotTable {
    /// Subscriptions, scoped by customer.
    MrrSubscriptions,
    /// Discounts, scoped by customer (or `subscription:<id>`).
    MrrDiscounts,
    /// Coupon terms, all under the scope `coupon`.
    MrrCoupons,
    /// Invoices, scoped by currency.
    CashInvoices,
    /// Charges, scoped by currency.
    CashCharges,
}

impl SnapshotTable {
    /// The table's name (a constant, never input).
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::MrrSubscriptions => "mrr_subscription_snapshots",
            Self::MrrDiscounts => "mrr_discount_snapshots",
            Self::MrrCoupons => "mrr_coupon_snapshots",
            Self::CashInvoices => "cash_invoice_snapshots",
            Self::CashCharges => "cash_charge_snapshots",
        }
    }
}

/// A snapshot to store, with its scope and order key.
#[derive(Debug)]
pub(crate) struct SnapshotRow {
    pub scope: String,
    pub object_id: String,
    pub effective_at: DateTime<Utc>,
    pub change: ObservedChange,
    pub source_id: String,
    /// The snapshot's JSON text, serialized straight from its type (no `Value` tree).
    pub snapshot: Box<RawValue>,
}

impl SnapshotRow {
    /// A row for `snapshot`, observed by `event` (the order key's tie-break is the source Stripe
    /// event id, else the event id).
    pub(crate) fn new(
        scope: &str,
        object_id: &str,
        event: &RecordedEvent,
        change: ObservedChange,
        snapshot: &impl Serialize,
    ) -> Result<Self, ProjectionError> {
        Ok(Self {
            scope: scope.to_owned(),
            object_id: object_id.to_owned(),
            effective_at: event.effective_at,
            change,
            source_id: event
                .metadata
                .stripe_event_id
                .clone()
                .unwrap_or_else(|| event.event_id.to_string()),
            snapshot: serde_json::value::to_raw_value(snapshot)?,
        })
    }
}

/// Stores `rows` in `table` in one statement; a row already stored (same key) is left as is.
/// Snapshots are sent as text and stored as `json`, verbatim (`migrations/0018`).
pub(crate) async fn insert_snapshots(
    conn: &mut PgConnection,
    table: SnapshotTable,
    rows: &[SnapshotRow],
) -> Result<(), ProjectionError> {
    if rows.is_empty() {
        return Ok(());
    }
    let mut scopes = Vec::with_capacity(rows.len());
    let mut object_ids = Vec::with_capacity(rows.len());
    let mut effective = Vec::with_capacity(rows.len());
    let mut ranks = Vec::with_capacity(rows.len());
    let mut sources = Vec::with_capacity(rows.len());
    let mut changes = Vec::with_capacity(rows.len());
    let mut snapshots = Vec::with_capacity(rows.len());
    for row in rows {
        scopes.push(row.scope.as_str());
        object_ids.push(row.object_id.as_str());
        effective.push(row.effective_at);
        ranks.push(i16::from(row.change.rank()));
        sources.push(row.source_id.as_str());
        changes.push(change_name(row.change)?);
        snapshots.push(row.snapshot.get());
    }
    let sql = format!(
        "INSERT INTO {} (scope, object_id, effective_at, change_rank, source_id, change, snapshot)
         SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::smallint[],
                              $5::text[], $6::text[], $7::text[]::json[])
         ON CONFLICT DO NOTHING",
        table.name()
    );
    sqlx::query(&sql)
        .bind(&scopes)
        .bind(&object_ids)
        .bind(&effective)
        .bind(&ranks)
        .bind(&sources)
        .bind(&changes)
        .bind(&snapshots)
        .execute(conn)
        .await?;
    Ok(())
}

/// Loads every snapshot in `table` whose scope is one of `scopes`, with its scope.
pub(crate) async fn load_snapshots<'c, T: DeserializeOwned>(
    executor: impl PgExecutor<'c>,
    table: SnapshotTable,
    scopes: &[String],
) -> Result<Vec<(String, Observed<T>)>, ProjectionError> {
    load_snapshots_by(executor, table, KeyColumn::Scope, scopes).await
}

/// Loads every snapshot in `table` of the given objects (any scope), with its object id.
pub(crate) async fn load_snapshots_of_objects<'c, T: DeserializeOwned>(
    executor: impl PgExecutor<'c>,
    table: SnapshotTable,
    object_ids: &[String],
) -> Result<Vec<(String, Observed<T>)>, ProjectionError> {
    load_snapshots_by(executor, table, KeyColumn::ObjectId, object_ids).await
}

/// The column snapshots are selected by (and returned with).
#[derive(Debug, Clone, Copy)]
enum KeyColumn {
    Scope,
    ObjectId,
}

async fn load_snapshots_by<'c, T: DeserializeOwned>(
    executor: impl PgExecutor<'c>,
    table: SnapshotTable,
    key: KeyColumn,
    values: &[String],
) -> Result<Vec<(String, Observed<T>)>, ProjectionError> {
    // Table and column names are constants, never input.
    let column = match key {
        KeyColumn::Scope => "scope",
        KeyColumn::ObjectId => "object_id",
    };
    let sql = format!(
        "SELECT {column} AS key, effective_at, change, source_id, snapshot FROM {}
         WHERE {column} = ANY($1) ORDER BY scope, object_id, effective_at, change_rank, source_id",
        table.name()
    );
    let rows = sqlx::query(&sql).bind(values).fetch_all(executor).await?;
    rows.iter()
        .map(|row| {
            let change: String = row.try_get("change")?;
            let observed = Observed {
                effective_at: row.try_get("effective_at")?,
                change: serde_json::from_value(serde_json::Value::String(change))?,
                source_id: row.try_get("source_id")?,
                snapshot: row.try_get::<Json<T>, _>("snapshot")?.0,
            };
            Ok((row.try_get("key")?, observed))
        })
        .collect()
}

fn change_name(change: ObservedChange) -> Result<String, ProjectionError> {
    match serde_json::to_value(change)? {
        serde_json::Value::String(name) => Ok(name),
        other => Ok(other.to_string()),
    }
}
