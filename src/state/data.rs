//! The state behind Settings → Data: the one long operation at a time (export, import, backup,
//! restore, delete all), its progress and how it ended. It lives in the root scope, so an
//! operation goes on when the user leaves Settings.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use dioxus::core::spawn_forever;
use dioxus::prelude::*;

use crate::engine::error::Error;
use crate::engine::model::now_ms;
use crate::engine::portability::{self as port, ExportFormat, ImportFormat, Job};
use crate::engine::rt;
use crate::platform::Services;
use crate::state::chat::ChatController;
use crate::state::tasks::spawn_stoppable;
use crate::state::AppState;

/// The operation in progress: what it is (for the progress label) and its job.
#[derive(Clone)]
pub struct Running {
    pub label: &'static str,
    pub job: Arc<Job>,
    /// Restores and deletions run to the end once confirmed.
    pub cancellable: bool,
}

/// What the last operation ended with, shown under the buttons.
#[derive(Clone, PartialEq)]
pub enum Outcome {
    Done(String),
    Failed(String),
}

impl Outcome {
    pub fn from_result(r: Result<String, Error>) -> Outcome {
        match r {
            Ok(s) => Outcome::Done(s),
            Err(Error::Cancelled) => Outcome::Failed("Cancelled; nothing was changed.".into()),
            Err(e) => Outcome::Failed(e.to_string()),
        }
    }
}

/// The panel's operation state. It lives in the root scope (provided by `App`), so an import
/// or backup goes on, and its progress and outcome are there again, when the user leaves
/// Settings and comes back.
#[derive(Clone, Copy)]
pub struct DataJobs {
    pub running: Signal<Option<Running>>,
    pub progress: Signal<(u64, u64)>,
    pub outcome: Signal<Option<Outcome>>,
    pub backups: Signal<Vec<port::BackupFile>>,
    /// What the backups take on disk together.
    pub backups_bytes: Signal<u64>,
    /// The label of the last operation started: the panel shows its progress and outcome
    /// beside the buttons that started it ([`DataJobs::place`]).
    pub last: Signal<&'static str>,
}

/// The labels of the operations the panel shows beside its backups, and of "Delete all data".
pub const BACKING_UP: &str = "Backing up";
pub const RESTORING: &str = "Restoring";
pub const DELETING: &str = "Deleting";

/// Where the panel shows an operation's progress and outcome: beside the buttons that started it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Place {
    /// Export and import.
    Transfers,
    Backups,
    Deletion,
}

impl DataJobs {
    /// Must be called in the root component (signals belong to the scope that makes them).
    pub fn new() -> Self {
        DataJobs {
            running: Signal::new(None),
            progress: Signal::new((0, 0)),
            outcome: Signal::new(None),
            backups: Signal::new(Vec::new()),
            backups_bytes: Signal::new(0),
            last: Signal::new(""),
        }
    }

    /// Where the last operation's progress and outcome are shown.
    pub fn place(&self) -> Place {
        match *self.last.read() {
            BACKING_UP | RESTORING => Place::Backups,
            DELETING => Place::Deletion,
            _ => Place::Transfers,
        }
    }
}

impl DataJobs {
    /// Read the backup list again (the store worker lists the folder).
    pub fn reload_backups(self, services: &Services) {
        let (mut backups, mut bytes) = (self.backups, self.backups_bytes);
        let services = services.clone();
        spawn_forever(async move {
            if let Some(dir) = services.shell.backups_dir() {
                if let Ok(list) = services.store.list_backups(dir.clone()).await {
                    backups.set(list);
                }
                if let Ok(n) = services.store.backups_bytes(dir).await {
                    bytes.set(n);
                }
            }
        });
    }

    /// Export every conversation where the user keeps files.
    pub fn export_all(self, services: &Services, format: ExportFormat) {
        let services = services.clone();
        run(self, "Exporting", true, move |job| async move {
            export_to_user(&services, format, None, Some(job)).await
        });
    }

    /// Import a file the user picked: read by the store worker where the file has a path (the
    /// desktop), otherwise read here (the browser) within the import size limit.
    pub fn import(self, state: AppState, services: &Services, file: dioxus::html::FileData) {
        let services = services.clone();
        run(self, "Importing", true, move |job| async move {
            let path = file.path();
            let report = if !path.as_os_str().is_empty() && path.is_absolute() {
                services
                    .store
                    .import_file(path, ImportFormat::Auto, Some(job))
                    .await?
            } else {
                if file.size() > port::MAX_IMPORT_BYTES {
                    return Err(Error::BadImport {
                        format: "auto".into(),
                        detail: format!(
                            "{} is {}, more than the {} an import may be",
                            file.name(),
                            port::human_bytes(file.size()),
                            port::human_bytes(port::MAX_IMPORT_BYTES)
                        ),
                    });
                }
                let bytes = file.read_bytes().await.map_err(|e| Error::BadImport {
                    format: "auto".into(),
                    detail: format!("{} could not be read ({e})", file.name()),
                })?;
                let text = String::from_utf8_lossy(&bytes).into_owned();
                services
                    .store
                    .import_text(text, ImportFormat::Auto, Some(job))
                    .await?
            };
            state.reload_profiles(&services).await;
            state.touch_history();
            Ok(report.summary())
        });
    }

