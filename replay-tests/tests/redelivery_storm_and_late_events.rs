//! Stripe delivers at least once and in any order. A redelivery storm (every webhook of the
//! worked example sent ten times, shuffled, through the real endpoint) leaves each Stripe Event
//! in the ledger once; one subscription's updates delivered newest first, each late, never let
//! an older snapshot overwrite a newer one, and each late update lands at its effective time.

use rand::seq::SliceRandom;
use rand::SeedableRng;
use replay_tests::{assert_matches_expected, Replay, WORKED_EXAMPLE};
use serde_json::{json, Value};
use std::collections::HashMap;

/// Customer A of the worked example: Pro 100.00/month from 2025-01-02, three seats from
/// 2025-03-15 (revenue-rules.md §7).
const CUSTOMER_A: &str = "cus_Z80rQiGR9BRAqc";
const SUBSCRIPTION_A: &str = "sub_1773L3etcPpBfUGFsmPt5tdL";

fn worked_example_lines() -> Vec<&'static str> {
    WORKED_EXAMPLE
        .events_jsonl
        .lines()
        .filter(|line| !line.trim().is_empty())
        .collect()
}

/// Every event of the log, read through the gap-free feed.
async fn whole_log(replay: &Replay) -> Vec<Value> {
    let mut events = Vec::new();
    let mut path = "/v1/events?limit=1000".to_owned();
    loop {
        let page = replay.get_json(&path).await;
        let batch = page["events"].as_array().expect("events").clone();
        let caught_up = page["caught_up"].as_bool().expect("caught_up");
        events.extend(batch);
        if caught_up {
            return events;
        }
        path = format!(
            "/v1/events?limit=1000&after={}",
            page["next_cursor"].as_str().expect("next_cursor")
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redelivery_storm_leaves_each_stripe_event_in_the_ledger_once() {
    const DELIVERIES_PER_EVENT: usize = 10;
    let lines = worked_example_lines();
    let mut bodies: Vec<Vec<u8>> = Vec::new();
    for _ in 0..DELIVERIES_PER_EVENT {
        bodies.extend(lines.iter().map(|line| line.as_bytes().to_vec()));
    }
    bodies.shuffle(&mut rand::rngs::StdRng::seed_from_u64(5_005));
    let replay = Replay::start().await;
    replay.deliver_bodies(bodies).await;

    let events = whole_log(&replay).await;
    let mut per_stripe_event: HashMap<String, usize> = HashMap::new();
    for event in &events {
        let id = event["stripe_event_id"]
            .as_str()
            .expect("a Stripe event id");
        *per_stripe_event.entry(id.to_owned()).or_default() += 1;
    }
    let repeated: Vec<_> = per_stripe_event
        .iter()
        .filter(|(_, count)| **count > 1)
        .collect();
    assert!(repeated.is_empty(), "held more than once: {repeated:?}");
    let status = replay.get_json("/v1/status").await;
    let inbox = &status["inbox"];
    let kept = inbox["translated"].as_i64().unwrap()
        + inbox["ignored"].as_i64().unwrap()
        + inbox["unparsed"].as_i64().unwrap();
    assert_eq!(kept as usize, lines.len(), "each body kept once");
    assert_eq!(
        inbox["translated"].as_i64().unwrap() as usize,
        per_stripe_event.len(),
        "one translated body per Stripe Event in the log"
    );
    let deliveries = &status["webhook_deliveries"];
    assert_eq!(
        deliveries["received"].as_i64().unwrap() + deliveries["unparsed"].as_i64().unwrap(),
        lines.len() as i64
    );
    assert_eq!(
        deliveries["duplicate"].as_i64().unwrap() as usize,
        lines.len() * (DELIVERIES_PER_EVENT - 1),
        "every other delivery is logged as a duplicate"
    );
    assert_eq!(deliveries["rejected"], json!(0));
    assert_matches_expected(&replay, &WORKED_EXAMPLE).await;
    replay.stop().await;
}

async fn mrr_of_a_at(replay: &Replay, at: &str) -> Value {
    replay
        .get_json(&format!(
            "/v1/customers/{CUSTOMER_A}/mrr?at={at}&currency=usd"
        ))
        .await["mrr"]
        .clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn late_and_reversed_subscription_updates_land_at_their_effective_time() {
    let (mut updates, rest): (Vec<&str>, Vec<&str>) =
        worked_example_lines().into_iter().partition(|line| {
            let event: Value = serde_json::from_str(line).expect("event JSON");
            event["type"] == "customer.subscription.updated"
                && event["data"]["object"]["id"] == SUBSCRIPTION_A
        });
    assert_eq!(updates.len(), 6, "A's subscription is updated six times");
    let created = |line: &&str| {
        serde_json::from_str::<Value>(line).expect("event JSON")["created"]
            .as_i64()
            .expect("created")
    };
    // Newest first: every later delivery is an older snapshot arriving late.
    updates.sort_by_key(|line| std::cmp::Reverse(created(line)));
    let replay = Replay::start().await;
    replay
        .deliver_bodies(rest.iter().map(|line| line.as_bytes().to_vec()).collect())
        .await;
    assert_eq!(
        mrr_of_a_at(&replay, "2025-03-31T23:59:59Z").await,
        json!(10000)
    );

    // 2025-04-02 (three seats, unchanged since 2025-03-15) first: March still shows one seat.
    replay
        .deliver_bodies(vec![updates[0].as_bytes().to_vec()])
        .await;
    assert_eq!(
        mrr_of_a_at(&replay, "2025-03-31T23:59:59Z").await,
        json!(10000)
    );
    assert_eq!(
        mrr_of_a_at(&replay, "2025-04-30T23:59:59Z").await,
        json!(30000)
    );

    // The 2025-03-15 upgrade, delivered late, lands on 2025-03-15, not at arrival.
    replay
        .deliver_bodies(vec![updates[1].as_bytes().to_vec()])
        .await;
    assert_eq!(
        mrr_of_a_at(&replay, "2025-03-14T23:59:59Z").await,
        json!(10000)
    );
    assert_eq!(
        mrr_of_a_at(&replay, "2025-03-31T23:59:59Z").await,
        json!(30000)
    );

    // Older one-seat snapshots (2025-03-02 and before) arriving after never overwrite it.
    for update in &updates[2..] {
        replay
            .deliver_bodies(vec![update.as_bytes().to_vec()])
            .await;
        assert_eq!(
            mrr_of_a_at(&replay, "2025-03-31T23:59:59Z").await,
            json!(30000)
        );
        assert_eq!(
            mrr_of_a_at(&replay, "2025-04-30T23:59:59Z").await,
            json!(30000)
        );
    }
    assert_matches_expected(&replay, &WORKED_EXAMPLE).await;
    replay.stop().await;
}
