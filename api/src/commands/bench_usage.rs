//! `tally bench usage`: usage ingest through `POST /v1/usage` in batches of 100 over HTTP, then
//! the entitlement check `GET /v1/customers/{id}/entitlements/{feature}` at a fixed request
//! rate over HTTP, next to `GET /health` of the same server as the baseline.
//!
//! Two load generators: a fixed-rate one written here with tokio + reqwest (one request is
//! started every 1/rate s whatever the earlier ones are doing, and each latency is measured
//! from the request's *scheduled* start, so a stalled server shows up in the figures: no
//! coordinated omission); and, when installed, `hey` at the same fixed rate and `wrk` at full
//! speed, each from its own process ([`super::bench_http_tools`]).

use super::bench_http_tools as tools;
use crate::catalog_file::apply_catalog;
use crate::commands::open_database;
use crate::server;
use anyhow::{bail, Context};
use chrono::Utc;
use ledger::domain::{
    Actor, BillingScheme, Catalog, CatalogPlan, CatalogSource, Currency, DomainEvent,
    EventMetadata, MeterLimit, ObservedChange, RecurringInterval, SubscriptionItem,
    SubscriptionObserved, SubscriptionSnapshot, SubscriptionStatus, UsageType,
};
use ledger::store::{read, EventStore, NewEvent};
use rust_decimal::Decimal;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use uuid::Uuid;

/// Options of `tally bench usage`.
#[derive(Debug, Clone, Copy)]
pub struct UsageBenchOptions {
    /// Seconds of ingest.
    pub ingest_seconds: u64,
    /// Concurrent ingest clients.
    pub clients: usize,
    /// Customers.
    pub customers: u32,
    /// Requests per second of the fixed-rate runs.
    pub rate: u32,
    /// Seconds of each fixed-rate run.
    pub check_seconds: u64,
}

/// Connections of the wrk runs.
const WRK_CONNECTIONS: usize = 4;
/// Workers of the hey runs (the rate is split between them).
const HEY_WORKERS: u32 = 4;
/// Row names of the check and of its baseline.
const CHECK_NAME: &str = "GET /v1/customers/{id}/entitlements/{feature}";
const HEALTH_NAME: &str = "GET /health (baseline)";

/// Increments per `POST /v1/usage`.
const BATCH: usize = 100;
/// Increments per second that the bodies made before the ingest run suffice for.
const INGEST_RATE_CEILING: u64 = 60_000;

/// The one figure the ingest clients read from a `POST /v1/usage` answer (serde skips the rest).
#[derive(serde::Deserialize)]
struct UsageAnswerCounts {
    recorded: u64,
}

/// `count` bodies of [`BATCH`] increments for client `worker`, each with its own idempotency
/// key, spread over the customers `cus_bench_0..customers`; timestamps are now (UTC).
fn usage_bodies(run: Uuid, worker: usize, count: usize, customers: u32) -> Vec<bytes::Bytes> {
    let now = Utc::now().to_rfc3339();
    let mut sequence = 0_u64;
    (0..count)
        .map(|_| {
            let increments: Vec<serde_json::Value> = (0..BATCH)
                .map(|i| {
                    sequence += 1;
                    serde_json::json!({
                        "customer": format!("cus_bench_{}", (sequence + i as u64) % u64::from(customers)),
                        "meter": "api_calls",
                        "quantity": "1",
                        "timestamp": now,
                        "idempotency_key": format!("{run}-{worker}-{sequence}"),
                    })
                })
                .collect();
            bytes::Bytes::from(
                serde_json::to_vec(&serde_json::json!({ "increments": increments }))
                    .expect("a JSON value serializes"),
            )
        })
        .collect()
}

