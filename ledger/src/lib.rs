//! Tally's ledger: the pure revenue domain (`domain`) and the PostgreSQL event store (`store`).
//!
//! `domain` does no I/O and never reads the clock: it is the business, readable on its own.
//! `store` is the only place in this crate that talks to PostgreSQL.

pub mod domain;
pub mod error;
pub mod store;

pub use error::LedgerError;
