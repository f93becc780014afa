//! Backups of the history database and restoring one.
//!
//! Two kinds, both named `history-YYYYMMDD-HHMMSS.*` (UTC) in the backups directory, so
//! listing, retention and "latest" need no other bookkeeping:
//! - a **full copy** (`.db`), a consistent snapshot taken with SQLite's online backup API while
//!   the app keeps running ([`Store::snapshot_to`]): what "Back up now" writes, one file to keep
//!   or move anywhere;
//! - an **incremental backup** (`.nbk`, [`super::incremental`]): what the daily backup writes,
//!   only the pages that changed since the backups before it, and nothing at all when nothing
//!   changed.
//!
//! Retention keeps a number of backups and, optionally, stays under a total size (the newest
//! backup is always kept); pages no incremental backup lists any more are then removed.
//!
//! Restore replaces the database file, so nothing may have it open: the CLI runs it before
//! opening the store, and the GUI stops its store worker, restores, then starts a new worker.
//! It takes the same `<db>.lock` that [`Store::open`] holds shared, exclusively, and waits a
//! moment for a worker that is still shutting down. The backup is copied next to the database and
//! that copy is checked (a SQLite file, `integrity_check` ok, a schema this version can open, our
//! tables) before anything else happens; then the current database is saved as
//! `backups/pre-restore-<time>.db`, its `-wal`/`-shm` files are removed (a stale WAL must never be
//! replayed onto another database) and the copy is renamed into place.

#[cfg(feature = "sqlite")]
use std::path::Path;
use std::path::PathBuf;
#[cfg(feature = "sqlite")]
use std::time::Duration;

#[cfg(feature = "sqlite")]
use rusqlite::{Connection, OpenFlags};
use serde::{Deserialize, Serialize};

#[cfg(feature = "sqlite")]
use super::incremental::{self, Taken};
#[cfg(feature = "sqlite")]
use super::Progress;
#[cfg(feature = "sqlite")]
use crate::engine::error::{Error, Result};
#[cfg(feature = "sqlite")]
use crate::engine::model::now_ms;
#[cfg(feature = "sqlite")]
use crate::engine::store::{schema, Store};
use crate::engine::wire::Wire;

#[cfg(feature = "sqlite")]
const PREFIX: &str = "history-";
#[cfg(feature = "sqlite")]
const PRE_RESTORE_PREFIX: &str = "pre-restore-";

/// A backup file found in the backups directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Wire)]
pub struct BackupFile {
    pub path: PathBuf,
    /// When it was taken (from its name), milliseconds since the Unix epoch.
    pub taken_at: i64,
    pub bytes: u64,
    /// Same-second backups get `-1`, `-2`… after the time; orders them within the second.
    sequence: u32,
    /// An incremental backup (`.nbk`): `bytes` is its manifest, its pages are shared in the
    /// page store.
    #[serde(default)]
    pub incremental: bool,
}

/// What a restore did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Wire)]
pub struct RestoreReport {
    pub restored_from: PathBuf,
    /// The database as it was before the restore (none when there was no database yet).
    pub pre_restore: Option<PathBuf>,
    pub schema_version: i64,
}

/// `YYYYMMDD-HHMMSS` in UTC: the time part of backup and export file names.
pub fn stamp(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000))
        .map(|t| {
            format!(
                "{:04}{:02}{:02}-{:02}{:02}{:02}",
                t.year(),
                u8::from(t.month()),
                t.day(),
                t.hour(),
                t.minute(),
                t.second()
            )
        })
        .unwrap_or_else(|_| "00000000-000000".into())
}

#[cfg(feature = "sqlite")]
fn parse_stamp(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 15 || b[8] != b'-' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> { s.get(r)?.parse().ok() };
    let date = time::Date::from_calendar_date(
        num(0..4)? as i32,
        time::Month::try_from(num(4..6)? as u8).ok()?,
        num(6..8)? as u8,
    )
    .ok()?;
    let t = time::Time::from_hms(num(9..11)? as u8, num(11..13)? as u8, num(13..15)? as u8).ok()?;
    Some(
        time::PrimitiveDateTime::new(date, t)
            .assume_utc()
            .unix_timestamp()
            * 1000,
    )
}

/// (time, sequence, incremental) from `history-YYYYMMDD-HHMMSS[-N].db` or `….nbk`.
#[cfg(feature = "sqlite")]
fn parse_name(name: &str) -> Option<(i64, u32, bool)> {
    let rest = name.strip_prefix(PREFIX)?;
    let (rest, incremental) = match rest.strip_suffix(".db") {
        Some(r) => (r, false),
        None => (rest.strip_suffix(".nbk")?, true),
    };
    let stamp = rest.get(..15)?;
    let sequence = match rest.get(15..)? {
        "" => 0,
        tail => tail.strip_prefix('-')?.parse().ok()?,
    };
    Some((parse_stamp(stamp)?, sequence, incremental))
}

