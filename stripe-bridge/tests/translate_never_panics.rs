//! `translate` is total: replacing any node of a real Event with a value of another type, or
//! truncating the body anywhere, gives Translated or Unparsed (never a panic, never Ignored for a
//! used type).

use serde_json::{json, Value};
use stripe_bridge::{translate, Translation};

const EVENTS: &str = include_str!("fixtures/worked-example/events.jsonl");

/// One Event of each type of the worked example.
fn one_event_per_type() -> Vec<Value> {
    let mut seen = std::collections::BTreeSet::new();
    EVENTS
        .lines()
        .map(|line| serde_json::from_str::<Value>(line).unwrap())
        .filter(|event| seen.insert(event["type"].as_str().unwrap().to_owned()))
        .collect()
}

/// JSON pointers of every node under `value`.
fn pointers(value: &Value, prefix: String, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => map.iter().for_each(|(key, child)| {
            let pointer = format!("{prefix}/{}", key.replace('~', "~0").replace('/', "~1"));
            out.push(pointer.clone());
            pointers(child, pointer, out);
        }),
        Value::Array(items) => items.iter().enumerate().for_each(|(index, child)| {
            let pointer = format!("{prefix}/{index}");
            out.push(pointer.clone());
            pointers(child, pointer, out);
        }),
        _ => {}
    }
}

fn replacements() -> Vec<Value> {
    vec![
        Value::Null,
        json!(""),
        json!("inf"),
        json!(-1),
        json!(1.5),
        json!(i64::MAX),
        json!(u64::MAX),
        json!([]),
        json!({}),
        json!(true),
        json!("1e400"),
    ]
}

#[test]
fn any_node_replaced_by_any_type_never_panics() {
    let mut translations = 0;
    for event in one_event_per_type() {
        let used = stripe_bridge::translate::is_used_event_type(event["type"].as_str().unwrap());
        let mut paths = Vec::new();
        pointers(&event, String::new(), &mut paths);
        for path in paths {
            for replacement in replacements() {
                let mut mutated = event.clone();
                *mutated.pointer_mut(&path).unwrap() = replacement.clone();
                let outcome = translate(mutated.to_string().as_bytes());
                translations += 1;
                if used && matches!(outcome, Translation::Ignored { .. }) {
                    let changed_type = path == "/type";
                    assert!(
                        changed_type,
                        "{path} = {replacement} made a used type Ignored"
                    );
                }
            }
        }
    }
    assert!(translations > 10_000, "{translations}");
}

#[test]
fn every_truncation_of_a_body_is_unparsed() {
    let line = EVENTS
        .lines()
        .find(|line| line.contains("\"type\":\"customer.subscription.updated\""))
        .unwrap();
    for end in 0..line.len() {
        let outcome = translate(&line.as_bytes()[..end]);
        assert!(
            matches!(outcome, Translation::Unparsed { .. }),
            "prefix of {end} bytes gave {outcome:?}"
        );
    }
}
