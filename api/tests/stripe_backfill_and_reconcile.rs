//! `tally import stripe` and `tally reconcile` against an HTTP fake of the Stripe API
//! (wiremock, answering with Stripe's own example objects) and a real PostgreSQL: paging,
//! resumption after a failed page, provenance, MRR after the import, drift, `--fix` and its
//! idempotence. No network.

mod support;

use api::commands::{drift_table, import_stripe_with, reconcile_with};
use api::stripe_transport::StripeTransport;
use chrono::{DateTime, Utc};
use ledger::domain::Currency;
use ledger::store::test_database::TestDatabase;
use ledger::store::AppendSignal;
use projections::queries::customer_mrr_at;
use serde_json::Value;
use sqlx::Row;
use stripe_bridge::reconcile::DriftField;
use support::fake_stripe::FakeStripe;
use support::stripe_backfill_objects::*;
use support::stripe_lists::{fail_page_once, serve_list};

/// The import's clock for Events: every fixture Event is inside the default 30-day window.
fn now() -> DateTime<Utc> {
    Utc::now()
}

fn transport(fake: &FakeStripe) -> StripeTransport {
    StripeTransport::new("sk_test_backfill", Some(&fake.uri())).expect("transport")
}

/// Five subscriptions over three pages of two (`limit` is Stripe's; the fake pages by two),
/// the third page failing once with a 500.
async fn stripe_with_five_subscriptions(fake: &FakeStripe) {
    let fake = fake.server();
    let customers: Vec<Value> = (1..=5).map(customer).collect();
    serve_list(fake, "customers", &customers, 100).await;
    serve_list(fake, "coupons", &[coupon()], 100).await;
    let subscriptions: Vec<Value> = (1..=5)
        .map(|n| subscription(n, "active", n as u64))
        .collect();
    serve_list(fake, "subscriptions", &subscriptions, 2).await;
    serve_list(fake, "invoices", &[invoice(1), invoice(2)], 100).await;
    let created = now().timestamp() - 86_400;
    serve_list(fake, "events", &[customer_created_event(1, created)], 100).await;
}

async fn stream_event_counts(pool: &sqlx::PgPool) -> Vec<(String, i64, String)> {
    sqlx::query(
        "SELECT stream_id, count(*) AS events, min(metadata->>'source') AS source FROM events
         GROUP BY stream_id ORDER BY stream_id",
    )
    .fetch_all(pool)
    .await
    .expect("count events")
    .iter()
    .map(|row| (row.get("stream_id"), row.get("events"), row.get("source")))
    .collect()
}

#[tokio::test]
async fn an_interrupted_import_resumes_and_holds_each_object_once() {
    let database = TestDatabase::create().await;
    let signal = AppendSignal::new();
    let fake = FakeStripe::start().await;
    fail_page_once(fake.server(), "subscriptions", "sub_4").await;
    stripe_with_five_subscriptions(&fake).await;
    let client = transport(&fake);

    let interrupted = import_stripe_with(&client, &database.pool, &signal, None, now(), None).await;
    let error = interrupted.expect_err("the third page fails").to_string();
    assert!(
        error.contains("GET /v1/subscriptions?limit=100&status=all&starting_after=sub_4"),
        "{error}"
    );
    let after_failure = stream_event_counts(&database.pool).await;
    assert!(after_failure
        .iter()
        .any(|(stream, ..)| stream == "subscription-sub_4"));
    assert!(!after_failure
        .iter()
        .any(|(stream, ..)| stream == "subscription-sub_5"));

    let reports = import_stripe_with(&client, &database.pool, &signal, None, now(), None)
        .await
        .expect("the re-run completes");
    let subscriptions = reports
        .iter()
        .find(|report| report.resource.name() == "subscriptions")
        .unwrap();
    assert_eq!((subscriptions.pages, subscriptions.objects), (3, 5));
    assert_eq!(
        subscriptions.events_already_stored, 4,
        "pages 1-2 were kept"
    );
    assert!(
        reports.iter().all(|report| report.unreadable.is_empty()),
        "{reports:?}"
    );

    let counts = stream_event_counts(&database.pool).await;
    for n in 1..=5 {
        let stream = format!("subscription-sub_{n}");
        let found = counts.iter().find(|(id, ..)| *id == stream).expect(&stream);
        assert_eq!(
            (found.1, found.2.as_str()),
            (1, "stripe_backfill"),
            "{stream}"
        );
    }
    // cus_1: the backfilled snapshot and the Stripe Event of the window; the others: one each.
    let cus_1 = counts
        .iter()
        .find(|(id, ..)| id == "customer-cus_1")
        .unwrap();
    assert_eq!(cus_1.1, 2);
    assert!(counts.iter().any(|(id, _, _)| id == "invoice-in_2"));
    assert!(counts
        .iter()
        .any(|(id, _, _)| id == "coupon-coupon_quarter"));

    let provenance: Value =
        sqlx::query_scalar("SELECT metadata FROM events WHERE stream_id = 'subscription-sub_1'")
            .fetch_one(&database.pool)
            .await
            .unwrap();
    assert_eq!(provenance["source"], "stripe_backfill");
    assert_eq!(provenance["stripe_fetch"]["object_id"], "sub_1");
    assert_eq!(
        provenance["stripe_fetch"]["request"],
        "GET /v1/subscriptions?limit=100&status=all"
    );
    assert_eq!(provenance["stripe_fetch"]["correction"], false);

    // A third run writes nothing.
    let again = import_stripe_with(&client, &database.pool, &signal, None, now(), None)
        .await
        .unwrap();
    assert!(
        again.iter().all(|report| report.events_appended == 0),
        "{again:?}"
    );

    // The projections read backfilled snapshots like any other: 20.00 USD a seat.
    let usd = Currency::new("usd");
    for n in 1..=5_i64 {
        let mrr = customer_mrr_at(&database.pool, &format!("cus_{n}"), &usd, Utc::now())
            .await
            .unwrap();
        assert_eq!(mrr, 2000 * n, "cus_{n}");
    }
    database.drop_database().await;
}

