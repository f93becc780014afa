//! The platform service layer: the few capabilities the views and the engine need from the host
//! (history store, secrets, settings, HTTP, shell), each a small trait, gathered in [`Services`]
//! and handed to the root component through context. One implementation per target is chosen at
//! compile time (`native` for desktop and mobile; the web target adds its own), and tests use the
//! in-memory fakes in [`memory`]. Views never reach past this layer to SQLite, the keychain, the
//! filesystem or the network.

pub mod memory;
#[cfg(feature = "native")]
pub mod native;
pub mod ops;
pub mod vitals;
#[cfg(target_family = "wasm")]
pub mod web;

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use serde::{Deserialize, Serialize};

use crate::engine::error::{Error, Result};
use crate::engine::model::Profile;
use crate::engine::redact;
pub use crate::engine::store::api::StoreClient;
#[cfg(not(target_family = "wasm"))]
use crate::engine::update;
use crate::engine::update::{Artifact, UpdateError, UpdateStatus};

/// The app's stylesheet, compiled in where the host has no files of its own to link (the
/// desktop and mobile webviews put it in the page's head; tests render it with the root). The
/// browser build links it from `index.html` as a file of its own instead (`scripts/build-web.sh`
/// copies it into `dist/`): the page parses it while its module downloads, and the module does
/// not carry it.
#[cfg(not(target_family = "wasm"))]
pub const STYLESHEET: Option<&str> = Some(include_str!("../../assets/main.css"));
#[cfg(target_family = "wasm")]
pub const STYLESHEET: Option<&str> = None;

/// Whether this build updates itself from signed releases (Settings → Updates and the check
/// at start). A web page is updated by whoever hosts it: the browser's module shows neither
/// and carries neither.
#[cfg(not(target_family = "wasm"))]
pub const SELF_UPDATES: bool = true;
#[cfg(target_family = "wasm")]
pub const SELF_UPDATES: bool = false;

/// Whether this build keeps files of its own on the device: logs, crash reports and a
/// downloads folder (diagnostics). A web page has none of them, and its module leaves out what
/// shows them.
#[cfg(not(target_family = "wasm"))]
pub const KEEPS_FILES: bool = true;
#[cfg(target_family = "wasm")]
pub const KEEPS_FILES: bool = false;

/// Where the OS keychain stands. Shown in Settings and by `doctor`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum SecretStatus {
    Available {
        backend: String,
    },
    Unavailable {
        reason: String,
    },
    /// No keychain, but keys can be remembered in this device's app storage (the browser), with
    /// the trade-off in `note`; keys stay session-only unless the user opts in.
    DeviceStorage {
        note: String,
    },
}

/// API keys and server passwords, stored per backend profile id.
#[async_trait::async_trait(?Send)]
pub trait SecretStore {
    async fn get(&self, profile_id: &str) -> Result<Option<String>>;
    async fn set(&self, profile_id: &str, secret: &str) -> Result<()>;
    async fn delete(&self, profile_id: &str) -> Result<()>;
    async fn status(&self) -> SecretStatus;
}

/// Opening links, the clipboard, notifications and the app's directories.
#[async_trait::async_trait(?Send)]
pub trait Shell {
    /// Root of everything the app writes (database, logs, backups, crash reports); `None` where
    /// the platform has no filesystem (the browser).
    fn data_dir(&self) -> Option<PathBuf>;
    fn open_url(&self, url: &str) -> Result<()>;
    fn copy_to_clipboard(&self, text: &str) -> Result<()>;
    fn notify(&self, title: &str, body: &str);
    /// Where exports are written (the user's downloads folder); `None` where a file is handed
    /// over as a download instead ([`Shell::save_file`], the browser).
    fn export_dir(&self) -> Option<PathBuf>;
    /// Where backups of the history database are kept; `None` without a filesystem.
    fn backups_dir(&self) -> Option<PathBuf>;
    /// Hand a file to the user: a browser download, or a file in the downloads folder.
    /// Returns a sentence saying where it went.
    fn save_file(&self, file_name: &str, mime: &str, contents: &[u8]) -> Result<String>;
    /// Delete the app's log files and crash reports (part of "Delete all data").
    fn delete_logs(&self) -> Result<()>;
    /// What a paste into the message box holds that the page could not read itself: the files
    /// copied to the system clipboard (as a file manager copies them), else its image (a
    /// screenshot, as PNG). Each as (name, bytes); none when there is neither. Read off the UI
    /// thread; the browser hands pasted files to the page and has none here.
    async fn pasted_files(&self) -> Result<Vec<(String, Vec<u8>)>>;
    /// The theme the app last showed, where the settings come later than the first frame (the
    /// browser's store answers after it); `None` where they load before it.
    fn remembered_theme(&self) -> Option<Theme> {
        None
    }
    /// Keep the theme shown for [`Shell::remembered_theme`] at the next start.
    fn remember_theme(&self, _theme: Theme) {}
}