/// Runs the benchmark against the database given and prints the figures.
///
/// Errors: the database or the server fails, or a request is refused.
pub async fn bench_usage(
    database_url: Option<&str>,
    data_dir: &Path,
    options: UsageBenchOptions,
) -> anyhow::Result<()> {
    let database = open_database(database_url, data_dir).await?;
    let pool = database.pool.clone();
    let running = server::start(pool.clone(), "127.0.0.1:0".parse()?, None).await?;
    let base = format!("http://{}", running.address);
    let store = EventStore::with_signal(pool.clone(), running.state.append_signal.clone());
    seed_catalog_and_subscriptions(&store, options.customers).await?;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .build()?;

    // 1. Ingest. The bodies are made before the clock starts, so that the load generator,
    // which shares the two cores with the server, spends them only on sending.
    let run = Uuid::now_v7();
    let bodies_per_client = usize::try_from(
        options.ingest_seconds * INGEST_RATE_CEILING / BATCH as u64 / options.clients.max(1) as u64,
    )?
    .max(1);
    let sent = Arc::new(AtomicU64::new(0));
    let ran_out = Arc::new(AtomicBool::new(false));
    let mut workers = Vec::new();
    let all_bodies: Vec<Vec<bytes::Bytes>> = (0..options.clients)
        .map(|worker| usage_bodies(run, worker, bodies_per_client, options.customers))
        .collect();
    let started = Instant::now();
    let deadline = started + Duration::from_secs(options.ingest_seconds);
    for bodies in all_bodies {
        let client = client.clone();
        let url = format!("{base}/v1/usage");
        let sent = sent.clone();
        let ran_out = ran_out.clone();
        workers.push(tokio::spawn(async move {
            let mut batch_latencies = Vec::new();
            let mut bodies = bodies.into_iter();
            while Instant::now() < deadline {
                let Some(body) = bodies.next() else {
                    ran_out.store(true, Ordering::Relaxed);
                    break;
                };
                let began = Instant::now();
                let response = client
                    .post(&url)
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .body(body)
                    .send()
                    .await?;
                if !response.status().is_success() {
                    bail!("POST /v1/usage answered {}", response.status());
                }
                let answer: UsageAnswerCounts = serde_json::from_slice(&response.bytes().await?)?;
                batch_latencies.push(began.elapsed());
                sent.fetch_add(answer.recorded, Ordering::Relaxed);
            }
            Ok::<_, anyhow::Error>(batch_latencies)
        }));
    }
    let mut batch_latencies = Vec::new();
    for worker in workers {
        batch_latencies.extend(worker.await??);
    }
    let ingest_elapsed = started.elapsed();
    if ran_out.load(Ordering::Relaxed) {
        eprintln!(
            "note: clients used up the {bodies_per_client} bodies made for each (a ceiling of {INGEST_RATE_CEILING} increments/s) before the time was up"
        );
    }
    let recorded = sent.load(Ordering::Relaxed);
    let head = read::log_head(&pool).await?;
    let mut applied = running.state.entitlements.applied();
    let caught_up = Instant::now();
    tokio::time::timeout(Duration::from_secs(120), applied.wait_for(|p| *p >= head))
        .await
        .context("the entitlements projection did not catch up")??;
    let projection_lag = caught_up.elapsed();
    // The checks are timed on a quiet server: the SQL projectors (mrr, cash, customer_events)
    // finish the ingested increments first.
    let all_caught_up = Instant::now();
    projections::projector::catch_up_all(&pool, &running.state.projectors).await?;
    let all_projections_lag = all_caught_up.elapsed();

    // 2. Fixed-rate checks, then the baseline.
    let check = fixed_rate(&client, options, |i| {
        format!(
            "{base}/v1/customers/cus_bench_{}/entitlements/api_calls",
            i % u64::from(options.customers)
        )
    })
    .await?;
    let health = fixed_rate(&client, options, |_| format!("{base}/health")).await?;

    println!("| figure | value |");
    println!("|---|---|");
    println!(
        "| usage ingest, batches of {BATCH}, {} clients over HTTP | {:.0} increments/s ({recorded} in {:.1} s) |",
        options.clients,
        recorded as f64 / ingest_elapsed.as_secs_f64(),
        ingest_elapsed.as_secs_f64()
    );
    println!(
        "| POST /v1/usage latency p50 / p99 | {} / {} |",
        millis(percentile(&mut batch_latencies, 0.50)),
        millis(percentile(&mut batch_latencies, 0.99))
    );
    println!(
        "| entitlements projection caught up after ingest ended | {} |",
        millis(projection_lag)
    );
    println!(
        "| every other projection caught up after that (before the checks) | {} |",
        millis(all_projections_lag)
    );
    print_fixed_rate(CHECK_NAME, options, check);
    print_fixed_rate(HEALTH_NAME, options, health);
    let customers = options.customers;
    let check_url = format!(
        "{base}/v1/customers/cus_bench_{}/entitlements/api_calls",
        customers / 2
    );
    let health_url = format!("{base}/health");
    if tools::installed("hey").await {
        for (name, url) in [(CHECK_NAME, &check_url), (HEALTH_NAME, &health_url)] {
            let figures =
                tools::run_hey(url, options.rate, HEY_WORKERS, options.check_seconds).await?;
            print_tool_row(
                &format!("{name}, hey -c {HEY_WORKERS} at {} req/s", options.rate),
                options.check_seconds,
                &figures,
            );
        }
    } else {
        eprintln!("hey is not installed (apt-get install hey): its rows are skipped");
    }
    if tools::installed("wrk").await {
        for (name, path) in [
            (
                CHECK_NAME,
                format!(
                    "\"/v1/customers/cus_bench_\" .. math.random(0, {}) .. \"/entitlements/api_calls\"",
                    customers - 1
                ),
            ),
            (HEALTH_NAME, "\"/health\"".to_owned()),
        ] {
            let figures =
                tools::run_wrk(&base, &path, WRK_CONNECTIONS, options.check_seconds).await?;
            print_tool_row(
                &format!("{name}, wrk -t1 -c{WRK_CONNECTIONS} at full speed"),
                options.check_seconds,
                &figures,
            );
        }
    } else {
        eprintln!("wrk is not installed (apt-get install wrk): its rows are skipped");
    }
    running.stop().await;
    database.close().await?;
    Ok(())
}

