//! A deterministic, Stripe-like synthetic history of domain events, for benchmarks and tests:
//! customers subscribing (monthly prices, some yearly), monthly renewals with invoices and
//! charges, quantity and price changes, discounts, failed payments (past due), refunds,
//! cancellations and reactivations.
//!
//! Same options (seed included) = same events, byte for byte: a seeded SplitMix64 generator,
//! no clock. Customer `i`'s events depend only on the seed and `i`, so customers can be
//! generated (and loaded) in any order or in parallel. Amounts are minor units; times UTC.

use chrono::{DateTime, Duration, Months, Utc};
use ledger::domain::{
    Actor, BillingScheme, ChargeObserved, ChargeSnapshot, Coupon, CouponDuration, CouponObserved,
    Currency, CustomerId, CustomerObserved, CustomerSnapshot, DiscountId, DiscountObserved,
    DiscountSnapshot, DomainEvent, EventMetadata, InvoiceObserved, InvoiceSnapshot, InvoiceStatus,
    ObservedChange, PriceId, ProductId, RecurringInterval, SubscriptionId, SubscriptionItem,
    SubscriptionItemId, SubscriptionObserved, SubscriptionSnapshot, SubscriptionStatus, UsageType,
};
use ledger::store::NewEvent;
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use uuid::Uuid;

/// What to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyntheticHistory {
    /// Number of customers.
    pub customers: u32,
    /// Months of history (customers join during the first quarter of it).
    pub months: u32,
    /// RNG seed.
    pub seed: u64,
    /// The first instant of the history (UTC).
    pub start: DateTime<Utc>,
}

/// One generated event, with its business time and the id of the Stripe Event it stands for.
#[derive(Debug, Clone, PartialEq)]
pub struct SyntheticEvent {
    /// The domain event.
    pub event: DomainEvent,
    /// When it happened (UTC).
    pub effective_at: DateTime<Utc>,
    /// A synthetic Stripe Event id (`evt_syn_...`), unique in the history.
    pub stripe_event_id: String,
}

impl SyntheticEvent {
    /// The event to append: id = UUIDv5 of the Stripe Event id, source `synthetic`.
    pub fn to_new_event(&self) -> NewEvent {
        let metadata = EventMetadata {
            source: "synthetic".to_owned(),
            actor: Actor::Stripe,
            stripe_event_id: Some(self.stripe_event_id.clone()),
            stripe_api_version: None,
            causation_id: None,
            correlation_id: None,
            stripe_fetch: None,
        };
        NewEvent::from_domain(
            Uuid::new_v5(&Uuid::NAMESPACE_OID, self.stripe_event_id.as_bytes()),
            &self.event,
            metadata,
            self.effective_at,
        )
    }
}

/// Monthly prices (minor units) customers choose from.
const MONTHLY_PRICES: [i64; 5] = [900, 2900, 4900, 9900, 19900];
/// The account's coupons: (id, percent off, months; 0 = forever).
const COUPONS: [(&str, i64, u32); 3] = [
    ("syn_20_3m", 20, 3),
    ("syn_50_1m", 50, 1),
    ("syn_10", 10, 0),
];

impl SyntheticHistory {
    /// The account-level events (coupons), to append before any customer's.
    pub fn account_events(&self) -> Vec<SyntheticEvent> {
        COUPONS
            .iter()
            .map(|&(id, percent, months)| SyntheticEvent {
                event: DomainEvent::CouponObserved(CouponObserved {
                    change: ObservedChange::Created,
                    snapshot: coupon(id, percent, months),
                }),
                effective_at: self.start,
                stripe_event_id: format!("evt_syn_coupon_{id}"),
            })
            .collect()
    }

    /// Every event of customer `index` (0-based), in effective-time order.
    pub fn customer_events(&self, index: u32) -> Vec<SyntheticEvent> {
        let mut script = CustomerScript::new(self, index);
        script.run();
        script.events
    }
}

