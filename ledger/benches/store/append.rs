//! Append workloads: Tally's `EventStore::append`, the postgres-es event repository, and a
//! plain multi-row `INSERT` (the ceiling), each driven by N concurrent writers for a fixed time.

use crate::database;
use crate::payload::{Payloads, EVENT_TYPE};
use cqrs_es::event_sink::EventSink;
use cqrs_es::persist::{PersistedEventRepository, SerializedEvent};
use cqrs_es::Aggregate;
use ledger::store::{AppendOutcome, EventStore, ExpectedVersion};
use postgres_es::PostgresEventRepository;
use serde::{Deserialize, Serialize};
use sqlx::postgres::PgConnectOptions;
use sqlx::PgPool;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Barrier;

/// Which store is appended to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum System {
    /// `ledger::store::EventStore::append`.
    Tally,
    /// postgres-es 0.5 `PostgresEventRepository::persist` (no snapshot).
    PostgresEs,
    /// One `INSERT ... SELECT FROM unnest(...)` into `raw_events`, autocommit.
    Raw,
}

impl System {
    /// Short name for the table.
    pub fn name(self) -> &'static str {
        match self {
            Self::Tally => "tally",
            Self::PostgresEs => "postgres-es 0.5",
            Self::Raw => "raw INSERT",
        }
    }
}

/// Which streams the writers append to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StreamMode {
    /// Every append creates a new stream (expected version: no stream).
    Cold,
    /// Each writer keeps appending to its own stream (expected version: the exact head).
    Hot,
}

impl StreamMode {
    /// Short name for the table.
    pub fn name(self) -> &'static str {
        match self {
            Self::Cold => "new stream",
            Self::Hot => "own hot stream",
        }
    }
}

/// One measured cell.
#[derive(Debug, Clone)]
pub struct AppendResult {
    /// Events written (appends × batch).
    pub events: u64,
    /// Appends done.
    pub appends: u64,
    /// Wall time from the start signal until the last writer finished.
    pub elapsed: Duration,
    /// Median append latency.
    pub p50: Duration,
    /// 99th percentile append latency.
    pub p99: Duration,
}

impl AppendResult {
    /// Events per second.
    pub fn events_per_second(&self) -> f64 {
        self.events as f64 / self.elapsed.as_secs_f64()
    }
}

/// The peer's aggregate: only its `TYPE` matters to the event repository.
#[derive(Debug, Default, Serialize, Deserialize)]
struct PeerSubscription;

/// The peer's event: the same JSON payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct PeerEvent(serde_json::Value);

impl cqrs_es::DomainEvent for PeerEvent {
    fn event_type(&self) -> String {
        EVENT_TYPE.to_owned()
    }
    fn event_version(&self) -> String {
        "1".to_owned()
    }
}

#[derive(Debug)]
struct PeerError;

impl std::fmt::Display for PeerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("peer error")
    }
}

impl std::error::Error for PeerError {}

impl Aggregate for PeerSubscription {
    const TYPE: &'static str = "subscription";
    type Command = ();
    type Event = PeerEvent;
    type Error = PeerError;
    type Services = ();

    async fn handle(
        &mut self,
        _command: (),
        _services: &(),
        _sink: &EventSink<Self>,
    ) -> Result<(), PeerError> {
        Ok(())
    }

    fn apply(&mut self, _event: PeerEvent) {}
}

enum Target {
    Tally(EventStore),
    PostgresEs(PostgresEventRepository),
    Raw(PgPool),
}

const RAW_INSERT: &str = "INSERT INTO raw_events
    (stream_id, stream_version, event_id, event_type, schema_version, payload, metadata, effective_at)
    SELECT * FROM unnest($1::text[], $2::bigint[], $3::uuid[], $4::text[], $5::integer[],
                         $6::json[], $7::json[], $8::timestamptz[])";

impl Target {
    fn new(system: System, pool: PgPool) -> Self {
        match system {
            System::Tally => Self::Tally(EventStore::new(pool)),
            System::PostgresEs => Self::PostgresEs(
                PostgresEventRepository::new(pool).with_tables("pges_events", "pges_snapshots"),
            ),
            System::Raw => Self::Raw(pool),
        }
    }

