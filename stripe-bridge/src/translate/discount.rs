//! `customer.discount.created|updated|deleted` -> `DiscountObserved`, the discount reader
//! shared with subscriptions (whose old shape expands the `discount`), and
//! `coupon.created|updated|deleted` -> `CouponObserved`.
//!
//! A discount names its coupon in `source.coupon` since Stripe API 2025-03-31.basil and in
//! `coupon` before. Either is an expanded coupon object (terms read) or a coupon id string
//! (terms unknown to the discount): Stripe API 2025-09-30.clover stopped expanding
//! `discount.source.coupon`, webhook payloads included, so the terms then come from the
//! coupon's own `coupon.*` Events.

use crate::error::PayloadError;
use crate::translate::common::{
    check_object_kind, known_value, optional_exact_decimal, optional_reference_id,
    optional_unix_time, parse_object, required, required_text, unix_time, IdOrExpandedObject,
};
use ledger::domain::{
    Coupon, CouponDuration, CouponObserved, Currency, CustomerId, DiscountId, DiscountObserved,
    DiscountSnapshot, DomainEvent, ObservedChange, SubscriptionId,
};
use serde::Deserialize;
use serde_json::value::RawValue;

/// The fields of a Stripe `discount` Tally reads, in either API shape.
#[derive(Deserialize)]
pub(crate) struct StripeDiscount {
    #[serde(default)]
    object: Option<String>,
    #[serde(default)]
    pub(crate) id: Option<String>,
    #[serde(default)]
    customer: Option<IdOrExpandedObject>,
    #[serde(default)]
    subscription: Option<IdOrExpandedObject>,
    /// Unix seconds.
    #[serde(default)]
    start: Option<i64>,
    /// Unix seconds; set for `repeating` coupons.
    #[serde(default)]
    end: Option<i64>,
    /// Before 2025-03-31.basil: the coupon, an expanded object or an id string.
    #[serde(default)]
    coupon: Option<Box<RawValue>>,
    /// Since 2025-03-31.basil: `{type: "coupon", coupon: {...}}`, or, since 2025-09-30.clover,
    /// `{type: "coupon", coupon: "<coupon id>"}`.
    #[serde(default)]
    source: Option<StripeDiscountSource>,
}

/// `discount.source` (since 2025-03-31.basil).
#[derive(Deserialize)]
struct StripeDiscountSource {
    /// An expanded coupon object, or (since 2025-09-30.clover, unless expanded) its id string.
    #[serde(default)]
    coupon: Option<Box<RawValue>>,
}

/// The fields of a Stripe `coupon` Tally reads. `percent_off` stays raw JSON text so that it is
/// read as an exact decimal.
#[derive(Deserialize)]
struct StripeCoupon {
    #[serde(default)]
    object: Option<String>,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    percent_off: Option<Box<RawValue>>,
    #[serde(default)]
    amount_off: Option<i64>,
    #[serde(default)]
    currency: Option<String>,
    #[serde(default)]
    duration: Option<String>,
    #[serde(default)]
    duration_in_months: Option<u32>,
}

/// Stripe's coupon `duration` values.
const COUPON_DURATIONS: &[(&str, CouponDuration)] = &[
    ("once", CouponDuration::Once),
    ("repeating", CouponDuration::Repeating),
    ("forever", CouponDuration::Forever),
];

/// Values to use when an expanded discount omits its `customer` or `subscription` (a discount
/// expanded on a subscription belongs to that subscription and its customer).
#[derive(Default)]
pub(crate) struct DiscountOwnerDefaults {
    /// Used when `customer` is absent or null.
    pub(crate) customer: Option<CustomerId>,
    /// Used when `subscription` is absent or null.
    pub(crate) subscription: Option<SubscriptionId>,
}

/// Translates the `data.object` of a `customer.discount.*` Event.
pub(crate) fn translate_discount(
    object: &RawValue,
    change: ObservedChange,
) -> Result<DomainEvent, PayloadError> {
    let discount: StripeDiscount = parse_object(object, "data.object", "discount")?;
    let snapshot = discount_snapshot(discount, "data.object", DiscountOwnerDefaults::default())?;
    Ok(DomainEvent::DiscountObserved(DiscountObserved {
        change,
        snapshot,
    }))
}

