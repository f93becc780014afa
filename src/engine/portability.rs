//! The user's data in and out of the app: export (JSON and Markdown), import (our JSON and
//! ChatGPT's `conversations.json`), backups and restore.
//!
//! The JSON export format is documented in `docs/export-format.md`. It is versioned, keeps every
//! message of every branch with its ids, timestamps, parts and usage, and never holds a key or
//! any other profile secret: backends are referenced by name, kind and URL only. Its key order is
//! fixed by the struct definitions, so exporting, importing into an empty database and exporting
//! again with the same `exported_at` gives byte-identical files.
//!
//! Import reads and validates the whole file before the database is touched, then writes it in
//! one transaction ([`Store::import_dump`]): a corrupted, truncated, foreign or oversized file
//! changes nothing and the error says where the problem is: the line and column of text that is
//! not JSON, the path (`conversations[3].messages[7].role`) of a value that does not fit.
//!
//! Long operations take a [`Progress`] callback; the UI, which talks to the store through the
//! serializable request protocol, passes a [`Job`] id instead and polls the job (see [`Job`]).

mod backup;
mod chatgpt;
#[cfg(feature = "sqlite")]
pub mod incremental;

pub use crate::engine::store::dump::{
    AttachmentDump, ConversationDump, ImportFormat, ImportReport, MessageDump, PresetDump,
    ProfileRef, Progress,
};
#[cfg(feature = "sqlite")]
pub use backup::{
    apply_backup_retention, apply_retention_limits, auto_backup, auto_backup_within, backup_now,
    backup_now_with_progress, backups_bytes, delete_backups, incremental_backup, latest_backup,
    list_backups, restore, validate_backup, validate_connection,
};
pub use backup::{stamp, BackupFile, RestoreReport};

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::engine::error::{Error, Result};
use crate::engine::json::{FromJson, Json};
use crate::engine::model::*;
#[cfg(feature = "sqlite")]
use crate::engine::store::Store;
use crate::engine::wire::Wire;

/// The `format` field of every OpenCode Nexus export.
pub const FORMAT_NAME: &str = "opencode-nexus";
/// The newest export format version this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;
/// Imports larger than this are refused before they are read: parsing needs several times the
/// file's size in memory.
pub const MAX_IMPORT_BYTES: u64 = 512 * 1024 * 1024;

/// A whole export file. Field order is the file's key order.
/// A whole file's bytes in the store's request protocol (base64 in its JSON): a database image
/// going to or coming from the browser's store worker.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, Wire)]
pub struct FileBytes(#[serde(with = "crate::engine::attachments::base64_bytes")] pub Vec<u8>);

impl std::fmt::Debug for FileBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "FileBytes({} bytes)", self.0.len())
    }
}

/// Written by serde's derive, so that its keys are in the order of these fields (read back
/// through `FromJson`, order-free).
#[derive(Debug, Clone, PartialEq, Serialize, Json)]
#[json(no_serde)]
pub struct ExportDocument {
    pub format: String,
    pub version: u32,
    /// Milliseconds since the Unix epoch.
    pub exported_at: i64,
    pub conversations: Vec<ConversationDump>,
    /// Presets for new chats (in an export of everything).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[json(default)]
    pub presets: Vec<PresetDump>,
    /// The contents of the files the messages carry, each once (base64).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[json(default)]
    pub attachments: Vec<AttachmentDump>,
}

/// What an import file holds.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ImportBatch {
    pub conversations: Vec<ConversationDump>,
    pub presets: Vec<PresetDump>,
    pub attachments: Vec<AttachmentDump>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Wire)]
#[serde(rename_all = "lowercase")]
pub enum ExportFormat {
    Json,
    Markdown,
}

impl ExportFormat {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "json" => Some(ExportFormat::Json),
            "md" | "markdown" => Some(ExportFormat::Markdown),
            _ => None,
        }
    }

    /// The usual file extension.
    pub fn extension(self) -> &'static str {
        match self {
            ExportFormat::Json => "json",
            ExportFormat::Markdown => "md",
        }
    }
}

/// What an export to a file wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, Wire)]
pub struct ExportReport {
    pub conversations: u64,
    pub messages: u64,
    pub bytes: u64,
}

