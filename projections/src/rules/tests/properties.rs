//! Property tests (proptest) over random Stripe-like histories, as the domain snapshots the
//! bridge produces: a few customers, each with one or two subscriptions whose quantity, price and
//! status change over time (cancellations, reactivations, trials, `past_due`, `unpaid`,
//! `paused`), coupons of every kind (added, consumed, removed), invoices (open, then paid) and a
//! charge refunded in steps. Pure rules only: no database, so hundreds of cases run in seconds.
//!
//! Properties (revenue-rules.md §0 and §3):
//! - shuffled and duplicated delivery gives identical reports;
//! - recomputing one customer at a time as its events arrive (what the `mrr` projector does)
//!   ends equal to computing everything at once (a rebuild);
//! - for every month: close = open + new + expansion - contraction - churn + reactivation, each
//!   movement amount is positive, and a month's open is the previous month's close;
//! - the report rows the projectors keep (changes from the month before, updated per arrival)
//!   give the same MRR, churn and cash reports as a rebuild.

use crate::rules::test_support::{at, charge, discount, invoice, item, subscription, tier};
use crate::rules::{
    cash_report, cash_report_from_deltas, charge_cash_deltas, churn_report,
    customer_month_total_deltas, customer_months, customer_mrr_timelines, daily_movements,
    invoice_cash_deltas, month_totals_from_deltas, mrr_report, mrr_report_month, rates_for_month,
    CashFigures, CashReportMonth, ChurnReportMonth, CustomerMonth, Month, MonthTotals,
    MrrReportMonth, Observed,
};
use chrono::{DateTime, Duration, Utc};
use ledger::domain::{
    BillingScheme, ChargeSnapshot, Coupon, CouponDuration, Currency, DiscountSnapshot,
    InvoiceSnapshot, InvoiceStatus, ObservedChange, RecurringInterval, SubscriptionItem,
    SubscriptionSnapshot, SubscriptionStatus, TiersMode,
};
use proptest::prelude::*;
use proptest::sample::Index;
use std::collections::BTreeMap;

/// One observation of any kind, tagged with the customer it belongs to.
#[derive(Debug, Clone)]
enum Delivery {
    Subscription(Observed<SubscriptionSnapshot>),
    Discount(Observed<DiscountSnapshot>),
    Invoice(Observed<InvoiceSnapshot>),
    Charge(Observed<ChargeSnapshot>),
}

impl Delivery {
    /// The customer id (`cus_N`) the observation belongs to.
    fn customer(&self) -> String {
        let id = match self {
            Delivery::Subscription(o) => Some(o.snapshot.customer.to_string()),
            Delivery::Discount(o) => o.snapshot.customer.as_ref().map(ToString::to_string),
            Delivery::Invoice(o) => o.snapshot.customer.as_ref().map(ToString::to_string),
            Delivery::Charge(o) => o.snapshot.customer.as_ref().map(ToString::to_string),
        };
        id.expect("every generated object names its customer")
    }
}

/// What one step of a subscription's life does.
#[derive(Debug, Clone)]
struct Step {
    /// Hours after the previous step (at least 1, so two Events about one object never share
    /// a second).
    hours_later: i64,
    status: SubscriptionStatus,
    quantity: u64,
    /// Index into [`price_item`].
    price: usize,
    /// Whether a new billing period begins at this step (a renewal or a cycle reset).
    renews: bool,
    /// Whether this step's invoice is paid (else left open).
    invoice_paid: bool,
}

/// A coupon attached at one step and optionally removed at a later one.
#[derive(Debug, Clone)]
struct DiscountPlan {
    /// Index into [`coupon`].
    coupon: usize,
    /// Step at which it is attached (modulo the number of steps).
    attached_at_step: usize,
    /// Steps after attachment at which it is removed, if ever.
    removed_after_steps: Option<usize>,
}

