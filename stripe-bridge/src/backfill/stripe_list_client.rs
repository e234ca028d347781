//! Fetching one list page through any async-stripe [`StripeClient`] (the transport lives in
//! `api`). The raw answer is kept byte for byte: async-stripe's typed models are pinned to one
//! API version, while Tally reads objects with its own tolerant translator.
//!
//! async-stripe builds a `CustomizedStripeRequest` only inside `send`, which decodes the answer
//! into a type; [`RawAnswer`] wraps the caller's client, keeps the bytes the transport returns
//! and hands async-stripe a `null` to decode as `()`. Retries and errors stay the transport's.

use crate::backfill::listing::{ListPage, ListRequest};
use crate::error::BackfillError;
use bytes::Bytes;
use std::sync::Mutex;
use stripe_client_core::{RequestBuilder, StripeClient, StripeMethod};

/// A [`StripeClient`] that forwards to `inner` and keeps the answer's raw bytes.
struct RawAnswer<'a, C> {
    inner: &'a C,
    body: Mutex<Option<Bytes>>,
}

impl<C> StripeClient for RawAnswer<'_, C>
where
    C: StripeClient + Sync,
{
    type Err = C::Err;

    async fn execute(
        &self,
        req: stripe_client_core::CustomizedStripeRequest,
    ) -> Result<Bytes, Self::Err> {
        let body = self.inner.execute(req).await?;
        if let Ok(mut kept) = self.body.lock() {
            *kept = Some(body);
        }
        Ok(Bytes::from_static(b"null"))
    }
}

/// Sends `GET /v1/<path>?<query>` through `client` and returns the answer's bytes.
///
/// Errors: [`BackfillError::Stripe`] when the transport fails or Stripe answers an error
/// (naming the request).
pub async fn get_raw<C>(
    client: &C,
    path: &str,
    query: &serde_json::Value,
    described: &str,
) -> Result<Bytes, BackfillError>
where
    C: StripeClient + Sync,
    C::Err: std::error::Error + Send + Sync + 'static,
{
    let capture = RawAnswer {
        inner: client,
        body: Mutex::new(None),
    };
    RequestBuilder::new(StripeMethod::Get, path)
        .query(query)
        .customize::<()>()
        .send(&capture)
        .await
        .map_err(|error| BackfillError::Stripe {
            request: described.to_owned(),
            source: Box::new(error),
        })?;
    let body = capture.body.lock().ok().and_then(|mut kept| kept.take());
    body.ok_or_else(|| BackfillError::UnreadableList {
        request: described.to_owned(),
        detail: "the transport returned no body".to_owned(),
    })
}

/// Fetches one page of a list.
///
/// Errors: [`BackfillError::Stripe`] (transport or Stripe error),
/// [`BackfillError::UnreadableList`] (the answer is not a list).
pub async fn fetch_list_page<C>(
    client: &C,
    request: &ListRequest,
) -> Result<ListPage, BackfillError>
where
    C: StripeClient + Sync,
    C::Err: std::error::Error + Send + Sync + 'static,
{
    let body = get_raw(
        client,
        &request.path(),
        &request.query(),
        &request.describe(),
    )
    .await?;
    ListPage::parse(request, &body)
}
