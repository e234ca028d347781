//! Bulk import through COPY: versions after the head in chunk order, idempotent by event id and
//! inbox key, safe next to concurrent appends (contiguous versions, per-stream order in the
//! gated feed), and the same values as the ordinary append.

mod support;

use ledger::store::append::append_in;
use ledger::store::bulk_import::{copy_append_chunk, StreamEvent};
use ledger::store::inbox::{self, InboxMessage, InboxOutcome};
use ledger::store::test_database::TestDatabase;
use ledger::store::{read, EventStore, ExpectedVersion, FeedCursor, RecordedEvent};
use ledger::LedgerError;
use sqlx::{Connection, PgConnection};
use std::collections::{BTreeMap, HashSet};
use std::time::Duration;
use support::new_event;

/// An inbox row as stored: key, type, body, outcome, reason, event count.
type StoredInboxRow = (String, Option<String>, Vec<u8>, String, Option<String>, i32);

fn stream_event(stream: &str, label: &str) -> StreamEvent {
    StreamEvent::new(stream, new_event(label))
}

fn inbox_message<'a>(key: &'a str, body: &'a [u8]) -> InboxMessage<'a> {
    InboxMessage {
        source: "stripe",
        message_key: key,
        message_type: Some("customer.created"),
        body,
        outcome: InboxOutcome::Translated,
        reason: None,
        event_count: 1,
    }
}

async fn labels(pool: &sqlx::PgPool, stream: &str) -> Vec<(i64, String)> {
    read::read_stream(pool, stream, 1)
        .await
        .expect("read stream")
        .into_iter()
        .map(|event| {
            (
                event.stream_version,
                event.payload_value().expect("json")["label"]
                    .as_str()
                    .unwrap_or("")
                    .to_owned(),
            )
        })
        .collect()
}

async fn stream_head(pool: &sqlx::PgPool, stream: &str) -> Option<i64> {
    sqlx::query_scalar("SELECT version FROM streams WHERE stream_id = $1")
        .bind(stream)
        .fetch_optional(pool)
        .await
        .expect("head")
}

#[tokio::test]
async fn a_chunk_appends_after_each_head_in_chunk_order_and_a_reimport_writes_nothing() {
    let database = TestDatabase::create().await;
    let pool = &database.pool;
    EventStore::new(pool.clone())
        .append("stream-a", ExpectedVersion::Any, &[new_event("a1")])
        .await
        .expect("ordinary append first");

    let chunk = vec![
        stream_event("stream-b", "b1"),
        stream_event("stream-a", "a2"),
        stream_event("stream-b", "b2"),
        stream_event("stream-a", "a3"),
        stream_event("stream-c", "c1"),
    ];
    let mut conn = pool.acquire().await.expect("connection");
    let outcome = copy_append_chunk(&mut conn, &chunk, &[])
        .await
        .expect("bulk import");
    assert_eq!(outcome.appended, 5);
    assert_eq!(outcome.duplicates, 0);
    assert_eq!(outcome.streams_appended, 3);

    assert_eq!(
        labels(pool, "stream-a").await,
        [(1, "a1".into()), (2, "a2".into()), (3, "a3".into())]
    );
    assert_eq!(
        labels(pool, "stream-b").await,
        [(1, "b1".into()), (2, "b2".into())]
    );
    assert_eq!(stream_head(pool, "stream-a").await, Some(3));
    assert_eq!(stream_head(pool, "stream-b").await, Some(2));
    assert_eq!(stream_head(pool, "stream-c").await, Some(1));

    // The stored values are those the ordinary append stores (same types, same times).
    let stored = read::read_stream(pool, "stream-c", 1).await.expect("read");
    assert_eq!(stored[0].event_id, chunk[4].event.event_id);
    assert_eq!(stored[0].event_type, chunk[4].event.event_type);
    assert_eq!(stored[0].schema_version, chunk[4].event.schema_version);
    assert_eq!(
        stored[0].payload_value().expect("json"),
        chunk[4].event.payload
    );
    assert_eq!(stored[0].metadata, chunk[4].event.metadata);
    assert_eq!(stored[0].effective_at, chunk[4].event.effective_at);

    // A re-import is a no-op, and the head is where the ordinary append continues.
    let again = copy_append_chunk(&mut conn, &chunk, &[])
        .await
        .expect("re-import");
    assert_eq!((again.appended, again.duplicates), (0, 5));
    let next = EventStore::new(pool.clone())
        .append("stream-a", ExpectedVersion::Exact(3), &[new_event("a4")])
        .await;
    assert!(
        next.is_ok(),
        "append at the head after a bulk import: {next:?}"
    );
}