/// A new name `<prefix><stamp>[-N].<ext>` in `dir` that sorts after every other backup of the
/// same second, of either kind (a free lower number would make a new backup look older than
/// it is).
#[cfg(feature = "sqlite")]
fn unique_name(dir: &Path, prefix: &str, ms: i64) -> PathBuf {
    unique_name_ext(dir, prefix, ms, "db")
}

#[cfg(feature = "sqlite")]
fn unique_name_ext(dir: &Path, prefix: &str, ms: i64, ext: &str) -> PathBuf {
    let base = format!("{prefix}{}", stamp(ms));
    let mut highest: Option<u32> = None;
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(rest) = name.to_str().and_then(|n| n.strip_prefix(base.as_str())) else {
                continue;
            };
            let rest = rest.strip_suffix(".partial").unwrap_or(rest);
            let seq = match rest
                .strip_suffix(".db")
                .or_else(|| rest.strip_suffix(".nbk"))
            {
                Some("") => Some(0),
                Some(tail) => tail.strip_prefix('-').and_then(|n| n.parse().ok()),
                None => None,
            };
            if let Some(seq) = seq {
                highest = highest.max(Some(seq));
            }
        }
    }
    match highest {
        None => dir.join(format!("{base}.{ext}")),
        Some(n) => dir.join(format!("{base}-{}.{ext}", n + 1)),
    }
}

/// The backups in `dir`, newest first. Files not named like a backup (pre-restore copies,
/// anything the user put there) are not listed.
#[cfg(feature = "sqlite")]
pub fn list_backups(dir: &Path) -> Result<Vec<BackupFile>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io(dir, e)),
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        let name = entry.file_name();
        let Some((taken_at, sequence, incremental)) = name.to_str().and_then(parse_name) else {
            continue;
        };
        let meta = entry.metadata().map_err(|e| Error::io(entry.path(), e))?;
        if !meta.is_file() {
            continue;
        }
        out.push(BackupFile {
            path: entry.path(),
            taken_at,
            bytes: meta.len(),
            sequence,
            incremental,
        });
    }
    out.sort_by_key(|b| std::cmp::Reverse((b.taken_at, b.sequence)));
    Ok(out)
}

#[cfg(feature = "sqlite")]
pub fn latest_backup(dir: &Path) -> Result<Option<PathBuf>> {
    Ok(list_backups(dir)?.into_iter().next().map(|b| b.path))
}

/// Back up now to a timestamped file in `dir`; returns its path.
#[cfg(feature = "sqlite")]
pub fn backup_now(store: &Store, dir: &Path) -> Result<PathBuf> {
    backup_now_with_progress(store, dir, None, &mut |_, _| true)
}

/// Back up now and, with `keep`, apply retention afterwards (the new backup counts).
#[cfg(feature = "sqlite")]
pub fn backup_now_with_progress(
    store: &Store,
    dir: &Path,
    keep: Option<usize>,
    progress: Progress<'_>,
) -> Result<PathBuf> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let path = unique_name(dir, PREFIX, now_ms());
    store.snapshot_to(&path, progress)?;
    if let Some(keep) = keep {
        apply_backup_retention(dir, keep.max(1))?;
    }
    Ok(path)
}

/// Keep the `keep` newest backups in `dir` and delete the rest; returns what was deleted.
#[cfg(feature = "sqlite")]
pub fn apply_backup_retention(dir: &Path, keep: usize) -> Result<Vec<PathBuf>> {
    apply_retention_limits(dir, keep, None)
}

/// Retention by count and, with `max_bytes`, by the total size of the backups (page store
/// included): the oldest go first and the newest is always kept. Pages no remaining
/// incremental backup lists are removed afterwards.
#[cfg(feature = "sqlite")]
pub fn apply_retention_limits(
    dir: &Path,
    keep: usize,
    max_bytes: Option<u64>,
) -> Result<Vec<PathBuf>> {
    let mut removed = Vec::new();
    let remove = |path: &Path, removed: &mut Vec<PathBuf>| -> Result<()> {
        std::fs::remove_file(path).map_err(|e| Error::io(path, e))?;
        removed.push(path.to_owned());
        Ok(())
    };
    let mut listed = list_backups(dir)?;
    for old in listed.split_off(keep.max(1).min(listed.len())) {
        remove(&old.path, &mut removed)?;
    }
    incremental::collect_garbage(dir)?;
    if let Some(limit) = max_bytes {
        while listed.len() > 1 && backups_bytes(dir)? > limit {
            let oldest = listed.pop().expect("more than one");
            remove(&oldest.path, &mut removed)?;
            incremental::collect_garbage(dir)?;
        }
    }
    Ok(removed)
}

