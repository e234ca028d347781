//! Projector `customer_events`: indexes which log entries concern which customer, so the audit
//! trail of one customer is one index scan.

use crate::projector::Projector;
use crate::read_models::mrr::decode;
use crate::ProjectionError;
use ledger::store::RecordedEvent;
use sqlx::PgConnection;

/// The customer audit-trail projector (name `customer_events`).
#[derive(Debug, Default, Clone, Copy)]
pub struct CustomerEventsProjector;

impl Projector for CustomerEventsProjector {
    fn name(&self) -> &'static str {
        "customer_events"
    }

    fn tables(&self) -> &'static [&'static str] {
        &["customer_events"]
    }

    /// `apply` (also the bulk path) only inserts rows (`ON CONFLICT DO NOTHING`).
    fn bulk_only_inserts(&self) -> bool {
        true
    }

    async fn apply(
        &self,
        conn: &mut PgConnection,
        events: &[RecordedEvent],
    ) -> Result<(), ProjectionError> {
        let mut customers = Vec::new();
        let mut effective = Vec::new();
        let mut positions = Vec::new();
        for event in events {
            if let Some(customer) = decode(self.name(), event)?.customer() {
                customers.push(customer.0.clone());
                effective.push(event.effective_at);
                positions.push(event.global_position);
            }
        }
        sqlx::query(
            "INSERT INTO customer_events (customer_id, effective_at, global_position)
             SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::bigint[])
             ON CONFLICT DO NOTHING",
        )
        .bind(&customers)
        .bind(&effective)
        .bind(&positions)
        .execute(conn)
        .await?;
        Ok(())
    }
}
