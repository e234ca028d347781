//! Subscriptions: catch up in pages, then tail the live log, woken in-process after a commit and
//! across processes by the debounced NOTIFY. The polling fallback is set to a minute here, so a
//! delivery within seconds proves the wake-up path.

mod support;

use ledger::store::read;
use ledger::store::test_database::TestDatabase;
use ledger::store::{
    AppendSignal, EventStore, ExpectedVersion, FeedCursor, FeedNotifications, SubscriptionOptions,
};
use std::time::Duration;
use support::new_event;

const NO_POLLING: SubscriptionOptions = SubscriptionOptions {
    page_size: 2,
    poll_interval: Duration::from_secs(60),
};

#[tokio::test]
async fn a_subscription_catches_up_in_pages_then_is_woken_by_an_in_process_append() {
    let database = TestDatabase::create().await;
    let store = EventStore::new(database.pool.clone());
    for label in ["a", "b", "c"] {
        store
            .append("customer-cus_1", ExpectedVersion::Any, &[new_event(label)])
            .await
            .expect("append");
    }
    let mut subscription = store.subscribe(FeedCursor::default(), NO_POLLING);
    let first = subscription.next_batch().await.expect("first page");
    let second = subscription.next_batch().await.expect("second page");
    assert_eq!(first.len() + second.len(), 3, "pages of at most 2");
    assert_eq!(second.last().map(|event| event.global_position), Some(3));
    assert!(subscription
        .try_next_batch()
        .await
        .expect("caught up")
        .is_empty());

    let waiting = tokio::spawn(async move {
        let page = subscription.next_batch().await.expect("live page");
        (page, subscription.cursor())
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    store
        .append(
            "customer-cus_1",
            ExpectedVersion::Exact(3),
            &[new_event("live")],
        )
        .await
        .expect("append");
    let (page, cursor) = tokio::time::timeout(Duration::from_secs(5), waiting)
        .await
        .expect("woken in-process, not by polling")
        .expect("task");
    assert_eq!(page[0].payload_value().expect("json")["label"], "live");
    assert_eq!(cursor.global_position, 4);
}

#[tokio::test]
async fn another_process_is_woken_by_the_debounced_notify() {
    let database = TestDatabase::create().await;
    // Two "processes": each has its own signal and its own notification tasks.
    let writer_signal = AppendSignal::new();
    let reader_signal = AppendSignal::new();
    let _writer_notifications =
        FeedNotifications::start(database.pool.clone(), writer_signal.clone());
    let _reader_notifications =
        FeedNotifications::start(database.pool.clone(), reader_signal.clone());
    let writer = EventStore::with_signal(database.pool.clone(), writer_signal);
    let reader = EventStore::with_signal(database.pool.clone(), reader_signal);

    let mut subscription = reader.subscribe(FeedCursor::default(), NO_POLLING);
    assert!(subscription
        .try_next_batch()
        .await
        .expect("empty log")
        .is_empty());
    let waiting = tokio::spawn(async move { subscription.next_batch().await });
    // Let the reader's LISTEN start before the append.
    tokio::time::sleep(Duration::from_millis(300)).await;
    writer
        .append(
            "invoice-in_1",
            ExpectedVersion::Any,
            &[new_event("elsewhere")],
        )
        .await
        .expect("append");
    let page = tokio::time::timeout(Duration::from_secs(5), waiting)
        .await
        .expect("woken by NOTIFY, not by polling")
        .expect("task")
        .expect("page");
    assert_eq!(page[0].payload_value().expect("json")["label"], "elsewhere");
}

/// After a full page the next one is read ahead; a read-ahead that found nothing ran before
/// the events appended since, so it must not count as "caught up": the next call reads again.
#[tokio::test]
async fn a_page_read_ahead_before_an_append_does_not_hide_it() {
    let database = TestDatabase::create().await;
    let store = EventStore::new(database.pool.clone());
    let labels = ["a", "b", "c", "d"].map(new_event);
    store
        .append("customer-cus_1", ExpectedVersion::NoStream, &labels)
        .await
        .expect("append");
    let mut subscription = store.subscribe(FeedCursor::default(), NO_POLLING);
    let first = subscription.try_next_batch().await.expect("first page");
    let second = subscription.try_next_batch().await.expect("second page");
    let positions: Vec<i64> = first
        .iter()
        .chain(&second)
        .map(|event| event.global_position)
        .collect();
    assert_eq!(positions, [1, 2, 3, 4], "every event once, in order");
    // The second page was full: a read-ahead of the (empty) rest is now under way or done.
    tokio::time::sleep(Duration::from_millis(100)).await;
    store
        .append(
            "customer-cus_1",
            ExpectedVersion::Exact(4),
            &[new_event("after the read-ahead")],
        )
        .await
        .expect("append");
    // Other tests' transactions on the shared test cluster can hold the feed's gate back for a
    // moment: wait until a fresh read delivers the event, then ask the subscription once.
    let after_four = subscription.cursor();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while read::read_all_after(&database.pool, after_four, 10)
        .await
        .expect("fresh read")
        .is_empty()
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the event never became deliverable"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let page = subscription
        .try_next_batch()
        .await
        .expect("read again, not the empty read-ahead");
    assert_eq!(page.len(), 1);
    assert_eq!(page[0].global_position, 5);
}
