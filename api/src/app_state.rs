//! What every handler shares.

use crate::api_keys::ApiKeyGate;
use ledger::store::AppendSignal;
use projections::entitlements::LiveEntitlements;
use projections::projector::Projectors;
use sqlx::PgPool;
use stripe_bridge::inbox_translator::InboxWakeup;
use stripe_bridge::WebhookSecrets;

/// Shared state of the HTTP server.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The database (event log and read models).
    pub pool: PgPool,
    /// Wakes the projectors after each append.
    pub append_signal: AppendSignal,
    /// Wakes this process's inbox translator after each webhook body kept.
    pub inbox_wakeup: InboxWakeup,
    /// Webhook signing secrets; `None` when `STRIPE_WEBHOOK_SECRET` is unset (webhooks are
    /// then refused with 503).
    pub webhook_secrets: Option<WebhookSecrets>,
    /// The projectors (for their names).
    pub projectors: Projectors,
    /// The in-memory usage and entitlements projection (kept current by its projector task in
    /// `tally serve`; tests may fill it themselves).
    pub entitlements: LiveEntitlements,
    /// The API key check of `/v1/*` ([`crate::api_keys`]).
    pub api_keys: ApiKeyGate,
}

impl AppState {
    /// State over `pool` with a new append signal and inbox wake-up, default projectors, an empty in-memory
    /// entitlements projection and an API key gate on the same database.
    pub fn new(pool: PgPool, webhook_secrets: Option<WebhookSecrets>) -> Self {
        Self {
            api_keys: ApiKeyGate::new(pool.clone()),
            pool,
            append_signal: AppendSignal::new(),
            inbox_wakeup: InboxWakeup::new(),
            webhook_secrets,
            projectors: Projectors::default(),
            entitlements: LiveEntitlements::new(),
        }
    }
}
