//! An HTTP fake of the Stripe API (wiremock) for tests: answers with real Stripe response bodies
//! (copied from stripe/openapi `fixtures3.json` into `api/tests/fixtures/stripe-api/`), behaves
//! like Stripe's idempotency layer (a repeated `Idempotency-Key` replays the first 2xx answer and
//! creates nothing), can simulate an outage (scripted 500s and 429s), and counts requests and
//! created objects per `Idempotency-Key`.
//!
//! Use: `let fake = FakeStripe::start().await;` then point the transport at `fake.uri()`
//! (`StripeTransport::new("sk_test_fake", Some(&fake.uri()))` or `STRIPE_API_BASE`). Tests that
//! need other endpoints (list calls for the backfill) use [`FakeStripe::mount_json`] or mount
//! their own mocks on `fake.server()`: the Billing catch-all has the lowest wiremock priority.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use serde_json::Value;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// Stripe's example `customer` object (fixtures3.json `resources.customer`).
pub const CUSTOMER_FIXTURE: &str = include_str!("../fixtures/stripe-api/customer.json");
/// Stripe's example `subscription` object.
pub const SUBSCRIPTION_FIXTURE: &str = include_str!("../fixtures/stripe-api/subscription.json");
/// Stripe's example `subscription_item` object.
pub const SUBSCRIPTION_ITEM_FIXTURE: &str =
    include_str!("../fixtures/stripe-api/subscription_item.json");
/// Stripe's example `invoiceitem` object.
pub const INVOICEITEM_FIXTURE: &str = include_str!("../fixtures/stripe-api/invoiceitem.json");
/// Stripe's example `billing.meter_event` object.
pub const METER_EVENT_FIXTURE: &str =
    include_str!("../fixtures/stripe-api/billing.meter_event.json");
/// Stripe's example `event` object (a `plan.created` envelope).
pub const EVENT_FIXTURE: &str = include_str!("../fixtures/stripe-api/event.json");

/// One scripted failure answered instead of the real response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScriptedFailure {
    /// HTTP 500 `api_error`, with `Stripe-Should-Retry: true`.
    ServerError,
    /// HTTP 429 `rate_limit` (no `Stripe-Should-Retry` header, as Stripe sends it).
    RateLimited,
    /// HTTP 400 `invalid_request_error` `resource_missing`, with `Stripe-Should-Retry: false`.
    ResourceMissing,
}

/// What the fake saw for one `Idempotency-Key` (or for requests without one, key `""`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyStats {
    /// Every request received with this key.
    pub requests: usize,
    /// Requests answered with a scripted failure.
    pub failures: usize,
    /// Objects created (0 or 1: a later success with the same key is an idempotent replay).
    pub objects_created: usize,
    /// Successful answers that replayed the first one.
    pub replays: usize,
}

#[derive(Default)]
struct FakeState {
    script: VecDeque<ScriptedFailure>,
    stats: HashMap<String, KeyStats>,
    /// The first 2xx answer per key, replayed for later requests with the same key.
    answered: HashMap<String, (u16, Value)>,
    created: usize,
}

/// The fake Stripe API. Dropping it stops the server.
pub struct FakeStripe {
    server: MockServer,
    state: Arc<Mutex<FakeState>>,
}

impl FakeStripe {
    /// Starts the fake on a random local port with the Billing endpoints Tally calls:
    /// `POST /v1/customers`, `POST /v1/subscriptions`, `POST|DELETE /v1/subscriptions/{id}`,
    /// `POST /v1/subscriptions/{id}/resume`, `POST /v1/subscription_items/{id}`,
    /// `POST /v1/invoiceitems`, `POST /v1/billing/meter_events`; anything else is a 404 in
    /// Stripe's error shape.
    pub async fn start() -> Self {
        let server = MockServer::start().await;
        let state = Arc::new(Mutex::new(FakeState::default()));
        Mock::given(wiremock::matchers::any())
            .respond_with(BillingResponder {
                state: state.clone(),
            })
            .with_priority(u8::MAX)
            .mount(&server)
            .await;
        Self { server, state }
    }

    /// The base URL to use as `STRIPE_API_BASE`, e.g. `http://127.0.0.1:41234`.
    pub fn uri(&self) -> String {
        self.server.uri()
    }