// ---- export -------------------------------------------------------------------------------------

/// The export document for `ids` (all conversations when `None`).
#[cfg(feature = "sqlite")]
pub fn export_document(
    store: &Store,
    ids: Option<&[Id]>,
    exported_at: i64,
    progress: Progress<'_>,
) -> Result<ExportDocument> {
    let conversations = store.export_dump(ids, progress)?;
    Ok(ExportDocument {
        format: FORMAT_NAME.into(),
        version: FORMAT_VERSION,
        exported_at,
        attachments: store.export_attachments(&conversations)?,
        conversations,
        presets: match ids {
            None => store.export_presets()?,
            Some(_) => Vec::new(),
        },
    })
}

/// The JSON text of a document: pretty-printed with two-space indents, ending in a newline.
pub fn document_to_json(doc: &ExportDocument) -> Result<String> {
    let mut text = serde_json::to_string_pretty(doc).map_err(Error::db)?;
    text.push('\n');
    Ok(text)
}

/// Export as JSON with a given `exported_at` (tests pin it to compare files byte for byte).
#[cfg(feature = "sqlite")]
pub fn export_json(
    store: &Store,
    ids: Option<&[Id]>,
    exported_at: i64,
    progress: Progress<'_>,
) -> Result<String> {
    document_to_json(&export_document(store, ids, exported_at, progress)?)
}

/// Export the visible thread of each conversation as Markdown.
#[cfg(feature = "sqlite")]
pub fn export_markdown(
    store: &Store,
    ids: Option<&[Id]>,
    progress: Progress<'_>,
) -> Result<String> {
    Ok(dumps_to_markdown(&store.export_dump(ids, progress)?))
}

/// Export in either format, stamped with the current time.
#[cfg(feature = "sqlite")]
pub fn export_text(
    store: &Store,
    format: ExportFormat,
    ids: Option<&[Id]>,
    progress: Progress<'_>,
) -> Result<String> {
    match format {
        ExportFormat::Json => export_json(store, ids, now_ms(), progress),
        ExportFormat::Markdown => export_markdown(store, ids, progress),
    }
}

/// Export to a file. The file appears under its name only once it is complete.
#[cfg(feature = "sqlite")]
pub fn export_file(
    store: &Store,
    dest: &Path,
    format: ExportFormat,
    ids: Option<&[Id]>,
    progress: Progress<'_>,
) -> Result<ExportReport> {
    let dumps = store.export_dump(ids, progress)?;
    // The messages the file holds: every version in JSON, the one shown in Markdown.
    let messages = match format {
        ExportFormat::Json => dumps.iter().map(|c| c.messages.len() as u64).sum(),
        ExportFormat::Markdown => dumps.iter().map(|c| visible_thread(c).len() as u64).sum(),
    };
    let report = ExportReport {
        conversations: dumps.len() as u64,
        messages,
        bytes: 0,
    };
    let text = match format {
        ExportFormat::Json => document_to_json(&ExportDocument {
            format: FORMAT_NAME.into(),
            version: FORMAT_VERSION,
            exported_at: now_ms(),
            attachments: store.export_attachments(&dumps)?,
            conversations: dumps,
            presets: match ids {
                None => store.export_presets()?,
                Some(_) => Vec::new(),
            },
        })?,
        ExportFormat::Markdown => dumps_to_markdown(&dumps),
    };
    write_atomically(dest, text.as_bytes())?;
    Ok(ExportReport {
        bytes: text.len() as u64,
        ..report
    })
}

#[cfg(feature = "sqlite")]
fn write_atomically(dest: &Path, bytes: &[u8]) -> Result<()> {
    if let Some(dir) = dest.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    let mut tmp = dest.as_os_str().to_owned();
    tmp.push(".partial");
    let tmp = std::path::PathBuf::from(tmp);
    std::fs::write(&tmp, bytes).map_err(|e| Error::io(&tmp, e))?;
    std::fs::rename(&tmp, dest).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::io(dest, e)
    })
}

