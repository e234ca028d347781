//! `GET /v1/customers/{id}/timeline` and the `as_of` reading of `GET /v1/customers/{id}/mrr`:
//! a customer's MRR computed from its snapshots, with the events behind each change.

use crate::queries::recorded_snapshots::customer_mrr_snapshots;
use crate::rules::{self, MrrChange, SnapshotSource};
use crate::ProjectionError;
use chrono::{DateTime, Utc};
use ledger::domain::Currency;
use sqlx::PgPool;
use std::collections::BTreeMap;

/// One change of a customer's MRR in one currency, with its sources.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerTimelineEntry {
    /// The currency of the amounts.
    pub currency: Currency,
    /// When, of which movement type, from how much to how much (minor units).
    pub change: MrrChange,
    /// The events with this effective time about the customer's subscriptions and discounts
    /// (or the coupons they name): the Stripe Events that carried the change, by global
    /// position. Empty only if the change came from a rule alone.
    pub sources: Vec<SnapshotSource>,
}

/// Every MRR change of `customer`, per currency (ascending by currency, then time), computed
/// from its snapshots recorded at or before `as_of` (`None`: all) with the `mrr` projector's
/// rules. An unknown customer has no changes.
pub async fn customer_timeline(
    pool: &PgPool,
    customer: &str,
    as_of: Option<DateTime<Utc>>,
) -> Result<Vec<CustomerTimelineEntry>, ProjectionError> {
    let snapshots = customer_mrr_snapshots(pool, customer, as_of).await?;
    let Some(customer_snapshots) = snapshots.customers_known_by(as_of).remove(customer) else {
        return Ok(Vec::new());
    };
    let mut sources_at: BTreeMap<DateTime<Utc>, Vec<SnapshotSource>> = BTreeMap::new();
    for (effective_at, source) in snapshots.sources_of_customer(customer) {
        if as_of.is_none_or(|as_of| source.recorded_at <= as_of) {
            sources_at
                .entry(effective_at)
                .or_default()
                .push(source.clone());
        }
    }
    for sources in sources_at.values_mut() {
        sources.sort_by_key(|source| source.global_position);
        sources.dedup_by_key(|source| source.global_position);
    }
    let timelines = rules::customer_mrr_timelines(
        &customer_snapshots.subscriptions,
        &customer_snapshots.discounts,
    );
    Ok(timelines
        .into_iter()
        .flat_map(|(currency, timeline)| {
            rules::mrr_changes(&timeline)
                .into_iter()
                .map(|change| CustomerTimelineEntry {
                    currency: currency.clone(),
                    change,
                    sources: sources_at.get(&change.at).cloned().unwrap_or_default(),
                })
                .collect::<Vec<_>>()
        })
        .collect())
}

/// `customer`'s MRR (minor units) per currency in which it ever had MRR, after every event with
/// effective time <= `at`, from the snapshots recorded at or before `as_of` (UTC): the
/// `GET /v1/customers/{id}/mrr?as_of=` reading.
pub async fn customer_mrr_at_as_of(
    pool: &PgPool,
    customer: &str,
    at: DateTime<Utc>,
    as_of: DateTime<Utc>,
) -> Result<BTreeMap<Currency, i64>, ProjectionError> {
    let snapshots = customer_mrr_snapshots(pool, customer, Some(as_of)).await?;
    let Some(customer_snapshots) = snapshots.customers_known_by(Some(as_of)).remove(customer)
    else {
        return Ok(BTreeMap::new());
    };
    Ok(rules::customer_mrr_timelines(
        &customer_snapshots.subscriptions,
        &customer_snapshots.discounts,
    )
    .into_iter()
    .filter(|(_, timeline)| !timeline.is_empty())
    .map(|(currency, timeline)| {
        let mrr = rules::mrr_at(&timeline, at);
        (currency, mrr)
    })
    .collect())
}