/// What the backups in `dir` take on disk: full copies, manifests and the shared page store.
#[cfg(feature = "sqlite")]
pub fn backups_bytes(dir: &Path) -> Result<u64> {
    Ok(
        list_backups(dir)?.iter().map(|b| b.bytes).sum::<u64>()
            + incremental::page_store_bytes(dir),
    )
}

/// Delete every backup in `dir`, including the copies kept before a restore (part of "delete
/// all data" when the user does not keep backups). Returns how many files went.
#[cfg(feature = "sqlite")]
pub fn delete_backups(dir: &Path) -> Result<usize> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(Error::io(dir, e)),
    };
    let mut removed = 0;
    for entry in entries {
        let path = entry.map_err(|e| Error::io(dir, e))?.path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        let ours = name.starts_with(PREFIX)
            || name.starts_with(PRE_RESTORE_PREFIX)
            || name.starts_with(incremental::PAGE_STORE);
        if ours && path.is_file() {
            std::fs::remove_file(&path).map_err(|e| Error::io(&path, e))?;
            removed += 1;
        }
    }
    Ok(removed)
}

/// The automatic backup: when the newest backup is at least `every_ms` old (or there is none),
/// take an incremental one (a full copy where this SQLite cannot list its pages) and apply
/// retention. Returns the new backup, if one was taken: none when the database did not change
/// since the newest incremental backup.
#[cfg(feature = "sqlite")]
pub fn auto_backup(
    store: &Store,
    dir: &Path,
    every_ms: i64,
    keep: usize,
) -> Result<Option<PathBuf>> {
    auto_backup_within(store, dir, every_ms, keep, None)
}

/// [`auto_backup`] with a limit on the backups' total size.
#[cfg(feature = "sqlite")]
pub fn auto_backup_within(
    store: &Store,
    dir: &Path,
    every_ms: i64,
    keep: usize,
    max_bytes: Option<u64>,
) -> Result<Option<PathBuf>> {
    let listed = list_backups(dir)?;
    let newest = listed.first().map(|b| b.taken_at);
    if newest.is_some_and(|t| now_ms().saturating_sub(t) < every_ms) {
        return Ok(None);
    }
    Ok(incremental_backup(store, dir, keep, max_bytes)?.map(|(path, _)| path))
}

/// Takes an incremental backup now (a full copy where pages cannot be listed) and applies
/// retention. `None` when nothing changed since the newest incremental backup. The header
/// is there for incremental backups.
#[cfg(feature = "sqlite")]
pub fn incremental_backup(
    store: &Store,
    dir: &Path,
    keep: usize,
    max_bytes: Option<u64>,
) -> Result<Option<(PathBuf, Option<incremental::Header>)>> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let previous = list_backups(dir)?.into_iter().find(|b| b.incremental);
    let taken_at = now_ms();
    let dest = unique_name_ext(dir, PREFIX, taken_at, incremental::EXT);
    let taken = match incremental::take(
        store,
        &dest,
        previous.as_ref().map(|b| b.path.as_path()),
        taken_at,
    )? {
        Taken::Unchanged => return Ok(None),
        Taken::New { path, header } => (path, Some(header)),
        Taken::Unsupported => {
            let path = unique_name(dir, PREFIX, taken_at);
            store.snapshot_to(&path, &mut |_, _| true)?;
            (path, None)
        }
    };
    apply_retention_limits(dir, keep.max(1), max_bytes)?;
    Ok(Some(taken))
}

#[cfg(feature = "sqlite")]
fn sidecar(db: &Path, suffix: &str) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// Check that `path` is a healthy OpenCode Nexus history this version can open; returns its
/// schema version. Opening may create `-wal`/`-shm` files next to it, so restore checks a copy.
#[cfg(feature = "sqlite")]
pub fn validate_backup(path: &Path) -> Result<i64> {
    let shown = path.display().to_string();
    let bad = |detail: String| Error::BadBackup {
        path: shown.clone(),
        detail,
    };
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| bad(format!("it could not be opened ({e})")))?;
    validate_connection(&conn, bad)
}

