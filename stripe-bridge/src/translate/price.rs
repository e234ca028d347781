//! Stripe prices (and legacy plans): billing scheme, unit amount, tiers, transform_quantity,
//! interval and usage type, read into the terms a subscription item's list amount depends on.

use crate::error::PayloadError;
use crate::translate::common::{
    exact_decimal, known_value, optional_exact_decimal, optional_reference_id, parse_object,
    required, required_text, IdOrExpandedObject,
};
use ledger::domain::{
    BillingScheme, PriceId, PriceTier, ProductId, RecurringInterval, TiersMode, TransformQuantity,
    TransformRound, UsageType,
};
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::value::RawValue;

/// The fields of a Stripe `price` Tally reads.
#[derive(Deserialize)]
pub(crate) struct StripePrice {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    product: Option<IdOrExpandedObject>,
    #[serde(default)]
    billing_scheme: Option<String>,
    #[serde(default)]
    unit_amount: Option<i64>,
    #[serde(default)]
    unit_amount_decimal: Option<Box<RawValue>>,
    #[serde(default)]
    tiers_mode: Option<String>,
    /// Only present when expanded (`expand[]=...price.tiers`).
    #[serde(default)]
    tiers: Option<Vec<StripePriceTier>>,
    #[serde(default)]
    transform_quantity: Option<StripeTransformQuantity>,
    #[serde(default)]
    recurring: Option<StripeRecurring>,
}

/// The legacy `plan` (interval and usage type at the top level; `transform_usage`).
#[derive(Deserialize)]
struct StripePlan {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    product: Option<IdOrExpandedObject>,
    #[serde(default)]
    billing_scheme: Option<String>,
    #[serde(default)]
    amount: Option<i64>,
    #[serde(default)]
    amount_decimal: Option<Box<RawValue>>,
    #[serde(default)]
    tiers_mode: Option<String>,
    #[serde(default)]
    tiers: Option<Vec<StripePriceTier>>,
    #[serde(default)]
    transform_usage: Option<StripeTransformQuantity>,
    #[serde(default)]
    interval: Option<String>,
    #[serde(default)]
    interval_count: Option<u32>,
    #[serde(default)]
    usage_type: Option<String>,
}

/// `price.recurring`.
#[derive(Deserialize)]
struct StripeRecurring {
    #[serde(default)]
    interval: Option<String>,
    #[serde(default)]
    interval_count: Option<u32>,
    #[serde(default)]
    usage_type: Option<String>,
}

/// One entry of `price.tiers`.
#[derive(Deserialize)]
struct StripePriceTier {
    #[serde(default)]
    up_to: Option<StripeTierUpTo>,
    #[serde(default)]
    unit_amount: Option<i64>,
    #[serde(default)]
    unit_amount_decimal: Option<Box<RawValue>>,
    #[serde(default)]
    flat_amount: Option<i64>,
    #[serde(default)]
    flat_amount_decimal: Option<Box<RawValue>>,
}

/// `tiers[].up_to`: a unit count, or `"inf"` (or null) for the last tier.
#[derive(Deserialize)]
#[serde(untagged)]
enum StripeTierUpTo {
    Units(u64),
    Word(String),
}

/// `price.transform_quantity` / `plan.transform_usage`.
#[derive(Deserialize)]
struct StripeTransformQuantity {
    #[serde(default)]
    divide_by: Option<u64>,
    #[serde(default)]
    round: Option<String>,
}

const BILLING_SCHEMES: &[(&str, BillingScheme)] = &[
    ("per_unit", BillingScheme::PerUnit),
    ("tiered", BillingScheme::Tiered),
];
const TIERS_MODES: &[(&str, TiersMode)] = &[
    ("volume", TiersMode::Volume),
    ("graduated", TiersMode::Graduated),
];
const USAGE_TYPES: &[(&str, UsageType)] = &[
    ("licensed", UsageType::Licensed),
    ("metered", UsageType::Metered),
];
const INTERVALS: &[(&str, RecurringInterval)] = &[
    ("day", RecurringInterval::Day),
    ("week", RecurringInterval::Week),
    ("month", RecurringInterval::Month),
    ("year", RecurringInterval::Year),
];
const TRANSFORM_ROUNDS: &[(&str, TransformRound)] =
    &[("up", TransformRound::Up), ("down", TransformRound::Down)];

/// What a subscription item needs from its price (see `ledger::domain::SubscriptionItem`).
pub(crate) struct PriceTerms {
    pub(crate) price: PriceId,
    pub(crate) product: Option<ProductId>,
    pub(crate) usage_type: UsageType,
    pub(crate) billing_scheme: BillingScheme,
    pub(crate) unit_amount_decimal: Option<Decimal>,
    pub(crate) tiers_mode: Option<TiersMode>,
    pub(crate) tiers: Vec<PriceTier>,
    pub(crate) transform_quantity: Option<TransformQuantity>,
    pub(crate) interval: RecurringInterval,
    pub(crate) interval_count: u32,
}

/// Reads the legacy `plan` at `path` (used when an item has no `price`) as a price.
pub(crate) fn plan_as_price(raw: &RawValue, path: &str) -> Result<StripePrice, PayloadError> {
    parse_object(raw, path, "plan").map(price_from_plan)
}

