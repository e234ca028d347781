//! Tally's revenue rules (shared/revenue-rules.md) as pure functions: no I/O, no SQL, no clock.
//!
//! Reading order, following the data:
//! 1. [`Observed`]: a snapshot with its order key (effective time, change rank, event id) (§0, §6).
//! 2. [`subscription_mrr`]: MRR of one subscription: counting statuses, item amounts, monthly
//!    normalisation, coupons, one rounding (§2).
//! 3. [`customer_mrr_timelines`]: a customer's MRR over time per currency (§3).
//! 4. [`daily_movements`]: new / expansion / contraction / churn / reactivation per UTC day (§3).
//! 5. [`customer_months`]: one customer's open, close and movement totals per month (§0, §3).
//! 6. [`mrr_report`] and [`churn_report`]: totals and rates over all customers of a currency (§4).
//! 7. [`cash_report`]: collected, refunded and outstanding per month (§5).
//! 8. Read-side views of the same rules: [`daily_report`] (per UTC day), [`mrr_changes`] (a
//!    customer's changes one by one), [`mrr_by_plan`] (per product/price at a day's end),
//!    [`RecordedMrrSnapshots`] (the snapshots as the log stood at a recorded time, for `as_of`)
//!    and [`restatements`] (changes to a closed month that became known later).
//!
//! Units everywhere: amounts are `i64` integer minor units of one currency; times are UTC;
//! rates are `rust_decimal::Decimal` fractions (0.25 = 25 %) rounded by [`round_rate`].

mod cash_report;
mod churn_report;
mod customer_months;
mod customer_timeline;
mod daily_report;
mod discounts;
mod item_amount;
mod month;
mod movements;
mod mrr_changes;
mod mrr_report;
mod observed;
mod plan_report;
mod rates;
mod recorded_snapshots;
mod report_rows;
mod restatements;
mod subscription_mrr;

#[cfg(test)]
pub(crate) mod test_support;
#[cfg(test)]
mod tests;

pub use cash_report::{cash_report, CashReportMonth};
pub(crate) use cash_report::{
    cash_report_from_deltas, charge_cash_deltas, invoice_cash_deltas, CashFigures,
};
pub(crate) use churn_report::rates_for_month;
pub use churn_report::{churn_report, ChurnReportMonth};
pub use customer_months::{customer_months, CustomerMonth};
pub use customer_timeline::{customer_mrr_timelines, mrr_at, mrr_before, MrrPoint};
pub use daily_report::{daily_report, DailyReportDay};
pub use discounts::{
    discounted_amount_per_period, discounts_on_subscription, DiscountOnSubscription,
};
pub use item_amount::{item_amount_per_billing_period, transformed_quantity, MonthlyNormalisation};
pub use month::{Month, MonthParseError, MonthRange};
pub use movements::{daily_movements, DailyMovement, MovementKind};
pub use mrr_changes::{mrr_changes, MrrChange};
pub(crate) use mrr_report::mrr_report_month;
pub use mrr_report::{mrr_report, MrrReportMonth};
pub use observed::{Observed, OrderKey};
pub use plan_report::{mrr_by_plan, PlanMrr};
pub use rates::{format_rate, rate, round_rate, RATE_DECIMALS};
pub use recorded_snapshots::{
    CustomerSnapshots, RecordedMrrSnapshots, RecordedSnapshot, SnapshotSource,
};
pub(crate) use report_rows::{customer_month_total_deltas, month_totals_from_deltas, MonthTotals};
pub use restatements::{
    restatements, MonthFigures, MonthRestatements, Restatement, RestatementCause,
};
pub use subscription_mrr::{
    current_period_start, list_amount_per_billing_period, monthly_normalisation, subscription_mrr,
    SubscriptionHistory,
};
