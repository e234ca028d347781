//! Tests of the usage and entitlements fold: periods, allowance and overage, statuses with the
//! past_due grace, and the catalog in force over history.

use crate::entitlements::{EntitlementsState, PeriodBasis};
use crate::rules::test_support::{at, dec, monthly, subscription};
use chrono::{DateTime, Utc};
use ledger::domain::{
    Catalog, CatalogChanged, CatalogPlan, CatalogSource, Currency, CustomerId, DomainEvent,
    MeterLimit, ObservedChange, SubscriptionObserved, SubscriptionStatus, UsageIncrementRecorded,
};

fn customer() -> CustomerId {
    CustomerId::from("cus_test")
}

fn catalog(included: &str, quota: Option<&str>, grace: Option<u32>) -> DomainEvent {
    DomainEvent::CatalogChanged(CatalogChanged {
        source: CatalogSource::File,
        catalog: Catalog {
            past_due_grace_days: grace,
            plans: vec![CatalogPlan {
                price: Some(monthly(1000).price),
                product: None,
                features: vec!["sso".into()],
                limits: vec![MeterLimit {
                    meter: "api_calls".into(),
                    quota: quota.map(dec),
                    included: dec(included),
                    overage_unit_amount: Some(dec("0.15")),
                    currency: Some(Currency::new("usd")),
                    stripe_event_name: Some("api_calls".into()),
                }],
            }],
        },
    })
}

fn observed_subscription(status: SubscriptionStatus, start: &str, end: &str) -> DomainEvent {
    let mut snapshot = subscription("sub_1", status, start, vec![monthly(1000)]);
    snapshot.current_period_end = Some(at(end));
    DomainEvent::SubscriptionObserved(SubscriptionObserved {
        change: ObservedChange::Updated,
        snapshot,
    })
}

fn usage(key: &str, quantity: &str, when: DateTime<Utc>) -> DomainEvent {
    DomainEvent::UsageIncrementRecorded(UsageIncrementRecorded {
        customer: customer(),
        meter: "api_calls".into(),
        quantity: dec(quantity),
        timestamp: when,
        idempotency_key: key.into(),
    })
}

fn fold(events: &[(DomainEvent, &str)]) -> EntitlementsState {
    let mut state = EntitlementsState::default();
    for (position, (event, when)) in events.iter().enumerate() {
        state.apply(event, at(when), position as i64 + 1);
    }
    state
}

#[test]
fn usage_is_counted_per_subscription_period_with_allowance_and_overage_rounded_once() {
    let state = fold(&[
        (catalog("100", None, None), "2026-01-01 00:00"),
        (
            observed_subscription(
                SubscriptionStatus::Active,
                "2026-01-15 10:00",
                "2026-02-15 10:00",
            ),
            "2026-01-15 10:00",
        ),
        (
            usage("a", "60.5", at("2026-01-15 09:59:59")),
            "2026-01-15 09:59:59",
        ),
        (
            usage("b", "60.5", at("2026-01-15 10:00")),
            "2026-01-15 10:00",
        ),
        (
            usage("c", "43.03", at("2026-02-15 09:59:59")),
            "2026-02-15 09:59:59",
        ),
    ]);
    let now = at("2026-02-01 00:00");
    let summary = state.usage(&customer(), "api_calls", at("2026-01-20 00:00"), now);
    assert_eq!(summary.period.basis, PeriodBasis::Subscription);
    assert_eq!(summary.period.start, at("2026-01-15 10:00"));
    assert_eq!(summary.quantity, dec("103.53"));
    assert_eq!(summary.overage_quantity, dec("3.53"));
    // 3.53 x 0.15 = 0.5295 cents -> 1 cent, rounded once.
    assert_eq!(summary.overage_amount.unwrap().minor, 1);
    // Before the subscription's first period: the calendar month (which overlaps the
    // subscription's first period: both increments of January count in it).
    let january = state.usage(&customer(), "api_calls", at("2026-01-10 00:00"), now);
    assert_eq!(january.period.basis, PeriodBasis::CalendarMonth);
    assert_eq!(january.period.start, at("2026-01-01 00:00"));
    assert_eq!(january.period.end, at("2026-02-01 00:00"));
    assert_eq!(january.quantity, dec("121"));
}

#[test]
fn statuses_keep_or_lose_entitlements_and_past_due_has_a_grace_period() {
    let base = [
        (catalog("0", None, Some(3)), "2026-01-01 00:00"),
        (
            observed_subscription(
                SubscriptionStatus::Trialing,
                "2026-01-01 00:00",
                "2026-02-01 00:00",
            ),
            "2026-01-01 00:00",
        ),
        (
            observed_subscription(
                SubscriptionStatus::PastDue,
                "2026-01-01 00:00",
                "2026-02-01 00:00",
            ),
            "2026-01-10 00:00",
        ),
        (
            observed_subscription(
                SubscriptionStatus::PastDue,
                "2026-01-01 00:00",
                "2026-02-01 00:00",
            ),
            "2026-01-11 00:00",
        ),
    ];
    let state = fold(&base);
    let check = |when: &str| state.check_feature(&customer(), "sso", at(when));
    assert!(check("2026-01-05 00:00").allowed, "trialing");
    assert!(check("2026-01-12 23:59").allowed, "past_due within grace");
    let lost = check("2026-01-13 00:00");
    assert!(!lost.allowed);
    assert!(
        lost.reason.contains("grace period of 3 days"),
        "{}",
        lost.reason
    );
    let mut events = base.to_vec();
    events.push((
        observed_subscription(
            SubscriptionStatus::Canceled,
            "2026-01-01 00:00",
            "2026-02-01 00:00",
        ),
        "2026-01-12 00:00",
    ));
    let canceled = fold(&events).check_feature(&customer(), "sso", at("2026-01-12 00:01"));
    assert!(!canceled.allowed);
    assert!(canceled.reason.contains("canceled"), "{}", canceled.reason);
    let unknown = state.check_feature(
        &CustomerId::from("cus_other"),
        "sso",
        at("2026-01-05 00:00"),
    );
    assert!(!unknown.allowed);
}

