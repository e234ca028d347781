//! What every handler shares.

use ledger::store::AppendSignal;
use projections::entitlements::LiveEntitlements;
use projections::projector::Projectors;
use sqlx::PgPool;
use stripe_bridge::WebhookSecrets;

/// Shared state of the HTTP server.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The database (event log and read models).
    pub pool: PgPool,
    /// Wakes the projectors after each append.
    pub append_signal: AppendSignal,
    /// Webhook signing secrets; `None` when `STRIPE_WEBHOOK_SECRET` is unset (webhooks are
    /// then refused with 503).
    pub webhook_secrets: Option<WebhookSecrets>,
    /// The projectors (for their names).
    pub projectors: Projectors,
    /// The in-memory usage and entitlements projection (kept current by its projector task in
    /// `tally serve`; tests may fill it themselves).
    pub entitlements: LiveEntitlements,
}