/// The visible thread of a dumped conversation: the head's ancestors, root first.
pub fn visible_thread(c: &ConversationDump) -> Vec<&MessageDump> {
    let by_id: std::collections::HashMap<&str, &MessageDump> =
        c.messages.iter().map(|m| (m.id.as_str(), m)).collect();
    let mut chain = Vec::new();
    let mut cursor = c.head_id.as_deref();
    while let Some(id) = cursor {
        let Some(m) = by_id.get(id) else { break };
        chain.push(*m);
        // A damaged database could hold a cycle; a chain is never longer than the tree.
        if chain.len() > c.messages.len() {
            break;
        }
        cursor = m.parent_id.as_deref();
    }
    chain.reverse();
    chain
}

/// Markdown for conversations: a heading with the title, a line of facts, then each message of
/// the visible thread under a role heading. Message text is already Markdown and goes in as is.
pub fn dumps_to_markdown(conversations: &[ConversationDump]) -> String {
    let mut out = String::new();
    for (i, c) in conversations.iter().enumerate() {
        if i > 0 {
            out.push_str("\n---\n\n");
        }
        let title = c.title.replace(['\r', '\n'], " ");
        out.push_str(&format!(
            "# {}\n\n",
            if title.trim().is_empty() {
                "Untitled"
            } else {
                title.trim()
            }
        ));
        let mut facts = vec![
            format!("Created {} UTC", format_time(c.created_at)),
            format!("updated {} UTC", format_time(c.updated_at)),
        ];
        if let Some(m) = &c.model {
            facts.push(format!("model {m}"));
        }
        if let Some(p) = &c.profile {
            facts.push(format!("backend {} ({})", p.name, p.kind.label()));
        }
        out.push_str(&facts.join(" · "));
        out.push('\n');
        for m in visible_thread(c) {
            let role = match m.role {
                Role::System => "System",
                Role::User => "User",
                Role::Assistant => "Assistant",
            };
            out.push_str(&format!("\n## {role} · {} UTC", format_time(m.created_at)));
            if let (Role::Assistant, Some(model)) = (m.role, &m.model) {
                out.push_str(&format!(" · {model}"));
            }
            out.push_str("\n\n");
            let text = m.parts.iter().fold(String::new(), |mut acc, p| {
                if let Part::Text { text } = p {
                    if !acc.is_empty() {
                        acc.push('\n');
                    }
                    acc.push_str(text);
                }
                acc
            });
            if !text.trim().is_empty() {
                out.push_str(text.trim_end());
                out.push('\n');
            } else if m.parts.iter().any(|p| matches!(p, Part::Tool { .. })) {
                out.push_str(
                    "*(tool activity, not shown in Markdown; the JSON export keeps it)*\n",
                );
            }
            match m.status {
                MessageStatus::Complete => {}
                status => {
                    out.push_str(&format!(
                        "\n*{}{}*\n",
                        match status {
                            MessageStatus::Error => "Failed",
                            MessageStatus::Streaming => "Still streaming when exported",
                            _ => "Interrupted",
                        },
                        m.error
                            .as_deref()
                            .map(|e| format!(": {e}"))
                            .unwrap_or_default()
                    ));
                }
            }
        }
    }
    out
}

// ---- import -------------------------------------------------------------------------------------

