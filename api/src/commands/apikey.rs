//! `tally apikey create --scope read|write|admin`, `tally apikey list`, `tally apikey revoke ID`.

use crate::api_keys::{create_api_key, ApiKeyScope};
use crate::commands::{open_database, render_text_table};
use anyhow::Context;
use ledger::store::api_keys;
use std::path::Path;
use uuid::Uuid;

/// Creates a key and prints it once, with how to use it.
///
/// Errors: the database fails.
pub async fn apikey_create(
    database_url: Option<&str>,
    data_dir: &Path,
    scope: ApiKeyScope,
) -> anyhow::Result<()> {
    let database = open_database(database_url, data_dir).await?;
    // The database is closed (an embedded one stopped) whether or not the call succeeded.
    let created = create_api_key(&database.pool, scope).await;
    database.close().await?;
    let created = created?;
    println!("{}", created.key);
    eprintln!(
        "API key {} created with scope {}. It is shown only now; store it in your secret manager.\n\
         Send it as `Authorization: Bearer <key>`. Revoke it with `tally apikey revoke {}`.",
        created.stored.id,
        scope.as_str(),
        created.stored.id
    );
    Ok(())
}

/// Prints every key (never a secret), newest first.
///
/// Errors: the database fails.
pub async fn apikey_list(database_url: Option<&str>, data_dir: &Path) -> anyhow::Result<()> {
    let database = open_database(database_url, data_dir).await?;
    let keys = api_keys::list(&database.pool).await;
    database.close().await?;
    let keys = keys?;
    let time = |at: Option<chrono::DateTime<chrono::Utc>>| {
        at.map_or_else(|| "-".to_owned(), |at| at.to_rfc3339())
    };
    let rows: Vec<Vec<String>> = keys
        .iter()
        .map(|key| {
            vec![
                key.id.to_string(),
                key.display_prefix.clone(),
                key.scope.clone(),
                key.created_at.to_rfc3339(),
                time(key.last_used_at),
                time(key.revoked_at),
            ]
        })
        .collect();
    print!(
        "{}",
        render_text_table(
            &[
                "id",
                "key",
                "scope",
                "created_at",
                "last_used_at",
                "revoked_at"
            ],
            &rows
        )
    );
    Ok(())
}

/// Revokes the key `id`.
///
/// Errors: `id` is not a key id, no such key, or the database fails.
pub async fn apikey_revoke(
    database_url: Option<&str>,
    data_dir: &Path,
    id: &str,
) -> anyhow::Result<()> {
    let id = Uuid::try_parse(id).with_context(|| format!("{id:?} is not an API key id"))?;
    let database = open_database(database_url, data_dir).await?;
    let revoked = api_keys::revoke(&database.pool, id).await;
    database.close().await?;
    let revoked = revoked?;
    anyhow::ensure!(revoked, "no API key {id}");
    println!("API key {id} revoked");
    Ok(())
}
