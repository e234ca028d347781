//! Read-side queries: load read-model rows and hand them to the revenue rules. The API calls
//! these; it never writes SQL itself.

mod customers;
mod reports;

pub use customers::{customer_currencies, customer_events, customer_is_known, customer_mrr_at};
pub use reports::{cash_report, churn_report, mrr_report};
