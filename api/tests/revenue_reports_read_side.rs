//! The read-side reports over the §7 worked example, through the HTTP API on a real
//! PostgreSQL: daily MRR, MRR by plan, a customer's timeline, `as_of` (answers equal to what
//! the API said before later events arrived), restatements of a closed month (a late webhook
//! and a backdated change), and CSV.

mod support;

use support::router_requests::send_for_bytes as send;

use api::AppState;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use ledger::store::test_database::TestDatabase;
use projections::projector::catch_up_all;
use serde_json::Value;
use stripe_bridge::ingest::{ingest_stripe_event, IngestChannel};

const WORKED_EXAMPLE: &str =
    include_str!("../../replay-tests/fixtures/worked-example/events.jsonl");
const CUSTOMER_A: &str = "cus_Z80rQiGR9BRAqc";
const PRO_PRICE: &str = "price_170lkDetcPpBfUGFFqXalibZ";
/// E1 cancelled on 2025-03-20 (worked example row 12): delivered late in the restatement test.
const E1_DELETED: &str = "evt_17B2a5etcPpBfUGFMef2Oxbl";
/// A1 quantity 1 -> 3 on 2025-03-15: the template of the backdated change.
const A1_QUANTITY_THREE: &str = "evt_17AmWhetcPpBfUGF8rA9E17H";

fn state(database: &TestDatabase) -> AppState {
    AppState::new(database.pool.clone(), None)
}

/// The worked example's Stripe Events, in file order, as (Stripe event id, `created`, body).
fn worked_example() -> Vec<(String, i64, String)> {
    WORKED_EXAMPLE
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            let event: Value = serde_json::from_str(line).expect("event json");
            (
                event["id"].as_str().expect("id").to_owned(),
                event["created"].as_i64().expect("created"),
                line.to_owned(),
            )
        })
        .collect()
}

async fn ingest<'a>(state: &AppState, bodies: impl IntoIterator<Item = &'a str>) {
    for body in bodies {
        ingest_stripe_event(
            &state.pool,
            &state.append_signal,
            IngestChannel::Import,
            body.as_bytes(),
        )
        .await
        .expect("ingest");
    }
    catch_up_all(&state.pool, &state.projectors)
        .await
        .expect("catch up");
}

async fn get_json(state: &AppState, path: &str) -> Value {
    let request = Request::get(path).body(Body::empty()).expect("request");
    let (status, _, bytes) = send(state, request).await;
    let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    assert_eq!(status, StatusCode::OK, "{path}: {body}");
    body
}

async fn get_csv(state: &AppState, path: &str, accept_header: bool) -> String {
    let mut request = Request::get(path);
    if accept_header {
        request = request.header("accept", "text/csv");
    }
    let (status, content_type, bytes) =
        send(state, request.body(Body::empty()).expect("request")).await;
    assert_eq!(status, StatusCode::OK, "{path}");
    assert_eq!(content_type, "text/csv; charset=utf-8", "{path}");
    String::from_utf8(bytes).expect("utf-8 csv")
}

/// The highest `recorded_at` in the log (from the public feed), RFC 3339 with microseconds.
async fn last_recorded_at(state: &AppState) -> String {
    let mut cursor: Option<String> = None;
    let mut latest = String::new();
    loop {
        let path = match &cursor {
            Some(after) => format!("/v1/events?limit=1000&after={after}"),
            None => "/v1/events?limit=1000".to_owned(),
        };
        let page = get_json(state, &path).await;
        for event in page["events"].as_array().expect("events") {
            let recorded_at = event["recorded_at"].as_str().expect("recorded_at");
            if recorded_at > latest.as_str() {
                latest = recorded_at.to_owned();
            }
        }
        if page["caught_up"] == true {
            return latest;
        }
        cursor = page["next_cursor"].as_str().map(str::to_owned);
    }
}

fn without_as_of(mut answer: Value) -> Value {
    if let Some(object) = answer.as_object_mut() {
        object.remove("as_of");
    }
    answer
}

