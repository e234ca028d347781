//! The entitlement catalog: which Stripe products and prices grant which features (on/off) and
//! which limits per meter and billing period (quota, included allowance, overage unit price).
//! Every change of the catalog is a `CatalogChanged` event carrying the whole new catalog, so a
//! replay evaluates history with the catalog that was in force at the time.

use crate::domain::{Currency, PriceId, ProductId};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;

/// The single stream of catalog versions.
pub const CATALOG_STREAM: &str = "catalog";

/// A whole catalog version.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Catalog {
    /// How long (whole days) a `past_due` subscription keeps its entitlements after it became
    /// `past_due`; `None`: for as long as it stays `past_due`.
    #[serde(default)]
    pub past_due_grace_days: Option<u32>,
    /// The plans, in order: the first plan naming a meter's overage price wins for that meter.
    #[serde(default)]
    pub plans: Vec<CatalogPlan>,
}

/// What one Stripe price (or every price of one product) grants.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogPlan {
    /// The Stripe price this entry applies to (`price_...`); takes precedence over `product`.
    #[serde(default)]
    pub price: Option<PriceId>,
    /// The Stripe product this entry applies to (`prod_...`), for every one of its prices.
    #[serde(default)]
    pub product: Option<ProductId>,
    /// Features granted (on/off), by name.
    #[serde(default)]
    pub features: Vec<String>,
    /// Limits per meter.
    #[serde(default)]
    pub limits: Vec<MeterLimit>,
}

/// A limit on one meter per billing period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MeterLimit {
    /// The meter's name (as in `POST /v1/usage`).
    pub meter: String,
    /// Hard quota per period (meter units): at or above it the meter's feature check is denied;
    /// `None`: no quota.
    #[serde(default)]
    pub quota: Option<Decimal>,
    /// Quantity included in the plan per period (meter units); usage above it is overage.
    #[serde(default)]
    pub included: Decimal,
    /// Price per unit of overage, in minor units of `currency` (exact decimal, e.g. `0.2`).
    #[serde(default)]
    pub overage_unit_amount: Option<Decimal>,
    /// Currency of `overage_unit_amount` (required with it).
    #[serde(default)]
    pub currency: Option<Currency>,
    /// The Stripe Billing Meter `event_name` usage of this meter is forwarded to.
    #[serde(default)]
    pub stripe_event_name: Option<String>,
}

/// Where a catalog version came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CatalogSource {
    /// A `catalog.toml` applied with `tally catalog apply`.
    File,
    /// Derived from Stripe (product metadata, Entitlements features).
    Stripe,
}

/// Payload of `CatalogChanged`: the whole catalog in force from the event's effective time.
/// Stored in stream [`CATALOG_STREAM`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogChanged {
    /// Where it came from.
    pub source: CatalogSource,
    /// The catalog.
    pub catalog: Catalog,
}

/// Why a catalog is refused (nothing is recorded).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CatalogRejection {
    /// A plan names neither a price nor a product.
    #[error("plans[{0}] names neither a price nor a product")]
    PlanWithoutTarget(usize),
    /// Two plans name the same price (or, without a price, the same product).
    #[error("plans[{0}] repeats the price or product of an earlier plan")]
    RepeatedPlan(usize),
    /// A plan lists a meter twice.
    #[error("plans[{plan}] lists meter {meter} twice")]
    RepeatedMeter {
        /// Plan index.
        plan: usize,
        /// The meter.
        meter: String,
    },
    /// A quantity or amount is negative.
    #[error("plans[{plan}] meter {meter}: {field} is negative")]
    Negative {
        /// Plan index.
        plan: usize,
        /// The meter.
        meter: String,
        /// The field.
        field: &'static str,
    },
    /// An overage price without a currency.
    #[error("plans[{plan}] meter {meter}: overage_unit_amount needs a currency")]
    OverageWithoutCurrency {
        /// Plan index.
        plan: usize,
        /// The meter.
        meter: String,
    },
}

