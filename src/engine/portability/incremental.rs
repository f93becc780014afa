//! Incremental backups: the database's pages, each stored once.
//!
//! A backup is a small manifest, `history-YYYYMMDD-HHMMSS.nbk`, that lists the SHA-256 (first
//! 16 bytes) of every page of the database at that moment; the pages themselves live once each,
//! deflate-compressed, in the page store `pages.db` beside the manifests (a SQLite file of its
//! own, so adding pages is transactional). A day of chatting changes a few pages of a large
//! history, so the next backup writes those pages and a manifest, not the whole database; a
//! database that did not change since the newest backup is not backed up again.
//!
//! Pages are read through SQLite's `sqlite_dbpage` table in one read transaction, so the
//! snapshot is consistent while the app keeps writing. Order of writes: the new pages are
//! committed to the page store first, then the manifest is written under a temporary name,
//! synced and renamed: a backup killed at any point leaves either no manifest (and some pages
//! that the next backup reuses or the next clean-up removes) or a complete one.
//!
//! Restoring writes every listed page in order into a new file, which then goes through the
//! same checks as a full backup ([`super::backup::restore`]). Deleting a manifest (retention)
//! is followed by [`collect_garbage`], which removes pages no remaining manifest lists.
//!
//! Manifest layout: the 8 bytes `NXBKUP01`, a little-endian u32 length and that many bytes of
//! JSON ([`Header`]), then `page_count` hashes of 16 bytes, in page order.

use std::collections::HashSet;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use rusqlite::{params, Connection, OpenFlags, OptionalExtension};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::engine::error::{Error, Result};
use crate::engine::store::Store;

/// The extension of a manifest.
pub const EXT: &str = "nbk";
/// The page store beside the manifests.
pub const PAGE_STORE: &str = "pages.db";
const MAGIC: &[u8; 8] = b"NXBKUP01";
/// Pages are stored raw when deflate does not make them smaller.
const RAW: u8 = 0;
const DEFLATE: u8 = 1;

type Hash = [u8; 16];

/// What a manifest says about its backup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    pub page_size: u32,
    pub page_count: u32,
    pub schema_version: i64,
    pub taken_at: i64,
    /// Pages this backup added to the page store (the others were there already).
    pub new_pages: u64,
    /// Bytes of those pages as stored (compressed, with their hashes); what the backup wrote
    /// is this plus the manifest's own size.
    pub new_bytes: u64,
}

/// A backup's header and its pages' hashes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    pub header: Header,
    hashes: Vec<Hash>,
}

/// What [`take`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Taken {
    /// The database is page for page the one in the newest backup: nothing was written.
    Unchanged,
    /// A new backup at this path.
    New { path: PathBuf, header: Header },
    /// This SQLite cannot list its pages; take a full copy instead.
    Unsupported,
}

fn hash(page: &[u8]) -> Hash {
    let digest = Sha256::digest(page);
    let mut h = [0u8; 16];
    h.copy_from_slice(&digest[..16]);
    h
}

fn bad(path: &Path, detail: impl Into<String>) -> Error {
    Error::BadBackup {
        path: path.display().to_string(),
        detail: detail.into(),
    }
}

pub fn read_manifest(path: &Path) -> Result<Manifest> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let not_ours = || {
        bad(
            path,
            "it is not an OpenCode Nexus incremental backup manifest",
        )
    };
    if bytes.len() < 12 || &bytes[..8] != MAGIC {
        return Err(not_ours());
    }
    let len = u32::from_le_bytes(bytes[8..12].try_into().map_err(|_| not_ours())?) as usize;
    let json = bytes.get(12..12 + len).ok_or_else(not_ours)?;
    let json = std::str::from_utf8(json).map_err(|_| not_ours())?;
    let header: Header = serde_json::from_str(json).map_err(|_| not_ours())?;
    let rest = &bytes[12 + len..];
    if rest.len() != header.page_count as usize * 16 {
        return Err(bad(path, "the manifest is truncated"));
    }
    let hashes = rest
        .chunks_exact(16)
        .map(|c| c.try_into().expect("16 bytes"))
        .collect();
    Ok(Manifest { header, hashes })
}

