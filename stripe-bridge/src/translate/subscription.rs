//! `customer.subscription.*` -> `SubscriptionObserved` with a full, API-version-independent
//! `SubscriptionSnapshot`.
//!
//! Two shapes are read. Since Stripe API 2025-03-31.basil the current period is on each item
//! (`items.data[].current_period_start/end`) and `discounts` lists discount ids. Before, the
//! period is on the subscription, copied here onto every item, and `discount` is an expanded
//! discount object (with `coupon`), next to a `discounts` id list in later versions.

use crate::error::PayloadError;
use crate::translate::common::{
    check_object_kind, known_value, optional_unix_time, parse_object, required, required_text,
    IdOrExpandedObject,
};
use crate::translate::discount::{discount_snapshot, DiscountOwnerDefaults, StripeDiscount};
use crate::translate::subscription_item::{subscription_item, StripeSubscriptionItem};
use ledger::domain::{
    Currency, CustomerId, DiscountId, DiscountSnapshot, DomainEvent, ObservedChange,
    SubscriptionId, SubscriptionObserved, SubscriptionSnapshot, SubscriptionStatus,
};
use serde::Deserialize;
use serde_json::value::RawValue;

/// The fields of a Stripe `subscription` Tally reads, in either API shape.
#[derive(Deserialize)]
struct StripeSubscription {
    #[serde(default)]
    object: Option<String>,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    customer: Option<IdOrExpandedObject>,
    #[serde(default)]
    currency: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    cancel_at_period_end: Option<bool>,
    /// Before 2025-03-31.basil (Unix seconds).
    #[serde(default)]
    current_period_start: Option<i64>,
    /// Before 2025-03-31.basil (Unix seconds).
    #[serde(default)]
    current_period_end: Option<i64>,
    #[serde(default)]
    ended_at: Option<i64>,
    #[serde(default)]
    items: Option<StripeSubscriptionItemList>,
    /// Discount ids, or expanded discount objects.
    #[serde(default)]
    discounts: Option<Vec<Box<RawValue>>>,
    /// Before 2025-03-31.basil: the expanded discount, or null.
    #[serde(default)]
    discount: Option<Box<RawValue>>,
}

/// `subscription.items` (a list object).
#[derive(Deserialize)]
struct StripeSubscriptionItemList {
    #[serde(default)]
    data: Option<Vec<StripeSubscriptionItem>>,
}

/// Stripe's subscription `status` values.
const SUBSCRIPTION_STATUSES: &[(&str, SubscriptionStatus)] = &[
    ("incomplete", SubscriptionStatus::Incomplete),
    ("incomplete_expired", SubscriptionStatus::IncompleteExpired),
    ("trialing", SubscriptionStatus::Trialing),
    ("active", SubscriptionStatus::Active),
    ("past_due", SubscriptionStatus::PastDue),
    ("canceled", SubscriptionStatus::Canceled),
    ("unpaid", SubscriptionStatus::Unpaid),
    ("paused", SubscriptionStatus::Paused),
];

/// Translates the `data.object` of a `customer.subscription.*` Event.
pub(crate) fn translate_subscription(
    object: &RawValue,
    change: ObservedChange,
) -> Result<DomainEvent, PayloadError> {
    let subscription: StripeSubscription = parse_object(object, "data.object", "subscription")?;
    let snapshot = subscription_snapshot(subscription)?;
    Ok(DomainEvent::SubscriptionObserved(SubscriptionObserved {
        change,
        snapshot,
    }))
}

