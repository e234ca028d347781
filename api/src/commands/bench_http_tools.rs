//! Runs external HTTP load tools against a running server and reads their figures, so HTTP
//! latencies come from a separate process and not only from Tally's own load loop:
//! - `hey` (Debian package `hey`) at a fixed request rate (`-q` per worker): the figure the
//!   issue's "p99 at 1,000 requests/s" asks for;
//! - `wrk` (Debian package `wrk`), closed-loop (each connection sends its next request when
//!   the previous one is answered): latency at the server's full speed, a stricter condition.
//!
//! The tools run as child processes awaited through tokio: the server being measured runs on
//! the same runtime, so a blocking wait would take one of its worker threads away.

use anyhow::{bail, Context};
use tokio::process::Command;

/// A load tool's figures for one URL.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadFigures {
    /// Requests per second over the run.
    pub requests_per_second: f64,
    /// Latency percentiles in milliseconds: 50 %, 90 %, 99 %.
    pub p50_ms: f64,
    /// 90th percentile, ms.
    pub p90_ms: f64,
    /// 99th percentile, ms.
    pub p99_ms: f64,
    /// Non-2xx/3xx answers and socket errors.
    pub errors: u64,
}

impl LoadFigures {
    /// Figures not read yet (NaN, no errors).
    fn unread() -> Self {
        Self {
            requests_per_second: f64::NAN,
            p50_ms: f64::NAN,
            p90_ms: f64::NAN,
            p99_ms: f64::NAN,
            errors: 0,
        }
    }

    /// Whether a report gave the rate and the p99.
    fn is_complete(&self) -> bool {
        !self.requests_per_second.is_nan() && !self.p99_ms.is_nan()
    }
}

/// Whether `tool` (`wrk`, `hey`) can be run.
pub async fn installed(tool: &str) -> bool {
    Command::new(tool).arg("-h").output().await.is_ok()
}

/// Runs `hey -z <seconds>s -c <workers> -q <rate / workers>` against `url` (a fixed total rate
/// of `rate` requests/s) and parses its summary.
///
/// Errors: hey missing or failing, or a summary without the figures.
pub async fn run_hey(
    url: &str,
    rate: u32,
    workers: u32,
    seconds: u64,
) -> anyhow::Result<LoadFigures> {
    let per_worker = (rate / workers.max(1)).max(1);
    let output = Command::new("hey")
        .args([
            "-z",
            &format!("{seconds}s"),
            "-c",
            &workers.to_string(),
            "-q",
            &per_worker.to_string(),
            url,
        ])
        .output()
        .await
        .context("running hey (apt-get install hey)")?;
    if !output.status.success() {
        bail!("hey failed: {}", String::from_utf8_lossy(&output.stderr));
    }
    parse_hey_summary(&String::from_utf8_lossy(&output.stdout))
}

/// Reads `Requests/sec:`, the `Latency distribution` (`99% in 0.0012 secs`) and the status
/// codes of a hey summary.
fn parse_hey_summary(summary: &str) -> anyhow::Result<LoadFigures> {
    let mut figures = LoadFigures::unread();
    let mut in_errors = false;
    for line in summary.lines().map(str::trim) {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["Requests/sec:", rate] => figures.requests_per_second = rate.parse()?,
            [percent, "in", seconds, "secs"] => {
                let ms = seconds.parse::<f64>()? * 1000.0;
                match *percent {
                    "50%" => figures.p50_ms = ms,
                    "90%" => figures.p90_ms = ms,
                    "99%" => figures.p99_ms = ms,
                    _ => {}
                }
            }
            ["Error", "distribution:"] => in_errors = true,
            [status, count, "responses"] if !status.starts_with("[2") => {
                figures.errors += count.parse::<u64>()?
            }
            [count, ..] if in_errors && count.starts_with('[') => {
                figures.errors += count.trim_matches(['[', ']']).parse::<u64>().unwrap_or(1)
            }
            _ => {}
        }
    }
    if !figures.is_complete() {
        bail!("hey summary without Requests/sec or a latency distribution:\n{summary}");
    }
    Ok(figures)
}

