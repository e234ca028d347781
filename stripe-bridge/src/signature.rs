//! Stripe webhook signature verification (`Stripe-Signature: t=<unix seconds>,v1=<hex>,...`).
//!
//! Stripe signs `"<t>.<raw body>"` with HMAC-SHA256, keyed by the UTF-8 bytes of the whole
//! endpoint signing secret (including its `whsec_` prefix), and sends the hex digest as `v1`.
//! During a secret rotation a delivery carries one `v1` per active secret. This module follows
//! the official SDKs (stripe-node, stripe-python, stripe-dotnet): only `v1` counts, any matching
//! `v1` under any configured secret is accepted, the comparison is constant-time, and a
//! delivery is rejected when `now - t` exceeds the tolerance (there is no check for timestamps
//! in the future). Pure: the caller passes `now`.
//!
//! The header is unauthenticated input, so its cost is bounded: headers over
//! [`MAX_HEADER_BYTES`] are rejected unparsed, only the first [`MAX_V1_CANDIDATES`] `v1` values
//! of exactly 64 hex digits are considered, and the HMAC of the body is computed once per
//! configured secret, never once per `v1` value.

use crate::error::SignatureError;
use hmac::digest::CtOutput;
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

/// The longest `Stripe-Signature` header value [`parse_header`] accepts, in bytes. A real
/// header is about 150 bytes (`t`, one `v1`, one `v0`), a few hundred during a secret
/// rotation; anything longer is rejected as malformed before any HMAC is computed.
pub const MAX_HEADER_BYTES: usize = 4096;

/// How many well-formed `v1` values are kept from a header (the first ones, in header order).
/// With one `v1` per active secret, a real delivery carries one or two. Together with
/// computing the HMAC once per configured secret, this bounds the verification cost of any
/// header to one HMAC of the body per secret plus a few constant-time 32-byte comparisons.
pub const MAX_V1_CANDIDATES: usize = 8;

/// Length, in hex digits, of a well-formed `v1` value (a hex-encoded HMAC-SHA256).
const V1_HEX_LEN: usize = 64;

/// The [`SignatureError::MalformedHeader`] reason for a header over [`MAX_HEADER_BYTES`].
const HEADER_TOO_LONG: &str = "the header is longer than 4096 bytes";

/// The parts of a `Stripe-Signature` header Tally uses: the timestamp and the well-formed `v1`
/// values (other schemes, such as `v0`, are dropped).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedSignatureHeader {
    /// `t`, Unix seconds.
    pub timestamp: i64,
    /// The first [`MAX_V1_CANDIDATES`] `v1` values that are exactly 64 hex digits, as sent, in
    /// header order. Other `v1` values (wrong length, not hex, empty) are dropped, so this is
    /// empty when the header has `v1` elements but none is well-formed.
    pub v1_signatures: Vec<String>,
}

/// Parses a `Stripe-Signature` header value (`t=<unix seconds>,v1=<hex>[,v1=<hex>][,v0=<hex>]`).
///
/// Elements are separated by commas and trimmed. Like the lenient official SDKs (stripe-node,
/// stripe-ruby), elements without `=` (e.g. the empty element of a trailing comma) and unknown
/// keys (`v0`, future schemes) are ignored, except a bare `t` or `v1`, which is malformed.
/// Only `v1` values of exactly 64 hex digits are kept, at most [`MAX_V1_CANDIDATES`] of them.
///
/// Errors: [`SignatureError::MalformedHeader`] for an empty header, a header longer than
/// [`MAX_HEADER_BYTES`], a bare `t` or `v1` element, a missing, repeated or non-numeric `t`;
/// [`SignatureError::NoV1Signature`] when there is no `v1` element at all (a header whose
/// `v1` elements are all malformed parses, with empty `v1_signatures`).
pub fn parse_header(header: &str) -> Result<ParsedSignatureHeader, SignatureError> {
    let malformed = |reason| SignatureError::MalformedHeader { reason };
    if header.len() > MAX_HEADER_BYTES {
        return Err(malformed(HEADER_TOO_LONG));
    }
    if header.trim().is_empty() {
        return Err(malformed("the header is empty"));
    }
    let mut timestamp = None;
    let mut v1_seen = false;
    let mut v1_signatures = Vec::new();
    for element in header.split(',') {
        let element = element.trim();
        let Some((key, value)) = element.split_once('=') else {
            match element {
                "t" => return Err(malformed("the timestamp t has no value")),
                "v1" => return Err(malformed("a v1 element has no value")),
                _ => continue, // e.g. the empty element after a trailing comma
            }
        };
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
            "v1" => {
                v1_seen = true;
                if v1_signatures.len() < MAX_V1_CANDIDATES && is_well_formed_v1(value) {
                    v1_signatures.push(value.to_owned());
                }
            }
            _ => {} // v0 and future schemes are ignored, as the SDKs do.
        }
    }
    let timestamp = timestamp.ok_or(malformed("there is no timestamp t"))?;
    if !v1_seen {
        return Err(SignatureError::NoV1Signature);
    }
    Ok(ParsedSignatureHeader {
        timestamp,
        v1_signatures,
    })
}

