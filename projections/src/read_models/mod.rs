//! The read models and the projectors that write them. SQL for read models lives here and in
//! `crate::queries`, nowhere else.

mod cash;
mod customer_events;
mod mrr;
mod report_month_deltas;
mod snapshot_table;

pub use cash::CashProjector;
pub use customer_events::CustomerEventsProjector;
pub use mrr::MrrProjector;
pub(crate) use report_month_deltas::{load_cash_report_changes, load_mrr_report_changes};
pub(crate) use snapshot_table::{load_snapshots, load_snapshots_of_objects, SnapshotTable};
