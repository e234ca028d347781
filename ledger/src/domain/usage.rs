//! Usage increments: metered quantities a customer used, recorded as immutable events and
//! validated against the window Stripe's Billing Meters accept (pure: `now` is an argument).

use crate::domain::CustomerId;
use chrono::{DateTime, Duration, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Namespace of usage increment event ids: `UUIDv5(USAGE_EVENT_NAMESPACE, "usage:" + key)`.
pub const USAGE_EVENT_NAMESPACE: Uuid = Uuid::from_u128(0x2d4c_71b0_93a8_4f1e_b6d2_0c5e_8a9f_1b37);

/// The oldest timestamp accepted, before `now`: Stripe meter events must be at most 35 days old.
pub const USAGE_MAX_AGE_DAYS: i64 = 35;

/// The furthest ahead of `now` a timestamp may be: Stripe meter events at most 5 minutes.
pub const USAGE_MAX_FUTURE_SKEW_MINUTES: i64 = 5;

/// Longest idempotency key accepted: Stripe's meter event `identifier` holds 100 characters.
pub const USAGE_IDEMPOTENCY_KEY_MAX_CHARS: usize = 100;

/// Longest meter name accepted: Stripe's meter `event_name` holds 100 characters.
pub const USAGE_METER_MAX_CHARS: usize = 100;

/// Payload of `UsageIncrementRecorded`: `quantity` of `meter` used by `customer` at
/// `timestamp` (also the event's effective time). Stored in stream `usage-<customer>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageIncrementRecorded {
    /// The Stripe customer id the usage belongs to.
    pub customer: CustomerId,
    /// The meter's name (Tally's; the catalog maps it to a Stripe meter `event_name`).
    pub meter: String,
    /// The quantity used: a non-negative exact decimal (stored as a string), in the meter's unit.
    pub quantity: Decimal,
    /// When the usage happened (UTC).
    pub timestamp: DateTime<Utc>,
    /// The caller's idempotency key: the event id is derived from it, and it is the Stripe meter
    /// event `identifier` when forwarded.
    pub idempotency_key: String,
}

impl UsageIncrementRecorded {
    /// The event id of the increment with this idempotency key (UUIDv5 in
    /// [`USAGE_EVENT_NAMESPACE`]), so a repeated key is the same event and the store's event-id
    /// idempotency reports it as a duplicate.
    pub fn event_id_for_key(idempotency_key: &str) -> Uuid {
        Uuid::new_v5(
            &USAGE_EVENT_NAMESPACE,
            format!("usage:{idempotency_key}").as_bytes(),
        )
    }

    /// The event id of this increment ([`Self::event_id_for_key`]).
    pub fn event_id(&self) -> Uuid {
        Self::event_id_for_key(&self.idempotency_key)
    }
}

/// An increment as a caller submits it, before validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageIncrementInput {
    /// Stripe customer id.
    pub customer: String,
    /// Meter name.
    pub meter: String,
    /// Quantity (must be >= 0).
    pub quantity: Decimal,
    /// When it happened (UTC).
    pub timestamp: DateTime<Utc>,
    /// The caller's idempotency key.
    pub idempotency_key: String,
}

/// Why an increment is refused. Nothing of a refused increment is stored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UsageRejection {
    /// `customer` is empty.
    #[error("customer is empty")]
    EmptyCustomer,
    /// `meter` is empty or longer than [`USAGE_METER_MAX_CHARS`].
    #[error("meter must be 1 to {USAGE_METER_MAX_CHARS} characters")]
    BadMeter,
    /// `idempotency_key` is empty or longer than [`USAGE_IDEMPOTENCY_KEY_MAX_CHARS`].
    #[error("idempotency_key must be 1 to {USAGE_IDEMPOTENCY_KEY_MAX_CHARS} characters")]
    BadIdempotencyKey,
    /// `quantity` is below zero.
    #[error("quantity {0} is negative")]
    NegativeQuantity(Decimal),
    /// `timestamp` is more than 35 days before `now`.
    #[error("timestamp {timestamp} is more than {USAGE_MAX_AGE_DAYS} days before {now}")]
    TooOld {
        /// The increment's timestamp.
        timestamp: DateTime<Utc>,
        /// The time of validation.
        now: DateTime<Utc>,
    },
    /// `timestamp` is more than 5 minutes after `now`.
    #[error(
        "timestamp {timestamp} is more than {USAGE_MAX_FUTURE_SKEW_MINUTES} minutes after {now}"
    )]
    TooFarAhead {
        /// The increment's timestamp.
        timestamp: DateTime<Utc>,
        /// The time of validation.
        now: DateTime<Utc>,
    },
}

