//! `GET /metrics`: Prometheus text exposition of Tally's operations figures.

use crate::prometheus_metrics::{
    prometheus_handle, INBOX_OLDEST_PENDING_AGE_SECONDS, INBOX_PENDING, LOG_HEAD,
    OLDEST_WRITING_TRANSACTION_AGE_SECONDS, PROJECTOR_LAG_EVENTS, PROJECTOR_LAG_SECONDS,
};
use crate::routes::log_figures;
use crate::{ApiError, AppState};
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;

/// Computes the gauges (log head, per-projector lag in events and seconds, oldest writing
/// transaction age, the inbox translator's queue depth and oldest age) from the database,
/// then renders every metric of the process (those gauges and the webhook counters) in the Prometheus text format (`text/plain; version=0.0.4`).
/// 500 when the database cannot be read (so the scrape fails visibly instead of going stale).
pub async fn metrics(State(state): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    let handle = prometheus_handle();
    let mut connection = log_figures::connection(&state).await?;
    let figures = log_figures::gather(&state, &mut connection).await?;
    drop(connection);
    metrics::gauge!(INBOX_PENDING).set(figures.inbox_queue.pending as f64);
    metrics::gauge!(INBOX_OLDEST_PENDING_AGE_SECONDS)
        .set(figures.inbox_queue.oldest_age_seconds.unwrap_or(0.0));
    // Gauges of f64: positions and counts stay exact up to 2^53.
    metrics::gauge!(LOG_HEAD).set(figures.log_head as f64);
    for projector in &figures.projectors {
        metrics::gauge!(PROJECTOR_LAG_EVENTS, "projector" => projector.name)
            .set(projector.lag.events as f64);
        metrics::gauge!(PROJECTOR_LAG_SECONDS, "projector" => projector.name)
            .set(projector.lag.seconds);
    }
    metrics::gauge!(OLDEST_WRITING_TRANSACTION_AGE_SECONDS).set(
        figures
            .oldest_writing_transaction
            .map_or(0.0, |transaction| transaction.age_seconds),
    );
    Ok((
        [(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        handle.render(),
    ))
}
