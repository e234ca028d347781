//! The product catalog as Stripe describes it (`product.*`, `price.*`): names for the by-plan
//! report and, later, for entitlements. No amounts are derived from it: a subscription's
//! snapshot carries its own prices.

use crate::domain::{Currency, PriceId, ProductId};
use serde::{Deserialize, Serialize};

/// A snapshot of a Stripe product.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductSnapshot {
    /// Stripe product id.
    pub product: ProductId,
    /// The product's `name` (empty when a deleted product's Event omits it).
    pub name: String,
    /// Stripe's `active`.
    pub active: bool,
    /// True once Stripe reported the product deleted (`product.deleted` or `deleted: true`).
    pub deleted: bool,
}

/// A snapshot of a Stripe price.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PriceSnapshot {
    /// Stripe price id.
    pub price: PriceId,
    /// The product priced.
    pub product: Option<ProductId>,
    /// Price currency.
    pub currency: Currency,
    /// `unit_amount`, minor units (`None` for tiered or decimal-only prices).
    pub unit_amount: Option<i64>,
    /// The price's `nickname`, if any.
    pub nickname: Option<String>,
    /// The price's `lookup_key`, if any.
    pub lookup_key: Option<String>,
    /// `recurring.interval` (`day`, `week`, `month`, `year`) of a recurring price.
    pub recurring_interval: Option<String>,
    /// `recurring.interval_count` of a recurring price.
    pub recurring_interval_count: Option<i64>,
    /// Stripe's `active`.
    pub active: bool,
    /// True once Stripe reported the price deleted.
    pub deleted: bool,
}
