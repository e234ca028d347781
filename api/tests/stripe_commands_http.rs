//! Issue 5, the HTTP edge of outbound commands: `POST /v1/commands/<name>` and
//! `GET /v1/commands/{id}` behind API keys (created, scoped, revoked), executed by the outbox
//! worker against the wiremock fake of Stripe, and linked to their webhook echoes through
//! `request.idempotency_key`.

mod support;

use support::router_requests::send;

use std::time::Duration;

use api::api_keys::{create_api_key, ApiKeyScope};
use api::stripe_transport::StripeTransport;
use api::AppState;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use ledger::store::test_database::TestDatabase;
use ledger::store::{api_keys, read, EventStore};
use serde_json::{json, Value};
use stripe_bridge::inbox_translator::translate_all_pending;
use stripe_bridge::outbox::{OutboxOptions, OutboxWorker, RetryPolicy};
use stripe_bridge::{sign_header, WebhookSecrets};
use support::fake_stripe::FakeStripe;

const SECRET: &str = "whsec_commands_test";

/// A real Stripe Event envelope (from Stripe's OpenAPI fixtures; see
/// stripe-bridge/tests/fixtures/README.md).
const SUBSCRIPTION_CREATED: &str =
    include_str!("fixtures/stripe-webhooks/customer.subscription.created.json");

fn state(database: &TestDatabase) -> AppState {
    AppState::new(
        database.pool.clone(),
        Some(WebhookSecrets::parse(SECRET).expect("secret")),
    )
}

/// A fresh database, its state, and one API key of `scope` (keep the database alive).
async fn with_key(scope: ApiKeyScope) -> (TestDatabase, AppState, String) {
    let database = TestDatabase::create().await;
    let state = state(&database);
    let key = create_api_key(&state.pool, scope).await.unwrap().key;
    (database, state, key)
}

fn post(path: &str, key: Option<&str>, body: &Value) -> Request<Body> {
    let mut request = Request::post(path).header("content-type", "application/json");
    if let Some(key) = key {
        request = request.header("authorization", format!("Bearer {key}"));
    }
    request.body(Body::from(body.to_string())).expect("request")
}

fn get(path: &str, key: Option<&str>) -> Request<Body> {
    let mut request = Request::get(path);
    if let Some(key) = key {
        request = request.header("authorization", format!("Bearer {key}"));
    }
    request.body(Body::empty()).expect("request")
}

fn subscription_command() -> Value {
    json!({"customer": "cus_QXg1o8vcGmoR32", "price": "price_basic", "quantity": 2,
           "trial_period_days": 14, "coupon": null})
}

/// Events in the log (this test's own database; positions start at 1 and nothing here rolls
/// back, so the head is the count). Not the gated feed: another test's open writer may hold
/// that back for a moment.
async fn count_events(state: &AppState) -> i64 {
    read::log_head(&state.pool).await.expect("log head")
}

