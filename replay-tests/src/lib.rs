//! Replays recorded Stripe histories through everything — the real HTTP webhook endpoint,
//! signed like Stripe, into a fresh PostgreSQL database — and reads the reports back over HTTP.

use api::commands::post_signed_webhooks;
use api::server::{self, RunningServer};
use ledger::store::test_database::TestDatabase;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde_json::Value;
use std::sync::Arc;

/// A recorded history with its expected reports (files under `replay-tests/fixtures/`).
#[derive(Debug, Clone, Copy)]
pub struct Dataset {
    /// Dataset name.
    pub name: &'static str,
    /// `events.jsonl`: one Stripe Event per line, exactly the bytes of a webhook body.
    pub events_jsonl: &'static str,
    /// `expected/mrr.json`, `churn.json`, `cash.json`, `customers.json` (keyed by currency).
    pub expected_mrr: &'static str,
    /// See `expected_mrr`.
    pub expected_churn: &'static str,
    /// See `expected_mrr`.
    pub expected_cash: &'static str,
    /// See `expected_mrr`.
    pub expected_customers: &'static str,
    /// First and last month of the expected reports.
    pub from: &'static str,
    /// See `from`.
    pub to: &'static str,
}

/// The worked example of revenue-rules.md §7.
pub const WORKED_EXAMPLE: Dataset = Dataset {
    name: "worked-example",
    events_jsonl: include_str!("../fixtures/worked-example/events.jsonl"),
    expected_mrr: include_str!("../fixtures/worked-example/expected/mrr.json"),
    expected_churn: include_str!("../fixtures/worked-example/expected/churn.json"),
    expected_cash: include_str!("../fixtures/worked-example/expected/cash.json"),
    expected_customers: include_str!("../fixtures/worked-example/expected/customers.json"),
    from: "2025-01",
    to: "2025-04",
};

/// 150 customers over 2025 (`acme-small`).
pub const ACME_SMALL: Dataset = Dataset {
    name: "acme-small",
    events_jsonl: include_str!("../fixtures/acme-small/events.jsonl"),
    expected_mrr: include_str!("../fixtures/acme-small/expected/mrr.json"),
    expected_churn: include_str!("../fixtures/acme-small/expected/churn.json"),
    expected_cash: include_str!("../fixtures/acme-small/expected/cash.json"),
    expected_customers: include_str!("../fixtures/acme-small/expected/customers.json"),
    from: "2025-01",
    to: "2025-12",
};

/// Every rule acme-small and the worked example leave out (`rules-coverage`): graduated and
/// volume tiers, `transform_quantity`, a metered item, repeating and forever amount coupons and
/// their removal, several subscriptions of one customer, `paused` / `past_due` / `unpaid`, the
/// pre-2025-03-31 payload shape, and jpy. Figures derived by hand in its README.
pub const RULES_COVERAGE: Dataset = Dataset {
    name: "rules-coverage",
    events_jsonl: include_str!("../fixtures/rules-coverage/events.jsonl"),
    expected_mrr: include_str!("../fixtures/rules-coverage/expected/mrr.json"),
    expected_churn: include_str!("../fixtures/rules-coverage/expected/churn.json"),
    expected_cash: include_str!("../fixtures/rules-coverage/expected/cash.json"),
    expected_customers: include_str!("../fixtures/rules-coverage/expected/customers.json"),
    from: "2025-01",
    to: "2025-04",
};

/// How the history is delivered.
#[derive(Debug, Clone, Copy)]
pub enum Delivery {
    /// In recorded (created) order, each once.
    InOrder,
    /// Shuffled with the given seed, with about a fifth of the events delivered twice.
    ShuffledWithDuplicates {
        /// RNG seed (printed on failure so a run can be repeated).
        seed: u64,
    },
}

/// A Tally server on a fresh database, reachable over a real socket.
pub struct Replay {
    /// The fresh database.
    pub database: TestDatabase,
    /// The running server.
    pub server: RunningServer,
    /// `http://127.0.0.1:<port>`.
    pub base_url: String,
    client: reqwest::Client,
}

const SECRET: &str = "whsec_replay_tests_secret";

impl Replay {
    /// Starts a server on a fresh database.
    pub async fn start() -> Self {
        let database = TestDatabase::create().await;
        let secrets = stripe_bridge::WebhookSecrets::parse(SECRET).expect("valid secret");
        let server = server::start(
            database.pool.clone(),
            "127.0.0.1:0".parse().expect("addr"),
            Some(secrets),
        )
        .await
        .expect("server starts");
        let base_url = format!("http://{}", server.address);
        Self {
            database,
            server,
            base_url,
            client: reqwest::Client::new(),
        }
    }

    /// Posts `dataset`'s events to `/webhooks/stripe`, signed, 8 at a time, and waits until
    /// every projection has caught up.
    pub async fn deliver(&self, dataset: &Dataset, delivery: Delivery) {
        let mut bodies: Vec<Vec<u8>> = dataset
            .events_jsonl
            .lines()
            .filter(|line| !line.trim().is_empty())
            .map(|line| line.as_bytes().to_vec())
            .collect();
        if let Delivery::ShuffledWithDuplicates { seed } = delivery {
            let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
            let duplicates: Vec<Vec<u8>> = bodies
                .iter()
                .filter(|_| rng.gen_ratio(1, 5))
                .cloned()
                .collect();
            bodies.extend(duplicates);
            bodies.shuffle(&mut rng);
        }
        self.deliver_bodies(bodies).await;
    }

