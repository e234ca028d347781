//! Issue 6: usage ingest over HTTP (partial acceptance, duplicates within and across batches),
//! the catalog applied as events, entitlements and usage answered from the in-memory
//! projection, and the replay check: the projection rebuilt from the log equals the live one.

mod support;

use support::router_requests::send;

use api::catalog_file::{apply_catalog, parse_catalog_toml, CatalogApplyOutcome};
use api::AppState;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use chrono::{DateTime, Duration, Utc};
use ledger::domain::{
    Actor, BillingScheme, CatalogSource, Currency, DomainEvent, EventMetadata, ObservedChange,
    RecurringInterval, SubscriptionItem, SubscriptionObserved, SubscriptionSnapshot,
    SubscriptionStatus, UsageType,
};
use ledger::store::test_database::TestDatabase;
use ledger::store::{read, EventStore, NewEvent};
use projections::entitlements::rebuild_from_log;
use rust_decimal::Decimal;
use serde_json::{json, Value};
use uuid::Uuid;

const CATALOG: &str = r#"
past_due_grace_days = 3

[[plans]]
price = "price_pro"
features = ["sso"]

  [[plans.limits]]
  meter = "api_calls"
  quota = "1000"
  included = "100"
  overage_unit_amount = "0.25"
  currency = "usd"
  stripe_event_name = "api_calls"
"#;

fn state(database: &TestDatabase) -> AppState {
    AppState::new(database.pool.clone(), None)
}

fn store(state: &AppState) -> EventStore {
    EventStore::with_signal(state.pool.clone(), state.append_signal.clone())
}

fn post_usage(body: Value) -> Request<Body> {
    Request::post("/v1/usage")
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .expect("request")
}

fn get(path: &str) -> Request<Body> {
    Request::get(path).body(Body::empty()).expect("request")
}

fn increment(customer: &str, quantity: &str, at: DateTime<Utc>, key: &str) -> Value {
    json!({"customer": customer, "meter": "api_calls", "quantity": quantity,
           "timestamp": at.to_rfc3339(), "idempotency_key": key})
}

async fn observe_subscription(
    state: &AppState,
    status: SubscriptionStatus,
    period: (DateTime<Utc>, DateTime<Utc>),
    effective_at: DateTime<Utc>,
) {
    let event = DomainEvent::SubscriptionObserved(SubscriptionObserved {
        change: ObservedChange::Updated,
        snapshot: SubscriptionSnapshot {
            subscription: "sub_usage".into(),
            customer: "cus_usage".into(),
            currency: Currency::new("usd"),
            status,
            cancel_at_period_end: false,
            current_period_start: Some(period.0),
            current_period_end: Some(period.1),
            items: vec![SubscriptionItem {
                item: "si_usage".into(),
                price: "price_pro".into(),
                product: None,
                quantity: 1,
                usage_type: UsageType::Licensed,
                billing_scheme: BillingScheme::PerUnit,
                unit_amount_decimal: Some(Decimal::from(5000)),
                tiers_mode: None,
                tiers: Vec::new(),
                transform_quantity: None,
                interval: RecurringInterval::Month,
                interval_count: 1,
                current_period_start: Some(period.0),
                current_period_end: Some(period.1),
            }],
            discount_ids: Vec::new(),
            expanded_discounts: Vec::new(),
            ended_at: None,
        },
    });
    let metadata = EventMetadata {
        source: "test".into(),
        actor: Actor::System,
        stripe_event_id: None,
        stripe_api_version: None,
        causation_id: None,
        correlation_id: None,
        stripe_fetch: None,
    };
    let new = NewEvent::from_domain(Uuid::now_v7(), &event, metadata, effective_at);
    store(state)
        .append_new_events(&[(event.stream_id(), new)])
        .await
        .expect("subscription appended");
}

/// Waits until the live projection has applied everything committed so far.
async fn caught_up(state: &AppState) {
    let head = read::log_head(&state.pool).await.expect("head");
    let mut applied = state.entitlements.applied();
    tokio::time::timeout(
        std::time::Duration::from_secs(30),
        applied.wait_for(|position| *position >= head),
    )
    .await
    .expect("projection caught up")
    .expect("projection running");
}

