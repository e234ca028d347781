//! Stripe webhook signature verification (`Stripe-Signature: t=<unix seconds>,v1=<hex>,...`).
//!
//! Stripe signs `"<t>.<raw body>"` with HMAC-SHA256, keyed by the UTF-8 bytes of the whole
//! endpoint signing secret (including its `whsec_` prefix), and sends the hex digest as `v1`.
//! During a secret rotation a delivery carries one `v1` per active secret. This module follows
//! the official SDKs (stripe-node, stripe-python, stripe-dotnet): only `v1` counts, any matching
//! `v1` under any configured secret is accepted, the comparison is constant-time, and a
//! delivery is rejected when `now - t` exceeds the tolerance (there is no check for timestamps
//! in the future). Pure: the caller passes `now`.

use crate::error::SignatureError;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::fmt;

type HmacSha256 = Hmac<Sha256>;

/// Default replay tolerance of the official Stripe SDKs, in seconds: a delivery whose
/// timestamp is more than this much older than `now` is rejected.
pub const DEFAULT_TOLERANCE_SECONDS: i64 = 300;

/// One or more webhook endpoint signing secrets (`whsec_...`), tried in order. Several are
/// configured while a secret is being rotated. `Debug` never prints the secrets.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookSecrets {
    secrets: Vec<String>,
}

impl WebhookSecrets {
    /// Parses `STRIPE_WEBHOOK_SECRET`: one secret, or several separated by commas (rotation).
    /// Each secret is trimmed; empty entries (e.g. a trailing comma) are skipped.
    ///
    /// Errors: [`SignatureError::NoSecrets`] when no non-empty secret remains.
    pub fn parse(comma_separated: &str) -> Result<Self, SignatureError> {
        let secrets: Vec<String> = comma_separated
            .split(',')
            .map(str::trim)
            .filter(|secret| !secret.is_empty())
            .map(str::to_owned)
            .collect();
        if secrets.is_empty() {
            return Err(SignatureError::NoSecrets);
        }
        Ok(Self { secrets })
    }

    /// The first configured secret (the one the demo signs with).
    pub fn first(&self) -> &str {
        // `parse` is the only constructor and refuses an empty list.
        self.secrets.first().map(String::as_str).unwrap_or_default()
    }

    /// Every configured secret, in configuration order.
    pub fn all(&self) -> impl Iterator<Item = &str> {
        self.secrets.iter().map(String::as_str)
    }
}

impl fmt::Debug for WebhookSecrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "WebhookSecrets({} redacted)", self.secrets.len())
    }
}

/// The parts of a `Stripe-Signature` header Tally uses: the timestamp and every `v1` value
/// (other schemes, such as `v0`, are dropped).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedSignatureHeader {
    /// `t`, Unix seconds.
    pub timestamp: i64,
    /// Every `v1` value, as sent (normally 64 lowercase hex digits).
    pub v1_signatures: Vec<String>,
}

/// Parses a `Stripe-Signature` header value (`t=<unix seconds>,v1=<hex>[,v1=<hex>][,v0=<hex>]`).
///
/// Errors: [`SignatureError::MalformedHeader`] for an empty header, an element that is not
/// `key=value`, a missing, repeated or non-numeric `t`; [`SignatureError::NoV1Signature`] when
/// there is no `v1` element.
pub fn parse_header(header: &str) -> Result<ParsedSignatureHeader, SignatureError> {
    let malformed = |reason| SignatureError::MalformedHeader { reason };
    if header.trim().is_empty() {
        return Err(malformed("the header is empty"));
    }
    let mut timestamp = None;
    let mut v1_signatures = Vec::new();
    for element in header.split(',') {
        let (key, value) = element
            .trim()
            .split_once('=')
            .ok_or(malformed("an element is not key=value"))?;
        match key {
            "t" => {
                if timestamp.is_some() {
                    return Err(malformed("the timestamp t appears more than once"));
                }
                if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(malformed(
                        "the timestamp t is not a whole number of seconds",
                    ));
                }
                let parsed = value
                    .parse::<i64>()
                    .map_err(|_| malformed("the timestamp t is out of range"))?;
                timestamp = Some(parsed);
            }
            "v1" => v1_signatures.push(value.to_owned()),
            _ => {} // v0 and future schemes are ignored, as the SDKs do.
        }
    }
    let timestamp = timestamp.ok_or(malformed("there is no timestamp t"))?;
    if v1_signatures.is_empty() {
        return Err(SignatureError::NoV1Signature);
    }
    Ok(ParsedSignatureHeader {
        timestamp,
        v1_signatures,
    })
}

