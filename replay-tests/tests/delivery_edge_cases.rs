//! Histories delivered in awkward shapes: discounts ahead of their subscription without a
//! customer, and a customer billed in two currencies.

use replay_tests::{assert_matches_expected, Replay, WORKED_EXAMPLE};
use serde_json::Value;

fn worked_example_events() -> Vec<Value> {
    WORKED_EXAMPLE
        .events_jsonl
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| serde_json::from_str(line).expect("event JSON"))
        .collect()
}

fn bodies(events: &[Value]) -> Vec<Vec<u8>> {
    events
        .iter()
        .map(|event| event.to_string().into_bytes())
        .collect()
}

/// Figures never depend on delivery order: a discount that names only its subscription and is
/// delivered before that subscription still discounts it once the subscription arrives.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discounts_without_customer_delivered_before_their_subscription_still_apply() {
    let (mut discounts, rest): (Vec<Value>, Vec<Value>) =
        worked_example_events().into_iter().partition(|event| {
            event["type"]
                .as_str()
                .unwrap_or("")
                .starts_with("customer.discount.")
        });
    assert_eq!(
        discounts.len(),
        3,
        "the worked example has three discount events"
    );
    for discount in &mut discounts {
        discount["data"]["object"]["customer"] = Value::Null;
    }
    let replay = Replay::start().await;
    replay.deliver_bodies(bodies(&discounts)).await;
    replay.deliver_bodies(bodies(&rest)).await;
    assert_matches_expected(&replay, &WORKED_EXAMPLE).await;
    replay.stop().await;
}

/// A customer with subscriptions in two currencies: each currency is reported on its own, and
/// asking for "the" MRR without a currency is a 400 naming the parameter.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_billed_in_two_currencies_must_choose_one() {
    let customer = "cus_Z80rQiGR9BRAqc"; // A: Pro 100.00/month in usd from 2025-01-02.
    let mut events = worked_example_events();
    let usd_subscription = events
        .iter()
        .find(|event| {
            event["type"] == "customer.subscription.created"
                && event["data"]["object"]["customer"] == customer
        })
        .expect("A's subscription")
        .clone();
    let mut eur_subscription = usd_subscription;
    eur_subscription["id"] = "evt_two_currencies_eur".into();
    eur_subscription["data"]["object"]["id"] = "sub_two_currencies_eur".into();
    eur_subscription["data"]["object"]["currency"] = "eur".into();
    events.push(eur_subscription);

    let replay = Replay::start().await;
    replay.deliver_bodies(bodies(&events)).await;
    let at = "2025-01-31T23:59:59Z";
    let usd = replay
        .get_json(&format!(
            "/v1/customers/{customer}/mrr?at={at}&currency=usd"
        ))
        .await;
    assert_eq!(usd["mrr"], 10000);
    let eur = replay
        .get_json(&format!(
            "/v1/customers/{customer}/mrr?at={at}&currency=eur"
        ))
        .await;
    assert_eq!(eur["mrr"], 10000);
    let eur_report = replay
        .get_json("/v1/reports/mrr?currency=eur&from=2025-01&to=2025-01")
        .await;
    assert_eq!(eur_report["months"][0]["close"], 10000);
    let usd_report = replay
        .get_json("/v1/reports/mrr?currency=usd&from=2025-01&to=2025-01")
        .await;
    assert_eq!(
        usd_report["months"][0]["close"], 23500,
        "usd figures are unchanged"
    );

    let response = reqwest::get(format!(
        "{}/v1/customers/{customer}/mrr?at={at}",
        replay.base_url
    ))
    .await
    .expect("GET");
    assert_eq!(response.status(), 400);
    let answer: Value = response.json().await.expect("JSON");
    assert_eq!(answer["error"]["parameter"], "currency");
    replay.stop().await;
}

/// Since Stripe API 2025-09-30.clover a discount's `source.coupon` is only the coupon's id; the
/// terms arrive in `coupon.*` events. Rewritten that way — and with the coupon events delivered
/// after everything else — the worked example still gives exactly the expected reports.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clover_discounts_naming_only_the_coupon_id_take_terms_from_coupon_events() {
    let mut events = worked_example_events();
    let mut coupon_events = Vec::new();
    for event in &mut events {
        if !event["type"]
            .as_str()
            .unwrap_or("")
            .starts_with("customer.discount.")
        {
            continue;
        }
        let coupon = event["data"]["object"]["source"]["coupon"].take();
        let coupon_id = coupon["id"]
            .as_str()
            .expect("expanded coupon in the fixture")
            .to_owned();
        event["data"]["object"]["source"]["coupon"] = coupon_id.clone().into();
        if coupon_events
            .iter()
            .all(|known: &Value| known["data"]["object"]["id"] != coupon_id.as_str())
        {
            let mut created = event.clone();
            created["id"] = format!("evt_coupon_{coupon_id}").into();
            created["type"] = "coupon.created".into();
            created["created"] = coupon["created"].clone();
            created["data"] = serde_json::json!({ "object": coupon });
            coupon_events.push(created);
        }
    }
    assert_eq!(
        coupon_events.len(),
        2,
        "two coupons are redeemed in the worked example"
    );
    let replay = Replay::start().await;
    replay.deliver_bodies(bodies(&events)).await;
    replay.deliver_bodies(bodies(&coupon_events)).await;
    assert_matches_expected(&replay, &WORKED_EXAMPLE).await;
    replay.stop().await;
}
