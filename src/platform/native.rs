//! Native (desktop and mobile) implementations: the SQLite store on a dedicated worker thread,
//! the OS keychain through `keyring`, per-OS directories, the system browser and clipboard.

use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::mpsc;
use std::time::Duration;

use futures_channel::oneshot;

use super::{HttpFactory, SecretStatus, SecretStore, Services, Shell};
use crate::engine::error::{Error, Result};
use crate::engine::store::api::{Request, Response, StoreClient, StoreTransport};
use crate::engine::store::Store;

/// The app's directories. With `--data-dir` (or `OPENCODE_NEXUS_DATA_DIR`) everything lives
/// under that one directory, which makes portable installs and isolated tests possible.
#[derive(Debug, Clone)]
pub struct DataDirs {
    pub root: PathBuf,
    /// True when the user chose the directory; keys are then namespaced by it.
    pub custom: bool,
}

impl DataDirs {
    pub fn resolve(explicit: Option<PathBuf>) -> Result<DataDirs> {
        if let Some(root) = explicit.or_else(|| {
            std::env::var_os("OPENCODE_NEXUS_DATA_DIR")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        }) {
            std::fs::create_dir_all(&root).map_err(|e| Error::io(&root, e))?;
            let root = root.canonicalize().map_err(|e| Error::io(&root, e))?;
            return Ok(DataDirs { root, custom: true });
        }
        let dirs = directories::ProjectDirs::from("dev", "OpenCode Nexus", "opencode-nexus")
            .ok_or_else(|| Error::Io {
                path: "$HOME".into(),
                detail: "no home directory is known for this user".into(),
            })?;
        let root = dirs.data_dir().to_path_buf();
        std::fs::create_dir_all(&root).map_err(|e| Error::io(&root, e))?;
        Ok(DataDirs {
            root,
            custom: false,
        })
    }

    pub fn database(&self) -> PathBuf {
        self.root.join("history.db")
    }
    pub fn logs(&self) -> PathBuf {
        self.root.join("logs")
    }
    pub fn backups(&self) -> PathBuf {
        self.root.join("backups")
    }
    pub fn crash_reports(&self) -> PathBuf {
        self.root.join("crash-reports")
    }

    /// Keychain namespace: two data directories never share keys.
    pub fn key_namespace(&self) -> String {
        if self.custom {
            format!("dir-{:016x}", fnv1a(self.root.to_string_lossy().as_bytes()))
        } else {
            "default".into()
        }
    }
}

/// A stable hash (unlike `DefaultHasher`, which may change between Rust releases).
fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf29ce484222325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x100000001b3);
    }
    h
}

// ---- store worker -----------------------------------------------------------------------------

type Job = (Request, oneshot::Sender<Result<Response>>);

