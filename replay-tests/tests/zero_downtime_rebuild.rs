//! `tally rebuild` without downtime: while a rebuild builds the new read-model version, the
//! report endpoints keep answering the old figures; after the switch they equal the
//! incremental projection, the old version's tables are gone, and the running server's
//! projector continues on the new version. A poison event stops a rebuild before any switch.

use chrono::Utc;
use ledger::domain::{Actor, EventMetadata};
use ledger::store::{EventStore, ExpectedVersion, NewEvent};
use projections::projector::{
    read_model_fingerprint, rebuild_with_progress, Projector, RebuildProgress,
};
use projections::synthetic_history::SyntheticHistory;
use projections::ProjectionError;
use replay_tests::{Delivery, Replay, ACME_SMALL};
use sqlx::PgPool;
use std::sync::mpsc;

async fn schema_exists(pool: &PgPool, schema: &str) -> bool {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)")
        .bind(schema)
        .fetch_one(pool)
        .await
        .expect("pg_namespace")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn reports_keep_serving_old_figures_during_a_rebuild_then_equal_incremental() {
    let replay = Replay::start().await;
    replay.deliver(&ACME_SMALL, Delivery::InOrder).await;
    replay.catch_up().await;
    let incremental = replay.all_answers(&ACME_SMALL).await;
    let pool = replay.database.pool.clone();
    let projectors = replay.server.state.projectors;
    let before = read_model_fingerprint(&pool, &projectors.mrr)
        .await
        .expect("fingerprint");

    // The rebuild pauses (in its progress report) right after replaying the log into v2.
    let (paused_sender, paused) = tokio::sync::oneshot::channel::<()>();
    let (resume, resume_receiver) = mpsc::channel::<()>();
    let rebuild_pool = pool.clone();
    let rebuild = tokio::spawn(async move {
        let mut paused_sender = Some(paused_sender);
        let mut report = move |progress: RebuildProgress| {
            if progress == RebuildProgress::Step("deriving") {
                if let Some(sender) = paused_sender.take() {
                    let _ = sender.send(());
                    // Blocks this worker only (its other tasks move elsewhere meanwhile).
                    let _ = tokio::task::block_in_place(|| resume_receiver.recv());
                }
            }
        };
        rebuild_with_progress(&rebuild_pool, &projectors.mrr, &mut report).await
    });
    paused.await.expect("the rebuild reached its pause");

    // Mid-rebuild: v2 exists but is not live; readers still see v1's (complete) figures.
    assert!(schema_exists(&pool, "read_model_mrr_v2").await);
    let during = replay.all_answers(&ACME_SMALL).await;
    assert_eq!(
        during, incremental,
        "reports answer the old figures during a rebuild"
    );
    let status = replay.get_json("/v1/status").await;
    let mrr = status["projections"]
        .as_array()
        .and_then(|all| all.iter().find(|p| p["name"] == "mrr"))
        .expect("mrr in status")
        .clone();
    assert_eq!(mrr["version"], 1);
    assert_eq!(mrr["rebuild"]["version"], 2);
    assert_eq!(mrr["rebuild"]["error"], serde_json::Value::Null);

    resume.send(()).expect("resume the rebuild");
    let outcome = rebuild.await.expect("task").expect("rebuild");
    assert_eq!((outcome.previous_version, outcome.version), (1, 2));
    replay.catch_up().await;

    assert_eq!(replay.all_answers(&ACME_SMALL).await, incremental);
    let after = read_model_fingerprint(&pool, &projectors.mrr)
        .await
        .expect("fingerprint");
    assert_eq!(
        before, after,
        "rebuilt read models equal the incremental ones"
    );
    assert!(
        !schema_exists(&pool, "read_model_mrr_v1").await,
        "old tables dropped"
    );
    let status = replay.get_json("/v1/status").await;
    let mrr = status["projections"]
        .as_array()
        .and_then(|all| all.iter().find(|p| p["name"] == "mrr"))
        .expect("mrr in status")
        .clone();
    assert_eq!(mrr["version"], 2);
    assert_eq!(mrr["rebuild"], serde_json::Value::Null);
    assert_eq!(mrr["position"], status["log_head"]);

    // The running server's projector continues on v2 with new events.
    let history = SyntheticHistory {
        customers: 1,
        months: 3,
        seed: 1,
        start: "2025-01-01T00:00:00Z".parse().expect("time"),
    };
    let store = EventStore::with_signal(pool.clone(), replay.server.state.append_signal.clone());
    for event in history.customer_events(0).iter().take(5) {
        store
            .append(
                &event.event.stream_id(),
                ExpectedVersion::Any,
                &[event.to_new_event()],
            )
            .await
            .expect("append");
    }
    let mut caught_up = false;
    for _ in 0..200 {
        let status = replay.get_json("/v1/status").await;
        let mrr = status["projections"]
            .as_array()
            .and_then(|all| all.iter().find(|p| p["name"] == "mrr"))
            .cloned()
            .unwrap_or_default();
        if mrr["version"] == 2 && mrr["position"] == status["log_head"] {
            caught_up = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(caught_up, "the server's projector applies new events to v2");
    replay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_poison_event_stops_the_projector_and_a_rebuild_before_any_switch() {
    let replay = Replay::start().await;
    replay.deliver(&ACME_SMALL, Delivery::InOrder).await;
    replay.catch_up().await;
    let incremental = replay.all_answers(&ACME_SMALL).await;
    let pool = replay.database.pool.clone();
    let projectors = replay.server.state.projectors;

    // An event no projector can read (a payload that does not match its type's schema).
    let store = EventStore::new(pool.clone());
    let poison = NewEvent {
        event_id: uuid::Uuid::now_v7(),
        event_type: "SubscriptionObserved".to_owned(),
        schema_version: 1,
        payload: serde_json::json!({"not": "a subscription"}),
        metadata: EventMetadata {
            source: "test".to_owned(),
            actor: Actor::System,
            stripe_event_id: None,
            stripe_api_version: None,
            causation_id: None,
            correlation_id: None,
            stripe_fetch: None,
        },
        effective_at: Utc::now(),
    };
    let appended = store
        .append("subscription-sub_poison", ExpectedVersion::Any, &[poison])
        .await
        .expect("append");
    let poison_position = match appended {
        ledger::store::AppendOutcome::Appended { positions, .. } => positions[0],
        other => panic!("unexpected {other:?}"),
    };
    replay.server.state.append_signal.notify();

    // The live projector stops at it and says so; nothing after it is skipped.
    let mut stopped = serde_json::Value::Null;
    for _ in 0..200 {
        let status = replay.get_json("/v1/status").await;
        let mrr = status["projections"]
            .as_array()
            .and_then(|all| all.iter().find(|p| p["name"] == "mrr"))
            .cloned()
            .unwrap_or_default();
        if mrr["error"] != serde_json::Value::Null {
            stopped = mrr;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(stopped["error"]["global_position"], poison_position);
    assert_eq!(stopped["position"], poison_position - 1);

    // A rebuild stops at it too, and does not switch.
    let error = rebuild_with_progress(&pool, &projectors.mrr, &mut |_| {})
        .await
        .expect_err("a rebuild cannot get past a poison event");
    assert!(
        matches!(error, ProjectionError::PoisonEvent { global_position, .. } if global_position == poison_position),
        "{error}"
    );
    let status = replay.get_json("/v1/status").await;
    let mrr = status["projections"]
        .as_array()
        .and_then(|all| all.iter().find(|p| p["name"] == "mrr"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(mrr["version"], 1, "no switch");
    assert_eq!(mrr["rebuild"]["error"]["global_position"], poison_position);
    assert!(schema_exists(&pool, "read_model_mrr_v1").await);
    assert_eq!(
        replay.all_answers(&ACME_SMALL).await,
        incremental,
        "the old read models keep serving"
    );
    replay.stop().await;
}

/// Every index definition of `schema`'s tables, with the schema name taken out (so two
/// versions compare equal when their indexes are the same).
async fn index_definitions(pool: &PgPool, schema: &str) -> Vec<String> {
    let definitions: Vec<String> = sqlx::query_scalar(
        "SELECT replace(indexdef, schemaname || '.', '') FROM pg_indexes
          WHERE schemaname = $1 ORDER BY indexname",
    )
    .bind(schema)
    .fetch_all(pool)
    .await
    .expect("pg_indexes");
    definitions
}

/// Rebuilds `projector` from v1 to v2 and asserts that v2 has v1's index definitions and the
/// same read-model rows (fingerprint; `rows_message` says why they should be equal).
async fn assert_rebuild_keeps_indexes_and_rows<P: Projector>(
    pool: &PgPool,
    projector: &P,
    rows_message: &str,
) {
    let name = projector.name();
    let before = read_model_fingerprint(pool, projector)
        .await
        .expect("fingerprint");
    let indexes = index_definitions(pool, &format!("read_model_{name}_v1")).await;
    rebuild_with_progress(pool, projector, &mut |_| {})
        .await
        .expect("rebuild");
    assert_eq!(
        index_definitions(pool, &format!("read_model_{name}_v2")).await,
        indexes
    );
    assert_eq!(
        read_model_fingerprint(pool, projector)
            .await
            .expect("fingerprint"),
        before,
        "{rows_message}"
    );
}

/// Rebuilds replay into tables without indexes and build them afterwards
/// (`Projector::bulk_only_inserts`): the new version ends with the same indexes and key
/// constraints as the old, and a snapshot the log holds twice under one key (the same Stripe
/// event recorded twice, which `ON CONFLICT DO NOTHING` skips incrementally) is kept once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_rebuild_builds_deferred_indexes_and_keeps_a_twice_recorded_snapshot_once() {
    let replay = Replay::start().await;
    replay.deliver(&ACME_SMALL, Delivery::InOrder).await;
    replay.catch_up().await;
    let pool = replay.database.pool.clone();
    let projectors = replay.server.state.projectors;

    // The first invoice snapshot, recorded a second time under a new event id.
    let (stream_id, schema_version, payload, metadata, effective_at): (
        String,
        i32,
        serde_json::Value,
        serde_json::Value,
        chrono::DateTime<Utc>,
    ) = sqlx::query_as(
        "SELECT stream_id, schema_version, payload::jsonb, metadata::jsonb, effective_at FROM events
          WHERE event_type = 'InvoiceObserved' ORDER BY global_position LIMIT 1",
    )
    .fetch_one(&pool)
    .await
    .expect("an invoice snapshot in the log");
    let again = NewEvent {
        event_id: uuid::Uuid::now_v7(),
        event_type: "InvoiceObserved".to_owned(),
        schema_version,
        payload,
        metadata: serde_json::from_value(metadata).expect("metadata"),
        effective_at,
    };
    assert!(again.metadata.stripe_event_id.is_some());
    EventStore::new(pool.clone())
        .append(&stream_id, ExpectedVersion::Any, &[again])
        .await
        .expect("append");
    replay.server.state.append_signal.notify();
    replay.catch_up().await;
    let incremental = replay.all_answers(&ACME_SMALL).await;

    let cash_indexes = index_definitions(&pool, "read_model_cash_v1").await;
    assert!(cash_indexes.len() >= 4, "{cash_indexes:?}");
    assert_rebuild_keeps_indexes_and_rows(
        &pool,
        &projectors.cash,
        "the twice-recorded snapshot is kept once, as incrementally",
    )
    .await;
    assert_rebuild_keeps_indexes_and_rows(
        &pool,
        &projectors.customer_events,
        "customer_events rebuilt",
    )
    .await;
    assert_eq!(replay.all_answers(&ACME_SMALL).await, incremental);
    replay.stop().await;
}