#[derive(Debug, Clone)]
struct SubscriptionPlan {
    first_hour: i64,
    steps: Vec<Step>,
    discount: Option<DiscountPlan>,
    /// Cumulative refunds (minor units) of its first charge, one `charge.refunded` each.
    refunds: Vec<i64>,
}

/// The prices a step can pick: per unit monthly, per unit yearly, per unit with a transform,
/// graduated and volume tiers, quarterly.
fn price_item(index: usize, quantity: u64) -> SubscriptionItem {
    use RecurringInterval::{Month as M, Year as Y};
    let tiers = vec![tier(Some(5), 1000, 500), tier(None, 700, 0)];
    let tiered = |mode| SubscriptionItem {
        billing_scheme: BillingScheme::Tiered,
        unit_amount_decimal: None,
        tiers_mode: Some(mode),
        tiers: tiers.clone(),
        ..item(0, quantity, M, 1)
    };
    match index % 6 {
        0 => item(1000, quantity, M, 1),
        1 => item(25_000, quantity, Y, 1),
        2 => SubscriptionItem {
            transform_quantity: Some(ledger::domain::TransformQuantity {
                divide_by: 3,
                round: ledger::domain::TransformRound::Up,
            }),
            ..item(3000, quantity, M, 1)
        },
        3 => tiered(TiersMode::Graduated),
        4 => tiered(TiersMode::Volume),
        _ => item(2700, quantity, M, 3),
    }
}

/// The coupons a discount can carry: every duration of percent and amount coupons.
fn coupon(index: usize) -> Coupon {
    let percent = |p: i64, duration, months| Coupon {
        id: format!("P{p}{index}"),
        percent_off: Some(p.into()),
        amount_off: None,
        currency: None,
        duration,
        duration_in_months: months,
    };
    let amount = |a: i64, duration, months| Coupon {
        id: format!("A{a}{index}"),
        percent_off: None,
        amount_off: Some(a),
        currency: Some(Currency::new("usd")),
        duration,
        duration_in_months: months,
    };
    match index % 6 {
        0 => percent(25, CouponDuration::Forever, None),
        1 => percent(50, CouponDuration::Once, None),
        2 => percent(15, CouponDuration::Repeating, Some(2)),
        3 => amount(500, CouponDuration::Forever, None),
        4 => amount(800, CouponDuration::Once, None),
        _ => amount(300, CouponDuration::Repeating, Some(3)),
    }
}