#[tokio::test]
async fn a_batch_keeps_its_valid_items_and_reports_rejections_and_duplicates_by_index() {
    let database = TestDatabase::create().await;
    let state = state(&database);
    let now = Utc::now();
    let (status, body) = send(
        &state,
        post_usage(json!({"increments": [
            increment("cus_a", "1.5", now, "k1"),
            increment("cus_a", "2", now - Duration::days(40), "k2"),
            increment("cus_b", "-1", now, "k3"),
            increment("cus_a", "7", now, "k1"),
            {"customer": "cus_a", "meter": "api_calls", "quantity": "x"},
            increment("cus_b", "3", now, "k4"),
        ]})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["recorded"], 2, "{body}");
    assert_eq!(body["duplicates"], 1, "{body}");
    assert_eq!(body["rejected"], 3, "{body}");
    let results = body["results"].as_array().expect("results");
    let statuses: Vec<&str> = results
        .iter()
        .map(|result| result["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        statuses,
        [
            "recorded",
            "rejected",
            "rejected",
            "duplicate",
            "rejected",
            "recorded"
        ]
    );
    assert_eq!(results[1]["code"], "timestamp_too_old");
    assert_eq!(results[2]["code"], "negative_quantity");
    assert_eq!(results[4]["code"], "malformed_increment");
    assert!(body["message"]
        .as_str()
        .unwrap()
        .contains("valid ones were kept"));

    // A later batch repeating keys: duplicates, nothing written; new keys recorded.
    let head = read::log_head(&state.pool).await.unwrap();
    let (_, again) = send(
        &state,
        post_usage(json!({"increments": [
            increment("cus_a", "1.5", now, "k1"),
            increment("cus_b", "3", now, "k4"),
        ]})),
    )
    .await;
    assert_eq!(again["duplicates"], 2, "{again}");
    assert_eq!(read::log_head(&state.pool).await.unwrap(), head);
    let (_, mixed) = send(
        &state,
        post_usage(json!({"increments": [
            increment("cus_a", "1", now, "k1"),
            increment("cus_a", "1", now, "k5"),
        ]})),
    )
    .await;
    assert_eq!(mixed["recorded"], 1, "{mixed}");
    assert_eq!(mixed["duplicates"], 1, "{mixed}");
    assert_eq!(mixed["results"][1]["status"], "recorded");

    let (status, bad) = send(&state, post_usage(json!([1, 2]))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
    database.drop_database().await;
}

#[tokio::test]
async fn entitlements_usage_and_the_check_follow_the_log_and_a_rebuild_equals_the_live_state() {
    let database = TestDatabase::create().await;
    let state = state(&database);
    let live = tokio::spawn(state.entitlements.clone().run(store(&state)));
    let now = Utc::now();
    let catalog = parse_catalog_toml(CATALOG).expect("catalog");
    let applied = apply_catalog(
        &store(&state),
        catalog.clone(),
        CatalogSource::File,
        now - Duration::days(20),
    )
    .await
    .expect("applied");
    assert!(matches!(
        applied,
        CatalogApplyOutcome::Recorded { version: 1, .. }
    ));
    let again = apply_catalog(&store(&state), catalog, CatalogSource::File, now)
        .await
        .expect("applied again");
    assert_eq!(again, CatalogApplyOutcome::Unchanged { version: 1 });
    let period = (now - Duration::days(10), now + Duration::days(20));
    observe_subscription(
        &state,
        SubscriptionStatus::Active,
        period,
        now - Duration::days(10),
    )
    .await;
    let mut increments = Vec::new();
    for i in 0..5 {
        increments.push(increment(
            "cus_usage",
            "30.5",
            now - Duration::days(i),
            &format!("u{i}"),
        ));
    }
    // Before the period: a calendar month (or the previous subscription period) not counted now.
    increments.push(increment(
        "cus_usage",
        "999",
        now - Duration::days(11),
        "before",
    ));
    let (status, body) = send(&state, post_usage(json!({ "increments": increments }))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    caught_up(&state).await;

    let (status, usage) = send(&state, get("/v1/customers/cus_usage/usage?meter=api_calls")).await;
    assert_eq!(status, StatusCode::OK, "{usage}");
    assert_eq!(usage["quantity"], "152.5", "{usage}");
    assert_eq!(usage["overage_quantity"], "52.5", "{usage}");
    // 52.5 x 0.25 = 13.125 cents -> 13.
    assert_eq!(usage["overage_amount"]["minor"], 13, "{usage}");
    assert_eq!(usage["period"]["basis"], "subscription", "{usage}");
    assert_eq!(usage["remaining"], "847.5", "{usage}");
    let (status, missing) = send(&state, get("/v1/customers/cus_usage/usage")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{missing}");

    let (_, sso) = send(&state, get("/v1/customers/cus_usage/entitlements/sso")).await;
    assert_eq!(sso["allowed"], true, "{sso}");
    assert!(
        sso["reason"].as_str().unwrap().contains("price_pro"),
        "{sso}"
    );
    assert!(sso["current_through"].as_i64().unwrap() > 0);
    let (_, all) = send(&state, get("/v1/customers/cus_usage/entitlements")).await;
    assert_eq!(all["limits"]["api_calls"]["used"], "152.5", "{all}");
    assert!(all["features"]["sso"].is_object(), "{all}");

    // past_due keeps entitlements within the grace period, then loses them; canceled loses them.
    observe_subscription(
        &state,
        SubscriptionStatus::PastDue,
        period,
        now - Duration::days(2),
    )
    .await;
    caught_up(&state).await;
    let (_, within) = send(&state, get("/v1/customers/cus_usage/entitlements/sso")).await;
    assert_eq!(within["allowed"], true, "{within}");
    observe_subscription(
        &state,
        SubscriptionStatus::Canceled,
        period,
        now - Duration::hours(1),
    )
    .await;
    caught_up(&state).await;
    let (_, lost) = send(&state, get("/v1/customers/cus_usage/entitlements/sso")).await;
    assert_eq!(lost["allowed"], false, "{lost}");
    assert!(
        lost["reason"].as_str().unwrap().contains("canceled"),
        "{lost}"
    );

    // Replay: the state folded live, batch by batch, equals the one rebuilt from the log.
    let rebuilt = rebuild_from_log(&state.pool).await.expect("rebuilt");
    let live_state = state.entitlements.state().read().unwrap().clone();
    assert_eq!(rebuilt, live_state);
    live.abort();
    database.drop_database().await;
}

#[test]
fn the_example_catalog_parses_and_validates() {
    let catalog = parse_catalog_toml(include_str!("../../docs/catalog.example.toml"))
        .expect("example catalog");
    assert_eq!(catalog.plans.len(), 2);
    assert_eq!(catalog.past_due_grace_days, Some(7));
    let error = parse_catalog_toml("[[plans]]\nfeatures = [\"x\"]\n").unwrap_err();
    assert!(
        error.to_string().contains("neither a price nor a product"),
        "{error}"
    );
}