/// Whether a `v1` value has the shape of a hex-encoded HMAC-SHA256: exactly 64 hex digits.
fn is_well_formed_v1(value: &str) -> bool {
    value.len() == V1_HEX_LEN && value.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Verifies a webhook delivery with the default tolerance ([`DEFAULT_TOLERANCE_SECONDS`]).
///
/// `header` is the `Stripe-Signature` header value (`None` when absent), `body` the raw request
/// bytes exactly as received, `now_unix` the current time in Unix seconds (UTC).
///
/// Errors, checked in this order (as the SDKs do): [`SignatureError::MissingHeader`],
/// [`SignatureError::MalformedHeader`], [`SignatureError::NoV1Signature`],
/// [`SignatureError::SignatureMismatch`] (also when no `v1` value is 64 hex digits),
/// [`SignatureError::TimestampTooOld`].
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
///
/// Cost: the HMAC of the body is computed at most once per configured secret (not at all when
/// the header has no well-formed `v1`), and each result is compared in constant time with at
/// most [`MAX_V1_CANDIDATES`] candidates, whatever the header holds.
pub fn verify_with_tolerance(
    header: Option<&str>,
    body: &[u8],
    secrets: &WebhookSecrets,
    now_unix: i64,
    tolerance_seconds: i64,
) -> Result<(), SignatureError> {
    let header = header.ok_or(SignatureError::MissingHeader)?;
    let parsed = parse_header(header)?;
    let candidates: Vec<CtOutput<HmacSha256>> = parsed
        .v1_signatures
        .iter()
        .filter_map(|signature| {
            let mut bytes = [0_u8; V1_HEX_LEN / 2];
            hex::decode_to_slice(signature, &mut bytes).ok()?;
            Some(CtOutput::new(bytes.into()))
        })
        .collect();
    let matches = !candidates.is_empty()
        && secrets.all().any(|secret| {
            let computed = signing_mac(secret, parsed.timestamp, body).finalize();
            // `contains` uses `CtOutput`'s `==`, a constant-time comparison.
            candidates.contains(&computed)
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
    #[cfg(test)]
    tests::MAC_COMPUTATIONS.with(|count| count.set(count.get() + 1));
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
    use std::cell::Cell;

    thread_local! {
        /// How many HMACs [`signing_mac`] has started on this thread (tests run one per thread).
        pub(super) static MAC_COMPUTATIONS: Cell<usize> = const { Cell::new(0) };
    }

    /// Runs `f` and returns its result with the number of HMACs it computed.
    fn counting_macs<T>(f: impl FnOnce() -> T) -> (T, usize) {
        let before = MAC_COMPUTATIONS.with(Cell::get);
        let result = f();
        (result, MAC_COMPUTATIONS.with(Cell::get) - before)
    }

    const T: i64 = 1_700_000_000;

    fn wrong_v1(i: usize) -> String {
        format!("{i:064x}")
    }

    #[test]
    fn hmac_is_computed_once_per_secret_whatever_the_header_holds() {
        let body = vec![b'x'; 1 << 20];
        let secrets = WebhookSecrets::parse("whsec_a,whsec_b,whsec_c").unwrap();
        // As many 64-hex-digit wrong signatures as fit under the cap, plus short garbage.
        let mut header = format!("t={T}");
        for i in 0.. {
            let element = format!(",v1={}", wrong_v1(i));
            if header.len() + element.len() > MAX_HEADER_BYTES {
                break;
            }
            header.push_str(&element);
        }
        assert!(header.len() > MAX_HEADER_BYTES - 70);
        let parsed = parse_header(&header).unwrap();
        assert_eq!(parsed.v1_signatures.len(), MAX_V1_CANDIDATES);
        let (result, macs) = counting_macs(|| verify(Some(&header), &body, &secrets, T));
        assert_eq!(result, Err(SignatureError::SignatureMismatch));
        assert_eq!(macs, 3, "one HMAC per configured secret");

        let short = format!("t={T}{}", ",v1=0".repeat((MAX_HEADER_BYTES - 20) / 5));
        assert!(short.len() <= MAX_HEADER_BYTES);
        let (result, macs) = counting_macs(|| verify(Some(&short), &body, &secrets, T));
        assert_eq!(result, Err(SignatureError::SignatureMismatch));
        assert_eq!(macs, 0, "no well-formed v1: nothing to compare against");
    }

    #[test]
    fn oversized_hostile_headers_are_rejected_before_any_hmac() {
        let body = vec![b'x'; 1 << 20];
        let secrets = WebhookSecrets::parse("whsec_a,whsec_b").unwrap();
        let short_entries = format!("t={T}{}", ",v1=00".repeat(70_000));
        let long_entries = format!(
            "t={T}{}",
            (0..10_000)
                .map(|i| format!(",v1={}", wrong_v1(i)))
                .collect::<String>()
        );
        for header in [short_entries, long_entries] {
            let (result, macs) = counting_macs(|| verify(Some(&header), &body, &secrets, T));
            assert_eq!(
                result,
                Err(SignatureError::MalformedHeader {
                    reason: "the header is longer than 4096 bytes"
                })
            );
            assert_eq!(macs, 0);
        }
    }

    #[test]
    fn a_valid_v1_after_the_candidate_cap_is_not_considered() {
        let secrets = WebhookSecrets::parse("whsec_cap").unwrap();
        let signed = sign_header(secrets.first(), T, b"{}");
        let valid = signed.split_once(",v1=").unwrap().1;
        let wrong: String = (0..MAX_V1_CANDIDATES)
            .map(|i| format!(",v1={}", wrong_v1(i)))
            .collect();
        let (late, macs) = counting_macs(|| {
            verify(
                Some(&format!("t={T}{wrong},v1={valid}")),
                b"{}",
                &secrets,
                T,
            )
        });
        assert_eq!(late, Err(SignatureError::SignatureMismatch));
        assert_eq!(macs, 1);
        // Malformed v1 values do not use up the cap.
        let garbage = ",v1=zz,v1=,v1=abc".repeat(20);
        let header = format!("t={T}{garbage},v1={valid}");
        assert_eq!(verify(Some(&header), b"{}", &secrets, T), Ok(()));
    }

    #[test]
    fn header_leniency_and_what_stays_malformed() {
        let secrets = WebhookSecrets::parse("whsec_lenient").unwrap();
        let signed = sign_header(secrets.first(), T, b"{}");
        for lenient in [
            format!("{signed},"),
            format!(",{signed}"),
            format!("{signed},,junk, ,v0=ab"),
            format!("{signed},v1=00,v1={}", wrong_v1(1).to_uppercase()),
        ] {
            assert_eq!(
                verify(Some(&lenient), b"{}", &secrets, T),
                Ok(()),
                "{lenient}"
            );
        }
        let malformed = |reason| Err(SignatureError::MalformedHeader { reason });
        let wrong = wrong_v1(0);
        assert_eq!(
            parse_header(&format!("v1,t={T}")),
            malformed("a v1 element has no value")
        );
        assert_eq!(
            parse_header(&format!("t,v1={wrong}")),
            malformed("the timestamp t has no value")
        );
        assert_eq!(
            parse_header(&format!("v1={wrong},")),
            malformed("there is no timestamp t")
        );
        assert_eq!(
            parse_header(&format!("t={T},t={T},v1={wrong}")),
            malformed("the timestamp t appears more than once")
        );
        assert_eq!(
            parse_header(&format!("t=-1,v1={wrong}")),
            malformed("the timestamp t is not a whole number of seconds")
        );
        assert_eq!(
            parse_header(&format!("t=99999999999999999999,v1={wrong}")),
            malformed("the timestamp t is out of range")
        );
        assert_eq!(
            parse_header(&format!("t={T},v0={wrong},")),
            Err(SignatureError::NoV1Signature)
        );
        let only_garbage = parse_header(&format!("t={T},v1=00,v1={wrong}0")).unwrap();
        assert!(only_garbage.v1_signatures.is_empty());
        assert_eq!(
            verify(Some(&format!("t={T},v1=00")), b"{}", &secrets, T),
            Err(SignatureError::SignatureMismatch)
        );
        let at_cap = format!("t={T},v1={wrong}");
        let at_cap = format!("{at_cap}{}", ",".repeat(MAX_HEADER_BYTES - at_cap.len()));
        assert!(parse_header(&at_cap).is_ok());
        assert_eq!(
            parse_header(&format!("{at_cap},")),
            malformed("the header is longer than 4096 bytes")
        );
        assert!(HEADER_TOO_LONG.contains(&format!(" {MAX_HEADER_BYTES} ")));
    }

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
