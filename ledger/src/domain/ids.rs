//! Newtyped identifiers. Billing objects keep Stripe's own ids (`cus_...`, `sub_...`), because
//! Stripe is the payment system of record; Tally's own ids (event ids) are UUIDs.

use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub String);

        impl $name {
            /// The id as Stripe writes it.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<&str> for $name {
            fn from(value: &str) -> Self {
                Self(value.to_owned())
            }
        }
    };
}

string_id!(
    /// A Stripe customer id, e.g. `cus_Z80rQiGR9BRAqc`.
    CustomerId
);
string_id!(
    /// A Stripe subscription id, e.g. `sub_1773L3etcPpBfUGFsmPt5tdL`.
    SubscriptionId
);
string_id!(
    /// A Stripe subscription item id, e.g. `si_tB0msXnVy8Kwes`.
    SubscriptionItemId
);
string_id!(
    /// A Stripe price id, e.g. `price_170lkDetcPpBfUGFhQNiAVSG`.
    PriceId
);
string_id!(
    /// A Stripe product id, e.g. `prod_XngOiRF8M6ZRat`.
    ProductId
);
string_id!(
    /// A Stripe discount id, e.g. `di_177CyIetcPpBfUGFHnr08llT`.
    DiscountId
);
string_id!(
    /// A Stripe invoice id, e.g. `in_1773L3etcPpBfUGF5zS7gheV`.
    InvoiceId
);
string_id!(
    /// A Stripe charge id, e.g. `ch_1773L4etcPpBfUGFh1HcfaFR`.
    ChargeId
);
string_id!(
    /// A Stripe refund id, e.g. `re_1Pgc72B7WZ01zgkWqPvrRrPE`.
    RefundId
);
string_id!(
    /// A Stripe dispute id, e.g. `dp_1Pgc71B7WZ01zgkWMevJiAUx`.
    DisputeId
);
string_id!(
    /// A Stripe credit note id, e.g. `cn_1Pgc75B7WZ01zgkWJMPt5riP`.
    CreditNoteId
);
string_id!(
    /// A Stripe invoice payment id, e.g. `inpay_1M3USa2eZvKYlo2CBjuwbq0N`.
    InvoicePaymentId
);
