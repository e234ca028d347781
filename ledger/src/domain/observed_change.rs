//! What happened to a billing object when Tally observed a new snapshot of it.

use serde::{Deserialize, Serialize};

/// The change that produced a snapshot (from the Stripe event type's last segment, e.g.
/// `invoice.paid` -> `Paid`). Snapshots of one object that share an effective second are ordered
/// by [`ObservedChange::rank`], then by source event id (revenue-rules.md §6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ObservedChange {
    /// The object was created.
    Created,
    /// Any update that has no more specific kind below (also `paused`, `resumed`, `voided`,
    /// `marked_uncollectible`, `trial_will_end`, ...).
    Updated,
    /// An invoice was finalized.
    Finalized,
    /// An invoice payment or a charge failed.
    PaymentFailed,
    /// A charge or payment succeeded.
    Succeeded,
    /// An invoice was paid.
    Paid,
    /// A charge was refunded (in whole or in part).
    Refunded,
    /// The object was deleted (a subscription ended, a discount was removed).
    Deleted,
}

impl ObservedChange {
    /// Tie-break rank for snapshots in the same second: created < updated < finalized <
    /// payment_failed < succeeded < paid < refunded < deleted (revenue-rules.md §6).
    pub fn rank(self) -> u8 {
        match self {
            Self::Created => 0,
            Self::Updated => 1,
            Self::Finalized => 2,
            Self::PaymentFailed => 3,
            Self::Succeeded => 4,
            Self::Paid => 5,
            Self::Refunded => 6,
            Self::Deleted => 7,
        }
    }
}
