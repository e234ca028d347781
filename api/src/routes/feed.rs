//! `GET /v1/events`: the gap-free global feed, page by page, for downstream consumers.

use crate::params::{self, Query};
use crate::routes::event_json::event_json;
use crate::{ApiError, AppState};
use axum::extract::{Query as QueryExtractor, State};
use axum::Json;
use ledger::store::{read, FeedCursor};
use serde_json::{json, Value};

/// `{"events": [...], "next_cursor": "<opaque>", "limit": <int>, "caught_up": <bool>}`: up to
/// `limit` events (default 100, at most 1000) after the cursor `after` (absent: the start of
/// the log), in global feed order, each as [`event_json`] shapes it plus its own `cursor`.
///
/// The feed is gap-free: an event appears only once no transaction that could still commit an
/// earlier-ordered event is running, so a consumer that passes each `next_cursor` back as
/// `after` sees every event exactly once, in the same order on every read. It must store
/// `next_cursor` (or the `cursor` of the last event it processed), **never the highest
/// `global_position`**: positions are not commit order, and an event with a lower position can
/// still appear after a higher one. `caught_up` is true when the page was not full: nothing
/// more is readable now; poll again later with `next_cursor` (which equals `after` when the
/// page is empty). A long-running writing transaction anywhere in the cluster delays the feed
/// (see `oldest_writing_transaction` in `/v1/status`) but never makes it skip an event.
///
/// Invalid `after` or `limit` -> 400 naming the parameter.
pub async fn global_feed(
    State(state): State<AppState>,
    QueryExtractor(query): QueryExtractor<Query>,
) -> Result<Json<Value>, ApiError> {
    let after = params::feed_cursor(&query)?;
    let limit = params::feed_limit(&query)?;
    let events = read::read_all_after(&state.pool, after, limit).await?;
    let cursor_of = |event: &ledger::store::RecordedEvent| FeedCursor {
        transaction_id: event.transaction_id,
        global_position: event.global_position,
    };
    let next_cursor = events.last().map_or(after, cursor_of);
    let caught_up = i64::try_from(events.len()).is_ok_and(|read| read < limit);
    let events: Vec<Value> = events
        .iter()
        .map(|event| {
            let mut json = event_json(event);
            json["cursor"] = json!(params::format_feed_cursor(cursor_of(event)));
            json
        })
        .collect();
    Ok(Json(json!({
        "events": events,
        "next_cursor": params::format_feed_cursor(next_cursor),
        "limit": limit,
        "caught_up": caught_up,
    })))
}