    /// Posts `bodies` (Stripe Event JSON) to `/webhooks/stripe` in this order, signed, 8 at a
    /// time, asserts each was accepted, and waits until every projection has caught up.
    pub async fn deliver_bodies(&self, bodies: Vec<Vec<u8>>) {
        self.post_bodies(bodies).await;
        self.catch_up().await;
    }

    /// Posts `bodies` as [`Replay::deliver_bodies`] does, without waiting for anything after
    /// the answers.
    pub async fn post_bodies(&self, bodies: Vec<Vec<u8>>) {
        let url = format!("{}/webhooks/stripe", self.base_url);
        let summary = post_signed_webhooks(&url, SECRET, Arc::new(bodies), 8)
            .await
            .expect("deliveries");
        assert_eq!(summary.failed, 0, "some deliveries were refused");
    }

    /// Waits until the inbox translator has translated every kept webhook body and every
    /// projection has applied the whole log.
    pub async fn catch_up(&self) {
        self.server
            .settle()
            .await
            .expect("the inbox is translated and projections catch up");
    }

    /// GETs `path` and returns the JSON body (asserting 200).
    pub async fn get_json(&self, path: &str) -> Value {
        let response = self
            .client
            .get(format!("{}{path}", self.base_url))
            .send()
            .await
            .expect("GET");
        assert!(
            response.status().is_success(),
            "GET {path}: {}",
            response.status()
        );
        response.json().await.expect("JSON body")
    }

    /// Every report and every expected customer MRR of `dataset`, as served now.
    pub async fn all_answers(&self, dataset: &Dataset) -> Vec<(String, Value)> {
        let mut answers = Vec::new();
        for question in expected_answers(dataset) {
            let served = self.get_json(&question.path).await;
            answers.push((question.path, served));
        }
        answers
    }

    /// Stops the server.
    pub async fn stop(self) {
        drop(self.client);
        self.server.stop().await;
    }
}

/// Parses an expected file (`{"usd": {...}, ...}`) into (currency, body) pairs.
pub fn expected_by_currency(file: &str) -> Vec<(String, Value)> {
    let parsed: Value = serde_json::from_str(file).expect("expected file is JSON");
    parsed
        .as_object()
        .expect("expected file is an object keyed by currency")
        .iter()
        .map(|(currency, body)| (currency.clone(), body.clone()))
        .collect()
}

/// One GET and what the expected files say it must answer.
struct ExpectedAnswer {
    /// API path with its query.
    path: String,
    /// For a report: the whole expected body; for a customer: the expected `mrr`.
    expected: Value,
    /// Whether `expected` is a report body (else a customer's `mrr`).
    is_report: bool,
}

/// Every request the expected files of `dataset` answer: the three reports per currency over the
/// dataset's months, and each customer's MRR at each month close listed.
fn expected_answers(dataset: &Dataset) -> Vec<ExpectedAnswer> {
    let mut answers = Vec::new();
    for (report, file) in [
        ("mrr", dataset.expected_mrr),
        ("churn", dataset.expected_churn),
        ("cash", dataset.expected_cash),
    ] {
        for (currency, expected) in expected_by_currency(file) {
            answers.push(ExpectedAnswer {
                path: format!(
                    "/v1/reports/{report}?currency={currency}&from={}&to={}",
                    dataset.from, dataset.to
                ),
                expected,
                is_report: true,
            });
        }
    }
    for (currency, expected) in expected_by_currency(dataset.expected_customers) {
        for month in expected["months"].as_array().expect("months") {
            let at = month["at"].as_str().expect("at");
            for (customer, mrr) in month["mrr"].as_object().expect("mrr") {
                answers.push(ExpectedAnswer {
                    path: format!("/v1/customers/{customer}/mrr?at={at}&currency={currency}"),
                    expected: mrr.clone(),
                    is_report: false,
                });
            }
        }
    }
    answers
}

/// Asserts that every report row and every customer MRR served equals the expected files,
/// naming the first rows that differ.
pub async fn assert_matches_expected(replay: &Replay, dataset: &Dataset) {
    let mut mismatches = Vec::new();
    for ExpectedAnswer {
        path,
        expected,
        is_report,
    } in expected_answers(dataset)
    {
        let served = replay.get_json(&path).await;
        if !is_report {
            if served["mrr"] != expected {
                mismatches.push(format!(
                    "{path}: expected {expected}, served {}",
                    served["mrr"]
                ));
            }
            continue;
        }
        assert_eq!(served["currency"], expected["currency"], "{path}");
        let served = served["months"].as_array().cloned().unwrap_or_default();
        let expected = expected["months"].as_array().cloned().unwrap_or_default();
        assert_eq!(served.len(), expected.len(), "{path}: number of months");
        for (served_row, expected_row) in served.iter().zip(&expected) {
            if served_row != expected_row {
                mismatches.push(format!(
                    "{path}\n  expected {expected_row}\n  served   {served_row}"
                ));
            }
        }
    }
    assert!(
        mismatches.is_empty(),
        "{}: {} rows differ from the expected reports:\n{}",
        dataset.name,
        mismatches.len(),
        mismatches
            .iter()
            .take(20)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}
