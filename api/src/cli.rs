//! The `tally` command line (clap). Configuration comes from flags or the environment.

use clap::{Parser, Subcommand, ValueEnum};
use std::net::SocketAddr;
use std::path::PathBuf;

/// Tally: an event-sourced revenue ledger for companies that bill through Stripe.
#[derive(Debug, Parser)]
#[command(name = "tally", version, about)]
pub struct Cli {
    /// PostgreSQL to use. Unset: Tally starts its own embedded PostgreSQL in --data-dir.
    #[arg(long, env = "DATABASE_URL", global = true, hide_env_values = true)]
    pub database_url: Option<String>,
    /// Folder of the embedded PostgreSQL cluster (used when DATABASE_URL is unset).
    #[arg(
        long,
        env = "TALLY_DATA_DIR",
        global = true,
        default_value = ".tally/pg"
    )]
    pub data_dir: PathBuf,
    /// Role the application's connections run as (`SET ROLE`) after migrations ran as the
    /// connecting user; an empty value keeps the connecting user. In production, log in as a
    /// user that is only a member of this role and migrate once as the schema's owner.
    #[arg(
        long,
        env = "TALLY_DB_ROLE",
        global = true,
        default_value = ledger::store::connect::APPLICATION_ROLE
    )]
    pub db_role: String,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the service, post the bundled sample Stripe history to it as Stripe would (signed,
    /// over HTTP), print the monthly MRR movements, and keep serving until Ctrl-C.
    Demo {
        /// Address to listen on.
        #[arg(long, env = "TALLY_LISTEN", default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// Concurrent webhook deliveries.
        #[arg(long, default_value_t = 8)]
        concurrency: usize,
        /// Exit after printing the table instead of serving until Ctrl-C.
        #[arg(long)]
        exit: bool,
    },
    /// Run the service: Stripe webhook endpoint, HTTP API and projectors.
    Serve {
        /// Address to listen on.
        #[arg(long, env = "TALLY_LISTEN", default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
    },
    /// Append a file of Stripe Event objects (one JSON object per line, as `GET /v1/events`
    /// returns them) through the same code path as a verified webhook; or, with `stripe`,
    /// backfill from the Stripe API.
    #[command(args_conflicts_with_subcommands = true)]
    Import {
        /// The JSON Lines file (omit with `stripe`; a file named `stripe`: write `./stripe`).
        file: Option<PathBuf>,
        /// `tally import stripe`: page through the Stripe API instead.
        #[command(subcommand)]
        source: Option<ImportSource>,
    },
    /// Compare every subscription's state in the ledger with Stripe's current one and report
    /// the drift; `--fix` appends corrective snapshots (marked as corrections, with the reason).
    Reconcile {
        /// Append a corrective snapshot for each drifting subscription, effective now.
        #[arg(long)]
        fix: bool,
        /// Output format.
        #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
        format: OutputFormat,
    },
    /// Print a monthly report as a table, read from the projections.
    Report {
        /// Which report.
        kind: ReportKind,
        /// ISO currency code.
        #[arg(long, default_value = "usd")]
        currency: String,
        /// First month, YYYY-MM.
        #[arg(long)]
        from: String,
        /// Last month, YYYY-MM.
        #[arg(long)]
        to: String,
    },
    /// Replay the whole log into new versions of the read models while the old ones keep
    /// serving, then switch readers (and a running server's projectors) to them atomically.
    Rebuild {
        /// Only this projection (`mrr`, `cash` or `customer_events`); default: all.
        #[arg(long)]
        projection: Option<String>,
    },
    /// Benchmarks, against the database given (use an empty one).
    Bench {
        /// Which benchmark.
        #[command(subcommand)]
        benchmark: Benchmark,
    },
    /// The entitlement catalog (features and limits per Stripe price or product).
    Catalog {
        /// What to do with it.
        #[command(subcommand)]
        action: CatalogAction,
    },
    /// API keys for the HTTP API (`Authorization: Bearer tally_...`).
    Apikey {
        /// What to do.
        #[command(subcommand)]
        action: ApiKeyAction,
    },
    /// Print a customer's audit trail (every domain event about it, with its metadata) as a
    /// table, optionally as the log held it at an earlier instant.
    History {
        /// The Stripe customer id, `cus_...`.
        #[arg(long)]
        customer: String,
        /// Only events recorded at or before this RFC 3339 instant, e.g. 2025-03-31T23:59:59Z
        /// (default: the log as it is now).
        #[arg(long)]
        as_of: Option<String>,
    },
}

