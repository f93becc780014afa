//! Sync between a user's devices through storage they own, end-to-end encrypted, merging
//! instead of overwriting. The layout of the remote folder is documented in
//! docs/sync-format.md; the merge rules in [`crate::engine::store::sync`].
//!
//! One run ([`sync_now`]): open the folder (create it on the first device; check the passphrase
//! against its key-check file), publish this device's changes as new segments (each written
//! whole, then listed in the device's head, then recorded here), then merge every other
//! device's segments this device has not merged yet (each in one transaction with its cursor).
//! A run stopped at any point leaves both sides consistent; the next run completes it.

pub mod crypto;
pub mod hlc;
pub mod remote;
pub mod s3;

use std::io::{Read, Write};

use serde::{Deserialize, Serialize};

use crate::engine::attachments::sha256_hex;
use crate::engine::error::{Error, Result};
use crate::engine::model::now_ms;
use crate::engine::store::api::StoreClient;
use crate::engine::store::sync::{BlobData, Change};
use crypto::{KdfParams, SyncKey};
use remote::Remote;

/// The remote format this version writes and reads.
pub const FORMAT: u32 = 1;
/// Everything lives in this folder under the URL the user gives.
pub const ROOT: &str = "opencode-nexus";
const KEYCHECK_TEXT: &[u8] = b"OpenCode Nexus sync key check v1";

/// Where this device syncs to. Kept in this device's settings (not synced); the password (or
/// S3 keys) and the passphrase live in the keychain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SyncSetup {
    /// A WebDAV folder URL, or `s3://bucket/folder`.
    pub url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// S3: the endpoint (`https://s3.eu-central-1.amazonaws.com`, an R2 or MinIO address).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// S3: the region to sign for (default `us-east-1`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
}

impl SyncSetup {
    pub fn is_s3(&self) -> bool {
        self.url.trim().starts_with("s3://")
    }
}

/// The settings key of [`SyncSetup`], and the secret ids of the password (the S3 secret key),
/// the S3 access key and the passphrase.
pub const SETUP_KEY: &str = "sync.setup";
pub const PASSWORD_SECRET: &str = "sync:password";
pub const ACCESS_KEY_SECRET: &str = "sync:access-key";
pub const PASSPHRASE_SECRET: &str = "sync:passphrase";
/// Every keychain entry of sync, for forgetting and deleting all data.
pub const SECRETS: [&str; 3] = [PASSWORD_SECRET, ACCESS_KEY_SECRET, PASSPHRASE_SECRET];

/// The folder a setup names: WebDAV with a user and password, or an S3 bucket with an access
/// key and secret key (`password`).
pub fn open_remote(
    client: reqwest::Client,
    setup: &SyncSetup,
    password: Option<String>,
    access_key: Option<String>,
) -> Result<Box<dyn Remote>> {
    if setup.is_s3() {
        let endpoint = setup.endpoint.as_deref().unwrap_or("");
        if endpoint.is_empty() {
            return Err(Error::Invalid(
                "An s3:// folder needs the storage's endpoint (e.g. https://s3.eu-central-1.amazonaws.com)."
                    .into(),
            ));
        }
        let at =
            s3::S3Location::parse(&setup.url, endpoint, setup.region.as_deref().unwrap_or(""))?;
        let (Some(access), Some(secret)) = (access_key, password) else {
            return Err(Error::Invalid(
                "An S3 folder needs an access key and a secret key.".into(),
            ));
        };
        Ok(Box::new(s3::S3::new(client, at, access, secret)))
    } else {
        Ok(Box::new(remote::WebDav::new(
            client,
            &setup.url,
            setup.user.clone(),
            password,
        )?))
    }
}

/// `format.json`, the one file in plain text: what a client needs to derive the key.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FormatFile {
    pub format: u32,
    pub kdf: KdfParams,
}

/// A device's head: the segments it published, in order. Sealed.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Head {
    pub format: u32,
    pub device: String,
    pub name: String,
    pub updated_ms: i64,
    pub segments: Vec<SegmentRef>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SegmentRef {
    pub seq: i64,
    pub file: String,
    pub bytes: u64,
}

/// A segment: changes of one device, as one sealed, deflated JSON file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Segment {
    pub format: u32,
    pub device: String,
    pub seq: i64,
    pub changes: Vec<Change>,
    #[serde(default)]
    pub blobs: Vec<BlobData>,
}

