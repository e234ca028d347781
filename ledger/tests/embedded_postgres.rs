//! The embedded PostgreSQL against the real server binaries: create, start, reuse, restart,
//! stop, concurrent starts, binary discovery and its errors; and `TestDatabase` seen from an
//! integration test.
//!
//! Clusters live in fresh folders under /var/tmp (world-traversable, so this also works as
//! root, where PostgreSQL runs as the `postgres` user). Passes as root and as an ordinary user.

use ledger::store::embedded_postgres::{
    find_server_binaries, find_server_binaries_in, EmbeddedPostgres,
};
use ledger::store::test_database::TestDatabase;
use ledger::LedgerError;
use sqlx::postgres::PgPoolOptions;
use sqlx::{Connection, PgConnection, PgPool};
use std::ffi::OsString;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Instant;
use uuid::Uuid;

/// A fresh folder under /var/tmp; on drop, stops any server still running in `<folder>/pg`
/// (a failed test must not leak a postmaster) and removes the folder.
struct Scratch {
    root: PathBuf,
}

impl Scratch {
    fn new() -> Self {
        let root = PathBuf::from(format!(
            "/var/tmp/tally-ep-test-{}",
            Uuid::new_v4().simple()
        ));
        std::fs::create_dir_all(&root).unwrap();
        // Whatever the umask, `postgres` must be able to traverse it (tests run as root).
        std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o755)).unwrap();
        Self { root }
    }

    fn data_dir(&self) -> PathBuf {
        self.root.join("pg")
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let data_dir = self.data_dir();
        if data_dir.join("postmaster.pid").exists() {
            if let Ok(bin) = find_server_binaries() {
                let pg_ctl = bin.join("pg_ctl");
                let args = ["-D", data_dir.to_str().unwrap(), "-m", "immediate", "stop"];
                let _ = if is_root() {
                    std::process::Command::new("runuser")
                        .args(["-u", "postgres", "--"])
                        .arg(&pg_ctl)
                        .args(args)
                        .current_dir("/")
                        .output()
                } else {
                    std::process::Command::new(&pg_ctl).args(args).output()
                };
            }
        }
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .map(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|ids| ids.split_whitespace().nth(1))
                == Some("0")
        })
        .unwrap_or(false)
}

async fn open_pool(cluster: &EmbeddedPostgres, database: &str) -> PgPool {
    PgPoolOptions::new()
        .max_connections(2)
        .connect_with(cluster.connect_options(database))
        .await
        .unwrap()
}

async fn system_identifier(pool: &PgPool) -> i64 {
    sqlx::query_scalar("SELECT system_identifier FROM pg_control_system()")
        .fetch_one(pool)
        .await
        .unwrap()
}

async fn append_one(pool: &PgPool, stream: &str) -> i64 {
    sqlx::query_scalar(
        "SELECT global_position FROM tally_append_streams(NULL, ARRAY[$1], ARRAY[NULL]::bigint[], \
         ARRAY[1], ARRAY[$2]::uuid[], ARRAY['test.happened'], ARRAY[1], ARRAY['{}'::json], \
         ARRAY['{}'::json], ARRAY[now()])",
    )
    .bind(stream)
    .bind(Uuid::new_v4())
    .fetch_one(pool)
    .await
    .unwrap()
}

