//! Projector `mrr`: keeps every subscription and discount snapshot per customer, and after each
//! batch recomputes the affected customers' MRR timeline, daily movements and month rows from
//! them (revenue-rules.md §2-§3). Recomputing from all of a customer's snapshots makes the
//! result independent of delivery order and equal to a rebuild.

use crate::projector::{versions, Projector};
use crate::read_models::report_month_deltas::{add_mrr_report_changes, ChangesByCurrencyAndMonth};
use crate::read_models::snapshot_table::{insert_snapshots, SnapshotRow, SnapshotTable};
use crate::read_models::{load_snapshots, load_snapshots_of_objects};
use crate::rules::{self, CustomerMonth, DailyMovement, MonthTotals, MrrPoint, Observed};
use crate::ProjectionError;
use chrono::{DateTime, NaiveDate, Utc};
use ledger::domain::{Coupon, Currency, DiscountSnapshot, DomainEvent, SubscriptionSnapshot};
use ledger::store::RecordedEvent;
use sqlx::{PgConnection, PgPool, Row};
use std::collections::{BTreeMap, BTreeSet};

/// The MRR projector (name `mrr`).
#[derive(Debug, Default, Clone, Copy)]
pub struct MrrProjector;

impl Projector for MrrProjector {
    fn name(&self) -> &'static str {
        "mrr"
    }

    fn event_types(&self) -> Option<&'static [&'static str]> {
        Some(MRR_EVENT_TYPES)
    }

    fn tables(&self) -> &'static [&'static str] {
        &[
            "mrr_subscription_snapshots",
            "mrr_discount_snapshots",
            "mrr_coupon_snapshots",
            "mrr_customer_timeline",
            "mrr_customer_movements",
            "mrr_customer_months",
            "mrr_report_month_deltas",
        ]
    }

    async fn apply(
        &self,
        conn: &mut PgConnection,
        events: &[RecordedEvent],
    ) -> Result<(), ProjectionError> {
        let batch = MrrSnapshotBatch::from_events(self.name(), events)?;
        let mut affected: BTreeSet<String> = batch
            .subscriptions
            .iter()
            .map(|row| row.scope.clone())
            .collect();
        for discount in &batch.discount_snapshots {
            if let Some(customer) = discount_customer(conn, &batch.subscriptions, discount).await? {
                affected.insert(customer);
            }
        }
        batch.insert(conn).await?;
        let coupon_ids: Vec<String> = batch.coupons.into_iter().map(|row| row.object_id).collect();
        affected.extend(customers_redeeming(conn, &coupon_ids).await?);
        recompute_customers(conn, &affected.into_iter().collect::<Vec<_>>()).await
    }

    /// The bulk path only inserts rows (`ON CONFLICT DO NOTHING`) and reads nothing back.
    fn bulk_only_inserts(&self) -> bool {
        true
    }

    /// Rebuild path: stores the snapshots only; [`Projector::finish_bulk`] derives every
    /// customer's rows once at the end, from the same snapshots the incremental path would
    /// have used, so the result is the same.
    async fn apply_bulk(
        &self,
        conn: &mut PgConnection,
        events: &[RecordedEvent],
    ) -> Result<(), ProjectionError> {
        MrrSnapshotBatch::from_events(self.name(), events)?
            .insert(conn)
            .await
    }

    /// Derives the timeline, movements and month rows of every customer with a subscription or
    /// discount snapshot in `version`, [`RECOMPUTE_CHUNK`] customers per short transaction.
    async fn finish_bulk(&self, pool: &PgPool, version: i32) -> Result<(), ProjectionError> {
        let mut transaction = pool.begin().await?;
        versions::use_version(&mut transaction, self.name(), version).await?;
        let customers: Vec<String> = sqlx::query_scalar(
            "SELECT scope FROM mrr_subscription_snapshots
             UNION
             SELECT scope FROM mrr_discount_snapshots WHERE scope NOT LIKE 'subscription:%'
             ORDER BY 1",
        )
        .fetch_all(&mut *transaction)
        .await?;
        transaction.commit().await?;
        for chunk in customers.chunks(RECOMPUTE_CHUNK) {
            let mut transaction = pool.begin().await?;
            versions::use_version(&mut transaction, self.name(), version).await?;
            recompute_customers(&mut transaction, chunk).await?;
            transaction.commit().await?;
        }
        Ok(())
    }
}

