//! Metadata carried by every stored event: provenance, causation and correlation.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Who caused an event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "id")]
pub enum Actor {
    /// Stripe, through a webhook or an import of Stripe Events.
    Stripe,
    /// Tally itself (projectors, maintenance).
    System,
    /// A caller of the HTTP API, by API key id.
    ApiKey(String),
}

/// Metadata of one stored event (the `metadata` JSON column).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventMetadata {
    /// Where the event came from: `stripe_webhook`, `stripe_import`, `api`, `test`.
    pub source: String,
    /// Who caused it.
    pub actor: Actor,
    /// The Stripe Event id it was translated from, if any (`evt_...`).
    pub stripe_event_id: Option<String>,
    /// The Stripe API version the source payload was rendered in, if any.
    pub stripe_api_version: Option<String>,
    /// The id of the message (event or command) that directly caused this one.
    pub causation_id: Option<Uuid>,
    /// The id shared by every message of one workflow.
    pub correlation_id: Option<Uuid>,
}
