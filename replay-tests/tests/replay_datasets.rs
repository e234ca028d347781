//! Every recorded history, replayed through the real HTTP webhook path in order and shuffled
//! with duplicates, must give exactly the expected reports; a rebuild must give the same.

use projections::projector::rebuild;
use replay_tests::{
    assert_matches_expected, Dataset, Delivery, Replay, ACME_SMALL, RULES_COVERAGE, WORKED_EXAMPLE,
};

async fn replay_in_order_then_rebuild(dataset: &Dataset) {
    let replay = Replay::start().await;
    replay.deliver(dataset, Delivery::InOrder).await;
    assert_matches_expected(&replay, dataset).await;

    // Incremental projection == full rebuild.
    let incremental = replay.all_answers(dataset).await;
    let projectors = replay.server.state.projectors;
    let pool = &replay.database.pool;
    rebuild(pool, &projectors.mrr).await.expect("rebuild mrr");
    rebuild(pool, &projectors.cash).await.expect("rebuild cash");
    rebuild(pool, &projectors.customer_events)
        .await
        .expect("rebuild customer_events");
    replay.catch_up().await;
    let rebuilt = replay.all_answers(dataset).await;
    assert_eq!(
        incremental, rebuilt,
        "{}: rebuild differs from incremental projection",
        dataset.name
    );
    replay.stop().await;
}

async fn replay_shuffled_with_duplicates(dataset: &Dataset, seed: u64) {
    let replay = Replay::start().await;
    replay
        .deliver(dataset, Delivery::ShuffledWithDuplicates { seed })
        .await;
    assert_matches_expected(&replay, dataset).await;
    let status = replay.get_json("/v1/status").await;
    let lines = dataset
        .events_jsonl
        .lines()
        .filter(|l| !l.trim().is_empty())
        .count() as i64;
    let inbox = &status["inbox"];
    let kept = inbox["translated"].as_i64().unwrap_or(0) + inbox["ignored"].as_i64().unwrap_or(0);
    assert_eq!(
        kept, lines,
        "each distinct Stripe Event is kept exactly once (seed {seed})"
    );
    assert_eq!(inbox["unparsed"], 0, "seed {seed}");
    replay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn worked_example_in_order_matches_expected_and_rebuild_is_identical() {
    replay_in_order_then_rebuild(&WORKED_EXAMPLE).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn worked_example_shuffled_with_duplicates_matches_expected() {
    for seed in [1, 2, 3] {
        replay_shuffled_with_duplicates(&WORKED_EXAMPLE, seed).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acme_small_in_order_matches_expected_and_rebuild_is_identical() {
    replay_in_order_then_rebuild(&ACME_SMALL).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acme_small_shuffled_with_duplicates_matches_expected() {
    replay_shuffled_with_duplicates(&ACME_SMALL, 20_250_101).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rules_coverage_in_order_matches_expected_and_rebuild_is_identical() {
    replay_in_order_then_rebuild(&RULES_COVERAGE).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rules_coverage_shuffled_with_duplicates_matches_expected() {
    for seed in [7, 8] {
        replay_shuffled_with_duplicates(&RULES_COVERAGE, seed).await;
    }
}
