//! `tally catalog apply <catalog.toml>`: records the file's catalog as the one in force from
//! now (a `CatalogChanged` event), or says it is unchanged.

use crate::catalog_file::{apply_catalog, parse_catalog_toml, CatalogApplyOutcome};
use crate::commands::open_database;
use anyhow::Context;
use ledger::domain::CatalogSource;
use ledger::store::EventStore;
use std::path::Path;

/// Parses, validates and applies `file`; prints what was recorded.
///
/// Errors: the file cannot be read, is not a valid catalog, or the database fails.
pub async fn catalog_apply(
    database_url: Option<&str>,
    data_dir: &Path,
    file: &Path,
) -> anyhow::Result<()> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let catalog = parse_catalog_toml(&text)
        .map_err(|error| anyhow::anyhow!("{}: {error}", file.display()))?;
    let database = open_database(database_url, data_dir).await?;
    let store = EventStore::new(database.pool.clone());
    let outcome = apply_catalog(&store, catalog, CatalogSource::File, chrono::Utc::now()).await;
    database.close().await?;
    match outcome.map_err(|error| anyhow::anyhow!("{error}"))? {
        CatalogApplyOutcome::Recorded {
            global_position,
            version,
        } => println!("catalog version {version} recorded at global position {global_position}"),
        CatalogApplyOutcome::Unchanged { version } => {
            println!("catalog unchanged (version {version} is in force); nothing recorded")
        }
    }
    Ok(())
}
