//! Projector `cash`: keeps every invoice and charge snapshot per currency, and per currency and
//! month the summed changes of the cash report (revenue-rules.md §5) that each invoice and charge
//! makes (`cash_report_month_deltas`): after each batch it withdraws the affected objects'
//! changes as they were before the batch and adds them as they are after it.

use crate::projector::{run_concurrently, versions, Projector};
use crate::read_models::mrr::decode;
use crate::read_models::report_month_deltas::{add_cash_report_changes, ChangesByCurrencyAndMonth};
use crate::read_models::snapshot_table::{
    insert_snapshots, load_snapshots_of_objects, SnapshotRow, SnapshotTable,
};
use crate::rules::{self, CashFigures, Month, Observed};
use crate::ProjectionError;
use ledger::domain::{ChargeSnapshot, DomainEvent, InvoiceSnapshot};
use ledger::store::RecordedEvent;
use sqlx::{PgConnection, PgPool};
use std::collections::{BTreeMap, BTreeSet};

/// The cash projector (name `cash`).
#[derive(Debug, Default, Clone, Copy)]
pub struct CashProjector;

impl Projector for CashProjector {
    fn name(&self) -> &'static str {
        "cash"
    }

    fn event_types(&self) -> Option<&'static [&'static str]> {
        Some(CASH_EVENT_TYPES)
    }

    fn tables(&self) -> &'static [&'static str] {
        &[
            "cash_invoice_snapshots",
            "cash_charge_snapshots",
            "cash_report_month_deltas",
        ]
    }

    async fn apply(
        &self,
        conn: &mut PgConnection,
        events: &[RecordedEvent],
    ) -> Result<(), ProjectionError> {
        let batch = CashSnapshotBatch::from_events(self.name(), events)?;
        let invoice_ids = batch.object_ids(&batch.invoices);
        let charge_ids = batch.object_ids(&batch.charges);
        let mut changes = ChangesByCurrencyAndMonth::new();
        add_object_changes(conn, &invoice_ids, &charge_ids, &mut changes, true).await?;
        batch.insert(conn).await?;
        add_object_changes(conn, &invoice_ids, &charge_ids, &mut changes, false).await?;
        add_cash_report_changes(conn, &changes).await
    }

    /// The bulk path only inserts rows (`ON CONFLICT DO NOTHING`) and reads nothing back.
    fn bulk_only_inserts(&self) -> bool {
        true
    }

    /// Rebuild path: stores the snapshots only; [`Projector::finish_bulk`] derives every
    /// object's report changes once at the end, from the same snapshots.
    async fn apply_bulk(
        &self,
        conn: &mut PgConnection,
        events: &[RecordedEvent],
    ) -> Result<(), ProjectionError> {
        CashSnapshotBatch::from_events(self.name(), events)?
            .insert(conn)
            .await
    }

    /// Adds the report changes of every stored invoice and charge of `version`: the objects
    /// are derived [`DERIVE_CHUNK`] at a time, invoices and charges in one queue, two chunks
    /// at once ([`run_concurrently`]: each loads and decodes its snapshots on its own
    /// connection, so the server's work and the decoding use both cores), their changes summed in memory (one row per currency and
    /// month) and added in one statement batch at the end.
    async fn finish_bulk(&self, pool: &PgPool, version: i32) -> Result<(), ProjectionError> {
        let mut parts = Vec::new();
        for (table, invoices) in [
            ("cash_invoice_snapshots", true),
            ("cash_charge_snapshots", false),
        ] {
            let mut transaction = pool.begin().await?;
            versions::use_version(&mut transaction, self.name(), version).await?;
            // Table names are constants, never input.
            let object_ids: Vec<String> = sqlx::query_scalar(&format!(
                "SELECT DISTINCT object_id FROM {table} ORDER BY 1"
            ))
            .fetch_all(&mut *transaction)
            .await?;
            transaction.commit().await?;
            parts.extend(object_ids.chunks(DERIVE_CHUNK).map(|chunk| {
                derive_chunk(pool.clone(), self.name(), version, invoices, chunk.to_vec())
            }));
        }
        let derived = run_concurrently(parts).await?;
        let mut changes: ChangesByCurrencyAndMonth<CashFigures> = BTreeMap::new();
        for (key, delta) in derived.into_iter().flatten() {
            let total = changes.entry(key).or_default();
            *total = total.plus(&delta);
        }
        let mut transaction = pool.begin().await?;
        versions::use_version(&mut transaction, self.name(), version).await?;
        add_cash_report_changes(&mut transaction, &changes).await?;
        transaction.commit().await?;
        Ok(())
    }
}

/// The report changes of one chunk of invoices (`invoices`) or charges of `version`, as their
/// stored snapshots stand, read in a transaction of its own.
async fn derive_chunk(
    pool: PgPool,
    projection: &'static str,
    version: i32,
    invoices: bool,
    object_ids: Vec<String>,
) -> Result<ChangesByCurrencyAndMonth<CashFigures>, ProjectionError> {
    let mut transaction = pool.begin().await?;
    versions::use_version(&mut transaction, projection, version).await?;
    // A chunk's rows (~15,000 at 10,000 customers, ~6 MB) sort in memory, not on disk.
    sqlx::query("SET LOCAL work_mem = '64MB'")
        .execute(&mut *transaction)
        .await?;
    let (invoice_ids, charge_ids) = if invoices {
        (&object_ids[..], &[][..])
    } else {
        (&[][..], &object_ids[..])
    };
    let mut changes = ChangesByCurrencyAndMonth::new();
    add_object_changes(
        &mut transaction,
        invoice_ids,
        charge_ids,
        &mut changes,
        false,
    )
    .await?;
    transaction.commit().await?;
    Ok(changes)
}

