//! Sync in the app: its setup, the runs (soon after start, when changes are waiting, every few
//! minutes, and "Sync now"), and what the last run did. It lives in the root scope, so a run
//! goes on when the user leaves Settings. The key is derived once per setup and kept in memory.

use std::time::Duration;

use dioxus::core::spawn_forever;
use dioxus::prelude::*;

use crate::engine::error::{Error, Result};
use crate::engine::model::now_ms;
use crate::engine::rt;
use crate::engine::store::sync::LocalState;
use crate::engine::sync::{self as esync, crypto::SyncKey, DeviceInfo, SyncReport, SyncSetup};
use crate::platform::Services;
use crate::state::tasks::spawn_stoppable;
use crate::state::AppState;

/// How often the app syncs while it runs, changes or not (to receive other devices').
const EVERY: Duration = Duration::from_secs(5 * 60);
/// How often it looks for changes made here that wait to be sent.
const CHECK: Duration = Duration::from_secs(20);

#[derive(Clone, Copy)]
pub struct SyncController {
    pub setup: Signal<Option<SyncSetup>>,
    pub local: Signal<Option<LocalState>>,
    pub running: Signal<bool>,
    /// The last run's report, or its failure as a sentence.
    pub outcome: Signal<Option<std::result::Result<SyncReport, String>>>,
    pub devices: Signal<Vec<DeviceInfo>>,
    /// Where the run under way is (after its first change file).
    pub progress: Signal<Option<esync::SyncProgress>>,
    /// What removing another device from the folder did, as a sentence.
    pub removed: Signal<Option<String>>,
    key: Signal<Option<SyncKey>>,
    /// When the last run ended, whatever started it (setup, "Sync now" or the schedule): the
    /// schedule counts from it, so a run right after another one does not happen.
    last_run: Signal<Option<rt::Instant>>,
}

/// What the setup form holds.
#[derive(Clone, Default, PartialEq)]
pub struct SetupForm {
    pub url: String,
    pub user: String,
    /// WebDAV: the password; S3: the secret access key.
    pub password: String,
    pub passphrase: String,
    pub name: String,
    /// S3 only (an `s3://bucket/folder` URL): the endpoint, the region and the access key id.
    pub endpoint: String,
    pub region: String,
    pub access_key: String,
}

impl SetupForm {
    pub fn is_s3(&self) -> bool {
        self.url.trim().starts_with("s3://")
    }

    /// What is saved in the history database (no secrets).
    pub fn setup(&self) -> SyncSetup {
        let given = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
        let s3 = self.is_s3();
        SyncSetup {
            url: self.url.trim().to_owned(),
            user: if s3 { None } else { given(&self.user) },
            endpoint: if s3 { given(&self.endpoint) } else { None },
            region: if s3 { given(&self.region) } else { None },
        }
    }

    /// The password (or S3 secret key) and the S3 access key, for the keychain.
    pub fn secrets(&self) -> (Option<String>, Option<String>) {
        let password = (!self.password.is_empty()).then(|| self.password.clone());
        let access =
            Some(self.access_key.trim().to_owned()).filter(|a| self.is_s3() && !a.is_empty());
        (password, access)
    }
}

impl SyncController {
    /// Must be called in the root component.
    pub fn new() -> Self {
        SyncController {
            setup: Signal::new(None),
            local: Signal::new(None),
            running: Signal::new(false),
            outcome: Signal::new(None),
            devices: Signal::new(Vec::new()),
            progress: Signal::new(None),
            removed: Signal::new(None),
            key: Signal::new(None),
            last_run: Signal::new(None),
        }
    }

    /// Load the setup and keep syncing in the background while the app runs. Nothing here is
    /// on the way to the first frame: the first run waits a few seconds.
    pub fn start(self, state: AppState, services: Services) {
        spawn_stoppable(async move {
            self.reload(&services).await;
            rt::sleep(Duration::from_secs(3)).await;
            loop {
                if self.setup.peek().is_some() {
                    let pending = services
                        .store
                        .sync_state()
                        .await
                        .map(|s| s.pending)
                        .unwrap_or(0);
                    let due = self.last_run.peek().is_none_or(|t| t.elapsed() >= EVERY);
                    if due || pending > 0 {
                        self.run(state, &services).await;
                    }
                }
                rt::sleep(CHECK).await;
            }
        });
    }

    async fn reload(mut self, services: &Services) {
        let setup = services
            .store
            .get_setting(esync::SETUP_KEY.into())
            .await
            .ok()
            .flatten()
            .and_then(|v| serde_json::from_value::<SyncSetup>(v).ok());
        let local = services.store.sync_state().await.ok();
        let set_up = local.as_ref().is_some_and(|l| l.device.is_some());
        self.setup.set(setup.filter(|_| set_up));
        self.local.set(local);
    }

