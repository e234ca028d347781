//! Read-model versions: each version of a projection's tables lives in its own schema,
//! `read_model_<projection>_v<version>`, under the table names the projector's SQL uses; the
//! names readers use are views in the default schema over the live version
//! (`migrations/0007_versioned_read_models.sql`).
//!
//! A projector writes a version by putting its schema first on the transaction's
//! `search_path` ([`use_version`]). A rebuild creates a new version ([`create_version`],
//! UNLOGGED while it is filled), makes it durable ([`make_durable`]), repoints the views and the
//! live checkpoint in one transaction ([`switch_to`]), then drops the old one ([`drop_version`]).

use crate::projector::run_concurrently;
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

/// Which of `from_version`'s indexes a new version's tables start with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NewIndexes {
    /// Every index and key constraint, maintained from the first row.
    Copied,
    /// None: the replay fills bare tables and [`build_deferred_indexes`] adds them after it
    /// (one sorted build per index instead of one B-tree insertion per row and index).
    Deferred,
}

/// Creates `version` of `projection` in one transaction: its schema, an empty UNLOGGED copy of
/// every table of `from_version` (columns, defaults, constraints, comments, and the indexes
/// `indexes` asks for), and its checkpoint at the start of the log (not live).
pub(crate) async fn create_version(
    pool: &PgPool,
    projection: &str,
    tables: &[&str],
    from_version: i32,
    version: i32,
    indexes: NewIndexes,
) -> Result<(), ProjectionError> {
    let from = schema_name(projection, from_version);
    let to = schema_name(projection, version);
    let like = match indexes {
        NewIndexes::Copied => "INCLUDING ALL",
        NewIndexes::Deferred => "INCLUDING ALL EXCLUDING INDEXES",
    };
    let mut transaction = pool.begin().await?;
    sqlx::query(&format!("CREATE SCHEMA {to}"))
        .execute(&mut *transaction)
        .await?;
    for table in tables {
        sqlx::query(&format!(
            "CREATE UNLOGGED TABLE {to}.{table} (LIKE {from}.{table} {like})"
        ))
        .execute(&mut *transaction)
        .await?;
    }
    checkpoint::start_version(&mut transaction, projection, version).await?;
    transaction.commit().await?;
    Ok(())
}

/// Gives the tables of `version`, created with [`NewIndexes::Deferred`] and filled by a
/// replay, every index and key constraint `from_version`'s tables have: one statement (one
/// short transaction) at a time per table, two tables at once ([`run_concurrently`]). A table
/// the replay filled is made durable first (SET LOGGED of the bare heap), so its indexes are
/// built once, logged, instead of built and then rewritten by [`make_durable`]; an empty one
/// (filled later by [`Projector::finish_bulk`](crate::projector::Projector::finish_bulk))
/// stays UNLOGGED until then.
///
/// Rows the replay stored twice under one key (`ON CONFLICT DO NOTHING` skips the second
/// only when the key's index exists) are removed before that key's constraint is added,
/// keeping the first row replayed, as the incremental path does: the replay only appended to
/// a fresh heap, so physical order (`ctid`) is replay order.
///
/// Errors: [`ProjectionError::Database`]; [`ProjectionError::IndexNotRetargetable`].
pub(crate) async fn build_deferred_indexes(
    pool: &PgPool,
    projection: &'static str,
    tables: &'static [&'static str],
    from_version: i32,
    version: i32,
) -> Result<(), ProjectionError> {
    let tables = tables
        .iter()
        .map(|table| build_table_indexes(pool.clone(), projection, table, from_version, version))
        .collect();
    run_concurrently(tables).await?;
    Ok(())
}

/// [`build_deferred_indexes`] for one table.
async fn build_table_indexes(
    pool: PgPool,
    projection: &'static str,
    table: &'static str,
    from_version: i32,
    version: i32,
) -> Result<(), ProjectionError> {
    let from = schema_name(projection, from_version);
    let to = schema_name(projection, version);
    let filled: bool = sqlx::query_scalar(&format!("SELECT EXISTS (SELECT 1 FROM {to}.{table})"))
        .fetch_one(&pool)
        .await?;
    if filled {
        sqlx::query(&format!("ALTER TABLE {to}.{table} SET LOGGED"))
            .execute(&pool)
            .await?;
    }
    let indexes: Vec<IndexDefinition> = sqlx::query_as(INDEX_DEFINITIONS)
        .bind(&from)
        .bind(table)
        .fetch_all(&pool)
        .await?;
    for index in indexes {
        index.create_on(&pool, &from, &to, table).await?;
    }
    Ok(())
}