/// Where `tally import` reads from, besides a file.
#[derive(Debug, Subcommand)]
pub enum ImportSource {
    /// Page through the Stripe API (`STRIPE_SECRET_KEY`, `STRIPE_API_BASE`): customers,
    /// coupons, subscriptions and invoices as snapshots, and the Stripe Events of the window.
    /// Resumable: after an interruption, run it again; nothing is written twice.
    Stripe {
        /// Import Stripe Events created at or after this RFC 3339 instant (default: 30 days
        /// ago, as long as Stripe keeps Events).
        #[arg(long)]
        since: Option<String>,
    },
}

/// Output of `tally reconcile`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// Plain-text columns.
    Table,
    /// One JSON object.
    Json,
}

/// `tally catalog` actions.
#[derive(Debug, Subcommand)]
pub enum CatalogAction {
    /// Record a `catalog.toml` as the catalog in force from now (nothing when unchanged).
    Apply {
        /// The catalog file (see docs/catalog.example.toml).
        file: std::path::PathBuf,
    },
}

/// `tally apikey` actions.
#[derive(Debug, Subcommand)]
pub enum ApiKeyAction {
    /// Create a key and print it once (only its SHA-256 is stored).
    Create {
        /// What the key may do: `read` (reports, status, commands' status), `write` (also
        /// commands and usage), `admin` (everything).
        #[arg(long, value_enum)]
        scope: crate::api_keys::ApiKeyScope,
    },
    /// List keys (id, prefix, scope, created, last used, revoked); never their secrets.
    List,
    /// Revoke a key by id: running servers refuse it within 5 s (their key cache's age).
    Revoke {
        /// The key's id (the `<id>` of `tally_<id>_...`, as `tally apikey list` shows it).
        id: String,
    },
}

/// The monthly reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportKind {
    /// MRR movements.
    Mrr,
    /// Churn and retention rates.
    Churn,
    /// Cash collected, refunded, outstanding.
    Cash,
}

/// The benchmarks of `tally bench`.
#[derive(Debug, Subcommand)]
pub enum Benchmark {
    /// Load a synthetic Stripe-like history (~100 events per customer) and measure raw read
    /// rate, rebuild events/s, report query latency and projection lag under 1,000 events/s.
    Projections {
        /// Customers in the synthetic history.
        #[arg(long, default_value_t = 10_000)]
        customers: u32,
        /// Months of history.
        #[arg(long, default_value_t = 24)]
        months: u32,
        /// RNG seed (same seed, same history).
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Seconds of the steady 1,000 events/s stream measured for lag.
        #[arg(long, default_value_t = 20)]
        stream_seconds: u64,
    },
    /// Webhook ingest through the real HTTP endpoint (signed ~4.4 KB Stripe bodies) next to a
    /// raw single-row INSERT baseline (pgbench) at the same concurrency: events/s, p50/p99;
    /// then a steady stream of webhooks with the lag until every projection applied each.
    /// Needs DATABASE_URL and pgbench.
    Ingest {
        /// Concurrent connections of each half.
        #[arg(long, default_value_t = 32)]
        connections: usize,
        /// Seconds each half runs.
        #[arg(long, default_value_t = 20)]
        seconds: u64,
        /// Webhooks per second of the steady stream (0 skips it).
        #[arg(long, default_value_t = 1000)]
        steady_rate: u64,
        /// Seconds of the steady stream.
        #[arg(long, default_value_t = 10)]
        steady_seconds: u64,
    },
    /// Usage ingest through `POST /v1/usage` (batches of 100, over HTTP) and the entitlement
    /// check at a fixed request rate over HTTP, next to `GET /health` as the baseline.
    Usage {
        /// Seconds of ingest.
        #[arg(long, default_value_t = 10)]
        ingest_seconds: u64,
        /// Concurrent ingest clients.
        #[arg(long, default_value_t = 8)]
        clients: usize,
        /// Customers the usage and checks are spread over.
        #[arg(long, default_value_t = 1000)]
        customers: u32,
        /// Requests per second of the check and the baseline.
        #[arg(long, default_value_t = 1000)]
        rate: u32,
        /// Seconds of each fixed-rate run.
        #[arg(long, default_value_t = 10)]
        check_seconds: u64,
    },
}