#[tokio::test]
async fn daily_movements_add_up_to_the_month_and_each_close_is_the_next_open() {
    let database = TestDatabase::create().await;
    let state = state(&database);
    let events = worked_example();
    ingest(&state, events.iter().map(|(_, _, body)| body.as_str())).await;

    let monthly = get_json(
        &state,
        "/v1/reports/mrr?currency=usd&from=2025-01&to=2025-04",
    )
    .await;
    let daily = get_json(
        &state,
        "/v1/reports/mrr/daily?currency=usd&from=2025-01-01&to=2025-04-30",
    )
    .await;
    let days = daily["days"].as_array().expect("days");
    assert_eq!(days.len(), 120);
    assert_eq!(days[0]["open"], 0);
    for pair in days.windows(2) {
        assert_eq!(pair[0]["close"], pair[1]["open"], "{}", pair[1]["day"]);
    }
    for day in days {
        let figure = |name: &str| day[name].as_i64().expect("figure");
        assert_eq!(
            figure("close"),
            figure("open") + figure("new") + figure("expansion")
                - figure("contraction")
                - figure("churn")
                + figure("reactivation"),
            "{day}"
        );
    }
    for month in monthly["months"].as_array().expect("months") {
        let name = month["month"].as_str().expect("month");
        let of_month: Vec<&Value> = days
            .iter()
            .filter(|day| day["day"].as_str().is_some_and(|d| d.starts_with(name)))
            .collect();
        for figure in ["new", "expansion", "contraction", "churn", "reactivation"] {
            let sum: i64 = of_month.iter().filter_map(|day| day[figure].as_i64()).sum();
            assert_eq!(Some(sum), month[figure].as_i64(), "{name} {figure}");
        }
        assert_eq!(of_month[0]["open"], month["open"], "{name}");
        assert_eq!(
            of_month[of_month.len() - 1]["close"],
            month["close"],
            "{name}"
        );
    }
    // Row 5 of §7: C's trial ends on 02-03 (+50.00); row 6: A1 Pro -> Basic on 02-10 is a
    // 50.00 contraction that day.
    let february_tenth = days
        .iter()
        .find(|day| day["day"] == "2025-02-10")
        .expect("2025-02-10");
    assert_eq!(february_tenth["contraction"], 5_000);
    assert_eq!(february_tenth["open"], 23_500 + 5_000);
    assert_eq!(february_tenth["close"], 23_500 + 5_000 - 5_000);

    let csv = get_csv(
        &state,
        "/v1/reports/mrr/daily?currency=usd&from=2025-02-10&to=2025-02-11",
        true,
    )
    .await;
    assert_eq!(
        csv,
        "day,currency,open,new,expansion,contraction,churn,reactivation,close\n\
         2025-02-10,usd,285.00,0.00,0.00,50.00,0.00,0.00,235.00\n\
         2025-02-11,usd,235.00,0.00,0.00,0.00,0.00,0.00,235.00\n"
    );
}