/// Parse and validate an import without touching any database. `format` may be `Auto`; the
/// returned format is the one actually read.
pub fn parse_import(
    bytes: &[u8],
    format: ImportFormat,
    max_bytes: u64,
) -> Result<(ImportFormat, ImportBatch)> {
    if bytes.len() as u64 > max_bytes {
        return Err(too_big(format, bytes.len() as u64, max_bytes));
    }
    let original_len = bytes.len();
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let first = bytes.iter().copied().find(|b| !b.is_ascii_whitespace());
    let detected = match first {
        None => {
            return Err(Error::BadImport {
                format: format.label().into(),
                detail: "the file is empty".into(),
            })
        }
        Some(b'{') => ImportFormat::Nexus,
        Some(b'[') => ImportFormat::ChatGpt,
        Some(_) => {
            return Err(Error::BadImport {
                format: format.label().into(),
                detail: not_json(bytes),
            })
        }
    };
    let format = match (format, detected) {
        (ImportFormat::Auto, d) => d,
        (ImportFormat::Nexus, ImportFormat::ChatGpt) => {
            return Err(Error::BadImport {
                format: format.label().into(),
                detail: "it is a JSON array, while an OpenCode Nexus export is an object with \"format\": \"opencode-nexus\" (is it ChatGPT's conversations.json? then import it as chatgpt or auto)".into(),
            })
        }
        (ImportFormat::ChatGpt, ImportFormat::Nexus) => {
            return Err(Error::BadImport {
                format: format.label().into(),
                detail: "it is a JSON object, while ChatGPT's conversations.json is an array of conversations (is it an OpenCode Nexus export? then import it as nexus or auto)".into(),
            })
        }
        (f, _) => f,
    };
    let text = std::str::from_utf8(bytes).map_err(|e| Error::BadImport {
        format: format.label().into(),
        detail: format!(
            "it is not UTF-8 text (the bytes at offset {} are not UTF-8); save it as UTF-8 and import it again",
            e.valid_up_to() + (original_len - bytes.len())
        ),
    })?;
    let batch = match format {
        ImportFormat::ChatGpt => ImportBatch {
            conversations: chatgpt::parse(text)?,
            ..ImportBatch::default()
        },
        _ => parse_nexus(text)?,
    };
    crate::engine::store::dump::validate(&batch.conversations).map_err(|detail| {
        Error::BadImport {
            format: format.label().into(),
            detail,
        }
    })?;
    Ok((format, batch))
}

/// Read and parse a file, refusing one over `max_bytes` before reading it.
pub fn read_import_file(
    path: &Path,
    format: ImportFormat,
    max_bytes: u64,
) -> Result<(ImportFormat, ImportBatch)> {
    let size = std::fs::metadata(path)
        .map_err(|e| Error::io(path, e))?
        .len();
    if size > max_bytes {
        return Err(too_big(format, size, max_bytes));
    }
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    parse_import(&bytes, format, max_bytes)
}

/// Parse, validate and import bytes in one transaction.
#[cfg(feature = "sqlite")]
pub fn import_bytes(
    store: &mut Store,
    bytes: &[u8],
    format: ImportFormat,
    max_bytes: u64,
    progress: Progress<'_>,
) -> Result<ImportReport> {
    let (format, batch) = parse_import(bytes, format, max_bytes)?;
    import_batch(store, format, batch, progress)
}

#[cfg(feature = "sqlite")]
fn import_batch(
    store: &mut Store,
    format: ImportFormat,
    batch: ImportBatch,
    progress: Progress<'_>,
) -> Result<ImportReport> {
    store.import_dump(
        format,
        batch.conversations,
        batch.presets,
        batch.attachments,
        progress,
    )
}

/// Read, validate and import a file in one transaction (limit: [`MAX_IMPORT_BYTES`]).
#[cfg(feature = "sqlite")]
pub fn import_file(
    store: &mut Store,
    path: &Path,
    format: ImportFormat,
    progress: Progress<'_>,
) -> Result<ImportReport> {
    let (format, batch) = read_import_file(path, format, MAX_IMPORT_BYTES)?;
    import_batch(store, format, batch, progress)
}

fn too_big(format: ImportFormat, size: u64, max: u64) -> Error {
    Error::BadImport {
        format: format.label().into(),
        detail: format!(
            "it is {}, more than the {} an import may be; export fewer conversations at a time and import the parts",
            human_bytes(size),
            human_bytes(max)
        ),
    }
}

fn not_json(bytes: &[u8]) -> String {
    if bytes.starts_with(b"PK\x03\x04") {
        return "it is a ZIP archive, not JSON; unzip it and import the conversations.json inside"
            .into();
    }
    let head: Vec<String> = bytes.iter().take(8).map(|b| format!("{b:02X}")).collect();
    format!(
        "it is not JSON (it starts with the bytes {}); choose an OpenCode Nexus .json export or ChatGPT's conversations.json",
        head.join(" ")
    )
}

