//! Short builders for the rules' tests: times, prices, subscriptions, discounts, invoices,
//! charges and observations, all in usd unless a test says otherwise.

use crate::rules::{
    customer_mrr_timelines, daily_movements, CustomerMonth, DailyMovement, Month, MrrPoint,
    Observed,
};
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use ledger::domain::{
    BillingScheme, ChargeSnapshot, Coupon, CouponDuration, Currency, DiscountSnapshot,
    InvoiceSnapshot, InvoiceStatus, ObservedChange, PriceTier, RecurringInterval, SubscriptionItem,
    SubscriptionSnapshot, SubscriptionStatus, TiersMode, UsageType,
};
use rust_decimal::Decimal;

/// `"2025-01-02 09:00"` or `"2025-01-02 09:00:03"` as a UTC instant.
pub fn at(text: &str) -> DateTime<Utc> {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S")
        .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M"))
        .unwrap_or_else(|error| panic!("bad test time {text:?}: {error}"))
        .and_utc()
}

/// `"2025-01-02"` as a calendar day.
pub fn day(text: &str) -> NaiveDate {
    text.parse().expect("test day is YYYY-MM-DD")
}

/// `"2025-01"` as a month.
pub fn month(text: &str) -> Month {
    text.parse().expect("test month is YYYY-MM")
}

/// An exact decimal from text.
pub fn dec(text: &str) -> Decimal {
    text.parse().expect("test decimal")
}

/// A licensed per-unit price item: `unit_amount` minor units x `quantity`, every
/// `interval_count` `interval`s.
pub fn item(
    unit_amount: i64,
    quantity: u64,
    interval: RecurringInterval,
    interval_count: u32,
) -> SubscriptionItem {
    SubscriptionItem {
        item: format!("si_{unit_amount}_{quantity}").as_str().into(),
        price: format!("price_{unit_amount}_{interval:?}_{interval_count}")
            .as_str()
            .into(),
        product: None,
        quantity,
        usage_type: UsageType::Licensed,
        billing_scheme: BillingScheme::PerUnit,
        unit_amount_decimal: Some(Decimal::from(unit_amount)),
        tiers_mode: None,
        tiers: Vec::new(),
        transform_quantity: None,
        interval,
        interval_count,
        current_period_start: None,
        current_period_end: None,
    }
}

/// A licensed monthly per-unit price item, quantity 1.
pub fn monthly(unit_amount: i64) -> SubscriptionItem {
    item(unit_amount, 1, RecurringInterval::Month, 1)
}

/// A tier: up to `up_to` units (None = infinity), `unit` per unit, `flat` once reached.
pub fn tier(up_to: Option<u64>, unit: i64, flat: i64) -> PriceTier {
    PriceTier {
        up_to,
        unit_amount_decimal: Some(Decimal::from(unit)),
        flat_amount_decimal: Some(Decimal::from(flat)),
    }
}

/// A licensed monthly tiered price item at `quantity`.
pub fn tiered(mode: TiersMode, tiers: Vec<PriceTier>, quantity: u64) -> SubscriptionItem {
    SubscriptionItem {
        billing_scheme: BillingScheme::Tiered,
        unit_amount_decimal: None,
        tiers_mode: Some(mode),
        tiers,
        quantity,
        ..monthly(0)
    }
}

/// A usd subscription `id` of customer `cus_test` in `status`, whose current period began at
/// `period_start`, with `items` and no discounts.
pub fn subscription(
    id: &str,
    status: SubscriptionStatus,
    period_start: &str,
    items: Vec<SubscriptionItem>,
) -> SubscriptionSnapshot {
    SubscriptionSnapshot {
        subscription: id.into(),
        customer: "cus_test".into(),
        currency: Currency::new("usd"),
        status,
        cancel_at_period_end: false,
        current_period_start: Some(at(period_start)),
        current_period_end: None,
        items,
        discount_ids: Vec::new(),
        expanded_discounts: Vec::new(),
        ended_at: None,
    }
}

/// An `active` usd subscription (see [`subscription`]).
pub fn active(id: &str, period_start: &str, items: Vec<SubscriptionItem>) -> SubscriptionSnapshot {
    subscription(id, SubscriptionStatus::Active, period_start, items)
}

/// The same subscription snapshot, listing `discount_ids`.
pub fn listing(snapshot: SubscriptionSnapshot, discount_ids: &[&str]) -> SubscriptionSnapshot {
    let discount_ids = discount_ids.iter().map(|id| (*id).into()).collect();
    SubscriptionSnapshot {
        discount_ids,
        ..snapshot
    }
}

