//! `GET /v1/customers/{id}/entitlements`, `GET /v1/customers/{id}/entitlements/{feature}` (the
//! hot path: served from memory, no database round trip) and `GET /health`.

use crate::{ApiError, AppState};
use axum::extract::{Path, State};
use axum::Json;
use chrono::Utc;
use ledger::domain::CustomerId;
use serde_json::{json, Value};

/// `GET /v1/customers/{id}/entitlements`: `{"customer", "at", "current_through", "features":
/// {name: {"subscription", "price", "status"}}, "limits": {meter: {"quota", "included",
/// "overage_unit_amount", "currency", "used", "remaining", "overage_quantity",
/// "overage_amount", "period": {"start", "end", "basis"}}}, "inactive": {subscription:
/// reason}, "stripe_entitlements": [lookup_key]}` at now (the last: features Stripe
/// Entitlements lists as active, granted whatever the catalog says), from the in-memory
/// projection; `current_through` is the global position
/// it reflects.
pub async fn customer_entitlements(
    State(state): State<AppState>,
    Path(customer): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let now = Utc::now();
    let customer = CustomerId(customer);
    let shared = state.entitlements.state();
    let projection = shared
        .read()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let entitlements = projection.entitlements(&customer, now);
    let period = projection.billing_period(&customer, now);
    let mut limits = serde_json::Map::new();
    for (meter, limit) in &entitlements.limits {
        let used = projection.used(&customer, meter, &period);
        let summary = projections::entitlements::evaluate::summarize(
            meter,
            period,
            used,
            Some(limit.clone()),
        );
        limits.insert(
            meter.clone(),
            json!({
                "quota": limit.quota,
                "included": limit.included,
                "overage_unit_amount": limit.overage_unit_amount,
                "currency": limit.currency,
                "used": summary.quantity,
                "remaining": summary.remaining,
                "overage_quantity": summary.overage_quantity,
                "overage_amount": summary.overage_amount,
                "period": summary.period,
            }),
        );
    }
    Ok(Json(json!({
        "customer": customer,
        "at": now,
        "current_through": projection.position,
        "features": entitlements.features,
        "limits": limits,
        "inactive": entitlements.inactive,
        "stripe_entitlements": entitlements.stripe_entitlements,
    })))
}

/// `GET /v1/customers/{id}/entitlements/{feature}`: `{"customer", "feature", "allowed",
/// "reason", "current_through"}` at now. Served from memory kept current by the entitlements
/// projector (no database round trip); `current_through` is the global position it reflects.
pub async fn check_feature(
    State(state): State<AppState>,
    Path((customer, feature)): Path<(String, String)>,
) -> Json<Value> {
    let now = Utc::now();
    let customer = CustomerId(customer);
    let shared = state.entitlements.state();
    let projection = shared
        .read()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let decision = projection.check_feature(&customer, &feature, now);
    Json(json!({
        "customer": customer,
        "feature": feature,
        "allowed": decision.allowed,
        "reason": decision.reason,
        "current_through": projection.position,
    }))
}

/// `GET /health`: `ok`, touching nothing (the baseline of the entitlement-check benchmark).
pub async fn health() -> &'static str {
    "ok"
}
