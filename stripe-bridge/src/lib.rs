//! The Stripe bridge: the only code in Tally that knows Stripe's shapes.
//!
//! * [`signature`] verifies the `Stripe-Signature` header of a webhook delivery (pure: the
//!   caller passes `now`).
//! * [`translate`](mod@translate) reads a Stripe Event body (any API version from 2024 to the current
//!   `2026-09-30.endive`, both the pre- and post-2025-03-31.basil shapes) and turns it into
//!   Tally's Stripe-independent [`ledger::domain::DomainEvent`]s. Pure: no I/O, no clock.
//! * [`webhook_inbox`] keeps a verified webhook body before the endpoint answers; the
//!   [`inbox_translator`] translates kept bodies into the event log behind the answer, in
//!   batches. [`ingest`] prepares a body (translation, event ids; the one place for both) and
//!   appends one body synchronously; [`bulk_ingest`] writes prepared bodies in chunks through
//!   COPY (`tally import`).
//! * [`backfill`] pages through Stripe's lists (`tally import stripe`) and [`reconcile`]
//!   compares the ledger's subscriptions with Stripe's (`tally reconcile`), both through any
//!   async-stripe `StripeClient` the caller supplies.
//!
//! * [`outbox`] executes Stripe commands (customers, subscriptions, meter events, invoice items)
//!   through a transactional outbox with deterministic idempotency keys.
//!
//! Errors of the whole crate are in [`error`].

pub mod backfill;
pub mod bulk_ingest;
pub mod error;
pub mod inbox_translator;
pub mod ingest;
pub mod outbox;
pub mod reconcile;
pub mod signature;
pub mod translate;
pub mod webhook_inbox;

pub use error::{BackfillError, PayloadError, SignatureError, StripeBridgeError, StripeCallError};
pub use signature::{sign_header, verify, WebhookSecrets, DEFAULT_TOLERANCE_SECONDS};
pub use translate::{
    covered_event_types, translate, used_event_types, StripeEventCoverage, StripeEventEnvelope,
    Translation,
};
