//! A fingerprint of a projector's read models, to show that a rebuild reproduced them exactly.

use crate::projector::Projector;
use crate::ProjectionError;
use sqlx::PgPool;

/// An MD5 digest over every row of every table of `projector` (the sorted MD5s of the rows as
/// text, so its memory is 32 bytes a row), as hex. Equal fingerprints mean equal read models. It
/// reads every row: an operator's check, not a hot path.
pub async fn read_model_fingerprint<P: Projector>(
    pool: &PgPool,
    projector: &P,
) -> Result<String, ProjectionError> {
    let mut digests = Vec::new();
    for table in projector.tables() {
        // Table names are compile-time constants of the projector, never input.
        let digest: String = sqlx::query_scalar(&format!(
            "SELECT md5(coalesce(string_agg(row_digest, '' ORDER BY row_digest), ''))
             FROM (SELECT md5(t::text) AS row_digest FROM {table} t) rows"
        ))
        .fetch_one(pool)
        .await?;
        digests.push(digest);
    }
    let combined: String = sqlx::query_scalar("SELECT md5($1)")
        .bind(digests.join(","))
        .fetch_one(pool)
        .await?;
    Ok(combined)
}