/// Reads the price at `path`. Stripe defaults apply to absent fields: `billing_scheme`
/// per_unit, `usage_type` licensed, `interval_count` 1. A tiered price must carry its tiers and
/// `tiers_mode`, a per_unit price its unit amount.
pub(crate) fn price_terms(price: StripePrice, path: &str) -> Result<PriceTerms, PayloadError> {
    let recurring = required(price.recurring, &format!("{path}.recurring"))?;
    let billing_scheme = match price.billing_scheme.as_deref() {
        None => BillingScheme::PerUnit,
        scheme => known_value(scheme, &format!("{path}.billing_scheme"), BILLING_SCHEMES)?,
    };
    let tiers = price_tiers(price.tiers.unwrap_or_default(), &format!("{path}.tiers"))?;
    if billing_scheme == BillingScheme::Tiered && tiers.is_empty() {
        return Err(PayloadError::invalid(
            format!("{path}.tiers"),
            "missing: a tiered price needs its tiers, which Stripe sends only when expanded",
        ));
    }
    let interval_count = recurring.interval_count.unwrap_or(1);
    if interval_count == 0 {
        return Err(PayloadError::invalid(
            format!("{path}.recurring.interval_count"),
            "must be at least 1",
        ));
    }
    let terms = PriceTerms {
        price: PriceId(required_text(price.id, &format!("{path}.id"))?),
        product: optional_reference_id(&price.product).map(ProductId),
        usage_type: match recurring.usage_type.as_deref() {
            None => UsageType::Licensed,
            usage => known_value(usage, &format!("{path}.recurring.usage_type"), USAGE_TYPES)?,
        },
        billing_scheme,
        unit_amount_decimal: match optional_exact_decimal(
            &price.unit_amount_decimal,
            &format!("{path}.unit_amount_decimal"),
        )? {
            Some(exact) => Some(exact),
            None => price.unit_amount.map(Decimal::from),
        },
        tiers_mode: price
            .tiers_mode
            .as_deref()
            .map(|mode| known_value(Some(mode), &format!("{path}.tiers_mode"), TIERS_MODES))
            .transpose()?,
        tiers,
        transform_quantity: price
            .transform_quantity
            .map(|transform| transform_quantity(transform, &format!("{path}.transform_quantity")))
            .transpose()?,
        interval: known_value(
            recurring.interval.as_deref(),
            &format!("{path}.recurring.interval"),
            INTERVALS,
        )?,
        interval_count,
    };
    explicit_amount_terms(&terms, path)?;
    Ok(terms)
}

/// `SubscriptionObserved` v2 stores the amount terms explicitly (never a null the rules would
/// have to guess at): a `tiered` price needs its `tiers_mode`, a `per_unit` price its unit
/// amount. Stripe always sends both for recurring prices.
fn explicit_amount_terms(terms: &PriceTerms, path: &str) -> Result<(), PayloadError> {
    match terms.billing_scheme {
        BillingScheme::Tiered if terms.tiers_mode.is_none() => Err(PayloadError::invalid(
            format!("{path}.tiers_mode"),
            "missing: a tiered price needs volume or graduated",
        )),
        BillingScheme::PerUnit if terms.unit_amount_decimal.is_none() => {
            Err(PayloadError::invalid(
                format!("{path}.unit_amount_decimal"),
                "missing: a per_unit price needs unit_amount or unit_amount_decimal",
            ))
        }
        BillingScheme::Tiered | BillingScheme::PerUnit => Ok(()),
    }
}

/// The legacy `plan` in the shape of a `price`.
fn price_from_plan(plan: StripePlan) -> StripePrice {
    StripePrice {
        id: plan.id,
        product: plan.product,
        billing_scheme: plan.billing_scheme,
        unit_amount: plan.amount,
        unit_amount_decimal: plan.amount_decimal,
        tiers_mode: plan.tiers_mode,
        tiers: plan.tiers,
        transform_quantity: plan.transform_usage,
        recurring: Some(StripeRecurring {
            interval: plan.interval,
            interval_count: plan.interval_count,
            usage_type: plan.usage_type,
        }),
    }
}

/// Reads `tiers` (ascending, as Stripe sends them).
fn price_tiers(tiers: Vec<StripePriceTier>, path: &str) -> Result<Vec<PriceTier>, PayloadError> {
    tiers
        .into_iter()
        .enumerate()
        .map(|(index, tier)| {
            let tier_path = format!("{path}[{index}]");
            let up_to = match tier.up_to {
                None => None,
                Some(StripeTierUpTo::Units(units)) => Some(units),
                Some(StripeTierUpTo::Word(word)) if word == "inf" => None,
                Some(StripeTierUpTo::Word(word)) => {
                    return Err(PayloadError::invalid(
                        format!("{tier_path}.up_to"),
                        format!("{word:?} is neither a unit count nor \"inf\""),
                    ))
                }
            };
            let decimal_or_integer =
                |raw: &Option<Box<RawValue>>, integer: Option<i64>, name| match raw.as_deref() {
                    Some(raw) => exact_decimal(raw, &format!("{tier_path}.{name}")).map(Some),
                    None => Ok(integer.map(Decimal::from)),
                };
            Ok(PriceTier {
                up_to,
                unit_amount_decimal: decimal_or_integer(
                    &tier.unit_amount_decimal,
                    tier.unit_amount,
                    "unit_amount_decimal",
                )?,
                flat_amount_decimal: decimal_or_integer(
                    &tier.flat_amount_decimal,
                    tier.flat_amount,
                    "flat_amount_decimal",
                )?,
            })
        })
        .collect()
}

/// Reads `transform_quantity` (`divide_by` >= 1, `round` up or down).
fn transform_quantity(
    transform: StripeTransformQuantity,
    path: &str,
) -> Result<TransformQuantity, PayloadError> {
    let divide_by = required(transform.divide_by, &format!("{path}.divide_by"))?;
    if divide_by == 0 {
        return Err(PayloadError::invalid(
            format!("{path}.divide_by"),
            "must be at least 1",
        ));
    }
    Ok(TransformQuantity {
        divide_by,
        round: known_value(
            transform.round.as_deref(),
            &format!("{path}.round"),
            TRANSFORM_ROUNDS,
        )?,
    })
}
