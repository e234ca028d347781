//! List amount of one subscription item per billing period, and the factor that turns a billing
//! period into a month (revenue-rules.md §2.2 and §2.3, §6 "Graduated tiers").

use ledger::domain::{
    BillingScheme, PriceTier, RecurringInterval, SubscriptionItem, TiersMode, TransformQuantity,
    TransformRound, UsageType,
};
use rust_decimal::Decimal;

/// The exact list amount of one item for one billing period, in minor units (undiscounted,
/// pre-tax; revenue-rules.md §2.2).
///
/// - `metered` items: 0 (usage is reported separately).
/// - `per_unit`: unit amount x quantity, the quantity first divided by
///   `transform_quantity.divide_by` and rounded up or down when a transform is set.
/// - `tiered` + `volume`: quantity x unit amount of the tier containing the quantity, plus that
///   tier's flat amount.
/// - `tiered` + `graduated`: for each tier reached (at least one unit in it), units in the tier x
///   its unit amount, plus its flat amount.
///
/// Missing amounts count as 0. A `tiered` price without `tiers_mode` (Stripe always sets it) is
/// read as `volume`. Saturates instead of overflowing on absurd quantities.
pub fn item_amount_per_billing_period(item: &SubscriptionItem) -> Decimal {
    if item.usage_type == UsageType::Metered {
        return Decimal::ZERO;
    }
    match item.billing_scheme {
        BillingScheme::PerUnit => {
            let billed_quantity = transformed_quantity(item.quantity, item.transform_quantity);
            item.unit_amount_decimal
                .unwrap_or(Decimal::ZERO)
                .saturating_mul(Decimal::from(billed_quantity))
        }
        BillingScheme::Tiered => match item.tiers_mode.unwrap_or(TiersMode::Volume) {
            TiersMode::Volume => volume_tiered_amount(item.quantity, &item.tiers),
            TiersMode::Graduated => graduated_tiered_amount(item.quantity, &item.tiers),
        },
    }
}

/// The quantity billed for a `per_unit` price (revenue-rules.md §2.2 `transform_quantity`): `quantity / divide_by`, rounded up or down as
/// the transform says (a `divide_by` of 0, which Stripe rejects, is read as 1).
pub fn transformed_quantity(quantity: u64, transform: Option<TransformQuantity>) -> u64 {
    let Some(transform) = transform else {
        return quantity;
    };
    let divide_by = transform.divide_by.max(1);
    let whole_groups = quantity / divide_by;
    let has_remainder = whole_groups * divide_by < quantity;
    match transform.round {
        TransformRound::Up if has_remainder => whole_groups + 1,
        TransformRound::Up | TransformRound::Down => whole_groups,
    }
}

/// Volume tiers: every unit at the unit amount of the tier that contains `quantity` (the first
/// tier whose `up_to` is at least the quantity, or the open-ended last tier), plus its flat
/// amount. No tier contains the quantity (malformed price): 0.
fn volume_tiered_amount(quantity: u64, tiers: &[PriceTier]) -> Decimal {
    let containing_tier = tiers
        .iter()
        .find(|tier| tier.up_to.is_none_or(|up_to| quantity <= up_to));
    match containing_tier {
        Some(tier) => tier_unit_amount(tier)
            .saturating_mul(Decimal::from(quantity))
            .saturating_add(tier_flat_amount(tier)),
        None => Decimal::ZERO,
    }
}

/// Graduated tiers: tier k covers the units above the previous tier's `up_to` up to its own
/// `up_to` (inclusive); a tier with at least one unit adds units x unit amount + flat amount.
fn graduated_tiered_amount(quantity: u64, tiers: &[PriceTier]) -> Decimal {
    let mut total = Decimal::ZERO;
    let mut units_below_this_tier: u64 = 0;
    for tier in tiers {
        if quantity <= units_below_this_tier {
            break;
        }
        let tier_ceiling = tier.up_to.unwrap_or(u64::MAX).min(quantity);
        let units_in_tier = tier_ceiling.saturating_sub(units_below_this_tier);
        if units_in_tier > 0 {
            total = total
                .saturating_add(tier_unit_amount(tier).saturating_mul(Decimal::from(units_in_tier)))
                .saturating_add(tier_flat_amount(tier));
        }
        units_below_this_tier = units_below_this_tier.max(tier_ceiling);
    }
    total
}

/// A tier's per-unit amount in minor units (0 when absent).
fn tier_unit_amount(tier: &PriceTier) -> Decimal {
    tier.unit_amount_decimal.unwrap_or(Decimal::ZERO)
}

/// A tier's flat amount in minor units (0 when absent).
fn tier_flat_amount(tier: &PriceTier) -> Decimal {
    tier.flat_amount_decimal.unwrap_or(Decimal::ZERO)
}

/// The factor that turns an amount per billing period into an amount per month, as an exact
/// fraction `numerator / denominator` (revenue-rules.md §2.3): with n = `interval_count`,
/// month -> 1/n; year -> 1/(12n); week -> 52/(12n); day -> 365/(12n).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MonthlyNormalisation {
    /// Numerator of the factor (1, 52 or 365).
    pub numerator: u32,
    /// Denominator of the factor (n or 12n), never 0.
    pub denominator: u64,
}

impl MonthlyNormalisation {
    /// The factor for a price billed every `interval_count` `interval`s (an `interval_count` of
    /// 0, which Stripe rejects, is read as 1).
    pub fn for_interval(interval: RecurringInterval, interval_count: u32) -> Self {
        let intervals_per_period = u64::from(interval_count.max(1));
        let (numerator, denominator) = match interval {
            RecurringInterval::Month => (1, intervals_per_period),
            RecurringInterval::Year => (1, 12 * intervals_per_period),
            RecurringInterval::Week => (52, 12 * intervals_per_period),
            RecurringInterval::Day => (365, 12 * intervals_per_period),
        };
        Self {
            numerator,
            denominator,
        }
    }

    /// `amount_per_period x numerator / denominator`, dividing last so the result is as exact
    /// as a 28-digit decimal allows (exact whenever the quotient terminates).
    pub fn monthly_amount(self, amount_per_period: Decimal) -> Decimal {
        let scaled = amount_per_period.saturating_mul(Decimal::from(self.numerator));
        // The denominator is at least 1, so the division neither fails nor overflows.
        scaled / Decimal::from(self.denominator)
    }
}
