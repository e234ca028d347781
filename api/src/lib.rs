//! Tally's HTTP API (axum) and the `tally` command line. The only crate that speaks HTTP.
//!
//! Handlers are thin: parse -> call `stripe-bridge` or `projections` -> respond.

pub mod api_keys;
pub mod app_state;
pub mod catalog_file;
pub mod cli;
pub mod commands;
pub mod config;
pub mod error;
pub mod money_text;
pub mod params;
pub mod prometheus_metrics;
pub mod routes;
pub mod server;
pub mod stripe_transport;

pub use app_state::AppState;
pub use error::ApiError;
pub use routes::router;
