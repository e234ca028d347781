//! The application role `tally_app` (migrations/0004_application_role.sql): it may append to
//! and read the log and the inbox, and the database refuses it UPDATE, DELETE and TRUNCATE of
//! them by privileges, before any trigger runs.

mod support;

use ledger::store::connect::{Database, APPLICATION_ROLE};
use ledger::store::inbox::{InboxMessage, InboxOutcome};
use ledger::store::test_database::TestDatabase;
use ledger::store::{read, EventStore, ExpectedVersion, FeedCursor};
use sqlx::ConnectOptions;
use std::path::Path;
use support::new_event;

/// Appends one event and keeps one raw message, through the application role's pool.
async fn one_event_and_one_message(database: &TestDatabase) {
    let store = EventStore::new(database.pool.clone());
    store
        .append(
            "customer-cus_1",
            ExpectedVersion::NoStream,
            &[new_event("kept")],
        )
        .await
        .expect("the application role appends");
    let mut connection = database.pool.acquire().await.expect("connection");
    let kept = ledger::store::inbox::insert(
        &mut connection,
        &InboxMessage {
            source: "stripe",
            message_key: "evt_1",
            message_type: Some("customer.created"),
            body: b"{}",
            outcome: InboxOutcome::Ignored,
            reason: None,
            event_count: 0,
        },
    )
    .await
    .expect("the application role keeps a raw message");
    assert!(kept);
}

#[tokio::test]
async fn the_application_pool_runs_as_the_application_role_and_appends_and_reads() {
    let database = TestDatabase::create().await;
    let role: String = sqlx::query_scalar("SELECT current_user::text")
        .fetch_one(&database.pool)
        .await
        .expect("current_user");
    assert_eq!(role, APPLICATION_ROLE);

    one_event_and_one_message(&database).await;
    let stream = read::read_stream(&database.pool, "customer-cus_1", 1)
        .await
        .expect("read a stream");
    assert_eq!(stream.len(), 1);
    assert_eq!(stream[0].payload_value().expect("json")["label"], "kept");
    // The feed is gated by the cluster's oldest running transaction (other tests' included):
    // wait for it.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let feed = read::read_all_after(&database.pool, FeedCursor::default(), 10)
            .await
            .expect("read the feed");
        if feed.len() == 1 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "feed: {feed:?}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let known = ledger::store::inbox::contains(&database.pool, "stripe", "evt_1")
        .await
        .expect("read the inbox");
    assert!(known);
}

#[tokio::test]
async fn privileges_refuse_the_application_role_update_delete_and_truncate_of_the_log() {
    let database = TestDatabase::create().await;
    one_event_and_one_message(&database).await;
    // Granting itself the rights back grants nothing (PostgreSQL only warns).
    sqlx::query("GRANT UPDATE, DELETE, TRUNCATE ON events, inbox_messages TO tally_app")
        .execute(&database.pool)
        .await
        .expect("a grant without grant option is a warning");
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
                "TRUNCATE inbox_messages",
            ],
        ),
    ] {
        for statement in statements {
            let refused = sqlx::query(statement).execute(&database.pool).await;
            let message = refused.expect_err(statement).to_string();
            // The privilege check, not the trigger ("table ... is append-only").
            assert!(
                message.contains(&format!("permission denied for table {table}")),
                "{statement}: {message}"
            );
        }
    }
    // Nor can it switch the triggers off.
    for statement in [
        "ALTER TABLE events DISABLE TRIGGER USER",
        "SET session_replication_role = replica",
    ] {
        let refused = sqlx::query(statement).execute(&database.pool).await;
        let message = refused.expect_err(statement).to_string();
        assert!(
            message.contains("must be owner") || message.contains("permission denied"),
            "{statement}: {message}"
        );
    }
    let stream = read::read_stream(&database.pool, "customer-cus_1", 1)
        .await
        .expect("read");
    assert_eq!(stream.len(), 1);
    assert_eq!(stream[0].payload_value().expect("json")["label"], "kept");
}

#[tokio::test]
async fn databases_migrated_concurrently_on_one_cluster_share_the_role() {
    // The role is cluster-wide: concurrent migrations race to create it (and to grant it).
    let mut creations = tokio::task::JoinSet::new();
    for _ in 0..6 {
        creations.spawn(TestDatabase::create());
    }
    while let Some(database) = creations.join_next().await {
        let database = database.expect("a concurrent migration succeeds");
        let role: String = sqlx::query_scalar("SELECT current_user::text")
            .fetch_one(&database.pool)
            .await
            .expect("current_user");
        assert_eq!(role, APPLICATION_ROLE);
        database.drop_database().await;
    }
}

#[tokio::test]
async fn a_login_that_is_only_a_member_of_the_application_role_opens_a_migrated_database() {
    // Production: the owner migrates once; the application logs in as a member of tally_app,
    // with no rights over the log's definition, and Database::open neither migrates again nor
    // needs to.
    let database = TestDatabase::create().await;
    let owner = database.owner_pool().await;
    let login = format!("tally_test_login_{}", uuid::Uuid::now_v7().simple());
    sqlx::query(&format!(
        "CREATE ROLE \"{login}\" LOGIN IN ROLE {APPLICATION_ROLE}"
    ))
    .execute(&owner)
    .await
    .expect("create a login role");
    let url = database
        .connect_options()
        .username(&login)
        .to_url_lossy()
        .to_string();

    let opened = Database::open(Some(&url), Path::new("unused-data-dir"))
        .await
        .expect("a member of tally_app opens a current database");
    let role: String = sqlx::query_scalar("SELECT current_user::text")
        .fetch_one(&opened.pool)
        .await
        .expect("current_user");
    assert_eq!(role, APPLICATION_ROLE);
    EventStore::new(opened.pool.clone())
        .append(
            "customer-cus_2",
            ExpectedVersion::NoStream,
            &[new_event("by the login")],
        )
        .await
        .expect("append");
    // It may create read-model objects (rebuilds make version schemas and repoint views), but
    // it owns nothing of the log: no DDL on it.
    for statement in [
        "DROP TABLE events",
        "ALTER TABLE events DISABLE TRIGGER ALL",
        "ALTER TABLE inbox_messages ADD COLUMN forged text",
    ] {
        let refused = sqlx::query(statement)
            .execute(&opened.pool)
            .await
            .expect_err(statement);
        assert!(
            refused.to_string().contains("must be owner"),
            "{statement}: {refused}"
        );
    }
    opened.close().await.expect("close");

    sqlx::query(&format!("DROP ROLE \"{login}\""))
        .execute(&owner)
        .await
        .expect("drop the login role");
    owner.close().await;
}
