//! `tally import stripe`: pages through every [`ListedResource`] and writes each page in its
//! own transaction — listed objects as snapshots ([`backfilled_snapshot_event`]), Stripe
//! Events through the bulk ingest path ([`StripeImportChunk`], deduplicated against webhooks
//! by Stripe Event id).
//!
//! **Resumable by the log.** Every event id is deterministic (Stripe Event id; object id and
//! content), and a page is committed before the next is fetched. An interrupted import (a
//! Stripe error, a crash, Ctrl-C) keeps the pages it wrote; running it again pages through the
//! lists from the start, finds those events stored and writes only what is missing. No
//! progress table is needed, and a re-run after a completed import picks up objects that
//! changed since.

use crate::backfill::listed_object::{backfilled_snapshot_event, FetchContext, UnreadableObject};
use crate::backfill::listing::{ListRequest, ListedResource};
use crate::backfill::stripe_list_client::fetch_list_page;
use crate::bulk_ingest::{StripeImportChunk, StripeImportReport};
use crate::error::BackfillError;
use crate::ingest::{IngestChannel, IngestError};
use chrono::{DateTime, Utc};
use ledger::store::{copy_append_chunk, AppendSignal};
use sqlx::PgPool;
use stripe_client_core::StripeClient;

/// What to import.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackfillOptions {
    /// Stripe Events created at or after this instant are imported (`created[gte]`, Unix
    /// seconds); Stripe keeps Events for 30 days, the usual window.
    pub events_since: DateTime<Utc>,
    /// The Stripe API version the transport asks for, recorded on snapshots.
    pub api_version: Option<String>,
}

/// What the import did with one resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceReport {
    /// Which list.
    pub resource: ListedResource,
    /// Pages fetched.
    pub pages: u64,
    /// Objects (or Stripe Events) listed.
    pub objects: u64,
    /// Domain events appended.
    pub events_appended: u64,
    /// Domain events already in the log (an earlier run, a webhook): not written again.
    pub events_already_stored: u64,
    /// Listed objects Tally could not read (kept out of the log, reported here).
    pub unreadable: Vec<UnreadableObject>,
    /// For [`ListedResource::Events`]: the Stripe Events' outcomes (translated, ignored,
    /// unparsed, already present).
    pub stripe_events: StripeImportReport,
}

impl ResourceReport {
    fn new(resource: ListedResource) -> Self {
        Self {
            resource,
            pages: 0,
            objects: 0,
            events_appended: 0,
            events_already_stored: 0,
            unreadable: Vec::new(),
            stripe_events: StripeImportReport::default(),
        }
    }
}

/// Told after every page written (e.g. to move a progress bar).
pub trait BackfillProgress {
    /// `report` holds the resource's totals so far; `has_more` whether pages follow.
    fn page_written(&self, report: &ResourceReport, has_more: bool);
}

/// A [`BackfillProgress`] that shows nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl BackfillProgress for NoProgress {
    fn page_written(&self, _report: &ResourceReport, _has_more: bool) {}
}

/// Imports every resource of [`ListedResource::ALL`] from `client` into the log of `pool`,
/// page by page; `clock` gives each page's fetch time (the effective time of its snapshots).
/// Signals `append_signal` after each page that wrote something.
///
/// Errors: [`BackfillError::Stripe`] / [`BackfillError::UnreadableList`] when a page cannot be
/// fetched or read, [`BackfillError::Ingest`] when writing fails. Pages written before stay
/// written; run again to continue.
pub async fn import_from_stripe<C>(
    client: &C,
    pool: &PgPool,
    append_signal: &AppendSignal,
    options: &BackfillOptions,
    clock: impl Fn() -> DateTime<Utc>,
    progress: &impl BackfillProgress,
) -> Result<Vec<ResourceReport>, BackfillError>
where
    C: StripeClient + Sync,
    C::Err: std::error::Error + Send + Sync + 'static,
{
    let mut reports = Vec::new();
    for resource in ListedResource::ALL {
        let mut report = ResourceReport::new(resource);
        let mut request = ListRequest::first(resource, Some(options.events_since.timestamp()));
        loop {
            let page = fetch_list_page(client, &request).await?;
            let fetch = FetchContext {
                request: request.describe(),
                fetched_at: clock(),
                api_version: options.api_version.clone(),
            };
            report.pages += 1;
            report.objects += page.objects.len() as u64;
            let mut conn = pool.acquire().await.map_err(IngestError::from)?;
            if resource == ListedResource::Events {
                let mut chunk = StripeImportChunk::new(IngestChannel::Import);
                for event in &page.objects {
                    chunk.push(event.get().as_bytes().to_vec());
                }
                let written = chunk.write(&mut conn).await?;
                report.events_appended += written.events_appended;
                report.events_already_stored += written.events_duplicate;
                report.stripe_events.add(written);
            } else {
                let mut events = Vec::with_capacity(page.objects.len());
                for object in &page.objects {
                    match backfilled_snapshot_event(resource, object, &fetch) {
                        Ok(event) => events.push(event),
                        Err(unreadable) => report.unreadable.push(unreadable),
                    }
                }
                let outcome = copy_append_chunk(&mut conn, &events, &[])
                    .await
                    .map_err(IngestError::from)?;
                report.events_appended += outcome.appended;
                report.events_already_stored += outcome.duplicates;
            }
            drop(conn);
            append_signal.notify();
            let next = page.next_cursor(&request)?;
            progress.page_written(&report, next.is_some());
            match next {
                Some(last_id) => request = request.after(&last_id),
                None => break,
            }
        }
        reports.push(report);
    }
    Ok(reports)
}