/// The event types the MRR projector reads; it ignores every other type without decoding it.
pub(crate) const MRR_EVENT_TYPES: &[&str] =
    &["SubscriptionObserved", "DiscountObserved", "CouponObserved"];

/// Customers derived per transaction by [`MrrProjector::finish_bulk`].
const RECOMPUTE_CHUNK: usize = 1000;

/// Reads `event` as a domain event, or stops the projector at it.
pub(crate) fn decode(
    projection: &str,
    event: &RecordedEvent,
) -> Result<DomainEvent, ProjectionError> {
    event
        .domain_event()
        .map_err(|error| ProjectionError::PoisonEvent {
            projection: projection.to_owned(),
            global_position: event.global_position,
            reason: error.to_string(),
        })
}

/// The one scope of coupon snapshots (coupons belong to the account, not to a customer).
const COUPON_SCOPE: &str = "coupon";

/// The customers with a discount on one of `coupon_ids` (their MRR may change now that the
/// coupon's terms are known). Discounts stored under a subscription whose customer is not known
/// yet are recomputed when that subscription arrives.
async fn customers_redeeming(
    conn: &mut PgConnection,
    coupon_ids: &[String],
) -> Result<Vec<String>, ProjectionError> {
    if coupon_ids.is_empty() {
        return Ok(Vec::new());
    }
    let scopes: Vec<String> = sqlx::query_scalar(
        "SELECT DISTINCT coalesce(owner.scope, discount.scope)
         FROM mrr_discount_snapshots discount
         LEFT JOIN LATERAL (
             SELECT subscription.scope FROM mrr_subscription_snapshots subscription
             WHERE discount.scope LIKE 'subscription:%'
               AND subscription.object_id = substr(discount.scope, 14)
             LIMIT 1) owner ON true
         WHERE discount.snapshot->>'coupon_id' = ANY($1)",
    )
    .bind(coupon_ids)
    .fetch_all(conn)
    .await?;
    Ok(scopes
        .into_iter()
        .filter(|scope| !scope.starts_with("subscription:"))
        .collect())
}

/// Fills in the coupon terms of discounts whose payload carried only the coupon's id, from the
/// coupon snapshots (`CouponObserved`). Coupon terms never change in Stripe; the first observed
/// terms are used. A discount whose coupon was never observed keeps no terms and reduces nothing.
async fn fill_coupon_terms(
    conn: &mut PgConnection,
    discounts: &mut [(String, Observed<DiscountSnapshot>)],
) -> Result<(), ProjectionError> {
    let missing: BTreeSet<String> = discounts
        .iter()
        .filter(|(_, observed)| observed.snapshot.coupon.is_none())
        .map(|(_, observed)| observed.snapshot.coupon_id.clone())
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let missing: Vec<String> = missing.into_iter().collect();
    let observed: Vec<(String, Observed<Coupon>)> =
        load_snapshots_of_objects(conn, SnapshotTable::MrrCoupons, &missing).await?;
    let mut terms: BTreeMap<String, Coupon> = BTreeMap::new();
    for (coupon_id, coupon) in observed {
        terms.entry(coupon_id).or_insert(coupon.snapshot);
    }
    for (_, discount) in discounts.iter_mut() {
        if discount.snapshot.coupon.is_none() {
            discount.snapshot.coupon = terms.get(&discount.snapshot.coupon_id).cloned();
        }
    }
    Ok(())
}

/// The scope a discount snapshot is stored under: its customer, else (when Stripe left the
/// customer out) `subscription:<id>`, linked to the customer when the subscription is known.
fn discount_scope(discount: &DiscountSnapshot) -> Option<String> {
    match (&discount.customer, &discount.subscription) {
        (Some(customer), _) => Some(customer.0.clone()),
        (None, Some(subscription)) => Some(subscription_scope(subscription.as_str())),
        (None, None) => None,
    }
}

fn subscription_scope(subscription: &str) -> String {
    format!("subscription:{subscription}")
}

