//! Multi-stream appends: atomic across streams, one expected version per stream, idempotent by
//! command id.

mod support;

use ledger::store::test_database::TestDatabase;
use ledger::store::{read, EventStore, ExpectedVersion, StreamAppend, StreamsAppendOutcome};
use ledger::LedgerError;
use support::new_event;
use uuid::Uuid;

fn stream_append(stream_id: &str, expected: ExpectedVersion, labels: &[&str]) -> StreamAppend {
    StreamAppend {
        stream_id: stream_id.to_owned(),
        expected,
        events: labels.iter().map(|label| new_event(label)).collect(),
    }
}

#[tokio::test]
async fn one_append_writes_several_streams_with_their_own_versions() {
    let database = TestDatabase::create().await;
    let store = EventStore::new(database.pool.clone());
    store
        .append("customer-cus_1", ExpectedVersion::Any, &[new_event("old")])
        .await
        .expect("seed");

    let outcome = store
        .append_streams(
            None,
            &[
                stream_append(
                    "subscription-sub_1",
                    ExpectedVersion::NoStream,
                    &["s1", "s2"],
                ),
                stream_append("customer-cus_1", ExpectedVersion::Exact(1), &["c2"]),
            ],
        )
        .await
        .expect("multi-stream append");
    let StreamsAppendOutcome::Appended(events) = outcome else {
        panic!("expected Appended, got {outcome:?}");
    };
    let placed: Vec<(&str, i64)> = events
        .iter()
        .map(|event| (event.stream_id.as_str(), event.stream_version))
        .collect();
    assert_eq!(
        placed,
        [
            ("subscription-sub_1", 1),
            ("subscription-sub_1", 2),
            ("customer-cus_1", 2)
        ]
    );
    assert!(events
        .windows(2)
        .all(|pair| pair[0].global_position < pair[1].global_position));
    let customer = read::read_stream(&database.pool, "customer-cus_1", 1)
        .await
        .expect("read");
    assert_eq!(customer.len(), 2);
    assert_eq!(customer[1].payload["label"], "c2");
}

#[tokio::test]
async fn a_wrong_version_on_any_stream_writes_nothing_and_names_that_stream() {
    let database = TestDatabase::create().await;
    let store = EventStore::new(database.pool.clone());
    store
        .append(
            "invoice-in_1",
            ExpectedVersion::Any,
            &[new_event("a"), new_event("b")],
        )
        .await
        .expect("seed");

    let refused = store
        .append_streams(
            None,
            &[
                stream_append("charge-ch_1", ExpectedVersion::NoStream, &["x"]),
                stream_append("invoice-in_1", ExpectedVersion::Exact(1), &["c"]),
            ],
        )
        .await;
    match refused {
        Err(LedgerError::WrongExpectedVersion {
            stream_id,
            expected,
            actual,
        }) => {
            assert_eq!(stream_id, "invoice-in_1");
            assert_eq!((expected, actual), (1, 2));
        }
        other => panic!("expected WrongExpectedVersion, got {other:?}"),
    }
    assert_eq!(read::log_head(&database.pool).await.expect("head"), 2);
    assert!(read::read_stream(&database.pool, "charge-ch_1", 1)
        .await
        .expect("read")
        .is_empty());
}

#[tokio::test]
async fn a_stream_with_no_events_only_asserts_its_version() {
    let database = TestDatabase::create().await;
    let store = EventStore::new(database.pool.clone());
    store
        .append("customer-cus_9", ExpectedVersion::Any, &[new_event("a")])
        .await
        .expect("seed");
    let guarded = store
        .append_streams(
            None,
            &[
                stream_append("customer-cus_9", ExpectedVersion::Exact(1), &[]),
                stream_append("subscription-sub_9", ExpectedVersion::Any, &["s"]),
            ],
        )
        .await
        .expect("guard holds");
    assert_eq!(guarded.events().len(), 1);
    let stale = store
        .append_streams(
            None,
            &[
                stream_append("customer-cus_9", ExpectedVersion::NoStream, &[]),
                stream_append("subscription-sub_9", ExpectedVersion::Any, &["t"]),
            ],
        )
        .await;
    assert!(
        matches!(stale, Err(LedgerError::WrongExpectedVersion { .. })),
        "got {stale:?}"
    );
}

#[tokio::test]
async fn a_retried_command_returns_its_original_events_and_writes_nothing() {
    let database = TestDatabase::create().await;
    let store = EventStore::new(database.pool.clone());
    let command_id = Uuid::now_v7();
    let first = store
        .append_streams(
            Some(command_id),
            &[
                stream_append(
                    "subscription-sub_2",
                    ExpectedVersion::NoStream,
                    &["created"],
                ),
                stream_append("customer-cus_2", ExpectedVersion::Any, &["linked"]),
            ],
        )
        .await
        .expect("command handled");
    assert!(!first.is_duplicate());

    // The retry was decided afresh (new event ids, even a stale expected version): the command
    // id alone makes it a no-op that returns the original result.
    let retry = store
        .append_streams(
            Some(command_id),
            &[
                stream_append("subscription-sub_2", ExpectedVersion::NoStream, &["again"]),
                stream_append("customer-cus_2", ExpectedVersion::Any, &["again"]),
            ],
        )
        .await
        .expect("retry");
    assert_eq!(
        retry,
        StreamsAppendOutcome::Duplicate(first.events().to_vec())
    );
    assert_eq!(read::log_head(&database.pool).await.expect("head"), 2);
}

#[tokio::test]
async fn concurrent_retries_of_one_command_append_once() {
    let database = TestDatabase::create().await;
    let store = EventStore::new(database.pool.clone());
    let command_id = Uuid::now_v7();
    let mut tasks = Vec::new();
    for attempt in 0..8 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            store
                .append_streams(
                    Some(command_id),
                    &[stream_append(
                        "subscription-sub_3",
                        ExpectedVersion::Any,
                        &[&format!("attempt {attempt}")],
                    )],
                )
                .await
                .expect("append or duplicate")
        }));
    }
    let mut appended = 0;
    for task in tasks {
        if !task.await.expect("task").is_duplicate() {
            appended += 1;
        }
    }
    assert_eq!(appended, 1);
    let stream = read::read_stream(&database.pool, "subscription-sub_3", 1)
        .await
        .expect("read");
    assert_eq!(stream.len(), 1);
}

#[tokio::test]
async fn a_stream_listed_twice_is_refused_before_anything_is_sent() {
    let database = TestDatabase::create().await;
    let store = EventStore::new(database.pool.clone());
    let refused = store
        .append_streams(
            None,
            &[
                stream_append("charge-ch_5", ExpectedVersion::Any, &["a"]),
                stream_append("charge-ch_5", ExpectedVersion::Any, &["b"]),
            ],
        )
        .await;
    assert!(
        matches!(refused, Err(LedgerError::DuplicateStreamInAppend { .. })),
        "got {refused:?}"
    );
    assert_eq!(read::log_head(&database.pool).await.expect("head"), 0);
}
