//! `product.*` -> `ProductObserved` and `price.*` -> `PriceObserved`: the catalog's names and
//! lookup keys for the by-plan report and entitlements.

use crate::error::PayloadError;
use crate::translate::common::{
    check_object_kind, optional_reference_id, parse_object, required, required_text,
    IdOrExpandedObject,
};
use ledger::domain::{
    Currency, DomainEvent, ObservedChange, PriceId, PriceObserved, PriceSnapshot, ProductId,
    ProductObserved, ProductSnapshot,
};
use serde::Deserialize;
use serde_json::value::RawValue;

/// The fields of a Stripe `product` Tally reads.
#[derive(Deserialize)]
struct StripeProduct {
    #[serde(default)]
    object: Option<String>,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    active: Option<bool>,
    #[serde(default)]
    deleted: Option<bool>,
}

/// Translates the `data.object` of a `product.*` Event. A deleted product (`product.deleted`
/// or `deleted: true`) needs only its id.
pub(crate) fn translate_product(
    object: &RawValue,
    change: ObservedChange,
) -> Result<DomainEvent, PayloadError> {
    let product: StripeProduct = parse_object(object, "data.object", "product")?;
    check_object_kind(product.object.as_deref(), "data.object", "product")?;
    let deleted = change == ObservedChange::Deleted || product.deleted == Some(true);
    let snapshot = ProductSnapshot {
        product: ProductId(required_text(product.id, "data.object.id")?),
        name: if deleted {
            product.name.unwrap_or_default()
        } else {
            required(product.name, "data.object.name")?
        },
        active: if deleted {
            false
        } else {
            required(product.active, "data.object.active")?
        },
        deleted,
    };
    Ok(DomainEvent::ProductObserved(ProductObserved {
        change,
        snapshot,
    }))
}

/// `price.recurring`.
#[derive(Deserialize)]
struct StripePriceRecurring {
    #[serde(default)]
    interval: Option<String>,
    #[serde(default)]
    interval_count: Option<i64>,
}

/// The fields of a Stripe `price` Tally reads.
#[derive(Deserialize)]
struct StripePrice {
    #[serde(default)]
    object: Option<String>,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    product: Option<IdOrExpandedObject>,
    #[serde(default)]
    currency: Option<String>,
    #[serde(default)]
    unit_amount: Option<i64>,
    #[serde(default)]
    nickname: Option<String>,
    #[serde(default)]
    lookup_key: Option<String>,
    #[serde(default)]
    recurring: Option<StripePriceRecurring>,
    #[serde(default)]
    active: Option<bool>,
    #[serde(default)]
    deleted: Option<bool>,
}

/// Translates the `data.object` of a `price.*` Event.
pub(crate) fn translate_price(
    object: &RawValue,
    change: ObservedChange,
) -> Result<DomainEvent, PayloadError> {
    let price: StripePrice = parse_object(object, "data.object", "price")?;
    check_object_kind(price.object.as_deref(), "data.object", "price")?;
    let deleted = change == ObservedChange::Deleted || price.deleted == Some(true);
    let snapshot = PriceSnapshot {
        price: PriceId(required_text(price.id, "data.object.id")?),
        product: optional_reference_id(&price.product).map(ProductId),
        currency: Currency::new(&required_text(price.currency, "data.object.currency")?),
        unit_amount: price.unit_amount,
        nickname: price.nickname.filter(|text| !text.is_empty()),
        lookup_key: price.lookup_key.filter(|text| !text.is_empty()),
        recurring_interval: price
            .recurring
            .as_ref()
            .and_then(|recurring| recurring.interval.clone()),
        recurring_interval_count: price
            .recurring
            .as_ref()
            .and_then(|recurring| recurring.interval_count),
        active: if deleted {
            false
        } else {
            required(price.active, "data.object.active")?
        },
        deleted,
    };
    Ok(DomainEvent::PriceObserved(PriceObserved {
        change,
        snapshot,
    }))
}