/// Verifies a webhook delivery with the default tolerance ([`DEFAULT_TOLERANCE_SECONDS`]).
///
/// `header` is the `Stripe-Signature` header value (`None` when absent), `body` the raw request
/// bytes exactly as received, `now_unix` the current time in Unix seconds (UTC).
///
/// Errors, checked in this order (as the SDKs do): [`SignatureError::MissingHeader`],
/// [`SignatureError::MalformedHeader`], [`SignatureError::NoV1Signature`],
/// [`SignatureError::SignatureMismatch`], [`SignatureError::TimestampTooOld`].
pub fn verify(
    header: Option<&str>,
    body: &[u8],
    secrets: &WebhookSecrets,
    now_unix: i64,
) -> Result<(), SignatureError> {
    verify_with_tolerance(header, body, secrets, now_unix, DEFAULT_TOLERANCE_SECONDS)
}

/// [`verify`] with an explicit tolerance in seconds: rejected when `now_unix - t >
/// tolerance_seconds`. A timestamp in the future is accepted, as in the official SDKs.
pub fn verify_with_tolerance(
    header: Option<&str>,
    body: &[u8],
    secrets: &WebhookSecrets,
    now_unix: i64,
    tolerance_seconds: i64,
) -> Result<(), SignatureError> {
    let header = header.ok_or(SignatureError::MissingHeader)?;
    let parsed = parse_header(header)?;
    let expected_signatures: Vec<Vec<u8>> = parsed
        .v1_signatures
        .iter()
        .filter_map(|signature| hex::decode(signature).ok())
        .collect();
    let matches = secrets.all().any(|secret| {
        expected_signatures.iter().any(|expected| {
            signing_mac(secret, parsed.timestamp, body)
                .verify_slice(expected)
                .is_ok()
        })
    });
    if !matches {
        return Err(SignatureError::SignatureMismatch);
    }
    let age_seconds = now_unix.saturating_sub(parsed.timestamp);
    if age_seconds > tolerance_seconds {
        return Err(SignatureError::TimestampTooOld {
            age_seconds,
            tolerance_seconds,
        });
    }
    Ok(())
}

/// Signs `body` like Stripe does, returning a header value `t=<timestamp>,v1=<64 hex digits>`.
/// For the demo and for tests; `timestamp` is Unix seconds.
pub fn sign_header(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let digest = signing_mac(secret, timestamp, body).finalize().into_bytes();
    format!("t={timestamp},v1={}", hex::encode(digest))
}

/// HMAC-SHA256 keyed by the secret's UTF-8 bytes, fed with `"<timestamp>.<body>"`.
fn signing_mac(secret: &str, timestamp: i64, body: &[u8]) -> HmacSha256 {
    let mut mac = HmacSha256::new_from_slice(secret.as_bytes())
        .expect("HMAC-SHA256 accepts keys of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_trimmed_split_and_never_printed() {
        let secrets = WebhookSecrets::parse(" whsec_a , whsec_b ,").unwrap();
        assert_eq!(secrets.first(), "whsec_a");
        assert_eq!(secrets.all().collect::<Vec<_>>(), ["whsec_a", "whsec_b"]);
        assert_eq!(format!("{secrets:?}"), "WebhookSecrets(2 redacted)");
        assert_eq!(WebhookSecrets::parse(" , "), Err(SignatureError::NoSecrets));
        assert_eq!(WebhookSecrets::parse(""), Err(SignatureError::NoSecrets));
    }

    #[test]
    fn signing_then_verifying_round_trips() {
        let secrets = WebhookSecrets::parse("whsec_round_trip").unwrap();
        let header = sign_header(secrets.first(), 1_700_000_000, b"{}");
        assert_eq!(
            verify(Some(&header), b"{}", &secrets, 1_700_000_000),
            Ok(())
        );
        assert_eq!(
            verify(None, b"{}", &secrets, 1_700_000_000),
            Err(SignatureError::MissingHeader)
        );
    }

    #[test]
    fn codes_are_distinct() {
        let errors = [
            SignatureError::MissingHeader,
            SignatureError::MalformedHeader { reason: "x" },
            SignatureError::NoV1Signature,
            SignatureError::SignatureMismatch,
            SignatureError::TimestampTooOld {
                age_seconds: 301,
                tolerance_seconds: 300,
            },
            SignatureError::NoSecrets,
        ];
        let mut codes: Vec<_> = errors.iter().map(SignatureError::code).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), errors.len());
    }
}