/// A catalog granting `sso` and an `api_calls` quota to `price_bench`, and one active
/// subscription on it per customer.
async fn seed_catalog_and_subscriptions(store: &EventStore, customers: u32) -> anyhow::Result<()> {
    let catalog = Catalog {
        past_due_grace_days: Some(7),
        plans: vec![CatalogPlan {
            price: Some("price_bench".into()),
            product: None,
            features: vec!["sso".into()],
            limits: vec![MeterLimit {
                meter: "api_calls".into(),
                quota: Some(Decimal::from(1_000_000_000_u64)),
                included: Decimal::from(1000),
                overage_unit_amount: Some(Decimal::new(2, 1)),
                currency: Some(Currency::new("usd")),
                stripe_event_name: Some("api_calls".into()),
            }],
        }],
    };
    apply_catalog(store, catalog, CatalogSource::File, Utc::now())
        .await
        .map_err(|error| anyhow::anyhow!("{error}"))?;
    let now = Utc::now();
    let metadata = EventMetadata {
        source: "bench".into(),
        actor: Actor::System,
        stripe_event_id: None,
        stripe_api_version: None,
        causation_id: None,
        correlation_id: None,
        stripe_fetch: None,
    };
    let mut events = Vec::new();
    for customer in 0..customers {
        let event = DomainEvent::SubscriptionObserved(SubscriptionObserved {
            change: ObservedChange::Created,
            snapshot: SubscriptionSnapshot {
                subscription: format!("sub_bench_{customer}").as_str().into(),
                customer: format!("cus_bench_{customer}").as_str().into(),
                currency: Currency::new("usd"),
                status: SubscriptionStatus::Active,
                cancel_at_period_end: false,
                current_period_start: Some(now - chrono::Duration::days(1)),
                current_period_end: Some(now + chrono::Duration::days(29)),
                items: vec![SubscriptionItem {
                    item: format!("si_bench_{customer}").as_str().into(),
                    price: "price_bench".into(),
                    product: None,
                    quantity: 1,
                    usage_type: UsageType::Licensed,
                    billing_scheme: BillingScheme::PerUnit,
                    unit_amount_decimal: Some(Decimal::from(1000)),
                    tiers_mode: None,
                    tiers: Vec::new(),
                    transform_quantity: None,
                    interval: RecurringInterval::Month,
                    interval_count: 1,
                    current_period_start: None,
                    current_period_end: None,
                }],
                discount_ids: Vec::new(),
                expanded_discounts: Vec::new(),
                ended_at: None,
            },
        });
        let id = Uuid::new_v5(
            &Uuid::NAMESPACE_OID,
            format!("bench-sub-{customer}").as_bytes(),
        );
        events.push((
            event.stream_id(),
            NewEvent::from_domain(id, &event, metadata.clone(), now),
        ));
    }
    for chunk in events.chunks(500) {
        store.append_new_events(chunk).await?;
    }
    Ok(())
}

