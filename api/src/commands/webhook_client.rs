//! Posting Stripe Event bodies to a webhook endpoint exactly as Stripe does: signed with the
//! endpoint's secret at the current time, over HTTP, several deliveries at once.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What a batch of deliveries achieved.
#[derive(Debug, Clone, Default)]
pub struct WebhookPostSummary {
    /// Deliveries answered 2xx.
    pub accepted: usize,
    /// Deliveries answered otherwise (after retries).
    pub failed: usize,
    /// Wall time of the whole batch.
    pub elapsed: Duration,
}

impl WebhookPostSummary {
    /// Accepted deliveries per second.
    pub fn rate_per_second(&self) -> f64 {
        // Display only: a throughput figure, not money.
        self.accepted as f64 / self.elapsed.as_secs_f64().max(f64::EPSILON)
    }
}

/// Posts every body to `url`, `concurrency` at a time, each signed with `secret` at the time of
/// sending. A delivery that is not answered 2xx is retried up to 3 times (as Stripe would, but
/// sooner).
pub async fn post_signed_webhooks(
    url: &str,
    secret: &str,
    bodies: Arc<Vec<Vec<u8>>>,
    concurrency: usize,
) -> anyhow::Result<WebhookPostSummary> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()?;
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..concurrency.max(1) {
        let (client, next, bodies) = (client.clone(), next.clone(), bodies.clone());
        let (url, secret) = (url.to_owned(), secret.to_owned());
        workers.push(tokio::spawn(async move {
            let (mut accepted, mut failed) = (0, 0);
            loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                let Some(body) = bodies.get(index) else { break };
                if deliver(&client, &url, &secret, body).await {
                    accepted += 1;
                } else {
                    failed += 1;
                }
            }
            (accepted, failed)
        }));
    }
    let mut summary = WebhookPostSummary::default();
    for worker in workers {
        let (accepted, failed) = worker.await?;
        summary.accepted += accepted;
        summary.failed += failed;
    }
    summary.elapsed = started.elapsed();
    Ok(summary)
}

async fn deliver(client: &reqwest::Client, url: &str, secret: &str, body: &[u8]) -> bool {
    for attempt in 0..4 {
        let header = stripe_bridge::sign_header(secret, chrono::Utc::now().timestamp(), body);
        let response = client
            .post(url)
            .header("content-type", "application/json; charset=utf-8")
            .header("stripe-signature", header)
            .body(body.to_vec())
            .send()
            .await;
        match response {
            Ok(response) if response.status().is_success() => return true,
            Ok(response) => {
                tracing::warn!(status = %response.status(), attempt, "webhook delivery refused")
            }
            Err(error) => tracing::warn!(%error, attempt, "webhook delivery failed"),
        }
        tokio::time::sleep(Duration::from_millis(100 << attempt)).await;
    }
    false
}