/// The customer whose MRR a discount affects, if known yet (else it is recomputed when its
/// subscription arrives).
async fn discount_customer(
    conn: &mut PgConnection,
    batch: &[SnapshotRow],
    discount: &DiscountSnapshot,
) -> Result<Option<String>, ProjectionError> {
    if let Some(customer) = &discount.customer {
        return Ok(Some(customer.0.clone()));
    }
    let Some(subscription) = &discount.subscription else {
        return Ok(None);
    };
    if let Some(row) = batch
        .iter()
        .find(|row| row.object_id == subscription.as_str())
    {
        return Ok(Some(row.scope.clone()));
    }
    Ok(sqlx::query_scalar(
        "SELECT scope FROM mrr_subscription_snapshots WHERE object_id = $1 LIMIT 1",
    )
    .bind(subscription.as_str())
    .fetch_optional(conn)
    .await?)
}

/// The snapshot rows one batch of events adds to the MRR read model: the one reading of a
/// batch shared by the incremental path and the rebuild path.
struct MrrSnapshotBatch {
    /// Subscription snapshots, scoped by customer.
    subscriptions: Vec<SnapshotRow>,
    /// Discount snapshots, scoped by customer (or `subscription:<id>` without one).
    discounts: Vec<SnapshotRow>,
    /// The discount snapshots behind `discounts`, in the same order (their owner is read from
    /// them).
    discount_snapshots: Vec<DiscountSnapshot>,
    /// Coupon terms, scoped `coupon`.
    coupons: Vec<SnapshotRow>,
}

impl MrrSnapshotBatch {
    /// Decodes `events` (other event types are ignored). A discount with neither customer nor
    /// subscription is left out: no MRR can depend on it.
    ///
    /// Errors: [`ProjectionError::PoisonEvent`] for an event that cannot be decoded.
    fn from_events(projection: &str, events: &[RecordedEvent]) -> Result<Self, ProjectionError> {
        let mut batch = Self {
            subscriptions: Vec::new(),
            discounts: Vec::new(),
            discount_snapshots: Vec::new(),
            coupons: Vec::new(),
        };
        for event in events {
            if !MRR_EVENT_TYPES.contains(&event.event_type.as_str()) {
                continue;
            }
            match decode(projection, event)? {
                DomainEvent::SubscriptionObserved(observed) => {
                    let snapshot = &observed.snapshot;
                    batch.subscriptions.push(SnapshotRow::new(
                        snapshot.customer.as_str(),
                        snapshot.subscription.as_str(),
                        event,
                        observed.change,
                        snapshot,
                    )?);
                }
                DomainEvent::DiscountObserved(observed) => {
                    let snapshot = observed.snapshot;
                    let Some(scope) = discount_scope(&snapshot) else {
                        tracing::debug!(discount = %snapshot.discount, "discount without owner");
                        continue;
                    };
                    batch.discounts.push(SnapshotRow::new(
                        &scope,
                        snapshot.discount.as_str(),
                        event,
                        observed.change,
                        &snapshot,
                    )?);
                    batch.discount_snapshots.push(snapshot);
                }
                DomainEvent::CouponObserved(observed) => {
                    batch.coupons.push(SnapshotRow::new(
                        COUPON_SCOPE,
                        &observed.snapshot.id,
                        event,
                        observed.change,
                        &observed.snapshot,
                    )?);
                }
                _ => {}
            }
        }
        Ok(batch)
    }

    /// Stores every row of the batch.
    async fn insert(&self, conn: &mut PgConnection) -> Result<(), ProjectionError> {
        insert_snapshots(conn, SnapshotTable::MrrSubscriptions, &self.subscriptions).await?;
        insert_snapshots(conn, SnapshotTable::MrrDiscounts, &self.discounts).await?;
        insert_snapshots(conn, SnapshotTable::MrrCoupons, &self.coupons).await
    }
}

