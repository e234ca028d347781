//! Stripe list endpoints on the shared fake ([`super::fake_stripe::FakeStripe::server`]):
//! pages that follow `starting_after` as Stripe does, and a page that fails once.

use serde_json::{json, Value};
use wiremock::matchers::{method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::fake_stripe::stripe_error_body;

/// Serves `objects` at `GET /v1/<resource>` in pages of `page_size` (`has_more` on all but the
/// last), each page after the first answering `starting_after=<last id of the one before>`.
pub async fn serve_list(server: &MockServer, resource: &str, objects: &[Value], page_size: usize) {
    let url = format!("/v1/{resource}");
    let pages: Vec<&[Value]> = if objects.is_empty() {
        vec![&[]]
    } else {
        objects.chunks(page_size).collect()
    };
    let mut previous_last: Option<String> = None;
    for (index, page) in pages.iter().enumerate() {
        let has_more = index + 1 < pages.len();
        let body = json!({"object": "list", "url": url, "has_more": has_more, "data": page});
        let mock = Mock::given(method("GET")).and(path(url.clone()));
        let mock = match &previous_last {
            Some(after) => mock.and(query_param("starting_after", after.as_str())),
            None => mock.and(query_param_is_missing("starting_after")),
        };
        mock.respond_with(ResponseTemplate::new(200).set_body_json(body))
            .with_priority(2)
            .mount(server)
            .await;
        previous_last = page
            .last()
            .and_then(|object| object["id"].as_str())
            .map(str::to_owned);
    }
}

/// The next request of `GET /v1/<resource>?starting_after=<after>` answers 500 (`api_error`,
/// `Stripe-Should-Retry: true`) once, then the page is served again.
pub async fn fail_page_once(server: &MockServer, resource: &str, after: &str) {
    Mock::given(method("GET"))
        .and(path(format!("/v1/{resource}")))
        .and(query_param("starting_after", after))
        .respond_with(
            ResponseTemplate::new(500)
                .insert_header("Stripe-Should-Retry", "true")
                .set_body_json(stripe_error_body(
                    "api_error",
                    None,
                    "An unknown error occurred",
                )),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .mount(server)
        .await;
}
