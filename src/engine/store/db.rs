//! The SQLite side of the store: [`Store`] and the row readers and writers its siblings share.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use rusqlite::{params, Connection, OpenFlags, OptionalExtension, Row};

use super::schema;
use crate::engine::error::{Error, Result};
use crate::engine::model::*;

/// The conversations retention deletes: not pinned, untouched since `?1`.
const RETENTION_WHERE: &str = "pinned = 0 AND updated_at < ?1";

pub struct Store {
    pub(super) conn: Connection,
    pub(super) path: Option<PathBuf>,
    /// Shared lock on `<db>.lock` while this store is open; see [`Store::open`].
    _lock: Option<std::fs::File>,
}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        Error::db(e)
    }
}

fn is_corruption(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::NotADatabase) | Some(rusqlite::ErrorCode::DatabaseCorrupt)
    )
}

impl Store {
    /// Open (creating if needed) the database file, apply pending migrations and recover from an
    /// unclean exit: replies still marked `streaming` can only be left over from a crash.
    pub fn open(path: &Path) -> Result<Store> {
        // In the browser the path lives in the OPFS pool VFS, which has no directories.
        #[cfg(not(target_family = "wasm"))]
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        }
        let display = path.display().to_string();
        let corrupt = |e: rusqlite::Error| {
            if is_corruption(&e) {
                Error::DatabaseCorrupt {
                    path: display.clone(),
                    detail: e.to_string(),
                }
            } else {
                Error::db(e)
            }
        };
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(corrupt)?;
        // The first real read tells a damaged or foreign file apart from a database.
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(corrupt)?;
        conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
            r.get::<_, i64>(0)
        })
        .map_err(corrupt)?;
        if version > schema::LATEST {
            return Err(Error::DatabaseTooNew {
                path: display,
                found: version,
                supported: schema::LATEST,
            });
        }
        // WAL needs shared memory between connections, which the browser's OPFS pool VFS does
        // not offer (one connection owns the file there); a rollback journal is used instead.
        let journal = if cfg!(target_family = "wasm") {
            "TRUNCATE"
        } else {
            "WAL"
        };
        conn.pragma_update(None, "journal_mode", journal)
            .map_err(corrupt)?;
        // Several processes may share a database (the app and the CLI). Only the first one in
        // may treat `streaming` replies as left over from a crash: for any later one they may
        // be another process's live streams. The lock file tells them apart.
        let (lock, alone) = open_lock(path)?;
        let mut store = Store {
            conn,
            path: Some(path.to_owned()),
            _lock: lock,
        };
        store.configure()?;
        store.migrate()?;
        if alone {
            store.recover_interrupted()?;
        }
        Ok(store)
    }

    pub fn open_in_memory() -> Result<Store> {
        let conn = Connection::open_in_memory()?;
        let mut store = Store {
            conn,
            path: None,
            _lock: None,
        };
        store.configure()?;
        store.migrate()?;
        Ok(store)
    }

    fn configure(&mut self) -> Result<()> {
        #[cfg(target_family = "wasm")]
        super::sql_json::define(&self.conn)?;
        self.conn.pragma_update(None, "foreign_keys", "ON")?;
        self.conn.pragma_update(None, "synchronous", "NORMAL")?;
        self.conn.pragma_update(None, "busy_timeout", 5000)?;
        // Room for every statement the store runs often (the sync merge alone has about 30),
        // so none is parsed again for each row.
        self.conn.set_prepared_statement_cache_capacity(128);
        Ok(())
    }

    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    pub fn schema_version(&self) -> Result<i64> {
        Ok(self
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))?)
    }

    /// Bring the schema up to `target` (normally [`schema::LATEST`]); tests use lower targets to
    /// build databases as older versions wrote them.
    pub fn migrate_to(&mut self, target: i64) -> Result<()> {
        let current = self.schema_version()?;
        for (index, step) in schema::MIGRATIONS.iter().enumerate() {
            let version = index as i64 + 1;
            if version <= current || version > target {
                continue;
            }
            let tx = self.conn.transaction()?;
            tx.execute_batch(step)?;
            tx.pragma_update(None, "user_version", version)?;
            tx.commit()?;
            tracing::info!(version, "database migrated");
        }
        Ok(())
    }

    pub(super) fn migrate(&mut self) -> Result<()> {
        self.migrate_to(schema::LATEST)
    }

    fn recover_interrupted(&mut self) -> Result<()> {
        let n = self.conn.execute(
            "UPDATE messages SET status = 'interrupted', error = coalesce(error, ?1), updated_at = ?2
             WHERE status = 'streaming'",
            params![
                "The app closed before this reply finished; the partial text was kept.",
                now_ms()
            ],
        )?;
        if n > 0 {
            tracing::warn!(
                count = n,
                "replies left streaming by an unclean exit marked interrupted"
            );
        }
        Ok(())
    }

    /// Open a database by path without migrating it (used to build old-schema fixtures).
    pub fn open_raw(path: &Path) -> Result<Store> {
        let conn = Connection::open(path)?;
        let mut store = Store {
            conn,
            path: Some(path.to_owned()),
            _lock: None,
        };
        store.configure()?;
        Ok(store)
    }

    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    // ---- profiles ------------------------------------------------------------------------

    pub fn list_profiles(&self) -> Result<Vec<Profile>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT * FROM profiles ORDER BY name COLLATE NOCASE")?;
        let rows = stmt.query_map([], profile_from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub fn get_profile(&self, id_or_name: &str) -> Result<Profile> {
        self.conn
            .query_row(
                "SELECT * FROM profiles WHERE id = ?1 OR name = ?1",
                [id_or_name],
                profile_from_row,
            )
            .optional()?
            .ok_or_else(|| Error::not_found(format!("The backend profile '{id_or_name}'")))
    }

    pub fn save_profile(&self, p: &Profile) -> Result<()> {
        if p.name.trim().is_empty() {
            return Err(Error::Invalid(
                "A backend profile needs a name. Enter one and save again.".into(),
            ));
        }
        let clash: Option<String> = self
            .conn
            .query_row(
                "SELECT id FROM profiles WHERE name = ?1 AND id <> ?2",
                params![p.name, p.id],
                |r| r.get(0),
            )
            .optional()?;
        if clash.is_some() {
            return Err(Error::Invalid(format!(
                "A backend profile named '{}' already exists. Choose another name.",
                p.name
            )));
        }
        write_profile_row(&self.conn, p, &p.name)
    }

    pub fn delete_profile(&self, id: &str) -> Result<()> {
        let n = self
            .conn
            .execute("DELETE FROM profiles WHERE id = ?1", [id])?;
        if n == 0 {
            return Err(Error::not_found("The backend profile"));
        }
        Ok(())
    }

    /// Whether the backend takes `stream_options` (`None`: not known yet).
    pub fn stream_usage(&self, profile_id: &str) -> Result<Option<bool>> {
        Ok(self
            .conn
            .query_row(
                "SELECT stream_usage FROM profiles WHERE id = ?1",
                [profile_id],
                |r| r.get::<_, Option<bool>>(0),
            )
            .optional()?
            .flatten())
    }

    pub fn set_stream_usage(&self, profile_id: &str, accepted: bool) -> Result<()> {
        self.conn.execute(
            "UPDATE profiles SET stream_usage = ?2 WHERE id = ?1",
            params![profile_id, accepted],
        )?;
        Ok(())
    }

    // ---- prices and model lists ------------------------------------------------------------

    pub fn set_price(&self, price: &ModelPrice) -> Result<()> {
        price.validate()?;
        self.get_profile(&price.profile_id)?;
        self.conn.execute(
            "INSERT INTO model_prices (profile_id, model, input_per_million, output_per_million)
             VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT(profile_id, model) DO UPDATE SET
               input_per_million = excluded.input_per_million,
               output_per_million = excluded.output_per_million",
            params![
                price.profile_id,
                price.model.trim(),
                price.input_per_million,
                price.output_per_million
            ],
        )?;
        Ok(())
    }

    pub fn delete_price(&self, profile_id: &str, model: &str) -> Result<()> {
        self.conn.execute(
            "DELETE FROM model_prices WHERE profile_id = ?1 AND model = ?2",
            params![profile_id, model],
        )?;
        Ok(())
    }

    /// Prices set for a backend (every backend when `None`), by model.
    pub fn list_prices(&self, profile_id: Option<&str>) -> Result<Vec<ModelPrice>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT profile_id, model, input_per_million, output_per_million FROM model_prices
             WHERE ?1 IS NULL OR profile_id = ?1 ORDER BY profile_id, model",
        )?;
        let rows = stmt.query_map([profile_id], |r| {
            Ok(ModelPrice {
                profile_id: r.get(0)?,
                model: r.get(1)?,
                input_per_million: r.get(2)?,
                output_per_million: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub fn get_price(&self, profile_id: &str, model: &str) -> Result<Option<ModelPrice>> {
        Ok(self
            .list_prices(Some(profile_id))?
            .into_iter()
            .find(|p| p.model == model))
    }

    pub fn save_model_list(&self, profile_id: &str, list: &ModelList) -> Result<()> {
        let models = serde_json::to_string(&list.models).map_err(Error::db)?;
        self.conn.execute(
            "INSERT INTO model_lists (profile_id, models, fetched_at) VALUES (?1, ?2, ?3)
             ON CONFLICT(profile_id) DO UPDATE SET models = excluded.models, fetched_at = excluded.fetched_at",
            params![profile_id, models, list.fetched_at],
        )?;
        Ok(())
    }

    pub fn model_list(&self, profile_id: &str) -> Result<Option<ModelList>> {
        let row: Option<(String, i64)> = self
            .conn
            .query_row(
                "SELECT models, fetched_at FROM model_lists WHERE profile_id = ?1",
                [profile_id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        Ok(row.map(|(models, fetched_at)| ModelList {
            models: serde_json::from_str(&models).unwrap_or_default(),
            fetched_at,
        }))
    }

    // ---- presets ---------------------------------------------------------------------------

    pub fn list_presets(&self) -> Result<Vec<Preset>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT * FROM presets ORDER BY name COLLATE NOCASE")?;
        let rows = stmt.query_map([], preset_from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub fn get_preset(&self, id_or_name: &str) -> Result<Preset> {
        self.conn
            .query_row(
                "SELECT * FROM presets WHERE id = ?1 OR name = ?1 COLLATE NOCASE",
                [id_or_name],
                preset_from_row,
            )
            .optional()?
            .ok_or_else(|| Error::not_found(format!("The preset '{id_or_name}'")))
    }

    /// Insert or update a preset. Making it the default takes that from any other preset; a
    /// backend that no longer exists is refused with a sentence.
    pub fn save_preset(&mut self, p: &Preset) -> Result<()> {
        p.validate()?;
        let tx = self.conn.transaction()?;
        let clash: Option<String> = tx
            .query_row(
                "SELECT id FROM presets WHERE name = ?1 COLLATE NOCASE AND id <> ?2",
                params![p.name.trim(), p.id],
                |r| r.get(0),
            )
            .optional()?;
        if clash.is_some() {
            return Err(Error::Invalid(format!(
                "A preset named '{}' already exists. Choose another name.",
                p.name.trim()
            )));
        }
        if let Some(profile) = &p.profile_id {
            let known: bool = tx.query_row(
                "SELECT count(*) > 0 FROM profiles WHERE id = ?1",
                [profile],
                |r| r.get(0),
            )?;
            if !known {
                return Err(Error::Invalid(
                    "The preset's backend no longer exists; choose another one.".into(),
                ));
            }
        }
        if p.is_default {
            tx.execute(
                "UPDATE presets SET is_default = 0 WHERE is_default = 1 AND id <> ?1",
                [&p.id],
            )?;
        }
        write_preset_row(&tx, p, p.name.trim(), p.is_default)?;
        tx.commit()?;
        Ok(())
    }

    pub fn delete_preset(&self, id_or_name: &str) -> Result<()> {
        let p = self.get_preset(id_or_name)?;
        self.conn
            .execute("DELETE FROM presets WHERE id = ?1", [&p.id])?;
        Ok(())
    }

    pub fn default_preset(&self) -> Result<Option<Preset>> {
        Ok(self
            .conn
            .query_row(
                "SELECT * FROM presets WHERE is_default = 1",
                [],
                preset_from_row,
            )
            .optional()?)
    }

    // ---- conversations -------------------------------------------------------------------

    pub fn list_conversations(&self, f: &ConversationFilter) -> Result<Vec<ConversationSummary>> {
        let limit = if f.limit == 0 { 200 } else { f.limit };
        let mut stmt = self.conn.prepare_cached(
            "SELECT c.*, p.name AS profile_name, p.kind AS profile_kind,
                    (SELECT count(*) FROM messages m WHERE m.conversation_id = c.id) AS message_count
             FROM conversations c LEFT JOIN profiles p ON p.id = c.profile_id
             WHERE c.deleted_at IS NULL AND c.archived = ?1 AND (?2 IS NULL OR c.profile_id = ?2)
             ORDER BY c.pinned DESC, c.updated_at DESC, c.id DESC
             LIMIT ?3 OFFSET ?4",
        )?;
        let rows = stmt.query_map(params![f.archived, f.profile_id, limit, f.offset], |r| {
            Ok(ConversationSummary {
                conversation: conversation_from_row(r)?,
                profile_name: r.get("profile_name")?,
                profile_kind: r
                    .get::<_, Option<String>>("profile_kind")?
                    .and_then(|k| BackendKind::parse(&k)),
                message_count: r.get("message_count")?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub fn get_conversation(&self, id: &str) -> Result<Conversation> {
        self.conn
            .query_row(
                "SELECT * FROM conversations WHERE id = ?1 AND deleted_at IS NULL",
                [id],
                conversation_from_row,
            )
            .optional()?
            .ok_or_else(|| Error::not_found(format!("The conversation {id}")))
    }

    /// Insert a new conversation. It is an error if one with this id exists: a conversation's
    /// fields change only through [`Store::update_conversation`], and its head only through
    /// saving a message or choosing a branch.
    pub fn create_conversation(&self, c: &Conversation) -> Result<()> {
        let params_json = serde_json::to_string(&c.params).map_err(Error::db)?;
        let n = self.conn.execute(
            "INSERT INTO conversations (id, title, created_at, updated_at, pinned, archived, profile_id, model, system_prompt, params, head_id, remote_session, preset_id)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12,
                     (SELECT id FROM presets WHERE id = ?13))
             ON CONFLICT(id) DO NOTHING",
            params![
                c.id, c.title, c.created_at, c.updated_at, c.pinned, c.archived, c.profile_id,
                c.model, c.system_prompt, params_json, c.head_id, c.remote_session, c.preset_id
            ],
        )?;
        if n == 0 {
            return Err(Error::Invalid(format!(
                "A conversation with the id {} already exists; nothing was changed.",
                c.id
            )));
        }
        Ok(())
    }

    /// Change some fields of a conversation, in one transaction, and return it as saved. Each
    /// edit writes only its own columns: never the head (the visible branch), so a view's stale
    /// copy of a conversation can never rewind or clear its thread. Invalid edits change
    /// nothing.
    pub fn update_conversation(
        &mut self,
        id: &str,
        edits: &[ConversationEdit],
    ) -> Result<Conversation> {
        for edit in edits {
            edit.validate()?;
        }
        let tx = self.conn.transaction()?;
        let exists: bool = tx.query_row(
            "SELECT count(*) > 0 FROM conversations WHERE id = ?1 AND deleted_at IS NULL",
            [id],
            |r| r.get(0),
        )?;
        if !exists {
            return Err(Error::not_found(format!("The conversation {id}")));
        }
        for edit in edits {
            match edit {
                ConversationEdit::Title(t) => tx.execute(
                    "UPDATE conversations SET title = ?2 WHERE id = ?1",
                    params![id, t.trim()],
                )?,
                ConversationEdit::Pinned(v) => tx.execute(
                    "UPDATE conversations SET pinned = ?2 WHERE id = ?1",
                    params![id, v],
                )?,
                ConversationEdit::Archived(v) => tx.execute(
                    "UPDATE conversations SET archived = ?2 WHERE id = ?1",
                    params![id, v],
                )?,
                ConversationEdit::Backend { profile_id, model } => tx.execute(
                    "UPDATE conversations SET profile_id = ?2, model = ?3 WHERE id = ?1",
                    params![id, profile_id, model],
                )?,
                ConversationEdit::Model(m) => tx.execute(
                    "UPDATE conversations SET model = ?2 WHERE id = ?1",
                    params![id, m],
                )?,
                ConversationEdit::SystemPrompt(p) => tx.execute(
                    "UPDATE conversations SET system_prompt = ?2 WHERE id = ?1",
                    params![id, p],
                )?,
                ConversationEdit::Params(p) => tx.execute(
                    "UPDATE conversations SET params = ?2 WHERE id = ?1",
                    params![id, serde_json::to_string(p).map_err(Error::db)?],
                )?,
                ConversationEdit::RemoteSession(r) => tx.execute(
                    "UPDATE conversations SET remote_session = ?2 WHERE id = ?1",
                    params![id, r],
                )?,
                ConversationEdit::CreatedAt(t) => tx.execute(
                    "UPDATE conversations SET created_at = ?2 WHERE id = ?1",
                    params![id, t],
                )?,
            };
        }
        let conv = tx.query_row(
            "SELECT * FROM conversations WHERE id = ?1",
            [id],
            conversation_from_row,
        )?;
        tx.commit()?;
        Ok(conv)
    }

    /// Hide a conversation (undo with [`Store::undelete_conversation`]); purged later.
    pub fn delete_conversation(&self, id: &str) -> Result<()> {
        let n = self.conn.execute(
            "UPDATE conversations SET deleted_at = ?2 WHERE id = ?1 AND deleted_at IS NULL",
            params![id, now_ms()],
        )?;
        if n == 0 {
            return Err(Error::not_found(format!("The conversation {id}")));
        }
        Ok(())
    }

    pub fn undelete_conversation(&self, id: &str) -> Result<()> {
        self.conn.execute(
            "UPDATE conversations SET deleted_at = NULL WHERE id = ?1",
            [id],
        )?;
        Ok(())
    }

    /// Remove soft-deleted conversations for good (their messages cascade).
    pub fn purge_deleted(&self, deleted_before: i64) -> Result<usize> {
        Ok(self.conn.execute(
            "DELETE FROM conversations WHERE deleted_at IS NOT NULL AND deleted_at <= ?1",
            [deleted_before],
        )?)
    }

    /// Delete conversations not updated since `cutoff` (the retention setting). Pinned ones stay.
    /// Delete the conversations the retention setting lets go: not pinned, untouched since
    /// `cutoff` (see [`crate::engine::model::retention_cutoff`]). Returns how many.
    pub fn apply_retention(&self, cutoff: i64) -> Result<usize> {
        Ok(self.conn.execute(
            &format!("DELETE FROM conversations WHERE {RETENTION_WHERE}"),
            [cutoff],
        )?)
    }

    /// How many conversations [`Store::apply_retention`] would delete now.
    pub fn count_retention(&self, cutoff: i64) -> Result<i64> {
        Ok(self.conn.query_row(
            &format!("SELECT count(*) FROM conversations WHERE {RETENTION_WHERE}"),
            [cutoff],
            |r| r.get(0),
        )?)
    }

    pub fn count_conversations(&self) -> Result<i64> {
        Ok(self.conn.query_row(
            "SELECT count(*) FROM conversations WHERE deleted_at IS NULL",
            [],
            |r| r.get(0),
        )?)
    }

    // ---- messages ------------------------------------------------------------------------

    /// Insert or update a message, refresh the conversation's `updated_at`, and when `make_head`
    /// is set make it the conversation's current leaf.
    pub fn save_message(&mut self, m: &Message, make_head: bool) -> Result<()> {
        self.save_message_with_files(m, &[], make_head)
    }

    /// Save a message with the contents of the files it carries, in one transaction. A
    /// content already stored (the same file in another message or branch) is not stored
    /// again. Every attachment part of the message must name a content given here or
    /// already stored.
    pub fn save_message_with_files(
        &mut self,
        m: &Message,
        files: &[crate::engine::attachments::NewAttachment],
        make_head: bool,
    ) -> Result<()> {
        let tx = self.conn.transaction()?;
        for f in files {
            tx.execute(
                "INSERT OR IGNORE INTO attachments (sha256, mime, bytes, data, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    f.sha256(),
                    f.mime,
                    f.data.len() as i64,
                    f.data,
                    m.created_at
                ],
            )?;
        }
        write_message_row(&tx, m)?;
        link_attachments(&tx, m)?;
        if make_head {
            tx.execute(
                "UPDATE conversations SET head_id = ?2, updated_at = max(updated_at, ?3) WHERE id = ?1",
                params![m.conversation_id, m.id, m.updated_at],
            )?;
        } else {
            tx.execute(
                "UPDATE conversations SET updated_at = max(updated_at, ?2) WHERE id = ?1",
                params![m.conversation_id, m.updated_at],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    pub fn get_message(&self, id: &str) -> Result<Message> {
        self.conn
            .query_row(
                "SELECT * FROM messages WHERE id = ?1",
                [id],
                message_from_row,
            )
            .optional()?
            .ok_or_else(|| Error::not_found("The message"))
    }

    /// Every message of a conversation in insertion order, all branches included.
    pub fn all_messages(&self, conversation_id: &str) -> Result<Vec<Message>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT * FROM messages WHERE conversation_id = ?1 ORDER BY seq")?;
        let rows = stmt.query_map([conversation_id], message_from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// A stored file's type and content.
    pub fn attachment_data(&self, sha256: &str) -> Result<crate::engine::attachments::Blob> {
        self.conn
            .query_row(
                "SELECT mime, data FROM attachments WHERE sha256 = ?1",
                [sha256],
                |r| {
                    Ok(crate::engine::attachments::Blob {
                        mime: r.get(0)?,
                        data: r.get(1)?,
                    })
                },
            )
            .optional()?
            .ok_or_else(|| Error::not_found("The attached file"))
    }

    /// How many distinct file contents are stored, and their total size.
    pub fn attachment_stats(&self) -> Result<(i64, i64)> {
        Ok(self.conn.query_row(
            "SELECT count(*), coalesce(sum(bytes), 0) FROM attachments",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?)
    }

    /// Tokens and cost over every reply of a conversation (all branches).
    pub fn usage_total(&self, conversation_id: &str) -> Result<UsageTotal> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT usage, cost FROM messages
             WHERE conversation_id = ?1 AND (usage IS NOT NULL OR cost IS NOT NULL)",
        )?;
        let mut total = UsageTotal::default();
        let rows = stmt.query_map([conversation_id], |r| {
            Ok((r.get::<_, Option<String>>(0)?, r.get::<_, Option<f64>>(1)?))
        })?;
        for row in rows {
            let (usage, cost) = row?;
            let usage = usage.and_then(|u| serde_json::from_str::<Usage>(&u).ok());
            total.add(usage.as_ref(), cost);
        }
        Ok(total)
    }

    /// The visible thread: the head's ancestor chain from the root, each with its alternatives.
    pub fn thread(&self, conversation_id: &str) -> Result<Vec<ThreadMessage>> {
        let conv = self.get_conversation(conversation_id)?;
        let all = self.all_messages(conversation_id)?;
        Ok(build_thread(all, conv.head_id.as_deref()))
    }

    /// The end of the visible thread: at most `limit` messages up from the head, each with its
    /// alternatives, exactly the last `limit` of [`Store::thread`]; `earlier` says whether the
    /// thread goes on above them. What a conversation shows first, without reading the rest.
    pub fn thread_tail(&self, conversation_id: &str, limit: usize) -> Result<ThreadTail> {
        let conv = self.get_conversation(conversation_id)?;
        let mut message = self
            .conn
            .prepare_cached("SELECT * FROM messages WHERE id = ?1 AND conversation_id = ?2")?;
        let mut chain = Vec::new();
        let mut cursor = conv.head_id;
        while let Some(id) = cursor.take() {
            let Some(m) = message
                .query_row(params![id, conversation_id], message_from_row)
                .optional()?
            else {
                break;
            };
            if chain.len() == limit {
                cursor = Some(m.id);
                break;
            }
            cursor = m.parent_id.clone();
            chain.push(m);
        }
        let earlier = cursor.is_some();
        chain.reverse();
        // The alternatives of each, in the order `thread` gives them (insertion order).
        let mut children = self
            .conn
            .prepare_cached("SELECT id FROM messages WHERE parent_id = ?1 ORDER BY seq")?;
        let mut roots = self.conn.prepare_cached(
            "SELECT id FROM messages WHERE conversation_id = ?1 AND parent_id IS NULL ORDER BY seq",
        )?;
        let mut siblings: HashMap<Option<String>, Vec<String>> = HashMap::new();
        for m in &chain {
            if siblings.contains_key(&m.parent_id) {
                continue;
            }
            let ids = match &m.parent_id {
                Some(p) => children
                    .query_map([p], |r| r.get(0))?
                    .collect::<rusqlite::Result<Vec<String>>>()?,
                None => roots
                    .query_map([conversation_id], |r| r.get(0))?
                    .collect::<rusqlite::Result<Vec<String>>>()?,
            };
            siblings.insert(m.parent_id.clone(), ids);
        }
        Ok(ThreadTail {
            messages: with_alternatives(chain, &siblings),
            earlier,
        })
    }

    /// Switch the visible branch to `message_id`: the head becomes its newest descendant leaf.
    pub fn select_branch(&self, conversation_id: &str, message_id: &str) -> Result<()> {
        let all = self.all_messages(conversation_id)?;
        if !all.iter().any(|m| m.id == message_id) {
            return Err(Error::not_found("The message"));
        }
        let mut children: HashMap<&str, Vec<&Message>> = HashMap::new();
        for m in &all {
            if let Some(p) = m.parent_id.as_deref() {
                children.entry(p).or_default().push(m);
            }
        }
        let mut leaf = message_id;
        while let Some(kids) = children.get(leaf) {
            match kids.last() {
                Some(k) => leaf = &k.id,
                None => break,
            }
        }
        self.conn.execute(
            "UPDATE conversations SET head_id = ?2 WHERE id = ?1",
            params![conversation_id, leaf],
        )?;
        Ok(())
    }

    /// Delete a message and everything that follows from it on its branch (its replies, and
    /// theirs). Other branches stay. When the visible branch ran through it, the newest
    /// remaining alternative (a sibling) is shown instead, or else the branch ends at its
    /// parent. Returns the conversation as saved.
    pub fn delete_message(&mut self, message_id: &str) -> Result<Conversation> {
        let m = self.get_message(message_id)?;
        let tx = self.conn.transaction()?;
        let subtree: Vec<String> = {
            let mut stmt = tx.prepare(
                "WITH RECURSIVE sub(id) AS (
                   SELECT ?1 UNION ALL SELECT m.id FROM messages m JOIN sub ON m.parent_id = sub.id
                 ) SELECT id FROM sub",
            )?;
            let rows = stmt.query_map([message_id], |r| r.get(0))?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        let head: Option<String> = tx.query_row(
            "SELECT head_id FROM conversations WHERE id = ?1",
            [&m.conversation_id],
            |r| r.get(0),
        )?;
        {
            let mut del = tx.prepare_cached("DELETE FROM messages WHERE id = ?1")?;
            for id in &subtree {
                del.execute([id])?;
            }
        }
        if head.as_ref().is_some_and(|h| subtree.contains(h)) {
            // The newest sibling left, then down its newest replies; else the parent.
            let sibling: Option<String> = tx
                .query_row(
                    "SELECT id FROM messages WHERE conversation_id = ?1 AND parent_id IS ?2
                     ORDER BY seq DESC LIMIT 1",
                    params![m.conversation_id, m.parent_id],
                    |r| r.get(0),
                )
                .optional()?;
            let mut leaf = sibling.or(m.parent_id.clone());
            while let Some(current) = leaf.clone() {
                let child: Option<String> = tx
                    .query_row(
                        "SELECT id FROM messages WHERE parent_id = ?1 ORDER BY seq DESC LIMIT 1",
                        [&current],
                        |r| r.get(0),
                    )
                    .optional()?;
                match child {
                    Some(c) => leaf = Some(c),
                    None => break,
                }
            }
            tx.execute(
                "UPDATE conversations SET head_id = ?2 WHERE id = ?1",
                params![m.conversation_id, leaf],
            )?;
        }
        let conv = tx.query_row(
            "SELECT * FROM conversations WHERE id = ?1",
            [&m.conversation_id],
            conversation_from_row,
        )?;
        tx.commit()?;
        Ok(conv)
    }

    /// The local conversation that mirrors OpenCode session `remote_session` of a backend.
    pub fn find_remote_conversation(
        &self,
        profile_id: &str,
        remote_session: &str,
    ) -> Result<Option<Conversation>> {
        Ok(self
            .conn
            .query_row(
                "SELECT * FROM conversations
                 WHERE profile_id = ?1 AND remote_session = ?2 AND deleted_at IS NULL
                 ORDER BY updated_at DESC LIMIT 1",
                params![profile_id, remote_session],
                conversation_from_row,
            )
            .optional()?)
    }

    /// Gives the saved copies of a backend's OpenCode sessions the titles the server has for
    /// them (`(session id, title)`), so a copy listed once the server no longer has its session
    /// shows the last title it had there. Returns how many copies changed.
    pub fn retitle_copies(
        &mut self,
        profile_id: &str,
        titles: &[(String, String)],
    ) -> Result<usize> {
        // One read of the backend's copies, however many sessions its list holds.
        let copies: Vec<(String, String, String)> = self
            .conn
            .prepare_cached(
                "SELECT remote_session, id, title FROM conversations
                 WHERE profile_id = ?1 AND remote_session IS NOT NULL AND deleted_at IS NULL",
            )?
            .query_map([profile_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<rusqlite::Result<_>>()?;
        let mut changed = 0;
        for (session, id, old) in &copies {
            let new = titles
                .iter()
                .find(|(s, t)| s == session && !t.trim().is_empty() && t != old);
            if let Some((_, title)) = new {
                self.update_conversation(id, &[ConversationEdit::Title(title.clone())])?;
                changed += 1;
            }
        }
        Ok(changed)
    }

    /// Makes the conversation's messages exactly `messages`, in one transaction: others are
    /// deleted, these inserted or updated (parent included), the last one becomes the head.
    /// This is how the offline copy of an OpenCode session follows the server, which owns it.
    pub fn replace_messages(&mut self, conversation_id: &str, messages: &[Message]) -> Result<()> {
        let tx = self.conn.transaction()?;
        let keep: std::collections::HashSet<&str> =
            messages.iter().map(|m| m.id.as_str()).collect();
        let gone: Vec<String> = {
            let mut stmt = tx.prepare("SELECT id FROM messages WHERE conversation_id = ?1")?;
            let ids = stmt.query_map([conversation_id], |r| r.get::<_, String>(0))?;
            ids.filter(|id| id.as_ref().map_or(true, |id| !keep.contains(id.as_str())))
                .collect::<rusqlite::Result<_>>()?
        };
        for id in gone {
            tx.execute("DELETE FROM messages WHERE id = ?1", [id])?;
        }
        for m in messages {
            if m.conversation_id != conversation_id {
                return Err(Error::Invalid(format!(
                    "A message of conversation {} cannot be stored in conversation {conversation_id}.",
                    m.conversation_id
                )));
            }
            write_message_row(&tx, m)?;
        }
        let head = messages.last().map(|m| m.id.clone());
        let updated = messages.iter().map(|m| m.updated_at).max();
        tx.execute(
            "UPDATE conversations SET head_id = ?2, updated_at = max(updated_at, coalesce(?3, updated_at)) WHERE id = ?1",
            params![conversation_id, head, updated],
        )?;
        tx.commit()?;
        Ok(())
    }

    // ---- search --------------------------------------------------------------------------

    /// Full-text search, newest matches first. Each word must match; the last word matches as a
    /// prefix so results appear while typing.
    pub fn search(&self, query: &str, limit: u32) -> Result<Vec<SearchHit>> {
        let Some(fts) = fts_query(query) else {
            return Ok(Vec::new());
        };
        let mut stmt = self.conn.prepare_cached(
            "SELECT m.id, m.conversation_id, c.title, m.role,
                    snippet(messages_fts, 0, char(57344), char(57345), '…', 16), m.created_at
             FROM messages_fts
             JOIN messages m ON m.seq = messages_fts.rowid
             JOIN conversations c ON c.id = m.conversation_id
             WHERE messages_fts MATCH ?1 AND c.deleted_at IS NULL
             ORDER BY messages_fts.rowid DESC
             LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![fts, limit.max(1)], |r| {
            Ok(SearchHit {
                message_id: r.get(0)?,
                conversation_id: r.get(1)?,
                conversation_title: r.get(2)?,
                role: Role::parse(&r.get::<_, String>(3)?).unwrap_or(Role::User),
                snippet: r.get(4)?,
                created_at: r.get(5)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    // ---- drafts and settings -------------------------------------------------------------

    pub fn get_draft(&self, key: &str) -> Result<Option<String>> {
        Ok(self
            .conn
            .query_row("SELECT text FROM drafts WHERE key = ?1", [key], |r| {
                r.get(0)
            })
            .optional()?)
    }

    pub fn set_draft(&self, key: &str, text: &str) -> Result<()> {
        if text.is_empty() {
            self.conn
                .execute("DELETE FROM drafts WHERE key = ?1", [key])?;
        } else {
            self.conn.execute(
                "INSERT INTO drafts (key, text, updated_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT(key) DO UPDATE SET text = excluded.text, updated_at = excluded.updated_at",
                params![key, text, now_ms()],
            )?;
        }
        Ok(())
    }

    pub fn get_setting(&self, key: &str) -> Result<Option<serde_json::Value>> {
        let raw: Option<String> = self
            .conn
            .query_row("SELECT value FROM settings WHERE key = ?1", [key], |r| {
                r.get(0)
            })
            .optional()?;
        Ok(raw.and_then(|s| serde_json::from_str(&s).ok()))
    }

    pub fn set_setting(&self, key: &str, value: &serde_json::Value) -> Result<()> {
        self.conn.execute(
            "INSERT INTO settings (key, value) VALUES (?1, ?2)
             ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            params![key, value.to_string()],
        )?;
        Ok(())
    }

    // ---- maintenance ---------------------------------------------------------------------

    /// `PRAGMA integrity_check`: `["ok"]` when healthy.
    pub fn integrity_check(&self) -> Result<Vec<String>> {
        let mut stmt = self.conn.prepare("PRAGMA integrity_check")?;
        let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub fn vacuum(&self) -> Result<()> {
        self.conn.execute_batch("VACUUM")?;
        Ok(())
    }

    /// Delete every conversation, message, profile, draft and setting, then rewrite the file so
    /// none of it stays readable in free pages or the WAL. The schema stays, so the app goes on
    /// with an empty history. Works the same in the browser, where the file cannot be removed
    /// while the worker owns it.
    pub fn delete_everything(&mut self) -> Result<()> {
        let tx = self.conn.transaction()?;
        // Messages first: their triggers keep the full-text index in step.
        // Sync's records first, so nothing below is recorded as a change to send elsewhere:
        // deleting everything here is not a delete on the user's other devices.
        tx.execute_batch(
            "DELETE FROM sync_meta; DELETE FROM sync_dirty; DELETE FROM sync_versions;
             DELETE FROM sync_cursors;
             DELETE FROM message_attachments; DELETE FROM attachments;
             DELETE FROM messages; DELETE FROM conversations; DELETE FROM presets;
             DELETE FROM profiles; DELETE FROM drafts; DELETE FROM settings;
             INSERT INTO messages_fts(messages_fts) VALUES('rebuild');",
        )?;
        tx.commit()?;
        self.conn.execute_batch("VACUUM")?;
        if !cfg!(target_family = "wasm") {
            self.conn
                .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        }
        Ok(())
    }

    /// Close the connection (and its lock), run `f` on the database file, then open it again:
    /// how a restore replaces the file while the app runs. The store is reopened whether `f`
    /// succeeded or not, so a failed replacement leaves the app on the database it had.
    pub fn with_file_closed<T>(&mut self, f: impl FnOnce(&Path) -> Result<T>) -> Result<T> {
        let Some(path) = self.path.clone() else {
            return Err(Error::Invalid(
                "This history is kept in memory only, so there is no database file to replace."
                    .into(),
            ));
        };
        // Until reopened, the store is an empty in-memory one; nothing runs in between because
        // the worker handles one request at a time.
        drop(std::mem::replace(self, Store::open_in_memory()?));
        let result = f(&path);
        *self = Store::open(&path).map_err(|e| {
            Error::db(format!(
                "the history database could not be opened again after replacing it ({e}); quit and restart the app"
            ))
        })?;
        result
    }

    /// Size of the database in bytes (pages in use, WAL excluded).
    pub fn size_bytes(&self) -> Result<i64> {
        Ok(self.conn.query_row(
            "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()",
            [],
            |r| r.get(0),
        )?)
    }

    /// Every page of the database as one consistent snapshot (one read transaction), in page
    /// order: `(page_size, schema_version)` first, then `page(pgno, bytes)` for each until it
    /// returns false. `Ok(None)` when this SQLite was built without the `sqlite_dbpage` table
    /// (then only full copies can be taken).
    pub fn read_pages(
        &self,
        start: &mut dyn FnMut(u32, i64) -> Result<()>,
        page: &mut dyn FnMut(u32, &[u8]) -> Result<bool>,
    ) -> Result<Option<()>> {
        let own_transaction = self.conn.is_autocommit();
        if own_transaction {
            self.conn.execute_batch("BEGIN DEFERRED")?;
        }
        let mut run = || -> Result<Option<()>> {
            let mut stmt = match self
                .conn
                .prepare("SELECT pgno, data FROM sqlite_dbpage('main') ORDER BY pgno")
            {
                Ok(s) => s,
                Err(e) if e.to_string().contains("no such table") => return Ok(None),
                Err(e) => return Err(e.into()),
            };
            let page_size: u32 = self.conn.query_row("PRAGMA page_size", [], |r| r.get(0))?;
            start(page_size, self.schema_version()?)?;
            let mut rows = stmt.query([])?;
            while let Some(row) = rows.next()? {
                let pgno: u32 = row.get(0)?;
                let data = row.get_ref(1)?.as_blob().map_err(rusqlite::Error::from)?;
                if !page(pgno, data)? {
                    break;
                }
            }
            Ok(Some(()))
        };
        let result = run();
        if own_transaction {
            let _ = self.conn.execute_batch("COMMIT");
        }
        result
    }

    /// A consistent snapshot through SQLite's online backup API, safe while writes go on.
    pub fn backup_to(&self, dest: &Path) -> Result<()> {
        #[cfg(not(target_family = "wasm"))]
        if let Some(dir) = dest.parent() {
            std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        }
        if cfg!(target_family = "wasm") {
            return self
                .conn
                .backup(
                    rusqlite::MAIN_DB,
                    dest,
                    None::<fn(rusqlite::backup::Progress)>,
                )
                .map_err(|e| Error::io(dest, e));
        }
        // One read transaction across every step, so steady writes from other connections
        // cannot restart the copy over and over (see `snapshot_to`).
        self.snapshot_to(dest, &mut |_, _| true)
    }
}

/// Take a shared lock on `<db>.lock`, reporting whether no other process held it (checked by
/// briefly taking it exclusively first).
#[cfg(not(target_family = "wasm"))]
fn open_lock(db: &Path) -> Result<(Option<std::fs::File>, bool)> {
    // A second handle takes it exclusively for a moment and is closed, which releases it: no
    // unlock call, whose answer for a range no longer locked Wine gets wrong
    // (ERROR_LOCK_VIOLATION where Windows says ERROR_NOT_LOCKED, which std accepts).
    let alone = open_lock_file(db)?.0.try_lock().is_ok();
    let (file, lock_path) = open_lock_file(db)?;
    file.lock_shared().map_err(|e| Error::io(&lock_path, e))?;
    Ok((Some(file), alone))
}

/// `<db>.lock`, created (with its directory) when missing.
fn open_lock_file(db: &Path) -> Result<(std::fs::File, PathBuf)> {
    let mut name = db.as_os_str().to_owned();
    name.push(".lock");
    let path = PathBuf::from(name);
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| Error::io(&path, e))?;
    Ok((file, path))
}

/// Hold `<db>.lock` exclusively, waiting up to `wait` for the stores that hold it shared (the
/// app, other commands) to let go. `None` when they did not: the caller says what it could not
/// do. Restore and reset replace or delete the database under this lock. (The browser has no
/// such files: its one worker owns the database.)
pub fn lock_exclusively(db: &Path, wait: std::time::Duration) -> Result<Option<std::fs::File>> {
    let (file, path) = open_lock_file(db)?;
    let started = std::time::Instant::now();
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(Some(file)),
            Err(std::fs::TryLockError::WouldBlock) if started.elapsed() < wait => {
                std::thread::sleep(std::time::Duration::from_millis(50))
            }
            Err(std::fs::TryLockError::WouldBlock) => return Ok(None),
            Err(std::fs::TryLockError::Error(e)) => return Err(Error::io(&path, e)),
        }
    }
}

#[cfg(target_family = "wasm")]
fn open_lock(_db: &Path) -> Result<(Option<std::fs::File>, bool)> {
    // One worker owns the browser database (a single-tab guard keeps it so).
    Ok((None, true))
}

/// The one statement that writes a backend profile's row, whether it is saved here or merged
/// from another device; `name` is the name it is stored under.
pub(crate) fn write_profile_row(conn: &Connection, p: &Profile, name: &str) -> Result<()> {
    let headers = serde_json::to_string(&p.headers).map_err(Error::db)?;
    conn.prepare_cached(
        "INSERT INTO profiles (id, name, kind, base_url, default_model, headers, key_env, username, directory, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
         ON CONFLICT(id) DO UPDATE SET name = excluded.name, kind = excluded.kind, base_url = excluded.base_url,
           default_model = excluded.default_model, headers = excluded.headers, key_env = excluded.key_env,
           username = excluded.username, directory = excluded.directory, updated_at = excluded.updated_at",
    )?
    .execute(params![
        p.id, name, p.kind.as_str(), p.base_url, p.default_model, headers, p.key_env,
        p.username, p.directory, p.created_at, p.updated_at
    ])?;
    Ok(())
}

/// The one statement that writes a preset's row (saved here or merged); a backend this
/// database does not know is stored as none.
pub(crate) fn write_preset_row(
    conn: &Connection,
    p: &Preset,
    name: &str,
    is_default: bool,
) -> Result<()> {
    let params_json = serde_json::to_string(&p.params).map_err(Error::db)?;
    conn.prepare_cached(
        "INSERT INTO presets (id, name, system_prompt, profile_id, model, params, is_default, created_at, updated_at)
         VALUES (?1, ?2, ?3, (SELECT id FROM profiles WHERE id = ?4), ?5, ?6, ?7, ?8, ?9)
         ON CONFLICT(id) DO UPDATE SET name = excluded.name, system_prompt = excluded.system_prompt,
           profile_id = excluded.profile_id, model = excluded.model, params = excluded.params,
           is_default = excluded.is_default, updated_at = excluded.updated_at",
    )?
    .execute(params![
        p.id, name, p.system_prompt, p.profile_id, p.model, params_json, is_default,
        p.created_at, p.updated_at
    ])?;
    Ok(())
}

/// The one statement that writes a message's row (saved while streaming, merged from another
/// device, or copied from an OpenCode server): inserted, or its content brought up to date. A
/// message never moves to another conversation: a row with its id elsewhere is left alone.
pub(crate) fn write_message_row(conn: &Connection, m: &Message) -> Result<()> {
    let (parts, usage) = encode_message_json(m)?;
    conn.prepare_cached(
        "INSERT INTO messages (id, conversation_id, parent_id, role, parts, text, status, error, model, usage, cost, created_at, updated_at, finish_reason)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)
         ON CONFLICT(id) DO UPDATE SET parent_id = excluded.parent_id, role = excluded.role,
           parts = excluded.parts, text = excluded.text, status = excluded.status,
           error = excluded.error, model = excluded.model, usage = excluded.usage,
           cost = excluded.cost, created_at = excluded.created_at, updated_at = excluded.updated_at,
           finish_reason = excluded.finish_reason
         WHERE messages.conversation_id = excluded.conversation_id",
    )?
    .execute(params![
        m.id, m.conversation_id, m.parent_id, m.role.as_str(), parts, indexed_text(m),
        m.status.as_str(), m.error, m.model, usage, m.cost, m.created_at, m.updated_at,
        m.finish_reason
    ])?;
    Ok(())
}

/// What the full-text index holds for a message: its text and the names of its files (their
/// contents are not indexed).
pub(crate) fn indexed_text(m: &Message) -> String {
    let mut text = m.text();
    for a in m.attachments() {
        if !text.is_empty() {
            text.push('\n');
        }
        text.push_str(&a.name);
    }
    text
}

/// Record which stored contents a message carries (once: a message's files never change).
pub(crate) fn link_attachments(tx: &rusqlite::Transaction<'_>, m: &Message) -> Result<()> {
    for (position, a) in m.attachments().into_iter().enumerate() {
        let stored: bool = tx.query_row(
            "SELECT count(*) > 0 FROM attachments WHERE sha256 = ?1",
            [&a.sha256],
            |r| r.get(0),
        )?;
        if !stored {
            return Err(Error::Invalid(format!(
                "The file {} is not stored here, so the message was not saved. Attach it again.",
                a.name
            )));
        }
        tx.execute(
            "INSERT OR IGNORE INTO message_attachments (message_id, position, sha256, name)
             VALUES (?1, ?2, ?3, ?4)",
            params![m.id, position as i64, a.sha256, a.name],
        )?;
    }
    Ok(())
}

/// The JSON columns of a message row (`parts`, `usage`), shared by saving and importing.
pub(crate) fn encode_message_json(m: &Message) -> Result<(String, Option<String>)> {
    let parts = serde_json::to_string(&m.parts).map_err(Error::db)?;
    let usage = m
        .usage
        .as_ref()
        .map(serde_json::to_string)
        .transpose()
        .map_err(Error::db)?;
    Ok((parts, usage))
}

/// Turn what a user typed into an FTS5 query that cannot be a syntax error: every word quoted,
/// the last one as a prefix while it is still being typed. A last word followed by a space is
/// complete, and a single Latin letter is not worth a prefix search (every word starting with
/// "a"), so those match exactly.
pub fn fts_query(input: &str) -> Option<String> {
    let words: Vec<String> = input
        .split(|c: char| !c.is_alphanumeric() && c != '_' && c != '\'')
        .filter(|w| !w.is_empty())
        .map(|w| w.replace('"', "\"\""))
        .collect();
    let (last, rest) = words.split_last()?;
    let mut q = String::new();
    for w in rest {
        q.push('"');
        q.push_str(w);
        q.push_str("\" ");
    }
    q.push('"');
    q.push_str(last);
    q.push('"');
    if !input.ends_with(char::is_whitespace) && (last.chars().count() > 1 || !last.is_ascii()) {
        q.push('*');
    }
    Some(q)
}

fn build_thread(all: Vec<Message>, head: Option<&str>) -> Vec<ThreadMessage> {
    let mut siblings: HashMap<Option<String>, Vec<String>> = HashMap::new();
    for m in &all {
        siblings
            .entry(m.parent_id.clone())
            .or_default()
            .push(m.id.clone());
    }
    let mut by_id: HashMap<String, Message> = all.into_iter().map(|m| (m.id.clone(), m)).collect();
    let mut chain = Vec::new();
    let mut cursor = head.map(str::to_owned);
    // A corrupted parent link could form a cycle; the chain can never be longer than the table.
    let max = by_id.len();
    while let Some(id) = cursor {
        let Some(m) = by_id.remove(&id) else { break };
        cursor = m.parent_id.clone();
        chain.push(m);
        if chain.len() > max {
            break;
        }
    }
    chain.reverse();
    with_alternatives(chain, &siblings)
}

/// Each message of a thread with its alternatives: the messages sharing its parent.
fn with_alternatives(
    chain: Vec<Message>,
    siblings: &HashMap<Option<String>, Vec<String>>,
) -> Vec<ThreadMessage> {
    chain
        .into_iter()
        .map(|message| {
            let ids = siblings
                .get(&message.parent_id)
                .cloned()
                .unwrap_or_else(|| vec![message.id.clone()]);
            let index = ids.iter().position(|i| *i == message.id).unwrap_or(0);
            ThreadMessage {
                sibling_index: index,
                sibling_count: ids.len(),
                sibling_ids: ids,
                message,
            }
        })
        .collect()
}

pub(super) fn profile_from_row(r: &Row) -> rusqlite::Result<Profile> {
    let kind: String = r.get("kind")?;
    let headers: String = r.get("headers")?;
    Ok(Profile {
        id: r.get("id")?,
        name: r.get("name")?,
        kind: BackendKind::parse(&kind).unwrap_or(BackendKind::OpenAiCompatible),
        base_url: r.get("base_url")?,
        default_model: r.get("default_model")?,
        headers: serde_json::from_str(&headers).unwrap_or_default(),
        key_env: r.get("key_env")?,
        username: r.get("username")?,
        directory: r.get("directory")?,
        created_at: r.get("created_at")?,
        updated_at: r.get("updated_at")?,
    })
}

pub(super) fn conversation_from_row(r: &Row) -> rusqlite::Result<Conversation> {
    let params: String = r.get("params")?;
    Ok(Conversation {
        id: r.get("id")?,
        title: r.get("title")?,
        created_at: r.get("created_at")?,
        updated_at: r.get("updated_at")?,
        pinned: r.get("pinned")?,
        archived: r.get("archived")?,
        profile_id: r.get("profile_id")?,
        model: r.get("model")?,
        system_prompt: r.get("system_prompt")?,
        params: serde_json::from_str(&params).unwrap_or_default(),
        head_id: r.get("head_id")?,
        remote_session: r.get("remote_session")?,
        preset_id: r.get("preset_id")?,
    })
}

pub(crate) fn preset_from_row(r: &Row) -> rusqlite::Result<Preset> {
    let params: String = r.get("params")?;
    Ok(Preset {
        id: r.get("id")?,
        name: r.get("name")?,
        system_prompt: r.get("system_prompt")?,
        profile_id: r.get("profile_id")?,
        model: r.get("model")?,
        params: serde_json::from_str(&params).unwrap_or_default(),
        is_default: r.get("is_default")?,
        created_at: r.get("created_at")?,
        updated_at: r.get("updated_at")?,
    })
}

pub(super) fn message_from_row(r: &Row) -> rusqlite::Result<Message> {
    let parts: String = r.get("parts")?;
    let usage: Option<String> = r.get("usage")?;
    let role: String = r.get("role")?;
    let status: String = r.get("status")?;
    Ok(Message {
        id: r.get("id")?,
        conversation_id: r.get("conversation_id")?,
        parent_id: r.get("parent_id")?,
        role: Role::parse(&role).unwrap_or(Role::User),
        parts: serde_json::from_str(&parts).unwrap_or_default(),
        status: MessageStatus::parse(&status).unwrap_or(MessageStatus::Complete),
        error: r.get("error")?,
        model: r.get("model")?,
        usage: usage.and_then(|u| serde_json::from_str(&u).ok()),
        cost: r.get("cost")?,
        finish_reason: r.get("finish_reason")?,
        created_at: r.get("created_at")?,
        updated_at: r.get("updated_at")?,
    })
}
