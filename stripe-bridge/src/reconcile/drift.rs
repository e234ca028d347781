//! The reconcile comparison (pure): the ledger's latest snapshot of each subscription against
//! Stripe's current object, field by field, into a list of [`SubscriptionDrift`]s.
//!
//! Compared: `status`, the items (item id, price, quantity), `cancel_at_period_end`, the
//! discount ids, and the current period (start and end). A subscription only one side knows is
//! one drift (`missing_in_ledger` / `missing_in_stripe`).

use ledger::domain::SubscriptionSnapshot;
use serde::Serialize;
use std::collections::BTreeMap;

/// What differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DriftField {
    /// Stripe has the subscription; the ledger never recorded it.
    MissingInLedger,
    /// The ledger has the subscription; Stripe's list does not (deleted, or another account).
    MissingInStripe,
    /// `status`.
    Status,
    /// The items: `item id: price x quantity`.
    Items,
    /// `cancel_at_period_end`.
    CancelAtPeriodEnd,
    /// The discount ids the subscription lists.
    Discounts,
    /// `current_period_start` .. `current_period_end` (UTC).
    CurrentPeriod,
}

impl DriftField {
    /// The field's name in tables and JSON (`status`, `items`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Self::MissingInLedger => "missing_in_ledger",
            Self::MissingInStripe => "missing_in_stripe",
            Self::Status => "status",
            Self::Items => "items",
            Self::CancelAtPeriodEnd => "cancel_at_period_end",
            Self::Discounts => "discounts",
            Self::CurrentPeriod => "current_period",
        }
    }
}

/// One difference between the ledger and Stripe about one subscription.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SubscriptionDrift {
    /// The Stripe subscription id.
    pub subscription: String,
    /// Its customer.
    pub customer: String,
    /// What differs.
    pub field: DriftField,
    /// The ledger's value, as text (`-` when the ledger lacks the subscription).
    pub ledger: String,
    /// Stripe's value, as text (`-` when Stripe lacks it).
    pub stripe: String,
}

impl SubscriptionDrift {
    /// `<field>: ledger <value>, Stripe <value>`: the reason recorded on a correction.
    pub fn reason(&self) -> String {
        format!(
            "{}: ledger {}, Stripe {}",
            self.field.name(),
            self.ledger,
            self.stripe
        )
    }
}

/// The drifts of one subscription: `ledger` is the ledger's latest snapshot (`None` when it
/// never recorded one), `stripe` Stripe's current object. Empty when they agree.
pub fn subscription_drifts(
    ledger: Option<&SubscriptionSnapshot>,
    stripe: &SubscriptionSnapshot,
) -> Vec<SubscriptionDrift> {
    let drift = |field, ledger: String, stripe_value: String| SubscriptionDrift {
        subscription: stripe.subscription.to_string(),
        customer: stripe.customer.to_string(),
        field,
        ledger,
        stripe: stripe_value,
    };
    let Some(ledger) = ledger else {
        return vec![drift(
            DriftField::MissingInLedger,
            "-".to_owned(),
            status_text(stripe),
        )];
    };
    let pairs = [
        (DriftField::Status, status_text(ledger), status_text(stripe)),
        (DriftField::Items, items_text(ledger), items_text(stripe)),
        (
            DriftField::CancelAtPeriodEnd,
            ledger.cancel_at_period_end.to_string(),
            stripe.cancel_at_period_end.to_string(),
        ),
        (
            DriftField::Discounts,
            discounts_text(ledger),
            discounts_text(stripe),
        ),
        (
            DriftField::CurrentPeriod,
            period_text(ledger),
            period_text(stripe),
        ),
    ];
    pairs
        .into_iter()
        .filter(|(_, ledger_value, stripe_value)| ledger_value != stripe_value)
        .map(|(field, ledger_value, stripe_value)| drift(field, ledger_value, stripe_value))
        .collect()
}

/// Every drift between the ledger's latest subscription snapshots and Stripe's subscriptions,
/// sorted by subscription id, then field.
pub fn reconcile_subscriptions(
    ledger: &[SubscriptionSnapshot],
    stripe: &[SubscriptionSnapshot],
) -> Vec<SubscriptionDrift> {
    let ledger_by_id: BTreeMap<&str, &SubscriptionSnapshot> = ledger
        .iter()
        .map(|snapshot| (snapshot.subscription.0.as_str(), snapshot))
        .collect();
    let stripe_by_id: BTreeMap<&str, &SubscriptionSnapshot> = stripe
        .iter()
        .map(|snapshot| (snapshot.subscription.0.as_str(), snapshot))
        .collect();
    let mut drifts: Vec<SubscriptionDrift> = stripe_by_id
        .iter()
        .flat_map(|(id, stripe)| subscription_drifts(ledger_by_id.get(id).copied(), stripe))
        .collect();
    drifts.extend(
        ledger_by_id
            .iter()
            .filter(|(id, _)| !stripe_by_id.contains_key(*id))
            .map(|(_, ledger)| SubscriptionDrift {
                subscription: ledger.subscription.to_string(),
                customer: ledger.customer.to_string(),
                field: DriftField::MissingInStripe,
                ledger: status_text(ledger),
                stripe: "-".to_owned(),
            }),
    );
    drifts.sort_by(|left, right| {
        (&left.subscription, left.field).cmp(&(&right.subscription, right.field))
    });
    drifts
}

fn status_text(snapshot: &SubscriptionSnapshot) -> String {
    match serde_json::to_value(snapshot.status) {
        Ok(serde_json::Value::String(name)) => name,
        _ => format!("{:?}", snapshot.status),
    }
}

fn items_text(snapshot: &SubscriptionSnapshot) -> String {
    let mut items: Vec<String> = snapshot
        .items
        .iter()
        .map(|item| format!("{}: {} x{}", item.item, item.price, item.quantity))
        .collect();
    items.sort();
    if items.is_empty() {
        "(none)".to_owned()
    } else {
        items.join(", ")
    }
}

fn discounts_text(snapshot: &SubscriptionSnapshot) -> String {
    let mut ids: Vec<String> = snapshot
        .discount_ids
        .iter()
        .map(ToString::to_string)
        .collect();
    ids.sort();
    if ids.is_empty() {
        "(none)".to_owned()
    } else {
        ids.join(", ")
    }
}

fn period_text(snapshot: &SubscriptionSnapshot) -> String {
    let time = |at: Option<chrono::DateTime<chrono::Utc>>| {
        at.map_or_else(
            || "?".to_owned(),
            |at| at.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        )
    };
    format!(
        "{}..{}",
        time(snapshot.current_period_start),
        time(snapshot.current_period_end)
    )
}
