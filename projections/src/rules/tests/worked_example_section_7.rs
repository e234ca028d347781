//! Conformance: the worked example of revenue-rules.md §7, built from hand-made snapshots, must
//! give exactly the §7 tables (also `datasets/worked-example/expected/{mrr,churn,cash}.json`).
//! All times 2025, 09:00 UTC unless written; prices and amounts in usd cents.

use crate::rules::test_support::{
    charge, discount, invoice, item, listing, month, observed, percent_coupon, subscription,
};
use crate::rules::{
    cash_report, churn_report, customer_months, customer_mrr_timelines, daily_movements,
    format_rate, mrr_before, mrr_report, CustomerMonth, Observed,
};
use ledger::domain::{
    CouponDuration, Currency, DiscountSnapshot, InvoiceStatus,
    ObservedChange::{self, *},
    RecurringInterval::{Month, Year},
    SubscriptionItem, SubscriptionSnapshot,
    SubscriptionStatus::{self, *},
};
use rust_decimal::Decimal;

fn pro(quantity: u64) -> SubscriptionItem {
    item(10_000, quantity, Month, 1)
}
fn basic() -> SubscriptionItem {
    item(5_000, 1, Month, 1)
}
fn plus() -> SubscriptionItem {
    item(8_000, 1, Month, 1)
}
fn annual() -> SubscriptionItem {
    item(120_000, 1, Year, 1)
}
fn quarterly() -> SubscriptionItem {
    item(27_000, 1, Month, 3)
}

/// Subscription `id` observed on `day` at 09:00 through `change`, in `status`, with its current
/// period begun on `period_start` at 09:00 and one `price` at its quantity.
fn sub(
    day: &str,
    change: ObservedChange,
    id: &str,
    status: SubscriptionStatus,
    period_start: &str,
    price: SubscriptionItem,
) -> Observed<SubscriptionSnapshot> {
    let snapshot = subscription(
        id,
        status,
        &format!("2025-{period_start} 09:00"),
        vec![price],
    );
    observed(&format!("2025-{day} 09:00"), change, snapshot)
}

/// The same observation with the subscription set to cancel at the end of its period.
fn cancelling_at_period_end(
    observation: Observed<SubscriptionSnapshot>,
) -> Observed<SubscriptionSnapshot> {
    let snapshot = SubscriptionSnapshot {
        cancel_at_period_end: true,
        ..observation.snapshot
    };
    Observed {
        snapshot,
        ..observation
    }
}

/// The same observation with the subscription listing D1's forever coupon `di_D1`.
fn with_di_d1(observation: Observed<SubscriptionSnapshot>) -> Observed<SubscriptionSnapshot> {
    Observed {
        snapshot: listing(observation.snapshot, &["di_D1"]),
        ..observation
    }
}

/// One customer of §7: its alias and every subscription and discount snapshot.
struct Customer {
    alias: &'static str,
    subscriptions: Vec<Observed<SubscriptionSnapshot>>,
    discounts: Vec<Observed<DiscountSnapshot>>,
}