/// Recomputes and replaces the derived rows of `customers` from their stored snapshots.
async fn recompute_customers(
    conn: &mut PgConnection,
    customers: &[String],
) -> Result<(), ProjectionError> {
    if customers.is_empty() {
        return Ok(());
    }
    let subscriptions: Vec<(String, Observed<SubscriptionSnapshot>)> =
        load_snapshots(&mut *conn, SnapshotTable::MrrSubscriptions, customers).await?;
    // Discounts are stored by customer, or by subscription when Stripe left the customer out.
    let mut owner_of_scope: BTreeMap<String, String> = customers
        .iter()
        .map(|customer| (customer.clone(), customer.clone()))
        .collect();
    for (customer, observed) in &subscriptions {
        owner_of_scope.insert(
            subscription_scope(observed.snapshot.subscription.as_str()),
            customer.clone(),
        );
    }
    let scopes: Vec<String> = owner_of_scope.keys().cloned().collect();
    let mut discounts: Vec<(String, Observed<DiscountSnapshot>)> =
        load_snapshots(&mut *conn, SnapshotTable::MrrDiscounts, &scopes).await?;
    fill_coupon_terms(conn, &mut discounts).await?;
    let mut by_customer: BTreeMap<String, (Vec<_>, Vec<_>)> = BTreeMap::new();
    for (customer, observed) in subscriptions {
        by_customer.entry(customer).or_default().0.push(observed);
    }
    for (scope, observed) in discounts {
        if let Some(customer) = owner_of_scope.get(&scope) {
            by_customer
                .entry(customer.clone())
                .or_default()
                .1
                .push(observed);
        }
    }
    let mut derived = DerivedRows::default();
    let mut report_changes: ChangesByCurrencyAndMonth<MonthTotals> = BTreeMap::new();
    for (customer, (subscriptions, discounts)) in &by_customer {
        for (currency, timeline) in rules::customer_mrr_timelines(subscriptions, discounts) {
            let movements = rules::daily_movements(&timeline);
            let months = rules::customer_months(&timeline, &movements);
            add_report_changes(&mut report_changes, currency.as_str(), &months, false);
            derived.push(customer, &currency, &timeline, &movements, &months);
        }
    }
    for table in ["mrr_customer_timeline", "mrr_customer_movements"] {
        // Table names are constants, never input.
        sqlx::query(&format!("DELETE FROM {table} WHERE customer_id = ANY($1)"))
            .bind(customers)
            .execute(&mut *conn)
            .await?;
    }
    for ((_, currency), months) in delete_customer_months(conn, customers).await? {
        add_report_changes(&mut report_changes, &currency, &months, true);
    }
    add_mrr_report_changes(conn, &report_changes).await?;
    derived.insert(conn).await
}

/// Adds (or, with `withdraw`, subtracts) one customer's report changes in `currency`
/// ([`rules::customer_month_total_deltas`] of its month rows) to `changes`.
fn add_report_changes(
    changes: &mut ChangesByCurrencyAndMonth<MonthTotals>,
    currency: &str,
    months: &[CustomerMonth],
    withdraw: bool,
) {
    for (month, delta) in rules::customer_month_total_deltas(months) {
        let total = changes.entry((currency.to_owned(), month)).or_default();
        *total = if withdraw {
            total.minus(&delta)
        } else {
            total.plus(&delta)
        };
    }
}

/// Deletes the stored month rows of `customers` and returns them per (customer, currency), so
/// their report changes can be withdrawn.
async fn delete_customer_months(
    conn: &mut PgConnection,
    customers: &[String],
) -> Result<BTreeMap<(String, String), Vec<CustomerMonth>>, ProjectionError> {
    let rows = sqlx::query(
        "DELETE FROM mrr_customer_months WHERE customer_id = ANY($1)
         RETURNING customer_id, currency, month, mrr_open, mrr_close, new, expansion, contraction,
                   churn, reactivation",
    )
    .bind(customers)
    .fetch_all(&mut *conn)
    .await?;
    let mut by_customer: BTreeMap<(String, String), Vec<CustomerMonth>> = BTreeMap::new();
    for row in &rows {
        let month: NaiveDate = row.try_get("month")?;
        by_customer
            .entry((row.try_get("customer_id")?, row.try_get("currency")?))
            .or_default()
            .push(CustomerMonth {
                month: rules::Month::containing_day(month),
                mrr_open: row.try_get("mrr_open")?,
                mrr_close: row.try_get("mrr_close")?,
                new: row.try_get("new")?,
                expansion: row.try_get("expansion")?,
                contraction: row.try_get("contraction")?,
                churn: row.try_get("churn")?,
                reactivation: row.try_get("reactivation")?,
            });
    }
    Ok(by_customer)
}

