//! `tally bench ingest`: webhook ingest through the real HTTP endpoint next to a raw PostgreSQL
//! baseline from the same run. Starts the server in-process on a socket, posts real-size
//! (~4.4 KB) signed Stripe Event bodies over `connections` keep-alive connections for
//! `seconds`, then runs `pgbench` with a generated script (one plain single-row INSERT of the
//! same body into a plain table per transaction) at the same concurrency for the same
//! duration, and prints one table: events/s, p50 and p99 latency of both, and the ratio.
//! The endpoint answers once a body is kept (inbox first); the bench then waits until the
//! inbox translator and every projection have caught up with the run's bodies and prints how
//! long that took and the end-to-end rate (bodies / (ingest seconds + that wait)). Last, on the
//! same server, a steady half ([`super::bench_ingest_steady`]): `steady_rate` deliveries per
//! second for `steady_seconds`, with the lag from each answer until every projection applied it.
//!
//! The body is one `customer.subscription.updated` of the acme-small dataset
//! (`bench_ingest_body.json`); each delivery gets its own Stripe Event id and one of 1,024
//! subscription ids (each of its own customer), so every delivery is new (translated, one event appended) and streams see
//! realistic, light contention. Needs `DATABASE_URL` (pgbench connects to it too) and `pgbench`
//! on the `PATH`; the baseline's table `tally_bench_raw_inserts` is created by `psql` before and
//! dropped after, outside the migrations, because it is no part of Tally's schema.

use super::bench_ingest_steady::drive_steady_webhooks;
use crate::commands::open_database;
use crate::server;
use anyhow::{bail, Context};
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The body every delivery is derived from (4,388 bytes).
const TEMPLATE_BODY: &str = include_str!("bench_ingest_body.json");
/// The template's Stripe Event id and subscription id, replaced per delivery.
const TEMPLATE_EVENT_ID: &str = "evt_17PepcEdOtzbPa35rH8Ofo3b";
const TEMPLATE_SUBSCRIPTION_ID: &str = "sub_17HjQKEdOtzbPa35oIEbLZuV";
const TEMPLATE_CUSTOMER_ID: &str = "cus_11VWbr02qbu0u5";
pub(super) const BENCH_SECRET: &str = "whsec_tally_bench_ingest";
const RAW_TABLE: &str = "tally_bench_raw_inserts";
/// Distinct subscriptions (streams) the deliveries are spread over.
const SUBSCRIPTIONS: usize = 1024;
/// Deliveries per second that the bodies made before the run suffice for.
const INGEST_RATE_CEILING: u64 = 8_000;

/// The one field of the endpoint's 200 answer the clients check (serde skips the rest).
#[derive(serde::Deserialize)]
struct DeliveryAnswer {
    status: String,
}

/// What `tally bench ingest` drives.
#[derive(Debug, Clone, Copy)]
pub struct IngestBenchOptions {
    /// Concurrent connections (HTTP clients, then pgbench clients).
    pub connections: usize,
    /// Seconds each half runs.
    pub seconds: u64,
    /// Deliveries per second of the steady half (0 skips it).
    pub steady_rate: u64,
    /// Seconds of the steady half.
    pub steady_seconds: u64,
}

/// One half's figures.
pub(super) struct Figures {
    pub(super) operations: usize,
    pub(super) seconds: f64,
    pub(super) p50_ms: f64,
    pub(super) p99_ms: f64,
}

impl Figures {
    pub(super) fn rate(&self) -> f64 {
        self.operations as f64 / self.seconds.max(f64::EPSILON)
    }
}

