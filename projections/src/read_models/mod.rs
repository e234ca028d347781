//! The read models and the projectors that write them. SQL for read models lives here and in
//! `crate::queries`, nowhere else.

mod cash;
mod customer_events;
mod mrr;
mod snapshot_table;

pub use cash::CashProjector;
pub use customer_events::CustomerEventsProjector;
pub use mrr::MrrProjector;
pub(crate) use snapshot_table::{load_snapshots, load_snapshots_of_objects, SnapshotTable};
