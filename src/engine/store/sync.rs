//! The store's side of sync: reading what changed here since the last push, recording what was
//! pushed, and merging what other devices pushed. All of it runs on the store worker, each
//! operation in one transaction, so a sync stopped at any point leaves the history as it was
//! before that operation or after it.
//!
//! The merge rules (also in docs/sync-format.md):
//! - A conversation's fields (title, pinned, archived, backend, model, system prompt,
//!   parameters, preset, selected branch, created time, deleted) are each last-writer-wins by
//!   their hybrid logical clock.
//! - Messages are rows keyed by their UUID: the union of every device's. A message is only
//!   rewritten by the device that wrote it (a reply finishing), so the newer `updated_at` wins.
//! - Deleting a message leaves a tombstone that wins over the message for good. Replies another
//!   device added to it meanwhile are kept, moved up to the nearest message still there.
//! - Deleting a conversation is its `deleted` field. A delete wins over edits older than it; an
//!   edit made later elsewhere without seeing the delete (a rename, a pin) does not bring it
//!   back. New messages written after the delete do: the conversation is kept, on every device,
//!   with a note saying so, because nothing a user wrote is dropped silently.
//! - Profiles (without keys, which live in each device's keychain), presets, prices and the app
//!   settings are whole rows, last-writer-wins.

use serde::{Deserialize, Serialize};

use crate::engine::attachments::base64_bytes;
use crate::engine::json::Json;
use crate::engine::wire::Wire;
#[cfg(feature = "sqlite")]
use {
    super::{
        conversation_from_row, link_attachments, message_from_row, preset_from_row,
        profile_from_row, write_message_row, write_preset_row, write_profile_row, Store,
    },
    crate::engine::attachments::sha256_hex,
    crate::engine::error::{Error, Result},
    crate::engine::model::*,
    crate::engine::sync::hlc::Hlc,
    rusqlite::{params, OptionalExtension, Transaction},
    std::collections::BTreeSet,
};

/// One change to one field (or whole row) as it travels between devices.
#[derive(Debug, Clone, PartialEq, Json, Wire)]
pub struct Change {
    #[json(rename = "k")]
    pub kind: String,
    pub id: String,
    #[json(rename = "f")]
    pub field: String,
    #[json(rename = "h")]
    pub hlc: String,
    #[json(rename = "v", default)]
    pub value: serde_json::Value,
}

/// A stored file's content, carried with the first change that needs it.
#[derive(Debug, Clone, PartialEq, Json, Wire)]
pub struct BlobData {
    pub sha256: String,
    pub mime: String,
    #[json(with = "base64_bytes::read", write_with = "base64_bytes::write")]
    pub data: Vec<u8>,
}

/// Local changes read for one segment.
#[derive(Debug, Clone, Default, Serialize, Deserialize, Wire)]
pub struct Outgoing {
    pub changes: Vec<Change>,
    pub blobs: Vec<BlobData>,
    /// The `sync_dirty` rows these changes came from, cleared once they are published.
    pub dirty: Vec<i64>,
    /// Marks read but with nothing to send (a row deleted since, an OpenCode copy).
    pub skipped: Vec<i64>,
    /// More marks are waiting after these.
    pub more: bool,
}

/// Where this device stands.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, Wire)]
pub struct LocalState {
    pub device: Option<String>,
    pub device_name: Option<String>,
    /// The number of the last segment this device published.
    pub pushed_seq: i64,
    /// Changes made here and not yet published.
    pub pending: i64,
    /// How far each other device's segments were merged.
    pub cursors: Vec<(String, i64)>,
    pub last_sync_ms: Option<i64>,
}

/// What merging one segment did.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, Wire)]
pub struct Applied {
    /// Changes that won and were written.
    pub changes: usize,
    /// Conversations whose content or fields changed.
    pub conversations: Vec<String>,
    pub messages: usize,
    /// Conversations deleted elsewhere but kept because messages were written after the delete.
    pub kept: Vec<String>,
    /// The segment had been merged before; nothing was done.
    pub already: bool,
}

/// Where reading a snapshot stands: stage 0 reads fields, rows and tombstones (after the key
/// `kind\nid\nfield`), stage 1 messages (after a message's row number).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, Wire)]
pub struct SnapshotCursor {
    pub stage: u8,
    pub after: String,
}

/// One part of a snapshot: changes as in a change file, and the files its messages hold.
#[derive(Debug, Clone, Default, Serialize, Deserialize, Wire)]
pub struct SnapshotPage {
    pub changes: Vec<Change>,
    pub blobs: Vec<BlobData>,
    /// Where the next part starts; `None` after the last.
    pub next: Option<SnapshotCursor>,
}

pub const CONVERSATION_FIELDS: &[&str] = &[
    "title",
    "pinned",
    "archived",
    "profile_id",
    "model",
    "system_prompt",
    "params",
    "preset_id",
    "head_id",
    "created_at",
    "deleted",
];

/// The settings rows that follow the user between devices (the rest are this device's own:
/// the last conversation open, measured latencies, the sync setup itself).
pub const SYNCED_SETTINGS: &[&str] = &["app"];

/// How much one segment carries at most.
#[cfg(feature = "sqlite")]
const MAX_CHANGES: usize = 2_000;
#[cfg(feature = "sqlite")]
const MAX_BLOB_BYTES: usize = 16 * 1024 * 1024;

#[cfg(feature = "sqlite")]
fn meta(tx: &rusqlite::Connection, key: &str) -> Result<Option<String>> {
    Ok(row(
        tx,
        "SELECT value FROM sync_meta WHERE key = ?1",
        [key],
        |r| r.get(0),
    )
    .optional()?)
}

#[cfg(feature = "sqlite")]
fn set_meta(tx: &rusqlite::Connection, key: &str, value: &str) -> Result<()> {
    exec(
        tx,
        "INSERT INTO sync_meta (key, value) VALUES (?1, ?2)
         ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        params![key, value],
    )?;
    Ok(())
}

#[cfg(feature = "sqlite")]
fn last_clock(tx: &rusqlite::Connection) -> Result<Hlc> {
    Ok(meta(tx, "hlc")?
        .and_then(|s| Hlc::parse(&s))
        .unwrap_or_else(Hlc::zero))
}

/// A statement run through the connection's statement cache: the merge runs the same few
/// statements for every change of a segment, and preparing each one anew cost more than
/// running it.
#[cfg(feature = "sqlite")]
fn exec(tx: &rusqlite::Connection, sql: &str, p: impl rusqlite::Params) -> rusqlite::Result<usize> {
    tx.prepare_cached(sql)?.execute(p)
}