/// One of the user's devices as the remote lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeviceInfo {
    pub id: String,
    pub name: String,
    pub last_sync_ms: i64,
    pub segments: usize,
    pub this_device: bool,
}

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SyncReport {
    /// Changes published from this device.
    pub pushed: usize,
    /// Changes from other devices merged here.
    pub pulled: usize,
    /// Conversations and messages here after the run.
    pub conversations: i64,
    pub messages: i64,
    /// Conversations deleted on another device and kept because messages were added later.
    pub kept: Vec<String>,
    pub devices: Vec<DeviceInfo>,
    pub requests: u64,
}

/// "1 conversation", "2 conversations".
fn counted(n: impl Into<i64>, what: &str) -> String {
    let n = n.into();
    format!("{n} {what}{}", if n == 1 { "" } else { "s" })
}

impl SyncReport {
    /// What the run did, as the app and the command line say it.
    pub fn summary(&self) -> String {
        format!(
            "Sent {}, merged {}; {} and {} here.",
            counted(self.pushed as i64, "change"),
            counted(self.pulled as i64, "change"),
            counted(self.conversations, "conversation"),
            counted(self.messages, "message")
        )
    }
}

fn path(rest: &str) -> String {
    format!("{ROOT}/{rest}")
}

fn newer_format(found: u32) -> Error {
    Error::Invalid(format!(
        "The sync folder was written by a newer version of OpenCode Nexus (format {found}; this version reads format {FORMAT}). Update the app on this device to sync; nothing was changed."
    ))
}

pub fn wrong_passphrase() -> Error {
    Error::Invalid(
        "The sync passphrase is not the one this sync folder was set up with, so nothing was merged. Enter the passphrase used on your other devices."
            .into(),
    )
}

/// Open the sync folder: read its format and check the passphrase, or set it up when it is
/// empty (the first device). Returns the key.
pub async fn open_folder(remote: &dyn Remote, passphrase: &str) -> Result<SyncKey> {
    if passphrase.is_empty() {
        return Err(Error::Invalid(
            "Sync needs a passphrase: it encrypts everything before it leaves this device.".into(),
        ));
    }
    let format = match remote.get(&path("format.json")).await? {
        Some(bytes) => {
            let value: serde_json::Value = serde_json::from_slice(&bytes).map_err(|_| {
                Error::Invalid(format!(
                    "{} holds a format.json that is not an OpenCode Nexus sync folder's. Choose an empty folder.",
                    remote.describe()
                ))
            })?;
            let found = value.get("format").and_then(|f| f.as_u64()).unwrap_or(0) as u32;
            if found > FORMAT {
                return Err(newer_format(found));
            }
            serde_json::from_value::<FormatFile>(value).map_err(|e| {
                Error::Invalid(format!(
                    "The sync folder's format.json cannot be read ({e}). Check that the URL points at an OpenCode Nexus sync folder."
                ))
            })?
        }
        None => {
            let f = FormatFile {
                format: FORMAT,
                kdf: KdfParams::fresh()?,
            };
            let text = serde_json::to_vec_pretty(&f).map_err(Error::db)?;
            remote.put(&path("format.json"), text).await?;
            f
        }
    };
    let key = SyncKey::derive(passphrase, &format.kdf)?;
    match remote.get(&path("keycheck")).await? {
        Some(sealed) => {
            if key.open("keycheck", &sealed).as_deref() != Some(KEYCHECK_TEXT) {
                return Err(wrong_passphrase());
            }
        }
        None => {
            remote
                .put(&path("keycheck"), key.seal("keycheck", KEYCHECK_TEXT)?)
                .await?;
        }
    }
    Ok(key)
}

async fn read_head(remote: &dyn Remote, key: &SyncKey, file: &str) -> Result<Option<Head>> {
    let Some(sealed) = remote.get(&path(&format!("heads/{file}"))).await? else {
        return Ok(None);
    };
    let plain = key.open("head", &sealed).ok_or_else(|| {
        Error::Invalid(format!(
            "The sync folder holds a device record (heads/{file}) this passphrase cannot open; it may be damaged. Nothing was merged from it."
        ))
    })?;
    let head: Head = serde_json::from_slice(&plain).map_err(|e| {
        Error::Invalid(format!(
            "A device record in the sync folder (heads/{file}) cannot be read ({e})."
        ))
    })?;
    if head.format > FORMAT {
        return Err(newer_format(head.format));
    }
    Ok(Some(head))
}

fn deflate(data: &[u8]) -> Result<Vec<u8>> {
    let mut enc = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::new(6));
    enc.write_all(data).map_err(Error::db)?;
    enc.finish().map_err(Error::db)
}

