//! Runs `wrk` (an external HTTP load tool, Debian package `wrk`) against a running server and
//! reads its throughput and latency distribution, so HTTP figures come from a separate process
//! and not only from Tally's own load loop. wrk is closed-loop (each connection sends its next
//! request when the previous one is answered), so it measures latency at the server's full
//! speed: a stricter condition than a fixed rate below it.

use anyhow::{bail, Context};
use std::process::Command;

/// wrk's figures for one URL.
#[derive(Debug, Clone, PartialEq)]
pub struct WrkFigures {
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

/// Whether `wrk` is on the PATH.
pub fn wrk_installed() -> bool {
    Command::new("wrk")
        .arg("--version")
        .output()
        .is_ok_and(|output| !output.stdout.is_empty() || !output.stderr.is_empty())
}

/// Runs `wrk -t1 -c<connections> -d<seconds>s --latency` against `base_url` with `path_lua`,
/// a Lua expression giving each request's path (e.g. `"/health"`), and parses its report.
///
/// Errors: wrk missing or failing, or a report without the figures.
pub fn run_wrk(
    base_url: &str,
    path_lua: &str,
    connections: usize,
    seconds: u64,
) -> anyhow::Result<WrkFigures> {
    let script = std::env::temp_dir().join(format!("tally-wrk-{}.lua", std::process::id()));
    std::fs::write(
        &script,
        format!("math.randomseed(42)\nrequest = function()\n  return wrk.format(\"GET\", {path_lua})\nend\n"),
    )?;
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
        .context("running wrk (apt-get install wrk)")?;
    let _ = std::fs::remove_file(&script);
    if !output.status.success() {
        bail!("wrk failed: {}", String::from_utf8_lossy(&output.stderr));
    }
    parse_wrk_report(&String::from_utf8_lossy(&output.stdout))
}

/// Reads `Requests/sec:`, the `--latency` distribution and error lines of a wrk report.
fn parse_wrk_report(report: &str) -> anyhow::Result<WrkFigures> {
    let mut figures = WrkFigures {
        requests_per_second: f64::NAN,
        p50_ms: f64::NAN,
        p90_ms: f64::NAN,
        p99_ms: f64::NAN,
        errors: 0,
    };
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
    if figures.requests_per_second.is_nan() || figures.p99_ms.is_nan() {
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
