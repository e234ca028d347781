//! Runtime configuration read from the environment at the edge.

use stripe_bridge::{SignatureError, WebhookSecrets};

/// `STRIPE_WEBHOOK_SECRET`: one or more `whsec_...` secrets, comma-separated (rotation).
/// `Ok(None)` when unset.
pub fn webhook_secrets_from_env() -> Result<Option<WebhookSecrets>, SignatureError> {
    match std::env::var("STRIPE_WEBHOOK_SECRET") {
        Ok(value) if !value.trim().is_empty() => WebhookSecrets::parse(&value).map(Some),
        _ => Ok(None),
    }
}
