//! Whole conversations in and out of the store, for export, import and backups.
//!
//! A [`ConversationDump`] is a conversation with every message of its tree (all branches), in the
//! shape the documented export format uses (`docs/export-format.md`); `engine::portability`
//! turns files into dumps and back. The SQL lives here so that the store stays the only place
//! that knows the schema.
//!
//! Import is one transaction: the batch is validated before anything is written, conversations
//! that already exist are skipped (so importing the same file twice does not duplicate), and any
//! error or a cancel from the progress callback rolls everything back.

use std::collections::{HashMap, HashSet};
#[cfg(feature = "sqlite")]
use std::path::{Path, PathBuf};

#[cfg(feature = "sqlite")]
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

#[cfg(feature = "sqlite")]
use super::{conversation_from_row, Store};
#[cfg(feature = "sqlite")]
use crate::engine::error::{Error, Result};
use crate::engine::json::Json;
use crate::engine::model::*;
use crate::engine::wire::Wire;

/// Called with (done, total) as a long operation advances; returning `false` cancels it, which
/// rolls back whatever it did.
pub type Progress<'a> = &'a mut dyn FnMut(u64, u64) -> bool;

/// A backend a conversation used, by name only: never the key, headers or any other secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Json, Wire)]
#[json(no_serde)]
pub struct ProfileRef {
    pub name: String,
    pub kind: BackendKind,
    pub url: String,
}

/// One conversation with its whole message tree. Field order is the export format's key order.
#[derive(Debug, Clone, PartialEq, Serialize, Json, Wire)]
#[json(no_serde)]
pub struct ConversationDump {
    pub id: Id,
    pub title: String,
    pub created_at: i64,
    pub updated_at: i64,
    #[json(default)]
    pub pinned: bool,
    #[json(default)]
    pub archived: bool,
    pub profile: Option<ProfileRef>,
    pub model: Option<String>,
    pub system_prompt: Option<String>,
    #[json(default)]
    pub params: SamplingParams,
    pub head_id: Option<Id>,
    pub remote_session: Option<String>,
    /// The preset the conversation started from (an id among the file's `presets`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preset_id: Option<Id>,
    pub messages: Vec<MessageDump>,
}

/// A file's content in an export, once however many messages carry it.
#[derive(Debug, Clone, PartialEq, Serialize, Json)]
#[json(no_serde)]
pub struct AttachmentDump {
    pub sha256: String,
    pub mime: String,
    #[serde(serialize_with = "crate::engine::attachments::base64_bytes::serialize")]
    #[json(
        with = "crate::engine::attachments::base64_bytes::read",
        write_with = "crate::engine::attachments::base64_bytes::write"
    )]
    pub data: Vec<u8>,
}

/// A preset in an export: its backend by reference only, like a conversation's.
#[derive(Debug, Clone, PartialEq, Serialize, Json)]
#[json(no_serde)]
pub struct PresetDump {
    pub id: Id,
    pub name: String,
    pub system_prompt: Option<String>,
    pub profile: Option<ProfileRef>,
    pub model: Option<String>,
    #[json(default)]
    pub params: SamplingParams,
    #[json(default)]
    pub is_default: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

/// One message of a dumped conversation; its conversation is the enclosing dump.
#[derive(Debug, Clone, PartialEq, Serialize, Json, Wire)]
#[json(no_serde)]
pub struct MessageDump {
    pub id: Id,
    pub parent_id: Option<Id>,
    pub role: Role,
    pub parts: Vec<Part>,
    pub status: MessageStatus,
    pub error: Option<String>,
    pub model: Option<String>,
    pub usage: Option<Usage>,
    pub cost: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finish_reason: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl MessageDump {
    pub fn from_message(m: Message) -> Self {
        MessageDump {
            id: m.id,
            parent_id: m.parent_id,
            role: m.role,
            parts: m.parts,
            status: m.status,
            error: m.error,
            model: m.model,
            usage: m.usage,
            cost: m.cost,
            finish_reason: m.finish_reason,
            created_at: m.created_at,
            updated_at: m.updated_at,
        }
    }

    pub fn into_message(self, conversation_id: &str) -> Message {
        Message {
            id: self.id,
            conversation_id: conversation_id.to_owned(),
            parent_id: self.parent_id,
            role: self.role,
            parts: self.parts,
            status: self.status,
            error: self.error,
            model: self.model,
            usage: self.usage,
            cost: self.cost,
            finish_reason: self.finish_reason,
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }
}

/// Which file format a batch came from (reports and error messages name it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Wire)]
#[serde(rename_all = "lowercase")]
pub enum ImportFormat {
    /// Detect from the content.
    Auto,
    /// OpenCode Nexus JSON export.
    Nexus,
    /// ChatGPT's `conversations.json`.
    ChatGpt,
}

impl ImportFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            ImportFormat::Auto => "auto",
            ImportFormat::Nexus => "nexus",
            ImportFormat::ChatGpt => "chatgpt",
        }
    }