    /// One run now, unless one is under way.
    async fn run(mut self, state: AppState, services: &Services) {
        if self.setup.peek().is_none() || *self.running.peek() {
            return;
        }
        self.running.set(true);
        // What is left to send, shown while a long first sync runs.
        let poll = {
            let services = services.clone();
            let mut local = self.local;
            spawn_stoppable(async move {
                loop {
                    rt::sleep(Duration::from_secs(1)).await;
                    if let Ok(s) = services.store.sync_state().await {
                        local.set(Some(s));
                    }
                }
            })
        };
        self.removed.set(None);
        let result: Result<SyncReport> = async {
            let (remote, key) = self.folder(services).await?;
            let progress = self.progress;
            esync::sync_with_progress(&services.store, &*remote, &key, &move |at| {
                let mut progress = progress;
                progress.set(Some(at))
            })
            .await
        }
        .await;
        self.progress.set(None);
        match result {
            Ok(report) => {
                if report.pulled > 0 {
                    state.touch_history();
                    state.load_settings(services).await;
                    state.reload_profiles(services).await;
                    state.reload_presets(services).await;
                }
                self.devices.set(report.devices.clone());
                self.outcome.set(Some(Ok(report)));
            }
            Err(e) => {
                tracing::warn!(error = %e, "sync failed");
                // A passphrase changed elsewhere: derive the key again next time.
                self.key.set(None);
                self.outcome.set(Some(Err(e.to_string())));
            }
        }
        poll.stop();
        self.local.set(services.store.sync_state().await.ok());
        self.last_run.set(Some(rt::Instant::now()));
        self.running.set(false);
    }

    /// The folder of the saved setup and its key (derived once, then kept).
    async fn folder(
        mut self,
        services: &Services,
    ) -> Result<(Box<dyn esync::remote::Remote>, SyncKey)> {
        let (_, remote, passphrase) = crate::platform::ops::sync_remote(services)
            .await?
            .ok_or_else(|| Error::Invalid("Sync is not set up on this device.".into()))?;
        let cached = self.key.peek().clone();
        let key = match cached {
            Some(k) => k,
            None => {
                let k = esync::open_folder(&*remote, &passphrase).await?;
                self.key.set(Some(k.clone()));
                k
            }
        };
        Ok((remote, key))
    }

    /// Remove another device (lost or retired) from the folder: its changes are merged here
    /// and kept in a snapshot first (engine::sync::remove_device); then the list shows the
    /// folder without it.
    pub fn remove_device(mut self, state: AppState, services: &Services, id: String) {
        let services = services.clone();
        spawn_forever(async move {
            if *self.running.peek() {
                return;
            }
            self.running.set(true);
            self.removed.set(None);
            let result = async {
                let (remote, key) = self.folder(&services).await?;
                let removal = esync::remove_device(
                    &services.store,
                    &*remote,
                    &key,
                    &id,
                    &esync::SyncOptions::default(),
                )
                .await?;
                let own = services
                    .store
                    .sync_state()
                    .await?
                    .device
                    .unwrap_or_default();
                let devices = esync::devices(&*remote, &key, &own).await?;
                Ok::<_, Error>((removal, devices))
            }
            .await;
            match result {
                Ok((removal, devices)) => {
                    self.devices.set(devices);
                    self.outcome.set(None);
                    self.removed.set(Some(format!(
                        "\u{201c}{}\u{201d} was removed from the sync folder. What it wrote stays in your history{}. If it syncs again, it joins again.",
                        removal.name,
                        if removal.snapshot_written {
                            " and in the folder for your other devices"
                        } else {
                            ""
                        }
                    )));
                    // The merge before the removal may have brought conversations.
                    state.touch_history();
                }
                Err(e) => {
                    tracing::warn!(error = %e, "removing a device failed");
                    self.outcome.set(Some(Err(e.to_string())));
                }
            }
            self.reload(&services).await;
            self.running.set(false);
        });
    }

    /// "Sync now".
    pub fn sync_now(self, state: AppState, services: &Services) {
        let services = services.clone();
        spawn_forever(async move { self.run(state, &services).await });
    }

    /// Check a setup without saving it: the folder answers, the password and passphrase fit.
    pub async fn test(services: &Services, form: &SetupForm) -> Result<String> {
        let (password, access_key) = form.secrets();
        let remote =
            esync::open_remote(services.http.client(), &form.setup(), password, access_key)?;
        esync::open_folder(remote.as_ref(), &form.passphrase).await?;
        Ok(format!(
            "{} answers, and the passphrase fits its data.",
            remote.describe()
        ))
    }

    /// Check, then save (keychain for the password and passphrase), then sync once.
    pub fn set_up(mut self, state: AppState, services: &Services, form: SetupForm) {
        let services = services.clone();
        spawn_forever(async move {
            self.running.set(true);
            let setup = form.setup();
            let (password, access_key) = form.secrets();
            let name = if form.name.trim().is_empty() {
                "This device".to_owned()
            } else {
                form.name.trim().to_owned()
            };
            let result = crate::platform::ops::sync_set_up(
                &services,
                setup,
                password,
                access_key,
                &form.passphrase,
                &name,
            )
            .await
            .map(|_| ());
            self.running.set(false);
            match result {
                Ok(()) => {
                    self.key.set(None);
                    self.reload(&services).await;
                    self.run(state, &services).await;
                }
                Err(e) => self.outcome.set(Some(Err(e.to_string()))),
            }
        });
    }

    /// Stop syncing here: the setup, the keychain entries and this device's sync records go;
    /// the history and the folder stay.
    pub fn forget(mut self, services: &Services) {
        let services = services.clone();
        spawn_forever(async move {
            let result = crate::platform::ops::sync_forget(&services).await;
            self.key.set(None);
            self.devices.set(Vec::new());
            self.outcome.set(match result {
                Ok(()) => None,
                Err(e) => Some(Err(e.to_string())),
            });
            self.reload(&services).await;
        });
    }
}

impl Default for SyncController {
    fn default() -> Self {
        Self::new()
    }
}

/// "3 minutes ago" style text for the last sync.
pub fn ago(ms: i64) -> String {
    let secs = ((now_ms() - ms).max(0) / 1000) as u64;
    match secs {
        0..=59 => "just now".into(),
        60..=3599 => format!("{} min ago", secs / 60),
        _ => crate::engine::model::format_time(ms),
    }
}