/// Runs both halves and prints the table.
///
/// Errors: no `DATABASE_URL`; `pgbench`/`psql` missing or failing; any refused delivery;
/// database errors.
pub async fn bench_ingest(
    database_url: Option<&str>,
    data_dir: &Path,
    options: IngestBenchOptions,
) -> anyhow::Result<()> {
    let Some(database_url) = database_url else {
        bail!("tally bench ingest needs DATABASE_URL: pgbench connects to the same database");
    };
    let database = open_database(Some(database_url), data_dir).await?;
    let secrets = stripe_bridge::WebhookSecrets::parse(BENCH_SECRET)?;
    let running =
        server::start(database.pool.clone(), "127.0.0.1:0".parse()?, Some(secrets)).await?;
    let url = format!("http://{}/webhooks/stripe", running.address);
    println!(
        "webhook ingest: {} connections, {} s, {}-byte bodies ...",
        options.connections,
        options.seconds,
        TEMPLATE_BODY.len()
    );
    let webhook = drive_webhooks(&url, options).await;
    // The endpoint answers once a body is kept; translation and projection follow behind.
    // Time how long they take to finish the run's bodies, for the end-to-end rate.
    let drained = Instant::now();
    let settled = running.settle().await;
    let drain_seconds = drained.elapsed().as_secs_f64();
    let steady = if options.steady_rate > 0 && webhook.is_ok() && settled.is_ok() {
        println!(
            "steady webhooks: {}/s for {} s, lag until every projection applied each ...",
            options.steady_rate, options.steady_seconds
        );
        let steady = drive_steady_webhooks(
            &database.pool,
            &url,
            options.steady_rate,
            options.steady_seconds,
        )
        .await;
        Some(steady)
    } else {
        None
    };
    running.stop().await;
    database.close().await?;
    let webhook = webhook?;
    settled?;
    let steady = steady.transpose()?;
    println!("raw baseline: pgbench, {} clients ...", options.connections);
    let raw = run_pgbench(database_url, options)?;
    println!();
    println!("figure                          | events/s   | p50 ms  | p99 ms  | count");
    for (name, figures) in [
        ("webhook ingest (HTTP, signed)", &webhook),
        ("raw INSERT baseline (pgbench)", &raw),
    ] {
        println!(
            "{name:<31} | {:>10.0} | {:>7.2} | {:>7.2} | {}",
            figures.rate(),
            figures.p50_ms,
            figures.p99_ms,
            figures.operations
        );
    }
    println!(
        "ratio webhook / raw             | {:>10.2}x",
        webhook.rate() / raw.rate().max(f64::EPSILON)
    );
    let end_to_end_seconds = webhook.seconds + drain_seconds;
    println!();
    println!(
        "translated and projected: all {} bodies {:.2} s after the last answer; \
         end to end {:.0} events/s over {:.2} s",
        webhook.operations,
        drain_seconds,
        webhook.operations as f64 / end_to_end_seconds.max(f64::EPSILON),
        end_to_end_seconds
    );
    if let Some(steady) = steady {
        println!(
            "steady {}/s for {} s: {} answered ({:.0}/s), answer p50 {:.2} ms, p99 {:.2} ms; \
             answered -> every projection applied: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms \
             ({} not applied within 2 s of the last delivery)",
            options.steady_rate,
            options.steady_seconds,
            steady.answers.operations,
            steady.answers.rate(),
            steady.answers.p50_ms,
            steady.answers.p99_ms,
            steady.lag_p50_ms,
            steady.lag_p99_ms,
            steady.lag_max_ms,
            steady.not_projected
        );
    }
    Ok(())
}

/// A unique body for delivery `index` of the run `run`: its own Stripe Event id, one of
/// [`SUBSCRIPTIONS`] subscriptions, each of its own customer. (Until 2026-12-04 every
/// subscription kept the template's one customer: the `mrr` projector, which recomputes a
/// touched customer from all of that customer's snapshots, then redid one customer with tens
/// of thousands of snapshots per batch, which no real account looks like.)
pub(super) fn delivery_body(run: u128, index: usize) -> Vec<u8> {
    TEMPLATE_BODY
        .replace(TEMPLATE_EVENT_ID, &format!("evt_bench{run}x{index}"))
        .replace(
            TEMPLATE_SUBSCRIPTION_ID,
            &format!("sub_bench{run}x{}", index % SUBSCRIPTIONS),
        )
        .replace(
            TEMPLATE_CUSTOMER_ID,
            &format!("cus_bench{run}x{}", index % SUBSCRIPTIONS),
        )
        .into_bytes()
}

/// Posts signed, unique bodies over `connections` clients until `seconds` have passed.
async fn drive_webhooks(url: &str, options: IngestBenchOptions) -> anyhow::Result<Figures> {
    let run = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_nanos();
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(options.connections)
        .timeout(Duration::from_secs(30))
        .build()?;
    // Bodies and signatures are made before the clock starts, so that the load generator,
    // which shares the two cores with the server, spends them only on sending.
    let count = usize::try_from(options.seconds * INGEST_RATE_CEILING)?;
    let signed_at = chrono::Utc::now().timestamp();
    let deliveries: Vec<(bytes::Bytes, String)> = (0..count)
        .map(|index| {
            let body = delivery_body(run, index);
            let header = stripe_bridge::sign_header(BENCH_SECRET, signed_at, &body);
            (bytes::Bytes::from(body), header)
        })
        .collect();
    let deliveries = Arc::new(deliveries);
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let deadline = started + Duration::from_secs(options.seconds);
    let mut workers = Vec::new();
    for _ in 0..options.connections.max(1) {
        let (client, next, url) = (client.clone(), next.clone(), url.to_owned());
        let deliveries = deliveries.clone();
        workers.push(tokio::spawn(async move {
            let mut latencies_ms = Vec::new();
            while Instant::now() < deadline {
                let Some((body, header)) = deliveries.get(next.fetch_add(1, Ordering::Relaxed))
                else {
                    bail!("the {count} bodies made for the run (a ceiling of {INGEST_RATE_CEILING}/s) ran out");
                };
                let sent = Instant::now();
                post_delivery(&client, &url, body, header).await?;
                latencies_ms.push(sent.elapsed().as_secs_f64() * 1000.0);
            }
            Ok::<_, anyhow::Error>(latencies_ms)
        }));
    }
    let mut latencies_ms = Vec::new();
    for worker in workers {
        latencies_ms.extend(worker.await??);
    }
    let seconds = started.elapsed().as_secs_f64();
    Ok(figures_from(latencies_ms, seconds))
}