/// Owns the SQLite connection on its own thread; the UI thread only sends requests. Opening
/// happens on that thread too, so start-up never waits for SQLite; if opening fails, every
/// request answers with the reason (a damaged database, a newer schema...).
pub struct WorkerTransport {
    tx: mpsc::Sender<Job>,
    /// Backups ([`Request::runs_beside`]): a second thread that opens its own connection for
    /// each and closes it after, so a restore or "delete all data" finds the file free again.
    beside: mpsc::Sender<Job>,
    /// Both threads, joined when the transport is dropped: the connection is closed (its WAL
    /// checkpointed) before the process goes on to exit.
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Drop for WorkerTransport {
    fn drop(&mut self) {
        // Closing both queues ends each thread's loop once the request in hand is answered.
        self.tx = mpsc::channel().0;
        self.beside = mpsc::channel().0;
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

impl WorkerTransport {
    pub fn spawn(path: &Path) -> Result<WorkerTransport> {
        let (tx, rx) = mpsc::channel::<Job>();
        let backup_path = path.to_owned();
        let path = path.to_owned();
        let store_thread = std::thread::Builder::new()
            .name("nexus-store".into())
            .spawn(move || {
                let mut store = match Store::open(&path) {
                    Ok(s) => s,
                    Err(e) => {
                        tracing::error!(error = %e, "opening the history database failed");
                        while let Ok((_, reply)) = rx.recv() {
                            let _ = reply.send(Err(e.clone()));
                        }
                        return;
                    }
                };
                while let Ok((request, reply)) = rx.recv() {
                    let name = request.name();
                    let started = std::time::Instant::now();
                    let result = request.handle(&mut store);
                    let elapsed = started.elapsed();
                    if elapsed > Duration::from_millis(100) {
                        tracing::debug!(
                            request = name,
                            ms = elapsed.as_millis() as u64,
                            "slow store request"
                        );
                    }
                    let _ = reply.send(result);
                }
            })
            .map_err(|e| Error::db(format!("could not start the store thread: {e}")))?;
        let (beside, jobs) = mpsc::channel::<Job>();
        let path = backup_path;
        let backup_thread = std::thread::Builder::new()
            .name("nexus-store-backup".into())
            .spawn(move || {
                while let Ok((request, reply)) = jobs.recv() {
                    let name = request.name();
                    let started = std::time::Instant::now();
                    let result =
                        Store::open(&path).and_then(|mut store| request.handle(&mut store));
                    tracing::debug!(
                        request = name,
                        ms = started.elapsed().as_millis() as u64,
                        "backup request done beside the store"
                    );
                    let _ = reply.send(result);
                }
            })
            .map_err(|e| Error::db(format!("could not start the backup thread: {e}")))?;
        Ok(WorkerTransport {
            tx,
            beside,
            threads: vec![store_thread, backup_thread],
        })
    }
}

#[async_trait::async_trait(?Send)]
impl StoreTransport for WorkerTransport {
    async fn call(&self, request: Request) -> Result<Response> {
        let (reply_tx, reply_rx) = oneshot::channel();
        let queue = if request.runs_beside() {
            &self.beside
        } else {
            &self.tx
        };
        queue
            .send((request, reply_tx))
            .map_err(|_| Error::db("the store thread has stopped"))?;
        reply_rx
            .await
            .map_err(|_| Error::db("the store thread stopped before answering"))?
    }
}

// ---- keychain ---------------------------------------------------------------------------------

const KEYRING_SERVICE: &str = "opencode-nexus";

/// API keys in the OS keychain (Secret Service, macOS/iOS Keychain, Windows Credential Manager).
/// Calls block on D-Bus or the OS, so they run on tokio's blocking pool.
pub struct KeyringSecrets {
    namespace: String,
    /// Set once the keychain failed to answer: later calls fail at once instead of waiting again.
    unavailable: std::cell::RefCell<Option<String>>,
}

/// A keychain that does not answer within this time is treated as absent (a D-Bus session
/// without a Secret Service can otherwise block for a long time).
const KEYRING_TIMEOUT: Duration = Duration::from_secs(5);

impl KeyringSecrets {
    pub fn new(namespace: String) -> Self {
        KeyringSecrets {
            namespace,
            unavailable: std::cell::RefCell::new(None),
        }
    }

    /// Run a keychain call on the blocking pool with a time limit, remembering unavailability.
    async fn call<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> Result<T> + Send + 'static,
    ) -> Result<T> {
        if let Some(detail) = self.unavailable.borrow().clone() {
            return Err(Error::SecretServiceUnavailable { detail });
        }
        let outcome = crate::engine::rt::timeout(KEYRING_TIMEOUT, blocking(f)).await;
        let result = match outcome {
            Some(r) => r.and_then(|r| r),
            None => Err(Error::SecretServiceUnavailable {
                detail: format!(
                    "the keychain did not answer within {} s",
                    KEYRING_TIMEOUT.as_secs()
                ),
            }),
        };
        if let Err(Error::SecretServiceUnavailable { detail }) = &result {
            *self.unavailable.borrow_mut() = Some(detail.clone());
        }
        result
    }

    fn account(&self, profile_id: &str) -> String {
        format!("{}:{}", self.namespace, profile_id)
    }
}

fn keyring_error(e: keyring::Error) -> Error {
    match e {
        keyring::Error::NoStorageAccess(inner) | keyring::Error::PlatformFailure(inner) => {
            Error::SecretServiceUnavailable {
                detail: inner.to_string(),
            }
        }
        other => Error::Secret {
            detail: other.to_string(),
        },
    }
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::Secret {
            detail: format!("keychain task failed: {e}"),
        })
}

#[async_trait::async_trait(?Send)]
impl SecretStore for KeyringSecrets {
    async fn get(&self, profile_id: &str) -> Result<Option<String>> {
        let account = self.account(profile_id);
        self.call(move || {
            let entry = keyring::Entry::new(KEYRING_SERVICE, &account).map_err(keyring_error)?;
            match entry.get_password() {
                Ok(v) => Ok(Some(v)),
                Err(keyring::Error::NoEntry) => Ok(None),
                Err(e) => Err(keyring_error(e)),
            }
        })
        .await
    }

