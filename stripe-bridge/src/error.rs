//! The errors of the Stripe bridge: one enum for the crate, with one enum per operation
//! (signature verification, payload reading, backfill) as its variant payloads.

/// Any error of the Stripe bridge.
#[derive(Debug, thiserror::Error)]
pub enum StripeBridgeError {
    /// The webhook delivery's `Stripe-Signature` did not verify.
    #[error(transparent)]
    Signature(#[from] SignatureError),
    /// The body is not a Stripe Event Tally can read (the reason of a
    /// [`crate::Translation::Unparsed`]).
    #[error(transparent)]
    Payload(#[from] PayloadError),
    /// A Stripe backfill or reconciliation stopped.
    #[error(transparent)]
    Backfill(#[from] BackfillError),
    /// A call to the Stripe API failed (transport, Stripe's answer, or its body).
    #[error(transparent)]
    StripeCall(#[from] StripeCallError),
}

/// Why a webhook delivery's `Stripe-Signature` header was rejected, or why the configured
/// secrets are unusable. Each variant has a stable machine code ([`SignatureError::code`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// The request has no `Stripe-Signature` header.
    #[error("the Stripe-Signature header is missing")]
    MissingHeader,
    /// The header is not `t=<unix seconds>,v1=<hex>[,...]`, or is longer than
    /// [`crate::signature::MAX_HEADER_BYTES`].
    #[error("the Stripe-Signature header is malformed: {reason}")]
    MalformedHeader {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The header carries no `v1` signature (only other schemes, such as `v0`, which are
    /// never accepted).
    #[error("the Stripe-Signature header has no v1 signature")]
    NoV1Signature,
    /// No `v1` signature matches the body under any configured secret.
    #[error("no v1 signature matches the body under any configured webhook secret")]
    SignatureMismatch,
    /// The signature matches but its timestamp is older than the tolerance (replay guard).
    #[error("the signature timestamp is {age_seconds} s old, more than the {tolerance_seconds} s tolerance")]
    TimestampTooOld {
        /// `now - t`, seconds.
        age_seconds: i64,
        /// The tolerance that was exceeded, seconds.
        tolerance_seconds: i64,
    },
    /// No webhook secret is configured (`STRIPE_WEBHOOK_SECRET` empty).
    #[error("no Stripe webhook secret is configured")]
    NoSecrets,
}

impl SignatureError {
    /// A stable machine-readable code for API error bodies: `missing_signature`,
    /// `malformed_signature`, `no_v1_signature`, `signature_mismatch`, `timestamp_too_old`,
    /// `no_webhook_secret`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::MissingHeader => "missing_signature",
            Self::MalformedHeader { .. } => "malformed_signature",
            Self::NoV1Signature => "no_v1_signature",
            Self::SignatureMismatch => "signature_mismatch",
            Self::TimestampTooOld { .. } => "timestamp_too_old",
            Self::NoSecrets => "no_webhook_secret",
        }
    }
}

/// Why a body could not be read as a Stripe Event Tally uses. Paths are JSON paths from the
/// Event root, e.g. `data.object.items.data[0].price.id`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PayloadError {
    /// The body is not valid JSON (or not UTF-8).
    #[error("body is not valid JSON: {detail}")]
    InvalidJson {
        /// serde_json's message, with line and column.
        detail: String,
    },
    /// The body is valid JSON but not a JSON object.
    #[error("body is not a JSON object")]
    NotAnObject,
    /// The body is an object whose `object` field is not `event`.
    #[error("body is a Stripe `{object}`, not an `event`")]
    NotAnEvent {
        /// The `object` field found.
        object: String,
    },
    /// A field Tally needs is absent or null.
    #[error("{path} missing")]
    MissingField {
        /// Where it was expected.
        path: String,
    },
    /// A field has a value Tally cannot use (wrong type, out of range, not expanded).
    #[error("{path} is invalid: {detail}")]
    InvalidField {
        /// Where.
        path: String,
        /// What is wrong.
        detail: String,
    },
    /// An enumerated field has a value this build does not know (e.g. a new Stripe status).
    #[error("{path} has unknown value {value:?} (known: {known})")]
    UnknownValue {
        /// Where.
        path: String,
        /// The value found.
        value: String,
        /// The values Tally knows, comma-separated.
        known: String,
    },
    /// An object does not have the shape of the Stripe resource its event type carries.
    #[error("{path} is not a readable Stripe {resource}: {detail}")]
    UnreadableObject {
        /// Where.
        path: String,
        /// The Stripe resource expected (`subscription`, `invoice`, ...).
        resource: &'static str,
        /// serde_json's message (line and column are relative to that object).
        detail: String,
    },
}

impl PayloadError {
    /// [`PayloadError::MissingField`] at `path`.
    pub fn missing(path: impl Into<String>) -> Self {
        Self::MissingField { path: path.into() }
    }

    /// [`PayloadError::InvalidField`] at `path`.
    pub fn invalid(path: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::InvalidField {
            path: path.into(),
            detail: detail.into(),
        }
    }
}

/// Why a Stripe backfill or reconciliation stopped. Whatever was written before stays written
/// (each page in its own transaction); a re-run continues without writing anything twice.
#[derive(Debug, thiserror::Error)]
pub enum BackfillError {
    /// The transport failed or Stripe answered an error (after the transport's retries).
    #[error("{request}: {source}")]
    Stripe {
        /// The request, e.g. `GET /v1/invoices?limit=100&starting_after=in_123`.
        request: String,
        /// The transport's error.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The answer is not a Stripe list object.
    #[error("{request}: the answer is not a Stripe list: {detail}")]
    UnreadableList {
        /// The request.
        request: String,
        /// What is wrong.
        detail: String,
    },
    /// Writing to the log failed.
    #[error(transparent)]
    Ingest(#[from] crate::ingest::IngestError),
}

/// Why a call to the Stripe API failed. Built by the HTTP transport (`api::stripe_transport`)
/// and read by the outbox worker to decide whether to retry.
///
/// Keeps what Stripe said: the HTTP status, the `Stripe-Should-Retry` header and Stripe's error
/// body (`{"error": {"type", "code", "message", ...}}`, kept verbatim in `body`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StripeCallError {
    /// Stripe could not be reached or its answer could not be read (connect, TLS, timeout,
    /// reset). Retryable: with the same idempotency key a re-send is safe.
    #[error("could not reach the Stripe API: {detail}")]
    Connection {
        /// reqwest's message.
        detail: String,
    },
    /// Stripe answered with a non-2xx status.
    #[error("Stripe answered {status}: {}", message.as_deref().unwrap_or("(no message)"))]
    Status {
        /// The HTTP status, e.g. 402, 429, 500.
        status: u16,
        /// The `Stripe-Should-Retry` header (`true`/`false`), if Stripe sent it.
        should_retry: Option<bool>,
        /// `error.type` of Stripe's body (`card_error`, `invalid_request_error`, `api_error`, ...).
        error_type: Option<String>,
        /// `error.code` of Stripe's body (`resource_missing`, `rate_limit`, ...).
        code: Option<String>,
        /// `error.message` of Stripe's body.
        message: Option<String>,
        /// Stripe's body, verbatim (lossy UTF-8), at most 64 KiB.
        body: String,
    },
    /// Stripe answered 2xx but the body is not the JSON object expected.
    #[error("Stripe's answer could not be read: {detail}")]
    Deserialize {
        /// What is wrong.
        detail: String,
    },
    /// The request could not be built (bad secret key or base URL; never sent).
    #[error("the Stripe request could not be built: {detail}")]
    Request {
        /// What is wrong.
        detail: String,
    },
}

/// The largest Stripe error body kept in [`StripeCallError::Status`], bytes.
pub const MAX_KEPT_ERROR_BODY_BYTES: usize = 64 * 1024;

impl StripeCallError {
    /// Builds [`StripeCallError::Status`] from Stripe's answer: the status, the raw
    /// `Stripe-Should-Retry` header value (`"true"`/`"false"`, anything else ignored) and the
    /// body, whose `error.type`, `error.code` and `error.message` are read when it is Stripe's
    /// error shape.
    pub fn from_response(status: u16, should_retry_header: Option<&str>, body: &[u8]) -> Self {
        #[derive(serde::Deserialize)]
        struct ErrorEnvelope {
            error: ErrorObject,
        }
        #[derive(serde::Deserialize)]
        struct ErrorObject {
            #[serde(rename = "type")]
            error_type: Option<String>,
            code: Option<String>,
            message: Option<String>,
        }
        let should_retry = match should_retry_header.map(str::trim) {
            Some("true") => Some(true),
            Some("false") => Some(false),
            _ => None,
        };
        let parsed = serde_json::from_slice::<ErrorEnvelope>(body).ok();
        let kept = &body[..body.len().min(MAX_KEPT_ERROR_BODY_BYTES)];
        let (error_type, code, message) = match parsed {
            Some(envelope) => (
                envelope.error.error_type,
                envelope.error.code,
                envelope.error.message,
            ),
            None => (None, None, None),
        };
        Self::Status {
            status,
            should_retry,
            error_type,
            code,
            message,
            body: String::from_utf8_lossy(kept).into_owned(),
        }
    }

    /// Whether sending the same request again (same idempotency key) may succeed: connection
    /// errors, and statuses 409, 424, 429 and 5xx, unless Stripe said `Stripe-Should-Retry:
    /// false`; `Stripe-Should-Retry: true` makes any status retryable. Other 4xx, unreadable
    /// answers and unbuildable requests are final.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Connection { .. } => true,
            Self::Status {
                status,
                should_retry,
                ..
            } => match should_retry {
                Some(decided) => *decided,
                None => matches!(status, 409 | 424 | 429 | 500..=599),
            },
            Self::Deserialize { .. } | Self::Request { .. } => false,
        }
    }

    /// A stable machine code: Stripe's `error.code` (else `error.type`) for a status error,
    /// else `http_<status>`; `connection_error`, `unreadable_response`, `invalid_request`.
    pub fn code(&self) -> String {
        match self {
            Self::Connection { .. } => "connection_error".to_owned(),
            Self::Status {
                status,
                code,
                error_type,
                ..
            } => code
                .clone()
                .or_else(|| error_type.clone())
                .unwrap_or_else(|| format!("http_{status}")),
            Self::Deserialize { .. } => "unreadable_response".to_owned(),
            Self::Request { .. } => "invalid_request".to_owned(),
        }
    }
}

impl stripe_client_core::StripeClientErr for StripeCallError {
    fn deserialize_err(msg: impl std::fmt::Display) -> Self {
        Self::Deserialize {
            detail: msg.to_string(),
        }
    }
}
