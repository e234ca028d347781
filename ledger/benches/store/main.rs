//! The store benchmark: `cargo bench -p ledger --bench store [-- small|full]` (or
//! `TALLY_BENCH_SCALE=small|full`; default `full`). Prints markdown tables on stdout (progress
//! on stderr).
//!
//! In one run, on one fresh database (`DATABASE_URL`'s server, else the embedded test
//! cluster), with the same payloads (a ~1.5 KB `SubscriptionObserved` snapshot and Tally's
//! metadata JSON):
//! 1. appends of 1 and 10 events per transaction at 1, 8 and 32 writers: Tally's
//!    `EventStore::append`, postgres-es 0.5's `PostgresEventRepository::persist` on its own
//!    schema, and a plain multi-row `INSERT` into a bare table (the ceiling);
//! 2. read-all over the whole log (filled to 1,000,000 events) through `read_all_after`;
//! 3. COPY import (the plain-COPY ceiling; `bulk_import` row once it lands);
//! 4. projection lag at a steady 1,000 appends/s.

mod append;
mod copy;
mod database;
mod lag;
mod payload;
mod read_all;

use append::{AppendResult, StreamMode, System};
use database::BenchDatabase;
use payload::Payloads;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Sizes of one run.
#[derive(Debug, Clone, Copy)]
struct Scale {
    name: &'static str,
    append_duration: Duration,
    read_all_events: i64,
    breakdown_sample: u64,
    copy_events: u64,
    lag_duration: Duration,
}

const FULL: Scale = Scale {
    name: "full",
    append_duration: Duration::from_secs(2),
    read_all_events: 1_000_000,
    breakdown_sample: 200_000,
    copy_events: 200_000,
    lag_duration: Duration::from_secs(10),
};

const SMALL: Scale = Scale {
    name: "small",
    append_duration: Duration::from_millis(500),
    read_all_events: 100_000,
    breakdown_sample: 50_000,
    copy_events: 50_000,
    lag_duration: Duration::from_secs(3),
};

const BATCHES: [usize; 2] = [1, 10];
const WRITERS: [usize; 3] = [1, 8, 32];
const HOT_WRITERS: usize = 8;
const SYSTEMS: [System; 3] = [System::Tally, System::PostgresEs, System::Raw];
const READ_PAGE: i64 = 1000;
const READ_PAGE_LARGE: i64 = 5000;
const LAG_RATE: u32 = 1000;

fn scale() -> Scale {
    let argument = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with("--"))
        .or_else(|| std::env::var("TALLY_BENCH_SCALE").ok());
    match argument.as_deref().map(str::trim) {
        None | Some("") | Some("full") => FULL,
        Some("small") => SMALL,
        Some(other) => {
            eprintln!("unknown scale {other:?}: use small or full");
            std::process::exit(2);
        }
    }
}

fn main() {
    let scale = scale();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(run(scale));
}

fn ms(duration: Duration) -> String {
    format!("{:.2}", duration.as_secs_f64() * 1000.0)
}

fn thousands(value: f64) -> String {
    let digits = format!("{:.0}", value);
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn ratio(ours: f64, theirs: Option<f64>) -> String {
    theirs.map_or("".to_owned(), |t| format!("{:.2}x", ours / t))
}

/// The 1-minute load average (Linux), to show how busy the machine was.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|text| text.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "unknown".to_owned())
}