    /// Applies the retention settings now (after the user changed them).
    pub fn apply_limits(self, services: &Services, keep: u32, max_mb: u32) {
        let Some(dir) = services.shell.backups_dir() else {
            return;
        };
        let services = services.clone();
        spawn_forever(async move {
            match services
                .store
                .apply_backup_limits(dir, keep.max(1), max_mb)
                .await
            {
                Ok(n) if n > 0 => tracing::info!(removed = n, "backups over the limits removed"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "applying the backup limits failed"),
            }
            self.reload_backups(&services);
        });
    }

    /// Back up now into the backups folder, keeping as many as the settings say.
    pub fn backup_now(self, state: AppState, services: &Services) {
        let Some(dir) = services.shell.backups_dir() else {
            return;
        };
        let services = services.clone();
        let (keep, max_mb) = {
            let s = state.settings.peek();
            (s.backup_keep.max(1), s.backup_max_mb)
        };
        run(self, BACKING_UP, true, move |job| async move {
            let path = services
                .store
                .backup_now(dir.clone(), Some(keep), Some(job))
                .await?;
            services
                .store
                .apply_backup_limits(dir, keep, max_mb)
                .await?;
            self.reload_backups(&services);
            Ok(format!("Backed up to {}.", path.display()))
        });
    }

    /// Replace the history with a backup (confirmed by the user). A reply in progress stops
    /// first; the app state is read again afterwards.
    pub fn restore(
        self,
        state: AppState,
        chat: ChatController,
        services: &Services,
        path: PathBuf,
    ) {
        let services = services.clone();
        chat.stop();
        run(self, RESTORING, false, move |_job| async move {
            let report = services.store.restore_backup(path).await?;
            reset_app_state(state, &services).await;
            self.reload_backups(&services);
            Ok(match report.pre_restore {
                Some(pre) => format!(
                    "Restored the history from {}. The history as it was is kept in {}.",
                    report.restored_from.display(),
                    pre.display()
                ),
                None => format!(
                    "Restored the history from {}.",
                    report.restored_from.display()
                ),
            })
        });
    }

    /// "Back up now" where there is no backups folder (the browser): the whole database, one
    /// consistent snapshot, handed over as a download.
    pub fn download_backup(self, services: &Services) {
        let services = services.clone();
        run(self, BACKING_UP, false, move |_job| async move {
            let (name, bytes) = download_database(&services, "history").await?;
            let sentence = services.shell.save_file(&name, DATABASE_MIME, &bytes)?;
            Ok(format!(
                "Backed up the whole history ({}). {sentence}",
                port::human_bytes(bytes.len() as u64)
            ))
        });
    }

    /// Restore from a backup file the user picked in the browser (confirmed by the user): the
    /// file is checked first; then the history as it is goes to the downloads, and only then is
    /// it replaced. A check that fails changes nothing.
    pub fn restore_upload(
        self,
        state: AppState,
        chat: ChatController,
        services: &Services,
        file: dioxus::html::FileData,
    ) {
        let services = services.clone();
        chat.stop();
        run(self, RESTORING, false, move |_job| async move {
            let name = file.name();
            if file.size() > port::MAX_IMPORT_BYTES {
                return Err(Error::BadBackup {
                    path: name,
                    detail: format!(
                        "it is {}, more than the {} a restore in the browser may read",
                        port::human_bytes(file.size()),
                        port::human_bytes(port::MAX_IMPORT_BYTES)
                    ),
                });
            }
            let image = file.read_bytes().await.map_err(|e| Error::BadBackup {
                path: name.clone(),
                detail: format!("it could not be read ({e})"),
            })?;
            let image = port::FileBytes(image.to_vec());
            services
                .store
                .check_backup_image(name.clone(), image.clone())
                .await?;
            let (before, bytes) = download_database(&services, "before-restore").await?;
            services.shell.save_file(&before, DATABASE_MIME, &bytes)?;
            services
                .store
                .restore_backup_image(name.clone(), image)
                .await?;
            reset_app_state(state, &services).await;
            Ok(format!(
                "Restored the history from {name}. The history as it was went to your downloads as {before}."
            ))
        });
    }

    /// Delete everything on this device (confirmed by the user), the backups too when asked.
    pub fn delete_all(
        self,
        state: AppState,
        chat: ChatController,
        services: &Services,
        with_backups: bool,
    ) {
        let services = services.clone();
        let dir = services.shell.backups_dir().filter(|_| with_backups);
        chat.stop();
        run(self, DELETING, false, move |_job| async move {
            let sentence = delete_all_data(&services, dir).await?;
            reset_app_state(state, &services).await;
            self.reload_backups(&services);
            Ok(sentence)
        });
    }
}

