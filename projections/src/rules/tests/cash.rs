//! §5 / §6 cash: collected from paid invoices, refunds from `charge.refunded`, outstanding at
//! the close of each month. Every test reports 2025-01 to 2025-04.

use crate::rules::test_support::{charge, invoice, month, observed, observed_by_event};
use crate::rules::{cash_report, Observed};
use ledger::domain::{
    ChargeSnapshot, InvoiceSnapshot,
    InvoiceStatus::{self, Draft, Open, Uncollectible, Void},
    ObservedChange::{self, *},
};

/// Per month from 2025-01 to 2025-04: [collected, refunded, outstanding_close].
fn cash_by_month(
    invoices: &[Observed<InvoiceSnapshot>],
    charges: &[Observed<ChargeSnapshot>],
) -> Vec<[i64; 3]> {
    cash_report(invoices, charges, month("2025-01"), month("2025-04"))
        .into_iter()
        .map(|m| [m.collected, m.refunded, m.outstanding_close])
        .collect()
}

/// Invoice `id` paid `amount` at `paid_at`, observed through an `invoice.paid` Event `event_id`
/// effective at `when`.
fn paid(
    when: &str,
    event_id: &str,
    id: &str,
    amount: i64,
    paid_at: &str,
) -> Observed<InvoiceSnapshot> {
    observed_by_event(
        when,
        Paid,
        event_id,
        invoice(id, InvoiceStatus::Paid, amount, 0, Some(paid_at)),
    )
}

/// Invoice `id` in `status` with `amount_remaining`, unpaid, observed at `when` through `change`.
fn unpaid(
    when: &str,
    change: ObservedChange,
    id: &str,
    status: InvoiceStatus,
    remaining: i64,
) -> Observed<InvoiceSnapshot> {
    observed(when, change, invoice(id, status, 0, remaining, None))
}

/// Charge `ch_1` of 10000 with cumulative `amount_refunded`, observed through Event `event_id`.
fn ch_1(
    when: &str,
    change: ObservedChange,
    event_id: &str,
    amount_refunded: i64,
) -> Observed<ChargeSnapshot> {
    observed_by_event(
        when,
        change,
        event_id,
        charge("ch_1", 10_000, amount_refunded),
    )
}

#[test]
#[rustfmt::skip]
fn collected_counts_each_invoice_once_from_its_latest_paid_snapshot() {
    let invoices = [
        unpaid("2025-01-02 09:00", Created, "in_1", Draft, 10_000),
        unpaid("2025-01-02 09:00:01", Finalized, "in_1", Open, 10_000),
        paid("2025-01-02 09:00:02", "evt_paid_1", "in_1", 10_000, "2025-01-02 09:00:02"),
        paid("2025-01-02 09:00:02", "evt_paid_1", "in_1", 10_000, "2025-01-02 09:00:02"), // redelivered
        paid("2025-01-02 09:00:09", "evt_paid_2", "in_1", 10_000, "2025-01-02 09:00:02"), // 2nd Event
    ];
    assert_eq!(cash_by_month(&invoices, &[])[0], [10_000, 0, 0]);
}

#[test]
#[rustfmt::skip]
fn collected_goes_to_the_month_of_paid_at() {
    let invoices = [paid("2025-02-01 00:00:05", "evt_paid", "in_1", 5_000, "2025-01-31 23:59:59")];
    assert_eq!(cash_by_month(&invoices, &[]), [[5_000, 0, 0], [0, 0, 0], [0, 0, 0], [0, 0, 0]]);
}

#[test]
fn invoices_of_zero_add_zero() {
    let trial_invoice = [paid(
        "2025-01-20 09:00:02",
        "evt_paid",
        "in_trial",
        0,
        "2025-01-20 09:00:02",
    )];
    assert_eq!(cash_by_month(&trial_invoice, &[])[0], [0, 0, 0]);
}

#[test]
#[rustfmt::skip]
fn refund_is_increase_over_largest_earlier_amount_refunded() {
    let charges = [
        ch_1("2025-01-02 09:00", Succeeded, "evt_s", 0),
        ch_1("2025-03-20 09:00", Refunded, "evt_r1", 1_000), // refunds 1000
        ch_1("2025-03-25 09:00", Refunded, "evt_r2", 3_000), // refunds 2000 more
        ch_1("2025-03-25 09:00", Refunded, "evt_r2", 3_000), // the same Event redelivered
        ch_1("2025-04-01 09:00", Refunded, "evt_r3", 2_500), // below the largest earlier: 0
    ];
    let refunded: Vec<i64> = cash_by_month(&[], &charges).iter().map(|[_, refunded, _]| *refunded).collect();
    assert_eq!(refunded, [0, 0, 3_000, 0]);
}

#[test]
#[rustfmt::skip]
fn only_refunded_changes_create_refunds() {
    let charges = [
        ch_1("2025-02-01 09:00", Updated, "evt_u", 5_000),   // known, but not a refund Event
        ch_1("2025-02-10 09:00", Refunded, "evt_r", 5_000),  // no increase over 5000
    ];
    let refunded: Vec<i64> = cash_by_month(&[], &charges).iter().map(|[_, refunded, _]| *refunded).collect();
    assert_eq!(refunded, [0, 0, 0, 0]);
}

#[test]
#[rustfmt::skip]
fn draft_invoice_is_not_outstanding() {
    let invoices = [
        unpaid("2025-01-31 23:00", Created, "in_1", Draft, 5_000),
        unpaid("2025-02-01 00:00", Finalized, "in_1", Open, 5_000),
        paid("2025-02-03 10:00", "evt_paid", "in_1", 5_000, "2025-02-03 10:00"),
    ];
    assert_eq!(cash_by_month(&invoices, &[]), [[0, 0, 0], [5_000, 0, 0], [0, 0, 0], [0, 0, 0]]);
}

#[test]
#[rustfmt::skip]
fn open_invoice_stays_outstanding_until_paid_voided_or_marked_uncollectible() {
    let invoices = [
        unpaid("2025-01-10 09:00", Finalized, "in_paid", Open, 1_000),
        paid("2025-03-05 09:00", "evt_paid", "in_paid", 1_000, "2025-03-05 09:00"),
        unpaid("2025-01-10 09:00", Finalized, "in_void", Open, 200),
        unpaid("2025-02-01 00:00", Updated, "in_void", Void, 200), // after January's close
        unpaid("2025-01-10 09:00", Finalized, "in_bad", Open, 30),
        unpaid("2025-04-30 23:59:59", Updated, "in_bad", Uncollectible, 30),
    ];
    let outstanding: Vec<i64> = cash_by_month(&invoices, &[]).iter().map(|[_, _, outstanding]| *outstanding).collect();
    assert_eq!(outstanding, [1_230, 1_030, 30, 0]);
}
