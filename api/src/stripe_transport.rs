//! The HTTP transport to the Stripe API: an `stripe_client_core::StripeClient` over reqwest
//! that keeps the status, the `Stripe-Should-Retry` header and Stripe's error body, plus a raw
//! call (method, path, form params) -> JSON bytes for list endpoints.
//!
//! Why Tally owns it: async-stripe's own hyper client drops `Stripe-Should-Retry` when a fixed
//! idempotency key is used, and retries inside the call; Tally retries in the outbox worker
//! (`stripe_bridge::outbox`) with one deterministic key per command, so the transport sends each
//! request exactly once.

use std::time::Duration;

use bytes::Bytes;
use stripe_bridge::StripeCallError;
use stripe_client_core::{CustomizedStripeRequest, RequestStrategy, StripeClient, StripeMethod};

/// The Stripe API base used when `STRIPE_API_BASE` is not set.
pub const DEFAULT_STRIPE_API_BASE: &str = "https://api.stripe.com/";

/// Per-attempt timeout of one request to Stripe (Stripe's own clients use 80 s).
pub const STRIPE_REQUEST_TIMEOUT: Duration = Duration::from_secs(80);

/// Sends requests to the Stripe API (`{api_base}v1{path}`) with the secret key as a bearer
/// token, the pinned `Stripe-Version` (async-stripe's, currently `2026-09-30.endive`) and, for an
/// idempotent request, the `Idempotency-Key` header. Never retries: one call, one HTTP request.
#[derive(Clone)]
pub struct StripeTransport {
    http: reqwest::Client,
    api_base: String,
    secret_key: String,
}

impl std::fmt::Debug for StripeTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the secret key.
        f.debug_struct("StripeTransport")
            .field("api_base", &self.api_base)
            .finish_non_exhaustive()
    }
}

impl StripeTransport {
    /// A transport for `secret_key` (`sk_...` or `rk_...`) against `api_base` (default
    /// [`DEFAULT_STRIPE_API_BASE`]; a trailing `/` is added when missing, so
    /// `http://127.0.0.1:12111` works for stripe-mock or a test fake).
    ///
    /// # Errors
    /// [`StripeCallError::Request`] when the key is empty or the HTTP client cannot be built.
    pub fn new(secret_key: &str, api_base: Option<&str>) -> Result<Self, StripeCallError> {
        let secret_key = secret_key.trim();
        if secret_key.is_empty() {
            return Err(StripeCallError::Request {
                detail: "the Stripe secret key is empty".to_owned(),
            });
        }
        let mut api_base = api_base
            .map(str::trim)
            .filter(|base| !base.is_empty())
            .unwrap_or(DEFAULT_STRIPE_API_BASE)
            .to_owned();
        if !api_base.ends_with('/') {
            api_base.push('/');
        }
        let http = reqwest::Client::builder()
            .timeout(STRIPE_REQUEST_TIMEOUT)
            .user_agent(concat!("Tally/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|error| StripeCallError::Request {
                detail: error.to_string(),
            })?;
        Ok(Self {
            http,
            api_base,
            secret_key: secret_key.to_owned(),
        })
    }

    /// The transport configured by the environment: `STRIPE_SECRET_KEY` (required; `None` when
    /// unset or empty) and `STRIPE_API_BASE` (optional).
    ///
    /// # Errors
    /// As [`StripeTransport::new`].
    pub fn from_env() -> Result<Option<Self>, StripeCallError> {
        let Ok(secret_key) = std::env::var("STRIPE_SECRET_KEY") else {
            return Ok(None);
        };
        if secret_key.trim().is_empty() {
            return Ok(None);
        }
        let api_base = std::env::var("STRIPE_API_BASE").ok();
        Self::new(&secret_key, api_base.as_deref()).map(Some)
    }

    /// The base URL requests go to, ending with `/` (e.g. `https://api.stripe.com/`).
    pub fn api_base(&self) -> &str {
        &self.api_base
    }

