//! The cash report: money collected, refunded and outstanding per month, one currency
//! (revenue-rules.md §5, §6).

use crate::rules::month::Month;
use crate::rules::observed::{self, sorted_without_duplicates, Observed};
use chrono::{DateTime, Utc};
use ledger::domain::{ChargeSnapshot, InvoiceSnapshot, InvoiceStatus, ObservedChange};
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
    let mut deltas = Vec::new();
    for history in histories_by_object(invoices, |invoice| &invoice.invoice).values() {
        deltas.extend(invoice_cash_deltas(history));
    }
    for history in histories_by_object(charges, |charge| &charge.charge).values() {
        deltas.extend(charge_cash_deltas(history));
    }
    cash_report_from_deltas(&deltas, from, to)
}

/// One month's cash figures (minor units), or one object's change of them from the month
/// before (see [`invoice_cash_deltas`]).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CashFigures {
    /// Collected in the month.
    pub(crate) collected: i64,
    /// Refunded in the month.
    pub(crate) refunded: i64,
    /// Outstanding at the month's close.
    pub(crate) outstanding_close: i64,
}

impl CashFigures {
    /// Field-wise sum (saturating).
    pub(crate) fn plus(&self, other: &Self) -> Self {
        Self {
            collected: self.collected.saturating_add(other.collected),
            refunded: self.refunded.saturating_add(other.refunded),
            outstanding_close: self
                .outstanding_close
                .saturating_add(other.outstanding_close),
        }
    }

    /// Field-wise difference (saturating).
    pub(crate) fn minus(&self, other: &Self) -> Self {
        Self {
            collected: self.collected.saturating_sub(other.collected),
            refunded: self.refunded.saturating_sub(other.refunded),
            outstanding_close: self
                .outstanding_close
                .saturating_sub(other.outstanding_close),
        }
    }
}

/// One invoice's contribution to the cash report, as changes from the month before: the entry
/// of month m is (its figures in m) - (its figures in m - 1), zero entries left out, so its
/// figures in m are the sum of its entries up to m and the report's figures of m are the sum of
/// every object's entries up to m ([`cash_report_from_deltas`]). The `cash` projector keeps
/// these sums per currency and month.
///
/// `history`: every snapshot of ONE invoice, any order, duplicate deliveries allowed.
/// Figures (§5): its `amount_paid` collected in the month of `paid_at` (latest snapshot with
/// `paid_at`); its `amount_remaining` outstanding at the close of every month whose state just
/// before the close is `open`.
pub(crate) fn invoice_cash_deltas(
    history: &[&Observed<InvoiceSnapshot>],
) -> Vec<(Month, CashFigures)> {
    let history = sorted_without_duplicates(history.iter().copied());
    let (Some(first), Some(last)) = (history.first(), history.last()) else {
        return Vec::new();
    };
    let payment = collected_payment(&history)
        .map(|(paid_at, amount_paid)| (Month::containing(paid_at), amount_paid));
    let paid_month = payment.map(|(month, _)| month);
    let first_month = Month::containing(first.effective_at)
        .min(paid_month.unwrap_or(Month::containing(first.effective_at)));
    let last_month = Month::containing(last.effective_at)
        .max(paid_month.unwrap_or(Month::containing(last.effective_at)));
    changes_from_month_before(first_month, last_month, |month| CashFigures {
        collected: match payment {
            Some((paid_month, amount_paid)) if paid_month == month => amount_paid,
            _ => 0,
        },
        refunded: 0,
        outstanding_close: outstanding_of_invoice(&history, month.next().first_instant()),
    })
}

/// One charge's contribution to the cash report as changes from the month before (see
/// [`invoice_cash_deltas`]): its refunds (§5) in the month of their effective time.
///
/// `history`: every snapshot of ONE charge, any order, duplicate deliveries allowed.
pub(crate) fn charge_cash_deltas(
    history: &[&Observed<ChargeSnapshot>],
) -> Vec<(Month, CashFigures)> {
    let history = sorted_without_duplicates(history.iter().copied());
    let mut refunded_by_month: BTreeMap<Month, i64> = BTreeMap::new();
    for (refunded_at, refund_amount) in refunds_of_charge(&history) {
        let total = refunded_by_month
            .entry(Month::containing(refunded_at))
            .or_insert(0);
        *total = total.saturating_add(refund_amount);
    }
    let (Some(first), Some(last)) = (
        refunded_by_month.keys().next(),
        refunded_by_month.keys().next_back(),
    ) else {
        return Vec::new();
    };
    changes_from_month_before(*first, *last, |month| CashFigures {
        refunded: refunded_by_month.get(&month).copied().unwrap_or(0),
        ..CashFigures::default()
    })
}

/// For an object whose figures are zero before `first` and constant after `last` (apart from
/// the months' own flows, zero after `last`): the non-zero changes of `figures` from each month
/// to the next, from `first` to the month after `last`.
fn changes_from_month_before(
    first: Month,
    last: Month,
    figures: impl Fn(Month) -> CashFigures,
) -> Vec<(Month, CashFigures)> {
    let mut previous = CashFigures::default();
    let mut changes = Vec::new();
    for month in Month::range_inclusive(first, last.next()) {
        let current = figures(month);
        let change = current.minus(&previous);
        if change != CashFigures::default() {
            changes.push((month, change));
        }
        previous = current;
    }
    changes
}

/// The cash report of every month from `from` to `to` (inclusive) from summed
/// [`invoice_cash_deltas`] and [`charge_cash_deltas`] (any order, several entries per month
/// allowed): each month's figures are the sum of every entry up to and including it.
pub(crate) fn cash_report_from_deltas(
    deltas: &[(Month, CashFigures)],
    from: Month,
    to: Month,
) -> Vec<CashReportMonth> {
    let mut by_month: BTreeMap<Month, CashFigures> = BTreeMap::new();
    for (month, delta) in deltas {
        let total = by_month.entry(*month).or_default();
        *total = total.plus(delta);
    }
    let mut running = CashFigures::default();
    let mut pending = by_month.into_iter().peekable();
    Month::range_inclusive(from, to)
        .map(|month| {
            while let Some((_, delta)) = pending.next_if(|(delta_month, _)| *delta_month <= month) {
                running = running.plus(&delta);
            }
            CashReportMonth {
                month,
                collected: running.collected,
                refunded: running.refunded,
                outstanding_close: running.outstanding_close,
            }
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

/// `amount_remaining` of one invoice (`history` ascending by order key) if its state just before
/// `close` (after every snapshot with `effective_at < close`) has status `open`, else 0.
fn outstanding_of_invoice(history: &[&Observed<InvoiceSnapshot>], close: DateTime<Utc>) -> i64 {
    match observed::state_before(history, close) {
        Some(invoice) if invoice.status == InvoiceStatus::Open => invoice.amount_remaining,
        _ => 0,
    }
}