/// A size for people: "512 bytes", "1.5 KB", "2.0 GB" (units of 1024, one decimal, halves to
/// even). Whole-number arithmetic, so the browser's storage worker carries no float formatting.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["bytes", "KB", "MB", "GB"];
    let mut unit = 0;
    while unit < UNITS.len() - 1 && n >> (10 * (unit + 1)) > 0 {
        unit += 1;
    }
    if unit == 0 {
        return format!("{n} bytes");
    }
    // Tenths of the unit, rounded half to even.
    let d = 1u128 << (10 * unit);
    let scaled = u128::from(n) * 10;
    let (mut tenths, rest) = (scaled / d, scaled % d);
    if rest * 2 > d || (rest * 2 == d && tenths % 2 == 1) {
        tenths += 1;
    }
    format!("{}.{} {}", tenths / 10, tenths % 10, UNITS[unit])
}

fn parse_nexus(text: &str) -> Result<ImportBatch> {
    let bad = |detail: String| Error::BadImport {
        format: ImportFormat::Nexus.label().into(),
        detail,
    };
    let value: Value = serde_json::from_str(text).map_err(|e| bad(e.to_string()))?;
    // The header first, so a file from a newer version is named as such rather than failing on
    // whatever field it added.
    let header = |name: &str| value.as_object().and_then(|o| o.get(name));
    if header("format").and_then(Value::as_str) != Some(FORMAT_NAME) {
        return Err(bad(format!(
            "the \"format\" field is {} instead of \"{FORMAT_NAME}\"",
            header("format")
                .map(|f| f.to_string())
                .unwrap_or_else(|| "missing".into())
        )));
    }
    match header("version").and_then(Value::as_u64) {
        Some(v) if v >= 1 && v <= u64::from(FORMAT_VERSION) => {}
        Some(v) if v > u64::from(FORMAT_VERSION) => {
            return Err(bad(format!(
                "it was written by a newer version of OpenCode Nexus (format version {v}; this version reads up to {FORMAT_VERSION}); update the app and import again"
            )))
        }
        _ => {
            return Err(bad(
                "the \"version\" field is missing or not a positive whole number".into(),
            ))
        }
    }
    let doc = ExportDocument::from_json(&value).map_err(|e| bad(e.to_string()))?;
    Ok(ImportBatch {
        conversations: doc.conversations,
        presets: doc.presets,
        attachments: doc.attachments,
    })
}

// ---- progress and cancellation across the store worker ----------------------------------------

/// An id naming a [`Job`]; it crosses the store protocol where a callback cannot.
pub type JobId = String;

/// Progress and cancellation of one long operation, shared between the UI (which polls
/// [`Job::progress`] and may [`Job::cancel`]) and the store worker running it (which finds the job
/// by id). Jobs live in a process-wide registry: on native the worker is a thread of the same
/// process. In the browser the store runs in a Web Worker with its own registry, so a job id
/// sent there is not found and the operation runs without progress or cancel.
#[derive(Debug)]
pub struct Job {
    id: JobId,
    done: AtomicU64,
    total: AtomicU64,
    cancelled: AtomicBool,
}

static JOBS: Mutex<Vec<(JobId, Weak<Job>)>> = Mutex::new(Vec::new());

/// Called on every progress report when set: how the browser's store worker forwards progress
/// to the page, whose registry holds the job the UI polls.
static PROGRESS_HOOK: std::sync::OnceLock<fn(&str, u64, u64)> = std::sync::OnceLock::new();

/// Install the progress hook (once per process; later calls are ignored).
pub fn set_progress_hook(hook: fn(&str, u64, u64)) {
    let _ = PROGRESS_HOOK.set(hook);
}

impl Job {
    /// Register a new job; it is forgotten when the last `Arc` is dropped.
    pub fn start() -> Arc<Job> {
        Job::register(new_id())
    }

    /// Register a job under an id chosen elsewhere: the browser's store worker mirrors the
    /// page's job this way while it runs the operation.
    pub fn adopt(id: &str) -> Arc<Job> {
        Job::register(id.to_owned())
    }