    /// Appends `batch` events to `stream`, whose head is `head` (0: new stream).
    async fn append(&self, payloads: &Payloads, stream: &str, head: i64, batch: usize) {
        match self {
            Self::Tally(store) => {
                let expected = if head == 0 {
                    ExpectedVersion::NoStream
                } else {
                    ExpectedVersion::Exact(head)
                };
                let outcome = store
                    .append(stream, expected, &payloads.new_events(batch))
                    .await
                    .expect("tally append");
                assert!(matches!(outcome, AppendOutcome::Appended { .. }));
            }
            Self::PostgresEs(repository) => {
                let events: Vec<SerializedEvent> = (1..=batch)
                    .map(|n| {
                        SerializedEvent::new(
                            stream.to_owned(),
                            head as usize + n,
                            PeerSubscription::TYPE.to_owned(),
                            EVENT_TYPE.to_owned(),
                            "1".to_owned(),
                            payloads.payload.clone(),
                            payloads.metadata_json.clone(),
                        )
                    })
                    .collect();
                repository
                    .persist::<PeerSubscription>(&events, None)
                    .await
                    .expect("postgres-es persist");
            }
            Self::Raw(pool) => {
                let events = payloads.new_events(batch);
                let streams = vec![stream; batch];
                let versions: Vec<i64> = (1..=batch as i64).map(|n| head + n).collect();
                let ids: Vec<_> = events.iter().map(|e| e.event_id).collect();
                let types: Vec<&str> = events.iter().map(|e| e.event_type.as_str()).collect();
                let schema: Vec<i32> = events.iter().map(|e| e.schema_version).collect();
                let payload: Vec<String> = events.iter().map(|e| e.payload.to_string()).collect();
                let metadata: Vec<String> = events
                    .iter()
                    .map(|e| serde_json::to_string(&e.metadata).expect("metadata"))
                    .collect();
                let effective: Vec<_> = events.iter().map(|e| e.effective_at).collect();
                sqlx::query(RAW_INSERT)
                    .bind(&streams)
                    .bind(&versions)
                    .bind(&ids)
                    .bind(&types)
                    .bind(&schema)
                    .bind(&payload)
                    .bind(&metadata)
                    .bind(&effective)
                    .execute(pool)
                    .await
                    .expect("raw insert");
            }
        }
    }
}

/// Runs one cell: `writers` tasks on a pool of `writers` connections, each appending batches
/// of `batch` events for `duration` after two untimed warm-up appends.
pub async fn measure(
    options: &PgConnectOptions,
    payloads: &Arc<Payloads>,
    system: System,
    mode: StreamMode,
    batch: usize,
    writers: usize,
    duration: Duration,
) -> AppendResult {
    let pool = database::pool(options, writers as u32).await;
    let target = Arc::new(Target::new(system, pool.clone()));
    let barrier = Arc::new(Barrier::new(writers + 1));
    let run = uuid::Uuid::new_v4().simple().to_string();
    let mut tasks = Vec::with_capacity(writers);
    for writer in 0..writers {
        let target = Arc::clone(&target);
        let payloads = Arc::clone(payloads);
        let barrier = Arc::clone(&barrier);
        let run = run.clone();
        tasks.push(tokio::spawn(async move {
            let hot_stream = format!("subscription-sub_{run}_{writer}");
            let mut head = 0i64;
            let mut sequence = 0u64;
            let mut append_once = || {
                sequence += 1;
                let (stream, current) = match mode {
                    StreamMode::Cold => (format!("{hot_stream}_{sequence}"), 0),
                    StreamMode::Hot => (hot_stream.clone(), head),
                };
                head = current + batch as i64;
                (stream, current)
            };
            for _ in 0..2 {
                let (stream, current) = append_once();
                target.append(&payloads, &stream, current, batch).await;
            }
            barrier.wait().await;
            let deadline = Instant::now() + duration;
            let mut latencies = Vec::new();
            while Instant::now() < deadline {
                let (stream, current) = append_once();
                let started = Instant::now();
                target.append(&payloads, &stream, current, batch).await;
                latencies.push(started.elapsed());
            }
            latencies
        }));
    }
    barrier.wait().await;
    let started = Instant::now();
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.expect("writer task"));
    }
    let elapsed = started.elapsed();
    pool.close().await;
    latencies.sort_unstable();
    let appends = latencies.len() as u64;
    AppendResult {
        events: appends * batch as u64,
        appends,
        elapsed,
        p50: percentile(&latencies, 0.50),
        p99: percentile(&latencies, 0.99),
    }
}

/// The `q` quantile of sorted `values` (nearest rank); zero when empty.
pub fn percentile(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}