/// Posts one signed delivery and checks that it was answered 200 `received`.
///
/// Errors: the request fails, or any other answer.
pub(super) async fn post_delivery(
    client: &reqwest::Client,
    url: &str,
    body: &bytes::Bytes,
    signature_header: &str,
) -> anyhow::Result<()> {
    let response = client
        .post(url)
        .header("content-type", "application/json; charset=utf-8")
        .header("stripe-signature", signature_header)
        .body(body.clone())
        .send()
        .await?;
    let status = response.status();
    let answer: DeliveryAnswer = serde_json::from_slice(&response.bytes().await?)?;
    if !status.is_success() || answer.status != "received" {
        bail!("delivery answered {status}: {}", answer.status);
    }
    Ok(())
}

/// Count, p50 and p99 (nearest rank) of `latencies_ms` over `seconds`.
pub(super) fn figures_from(mut latencies_ms: Vec<f64>, seconds: f64) -> Figures {
    latencies_ms.sort_by(f64::total_cmp);
    let at = |quantile: f64| {
        if latencies_ms.is_empty() {
            return 0.0;
        }
        let rank = ((latencies_ms.len() as f64 * quantile).ceil() as usize).max(1);
        latencies_ms[rank.min(latencies_ms.len()) - 1]
    };
    Figures {
        operations: latencies_ms.len(),
        seconds,
        p50_ms: at(0.50),
        p99_ms: at(0.99),
    }
}

/// Runs pgbench: one INSERT of the template body (its quotes doubled) per transaction, each
/// client on its own connection, per-transaction latencies logged and read back.
fn run_pgbench(database_url: &str, options: IngestBenchOptions) -> anyhow::Result<Figures> {
    let work_dir = std::env::temp_dir().join(format!("tally-bench-ingest-{}", std::process::id()));
    std::fs::create_dir_all(&work_dir)?;
    let script = work_dir.join("raw_insert.sql");
    std::fs::write(
        &script,
        format!(
            "\\set event_number random(1, 1000000000)\n\
             INSERT INTO {RAW_TABLE} (event_id, body) VALUES ('evt_raw' || :event_number, convert_to('{}', 'UTF8'));\n",
            TEMPLATE_BODY.replace('\'', "''")
        ),
    )?;
    psql(
        database_url,
        &format!(
            "DROP TABLE IF EXISTS {RAW_TABLE}; CREATE TABLE {RAW_TABLE} \
             (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, event_id text NOT NULL, \
             received_at timestamptz NOT NULL DEFAULT now(), body bytea NOT NULL)"
        ),
    )?;
    let log_prefix = work_dir.join("pgbench_log");
    let output = Command::new("pgbench")
        .arg("--no-vacuum")
        .arg(format!("--client={}", options.connections))
        .arg("--jobs=2")
        .arg(format!("--time={}", options.seconds))
        .arg(format!("--file={}", script.display()))
        .arg("--log")
        .arg(format!("--log-prefix={}", log_prefix.display()))
        .arg(database_url)
        .output()
        .context("running pgbench (is it installed?)")?;
    let dropped = psql(database_url, &format!("DROP TABLE IF EXISTS {RAW_TABLE}"));
    if !output.status.success() {
        bail!(
            "pgbench failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    dropped?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let transactions: usize = stdout
        .lines()
        .find_map(|line| line.strip_prefix("number of transactions actually processed: "))
        .and_then(|rest| rest.split('/').next())
        .and_then(|count| count.trim().parse().ok())
        .with_context(|| format!("pgbench output without a transaction count:\n{stdout}"))?;
    let latencies_ms = read_pgbench_logs(&work_dir)?;
    let _ = std::fs::remove_dir_all(&work_dir);
    let mut figures = figures_from(latencies_ms, options.seconds as f64);
    figures.operations = transactions;
    Ok(figures)
}

/// Reads every per-transaction latency (third column, microseconds) of pgbench's logs.
fn read_pgbench_logs(work_dir: &Path) -> anyhow::Result<Vec<f64>> {
    let mut latencies_ms = Vec::new();
    for entry in std::fs::read_dir(work_dir)? {
        let path = entry?.path();
        let is_log = path
            .file_name()
            .and_then(|name| name.to_str())
            .is_some_and(|name| name.starts_with("pgbench_log"));
        if !is_log {
            continue;
        }
        for line in std::fs::read_to_string(&path)?.lines() {
            if let Some(micros) = line
                .split_whitespace()
                .nth(2)
                .and_then(|field| field.parse::<f64>().ok())
            {
                latencies_ms.push(micros / 1000.0);
            }
        }
    }
    Ok(latencies_ms)
}

fn psql(database_url: &str, statement: &str) -> anyhow::Result<()> {
    let output = Command::new("psql")
        .arg("--no-psqlrc")
        .arg("--quiet")
        .arg("--set=ON_ERROR_STOP=1")
        .arg(format!("--command={statement}"))
        .arg(database_url)
        .output()
        .context("running psql (is it installed?)")?;
    if !output.status.success() {
        bail!("psql failed: {}", String::from_utf8_lossy(&output.stderr));
    }
    Ok(())
}
