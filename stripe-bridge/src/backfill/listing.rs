//! Stripe list endpoints Tally pages through (`GET /v1/customers`, `/v1/coupons`,
//! `/v1/subscriptions`, `/v1/invoices`, `/v1/events`): their requests and their answers.
//! Pure: the transport is [`crate::backfill::stripe_list_client`].
//!
//! Paging follows Stripe's cursor scheme: `limit=100`, then `starting_after=<last id of the
//! previous page>` while the answer says `has_more: true`. Lists are newest first.

use crate::error::BackfillError;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{json, Value};

/// Page size asked of Stripe (its maximum).
pub const STRIPE_PAGE_LIMIT: u32 = 100;

/// A Stripe list endpoint the backfill reads, in the order `tally import stripe` reads them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ListedResource {
    /// `GET /v1/customers` (Stripe does not list deleted customers).
    Customers,
    /// `GET /v1/coupons`: the terms of discounts that name only the coupon id.
    Coupons,
    /// `GET /v1/subscriptions?status=all` (the default omits canceled ones).
    Subscriptions,
    /// `GET /v1/invoices`.
    Invoices,
    /// `GET /v1/events?created[gte]=...`: Stripe Events, ingested as webhooks are.
    Events,
}

impl ListedResource {
    /// Every resource, in reading order: objects first, then the Events of the window.
    pub const ALL: [Self; 5] = [
        Self::Customers,
        Self::Coupons,
        Self::Subscriptions,
        Self::Invoices,
        Self::Events,
    ];

    /// The resource's name as Stripe's URL spells it (`customers`, ..., `events`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Customers => "customers",
            Self::Coupons => "coupons",
            Self::Subscriptions => "subscriptions",
            Self::Invoices => "invoices",
            Self::Events => "events",
        }
    }

    /// The Stripe Event type a listed object of this resource is wrapped as (an `*.updated`:
    /// the object as it is now); `None` for [`Self::Events`], which are Events already.
    pub fn snapshot_event_type(self) -> Option<&'static str> {
        match self {
            Self::Customers => Some("customer.updated"),
            Self::Coupons => Some("coupon.updated"),
            Self::Subscriptions => Some("customer.subscription.updated"),
            Self::Invoices => Some("invoice.updated"),
            Self::Events => None,
        }
    }
}

/// One page request of a list endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListRequest {
    /// Which list.
    pub resource: ListedResource,
    /// Stripe's cursor: the id of the last object of the previous page; `None` for the first.
    pub starting_after: Option<String>,
    /// For [`ListedResource::Events`]: only Events created at or after this Unix second
    /// (`created[gte]`). Ignored by the other lists.
    pub created_gte: Option<i64>,
}

impl ListRequest {
    /// The first page of `resource`.
    pub fn first(resource: ListedResource, created_gte: Option<i64>) -> Self {
        Self {
            resource,
            starting_after: None,
            created_gte,
        }
    }

    /// The page after the one whose last object is `last_id`.
    pub fn after(&self, last_id: &str) -> Self {
        Self {
            starting_after: Some(last_id.to_owned()),
            ..self.clone()
        }
    }

    /// The path under Stripe's `/v1` (async-stripe's convention: the transport adds `/v1`).
    pub fn path(&self) -> String {
        format!("/{}", self.resource.name())
    }

    /// The query parameters, as a JSON object async-stripe's `RequestBuilder::query`
    /// form-encodes (`created[gte]` as a nested object).
    pub fn query(&self) -> Value {
        let mut query = json!({ "limit": STRIPE_PAGE_LIMIT });
        if self.resource == ListedResource::Subscriptions {
            query["status"] = json!("all");
        }
        if let (ListedResource::Events, Some(gte)) = (self.resource, self.created_gte) {
            query["created"] = json!({ "gte": gte });
        }
        if let Some(after) = &self.starting_after {
            query["starting_after"] = json!(after);
        }
        query
    }

    /// The request as a line of text for provenance and errors, e.g.
    /// `GET /v1/subscriptions?limit=100&status=all&starting_after=sub_123`.
    pub fn describe(&self) -> String {
        let mut text = format!("GET /v1/{}?limit={STRIPE_PAGE_LIMIT}", self.resource.name());
        if self.resource == ListedResource::Subscriptions {
            text.push_str("&status=all");
        }
        if let (ListedResource::Events, Some(gte)) = (self.resource, self.created_gte) {
            text.push_str(&format!("&created[gte]={gte}"));
        }
        if let Some(after) = &self.starting_after {
            text.push_str(&format!("&starting_after={after}"));
        }
        text
    }
}

