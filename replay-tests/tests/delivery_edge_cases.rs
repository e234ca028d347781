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
