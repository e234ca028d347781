//! Audit, time travel, the public global feed and operations figures, over HTTP on a real
//! PostgreSQL: `GET /v1/customers/{id}/events?as_of=`, `GET /v1/events`, the lag and oldest
//! writing transaction of `GET /v1/status`, and `GET /metrics`.

mod support;

use support::router_requests::{send, send_for_text as send_raw};

use api::AppState;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use ledger::store::test_database::TestDatabase;
use projections::projector::catch_up_all;
use serde_json::Value;
use std::collections::BTreeSet;
use std::time::Duration;
use stripe_bridge::inbox_translator::translate_all_pending;
use stripe_bridge::{sign_header, WebhookSecrets};
use tokio::sync::RwLock;

const SECRET: &str = "whsec_audit_secret";

/// A writing transaction held open holds back the gated feed of the whole cluster, so the one
/// test that does it runs alone (write lock); the others that need the feed to move take a
/// read lock.
static FEED_GATE: RwLock<()> = RwLock::const_new(());

fn state(database: &TestDatabase) -> AppState {
    AppState::new(
        database.pool.clone(),
        Some(WebhookSecrets::parse(SECRET).expect("secret")),
    )
}

/// A signed-by-Stripe customer Event body.
fn customer_event(event_id: &str, event_type: &str, customer: &str, created: i64) -> String {
    format!(
        r#"{{"id":"{event_id}","object":"event","api_version":"2026-09-30.endive","created":{created},"data":{{"object":{{"id":"{customer}","object":"customer","created":1735808400}}}},"livemode":false,"pending_webhooks":1,"request":{{"id":null,"idempotency_key":null}},"type":"{event_type}"}}"#
    )
}

fn get(path: &str) -> Request<Body> {
    Request::get(path).body(Body::empty()).expect("request")
}

async fn get_ok(state: &AppState, path: &str) -> Value {
    let (status, body) = send(state, get(path)).await;
    assert_eq!(status, StatusCode::OK, "{path}: {body}");
    body
}

/// Posts a signed webhook, then translates the inbox (what a running server's translator does
/// within milliseconds of the answer) so that the log holds the body's events.
async fn post_webhook(state: &AppState, body: &str) -> Value {
    let signature = sign_header(SECRET, chrono::Utc::now().timestamp(), body.as_bytes());
    let request = Request::post("/webhooks/stripe")
        .header("content-type", "application/json")
        .header("stripe-signature", signature)
        .body(Body::from(body.to_owned()))
        .expect("request");
    let (status, answer) = send(state, request).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    translate_all_pending(&state.pool, &state.append_signal)
        .await
        .expect("translate the inbox");
    answer
}

fn stripe_event_ids(trail: &Value) -> Vec<String> {
    trail["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|event| {
            event["metadata"]["stripe_event_id"]
                .as_str()
                .unwrap_or("")
                .to_owned()
        })
        .collect()
}

