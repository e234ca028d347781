//! The HTTP routes. This contract is fixed: later versions extend it, never break it.

mod authorization;
mod commands;
mod customers;
mod daily_and_plans;
mod entitlements;
mod event_json;
mod feed;
mod log_figures;
mod prometheus;
pub mod report_format;
mod reports;
mod restatements;
mod status;
pub mod usage;
mod webhook_deliveries;
mod webhooks;

use crate::AppState;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::Router;

/// Largest webhook body accepted (1 MiB); larger bodies get 413 and nothing is stored.
pub const WEBHOOK_BODY_LIMIT_BYTES: usize = 1024 * 1024;

/// The whole API:
/// - `POST /webhooks/stripe` — Stripe webhook endpoint (signature verified, body kept durably);
/// - `GET /v1/status` — log head, each projection's position and lag, the oldest writing
///   transaction;
/// - `GET /v1/events?after=<cursor>&limit=<n>` — the gap-free global feed, page by page;
/// - `GET /v1/webhooks/deliveries?status=&type=&limit=&before=` — the webhook delivery log;
/// - `GET /metrics` — Prometheus metrics;
/// - `GET /v1/reports/{mrr,churn,cash}?currency=&from=YYYY-MM&to=YYYY-MM` — monthly reports;
/// - `GET /v1/reports/mrr/daily?currency=&from=YYYY-MM-DD&to=YYYY-MM-DD` — MRR per UTC day;
/// - `GET /v1/reports/mrr/by-plan?currency=&date=YYYY-MM-DD` — MRR per product/price;
/// - `GET /v1/reports/restatements?currency=&month=YYYY-MM` — later changes to a closed month;
/// - `GET /v1/customers/{id}/mrr?at=<RFC3339>[&currency=]` — a customer's MRR at an instant;
/// - `GET /v1/customers/{id}/timeline` — every change of a customer's MRR, with its events;
/// - `GET /v1/customers/{id}/events?as_of=<RFC3339>` — a customer's audit trail, as recorded
///   by `as_of`.
/// - `POST /v1/usage` — a batch of usage increments (partial acceptance, duplicates reported);
/// - `GET /v1/customers/{id}/usage?meter=&period=` — usage, allowance and overage of a period;
/// - `GET /v1/customers/{id}/entitlements` — active features and limits with usage;
/// - `GET /v1/customers/{id}/entitlements/{feature}` — allowed or not, and why (from memory);
/// - `POST /v1/commands/{name}` — a command to Stripe, recorded, then sent by the outbox worker;
/// - `GET /v1/commands/{id}` — its status, outcome and webhook echoes;
/// - `GET /health` — `ok`.
///
/// API keys: `/v1/commands/*` always needs one; every other `/v1/*` route once any key exists
/// ([`authorization::requirement`]).
///
/// Every report (the `reports` routes, customer `mrr` and `timeline`) takes
/// `as_of=<RFC3339>` (as the log stood at that recorded time) and answers CSV on
/// `format=csv` or `Accept: text/csv` ([`report_format`]).
///
/// Installs the Prometheus recorder on first call ([`crate::prometheus_metrics`]).
pub fn router(state: AppState) -> Router {
    crate::prometheus_metrics::prometheus_handle();
    Router::new()
        .route(
            "/webhooks/stripe",
            post(webhooks::receive_stripe_webhook)
                .layer(DefaultBodyLimit::max(WEBHOOK_BODY_LIMIT_BYTES)),
        )
        .route("/v1/status", get(status::status))
        .route("/v1/events", get(feed::global_feed))
        .route(
            "/v1/webhooks/deliveries",
            get(webhook_deliveries::list_webhook_deliveries),
        )
        .route("/metrics", get(prometheus::metrics))
        .route("/v1/reports/mrr", get(reports::mrr))
        .route("/v1/reports/churn", get(reports::churn))
        .route("/v1/reports/cash", get(reports::cash))
        .route("/v1/reports/mrr/daily", get(daily_and_plans::daily))
        .route("/v1/reports/mrr/by-plan", get(daily_and_plans::by_plan))
        .route("/v1/reports/restatements", get(restatements::restatements))
        .route("/v1/customers/{customer}/mrr", get(customers::mrr_at))
        .route(
            "/v1/customers/{customer}/timeline",
            get(customers::timeline),
        )
        .route("/v1/customers/{customer}/events", get(customers::events))
        .route("/v1/usage", post(usage::record_usage))
        .route("/v1/customers/{customer}/usage", get(usage::customer_usage))
        .route(
            "/v1/customers/{customer}/entitlements",
            get(entitlements::customer_entitlements),
        )
        .route(
            "/v1/customers/{customer}/entitlements/{feature}",
            get(entitlements::check_feature),
        )
        .route(
            "/v1/commands/{name}",
            post(commands::request_command).get(commands::command_status_route),
        )
        .route("/health", get(entitlements::health))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            authorization::authorize,
        ))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(state)
}