/// A percent-off coupon (`percent` as text, e.g. `"25"` or `"33.3"`).
pub fn percent_coupon(percent: &str, duration: CouponDuration) -> Coupon {
    Coupon {
        id: format!("P{percent}{duration:?}"),
        percent_off: Some(dec(percent)),
        amount_off: None,
        currency: None,
        duration,
        duration_in_months: None,
    }
}

/// An amount-off coupon in usd minor units.
pub fn amount_coupon(amount_off: i64, duration: CouponDuration) -> Coupon {
    Coupon {
        id: format!("A{amount_off}{duration:?}"),
        percent_off: None,
        amount_off: Some(amount_off),
        currency: Some(Currency::new("usd")),
        duration,
        duration_in_months: None,
    }
}

/// Discount `id` of `coupon` on subscription `subscription` (None = customer-level), from `start`.
pub fn discount(
    id: &str,
    subscription: Option<&str>,
    coupon: Coupon,
    start: &str,
) -> DiscountSnapshot {
    DiscountSnapshot {
        discount: id.into(),
        customer: Some("cus_test".into()),
        subscription: subscription.map(Into::into),
        coupon_id: coupon.id.clone(),
        coupon: Some(coupon),
        start: at(start),
        end: None,
    }
}

/// `snapshot` observed at `when` through a `change` Event whose id is derived from both.
pub fn observed<T>(when: &str, change: ObservedChange, snapshot: T) -> Observed<T> {
    observed_by_event(when, change, &format!("evt_{when}_{change:?}"), snapshot)
}

/// `snapshot` observed at `when` through the Event `event_id`.
pub fn observed_by_event<T>(
    when: &str,
    change: ObservedChange,
    event_id: &str,
    snapshot: T,
) -> Observed<T> {
    Observed {
        effective_at: at(when),
        change,
        source_id: event_id.to_owned(),
        snapshot,
    }
}

/// A usd invoice `id` with `status`, `amount_paid`, `amount_remaining` and optional `paid_at`.
pub fn invoice(
    id: &str,
    status: InvoiceStatus,
    amount_paid: i64,
    amount_remaining: i64,
    paid_at: Option<&str>,
) -> InvoiceSnapshot {
    InvoiceSnapshot {
        invoice: id.into(),
        customer: Some("cus_test".into()),
        subscription: None,
        currency: Currency::new("usd"),
        status,
        amount_due: amount_paid + amount_remaining,
        amount_paid,
        amount_remaining,
        paid_at: paid_at.map(at),
        billing_reason: None,
    }
}

/// A succeeded usd charge `id` of `amount` with cumulative `amount_refunded`.
pub fn charge(id: &str, amount: i64, amount_refunded: i64) -> ChargeSnapshot {
    ChargeSnapshot {
        charge: id.into(),
        customer: Some("cus_test".into()),
        invoice: None,
        currency: Currency::new("usd"),
        amount,
        amount_refunded,
        status: "succeeded".to_owned(),
    }
}

/// Timeline points from (time, MRR) pairs.
pub fn points(pairs: &[(&str, i64)]) -> Vec<MrrPoint> {
    pairs
        .iter()
        .map(|(when, mrr)| MrrPoint {
            at: at(when),
            mrr: *mrr,
        })
        .collect()
}

/// The customer's usd timeline (empty if it has none).
pub fn usd_timeline(
    subscriptions: &[Observed<SubscriptionSnapshot>],
    discounts: &[Observed<DiscountSnapshot>],
) -> Vec<MrrPoint> {
    customer_mrr_timelines(subscriptions, discounts)
        .remove(&Currency::new("usd"))
        .unwrap_or_default()
}

/// Movements of a timeline given as (time, MRR) pairs.
pub fn movements_of(pairs: &[(&str, i64)]) -> Vec<DailyMovement> {
    daily_movements(&points(pairs))
}

/// A customer month row with all fields given in report order.
#[allow(
    clippy::too_many_arguments,
    reason = "a table row, read column by column"
)]
pub fn customer_month(
    month_text: &str,
    mrr_open: i64,
    new: i64,
    expansion: i64,
    contraction: i64,
    churn: i64,
    reactivation: i64,
    mrr_close: i64,
) -> CustomerMonth {
    CustomerMonth {
        month: month(month_text),
        mrr_open,
        mrr_close,
        new,
        expansion,
        contraction,
        churn,
        reactivation,
    }
}
