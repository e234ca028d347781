//! `POST /webhooks/stripe`: verify, keep durably, answer; the inbox translator translates the
//! kept body behind the answer ([`stripe_bridge::inbox_translator`]).

use crate::prometheus_metrics;
use crate::routes::WEBHOOK_BODY_LIMIT_BYTES;
use crate::{ApiError, AppState};
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use serde_json::{json, Value};
use stripe_bridge::webhook_inbox::{
    accept_stripe_webhook, record_rejected_webhook, WebhookDeliveryFacts,
};

/// Receives one Stripe webhook delivery.
///
/// - bad, missing or stale `Stripe-Signature` -> 400 `{"error": {"code": "signature_mismatch", ...}}`,
///   nothing stored;
/// - body over 1 MiB -> 413, nothing stored;
/// - verified -> the raw body is committed (deduplicated by Stripe Event id) with its
///   delivery-log row and a place in the translation queue before answering
///   200 `{"received": true, "id": "evt_...", "type": "...", "status": "received"|"unparsed"|"duplicate", "reason": null|"..."}`
///   (`unparsed`: the envelope is unreadable; the body is kept all the same). Translation
///   into domain events follows within milliseconds, behind the answer; its outcomes
///   (translated, ignored, unparsed) and the queue's depth are in `/v1/status`.
///
/// Every answer is counted in the `tally_webhooks_*_total` metrics ([`crate::prometheus_metrics`])
/// and every attempt recorded in the delivery log (`GET /v1/webhooks/deliveries`): a refused
/// one (400/413) as `rejected` with its code and message, its size and the header's `t=`, and
/// nothing of its body.
pub async fn receive_stripe_webhook(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let body_bytes = match &body {
        Ok(body) => i64::try_from(body.len()).ok(),
        Err(_) => declared_content_length(&headers),
    };
    let answer = verify_and_keep(&state, &headers, body).await;
    if let Err(error) = &answer {
        if is_refusal(error) {
            let reason = format!("{}: {error}", error.code());
            let timestamp = signature_timestamp(&headers);
            // The refusal is answered even if it cannot be logged: it stored nothing.
            if let Err(failure) =
                record_rejected_webhook(&state.pool, &reason, body_bytes, timestamp).await
            {
                tracing::warn!(%failure, "could not record a rejected webhook delivery");
            }
        }
    }
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
    let facts = WebhookDeliveryFacts {
        signature_timestamp: signature_timestamp(headers),
    };
    let accepted = accept_stripe_webhook(&state.pool, &state.inbox_wakeup, &body, facts).await?;
    let status = accepted.status.as_str();
    Ok((
        status,
        json!({
            "received": true,
            "id": accepted.message_key,
            "type": accepted.event_type,
            "status": status,
            "reason": accepted.reason,
        }),
    ))
}

/// Whether an error is a refusal of the delivery itself (recorded as `rejected`), as opposed to
/// a server fault (500, 503: Stripe retries; nothing to blame on the delivery).
fn is_refusal(error: &ApiError) -> bool {
    matches!(
        error,
        ApiError::Signature(_)
            | ApiError::PayloadTooLarge { .. }
            | ApiError::InvalidParameter { .. }
    )
}

/// The `t=` of the `Stripe-Signature` header as a UTC time, when the header parses.
fn signature_timestamp(headers: &HeaderMap) -> Option<chrono::DateTime<chrono::Utc>> {
    let header = headers.get("stripe-signature")?.to_str().ok()?;
    let parsed = stripe_bridge::signature::parse_header(header).ok()?;
    chrono::DateTime::from_timestamp(parsed.timestamp, 0)
}

/// The declared `Content-Length`, for a body refused before it was read.
fn declared_content_length(headers: &HeaderMap) -> Option<i64> {
    headers
        .get(axum::http::header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .parse()
        .ok()
}
