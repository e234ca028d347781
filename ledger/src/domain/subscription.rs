//! Subscriptions: a Stripe-version-independent snapshot of everything MRR depends on.

use crate::domain::{
    Currency, CustomerId, DiscountId, DiscountSnapshot, PriceId, ProductId, SubscriptionId,
    SubscriptionItemId,
};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// A subscription as Stripe described it at one effective time.
///
/// Periods: since API 2025-03-31.basil Stripe puts `current_period_start/end` on each item;
/// before, on the subscription. The translator fills both levels: `current_period_start` here is
/// the subscription's (old shape) or the smallest of the items' (current shape).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubscriptionSnapshot {
    /// Stripe subscription id.
    pub subscription: SubscriptionId,
    /// The customer subscribed.
    pub customer: CustomerId,
    /// `subscription.currency`: the currency its MRR is reported in.
    pub currency: Currency,
    /// Stripe status.
    pub status: SubscriptionStatus,
    /// Set to cancel at the end of the current period (still counts until it ends).
    pub cancel_at_period_end: bool,
    /// Start of the current billing period (UTC).
    pub current_period_start: Option<DateTime<Utc>>,
    /// End of the current billing period (UTC).
    pub current_period_end: Option<DateTime<Utc>>,
    /// The items (prices and quantities).
    pub items: Vec<SubscriptionItem>,
    /// Ids of the discounts the subscription lists (`discounts`; before basil also the expanded
    /// `discount`'s id).
    pub discount_ids: Vec<DiscountId>,
    /// Discount objects expanded on the subscription (old shape `discount`), with their terms.
    pub expanded_discounts: Vec<DiscountSnapshot>,
    /// When the subscription ended (UTC), once it has.
    pub ended_at: Option<DateTime<Utc>>,
}

/// Stripe's subscription `status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SubscriptionStatus {
    /// First payment not made yet.
    Incomplete,
    /// First payment never made; terminal.
    IncompleteExpired,
    /// In a free trial.
    Trialing,
    /// Paid up.
    Active,
    /// A renewal payment failed; still counts as MRR.
    PastDue,
    /// Ended.
    Canceled,
    /// Retries exhausted, left open.
    Unpaid,
    /// Paused (trial ended without a payment method).
    Paused,
}

impl SubscriptionStatus {
    /// Whether a subscription in this status contributes MRR (revenue-rules.md §2.1:
    /// only `active` and `past_due`).
    pub fn counts_for_mrr(self) -> bool {
        matches!(self, Self::Active | Self::PastDue)
    }
}

/// One subscription item: a price at a quantity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubscriptionItem {
    /// Stripe subscription item id.
    pub item: SubscriptionItemId,
    /// Stripe price id.
    pub price: PriceId,
    /// Stripe product id.
    pub product: Option<ProductId>,
    /// Quantity (seats). Stripe quantities are whole numbers.
    pub quantity: u64,
    /// `licensed` items count for MRR; `metered` items do not.
    pub usage_type: UsageType,
    /// How the price computes an amount.
    pub billing_scheme: BillingScheme,
    /// `unit_amount_decimal` (or `unit_amount`), in minor units, for `per_unit` prices: always
    /// set on them since `SubscriptionObserved` v2 (v1 events that lacked it are upcast to `0`,
    /// what the rules read then); `None` on `tiered` prices.
    pub unit_amount_decimal: Option<Decimal>,
    /// For `tiered` prices: volume or graduated, always set on them since
    /// `SubscriptionObserved` v2 (v1 events that lacked it are upcast to `volume`, what the rules
    /// read then); `None` on `per_unit` prices.
    pub tiers_mode: Option<TiersMode>,
    /// For `tiered` prices: the tiers, ascending.
    pub tiers: Vec<PriceTier>,
    /// For `per_unit` prices: divide the quantity before multiplying.
    pub transform_quantity: Option<TransformQuantity>,
    /// Billing interval.
    pub interval: RecurringInterval,
    /// Number of intervals per billing period (>= 1).
    pub interval_count: u32,
    /// Start of this item's current period (UTC; since API 2025-03-31.basil).
    pub current_period_start: Option<DateTime<Utc>>,
    /// End of this item's current period (UTC; since API 2025-03-31.basil).
    pub current_period_end: Option<DateTime<Utc>>,
}

/// `price.recurring.usage_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UsageType {
    /// Billed for the quantity set on the subscription.
    Licensed,
    /// Billed for reported usage; contributes 0 to MRR.
    Metered,
}

/// `price.billing_scheme`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BillingScheme {
    /// A fixed amount per unit.
    PerUnit,
    /// Amounts from `tiers` and `tiers_mode`.
    Tiered,
}

/// `price.tiers_mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TiersMode {
    /// All units priced at the tier that contains the quantity.
    Volume,
    /// Each unit priced at the tier it falls in.
    Graduated,
}

/// One price tier. Amounts in minor units, exact decimals.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PriceTier {
    /// Inclusive upper bound of the tier; `None` for the last ("inf") tier.
    pub up_to: Option<u64>,
    /// Per-unit amount in this tier.
    pub unit_amount_decimal: Option<Decimal>,
    /// Flat amount added when the tier is reached.
    pub flat_amount_decimal: Option<Decimal>,
}

/// `price.transform_quantity`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransformQuantity {
    /// Divide the quantity by this (>= 1).
    pub divide_by: u64,
    /// Round the quotient up or down.
    pub round: TransformRound,
}

/// `price.transform_quantity.round`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TransformRound {
    /// Round up.
    Up,
    /// Round down.
    Down,
}

/// `price.recurring.interval`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecurringInterval {
    /// Daily.
    Day,
    /// Weekly.
    Week,
    /// Monthly.
    Month,
    /// Yearly.
    Year,
}
