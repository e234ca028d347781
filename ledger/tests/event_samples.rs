//! Stored event samples (`tests/fixtures/event-samples/<event_type>/v<N>.json`, never edited
//! or deleted): every version of every event type still reads, through the upcasters, as the
//! current `DomainEvent`; the current version's sample is exactly what this build writes; and
//! no type or version exists in code without its sample.

use ledger::domain::upcasting::{current_schema_version, EVENT_TYPES};
use ledger::domain::{DomainEvent, EventMetadata};
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// One sample file: a stored event's type, version, payload and metadata.
#[derive(Deserialize)]
struct StoredSample {
    event_type: String,
    schema_version: i32,
    payload: serde_json::Value,
    metadata: EventMetadata,
}

fn samples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/event-samples")
}

fn sample_path(event_type: &str, schema_version: i32) -> PathBuf {
    samples_dir()
        .join(event_type)
        .join(format!("v{schema_version}.json"))
}

fn read_sample(path: &Path) -> StoredSample {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: no sample ({e}): add it, see README.md", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn every_version_of_every_event_type_has_a_sample_that_reads_as_the_current_event() {
    for &(event_type, current) in EVENT_TYPES {
        for version in 1..=current {
            let path = sample_path(event_type, version);
            let sample = read_sample(&path);
            assert_eq!(sample.event_type, event_type, "{}", path.display());
            assert_eq!(sample.schema_version, version, "{}", path.display());
            let event = DomainEvent::from_stored(event_type, version, sample.payload.clone())
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert_eq!(event.event_type(), event_type, "{}", path.display());
            assert_eq!(event.schema_version(), current, "{}", path.display());
            assert!(!sample.metadata.source.is_empty(), "{}", path.display());
            // What this build writes reads back as the same event.
            let rewritten = DomainEvent::from_stored(event_type, current, event.to_payload())
                .unwrap_or_else(|e| panic!("{}: rewritten: {e}", path.display()));
            assert_eq!(rewritten, event, "{}", path.display());
            // Read from the stored text (the log's path: typed straight from the text at the
            // current version, through the upcasters before it), the same event.
            let text = sample.payload.to_string();
            let from_text = DomainEvent::from_stored_text(event_type, version, &text)
                .unwrap_or_else(|e| panic!("{}: from text: {e}", path.display()));
            assert_eq!(from_text, event, "{}: from text", path.display());
            if version == current {
                // The current shape was not changed in place: this build writes the sample.
                assert_eq!(
                    event.to_payload(),
                    sample.payload,
                    "{}: the current version's shape changed; add a version instead",
                    path.display()
                );
            }
        }
    }
}

#[test]
fn every_sample_names_a_type_and_version_this_build_reads() {
    let mut seen = 0;
    for type_dir in std::fs::read_dir(samples_dir()).expect("samples folder") {
        let type_dir = type_dir.expect("entry").path();
        if !type_dir.is_dir() {
            continue; // README.md
        }
        let event_type = type_dir.file_name().unwrap().to_string_lossy().into_owned();
        let current = current_schema_version(&event_type).unwrap_or_else(|| {
            panic!("{event_type}: samples of a type this build no longer reads")
        });
        for file in std::fs::read_dir(&type_dir).expect("type folder") {
            let file = file.expect("entry").path();
            let name = file.file_name().unwrap().to_string_lossy().into_owned();
            let version: i32 = name
                .strip_prefix('v')
                .and_then(|rest| rest.strip_suffix(".json"))
                .and_then(|number| number.parse().ok())
                .unwrap_or_else(|| panic!("{}: not v<N>.json", file.display()));
            assert!(
                (1..=current).contains(&version),
                "{}: this build reads {event_type} v1..=v{current}",
                file.display()
            );
            seen += 1;
        }
    }
    let expected: i32 = EVENT_TYPES.iter().map(|(_, current)| current).sum();
    assert_eq!(seen, expected);
}

#[test]
fn the_subscription_v1_sample_gets_the_terms_the_rules_assumed() {
    let sample = read_sample(&sample_path("SubscriptionObserved", 1));
    let DomainEvent::SubscriptionObserved(observed) =
        DomainEvent::from_stored("SubscriptionObserved", 1, sample.payload).expect("v1 reads")
    else {
        panic!("expected SubscriptionObserved");
    };
    let items = &observed.snapshot.items;
    assert_eq!(items[1].tiers_mode, Some(ledger::domain::TiersMode::Volume));
    assert_eq!(
        items[2].unit_amount_decimal,
        Some(rust_decimal::Decimal::ZERO)
    );
}