#[tokio::test]
async fn by_plan_timeline_and_csv_of_the_worked_example() {
    let database = TestDatabase::create().await;
    let state = state(&database);
    let events = worked_example();
    ingest(&state, events.iter().map(|(_, _, body)| body.as_str())).await;

    let by_plan = get_json(
        &state,
        "/v1/reports/mrr/by-plan?currency=usd&date=2025-03-31",
    )
    .await;
    let daily = get_json(
        &state,
        "/v1/reports/mrr/daily?currency=usd&from=2025-03-31&to=2025-03-31",
    )
    .await;
    assert_eq!(by_plan["mrr"], 42_500, "{by_plan}");
    assert_eq!(by_plan["mrr"], daily["days"][0]["close"]);
    let plans = by_plan["plans"].as_array().expect("plans");
    assert_eq!(
        plans.len(),
        3,
        "Pro (A x3), Annual (B), Basic (C): {by_plan}"
    );
    let pro = plans
        .iter()
        .find(|plan| plan["price"] == PRO_PRICE)
        .expect("Pro line");
    assert_eq!(pro["mrr"], 30_000);
    assert_eq!(pro["customers"], 1);
    assert_eq!(pro["product"], "prod_YsFvJPvvduj7Y6");
    let sum: i64 = plans.iter().filter_map(|plan| plan["mrr"].as_i64()).sum();
    assert_eq!(sum, 42_500);

    let timeline = get_json(&state, &format!("/v1/customers/{CUSTOMER_A}/timeline")).await;
    let changes = timeline["changes"].as_array().expect("changes");
    let summary: Vec<(String, String, i64, i64)> = changes
        .iter()
        .map(|change| {
            (
                change["at"].as_str().unwrap_or("").to_owned(),
                change["kind"].as_str().unwrap_or("").to_owned(),
                change["before"]["amount"].as_i64().unwrap_or(-1),
                change["after"]["amount"].as_i64().unwrap_or(-1),
            )
        })
        .collect();
    let expected = [
        ("2025-01-02T09:00:00Z", "new", 0, 10_000),
        ("2025-02-10T09:00:00Z", "contraction", 10_000, 5_000),
        ("2025-02-20T09:00:00Z", "expansion", 5_000, 10_000),
        ("2025-03-15T09:00:00Z", "expansion", 10_000, 30_000),
    ];
    let expected: Vec<(String, String, i64, i64)> = expected
        .iter()
        .map(|(at, kind, before, after)| (at.to_string(), kind.to_string(), *before, *after))
        .collect();
    assert_eq!(summary, expected);
    assert_eq!(changes[3]["after"]["decimal"], "300.00");
    assert_eq!(changes[3]["after"]["currency"], "usd");
    assert_eq!(changes[3]["difference"]["decimal"], "200.00");
    let sources = changes[0]["sources"].as_array().expect("sources");
    assert_eq!(sources.len(), 1, "{sources:?}");
    assert_eq!(
        sources[0]["stripe_event_id"],
        "evt_1773L3etcPpBfUGFFECkFHdR"
    );
    assert_eq!(sources[0]["event_type"], "SubscriptionObserved");
    assert!(sources[0]["global_position"]
        .as_i64()
        .is_some_and(|p| p > 0));
    assert_eq!(
        changes[3]["sources"][0]["stripe_event_id"],
        A1_QUANTITY_THREE
    );

    let csv = get_csv(
        &state,
        "/v1/reports/mrr?currency=usd&from=2025-01&to=2025-02&format=csv",
        false,
    )
    .await;
    assert_eq!(
        csv,
        "month,currency,open,new,expansion,contraction,churn,reactivation,close,customers_open,customers_close\n\
         2025-01,usd,0.00,235.00,0.00,0.00,0.00,0.00,235.00,0,3\n\
         2025-02,usd,235.00,50.00,50.00,50.00,60.00,0.00,225.00,3,3\n"
    );
    let churn_csv = get_csv(
        &state,
        "/v1/reports/churn?currency=usd&from=2025-01&to=2025-02",
        true,
    )
    .await;
    assert_eq!(
        churn_csv,
        "month,currency,logo_churn_rate,gross_mrr_churn_rate,net_mrr_churn_rate,nrr,grr,quick_ratio,arpa\n\
         2025-01,usd,,,,,,,78.33\n\
         2025-02,usd,0.333333,0.468085,0.255319,0.744681,0.531915,0.909091,75.00\n"
    );
    let cash_csv = get_csv(
        &state,
        "/v1/reports/cash?currency=usd&from=2025-03&to=2025-03",
        true,
    )
    .await;
    assert!(
        cash_csv.starts_with("month,currency,collected,refunded,outstanding_close\n2025-03,usd,"),
        "{cash_csv}"
    );
    let timeline_csv = get_csv(
        &state,
        &format!("/v1/customers/{CUSTOMER_A}/timeline?format=csv"),
        false,
    )
    .await;
    let mut lines = timeline_csv.lines();
    assert_eq!(
        lines.next(),
        Some("customer,at,currency,kind,before,after,difference,stripe_event_ids,global_positions")
    );
    let first = lines.next().expect("first change");
    assert!(
        first.starts_with(&format!(
            "{CUSTOMER_A},2025-01-02T09:00:00Z,usd,new,0.00,100.00,100.00,evt_1773L3etcPpBfUGFFECkFHdR,"
        )),
        "{first}"
    );
    let plan_csv = get_csv(
        &state,
        "/v1/reports/mrr/by-plan?currency=usd&date=2025-03-31",
        true,
    )
    .await;
    assert!(plan_csv.contains(&format!(
        "2025-03-31,usd,prod_YsFvJPvvduj7Y6,{PRO_PRICE},300.00,1,1\n"
    )));
    let customer_csv = get_csv(
        &state,
        &format!("/v1/customers/{CUSTOMER_A}/mrr?at=2025-03-31T23:59:59Z&format=csv"),
        false,
    )
    .await;
    assert_eq!(
        customer_csv,
        format!("customer,currency,at,as_of,mrr\n{CUSTOMER_A},usd,2025-03-31T23:59:59Z,,300.00\n")
    );
}