/// One page of a Stripe list (`{"object": "list", "data": [...], "has_more": ...}`), each
/// object kept as its exact JSON text.
#[derive(Debug)]
pub struct ListPage {
    /// The objects, newest first, unparsed.
    pub objects: Vec<Box<RawValue>>,
    /// Whether Stripe has more after the last one.
    pub has_more: bool,
}

/// The envelope of a list answer.
#[derive(Deserialize)]
struct RawListPage {
    #[serde(default)]
    object: Option<String>,
    data: Vec<Box<RawValue>>,
    #[serde(default)]
    has_more: bool,
}

/// Just the `id` of a Stripe object.
#[derive(Deserialize)]
struct ObjectId {
    #[serde(default)]
    id: Option<String>,
}

impl ListPage {
    /// Reads a list answer.
    ///
    /// Errors: [`BackfillError::UnreadableList`] when the body is not a Stripe list object.
    pub fn parse(request: &ListRequest, body: &[u8]) -> Result<Self, BackfillError> {
        let unreadable = |detail: String| BackfillError::UnreadableList {
            request: request.describe(),
            detail,
        };
        let raw: RawListPage =
            serde_json::from_slice(body).map_err(|error| unreadable(error.to_string()))?;
        if raw.object.as_deref().is_some_and(|object| object != "list") {
            return Err(unreadable(format!(
                "object is {:?}, not \"list\"",
                raw.object.unwrap_or_default()
            )));
        }
        Ok(Self {
            objects: raw.data,
            has_more: raw.has_more,
        })
    }

    /// The cursor of the next page: the last object's id. `None` when there is no next page.
    ///
    /// Errors: [`BackfillError::UnreadableList`] when Stripe says `has_more` but the last
    /// object has no id (paging could not continue).
    pub fn next_cursor(&self, request: &ListRequest) -> Result<Option<String>, BackfillError> {
        if !self.has_more {
            return Ok(None);
        }
        self.objects
            .last()
            .and_then(|last| listed_object_id(last))
            .map(Some)
            .ok_or_else(|| BackfillError::UnreadableList {
                request: request.describe(),
                detail: "has_more is true but the page's last object has no id".to_owned(),
            })
    }
}

/// The `id` of a listed object, when it has a non-empty one.
pub fn listed_object_id(object: &RawValue) -> Option<String> {
    serde_json::from_str::<ObjectId>(object.get())
        .ok()
        .and_then(|object| object.id)
        .filter(|id| !id.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_follow_stripes_cursor_paging() {
        let first = ListRequest::first(ListedResource::Subscriptions, Some(1));
        assert_eq!(
            first.describe(),
            "GET /v1/subscriptions?limit=100&status=all"
        );
        assert_eq!(first.query(), json!({"limit": 100, "status": "all"}));
        let next = first.after("sub_9");
        assert_eq!(
            next.describe(),
            "GET /v1/subscriptions?limit=100&status=all&starting_after=sub_9"
        );
        let events = ListRequest::first(ListedResource::Events, Some(1_700_000_000));
        assert_eq!(
            events.query(),
            json!({"limit": 100, "created": {"gte": 1_700_000_000}})
        );
        assert_eq!(events.path(), "/events");
    }

    #[test]
    fn pages_give_their_next_cursor() {
        let request = ListRequest::first(ListedResource::Customers, None);
        let page = ListPage::parse(
            &request,
            br#"{"object":"list","url":"/v1/customers","has_more":true,"data":[{"id":"cus_1"},{"id":"cus_2"}]}"#,
        )
        .unwrap();
        assert_eq!(page.objects.len(), 2);
        assert_eq!(
            page.next_cursor(&request).unwrap().as_deref(),
            Some("cus_2")
        );
        let last =
            ListPage::parse(&request, br#"{"object":"list","has_more":false,"data":[]}"#).unwrap();
        assert_eq!(last.next_cursor(&request).unwrap(), None);
        let error = ListPage::parse(&request, br#"{"error":{"message":"no"}}"#).unwrap_err();
        assert!(error.to_string().contains("GET /v1/customers"), "{error}");
    }
}