/// Writes the manifest atomically (temporary name, sync, rename); returns its size.
fn write_manifest(path: &Path, manifest: &Manifest) -> Result<u64> {
    let json = serde_json::to_vec(&manifest.header).map_err(|e| Error::db(e.to_string()))?;
    let mut out = Vec::with_capacity(12 + json.len() + manifest.hashes.len() * 16);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&(json.len() as u32).to_le_bytes());
    out.extend_from_slice(&json);
    for h in &manifest.hashes {
        out.extend_from_slice(h);
    }
    let mut partial = path.as_os_str().to_owned();
    partial.push(".partial");
    let partial = PathBuf::from(partial);
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::File::create(&partial)?;
        f.write_all(&out)?;
        f.sync_all()?;
        std::fs::rename(&partial, path)
    };
    write().map_err(|e| {
        let _ = std::fs::remove_file(&partial);
        Error::io(path, e)
    })?;
    Ok(out.len() as u64)
}

fn open_page_store(dir: &Path, create: bool) -> Result<Connection> {
    let path = dir.join(PAGE_STORE);
    if !create && !path.is_file() {
        return Err(bad(
            &path,
            "the page store of incremental backups is missing; it must stay beside the .nbk files",
        ));
    }
    let conn = Connection::open(&path).map_err(|e| Error::io(&path, e))?;
    // Another process (the CLI) backing up at the same moment waits instead of failing.
    conn.busy_timeout(std::time::Duration::from_secs(10))
        .map_err(|e| Error::io(&path, e))?;
    conn.execute_batch(
        "PRAGMA auto_vacuum = INCREMENTAL;
         PRAGMA journal_mode = WAL;
         PRAGMA synchronous = NORMAL;
         CREATE TABLE IF NOT EXISTS page (hash BLOB NOT NULL UNIQUE, data BLOB NOT NULL);",
    )
    .map_err(|e| Error::io(&path, e))?;
    Ok(conn)
}

fn compress(page: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::fast());
    let packed = enc.write_all(page).and_then(|_| enc.finish()).ok();
    match packed {
        Some(p) if p.len() + 1 < page.len() => {
            let mut out = Vec::with_capacity(p.len() + 1);
            out.push(DEFLATE);
            out.extend_from_slice(&p);
            out
        }
        _ => {
            let mut out = Vec::with_capacity(page.len() + 1);
            out.push(RAW);
            out.extend_from_slice(page);
            out
        }
    }
}

fn decompress(stored: &[u8], page_size: usize) -> Option<Vec<u8>> {
    let (&kind, body) = stored.split_first()?;
    let page = match kind {
        RAW => body.to_vec(),
        DEFLATE => {
            let mut out = Vec::with_capacity(page_size);
            flate2::read::DeflateDecoder::new(body)
                .read_to_end(&mut out)
                .ok()?;
            out
        }
        _ => return None,
    };
    (page.len() == page_size).then_some(page)
}

/// Takes an incremental backup of `store` to `dest` (a `.nbk` path in the backups directory),
/// comparing with `previous` (the newest manifest, if any).
pub fn take(store: &Store, dest: &Path, previous: Option<&Path>, taken_at: i64) -> Result<Taken> {
    let dir = dest
        .parent()
        .ok_or_else(|| Error::io(dest, std::io::Error::other("no directory")))?;
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let before = previous.and_then(|p| read_manifest(p).ok());
    let mut repo = open_page_store(dir, true)?;
    let tx = repo.transaction()?;
    let mut hashes: Vec<Hash> = Vec::new();
    let format = std::cell::Cell::new((0u32, 0i64));
    let mut new_pages = 0u64;
    let mut written = 0u64;
    let supported = {
        let mut known = tx.prepare("SELECT 1 FROM page WHERE hash = ?1")?;
        let mut insert = tx.prepare("INSERT OR IGNORE INTO page (hash, data) VALUES (?1, ?2)")?;
        store.read_pages(
            &mut |page_size, schema| {
                format.set((page_size, schema));
                Ok(())
            },
            &mut |pgno, data| {
                let h = hash(data);
                let index = pgno as usize - 1;
                let in_previous = before.as_ref().is_some_and(|m| {
                    m.header.page_size == format.get().0 && m.hashes.get(index) == Some(&h)
                });
                if !in_previous && known.query_row([&h[..]], |_| Ok(())).optional()?.is_none() {
                    let stored = compress(data);
                    written += stored.len() as u64 + 16;
                    new_pages += insert.execute(params![&h[..], stored])? as u64;
                }
                hashes.push(h);
                Ok(true)
            },
        )?
    };
    if supported.is_none() {
        return Ok(Taken::Unsupported);
    }
    let format = format.get();
    let unchanged = before.as_ref().is_some_and(|m| {
        m.header.page_size == format.0 && m.header.schema_version == format.1 && m.hashes == hashes
    });
    if unchanged {
        return Ok(Taken::Unchanged);
    }
    tx.commit()?;
    let manifest = Manifest {
        header: Header {
            page_size: format.0,
            page_count: hashes.len() as u32,
            schema_version: format.1,
            taken_at,
            new_pages,
            new_bytes: written,
        },
        hashes,
    };
    write_manifest(dest, &manifest)?;
    Ok(Taken::New {
        path: dest.to_owned(),
        header: manifest.header,
    })
}