async fn event_count(pool: &PgPool) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM events")
        .fetch_one(pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_cluster_is_created_started_stopped_and_restarted_with_its_data() {
    let scratch = Scratch::new();
    let dir = scratch.data_dir();

    // Cold: initdb + start.
    let cold = Instant::now();
    let cluster = EmbeddedPostgres::start(&dir).await.unwrap();
    let cold = cold.elapsed();
    assert!(cluster.started_here());
    assert_eq!(cluster.data_dir(), dir.canonicalize().unwrap());
    assert!(dir.join("PG_VERSION").exists());
    assert!(
        dir.join(".s.PGSQL.5432").exists(),
        "socket inside the folder"
    );

    cluster.ensure_database("tally").await.unwrap();
    cluster.ensure_database("tally").await.unwrap(); // idempotent
    let err = cluster
        .ensure_database("tally; DROP")
        .await
        .expect_err("not a plain identifier");
    assert!(matches!(err, LedgerError::EmbeddedPostgres(_)), "{err}");

    let pool = open_pool(&cluster, "tally").await;
    ledger::store::migrate(&pool).await.unwrap();
    append_one(&pool, "test-1").await;
    assert_eq!(event_count(&pool).await, 1);
    // Unix socket only: no TCP listener.
    let listen: String = sqlx::query_scalar("SHOW listen_addresses")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(listen, "");
    let identity = system_identifier(&pool).await;
    pool.close().await;

    cluster.stop().await.unwrap();
    assert!(!dir.join("postmaster.pid").exists(), "stopped");

    // Warm: same folder, no initdb (same cluster identity), data kept.
    let warm = Instant::now();
    let cluster = EmbeddedPostgres::start(&dir).await.unwrap();
    let warm = warm.elapsed();
    assert!(cluster.started_here());
    cluster.ensure_database("tally").await.unwrap();
    let pool = open_pool(&cluster, "tally").await;
    ledger::store::migrate(&pool).await.unwrap(); // nothing pending
    assert_eq!(system_identifier(&pool).await, identity, "initdb ran again");
    assert_eq!(event_count(&pool).await, 1);
    pool.close().await;
    cluster.stop().await.unwrap();

    eprintln!(
        "embedded PostgreSQL: cold start (initdb + start) {} ms, warm start {} ms",
        cold.as_millis(),
        warm.as_millis()
    );
}

#[tokio::test]
async fn a_second_start_reuses_the_running_cluster_and_does_not_stop_it() {
    let scratch = Scratch::new();
    let dir = scratch.data_dir();
    let first = EmbeddedPostgres::start(&dir).await.unwrap();
    assert!(first.started_here());

    let second = EmbeddedPostgres::start(&dir).await.unwrap();
    assert!(!second.started_here(), "reused, not started");
    second.ensure_database("shared").await.unwrap();
    second.stop().await.unwrap(); // leaves it running

    let conn = PgConnection::connect_with(&first.connect_options("shared"))
        .await
        .expect("still running after the reusing process stopped");
    conn.close().await.unwrap();

    first.stop().await.unwrap();
    assert!(!dir.join("postmaster.pid").exists());
}

#[tokio::test]
async fn concurrent_starts_of_one_folder_create_and_start_it_once() {
    let scratch = Scratch::new();
    let dir = scratch.data_dir();
    let (a, b, c) = tokio::join!(
        EmbeddedPostgres::start(&dir),
        EmbeddedPostgres::start(&dir),
        EmbeddedPostgres::start(&dir)
    );
    let clusters = [a.unwrap(), b.unwrap(), c.unwrap()];
    let starters = clusters.iter().filter(|c| c.started_here()).count();
    assert_eq!(starters, 1, "exactly one start started the server");
    assert!(!dir.with_extension("lock").exists(), "lock released");
    for cluster in &clusters {
        cluster.ensure_database("tally").await.unwrap();
    }
    for cluster in clusters {
        cluster.stop().await.unwrap();
    }
    assert!(!dir.join("postmaster.pid").exists());
}

#[tokio::test]
async fn a_stale_postmaster_pid_does_not_prevent_a_start() {
    let scratch = Scratch::new();
    let dir = scratch.data_dir();
    EmbeddedPostgres::start(&dir)
        .await
        .unwrap()
        .stop()
        .await
        .unwrap();
    // As left by a crash: a pid that cannot exist (above Linux's pid_max).
    let pid_file = dir.join("postmaster.pid");
    let stale = format!(
        "4194999\n{}\n1700000000\n5432\n{}\n\n  0  0\nready   \n",
        dir.display(),
        dir.display()
    );
    std::fs::write(&pid_file, stale).unwrap();
    let cluster = EmbeddedPostgres::start(&dir).await.unwrap();
    assert!(cluster.started_here());
    cluster.ensure_database("tally").await.unwrap();
    cluster.stop().await.unwrap();
}

#[tokio::test]
async fn a_socket_path_over_the_limit_is_refused_with_a_hint() {
    let scratch = Scratch::new();
    let long = scratch.root.join("d".repeat(100));
    let err = EmbeddedPostgres::start(&long)
        .await
        .expect_err("socket path too long");
    let message = err.to_string();
    assert!(message.contains("TALLY_DATA_DIR"), "{message}");
    assert!(message.contains("over the system limit"), "{message}");
}

#[test]
fn server_binaries_are_found() {
    let bin = find_server_binaries().unwrap();
    for name in ["initdb", "pg_ctl", "postgres"] {
        assert!(bin.join(name).is_file(), "{} has no {name}", bin.display());
    }
}

/// Fake server binaries (empty executable files) in `dir`.
fn fake_binaries(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    for name in ["initdb", "pg_ctl", "postgres"] {
        let file = dir.join(name);
        std::fs::write(&file, "").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
}

#[test]
fn missing_server_binaries_say_how_to_fix_it() {
    let scratch = Scratch::new();
    let empty = scratch.root.join("empty-bin");
    std::fs::create_dir_all(&empty).unwrap();
    let err = find_server_binaries_in(Some(empty.as_os_str()), &scratch.root.join("no-lib"))
        .expect_err("nothing to find");
    let message = err.to_string();
    assert!(matches!(err, LedgerError::EmbeddedPostgres(_)));
    assert!(message.contains("not found"), "{message}");
    assert!(message.contains("apt-get install postgresql"), "{message}");
    assert!(message.contains("DATABASE_URL"), "{message}");

    let err = find_server_binaries_in(None, &scratch.root.join("no-lib")).unwrap_err();
    assert!(err.to_string().contains("DATABASE_URL"));
}

#[test]
fn server_binaries_prefer_path_then_the_highest_installed_version() {
    let scratch = Scratch::new();
    let lib = scratch.root.join("lib");
    fake_binaries(&lib.join("9.6/bin"));
    fake_binaries(&lib.join("15/bin"));
    std::fs::create_dir_all(lib.join("16/bin")).unwrap(); // no binaries: skipped
    fake_binaries(&lib.join("common/bin")); // not a version: skipped
    let empty = scratch.root.join("empty-bin");
    std::fs::create_dir_all(&empty).unwrap();

    let found = find_server_binaries_in(Some(empty.as_os_str()), &lib).unwrap();
    assert_eq!(found, lib.join("15/bin"));

    // On PATH wins.
    let on_path = scratch.root.join("on-path");
    fake_binaries(&on_path);
    let path: OsString = std::env::join_paths([&empty, &on_path]).unwrap();
    assert_eq!(find_server_binaries_in(Some(&path), &lib).unwrap(), on_path);

    // A PATH entry holding only a symlinked initdb leads to the symlink's directory.
    let links = scratch.root.join("links");
    std::fs::create_dir_all(&links).unwrap();
    std::os::unix::fs::symlink(lib.join("9.6/bin/initdb"), links.join("initdb")).unwrap();
    let found = find_server_binaries_in(Some(links.as_os_str()), &lib).unwrap();
    assert_eq!(found, lib.join("9.6/bin").canonicalize().unwrap());
}

#[tokio::test]
async fn test_database_is_available_to_integration_tests() {
    let db = TestDatabase::create().await;
    append_one(&db.pool, "it-1").await;
    assert_eq!(event_count(&db.pool).await, 1);
    db.drop_database().await;
}

#[tokio::test]
async fn database_open_without_a_url_uses_the_embedded_cluster() {
    let scratch = Scratch::new();
    let dir = scratch.data_dir();
    let db = ledger::store::connect::Database::open(None, &dir)
        .await
        .unwrap();
    let embedded = db.embedded.as_ref().expect("embedded cluster");
    assert!(embedded.started_here());
    append_one(&db.pool, "open-1").await;
    assert_eq!(event_count(&db.pool).await, 1);
    db.close().await.unwrap();
    assert!(!dir.join("postmaster.pid").exists(), "close stopped it");
}

#[tokio::test]
async fn a_failed_start_reports_the_server_log() {
    let scratch = Scratch::new();
    let dir = scratch.data_dir();
    EmbeddedPostgres::start(&dir)
        .await
        .unwrap()
        .stop()
        .await
        .unwrap();
    let conf = dir.join("postgresql.conf");
    let mut text = std::fs::read_to_string(&conf).unwrap();
    text.push_str("\nshared_buffers = 'not a size'\n");
    std::fs::write(&conf, text).unwrap();

    let err = EmbeddedPostgres::start(&dir)
        .await
        .expect_err("bad configuration");
    let message = err.to_string();
    assert!(message.contains("pg_ctl start failed"), "{message}");
    assert!(message.contains("server.log"), "{message}");
    assert!(message.contains("shared_buffers"), "{message}");
}

#[tokio::test]
async fn a_non_empty_folder_that_is_not_a_cluster_is_not_initialised() {
    let scratch = Scratch::new();
    let dir = scratch.data_dir();
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("precious.txt"), "keep me").unwrap();
    let err = EmbeddedPostgres::start(&dir)
        .await
        .expect_err("initdb refuses a non-empty folder");
    let message = err.to_string();
    assert!(message.contains("initdb failed"), "{message}");
    assert!(message.contains("TALLY_DATA_DIR"), "{message}");
    assert_eq!(
        std::fs::read_to_string(dir.join("precious.txt")).unwrap(),
        "keep me"
    );
}

#[tokio::test]
async fn as_root_a_folder_postgres_cannot_reach_is_refused_with_a_hint() {
    let scratch = Scratch::new();
    let private = scratch.root.join("private");
    std::fs::create_dir_all(&private).unwrap();
    std::fs::set_permissions(&private, std::fs::Permissions::from_mode(0o700)).unwrap();
    let result = EmbeddedPostgres::start(&private.join("pg")).await;
    if is_root() {
        let message = result.expect_err("postgres cannot traverse").to_string();
        assert!(message.contains("TALLY_DATA_DIR"), "{message}");
        assert!(message.contains("/var/tmp/tally"), "{message}");
    } else {
        // An ordinary user runs PostgreSQL as themselves: their own 0700 folder is fine.
        result.unwrap().stop().await.unwrap();
    }
}

#[tokio::test]
async fn a_lock_left_by_a_dead_process_does_not_block_a_start() {
    let scratch = Scratch::new();
    let dir = scratch.data_dir();
    // `<folder>.lock` naming a pid that cannot exist (above Linux's pid_max), as a crash
    // during a start would leave it.
    std::fs::write(scratch.root.join("pg.lock"), "4194999\n").unwrap();
    let cluster = EmbeddedPostgres::start(&dir).await.unwrap();
    assert!(cluster.started_here());
    assert!(!scratch.root.join("pg.lock").exists(), "lock released");
    cluster.stop().await.unwrap();
}
