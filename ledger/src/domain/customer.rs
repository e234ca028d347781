//! Customers. No personal data (names, emails) is kept in events: only the Stripe id.

use crate::domain::CustomerId;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// What Tally keeps of a Stripe customer: its id, creation time and whether it was deleted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerSnapshot {
    /// Stripe customer id.
    pub customer: CustomerId,
    /// When Stripe created the customer (UTC).
    pub created: DateTime<Utc>,
    /// True once Stripe reported the customer deleted.
    pub deleted: bool,
}