/// [`exec`] for a query of one row.
#[cfg(feature = "sqlite")]
fn row<T>(
    tx: &rusqlite::Connection,
    sql: &str,
    p: impl rusqlite::Params,
    f: impl FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
) -> rusqlite::Result<T> {
    tx.prepare_cached(sql)?.query_row(p, f)
}

#[cfg(feature = "sqlite")]
fn version(tx: &rusqlite::Connection, kind: &str, id: &str, field: &str) -> Result<Option<Hlc>> {
    let v: Option<String> = row(
        tx,
        "SELECT hlc FROM sync_versions WHERE kind = ?1 AND id = ?2 AND field = ?3",
        params![kind, id, field],
        |r| r.get(0),
    )
    .optional()?;
    Ok(v.and_then(|s| Hlc::parse(&s)))
}

#[cfg(feature = "sqlite")]
fn version_value(
    tx: &rusqlite::Connection,
    kind: &str,
    id: &str,
    field: &str,
) -> Result<Option<serde_json::Value>> {
    let v: Option<Option<String>> = row(
        tx,
        "SELECT value FROM sync_versions WHERE kind = ?1 AND id = ?2 AND field = ?3",
        params![kind, id, field],
        |r| r.get(0),
    )
    .optional()?;
    Ok(v.flatten().and_then(|s| serde_json::from_str(&s).ok()))
}

#[cfg(feature = "sqlite")]
fn set_version(tx: &rusqlite::Connection, c: &Change) -> Result<()> {
    // Messages need no version row: they are immutable but for their own device's updates.
    if c.kind == "message" && c.field == "*" {
        return Ok(());
    }
    exec(
        tx,
        "INSERT INTO sync_versions (kind, id, field, hlc, value) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT(kind, id, field) DO UPDATE SET hlc = excluded.hlc, value = excluded.value",
        params![c.kind, c.id, c.field, c.hlc, c.value.to_string()],
    )?;
    Ok(())
}

#[cfg(feature = "sqlite")]
impl Store {
    /// Start recording changes for sync as device `device`, and mark everything already here
    /// to be sent (the first push carries the whole history). Calling it again with the same
    /// device changes nothing.
    pub fn sync_enable(&mut self, device: &str, name: &str) -> Result<()> {
        let tx = self.conn.transaction()?;
        if let Some(existing) = meta(&tx, "device")? {
            if existing == device {
                set_meta(&tx, "device_name", name)?;
                tx.commit()?;
                return Ok(());
            }
            return Err(Error::Invalid(
                "Sync is already set up on this device; forget it first to set it up again.".into(),
            ));
        }
        tx.execute_batch(
            "DELETE FROM sync_dirty; DELETE FROM sync_versions; DELETE FROM sync_cursors;
             DELETE FROM sync_meta;",
        )?;
        set_meta(&tx, "device", device)?;
        set_meta(&tx, "device_name", name)?;
        set_meta(&tx, "pushed_seq", "0")?;
        mark_all(&tx)?;
        tx.commit()?;
        Ok(())
    }

    /// Mark the whole synced history to be sent again (the sync folder lost this device's
    /// changes: it was emptied, or is a new folder).
    pub fn sync_resend_all(&mut self) -> Result<()> {
        let tx = self.conn.transaction()?;
        mark_all(&tx)?;
        tx.commit()?;
        Ok(())
    }

    /// Stop syncing on this device: its id, marks, versions and cursors go. The history stays.
    pub fn sync_forget(&mut self) -> Result<()> {
        let tx = self.conn.transaction()?;
        tx.execute_batch(
            "DELETE FROM sync_dirty; DELETE FROM sync_versions; DELETE FROM sync_cursors;
             DELETE FROM sync_meta; UPDATE conversations SET sync_note = NULL WHERE sync_note IS NOT NULL;",
        )?;
        tx.commit()?;
        Ok(())
    }

    pub fn sync_state(&self) -> Result<LocalState> {
        let c = &self.conn;
        let mut stmt = c.prepare_cached("SELECT device, seq FROM sync_cursors ORDER BY device")?;
        let cursors = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(LocalState {
            device: meta(c, "device")?,
            device_name: meta(c, "device_name")?,
            pushed_seq: meta(c, "pushed_seq")?
                .and_then(|s| s.parse().ok())
                .unwrap_or(0),
            pending: c.query_row("SELECT count(*) FROM sync_dirty", [], |r| r.get(0))?,
            cursors,
            last_sync_ms: meta(c, "last_sync_ms")?.and_then(|s| s.parse().ok()),
        })
    }

    pub fn sync_set_last(&self, at_ms: i64) -> Result<()> {
        set_meta(&self.conn, "last_sync_ms", &at_ms.to_string())
    }

