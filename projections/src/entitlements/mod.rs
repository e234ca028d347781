//! Usage and entitlements, held in memory: per customer the subscriptions' statuses and
//! periods, the usage per meter, and the catalog versions, folded from the log.
//!
//! - [`state`]: the fold (pure: events in, state out; order-independent, so a rebuild from the
//!   log equals the live state).
//! - [`evaluate`]: the questions asked of it (billing period, usage with allowance and overage,
//!   active features and limits, one feature's check), pure, `now` passed in.
//! - [`live`]: the task that keeps a shared state current from the global feed.

pub mod evaluate;
pub mod live;
pub mod state;

pub use evaluate::{
    BillingPeriod, CustomerEntitlements, FeatureDecision, FeatureGrant, LimitGrant, OverageAmount,
    PeriodBasis, UsageSummary,
};
pub use live::{rebuild_from_log, LiveEntitlements, SharedEntitlements};
pub use state::EntitlementsState;

#[cfg(test)]
mod tests;