/// Column vectors of the derived tables, for one bulk insert each.
#[derive(Default)]
struct DerivedRows {
    timeline: (Vec<String>, Vec<String>, Vec<DateTime<Utc>>, Vec<i64>),
    movements: MovementColumns,
    months: MonthColumns,
}

#[derive(Default)]
struct MovementColumns {
    customer: Vec<String>,
    currency: Vec<String>,
    day: Vec<NaiveDate>,
    kind: Vec<&'static str>,
    amount: Vec<i64>,
    before: Vec<i64>,
    after: Vec<i64>,
}

#[derive(Default)]
struct MonthColumns {
    customer: Vec<String>,
    currency: Vec<String>,
    month: Vec<NaiveDate>,
    figures: [Vec<i64>; 7],
}

impl DerivedRows {
    fn push(
        &mut self,
        customer: &str,
        currency: &Currency,
        timeline: &[MrrPoint],
        movements: &[DailyMovement],
        months: &[CustomerMonth],
    ) {
        for point in timeline {
            self.timeline.0.push(customer.to_owned());
            self.timeline.1.push(currency.as_str().to_owned());
            self.timeline.2.push(point.at);
            self.timeline.3.push(point.mrr);
        }
        for movement in movements {
            let columns = &mut self.movements;
            columns.customer.push(customer.to_owned());
            columns.currency.push(currency.as_str().to_owned());
            columns.day.push(movement.day);
            columns.kind.push(movement.kind.as_str());
            columns.amount.push(movement.amount);
            columns.before.push(movement.mrr_before);
            columns.after.push(movement.mrr_after);
        }
        for month in months {
            let columns = &mut self.months;
            columns.customer.push(customer.to_owned());
            columns.currency.push(currency.as_str().to_owned());
            columns.month.push(month.month.first_day());
            let figures = [
                month.mrr_open,
                month.mrr_close,
                month.new,
                month.expansion,
                month.contraction,
                month.churn,
                month.reactivation,
            ];
            for (column, value) in columns.figures.iter_mut().zip(figures) {
                column.push(value);
            }
        }
    }

    async fn insert(self, conn: &mut PgConnection) -> Result<(), ProjectionError> {
        sqlx::query(
            "INSERT INTO mrr_customer_timeline (customer_id, currency, valid_from, mrr)
             SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::bigint[])",
        )
        .bind(&self.timeline.0)
        .bind(&self.timeline.1)
        .bind(&self.timeline.2)
        .bind(&self.timeline.3)
        .execute(&mut *conn)
        .await?;
        let m = &self.movements;
        sqlx::query(
            "INSERT INTO mrr_customer_movements
                 (customer_id, currency, day, kind, amount, mrr_before, mrr_after)
             SELECT * FROM unnest($1::text[], $2::text[], $3::date[], $4::text[], $5::bigint[],
                                  $6::bigint[], $7::bigint[])",
        )
        .bind(&m.customer)
        .bind(&m.currency)
        .bind(&m.day)
        .bind(&m.kind)
        .bind(&m.amount)
        .bind(&m.before)
        .bind(&m.after)
        .execute(&mut *conn)
        .await?;
        let c = &self.months;
        let [open, close, new, expansion, contraction, churn, reactivation] = &c.figures;
        sqlx::query(
            "INSERT INTO mrr_customer_months
                 (customer_id, currency, month, mrr_open, mrr_close, new, expansion, contraction,
                  churn, reactivation)
             SELECT * FROM unnest($1::text[], $2::text[], $3::date[], $4::bigint[], $5::bigint[],
                                  $6::bigint[], $7::bigint[], $8::bigint[], $9::bigint[],
                                  $10::bigint[])",
        )
        .bind(&c.customer)
        .bind(&c.currency)
        .bind(&c.month)
        .bind(open)
        .bind(close)
        .bind(new)
        .bind(expansion)
        .bind(contraction)
        .bind(churn)
        .bind(reactivation)
        .execute(conn)
        .await?;
        Ok(())
    }
}
