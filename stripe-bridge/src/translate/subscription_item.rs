//! Subscription items: a price at a quantity, and the item's current period (on the item
//! since Stripe API 2025-03-31.basil, on the subscription before).

use crate::error::PayloadError;
use crate::translate::common::{optional_unix_time, required_text};
use crate::translate::price::{plan_as_price, price_terms, StripePrice};
use ledger::domain::{SubscriptionItem, SubscriptionItemId};
use serde::Deserialize;
use serde_json::value::RawValue;

/// The fields of a Stripe `subscription_item` Tally reads.
#[derive(Deserialize)]
pub(crate) struct StripeSubscriptionItem {
    #[serde(default)]
    id: Option<String>,
    /// `null` means 1 (Stripe's default).
    #[serde(default)]
    quantity: Option<u64>,
    #[serde(default)]
    price: Option<StripePrice>,
    /// The legacy `plan`, read only when `price` is absent (kept raw so that an odd `plan` next
    /// to a good `price` cannot spoil the item).
    #[serde(default)]
    plan: Option<Box<RawValue>>,
    /// Since 2025-03-31.basil (Unix seconds).
    #[serde(default)]
    current_period_start: Option<i64>,
    /// Since 2025-03-31.basil (Unix seconds).
    #[serde(default)]
    current_period_end: Option<i64>,
}

/// Reads the item at `path`. `subscription_period` is the subscription-level
/// `(current_period_start, current_period_end)` of the old shape, copied onto items that carry
/// no period of their own. The price is `price`, or the legacy `plan` when `price` is absent.
pub(crate) fn subscription_item(
    item: StripeSubscriptionItem,
    path: &str,
    subscription_period: (Option<i64>, Option<i64>),
) -> Result<SubscriptionItem, PayloadError> {
    let item_id = required_text(item.id, &format!("{path}.id"))?;
    let terms = match (item.price, item.plan) {
        (Some(price), _) => price_terms(price, &format!("{path}.price"))?,
        (None, Some(plan)) => {
            let plan_path = format!("{path}.plan");
            price_terms(plan_as_price(&plan, &plan_path)?, &plan_path)?
        }
        (None, None) => return Err(PayloadError::missing(format!("{path}.price"))),
    };
    Ok(SubscriptionItem {
        item: SubscriptionItemId(item_id),
        price: terms.price,
        product: terms.product,
        quantity: item.quantity.unwrap_or(1),
        usage_type: terms.usage_type,
        billing_scheme: terms.billing_scheme,
        unit_amount_decimal: terms.unit_amount_decimal,
        tiers_mode: terms.tiers_mode,
        tiers: terms.tiers,
        transform_quantity: terms.transform_quantity,
        interval: terms.interval,
        interval_count: terms.interval_count,
        current_period_start: optional_unix_time(
            item.current_period_start.or(subscription_period.0),
            &format!("{path}.current_period_start"),
        )?,
        current_period_end: optional_unix_time(
            item.current_period_end.or(subscription_period.1),
            &format!("{path}.current_period_end"),
        )?,
    })
}
