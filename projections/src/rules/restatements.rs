//! Restatements of a closed month: every change to its MRR figures that became known after the
//! month closed (a late webhook, a backdated change), when it became known, by how much, and
//! which events caused it. Pure: the caller loads every recorded snapshot.

use crate::rules::customer_timeline::{mrr_before, MrrPoint};
use crate::rules::month::Month;
use crate::rules::movements::{daily_movements, MovementKind};
use crate::rules::recorded_snapshots::{CustomerSnapshots, RecordedMrrSnapshots};
use chrono::{DateTime, Utc};
use ledger::domain::Currency;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// A month's MRR figures in one currency, minor units (the MRR report's amounts).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MonthFigures {
    /// Total MRR at the month's first instant.
    pub open: i64,
    /// Sum of `new` movements.
    pub new: i64,
    /// Sum of `expansion` movements.
    pub expansion: i64,
    /// Sum of `contraction` movements (positive).
    pub contraction: i64,
    /// Sum of `churn` movements (positive).
    pub churn: i64,
    /// Sum of `reactivation` movements.
    pub reactivation: i64,
    /// Total MRR at the next month's first instant.
    pub close: i64,
}

impl MonthFigures {
    /// The figures by name, in report order: `open`, `new`, `expansion`, `contraction`,
    /// `churn`, `reactivation`, `close`.
    pub fn named(&self) -> [(&'static str, i64); 7] {
        [
            ("open", self.open),
            ("new", self.new),
            ("expansion", self.expansion),
            ("contraction", self.contraction),
            ("churn", self.churn),
            ("reactivation", self.reactivation),
            ("close", self.close),
        ]
    }

    fn add(&mut self, other: &MonthFigures) {
        self.open = self.open.saturating_add(other.open);
        self.new = self.new.saturating_add(other.new);
        self.expansion = self.expansion.saturating_add(other.expansion);
        self.contraction = self.contraction.saturating_add(other.contraction);
        self.churn = self.churn.saturating_add(other.churn);
        self.reactivation = self.reactivation.saturating_add(other.reactivation);
        self.close = self.close.saturating_add(other.close);
    }

    /// One customer's figures for `month` from its timeline in one currency.
    pub fn of_customer(timeline: &[MrrPoint], month: Month) -> Self {
        let mut figures = MonthFigures {
            open: mrr_before(timeline, month.first_instant()),
            close: mrr_before(timeline, month.next().first_instant()),
            ..MonthFigures::default()
        };
        for movement in daily_movements(timeline)
            .iter()
            .filter(|movement| Month::containing_day(movement.day) == month)
        {
            let total = match movement.kind {
                MovementKind::New => &mut figures.new,
                MovementKind::Expansion => &mut figures.expansion,
                MovementKind::Contraction => &mut figures.contraction,
                MovementKind::Churn => &mut figures.churn,
                MovementKind::Reactivation => &mut figures.reactivation,
            };
            *total = total.saturating_add(movement.amount);
        }
        figures
    }
}

/// One event behind a restatement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RestatementCause {
    /// The event's global position.
    pub global_position: i64,
    /// The domain event type, e.g. `SubscriptionObserved`.
    pub event_type: String,
    /// The Stripe Event id, when the event came from Stripe.
    pub stripe_event_id: Option<String>,
    /// The event's effective time (the Stripe Event's `created`), UTC.
    pub effective_at: DateTime<Utc>,
    /// The customer whose MRR it changed (the row's owner), or `None` for a coupon's terms.
    pub customer: Option<String>,
}

/// One restatement: the month's figures just before and just after the events recorded at
/// `recorded_at` became known. Only figures that changed differ.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Restatement {
    /// When the change became known (UTC): the events' `recorded_at`.
    pub recorded_at: DateTime<Utc>,
    /// The figures as known before.
    pub before: MonthFigures,
    /// The figures as known from `recorded_at` on.
    pub after: MonthFigures,
    /// The events recorded at `recorded_at` that concern the customers (or coupons) whose
    /// figures changed, by global position.
    pub causes: Vec<RestatementCause>,
}

/// A closed month's figures as they stood when it closed, and every later restatement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MonthRestatements {
    /// The month.
    pub month: Month,
    /// When it closed: the next month's first instant (UTC). Events recorded after it restate.
    pub closed_at: DateTime<Utc>,
    /// The figures from every snapshot recorded at or before `closed_at`.
    pub as_closed: MonthFigures,
    /// The restatements in recorded order; the last `after` is the month as known now.
    pub restatements: Vec<Restatement>,
}

