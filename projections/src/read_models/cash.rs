//! Projector `cash`: keeps every invoice and charge snapshot per currency; the cash report
//! (revenue-rules.md §5) is computed from them at query time.

use crate::projector::Projector;
use crate::read_models::mrr::decode;
use crate::read_models::snapshot_table::{insert_snapshots, SnapshotRow, SnapshotTable};
use crate::ProjectionError;
use ledger::domain::DomainEvent;
use ledger::store::RecordedEvent;
use sqlx::PgConnection;

/// The cash projector (name `cash`).
#[derive(Debug, Default, Clone, Copy)]
pub struct CashProjector;

impl Projector for CashProjector {
    fn name(&self) -> &'static str {
        "cash"
    }

    fn tables(&self) -> &'static [&'static str] {
        &["cash_invoice_snapshots", "cash_charge_snapshots"]
    }

    async fn apply(
        &self,
        conn: &mut PgConnection,
        events: &[RecordedEvent],
    ) -> Result<(), ProjectionError> {
        let mut invoices = Vec::new();
        let mut charges = Vec::new();
        for event in events {
            match decode(self.name(), event)? {
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
        insert_snapshots(conn, SnapshotTable::CashInvoices, &invoices).await?;
        insert_snapshots(conn, SnapshotTable::CashCharges, &charges).await
    }
}
