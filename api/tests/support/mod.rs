//! Shared test support for the api crate's integration tests.
#![allow(
    dead_code,
    reason = "each test binary uses a different part of the support code"
)]

pub mod fake_stripe;
pub mod router_requests;
pub mod stripe_backfill_objects;
pub mod stripe_lists;
