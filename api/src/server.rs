//! Running the service: the HTTP server, one task per projector, and the cross-process
//! wake-ups (NOTIFY/LISTEN), stopped together.

use crate::{router, ApiError, AppState};
use ledger::store::EventStore;
use ledger::store::FeedNotifications;
use projections::projector::{catch_up_all, run_until_stopped};
use sqlx::PgPool;
use std::net::SocketAddr;
use stripe_bridge::inbox_translator::translate_all_pending;
use stripe_bridge::WebhookSecrets;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// How long `stop` waits for in-flight requests.
pub const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(5);

/// A running server and its projectors.
#[derive(Debug)]
pub struct RunningServer {
    /// The address actually bound (useful with port 0).
    pub address: SocketAddr,
    /// Shared state (pool, signal, secrets).
    pub state: AppState,
    shutdown: tokio::sync::watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    /// Cross-process wake-ups (debounced NOTIFY out, LISTEN in); stopped when dropped.
    _notifications: FeedNotifications,
}

/// Binds `listen`, starts the projectors and serves the API in the background.
///
/// Errors: the address cannot be bound.
pub async fn start(
    pool: PgPool,
    listen: SocketAddr,
    webhook_secrets: Option<WebhookSecrets>,
) -> std::io::Result<RunningServer> {
    let listener = TcpListener::bind(listen).await?;
    let address = listener.local_addr()?;
    let state = AppState::new(pool.clone(), webhook_secrets);
    let notifications = FeedNotifications::start(pool.clone(), state.append_signal.clone());
    let projectors = state.projectors;
    let mut tasks = vec![
        tokio::spawn(run_until_stopped(
            pool.clone(),
            projectors.mrr,
            state.append_signal.clone(),
        )),
        tokio::spawn(run_until_stopped(
            pool.clone(),
            projectors.cash,
            state.append_signal.clone(),
        )),
        tokio::spawn(run_until_stopped(
            pool.clone(),
            projectors.customer_events,
            state.append_signal.clone(),
        )),
    ];
    // The Stripe outbox worker (outbound commands), only with a Stripe secret key. Rebuilds
    // (`tally rebuild`) never start it, so replaying the log never calls Stripe.
    match crate::stripe_transport::StripeTransport::from_env() {
        Ok(Some(transport)) => {
            tracing::info!(
                api_base = transport.api_base(),
                "Stripe outbox worker started"
            );
            let store =
                ledger::store::EventStore::with_signal(pool.clone(), state.append_signal.clone());
            let worker = stripe_bridge::outbox::OutboxWorker::new(
                store,
                transport,
                stripe_bridge::outbox::OutboxOptions::default(),
            );
            tasks.push(tokio::spawn(worker.run()));
        }
        Ok(None) => tracing::warn!(
            "STRIPE_SECRET_KEY is not set: Stripe commands are recorded but stay pending"
        ),
        Err(error) => tracing::error!(%error, "Stripe outbox worker not started"),
    }
    // Webhook bodies are kept before the endpoint answers and translated here, behind it.
    tasks.push(tokio::spawn(
        stripe_bridge::inbox_translator::InboxTranslator::new(
            pool.clone(),
            state.append_signal.clone(),
            state.inbox_wakeup.clone(),
            stripe_bridge::inbox_translator::TranslatorOptions::default(),
        )
        .run(),
    ));
    tasks.push(tokio::spawn(state.entitlements.clone().run(
        EventStore::with_signal(pool.clone(), state.append_signal.clone()),
    )));
    let (shutdown, mut shutdown_requested) = tokio::sync::watch::channel(false);
    let app = router(state.clone());
    tasks.push(tokio::spawn(async move {
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = shutdown_requested.wait_for(|stop| *stop).await;
            })
            .await;
        if let Err(error) = served {
            tracing::error!(%error, "HTTP server failed");
        }
    }));
    tracing::info!(%address, "Tally is listening");
    Ok(RunningServer {
        address,
        state,
        shutdown,
        tasks,
        _notifications: notifications,
    })
}

impl RunningServer {
    /// Waits until every webhook body kept so far is translated (whichever translator does
    /// it) and every projection has applied the whole log: what the running tasks would reach
    /// on their own within milliseconds, done now, before a caller reads the read models.
    ///
    /// Errors: [`ApiError`] from storage, or a projector stopped at an event it cannot apply.
    pub async fn settle(&self) -> Result<(), ApiError> {
        translate_all_pending(&self.state.pool, &self.state.append_signal).await?;
        catch_up_all(&self.state.pool, &self.state.projectors).await?;
        Ok(())
    }

    /// Stops accepting requests, gives in-flight ones up to [`SHUTDOWN_GRACE`] to finish
    /// (idle keep-alive connections would otherwise hold the server open), and stops the
    /// projectors.
    pub async fn stop(mut self) {
        let _ = self.shutdown.send(true);
        if let Some(mut server) = self.tasks.pop() {
            if tokio::time::timeout(SHUTDOWN_GRACE, &mut server)
                .await
                .is_err()
            {
                server.abort();
            }
        }
        for projector in &self.tasks {
            projector.abort();
        }
        for projector in self.tasks {
            let _ = projector.await;
        }
    }
}
