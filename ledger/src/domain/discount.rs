//! Discounts (a coupon applied to a subscription) and their coupon terms.

use crate::domain::{Currency, CustomerId, DiscountId, SubscriptionId};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// A discount object: the coupon redeemed plus when it applies. Source: Stripe's `discount`
/// object (`source.coupon` since API 2025-03-31.basil, `coupon` before; an id, not an object,
/// since 2025-09-30.clover).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiscountSnapshot {
    /// Stripe discount id (`di_...`).
    pub discount: DiscountId,
    /// The customer it belongs to.
    pub customer: Option<CustomerId>,
    /// The subscription it applies to; `None` for a customer-level discount (out of scope for
    /// MRR for now, revenue-rules.md §2.4).
    pub subscription: Option<SubscriptionId>,
    /// The id of the coupon redeemed.
    pub coupon_id: String,
    /// The coupon's terms, when the payload carried them expanded. Since Stripe API
    /// 2025-09-30.clover a discount's `source.coupon` is only an id (not expanded, webhooks
    /// included): the terms then come from the coupon's own events ([`CouponObserved`]).
    ///
    /// [`CouponObserved`]: crate::domain::CouponObserved
    pub coupon: Option<Coupon>,
    /// When the discount takes effect (UTC).
    pub start: DateTime<Utc>,
    /// When a `repeating` discount stops applying (UTC, exclusive); `None` otherwise.
    pub end: Option<DateTime<Utc>>,
}

/// Coupon terms. Exactly one of `percent_off` and `amount_off` is set on a valid coupon.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Coupon {
    /// Stripe coupon id.
    pub id: String,
    /// Percent off, 0 < p <= 100, exact decimal (e.g. `25` or `33.3`).
    pub percent_off: Option<Decimal>,
    /// Amount off per billing period, in minor units of `currency`.
    pub amount_off: Option<i64>,
    /// Currency of `amount_off`.
    pub currency: Option<Currency>,
    /// How long the discount lasts.
    pub duration: CouponDuration,
    /// For `repeating`: the number of months.
    pub duration_in_months: Option<u32>,
}

/// Stripe's coupon `duration`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CouponDuration {
    /// Discounts only the first billing period that begins at or after the discount's start.
    Once,
    /// Discounts periods that begin before the discount's `end`.
    Repeating,
    /// Discounts every period until the discount is removed.
    Forever,
}