    /// The next local changes to publish, oldest first, up to one segment's worth. Replies still
    /// streaming stay marked for a later push. `everything` reads the whole synced state instead
    /// of the marks (a snapshot).
    pub fn sync_collect(&self) -> Result<Outgoing> {
        let c = &self.conn;
        let device = meta(c, "device")?
            .ok_or_else(|| Error::Invalid("Sync is not set up on this device.".into()))?;
        let mut clock = last_clock(c)?;
        let mut out = Outgoing::default();
        let mut blob_bytes = 0usize;
        let mut blobs_seen = BTreeSet::new();
        let mut stmt = c.prepare_cached(
            "SELECT seq, kind, id, field, at_ms, value FROM sync_dirty ORDER BY seq LIMIT ?1",
        )?;
        type Mark = (i64, String, String, String, i64, Option<String>);
        let marks: Vec<Mark> = stmt
            .query_map([MAX_CHANGES as i64 + 1], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                ))
            })?
            .collect::<rusqlite::Result<_>>()?;
        for (seq, kind, id, field, at_ms, value) in marks {
            if out.changes.len() >= MAX_CHANGES || blob_bytes >= MAX_BLOB_BYTES {
                out.more = true;
                break;
            }
            let stamp = |clock: &mut Hlc| {
                *clock = Hlc::next(clock, at_ms.max(0) as u64, &device);
                clock.to_string()
            };
            let before = out.changes.len();
            match kind.as_str() {
                "conversation" => {
                    let row = c
                        .query_row(
                            "SELECT *, deleted_at IS NOT NULL AS is_deleted FROM conversations WHERE id = ?1",
                            [&id],
                            |r| Ok((conversation_from_row(r)?, r.get::<_, bool>("is_deleted")?, r.get::<_, Option<String>>("remote_session")?)),
                        )
                        .optional()?;
                    let fields: Vec<&str> = if field == "*" {
                        CONVERSATION_FIELDS.to_vec()
                    } else {
                        vec![field.as_str()]
                    };
                    match row {
                        Some((_, _, Some(_))) => {}
                        Some((conv, deleted, None)) => {
                            for f in fields {
                                let value = conversation_field(&conv, deleted, f);
                                if f == "deleted" && deleted {
                                    // A delete is later than every message it saw, by the
                                    // same clock other devices compare messages with.
                                    let newest: Option<i64> = c.query_row(
                                        "SELECT max(updated_at) FROM messages WHERE conversation_id = ?1",
                                        [&id],
                                        |r| r.get(0),
                                    )?;
                                    if let Some(n) = newest {
                                        clock = clock.max(Hlc::new(n.max(0) as u64, 0, &device));
                                    }
                                }
                                out.changes.push(Change {
                                    kind: kind.clone(),
                                    id: id.clone(),
                                    field: f.to_owned(),
                                    hlc: stamp(&mut clock),
                                    value,
                                });
                            }
                        }
                        None => out.changes.push(Change {
                            kind: kind.clone(),
                            id: id.clone(),
                            field: "deleted".into(),
                            hlc: stamp(&mut clock),
                            value: serde_json::Value::Bool(true),
                        }),
                    }
                }
                "message" if field == "deleted" => {
                    let value = value
                        .and_then(|v| serde_json::from_str(&v).ok())
                        .unwrap_or(serde_json::Value::Null);
                    out.changes.push(Change {
                        kind: kind.clone(),
                        id: id.clone(),
                        field,
                        hlc: stamp(&mut clock),
                        value,
                    });
                }
                "message" => {
                    let m = c
                        .query_row(
                            "SELECT * FROM messages WHERE id = ?1",
                            [&id],
                            message_from_row,
                        )
                        .optional()?;
                    if let Some(m) = m {
                        if m.status == MessageStatus::Streaming {
                            // Sent once it ends; the mark stays.
                            continue;
                        }
                        blob_bytes += self.message_blobs(&m, &mut blobs_seen, &mut out.blobs)?;
                        out.changes.push(Change {
                            kind: kind.clone(),
                            id: id.clone(),
                            field,
                            hlc: stamp(&mut clock),
                            value: serde_json::to_value(&m).map_err(Error::db)?,
                        });
                    }
                }
                "profile" | "preset" | "price" | "setting" => {
                    // Whole rows: the row as it is now, or null when it is gone.
                    let value = match kind.as_str() {
                        "profile" => serde_json::to_value(
                            c.query_row("SELECT * FROM profiles WHERE id = ?1", [&id], |r| {
                                profile_from_row(r)
                            })
                            .optional()?,
                        ),
                        "preset" => serde_json::to_value(
                            c.query_row("SELECT * FROM presets WHERE id = ?1", [&id], |r| {
                                preset_from_row(r)
                            })
                            .optional()?,
                        ),
                        "price" => {
                            let (profile, model) = id.split_once('\n').unwrap_or((id.as_str(), ""));
                            serde_json::to_value(self.get_price(profile, model)?)
                        }
                        _ => Ok(self.get_setting(&id)?.unwrap_or(serde_json::Value::Null)),
                    }
                    .map_err(Error::db)?;
                    out.changes.push(Change {
                        kind: kind.clone(),
                        id: id.clone(),
                        field,
                        hlc: stamp(&mut clock),
                        value,
                    });
                }
                _ => {}
            }
            if out.changes.len() > before {
                out.dirty.push(seq);
            } else {
                out.skipped.push(seq);
            }
        }
        Ok(out)
    }

    /// The stored files message `m` names and `seen` does not hold yet, added to `out` (a
    /// change file or snapshot part carries each file once); their size in bytes.
    fn message_blobs(
        &self,
        m: &Message,
        seen: &mut BTreeSet<String>,
        out: &mut Vec<BlobData>,
    ) -> Result<usize> {
        let mut bytes = 0;
        for a in m.attachments() {
            if seen.insert(a.sha256.clone()) {
                let blob = self.attachment_data(&a.sha256)?;
                bytes += blob.data.len();
                out.push(BlobData {
                    sha256: a.sha256.clone(),
                    mime: blob.mime,
                    data: blob.data,
                });
            }
        }
        Ok(bytes)
    }

    /// Record that segment `seq` with these changes was published: their marks are cleared
    /// (unless changed again since), their clocks become the fields' versions.
    pub fn sync_ack(&mut self, seq: i64, out: &Outgoing) -> Result<()> {
        let tx = self.conn.transaction()?;
        {
            let mut del = tx.prepare_cached("DELETE FROM sync_dirty WHERE seq = ?1")?;
            for s in out.dirty.iter().chain(&out.skipped) {
                del.execute([s])?;
            }
        }
        let mut newest = last_clock(&tx)?;
        for c in &out.changes {
            set_version(&tx, c)?;
            if let Some(h) = Hlc::parse(&c.hlc) {
                newest = newest.max(h);
            }
        }
        set_meta(&tx, "hlc", &newest.to_string())?;
        let pushed: i64 = meta(&tx, "pushed_seq")?
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        set_meta(&tx, "pushed_seq", &pushed.max(seq).to_string())?;
        tx.commit()?;
        Ok(())
    }

    /// Clear marks that carry nothing to send (read and skipped by a collect with no changes).
    pub fn sync_skip(&mut self, out: &Outgoing) -> Result<()> {
        let tx = self.conn.transaction()?;
        {
            let mut del = tx.prepare_cached("DELETE FROM sync_dirty WHERE seq = ?1")?;
            for s in &out.skipped {
                del.execute([s])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Merge segment `seq` of device `device`, in one transaction with its cursor, so it is
    /// merged exactly once however often it is fetched.
    pub fn sync_apply(
        &mut self,
        device: &str,
        seq: i64,
        changes: &[Change],
        blobs: &[BlobData],
    ) -> Result<Applied> {
        let own = own_device(&self.conn)?;
        let tx = self.conn.transaction()?;
        let cursor: i64 = row(
            &tx,
            "SELECT seq FROM sync_cursors WHERE device = ?1",
            [device],
            |r| r.get(0),
        )
        .optional()?
        .unwrap_or(0);
        if seq <= cursor {
            return Ok(Applied {
                already: true,
                ..Applied::default()
            });
        }
        let applied = merge_changes(&tx, &own, changes, blobs)?;
        set_cursor(&tx, device, seq)?;
        tx.commit()?;
        Ok(applied)
    }

    /// Merge one part of another device's snapshot. Merging is idempotent (fields by clock,
    /// messages by id and time, tombstones for good), so a part merged twice, or holding what
    /// was merged before from change files, changes nothing the second time. The last part
    /// carries the snapshot's coverage: each device's change files it holds, which become this
    /// device's cursors where they are ahead, in the same transaction.
    pub fn sync_apply_snapshot(
        &mut self,
        changes: &[Change],
        blobs: &[BlobData],
        covers: &[(String, i64)],
    ) -> Result<Applied> {
        let own = own_device(&self.conn)?;
        let tx = self.conn.transaction()?;
        let applied = merge_changes(&tx, &own, changes, blobs)?;
        for (device, seq) in covers {
            if *device != own {
                set_cursor(&tx, device, *seq)?;
            }
        }
        tx.commit()?;
        Ok(applied)
    }

    /// One part of a snapshot of the history as merged here, for a new device to start from:
    /// every field, row and tombstone with the clock it was merged or published with, and
    /// every finished message of the synced conversations with its files. Rows with changes
    /// not yet published are left out (they go out in this device's later change files, after
    /// the snapshot), so the snapshot holds exactly what this device published and merged.
    /// Read part by part from `from`; `next` is where the following part starts.
    pub fn sync_snapshot_page(
        &self,
        from: &SnapshotCursor,
        max_changes: usize,
    ) -> Result<SnapshotPage> {
        let c = &self.conn;
        let device = own_device(c)?;
        let mut page = SnapshotPage::default();
        let max_changes = max_changes.max(1);
        if from.stage == 0 {
            let (kind, id, field) = {
                let mut it = from.after.splitn(3, '\n');
                (
                    it.next().unwrap_or("").to_owned(),
                    it.next().unwrap_or("").to_owned(),
                    it.next().unwrap_or("").to_owned(),
                )
            };
            let mut stmt = c.prepare_cached(
                "SELECT kind, id, field, hlc, value FROM sync_versions
                 WHERE (kind, id, field) > (?1, ?2, ?3) ORDER BY kind, id, field LIMIT ?4",
            )?;
            let rows: Vec<(String, String, String, String, Option<String>)> = stmt
                .query_map(params![kind, id, field, max_changes as i64], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
                })?
                .collect::<rusqlite::Result<_>>()?;
            let full = rows.len() == max_changes;
            let mut last = None;
            for (kind, id, field, hlc, value) in rows {
                last = Some(format!("{kind}\n{id}\n{field}"));
                let value = value
                    .and_then(|v| serde_json::from_str(&v).ok())
                    .unwrap_or(serde_json::Value::Null);
                page.changes.push(Change {
                    kind,
                    id,
                    field,
                    hlc,
                    value,
                });
            }
            page.next = Some(match (full, last) {
                (true, Some(after)) => SnapshotCursor { stage: 0, after },
                _ => SnapshotCursor {
                    stage: 1,
                    after: String::new(),
                },
            });
            return Ok(page);
        }
        if from.stage != 1 {
            return Ok(page);
        }
        let after: i64 = from.after.parse().unwrap_or(0);
        let mut stmt = c.prepare_cached(
            "SELECT m.* FROM messages m JOIN conversations c ON c.id = m.conversation_id
             WHERE m.seq > ?1 AND c.remote_session IS NULL
               AND NOT EXISTS (SELECT 1 FROM sync_dirty d WHERE d.kind = 'message' AND d.id = m.id)
             ORDER BY m.seq LIMIT ?2",
        )?;
        let rows: Vec<(i64, Message)> = stmt
            .query_map(params![after, max_changes as i64], |r| {
                Ok((r.get("seq")?, message_from_row(r)?))
            })?
            .collect::<rusqlite::Result<_>>()?;
        let full = rows.len() == max_changes;
        let mut last = after;
        let mut blobs_seen = BTreeSet::new();
        let mut blob_bytes = 0usize;
        for (seq, m) in rows {
            last = seq;
            if m.status == MessageStatus::Streaming {
                continue;
            }
            blob_bytes += self.message_blobs(&m, &mut blobs_seen, &mut page.blobs)?;
            page.changes.push(Change {
                kind: "message".into(),
                id: m.id.clone(),
                field: "*".into(),
                hlc: Hlc::new(m.updated_at.max(0) as u64, 0, &device).to_string(),
                value: serde_json::to_value(&m).map_err(Error::db)?,
            });
            if blob_bytes >= MAX_BLOB_BYTES {
                page.next = Some(SnapshotCursor {
                    stage: 1,
                    after: seq.to_string(),
                });
                return Ok(page);
            }
        }
        page.next = full.then(|| SnapshotCursor {
            stage: 1,
            after: last.to_string(),
        });
        Ok(page)
    }

    /// Conversations kept against a delete from another device, with their note.
    pub fn sync_notes(&self) -> Result<Vec<(String, String)>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, sync_note FROM conversations WHERE sync_note IS NOT NULL ORDER BY id",
        )?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

#[cfg(feature = "sqlite")]
fn own_device(c: &rusqlite::Connection) -> Result<String> {
    meta(c, "device")?.ok_or_else(|| Error::Invalid("Sync is not set up on this device.".into()))
}

/// Record that `device`'s change files up to `seq` are merged here (never moving back).
#[cfg(feature = "sqlite")]
fn set_cursor(tx: &rusqlite::Connection, device: &str, seq: i64) -> Result<()> {
    exec(
        tx,
        "INSERT INTO sync_cursors (device, seq) VALUES (?1, ?2)
         ON CONFLICT(device) DO UPDATE SET seq = max(seq, excluded.seq)",
        params![device, seq],
    )?;
    Ok(())
}

/// Merge changes from another device (a change file or a snapshot part) inside `tx`.
#[cfg(feature = "sqlite")]
fn merge_changes(
    tx: &Transaction<'_>,
    own: &str,
    changes: &[Change],
    blobs: &[BlobData],
) -> Result<Applied> {
    set_meta(tx, "applying", "1")?;
    let mut merge = Merge {
        tx,
        own,
        applied: Applied::default(),
        touched: BTreeSet::new(),
        newest: last_clock(tx)?,
    };
    for b in blobs {
        if sha256_hex(&b.data) != b.sha256 {
            return Err(Error::Invalid(
                "A file from another device arrived damaged (its checksum does not match); nothing was merged. Sync again."
                    .into(),
            ));
        }
        exec(
            tx,
            "INSERT OR IGNORE INTO attachments (sha256, mime, bytes, data, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![b.sha256, b.mime, b.data.len() as i64, b.data, now_ms()],
        )?;
    }
    let rank = |c: &Change| match (c.kind.as_str(), c.field.as_str()) {
        ("profile", _) => 0,
        ("preset", _) => 1,
        ("price", _) => 2,
        ("setting", _) => 3,
        ("conversation", "deleted") => 5,
        ("conversation", _) => 4,
        ("message", "deleted") => 7,
        ("message", _) => 6,
        _ => 8,
    };
    let mut ordered: Vec<&Change> = changes.iter().collect();
    ordered.sort_by_key(|c| rank(c));
    for c in ordered {
        merge.apply(c)?;
    }
    merge.fix_heads()?;
    let Merge {
        mut applied,
        touched,
        newest,
        ..
    } = merge;
    applied.conversations = touched.into_iter().collect();
    set_meta(tx, "hlc", &newest.to_string())?;
    exec(tx, "DELETE FROM sync_meta WHERE key = 'applying'", [])?;
    Ok(applied)
}

/// Mark every synced row to be sent.
#[cfg(feature = "sqlite")]
fn mark_all(tx: &rusqlite::Connection) -> Result<()> {
    let now = "CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)";
    tx.execute_batch(&format!(
        "INSERT OR REPLACE INTO sync_dirty (kind, id, field, at_ms)
           SELECT 'profile', id, '*', updated_at FROM profiles;
         INSERT OR REPLACE INTO sync_dirty (kind, id, field, at_ms)
           SELECT 'preset', id, '*', updated_at FROM presets;
         INSERT OR REPLACE INTO sync_dirty (kind, id, field, at_ms)
           SELECT 'price', profile_id || char(10) || model, '*', {now} FROM model_prices;
         INSERT OR REPLACE INTO sync_dirty (kind, id, field, at_ms)
           SELECT 'setting', key, '*', {now} FROM settings WHERE key = 'app';
         INSERT OR REPLACE INTO sync_dirty (kind, id, field, at_ms)
           SELECT 'conversation', id, '*', updated_at FROM conversations
           WHERE remote_session IS NULL AND deleted_at IS NULL;
         INSERT OR REPLACE INTO sync_dirty (kind, id, field, at_ms)
           SELECT 'message', m.id, '*', m.updated_at FROM messages m
           JOIN conversations c ON c.id = m.conversation_id
           WHERE c.remote_session IS NULL AND c.deleted_at IS NULL ORDER BY m.seq;"
    ))?;
    Ok(())
}

#[cfg(feature = "sqlite")]
fn conversation_field(c: &Conversation, deleted: bool, field: &str) -> serde_json::Value {
    use serde_json::json;
    match field {
        "title" => json!(c.title),
        "pinned" => json!(c.pinned),
        "archived" => json!(c.archived),
        "profile_id" => json!(c.profile_id),
        "model" => json!(c.model),
        "system_prompt" => json!(c.system_prompt),
        "params" => serde_json::to_value(&c.params).unwrap_or_default(),
        "preset_id" => json!(c.preset_id),
        "head_id" => json!(c.head_id),
        "created_at" => json!(c.created_at),
        "deleted" => json!(deleted),
        _ => serde_json::Value::Null,
    }
}

#[cfg(feature = "sqlite")]
struct Merge<'a, 'c> {
    tx: &'a Transaction<'c>,
    own: &'a str,
    applied: Applied,
    touched: BTreeSet<String>,
    newest: Hlc,
}

#[cfg(feature = "sqlite")]
impl Merge<'_, '_> {
    /// Whether a change with clock `h` wins over what this device has for the same field:
    /// its merged version and an edit made here and not yet published.
    fn wins(&self, c: &Change, h: &Hlc) -> Result<bool> {
        if let Some(v) = version(self.tx, &c.kind, &c.id, &c.field)? {
            if v >= *h {
                return Ok(false);
            }
        }
        let pending: Option<i64> = row(
            self.tx,
            "SELECT max(at_ms) FROM sync_dirty WHERE kind = ?1 AND id = ?2 AND field IN (?3, '*')",
            params![c.kind, c.id, c.field],
            |r| r.get(0),
        )
        .optional()?
        .flatten();
        if let Some(at) = pending {
            let mine = Hlc::new(at.max(0) as u64, 0, self.own);
            if mine >= *h {
                return Ok(false);
            }
            // The other device's edit is newer: this device's pending one is dropped.
            exec(
                self.tx,
                "DELETE FROM sync_dirty WHERE kind = ?1 AND id = ?2 AND field = ?3",
                params![c.kind, c.id, c.field],
            )?;
        }
        Ok(true)
    }

    fn apply(&mut self, c: &Change) -> Result<()> {
        let Some(h) = Hlc::parse(&c.hlc) else {
            return Ok(());
        };
        self.newest = self.newest.clone().max(h.clone());
        match (c.kind.as_str(), c.field.as_str()) {
            ("message", "*") => self.message(c),
            ("message", "deleted") => {
                if version(self.tx, "message", &c.id, "deleted")?.is_some() {
                    return Ok(());
                }
                set_version(self.tx, c)?;
                self.message_tombstone(c)
            }
            ("conversation", "kept") => {
                // A device kept this conversation against the delete with this clock (a
                // message written after it arrived there): a snapshot carries that, since the
                // message itself may be gone since.
                if version(self.tx, "conversation", &c.id, "kept")?.is_some_and(|v| v >= h) {
                    return Ok(());
                }
                set_version(self.tx, c)?;
                let deleted: Option<bool> = row(
                    self.tx,
                    "SELECT deleted_at IS NOT NULL FROM conversations WHERE id = ?1",
                    [&c.id],
                    |r| r.get(0),
                )
                .optional()?;
                if deleted == Some(true) && self.delete_clock(&c.id)?.is_some_and(|d| d <= h) {
                    self.keep(&c.id, None)?;
                    self.touched.insert(c.id.clone());
                }
                Ok(())
            }
            ("conversation", _) => {
                if !self.wins(c, &h)? {
                    return Ok(());
                }
                set_version(self.tx, c)?;
                self.conversation_field(c, &h)
            }
            (kind @ ("profile" | "preset" | "price" | "setting"), _) => {
                if !self.wins(c, &h)? {
                    return Ok(());
                }
                set_version(self.tx, c)?;
                self.row(kind, c, &h)
            }
            _ => Ok(()),
        }
    }

    /// Make sure a conversation row exists to hold fields and messages from another device.
    /// The clock of the conversation's delete, when its `deleted` field says deleted.
    fn delete_clock(&self, id: &str) -> Result<Option<Hlc>> {
        let deleted = version_value(self.tx, "conversation", id, "deleted")?
            .and_then(|v| v.as_bool())
            .unwrap_or(false);
        if !deleted {
            return Ok(None);
        }
        version(self.tx, "conversation", id, "deleted")
    }

    /// Make sure a conversation row exists to hold fields and messages from another device
    /// (deleted, when its delete arrived first: the rest is kept under it, as on the device
    /// that deleted it).
    fn ensure_conversation(&self, id: &str, at_ms: i64) -> Result<()> {
        let exists: bool = row(
            self.tx,
            "SELECT count(*) > 0 FROM conversations WHERE id = ?1",
            [id],
            |r| r.get(0),
        )?;
        if exists {
            return Ok(());
        }
        let deleted_at = self.delete_clock(id)?.map(|h| h.ms as i64);
        exec(
            self.tx,
            "INSERT INTO conversations (id, title, created_at, updated_at, params, deleted_at)
             VALUES (?1, 'New conversation', ?2, ?2, '{}', ?3)",
            params![id, at_ms, deleted_at],
        )?;
        Ok(())
    }

    fn conversation_field(&mut self, c: &Change, h: &Hlc) -> Result<()> {
        let tx = self.tx;
        let id = c.id.as_str();
        let v = &c.value;
        let str_or_null = |v: &serde_json::Value| v.as_str().map(str::to_owned);
        if c.field == "deleted" {
            let deleted = v.as_bool().unwrap_or(false);
            self.ensure_conversation(id, h.ms as i64)?;
            if deleted {
                // Messages here, and messages deleted since (their tombstones say when they
                // were written), so the answer does not depend on which arrived first.
                let newer_message: bool = row(
                    tx,
                    "SELECT EXISTS (SELECT 1 FROM messages WHERE conversation_id = ?1 AND updated_at > ?2)
                        OR EXISTS (SELECT 1 FROM sync_versions WHERE kind = 'message' AND field = 'deleted'
                                     AND json_extract(value, '$.conversation') = ?1
                                     AND json_extract(value, '$.updated_at') > ?2)
                        OR EXISTS (SELECT 1 FROM sync_dirty WHERE kind = 'message' AND field = 'deleted'
                                     AND json_extract(value, '$.conversation') = ?1
                                     AND json_extract(value, '$.updated_at') > ?2)",
                    params![id, h.ms as i64],
                    |r| r.get(0),
                )?;
                let kept_elsewhere =
                    version(tx, "conversation", id, "kept")?.is_some_and(|k| k >= *h);
                if newer_message || kept_elsewhere {
                    self.keep(id, Some(h))?;
                } else {
                    exec(
                        tx,
                        "UPDATE conversations SET deleted_at = coalesce(deleted_at, ?2) WHERE id = ?1",
                        params![id, h.ms as i64],
                    )?;
                }
            } else {
                exec(
                    tx,
                    "UPDATE conversations SET deleted_at = NULL WHERE id = ?1",
                    [id],
                )?;
            }
            self.applied.changes += 1;
            self.touched.insert(id.to_owned());
            return Ok(());
        }
        // An edit of a deleted conversation is kept in its row (it shows if the conversation
        // comes back) but does not bring it back.
        self.ensure_conversation(id, h.ms as i64)?;
        match c.field.as_str() {
            "title" => {
                if let Some(t) = v.as_str().filter(|t| !t.trim().is_empty()) {
                    exec(
                        tx,
                        "UPDATE conversations SET title = ?2 WHERE id = ?1",
                        params![id, t],
                    )?;
                }
            }
            "pinned" | "archived" => {
                exec(
                    tx,
                    &format!("UPDATE conversations SET {} = ?2 WHERE id = ?1", c.field),
                    params![id, v.as_bool().unwrap_or(false)],
                )?;
            }
            "model" | "system_prompt" | "head_id" => {
                exec(
                    tx,
                    &format!("UPDATE conversations SET {} = ?2 WHERE id = ?1", c.field),
                    params![id, str_or_null(v)],
                )?;
            }
            "profile_id" => {
                exec(
                    tx,
                    "UPDATE conversations SET profile_id = (SELECT id FROM profiles WHERE id = ?2) WHERE id = ?1",
                    params![id, str_or_null(v)],
                )?;
            }
            "preset_id" => {
                exec(
                    tx,
                    "UPDATE conversations SET preset_id = (SELECT id FROM presets WHERE id = ?2) WHERE id = ?1",
                    params![id, str_or_null(v)],
                )?;
            }
            "params" => {
                let p: SamplingParams = serde_json::from_value(v.clone()).unwrap_or_default();
                exec(
                    tx,
                    "UPDATE conversations SET params = ?2 WHERE id = ?1",
                    params![id, serde_json::to_string(&p).map_err(Error::db)?],
                )?;
            }
            "created_at" => {
                if let Some(t) = v.as_i64() {
                    exec(
                        tx,
                        "UPDATE conversations SET created_at = ?2 WHERE id = ?1",
                        params![id, t],
                    )?;
                }
            }
            _ => return Ok(()),
        }
        self.applied.changes += 1;
        self.touched.insert(id.to_owned());
        Ok(())
    }

    /// Keep a conversation another device deleted, because messages were written after it.
    /// `delete` is the clock of the delete overruled (none for this device's own delete not
    /// yet sent); it is recorded as the conversation's `kept` version, which snapshots carry.
    fn keep(&mut self, id: &str, delete: Option<&Hlc>) -> Result<()> {
        if let Some(h) = delete {
            exec(
                self.tx,
                "INSERT INTO sync_versions (kind, id, field, hlc, value) VALUES ('conversation', ?1, 'kept', ?2, 'true')
                 ON CONFLICT(kind, id, field) DO UPDATE SET hlc = excluded.hlc
                 WHERE excluded.hlc > sync_versions.hlc",
                params![id, h.to_string()],
            )?;
        }
        exec(
            self.tx,
            "UPDATE conversations SET deleted_at = NULL,
               sync_note = 'Deleted on another device, and kept because messages were added to it after the delete.'
             WHERE id = ?1",
            [id],
        )?;
        if !self.applied.kept.iter().any(|k| k == id) {
            self.applied.kept.push(id.to_owned());
        }
        Ok(())
    }

    fn message(&mut self, c: &Change) -> Result<()> {
        let tx = self.tx;
        let deleted_here: bool = row(
            tx,
            "SELECT EXISTS (SELECT 1 FROM sync_versions WHERE kind = 'message' AND id = ?1 AND field = 'deleted')
                 OR EXISTS (SELECT 1 FROM sync_dirty WHERE kind = 'message' AND id = ?1 AND field = 'deleted')",
            [&c.id],
            |r| r.get(0),
        )?;
        if deleted_here {
            return Ok(());
        }
        let mut m: Message = match serde_json::from_value(c.value.clone()) {
            Ok(m) => m,
            Err(_) => return Ok(()),
        };
        if m.id != c.id || m.status == MessageStatus::Streaming {
            return Ok(());
        }
        let local: Option<i64> = row(
            tx,
            "SELECT updated_at FROM messages WHERE id = ?1",
            [&m.id],
            |r| r.get(0),
        )
        .optional()?;
        if local.is_some_and(|t| t >= m.updated_at) {
            return Ok(());
        }
        self.ensure_conversation(&m.conversation_id, m.created_at)?;
        let deleted_at: Option<i64> = row(
            tx,
            "SELECT deleted_at FROM conversations WHERE id = ?1",
            [&m.conversation_id],
            |r| r.get(0),
        )?;
        if let Some(deleted_at) = deleted_at {
            // Written after the delete (by the delete's clock, or this device's own delete
            // not yet sent): the message brings the conversation back, said so.
            let clock = self.delete_clock(&m.conversation_id)?;
            let delete_ms = clock.as_ref().map(|h| h.ms as i64).unwrap_or(deleted_at);
            if m.updated_at > delete_ms {
                self.keep(&m.conversation_id, clock.as_ref())?;
            }
        }
        // A reply to a message deleted elsewhere moves up to the nearest one still there.
        m.parent_id = resolve_parent(tx, m.parent_id.take())?;
        write_message_row(tx, &m)?;
        link_attachments(tx, &m)?;
        exec(
            tx,
            "UPDATE conversations SET updated_at = max(updated_at, ?2) WHERE id = ?1",
            params![m.conversation_id, m.updated_at],
        )?;
        self.applied.changes += 1;
        self.applied.messages += 1;
        self.touched.insert(m.conversation_id.clone());
        Ok(())
    }

    fn message_tombstone(&mut self, c: &Change) -> Result<()> {
        let tx = self.tx;
        // Replies here to the deleted message (known or not) move up past it; the tombstone
        // names its parent, so every device moves them to the same place.
        let parent = c
            .value
            .get("parent")
            .and_then(|p| p.as_str())
            .map(str::to_owned);
        let parent = resolve_parent(tx, parent)?;
        let conversation: Option<String> = row(
            tx,
            "SELECT conversation_id FROM messages WHERE id = ?1",
            [&c.id],
            |r| r.get(0),
        )
        .optional()?;
        // A message written after its conversation was deleted keeps the conversation, even
        // when only its tombstone arrives here.
        let written = c.value.get("updated_at").and_then(|t| t.as_i64());
        let named = c.value.get("conversation").and_then(|v| v.as_str());
        if let (Some(written), Some(conv)) = (written, named) {
            let deleted_at: Option<Option<i64>> = row(
                tx,
                "SELECT deleted_at FROM conversations WHERE id = ?1",
                [conv],
                |r| r.get(0),
            )
            .optional()?;
            if let Some(Some(deleted_at)) = deleted_at {
                let clock = self.delete_clock(conv)?;
                let delete_ms = clock.as_ref().map(|h| h.ms as i64).unwrap_or(deleted_at);
                if written > delete_ms {
                    let conv = conv.to_owned();
                    self.keep(&conv, clock.as_ref())?;
                    self.touched.insert(conv);
                }
            }
        }
        let children: Vec<String> = {
            let mut stmt = tx.prepare_cached(
                "SELECT DISTINCT conversation_id FROM messages WHERE parent_id = ?1",
            )?;
            let rows = stmt.query_map([&c.id], |r| r.get(0))?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        exec(
            tx,
            "UPDATE messages SET parent_id = ?2 WHERE parent_id = ?1",
            params![c.id, parent],
        )?;
        self.touched.extend(children);
        if let Some(conversation) = conversation {
            exec(tx, "DELETE FROM messages WHERE id = ?1", [&c.id])?;
            self.applied.changes += 1;
            self.touched.insert(conversation);
        }
        Ok(())
    }

    fn row(&mut self, kind: &str, c: &Change, h: &Hlc) -> Result<()> {
        let tx = self.tx;
        let v = &c.value;
        match kind {
            "profile" => {
                if v.is_null() {
                    exec(tx, "DELETE FROM profiles WHERE id = ?1", [&c.id])?;
                } else if let Ok(p) = serde_json::from_value::<Profile>(v.clone()) {
                    let name = unique_name(tx, "profiles", &p.id, &p.name)?;
                    write_profile_row(tx, &p, &name)?;
                }
            }
            "preset" => {
                if v.is_null() {
                    exec(tx, "DELETE FROM presets WHERE id = ?1", [&c.id])?;
                } else if let Ok(p) = serde_json::from_value::<Preset>(v.clone()) {
                    let name = unique_name(tx, "presets", &p.id, &p.name)?;
                    // One default: the newest choice of a default wins on every device.
                    let mut is_default = p.is_default;
                    if is_default {
                        let current: Option<String> = row(
                            tx,
                            "SELECT id FROM presets WHERE is_default = 1 AND id <> ?1",
                            [&p.id],
                            |r| r.get(0),
                        )
                        .optional()?;
                        if let Some(other) = current {
                            let theirs = version(tx, "preset", &other, "*")?;
                            if theirs.is_some_and(|t| t > *h) {
                                is_default = false;
                            } else {
                                exec(
                                    tx,
                                    "UPDATE presets SET is_default = 0 WHERE id = ?1",
                                    [&other],
                                )?;
                            }
                        }
                    }
                    write_preset_row(tx, &p, &name, is_default)?;
                }
            }
            "price" => {
                let (profile, model) = c.id.split_once('\n').unwrap_or((c.id.as_str(), ""));
                if v.is_null() {
                    exec(
                        tx,
                        "DELETE FROM model_prices WHERE profile_id = ?1 AND model = ?2",
                        params![profile, model],
                    )?;
                } else if let Ok(p) = serde_json::from_value::<ModelPrice>(v.clone()) {
                    exec(
                        tx,
                        "INSERT INTO model_prices (profile_id, model, input_per_million, output_per_million)
                         SELECT ?1, ?2, ?3, ?4 WHERE EXISTS (SELECT 1 FROM profiles WHERE id = ?1)
                         ON CONFLICT(profile_id, model) DO UPDATE SET
                           input_per_million = excluded.input_per_million,
                           output_per_million = excluded.output_per_million",
                        params![p.profile_id, p.model, p.input_per_million, p.output_per_million],
                    )?;
                }
            }
            "setting" => {
                if !SYNCED_SETTINGS.contains(&c.id.as_str()) {
                    return Ok(());
                }
                if v.is_null() {
                    exec(tx, "DELETE FROM settings WHERE key = ?1", [&c.id])?;
                } else {
                    exec(
                        tx,
                        "INSERT INTO settings (key, value) VALUES (?1, ?2)
                         ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                        params![c.id, v.to_string()],
                    )?;
                }
            }
            _ => return Ok(()),
        }
        self.applied.changes += 1;
        Ok(())
    }

    /// After a merge every touched conversation shows a branch that exists: the selected
    /// branch as last chosen anywhere when its message is here, else the newest leaf.
    fn fix_heads(&mut self) -> Result<()> {
        let tx = self.tx;
        for id in &self.touched {
            let current: Option<Option<String>> = row(
                tx,
                "SELECT head_id FROM conversations WHERE id = ?1",
                [id],
                |r| r.get(0),
            )
            .optional()?;
            let Some(current) = current else { continue };
            let exists = |m: &str| -> Result<bool> {
                Ok(row(
                    tx,
                    "SELECT count(*) > 0 FROM messages WHERE id = ?1 AND conversation_id = ?2",
                    params![m, id],
                    |r| r.get(0),
                )?)
            };
            let pending_here: bool = row(
                tx,
                "SELECT count(*) > 0 FROM sync_dirty WHERE kind = 'conversation' AND id = ?1 AND field IN ('head_id', '*')",
                [id],
                |r| r.get(0),
            )?;
            if pending_here && current.as_deref().map(exists).transpose()?.unwrap_or(false) {
                continue;
            }
            let chosen = version_value(tx, "conversation", id, "head_id")?
                .and_then(|v| v.as_str().map(str::to_owned));
            let head = match chosen {
                Some(h) if exists(&h)? => Some(h),
                _ => row(
                    tx,
                    "SELECT id FROM messages m WHERE conversation_id = ?1
                           AND NOT EXISTS (SELECT 1 FROM messages k WHERE k.parent_id = m.id)
                         ORDER BY created_at DESC, id DESC LIMIT 1",
                    [id],
                    |r| r.get(0),
                )
                .optional()?,
            };
            if head != current {
                exec(
                    tx,
                    "UPDATE conversations SET head_id = ?2 WHERE id = ?1",
                    params![id, head],
                )?;
            }
        }
        Ok(())
    }
}

/// The nearest ancestor still standing: past every message deleted on some device (their
/// tombstones name their parents).
#[cfg(feature = "sqlite")]
fn resolve_parent(tx: &rusqlite::Connection, mut parent: Option<String>) -> Result<Option<String>> {
    let mut hops = 0;
    while let Some(p) = parent.clone() {
        // Merged tombstones, and this device's own deletes not yet sent.
        let tomb: Option<Option<String>> = row(
                tx,
                "SELECT value FROM sync_versions WHERE kind = 'message' AND id = ?1 AND field = 'deleted'
                 UNION ALL
                 SELECT value FROM sync_dirty WHERE kind = 'message' AND id = ?1 AND field = 'deleted'
                 LIMIT 1",
                [&p],
                |r| r.get(0),
            )
            .optional()?;
        let Some(tomb) = tomb
            .flatten()
            .and_then(|v| serde_json::from_str::<serde_json::Value>(&v).ok())
        else {
            break;
        };
        parent = tomb
            .get("parent")
            .and_then(|p| p.as_str())
            .map(str::to_owned);
        hops += 1;
        if hops > 100_000 {
            return Ok(None);
        }
    }
    Ok(parent)
}

/// A name not used by another row of `table`: two devices may each create a "work" backend;
/// the one with the greater id gets its id's start added, the same way on every device.
#[cfg(feature = "sqlite")]
fn unique_name(tx: &rusqlite::Connection, table: &str, id: &str, name: &str) -> Result<String> {
    let taken = |candidate: &str, except: &str| -> Result<Option<String>> {
        Ok(row(
            tx,
            &format!("SELECT id FROM {table} WHERE name = ?1 COLLATE NOCASE AND id <> ?2"),
            params![candidate, except],
            |r| r.get(0),
        )
        .optional()?)
    };
    let Some(other) = taken(name, id)? else {
        return Ok(name.to_owned());
    };
    // The row with the greater id gives way, taking the end of its id (the random part of
    // an id; its start is a time shared by rows made together), or more of it when another
    // row already has that name.
    let loser = if other.as_str() < id {
        id
    } else {
        other.as_str()
    };
    let mut renamed = format!("{name} ({loser})");
    for n in [6, 12] {
        let candidate = format!("{name} ({})", &loser[loser.len().saturating_sub(n)..]);
        if taken(&candidate, loser)?.is_none() {
            renamed = candidate;
            break;
        }
    }
    if loser == id {
        Ok(renamed)
    } else {
        exec(
            tx,
            &format!("UPDATE {table} SET name = ?2 WHERE id = ?1"),
            params![other, renamed],
        )?;
        Ok(name.to_owned())
    }
}

#[cfg(feature = "sqlite")]
impl Store {
    /// Conversations (not deleted, not OpenCode copies) and the messages in them.
    pub fn sync_counts(&self) -> Result<(i64, i64)> {
        Ok(self.conn.query_row(
        "SELECT (SELECT count(*) FROM conversations WHERE deleted_at IS NULL AND remote_session IS NULL),
                (SELECT count(*) FROM messages m JOIN conversations c ON c.id = m.conversation_id
                  WHERE c.deleted_at IS NULL AND c.remote_session IS NULL)",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?)
    }
}