fn step_strategy() -> impl Strategy<Value = Step> {
    use SubscriptionStatus::*;
    (
        1i64..24 * 40,
        prop::sample::select(vec![
            Active, Active, Active, Active, PastDue, Canceled, Trialing, Paused, Unpaid, Incomplete,
        ]),
        1u64..9,
        0usize..6,
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(
            |(hours_later, status, quantity, price, renews, invoice_paid)| Step {
                hours_later,
                status,
                quantity,
                price,
                renews,
                invoice_paid,
            },
        )
}

fn subscription_strategy() -> impl Strategy<Value = SubscriptionPlan> {
    let discount = (0usize..6, 0usize..6, prop::option::of(1usize..4)).prop_map(
        |(coupon, attached_at_step, removed_after_steps)| DiscountPlan {
            coupon,
            attached_at_step,
            removed_after_steps,
        },
    );
    (
        0i64..24 * 60,
        prop::collection::vec(step_strategy(), 1..7),
        prop::option::of(discount),
        prop::collection::vec(1i64..400, 0..3),
    )
        .prop_map(|(first_hour, steps, discount, refunds)| SubscriptionPlan {
            first_hour,
            steps,
            discount,
            refunds,
        })
}

/// A history: for each customer, its subscriptions' plans.
fn history_strategy() -> impl Strategy<Value = Vec<Vec<SubscriptionPlan>>> {
    prop::collection::vec(prop::collection::vec(subscription_strategy(), 1..3), 1..4)
}

/// Every observation the plans produce, in created order per object.
fn deliveries(plans: &[Vec<SubscriptionPlan>]) -> Vec<Delivery> {
    let origin = at("2025-01-01 00:00");
    let mut out = Vec::new();
    for (c, subscriptions) in plans.iter().enumerate() {
        let customer = format!("cus_{c}");
        for (s, plan) in subscriptions.iter().enumerate() {
            let sub_id = format!("sub_{c}_{s}");
            let mut when = origin + Duration::hours(plan.first_hour);
            let mut times: Vec<DateTime<Utc>> = Vec::new();
            for step in &plan.steps {
                when += Duration::hours(step.hours_later);
                times.push(when);
            }
            let discount_id = format!("di_{c}_{s}");
            let discount_window = plan.discount.as_ref().map(|d| {
                let attached = d.attached_at_step % plan.steps.len();
                let removed = d.removed_after_steps.map(|after| attached + after);
                (attached, removed)
            });
            let mut period_start = times[0];
            for (i, (step, when)) in plan.steps.iter().zip(&times).enumerate() {
                if i == 0 || step.renews {
                    period_start = *when;
                }
                let listed = match discount_window {
                    Some((attached, removed)) => {
                        i >= attached && removed.is_none_or(|removed| i < removed)
                    }
                    None => false,
                };
                let mut snapshot = subscription(
                    &sub_id,
                    step.status,
                    &period_start.format("%Y-%m-%d %H:%M:%S").to_string(),
                    vec![price_item(step.price, step.quantity)],
                );
                snapshot.customer = customer.as_str().into();
                if listed {
                    snapshot.discount_ids = vec![discount_id.as_str().into()];
                }
                let change = if i == 0 {
                    ObservedChange::Created
                } else if step.status == SubscriptionStatus::Canceled {
                    ObservedChange::Deleted
                } else {
                    ObservedChange::Updated
                };
                out.push(Delivery::Subscription(Observed {
                    effective_at: *when,
                    change,
                    source_id: format!("evt_sub_{c}_{s}_{i}"),
                    snapshot,
                }));
                // The step's invoice: opened at the step, paid a minute later when paid.
                let invoice_id = format!("in_{c}_{s}_{i}");
                let amount = 1000 * i64::try_from(step.quantity).expect("small");
                let mut open = invoice(&invoice_id, InvoiceStatus::Open, 0, amount, None);
                open.customer = Some(customer.as_str().into());
                out.push(Delivery::Invoice(Observed {
                    effective_at: *when,
                    change: ObservedChange::Finalized,
                    source_id: format!("evt_in_{c}_{s}_{i}_open"),
                    snapshot: open.clone(),
                }));
                if step.invoice_paid {
                    let paid_at = *when + Duration::minutes(1);
                    let paid = InvoiceSnapshot {
                        status: InvoiceStatus::Paid,
                        amount_paid: amount,
                        amount_remaining: 0,
                        paid_at: Some(paid_at),
                        ..open
                    };
                    out.push(Delivery::Invoice(Observed {
                        effective_at: paid_at,
                        change: ObservedChange::Paid,
                        source_id: format!("evt_in_{c}_{s}_{i}_paid"),
                        snapshot: paid,
                    }));
                }
            }
            if let (Some(plan_discount), Some((attached, removed))) =
                (&plan.discount, discount_window)
            {
                let start = times[attached];
                let mut snapshot = discount(
                    &discount_id,
                    Some(&sub_id),
                    coupon(plan_discount.coupon),
                    &start.format("%Y-%m-%d %H:%M:%S").to_string(),
                );
                snapshot.customer = Some(customer.as_str().into());
                out.push(Delivery::Discount(Observed {
                    effective_at: start,
                    change: ObservedChange::Created,
                    source_id: format!("evt_di_{c}_{s}_created"),
                    snapshot: snapshot.clone(),
                }));
                if let Some(removed_at) = removed.and_then(|removed| times.get(removed)) {
                    out.push(Delivery::Discount(Observed {
                        effective_at: *removed_at,
                        change: ObservedChange::Deleted,
                        source_id: format!("evt_di_{c}_{s}_deleted"),
                        snapshot,
                    }));
                }
            }
            let mut cumulative = 0;
            for (r, refund) in plan.refunds.iter().enumerate() {
                cumulative += refund;
                let mut refunded = charge(&format!("ch_{c}_{s}"), 2000, cumulative.min(2000));
                refunded.customer = Some(customer.as_str().into());
                out.push(Delivery::Charge(Observed {
                    effective_at: times[0] + Duration::days(3 * (r as i64 + 1)),
                    change: ObservedChange::Refunded,
                    source_id: format!("evt_ch_{c}_{s}_{r}"),
                    snapshot: refunded,
                }));
            }
        }
    }
    out
}

/// The months every property reports on (histories end within about eight months).
fn report_months() -> (Month, Month) {
    (
        Month::from_year_and_month(2024, 12).expect("month"),
        Month::from_year_and_month(2025, 10).expect("month"),
    )
}

/// One customer's usd month rows, from its observations (any order, duplicates allowed).
fn rows_of_customer(observations: &[&Delivery]) -> Vec<CustomerMonth> {
    let subscriptions: Vec<_> = observations
        .iter()
        .filter_map(|d| match d {
            Delivery::Subscription(o) => Some(o.clone()),
            _ => None,
        })
        .collect();
    let discounts: Vec<_> = observations
        .iter()
        .filter_map(|d| match d {
            Delivery::Discount(o) => Some(o.clone()),
            _ => None,
        })
        .collect();
    let timeline = customer_mrr_timelines(&subscriptions, &discounts)
        .remove(&Currency::new("usd"))
        .unwrap_or_default();
    customer_months(&timeline, &daily_movements(&timeline))
}

/// What the reports would show: every customer's rows, the MRR report and the cash report.
#[derive(Debug, PartialEq, Eq)]
struct Reports {
    rows: BTreeMap<String, Vec<CustomerMonth>>,
    mrr: Vec<MrrReportMonth>,
    cash: Vec<CashReportMonth>,
}

/// The reports computed from the stored customer rows and every cash observation.
fn reports_from(rows: BTreeMap<String, Vec<CustomerMonth>>, all: &[Delivery]) -> Reports {
    let (from, to) = report_months();
    let flat: Vec<(String, CustomerMonth)> = rows
        .iter()
        .flat_map(|(customer, months)| months.iter().map(|m| (customer.clone(), *m)))
        .collect();
    let invoices: Vec<_> = all
        .iter()
        .filter_map(|d| match d {
            Delivery::Invoice(o) => Some(o.clone()),
            _ => None,
        })
        .collect();
    let charges: Vec<_> = all
        .iter()
        .filter_map(|d| match d {
            Delivery::Charge(o) => Some(o.clone()),
            _ => None,
        })
        .collect();
    Reports {
        mrr: mrr_report(&flat, from, to),
        cash: cash_report(&invoices, &charges, from, to),
        rows,
    }
}

/// Everything computed at once from the whole set (a rebuild).
fn rebuild(all: &[Delivery]) -> Reports {
    let mut by_customer: BTreeMap<String, Vec<&Delivery>> = BTreeMap::new();
    for delivery in all {
        by_customer
            .entry(delivery.customer())
            .or_default()
            .push(delivery);
    }
    let rows = by_customer
        .into_iter()
        .map(|(customer, observations)| (customer, rows_of_customer(&observations)))
        .filter(|(_, months)| !months.is_empty())
        .collect();
    reports_from(rows, all)
}

/// Deliveries one by one in arrival order, recomputing only the arriving event's customer from
/// what it has received so far, as the `mrr` projector does.
fn incremental(arrivals: &[Delivery]) -> Reports {
    let mut received: BTreeMap<String, Vec<&Delivery>> = BTreeMap::new();
    let mut rows: BTreeMap<String, Vec<CustomerMonth>> = BTreeMap::new();
    for delivery in arrivals {
        let customer = delivery.customer();
        let so_far = received.entry(customer.clone()).or_default();
        so_far.push(delivery);
        let months = rows_of_customer(so_far);
        if months.is_empty() {
            rows.remove(&customer);
        } else {
            rows.insert(customer, months);
        }
    }
    reports_from(rows, arrivals)
}

/// `deliveries` shuffled (by proptest) with the events at `duplicates` delivered again.
fn with_duplicates(shuffled: &[Delivery], duplicates: &[Index]) -> Vec<Delivery> {
    let mut out = shuffled.to_vec();
    for index in duplicates {
        let again = shuffled[index.index(shuffled.len())].clone();
        let position = index.index(out.len() + 1);
        out.insert(position, again);
    }
    out
}

/// A history, its deliveries, and a shuffled delivery order with some duplicates.
fn shuffled_history() -> impl Strategy<Value = (Vec<Delivery>, Vec<Delivery>)> {
    (
        history_strategy(),
        prop::collection::vec(any::<Index>(), 0..12),
    )
        .prop_flat_map(|(plans, duplicates)| {
            let in_order = deliveries(&plans);
            (
                Just(in_order.clone()),
                Just(in_order).prop_shuffle(),
                Just(duplicates),
            )
        })
        .prop_map(|(in_order, shuffled, duplicates)| {
            let arrivals = with_duplicates(&shuffled, &duplicates);
            (in_order, arrivals)
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    /// §0: the same set of Events in any order, with duplicates, gives identical reports.
    #[test]
    fn shuffled_and_duplicated_delivery_gives_identical_reports(
        (in_order, arrivals) in shuffled_history()
    ) {
        prop_assert_eq!(rebuild(&in_order), rebuild(&arrivals));
    }

    /// Recomputing the arriving event's customer one delivery at a time (the projector's
    /// incremental path) ends equal to computing everything at once (a rebuild).
    #[test]
    fn incremental_per_customer_recomputation_equals_a_rebuild(
        (in_order, arrivals) in shuffled_history()
    ) {
        prop_assert_eq!(incremental(&arrivals), rebuild(&in_order));
    }

    /// §3: close = open + new + expansion - contraction - churn + reactivation for every month
    /// and every customer, movements are positive, and each month opens at the last close.
    #[test]
    fn every_month_closes_at_open_plus_signed_movements(
        (in_order, _arrivals) in shuffled_history()
    ) {
        let reports = rebuild(&in_order);
        let balances = |open: i64, new: i64, exp: i64, con: i64, churn: i64, rea: i64| {
            open + new + exp - con - churn + rea
        };
        for months in reports.rows.values() {
            for (i, m) in months.iter().enumerate() {
                prop_assert_eq!(
                    m.mrr_close,
                    balances(m.mrr_open, m.new, m.expansion, m.contraction, m.churn, m.reactivation),
                    "{:?}", m
                );
                prop_assert!(m.new >= 0 && m.expansion >= 0 && m.contraction >= 0);
                prop_assert!(m.churn >= 0 && m.reactivation >= 0);
                if let Some(next) = months.get(i + 1) {
                    if next.month == m.month.next() {
                        prop_assert_eq!(next.mrr_open, m.mrr_close);
                    }
                }
            }
        }
        let mut previous_close = 0;
        for m in &reports.mrr {
            prop_assert_eq!(m.open, previous_close, "{:?}", m.month);
            prop_assert_eq!(
                m.close,
                balances(m.open, m.new, m.expansion, m.contraction, m.churn, m.reactivation),
                "{:?}", m
            );
            previous_close = m.close;
        }
    }

    /// The report rows the `mrr` and `cash` projectors keep (summed changes from the month
    /// before), updated one arrival at a time by withdrawing the arriving event's customer or
    /// object as it was and adding it as it is now, give the same MRR, churn and cash reports
    /// as the rules over every row and snapshot (a rebuild).
    #[test]
    fn kept_report_changes_updated_per_arrival_give_the_reports_of_a_rebuild(
        (in_order, arrivals) in shuffled_history()
    ) {
        let (from, to) = report_months();
        let expected = rebuild(&in_order);
        let flat: Vec<(String, CustomerMonth)> = expected
            .rows
            .iter()
            .flat_map(|(customer, months)| months.iter().map(|m| (customer.clone(), *m)))
            .collect();
        let (mrr_changes, cash_changes) = kept_report_changes(&arrivals);
        let totals = month_totals_from_deltas(&mrr_changes, from, to);
        let mrr: Vec<MrrReportMonth> =
            totals.iter().map(|(month, t)| mrr_report_month(*month, t)).collect();
        let churn: Vec<ChurnReportMonth> =
            totals.iter().map(|(month, t)| rates_for_month(*month, t)).collect();
        prop_assert_eq!(mrr, expected.mrr);
        prop_assert_eq!(churn, churn_report(&flat, from, to));
        prop_assert_eq!(cash_report_from_deltas(&cash_changes, from, to), expected.cash);
    }
}

/// The MRR/churn and cash report changes kept per month.
type KeptReportChanges = (Vec<(Month, MonthTotals)>, Vec<(Month, CashFigures)>);

/// The report changes the projectors keep after `arrivals`, one delivery at a time: the
/// arriving customer's (or invoice's, or charge's) changes as they were are withdrawn and its
/// changes as they are now are added.
fn kept_report_changes(arrivals: &[Delivery]) -> KeptReportChanges {
    let mut received: BTreeMap<String, Vec<&Delivery>> = BTreeMap::new();
    let mut invoices: BTreeMap<String, Vec<&Observed<InvoiceSnapshot>>> = BTreeMap::new();
    let mut charges: BTreeMap<String, Vec<&Observed<ChargeSnapshot>>> = BTreeMap::new();
    let mut mrr: BTreeMap<Month, MonthTotals> = BTreeMap::new();
    let mut cash: BTreeMap<Month, CashFigures> = BTreeMap::new();
    let mut apply_cash = |before: Vec<(Month, CashFigures)>, after: Vec<(Month, CashFigures)>| {
        for (month, delta) in before {
            let total = cash.entry(month).or_default();
            *total = total.minus(&delta);
        }
        for (month, delta) in after {
            let total = cash.entry(month).or_default();
            *total = total.plus(&delta);
        }
    };
    for delivery in arrivals {
        match delivery {
            Delivery::Invoice(observed) => {
                let history = invoices
                    .entry(observed.snapshot.invoice.to_string())
                    .or_default();
                let before = invoice_cash_deltas(history);
                history.push(observed);
                apply_cash(before, invoice_cash_deltas(history));
            }
            Delivery::Charge(observed) => {
                let history = charges
                    .entry(observed.snapshot.charge.to_string())
                    .or_default();
                let before = charge_cash_deltas(history);
                history.push(observed);
                apply_cash(before, charge_cash_deltas(history));
            }
            Delivery::Subscription(_) | Delivery::Discount(_) => {
                let so_far = received.entry(delivery.customer()).or_default();
                let before = rows_of_customer(so_far);
                so_far.push(delivery);
                let after = rows_of_customer(so_far);
                for (month, delta) in customer_month_total_deltas(&before) {
                    let total = mrr.entry(month).or_default();
                    *total = total.minus(&delta);
                }
                for (month, delta) in customer_month_total_deltas(&after) {
                    let total = mrr.entry(month).or_default();
                    *total = total.plus(&delta);
                }
            }
        }
    }
    (mrr.into_iter().collect(), cash.into_iter().collect())
}
