//! Metadata carried by every stored event: provenance, causation and correlation.

use chrono::{DateTime, Utc};
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
    /// Set on snapshots Tally fetched from the Stripe API itself (`tally import stripe`,
    /// `tally reconcile --fix`) rather than received as a Stripe Event; absent (not stored)
    /// otherwise, so metadata stored before it existed reads back unchanged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stripe_fetch: Option<StripeFetchProvenance>,
}

/// Where a fetched snapshot came from: the Stripe object, the list request that returned it and
/// when, and whether it corrects drift found by `tally reconcile`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StripeFetchProvenance {
    /// The Stripe object's id (`sub_...`, `cus_...`, `in_...`, a coupon id).
    pub object_id: String,
    /// The request that returned it, e.g. `GET /v1/subscriptions?limit=100&status=all`.
    pub request: String,
    /// When Stripe answered the request (UTC): also the snapshot's effective time.
    pub fetched_at: DateTime<Utc>,
    /// True when the snapshot corrects drift between the ledger and Stripe.
    #[serde(default)]
    pub correction: bool,
    /// For a correction, the drift it corrects (e.g. `status: ledger active, Stripe canceled`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}
