//! Appending: optimistic concurrency, idempotency by event id, immutability of the log.

mod support;

use ledger::store::test_database::TestDatabase;
use ledger::store::{read, AppendOutcome, EventStore, ExpectedVersion};
use ledger::LedgerError;
use support::new_event;

#[tokio::test]
async fn appends_to_a_new_stream_then_at_its_exact_version() {
    let database = TestDatabase::create().await;
    let store = EventStore::new(database.pool.clone());
    let first = store
        .append(
            "subscription-sub_1",
            ExpectedVersion::NoStream,
            &[new_event("a"), new_event("b")],
        )
        .await
        .expect("append to a new stream");
    let AppendOutcome::Appended {
        positions,
        stream_version,
    } = first
    else {
        panic!("expected Appended, got {first:?}");
    };
    assert_eq!(stream_version, 2);
    assert_eq!(positions.len(), 2);
    assert!(positions[0] < positions[1]);

    let second = store
        .append(
            "subscription-sub_1",
            ExpectedVersion::Exact(2),
            &[new_event("c")],
        )
        .await
        .expect("append at the exact version");
    assert!(matches!(
        second,
        AppendOutcome::Appended {
            stream_version: 3,
            ..
        }
    ));

    let stream = read::read_stream(&database.pool, "subscription-sub_1", 1)
        .await
        .expect("read stream");
    let versions: Vec<i64> = stream.iter().map(|event| event.stream_version).collect();
    assert_eq!(versions, [1, 2, 3]);
    assert_eq!(stream[2].payload_value().expect("json")["label"], "c");
}

#[tokio::test]
async fn appending_at_an_unexpected_version_is_a_conflict_and_writes_nothing() {
    let database = TestDatabase::create().await;
    let store = EventStore::new(database.pool.clone());
    store
        .append("invoice-in_1", ExpectedVersion::NoStream, &[new_event("a")])
        .await
        .expect("first append");

    let stale = store
        .append("invoice-in_1", ExpectedVersion::Exact(5), &[new_event("b")])
        .await;
    assert!(
        matches!(
            &stale,
            Err(LedgerError::WrongExpectedVersion {
                expected: 5,
                actual: 1,
                ..
            })
        ),
        "got {stale:?}"
    );
    let exists = store
        .append("invoice-in_1", ExpectedVersion::NoStream, &[new_event("c")])
        .await;
    assert!(
        matches!(
            &exists,
            Err(LedgerError::WrongExpectedVersion {
                expected: 0,
                actual: 1,
                ..
            })
        ),
        "got {exists:?}"
    );
    assert_eq!(read::log_head(&database.pool).await.expect("head"), 1);
}

#[tokio::test]
async fn appending_an_existing_event_id_is_a_no_op_reporting_the_original_position() {
    let database = TestDatabase::create().await;
    let store = EventStore::new(database.pool.clone());
    let event = new_event("once");
    let first = store
        .append(
            "charge-ch_1",
            ExpectedVersion::Any,
            std::slice::from_ref(&event),
        )
        .await
        .expect("first append");
    let AppendOutcome::Appended { positions, .. } = first else {
        panic!("expected Appended");
    };

    // A retry, even with a stale expected version, reports the original position.
    let retry = store
        .append(
            "charge-ch_1",
            ExpectedVersion::NoStream,
            std::slice::from_ref(&event),
        )
        .await
        .expect("retry");
    assert_eq!(retry, AppendOutcome::Duplicate { positions });
    assert_eq!(read::log_head(&database.pool).await.expect("head"), 1);

    // A batch that only partly repeats stored events is refused whole.
    let partial = store
        .append(
            "charge-ch_1",
            ExpectedVersion::Any,
            &[event, new_event("new")],
        )
        .await;
    assert!(
        matches!(partial, Err(LedgerError::PartialDuplicate { .. })),
        "got {partial:?}"
    );
    assert_eq!(read::log_head(&database.pool).await.expect("head"), 1);
}

#[tokio::test]
async fn triggers_refuse_update_delete_and_truncate_of_the_log_even_to_the_owner() {
    let database = TestDatabase::create().await;
    let store = EventStore::new(database.pool.clone());
    store
        .append("customer-cus_1", ExpectedVersion::Any, &[new_event("kept")])
        .await
        .expect("append");
    let mut connection = database.pool.acquire().await.expect("connection");
    ledger::store::inbox::insert(
        &mut connection,
        &ledger::store::inbox::InboxMessage {
            source: "stripe",
            message_key: "evt_1",
            message_type: Some("customer.created"),
            body: b"{}",
            outcome: ledger::store::inbox::InboxOutcome::Ignored,
            reason: None,
            event_count: 0,
        },
    )
    .await
    .expect("keep a raw message");
    drop(connection);
    // The owner (a superuser here) passes the privilege checks that stop the application role
    // (tests/event_store_application_role.rs); the triggers refuse. Row triggers fire only for
    // existing rows: both tables hold one.
    let owner = database.owner_pool().await;
    for (table, statements) in [
        (
            "events",
            [
                "UPDATE events SET payload = '{}'",
                "DELETE FROM events",
                "TRUNCATE events",
            ],
        ),
        (
            "inbox_messages",
            [
                "UPDATE inbox_messages SET body = ''",
                "DELETE FROM inbox_messages",
                // CASCADE: without it the foreign keys of the translation queue and outcomes
                // (migration 0015) refuse first, and the trigger would go untested.
                "TRUNCATE inbox_messages CASCADE",
            ],
        ),
    ] {
        for statement in statements {
            let refused = sqlx::query(statement).execute(&owner).await;
            let message = refused.expect_err(statement).to_string();
            assert!(message.contains("append-only"), "{statement}: {message}");
            assert!(message.contains(table), "{statement}: {message}");
        }
    }
    let stream = read::read_stream(&database.pool, "customer-cus_1", 1)
        .await
        .expect("read");
    assert_eq!(stream.len(), 1);
    assert_eq!(stream[0].payload_value().expect("json")["label"], "kept");
}