/// Every index of one table (schema `$1`, table `$2`): key constraints first, with their
/// definition and key columns, then plain indexes with their `CREATE INDEX` statement.
const INDEX_DEFINITIONS: &str = "
    SELECT constraint_.conname AS constraint_name,
           pg_get_constraintdef(constraint_.oid) AS constraint_definition,
           pg_get_indexdef(index_.indexrelid) AS index_definition,
           (SELECT string_agg(quote_ident(attribute.attname), ', ' ORDER BY key.ordinality)
              FROM unnest(index_.indkey) WITH ORDINALITY AS key (attnum, ordinality)
              JOIN pg_attribute AS attribute
                ON attribute.attrelid = index_.indrelid AND attribute.attnum = key.attnum)
             AS key_columns
      FROM pg_index AS index_
      JOIN pg_class AS table_ ON table_.oid = index_.indrelid
      JOIN pg_namespace AS namespace ON namespace.oid = table_.relnamespace
      JOIN pg_class AS index_class ON index_class.oid = index_.indexrelid
      LEFT JOIN pg_constraint AS constraint_
        ON constraint_.conindid = index_.indexrelid
       AND constraint_.conrelid = index_.indrelid
       AND constraint_.contype IN ('p', 'u')
     WHERE namespace.nspname = $1 AND table_.relname = $2
     ORDER BY constraint_.conname IS NULL, index_class.relname";

/// One row of [`INDEX_DEFINITIONS`].
#[derive(Debug, sqlx::FromRow)]
struct IndexDefinition {
    constraint_name: Option<String>,
    constraint_definition: Option<String>,
    index_definition: String,
    key_columns: Option<String>,
}

impl IndexDefinition {
    /// Creates this index of `from.table` on `to.table`: a key constraint as a constraint, a
    /// plain index from its `CREATE INDEX` statement.
    async fn create_on(
        &self,
        pool: &PgPool,
        from: &str,
        to: &str,
        table: &str,
    ) -> Result<(), ProjectionError> {
        match (&self.constraint_name, &self.constraint_definition) {
            (Some(name), Some(definition)) => {
                let statement =
                    format!("ALTER TABLE {to}.{table} ADD CONSTRAINT {name} {definition}");
                match sqlx::query(&statement).execute(pool).await {
                    Err(sqlx::Error::Database(error))
                        if error.code().as_deref() == Some(UNIQUE_VIOLATION) =>
                    {
                        let columns = self.key_columns.as_deref().unwrap_or_default();
                        remove_rows_stored_twice(pool, &format!("{to}.{table}"), columns).await?;
                        sqlx::query(&statement).execute(pool).await?;
                    }
                    other => {
                        other?;
                    }
                }
            }
            _ => {
                let on_from = format!(" ON {from}.{table} ");
                if !self.index_definition.contains(&on_from) {
                    return Err(ProjectionError::IndexNotRetargetable {
                        table: format!("{to}.{table}"),
                        definition: self.index_definition.clone(),
                    });
                }
                let statement =
                    self.index_definition
                        .replacen(&on_from, &format!(" ON {to}.{table} "), 1);
                sqlx::query(&statement).execute(pool).await?;
            }
        }
        Ok(())
    }
}

/// PostgreSQL's SQLSTATE for a unique violation.
const UNIQUE_VIOLATION: &str = "23505";

/// Deletes from `table` (schema-qualified) every row but the first, in physical order, of
/// each group of rows equal on `columns` (a comma-separated list of quoted names) with none
/// of them null (the rows a unique key over `columns` refuses).
async fn remove_rows_stored_twice(
    pool: &PgPool,
    table: &str,
    columns: &str,
) -> Result<(), ProjectionError> {
    let all_present = columns
        .split(", ")
        .map(|column| format!("{column} IS NOT NULL"))
        .collect::<Vec<_>>()
        .join(" AND ");
    let removed = sqlx::query(&format!(
        "DELETE FROM {table} WHERE ctid IN (
             SELECT ctid FROM (
                 SELECT ctid, row_number() OVER (PARTITION BY {columns} ORDER BY ctid) AS nth
                   FROM {table} WHERE {all_present}) AS keyed
              WHERE nth > 1)"
    ))
    .execute(pool)
    .await?
    .rows_affected();
    tracing::info!(
        table,
        removed,
        "rows replayed twice under one key removed before adding the key"
    );
    Ok(())
}

/// Makes a filled version's tables durable (SET LOGGED, one short transaction per table, so
/// the feed's gate is held back by at most one table's rewrite; PostgreSQL leaves a table
/// that is already logged as it is, without a rewrite) and refreshes their planner statistics.
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
