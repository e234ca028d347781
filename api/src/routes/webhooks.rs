//! `POST /webhooks/stripe`: verify, keep durably, translate; answer 2xx only once stored.

use crate::prometheus_metrics;
use crate::routes::WEBHOOK_BODY_LIMIT_BYTES;
use crate::{ApiError, AppState};
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use serde_json::{json, Value};
use stripe_bridge::ingest::{ingest_stripe_event, IngestChannel};

/// Receives one Stripe webhook delivery.
///
/// - bad, missing or stale `Stripe-Signature` -> 400 `{"error": {"code": "signature_mismatch", ...}}`,
///   nothing stored;
/// - body over 1 MiB -> 413, nothing stored;
/// - verified -> the raw body is committed (deduplicated by Stripe Event id) before answering
///   200 `{"received": true, "status": "translated"|"ignored"|"unparsed"|"duplicate", ...}`;
///   ignored and unparsed bodies are kept and counted in `/v1/status`, never lost.
///
/// Every answer is counted in the `tally_webhooks_*_total` metrics ([`crate::prometheus_metrics`]).
pub async fn receive_stripe_webhook(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let answer = verify_and_keep(&state, &headers, body).await;
    prometheus_metrics::count_webhook(match &answer {
        Ok((status, _)) => Ok(*status),
        Err(error) => Err(error.code()),
    });
    let (_, body) = answer?;
    Ok((StatusCode::OK, Json(body)))
}

/// The delivery's fate: its answered `status` and the 200 body, or why it was refused.
async fn verify_and_keep(
    state: &AppState,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<(&'static str, Value), ApiError> {
    let body = body.map_err(|rejection| match rejection.status() {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge {
            limit_bytes: WEBHOOK_BODY_LIMIT_BYTES,
        },
        _ => ApiError::invalid("body", rejection.body_text()),
    })?;
    let secrets = state
        .webhook_secrets
        .as_ref()
        .ok_or(ApiError::NotConfigured(
            "STRIPE_WEBHOOK_SECRET is not set; webhooks cannot be verified",
        ))?;
    let header = headers
        .get("stripe-signature")
        .map(|value| value.to_str().unwrap_or(""));
    // The clock is read here, at the edge; verification itself is pure.
    stripe_bridge::verify(header, &body, secrets, chrono::Utc::now().timestamp())?;
    let report = ingest_stripe_event(
        &state.pool,
        &state.append_signal,
        IngestChannel::Webhook,
        &body,
    )
    .await?;
    let status = report
        .outcome
        .map_or("duplicate", |outcome| outcome.as_str());
    Ok((
        status,
        json!({
            "received": true,
            "id": report.message_key,
            "type": report.event_type,
            "status": status,
            "reason": report.reason,
            "events_appended": report.positions.len(),
        }),
    ))
}