    /// How error messages name the format.
    pub fn label(self) -> &'static str {
        match self {
            ImportFormat::Auto => "OpenCode Nexus or ChatGPT export",
            ImportFormat::Nexus => "OpenCode Nexus export",
            ImportFormat::ChatGpt => "ChatGPT conversations.json",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "auto" => Some(ImportFormat::Auto),
            "nexus" | "json" => Some(ImportFormat::Nexus),
            "chatgpt" => Some(ImportFormat::ChatGpt),
            _ => None,
        }
    }
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, Wire)]
pub struct ImportReport {
    /// The format actually read (never `auto`).
    pub format: Option<ImportFormat>,
    pub conversations_imported: u64,
    pub messages_imported: u64,
    /// Already present (same id): left as they are.
    pub conversations_skipped: u64,
    pub messages_skipped: u64,
    /// Backend profiles created (by name, kind and URL, without keys) for imported conversations.
    pub profiles_created: u64,
    #[serde(default)]
    pub presets_imported: u64,
    /// A preset with the same id or name is already here: it is left as it is.
    #[serde(default)]
    pub presets_skipped: u64,
}

impl ImportReport {
    /// One line for the CLI and the settings view.
    pub fn summary(&self) -> String {
        let mut s = format!(
            "Imported {} conversation{} ({} message{}); skipped {} already present ({} message{}).",
            self.conversations_imported,
            plural(self.conversations_imported),
            self.messages_imported,
            plural(self.messages_imported),
            self.conversations_skipped,
            self.messages_skipped,
            plural(self.messages_skipped),
        );
        if self.presets_imported + self.presets_skipped > 0 {
            s.push_str(&format!(
                " Imported {} preset{}; skipped {} already present.",
                self.presets_imported,
                plural(self.presets_imported),
                self.presets_skipped
            ));
        }
        s
    }
}

fn plural(n: u64) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// Check a batch before anything is written: unique ids, parents and heads that exist in the
/// same conversation, no parent cycles. The error names the offending field by its JSON path in
/// the export format.
pub fn validate(conversations: &[ConversationDump]) -> std::result::Result<(), String> {
    let mut conversation_ids = HashSet::new();
    let mut message_ids = HashSet::new();
    for (ci, c) in conversations.iter().enumerate() {
        let at = format!("conversations[{ci}]");
        if c.id.trim().is_empty() {
            return Err(format!("{at}.id is empty"));
        }
        if !conversation_ids.insert(c.id.as_str()) {
            return Err(format!(
                "{at}.id: the conversation {} appears twice in the file",
                c.id
            ));
        }
        let mut index: HashMap<&str, usize> = HashMap::new();
        for (mi, m) in c.messages.iter().enumerate() {
            if m.id.trim().is_empty() {
                return Err(format!("{at}.messages[{mi}].id is empty"));
            }
            if !message_ids.insert(m.id.as_str()) {
                return Err(format!(
                    "{at}.messages[{mi}].id: the message {} appears twice in the file",
                    m.id
                ));
            }
            index.insert(m.id.as_str(), mi);
        }
        for (mi, m) in c.messages.iter().enumerate() {
            if let Some(p) = &m.parent_id {
                if !index.contains_key(p.as_str()) {
                    return Err(format!(
                        "{at}.messages[{mi}].parent_id: {p} is not a message of this conversation"
                    ));
                }
            }
        }
        if let Some(h) = &c.head_id {
            if !index.contains_key(h.as_str()) {
                return Err(format!(
                    "{at}.head_id: {h} is not a message of this conversation"
                ));
            }
        }
        // Parent links must lead to a root. Each walk stops at a message already known to do
        // so, which keeps this linear in the number of messages.
        let mut reaches_root = vec![false; c.messages.len()];
        for start in 0..c.messages.len() {
            let mut path = Vec::new();
            let mut on_path = HashSet::new();
            let mut cursor = Some(start);
            while let Some(i) = cursor {
                if reaches_root[i] {
                    break;
                }
                if !on_path.insert(i) {
                    return Err(format!(
                        "{at}.messages[{start}].parent_id: the parent links form a cycle"
                    ));
                }
                path.push(i);
                cursor = c.messages[i]
                    .parent_id
                    .as_deref()
                    .and_then(|p| index.get(p).copied());
            }
            for i in path {
                reaches_root[i] = true;
            }
        }
    }
    Ok(())
}