fn coupon(id: &str, percent: i64, months: u32) -> Coupon {
    Coupon {
        id: id.to_owned(),
        percent_off: Some(Decimal::from(percent)),
        amount_off: None,
        currency: None,
        duration: if months == 0 {
            CouponDuration::Forever
        } else {
            CouponDuration::Repeating
        },
        duration_in_months: (months > 0).then_some(months),
    }
}

/// SplitMix64: small, fast, and the same on every platform.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..bound` (bound > 0).
    fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound.max(1)
    }

    /// True with probability `per_mille` / 1000.
    fn chance(&mut self, per_mille: u64) -> bool {
        self.below(1000) < per_mille
    }
}

/// The state of one customer's subscription while its history is written.
struct CustomerScript<'a> {
    history: &'a SyntheticHistory,
    rng: SplitMix64,
    customer: CustomerId,
    currency: Currency,
    events: Vec<SyntheticEvent>,
    sequence: u32,
    subscriptions: u32,
    invoices: u32,
}

/// A live subscription's terms.
struct Terms {
    subscription: SubscriptionId,
    monthly_price: i64,
    yearly: bool,
    quantity: u64,
    discount: Option<DiscountSnapshot>,
    status: SubscriptionStatus,
    cancel_at_period_end: bool,
    period_start: DateTime<Utc>,
    period_end: DateTime<Utc>,
    ended_at: Option<DateTime<Utc>>,
}

impl<'a> CustomerScript<'a> {
    fn new(history: &'a SyntheticHistory, index: u32) -> Self {
        let mut rng = SplitMix64(history.seed ^ (u64::from(index) << 20 | 0x5EED));
        let currency = if rng.chance(100) { "eur" } else { "usd" };
        Self {
            history,
            rng,
            customer: CustomerId(format!("cus_syn{index:07}")),
            currency: Currency::new(currency),
            events: Vec::new(),
            sequence: 0,
            subscriptions: 0,
            invoices: 0,
        }
    }

    fn end(&self) -> DateTime<Utc> {
        add_months(self.history.start, self.history.months)
    }

    fn push(&mut self, at: DateTime<Utc>, event: DomainEvent) {
        self.sequence += 1;
        self.events.push(SyntheticEvent {
            event,
            effective_at: at,
            stripe_event_id: format!("evt_syn_{}_{}", self.customer, self.sequence),
        });
    }

    fn run(&mut self) {
        let join_seconds = u64::from(self.history.months.max(4) / 4) * 30 * 86_400;
        let joined = self.history.start + seconds(self.rng.below(join_seconds));
        self.push(
            joined,
            DomainEvent::CustomerObserved(CustomerObserved {
                change: ObservedChange::Created,
                snapshot: CustomerSnapshot {
                    customer: self.customer.clone(),
                    created: joined,
                    deleted: false,
                },
            }),
        );
        let mut start = joined + Duration::minutes(5);
        while start < self.end() {
            let ended = self.subscription_lifetime(start);
            // Reactivation: some customers come back one to four months after cancelling.
            match ended {
                Some(ended) if self.rng.chance(400) => {
                    start = add_months(ended, 1 + self.rng.below(4) as u32);
                }
                _ => break,
            }
        }
    }