/// Latencies of a fixed-rate run, measured from each request's scheduled start.
struct FixedRateRun {
    latencies: Vec<Duration>,
    errors: u64,
}

async fn fixed_rate(
    client: &reqwest::Client,
    options: UsageBenchOptions,
    url: impl Fn(u64) -> String,
) -> anyhow::Result<FixedRateRun> {
    let total = u64::from(options.rate) * options.check_seconds;
    let interval = Duration::from_secs_f64(1.0 / f64::from(options.rate));
    let start = tokio::time::Instant::now();
    let mut requests = Vec::with_capacity(total as usize);
    for i in 0..total {
        let scheduled = start + interval.mul_f64(i as f64);
        tokio::time::sleep_until(scheduled).await;
        let client = client.clone();
        let url = url(i);
        requests.push(tokio::spawn(async move {
            let ok = match client.get(&url).send().await {
                Ok(response) => response.status().is_success() && response.bytes().await.is_ok(),
                Err(_) => false,
            };
            (scheduled.elapsed(), ok)
        }));
    }
    let mut run = FixedRateRun {
        latencies: Vec::with_capacity(requests.len()),
        errors: 0,
    };
    for request in requests {
        let (latency, ok) = request.await?;
        run.latencies.push(latency);
        if !ok {
            run.errors += 1;
        }
    }
    Ok(run)
}

fn print_fixed_rate(name: &str, options: UsageBenchOptions, mut run: FixedRateRun) {
    println!(
        "| {name} at {} req/s for {} s: p50 / p99 / max | {} / {} / {} ({} errors) |",
        options.rate,
        options.check_seconds,
        millis(percentile(&mut run.latencies, 0.50)),
        millis(percentile(&mut run.latencies, 0.99)),
        millis(percentile(&mut run.latencies, 1.0)),
        run.errors
    );
}

fn print_tool_row(name: &str, seconds: u64, figures: &tools::LoadFigures) {
    println!(
        "| {name} for {seconds} s: achieved req/s; p50 / p90 / p99 | {:.0} req/s; {:.3} / {:.3} / {:.3} ms ({} errors) |",
        figures.requests_per_second, figures.p50_ms, figures.p90_ms, figures.p99_ms, figures.errors
    );
}

fn percentile(values: &mut [Duration], quantile: f64) -> Duration {
    if values.is_empty() {
        return Duration::ZERO;
    }
    values.sort_unstable();
    let index = ((values.len() - 1) as f64 * quantile).round() as usize;
    values[index]
}

fn millis(duration: Duration) -> String {
    format!("{:.3} ms", duration.as_secs_f64() * 1000.0)
}