impl UsageRejection {
    /// A stable machine-readable code for the rejection.
    pub fn code(&self) -> &'static str {
        match self {
            Self::EmptyCustomer => "empty_customer",
            Self::BadMeter => "bad_meter",
            Self::BadIdempotencyKey => "bad_idempotency_key",
            Self::NegativeQuantity(_) => "negative_quantity",
            Self::TooOld { .. } => "timestamp_too_old",
            Self::TooFarAhead { .. } => "timestamp_in_future",
        }
    }
}

/// Validates one increment at `now`: customer, meter and key present (and within Stripe's
/// lengths), quantity >= 0, `now - 35 days <= timestamp <= now + 5 minutes` (both bounds
/// inclusive). Returns the event to record.
///
/// Errors: the first [`UsageRejection`] that applies, in the order of the fields above.
pub fn validate_usage_increment(
    input: UsageIncrementInput,
    now: DateTime<Utc>,
) -> Result<UsageIncrementRecorded, UsageRejection> {
    if input.customer.trim().is_empty() {
        return Err(UsageRejection::EmptyCustomer);
    }
    let meter_chars = input.meter.chars().count();
    if input.meter.trim().is_empty() || meter_chars > USAGE_METER_MAX_CHARS {
        return Err(UsageRejection::BadMeter);
    }
    let key_chars = input.idempotency_key.chars().count();
    if input.idempotency_key.is_empty() || key_chars > USAGE_IDEMPOTENCY_KEY_MAX_CHARS {
        return Err(UsageRejection::BadIdempotencyKey);
    }
    if input.quantity.is_sign_negative() && !input.quantity.is_zero() {
        return Err(UsageRejection::NegativeQuantity(input.quantity));
    }
    if input.timestamp < now - Duration::days(USAGE_MAX_AGE_DAYS) {
        return Err(UsageRejection::TooOld {
            timestamp: input.timestamp,
            now,
        });
    }
    if input.timestamp > now + Duration::minutes(USAGE_MAX_FUTURE_SKEW_MINUTES) {
        return Err(UsageRejection::TooFarAhead {
            timestamp: input.timestamp,
            now,
        });
    }
    Ok(UsageIncrementRecorded {
        customer: CustomerId(input.customer),
        meter: input.meter,
        quantity: input.quantity.normalize(),
        timestamp: input.timestamp,
        idempotency_key: input.idempotency_key,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use std::str::FromStr;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 21, 12, 0, 0).unwrap()
    }

    fn input(quantity: &str, timestamp: DateTime<Utc>) -> UsageIncrementInput {
        UsageIncrementInput {
            customer: "cus_1".into(),
            meter: "api_calls".into(),
            quantity: Decimal::from_str(quantity).unwrap(),
            timestamp,
            idempotency_key: "k1".into(),
        }
    }

    #[test]
    fn validation_table() {
        let now = now();
        let cases: Vec<(&str, UsageIncrementInput, Result<(), &str>)> = vec![
            ("zero quantity", input("0", now), Ok(())),
            ("fractional", input("0.125", now), Ok(())),
            ("negative", input("-1", now), Err("negative_quantity")),
            (
                "exactly 35 days old",
                input("1", now - Duration::days(35)),
                Ok(()),
            ),
            (
                "35 days and a second",
                input("1", now - Duration::days(35) - Duration::seconds(1)),
                Err("timestamp_too_old"),
            ),
            (
                "exactly 5 minutes ahead",
                input("1", now + Duration::minutes(5)),
                Ok(()),
            ),
            (
                "5 minutes and a second ahead",
                input("1", now + Duration::minutes(5) + Duration::seconds(1)),
                Err("timestamp_in_future"),
            ),
            (
                "no customer",
                UsageIncrementInput {
                    customer: " ".into(),
                    ..input("1", now)
                },
                Err("empty_customer"),
            ),
            (
                "no meter",
                UsageIncrementInput {
                    meter: String::new(),
                    ..input("1", now)
                },
                Err("bad_meter"),
            ),
            (
                "key too long",
                UsageIncrementInput {
                    idempotency_key: "k".repeat(101),
                    ..input("1", now)
                },
                Err("bad_idempotency_key"),
            ),
            (
                "no key",
                UsageIncrementInput {
                    idempotency_key: String::new(),
                    ..input("1", now)
                },
                Err("bad_idempotency_key"),
            ),
        ];
        for (name, input, expected) in cases {
            let got = validate_usage_increment(input, now)
                .map(|_| ())
                .map_err(|rejection| rejection.code());
            assert_eq!(got, expected, "{name}");
        }
    }

    #[test]
    fn a_repeated_key_is_the_same_event_id() {
        let a = validate_usage_increment(input("1", now()), now()).unwrap();
        let b = validate_usage_increment(input("2", now()), now()).unwrap();
        assert_eq!(a.event_id(), b.event_id());
        assert_ne!(a.event_id(), UsageIncrementRecorded::event_id_for_key("k2"));
    }
}
