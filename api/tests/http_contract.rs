//! The HTTP contract: webhook rejections store nothing, accepted bodies are kept and counted,
//! invalid parameters name the parameter.

mod support;

use support::router_requests::send;

use api::AppState;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use ledger::store::test_database::TestDatabase;
use projections::projector::catch_up_all;
use serde_json::Value;
use stripe_bridge::inbox_translator::translate_all_pending;
use stripe_bridge::{sign_header, WebhookSecrets};

const OLD_SECRET: &str = "whsec_old_secret";
const NEW_SECRET: &str = "whsec_new_secret";
const CUSTOMER_CREATED: &str = r#"{"id":"evt_contract_1","object":"event","api_version":"2026-09-30.endive","created":1735808400,"data":{"object":{"id":"cus_contract","object":"customer","created":1735808400}},"livemode":false,"pending_webhooks":1,"request":{"id":null,"idempotency_key":null},"type":"customer.created"}"#;

fn state(database: &TestDatabase) -> AppState {
    AppState::new(
        database.pool.clone(),
        Some(WebhookSecrets::parse(&format!("{OLD_SECRET}, {NEW_SECRET}")).expect("secrets")),
    )
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn webhook(body: impl Into<Vec<u8>>, signature: Option<String>) -> Request<Body> {
    let mut request = Request::post("/webhooks/stripe").header("content-type", "application/json");
    if let Some(signature) = signature {
        request = request.header("stripe-signature", signature);
    }
    request.body(Body::from(body.into())).expect("request")
}

fn get(path: &str) -> Request<Body> {
    Request::get(path).body(Body::empty()).expect("request")
}

/// The inbox outcome counts and the log head from `/v1/status`, once the inbox translator has
/// translated every kept body (it runs behind the webhook answer).
async fn inbox_and_head(state: &AppState) -> (Value, i64) {
    translate_all_pending(&state.pool, &state.append_signal)
        .await
        .expect("translate the inbox");
    let (status, body) = send(state, get("/v1/status")).await;
    assert_eq!(status, StatusCode::OK);
    (
        body["inbox"].clone(),
        body["log_head"].as_i64().expect("log_head"),
    )
}

#[tokio::test]
async fn rejected_webhooks_answer_400_with_a_code_and_store_nothing() {
    let database = TestDatabase::create().await;
    let state = state(&database);
    let body = CUSTOMER_CREATED.as_bytes();
    let cases = [
        (None, "missing_signature"),
        (Some("garbage".to_owned()), "malformed_signature"),
        (
            Some(sign_header("whsec_someone_else", now(), body)),
            "signature_mismatch",
        ),
        (
            Some(sign_header(NEW_SECRET, now() - 301, body)),
            "timestamp_too_old",
        ),
        (
            Some(sign_header(NEW_SECRET, now(), body).replace("v1=", "v0=")),
            "no_v1_signature",
        ),
    ];
    for (signature, code) in cases {
        let (status, answer) = send(&state, webhook(body, signature)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{code}");
        assert_eq!(answer["error"]["code"], code);
    }
    let (inbox, head) = inbox_and_head(&state).await;
    assert_eq!(head, 0);
    assert_eq!(
        inbox,
        serde_json::json!({"translated": 0, "ignored": 0, "unparsed": 0})
    );
}

#[tokio::test]
async fn a_body_over_one_mebibyte_is_413_and_stores_nothing() {
    let database = TestDatabase::create().await;
    let state = state(&database);
    let body = vec![b' '; 1024 * 1024 + 1];
    let signature = sign_header(NEW_SECRET, now(), &body);
    let (status, answer) = send(&state, webhook(body, Some(signature))).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(answer["error"]["code"], "payload_too_large");
    assert_eq!(inbox_and_head(&state).await.1, 0);
}

#[tokio::test]
async fn verified_webhooks_are_kept_once_under_either_rotated_secret() {
    let database = TestDatabase::create().await;
    let state = state(&database);
    let body = CUSTOMER_CREATED.as_bytes();
    let (status, first) = send(
        &state,
        webhook(body, Some(sign_header(OLD_SECRET, now(), body))),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(first["status"], "received");
    assert_eq!(first["id"], "evt_contract_1");
    assert_eq!(first["type"], "customer.created");
    let (status, again) = send(
        &state,
        webhook(body, Some(sign_header(NEW_SECRET, now(), body))),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again["status"], "duplicate");
    // Kept, not translated yet (no translator runs behind this router): the queue shows it.
    let (_, queued) = send(&state, get("/v1/status")).await;
    assert_eq!(queued["inbox_translator"]["pending"], 1, "{queued}");
    assert!(queued["inbox_translator"]["oldest_pending_age_seconds"].as_f64() >= Some(0.0));
    assert_eq!(queued["log_head"], 0, "translation follows the answer");
    let (inbox, head) = inbox_and_head(&state).await;
    assert_eq!(head, 1);
    assert_eq!(inbox["translated"], 1);

    catch_up_all(&state.pool, &state.projectors)
        .await
        .expect("catch up");
    let (status, trail) = send(&state, get("/v1/customers/cus_contract/events")).await;
    assert_eq!(status, StatusCode::OK);
    let events = trail["events"].as_array().expect("events");
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["stripe_event_id"], "evt_contract_1");
    assert_eq!(events[0]["effective_at"], "2025-01-02T09:00:00Z");
    let (_, status_body) = send(&state, get("/v1/status")).await;
    assert_eq!(
        status_body["inbox_translator"]["pending"], 0,
        "{status_body}"
    );
    assert_eq!(
        status_body["inbox_translator"]["oldest_pending_received_at"],
        Value::Null
    );
    for projection in status_body["projections"].as_array().expect("projections") {
        assert_eq!(projection["position"], 1, "{projection}");
    }
}

#[tokio::test]
async fn verified_but_unusable_bodies_are_accepted_kept_and_counted() {
    let database = TestDatabase::create().await;
    let state = state(&database);
    let unused = CUSTOMER_CREATED
        .replace("evt_contract_1", "evt_contract_2")
        .replace("customer.created", "payment_intent.created");
    let unreadable = "{\"id\": \"evt_contract_3\", \"object\": \"event\", \"type\": \"customer.subscription.created\"";
    // The answer reads only the envelope: an unused type is received and says why it is
    // ignored; an unreadable envelope is kept all the same and answered as unparsed, with why.
    for (body, expected) in [
        (unused.as_str(), "received"),
        (unreadable, "unparsed"),
        ("not json", "unparsed"),
    ] {
        let signature = sign_header(NEW_SECRET, now(), body.as_bytes());
        let (status, answer) = send(&state, webhook(body, Some(signature))).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(answer["status"], expected, "{body}");
        assert!(answer["reason"].is_string(), "{answer}");
    }
    let (inbox, head) = inbox_and_head(&state).await;
    assert_eq!(head, 0, "nothing translated");
    assert_eq!(
        inbox,
        serde_json::json!({"translated": 0, "ignored": 1, "unparsed": 2})
    );
}

#[tokio::test]
async fn invalid_report_parameters_are_400_naming_the_parameter() {
    let database = TestDatabase::create().await;
    let state = state(&database);
    for (path, parameter) in [
        ("/v1/reports/mrr?from=2025-01&to=2025-02", "currency"),
        (
            "/v1/reports/mrr?currency=dollars&from=2025-01&to=2025-02",
            "currency",
        ),
        (
            "/v1/reports/churn?currency=usd&from=2025-13&to=2025-12",
            "from",
        ),
        ("/v1/reports/cash?currency=usd&from=2025-01", "to"),
        (
            "/v1/reports/cash?currency=usd&from=2025-05&to=2025-01",
            "to",
        ),
        ("/v1/customers/cus_x/mrr?at=yesterday", "at"),
    ] {
        let (status, answer) = send(&state, get(path)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}");
        assert_eq!(answer["error"]["code"], "invalid_parameter", "{path}");
        assert_eq!(answer["error"]["parameter"], parameter, "{path}");
    }
}

#[tokio::test]
async fn empty_months_are_listed_and_unknown_customers_are_404() {
    let database = TestDatabase::create().await;
    let state = state(&database);
    let (status, report) = send(
        &state,
        get("/v1/reports/mrr?currency=USD&from=2024-11&to=2025-02"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(report["currency"], "usd");
    let months: Vec<&str> = report["months"]
        .as_array()
        .expect("months")
        .iter()
        .map(|m| m["month"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(months, ["2024-11", "2024-12", "2025-01", "2025-02"]);
    assert_eq!(report["months"][0]["close"], 0);
    let (status, churn) = send(
        &state,
        get("/v1/reports/churn?currency=usd&from=2025-01&to=2025-01"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(churn["months"][0]["arpa"], Value::Null);
    for path in [
        "/v1/customers/cus_nobody/mrr",
        "/v1/customers/cus_nobody/events",
    ] {
        let (status, answer) = send(&state, get(path)).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(answer["error"]["code"], "not_found");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn identical_deliveries_racing_each_other_are_kept_once() {
    let database = TestDatabase::create().await;
    let state = state(&database);
    let body = CUSTOMER_CREATED.as_bytes();
    let deliveries: Vec<_> = (0..8)
        .map(|_| {
            let state = state.clone();
            tokio::spawn(async move {
                let signature = sign_header(NEW_SECRET, now(), body);
                send(&state, webhook(body, Some(signature))).await
            })
        })
        .collect();
    let mut outcomes = Vec::new();
    for delivery in deliveries {
        let (status, answer) = delivery.await.expect("delivery task");
        assert_eq!(status, StatusCode::OK);
        outcomes.push(answer["status"].as_str().unwrap_or("").to_owned());
    }
    outcomes.sort();
    let received = outcomes
        .iter()
        .filter(|outcome| *outcome == "received")
        .count();
    assert_eq!(received, 1, "{outcomes:?}");
    assert_eq!(
        outcomes
            .iter()
            .filter(|outcome| *outcome == "duplicate")
            .count(),
        7,
        "{outcomes:?}"
    );
    let (inbox, head) = inbox_and_head(&state).await;
    assert_eq!((head, inbox["translated"].as_i64()), (1, Some(1)));
}

#[tokio::test]
async fn a_projector_stops_at_an_event_it_cannot_read_and_status_names_it() {
    let database = TestDatabase::create().await;
    let state = state(&database);
    let unreadable = ledger::store::NewEvent {
        event_id: uuid::Uuid::now_v7(),
        event_type: "NotADomainEvent".to_owned(),
        schema_version: 1,
        payload: serde_json::json!({}),
        metadata: ledger::domain::EventMetadata {
            source: "test".to_owned(),
            actor: ledger::domain::Actor::System,
            stripe_event_id: None,
            stripe_api_version: None,
            causation_id: None,
            correlation_id: None,
            stripe_fetch: None,
        },
        effective_at: chrono::Utc::now(),
    };
    ledger::store::EventStore::new(state.pool.clone())
        .append(
            "test-stream",
            ledger::store::ExpectedVersion::Any,
            &[unreadable],
        )
        .await
        .expect("append");
    let stopped = catch_up_all(&state.pool, &state.projectors).await;
    assert!(stopped.is_err(), "the projector must stop, not skip");

    let (_, status) = send(&state, get("/v1/status")).await;
    assert_eq!(status["log_head"], 1);
    // `customer_events` reads every event type, so it meets the unreadable event and stops;
    // `mrr` and `cash` declare the types they read (issue 4's type-filtered reads) and never
    // see it.
    let projections = status["projections"].as_array().expect("projections");
    let audit = projections
        .iter()
        .find(|projection| projection["name"] == "customer_events")
        .expect("customer_events projection");
    assert_eq!(
        audit["position"], 0,
        "nothing applied past the unreadable event"
    );
    assert_eq!(audit["error"]["global_position"], 1, "{status}");
    let message = audit["error"]["message"].as_str().unwrap_or("");
    assert!(message.contains("NotADomainEvent"), "{message}");
}
