//! Pre-2025-03-31.basil payloads (API 2024-06-20, hand-made from worked-example Events) must
//! translate to the same domain snapshots as their current-shape (2026-09-30.endive) originals:
//! periods on the subscription, expanded `discount.coupon`, top-level `invoice.subscription`.

use ledger::domain::DomainEvent;
use serde_json::{json, Value};
use stripe_bridge::{translate, Translation};

const WORKED_EXAMPLE: &str = include_str!("fixtures/worked-example/events.jsonl");
const OLD_SUBSCRIPTION: &str =
    include_str!("fixtures/old-api-shape/customer.subscription.created.2024-06-20.json");
const OLD_INVOICE: &str = include_str!("fixtures/old-api-shape/invoice.paid.2024-06-20.json");
const OLD_DISCOUNT: &str =
    include_str!("fixtures/old-api-shape/customer.discount.created.2024-06-20.json");

fn current_shape(stripe_event_id: &str) -> Value {
    let line = WORKED_EXAMPLE
        .lines()
        .find(|line| line.contains(&format!("\"id\":\"{stripe_event_id}\"")))
        .unwrap();
    serde_json::from_str(line).unwrap()
}

fn old_shape(text: &str) -> Value {
    serde_json::from_str(text).unwrap()
}

fn one_event(body: &Value) -> DomainEvent {
    match translate(body.to_string().as_bytes()) {
        Translation::Translated { mut events, .. } => events.remove(0),
        other => panic!("expected Translated, got {other:?}"),
    }
}

fn subscription_snapshot(body: &Value) -> ledger::domain::SubscriptionSnapshot {
    match one_event(body) {
        DomainEvent::SubscriptionObserved(observed) => observed.snapshot,
        other => panic!("expected SubscriptionObserved, got {other:?}"),
    }
}

fn discount_snapshot(body: &Value) -> ledger::domain::DiscountSnapshot {
    match one_event(body) {
        DomainEvent::DiscountObserved(observed) => observed.snapshot,
        other => panic!("expected DiscountObserved, got {other:?}"),
    }
}

#[test]
fn old_discount_with_coupon_equals_current_with_source_coupon() {
    let old = old_shape(OLD_DISCOUNT);
    assert!(old["data"]["object"]["coupon"].is_object());
    assert!(old["data"]["object"].get("source").is_none());
    assert_eq!(
        one_event(&old),
        one_event(&current_shape("evt_177CyIetcPpBfUGFUwBPKKpQ"))
    );
}

#[test]
fn old_subscription_equals_current_plus_its_expanded_discount() {
    let old = old_shape(OLD_SUBSCRIPTION);
    assert!(old["data"]["object"]["current_period_start"].is_i64());
    assert!(old["data"]["object"]["items"]["data"][0]
        .get("current_period_start")
        .is_none());
    let mut old_snapshot = subscription_snapshot(&old);
    let current_snapshot = subscription_snapshot(&current_shape("evt_177CyIetcPpBfUGFftoeJkWb"));
    let expanded = std::mem::take(&mut old_snapshot.expanded_discounts);
    assert_eq!(old_snapshot, current_snapshot);
    assert_eq!(
        expanded,
        [discount_snapshot(&current_shape(
            "evt_177CyIetcPpBfUGFUwBPKKpQ"
        ))],
        "the expanded discount carries the same terms as customer.discount.created"
    );
    assert_eq!(
        old_snapshot.discount_ids.len(),
        1,
        "`discounts` and `discount` deduplicated"
    );
}

#[test]
fn expanded_discount_without_owner_fields_belongs_to_the_subscription() {
    let mut old = old_shape(OLD_SUBSCRIPTION);
    let discount = old["data"]["object"]["discount"].as_object_mut().unwrap();
    discount.remove("customer");
    discount.insert("subscription".into(), Value::Null);
    old["data"]["object"]["discounts"] = json!([]);
    let snapshot = subscription_snapshot(&old);
    assert_eq!(snapshot.discount_ids.len(), 1);
    let expanded = &snapshot.expanded_discounts[0];
    assert_eq!(expanded.customer.as_ref(), Some(&snapshot.customer));
    assert_eq!(expanded.subscription.as_ref(), Some(&snapshot.subscription));
}

#[test]
fn old_invoice_with_top_level_subscription_equals_current_with_parent() {
    let old = old_shape(OLD_INVOICE);
    assert!(old["data"]["object"].get("parent").is_none());
    let current = one_event(&current_shape("evt_177CyIetcPpBfUGFQCH7X7vB"));
    assert_eq!(one_event(&old), current);
    let mut expanded = old.clone();
    expanded["data"]["object"]["subscription"] =
        json!({"id": "sub_177CyIetcPpBfUGFUY5Zc6tr", "object": "subscription"});
    expanded["data"]["object"]["customer"] =
        json!({"id": "cus_BkntAlX312ZYkS", "object": "customer", "deleted": true});
    assert_eq!(
        one_event(&expanded),
        current,
        "expanded references read by id"
    );
}

#[test]
fn legacy_plan_without_price_reads_like_the_price() {
    let current = current_shape("evt_177CyIetcPpBfUGFftoeJkWb");
    let mut plan_only = current.clone();
    plan_only["data"]["object"]["items"]["data"][0]
        .as_object_mut()
        .unwrap()
        .remove("price");
    assert_eq!(
        subscription_snapshot(&plan_only),
        subscription_snapshot(&current)
    );
}

#[test]
fn expanded_objects_in_the_current_discounts_list_are_kept() {
    let mut current = current_shape("evt_177CyIetcPpBfUGFftoeJkWb");
    let discount = current_shape("evt_177CyIetcPpBfUGFUwBPKKpQ")["data"]["object"].clone();
    current["data"]["object"]["discounts"] = json!([discount]);
    current["data"]["object"]["customer"] = json!({"id": "cus_BkntAlX312ZYkS"});
    let snapshot = subscription_snapshot(&current);
    assert_eq!(snapshot.customer.as_str(), "cus_BkntAlX312ZYkS");
    assert_eq!(snapshot.discount_ids.len(), 1);
    assert_eq!(
        snapshot.expanded_discounts,
        [discount_snapshot(&current_shape(
            "evt_177CyIetcPpBfUGFUwBPKKpQ"
        ))]
    );
}
