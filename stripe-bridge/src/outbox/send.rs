//! Sends one [`StripeCall`] through any `StripeClient` (Tally's transport is
//! `api::stripe_transport::StripeTransport`) as an async-stripe typed request, once, with the
//! given idempotency key, and reads the created or changed object's id from Stripe's answer.

use std::collections::HashMap;
use std::sync::Mutex;

use bytes::Bytes;
use ledger::domain::ProrationBehavior;
use serde::Deserialize;
use stripe_client_core::{
    CustomizedStripeRequest, IdempotencyKey, RequestStrategy, StripeClient, StripeRequest,
};

use crate::outbox::StripeCall;
use crate::StripeCallError;

/// The object Stripe created or changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StripeObjectRef {
    /// Its id (`cus_...`, `sub_...`, `si_...`, `ii_...`; a meter event's `identifier`).
    pub id: String,
    /// Stripe's `object` name (`customer`, `subscription`, `billing.meter_event`, ...).
    pub object: String,
}

/// Sends `call` once with `Idempotency-Key: idempotency_key` and returns the object's id.
///
/// The answer is read for `id` and `object` only (tolerantly, with serde_json), not through
/// async-stripe's typed models: a newer API version's extra or changed fields must not turn a
/// call Stripe executed into a failure.
///
/// # Errors
/// The client's [`StripeCallError`]; [`StripeCallError::Request`] for an unusable key;
/// [`StripeCallError::Deserialize`] when a 2xx answer has no `id` (nor `identifier`).
pub async fn send_stripe_call<C>(
    client: &C,
    call: &StripeCall,
    idempotency_key: &str,
) -> Result<StripeObjectRef, StripeCallError>
where
    C: StripeClient<Err = StripeCallError> + Sync,
{
    let key = IdempotencyKey::new(idempotency_key).map_err(|error| StripeCallError::Request {
        detail: format!("idempotency key {idempotency_key:?}: {error}"),
    })?;
    let capture = CapturingClient {
        inner: client,
        body: Mutex::new(None),
    };
    let strategy = RequestStrategy::Idempotent(key);
    let typed = send_typed(&capture, call, strategy).await;
    let body = capture.body.lock().expect("not poisoned").take();
    match (typed, body) {
        // Stripe answered 2xx: read what we need, whatever the typed model thought of it.
        (_, Some(body)) => object_ref(&body, call),
        (Err(error), None) => Err(error),
        (Ok(()), None) => Err(StripeCallError::Deserialize {
            detail: "the client returned no body".to_owned(),
        }),
    }
}