#[tokio::test]
async fn as_of_answers_what_the_api_answered_before_later_events_arrived() {
    let database = TestDatabase::create().await;
    let state = state(&database);
    let events = worked_example();
    let march = 1_740_787_200; // 2025-03-01T00:00:00Z
    let (january_february, later): (Vec<_>, Vec<_>) =
        events.iter().partition(|(_, created, _)| *created < march);
    ingest(
        &state,
        january_february.iter().map(|(_, _, body)| body.as_str()),
    )
    .await;

    let paths = [
        "/v1/reports/mrr?currency=usd&from=2025-01&to=2025-04".to_owned(),
        "/v1/reports/churn?currency=usd&from=2025-01&to=2025-04".to_owned(),
        "/v1/reports/cash?currency=usd&from=2025-01&to=2025-04".to_owned(),
        "/v1/reports/mrr/daily?currency=usd&from=2025-02-25&to=2025-03-20".to_owned(),
        "/v1/reports/mrr/by-plan?currency=usd&date=2025-03-31".to_owned(),
        format!("/v1/customers/{CUSTOMER_A}/mrr?at=2025-03-31T00:00:00Z"),
        format!("/v1/customers/{CUSTOMER_A}/timeline"),
    ];
    let mut before = Vec::new();
    for path in &paths {
        before.push(get_json(&state, path).await);
    }
    let cut = last_recorded_at(&state).await;
    ingest(&state, later.iter().map(|(_, _, body)| body.as_str())).await;

    for (path, earlier_answer) in paths.iter().zip(&before) {
        let separator = if path.contains('?') { '&' } else { '?' };
        let as_of_path = format!("{path}{separator}as_of={cut}");
        let answer = get_json(&state, &as_of_path).await;
        assert_eq!(answer["as_of"], cut.as_str(), "{as_of_path}");
        assert_eq!(
            without_as_of(answer),
            without_as_of(earlier_answer.clone()),
            "{as_of_path}"
        );
        let now = get_json(&state, path).await;
        assert_ne!(
            without_as_of(now),
            without_as_of(earlier_answer.clone()),
            "{path} must have moved with the March events"
        );
    }
    let march_now = get_json(
        &state,
        "/v1/reports/mrr?currency=usd&from=2025-03&to=2025-03",
    )
    .await;
    assert_eq!(march_now["months"][0]["close"], 42_500);
}