/// The restatements of `month` in `currency` (revenue-rules.md §3 figures, recomputed with the
/// same rules as the `mrr` projector).
///
/// Method: the customers touched by a row recorded after the close (their subscription or
/// discount snapshots, or the terms of a coupon their discounts name) are the only ones whose
/// figures can move; every other customer's figures are computed once. For each distinct
/// `recorded_at` after the close at which such a row was recorded, ascending, the touched
/// customers' figures are recomputed from the rows recorded by then; a time at which the
/// currency's totals differ from the previous ones is a restatement.
pub fn restatements(
    snapshots: &RecordedMrrSnapshots,
    currency: &Currency,
    month: Month,
) -> MonthRestatements {
    let closed_at = month.next().first_instant();
    let late = |recorded_at: DateTime<Utc>| recorded_at > closed_at;
    let owners = snapshots.owner_of_scopes();

    let late_coupons: BTreeSet<&str> = snapshots
        .coupons
        .iter()
        .filter(|row| late(row.source.recorded_at))
        .map(|row| row.observed.snapshot.id.as_str())
        .collect();
    let mut touched: BTreeSet<String> = snapshots.customers_redeeming(&late_coupons);
    touched.extend(
        snapshots
            .subscriptions
            .iter()
            .filter(|row| late(row.source.recorded_at))
            .map(|row| row.scope.clone()),
    );
    touched.extend(
        snapshots
            .discounts
            .iter()
            .filter(|row| late(row.source.recorded_at))
            .filter_map(|row| owners.get(&row.scope).cloned()),
    );

    let figures_of = |customers: &BTreeMap<String, CustomerSnapshots>, only: Option<bool>| {
        let mut total = MonthFigures::default();
        for (customer, customer_snapshots) in customers {
            if only.is_some_and(|touched_only| touched_only != touched.contains(customer)) {
                continue;
            }
            total.add(&MonthFigures::of_customer(
                &customer_snapshots.timeline(currency),
                month,
            ));
        }
        total
    };
    let at_close = snapshots.customers_known_by(Some(closed_at));
    let as_closed = figures_of(&at_close, None);
    let untouched = figures_of(&at_close, Some(false));

    let mut late_times: BTreeSet<DateTime<Utc>> = BTreeSet::new();
    let mut causes_at: BTreeMap<DateTime<Utc>, Vec<RestatementCause>> = BTreeMap::new();
    let mut note = |row_source: &crate::rules::SnapshotSource,
                    effective_at: DateTime<Utc>,
                    customer: Option<String>| {
        late_times.insert(row_source.recorded_at);
        causes_at
            .entry(row_source.recorded_at)
            .or_default()
            .push(RestatementCause {
                global_position: row_source.global_position,
                event_type: row_source.event_type.clone(),
                stripe_event_id: row_source.stripe_event_id.clone(),
                effective_at,
                customer,
            });
    };
    for row in snapshots
        .subscriptions
        .iter()
        .filter(|row| late(row.source.recorded_at))
    {
        note(
            &row.source,
            row.observed.effective_at,
            Some(row.scope.clone()),
        );
    }
    for row in snapshots
        .discounts
        .iter()
        .filter(|row| late(row.source.recorded_at))
    {
        note(
            &row.source,
            row.observed.effective_at,
            owners.get(&row.scope).cloned(),
        );
    }
    for row in snapshots
        .coupons
        .iter()
        .filter(|row| late(row.source.recorded_at))
    {
        note(&row.source, row.observed.effective_at, None);
    }

    let mut known = as_closed;
    let mut found = Vec::new();
    for recorded_at in late_times {
        let touched_now = snapshots.customers_known_by_among(Some(recorded_at), Some(&touched));
        let mut now = untouched;
        now.add(&figures_of(&touched_now, Some(true)));
        if now != known {
            let mut causes = causes_at.remove(&recorded_at).unwrap_or_default();
            causes.sort_by_key(|cause| cause.global_position);
            causes.dedup_by_key(|cause| cause.global_position);
            found.push(Restatement {
                recorded_at,
                before: known,
                after: now,
                causes,
            });
            known = now;
        }
    }
    MonthRestatements {
        month,
        closed_at,
        as_closed,
        restatements: found,
    }
}
