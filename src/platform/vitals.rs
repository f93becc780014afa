//! Measurements of this run for diagnostics: start-up time (from `main` entry to the first
//! rendered frame in the app, or to the report in the CLI), resident memory, and backend
//! latencies from connection tests. They are shown in Settings and by `doctor`; nothing leaves
//! the device.

use std::sync::OnceLock;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use super::Services;

static STARTED: OnceLock<Instant> = OnceLock::new();
static FIRST_RENDER_MS: OnceLock<u64> = OnceLock::new();

/// Called first thing in `main`, so start-up time covers argument parsing, data directory
/// resolution and (for the app) window creation.
pub fn mark_start() {
    let _ = STARTED.set(Instant::now());
}

/// Called once the app has painted its first frame.
pub fn mark_first_render() {
    if let Some(start) = STARTED.get() {
        let _ = FIRST_RENDER_MS.set(start.elapsed().as_millis() as u64);
    }
}

/// Milliseconds from `main` entry to the first frame (app), or to now when no frame was drawn
/// (CLI: the time until its report). `None` if [`mark_start`] was never called.
pub fn startup_ms() -> Option<u64> {
    FIRST_RENDER_MS
        .get()
        .copied()
        .or_else(|| STARTED.get().map(|s| s.elapsed().as_millis() as u64))
}

/// The page side of the start-up trace, evaluated right after the first render (the app and
/// `examples/bare_window.rs` run the same script): two animation frames later (the first
/// rendered frame is on screen) it sends, in ms since the page's navigation started, when this
/// script began running (after the first render's edits and any script evaluated before it),
/// that moment, the end of DOMContentLoaded and the first contentful paint (-1 where the engine
/// does not say).
pub const FIRST_FRAME_JS: &str = "const began = performance.now(); requestAnimationFrame(() => requestAnimationFrame(() => { const n = performance.getEntriesByType('navigation')[0]; const p = performance.getEntriesByName('first-contentful-paint')[0]; dioxus.send([began, performance.now(), n ? n.domContentLoadedEventEnd : -1, p ? p.startTime : -1].map(Math.round)); }));";

/// A measurement the benchmarks read from the log (`scripts/bench_open.py`'s "conversation
/// opened", `scripts/bench_window.py`'s "first frame painted"), as `what key=value …`. Logged
/// at INFO; in the browser page, whose module leaves INFO events out (`Cargo.toml`'s `web`
/// feature), written to the console directly.
pub fn report(what: &str, fields: std::fmt::Arguments<'_>) {
    #[cfg(feature = "web")]
    web_sys::console::log_1(&format!(" INFO {what} {fields}").into());
    #[cfg(not(feature = "web"))]
    tracing::info!("{what} {fields}");
}

/// Milliseconds since [`mark_start`], for the start-up trace in the log.
pub fn since_start_ms() -> Option<u64> {
    STARTED.get().map(|s| s.elapsed().as_millis() as u64)
}

/// Resident set size of this process in bytes (Linux: `VmRSS` in `/proc/self/status`);
/// `None` where the platform has no such cheap source.
pub fn rss_bytes() -> Option<u64> {
    #[cfg(target_os = "linux")]
    {
        let status = std::fs::read_to_string("/proc/self/status").ok()?;
        parse_vm_rss(&status)
    }
    #[cfg(not(target_os = "linux"))]
    {
        None
    }
}

/// `VmRSS:     12345 kB` → bytes.
pub fn parse_vm_rss(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Last and average round-trip of a backend's connection test, over the last
/// [`LATENCY_SAMPLES`] tests (kept in the settings table, so they span runs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LatencyStat {
    pub profile: String,
    pub last_ms: u64,
    pub avg_ms: u64,
    pub samples: usize,
}

const LATENCY_KEY: &str = "backend_latency";
pub const LATENCY_SAMPLES: usize = 20;

/// Remember one connection test's latency for `profile` (its display name).
pub async fn record_latency(services: &Services, profile: &str, ms: u64) {
    let mut all = load(services).await;
    let samples = all.entry(profile.to_owned()).or_default();
    samples.push(ms);
    if samples.len() > LATENCY_SAMPLES {
        let excess = samples.len() - LATENCY_SAMPLES;
        samples.drain(..excess);
    }
    if let Ok(value) = serde_json::to_value(&all) {
        if let Err(e) = services.store.set_setting(LATENCY_KEY.into(), value).await {
            tracing::debug!(error = %e, "could not save the latency sample");
        }
    }
}

pub async fn latency_stats(services: &Services) -> Vec<LatencyStat> {
    load(services)
        .await
        .into_iter()
        .filter(|(_, s)| !s.is_empty())
        .map(|(profile, s)| LatencyStat {
            last_ms: *s.last().unwrap_or(&0),
            avg_ms: s.iter().sum::<u64>() / s.len() as u64,
            samples: s.len(),
            profile,
        })
        .collect()
}

async fn load(services: &Services) -> std::collections::BTreeMap<String, Vec<u64>> {
    services
        .store
        .get_setting(LATENCY_KEY.into())
        .await
        .ok()
        .flatten()
        .and_then(|v| serde_json::from_value(v).ok())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vm_rss_is_read_in_bytes() {
        let status = "Name:\tx\nVmPeak:\t  9000 kB\nVmRSS:\t   1234 kB\nThreads: 3\n";
        assert_eq!(parse_vm_rss(status), Some(1234 * 1024));
        assert_eq!(parse_vm_rss("Name: x\n"), None);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn this_process_has_resident_memory() {
        assert!(rss_bytes().unwrap() > 1024 * 1024);
    }
}
