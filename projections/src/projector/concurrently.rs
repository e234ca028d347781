//! Running a rebuild step's independent parts at once, each on a connection of its own.

use crate::ProjectionError;
use std::future::Future;

/// Parts of a rebuild step run at once: one per core of the 2-core machines Tally is measured
/// on (each part keeps one server process busy, and the client's decoding overlaps it).
pub(crate) const REBUILD_CONNECTIONS: usize = 2;

/// Runs `parts` at most [`REBUILD_CONNECTIONS`] at once (each spawned, so it may use its own
/// pooled connection and core) and returns their results in the order they finished. The
/// parts are owned futures collected first: a lazily mapped iterator would hold borrows
/// across the awaits and make the caller's future not `Send`.
///
/// Errors: the first part's error; the parts still running are then cancelled (their
/// transactions roll back). A part that panics re-raises its panic here.
pub(crate) async fn run_concurrently<T, Part>(parts: Vec<Part>) -> Result<Vec<T>, ProjectionError>
where
    T: Send + 'static,
    Part: Future<Output = Result<T, ProjectionError>> + Send + 'static,
{
    let mut pending = parts.into_iter();
    let mut running = tokio::task::JoinSet::new();
    let mut finished = Vec::new();
    loop {
        while running.len() < REBUILD_CONNECTIONS {
            let Some(part) = pending.next() else { break };
            running.spawn(part);
        }
        let Some(done) = running.join_next().await else {
            return Ok(finished);
        };
        match done {
            Ok(result) => finished.push(result?),
            Err(join_error) => std::panic::resume_unwind(join_error.into_panic()),
        }
    }
}