    async fn set(&self, profile_id: &str, secret: &str) -> Result<()> {
        let account = self.account(profile_id);
        let secret = secret.to_owned();
        self.call(move || {
            let entry = keyring::Entry::new(KEYRING_SERVICE, &account).map_err(keyring_error)?;
            entry.set_password(&secret).map_err(keyring_error)
        })
        .await
    }

    async fn delete(&self, profile_id: &str) -> Result<()> {
        let account = self.account(profile_id);
        self.call(move || {
            let entry = keyring::Entry::new(KEYRING_SERVICE, &account).map_err(keyring_error)?;
            match entry.delete_credential() {
                Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
                Err(e) => Err(keyring_error(e)),
            }
        })
        .await
    }

    async fn status(&self) -> SecretStatus {
        let account = self.account("status-probe");
        let probe = self
            .call(move || {
                match keyring::Entry::new(KEYRING_SERVICE, &account).and_then(|e| e.get_password())
                {
                    Ok(_) | Err(keyring::Error::NoEntry) => Ok(()),
                    Err(e) => Err(keyring_error(e)),
                }
            })
            .await;
        match probe {
            Ok(()) => SecretStatus::Available {
                backend: keychain_name().into(),
            },
            Err(e) => SecretStatus::Unavailable {
                reason: match e {
                    Error::SecretServiceUnavailable { detail } => detail,
                    other => other.to_string(),
                },
            },
        }
    }
}

fn keychain_name() -> &'static str {
    if cfg!(target_os = "linux") {
        "Secret Service (D-Bus)"
    } else if cfg!(any(target_os = "macos", target_os = "ios")) {
        "Keychain"
    } else if cfg!(target_os = "windows") {
        "Windows Credential Manager"
    } else {
        "system keychain"
    }
}

// ---- shell and HTTP ---------------------------------------------------------------------------

/// A pasted file's name and bytes; one larger than any attachment may be is refused before it
/// is read.
fn read_pasted_file(path: &Path) -> Result<(String, Vec<u8>)> {
    use crate::engine::attachments::MAX_IMAGE_BYTES;
    use crate::engine::portability::human_bytes;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string());
    let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
    if meta.is_dir() {
        return Err(Error::Invalid(format!(
            "{name} is a folder; only files can be attached."
        )));
    }
    if meta.len() > MAX_IMAGE_BYTES {
        return Err(Error::Invalid(format!(
            "{name} is {}, more than the {} a file may be; it was not attached.",
            human_bytes(meta.len()),
            human_bytes(MAX_IMAGE_BYTES)
        )));
    }
    let data = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    Ok((name, data))
}

fn clipboard_error(detail: impl std::fmt::Display) -> Error {
    Error::Invalid(format!(
        "The clipboard could not be read ({detail}); nothing was attached."
    ))
}

/// The files copied to the system clipboard (as a file manager copies them), else its image
/// as a PNG file (a screenshot), else nothing.
fn clipboard_files() -> Result<Vec<(String, Vec<u8>)>> {
    let mut clipboard = arboard::Clipboard::new().map_err(clipboard_error)?;
    if let Ok(paths) = clipboard.get().file_list() {
        if !paths.is_empty() {
            return paths.iter().map(|p| read_pasted_file(p)).collect();
        }
    }
    // A clipboard without an image answers with "not available" or, from some owners, with a
    // conversion error: either way there is no image to attach.
    let image = match clipboard.get_image() {
        Ok(image) => image,
        Err(e) => {
            tracing::debug!(error = %e, "no image on the clipboard");
            return Ok(Vec::new());
        }
    };
    let (width, height) = (image.width as u32, image.height as u32);
    let pixels = image::RgbaImage::from_raw(width, height, image.bytes.into_owned())
        .ok_or_else(|| clipboard_error("the clipboard's image has the wrong size"))?;
    let mut png = std::io::Cursor::new(Vec::new());
    pixels
        .write_to(&mut png, image::ImageFormat::Png)
        .map_err(clipboard_error)?;
    Ok(vec![("pasted-image.png".into(), png.into_inner())])
}

pub struct NativeShell {
    dirs: DataDirs,
    /// The clipboard, kept while the app runs: on X11 what was copied is served by its owner,
    /// and a clipboard dropped right after copying loses the text wherever no clipboard
    /// manager takes it over (and waits for one first).
    clipboard: std::sync::Mutex<Option<arboard::Clipboard>>,
}