    fn register(id: JobId) -> Arc<Job> {
        let job = Arc::new(Job {
            id,
            done: AtomicU64::new(0),
            total: AtomicU64::new(0),
            cancelled: AtomicBool::new(false),
        });
        let mut jobs = JOBS.lock().unwrap_or_else(|e| e.into_inner());
        jobs.retain(|(_, w)| w.strong_count() > 0);
        jobs.push((job.id.clone(), Arc::downgrade(&job)));
        job
    }

    pub fn find(id: &str) -> Option<Arc<Job>> {
        let jobs = JOBS.lock().unwrap_or_else(|e| e.into_inner());
        jobs.iter()
            .find(|(i, _)| i == id)
            .and_then(|(_, w)| w.upgrade())
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    /// (done, total) as last reported; total is 0 until the operation knows it.
    pub fn progress(&self) -> (u64, u64) {
        (
            self.done.load(Ordering::Relaxed),
            self.total.load(Ordering::Relaxed),
        )
    }

    /// Ask the operation to stop; it rolls back and fails with `Error::Cancelled`.
    pub fn cancel(&self) {
        self.cancelled.store(true, Ordering::Relaxed);
    }

    pub fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::Relaxed)
    }

    /// The progress callback: record and say whether to go on.
    pub fn report(&self, done: u64, total: u64) -> bool {
        self.done.store(done, Ordering::Relaxed);
        self.total.store(total, Ordering::Relaxed);
        if let Some(hook) = PROGRESS_HOOK.get() {
            hook(&self.id, done, total);
        }
        !self.is_cancelled()
    }
}

/// Run `f` with a progress callback feeding the job named `job` (none: progress is ignored).
pub fn with_job<T>(job: Option<&str>, f: impl FnOnce(Progress<'_>) -> T) -> T {
    CURRENT_JOB.with(|c| *c.borrow_mut() = job.map(str::to_owned));
    let job = job.and_then(Job::find);
    let mut callback = |done: u64, total: u64| job.as_ref().is_none_or(|j| j.report(done, total));
    let result = f(&mut callback);
    CURRENT_JOB.with(|c| *c.borrow_mut() = None);
    result
}

thread_local! {
    static CURRENT_JOB: std::cell::RefCell<Option<JobId>> = const { std::cell::RefCell::new(None) };
}

/// The job the operation running on this thread belongs to (see [`with_job`]). An import
/// records it in its own transaction, so the browser can tell, after stopping its storage
/// worker for a cancel, whether the import had already been committed.
pub fn current_job() -> Option<JobId> {
    CURRENT_JOB.with(|c| c.borrow().clone())
}

#[cfg(test)]
mod tests {
    use super::human_bytes;

    /// What the standard library's float formatting says for the same size.
    fn by_float(n: u64) -> String {
        const UNITS: [&str; 4] = ["bytes", "KB", "MB", "GB"];
        let (mut value, mut unit) = (n as f64, 0);
        while value >= 1024.0 && unit < UNITS.len() - 1 {
            value /= 1024.0;
            unit += 1;
        }
        if unit == 0 {
            format!("{n} bytes")
        } else {
            format!("{value:.1} {}", UNITS[unit])
        }
    }

    #[test]
    fn sizes_read_as_the_float_formatting_rounds_them() {
        assert_eq!(human_bytes(0), "0 bytes");
        assert_eq!(human_bytes(1023), "1023 bytes");
        assert_eq!(human_bytes(1024), "1.0 KB");
        assert_eq!(human_bytes(1536), "1.5 KB");
        // A tie (1.25 KB) goes to the even tenth, as `{:.1}` does.
        assert_eq!(human_bytes(1280), "1.2 KB");
        assert_eq!(human_bytes(1024 * 1024 - 1), "1024.0 KB");
        assert_eq!(human_bytes(5 << 40), "5120.0 GB");
        let mut n: u64 = 1;
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..200_000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            // Sizes of every magnitude up to 2^50 (exact as f64), and ties.
            n = (seed >> (seed % 50 + 14)).max(1) + (n & 1);
            assert_eq!(human_bytes(n), by_float(n), "{n}");
            // n ≡ 256 (mod 512): exactly halfway between two tenths of a KB.
            let tie = (n % 1_000_000) * 512 + 256;
            assert_eq!(human_bytes(tie), by_float(tie), "{tie}");
        }
    }
}