async fn run(scale: Scale) {
    let total_started = Instant::now();
    let payloads = Arc::new(Payloads::new());
    let database = BenchDatabase::create().await;
    let options = database.options.clone();
    eprintln!("benchmark database ready on {}", database.server);

    println!("## Store benchmark ({} scale)\n", scale.name);
    println!(
        "Server: {}, PostgreSQL {}; synchronous_commit={}, shared_buffers={}; {} CPUs. \
         load average at start {}. Payload {} B of JSON, metadata {} B.\n",
        database.server,
        database.setting("server_version").await,
        database.setting("synchronous_commit").await,
        database.setting("shared_buffers").await,
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        load_average(),
        payloads.payload_bytes(),
        payloads.metadata_bytes(),
    );

    // 1. Appends.
    let mut cells: Vec<(StreamMode, usize, usize)> = Vec::new();
    for batch in BATCHES {
        for writers in WRITERS {
            cells.push((StreamMode::Cold, batch, writers));
        }
    }
    for batch in BATCHES {
        cells.push((StreamMode::Hot, batch, HOT_WRITERS));
    }
    let mut results: HashMap<(StreamMode, usize, usize, &'static str), AppendResult> =
        HashMap::new();
    for &(mode, batch, writers) in &cells {
        for system in SYSTEMS {
            let result = append::measure(
                &options,
                &payloads,
                system,
                mode,
                batch,
                writers,
                scale.append_duration,
            )
            .await;
            eprintln!(
                "append {} batch={batch} writers={writers} {}: {:.0} events/s, p99 {} ms",
                mode.name(),
                system.name(),
                result.events_per_second(),
                ms(result.p99)
            );
            results.insert((mode, batch, writers, system.name()), result);
        }
    }
    println!(
        "### Appends ({} s per cell, after 2 warm-up appends per writer; pool = writers)\n",
        scale.append_duration.as_secs_f64()
    );
    println!(
        "| streams | events/append | writers | store | events/s | appends/s | p50 ms | p99 ms | vs postgres-es | vs raw |"
    );
    println!("|---|---:|---:|---|---:|---:|---:|---:|---:|---:|");
    for &(mode, batch, writers) in &cells {
        let rate = |system: System| {
            results
                .get(&(mode, batch, writers, system.name()))
                .map(AppendResult::events_per_second)
        };
        for system in SYSTEMS {
            let result = &results[&(mode, batch, writers, system.name())];
            let ours = result.events_per_second();
            let (vs_peer, vs_raw) = match system {
                System::Tally => (
                    ratio(ours, rate(System::PostgresEs)),
                    ratio(ours, rate(System::Raw)),
                ),
                _ => (String::new(), String::new()),
            };
            println!(
                "| {} | {batch} | {writers} | {} | {} | {} | {} | {} | {vs_peer} | {vs_raw} |",
                mode.name(),
                system.name(),
                thousands(ours),
                thousands(result.appends as f64 / result.elapsed.as_secs_f64()),
                ms(result.p50),
                ms(result.p99),
            );
        }
    }
    println!();

    // 2. Read-all.
    let pool = database::pool(&options, 2).await;
    eprintln!("filling the log to {} events", scale.read_all_events);
    let fill = read_all::fill_to(&pool, &payloads, scale.read_all_events).await;
    eprintln!("reading the whole log through a Subscription");
    let read = read_all::read_all(&pool, READ_PAGE).await;
    let large_pages = read_all::read_all(&pool, READ_PAGE_LARGE).await;
    let read_rate = read
        .events_per_second()
        .max(large_pages.events_per_second());
    eprintln!(
        "read-all: {:.0} events/s (pages of {READ_PAGE}), {:.0} (pages of {READ_PAGE_LARGE}); timing its parts",
        read.events_per_second(),
        large_pages.events_per_second()
    );
    let parts = read_all::breakdown(&pool, READ_PAGE, scale.breakdown_sample).await;
    println!(
        "### Read-all (pages of {READ_PAGE}, as the projector runner; one connection; decoded to `RecordedEvent`)\n"
    );
    println!(
        "Fill: {} events inserted by `INSERT ... SELECT generate_series` in {:.1} s ({} events/s), \
         then `VACUUM (ANALYZE)` in {:.1} s; the log holds {} events.\n",
        thousands(fill.inserted as f64),
        fill.insert_time.as_secs_f64(),
        thousands(fill.inserted as f64 / fill.insert_time.as_secs_f64().max(1e-9)),
        fill.vacuum_time.as_secs_f64(),
        thousands(fill.total as f64),
    );
    println!("| read | events | seconds | events/s |");
    println!("|---|---:|---:|---:|");
    for (pages, result) in [(READ_PAGE, &read), (READ_PAGE_LARGE, &large_pages)] {
        println!(
            "| `Subscription::try_next_batch`, pages of {pages} | {} | {:.2} | {} |",
            thousands(result.events as f64),
            result.elapsed.as_secs_f64(),
            thousands(result.events_per_second())
        );
    }
    println!();
    let per_event = |d: Duration| format!("{:.2}", d.as_secs_f64() * 1e6 / parts.rows as f64);
    let rate_of = |d: Duration| {
        if d.is_zero() {
            "?".to_owned()
        } else {
            thousands(parts.rows as f64 / d.as_secs_f64())
        }
    };
    println!(
        "Where the time goes (same query with the fix, the first {} rows; each step timed alone; \
         CPU = the client thread's own CPU time, unaffected by the machine's load):\n",
        thousands(parts.rows as f64)
    );
    println!("| step | wall µs/event | CPU µs/event | events/s per client core |");
    println!("|---|---:|---:|---:|");
    let steps = [
        (
            "feed query, rows fetched undecoded (server + transfer; CPU: client share only)",
            parts.query,
        ),
        (
            "decode plain columns (positions, ids, type, times)",
            parts.plain_columns,
        ),
        ("decode `payload` json -> `Value`", parts.payload_value),
        (
            "decode `metadata` json -> `Value` -> `EventMetadata`",
            parts.metadata_via_value,
        ),
        (
            "alternative: `metadata` -> `Json<EventMetadata>` directly",
            parts.metadata_direct,
        ),
        (
            "alternative: `payload` kept as JSON text (`String`)",
            parts.payload_text,
        ),
        (
            "alternative: `payload` -> `Json<SubscriptionObserved>` directly",
            parts.payload_typed,
        ),
        (
            "for comparison: `Value` -> `SubscriptionObserved` (the projector's decode today)",
            parts.typed_from_value,
        ),
    ];
    for (name, step) in steps {
        println!(
            "| {name} | {} | {} | {} |",
            per_event(step.wall),
            per_event(step.cpu),
            rate_of(step.cpu)
        );
    }
    println!();

    // 3. COPY.
    eprintln!("COPY of {} events", scale.copy_events);
    let copy_time = copy::copy_raw(&pool, &payloads, scale.copy_events).await;
    let copy_rate = scale.copy_events as f64 / copy_time.as_secs_f64();
    let bulk_time = copy::copy_bulk_import(&pool, &payloads, scale.copy_events).await;
    let bulk_rate = scale.copy_events as f64 / bulk_time.as_secs_f64();
    println!("### COPY import\n");
    println!("| import | events | seconds | events/s |");
    println!("|---|---:|---:|---:|");
    println!(
        "| `ledger::store::bulk_import::copy_append_chunk` (binary COPY, chunks of {}, locks, dedup, stream heads) | {} | {:.2} | {} |",
        thousands(copy::CHUNK as f64),
        thousands(scale.copy_events as f64),
        bulk_time.as_secs_f64(),
        thousands(bulk_rate)
    );
    println!(
        "| plain `COPY ... FROM STDIN` into `raw_events` (ceiling; text format, encoding included) | {} | {:.2} | {} |",
        thousands(scale.copy_events as f64),
        copy_time.as_secs_f64(),
        thousands(copy_rate)
    );
    println!();
    pool.close().await;

    // 4. Projection lag.
    eprintln!("lag at {LAG_RATE} appends/s for {:?}", scale.lag_duration);
    let lag = lag::measure(&options, &payloads, LAG_RATE, scale.lag_duration).await;
    println!(
        "### Projection lag (single-event appends paced at {LAG_RATE}/s for {} s; ledger-level tailing reader woken by `AppendSignal`)\n",
        scale.lag_duration.as_secs_f64()
    );
    println!("| events | achieved appends/s | lag p50 ms | lag p99 ms | lag max ms |");
    println!("|---:|---:|---:|---:|---:|");
    println!(
        "| {} | {} | {} | {} | {} |",
        thousands(lag.events as f64),
        thousands(lag.rate),
        ms(lag.p50),
        ms(lag.p99),
        ms(lag.max)
    );
    println!();

    // Targets.
    let at = |mode, batch, writers, system: System| {
        results[&(mode, batch, writers, system.name())].events_per_second()
    };
    let check = |ok: bool| if ok { "met" } else { "NOT met" };
    println!("### Targets\n");
    println!("| target | measured | |");
    println!("|---|---:|---|");
    let ten_peer = at(StreamMode::Cold, 10, 8, System::Tally)
        / at(StreamMode::Cold, 10, 8, System::PostgresEs);
    let ten_raw =
        at(StreamMode::Cold, 10, 8, System::Tally) / at(StreamMode::Cold, 10, 8, System::Raw);
    println!(
        "| 10-event appends >= 2x postgres-es at 8 writers | {ten_peer:.2}x | {} |",
        check(ten_peer >= 2.0)
    );
    println!(
        "| 10-event appends >= 0.8x raw at 8 writers | {ten_raw:.2}x | {} |",
        check(ten_raw >= 0.8)
    );
    for writers in WRITERS {
        let single = at(StreamMode::Cold, 1, writers, System::Tally)
            / at(StreamMode::Cold, 1, writers, System::PostgresEs);
        println!(
            "| single-event appends >= 0.8x postgres-es ({writers} writers) | {single:.2}x | {} |",
            check(single >= 0.8)
        );
    }
    println!(
        "| read-all >= 400,000 events/s | {} | {} |",
        thousands(read_rate),
        check(read_rate >= 400_000.0)
    );
    println!(
        "| COPY import >= 100,000 events/s | {} (plain-COPY ceiling {}) | {} |",
        thousands(bulk_rate),
        thousands(copy_rate),
        check(bulk_rate >= 100_000.0)
    );
    println!(
        "| projection lag p99 < 250 ms | {} ms | {} |",
        ms(lag.p99),
        check(lag.p99 < Duration::from_millis(250))
    );
    println!();
    println!(
        "Total benchmark time: {:.0} s; load average at the end {}.",
        total_started.elapsed().as_secs_f64(),
        load_average()
    );

    database.drop_database().await;
}
