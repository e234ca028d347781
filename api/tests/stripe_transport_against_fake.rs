//! The Stripe transport (`api::stripe_transport`) against the wiremock fake of the Stripe API:
//! typed async-stripe requests with a fixed idempotency key, Stripe's error answers kept with
//! their status and `Stripe-Should-Retry`, and the raw call used for list endpoints.

mod support;

use api::stripe_transport::StripeTransport;
use stripe_bridge::StripeCallError;
use stripe_client_core::{IdempotencyKey, RequestStrategy, StripeMethod, StripeRequest};
use support::fake_stripe::{FakeStripe, ScriptedFailure};

fn transport(fake: &FakeStripe) -> StripeTransport {
    StripeTransport::new("sk_test_fake", Some(&fake.uri())).unwrap()
}

fn key(text: &str) -> RequestStrategy {
    RequestStrategy::Idempotent(IdempotencyKey::new(text).unwrap())
}

#[tokio::test]
async fn a_typed_request_is_sent_once_with_its_idempotency_key_and_the_secret_key() {
    let fake = FakeStripe::start().await;
    let stripe = transport(&fake);
    let customer = stripe_core::customer::CreateCustomer::new()
        .description("tally test")
        .customize()
        .request_strategy(key("tally-cmd-1"))
        .send(&stripe)
        .await
        .unwrap();
    assert_eq!(customer.id.as_str(), "cus_fake_1");

    // The same key again is Stripe's idempotent replay: same object, nothing created.
    let again = stripe_core::customer::CreateCustomer::new()
        .description("tally test")
        .customize()
        .request_strategy(key("tally-cmd-1"))
        .send(&stripe)
        .await
        .unwrap();
    assert_eq!(again.id.as_str(), "cus_fake_1");
    let stats = &fake.stats_per_idempotency_key()["tally-cmd-1"];
    assert_eq!(
        (stats.requests, stats.objects_created, stats.replays),
        (2, 1, 1)
    );

    let requests = fake.received_requests().await;
    let first = &requests[0];
    assert_eq!(first.url.path(), "/v1/customers");
    assert_eq!(
        first.headers.get("authorization").unwrap(),
        "Bearer sk_test_fake"
    );
    assert!(first.headers.get("stripe-version").is_some());
    assert_eq!(
        std::str::from_utf8(&first.body).unwrap(),
        "description=tally+test"
    );
}

#[tokio::test]
async fn stripe_errors_keep_status_should_retry_and_the_error_body() {
    let fake = FakeStripe::start().await;
    let stripe = transport(&fake);
    fake.script_failures([
        ScriptedFailure::ServerError,
        ScriptedFailure::RateLimited,
        ScriptedFailure::ResourceMissing,
    ]);
    let mut errors = Vec::new();
    for _ in 0..3 {
        let error = stripe
            .raw(StripeMethod::Post, "/customers", &[("description", "x")])
            .await
            .unwrap_err();
        errors.push(error);
    }
    let summary: Vec<_> = errors
        .iter()
        .map(|error| match error {
            StripeCallError::Status {
                status,
                should_retry,
                ..
            } => (*status, *should_retry, error.is_retryable(), error.code()),
            other => panic!("not a status error: {other:?}"),
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            (500, Some(true), true, "api_error".to_owned()),
            (429, None, true, "rate_limit".to_owned()),
            (400, Some(false), false, "resource_missing".to_owned()),
        ]
    );
    let StripeCallError::Status { body, message, .. } = &errors[2] else {
        unreachable!()
    };
    assert!(body.contains("resource_missing"));
    assert_eq!(
        message.as_deref(),
        Some("No such price: 'price_missing' (fake).")
    );
}

#[tokio::test]
async fn the_raw_call_returns_stripe_json_verbatim_and_encodes_get_params_as_the_query() {
    let fake = FakeStripe::start().await;
    let list = serde_json::json!({
        "object": "list", "url": "/v1/events", "has_more": false,
        "data": [serde_json::from_str::<serde_json::Value>(support::fake_stripe::EVENT_FIXTURE).unwrap()]
    });
    fake.mount_json("GET", "/v1/events", list.clone()).await;
    let bytes = transport(&fake)
        .raw(
            StripeMethod::Get,
            "/events",
            &[("limit", "100"), ("types[]", "customer.created")],
        )
        .await
        .unwrap();
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&bytes).unwrap(),
        list
    );
    let requests = fake.received_requests().await;
    assert_eq!(
        requests[0].url.query(),
        Some("limit=100&types%5B%5D=customer.created")
    );
}

#[tokio::test]
async fn an_unreachable_stripe_is_a_retryable_connection_error() {
    let stripe = StripeTransport::new("sk_test_fake", Some("http://127.0.0.1:9")).unwrap();
    let error = stripe
        .raw::<&str, &str>(StripeMethod::Get, "/customers", &[])
        .await
        .unwrap_err();
    assert!(
        matches!(error, StripeCallError::Connection { .. }),
        "{error:?}"
    );
    assert!(error.is_retryable());
}
