//! Pages of the log without any event a projector reads still move its live checkpoint: with
//! usage increments before and after a Stripe history, every revenue figure is unchanged and
//! the mrr, cash and customer_events checkpoints reach the head, each counting every event it
//! covered. (That the server sends only the declared types in full is
//! `ledger::store::read::read_types_after`'s contract; this test does not observe it.)

use chrono::Utc;
use ledger::store::checkpoint;
use replay_tests::{assert_matches_expected, Delivery, Replay, ACME_SMALL};
use serde_json::{json, Value};

/// Posts one batch of `count` usage increments (customers `cus_usage_0..`) and asserts every
/// one was recorded.
async fn post_usage(replay: &Replay, batch: usize, count: usize) {
    let now = Utc::now().to_rfc3339();
    let increments: Vec<Value> = (0..count)
        .map(|index| {
            json!({
                "customer": format!("cus_usage_{}", index % 7),
                "meter": "api_calls",
                "quantity": "1",
                "timestamp": now,
                "idempotency_key": format!("pass-over-{batch}-{index}"),
            })
        })
        .collect();
    let answer: Value = reqwest::Client::new()
        .post(format!("{}/v1/usage", replay.base_url))
        .json(&json!({ "increments": increments }))
        .send()
        .await
        .expect("POST /v1/usage")
        .json()
        .await
        .expect("JSON answer");
    assert_eq!(answer["recorded"], count, "{answer}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn usage_in_the_log_changes_no_revenue_figure_and_every_checkpoint_reaches_the_head() {
    let replay = Replay::start().await;
    post_usage(&replay, 0, 250).await;
    replay.catch_up().await;
    replay.deliver(&ACME_SMALL, Delivery::InOrder).await;
    post_usage(&replay, 1, 900).await;
    replay.catch_up().await;

    assert_matches_expected(&replay, &ACME_SMALL).await;

    let pool = &replay.database.pool;
    let (log_events, head): (i64, i64) =
        sqlx::query_as("SELECT count(*), max(global_position) FROM events")
            .fetch_one(pool)
            .await
            .expect("log size");
    let mut connection = pool.acquire().await.expect("connection");
    for projection in ["mrr", "cash", "customer_events"] {
        let checkpoint = checkpoint::load(&mut connection, projection)
            .await
            .expect("checkpoint");
        assert_eq!(
            checkpoint.cursor.global_position, head,
            "{projection} reached the head"
        );
        assert_eq!(
            checkpoint.events_applied, log_events,
            "{projection} counted every event it covered, read or passed over"
        );
    }
    drop(connection);
    replay.stop().await;
}
