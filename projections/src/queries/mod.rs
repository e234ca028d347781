//! Read-side queries: load read-model rows and hand them to the revenue rules. The API calls
//! these; it never writes SQL itself.
//!
//! Amounts are integer minor units of the currency asked for; times are UTC. Errors:
//! [`crate::ProjectionError::Database`] when the database fails, `BadRow` when a stored row no
//! longer decodes (a read model built by another version: rebuild it).

mod customers;
mod reports;

pub use customers::{customer_currencies, customer_events, customer_is_known, customer_mrr_at};
pub use reports::{cash_report, churn_report, mrr_report};
