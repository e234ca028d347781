//! Fresh, migrated databases for tests. (Stub: being implemented.)

use sqlx::PgPool;

/// A fresh database with every migration applied.
#[derive(Debug)]
pub struct TestDatabase {
    /// Pool on the fresh database.
    pub pool: PgPool,
}

impl TestDatabase {
    /// Creates a fresh database.
    pub async fn create() -> Self {
        unimplemented!()
    }
}