/// Translates the `data.object` of a `coupon.*` Event (an expanded coupon) into its terms.
pub(crate) fn translate_coupon(
    object: &RawValue,
    change: ObservedChange,
) -> Result<DomainEvent, PayloadError> {
    let snapshot = coupon_terms(object, "data.object")?;
    Ok(DomainEvent::CouponObserved(CouponObserved {
        change,
        snapshot,
    }))
}

/// Reads a discount at `path` (any API shape) into a snapshot with its coupon id, and with the
/// coupon's terms when the coupon is expanded.
pub(crate) fn discount_snapshot(
    discount: StripeDiscount,
    path: &str,
    defaults: DiscountOwnerDefaults,
) -> Result<DiscountSnapshot, PayloadError> {
    check_object_kind(discount.object.as_deref(), path, "discount")?;
    let id = required_text(discount.id, &format!("{path}.id"))?;
    let (coupon_raw, coupon_path) = match (discount.source.and_then(|s| s.coupon), discount.coupon)
    {
        (Some(coupon), _) => (coupon, format!("{path}.source.coupon")),
        (None, Some(coupon)) => (coupon, format!("{path}.coupon")),
        (None, None) => return Err(PayloadError::missing(format!("{path}.source.coupon"))),
    };
    let (coupon_id, coupon) = coupon_reference(&coupon_raw, &coupon_path)?;
    let start_path = format!("{path}.start");
    Ok(DiscountSnapshot {
        discount: DiscountId(id),
        customer: optional_reference_id(&discount.customer)
            .map(CustomerId)
            .or(defaults.customer),
        subscription: optional_reference_id(&discount.subscription)
            .map(SubscriptionId)
            .or(defaults.subscription),
        coupon_id,
        coupon,
        start: unix_time(required(discount.start, &start_path)?, &start_path)?,
        end: optional_unix_time(discount.end, &format!("{path}.end"))?,
    })
}

/// Reads a discount's coupon at `path`: an id string gives `(id, None)`, an expanded coupon
/// object gives `(its id, Some(terms))`. Errors on an empty id, on any other JSON type, and on
/// an expanded coupon [`coupon_terms`] rejects.
fn coupon_reference(raw: &RawValue, path: &str) -> Result<(String, Option<Coupon>), PayloadError> {
    let text = raw.get().trim_start();
    if text.starts_with('"') {
        let id = serde_json::from_str::<String>(text)
            .map_err(|error| PayloadError::invalid(path, error.to_string()))?;
        Ok((required_text(Some(id), path)?, None))
    } else if text.starts_with('{') {
        let coupon = coupon_terms(raw, path)?;
        Ok((coupon.id.clone(), Some(coupon)))
    } else {
        Err(PayloadError::invalid(
            path,
            "neither a coupon id nor a coupon object",
        ))
    }
}

/// Reads an expanded coupon at `path` (on a discount, or the object of a `coupon.*` Event).
/// Errors when it is not a coupon object (e.g. only an id), lacks its `id`, sets neither or
/// both of `percent_off` and `amount_off`, has a `percent_off` that is not an exact decimal, or
/// has a missing or unknown `duration`.
fn coupon_terms(raw: &RawValue, path: &str) -> Result<Coupon, PayloadError> {
    let coupon: StripeCoupon = parse_object(raw, path, "coupon")?;
    check_object_kind(coupon.object.as_deref(), path, "coupon")?;
    let percent_off = optional_exact_decimal(&coupon.percent_off, &format!("{path}.percent_off"))?;
    if percent_off.is_some() == coupon.amount_off.is_some() {
        return Err(PayloadError::invalid(
            path,
            "a coupon needs exactly one of percent_off and amount_off",
        ));
    }
    Ok(Coupon {
        id: required_text(coupon.id, &format!("{path}.id"))?,
        percent_off,
        amount_off: coupon.amount_off,
        currency: coupon.currency.as_deref().map(Currency::new),
        duration: known_value(
            coupon.duration.as_deref(),
            &format!("{path}.duration"),
            COUPON_DURATIONS,
        )?,
        duration_in_months: coupon.duration_in_months,
    })
}
