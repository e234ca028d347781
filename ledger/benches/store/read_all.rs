//! Read-all: fill the log to N events through SQL, then read all of it through the gated
//! global feed (`ledger::store::read::read_all_after`, the projectors' path) in pages, decoding
//! to `RecordedEvent`; plus a breakdown of where the time goes (query and transfer, then each
//! part of the decode, timed separately over the same rows).

use crate::payload::{Payloads, EVENT_TYPE, SCHEMA_VERSION};
use chrono::{DateTime, Utc};
use ledger::domain::{EventMetadata, SubscriptionObserved};
use ledger::store::{AppendSignal, FeedCursor, Subscription, SubscriptionOptions};
use sqlx::postgres::PgRow;
use sqlx::{Executor, PgPool, Row};
use std::sync::Arc;
use std::time::{Duration, Instant};
use uuid::Uuid;

/// Events per fill transaction (a multiple of the 10 events per filled stream).
const FILL_CHUNK: i64 = 100_000;

/// Events per filled stream.
const FILL_STREAM_LENGTH: i64 = 10;

/// How the fill went.
#[derive(Debug, Clone)]
pub struct FillResult {
    /// Events inserted by the fill.
    pub inserted: i64,
    /// Events in the log after the fill.
    pub total: i64,
    /// Time of the inserts.
    pub insert_time: Duration,
    /// Time of the `VACUUM (ANALYZE) events` after it.
    pub vacuum_time: Duration,
}

/// Fill transactions running at once.
const FILL_CONNECTIONS: u64 = 2;

/// Fills `events` (and `streams`) up to at least `total` events with `INSERT ... SELECT
/// generate_series` (same payload and metadata as the appends; 10 events per stream; chunks of
/// 100,000 on two connections), then vacuums and analyzes it (hint bits and visibility map
/// set, as they would be long after the writes).
pub async fn fill_to(pool: &PgPool, payloads: &Arc<Payloads>, total: i64) -> FillResult {
    let current: i64 = sqlx::query_scalar("SELECT count(*) FROM events")
        .fetch_one(pool)
        .await
        .expect("count events");
    let missing = (total - current).max(0);
    let inserted = (missing + FILL_STREAM_LENGTH - 1) / FILL_STREAM_LENGTH * FILL_STREAM_LENGTH;
    let chunks: Vec<(i64, i64)> = (0..inserted)
        .step_by(FILL_CHUNK as usize)
        .map(|from| (from, (from + FILL_CHUNK).min(inserted) - 1))
        .collect();
    let started = Instant::now();
    let mut tasks = Vec::new();
    for lane in 0..FILL_CONNECTIONS {
        let mine: Vec<(i64, i64)> = chunks
            .iter()
            .copied()
            .skip(lane as usize)
            .step_by(FILL_CONNECTIONS as usize)
            .collect();
        let pool = pool.clone();
        let payloads = Arc::clone(payloads);
        tasks.push(tokio::spawn(async move {
            for (from, to) in mine {
                fill_chunk(&pool, &payloads, from, to).await;
            }
        }));
    }
    for task in tasks {
        task.await.expect("fill task");
    }
    let insert_time = started.elapsed();
    let started = Instant::now();
    pool.execute("VACUUM (ANALYZE) events")
        .await
        .expect("vacuum events");
    pool.execute("VACUUM (ANALYZE) streams")
        .await
        .expect("vacuum streams");
    let vacuum_time = started.elapsed();
    FillResult {
        inserted,
        total: current + inserted,
        insert_time,
        vacuum_time,
    }
}

/// Inserts the fill events numbered `from..=to` (and their streams) in one transaction.
async fn fill_chunk(pool: &PgPool, payloads: &Payloads, from: i64, to: i64) {
    let mut tx = pool.begin().await.expect("begin");
    sqlx::query(
        "INSERT INTO events (stream_id, stream_version, event_id, event_type, schema_version,
                             payload, metadata, effective_at)
         SELECT 'subscription-sub_fill_' || (g / $7), g % $7 + 1, gen_random_uuid(), $1, $2,
                $3::json, $4::json, $5
         FROM generate_series($6::bigint, $8::bigint) AS g",
    )
    .bind(EVENT_TYPE)
    .bind(SCHEMA_VERSION)
    .bind(&payloads.payload)
    .bind(&payloads.metadata_json)
    .bind(payloads.effective_at)
    .bind(from)
    .bind(FILL_STREAM_LENGTH)
    .bind(to)
    .execute(&mut *tx)
    .await
    .expect("fill events");
    sqlx::query(
        "INSERT INTO streams (stream_id, version)
         SELECT 'subscription-sub_fill_' || s, $3 FROM generate_series($1::bigint, $2::bigint) AS s",
    )
    .bind(from / FILL_STREAM_LENGTH)
    .bind(to / FILL_STREAM_LENGTH)
    .bind(FILL_STREAM_LENGTH)
    .execute(&mut *tx)
    .await
    .expect("fill streams");
    tx.commit().await.expect("commit the fill");
}