#[test]
fn a_quota_denies_the_meter_once_reached_in_the_current_period() {
    let state = fold(&[
        (catalog("10", Some("100"), None), "2026-01-01 00:00"),
        (
            observed_subscription(
                SubscriptionStatus::Active,
                "2026-01-01 00:00",
                "2026-02-01 00:00",
            ),
            "2026-01-01 00:00",
        ),
        (usage("a", "99", at("2026-01-02 00:00")), "2026-01-02 00:00"),
    ]);
    let now = at("2026-01-03 00:00");
    assert!(state.check_feature(&customer(), "api_calls", now).allowed);
    let mut more = state.clone();
    more.apply(
        &usage("b", "1", at("2026-01-02 00:00")),
        at("2026-01-02 00:00"),
        10,
    );
    let denied = more.check_feature(&customer(), "api_calls", now);
    assert!(!denied.allowed);
    assert!(denied.reason.contains("quota of 100"), "{}", denied.reason);
    // Still the same period at its last minute; the next one starts from zero.
    let last_minute = more.check_feature(&customer(), "api_calls", at("2026-01-31 23:59"));
    assert!(!last_minute.allowed);
    let next_period = more.check_feature(&customer(), "api_calls", at("2026-02-01 00:00"));
    assert!(next_period.allowed);
}

#[test]
fn history_is_evaluated_with_the_catalog_in_force_and_in_any_order() {
    let events = [
        (catalog("100", None, None), "2026-01-01 00:00"),
        (
            observed_subscription(
                SubscriptionStatus::Active,
                "2026-01-01 00:00",
                "2026-02-01 00:00",
            ),
            "2026-01-01 00:00",
        ),
        (
            usage("a", "150", at("2026-01-05 00:00")),
            "2026-01-05 00:00",
        ),
        (catalog("500", None, None), "2026-02-01 00:00"),
        (
            observed_subscription(
                SubscriptionStatus::Active,
                "2026-02-01 00:00",
                "2026-03-01 00:00",
            ),
            "2026-02-01 00:00",
        ),
        (
            usage("b", "150", at("2026-02-05 00:00")),
            "2026-02-05 00:00",
        ),
    ];
    let state = fold(&events);
    let now = at("2026-02-10 00:00");
    let january = state.usage(&customer(), "api_calls", at("2026-01-10 00:00"), now);
    assert_eq!(january.limit.as_ref().unwrap().included, dec("100"));
    assert_eq!(january.overage_quantity, dec("50"));
    let february = state.usage(&customer(), "api_calls", now, now);
    assert_eq!(february.limit.as_ref().unwrap().included, dec("500"));
    assert_eq!(february.overage_quantity, dec("0"));
    // The same events applied in another order (with their positions) give an equal state.
    let mut reversed = EntitlementsState::default();
    for (position, (event, when)) in events.iter().enumerate().rev() {
        reversed.apply(event, at(when), position as i64 + 1);
    }
    assert_eq!(reversed, state);
}

fn stripe_summary(lookup_keys: &[&str]) -> DomainEvent {
    use ledger::domain::{
        ActiveEntitlement, ActiveEntitlementSummaryObserved, ActiveEntitlementSummarySnapshot,
    };
    DomainEvent::ActiveEntitlementSummaryObserved(ActiveEntitlementSummaryObserved {
        change: ObservedChange::Updated,
        snapshot: ActiveEntitlementSummarySnapshot {
            customer: customer(),
            entitlements: lookup_keys
                .iter()
                .map(|key| ActiveEntitlement {
                    entitlement: format!("ent_{key}"),
                    feature: format!("feat_{key}"),
                    lookup_key: (*key).to_owned(),
                })
                .collect(),
            complete: true,
        },
    })
}

#[test]
fn stripe_entitlements_grant_their_features_and_the_latest_summary_replaces_the_last() {
    // Delivered out of order: the later summary (without `audit_log`) first.
    let state = fold(&[
        (stripe_summary(&["exports"]), "2026-03-10 00:00"),
        (
            // Unsorted, with a repeat: the summary's lookup keys are listed sorted, once.
            stripe_summary(&["exports", "audit_log", "exports"]),
            "2026-03-01 00:00",
        ),
    ]);
    let check = |feature: &str, when: &str| state.check_feature(&customer(), feature, at(when));
    assert!(!check("audit_log", "2026-02-28 23:59").allowed);
    let granted = check("audit_log", "2026-03-05 00:00");
    assert!(granted.allowed, "{granted:?}");
    assert!(
        granted.reason.contains("Stripe Entitlements"),
        "{granted:?}"
    );
    assert!(!check("audit_log", "2026-03-10 00:00").allowed);
    assert!(check("exports", "2026-03-10 00:00").allowed);
    assert_eq!(
        state
            .entitlements(&customer(), at("2026-03-05 00:00"))
            .stripe_entitlements,
        vec!["audit_log".to_owned(), "exports".to_owned()]
    );
}