/// The host's reports about the app itself: crash reports left by earlier runs, the log folder,
/// and the diagnostics bundle for bug reports. Files are read and written off the UI thread.
/// The browser keeps none of these ([`NoSupport`]).
#[async_trait::async_trait(?Send)]
pub trait Support {
    /// Crash reports not yet kept or deleted (file names), newest first.
    async fn unseen_crash_reports(&self) -> Vec<String>;
    /// A report's text, or a sentence saying why it could not be read.
    async fn read_crash_report(&self, name: &str) -> String;
    /// Keep the report on disk but stop showing the notice for it.
    async fn keep_crash_report(&self, name: &str) -> Result<()>;
    async fn delete_crash_report(&self, name: &str) -> Result<()>;
    /// How many crash reports are on disk; `None` where there are none kept.
    async fn crash_report_count(&self) -> Option<usize>;
    /// Where the logs are written; `None` where there are no log files.
    fn log_dir(&self) -> Option<PathBuf>;
    /// Where downloads (verified updates, diagnostics) go; `None` where there is no folder.
    fn downloads_dir(&self) -> Option<PathBuf>;
    /// Write the diagnostics bundle (report + redacted logs) to the downloads folder; returns
    /// the sentence to show.
    async fn export_diagnostics(&self, services: &Services) -> Result<String>;
}

/// A host that keeps no crash reports, logs or bundles (the browser, in-memory tests).
pub struct NoSupport;

#[async_trait::async_trait(?Send)]
impl Support for NoSupport {
    async fn unseen_crash_reports(&self) -> Vec<String> {
        Vec::new()
    }
    async fn read_crash_report(&self, _name: &str) -> String {
        String::new()
    }
    async fn keep_crash_report(&self, _name: &str) -> Result<()> {
        Ok(())
    }
    async fn delete_crash_report(&self, _name: &str) -> Result<()> {
        Ok(())
    }
    async fn crash_report_count(&self) -> Option<usize> {
        None
    }
    fn log_dir(&self) -> Option<PathBuf> {
        None
    }
    fn downloads_dir(&self) -> Option<PathBuf> {
        None
    }
    async fn export_diagnostics(&self, _services: &Services) -> Result<String> {
        Err(Error::Invalid(
            "This platform keeps no logs to bundle; copy the facts above into the bug report instead.".into(),
        ))
    }
}

/// Builds the HTTP client shared by every provider (connection pool, timeouts, user agent).
pub trait HttpFactory {
    fn client(&self) -> reqwest::Client;
}

/// User preferences. Stored as one JSON document so new fields get defaults on old databases.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AppSettings {
    pub theme: Theme,
    pub font_size: u8,
    pub compact: bool,
    /// Enter sends (Shift+Enter for a newline) when true; Ctrl/Cmd+Enter sends when false.
    pub enter_sends: bool,
    pub default_profile: Option<String>,
    pub default_model: Option<String>,
    pub auto_title: bool,
    /// Delete conversations not touched for this many days; `None` keeps everything.
    pub retention_days: Option<u32>,
    /// Check `update_url` for a signed release manifest when the app starts (off by default:
    /// the app contacts nothing but the configured backends unless asked).
    pub check_updates: bool,
    /// Address of the release manifest (`engine::update`); its signature is at `<url>.sig`.
    pub update_url: Option<String>,
    /// Take a backup of the history once a day while the app runs (where backups exist: not in
    /// the browser, whose export is the copy to keep).
    pub auto_backup: bool,
    /// How many backups the daily backup keeps (older ones are deleted).
    pub backup_keep: u32,
    /// The most the backups may take together, in MB (the oldest go first; the newest is
    /// always kept); 0 for no limit.
    #[serde(default = "default_backup_max_mb")]
    pub backup_max_mb: u32,
    /// The conversation list beside the chat is folded to a narrow strip.
    pub sidebar_collapsed: bool,
}

fn default_backup_max_mb() -> u32 {
    2000
}