/// The outcome of a read of the whole feed.
#[derive(Debug, Clone)]
pub struct ReadResult {
    /// Events read.
    pub events: u64,
    /// Time spent.
    pub elapsed: Duration,
}

impl ReadResult {
    /// Events per second.
    pub fn events_per_second(&self) -> f64 {
        self.events as f64 / self.elapsed.as_secs_f64()
    }
}

/// Reads the whole feed from the start through a [`Subscription`] (the path projectors and
/// downstream consumers use: `read::read_all_after` pages in gap-free global order, decoded to
/// `RecordedEvent`), in pages of `page` events, until it is caught up.
pub async fn read_all(pool: &PgPool, page: i64) -> ReadResult {
    let signal = AppendSignal::new();
    let mut subscription = Subscription::new(
        pool.clone(),
        &signal,
        FeedCursor::default(),
        SubscriptionOptions {
            page_size: page,
            ..SubscriptionOptions::default()
        },
    );
    let mut events_read = 0u64;
    let started = Instant::now();
    loop {
        let events = subscription
            .try_next_batch()
            .await
            .expect("subscription page");
        if events.is_empty() {
            break;
        }
        events_read += events.len() as u64;
        std::hint::black_box(&events);
    }
    ReadResult {
        events: events_read,
        elapsed: started.elapsed(),
    }
}

/// Wall time and this thread's CPU time of one step, summed over the pages.
#[derive(Debug, Clone, Copy, Default)]
pub struct StepTime {
    /// Wall-clock time (includes waiting for a CPU on a busy machine).
    pub wall: Duration,
    /// CPU time of the thread that ran the step (`/proc/thread-self/schedstat`; zero where
    /// unavailable): independent of how busy the machine is.
    pub cpu: Duration,
}

/// Runs `step` (synchronous, so on one thread) and adds its wall and CPU time to `total`.
fn timed<T>(total: &mut StepTime, step: impl FnOnce() -> T) -> T {
    let cpu_before = thread_cpu();
    let started = Instant::now();
    let result = step();
    total.wall += started.elapsed();
    total.cpu += thread_cpu().saturating_sub(cpu_before);
    result
}

/// CPU time the current thread has run (Linux `/proc/thread-self/schedstat`, first field, in
/// nanoseconds); zero elsewhere.
fn thread_cpu() -> Duration {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|text| text.split_whitespace().next()?.parse().ok())
        .map_or(Duration::ZERO, Duration::from_nanos)
}

/// Where the time of a read-all goes, each part timed on its own over the same rows.
#[derive(Debug, Clone, Default)]
pub struct ReadBreakdown {
    /// Rows read.
    pub rows: u64,
    /// The feed query, rows fetched as undecoded `PgRow`s (server work + transfer; its CPU is
    /// only the client's share).
    pub query: StepTime,
    /// Decoding the plain columns (positions, ids, type, times) of every row.
    pub plain_columns: StepTime,
    /// `payload` json -> `serde_json::Value`.
    pub payload_value: StepTime,
    /// `metadata` json -> `serde_json::Value` -> `EventMetadata`.
    pub metadata_via_value: StepTime,
    /// Alternative: `metadata` json -> `EventMetadata` directly (`sqlx::types::Json<T>`).
    pub metadata_direct: StepTime,
    /// Alternative: `payload` kept as its JSON text (json's wire bytes, copied into a
    /// `String`); a typed decode would later parse it once, into the struct.
    pub payload_text: StepTime,
    /// Alternative: `payload` json -> the typed domain payload directly (`Json<T>`), skipping
    /// the `Value` tree.
    pub payload_typed: StepTime,
    /// For comparison: the typed domain payload from a `Value` (what a projector does today
    /// after read.rs: `DomainEvent::from_stored` -> `serde_json::from_value`).
    pub typed_from_value: StepTime,
}