impl NativeShell {
    pub fn new(dirs: DataDirs) -> Self {
        NativeShell {
            dirs,
            clipboard: std::sync::Mutex::new(None),
        }
    }
}

fn copy_error(detail: impl std::fmt::Display) -> Error {
    Error::Invalid(format!(
        "Nothing was copied: the clipboard could not be reached ({detail})."
    ))
}

#[async_trait::async_trait(?Send)]
impl Shell for NativeShell {
    fn data_dir(&self) -> Option<PathBuf> {
        Some(self.dirs.root.clone())
    }

    fn open_url(&self, url: &str) -> Result<()> {
        // Only web and mail links from messages are ever opened, in the system browser.
        let safe = crate::engine::markdown::safe_url(url).ok_or_else(|| {
            Error::Invalid("Only http, https and mailto links can be opened.".into())
        })?;
        open::that_detached(&safe).map_err(|e| Error::io(&safe, e))
    }

    fn copy_to_clipboard(&self, text: &str) -> Result<()> {
        let mut held = self.clipboard.lock().unwrap_or_else(|e| e.into_inner());
        if held.is_none() {
            *held = Some(arboard::Clipboard::new().map_err(copy_error)?);
        }
        let copied = held.as_mut().expect("set above").set_text(text.to_owned());
        if let Err(e) = copied {
            // A clipboard that failed once is opened again on the next copy.
            *held = None;
            return Err(copy_error(e));
        }
        Ok(())
    }

    async fn pasted_files(&self) -> Result<Vec<(String, Vec<u8>)>> {
        tokio::task::spawn_blocking(clipboard_files)
            .await
            .map_err(clipboard_error)?
    }

    fn notify(&self, title: &str, body: &str) {
        // A desktop notification through the freedesktop D-Bus interface via notify-send when
        // present; its absence is not an error worth showing.
        #[cfg(target_os = "linux")]
        {
            let _ = std::process::Command::new("notify-send")
                .arg("--app-name=OpenCode Nexus")
                .arg(title)
                .arg(body)
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn();
        }
        #[cfg(not(target_os = "linux"))]
        {
            tracing::info!(title, body, "notification");
        }
    }

    fn export_dir(&self) -> Option<PathBuf> {
        Some(crate::maintenance::download_dir(&self.dirs))
    }

    fn backups_dir(&self) -> Option<PathBuf> {
        Some(self.dirs.backups())
    }

    fn save_file(&self, file_name: &str, _mime: &str, contents: &[u8]) -> Result<String> {
        let dir = crate::maintenance::download_dir(&self.dirs);
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        let dest = dir.join(file_name);
        std::fs::write(&dest, contents).map_err(|e| Error::io(&dest, e))?;
        Ok(format!("Saved to {}.", dest.display()))
    }

    fn delete_logs(&self) -> Result<()> {
        // The log file being written stays open; on Unix its name goes now and its space when
        // the app exits. Every other file is removed, and a file that cannot be is named.
        for dir in [self.dirs.logs(), self.dirs.crash_reports()] {
            let entries = match std::fs::read_dir(&dir) {
                Ok(e) => e,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(Error::io(&dir, e)),
            };
            for entry in entries.flatten() {
                let path = entry.path();
                if path.is_file() {
                    std::fs::remove_file(&path).map_err(|e| Error::io(&path, e))?;
                }
            }
        }
        Ok(())
    }
}

/// The HTTP client, built on first use: a window that never talks to a backend (or has not yet)
/// does not pay for the TLS library and the system's root certificates.
pub struct NativeHttp {
    client: std::sync::OnceLock<reqwest::Client>,
}

impl NativeHttp {
    pub fn new() -> Self {
        NativeHttp {
            client: std::sync::OnceLock::new(),
        }
    }
}

impl Default for NativeHttp {
    fn default() -> Self {
        Self::new()
    }
}

impl HttpFactory for NativeHttp {
    fn client(&self) -> reqwest::Client {
        self.client
            .get_or_init(|| {
                reqwest::Client::builder()
                    .connect_timeout(Duration::from_secs(10))
                    .user_agent(concat!("opencode-nexus/", env!("CARGO_PKG_VERSION")))
                    .tcp_nodelay(true)
                    .build()
                    .unwrap_or_default()
            })
            .clone()
    }
}

