//! The cash report: money collected, refunded and outstanding per month, one currency
//! (revenue-rules.md §5, §6).

use crate::rules::month::Month;
use crate::rules::observed::{self, sorted_without_duplicates, Observed};
use chrono::{DateTime, Utc};
use ledger::domain::{ChargeSnapshot, InvoiceId, InvoiceSnapshot, InvoiceStatus, ObservedChange};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One month of the cash report, one currency. Amounts in minor units.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CashReportMonth {
    /// The month.
    pub month: Month,
    /// Sum of `amount_paid` of invoices whose `paid_at` falls in the month, each invoice once,
    /// from its latest snapshot that has `paid_at`.
    pub collected: i64,
    /// Sum of refunds whose effective time falls in the month.
    pub refunded: i64,
    /// Sum of `amount_remaining` of invoices whose status is `open` at the close of the month.
    pub outstanding_close: i64,
}

/// The cash report (revenue-rules.md §5, §6) for every month from `from` to `to` inclusive,
/// zero rows included.
///
/// `invoices` / `charges`: every snapshot of every invoice / charge in ONE currency, any order,
/// duplicate deliveries allowed.
/// - collected: each invoice's latest snapshot (by order key) that has `paid_at` adds its
///   `amount_paid` to the month of `paid_at`.
/// - refunded: each `Refunded` charge snapshot adds `max(0, amount_refunded - the largest
///   amount_refunded on any earlier snapshot of that charge)` to the month of its effective time.
/// - outstanding_close: `amount_remaining` of every invoice whose latest snapshot before the
///   next month's first instant has status `open` (a `draft` is not outstanding).
pub fn cash_report(
    invoices: &[Observed<InvoiceSnapshot>],
    charges: &[Observed<ChargeSnapshot>],
    from: Month,
    to: Month,
) -> Vec<CashReportMonth> {
    let invoice_histories = histories_by_object(invoices, |invoice| &invoice.invoice);
    let charge_histories = histories_by_object(charges, |charge| &charge.charge);

    let mut collected_by_month: BTreeMap<Month, i64> = BTreeMap::new();
    for history in invoice_histories.values() {
        if let Some((paid_at, amount_paid)) = collected_payment(history) {
            let total = collected_by_month
                .entry(Month::containing(paid_at))
                .or_insert(0);
            *total = total.saturating_add(amount_paid);
        }
    }

    let mut refunded_by_month: BTreeMap<Month, i64> = BTreeMap::new();
    for history in charge_histories.values() {
        for (refunded_at, refund_amount) in refunds_of_charge(history) {
            let total = refunded_by_month
                .entry(Month::containing(refunded_at))
                .or_insert(0);
            *total = total.saturating_add(refund_amount);
        }
    }

    Month::range_inclusive(from, to)
        .map(|month| CashReportMonth {
            month,
            collected: collected_by_month.get(&month).copied().unwrap_or(0),
            refunded: refunded_by_month.get(&month).copied().unwrap_or(0),
            outstanding_close: outstanding_at(&invoice_histories, month.next().first_instant()),
        })
        .collect()
}

/// Observations grouped per object id, each group ascending by order key without duplicates.
fn histories_by_object<'a, T, Id: Ord + 'a>(
    observations: &'a [Observed<T>],
    object_id: impl Fn(&T) -> &Id,
) -> BTreeMap<&'a Id, Vec<&'a Observed<T>>> {
    let mut grouped: BTreeMap<&Id, Vec<&Observed<T>>> = BTreeMap::new();
    for observation in observations {
        grouped
            .entry(object_id(&observation.snapshot))
            .or_default()
            .push(observation);
    }
    grouped
        .into_iter()
        .map(|(id, group)| (id, sorted_without_duplicates(group)))
        .collect()
}

/// An invoice's collected payment: (`paid_at`, `amount_paid`) of its latest snapshot that has
/// `paid_at`; `None` if it was never paid.
fn collected_payment(
    invoice_history: &[&Observed<InvoiceSnapshot>],
) -> Option<(DateTime<Utc>, i64)> {
    invoice_history.iter().rev().find_map(|observation| {
        let invoice = &observation.snapshot;
        invoice
            .paid_at
            .map(|paid_at| (paid_at, invoice.amount_paid))
    })
}

/// The refunds of one charge, as (effective time, amount > 0): each `Refunded` snapshot's
/// increase of `amount_refunded` over the largest value on any earlier snapshot (0 if none).
fn refunds_of_charge(charge_history: &[&Observed<ChargeSnapshot>]) -> Vec<(DateTime<Utc>, i64)> {
    let mut largest_amount_refunded_so_far: i64 = 0;
    let mut refunds = Vec::new();
    for observation in charge_history {
        let amount_refunded = observation.snapshot.amount_refunded;
        if observation.change == ObservedChange::Refunded {
            let increase = amount_refunded.saturating_sub(largest_amount_refunded_so_far);
            if increase > 0 {
                refunds.push((observation.effective_at, increase));
            }
        }
        largest_amount_refunded_so_far = largest_amount_refunded_so_far.max(amount_refunded);
    }
    refunds
}

/// Sum of `amount_remaining` of the invoices whose state just before `close` (after every
/// snapshot with `effective_at < close`) has status `open`.
fn outstanding_at(
    invoice_histories: &BTreeMap<&InvoiceId, Vec<&Observed<InvoiceSnapshot>>>,
    close: DateTime<Utc>,
) -> i64 {
    invoice_histories
        .values()
        .filter_map(|history| observed::state_before(history, close))
        .filter(|invoice| invoice.status == InvoiceStatus::Open)
        .fold(0_i64, |total, invoice| {
            total.saturating_add(invoice.amount_remaining)
        })
}
