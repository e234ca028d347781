//! `catalog.toml`: the entitlement catalog declared in a file, and applying it as a
//! `CatalogChanged` event (`tally catalog apply`). Applying the catalog already in force
//! writes nothing.

use crate::ApiError;
use chrono::{DateTime, Utc};
use ledger::domain::{
    Actor, Catalog, CatalogChanged, CatalogSource, DomainEvent, EventMetadata, CATALOG_STREAM,
};
use ledger::store::{read, AppendOutcome, EventStore, ExpectedVersion, NewEvent};
use uuid::Uuid;

/// Namespace of catalog event ids: `UUIDv5(CATALOG_EVENT_NAMESPACE, "<version>:<json>")`.
const CATALOG_EVENT_NAMESPACE: Uuid = Uuid::from_u128(0x8e3a_0c47_5d21_4b9f_a1c6_73e2_9b04_d5f8);

/// What applying a catalog did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CatalogApplyOutcome {
    /// A new version was recorded at this global position (catalog stream version).
    Recorded {
        /// Global position of the `CatalogChanged` event.
        global_position: i64,
        /// The catalog stream's version (1 for the first catalog).
        version: i64,
    },
    /// The catalog in force is the same: nothing written.
    Unchanged {
        /// The catalog stream's version in force.
        version: i64,
    },
}

/// Parses a `catalog.toml` (see `docs/catalog.example.toml`) and validates it.
///
/// Errors: [`ApiError::InvalidParameter`] (`catalog`) naming the TOML error or the first
/// [`ledger::domain::CatalogRejection`].
pub fn parse_catalog_toml(text: &str) -> Result<Catalog, ApiError> {
    let catalog: Catalog =
        toml::from_str(text).map_err(|error| ApiError::invalid("catalog", error.to_string()))?;
    catalog
        .validate()
        .map_err(|rejection| ApiError::invalid("catalog", rejection.to_string()))?;
    Ok(catalog)
}

/// Records `catalog` as the catalog in force from `now` (a `CatalogChanged` event in stream
/// [`CATALOG_STREAM`], expected to follow the version read, so two concurrent applies cannot
/// both win), unless it equals the catalog in force.
///
/// Errors: [`ApiError::InvalidParameter`] for an invalid catalog; the store's errors
/// ([`ledger::LedgerError::WrongExpectedVersion`] when another apply won the race: retry).
pub async fn apply_catalog(
    store: &EventStore,
    catalog: Catalog,
    source: CatalogSource,
    now: DateTime<Utc>,
) -> Result<CatalogApplyOutcome, ApiError> {
    catalog
        .validate()
        .map_err(|rejection| ApiError::invalid("catalog", rejection.to_string()))?;
    let history = read::read_stream(store.pool(), CATALOG_STREAM, 1).await?;
    let version = history.last().map_or(0, |event| event.stream_version);
    if let Some(last) = history.last() {
        if let DomainEvent::CatalogChanged(current) = last.domain_event()? {
            if current.catalog == catalog {
                return Ok(CatalogApplyOutcome::Unchanged { version });
            }
        }
    }
    let event = DomainEvent::CatalogChanged(CatalogChanged { source, catalog });
    let payload = event.to_payload();
    let event_id = Uuid::new_v5(
        &CATALOG_EVENT_NAMESPACE,
        format!("{}:{payload}", version + 1).as_bytes(),
    );
    let metadata = EventMetadata {
        source: match source {
            CatalogSource::File => "catalog_file".to_owned(),
            CatalogSource::Stripe => "stripe".to_owned(),
        },
        actor: Actor::System,
        stripe_event_id: None,
        stripe_api_version: None,
        causation_id: None,
        correlation_id: None,
        stripe_fetch: None,
    };
    let expected = if version == 0 {
        ExpectedVersion::NoStream
    } else {
        ExpectedVersion::Exact(version)
    };
    let new_event = NewEvent::from_domain(event_id, &event, metadata, now);
    match store.append(CATALOG_STREAM, expected, &[new_event]).await? {
        AppendOutcome::Appended {
            positions,
            stream_version,
        } => Ok(CatalogApplyOutcome::Recorded {
            global_position: positions.first().copied().unwrap_or_default(),
            version: stream_version,
        }),
        AppendOutcome::Duplicate { .. } => Ok(CatalogApplyOutcome::Unchanged { version }),
    }
}