/// Reads the first `sample` events of the feed (at least) with `FEED_QUERY` and times each
/// decode step separately.
pub async fn breakdown(pool: &PgPool, page: i64, sample: u64) -> ReadBreakdown {
    let mut connection = pool.acquire().await.expect("acquire");
    let mut cursor = FeedCursor::default();
    let mut result = ReadBreakdown::default();
    while result.rows < sample {
        let cpu_before = thread_cpu();
        let started = Instant::now();
        let rows: Vec<PgRow> = sqlx::query(FEED_QUERY)
            .bind(cursor.transaction_id.to_string())
            .bind(cursor.global_position)
            .bind(page)
            .fetch_all(&mut *connection)
            .await
            .expect("feed query");
        result.query.wall += started.elapsed();
        // The task may have moved threads across the await: this CPU figure is indicative.
        result.query.cpu += thread_cpu().saturating_sub(cpu_before);
        let Some(last) = rows.last() else { break };
        cursor = FeedCursor {
            transaction_id: last.get("transaction_id"),
            global_position: last.get("global_position"),
        };
        result.rows += rows.len() as u64;

        timed(&mut result.plain_columns, || {
            for row in &rows {
                let plain = (
                    row.get::<i64, _>("global_position"),
                    row.get::<i64, _>("transaction_id"),
                    row.get::<String, _>("stream_id"),
                    row.get::<i64, _>("stream_version"),
                    row.get::<Uuid, _>("event_id"),
                    row.get::<String, _>("event_type"),
                    row.get::<i32, _>("schema_version"),
                    row.get::<DateTime<Utc>, _>("effective_at"),
                    row.get::<DateTime<Utc>, _>("recorded_at"),
                );
                std::hint::black_box(plain);
            }
        });
        let values: Vec<serde_json::Value> = timed(&mut result.payload_value, || {
            rows.iter()
                .map(|row| row.get::<serde_json::Value, _>("payload"))
                .collect()
        });
        timed(&mut result.metadata_via_value, || {
            for row in &rows {
                let value: serde_json::Value = row.get("metadata");
                let metadata: EventMetadata = serde_json::from_value(value).expect("metadata");
                std::hint::black_box(metadata);
            }
        });
        timed(&mut result.metadata_direct, || {
            for row in &rows {
                let metadata: sqlx::types::Json<EventMetadata> = row.get("metadata");
                std::hint::black_box(metadata);
            }
        });
        timed(&mut result.payload_text, || {
            for row in &rows {
                let raw = row.try_get_raw("payload").expect("payload");
                let bytes = raw.as_bytes().expect("payload is not null");
                // json's binary wire format is the JSON text itself (migration 0016).
                let text = std::str::from_utf8(bytes).expect("utf-8").to_owned();
                std::hint::black_box(text);
            }
        });
        timed(&mut result.payload_typed, || {
            for row in &rows {
                let payload: sqlx::types::Json<SubscriptionObserved> = row.get("payload");
                std::hint::black_box(payload);
            }
        });
        timed(&mut result.typed_from_value, || {
            for value in values {
                let payload: SubscriptionObserved =
                    serde_json::from_value(value).expect("typed payload");
                std::hint::black_box(payload);
            }
        });
    }
    result
}

/// The feed query of `read.rs` (same columns, same clauses) with one fix: its `ORDER BY`
/// names `events.transaction_id`. In read.rs, `ORDER BY transaction_id` resolves to the output
/// column `transaction_id::text::bigint AS transaction_id` (PostgreSQL matches output names
/// first), which no index provides: every page is a scan of the whole table plus a top-N sort
/// (EXPLAIN: Parallel Seq Scan + Sort) instead of an `events_feed_order_idx` range scan, so
/// reading the log is quadratic. Same order (xid8 and its bigint value sort alike).
const FEED_QUERY: &str = "SELECT global_position, transaction_id::text::bigint AS transaction_id,
    stream_id, stream_version, event_id, event_type, schema_version, payload, metadata,
    effective_at, recorded_at FROM events
    WHERE (transaction_id, global_position) > ($1::text::xid8, $2)
      AND transaction_id < pg_snapshot_xmin(pg_current_snapshot())
    ORDER BY events.transaction_id, events.global_position
    LIMIT $3";
