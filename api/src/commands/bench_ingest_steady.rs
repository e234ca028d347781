//! The steady half of `tally bench ingest`: signed webhooks paced at `rate` per second for
//! `seconds` through the real endpoint, while the server's inbox translator and projectors
//! run as in production, and for each delivery the time from its 2xx answer until every live
//! projection has applied its event (answered -> translated -> projected): the lag a dashboard
//! sees behind a steady webhook stream.

use super::bench::percentile;
use super::bench_checkpoint_lag::sample_slowest_checkpoint;
use super::bench_ingest::{delivery_body, figures_from, post_delivery, Figures, BENCH_SECRET};
use ledger::store::{read, FeedCursor};
use sqlx::PgPool;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use stripe_bridge::ingest::{prepare_stripe_event, IngestChannel};
use uuid::Uuid;

/// Pacing: `rate / 100` deliveries leave together every 10 ms.
const TICK: Duration = Duration::from_millis(10);
/// How long the checkpoints are still sampled after the last delivery was sent.
const SETTLE: Duration = Duration::from_secs(2);

/// The steady half's figures.
pub(super) struct SteadyFigures {
    /// Deliveries answered, over the sending time, with answer latencies.
    pub(super) answers: Figures,
    /// Answer -> every projection applied it, p50, milliseconds (NaN when none was applied).
    pub(super) lag_p50_ms: f64,
    /// The same, p99.
    pub(super) lag_p99_ms: f64,
    /// The same, the largest.
    pub(super) lag_max_ms: f64,
    /// Deliveries whose events no projection sample covered before sampling stopped.
    pub(super) not_projected: usize,
}

/// One delivery made before the clock starts: body, `Stripe-Signature`, its events' ids.
type PreparedDelivery = (bytes::Bytes, String, Vec<Uuid>);

/// Sends `rate` deliveries per second to `url` for `seconds` (each a request of its own, so a
/// slow answer does not slow the pace) and measures answers and projection lag.
///
/// Errors: a refused delivery; database errors.
pub(super) async fn drive_steady_webhooks(
    pool: &PgPool,
    url: &str,
    rate: u64,
    seconds: u64,
) -> anyhow::Result<SteadyFigures> {
    let run = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_nanos();
    let per_tick = usize::try_from((rate / 100).max(1))?;
    let ticks = usize::try_from(seconds * 100)?;
    let signed_at = chrono::Utc::now().timestamp();
    let deliveries: Arc<Vec<PreparedDelivery>> = Arc::new(
        (0..per_tick * ticks)
            .map(|index| {
                let body = delivery_body(run, index);
                let header = stripe_bridge::sign_header(BENCH_SECRET, signed_at, &body);
                let event_ids = prepare_stripe_event(IngestChannel::Webhook, &body)
                    .events
                    .iter()
                    .map(|event| event.event.event_id)
                    .collect();
                (bytes::Bytes::from(body), header, event_ids)
            })
            .collect(),
    );
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(per_tick * 4)
        .timeout(Duration::from_secs(30))
        .build()?;
    let started = Instant::now();
    let monitor = sample_slowest_checkpoint(
        pool.clone(),
        started + Duration::from_secs(seconds) + SETTLE,
    );
    let mut ticker = tokio::time::interval(TICK);
    let mut sending = tokio::task::JoinSet::new();
    for tick in 0..ticks {
        ticker.tick().await;
        for index in tick * per_tick..(tick + 1) * per_tick {
            let (client, url, deliveries) = (client.clone(), url.to_owned(), deliveries.clone());
            sending.spawn(async move {
                let (body, header, _) = &deliveries[index];
                let sent = Instant::now();
                post_delivery(&client, &url, body, header).await?;
                let answered = Instant::now();
                Ok::<_, anyhow::Error>((index, answered, (answered - sent).as_secs_f64() * 1000.0))
            });
        }
    }
    let mut answered = Vec::with_capacity(per_tick * ticks);
    while let Some(done) = sending.join_next().await {
        answered.push(done??);
    }
    let sending_seconds = started.elapsed().as_secs_f64();
    let samples = monitor.await??;

    let event_ids: Vec<Uuid> = deliveries
        .iter()
        .flat_map(|(_, _, ids)| ids.iter().copied())
        .collect();
    let cursor_of: HashMap<Uuid, FeedCursor> = read::read_event_ids(pool, &event_ids)
        .await?
        .into_iter()
        .map(|event| {
            let cursor = FeedCursor {
                transaction_id: event.transaction_id,
                global_position: event.global_position,
            };
            (event.event_id, cursor)
        })
        .collect();
    let mut lags_ms = Vec::with_capacity(answered.len());
    let mut not_projected = 0;
    for (index, answered_at, _) in &answered {
        let lag = deliveries[*index]
            .2
            .iter()
            .map(|id| {
                cursor_of.get(id).map_or(f64::INFINITY, |cursor| {
                    samples.lag_ms(*cursor, *answered_at)
                })
            })
            .fold(0.0, f64::max);
        if lag.is_finite() {
            lags_ms.push(lag);
        } else {
            not_projected += 1;
        }
    }
    Ok(SteadyFigures {
        answers: figures_from(
            answered.iter().map(|(_, _, latency)| *latency).collect(),
            sending_seconds,
        ),
        lag_p50_ms: percentile(&lags_ms, 0.50),
        lag_p99_ms: percentile(&lags_ms, 0.99),
        lag_max_ms: percentile(&lags_ms, 1.0),
        not_projected,
    })
}
