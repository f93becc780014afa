//! The operating commands behind the CLI (and parts of Settings): the signed update check and
//! download, the diagnostics bundle for bug reports, and `reset`. They sit outside `cli.rs` so
//! that module stays the argument contract, and outside the engine because they touch the data
//! directory, the keychain and the user's downloads folder.

use std::path::{Path, PathBuf};

use serde_json::json;

use crate::engine::error::{Error, Result};
use crate::engine::redact::{redact, register_secret};
use crate::engine::update::{self, UpdateStatus};
use crate::platform::native::{DataDirs, KeyringSecrets};
use crate::platform::{SecretStore, Services, SettingsStore};

// ---- update check -----------------------------------------------------------------------------

/// The manifest URL to use: the one given, else the one in settings.
pub async fn update_url(services: &Services, given: Option<String>) -> Result<String> {
    if let Some(u) = given.filter(|u| !u.trim().is_empty()) {
        return Ok(u);
    }
    let settings = services.store.load_settings().await?;
    settings
        .update_url
        .filter(|u| !u.trim().is_empty())
        .ok_or_else(|| update::UpdateError::NoUrl.into())
}

/// Where a verified download is saved: the user's downloads folder, else `<data dir>/downloads`.
pub fn download_dir(dirs: &DataDirs) -> PathBuf {
    directories::UserDirs::new()
        .and_then(|u| u.download_dir().map(Path::to_path_buf))
        .unwrap_or_else(|| dirs.root.join("downloads"))
}

/// `check-update` as JSON: `{"status","current","latest","channel","notes","published_at",
/// "artifacts":[{"target","url","size","sha256"}],"downloaded"}`.
pub fn status_json(status: &UpdateStatus, downloaded: Option<&Path>) -> serde_json::Value {
    match status {
        UpdateStatus::UpToDate { current, latest } => json!({
            "status": "up_to_date", "current": current, "latest": latest,
            "channel": null, "notes": null, "published_at": null, "artifacts": [],
            "downloaded": null,
        }),
        UpdateStatus::Available(offer) => json!({
            "status": "available", "current": offer.current, "latest": offer.manifest.version,
            "channel": offer.manifest.channel, "notes": offer.manifest.notes,
            "published_at": offer.manifest.published_at,
            "artifacts": offer.artifacts.iter().map(|a| json!({
                "target": a.target, "url": a.url, "size": a.size, "sha256": a.sha256,
            })).collect::<Vec<_>>(),
            "downloaded": downloaded.map(|p| p.display().to_string()),
        }),
    }
}

// ---- diagnostics bundle -----------------------------------------------------------------------

/// How many of the newest log files go into a bundle.
const BUNDLE_LOGS: usize = 3;

/// Write a tar for a bug report: `diagnostics.json` (the `doctor --json` report), the newest log
/// files and the crash reports, every text passed through the redactor after every profile's
/// key has been registered with it. Returns the list of entries written.
pub async fn write_bundle(
    services: &Services,
    dirs: &DataDirs,
    report: &serde_json::Value,
    dest: &Path,
) -> Result<Vec<String>> {
    // Keys reach the redactor only once used; register them all so a key that slipped into an
    // older log line is removed too.
    if let Ok(profiles) = services.store.list_profiles().await {
        for p in profiles {
            if let Ok(Some(k)) = services.resolve_key(&p).await {
                register_secret(&k);
            }
        }
    }
    let mut entries: Vec<(String, Vec<u8>)> = Vec::new();
    let json = serde_json::to_string_pretty(report).unwrap_or_else(|_| report.to_string());
    entries.push(("diagnostics.json".into(), redact(&json).into_bytes()));
    for log in newest_files(&dirs.logs(), BUNDLE_LOGS) {
        let text = String::from_utf8_lossy(&std::fs::read(&log).unwrap_or_default()).into_owned();
        let name = log.file_name().unwrap_or_default().to_string_lossy();
        entries.push((format!("logs/{name}"), redact(&text).into_bytes()));
    }
    for r in crate::crash::list(&dirs.crash_reports()) {
        let text = std::fs::read_to_string(&r.path).unwrap_or_default();
        entries.push((
            format!("crash-reports/{}", r.name),
            redact(&text).into_bytes(),
        ));
    }

    if let Some(parent) = dest.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
    }
    let file = std::fs::File::create(dest).map_err(|e| Error::io(dest, e))?;
    let mut tar = tar::Builder::new(file);
    let mtime = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let mut names = Vec::new();
    for (name, bytes) in entries {
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o600);
        header.set_mtime(mtime);
        header.set_cksum();
        tar.append_data(
            &mut header,
            format!("opencode-nexus-diagnostics/{name}"),
            &bytes[..],
        )
        .map_err(|e| Error::io(dest, e))?;
        names.push(name);
    }
    tar.finish().map_err(|e| Error::io(dest, e))?;
    Ok(names)
}

