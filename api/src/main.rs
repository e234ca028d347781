//! The `tally` binary: parses the command line and runs a subcommand. The binary's edge is the
//! only place `anyhow` is used.

use api::cli::{ApiKeyAction, Benchmark, CatalogAction, Cli, Command, ImportSource};
use api::commands;
use clap::Parser;
use tracing_subscriber::EnvFilter;

/// mimalloc instead of glibc's allocator: the service allocates and frees many small buffers
/// per request and per event (JSON values, rows) from several threads, where glibc's malloc
/// showed as a tenth of the CPU in the ingest profiles.
#[global_allocator]
static GLOBAL_ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_env("TALLY_LOG").unwrap_or_else(|_| {
            EnvFilter::new("warn,api=info,ledger=info,projections=info,stripe_bridge=info")
        }))
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let database_url = cli.database_url.as_deref();
    let data_dir = cli.data_dir.as_path();
    commands::set_application_role(&cli.db_role);
    match cli.command {
        Command::Demo {
            listen,
            concurrency,
            exit,
        } => commands::demo(database_url, data_dir, listen, concurrency, exit).await,
        Command::Serve { listen } => commands::serve(database_url, data_dir, listen).await,
        Command::Import {
            source: Some(ImportSource::Stripe { since }),
            ..
        } => commands::import_stripe(database_url, data_dir, since.as_deref()).await,
        Command::Import {
            file: Some(file), ..
        } => commands::import(database_url, data_dir, &file).await,
        Command::Import { .. } => {
            anyhow::bail!("tally import: give a JSON Lines FILE of Stripe Events, or `stripe`")
        }
        Command::Reconcile { fix, format } => {
            commands::reconcile(database_url, data_dir, fix, format).await
        }
        Command::Report {
            kind,
            currency,
            from,
            to,
        } => commands::report(database_url, data_dir, kind, &currency, &from, &to).await,
        Command::Rebuild { projection } => {
            commands::rebuild(database_url, data_dir, projection.as_deref()).await
        }
        Command::Bench {
            benchmark:
                Benchmark::Projections {
                    customers,
                    months,
                    seed,
                    stream_seconds,
                },
        } => {
            let options = commands::BenchOptions {
                customers,
                months,
                seed,
                stream_seconds,
            };
            commands::bench_projections(database_url, data_dir, options).await
        }
        Command::Bench {
            benchmark:
                Benchmark::Ingest {
                    connections,
                    seconds,
                    steady_rate,
                    steady_seconds,
                },
        } => {
            let options = commands::IngestBenchOptions {
                connections,
                seconds,
                steady_rate,
                steady_seconds,
            };
            commands::bench_ingest(database_url, data_dir, options).await
        }
        Command::Bench {
            benchmark:
                Benchmark::Usage {
                    ingest_seconds,
                    clients,
                    customers,
                    rate,
                    check_seconds,
                },
        } => {
            let options = commands::UsageBenchOptions {
                ingest_seconds,
                clients,
                customers,
                rate,
                check_seconds,
            };
            commands::bench_usage(database_url, data_dir, options).await
        }
        Command::Catalog {
            action: CatalogAction::Apply { file },
        } => commands::catalog_apply(database_url, data_dir, &file).await,
        Command::Apikey { action } => match action {
            ApiKeyAction::Create { scope } => {
                commands::apikey_create(database_url, data_dir, scope).await
            }
            ApiKeyAction::List => commands::apikey_list(database_url, data_dir).await,
            ApiKeyAction::Revoke { id } => {
                commands::apikey_revoke(database_url, data_dir, &id).await
            }
        },
        Command::History { customer, as_of } => {
            commands::history(database_url, data_dir, &customer, as_of.as_deref()).await
        }
    }
}