#[tokio::test]
async fn a_chunk_with_stored_and_repeated_event_ids_is_partially_skipped() {
    let database = TestDatabase::create().await;
    let pool = &database.pool;
    let already = new_event("stored");
    EventStore::new(pool.clone())
        .append(
            "stream-a",
            ExpectedVersion::Any,
            std::slice::from_ref(&already),
        )
        .await
        .expect("stored first");

    let repeated = new_event("first copy");
    let mut second_copy = repeated.clone();
    second_copy.payload = serde_json::json!({ "label": "second copy" });
    let chunk = vec![
        stream_event("stream-a", "new-1"),
        StreamEvent::new("stream-a", already),
        StreamEvent::new("stream-b", repeated),
        stream_event("stream-a", "new-2"),
        StreamEvent::new("stream-b", second_copy),
    ];
    let mut conn = pool.acquire().await.expect("connection");
    let outcome = copy_append_chunk(&mut conn, &chunk, &[])
        .await
        .expect("bulk import");
    assert_eq!((outcome.appended, outcome.duplicates), (3, 2));
    assert_eq!(
        labels(pool, "stream-a").await,
        [
            (1, "stored".into()),
            (2, "new-1".into()),
            (3, "new-2".into())
        ]
    );
    assert_eq!(labels(pool, "stream-b").await, [(1, "first copy".into())]);
}

#[tokio::test]
async fn inbox_rows_are_kept_once_and_gate_their_events() {
    let database = TestDatabase::create().await;
    let pool = &database.pool;
    let mut conn = pool.acquire().await.expect("connection");
    let mut tx = conn.begin().await.expect("begin");
    assert!(
        inbox::insert(&mut tx, &inbox_message("evt_kept_before", b"{}"))
            .await
            .expect("keep")
    );
    tx.commit().await.expect("commit");

    let inbox = [
        inbox_message("evt_new", b"{\"id\":\"evt_new\"}"),
        inbox_message("evt_kept_before", b"{\"id\":\"evt_kept_before\"}"),
        inbox_message("evt_new", b"{\"id\":\"evt_new\",\"again\":true}"),
        InboxMessage {
            outcome: InboxOutcome::Ignored,
            reason: Some("not used\ttab \\ backslash"),
            event_count: 0,
            ..inbox_message("evt_ignored", b"\x00\xff\\\n binary body")
        },
    ];
    let events = [
        stream_event("customer-1", "from evt_new").with_inbox_row(0),
        stream_event("customer-1", "from evt_kept_before").with_inbox_row(1),
        stream_event("customer-2", "from the repeated evt_new").with_inbox_row(2),
        stream_event("customer-2", "no inbox row"),
    ];
    let outcome = copy_append_chunk(&mut conn, &events, &inbox)
        .await
        .expect("bulk import");
    assert_eq!(outcome.inbox_kept, [true, false, false, true]);
    assert_eq!(
        (outcome.inbox_kept_count(), outcome.inbox_duplicates()),
        (2, 2)
    );
    assert_eq!((outcome.appended, outcome.duplicates), (2, 2));
    assert_eq!(
        labels(pool, "customer-1").await,
        [(1, "from evt_new".into())]
    );
    assert_eq!(
        labels(pool, "customer-2").await,
        [(1, "no inbox row".into())]
    );

    let rows: Vec<StoredInboxRow> = sqlx::query_as(
        "SELECT message_key, message_type, body, outcome, reason, event_count
             FROM inbox_messages ORDER BY inbox_position",
    )
    .fetch_all(pool)
    .await
    .expect("inbox");
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[1].0, "evt_new");
    assert_eq!(rows[1].2, b"{\"id\":\"evt_new\"}");
    assert_eq!(
        rows[2],
        (
            "evt_ignored".to_owned(),
            Some("customer.created".to_owned()),
            b"\x00\xff\\\n binary body".to_vec(),
            "ignored".to_owned(),
            Some("not used\ttab \\ backslash".to_owned()),
            0
        )
    );
}

