//! Read-side queries: load read-model rows and hand them to the revenue rules. The API calls
//! these; it never writes SQL itself.
//!
//! Amounts are integer minor units of the currency asked for; times are UTC. Errors:
//! [`crate::ProjectionError::Database`] when the database fails, `BadRow` when a stored row no
//! longer decodes (a read model built by another version: rebuild it).
//!
//! `as_of` (a recorded time, UTC) readings recompute from the snapshot rows whose source events
//! were recorded at or before it (`recorded_snapshots`), with the rules the projectors run.

mod as_of;
mod customer_timeline;
mod customers;
mod daily;
mod latest_subscriptions;
mod plans_and_restatements;
mod recorded_snapshots;
mod reports;

pub use as_of::{cash_report_as_of, churn_report_as_of, mrr_report_as_of};
pub use customer_timeline::{customer_mrr_at_as_of, customer_timeline, CustomerTimelineEntry};
pub use customers::{customer_currencies, customer_events, customer_is_known, customer_mrr_at};
pub use daily::daily_mrr_report;
pub use latest_subscriptions::latest_subscription_snapshots;
pub use plans_and_restatements::{month_restatements, mrr_by_plan};
pub use reports::{cash_report, churn_report, mrr_report};
