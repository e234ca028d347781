//! One running instance per projector across processes: a session-level advisory lock held on
//! a dedicated connection (takes no transaction id, so gated readers are never stalled).

use crate::ProjectionError;
use sqlx::pool::PoolConnection;
use sqlx::{PgPool, Postgres};

/// Holds a projector's leadership until dropped or released.
#[derive(Debug)]
pub struct ProjectorLease {
    connection: Option<PoolConnection<Postgres>>,
    key: String,
}

impl ProjectorLease {
    /// Tries to become the one instance running `projection`. `None` when another process (or
    /// task) holds it.
    pub async fn try_acquire(
        pool: &PgPool,
        projection: &str,
    ) -> Result<Option<Self>, ProjectionError> {
        let mut connection = pool.acquire().await?;
        let key = format!("tally-projector:{projection}");
        let acquired: bool =
            sqlx::query_scalar("SELECT pg_try_advisory_lock(hashtextextended($1, 0))")
                .bind(&key)
                .fetch_one(&mut *connection)
                .await?;
        Ok(acquired.then_some(Self {
            connection: Some(connection),
            key,
        }))
    }

    /// Gives leadership up now. If the unlock fails, the connection is closed instead of
    /// returned to the pool (a pooled session still holding the lock would let a later
    /// `try_acquire` on it "win" a second time).
    pub async fn release(mut self) -> Result<(), ProjectionError> {
        if let Some(mut connection) = self.connection.take() {
            let unlocked = sqlx::query("SELECT pg_advisory_unlock(hashtextextended($1, 0))")
                .bind(&self.key)
                .execute(&mut *connection)
                .await;
            if let Err(error) = unlocked {
                drop(connection.detach());
                return Err(error.into());
            }
        }
        Ok(())
    }
}

impl Drop for ProjectorLease {
    fn drop(&mut self) {
        // A connection returned to the pool still holds the session lock: close it instead, so
        // the lock is released by PostgreSQL when the session ends.
        if let Some(connection) = self.connection.take() {
            drop(connection.detach());
        }
    }
}