/// Runs `wrk -t1 -c<connections> -d<seconds>s --latency` against `base_url` with `path_lua`,
/// a Lua expression giving each request's path (e.g. `"/health"`), and parses its report.
///
/// Errors: wrk missing or failing, or a report without the figures.
pub async fn run_wrk(
    base_url: &str,
    path_lua: &str,
    connections: usize,
    seconds: u64,
) -> anyhow::Result<LoadFigures> {
    let script = std::env::temp_dir().join(format!("tally-wrk-{}.lua", std::process::id()));
    tokio::fs::write(
        &script,
        format!("math.randomseed(42)\nrequest = function()\n  return wrk.format(\"GET\", {path_lua})\nend\n"),
    )
    .await?;
    let output = Command::new("wrk")
        .args([
            "-t1",
            &format!("-c{connections}"),
            &format!("-d{seconds}s"),
            "--latency",
            "-s",
        ])
        .arg(&script)
        .arg(base_url)
        .output()
        .await
        .context("running wrk (apt-get install wrk)")?;
    let _ = tokio::fs::remove_file(&script).await;
    if !output.status.success() {
        bail!("wrk failed: {}", String::from_utf8_lossy(&output.stderr));
    }
    parse_wrk_report(&String::from_utf8_lossy(&output.stdout))
}

/// Reads `Requests/sec:`, the `--latency` distribution and error lines of a wrk report.
fn parse_wrk_report(report: &str) -> anyhow::Result<LoadFigures> {
    let mut figures = LoadFigures::unread();
    for line in report.lines().map(str::trim) {
        let mut words = line.split_whitespace();
        match (words.next(), words.next()) {
            (Some("Requests/sec:"), Some(rate)) => figures.requests_per_second = rate.parse()?,
            (Some("50%"), Some(latency)) => figures.p50_ms = milliseconds(latency)?,
            (Some("90%"), Some(latency)) => figures.p90_ms = milliseconds(latency)?,
            (Some("99%"), Some(latency)) => figures.p99_ms = milliseconds(latency)?,
            (Some("Non-2xx"), _) => {
                figures.errors += line.rsplit(' ').next().unwrap_or("0").parse::<u64>()?
            }
            (Some("Socket"), _) => {
                for part in line.split(',') {
                    if let Some(count) = part.split_whitespace().last() {
                        figures.errors += count.parse::<u64>().unwrap_or(0);
                    }
                }
            }
            _ => {}
        }
    }
    if !figures.is_complete() {
        bail!("wrk report without Requests/sec or a latency distribution:\n{report}");
    }
    Ok(figures)
}

/// `812.00us`, `1.23ms`, `2.00s` -> milliseconds.
fn milliseconds(text: &str) -> anyhow::Result<f64> {
    let (number, factor) = if let Some(number) = text.strip_suffix("us") {
        (number, 0.001)
    } else if let Some(number) = text.strip_suffix("ms") {
        (number, 1.0)
    } else if let Some(number) = text.strip_suffix('s') {
        (number, 1000.0)
    } else {
        bail!("unreadable wrk latency {text:?}")
    };
    Ok(number.parse::<f64>()? * factor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_hey_summary() {
        let summary = "
Summary:
  Total:	10.0013 secs
  Slowest:	0.0093 secs
  Fastest:	0.0001 secs
  Average:	0.0003 secs
  Requests/sec:	999.6701

Latency distribution:
  10% in 0.0002 secs
  50% in 0.0003 secs
  90% in 0.0004 secs
  99% in 0.0011 secs

Status code distribution:
  [200]	9996 responses
  [503]	2 responses
";
        let figures = parse_hey_summary(summary).unwrap();
        assert_eq!(figures.requests_per_second, 999.6701);
        assert!((figures.p50_ms - 0.3).abs() < 1e-9);
        assert!((figures.p99_ms - 1.1).abs() < 1e-9);
        assert_eq!(figures.errors, 2);
    }

    #[test]
    fn reads_a_wrk_report() {
        let report = "Running 10s test @ http://127.0.0.1:8080
  1 threads and 4 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   151.03us  210.44us  12.80ms   98.12%
    Req/Sec    27.01k     1.02k   29.12k    72.00%
  Latency Distribution
     50%  128.00us
     75%  146.00us
     90%  178.00us
     99%    1.05ms
  268811 requests in 10.00s, 53.06MB read
  Non-2xx or 3xx responses: 3
Requests/sec:  26880.09
Transfer/sec:      5.31MB
";
        let figures = parse_wrk_report(report).unwrap();
        assert_eq!(figures.requests_per_second, 26880.09);
        assert!((figures.p50_ms - 0.128).abs() < 1e-9);
        assert!((figures.p99_ms - 1.05).abs() < 1e-9);
        assert_eq!(figures.errors, 3);
    }
}