async fn send_typed<C>(
    client: &C,
    call: &StripeCall,
    strategy: RequestStrategy,
) -> Result<(), StripeCallError>
where
    C: StripeClient<Err = StripeCallError>,
{
    use stripe_billing::billing_meter_event::CreateBillingMeterEvent;
    use stripe_billing::invoice_item::CreateInvoiceItem;
    use stripe_billing::subscription::{
        CancelSubscription, CreateSubscription, CreateSubscriptionItems, DiscountsDataParam,
        ResumeSubscription, UpdateSubscription,
    };
    use stripe_billing::subscription_item::{
        UpdateSubscriptionItem, UpdateSubscriptionItemProrationBehavior,
    };
    use stripe_core::customer::CreateCustomer;

    match call {
        StripeCall::CreateCustomer { metadata } => {
            let metadata: HashMap<String, String> = metadata.clone().into_iter().collect();
            let mut request = CreateCustomer::new();
            if !metadata.is_empty() {
                request = request.metadata(metadata);
            }
            request
                .customize()
                .request_strategy(strategy)
                .send(client)
                .await
                .map(drop)
        }
        StripeCall::CreateSubscription {
            customer,
            price,
            quantity,
            trial_period_days,
            coupon,
        } => {
            let mut item = CreateSubscriptionItems::new();
            item.price = Some(price.clone());
            item.quantity = Some(*quantity);
            let mut request = CreateSubscription::new()
                .customer(customer.clone())
                .items(vec![item]);
            if let Some(days) = trial_period_days {
                request = request.trial_period_days(*days);
            }
            if let Some(coupon) = coupon {
                let mut discount = DiscountsDataParam::new();
                discount.coupon = Some(coupon.clone());
                request = request.discounts(vec![discount]);
            }
            request
                .customize()
                .request_strategy(strategy)
                .send(client)
                .await
                .map(drop)
        }
        StripeCall::UpdateSubscriptionItem {
            subscription_item,
            price,
            quantity,
            proration_behavior,
        } => {
            let behavior = match proration_behavior {
                ProrationBehavior::CreateProrations => {
                    UpdateSubscriptionItemProrationBehavior::CreateProrations
                }
                ProrationBehavior::None => UpdateSubscriptionItemProrationBehavior::None,
                ProrationBehavior::AlwaysInvoice => {
                    UpdateSubscriptionItemProrationBehavior::AlwaysInvoice
                }
            };
            let mut request = UpdateSubscriptionItem::new(subscription_item.as_str())
                .proration_behavior(behavior);
            if let Some(price) = price {
                request = request.price(price.clone());
            }
            if let Some(quantity) = quantity {
                request = request.quantity(*quantity);
            }
            request
                .customize()
                .request_strategy(strategy)
                .send(client)
                .await
                .map(drop)
        }
        StripeCall::CancelSubscription { subscription } => {
            CancelSubscription::new(subscription.as_str())
                .customize()
                .request_strategy(strategy)
                .send(client)
                .await
                .map(drop)
        }
        StripeCall::SetCancelAtPeriodEnd {
            subscription,
            cancel_at_period_end,
        } => UpdateSubscription::new(subscription.as_str())
            .cancel_at_period_end(*cancel_at_period_end)
            .customize()
            .request_strategy(strategy)
            .send(client)
            .await
            .map(drop),
        StripeCall::ResumeSubscription { subscription } => {
            ResumeSubscription::new(subscription.as_str())
                .customize()
                .request_strategy(strategy)
                .send(client)
                .await
                .map(drop)
        }
        StripeCall::RecordMeterEvent {
            event_name,
            stripe_customer_id,
            value,
            identifier,
            timestamp,
        } => {
            let payload = HashMap::from([
                ("stripe_customer_id".to_owned(), stripe_customer_id.clone()),
                ("value".to_owned(), value.clone()),
            ]);
            CreateBillingMeterEvent::new(event_name.clone(), payload)
                .identifier(identifier.clone())
                .timestamp(timestamp.timestamp())
                .customize()
                .request_strategy(strategy)
                .send(client)
                .await
                .map(drop)
        }
        StripeCall::CreateInvoiceItem {
            customer,
            amount,
            currency,
            description,
        } => {
            let currency: stripe_types::Currency = currency
                .parse()
                .unwrap_or_else(|never: std::convert::Infallible| match never {});
            let mut request = CreateInvoiceItem::new()
                .customer(customer.clone())
                .amount(*amount)
                .currency(currency);
            if let Some(description) = description {
                request = request.description(description.clone());
            }
            request
                .customize()
                .request_strategy(strategy)
                .send(client)
                .await
                .map(drop)
        }
    }
}

/// Reads `id` (or, for a meter event, `identifier`) and `object` from a 2xx answer.
fn object_ref(body: &[u8], call: &StripeCall) -> Result<StripeObjectRef, StripeCallError> {
    #[derive(Deserialize)]
    struct Answer {
        id: Option<String>,
        identifier: Option<String>,
        object: Option<String>,
    }
    let answer: Answer =
        serde_json::from_slice(body).map_err(|error| StripeCallError::Deserialize {
            detail: error.to_string(),
        })?;
    let fallback_identifier = match call {
        StripeCall::RecordMeterEvent { identifier, .. } => Some(identifier.clone()),
        _ => None,
    };
    let id = answer
        .id
        .or(answer.identifier)
        .or(fallback_identifier)
        .ok_or_else(|| StripeCallError::Deserialize {
            detail: "Stripe's answer has no id".to_owned(),
        })?;
    Ok(StripeObjectRef {
        id,
        object: answer.object.unwrap_or_else(|| "unknown".to_owned()),
    })
}

/// Passes requests to the real client and keeps the 2xx body, so the object id can be read
/// even when async-stripe's typed model of the answer does not match it.
struct CapturingClient<'a, C> {
    inner: &'a C,
    body: Mutex<Option<Bytes>>,
}

impl<C> StripeClient for CapturingClient<'_, C>
where
    C: StripeClient<Err = StripeCallError> + Sync,
{
    type Err = StripeCallError;

    fn execute(
        &self,
        req: CustomizedStripeRequest,
    ) -> impl std::future::Future<Output = Result<Bytes, Self::Err>> + Send {
        let sent = self.inner.execute(req);
        async move {
            let body = sent.await?;
            *self.body.lock().expect("not poisoned") = Some(body.clone());
            Ok(body)
        }
    }
}