impl Catalog {
    /// Checks the catalog: every plan names a price or a product, no target twice, no meter
    /// twice in a plan, no negative quota/allowance/price, and overage prices carry a currency.
    ///
    /// Errors: the first [`CatalogRejection`] found, in plan order.
    pub fn validate(&self) -> Result<(), CatalogRejection> {
        let mut targets = HashSet::new();
        for (index, plan) in self.plans.iter().enumerate() {
            let target = match (&plan.price, &plan.product) {
                (Some(price), _) => format!("price:{price}"),
                (None, Some(product)) => format!("product:{product}"),
                (None, None) => return Err(CatalogRejection::PlanWithoutTarget(index)),
            };
            if !targets.insert(target) {
                return Err(CatalogRejection::RepeatedPlan(index));
            }
            let mut meters = HashSet::new();
            for limit in &plan.limits {
                let meter = limit.meter.clone();
                if !meters.insert(meter.clone()) {
                    return Err(CatalogRejection::RepeatedMeter { plan: index, meter });
                }
                let negative = |field| CatalogRejection::Negative {
                    plan: index,
                    meter: meter.clone(),
                    field,
                };
                if limit
                    .quota
                    .is_some_and(|q| q.is_sign_negative() && !q.is_zero())
                {
                    return Err(negative("quota"));
                }
                if limit.included.is_sign_negative() && !limit.included.is_zero() {
                    return Err(negative("included"));
                }
                if let Some(price) = limit.overage_unit_amount {
                    if price.is_sign_negative() && !price.is_zero() {
                        return Err(negative("overage_unit_amount"));
                    }
                    if limit.currency.is_none() {
                        return Err(CatalogRejection::OverageWithoutCurrency {
                            plan: index,
                            meter,
                        });
                    }
                }
            }
        }
        Ok(())
    }

    /// The plan that applies to a subscription item of `price` (of `product`): the plan naming
    /// the price, else the plan naming the product.
    pub fn plan_for(&self, price: &PriceId, product: Option<&ProductId>) -> Option<&CatalogPlan> {
        self.plans
            .iter()
            .find(|plan| plan.price.as_ref() == Some(price))
            .or_else(|| {
                product.and_then(|product| {
                    self.plans
                        .iter()
                        .find(|plan| plan.price.is_none() && plan.product.as_ref() == Some(product))
                })
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(price: &str) -> CatalogPlan {
        CatalogPlan {
            price: Some(PriceId::from(price)),
            product: None,
            features: vec!["sso".into()],
            limits: vec![],
        }
    }

    #[test]
    fn validation_refuses_what_cannot_be_evaluated() {
        let ok = Catalog {
            past_due_grace_days: Some(3),
            plans: vec![plan("price_a")],
        };
        assert_eq!(ok.validate(), Ok(()));
        let repeated = Catalog {
            plans: vec![plan("price_a"), plan("price_a")],
            ..Catalog::default()
        };
        assert_eq!(repeated.validate(), Err(CatalogRejection::RepeatedPlan(1)));
        let mut no_target = plan("x");
        no_target.price = None;
        let none = Catalog {
            plans: vec![no_target],
            ..Catalog::default()
        };
        assert_eq!(none.validate(), Err(CatalogRejection::PlanWithoutTarget(0)));
        let mut priced = plan("price_b");
        priced.limits.push(MeterLimit {
            meter: "api_calls".into(),
            quota: None,
            included: Decimal::from(10),
            overage_unit_amount: Some(Decimal::from(2)),
            currency: None,
            stripe_event_name: None,
        });
        let no_currency = Catalog {
            plans: vec![priced],
            ..Catalog::default()
        };
        assert!(matches!(
            no_currency.validate(),
            Err(CatalogRejection::OverageWithoutCurrency { plan: 0, .. })
        ));
    }

    #[test]
    fn a_price_entry_wins_over_its_product_entry() {
        let mut by_product = plan("unused");
        by_product.price = None;
        by_product.product = Some(ProductId::from("prod_1"));
        by_product.features = vec!["basic".into()];
        let catalog = Catalog {
            past_due_grace_days: None,
            plans: vec![by_product, plan("price_a")],
        };
        let product = ProductId::from("prod_1");
        let found = catalog
            .plan_for(&PriceId::from("price_a"), Some(&product))
            .unwrap();
        assert_eq!(found.features, vec!["sso".to_owned()]);
        let other = catalog
            .plan_for(&PriceId::from("price_z"), Some(&product))
            .unwrap();
        assert_eq!(other.features, vec!["basic".to_owned()]);
    }
}
