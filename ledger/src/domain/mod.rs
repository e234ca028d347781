//! The revenue domain: ids, money, Stripe-independent snapshots of billing objects, and the
//! domain events that carry them. Pure: no I/O, no clock, no sqlx, no tokio.

pub mod catalog;
pub mod charge;
pub mod customer;
pub mod discount;
pub mod entitlements;
pub mod events;
pub mod ids;
pub mod invoice;
pub mod metadata;
pub mod money;
pub mod money_movements;
pub mod observed_change;
pub mod products_and_prices;
pub mod stripe_command;
pub mod subscription;
pub mod upcasting;
pub mod usage;

pub use catalog::{
    Catalog, CatalogChanged, CatalogPlan, CatalogRejection, CatalogSource, MeterLimit,
    CATALOG_STREAM,
};
pub use charge::ChargeSnapshot;
pub use customer::CustomerSnapshot;
pub use discount::{Coupon, CouponDuration, DiscountSnapshot};
pub use entitlements::{ActiveEntitlement, ActiveEntitlementSummarySnapshot};
pub use events::{
    ActiveEntitlementSummaryObserved, ChargeObserved, CouponObserved, CreditNoteObserved,
    CustomerObserved, DiscountObserved, DisputeObserved, DomainEvent, DomainEventError,
    InvoiceObserved, InvoicePaymentObserved, PriceObserved, ProductObserved, RefundObserved,
    SubscriptionObserved,
};
pub use ids::*;
pub use invoice::{InvoiceSnapshot, InvoiceStatus};
pub use metadata::{Actor, EventMetadata, StripeFetchProvenance};
pub use money::{minor_unit_exponent, round_half_away_from_zero, Currency};
pub use money_movements::{
    CreditNoteSnapshot, DisputeSnapshot, InvoicePaymentSnapshot, RefundSnapshot,
};
pub use observed_change::ObservedChange;
pub use products_and_prices::{PriceSnapshot, ProductSnapshot};
pub use stripe_command::{
    ProrationBehavior, ResumeFrom, StripeCommand, StripeCommandEchoed, StripeCommandFailed,
    StripeCommandRequested, StripeCommandSucceeded,
};
pub use subscription::{
    BillingScheme, PriceTier, RecurringInterval, SubscriptionItem, SubscriptionSnapshot,
    SubscriptionStatus, TiersMode, TransformQuantity, TransformRound, UsageType,
};
pub use usage::{
    validate_usage_increment, UsageIncrementInput, UsageIncrementRecorded, UsageRejection,
};
