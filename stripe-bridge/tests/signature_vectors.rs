//! Checks `signature::verify` and `sign_header` against every vector of
//! `tests/fixtures/signature/webhook-signature-vectors.json` (official SDK vectors, the raw
//! HMAC primitive, the Stripe docs header, derived and negative cases).

use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;
use stripe_bridge::signature::{parse_header, sign_header, verify, WebhookSecrets};
use stripe_bridge::SignatureError;

const VECTORS: &str = include_str!("fixtures/signature/webhook-signature-vectors.json");
const DOTNET_PAYLOAD: &[u8] =
    include_bytes!("fixtures/signature/stripe-dotnet.event_test_signature.json");

fn vectors() -> Value {
    serde_json::from_str(VECTORS).expect("the vectors file is JSON")
}

fn official(id: &str) -> Value {
    vectors()["official_vectors"]
        .as_array()
        .expect("official_vectors is a list")
        .iter()
        .find(|vector| vector["id"] == id)
        .unwrap_or_else(|| panic!("official vector {id} exists"))
        .clone()
}

fn derived(name_prefix: &str) -> Value {
    vectors()["derived_vectors"]["cases"]
        .as_array()
        .expect("derived cases is a list")
        .iter()
        .find(|case| case["name"].as_str().unwrap().starts_with(name_prefix))
        .unwrap_or_else(|| panic!("derived case {name_prefix} exists"))
        .clone()
}

fn text<'a>(value: &'a Value, key: &str) -> &'a str {
    value[key]
        .as_str()
        .unwrap_or_else(|| panic!("{key} is a string"))
}

fn secrets(secret: &str) -> WebhookSecrets {
    WebhookSecrets::parse(secret).unwrap()
}

#[test]
fn stripe_dotnet_vector_with_its_exact_payload_file() {
    let vector = official("stripe-dotnet-EventUtilityTest");
    assert_eq!(
        DOTNET_PAYLOAD.last(),
        Some(&b'\n'),
        "the trailing newline is signed"
    );
    let timestamp = vector["timestamp"].as_i64().unwrap();
    let header = text(&vector, "header");
    let secrets = secrets(text(&vector, "secret"));
    let expected_v1 = text(&vector, "expected_v1");
    assert_eq!(
        sign_header(text(&vector, "secret"), timestamp, DOTNET_PAYLOAD),
        format!("t={timestamp},v1={expected_v1}")
    );
    let accept_now = vector["test_expectations"]["accept_when_now"]
        .as_i64()
        .unwrap();
    let reject_now = vector["test_expectations"]["reject_when_now"]
        .as_i64()
        .unwrap();
    assert_eq!(
        verify(Some(header), DOTNET_PAYLOAD, &secrets, accept_now),
        Ok(())
    );
    assert_eq!(
        verify(Some(header), DOTNET_PAYLOAD, &secrets, reject_now),
        Err(SignatureError::TimestampTooOld {
            age_seconds: 400,
            tolerance_seconds: 300
        })
    );
    let without_newline = &DOTNET_PAYLOAD[..DOTNET_PAYLOAD.len() - 1];
    assert_eq!(
        verify(Some(header), without_newline, &secrets, accept_now),
        Err(SignatureError::SignatureMismatch)
    );
}

#[test]
fn async_stripe_vector() {
    let vector = official("async-stripe-test_webhook_construct_event");
    let timestamp = vector["timestamp"].as_i64().unwrap();
    let payload = text(&vector, "payload").as_bytes();
    let secret = text(&vector, "secret");
    assert_eq!(
        sign_header(secret, timestamp, payload),
        format!("t={timestamp},v1={}", text(&vector, "expected_v1"))
    );
    assert_eq!(
        verify(
            Some(text(&vector, "header")),
            payload,
            &secrets(secret),
            timestamp
        ),
        Ok(())
    );
}

