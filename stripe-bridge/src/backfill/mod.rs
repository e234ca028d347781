//! Backfill from the Stripe API (`tally import stripe`): list requests and paging
//! ([`listing`]), listed objects as snapshot events with provenance ([`listed_object`]), the
//! transport-generic fetch ([`stripe_list_client`]) and the resumable import ([`run`]).

pub mod listed_object;
pub mod listing;
pub mod run;
pub mod stripe_list_client;

pub use listed_object::{
    backfilled_snapshot_event, translate_listed_object, FetchContext, UnreadableObject,
    BACKFILL_NAMESPACE, BACKFILL_SOURCE,
};
pub use listing::{listed_object_id, ListPage, ListRequest, ListedResource, STRIPE_PAGE_LIMIT};
pub use run::{import_from_stripe, BackfillOptions, BackfillProgress, NoProgress, ResourceReport};
pub use stripe_list_client::{fetch_list_page, get_raw};