    /// One subscription from `start` until it is cancelled (its end) or the history ends.
    fn subscription_lifetime(&mut self, start: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.subscriptions += 1;
        let yearly = self.rng.chance(100);
        let mut terms = Terms {
            subscription: SubscriptionId(format!("sub_{}_{}", self.customer, self.subscriptions)),
            monthly_price: MONTHLY_PRICES[self.rng.below(MONTHLY_PRICES.len() as u64) as usize],
            yearly,
            quantity: 1 + self.rng.below(10),
            discount: None,
            status: SubscriptionStatus::Active,
            cancel_at_period_end: false,
            period_start: start,
            period_end: add_months(start, if yearly { 12 } else { 1 }),
            ended_at: None,
        };
        self.observe_subscription(start, ObservedChange::Created, &terms);
        self.invoice_period(&mut terms, "subscription_create");
        loop {
            // Changes during the period, mid-month.
            let mid = terms.period_start + Duration::days(10);
            if mid < self.end() && mid < terms.period_end {
                self.mid_period_changes(mid, &mut terms);
            }
            if terms.cancel_at_period_end {
                let ended = terms.period_end;
                if ended >= self.end() {
                    return None;
                }
                terms.status = SubscriptionStatus::Canceled;
                terms.ended_at = Some(ended);
                self.observe_subscription(ended, ObservedChange::Deleted, &terms);
                return Some(ended);
            }
            // Renewal.
            let next = terms.period_end;
            if next >= self.end() {
                return None;
            }
            terms.period_start = next;
            terms.period_end = add_months(next, if terms.yearly { 12 } else { 1 });
            if let Some(discount) = &terms.discount {
                if discount.end.is_some_and(|end| end <= next) {
                    let mut removed = discount.clone();
                    removed.end = discount.end;
                    let observed = DomainEvent::DiscountObserved(DiscountObserved {
                        change: ObservedChange::Deleted,
                        snapshot: removed,
                    });
                    terms.discount = None;
                    self.push(next, observed);
                }
            }
            self.observe_subscription(next, ObservedChange::Updated, &terms);
            self.invoice_period(&mut terms, "subscription_cycle");
        }
    }

    fn mid_period_changes(&mut self, at: DateTime<Utc>, terms: &mut Terms) {
        let mut changed = false;
        if self.rng.chance(80) {
            let delta = 1 + self.rng.below(3);
            terms.quantity = if self.rng.chance(600) {
                terms.quantity + delta
            } else {
                terms.quantity.saturating_sub(delta).max(1)
            };
            changed = true;
        }
        if self.rng.chance(30) {
            terms.monthly_price =
                MONTHLY_PRICES[self.rng.below(MONTHLY_PRICES.len() as u64) as usize];
            changed = true;
        }
        if terms.discount.is_none() && self.rng.chance(25) {
            let (id, percent, months) = COUPONS[self.rng.below(COUPONS.len() as u64) as usize];
            let discount = DiscountSnapshot {
                discount: DiscountId(format!("di_{}_{}", terms.subscription, self.sequence)),
                customer: Some(self.customer.clone()),
                subscription: Some(terms.subscription.clone()),
                coupon_id: id.to_owned(),
                coupon: Some(coupon(id, percent, months)),
                start: at,
                end: (months > 0).then(|| add_months(at, months)),
            };
            self.push(
                at,
                DomainEvent::DiscountObserved(DiscountObserved {
                    change: ObservedChange::Created,
                    snapshot: discount.clone(),
                }),
            );
            terms.discount = Some(discount);
            changed = true;
        }
        if self.rng.chance(20) {
            terms.cancel_at_period_end = true;
            changed = true;
        }
        if changed {
            self.observe_subscription(at + Duration::seconds(1), ObservedChange::Updated, terms);
        }
    }