/// Builds the snapshot: items with their periods, the subscription period (its own in the old
/// shape, else the smallest of the items'), and every discount it lists.
fn subscription_snapshot(
    subscription: StripeSubscription,
) -> Result<SubscriptionSnapshot, PayloadError> {
    check_object_kind(
        subscription.object.as_deref(),
        "data.object",
        "subscription",
    )?;
    let id = SubscriptionId(required_text(subscription.id, "data.object.id")?);
    let customer = CustomerId(required_text(
        subscription
            .customer
            .as_ref()
            .and_then(IdOrExpandedObject::id)
            .map(str::to_owned),
        "data.object.customer",
    )?);
    let old_shape_period = (
        subscription.current_period_start,
        subscription.current_period_end,
    );
    let item_list = required(subscription.items, "data.object.items")?;
    let items = required(item_list.data, "data.object.items.data")?
        .into_iter()
        .enumerate()
        .map(|(index, item)| {
            subscription_item(
                item,
                &format!("data.object.items.data[{index}]"),
                old_shape_period,
            )
        })
        .collect::<Result<Vec<_>, _>>()?;
    let (current_period_start, current_period_end) =
        if old_shape_period.0.is_some() || old_shape_period.1.is_some() {
            (
                optional_unix_time(old_shape_period.0, "data.object.current_period_start")?,
                optional_unix_time(old_shape_period.1, "data.object.current_period_end")?,
            )
        } else {
            (
                items
                    .iter()
                    .filter_map(|item| item.current_period_start)
                    .min(),
                items
                    .iter()
                    .filter_map(|item| item.current_period_end)
                    .min(),
            )
        };
    let discounts = listed_discounts(
        subscription.discounts.unwrap_or_default(),
        subscription.discount,
        &id,
        &customer,
    )?;
    Ok(SubscriptionSnapshot {
        currency: Currency::new(&required_text(
            subscription.currency,
            "data.object.currency",
        )?),
        status: known_value(
            subscription.status.as_deref(),
            "data.object.status",
            SUBSCRIPTION_STATUSES,
        )?,
        cancel_at_period_end: subscription.cancel_at_period_end.unwrap_or(false),
        current_period_start,
        current_period_end,
        items,
        discount_ids: discounts.ids,
        expanded_discounts: discounts.expanded,
        ended_at: optional_unix_time(subscription.ended_at, "data.object.ended_at")?,
        subscription: id,
        customer,
    })
}

/// The discounts a subscription lists: every id (deduplicated, in order) and every expanded
/// discount object with its terms.
struct ListedDiscounts {
    ids: Vec<DiscountId>,
    expanded: Vec<DiscountSnapshot>,
}

/// Collects `discounts[]` (ids or expanded objects) and the old-shape `discount`.
fn listed_discounts(
    discounts: Vec<Box<RawValue>>,
    old_shape_discount: Option<Box<RawValue>>,
    subscription: &SubscriptionId,
    customer: &CustomerId,
) -> Result<ListedDiscounts, PayloadError> {
    let mut listed = ListedDiscounts {
        ids: Vec::new(),
        expanded: Vec::new(),
    };
    let entries = discounts
        .into_iter()
        .enumerate()
        .map(|(index, raw)| (raw, format!("data.object.discounts[{index}]")))
        .chain(old_shape_discount.map(|raw| (raw, "data.object.discount".to_owned())));
    for (raw, path) in entries {
        let text = raw.get().trim_start();
        if text.starts_with('"') {
            let id = serde_json::from_str::<String>(text)
                .map_err(|error| PayloadError::invalid(&path, error.to_string()))?;
            listed.add_id(DiscountId(id));
        } else if text.starts_with('{') {
            let discount: StripeDiscount = parse_object(&raw, &path, "discount")?;
            let defaults = DiscountOwnerDefaults {
                customer: Some(customer.clone()),
                subscription: Some(subscription.clone()),
            };
            let snapshot = discount_snapshot(discount, &path, defaults)?;
            listed.add_id(snapshot.discount.clone());
            if !listed
                .expanded
                .iter()
                .any(|d| d.discount == snapshot.discount)
            {
                listed.expanded.push(snapshot);
            }
        } else if text != "null" {
            return Err(PayloadError::invalid(
                path,
                "neither a discount id nor a discount object",
            ));
        }
    }
    Ok(listed)
}

impl ListedDiscounts {
    /// Adds an id unless already listed.
    fn add_id(&mut self, id: DiscountId) {
        if !self.ids.contains(&id) {
            self.ids.push(id);
        }
    }
}