/// The native services for a data directory.
pub fn services(dirs: &DataDirs) -> Result<Services> {
    let transport = WorkerTransport::spawn(&dirs.database())?;
    Ok(Services::new(
        StoreClient::new(Rc::new(transport)),
        Rc::new(KeyringSecrets::new(dirs.key_namespace())),
        Rc::new(NativeHttp::new()),
        Rc::new(NativeShell::new(dirs.clone())),
    )
    .with_support(Rc::new(NativeSupport { dirs: dirs.clone() })))
}

/// Crash reports, logs and the diagnostics bundle in the data directory. File work runs on
/// tokio's blocking pool, never on the UI thread.
pub struct NativeSupport {
    pub dirs: DataDirs,
}

impl NativeSupport {
    async fn on_disk<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Path) -> T + Send + 'static,
    ) -> Option<T> {
        let dir = self.dirs.crash_reports();
        tokio::task::spawn_blocking(move || f(&dir)).await.ok()
    }
}

#[async_trait::async_trait(?Send)]
impl crate::platform::Support for NativeSupport {
    async fn unseen_crash_reports(&self) -> Vec<String> {
        self.on_disk(|d| {
            crate::crash::unseen(d)
                .into_iter()
                .map(|r| r.name)
                .collect()
        })
        .await
        .unwrap_or_default()
    }

    async fn read_crash_report(&self, name: &str) -> String {
        let name = name.to_owned();
        self.on_disk(move |d| {
            crate::crash::read(d, &name)
                .unwrap_or_else(|e| format!("The report could not be read: {e}."))
        })
        .await
        .unwrap_or_default()
    }

    async fn keep_crash_report(&self, name: &str) -> Result<()> {
        let name = name.to_owned();
        let path = self.dirs.crash_reports().join(&name);
        self.on_disk(move |d| crate::crash::mark_seen(d, &name))
            .await
            .unwrap_or(Ok(()))
            .map_err(|e| Error::io(&path, e))
    }

    async fn delete_crash_report(&self, name: &str) -> Result<()> {
        let name = name.to_owned();
        let path = self.dirs.crash_reports().join(&name);
        self.on_disk(move |d| crate::crash::delete(d, &name))
            .await
            .unwrap_or(Ok(()))
            .map_err(|e| Error::io(&path, e))
    }

    async fn crash_report_count(&self) -> Option<usize> {
        self.on_disk(|d| crate::crash::list(d).len()).await
    }

    fn log_dir(&self) -> Option<PathBuf> {
        Some(self.dirs.logs())
    }

    fn downloads_dir(&self) -> Option<PathBuf> {
        Some(crate::maintenance::download_dir(&self.dirs))
    }

    async fn export_diagnostics(&self, services: &Services) -> Result<String> {
        let report = crate::platform::ops::diagnostics(services, Some(&self.dirs)).await;
        let value = serde_json::to_value(&report).unwrap_or_default();
        let stamp = crate::engine::model::now_ms();
        let dest = crate::maintenance::download_dir(&self.dirs)
            .join(format!("opencode-nexus-diagnostics-{stamp}.tar"));
        crate::maintenance::write_bundle(services, &self.dirs, &value, &dest).await?;
        Ok(format!(
            "Diagnostics saved to {} (keys redacted). Read it before attaching it to a bug report.",
            dest.display()
        ))
    }
}

/// WebKitGTK composites the page with OpenGL. On a machine without a GPU (a virtual machine,
/// a remote desktop) that is Mesa's software renderer, which composites the page again on every
/// blink of a focused text box's caret: a third of a core with a long reply on screen while
/// the message box waits for the next prompt. Without a DRM render node there is no hardware
/// GL, so the page is drawn without compositing there (WebKit's own switch), unless the user
/// set that switch either way. True when it was set here.
///
/// Call first thing in `main`, while the process has one thread (it sets an environment
/// variable, which WebKit reads when the window opens).
#[cfg(target_os = "linux")]
pub fn draw_without_gl_when_no_gpu() -> bool {
    const SWITCH: &str = "WEBKIT_DISABLE_COMPOSITING_MODE";
    if std::env::var_os(SWITCH).is_some() {
        return false;
    }
    let render_node = std::fs::read_dir("/dev/dri").is_ok_and(|nodes| {
        nodes
            .flatten()
            .any(|n| n.file_name().to_string_lossy().starts_with("renderD"))
    });
    if render_node {
        return false;
    }
    std::env::set_var(SWITCH, "1");
    true
}

/// This machine's name, for the sync device list.
pub fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "This device".to_owned())
}