    /// The wiremock server, to mount more mocks (they take priority over the catch-all).
    pub fn server(&self) -> &MockServer {
        &self.server
    }

    /// Mounts `GET|POST|DELETE {api_path}` (e.g. `"/v1/events"`) answering 200 with `body`,
    /// ahead of the Billing endpoints.
    pub async fn mount_json(&self, http_method: &str, api_path: &str, body: Value) {
        Mock::given(method(http_method))
            .and(path(api_path))
            .respond_with(ResponseTemplate::new(200).set_body_json(body))
            .with_priority(1)
            .mount(&self.server)
            .await;
    }

    /// Answers the next requests (whatever their key) with these failures, in order, before
    /// answering normally again.
    pub fn script_failures(&self, failures: impl IntoIterator<Item = ScriptedFailure>) {
        self.state.lock().unwrap().script.extend(failures);
    }

    /// What the fake saw per `Idempotency-Key`.
    pub fn stats_per_idempotency_key(&self) -> HashMap<String, KeyStats> {
        self.state.lock().unwrap().stats.clone()
    }

    /// Every request received so far (method, path, headers, body).
    pub async fn received_requests(&self) -> Vec<Request> {
        self.server.received_requests().await.unwrap_or_default()
    }
}

/// Stripe's error body: `{"error": {"type", "code", "message"}}`.
pub fn stripe_error_body(error_type: &str, code: Option<&str>, message: &str) -> Value {
    let mut error = serde_json::json!({ "type": error_type, "message": message });
    if let Some(code) = code {
        error["code"] = Value::String(code.to_owned());
    }
    serde_json::json!({ "error": error })
}

struct BillingResponder {
    state: Arc<Mutex<FakeState>>,
}

impl Respond for BillingResponder {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let key = request
            .headers
            .get("idempotency-key")
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let mut state = self.state.lock().unwrap();
        state.stats.entry(key.clone()).or_default().requests += 1;
        if let Some(failure) = state.script.pop_front() {
            state.stats.get_mut(&key).unwrap().failures += 1;
            return failure_response(failure);
        }
        if !key.is_empty() {
            if let Some((status, body)) = state.answered.get(&key).cloned() {
                state.stats.get_mut(&key).unwrap().replays += 1;
                return ResponseTemplate::new(status)
                    .set_body_json(body)
                    .insert_header("Idempotent-Replayed", "true");
            }
        }
        let form = parse_form(&request.body);
        let sequence = state.created + 1;
        let Some(body) =
            billing_answer(request.method.as_str(), request.url.path(), &form, sequence)
        else {
            return ResponseTemplate::new(404).set_body_json(stripe_error_body(
                "invalid_request_error",
                None,
                &format!(
                    "Unrecognized request URL ({} {}).",
                    request.method,
                    request.url.path()
                ),
            ));
        };
        state.created = sequence;
        state.stats.get_mut(&key).unwrap().objects_created += 1;
        if !key.is_empty() {
            state.answered.insert(key, (200, body.clone()));
        }
        ResponseTemplate::new(200).set_body_json(body)
    }
}

fn failure_response(failure: ScriptedFailure) -> ResponseTemplate {
    match failure {
        ScriptedFailure::ServerError => ResponseTemplate::new(500)
            .insert_header("Stripe-Should-Retry", "true")
            .set_body_json(stripe_error_body(
                "api_error",
                None,
                "An unknown error occurred (fake outage).",
            )),
        ScriptedFailure::RateLimited => {
            ResponseTemplate::new(429).set_body_json(stripe_error_body(
                "invalid_request_error",
                Some("rate_limit"),
                "Too many requests hit the API too quickly (fake).",
            ))
        }
        ScriptedFailure::ResourceMissing => ResponseTemplate::new(400)
            .insert_header("Stripe-Should-Retry", "false")
            .set_body_json(stripe_error_body(
                "invalid_request_error",
                Some("resource_missing"),
                "No such price: 'price_missing' (fake).",
            )),
    }
}