fn inflate(data: &[u8], limit: u64) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    flate2::read::DeflateDecoder::new(data)
        .take(limit)
        .read_to_end(&mut out)
        .map_err(|e| Error::Invalid(format!("A sync segment cannot be decompressed ({e}).")))?;
    Ok(out)
}

/// Sync once: publish this device's changes, merge everyone else's.
pub async fn sync_now(
    store: &StoreClient,
    remote: &dyn Remote,
    passphrase: &str,
) -> Result<SyncReport> {
    let key = open_folder(remote, passphrase).await?;
    sync_with_key(store, remote, &key).await
}

/// Where a run is, for a long one (a new device's first sync): told after each change file
/// sent or merged.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SyncProgress {
    /// Changes from this device published so far.
    pub sent: usize,
    /// Change files from other devices merged so far, of how many this run has to merge.
    pub files_merged: usize,
    pub files_to_merge: usize,
    /// Changes those files held.
    pub merged: usize,
}

impl SyncProgress {
    /// "Merging changes from other devices: 12 of 340 files (5,400 changes)".
    pub fn sentence(&self) -> String {
        if self.files_to_merge == 0 {
            return format!("Sending this device's changes: {} so far.", self.sent);
        }
        format!(
            "Merging changes from other devices: {} of {} files ({}).",
            self.files_merged,
            self.files_to_merge,
            counted(self.merged as i64, "change")
        )
    }
}

/// [`sync_now`] with the key already derived (a long-lived app derives it once).
pub async fn sync_with_key(
    store: &StoreClient,
    remote: &dyn Remote,
    key: &SyncKey,
) -> Result<SyncReport> {
    sync_with_progress(store, remote, key, &|_| {}).await
}