/// Writes the database a manifest describes to `dest` (a new file).
pub fn materialize(manifest_path: &Path, dest: &Path) -> Result<()> {
    let manifest = read_manifest(manifest_path)?;
    let dir = manifest_path.parent().unwrap_or(Path::new("."));
    let repo = Connection::open_with_flags(
        dir.join(PAGE_STORE),
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|_| {
        bad(
            manifest_path,
            "the page store of incremental backups (pages.db) is missing; it must stay beside the .nbk files",
        )
    })?;
    let mut get = repo.prepare("SELECT data FROM page WHERE hash = ?1")?;
    let page_size = manifest.header.page_size as usize;
    let mut out =
        std::io::BufWriter::new(std::fs::File::create(dest).map_err(|e| Error::io(dest, e))?);
    for (i, h) in manifest.hashes.iter().enumerate() {
        let stored: Option<Vec<u8>> = get.query_row([&h[..]], |r| r.get(0)).optional()?;
        let page = stored
            .and_then(|s| decompress(&s, page_size))
            .ok_or_else(|| {
                bad(
                    manifest_path,
                    format!(
                        "page {} of {} is missing from the page store or damaged",
                        i + 1,
                        manifest.hashes.len()
                    ),
                )
            })?;
        out.write_all(&page).map_err(|e| Error::io(dest, e))?;
    }
    let f = out
        .into_inner()
        .map_err(|e| Error::io(dest, e.into_error()))?;
    f.sync_all().map_err(|e| Error::io(dest, e))?;
    Ok(())
}

/// Removes pages no manifest in `dir` lists any more and returns the space to the file system.
/// Returns how many pages went. A manifest that cannot be read keeps every page (nothing is
/// removed then), so a damaged file never costs another backup its pages.
pub fn collect_garbage(dir: &Path) -> Result<u64> {
    if !dir.join(PAGE_STORE).is_file() {
        return Ok(0);
    }
    let mut live: HashSet<Hash> = HashSet::new();
    for entry in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let path = entry.map_err(|e| Error::io(dir, e))?.path();
        if path.extension().is_some_and(|e| e == EXT) {
            match read_manifest(&path) {
                Ok(m) => live.extend(m.hashes),
                Err(_) => return Ok(0),
            }
        }
    }
    let mut repo = open_page_store(dir, false)?;
    let tx = repo.transaction()?;
    let dead: Vec<i64> = {
        let mut stmt = tx.prepare("SELECT rowid, hash FROM page")?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, Vec<u8>>(1)?)))?;
        let mut dead = Vec::new();
        for row in rows {
            let (rowid, h) = row?;
            let keep = <Hash>::try_from(h.as_slice()).is_ok_and(|h| live.contains(&h));
            if !keep {
                dead.push(rowid);
            }
        }
        dead
    };
    {
        let mut del = tx.prepare("DELETE FROM page WHERE rowid = ?1")?;
        for rowid in &dead {
            del.execute([rowid])?;
        }
    }
    tx.commit()?;
    if !dead.is_empty() {
        // Each step of `incremental_vacuum` frees one page: step it to the end.
        let mut vacuum = repo.prepare("PRAGMA incremental_vacuum")?;
        let mut steps = vacuum.query([])?;
        while steps.next()?.is_some() {}
        drop(steps);
        drop(vacuum);
        repo.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
    }
    Ok(dead.len() as u64)
}

/// Bytes the page store takes on disk (with its WAL).
pub fn page_store_bytes(dir: &Path) -> u64 {
    ["", "-wal"]
        .iter()
        .filter_map(|s| std::fs::metadata(dir.join(format!("{PAGE_STORE}{s}"))).ok())
        .map(|m| m.len())
        .sum()
}
