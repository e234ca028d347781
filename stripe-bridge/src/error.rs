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
