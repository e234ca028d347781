//! Stripe objects for the backfill and reconcile tests: Stripe's own example objects
//! (`fixtures/stripe-api/*.json`, copied from stripe/openapi `fixtures3.json`) with the filler
//! values the tests depend on (ids, status, price, quantity, periods) set.

use serde_json::{json, Value};

/// The copied example object of `name` (`customer`, `coupon`, `subscription`, `invoice`,
/// `event`).
fn resource(name: &str) -> Value {
    let text = match name {
        "customer" => super::fake_stripe::CUSTOMER_FIXTURE,
        "subscription" => super::fake_stripe::SUBSCRIPTION_FIXTURE,
        "event" => super::fake_stripe::EVENT_FIXTURE,
        "coupon" => include_str!("../fixtures/stripe-api/coupon.json"),
        "invoice" => include_str!("../fixtures/stripe-api/invoice.json"),
        other => panic!("no fixture {other}"),
    };
    serde_json::from_str(text).expect("fixture JSON")
}

/// Period of every subscription in the tests: 2026-01-01 .. 2026-02-01 UTC.
pub const PERIOD_START: i64 = 1_767_225_600;
/// End of [`PERIOD_START`]'s period.
pub const PERIOD_END: i64 = 1_769_904_000;

/// A customer `cus_<n>`.
pub fn customer(n: usize) -> Value {
    let mut customer = resource("customer");
    customer["id"] = json!(format!("cus_{n}"));
    customer["currency"] = json!("usd");
    customer["discount"] = Value::Null;
    customer
}

/// A coupon (25 % off, forever).
pub fn coupon() -> Value {
    let mut coupon = resource("coupon");
    coupon["id"] = json!("coupon_quarter");
    coupon["percent_off"] = json!(25);
    coupon["amount_off"] = Value::Null;
    coupon["duration"] = json!("forever");
    coupon
}

/// Subscription `sub_<n>` of `cus_<n>`: one licensed monthly item at 20.00 USD x `quantity`.
pub fn subscription(n: usize, status: &str, quantity: u64) -> Value {
    let mut subscription = resource("subscription");
    subscription["id"] = json!(format!("sub_{n}"));
    subscription["customer"] = json!(format!("cus_{n}"));
    subscription["status"] = json!(status);
    subscription["cancel_at_period_end"] = json!(false);
    for field in ["cancel_at", "canceled_at", "ended_at"] {
        subscription[field] = Value::Null;
    }
    subscription["discounts"] = json!([]);
    subscription["discount"] = Value::Null;
    let item = &mut subscription["items"]["data"][0];
    item["id"] = json!(format!("si_{n}"));
    item["subscription"] = json!(format!("sub_{n}"));
    item["quantity"] = json!(quantity);
    item["current_period_start"] = json!(PERIOD_START);
    item["current_period_end"] = json!(PERIOD_END);
    item["price"]["id"] = json!("price_seat");
    item["price"]["transform_quantity"] = Value::Null;
    item["price"]["unit_amount"] = json!(2000);
    item["price"]["unit_amount_decimal"] = json!("2000");
    item["plan"] = Value::Null;
    subscription
}

/// Invoice `in_<n>` of `cus_<n>`, paid.
pub fn invoice(n: usize) -> Value {
    let mut invoice = resource("invoice");
    invoice["id"] = json!(format!("in_{n}"));
    invoice["customer"] = json!(format!("cus_{n}"));
    invoice["currency"] = json!("usd");
    invoice["status"] = json!("paid");
    invoice
}

/// A Stripe Event `evt_backfill_<n>` (`customer.created`, created at `created`) carrying
/// `cus_<n>`: Stripe's example Event envelope with its object set.
pub fn customer_created_event(n: usize, created: i64) -> Value {
    let mut event = resource("event");
    event["id"] = json!(format!("evt_backfill_{n}"));
    event["type"] = json!("customer.created");
    event["created"] = json!(created);
    event["api_version"] = json!("2026-09-30.endive");
    event["data"] = json!({ "object": customer(n) });
    event
}