    /// The period's invoice: created, finalized, paid (sometimes after a failed payment that
    /// puts the subscription past due), its charge, and rarely a refund.
    fn invoice_period(&mut self, terms: &mut Terms, reason: &str) {
        self.invoices += 1;
        let at = terms.period_start + Duration::minutes(1);
        let months = if terms.yearly { 12 } else { 1 };
        let gross = terms.monthly_price * months * terms.quantity as i64;
        let percent = terms
            .discount
            .as_ref()
            .and_then(|discount| discount.coupon.as_ref())
            .and_then(|coupon| coupon.percent_off)
            .and_then(|percent| percent.trunc().to_i64())
            .unwrap_or(0);
        let amount = gross - gross * percent / 100;
        let mut invoice = InvoiceSnapshot {
            invoice: ledger::domain::InvoiceId(format!("in_{}_{}", self.customer, self.invoices)),
            customer: Some(self.customer.clone()),
            subscription: Some(terms.subscription.clone()),
            currency: self.currency.clone(),
            status: InvoiceStatus::Draft,
            amount_due: amount,
            amount_paid: 0,
            amount_remaining: amount,
            paid_at: None,
            billing_reason: Some(reason.to_owned()),
        };
        self.observe_invoice(at, ObservedChange::Created, &invoice);
        invoice.status = InvoiceStatus::Open;
        self.observe_invoice(at + Duration::hours(1), ObservedChange::Finalized, &invoice);
        let mut paid_at = at + Duration::hours(1) + Duration::minutes(1);
        if self.rng.chance(30) {
            terms.status = SubscriptionStatus::PastDue;
            self.observe_subscription(paid_at, ObservedChange::Updated, terms);
            paid_at += Duration::days(3);
            terms.status = SubscriptionStatus::Active;
            self.observe_subscription(paid_at, ObservedChange::Updated, terms);
        }
        if paid_at >= self.end() {
            return;
        }
        invoice.status = InvoiceStatus::Paid;
        invoice.amount_paid = amount;
        invoice.amount_remaining = 0;
        invoice.paid_at = Some(paid_at);
        self.observe_invoice(paid_at, ObservedChange::Paid, &invoice);
        let mut charge = ChargeSnapshot {
            charge: ledger::domain::ChargeId(format!("ch_{}_{}", self.customer, self.invoices)),
            customer: Some(self.customer.clone()),
            invoice: Some(invoice.invoice.clone()),
            currency: self.currency.clone(),
            amount,
            amount_refunded: 0,
            status: "succeeded".to_owned(),
        };
        self.push(
            paid_at,
            DomainEvent::ChargeObserved(ChargeObserved {
                change: ObservedChange::Succeeded,
                snapshot: charge.clone(),
            }),
        );
        let refunded_at = paid_at + Duration::days(5);
        if refunded_at < self.end() && self.rng.chance(10) {
            charge.amount_refunded = amount;
            self.push(
                refunded_at,
                DomainEvent::ChargeObserved(ChargeObserved {
                    change: ObservedChange::Refunded,
                    snapshot: charge,
                }),
            );
        }
    }

    fn observe_invoice(
        &mut self,
        at: DateTime<Utc>,
        change: ObservedChange,
        invoice: &InvoiceSnapshot,
    ) {
        self.push(
            at,
            DomainEvent::InvoiceObserved(InvoiceObserved {
                change,
                snapshot: invoice.clone(),
            }),
        );
    }

    fn observe_subscription(&mut self, at: DateTime<Utc>, change: ObservedChange, terms: &Terms) {
        let (interval, unit_amount) = if terms.yearly {
            (RecurringInterval::Year, terms.monthly_price * 10)
        } else {
            (RecurringInterval::Month, terms.monthly_price)
        };
        let subscription = terms.subscription.as_str();
        let snapshot = SubscriptionSnapshot {
            subscription: terms.subscription.clone(),
            customer: self.customer.clone(),
            currency: self.currency.clone(),
            status: terms.status,
            cancel_at_period_end: terms.cancel_at_period_end,
            current_period_start: Some(terms.period_start),
            current_period_end: Some(terms.period_end),
            items: vec![SubscriptionItem {
                item: SubscriptionItemId(format!("si_{subscription}")),
                price: PriceId(format!("price_syn_{unit_amount}_{interval:?}")),
                product: Some(ProductId("prod_syn".to_owned())),
                quantity: terms.quantity,
                usage_type: UsageType::Licensed,
                billing_scheme: BillingScheme::PerUnit,
                unit_amount_decimal: Some(Decimal::from(unit_amount)),
                tiers_mode: None,
                tiers: Vec::new(),
                transform_quantity: None,
                interval,
                interval_count: 1,
                current_period_start: Some(terms.period_start),
                current_period_end: Some(terms.period_end),
            }],
            discount_ids: terms
                .discount
                .iter()
                .map(|discount| discount.discount.clone())
                .collect(),
            expanded_discounts: terms.discount.iter().cloned().collect(),
            ended_at: terms.ended_at,
        };
        self.push(
            at,
            DomainEvent::SubscriptionObserved(SubscriptionObserved { change, snapshot }),
        );
    }
}

fn seconds(count: u64) -> Duration {
    Duration::seconds(i64::try_from(count).unwrap_or(i64::MAX))
}

fn add_months(at: DateTime<Utc>, months: u32) -> DateTime<Utc> {
    at.checked_add_months(Months::new(months)).unwrap_or(at)
}
