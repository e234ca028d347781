//! The Stripe outbox worker against the wiremock fake of the Stripe API and a real PostgreSQL:
//! an outage (500s and 429s) still completes every command exactly once in Stripe; a worker
//! that dies between the Stripe call and the outcome event loses nothing; a refused command is
//! recorded as failed after one attempt.

mod support;

use std::time::Duration;

use api::stripe_transport::StripeTransport;
use chrono::Utc;
use ledger::domain::stripe_command::{command_stream_id, stripe_idempotency_key};
use ledger::domain::{
    Actor, CustomerId, DomainEvent, EventMetadata, PriceId, StripeCommand, StripeCommandRequested,
};
use ledger::store::test_database::TestDatabase;
use ledger::store::{read, EventStore, ExpectedVersion, NewEvent};
use stripe_bridge::outbox::{OutboxOptions, OutboxWorker, RetryPolicy};
use support::fake_stripe::{FakeStripe, ScriptedFailure};
use uuid::Uuid;

fn fast_options() -> OutboxOptions {
    OutboxOptions {
        page_size: 100,
        poll_interval: Duration::from_millis(20),
        retry: RetryPolicy {
            base_delay: Duration::from_millis(5),
            max_delay: Duration::from_millis(40),
            rate_limited_min_delay: Duration::from_millis(10),
            max_attempts: 12,
        },
    }
}

async fn request(store: &EventStore, command: StripeCommand) -> Uuid {
    let command_id = Uuid::now_v7();
    let event = DomainEvent::StripeCommandRequested(StripeCommandRequested {
        command_id,
        command,
        requested_by: None,
        requested_at: Utc::now(),
    });
    let metadata = EventMetadata {
        source: "test".to_owned(),
        actor: Actor::System,
        stripe_event_id: None,
        stripe_api_version: None,
        causation_id: None,
        correlation_id: Some(command_id),
        stripe_fetch: None,
    };
    store
        .append(
            &command_stream_id(command_id),
            ExpectedVersion::NoStream,
            &[NewEvent::from_domain(
                Uuid::new_v4(),
                &event,
                metadata,
                Utc::now(),
            )],
        )
        .await
        .unwrap();
    command_id
}

async fn stream(store: &EventStore, command_id: Uuid) -> Vec<DomainEvent> {
    let stream_id = command_stream_id(command_id);
    read::read_all_after(store.pool(), Default::default(), 10_000)
        .await
        .unwrap()
        .iter()
        .filter(|event| event.stream_id == stream_id)
        .map(|event| event.domain_event().unwrap())
        .collect()
}

