//! `tally reconcile [--fix] [--format table|json]`: every subscription's state in the ledger
//! against Stripe's current one; drift as a table (or JSON); `--fix` appends corrective
//! snapshots (marked `correction: true` with their reason), effective at the reconcile time.

use crate::cli::OutputFormat;
use crate::commands::open_database;
use crate::commands::stripe_import::stripe_transport_from_env;
use crate::commands::text_table::render_text_table;
use chrono::{DateTime, Utc};
use ledger::store::AppendSignal;
use projections::projector::{catch_up_all, Projectors};
use projections::queries::latest_subscription_snapshots;
use serde::Serialize;
use sqlx::PgPool;
use std::path::Path;
use stripe_bridge::backfill::UnreadableObject;
use stripe_bridge::reconcile::{
    append_corrections, correction_event, fetch_stripe_subscriptions, reconcile_subscriptions,
    SubscriptionDrift,
};
use stripe_client_core::StripeClient;

/// What a reconcile found (and, with `--fix`, wrote).
#[derive(Debug, Clone, Serialize)]
pub struct ReconcileOutcome {
    /// The reconcile time (UTC): the effective time of corrections.
    pub reconciled_at: DateTime<Utc>,
    /// Subscriptions compared (Stripe's and the ledger's, counted once).
    pub subscriptions_compared: usize,
    /// Every drift, by subscription then field.
    pub drifts: Vec<SubscriptionDrift>,
    /// Corrective snapshots appended (0 without `--fix`).
    pub corrections_appended: u64,
    /// Stripe subscriptions the translator could not read: `{"object_id", "reason"}`.
    pub unreadable: Vec<UnreadableSubscription>,
}

/// A Stripe subscription Tally could not read.
#[derive(Debug, Clone, Serialize)]
pub struct UnreadableSubscription {
    /// Its id.
    pub object_id: String,
    /// Why.
    pub reason: String,
}

impl From<UnreadableObject> for UnreadableSubscription {
    fn from(object: UnreadableObject) -> Self {
        Self {
            object_id: object.object_id,
            reason: object.reason,
        }
    }
}

/// Brings the projections up to date, compares the ledger's latest subscription snapshots with
/// Stripe's subscriptions (listed through `client`), and with `fix` appends one corrective
/// snapshot per drifting subscription Stripe has, effective at `now`, then catches the
/// projections up again. Idempotent: after a fix, a second run finds no drift.
pub async fn reconcile_with<C>(
    client: &C,
    pool: &PgPool,
    append_signal: &AppendSignal,
    now: DateTime<Utc>,
    fix: bool,
) -> anyhow::Result<ReconcileOutcome>
where
    C: StripeClient + Sync,
    C::Err: std::error::Error + Send + Sync + 'static,
{
    catch_up_all(pool, &Projectors::default()).await?;
    let ledger = latest_subscription_snapshots(pool).await?;
    let stripe = fetch_stripe_subscriptions(client, Utc::now).await?;
    let stripe_snapshots: Vec<_> = stripe
        .subscriptions
        .iter()
        .map(|state| state.snapshot.clone())
        .collect();
    let drifts = reconcile_subscriptions(&ledger, &stripe_snapshots);
    let mut compared: Vec<&str> = ledger
        .iter()
        .chain(&stripe_snapshots)
        .map(|snapshot| snapshot.subscription.0.as_str())
        .collect();
    compared.sort_unstable();
    compared.dedup();
    let subscriptions_compared = compared.len();
    let mut corrections_appended = 0;
    if fix {
        let corrections: Vec<_> = stripe
            .subscriptions
            .iter()
            .filter_map(|state| correction_event(state, &drifts, now))
            .collect();
        corrections_appended = append_corrections(pool, append_signal, &corrections).await?;
        catch_up_all(pool, &Projectors::default()).await?;
    }
    Ok(ReconcileOutcome {
        reconciled_at: now,
        subscriptions_compared,
        drifts,
        corrections_appended,
        unreadable: stripe.unreadable.into_iter().map(Into::into).collect(),
    })
}

/// The drift table: `subscription  customer  field  ledger  stripe`, then a summary line.
pub fn drift_table(outcome: &ReconcileOutcome, fix: bool) -> String {
    let rows: Vec<Vec<String>> = outcome
        .drifts
        .iter()
        .map(|drift| {
            vec![
                drift.subscription.clone(),
                drift.customer.clone(),
                drift.field.name().to_owned(),
                drift.ledger.clone(),
                drift.stripe.clone(),
            ]
        })
        .collect();
    let mut text = render_text_table(
        &["subscription", "customer", "field", "ledger", "stripe"],
        &rows,
    );
    for object in &outcome.unreadable {
        text.push_str(&format!(
            "not compared: {} ({})\n",
            object.object_id, object.reason
        ));
    }
    text.push_str(&format!(
        "{} subscriptions compared, {} drifts{}\n",
        outcome.subscriptions_compared,
        outcome.drifts.len(),
        if fix {
            format!(
                ", {} corrective snapshots appended",
                outcome.corrections_appended
            )
        } else if outcome.drifts.is_empty() {
            String::new()
        } else {
            "; run with --fix to append corrective snapshots".to_owned()
        }
    ));
    text
}

/// `tally reconcile [--fix] [--format table|json]` through the transport of the environment.
pub async fn reconcile(
    database_url: Option<&str>,
    data_dir: &Path,
    fix: bool,
    format: OutputFormat,
) -> anyhow::Result<()> {
    let transport = stripe_transport_from_env()?;
    let database = open_database(database_url, data_dir).await?;
    let signal = AppendSignal::new();
    let outcome = reconcile_with(&transport, &database.pool, &signal, Utc::now(), fix).await;
    let closed = database.close().await;
    let outcome = outcome?;
    match format {
        OutputFormat::Table => print!("{}", drift_table(&outcome, fix)),
        OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&outcome)?),
    }
    closed?;
    Ok(())
}