#[cfg(feature = "sqlite")]
impl Store {
    /// Conversations with all their messages, oldest first (or in the order of `ids`).
    /// Soft-deleted conversations are left out; an unknown id is an error.
    pub fn export_dump(
        &self,
        ids: Option<&[Id]>,
        progress: Progress<'_>,
    ) -> Result<Vec<ConversationDump>> {
        let rows: Vec<(Conversation, Option<ProfileRef>)> = match ids {
            Some(ids) => ids
                .iter()
                .map(|id| {
                    self.conversation_with_profile(id)?
                        .ok_or_else(|| Error::not_found(format!("The conversation {id}")))
                })
                .collect::<Result<_>>()?,
            None => {
                let mut stmt = self.conn.prepare(
                    "SELECT c.*, p.name AS p_name, p.kind AS p_kind, p.base_url AS p_url
                     FROM conversations c LEFT JOIN profiles p ON p.id = c.profile_id
                     WHERE c.deleted_at IS NULL
                     ORDER BY c.created_at, c.id",
                )?;
                let rows = stmt.query_map([], conversation_and_profile)?;
                rows.collect::<rusqlite::Result<_>>()?
            }
        };
        let total = rows.len() as u64;
        let mut out = Vec::with_capacity(rows.len());
        for (done, (c, profile)) in rows.into_iter().enumerate() {
            if !progress(done as u64, total) {
                return Err(Error::Cancelled);
            }
            let messages = self
                .all_messages(&c.id)?
                .into_iter()
                .map(MessageDump::from_message)
                .collect();
            out.push(ConversationDump {
                id: c.id,
                title: c.title,
                created_at: c.created_at,
                updated_at: c.updated_at,
                pinned: c.pinned,
                archived: c.archived,
                profile,
                model: c.model,
                system_prompt: c.system_prompt,
                params: c.params,
                head_id: c.head_id,
                remote_session: c.remote_session,
                preset_id: c.preset_id,
                messages,
            });
        }
        progress(total, total);
        Ok(out)
    }

    /// The contents of every file the conversations' messages carry, each once, in the order
    /// they first appear.
    pub fn export_attachments(
        &self,
        conversations: &[ConversationDump],
    ) -> Result<Vec<AttachmentDump>> {
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        for c in conversations {
            for m in &c.messages {
                for p in &m.parts {
                    if let Part::Attachment(a) = p {
                        if seen.insert(a.sha256.clone()) {
                            let blob = self.attachment_data(&a.sha256)?;
                            out.push(AttachmentDump {
                                sha256: a.sha256.clone(),
                                mime: blob.mime,
                                data: blob.data,
                            });
                        }
                    }
                }
            }
        }
        Ok(out)
    }