#[tokio::test]
async fn commands_need_a_key_of_the_right_scope_and_other_routes_once_keys_exist() {
    let database = TestDatabase::create().await;
    let state = state(&database);
    let path = "/v1/commands/create_subscription";

    // No key exists yet: reads are open, commands are not.
    let (status, _) = send(&state, get("/v1/status", None)).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = send(&state, post(path, None, &subscription_command())).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["error"]["code"], "missing_api_key");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("tally apikey create"));

    let read_key = create_api_key(&state.pool, ApiKeyScope::Read)
        .await
        .unwrap();
    let write_key = create_api_key(&state.pool, ApiKeyScope::Write)
        .await
        .unwrap();
    state.api_keys.invalidate();

    // Keys exist: every /v1 route needs one; the webhook endpoint and /health never do.
    let (status, body) = send(&state, get("/v1/status", None)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    let (status, _) = send(&state, get("/v1/status", Some(&read_key.key))).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = send(&state, get("/health", None)).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = send(
        &state,
        post("/v1/usage", Some(&read_key.key), &json!({"increments": []})),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");

    // A read key cannot send a command; a forged or unknown key is refused.
    let (status, body) = send(
        &state,
        post(path, Some(&read_key.key), &subscription_command()),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["error"]["code"], "insufficient_scope");
    let (kept, last) = write_key.key.split_at(write_key.key.len() - 1);
    let forged = format!("{kept}{}", if last == "0" { "1" } else { "0" });
    let (status, body) = send(&state, post(path, Some(&forged), &subscription_command())).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["error"]["code"], "invalid_api_key");
    assert_eq!(
        count_events(&state).await,
        0,
        "refused requests store nothing"
    );

    // A write key can; the command is an event before the 202.
    let (status, body) = send(
        &state,
        post(path, Some(&write_key.key), &subscription_command()),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(body["status"], "pending");
    assert_eq!(count_events(&state).await, 1);
    let url = body["url"].as_str().unwrap().to_owned();
    let (status, command) = send(&state, get(&url, Some(&read_key.key))).await;
    assert_eq!(status, StatusCode::OK, "{command}");
    assert_eq!(command["status"], "pending");
    assert_eq!(
        command["requested_by"],
        json!(write_key.stored.id.to_string())
    );
    assert_eq!(command["command"]["quantity"], 2);

    // Revoked: refused once the gate reads the keys again (at once here, after invalidate).
    assert!(api_keys::revoke(&state.pool, write_key.stored.id)
        .await
        .unwrap());
    state.api_keys.invalidate();
    let (status, _) = send(
        &state,
        post(path, Some(&write_key.key), &subscription_command()),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn bad_commands_are_refused_naming_the_problem_and_store_nothing() {
    let (_database, state, key) = with_key(ApiKeyScope::Admin).await;
    let cases = [
        ("/v1/commands/launch_rockets", json!({}), "name"),
        (
            "/v1/commands/create_subscription",
            json!({"customer": "cus_1"}),
            "body",
        ),
        (
            "/v1/commands/create_subscription",
            json!({"customer": "cus_1", "price": "price_1", "quantity": 0}),
            "body",
        ),
        (
            "/v1/commands/change_subscription_item",
            json!({"subscription_item": "si_1", "proration_behavior": "none"}),
            "body",
        ),
        (
            "/v1/commands/cancel_subscription",
            json!({"subscription": "sub_1", "at_period_end": "soon"}),
            "body",
        ),
    ];
    for (path, body, parameter) in cases {
        let (status, answer) = send(&state, post(path, Some(&key), &body)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path} {body}: {answer}");
        assert_eq!(answer["error"]["parameter"], parameter, "{answer}");
    }
    assert_eq!(count_events(&state).await, 0);
}

#[tokio::test]
async fn a_retried_post_with_an_idempotency_key_names_the_same_command() {
    let (_database, state, key) = with_key(ApiKeyScope::Write).await;
    let request = |body: &Value| {
        let mut request = post("/v1/commands/cancel_subscription", Some(&key), body);
        request
            .headers_mut()
            .insert("idempotency-key", "cancel-sub_1-2026-12".parse().unwrap());
        request
    };
    let body = json!({"subscription": "sub_1", "at_period_end": true});
    let (status, first) = send(&state, request(&body)).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{first}");
    let (status, again) = send(&state, request(&body)).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["command_id"], first["command_id"]);
    assert_eq!(count_events(&state).await, 1, "the retry wrote nothing");
    let (status, reused) = send(
        &state,
        request(&json!({"subscription": "sub_1", "at_period_end": false})),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{reused}");
    assert_eq!(reused["error"]["code"], "idempotency_key_reused");
    assert_eq!(count_events(&state).await, 1);
}

#[tokio::test]
async fn a_command_is_executed_once_and_linked_to_its_webhook_echo() {
    let (_database, state, key) = with_key(ApiKeyScope::Write).await;
    let (status, accepted) = send(
        &state,
        post(
            "/v1/commands/create_subscription",
            Some(&key),
            &subscription_command(),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{accepted}");
    let command_id = accepted["command_id"].as_str().unwrap().to_owned();
    let idempotency_key = accepted["stripe_idempotency_key"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(idempotency_key, format!("tally-cmd-{command_id}"));

    // The outbox worker sends it to the fake Stripe.
    let fake = FakeStripe::start().await;
    let transport = StripeTransport::new("sk_test_fake", Some(&fake.uri())).unwrap();
    let options = OutboxOptions {
        poll_interval: Duration::from_millis(20),
        retry: RetryPolicy {
            base_delay: Duration::from_millis(5),
            max_delay: Duration::from_millis(20),
            rate_limited_min_delay: Duration::from_millis(5),
            max_attempts: 5,
        },
        ..OutboxOptions::default()
    };
    let store = EventStore::with_signal(state.pool.clone(), state.append_signal.clone());
    let worker = OutboxWorker::new(store, transport, options);
    let url = format!("/v1/commands/{command_id}");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let command = loop {
        worker.run_pass().await.unwrap();
        let (_, command) = send(&state, get(&url, Some(&key))).await;
        if command["status"] != "pending" {
            break command;
        }
        assert!(tokio::time::Instant::now() < deadline, "{command}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(command["status"], "succeeded", "{command}");
    let subscription = command["outcome"]["stripe_object_id"].as_str().unwrap();
    assert!(subscription.starts_with("sub_"), "{command}");
    assert_eq!(command["attempts"], 1);
    assert_eq!(
        fake.stats_per_idempotency_key()[&idempotency_key].requests,
        1
    );

    // Stripe's webhook for the request carries the key back: the command gains its echo.
    let mut event: Value = serde_json::from_str(SUBSCRIPTION_CREATED).unwrap();
    event["id"] = json!("evt_echo_of_tally_command");
    event["created"] = json!(chrono::Utc::now().timestamp());
    event["request"] = json!({"id": "req_echo", "idempotency_key": idempotency_key});
    let body = event.to_string();
    let signature = sign_header(SECRET, chrono::Utc::now().timestamp(), body.as_bytes());
    let webhook = Request::post("/webhooks/stripe")
        .header("content-type", "application/json")
        .header("stripe-signature", signature)
        .body(Body::from(body))
        .unwrap();
    let (status, received) = send(&state, webhook).await;
    assert_eq!(status, StatusCode::OK, "{received}");
    assert_eq!(received["status"], "received", "{received}");
    translate_all_pending(&state.pool, &state.append_signal)
        .await
        .expect("translate the inbox");

    let (_, command) = send(&state, get(&url, Some(&key))).await;
    let echoes = command["echoes"].as_array().unwrap();
    assert_eq!(echoes.len(), 1, "{command}");
    assert_eq!(echoes[0]["stripe_event_id"], "evt_echo_of_tally_command");
    assert_eq!(
        echoes[0]["stripe_event_type"],
        "customer.subscription.created"
    );
    // The subscription's own event is correlated with the command.
    let stream = read::read_stream(&state.pool, "subscription-sub_1Pgc6rB7WZ01zgkWNy0Cn5nw", 1)
        .await
        .unwrap();
    let observed = stream.first().expect("the subscription was translated");
    assert_eq!(
        observed.metadata.correlation_id.map(|id| id.to_string()),
        Some(command_id.clone())
    );
    // Unknown ids are 404; a malformed id names the parameter.
    let (status, _) = send(
        &state,
        get(
            "/v1/commands/0190f5c4-8d5e-7b1a-9c3e-2f4a6b8c0d1e",
            Some(&key),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, body) = send(&state, get("/v1/commands/nope", Some(&key))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["parameter"], "id");
}