#[tokio::test]
async fn restatements_name_a_late_webhook_and_a_backdated_change() {
    let database = TestDatabase::create().await;
    let state = state(&database);
    let events = worked_example();
    let (late, on_time): (Vec<_>, Vec<_>) = events.iter().partition(|(id, _, _)| id == E1_DELETED);
    ingest(&state, on_time.iter().map(|(_, _, body)| body.as_str())).await;
    let before_late = get_json(
        &state,
        "/v1/reports/mrr?currency=usd&from=2025-03&to=2025-03",
    )
    .await;
    assert_eq!(before_late["months"][0]["churn"], 0, "E1 still counts");

    // The late webhook: E1's cancellation (2025-03-20) arrives after everything else.
    ingest(&state, late.iter().map(|(_, _, body)| body.as_str())).await;
    // The backdated change: A1 goes from 3 to 2 Pro seats, effective 2025-03-25 09:00.
    let template = &on_time
        .iter()
        .find(|(id, _, _)| id == A1_QUANTITY_THREE)
        .expect("template")
        .2;
    let backdated = template
        .replace(A1_QUANTITY_THREE, "evt_backdated_a1_two_seats")
        .replace("\"created\":1742029200", "\"created\":1742893200")
        .replace("\"quantity\":3", "\"quantity\":2");
    ingest(&state, [backdated.as_str()]).await;

    let answer = get_json(
        &state,
        "/v1/reports/restatements?currency=usd&month=2025-03",
    )
    .await;
    assert_eq!(answer["closed_at"], "2025-04-01T00:00:00Z");
    let restatements = answer["restatements"].as_array().expect("restatements");
    assert!(restatements.len() >= 3, "{answer}");
    let last_two = &restatements[restatements.len() - 2..];

    let late_webhook = &last_two[0];
    let changes: Vec<(String, i64)> = late_webhook["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .map(|c| {
            (
                c["figure"].as_str().unwrap_or("").to_owned(),
                c["difference"].as_i64().unwrap_or(0),
            )
        })
        .collect();
    assert_eq!(
        changes,
        [("churn".to_owned(), 9_000), ("close".to_owned(), -9_000)],
        "{late_webhook}"
    );
    let causes = late_webhook["causes"].as_array().expect("causes");
    assert!(
        causes
            .iter()
            .any(|cause| cause["stripe_event_id"] == E1_DELETED
                && cause["event_type"] == "SubscriptionObserved"
                && cause["effective_at"] == "2025-03-20T09:00:00Z"),
        "{late_webhook}"
    );

    let backdated_change = &last_two[1];
    let changes: Vec<(String, i64)> = backdated_change["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .map(|c| {
            (
                c["figure"].as_str().unwrap_or("").to_owned(),
                c["difference"].as_i64().unwrap_or(0),
            )
        })
        .collect();
    assert_eq!(
        changes,
        [
            ("contraction".to_owned(), 10_000),
            ("close".to_owned(), -10_000)
        ],
        "{backdated_change}"
    );
    assert_eq!(
        backdated_change["causes"][0]["stripe_event_id"],
        "evt_backdated_a1_two_seats"
    );
    assert!(
        backdated_change["recorded_at"].as_str() > late_webhook["recorded_at"].as_str(),
        "in recorded order"
    );

    // The last restatement leaves the month as the MRR report shows it now.
    let now = get_json(
        &state,
        "/v1/reports/mrr?currency=usd&from=2025-03&to=2025-03",
    )
    .await;
    for figure in [
        "open",
        "new",
        "expansion",
        "contraction",
        "churn",
        "reactivation",
        "close",
    ] {
        assert_eq!(
            backdated_change["after"][figure], now["months"][0][figure],
            "{figure}"
        );
    }
    // April's figures move too, but March's restatements do not list April-only events: E1's
    // March cancellation does not restate February.
    let february = get_json(
        &state,
        "/v1/reports/restatements?currency=usd&month=2025-02",
    )
    .await;
    for restatement in february["restatements"].as_array().expect("restatements") {
        let causes = restatement["causes"].as_array().expect("causes");
        assert!(
            !causes
                .iter()
                .any(|cause| cause["stripe_event_id"] == E1_DELETED
                    || cause["stripe_event_id"] == "evt_backdated_a1_two_seats"),
            "{restatement}"
        );
    }

    let csv = get_csv(
        &state,
        "/v1/reports/restatements?currency=usd&month=2025-03",
        true,
    )
    .await;
    assert!(csv.starts_with(
        "month,currency,recorded_at,figure,before,after,difference,stripe_event_ids,global_positions\n"
    ));
    assert!(csv.contains(",contraction,"), "{csv}");
    assert!(
        csv.contains(",-100.00,evt_backdated_a1_two_seats,"),
        "{csv}"
    );
}

#[tokio::test]
async fn invalid_read_side_parameters_are_400_naming_the_parameter() {
    let database = TestDatabase::create().await;
    let state = state(&database);
    for (path, parameter) in [
        (
            "/v1/reports/mrr/daily?currency=usd&from=2025-02-30&to=2025-03-01",
            "from",
        ),
        (
            "/v1/reports/mrr/daily?currency=usd&from=2025-03-02&to=2025-03-01",
            "to",
        ),
        (
            "/v1/reports/mrr/daily?currency=usd&from=2015-01-01&to=2025-03-01",
            "to",
        ),
        ("/v1/reports/mrr/by-plan?currency=usd", "date"),
        ("/v1/reports/mrr/by-plan?currency=usd&date=2025-3-1", "date"),
        (
            "/v1/reports/restatements?currency=usd&month=2025-3",
            "month",
        ),
        (
            "/v1/reports/mrr?currency=usd&from=2025-01&to=2025-02&as_of=yesterday",
            "as_of",
        ),
        (
            "/v1/reports/mrr?currency=usd&from=2025-01&to=2025-02&format=xml",
            "format",
        ),
        (
            "/v1/customers/cus_x/timeline?as_of=2025-13-01T00:00:00Z",
            "as_of",
        ),
    ] {
        let request = Request::get(path).body(Body::empty()).expect("request");
        let (status, _, bytes) = send(&state, request).await;
        let answer: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}");
        assert_eq!(answer["error"]["parameter"], parameter, "{path}");
    }
    let request = Request::get("/v1/customers/cus_nobody/timeline")
        .body(Body::empty())
        .expect("request");
    assert_eq!(send(&state, request).await.0, StatusCode::NOT_FOUND);
}