    /// Every preset, by name, with its backend by reference.
    pub fn export_presets(&self) -> Result<Vec<PresetDump>> {
        let mut stmt = self.conn.prepare(
            "SELECT s.*, p.name AS p_name, p.kind AS p_kind, p.base_url AS p_url
             FROM presets s LEFT JOIN profiles p ON p.id = s.profile_id
             ORDER BY s.name COLLATE NOCASE",
        )?;
        let rows = stmt.query_map([], |r| {
            let preset = super::preset_from_row(r)?;
            Ok(PresetDump {
                id: preset.id,
                name: preset.name,
                system_prompt: preset.system_prompt,
                profile: profile_ref(r)?,
                model: preset.model,
                params: preset.params,
                is_default: preset.is_default,
                created_at: preset.created_at,
                updated_at: preset.updated_at,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn conversation_with_profile(
        &self,
        id: &str,
    ) -> Result<Option<(Conversation, Option<ProfileRef>)>> {
        Ok(self
            .conn
            .query_row(
                "SELECT c.*, p.name AS p_name, p.kind AS p_kind, p.base_url AS p_url
                 FROM conversations c LEFT JOIN profiles p ON p.id = c.profile_id
                 WHERE c.id = ?1 AND c.deleted_at IS NULL",
                [id],
                conversation_and_profile,
            )
            .optional()?)
    }

    /// Write a batch in one transaction. Conversations whose id is already present are skipped
    /// (a soft-deleted one is replaced, so importing brings it back); profiles are matched by
    /// name and created without a key when missing. Validation failures, id clashes and a cancel
    /// leave the database exactly as it was.
    pub fn import_dump(
        &mut self,
        format: ImportFormat,
        conversations: Vec<ConversationDump>,
        presets: Vec<PresetDump>,
        attachments: Vec<AttachmentDump>,
        progress: Progress<'_>,
    ) -> Result<ImportReport> {
        let bad = |detail: String| Error::BadImport {
            format: format.label().into(),
            detail,
        };
        validate(&conversations).map_err(bad)?;
        for (i, p) in presets.iter().enumerate() {
            if p.name.trim().is_empty() {
                return Err(bad(format!("presets[{i}].name: a preset needs a name")));
            }
            p.params
                .validate()
                .map_err(|e| bad(format!("presets[{i}].params: {e}")))?;
        }
        let total = conversations.len() as u64;
        let mut report = ImportReport {
            format: Some(format),
            ..Default::default()
        };
        if !progress(0, total) {
            return Err(Error::Cancelled);
        }
        for (i, a) in attachments.iter().enumerate() {
            if crate::engine::attachments::sha256_hex(&a.data) != a.sha256 {
                return Err(bad(format!(
                    "attachments[{i}].data: the content does not match its sha256 {}",
                    a.sha256
                )));
            }
        }
        let tx = self.conn.transaction()?;
        {
            // File contents first, so the messages that carry them can link them.
            for a in &attachments {
                tx.execute(
                    "INSERT OR IGNORE INTO attachments (sha256, mime, bytes, data, created_at)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![a.sha256, a.mime, a.data.len() as i64, a.data, now_ms()],
                )?;
            }
            let mut profiles: HashMap<String, String> = HashMap::new();
            // Presets first, so conversations can name the ones they started from.
            let mut has_default: bool = tx.query_row(
                "SELECT count(*) > 0 FROM presets WHERE is_default = 1",
                [],
                |r| r.get(0),
            )?;
            for p in presets {
                let present: bool = tx.query_row(
                    "SELECT count(*) > 0 FROM presets WHERE id = ?1 OR name = ?2 COLLATE NOCASE",
                    params![p.id, p.name.trim()],
                    |r| r.get(0),
                )?;
                if present {
                    report.presets_skipped += 1;
                    continue;
                }
                let profile_id = match &p.profile {
                    Some(r) => Some(resolve_profile(&tx, &mut profiles, r, &mut report)?),
                    None => None,
                };
                // The default stays the one already here, if any.
                let is_default = p.is_default && !has_default;
                has_default |= is_default;
                tx.execute(
                    "INSERT INTO presets (id, name, system_prompt, profile_id, model, params, is_default, created_at, updated_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                    params![
                        p.id,
                        p.name.trim(),
                        p.system_prompt,
                        profile_id,
                        p.model,
                        serde_json::to_string(&p.params).map_err(Error::db)?,
                        is_default,
                        p.created_at,
                        p.updated_at
                    ],
                )?;
                report.presets_imported += 1;
            }
            let mut existing = tx.prepare("SELECT deleted_at FROM conversations WHERE id = ?1")?;
            let mut owner = tx.prepare("SELECT conversation_id FROM messages WHERE id = ?1")?;
            let mut insert_conversation = tx.prepare(
                "INSERT INTO conversations (id, title, created_at, updated_at, pinned, archived, profile_id, model, system_prompt, params, head_id, remote_session, preset_id)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12,
                         (SELECT id FROM presets WHERE id = ?13))",
            )?;
            let mut insert_message = tx.prepare(
                "INSERT INTO messages (id, conversation_id, parent_id, role, parts, text, status, error, model, usage, cost, created_at, updated_at, finish_reason)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
            )?;
            for (ci, c) in conversations.into_iter().enumerate() {
                let found: Option<Option<i64>> =
                    existing.query_row([&c.id], |r| r.get(0)).optional()?;
                match found {
                    Some(None) => {
                        report.conversations_skipped += 1;
                        report.messages_skipped += c.messages.len() as u64;
                    }
                    deleted => {
                        if deleted.is_some() {
                            tx.execute("DELETE FROM conversations WHERE id = ?1", [&c.id])?;
                        }
                        for (mi, m) in c.messages.iter().enumerate() {
                            let other: Option<String> =
                                owner.query_row([&m.id], |r| r.get(0)).optional()?;
                            if let Some(other) = other {
                                return Err(bad(format!(
                                    "conversations[{ci}].messages[{mi}].id: the message {} already belongs to the conversation {other}",
                                    m.id
                                )));
                            }
                        }
                        let profile_id = match &c.profile {
                            Some(p) => Some(resolve_profile(&tx, &mut profiles, p, &mut report)?),
                            None => None,
                        };
                        let params_json = serde_json::to_string(&c.params).map_err(Error::db)?;
                        insert_conversation.execute(params![
                            c.id,
                            c.title,
                            c.created_at,
                            c.updated_at,
                            c.pinned,
                            c.archived,
                            profile_id,
                            c.model,
                            c.system_prompt,
                            params_json,
                            c.head_id,
                            c.remote_session,
                            c.preset_id
                        ])?;
                        for (mi, m) in c.messages.into_iter().enumerate() {
                            let m = m.into_message(&c.id);
                            let (parts, usage) = super::encode_message_json(&m)?;
                            insert_message.execute(params![
                                m.id,
                                m.conversation_id,
                                m.parent_id,
                                m.role.as_str(),
                                parts,
                                super::indexed_text(&m),
                                m.status.as_str(),
                                m.error,
                                m.model,
                                usage,
                                m.cost,
                                m.created_at,
                                m.updated_at,
                                m.finish_reason
                            ])?;
                            super::link_attachments(&tx, &m).map_err(|_| {
                                bad(format!(
                                    "conversations[{ci}].messages[{mi}].parts: a file the message carries is not in the file's \"attachments\""
                                ))
                            })?;
                            report.messages_imported += 1;
                        }
                        report.conversations_imported += 1;
                    }
                }
                if !progress(ci as u64 + 1, total) {
                    return Err(Error::Cancelled);
                }
            }
        }
        if let Some(job) = crate::engine::portability::current_job() {
            tx.execute(
                "INSERT OR REPLACE INTO settings (key, value) VALUES ('last_import_job', ?1)",
                [&job],
            )?;
        }
        tx.commit()?;
        Ok(report)
    }

    /// Whether the import run as `job` was committed (see [`crate::engine::portability::current_job`]).
    pub fn import_committed(&self, job: &str) -> Result<bool> {
        Ok(self
            .conn
            .query_row(
                "SELECT value = ?1 FROM settings WHERE key = 'last_import_job'",
                [job],
                |r| r.get(0),
            )
            .optional()?
            .unwrap_or(false))
    }

    /// The whole database as one file's bytes, from one consistent snapshot: what "Back up now"
    /// downloads in the browser, where there is no backups folder. The image is a plain
    /// (rollback-journal) database file, so it opens anywhere and restores on any device.
    pub fn database_image(&mut self) -> Result<Vec<u8>> {
        let mut image = self.conn.serialize(rusqlite::MAIN_DB)?.to_vec();
        plain_journal_header(&mut image);
        Ok(image)
    }

    /// The checks a backup file gets before a restore, on an image of it; `name` is the file's
    /// name for the sentence. Returns the image's schema version.
    pub fn check_image(name: &str, image: Vec<u8>) -> Result<i64> {
        Self::open_image(name, image).map(|(_, version)| version)
    }

    fn open_image(name: &str, mut image: Vec<u8>) -> Result<(Connection, i64)> {
        let bad = |detail: String| Error::BadBackup {
            path: name.to_owned(),
            detail,
        };
        if image.len() < 100 || !image.starts_with(b"SQLite format 3\0") {
            return Err(bad("it is not a SQLite database".into()));
        }
        plain_journal_header(&mut image);
        let mut conn = Connection::open_in_memory()?;
        let len = image.len();
        conn.deserialize_read_exact(rusqlite::MAIN_DB, image.as_slice(), len, false)
            .map_err(|e| bad(format!("it could not be opened ({e})")))?;
        let version = crate::engine::portability::validate_connection(&conn, bad)?;
        Ok((conn, version))
    }

    /// Replace the whole history with a backup image (checked first as [`Store::check_image`]
    /// does; nothing changes when a check fails). The copy is SQLite's online backup into this
    /// database, one transaction; then the store opens again, which brings an older schema up
    /// to date.
    pub fn restore_image(&mut self, name: &str, image: Vec<u8>) -> Result<i64> {
        let (source, version) = Self::open_image(name, image)?;
        {
            let backup = rusqlite::backup::Backup::new(&source, &mut self.conn)?;
            backup
                .run_to_completion(1024, std::time::Duration::ZERO, None)
                .map_err(|e| Error::BadBackup {
                    path: name.to_owned(),
                    detail: format!(
                        "it could not be copied into the history ({e}); nothing was changed"
                    ),
                })?;
        }
        drop(source);
        if self.path.is_some() {
            self.with_file_closed(|_| Ok(()))?;
        } else {
            self.migrate()?;
        }
        tracing::info!(from = name, "history restored from an uploaded backup");
        Ok(version)
    }

    /// Copy a consistent snapshot of the database to `dest` with SQLite's online backup API.
    ///
    /// The copy runs inside one read transaction on this connection: every step then reads the
    /// same snapshot, so writers on other connections (the CLI, another window) neither block
    /// nor restart it, which a plain stepwise backup would do again and again under steady
    /// writes. The file appears under its final name only when complete; a cancel or an error
    /// leaves nothing behind.
    pub fn snapshot_to(&self, dest: &Path, progress: Progress<'_>) -> Result<()> {
        if let Some(dir) = dest.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        }
        let partial = partial_path(dest);
        let _ = std::fs::remove_file(&partial);
        let result = self.snapshot_steps(&partial, progress);
        match result {
            Ok(()) => {
                // The backup connection is closed; make the bytes durable before the name.
                if let Ok(f) = std::fs::File::open(&partial) {
                    let _ = f.sync_all();
                }
                std::fs::rename(&partial, dest).map_err(|e| Error::io(dest, e))
            }
            Err(e) => {
                let _ = std::fs::remove_file(&partial);
                for suffix in ["-wal", "-shm", "-journal"] {
                    let mut p = partial.clone().into_os_string();
                    p.push(suffix);
                    let _ = std::fs::remove_file(PathBuf::from(p));
                }
                Err(e)
            }
        }
    }

    fn snapshot_steps(&self, partial: &Path, progress: Progress<'_>) -> Result<()> {
        let mut dst = Connection::open(partial).map_err(|e| Error::io(partial, e))?;
        let own_transaction = self.conn.is_autocommit();
        if own_transaction {
            self.conn.execute_batch("BEGIN DEFERRED")?;
            // A deferred transaction takes its snapshot at the first read.
            if let Err(e) = self
                .conn
                .query_row("SELECT count(*) FROM sqlite_master", [], |r| {
                    r.get::<_, i64>(0)
                })
            {
                let _ = self.conn.execute_batch("ROLLBACK");
                return Err(e.into());
            }
        }
        let copied = (|| -> Result<()> {
            use rusqlite::backup::{Backup, StepResult};
            let backup = Backup::new(&self.conn, &mut dst).map_err(|e| Error::io(partial, e))?;
            loop {
                let step = backup
                    .step(SNAPSHOT_STEP_PAGES)
                    .map_err(|e| Error::io(partial, e))?;
                let p = backup.progress();
                let total = p.pagecount.max(0) as u64;
                let done = total.saturating_sub(p.remaining.max(0) as u64);
                match step {
                    StepResult::Done => {
                        progress(total, total);
                        return Ok(());
                    }
                    StepResult::More => {}
                    // Only the destination can be busy (nobody else knows the partial file).
                    _ => std::thread::sleep(std::time::Duration::from_millis(5)),
                }
                if !progress(done, total) {
                    return Err(Error::Cancelled);
                }
            }
        })();
        if own_transaction {
            let _ = self.conn.execute_batch("ROLLBACK");
        }
        copied?;
        drop(dst);
        Ok(())
    }
}

/// Pages copied per backup step: small enough for smooth progress and a quick cancel.
/// Mark a database image as rollback-journal mode (header bytes 18 and 19): an image of a
/// database in WAL mode cannot be opened from memory, and a file without its WAL is one anyway.
#[cfg(feature = "sqlite")]
fn plain_journal_header(image: &mut [u8]) {
    if image.len() >= 100 && image[18] == 2 && image[19] == 2 {
        image[18] = 1;
        image[19] = 1;
    }
}

#[cfg(feature = "sqlite")]
const SNAPSHOT_STEP_PAGES: std::ffi::c_int = 256;

#[cfg(feature = "sqlite")]
fn partial_path(dest: &Path) -> PathBuf {
    let mut name = dest.as_os_str().to_owned();
    name.push(".partial");
    PathBuf::from(name)
}

#[cfg(feature = "sqlite")]
fn conversation_and_profile(
    r: &rusqlite::Row,
) -> rusqlite::Result<(Conversation, Option<ProfileRef>)> {
    Ok((conversation_from_row(r)?, profile_ref(r)?))
}

/// The backend reference joined into a row as `p_name`, `p_kind`, `p_url`.
#[cfg(feature = "sqlite")]
fn profile_ref(r: &rusqlite::Row) -> rusqlite::Result<Option<ProfileRef>> {
    let name: Option<String> = r.get("p_name")?;
    let kind: Option<String> = r.get("p_kind")?;
    let url: Option<String> = r.get("p_url")?;
    Ok(
        match (name, kind.as_deref().and_then(BackendKind::parse), url) {
            (Some(name), Some(kind), Some(url)) => Some(ProfileRef { name, kind, url }),
            _ => None,
        },
    )
}

/// The id of the profile named `p.name`, creating a keyless one from the reference when there
/// is none, so the conversation keeps its backend and the user only has to add the key.
#[cfg(feature = "sqlite")]
fn resolve_profile(
    tx: &rusqlite::Transaction<'_>,
    cache: &mut HashMap<String, String>,
    p: &ProfileRef,
    report: &mut ImportReport,
) -> Result<String> {
    if let Some(id) = cache.get(&p.name) {
        return Ok(id.clone());
    }
    let found: Option<String> = tx
        .query_row("SELECT id FROM profiles WHERE name = ?1", [&p.name], |r| {
            r.get(0)
        })
        .optional()?;
    let id = match found {
        Some(id) => id,
        None => {
            let profile = Profile::new(p.name.clone(), p.kind, p.url.clone());
            tx.execute(
                "INSERT INTO profiles (id, name, kind, base_url, headers, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, '[]', ?5, ?6)",
                params![
                    profile.id,
                    profile.name,
                    profile.kind.as_str(),
                    profile.base_url,
                    profile.created_at,
                    profile.updated_at
                ],
            )?;
            report.profiles_created += 1;
            profile.id
        }
    };
    cache.insert(p.name.clone(), id.clone());
    Ok(id)
}