    /// A raw call: `method` `{api_base}v1{path}` with `params` form-encoded (as the query of a
    /// GET or DELETE, as the body of a POST), e.g.
    /// `raw(StripeMethod::Get, "/events", &[("limit", "100"), ("starting_after", "evt_...")])`.
    /// Returns Stripe's JSON body verbatim. `path` starts with `/` and excludes `/v1`.
    ///
    /// # Errors
    /// [`StripeCallError::Connection`] when Stripe cannot be reached,
    /// [`StripeCallError::Status`] for a non-2xx answer.
    pub async fn raw<K: AsRef<str>, V: AsRef<str>>(
        &self,
        method: StripeMethod,
        path: &str,
        params: &[(K, V)],
    ) -> Result<Bytes, StripeCallError> {
        let encoded = encode_form(params);
        let encoded = (!encoded.is_empty()).then_some(encoded);
        match method {
            StripeMethod::Post => self.send(method, path, None, encoded, None).await,
            StripeMethod::Get | StripeMethod::Delete => {
                self.send(method, path, encoded, None, None).await
            }
        }
    }

    /// Sends one request and returns the 2xx body, or the error with what Stripe said.
    async fn send(
        &self,
        method: StripeMethod,
        path: &str,
        query: Option<String>,
        form_body: Option<String>,
        idempotency_key: Option<&str>,
    ) -> Result<Bytes, StripeCallError> {
        let mut url = format!("{}v1{}", self.api_base, path);
        if let Some(query) = query.filter(|query| !query.is_empty()) {
            url.push('?');
            url.push_str(&query);
        }
        let method = match method {
            StripeMethod::Get => reqwest::Method::GET,
            StripeMethod::Post => reqwest::Method::POST,
            StripeMethod::Delete => reqwest::Method::DELETE,
        };
        let mut request = self
            .http
            .request(method, &url)
            .bearer_auth(&self.secret_key)
            .header("Stripe-Version", stripe_client_core::VERSION.as_str());
        if let Some(key) = idempotency_key {
            request = request.header("Idempotency-Key", key);
        }
        if let Some(body) = form_body {
            request = request
                .header(
                    reqwest::header::CONTENT_TYPE,
                    "application/x-www-form-urlencoded",
                )
                .body(body);
        }
        let response = request
            .send()
            .await
            .map_err(|error| StripeCallError::Connection {
                detail: error.to_string(),
            })?;
        let status = response.status();
        let should_retry = response
            .headers()
            .get("Stripe-Should-Retry")
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        let body = response
            .bytes()
            .await
            .map_err(|error| StripeCallError::Connection {
                detail: error.to_string(),
            })?;
        if status.is_success() {
            Ok(body)
        } else {
            Err(StripeCallError::from_response(
                status.as_u16(),
                should_retry.as_deref(),
                &body,
            ))
        }
    }
}

impl StripeClient for StripeTransport {
    type Err = StripeCallError;

    /// Sends an async-stripe request once. The idempotency key is taken from the request's
    /// `RequestStrategy::Idempotent` (the outbox passes `tally-cmd-<command uuid>`); retrying
    /// strategies are sent once with their key, because retries belong to the outbox worker.
    fn execute(
        &self,
        req: CustomizedStripeRequest,
    ) -> impl std::future::Future<Output = Result<Bytes, Self::Err>> + Send {
        let (request, config) = req.into_pieces();
        let key = config
            .request_strategy
            .as_ref()
            .and_then(RequestStrategy::get_key)
            .map(|key| key.as_str().to_owned());
        async move {
            self.send(
                request.method,
                &request.path,
                request.query,
                request.body,
                key.as_deref(),
            )
            .await
        }
    }
}

/// `application/x-www-form-urlencoded` encoding of `params` (RFC 3986 unreserved characters kept,
/// everything else percent-encoded), e.g. `expand[]=data.customer` -> `expand%5B%5D=...`.
pub fn encode_form<K: AsRef<str>, V: AsRef<str>>(params: &[(K, V)]) -> String {
    fn encode(text: &str, out: &mut String) {
        for byte in text.bytes() {
            match byte {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    out.push(byte as char)
                }
                _ => out.push_str(&format!("%{byte:02X}")),
            }
        }
    }
    let mut out = String::new();
    for (index, (key, value)) in params.iter().enumerate() {
        if index > 0 {
            out.push('&');
        }
        encode(key.as_ref(), &mut out);
        out.push('=');
        encode(value.as_ref(), &mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::encode_form;

    #[test]
    fn form_encoding_escapes_brackets_and_spaces() {
        assert_eq!(
            encode_form(&[("expand[]", "data.customer"), ("q", "a b&c")]),
            "expand%5B%5D=data.customer&q=a%20b%26c"
        );
    }
}
