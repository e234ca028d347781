//! `tally history --customer cus_... [--as-of <RFC 3339>]`: a customer's audit trail as a
//! terminal table.

use crate::commands::open_database;
use chrono::{DateTime, SecondsFormat, Utc};
use ledger::domain::Actor;
use ledger::store::RecordedEvent;
use projections::projector::{catch_up_all, Projectors};
use projections::queries;
use std::path::Path;

/// Brings the projections up to date, then prints every domain event about `customer` in
/// effective-time order, with its metadata; with `as_of` (RFC 3339), only the events recorded
/// at or before it. Payloads are not printed (`GET /v1/customers/{id}/events` has them).
///
/// Errors: `as_of` is not RFC 3339; Tally has never seen the customer; the database fails.
pub async fn history(
    database_url: Option<&str>,
    data_dir: &Path,
    customer: &str,
    as_of: Option<&str>,
) -> anyhow::Result<()> {
    let as_of = as_of
        .map(|raw| {
            DateTime::parse_from_rfc3339(raw)
                .map(|instant| instant.with_timezone(&Utc))
                .map_err(|_| {
                    anyhow::anyhow!(
                        "--as-of: expected an RFC 3339 instant such as 2025-03-31T23:59:59Z, got {raw}"
                    )
                })
        })
        .transpose()?;
    let database = open_database(database_url, data_dir).await?;
    catch_up_all(&database.pool, &Projectors::default()).await?;
    let events = queries::customer_events(&database.pool, customer, as_of).await?;
    let known = !events.is_empty() || queries::customer_is_known(&database.pool, customer).await?;
    database.close().await?;
    anyhow::ensure!(known, "customer {customer} not found in the log");
    print!("{}", history_table(customer, as_of, &events));
    Ok(())
}

/// The audit-trail table `tally history` prints: a title line naming the customer and the
/// `as_of` instant, then one row per event (global position, effective and recorded time in
/// UTC, type, stream and version, schema version, source, actor, Stripe event id, causation and
/// correlation ids). Columns that are empty for every event are left out.
pub fn history_table(
    customer: &str,
    as_of: Option<DateTime<Utc>>,
    events: &[RecordedEvent],
) -> String {
    let as_of = as_of.map_or_else(
        || "now".to_owned(),
        |as_of| as_of.to_rfc3339_opts(SecondsFormat::AutoSi, true),
    );
    let mut table = format!(
        "History of {customer} as recorded by {as_of}: {} event(s), times in UTC\n",
        events.len()
    );
    if events.is_empty() {
        return table;
    }
    let header = [
        "position",
        "effective at",
        "recorded at",
        "event type",
        "stream",
        "version",
        "schema",
        "source",
        "actor",
        "stripe event",
        "causation",
        "correlation",
    ];
    let optional = |value: Option<String>| value.unwrap_or_else(|| "-".to_owned());
    let rows: Vec<Vec<String>> = events
        .iter()
        .map(|event| {
            let metadata = &event.metadata;
            vec![
                event.global_position.to_string(),
                event
                    .effective_at
                    .to_rfc3339_opts(SecondsFormat::AutoSi, true),
                event
                    .recorded_at
                    .to_rfc3339_opts(SecondsFormat::Micros, true),
                event.event_type.clone(),
                event.stream_id.clone(),
                event.stream_version.to_string(),
                event.schema_version.to_string(),
                metadata.source.clone(),
                match &metadata.actor {
                    Actor::Stripe => "stripe".to_owned(),
                    Actor::System => "system".to_owned(),
                    Actor::ApiKey(id) => format!("api key {id}"),
                },
                optional(metadata.stripe_event_id.clone()),
                optional(metadata.causation_id.map(|id| id.to_string())),
                optional(metadata.correlation_id.map(|id| id.to_string())),
            ]
        })
        .collect();
    let shown: Vec<usize> = (0..header.len())
        .filter(|&column| rows.iter().any(|row| row[column] != "-"))
        .collect();
    let widths: Vec<usize> = shown
        .iter()
        .map(|&column| {
            rows.iter()
                .map(|row| row[column].len())
                .chain([header[column].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        table.push_str(padded.join("  ").trim_end());
        table.push('\n');
    };
    line(shown.iter().map(|&column| header[column]).collect());
    let rule: Vec<String> = widths.iter().map(|width| "-".repeat(*width)).collect();
    line(rule.iter().map(String::as_str).collect());
    for row in &rows {
        line(shown.iter().map(|&column| row[column].as_str()).collect());
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;
    use ledger::domain::EventMetadata;

    fn event(position: i64, correlation: Option<uuid::Uuid>) -> RecordedEvent {
        let at = DateTime::parse_from_rfc3339("2025-01-02T09:00:00Z")
            .expect("instant")
            .with_timezone(&Utc);
        RecordedEvent {
            global_position: position,
            transaction_id: 900 + position,
            stream_id: "customer-cus_table".to_owned(),
            stream_version: position,
            event_id: uuid::Uuid::nil(),
            event_type: "CustomerObserved".to_owned(),
            schema_version: 1,
            payload: serde_json::value::RawValue::from_string("{}".to_owned()).expect("valid JSON"),
            metadata: EventMetadata {
                source: "stripe_webhook".to_owned(),
                actor: Actor::Stripe,
                stripe_event_id: Some(format!("evt_{position}")),
                stripe_api_version: None,
                causation_id: None,
                correlation_id: correlation,
                stripe_fetch: None,
            },
            effective_at: at,
            recorded_at: at,
        }
    }

    #[test]
    fn the_table_has_one_row_per_event_and_leaves_out_empty_columns() {
        let table = history_table("cus_table", None, &[event(1, None), event(2, None)]);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(
            lines[0],
            "History of cus_table as recorded by now: 2 event(s), times in UTC"
        );
        assert!(lines[1].starts_with("position  effective at"), "{table}");
        assert!(!lines[1].contains("causation"), "{table}");
        assert!(!lines[1].contains("correlation"), "{table}");
        assert_eq!(lines.len(), 5, "{table}");
        assert!(lines[4].contains("evt_2"), "{table}");
        assert!(lines[4].contains("customer-cus_table"), "{table}");

        let correlated = history_table("cus_table", None, &[event(1, Some(uuid::Uuid::nil()))]);
        assert!(correlated
            .lines()
            .nth(1)
            .unwrap_or("")
            .ends_with("correlation"));
    }

    #[test]
    fn an_empty_history_names_the_instant() {
        let as_of = DateTime::parse_from_rfc3339("2025-03-31T23:59:59Z")
            .expect("instant")
            .with_timezone(&Utc);
        assert_eq!(
            history_table("cus_table", Some(as_of), &[]),
            "History of cus_table as recorded by 2025-03-31T23:59:59Z: 0 event(s), times in UTC\n"
        );
    }
}