/// The event types the cash projector reads; it ignores every other type without decoding it.
pub(crate) const CASH_EVENT_TYPES: &[&str] = &["InvoiceObserved", "ChargeObserved"];

/// Objects derived per transaction by [`CashProjector::finish_bulk`].
const DERIVE_CHUNK: usize = 5000;

/// Adds (or, with `withdraw`, subtracts) to `changes` the report changes of the given invoices
/// and charges as their stored snapshots stand now, per currency (the scope they are stored
/// under) and month.
async fn add_object_changes(
    conn: &mut PgConnection,
    invoice_ids: &[String],
    charge_ids: &[String],
    changes: &mut ChangesByCurrencyAndMonth<CashFigures>,
    withdraw: bool,
) -> Result<(), ProjectionError> {
    let mut add = |currency: &str, deltas: Vec<(Month, CashFigures)>| {
        for (month, delta) in deltas {
            let total = changes.entry((currency.to_owned(), month)).or_default();
            *total = if withdraw {
                total.minus(&delta)
            } else {
                total.plus(&delta)
            };
        }
    };
    if !invoice_ids.is_empty() {
        let invoices: Vec<(String, Observed<InvoiceSnapshot>)> =
            load_snapshots_of_objects(&mut *conn, SnapshotTable::CashInvoices, invoice_ids).await?;
        for ((currency, _), history) in histories_by_scope(&invoices, |invoice| {
            (invoice.currency.as_str(), invoice.invoice.as_str())
        }) {
            add(currency, rules::invoice_cash_deltas(&history));
        }
    }
    if !charge_ids.is_empty() {
        let charges: Vec<(String, Observed<ChargeSnapshot>)> =
            load_snapshots_of_objects(&mut *conn, SnapshotTable::CashCharges, charge_ids).await?;
        for ((currency, _), history) in histories_by_scope(&charges, |charge| {
            (charge.currency.as_str(), charge.charge.as_str())
        }) {
            add(currency, rules::charge_cash_deltas(&history));
        }
    }
    Ok(())
}

/// Snapshots grouped by (currency, object id): the currency is the scope they are stored under.
fn histories_by_scope<'a, T>(
    snapshots: &'a [(String, Observed<T>)],
    key: impl Fn(&'a T) -> (&'a str, &'a str),
) -> BTreeMap<(&'a str, &'a str), Vec<&'a Observed<T>>> {
    let mut grouped: BTreeMap<(&str, &str), Vec<&Observed<T>>> = BTreeMap::new();
    for (_, observed) in snapshots {
        grouped
            .entry(key(&observed.snapshot))
            .or_default()
            .push(observed);
    }
    grouped
}

/// The snapshot rows one batch of events adds to the cash read model.
struct CashSnapshotBatch {
    invoices: Vec<SnapshotRow>,
    charges: Vec<SnapshotRow>,
}

impl CashSnapshotBatch {
    /// Decodes `events` (other event types are ignored).
    ///
    /// Errors: [`ProjectionError::PoisonEvent`] for an event that cannot be decoded.
    fn from_events(projection: &str, events: &[RecordedEvent]) -> Result<Self, ProjectionError> {
        let mut invoices = Vec::new();
        let mut charges = Vec::new();
        for event in events {
            if !CASH_EVENT_TYPES.contains(&event.event_type.as_str()) {
                continue;
            }
            match decode(projection, event)? {
                DomainEvent::InvoiceObserved(observed) => {
                    let snapshot = &observed.snapshot;
                    invoices.push(SnapshotRow::new(
                        snapshot.currency.as_str(),
                        snapshot.invoice.as_str(),
                        event,
                        observed.change,
                        snapshot,
                    )?);
                }
                DomainEvent::ChargeObserved(observed) => {
                    let snapshot = &observed.snapshot;
                    charges.push(SnapshotRow::new(
                        snapshot.currency.as_str(),
                        snapshot.charge.as_str(),
                        event,
                        observed.change,
                        snapshot,
                    )?);
                }
                _ => {}
            }
        }
        Ok(Self { invoices, charges })
    }

    /// The distinct object ids of `rows`.
    fn object_ids(&self, rows: &[SnapshotRow]) -> Vec<String> {
        rows.iter()
            .map(|row| row.object_id.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect()
    }

    /// Stores every row of the batch.
    async fn insert(&self, conn: &mut PgConnection) -> Result<(), ProjectionError> {
        insert_snapshots(conn, SnapshotTable::CashInvoices, &self.invoices).await?;
        insert_snapshots(conn, SnapshotTable::CashCharges, &self.charges).await
    }
}

#[cfg(test)]
mod tests {
    use super::CASH_EVENT_TYPES;
    use crate::read_models::mrr::MRR_EVENT_TYPES;
    use ledger::domain::upcasting::EVENT_TYPES;

    /// The declared event types are stored type names, so a rebuild that reads only them reads
    /// what `apply` reads.
    #[test]
    fn declared_event_types_are_stored_type_names() {
        for name in MRR_EVENT_TYPES.iter().chain(CASH_EVENT_TYPES) {
            assert!(
                EVENT_TYPES.iter().any(|(stored, _)| stored == name),
                "{name} is not in EVENT_TYPES"
            );
        }
    }
}