#[test]
fn stripe_node_raw_hmac_primitive() {
    let vector = official("stripe-node-crypto-provider-raw-hmac");
    let secret = text(&vector, "secret");
    let cases = vector["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 3);
    for case in cases {
        let payload = text(case, "payload");
        if let Some(utf8_hex) = case["payload_utf8_hex"].as_str() {
            assert_eq!(hex::encode(payload.as_bytes()), utf8_hex);
        }
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(payload.as_bytes());
        assert_eq!(
            hex::encode(mac.finalize().into_bytes()),
            text(case, "expected_hex"),
            "payload {payload:?}"
        );
    }
}

#[test]
fn stripe_docs_header_parses_to_t_and_v1_only() {
    let vector = official("stripe-docs-example-header-parse-only");
    let parsed = parse_header(text(&vector, "header")).unwrap();
    assert_eq!(
        parsed.timestamp,
        vector["expected_parse"]["t"].as_i64().unwrap()
    );
    let expected_v1: Vec<&str> = vector["expected_parse"]["v1"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(parsed.v1_signatures, expected_v1);
}

#[test]
fn derived_sdk_payload_vectors() {
    for name in [
        "python/php DUMMY_WEBHOOK_PAYLOAD",
        "node EVENT_PAYLOAD_STRING",
        "ruby EVENT_PAYLOAD heredoc",
    ] {
        let case = derived(name);
        let timestamp = case["timestamp"].as_i64().unwrap();
        let payload = text(&case, "payload").as_bytes();
        let secret = text(&case, "secret");
        assert_eq!(
            sign_header(secret, timestamp, payload),
            text(&case, "header"),
            "{name}"
        );
        assert_eq!(
            verify(
                Some(text(&case, "header")),
                payload,
                &secrets(secret),
                timestamp
            ),
            Ok(()),
            "{name}"
        );
        assert_eq!(
            verify(
                Some(text(&case, "header")),
                payload,
                &secrets("whsec_other"),
                timestamp
            ),
            Err(SignatureError::SignatureMismatch),
            "{name}"
        );
    }
}

#[test]
fn rotation_accepts_either_secret_and_rejects_others() {
    let case = derived("secret rotation");
    let (timestamp, header) = (case["timestamp"].as_i64().unwrap(), text(&case, "header"));
    let payload = text(&case, "payload").as_bytes();
    let (a, b) = (text(&case, "secret_a"), text(&case, "secret_b"));
    for configured in [a.to_owned(), b.to_owned(), format!("whsec_unrelated,{b}")] {
        let secrets = WebhookSecrets::parse(&configured).unwrap();
        assert_eq!(
            verify(Some(header), payload, &secrets, timestamp),
            Ok(()),
            "{configured}"
        );
    }
    assert_eq!(
        verify(
            Some(header),
            payload,
            &secrets("whsec_unrelated"),
            timestamp
        ),
        Err(SignatureError::SignatureMismatch)
    );
}

#[test]
fn only_v0_is_rejected_as_no_v1() {
    let case = derived("only v0 present");
    let result = verify(
        Some(text(&case, "header")),
        text(&case, "payload").as_bytes(),
        &secrets(text(&case, "secret")),
        case["timestamp"].as_i64().unwrap(),
    );
    assert_eq!(result, Err(SignatureError::NoV1Signature));
    assert_eq!(result.unwrap_err().code(), "no_v1_signature");
}

#[test]
fn garbage_v1_next_to_a_valid_v1_is_accepted() {
    let case = derived("valid v1 plus garbage v1");
    let result = verify(
        Some(text(&case, "header")),
        text(&case, "payload").as_bytes(),
        &secrets(text(&case, "secret")),
        case["timestamp"].as_i64().unwrap(),
    );
    assert_eq!(result, Ok(()));
}

#[test]
fn tampered_body_is_a_mismatch() {
    let case = derived("tampered body");
    let result = verify(
        Some(text(&case, "header")),
        text(&case, "payload").as_bytes(),
        &secrets(text(&case, "secret")),
        case["timestamp"].as_i64().unwrap(),
    );
    assert_eq!(result, Err(SignatureError::SignatureMismatch));
    assert_eq!(result.unwrap_err().code(), "signature_mismatch");
}

#[test]
fn tolerance_is_now_minus_t_at_most_300_with_no_future_check() {
    let case = derived("tolerance");
    let t = case["timestamp"].as_i64().unwrap();
    let (header, payload) = (text(&case, "header"), text(&case, "payload").as_bytes());
    let secrets = secrets(text(&case, "secret"));
    assert_eq!(verify(Some(header), payload, &secrets, t + 300), Ok(()));
    let too_old = verify(Some(header), payload, &secrets, t + 301);
    assert_eq!(
        too_old,
        Err(SignatureError::TimestampTooOld {
            age_seconds: 301,
            tolerance_seconds: 300
        })
    );
    assert_eq!(too_old.unwrap_err().code(), "timestamp_too_old");
    assert_eq!(
        verify(Some(header), payload, &secrets, t - 600),
        Ok(()),
        "SDKs: no future check"
    );
}

#[test]
fn malformed_headers_are_rejected_as_malformed() {
    let case = derived("malformed headers");
    let examples = case["examples"].as_array().unwrap();
    assert_eq!(examples.len(), 5);
    let secrets = secrets("whsec_test_secret");
    for example in examples {
        let header = example.as_str().unwrap();
        let result = verify(Some(header), b"{}", &secrets, 1_492_774_577);
        assert!(
            matches!(result, Err(SignatureError::MalformedHeader { .. })),
            "{header:?} gave {result:?}"
        );
        assert_eq!(result.unwrap_err().code(), "malformed_signature");
    }
    assert_eq!(
        verify(None, b"{}", &secrets, 0).unwrap_err().code(),
        "missing_signature"
    );
}

#[test]
fn every_vector_in_the_file_is_covered() {
    let vectors = vectors();
    assert_eq!(vectors["official_vectors"].as_array().unwrap().len(), 4);
    let names: Vec<&str> = vectors["derived_vectors"]["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|case| case["name"].as_str().unwrap())
        .collect();
    let covered = [
        "python/php DUMMY_WEBHOOK_PAYLOAD",
        "node EVENT_PAYLOAD_STRING",
        "ruby EVENT_PAYLOAD heredoc",
        "secret rotation",
        "only v0 present",
        "valid v1 plus garbage v1",
        "tampered body",
        "tolerance",
        "malformed headers",
    ];
    assert_eq!(names.len(), covered.len());
    for name in names {
        assert!(
            covered.iter().any(|prefix| name.starts_with(prefix)),
            "{name} not covered"
        );
    }
}