const DATABASE_MIME: &str = "application/vnd.sqlite3";

/// The whole database from the store as a file name and its bytes.
async fn download_database(services: &Services, what: &str) -> Result<(String, Vec<u8>), Error> {
    let image = services.store.database_image().await?;
    let name = format!("opencode-nexus-{what}-{}.db", port::stamp(now_ms()));
    Ok((name, image.0))
}

impl Default for DataJobs {
    fn default() -> Self {
        Self::new()
    }
}

/// Export `ids` (everything when `None`) where the user keeps files: into the downloads folder
/// by the store worker on the desktop, as a browser download on the web. Returns the sentence to
/// show.
pub async fn export_to_user(
    services: &Services,
    format: ExportFormat,
    ids: Option<Vec<crate::engine::model::Id>>,
    job: Option<String>,
) -> Result<String, Error> {
    let name = match ids.as_deref() {
        Some([one]) => format!(
            "opencode-nexus-{}-{}.{}",
            one.chars().take(8).collect::<String>(),
            port::stamp(now_ms()),
            format.extension()
        ),
        _ => format!(
            "opencode-nexus-export-{}.{}",
            port::stamp(now_ms()),
            format.extension()
        ),
    };
    match services.shell.export_dir() {
        Some(dir) => {
            let dest = dir.join(&name);
            let r = services
                .store
                .export_file(dest.clone(), format, ids, job)
                .await?;
            Ok(format!(
                "Exported {} conversation{} ({} messages, {}) to {}.",
                r.conversations,
                if r.conversations == 1 { "" } else { "s" },
                r.messages,
                port::human_bytes(r.bytes),
                dest.display()
            ))
        }
        None => {
            let text = services.store.export_text(format, ids, job).await?;
            let mime = match format {
                ExportFormat::Json => "application/json",
                ExportFormat::Markdown => "text/markdown",
            };
            services.shell.save_file(&name, mime, text.as_bytes())
        }
    }
}

/// Run one long operation: register its job, show progress while it runs (polled a few times a
/// second, never per item), then show how it ended. One at a time: the buttons are disabled
/// while `running` is set.
pub fn run<F, Fut>(jobs: DataJobs, label: &'static str, cancellable: bool, op: F)
where
    F: FnOnce(String) -> Fut + 'static,
    Fut: std::future::Future<Output = Result<String, Error>> + 'static,
{
    let DataJobs {
        mut running,
        mut progress,
        mut outcome,
        mut last,
        ..
    } = jobs;
    if running.peek().is_some() {
        return;
    }
    last.set(label);
    let job = Job::start();
    running.set(Some(Running {
        label,
        job: job.clone(),
        cancellable,
    }));
    progress.set((0, 0));
    outcome.set(None);
    crate::crash::set_last_action(label);
    // In the root scope: leaving Settings must not cancel the operation.
    spawn_forever(async move {
        let poll_job = job.clone();
        let poller = spawn_stoppable(async move {
            loop {
                rt::sleep(Duration::from_millis(150)).await;
                let p = poll_job.progress();
                if *progress.peek() != p {
                    progress.set(p);
                }
            }
        });
        let result = op(job.id().to_owned()).await;
        poller.stop();
        running.set(None);
        outcome.set(Some(Outcome::from_result(result)));
    });
}

/// After a restore or "delete all": the open conversation, profiles and settings all changed
/// under the app, so read them again.
pub async fn reset_app_state(mut state: AppState, services: &Services) {
    state.conversation.set(None);
    state.focus_message.set(None);
    state.load_settings(services).await;
    state.reload_profiles(services).await;
    state.touch_history();
}

/// Keys first (they are named by the profiles about to go), then the database, the logs and,
/// when asked, the backups. Returns the sentence to show.
pub async fn delete_all_data(
    services: &Services,
    backups: Option<std::path::PathBuf>,
) -> Result<String, Error> {
    let profiles = services.store.list_profiles().await?;
    let mut key_problem = None;
    let ids = profiles
        .iter()
        .map(|p| p.id.as_str())
        .chain(crate::engine::sync::SECRETS);
    for id in ids {
        services.forget_session_key(id);
        match services.secrets.delete(id).await {
            Ok(()) | Err(Error::SecretServiceUnavailable { .. }) => {}
            Err(e) => key_problem = Some(e),
        }
    }
    services.store.delete_everything().await?;
    services.shell.delete_logs()?;
    let removed = match backups {
        Some(dir) => services.store.delete_backups(dir).await?,
        None => 0,
    };
    let mut sentence =
        "Deleted all conversations, backend profiles, keys, settings and logs.".to_owned();
    if removed > 0 {
        sentence.push_str(&format!(" Deleted {removed} backup files."));
    }
    if let Some(e) = key_problem {
        sentence.push_str(&format!(
            " Some keys could not be removed from the keychain ({e}); remove the “OpenCode Nexus” entries there by hand."
        ));
    }
    Ok(sentence)
}