async fn drain<C>(worker: &OutboxWorker<C>, store: &EventStore)
where
    C: stripe_client_core::StripeClient<Err = stripe_bridge::StripeCallError> + Sync + Send,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        worker.run_pass().await.unwrap();
        // Pending = 0 is not enough: the gated feed is cluster-wide, so another database's
        // open writer can keep a command from being queued yet. Wait for every outcome.
        let outcomes = read::read_all_after(store.pool(), Default::default(), 10_000)
            .await
            .unwrap()
            .iter()
            .filter(|event| event.event_type.starts_with("StripeCommandRequested"))
            .count();
        let finished = read::read_all_after(store.pool(), Default::default(), 10_000)
            .await
            .unwrap()
            .iter()
            .filter(|event| {
                event.event_type == "StripeCommandSucceeded"
                    || event.event_type == "StripeCommandFailed"
            })
            .count();
        if outcomes > 0 && finished == outcomes {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "outbox did not drain"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn subscription(customer: &str) -> StripeCommand {
    StripeCommand::CreateSubscription {
        customer: CustomerId::from(customer),
        price: PriceId::from("price_basic"),
        quantity: 2,
        trial_period_days: Some(14),
        coupon: Some("SPRING25".to_owned()),
    }
}

#[tokio::test]
async fn a_stripe_outage_of_500s_and_429s_still_completes_every_command_exactly_once() {
    let database = TestDatabase::create().await;
    let store = EventStore::new(database.pool.clone());
    let fake = FakeStripe::start().await;
    let mut commands = Vec::new();
    for index in 0..5 {
        commands.push(request(&store, subscription(&format!("cus_{index}"))).await);
    }
    commands.push(
        request(
            &store,
            StripeCommand::RecordMeterEvent {
                event_name: "api_calls".to_owned(),
                stripe_customer_id: CustomerId::from("cus_0"),
                value: "25".to_owned(),
                identifier: "usage-increment-1".to_owned(),
                timestamp: Utc::now(),
            },
        )
        .await,
    );
    use ScriptedFailure::{RateLimited, ServerError};
    fake.script_failures([
        ServerError,
        ServerError,
        RateLimited,
        ServerError,
        RateLimited,
        RateLimited,
        ServerError,
        ServerError,
        RateLimited,
        ServerError,
    ]);
    let transport = StripeTransport::new("sk_test_fake", Some(&fake.uri())).unwrap();
    let worker = OutboxWorker::new(store.clone(), transport, fast_options());
    drain(&worker, &store).await;

    let stats = fake.stats_per_idempotency_key();
    for command_id in &commands {
        let key = stats[&stripe_idempotency_key(*command_id)].clone();
        assert_eq!(key.objects_created, 1, "{command_id}: {key:?}");
        let events = stream(&store, *command_id).await;
        assert_eq!(events.len(), 2, "{events:?}");
        let DomainEvent::StripeCommandSucceeded(outcome) = &events[1] else {
            panic!("{events:?}")
        };
        assert_eq!(outcome.attempts as usize, key.requests);
    }
    assert_eq!(stats.values().map(|key| key.failures).sum::<usize>(), 10);
    // Nothing else was ever sent: every request carried a command's key.
    assert!(!stats.contains_key(""));
    // Another pass sends nothing.
    let pass = worker.run_pass().await.unwrap();
    assert_eq!((pass.queued, pass.sent), (0, 0));
    assert_eq!(fake.received_requests().await.len(), 16);
}

/// Forwards the request to Stripe, then never answers: the worker "dies" holding Stripe's
/// answer, before it can append the outcome event.
#[derive(Clone)]
struct DiesAfterStripeExecuted(StripeTransport);

impl stripe_client_core::StripeClient for DiesAfterStripeExecuted {
    type Err = stripe_bridge::StripeCallError;

    fn execute(
        &self,
        req: stripe_client_core::CustomizedStripeRequest,
    ) -> impl std::future::Future<Output = Result<bytes::Bytes, Self::Err>> + Send {
        let sent = self.0.execute(req);
        async move {
            let _ = sent.await;
            std::future::pending::<()>().await;
            unreachable!()
        }
    }
}

#[tokio::test]
async fn a_worker_dying_between_the_stripe_call_and_the_outcome_event_loses_nothing() {
    let database = TestDatabase::create().await;
    let store = EventStore::new(database.pool.clone());
    let fake = FakeStripe::start().await;
    let command_id = request(&store, subscription("cus_crash")).await;
    let transport = StripeTransport::new("sk_test_fake", Some(&fake.uri())).unwrap();

    let dying = OutboxWorker::new(
        store.clone(),
        DiesAfterStripeExecuted(transport.clone()),
        fast_options(),
    );
    let task = tokio::spawn(async move { dying.run_pass().await });
    let key = stripe_idempotency_key(command_id);
    while fake
        .stats_per_idempotency_key()
        .get(&key)
        .is_none_or(|stats| stats.objects_created == 0)
    {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    task.abort();
    let _ = task.await;
    assert_eq!(stream(&store, command_id).await.len(), 1, "no outcome yet");

    // A new worker (a restart) re-sends with the same key; Stripe replays its first answer.
    let worker = OutboxWorker::new(store.clone(), transport, fast_options());
    drain(&worker, &store).await;
    let stats = fake.stats_per_idempotency_key()[&key].clone();
    assert_eq!(
        (stats.requests, stats.objects_created, stats.replays),
        (2, 1, 1)
    );
    let events = stream(&store, command_id).await;
    assert_eq!(events.len(), 2);
    let DomainEvent::StripeCommandSucceeded(outcome) = &events[1] else {
        panic!("{events:?}")
    };
    assert_eq!(outcome.stripe_object_id, "sub_fake_1");
    assert_eq!(outcome.attempts, 2);
}

#[tokio::test]
async fn a_refused_command_is_recorded_as_failed_after_one_attempt() {
    let database = TestDatabase::create().await;
    let store = EventStore::new(database.pool.clone());
    let fake = FakeStripe::start().await;
    let command_id = request(&store, subscription("cus_refused")).await;
    fake.script_failures([ScriptedFailure::ResourceMissing]);
    let transport = StripeTransport::new("sk_test_fake", Some(&fake.uri())).unwrap();
    let worker = OutboxWorker::new(store.clone(), transport, fast_options());
    drain(&worker, &store).await;
    let events = stream(&store, command_id).await;
    let DomainEvent::StripeCommandFailed(outcome) = &events[1] else {
        panic!("{events:?}")
    };
    assert_eq!(
        (outcome.code.as_str(), outcome.http_status, outcome.attempts),
        ("resource_missing", Some(400), 1)
    );
    assert_eq!(fake.received_requests().await.len(), 1);
}
