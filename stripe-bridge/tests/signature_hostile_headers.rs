//! Hostile `Stripe-Signature` headers against a 1 MiB body: each is rejected, with the outcome
//! that bounds its cost (oversized headers never reach the HMAC; under the size cap only a few
//! well-formed `v1` values are considered). The HMAC count itself is asserted structurally by
//! the unit tests of `stripe_bridge::signature`, which count calls through a test-only hook.

use stripe_bridge::signature::{
    parse_header, sign_header, verify, WebhookSecrets, MAX_HEADER_BYTES, MAX_V1_CANDIDATES,
};
use stripe_bridge::SignatureError;

const T: i64 = 1_700_000_000;

fn body() -> Vec<u8> {
    vec![b'{'; 1 << 20]
}

fn secrets() -> WebhookSecrets {
    WebhookSecrets::parse("whsec_hostile_a,whsec_hostile_b").unwrap()
}

fn too_long() -> Result<(), SignatureError> {
    Err(SignatureError::MalformedHeader {
        reason: "the header is longer than 4096 bytes",
    })
}

#[test]
fn thousands_of_short_v1_entries_are_rejected_unparsed() {
    let header = format!("t={T}{}", ",v1=00".repeat(70_000));
    assert!(header.len() > 400_000);
    assert_eq!(verify(Some(&header), &body(), &secrets(), T), too_long());
}

#[test]
fn ten_thousand_wrong_64_digit_signatures_are_rejected_unparsed() {
    let wrong: String = (0..10_000).map(|i| format!(",v1={i:064x}")).collect();
    let header = format!("t={T}{wrong}");
    assert_eq!(verify(Some(&header), &body(), &secrets(), T), too_long());
    // Even with the genuine signature first, an oversized header is not accepted.
    let genuine = sign_header("whsec_hostile_a", T, &body());
    let header = format!("{genuine}{wrong}");
    assert_eq!(verify(Some(&header), &body(), &secrets(), T), too_long());
}

#[test]
fn a_header_just_under_the_cap_keeps_only_a_few_candidates() {
    let mut header = format!("t={T}");
    let mut i = 0_u64;
    loop {
        let element = format!(",v1={i:064x}");
        if header.len() + element.len() > MAX_HEADER_BYTES {
            break;
        }
        header.push_str(&element);
        i += 1;
    }
    assert!(i > 50, "{i} wrong signatures fit");
    let parsed = parse_header(&header).unwrap();
    assert_eq!(parsed.v1_signatures.len(), MAX_V1_CANDIDATES);
    assert_eq!(
        verify(Some(&header), &body(), &secrets(), T),
        Err(SignatureError::SignatureMismatch)
    );
}

#[test]
fn a_genuine_signature_among_a_few_wrong_ones_still_verifies() {
    let body = body();
    let genuine = sign_header("whsec_hostile_b", T, &body);
    let (t, v1) = genuine.split_once(',').unwrap();
    let wrong: String = (0..MAX_V1_CANDIDATES - 1)
        .map(|i| format!(",v1={i:064x},v1=00"))
        .collect();
    let header = format!("{t}{wrong},{v1},");
    assert_eq!(verify(Some(&header), &body, &secrets(), T), Ok(()));
}
