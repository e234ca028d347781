//! The outbound half of the bridge: Stripe commands executed through a transactional outbox.
//!
//! * [`stripe_call`](mod@stripe_call): the calls (`StripeCall`) and the pure mapping from a log
//!   event to the call it asks for.
//! * [`send`]: one call through any `StripeClient`, once, with a given idempotency key.
//! * [`retry`]: capped exponential backoff with jitter.
//! * [`worker`]: the projector over the log that queues and executes calls and appends their
//!   outcomes.

pub mod retry;
pub mod send;
pub mod stripe_call;
pub mod worker;

pub use retry::RetryPolicy;
pub use send::{send_stripe_call, StripeObjectRef};
pub use stripe_call::{stripe_call_for_event, StripeCall};
pub use worker::{outcome_event_id, OutboxError, OutboxOptions, OutboxPass, OutboxWorker};