/// The §7 history, rows 1-14 of its table, plus the renewals a real account has.
#[rustfmt::skip]
fn customers() -> Vec<Customer> {
    let b1_once = discount("di_B1", Some("B1"), percent_coupon("25", CouponDuration::Once), "2025-01-15 09:00");
    let d1_forever = discount("di_D1", Some("D1"), percent_coupon("25", CouponDuration::Forever), "2025-01-05 09:00");
    vec![
        Customer { alias: "A", discounts: vec![], subscriptions: vec![
            sub("01-02", Created, "A1", Active, "01-02", pro(1)),       // 1
            sub("02-02", Updated, "A1", Active, "02-02", pro(1)),       //   renewal
            sub("02-10", Updated, "A1", Active, "02-02", basic()),      // 6
            sub("02-20", Updated, "A1", Active, "02-02", pro(1)),       // 8
            sub("03-02", Updated, "A1", Active, "03-02", pro(1)),       //   renewal
            sub("03-15", Updated, "A1", Active, "03-02", pro(3)),       // 11
            sub("04-02", Updated, "A1", Active, "04-02", pro(3)),       //   renewal
        ]},
        Customer { alias: "B", subscriptions: vec![
            sub("01-15", Created, "B1", Active, "01-15", annual()),     // 3
        ], discounts: vec![
            observed("2025-01-15 09:00", Created, b1_once.clone()),
            observed("2025-01-15 09:00:03", Deleted, b1_once),          //   consumed by invoice 1
        ]},
        Customer { alias: "C", discounts: vec![], subscriptions: vec![
            sub("01-20", Created, "C1", Trialing, "01-20", basic()),    // 4
            sub("02-03", Updated, "C1", Active, "02-03", basic()),      // 5
            sub("03-03", Updated, "C1", Active, "03-03", basic()),      //   renewal
            cancelling_at_period_end(sub("03-10", Updated, "C1", Active, "03-03", basic())), // 10
            sub("04-03", Deleted, "C1", Canceled, "03-03", basic()),    // 13
        ]},
        Customer { alias: "D", subscriptions: vec![
            with_di_d1(sub("01-05", Created, "D1", Active, "01-05", plus())),   // 2
            with_di_d1(sub("02-05", Updated, "D1", Active, "02-05", plus())),   //   renewal
            with_di_d1(sub("02-12", Deleted, "D1", Canceled, "02-05", plus())), // 7
            sub("04-08", Created, "D2", Active, "04-08", plus()),               // 14
        ], discounts: vec![
            observed("2025-01-05 09:00", Created, d1_forever),
        ]},
        Customer { alias: "E", discounts: vec![], subscriptions: vec![
            sub("03-03", Created, "E1", Active, "03-03", quarterly()),  // 9
            sub("03-20", Deleted, "E1", Canceled, "03-03", quarterly()), // 12
        ]},
    ]
}