/// Catches every projector up until `/v1/status` shows no lag (other tests' transactions in
/// the same cluster can hold the feed back for a moment).
async fn catch_up_until_no_lag(state: &AppState) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        catch_up_all(&state.pool, &state.projectors)
            .await
            .expect("catch up");
        let status = get_ok(state, "/v1/status").await;
        let lagging = status["projections"]
            .as_array()
            .expect("projections")
            .iter()
            .any(|projection| projection["lag_events"] != 0);
        if !lagging {
            return status;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "still lagging: {status}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn as_of_leaves_out_events_recorded_later() {
    let _feed = FEED_GATE.read().await;
    let database = TestDatabase::create().await;
    let state = state(&database);
    let before_anything = chrono::Utc::now();
    tokio::time::sleep(Duration::from_millis(20)).await;
    post_webhook(
        &state,
        &customer_event(
            "evt_audit_1",
            "customer.created",
            "cus_audit",
            1_735_808_400,
        ),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    let between = chrono::Utc::now();
    tokio::time::sleep(Duration::from_millis(20)).await;
    // Later news about an *earlier* business time: as_of is about when Tally learned it.
    post_webhook(
        &state,
        &customer_event(
            "evt_audit_2",
            "customer.updated",
            "cus_audit",
            1_735_700_000,
        ),
    )
    .await;
    catch_up_until_no_lag(&state).await;

    let now = get_ok(&state, "/v1/customers/cus_audit/events").await;
    assert_eq!(now["as_of"], Value::Null);
    assert_eq!(
        stripe_event_ids(&now),
        ["evt_audit_2", "evt_audit_1"],
        "effective-time order"
    );
    let first = &now["events"][1];
    assert_eq!(first["metadata"]["source"], "stripe_webhook");
    assert_eq!(first["metadata"]["actor"]["kind"], "stripe");
    for key in ["causation_id", "correlation_id", "stripe_api_version"] {
        assert!(first["metadata"].get(key).is_some(), "{key} in {first}");
    }
    for key in [
        "global_position",
        "stream_id",
        "stream_version",
        "event_type",
        "schema_version",
        "recorded_at",
        "effective_at",
        "payload",
    ] {
        assert!(!first[key].is_null(), "{key} in {first}");
    }

    let between_text = between.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    let then = get_ok(
        &state,
        &format!("/v1/customers/cus_audit/events?as_of={between_text}"),
    )
    .await;
    assert_eq!(stripe_event_ids(&then), ["evt_audit_1"]);
    assert_eq!(then["as_of"], between_text);

    // A known customer with nothing recorded yet at as_of: an empty trail, not 404.
    let before_text = before_anything.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    let empty = get_ok(
        &state,
        &format!("/v1/customers/cus_audit/events?as_of={before_text}"),
    )
    .await;
    assert_eq!(empty["events"], serde_json::json!([]));

    for bad in ["yesterday", "2025-13-01T00:00:00Z", "2025-01-01"] {
        let (status, answer) = send(
            &state,
            get(&format!("/v1/customers/cus_audit/events?as_of={bad}")),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
        assert_eq!(answer["error"]["parameter"], "as_of", "{bad}");
    }
    let (status, _) = send(
        &state,
        get(&format!(
            "/v1/customers/cus_nobody/events?as_of={between_text}"
        )),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_global_feed_pages_through_the_whole_log_once_while_it_is_written() {
    let _feed = FEED_GATE.read().await;
    let database = TestDatabase::create().await;
    let state = state(&database);
    const CUSTOMERS: usize = 40;
    let writer = {
        let state = state.clone();
        tokio::spawn(async move {
            let deliveries = (0..CUSTOMERS).map(|n| {
                let state = state.clone();
                async move {
                    let body = customer_event(
                        &format!("evt_feed_{n}"),
                        "customer.created",
                        &format!("cus_feed_{n}"),
                        1_735_808_400 + n as i64,
                    );
                    post_webhook(&state, &body).await;
                }
            });
            let mut running = tokio::task::JoinSet::new();
            for delivery in deliveries {
                running.spawn(delivery);
            }
            while let Some(done) = running.join_next().await {
                done.expect("delivery");
            }
        })
    };

    // A consumer pages (7 at a time) while the webhooks arrive, storing only next_cursor.
    let mut seen: Vec<i64> = Vec::new();
    let mut pages: Vec<(String, Vec<i64>)> = Vec::new();
    let mut cursor: Option<String> = None;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let path = match &cursor {
            None => "/v1/events?limit=7".to_owned(),
            Some(cursor) => format!("/v1/events?limit=7&after={cursor}"),
        };
        let page = get_ok(&state, &path).await;
        let positions: Vec<i64> = page["events"]
            .as_array()
            .expect("events")
            .iter()
            .map(|event| event["global_position"].as_i64().expect("position"))
            .collect();
        assert!(positions.len() <= 7);
        assert_eq!(page["caught_up"], positions.len() < 7, "{page}");
        let next = page["next_cursor"]
            .as_str()
            .expect("next_cursor")
            .to_owned();
        if let Some(last) = page["events"].as_array().and_then(|events| events.last()) {
            assert_eq!(
                last["cursor"],
                next.as_str(),
                "the last event's cursor is next_cursor"
            );
        } else if let Some(cursor) = &cursor {
            assert_eq!(&next, cursor, "an empty page keeps the cursor");
        }
        if !positions.is_empty() {
            pages.push((path, positions.clone()));
        }
        seen.extend(positions);
        cursor = Some(next);
        if seen.len() >= CUSTOMERS && writer.is_finished() {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "feed stalled at {seen:?}"
        );
        tokio::task::yield_now().await;
    }
    writer.await.expect("writer");
    let after_last = get_ok(
        &state,
        &format!("/v1/events?after={}", cursor.as_deref().unwrap_or("")),
    )
    .await;
    assert_eq!(after_last["events"], serde_json::json!([]), "nothing twice");
    assert_eq!(after_last["caught_up"], true);

    let distinct: BTreeSet<i64> = seen.iter().copied().collect();
    assert_eq!(distinct.len(), seen.len(), "no duplicates: {seen:?}");
    let every_position: BTreeSet<i64> = (1..=CUSTOMERS as i64).collect();
    assert_eq!(distinct, every_position, "no gaps");

    // Cursors are stable: a full page reads back the same events; a page that was short
    // because the writers had not finished yet reads back the same events first.
    for (path, positions) in pages {
        let again = get_ok(&state, &path).await;
        let again: Vec<i64> = again["events"]
            .as_array()
            .expect("events")
            .iter()
            .map(|event| event["global_position"].as_i64().expect("position"))
            .collect();
        if positions.len() == 7 {
            assert_eq!(again, positions, "{path}");
        } else {
            assert_eq!(again[..positions.len()], positions[..], "{path}");
        }
    }
    // The default page size is 100.
    let all = get_ok(&state, "/v1/events").await;
    assert_eq!(all["limit"], 100);
    assert_eq!(all["events"].as_array().map(Vec::len), Some(CUSTOMERS));
}

#[tokio::test]
async fn the_global_feed_refuses_bad_cursors_and_limits() {
    let database = TestDatabase::create().await;
    let state = state(&database);
    for (query, parameter) in [
        ("after=garbage", "after"),
        ("after=12", "after"),
        ("after=-1-2", "after"),
        ("after=1-2-3", "after"),
        ("after=", "after"),
        ("limit=0", "limit"),
        ("limit=1001", "limit"),
        ("limit=ten", "limit"),
        ("limit=-3", "limit"),
    ] {
        let (status, answer) = send(&state, get(&format!("/v1/events?{query}"))).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}");
        assert_eq!(answer["error"]["code"], "invalid_parameter", "{query}");
        assert_eq!(answer["error"]["parameter"], parameter, "{query}");
    }
    let empty = get_ok(&state, "/v1/events?limit=1000").await;
    assert_eq!(empty["events"], serde_json::json!([]));
    assert_eq!(empty["next_cursor"], "0-0");
}

#[tokio::test]
async fn status_shows_the_lag_before_catch_up_and_none_after() {
    let _feed = FEED_GATE.read().await;
    let database = TestDatabase::create().await;
    let state = state(&database);
    for n in 0..3 {
        post_webhook(
            &state,
            &customer_event(
                &format!("evt_lag_{n}"),
                "customer.created",
                &format!("cus_lag_{n}"),
                1_735_808_400,
            ),
        )
        .await;
    }
    tokio::time::sleep(Duration::from_millis(30)).await;
    let before = get_ok(&state, "/v1/status").await;
    assert_eq!(before["log_head"], 3);
    for projection in before["projections"].as_array().expect("projections") {
        assert_eq!(projection["lag_events"], 3, "{projection}");
        let seconds = projection["lag_seconds"].as_f64().expect("lag_seconds");
        assert!(seconds >= 0.03, "{projection}");
        assert_eq!(projection["position"], 0, "{projection}");
    }
    let after = catch_up_until_no_lag(&state).await;
    for projection in after["projections"].as_array().expect("projections") {
        assert_eq!(projection["lag_events"], 0, "{projection}");
        assert_eq!(projection["lag_seconds"], 0.0, "{projection}");
        assert_eq!(projection["position"], 3, "{projection}");
    }
}

fn gauge(metrics: &str, name: &str) -> f64 {
    metrics
        .lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or_else(|| panic!("{name} not in\n{metrics}"))
}

#[tokio::test]
async fn a_writing_transaction_held_open_shows_in_status_and_metrics() {
    let _feed = FEED_GATE.write().await;
    let database = TestDatabase::create().await;
    let state = state(&database);
    post_webhook(
        &state,
        &customer_event(
            "evt_metrics_1",
            "customer.created",
            "cus_metrics",
            1_735_808_400,
        ),
    )
    .await;
    post_webhook(
        &state,
        &customer_event(
            "evt_metrics_1",
            "customer.created",
            "cus_metrics",
            1_735_808_400,
        ),
    )
    .await;

    let mut writer = state.pool.begin().await.expect("begin");
    let _xid: String = sqlx::query_scalar("SELECT pg_current_xact_id()::text")
        .fetch_one(&mut *writer)
        .await
        .expect("take a transaction id");
    tokio::time::sleep(Duration::from_millis(1100)).await;

    let status = get_ok(&state, "/v1/status").await;
    let oldest = &status["oldest_writing_transaction"];
    assert!(
        oldest["age_seconds"].as_f64().expect("age_seconds") >= 1.0,
        "{oldest}"
    );
    assert!(oldest["pid"].is_i64(), "{oldest}");
    assert!(oldest["transaction_started_at"].is_string(), "{oldest}");

    let (status, metrics) = send_raw(&state, get("/metrics")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(gauge(&metrics, "tally_oldest_writing_transaction_age_seconds") >= 1.0);
    writer.rollback().await.expect("rollback");

    assert_eq!(gauge(&metrics, "tally_log_head"), 1.0);
    for projector in ["mrr", "cash", "customer_events"] {
        let lag = format!("tally_projector_lag_events{{projector=\"{projector}\"}}");
        assert_eq!(gauge(&metrics, &lag), 1.0, "{lag}");
        let seconds = format!("tally_projector_lag_seconds{{projector=\"{projector}\"}}");
        assert!(gauge(&metrics, &seconds) > 0.0, "{seconds}");
    }
    // Counters are per process (shared by the tests of this binary): at least ours.
    assert!(
        gauge(
            &metrics,
            "tally_webhooks_accepted_total{status=\"received\"}"
        ) >= 1.0
    );
    assert!(gauge(&metrics, "tally_webhooks_duplicate_total") >= 1.0);
    // post_webhook translated the inbox: nothing waits.
    assert_eq!(gauge(&metrics, "tally_inbox_pending"), 0.0);
    assert_eq!(
        gauge(&metrics, "tally_inbox_oldest_pending_age_seconds"),
        0.0
    );
    assert!(
        metrics.contains("# TYPE tally_projector_lag_seconds gauge"),
        "{metrics}"
    );

    let unsigned = Request::post("/webhooks/stripe")
        .body(Body::from("{}"))
        .expect("request");
    assert_eq!(send(&state, unsigned).await.0, StatusCode::BAD_REQUEST);
    let (_, metrics) = send_raw(&state, get("/metrics")).await;
    assert!(
        gauge(
            &metrics,
            "tally_webhooks_rejected_total{reason=\"missing_signature\"}"
        ) >= 1.0
    );
}
