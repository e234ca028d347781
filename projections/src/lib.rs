//! Tally's projectors and read models: MRR and movements, rates, cash, the customer audit trail.
//!
//! - [`rules`]: the revenue rules of revenue-rules.md as pure functions (no I/O, no clock).
//! - [`projector`]: running projectors over the gap-free global feed, with checkpoints.
//! - [`read_models`]: the projectors and the SQL of their tables.
//! - [`queries`]: read-side queries that load rows and apply the rules.
//! - [`synthetic_history`]: a deterministic Stripe-like event history for benchmarks and tests.

pub mod entitlements;
pub mod error;
pub mod projector;
pub mod queries;
pub mod read_models;
pub mod rules;
pub mod synthetic_history;

pub use error::ProjectionError;
