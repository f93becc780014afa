//! Logging: `tracing` to stderr and to a daily-rotated file under the data directory. Every
//! line passes through the redactor on its way out, so a key that slips into a message or an
//! error never reaches a terminal or a log file.

use std::io::Write;
use std::path::Path;

use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::prelude::*;
use tracing_subscriber::EnvFilter;

use crate::engine::redact::redact;

/// Keeps the file writer flushing; hold it until the process exits.
pub struct LogGuard(#[allow(dead_code)] Option<tracing_appender::non_blocking::WorkerGuard>);

pub struct Redacting<W>(W);

impl<W: Write> Write for Redacting<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        self.0.write_all(redact(&text).as_bytes())?;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

#[derive(Clone)]
pub struct RedactingMaker<M>(M);

impl<'a, M: MakeWriter<'a>> MakeWriter<'a> for RedactingMaker<M> {
    type Writer = Redacting<M::Writer>;
    fn make_writer(&'a self) -> Self::Writer {
        Redacting(self.0.make_writer())
    }
}

/// `default_stderr` applies when RUST_LOG is unset (quiet for the CLI, whose stdout is data).
/// Log lines queued for the writer thread at most.
const LOG_QUEUE_LINES: usize = 4_096;

pub fn init(log_dir: Option<&Path>, default_stderr: &str) -> LogGuard {
    let stderr_filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_stderr));
    let stderr_layer = tracing_subscriber::fmt::layer()
        .with_writer(RedactingMaker(std::io::stderr))
        .with_target(false)
        .with_filter(stderr_filter);
    let mut guard = None;
    let file_layer = log_dir.and_then(|dir| {
        std::fs::create_dir_all(dir).ok()?;
        let appender = tracing_appender::rolling::Builder::new()
            .rotation(tracing_appender::rolling::Rotation::DAILY)
            .filename_prefix("opencode-nexus")
            .filename_suffix("log")
            .max_log_files(14)
            .build(dir)
            .ok()?;
        // The writer thread's queue is allocated and initialised up front: its default of
        // 128,000 lines is 4 MB of resident memory for an app that logs a few lines a minute.
        // A burst beyond this many lines drops lines rather than blocking the app.
        let (writer, g) = tracing_appender::non_blocking::NonBlockingBuilder::default()
            .buffered_lines_limit(LOG_QUEUE_LINES)
            .lossy(true)
            .finish(appender);
        guard = Some(g);
        let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
        Some(
            tracing_subscriber::fmt::layer()
                .with_ansi(false)
                .with_writer(RedactingMaker(writer))
                .with_filter(filter),
        )
    });
    let _ = tracing_subscriber::registry()
        .with(stderr_layer)
        .with(file_layer)
        .try_init();
    LogGuard(guard)
}