#[tokio::test]
async fn an_inbox_key_kept_concurrently_during_the_copy_is_skipped_with_its_events() {
    let database = TestDatabase::create().await;
    let pool = database.pool.clone();

    // A webhook delivery of evt_race keeps its inbox row but has not committed yet.
    let mut webhook = pool.begin().await.expect("begin webhook");
    assert!(
        inbox::insert(&mut webhook, &inbox_message("evt_race", b"webhook"))
            .await
            .expect("keep")
    );

    let import_pool = pool.clone();
    let import = tokio::spawn(async move {
        let inbox = [
            inbox_message("evt_other", b"other"),
            inbox_message("evt_race", b"import"),
        ];
        let events = [
            stream_event("customer-1", "from evt_other").with_inbox_row(0),
            stream_event("customer-1", "from evt_race").with_inbox_row(1),
        ];
        let mut conn = import_pool.acquire().await.expect("connection");
        copy_append_chunk(&mut conn, &events, &inbox).await
    });
    // Wait until the import's COPY waits on the uncommitted key (so its pre-check did not see
    // it); then the webhook commits first and the COPY fails on the key.
    let mut waiting = 0;
    for _ in 0..500 {
        waiting = sqlx::query_scalar::<_, i64>(
            "SELECT count(*) FROM pg_stat_activity
             WHERE datname = current_database() AND wait_event = 'transactionid'",
        )
        .fetch_one(&pool)
        .await
        .expect("activity");
        if waiting > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(
        waiting, 1,
        "the import's COPY never waited on the webhook's key"
    );
    webhook.commit().await.expect("webhook commits");
    let outcome = import.await.expect("task").expect("bulk import");

    assert_eq!(outcome.inbox_kept, [true, false]);
    assert_eq!((outcome.appended, outcome.duplicates), (1, 1));
    assert_eq!(
        labels(&pool, "customer-1").await,
        [(1, "from evt_other".into())]
    );
    let bodies: Vec<(String, Vec<u8>)> =
        sqlx::query_as("SELECT message_key, body FROM inbox_messages ORDER BY message_key")
            .fetch_all(&pool)
            .await
            .expect("inbox");
    assert_eq!(
        bodies,
        [
            ("evt_other".to_owned(), b"other".to_vec()),
            ("evt_race".to_owned(), b"webhook".to_vec())
        ]
    );
}

#[tokio::test]
async fn a_malformed_chunk_or_an_open_transaction_is_refused_and_writes_nothing() {
    let database = TestDatabase::create().await;
    let pool = &database.pool;
    let mut conn = pool.acquire().await.expect("connection");
    let bad_row = [stream_event("stream-a", "x").with_inbox_row(0)];
    let refused = copy_append_chunk(&mut conn, &bad_row, &[]).await;
    assert!(
        matches!(refused, Err(LedgerError::InvalidChunk(_))),
        "{refused:?}"
    );

    let mut tx = conn.begin().await.expect("begin");
    let refused = copy_append_chunk(&mut tx, &[stream_event("stream-a", "x")], &[]).await;
    assert!(
        matches!(refused, Err(LedgerError::InvalidChunk(_))),
        "{refused:?}"
    );
    tx.rollback().await.expect("rollback");
    assert!(labels(pool, "stream-a").await.is_empty());
}

/// Chunks and ordinary appends hit the same streams at once while a reader tails the gated
/// feed: every stream's versions are contiguous, the feed delivers each event once and each
/// stream in version order.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn chunks_next_to_concurrent_appends_keep_versions_contiguous_and_the_feed_in_order() {
    const CHUNKS: usize = 12;
    const CHUNK_EVENTS: usize = 300;
    const APPENDERS: usize = 4;
    const APPENDS_EACH: usize = 60;
    let database = TestDatabase::create().await;
    let pool = database.pool.clone();
    let streams: Vec<String> = (0..8).map(|n| format!("hot-{n}")).collect();

    let reader_pool = pool.clone();
    let (done_sender, done) = tokio::sync::watch::channel(false);
    let reader = tokio::spawn(async move {
        let mut delivered: Vec<RecordedEvent> = Vec::new();
        let mut cursor = FeedCursor::default();
        loop {
            let finished = *done.borrow();
            let page = read::read_all_after(&reader_pool, cursor, 500)
                .await
                .expect("read page");
            if let Some(last) = page.last() {
                cursor = FeedCursor {
                    transaction_id: last.transaction_id,
                    global_position: last.global_position,
                };
            }
            let empty = page.is_empty();
            delivered.extend(page);
            if empty && finished {
                return delivered;
            }
            if empty {
                tokio::time::sleep(Duration::from_millis(3)).await;
            }
        }
    });

    let importer_pool = pool.clone();
    let importer_streams = streams.clone();
    let importer = tokio::spawn(async move {
        let mut conn = PgConnection::connect_with(&importer_pool.connect_options())
            .await
            .expect("connect");
        let mut appended = 0;
        for chunk in 0..CHUNKS {
            let events: Vec<StreamEvent> = (0..CHUNK_EVENTS)
                .map(|n| {
                    let stream = &importer_streams[(n * 7 + chunk) % importer_streams.len()];
                    stream_event(stream, "bulk")
                })
                .collect();
            let outcome = copy_append_chunk(&mut conn, &events, &[])
                .await
                .expect("bulk import");
            appended += outcome.appended;
        }
        appended
    });
    let mut appenders = Vec::new();
    for appender in 0..APPENDERS {
        let store = EventStore::new(pool.clone());
        let streams = streams.clone();
        appenders.push(tokio::spawn(async move {
            for n in 0..APPENDS_EACH {
                let stream = &streams[(appender * 3 + n) % streams.len()];
                if n % 2 == 0 {
                    store
                        .append(stream, ExpectedVersion::Any, &[new_event("single")])
                        .await
                        .expect("append");
                } else {
                    // Two streams in one transaction, locked first (as the webhook path does).
                    let other = &streams[(appender + n + 1) % streams.len()];
                    let mut tx = store.pool().begin().await.expect("begin");
                    ledger::store::append::lock_streams(&mut tx, &[stream.clone(), other.clone()])
                        .await
                        .expect("lock");
                    for target in [stream, other] {
                        append_in(&mut tx, target, ExpectedVersion::Any, &[new_event("pair")])
                            .await
                            .expect("append");
                    }
                    tx.commit().await.expect("commit");
                }
            }
        }));
    }
    let bulk_appended = importer.await.expect("importer");
    for appender in appenders {
        appender.await.expect("appender");
    }
    done_sender.send(true).expect("reader alive");
    let delivered = reader.await.expect("reader");

    assert_eq!(bulk_appended, (CHUNKS * CHUNK_EVENTS) as u64);
    let expected_total = CHUNKS * CHUNK_EVENTS + APPENDERS * APPENDS_EACH * 3 / 2;
    assert_eq!(delivered.len(), expected_total);
    let unique: HashSet<_> = delivered.iter().map(|event| event.event_id).collect();
    assert_eq!(
        unique.len(),
        delivered.len(),
        "an event was delivered twice"
    );

    let mut last_version: BTreeMap<&str, i64> = BTreeMap::new();
    for event in &delivered {
        let previous = last_version
            .insert(&event.stream_id, event.stream_version)
            .unwrap_or(0);
        assert_eq!(
            event.stream_version,
            previous + 1,
            "stream {} out of order in the gated feed",
            event.stream_id
        );
    }
    for stream in &streams {
        let versions: Vec<i64> = read::read_stream(&pool, stream, 1)
            .await
            .expect("read")
            .iter()
            .map(|event| event.stream_version)
            .collect();
        let contiguous: Vec<i64> = (1..=versions.len() as i64).collect();
        assert_eq!(versions, contiguous, "stream {stream}");
        assert_eq!(
            stream_head(&pool, stream).await,
            Some(versions.len() as i64)
        );
    }
}