/// [`sync_with_key`], telling `progress` where it is after each change file.
pub async fn sync_with_progress(
    store: &StoreClient,
    remote: &dyn Remote,
    key: &SyncKey,
    progress: &dyn Fn(SyncProgress),
) -> Result<SyncReport> {
    let mut at = SyncProgress::default();
    let state = store.sync_state().await?;
    let device = state.device.clone().ok_or_else(|| {
        Error::Invalid(
            "Sync is not set up on this device. Set it up in Settings → Sync or with `opencode-nexus sync setup`."
                .into(),
        )
    })?;
    let name = state.device_name.clone().unwrap_or_else(|| "Device".into());
    let head_file = format!("{device}.nxh");
    let mut report = SyncReport::default();

    // Publish.
    let remote_head = read_head(remote, key, &head_file).await?;
    if remote_head.is_none() && state.pushed_seq > 0 {
        // The folder lost this device's record (emptied, or a new folder with the same
        // passphrase): send the whole history again.
        store.sync_resend_all().await?;
    }
    let announce = remote_head.as_ref().is_none_or(|h| h.name != name);
    let mut head = remote_head.unwrap_or(Head {
        format: FORMAT,
        device: device.clone(),
        name: name.clone(),
        updated_ms: 0,
        segments: Vec::new(),
    });
    head.name = name.clone();
    let listed = head.segments.last().map(|s| s.seq).unwrap_or(0);
    // Past this device's own record and past what the folder lists for it (a run stopped
    // after publishing a segment, before recording it here).
    let mut seq = state.pushed_seq.max(listed);
    loop {
        let out = store.sync_collect().await?;
        if out.changes.is_empty() {
            if !out.skipped.is_empty() {
                store.sync_skip(out.clone()).await?;
            }
            if out.more && !out.skipped.is_empty() {
                continue;
            }
            break;
        }
        seq += 1;
        let segment = Segment {
            format: FORMAT,
            device: device.clone(),
            seq,
            changes: out.changes.clone(),
            blobs: out.blobs.clone(),
        };
        let plain = serde_json::to_vec(&segment).map_err(Error::db)?;
        let sealed = key.seal("segment", &deflate(&plain)?)?;
        let file = format!("{seq:010}-{}.nxs", &sha256_hex(&sealed)[..32]);
        let bytes = sealed.len() as u64;
        remote
            .put(&path(&format!("segments/{device}/{file}")), sealed)
            .await?;
        head.segments.retain(|s| s.seq < seq);
        head.segments.push(SegmentRef { seq, file, bytes });
        head.updated_ms = now_ms();
        let sealed_head = key.seal("head", &serde_json::to_vec(&head).map_err(Error::db)?)?;
        remote
            .put(&path(&format!("heads/{head_file}")), sealed_head)
            .await?;
        report.pushed += out.changes.len();
        store.sync_ack(seq, out.clone()).await?;
        at.sent = report.pushed;
        progress(at);
        if !out.more {
            break;
        }
    }
    if announce && report.pushed == 0 {
        // A device with nothing to send yet (a new phone) is still listed, under its name.
        head.updated_ms = now_ms();
        let sealed_head = key.seal("head", &serde_json::to_vec(&head).map_err(Error::db)?)?;
        remote
            .put(&path(&format!("heads/{head_file}")), sealed_head)
            .await?;
    }

    // Merge.
    let cursors: std::collections::HashMap<String, i64> =
        store.sync_state().await?.cursors.into_iter().collect();
    let mut heads = remote.list(&path("heads")).await?;
    heads.sort();
    // Every other device's record first, so the run knows how many files it has to merge.
    let mut others = Vec::new();
    for file in heads {
        let Some(id) = file.strip_suffix(".nxh") else {
            continue;
        };
        if id == device {
            report.devices.push(DeviceInfo {
                id: device.clone(),
                name: name.clone(),
                last_sync_ms: now_ms(),
                segments: head.segments.len(),
                this_device: true,
            });
            continue;
        }
        if let Some(other) = read_head(remote, key, &file).await? {
            let from = cursors.get(id).copied().unwrap_or(0);
            at.files_to_merge += other.segments.iter().filter(|s| s.seq > from).count();
            others.push((id.to_owned(), other));
        }
    }
    if at.files_to_merge > 0 {
        progress(at);
    }
    for (id, other) in others {
        let id = id.as_str();
        let from = cursors.get(id).copied().unwrap_or(0);
        for seg in other.segments.iter().filter(|s| s.seq > from) {
            let seg_path = path(&format!("segments/{id}/{}", seg.file));
            let sealed = remote.get(&seg_path).await?.ok_or_else(|| {
                Error::Invalid(format!(
                    "The sync folder lists a change file that is missing ({seg_path}). Another device may still be uploading; sync again in a moment."
                ))
            })?;
            if !seg.file.contains(&sha256_hex(&sealed)[..32]) {
                return Err(Error::Invalid(format!(
                    "A change file in the sync folder is damaged ({seg_path}: its checksum does not match). Nothing was merged from it."
                )));
            }
            let plain = key.open("segment", &sealed).ok_or_else(|| {
                Error::Invalid(format!(
                    "A change file in the sync folder ({seg_path}) cannot be opened with this passphrase; it may be damaged."
                ))
            })?;
            let plain = inflate(&plain, 1 << 31)?;
            let segment: Segment = serde_json::from_slice(&plain).map_err(|e| {
                Error::Invalid(format!("A change file ({seg_path}) cannot be read ({e})."))
            })?;
            if segment.format > FORMAT {
                return Err(newer_format(segment.format));
            }
            let applied = store
                .sync_apply(id.to_owned(), seg.seq, segment.changes, segment.blobs)
                .await?;
            report.pulled += applied.changes;
            at.files_merged += 1;
            at.merged = report.pulled;
            progress(at);
            for k in applied.kept {
                if !report.kept.contains(&k) {
                    report.kept.push(k);
                }
            }
        }
        report.devices.push(DeviceInfo {
            id: id.to_owned(),
            name: other.name.clone(),
            last_sync_ms: other.updated_ms,
            segments: other.segments.len(),
            this_device: false,
        });
    }
    report.devices.sort_by(|a, b| a.id.cmp(&b.id));
    store.sync_set_last(now_ms()).await?;
    let (conversations, messages) = store.sync_counts().await?;
    report.conversations = conversations;
    report.messages = messages;
    report.requests = remote.counters().requests;
    Ok(report)
}

/// The devices the folder lists, without syncing.
pub async fn devices(remote: &dyn Remote, key: &SyncKey, own: &str) -> Result<Vec<DeviceInfo>> {
    let mut out = Vec::new();
    let mut heads = remote.list(&path("heads")).await?;
    heads.sort();
    for file in heads {
        let Some(id) = file.strip_suffix(".nxh") else {
            continue;
        };
        if let Some(h) = read_head(remote, key, &file).await? {
            out.push(DeviceInfo {
                id: id.to_owned(),
                name: h.name,
                last_sync_ms: h.updated_ms,
                segments: h.segments.len(),
                this_device: id == own,
            });
        }
    }
    Ok(out)
}