/// What the projector stores for §7: every customer's usd months as (alias, row); plus each
/// customer's MRR at the close of January to April.
struct ProjectedCustomers {
    stored_rows: Vec<(String, CustomerMonth)>,
    closes_jan_to_apr: Vec<(&'static str, [i64; 4])>,
}

fn project_customers() -> ProjectedCustomers {
    let mut projected = ProjectedCustomers {
        stored_rows: Vec::new(),
        closes_jan_to_apr: Vec::new(),
    };
    for customer in customers() {
        let timeline = customer_mrr_timelines(&customer.subscriptions, &customer.discounts)
            .remove(&Currency::new("usd"))
            .unwrap_or_default();
        let months = customer_months(&timeline, &daily_movements(&timeline));
        let rows = months
            .into_iter()
            .map(|row| (customer.alias.to_owned(), row));
        projected.stored_rows.extend(rows);
        let close_of = |text: &str| mrr_before(&timeline, month(text).next().first_instant());
        let closes = ["2025-01", "2025-02", "2025-03", "2025-04"].map(close_of);
        projected.closes_jan_to_apr.push((customer.alias, closes));
    }
    projected
}

#[test]
#[rustfmt::skip]
fn worked_example_section_7() {
    let projected = project_customers();
    let (from, to) = (month("2025-01"), month("2025-04"));

    // "Customer MRR at the close of Jan/Feb/Mar/Apr".
    assert_eq!(projected.closes_jan_to_apr, vec![
        ("A", [10_000, 10_000, 30_000, 30_000]),
        ("B", [7_500, 7_500, 7_500, 7_500]),
        ("C", [0, 5_000, 5_000, 0]),
        ("D", [6_000, 0, 0, 8_000]),
        ("E", [0, 0, 0, 0]),
    ]);

    // The MRR movement table (expected/mrr.json).
    let mrr_table: Vec<[i64; 9]> = mrr_report(&projected.stored_rows, from, to)
        .into_iter()
        .map(|m| [m.open, m.new, m.expansion, m.contraction, m.churn, m.reactivation, m.close, m.customers_open, m.customers_close])
        .collect();
    assert_eq!(mrr_table, vec![
        // open   new    expansion contraction churn reactivation close customers_open customers_close
        [0,      23_500, 0,      0,     0,     0,     23_500, 0, 3], // 2025-01
        [23_500, 5_000,  5_000,  5_000, 6_000, 0,     22_500, 3, 3], // 2025-02
        [22_500, 9_000,  20_000, 0,     9_000, 0,     42_500, 3, 3], // 2025-03
        [42_500, 0,      0,      0,     5_000, 8_000, 45_500, 3, 3], // 2025-04
    ]);

    // The rate table (expected/churn.json; ARPA in cents).
    let written = |rate: Option<Decimal>| rate.map(format_rate).unwrap_or_else(|| "null".to_owned());
    let rate_table: Vec<[String; 7]> = churn_report(&projected.stored_rows, from, to)
        .into_iter()
        .map(|m| [m.logo_churn_rate, m.gross_mrr_churn_rate, m.net_mrr_churn_rate, m.nrr, m.grr, m.quick_ratio, m.arpa].map(written))
        .collect();
    assert_eq!(rate_table, vec![
        // logo churn  gross MRR churn  net MRR churn  NRR         GRR         quick ratio  ARPA
        ["null",      "null",     "null",      "null",     "null",     "null",     "7833.333333"],  // 2025-01
        ["0.333333",  "0.468085", "0.255319",  "0.744681", "0.531915", "0.909091", "7500.000000"],  // 2025-02
        ["0.000000",  "0.400000", "-0.488889", "1.888889", "1.000000", "3.222222", "14166.666667"], // 2025-03
        ["0.333333",  "0.117647", "-0.070588", "0.882353", "0.882353", "1.600000", "15166.666667"], // 2025-04
    ].into_iter().map(|row| row.map(str::to_owned)).collect::<Vec<_>>());
}

#[test]
#[rustfmt::skip]
fn worked_example_section_7_cash() {
    let paid = |id: &str, amount: i64, paid_at: &str| {
        let when = format!("2025-{paid_at}");
        observed(&when, Paid, invoice(id, InvoiceStatus::Paid, amount, 0, Some(&when)))
    };
    let invoices = [
        paid("in_A1_1", 10_000, "01-02 09:00:02"),
        paid("in_D1_1", 6_000, "01-05 09:00:02"),
        paid("in_B1_1", 90_000, "01-15 09:00:02"),
        paid("in_C1_trial", 0, "01-20 09:00:02"),
        // A renewal invoice stays a draft for an hour, then is open, then paid.
        observed("2025-02-02 09:00", Created, invoice("in_A1_2", InvoiceStatus::Draft, 0, 10_000, None)),
        observed("2025-02-02 10:00", Finalized, invoice("in_A1_2", InvoiceStatus::Open, 0, 10_000, None)),
        paid("in_A1_2", 10_000, "02-02 10:00:01"),
        paid("in_C1_1", 5_000, "02-03 10:00:01"),
        paid("in_D1_2", 6_000, "02-05 10:00:01"),
        paid("in_A1_3", 10_000, "03-02 10:00:01"),
        paid("in_E1_1", 27_000, "03-03 09:00:02"),
        paid("in_C1_2", 5_000, "03-03 10:00:01"),
        paid("in_A1_4", 30_000, "04-02 10:00:01"),
        paid("in_D2_1", 8_000, "04-08 09:00:02"),
    ];
    let charges = [
        observed("2025-03-03 09:00:02", Succeeded, charge("ch_E1_1", 27_000, 0)),
        observed("2025-03-20 09:02", Refunded, charge("ch_E1_1", 27_000, 27_000)), // 12
    ];
    let cash_table: Vec<[i64; 3]> = cash_report(&invoices, &charges, month("2025-01"), month("2025-04"))
        .into_iter()
        .map(|m| [m.collected, m.refunded, m.outstanding_close])
        .collect();
    assert_eq!(cash_table, vec![
        // collected refunded outstanding_close
        [106_000, 0,      0], // 2025-01
        [21_000,  0,      0], // 2025-02
        [42_000,  27_000, 0], // 2025-03
        [38_000,  0,      0], // 2025-04
    ]);
}