/// Decodes an `application/x-www-form-urlencoded` body into (key, value) pairs.
pub fn parse_form(body: &[u8]) -> Vec<(String, String)> {
    fn decode(text: &str) -> String {
        let bytes = text.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut index = 0;
        while index < bytes.len() {
            match bytes[index] {
                b'+' => out.push(b' '),
                b'%' if index + 2 < bytes.len() => {
                    let hex = std::str::from_utf8(&bytes[index + 1..index + 3]).unwrap_or("");
                    match u8::from_str_radix(hex, 16) {
                        Ok(byte) => {
                            out.push(byte);
                            index += 2;
                        }
                        Err(_) => out.push(b'%'),
                    }
                }
                byte => out.push(byte),
            }
            index += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    }
    let text = String::from_utf8_lossy(body);
    text.split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| match pair.split_once('=') {
            Some((key, value)) => (decode(key), decode(value)),
            None => (decode(pair), String::new()),
        })
        .collect()
}

fn form_value<'a>(form: &'a [(String, String)], key: &str) -> Option<&'a str> {
    form.iter()
        .find(|(name, _)| name == key)
        .map(|(_, value)| value.as_str())
}

fn fixture(text: &str) -> Value {
    serde_json::from_str(text).expect("fixture is JSON")
}

/// The 200 answer for a Billing endpoint: the fixture object with its `id` made unique
/// (`<prefix>_fake_<sequence>`) or set to the path's id, and the request's key fields copied in.
fn billing_answer(
    http_method: &str,
    api_path: &str,
    form: &[(String, String)],
    sequence: usize,
) -> Option<Value> {
    let segments: Vec<&str> = api_path.trim_start_matches('/').split('/').collect();
    let mut body = match (http_method, segments.as_slice()) {
        ("POST", ["v1", "customers"]) => {
            let mut body = fixture(CUSTOMER_FIXTURE);
            body["id"] = Value::String(format!("cus_fake_{sequence}"));
            body
        }
        ("POST", ["v1", "subscriptions"]) => {
            let mut body = fixture(SUBSCRIPTION_FIXTURE);
            body["id"] = Value::String(format!("sub_fake_{sequence}"));
            if let Some(customer) = form_value(form, "customer") {
                body["customer"] = Value::String(customer.to_owned());
            }
            body
        }
        ("POST", ["v1", "subscriptions", id]) => {
            let mut body = fixture(SUBSCRIPTION_FIXTURE);
            body["id"] = Value::String((*id).to_owned());
            if let Some(flag) = form_value(form, "cancel_at_period_end") {
                body["cancel_at_period_end"] = Value::Bool(flag == "true");
            }
            body
        }
        ("DELETE", ["v1", "subscriptions", id]) => {
            let mut body = fixture(SUBSCRIPTION_FIXTURE);
            body["id"] = Value::String((*id).to_owned());
            body["status"] = Value::String("canceled".to_owned());
            body
        }
        ("POST", ["v1", "subscriptions", id, "resume"]) => {
            let mut body = fixture(SUBSCRIPTION_FIXTURE);
            body["id"] = Value::String((*id).to_owned());
            body["status"] = Value::String("active".to_owned());
            body
        }
        ("POST", ["v1", "subscription_items", id]) => {
            let mut body = fixture(SUBSCRIPTION_ITEM_FIXTURE);
            body["id"] = Value::String((*id).to_owned());
            if let Some(quantity) = form_value(form, "quantity").and_then(|q| q.parse::<u64>().ok())
            {
                body["quantity"] = Value::from(quantity);
            }
            body
        }
        ("POST", ["v1", "invoiceitems"]) => {
            let mut body = fixture(INVOICEITEM_FIXTURE);
            body["id"] = Value::String(format!("ii_fake_{sequence}"));
            if let Some(customer) = form_value(form, "customer") {
                body["customer"] = Value::String(customer.to_owned());
            }
            body
        }
        ("POST", ["v1", "billing", "meter_events"]) => {
            let mut body = fixture(METER_EVENT_FIXTURE);
            if let Some(identifier) = form_value(form, "identifier") {
                body["identifier"] = Value::String(identifier.to_owned());
            }
            if let Some(event_name) = form_value(form, "event_name") {
                body["event_name"] = Value::String(event_name.to_owned());
            }
            body
        }
        _ => return None,
    };
    if body.get("object").is_none() {
        body["object"] = Value::String("unknown".to_owned());
    }
    Some(body)
}