fn newest_files(dir: &Path, n: usize) -> Vec<PathBuf> {
    let mut files: Vec<(std::time::SystemTime, PathBuf)> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_type().map(|t| t.is_file()).unwrap_or(false))
        .map(|e| {
            (
                e.metadata()
                    .and_then(|m| m.modified())
                    .unwrap_or(std::time::UNIX_EPOCH),
                e.path(),
            )
        })
        .collect();
    files.sort_by_key(|f| std::cmp::Reverse(f.0));
    files.into_iter().take(n).map(|(_, p)| p).collect()
}

// ---- reset ------------------------------------------------------------------------------------

/// What `reset` did.
#[derive(Debug, Default)]
pub struct ResetReport {
    pub backup: Option<PathBuf>,
    pub keys_removed: usize,
    pub removed: Vec<PathBuf>,
    /// Things that could not be done, as sentences; the rest still happened.
    pub warnings: Vec<String>,
}

/// Back up the history (when `keep_backup`), remove this data directory's keys from the
/// keychain, then delete the database, logs and crash reports. Backups are kept. Runs before
/// any store worker is started, so this process holds the database open only while reading it.
pub async fn reset(dirs: &DataDirs, keep_backup: bool) -> Result<ResetReport> {
    let mut report = ResetReport::default();
    let db = dirs.database();
    // Every open store holds `<db>.lock` shared; if we cannot hold it exclusively, the app or
    // another command is using this data directory and deleting under it would lose data.
    drop(lock_exclusively(&db)?);
    let mut profile_ids = Vec::new();
    if db.exists() {
        match crate::engine::store::Store::open(&db) {
            Ok(store) => {
                if keep_backup {
                    // No backup, no reset: the user asked to keep one. The name is the one
                    // `restore --latest` picks.
                    let dest = crate::engine::portability::backup_now(&store, &dirs.backups())?;
                    report.backup = Some(dest);
                }
                match store.list_profiles() {
                    Ok(list) => profile_ids = list.into_iter().map(|p| p.id).collect(),
                    Err(e) => report.warnings.push(format!(
                        "The backend profiles could not be read ({e}), so their keys were left in the keychain."
                    )),
                }
            }
            Err(e) => {
                if keep_backup {
                    // A damaged database cannot go through SQLite's backup; keep its bytes,
                    // under a name `restore --latest` does not pick.
                    let dest = dirs
                        .backups()
                        .join(format!("damaged-{}.db", crate::engine::model::now_ms()));
                    std::fs::create_dir_all(dirs.backups())
                        .map_err(|e| Error::io(dirs.backups(), e))?;
                    std::fs::copy(&db, &dest).map_err(|e| Error::io(&dest, e))?;
                    report.backup = Some(dest);
                }
                report.warnings.push(format!(
                    "The database could not be opened ({e}), so the keys of its backend profiles were left in the keychain."
                ));
            }
        }
    }

    // Only this data directory's keys: the keychain accounts are namespaced by it.
    let secrets = KeyringSecrets::new(dirs.key_namespace());
    for id in &profile_ids {
        match secrets.delete(id).await {
            Ok(()) => report.keys_removed += 1,
            Err(e) => {
                report
                    .warnings
                    .push(format!("Keys could not be removed from the keychain: {e}"));
                break;
            }
        }
    }
    // The sync password and passphrase, when this data directory synced.
    for id in crate::engine::sync::SECRETS {
        match secrets.delete(id).await {
            Ok(()) => {}
            Err(e) => {
                report
                    .warnings
                    .push(format!("Keys could not be removed from the keychain: {e}"));
                break;
            }
        }
    }

    let mut targets: Vec<PathBuf> = ["", "-wal", "-shm", ".lock"]
        .iter()
        .map(|suffix| {
            let mut name = db.as_os_str().to_owned();
            name.push(suffix);
            PathBuf::from(name)
        })
        .collect();
    targets.push(dirs.logs());
    targets.push(dirs.crash_reports());
    // Held while deleting, so an app started meanwhile waits and then finds a fresh directory.
    let _lock = lock_exclusively(&db)?;
    for path in targets {
        if !path.exists() {
            continue;
        }
        match remove_with_retry(&path) {
            Ok(()) => report.removed.push(path),
            Err(e) => report.warnings.push(format!(
                "Could not delete {}: {e}. Close OpenCode Nexus if it is running and delete it by hand.",
                path.display()
            )),
        }
    }
    Ok(report)
}

/// Take `<db>.lock` exclusively, waiting a moment (a command that just finished may still be
/// closing its store).
fn lock_exclusively(db: &Path) -> Result<std::fs::File> {
    crate::engine::store::lock_exclusively(db, std::time::Duration::from_secs(2))?.ok_or_else(|| {
        Error::Invalid(format!(
            "OpenCode Nexus (the app or another opencode-nexus command) is using {}. Close it and run reset again; nothing was changed.",
            db.parent().unwrap_or(db).display()
        ))
    })
}

/// Windows refuses to delete a file that is still open (a store worker closing); try for a
/// moment before giving up.
fn remove_with_retry(path: &Path) -> std::io::Result<()> {
    let mut last = None;
    for _ in 0..20 {
        let result = if path.is_dir() {
            std::fs::remove_dir_all(path)
        } else {
            std::fs::remove_file(path)
        };
        match result {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => last = Some(e),
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    Err(last.unwrap_or_else(|| std::io::Error::other("unknown error")))
}