#[tokio::test]
async fn reconcile_reports_drift_and_fix_makes_the_ledger_match_stripe_once() {
    let database = TestDatabase::create().await;
    let signal = AppendSignal::new();
    let fake = FakeStripe::start().await;
    stripe_with_five_subscriptions(&fake).await;
    let client = transport(&fake);
    import_stripe_with(&client, &database.pool, &signal, None, now(), None)
        .await
        .expect("import");
    let in_sync = reconcile_with(&client, &database.pool, &signal, Utc::now(), false)
        .await
        .unwrap();
    assert!(in_sync.drifts.is_empty(), "{:?}", in_sync.drifts);
    assert_eq!(in_sync.subscriptions_compared, 5);

    // Stripe changes behind the ledger's back: sub_2 canceled, sub_3 from 3 seats to 7,
    // sub_6 created; webhooks lost.
    fake.server().reset().await;
    let mut changed: Vec<Value> = (1..=5)
        .map(|n| subscription(n, "active", n as u64))
        .collect();
    changed[1] = subscription(2, "canceled", 2);
    changed[2] = subscription(3, "active", 7);
    changed.push(subscription(6, "active", 1));
    serve_list(fake.server(), "subscriptions", &changed, 2).await;

    // Effective times are whole seconds: reconcile in a later second than the import's
    // snapshots, as an operator does (a correction in the same second ties with them).
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    let reconciled_at = Utc::now();
    let report = reconcile_with(&client, &database.pool, &signal, reconciled_at, false)
        .await
        .unwrap();
    let found: Vec<(&str, DriftField, &str, &str)> = report
        .drifts
        .iter()
        .map(|d| {
            (
                d.subscription.as_str(),
                d.field,
                d.ledger.as_str(),
                d.stripe.as_str(),
            )
        })
        .collect();
    assert_eq!(
        found,
        [
            ("sub_2", DriftField::Status, "active", "canceled"),
            (
                "sub_3",
                DriftField::Items,
                "si_3: price_seat x3",
                "si_3: price_seat x7"
            ),
            ("sub_6", DriftField::MissingInLedger, "-", "active"),
        ]
    );
    assert_eq!(report.corrections_appended, 0);
    let table = drift_table(&report, false);
    assert!(
        table.starts_with("subscription  customer  field"),
        "{table}"
    );
    assert!(table.contains("run with --fix"), "{table}");

    let fixed = reconcile_with(&client, &database.pool, &signal, reconciled_at, true)
        .await
        .unwrap();
    assert_eq!(fixed.corrections_appended, 3);
    let reasons: Vec<Value> = sqlx::query_scalar(
        "SELECT metadata->'stripe_fetch' FROM events WHERE metadata->>'source' = 'stripe_reconcile'
         ORDER BY stream_id",
    )
    .fetch_all(&database.pool)
    .await
    .unwrap();
    assert_eq!(reasons.len(), 3);
    assert_eq!(reasons[0]["correction"], true);
    assert_eq!(
        reasons[0]["reason"],
        "status: ledger active, Stripe canceled"
    );

    // MRR now follows Stripe: sub_2 churned, sub_3 at 7 seats, sub_6 new.
    let usd = Currency::new("usd");
    let later = reconciled_at + chrono::Duration::seconds(1);
    for (customer, expected) in [("cus_2", 0), ("cus_3", 14_000), ("cus_6", 2000)] {
        let mrr = customer_mrr_at(&database.pool, customer, &usd, later)
            .await
            .unwrap();
        assert_eq!(mrr, expected, "{customer}");
    }

    let second = reconcile_with(&client, &database.pool, &signal, Utc::now(), true)
        .await
        .unwrap();
    assert!(second.drifts.is_empty(), "{:?}", second.drifts);
    assert_eq!(second.corrections_appended, 0);
    let json = serde_json::to_value(&second).unwrap();
    assert_eq!(json["drifts"], serde_json::json!([]));
    database.drop_database().await;
}