impl Default for AppSettings {
    fn default() -> Self {
        AppSettings {
            theme: Theme::System,
            font_size: 15,
            compact: false,
            enter_sends: true,
            default_profile: None,
            default_model: None,
            auto_title: true,
            retention_days: None,
            check_updates: false,
            update_url: None,
            auto_backup: true,
            backup_keep: 7,
            backup_max_mb: default_backup_max_mb(),
            sidebar_collapsed: false,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Theme {
    System,
    Light,
    Dark,
}

const SETTINGS_KEY: &str = "app";

/// Settings persistence, implemented over the history store so both live in one database.
#[async_trait::async_trait(?Send)]
pub trait SettingsStore {
    async fn load_settings(&self) -> Result<AppSettings>;
    async fn save_settings(&self, settings: &AppSettings) -> Result<()>;
}

#[async_trait::async_trait(?Send)]
impl SettingsStore for StoreClient {
    async fn load_settings(&self) -> Result<AppSettings> {
        Ok(self
            .get_setting(SETTINGS_KEY.into())
            .await?
            .and_then(|v| serde_json::from_value(v).ok())
            .unwrap_or_default())
    }

    async fn save_settings(&self, settings: &AppSettings) -> Result<()> {
        let value = serde_json::to_value(settings).map_err(Error::db)?;
        self.set_setting(SETTINGS_KEY.into(), value).await
    }
}

/// Signed release updates (Settings → Updates and the start-up check). An installed app reads
/// the signed manifest and downloads verified artifacts ([`SignedReleases`]); a web page is
/// updated by whoever hosts it ([`HostUpdated`]), so the browser's module carries no signature
/// code at all.
#[async_trait::async_trait(?Send)]
pub trait Updates {
    /// Read the release manifest at `url` and compare it with this version.
    async fn check(
        &self,
        client: &reqwest::Client,
        url: &str,
    ) -> std::result::Result<UpdateStatus, UpdateError>;
    /// Download `artifact` into `dir` once its size, hash and signature check out.
    async fn download(
        &self,
        client: &reqwest::Client,
        artifact: &Artifact,
        dir: &Path,
    ) -> std::result::Result<PathBuf, UpdateError>;
}

/// Releases verified against the key built into the app ([`crate::engine::update`]).
#[cfg(not(target_family = "wasm"))]
pub struct SignedReleases;

#[cfg(not(target_family = "wasm"))]
#[async_trait::async_trait(?Send)]
impl Updates for SignedReleases {
    async fn check(
        &self,
        client: &reqwest::Client,
        url: &str,
    ) -> std::result::Result<UpdateStatus, UpdateError> {
        update::check(
            client,
            url,
            crate::engine::version::VERSION,
            &update::UPDATE_PUBLIC_KEY,
        )
        .await
    }

    async fn download(
        &self,
        client: &reqwest::Client,
        artifact: &Artifact,
        dir: &Path,
    ) -> std::result::Result<PathBuf, UpdateError> {
        update::download(client, artifact, &update::UPDATE_PUBLIC_KEY, dir).await
    }
}

/// A web page: its host deploys new versions and a reload picks them up.
#[cfg(target_family = "wasm")]
pub struct HostUpdated;

#[cfg(target_family = "wasm")]
#[async_trait::async_trait(?Send)]
impl Updates for HostUpdated {
    async fn check(
        &self,
        _client: &reqwest::Client,
        _url: &str,
    ) -> std::result::Result<UpdateStatus, UpdateError> {
        Err(UpdateError::HostUpdated)
    }

    async fn download(
        &self,
        _client: &reqwest::Client,
        _artifact: &Artifact,
        _dir: &Path,
    ) -> std::result::Result<PathBuf, UpdateError> {
        Err(UpdateError::HostUpdated)
    }
}

/// Everything the face needs from the host, cheap to clone into closures and tasks.
#[derive(Clone)]
pub struct Services {
    pub store: StoreClient,
    pub secrets: Rc<dyn SecretStore>,
    pub http: Rc<dyn HttpFactory>,
    pub shell: Rc<dyn Shell>,
    pub support: Rc<dyn Support>,
    pub updates: Rc<dyn Updates>,
    /// Keys entered "for this session only" (no keychain, or the user chose not to save).
    session_keys: Rc<RefCell<HashMap<String, String>>>,
}

impl Services {
    pub fn new(
        store: StoreClient,
        secrets: Rc<dyn SecretStore>,
        http: Rc<dyn HttpFactory>,
        shell: Rc<dyn Shell>,
    ) -> Self {
        Services {
            store,
            secrets,
            http,
            shell,
            support: Rc::new(NoSupport),
            #[cfg(not(target_family = "wasm"))]
            updates: Rc::new(SignedReleases),
            #[cfg(target_family = "wasm")]
            updates: Rc::new(HostUpdated),
            session_keys: Rc::new(RefCell::new(HashMap::new())),
        }
    }

    /// The same services with this host's crash reports, logs and diagnostics.
    pub fn with_support(mut self, support: Rc<dyn Support>) -> Self {
        self.support = support;
        self
    }

    /// Keep a key in memory until the app exits; never written anywhere.
    pub fn set_session_key(&self, profile_id: &str, key: &str) {
        redact::register_secret(key);
        self.session_keys
            .borrow_mut()
            .insert(profile_id.to_owned(), key.to_owned());
    }

    /// The key for a profile: its environment variable when it names one, else a session key,
    /// else the keychain. A missing key is `None` (local servers often need none).
    pub async fn resolve_key(&self, profile: &Profile) -> Result<Option<String>> {
        let session_key = self.session_keys.borrow().get(&profile.id).cloned();
        let key = if let Some(var) = &profile.key_env {
            env_key(var)?
        } else if let Some(k) = session_key {
            Some(k)
        } else {
            match self.secrets.get(&profile.id).await {
                Ok(k) => k,
                // No keychain: the profile may still work without a key (local servers).
                Err(Error::SecretServiceUnavailable { .. }) => None,
                Err(e) => return Err(e),
            }
        };
        if let Some(k) = &key {
            redact::register_secret(k);
        }
        Ok(key)
    }

    pub fn has_session_key(&self, profile_id: &str) -> bool {
        self.session_keys.borrow().contains_key(profile_id)
    }

    pub fn forget_session_key(&self, profile_id: &str) {
        self.session_keys.borrow_mut().remove(profile_id);
    }
}

#[cfg(not(target_family = "wasm"))]
fn env_key(var: &str) -> Result<Option<String>> {
    match std::env::var(var) {
        Ok(v) if !v.is_empty() => Ok(Some(v)),
        _ => Err(Error::Invalid(format!(
            "This profile reads its key from the environment variable {var}, which is not set. Set it, or store a key in Settings → Backends."
        ))),
    }
}

#[cfg(target_family = "wasm")]
fn env_key(var: &str) -> Result<Option<String>> {
    Err(Error::Invalid(format!(
        "This profile reads its key from the environment variable {var}, which browsers do not have. Enter the key in Settings → Backends."
    )))
}

#[cfg(feature = "native")]
static NATIVE_DIRS: std::sync::OnceLock<native::DataDirs> = std::sync::OnceLock::new();

/// Tell the GUI which data directory to use (set once by `main` before launch).
#[cfg(feature = "native")]
pub fn set_data_dirs(dirs: native::DataDirs) {
    let _ = NATIVE_DIRS.set(dirs);
}

#[cfg(feature = "native")]
pub fn data_dirs() -> Option<&'static native::DataDirs> {
    NATIVE_DIRS.get()
}

/// The services for the running app on this target.
#[cfg(feature = "native")]
pub fn app_services() -> Services {
    let dirs = match NATIVE_DIRS.get() {
        Some(d) => d.clone(),
        None => native::DataDirs::resolve(None).unwrap_or_else(|e| {
            tracing::error!(error = %e, "no data directory; using a temporary one");
            native::DataDirs {
                root: std::env::temp_dir().join("opencode-nexus"),
                custom: true,
            }
        }),
    };
    match native::services(&dirs) {
        Ok(s) => s,
        Err(e) => {
            // Without a store worker nothing can be saved; an in-memory store keeps the window
            // usable while the banner explains the problem.
            tracing::error!(error = %e, "store unavailable");
            memory::services()
        }
    }
}

/// The services for the running app in the browser.
#[cfg(all(target_family = "wasm", not(feature = "native")))]
pub fn app_services() -> Services {
    match web::services() {
        Ok(s) => s,
        Err(e) => {
            // The page carries no SQLite of its own (it lives in the worker's module): every
            // store request is answered with why, and the banner says it.
            tracing::error!(error = %e, "browser storage unavailable");
            memory::services_with(StoreClient::unavailable(e))
        }
    }
}

/// Without a platform feature (the engine-only build that `fuzz/` links) there is no host to
/// keep anything: the in-memory services.
#[cfg(not(any(feature = "native", target_family = "wasm")))]
pub fn app_services() -> Services {
    #[cfg(feature = "sqlite")]
    return memory::services();
    #[cfg(not(feature = "sqlite"))]
    memory::services_with(StoreClient::unavailable(Error::db(
        "this build has no history store",
    )))
}