/// The checks a backup passes before it may replace the history, on an open copy of it: SQLite's
/// integrity check, a schema this version understands, the tables of a history. `bad` turns a
/// detail into the error naming the file.
#[cfg(feature = "sqlite")]
pub fn validate_connection(conn: &Connection, bad: impl Fn(String) -> Error) -> Result<i64> {
    let not_db = |e: rusqlite::Error| bad(format!("it is not a readable SQLite database ({e})"));
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(not_db)?;
    let problems: Vec<String> = {
        let mut stmt = conn.prepare("PRAGMA integrity_check").map_err(not_db)?;
        let rows = stmt
            .query_map([], |r| r.get::<_, String>(0))
            .map_err(not_db)?;
        rows.collect::<rusqlite::Result<_>>().map_err(not_db)?
    };
    if problems != ["ok"] {
        return Err(bad(format!(
            "its integrity check failed ({})",
            problems
                .iter()
                .take(3)
                .cloned()
                .collect::<Vec<_>>()
                .join("; ")
        )));
    }
    if version > schema::LATEST {
        return Err(bad(format!(
            "it was written by a newer version of OpenCode Nexus (schema {version}, this version understands up to {}); update the app first",
            schema::LATEST
        )));
    }
    let tables: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table'
             AND name IN ('profiles', 'conversations', 'messages')",
            [],
            |r| r.get(0),
        )
        .map_err(not_db)?;
    if version < 1 || tables != 3 {
        return Err(bad(
            "it is a SQLite database but not an OpenCode Nexus history".into(),
        ));
    }
    Ok(version)
}

/// Replace the database at `db` with `backup` (see the module comment for the steps). Nothing
/// may have the database open.
#[cfg(feature = "sqlite")]
pub fn restore(db: &Path, backup: &Path) -> Result<RestoreReport> {
    if !backup.is_file() {
        return Err(Error::BadBackup {
            path: backup.display().to_string(),
            detail: "there is no such file".into(),
        });
    }
    let dir = db
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let _lock = crate::engine::store::lock_exclusively(db, Duration::from_secs(3))?.ok_or_else(|| {
        Error::Invalid(format!(
            "The history database {} is in use by the app or another opencode-nexus command, so it cannot be replaced. Close them and restore again; nothing was changed.",
            db.display()
        ))
    })?;

    let staging = sidecar(db, ".restoring");
    let cleanup = |p: &Path| {
        for s in ["", "-wal", "-shm", "-journal"] {
            let _ = std::fs::remove_file(sidecar(p, s));
        }
    };
    cleanup(&staging);
    if backup.extension().is_some_and(|e| e == incremental::EXT) {
        if let Err(e) = incremental::materialize(backup, &staging) {
            cleanup(&staging);
            return Err(e);
        }
    } else {
        std::fs::copy(backup, &staging).map_err(|e| Error::io(backup, e))?;
    }
    let schema_version = match validate_backup(&staging) {
        Ok(v) => v,
        Err(e) => {
            cleanup(&staging);
            // Name the file the user chose, not the copy.
            return Err(match e {
                Error::BadBackup { detail, .. } => Error::BadBackup {
                    path: backup.display().to_string(),
                    detail,
                },
                other => other,
            });
        }
    };
    // Validation may have left WAL files; the copy must be one self-contained file.
    for s in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(sidecar(&staging, s));
    }

    let pre_restore = if db.exists() {
        let backups = dir.join("backups");
        std::fs::create_dir_all(&backups).map_err(|e| Error::io(&backups, e))?;
        let pre = unique_name(&backups, PRE_RESTORE_PREFIX, now_ms());
        if let Err(e) = save_current(db, &pre) {
            cleanup(&staging);
            return Err(e);
        }
        Some(pre)
    } else {
        None
    };

    for s in ["-wal", "-shm", "-journal"] {
        let side = sidecar(db, s);
        match std::fs::remove_file(&side) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                cleanup(&staging);
                return Err(Error::io(&side, e));
            }
        }
    }
    std::fs::rename(&staging, db).map_err(|e| Error::io(db, e))?;
    tracing::info!(from = %backup.display(), "history database restored from a backup");
    Ok(RestoreReport {
        restored_from: backup.to_owned(),
        pre_restore,
        schema_version,
    })
}

/// Save the current database (with whatever its WAL holds) to `dest`. A damaged database, the
/// usual reason to restore, may defeat the backup API; its files are then copied as they are.
#[cfg(feature = "sqlite")]
fn save_current(db: &Path, dest: &Path) -> Result<()> {
    let through_sqlite = || -> rusqlite::Result<()> {
        let conn = Connection::open_with_flags(
            db,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.backup(
            rusqlite::MAIN_DB,
            dest,
            None::<fn(rusqlite::backup::Progress)>,
        )
    };
    if through_sqlite().is_ok() {
        return Ok(());
    }
    for s in ["-wal", "-shm", "-journal"] {
        let _ = std::fs::remove_file(sidecar(dest, s));
    }
    std::fs::copy(db, dest).map_err(|e| Error::io(dest, e))?;
    let wal = sidecar(db, "-wal");
    if wal.exists() {
        let to = sidecar(dest, "-wal");
        std::fs::copy(&wal, &to).map_err(|e| Error::io(&to, e))?;
    }
    Ok(())
}
