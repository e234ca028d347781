//! The webhook delivery log (`GET /v1/webhooks/deliveries`): every attempt is recorded with its
//! status — received, duplicate, rejected (with its reason and nothing of its body), unparsed —
//! filtered by status and type, paged newest first; bad filters are 400s naming the parameter;
//! `/v1/status` shows the Stripe event type coverage and the delivery counts.

mod support;

use support::router_requests::send;

use api::AppState;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use ledger::store::test_database::TestDatabase;
use serde_json::{json, Value};
use stripe_bridge::inbox_translator::translate_all_pending;
use stripe_bridge::{sign_header, WebhookSecrets};

const SECRET: &str = "whsec_delivery_log";
const CUSTOMER_CREATED: &str = r#"{"id":"evt_log_1","object":"event","api_version":"2026-09-30.endive","created":1735808400,"data":{"object":{"id":"cus_log","object":"customer","created":1735808400}},"livemode":false,"pending_webhooks":1,"request":{"id":null,"idempotency_key":null},"type":"customer.created"}"#;
const PAYMENT_INTENT: &str = r#"{"id":"evt_log_2","object":"event","api_version":"2026-09-30.endive","created":1735808401,"data":{"object":{"id":"pi_log","object":"payment_intent"}},"livemode":false,"pending_webhooks":1,"request":{"id":null,"idempotency_key":null},"type":"payment_intent.succeeded"}"#;
const UNREADABLE_CUSTOMER: &str = r#"{"id":"evt_log_3","object":"event","api_version":"2026-09-30.endive","created":"yesterday","data":{"object":{"object":"customer"}},"livemode":false,"pending_webhooks":1,"request":{"id":null,"idempotency_key":null},"type":"customer.updated"}"#;

fn state(database: &TestDatabase) -> AppState {
    AppState::new(
        database.pool.clone(),
        Some(WebhookSecrets::parse(SECRET).expect("secret")),
    )
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn webhook(body: &str, signature: String) -> Request<Body> {
    Request::post("/webhooks/stripe")
        .header("content-type", "application/json")
        .header("stripe-signature", signature)
        .body(Body::from(body.to_owned()))
        .expect("request")
}

fn get(path: &str) -> Request<Body> {
    Request::get(path).body(Body::empty()).expect("request")
}

async fn deliveries(state: &AppState, query: &str) -> Value {
    let (status, body) = send(state, get(&format!("/v1/webhooks/deliveries{query}"))).await;
    assert_eq!(status, StatusCode::OK, "{query}: {body}");
    body
}

#[tokio::test]
async fn every_attempt_is_logged_with_its_status_and_rejections_keep_nothing_of_the_body() {
    let database = TestDatabase::create().await;
    let state = state(&database);
    let signed_at = now();
    for body in [
        CUSTOMER_CREATED,
        CUSTOMER_CREATED,
        PAYMENT_INTENT,
        UNREADABLE_CUSTOMER,
    ] {
        let (status, _) = send(
            &state,
            webhook(body, sign_header(SECRET, signed_at, body.as_bytes())),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
    }
    let forged = sign_header("whsec_someone_else", signed_at, CUSTOMER_CREATED.as_bytes());
    let (status, _) = send(&state, webhook(CUSTOMER_CREATED, forged)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let all = deliveries(&state, "").await;
    let rows = all["deliveries"].as_array().expect("deliveries");
    let statuses: Vec<&str> = rows
        .iter()
        .map(|row| row["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        statuses,
        ["rejected", "unparsed", "received", "duplicate", "received"],
        "newest first"
    );
    let rejected = &rows[0];
    assert_eq!(rejected["stripe_event_id"], Value::Null);
    assert_eq!(rejected["type"], Value::Null);
    assert!(
        rejected["reason"]
            .as_str()
            .unwrap()
            .starts_with("signature_mismatch: "),
        "{rejected}"
    );
    assert_eq!(rejected["body_bytes"], json!(CUSTOMER_CREATED.len()));
    let signed_at_text = chrono::DateTime::from_timestamp(signed_at, 0)
        .unwrap()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    assert_eq!(rejected["signature_timestamp"], json!(signed_at_text));
    assert_eq!(rows[2]["type"], "payment_intent.succeeded");
    assert!(rows[2]["reason"]
        .as_str()
        .unwrap()
        .contains("is not used by Tally"));
    assert_eq!(rows[3]["stripe_event_id"], "evt_log_1");
    assert_eq!(rows[4]["stripe_event_id"], "evt_log_1");
    assert_eq!(rows[4]["signature_timestamp"], json!(signed_at_text));
    assert_eq!(all["next_before"], Value::Null, "the page was not full");

    let duplicates = deliveries(&state, "?status=duplicate").await;
    assert_eq!(duplicates["deliveries"].as_array().unwrap().len(), 1);
    let customers = deliveries(&state, "?type=customer.created").await;
    assert_eq!(customers["deliveries"].as_array().unwrap().len(), 2);
    let received = deliveries(&state, "?type=customer.created&status=received").await;
    assert_eq!(received["deliveries"].as_array().unwrap().len(), 1);

    // Paging: two rows at a time, newest first, until the last partial page.
    let mut seen = Vec::new();
    let mut query = "?limit=2".to_owned();
    loop {
        let page = deliveries(&state, &query).await;
        for row in page["deliveries"].as_array().unwrap() {
            seen.push(row["delivery_id"].as_i64().unwrap());
        }
        match page["next_before"].as_i64() {
            Some(before) => query = format!("?limit=2&before={before}"),
            None => break,
        }
    }
    let mut expected = seen.clone();
    expected.sort_unstable();
    expected.reverse();
    expected.dedup();
    assert_eq!(seen, expected);
    assert_eq!(seen.len(), 5);

    // The inbox counts are the translator's outcomes, behind the answers.
    translate_all_pending(&state.pool, &state.append_signal)
        .await
        .expect("translate the inbox");
    let (status, body) = send(&state, get("/v1/status")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body["webhook_deliveries"],
        json!({"received": 2, "duplicate": 1, "rejected": 1, "unparsed": 1})
    );
    assert_eq!(
        body["inbox"],
        json!({"translated": 1, "ignored": 1, "unparsed": 1})
    );
    let types = &body["stripe_event_types"];
    assert!(types["translated"]
        .as_array()
        .unwrap()
        .contains(&json!({"type": "credit_note.created", "domain_event": "CreditNoteObserved"})));
    assert!(types["ignored"]
        .as_array()
        .unwrap()
        .iter()
        .any(|row| row["type"] == "checkout.session.completed" && row["reason"].is_string()));
}

#[tokio::test]
async fn bad_filters_are_400s_naming_the_parameter() {
    let database = TestDatabase::create().await;
    let state = state(&database);
    for (query, parameter) in [
        ("?status=delivered", "status"),
        ("?type=", "type"),
        ("?type=invoice%20paid", "type"),
        ("?before=0", "before"),
        ("?before=abc", "before"),
        ("?limit=0", "limit"),
        ("?limit=1001", "limit"),
    ] {
        let (status, body) = send(&state, get(&format!("/v1/webhooks/deliveries{query}"))).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}");
        assert_eq!(body["error"]["code"], "invalid_parameter", "{query}");
        assert_eq!(body["error"]["parameter"], parameter, "{query}");
    }
}
