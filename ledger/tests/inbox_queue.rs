//! Inbox-first ingest (migration 0015, `ledger::store::inbox_queue`): a message is kept, queued
//! and its delivery logged in one statement, once per key; the translator's transaction reads
//! the queue oldest first and records outcomes exactly once; the application role may work the
//! queue but cannot rewrite or erase the outcomes.

use ledger::store::inbox::{outcome_counts, InboxOutcome};
use ledger::store::inbox_queue::{
    accept_message, lock_translator, queue_depth, read_pending, record_translations,
    ArrivingMessage, MessageTranslation,
};
use ledger::store::test_database::TestDatabase;
use ledger::store::webhook_deliveries::{
    list_deliveries, DeliveryFilter, DeliveryStatus, NewDelivery,
};

fn arriving<'a>(key: &'a str, body: &'a [u8]) -> ArrivingMessage<'a> {
    ArrivingMessage {
        source: "stripe",
        message_key: key,
        message_type: Some("customer.created"),
        body,
    }
}

fn received(key: &str) -> NewDelivery<'_> {
    NewDelivery {
        stripe_event_id: Some(key),
        event_type: Some("customer.created"),
        status: DeliveryStatus::Received,
        reason: None,
        body_bytes: Some(2),
        signature_timestamp: None,
    }
}

#[tokio::test]
async fn a_message_is_kept_and_queued_once_and_its_outcome_recorded_once() {
    let database = TestDatabase::create().await;
    let pool = &database.pool;
    for key in ["evt_q_1", "evt_q_2", "evt_q_1"] {
        accept_message(pool, &arriving(key, b"{}"), &received(key))
            .await
            .expect("accept");
    }
    let again = accept_message(pool, &arriving("evt_q_2", b"{}"), &received("evt_q_2"))
        .await
        .expect("accept a redelivery");
    assert!(!again, "a redelivery is not kept again");
    let deliveries = list_deliveries(
        pool,
        &DeliveryFilter {
            limit: 10,
            ..DeliveryFilter::default()
        },
    )
    .await
    .expect("deliveries");
    let statuses: Vec<&str> = deliveries.iter().map(|row| row.status.as_str()).collect();
    assert_eq!(statuses, ["duplicate", "duplicate", "received", "received"]);

    let depth = queue_depth(pool).await.expect("depth");
    assert_eq!(depth.pending, 2);
    assert!(depth.oldest_received_at.is_some());

    let mut transaction = pool.begin().await.expect("begin");
    lock_translator(&mut transaction).await.expect("lock");
    let pending = read_pending(&mut transaction, 10).await.expect("read");
    assert_eq!(pending.len(), 2);
    assert!(
        pending[0].inbox_position < pending[1].inbox_position,
        "oldest first"
    );
    let translations: Vec<MessageTranslation> = pending
        .iter()
        .map(|message| MessageTranslation {
            inbox_position: message.inbox_position,
            outcome: InboxOutcome::Ignored,
            reason: Some("test".to_owned()),
            event_count: 0,
        })
        .collect();
    record_translations(&mut transaction, &translations)
        .await
        .expect("record");
    transaction.commit().await.expect("commit");

    let depth = queue_depth(pool).await.expect("depth");
    assert_eq!((depth.pending, depth.oldest_received_at), (0, None));
    assert_eq!(outcome_counts(pool).await.expect("counts"), (0, 2, 0));
    // An outcome is written once: recording it again is refused by the primary key.
    let mut transaction = pool.begin().await.expect("begin");
    let twice = record_translations(&mut transaction, &translations[..1]).await;
    assert!(twice.is_err(), "an outcome is recorded once");
}

#[tokio::test]
async fn the_application_role_works_the_queue_but_cannot_rewrite_outcomes() {
    let database = TestDatabase::create().await;
    let pool = &database.pool;
    accept_message(pool, &arriving("evt_r_1", b"{}"), &received("evt_r_1"))
        .await
        .expect("accept");
    sqlx::query(
        "INSERT INTO inbox_translations (inbox_position, outcome, event_count)
         SELECT inbox_position, 'ignored', 0 FROM inbox_messages",
    )
    .execute(pool)
    .await
    .expect("the application role records an outcome");
    for (table, statement) in [
        (
            "inbox_translations",
            "UPDATE inbox_translations SET reason = 'x'",
        ),
        ("inbox_translations", "DELETE FROM inbox_translations"),
        ("inbox_translations", "TRUNCATE inbox_translations"),
        (
            "inbox_pending",
            "UPDATE inbox_pending SET inbox_position = 0",
        ),
        ("inbox_pending", "TRUNCATE inbox_pending"),
    ] {
        let refused = sqlx::query(statement).execute(pool).await;
        let message = refused.expect_err(statement).to_string();
        assert!(
            message.contains(&format!("permission denied for table {table}")),
            "{statement}: {message}"
        );
    }
    sqlx::query("DELETE FROM inbox_pending")
        .execute(pool)
        .await
        .expect("the translator dequeues");
    // The owner passes the privilege checks; the triggers still refuse.
    let owner = database.owner_pool().await;
    for statement in [
        "UPDATE inbox_translations SET reason = 'x'",
        "DELETE FROM inbox_translations",
        "TRUNCATE inbox_translations",
    ] {
        let refused = sqlx::query(statement).execute(&owner).await;
        let message = refused.expect_err(statement).to_string();
        assert!(message.contains("append-only"), "{statement}: {message}");
    }
}
