//! Prometheus metrics (the `metrics` facade, rendered by `metrics-exporter-prometheus`).
//!
//! Gauges are computed from the database on each scrape of `GET /metrics`; counters are
//! incremented where the webhook route decides a delivery's fate. The recorder is the process's
//! global `metrics` recorder, installed on first use (by [`crate::router`]).
//!
//! | metric | type | labels | meaning |
//! |---|---|---|---|
//! | `tally_log_head` | gauge | | highest committed global position |
//! | `tally_projector_lag_events` | gauge | `projector` | committed events not applied yet |
//! | `tally_projector_lag_seconds` | gauge | `projector` | age of the oldest of them, 0 when caught up |
//! | `tally_oldest_writing_transaction_age_seconds` | gauge | | age of the cluster's oldest transaction holding an id (holds the feed back), 0 when none |
//! | `tally_inbox_pending` | gauge | | webhook bodies kept but not translated yet (the endpoint answers first) |
//! | `tally_inbox_oldest_pending_age_seconds` | gauge | | age of the oldest of them, 0 when none waits |
//! | `tally_webhooks_accepted_total` | counter | `status` = `received` | verified deliveries stored for the first time |
//! | `tally_webhooks_unparsed_total` | counter | | verified deliveries stored for the first time but unreadable (kept, flagged) |
//! | `tally_webhooks_duplicate_total` | counter | | verified redeliveries of a stored Stripe Event (answered 200, nothing new stored) |
//! | `tally_webhooks_rejected_total` | counter | `reason` = the error code answered | deliveries refused (nothing stored): bad signature, too large, no secret, internal error |

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;

/// Gauge: highest committed global position.
pub const LOG_HEAD: &str = "tally_log_head";
/// Gauge, label `projector`: committed events the projector has not applied yet.
pub const PROJECTOR_LAG_EVENTS: &str = "tally_projector_lag_events";
/// Gauge, label `projector`: age in seconds of the oldest event it has not applied yet.
pub const PROJECTOR_LAG_SECONDS: &str = "tally_projector_lag_seconds";
/// Gauge: age in seconds of the cluster's oldest transaction holding a transaction id.
pub const OLDEST_WRITING_TRANSACTION_AGE_SECONDS: &str =
    "tally_oldest_writing_transaction_age_seconds";
/// Gauge: webhook bodies kept in the inbox and not translated yet.
pub const INBOX_PENDING: &str = "tally_inbox_pending";
/// Gauge: age in seconds of the oldest body waiting for translation (0 when none).
pub const INBOX_OLDEST_PENDING_AGE_SECONDS: &str = "tally_inbox_oldest_pending_age_seconds";
/// Counter, label `status` (`received`): deliveries stored for the first time.
pub const WEBHOOKS_ACCEPTED: &str = "tally_webhooks_accepted_total";
/// Counter: deliveries stored for the first time whose body could not be read.
pub const WEBHOOKS_UNPARSED: &str = "tally_webhooks_unparsed_total";
/// Counter: redeliveries of an already stored Stripe Event.
pub const WEBHOOKS_DUPLICATE: &str = "tally_webhooks_duplicate_total";
/// Counter, label `reason` (the error `code` answered): refused deliveries.
pub const WEBHOOKS_REJECTED: &str = "tally_webhooks_rejected_total";

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// The handle that renders this process's metrics. The first call installs the Prometheus
/// recorder as the global `metrics` recorder and describes every metric; if another recorder
/// was installed first, a warning is logged and `/metrics` renders only what reaches this one.
pub fn prometheus_handle() -> &'static PrometheusHandle {
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("a metrics recorder is already installed: GET /metrics will be empty");
        }
        describe();
        handle
    })
}

fn describe() {
    use metrics::{describe_counter, describe_gauge, Unit};
    describe_gauge!(
        LOG_HEAD,
        "Highest committed global position of the event log."
    );
    describe_gauge!(
        PROJECTOR_LAG_EVENTS,
        Unit::Count,
        "Committed events the projector has not applied yet."
    );
    describe_gauge!(
        PROJECTOR_LAG_SECONDS,
        Unit::Seconds,
        "Age of the oldest event the projector has not applied yet (0 when caught up)."
    );
    describe_gauge!(
        OLDEST_WRITING_TRANSACTION_AGE_SECONDS,
        Unit::Seconds,
        "Age of the oldest transaction in the cluster holding a transaction id; it holds the gap-free feed back (0 when none)."
    );
    describe_gauge!(
        INBOX_PENDING,
        Unit::Count,
        "Webhook bodies kept in the inbox and not translated into events yet."
    );
    describe_gauge!(
        INBOX_OLDEST_PENDING_AGE_SECONDS,
        Unit::Seconds,
        "Age of the oldest webhook body waiting for translation (0 when none); a growing age means the inbox translator is stopped or overwhelmed."
    );
    describe_counter!(
        WEBHOOKS_ACCEPTED,
        "Verified webhook deliveries stored for the first time, by status (received: queued for translation)."
    );
    describe_counter!(
        WEBHOOKS_UNPARSED,
        "Verified webhook deliveries stored for the first time whose body could not be read."
    );
    describe_counter!(
        WEBHOOKS_DUPLICATE,
        "Verified redeliveries of an already stored Stripe Event."
    );
    describe_counter!(
        WEBHOOKS_REJECTED,
        "Webhook deliveries refused with nothing stored, by reason (the error code answered)."
    );
    // Unlabelled counters exist from the start, so a dashboard shows 0 rather than no data.
    metrics::counter!(WEBHOOKS_UNPARSED).increment(0);
    metrics::counter!(WEBHOOKS_DUPLICATE).increment(0);
}

/// Counts one webhook delivery by its answer: `status` is the answered `status` (`received`,
/// `unparsed`, `duplicate`) when it was accepted, or the error `code` when it was
/// refused.
pub fn count_webhook(outcome: Result<&'static str, &'static str>) {
    match outcome {
        Ok("duplicate") => metrics::counter!(WEBHOOKS_DUPLICATE).increment(1),
        Ok("unparsed") => metrics::counter!(WEBHOOKS_UNPARSED).increment(1),
        Ok(status) => metrics::counter!(WEBHOOKS_ACCEPTED, "status" => status).increment(1),
        Err(reason) => metrics::counter!(WEBHOOKS_REJECTED, "reason" => reason).increment(1),
    }
}
