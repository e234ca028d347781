//! Read-model versions: each version of a projection's tables lives in its own schema,
//! `read_model_<projection>_v<version>`, under the table names the projector's SQL uses; the
//! names readers use are views in the default schema over the live version
//! (`migrations/0007_versioned_read_models.sql`).
//!
//! A projector writes a version by putting its schema first on the transaction's
//! `search_path` ([`use_version`]). A rebuild creates a new version ([`create_version`],
//! UNLOGGED while it is filled), makes it durable ([`make_durable`]), repoints the views and the
//! live checkpoint in one transaction ([`switch_to`]), then drops the old one ([`drop_version`]).

use crate::ProjectionError;
use ledger::store::checkpoint;
use sqlx::{PgConnection, PgPool};

/// The schema holding `version` of `projection`'s tables, e.g. `read_model_mrr_v2`. Projection
/// names are compile-time constants of lowercase letters and underscores, never input.
pub fn schema_name(projection: &str, version: i32) -> String {
    format!("read_model_{projection}_v{version}")
}

/// Makes the caller's transaction resolve unqualified table names to `version` of
/// `projection` (its schema first on `search_path`, for this transaction only).
pub(crate) async fn use_version(
    conn: &mut PgConnection,
    projection: &str,
    version: i32,
) -> Result<(), ProjectionError> {
    sqlx::query(
        "SELECT set_config('search_path', $1 || ', ' || current_setting('search_path'), true)",
    )
    .bind(schema_name(projection, version))
    .execute(conn)
    .await?;
    Ok(())
}

/// Creates `version` of `projection` in one transaction: its schema, an empty UNLOGGED copy of
/// every table of `from_version` (columns, defaults, constraints, indexes, comments), and its
/// checkpoint at the start of the log (not live).
pub(crate) async fn create_version(
    pool: &PgPool,
    projection: &str,
    tables: &[&str],
    from_version: i32,
    version: i32,
) -> Result<(), ProjectionError> {
    let from = schema_name(projection, from_version);
    let to = schema_name(projection, version);
    let mut transaction = pool.begin().await?;
    sqlx::query(&format!("CREATE SCHEMA {to}"))
        .execute(&mut *transaction)
        .await?;
    for table in tables {
        sqlx::query(&format!(
            "CREATE UNLOGGED TABLE {to}.{table} (LIKE {from}.{table} INCLUDING ALL)"
        ))
        .execute(&mut *transaction)
        .await?;
    }
    checkpoint::start_version(&mut transaction, projection, version).await?;
    transaction.commit().await?;
    Ok(())
}

/// Makes a filled version's tables durable (SET LOGGED, one short transaction per table, so
/// the feed's gate is held back by at most one table's rewrite) and refreshes their planner
/// statistics.
pub(crate) async fn make_durable(
    pool: &PgPool,
    projection: &str,
    tables: &[&str],
    version: i32,
) -> Result<(), ProjectionError> {
    let schema = schema_name(projection, version);
    for table in tables {
        sqlx::query(&format!("ALTER TABLE {schema}.{table} SET LOGGED"))
            .execute(pool)
            .await?;
        sqlx::query(&format!("ANALYZE {schema}.{table}"))
            .execute(pool)
            .await?;
    }
    Ok(())
}

/// Switches readers and the running projector to `version`, atomically, inside the caller's
/// transaction: the live checkpoint moves to `version` (waiting for a projector batch in flight
/// on the old version) and every reader view is repointed at `version`'s tables.
///
/// Errors: [`ProjectionError::Database`]; `false` when `version` has no checkpoint row.
pub(crate) async fn switch_to(
    conn: &mut PgConnection,
    projection: &str,
    tables: &[&str],
    version: i32,
) -> Result<bool, ProjectionError> {
    if !checkpoint::switch_live(&mut *conn, projection, version).await? {
        return Ok(false);
    }
    let schema = schema_name(projection, version);
    for table in tables {
        sqlx::query(&format!(
            "CREATE OR REPLACE VIEW {table} AS SELECT * FROM {schema}.{table}"
        ))
        .execute(&mut *conn)
        .await?;
    }
    Ok(true)
}

/// Drops a version that is not live: its tables, its schema (RESTRICT: fails loudly if
/// anything else still depends on them) and its checkpoint row, in one transaction.
pub(crate) async fn drop_version(
    pool: &PgPool,
    projection: &str,
    tables: &[&str],
    version: i32,
) -> Result<(), ProjectionError> {
    let schema = schema_name(projection, version);
    let mut transaction = pool.begin().await?;
    let live: Option<bool> = sqlx::query_scalar(
        "SELECT live FROM projection_checkpoints WHERE projection = $1 AND version = $2",
    )
    .bind(projection)
    .bind(version)
    .fetch_optional(&mut *transaction)
    .await?;
    if live == Some(true) {
        // Never drop what readers see.
        return Ok(());
    }
    for table in tables {
        sqlx::query(&format!("DROP TABLE IF EXISTS {schema}.{table}"))
            .execute(&mut *transaction)
            .await?;
    }
    sqlx::query(&format!("DROP SCHEMA IF EXISTS {schema}"))
        .execute(&mut *transaction)
        .await?;
    checkpoint::remove_version(&mut transaction, projection, version).await?;
    transaction.commit().await?;
    Ok(())
}
