//! The root component: provides the services and the shared app state through context, applies
//! appearance settings, and switches between the three views (chat, history, settings).

use dioxus::prelude::*;

use crate::components::nav::NavBar;
use crate::engine::model::{Id, Profile};
use crate::platform::{AppSettings, Services, SettingsStore, Theme};
use crate::views::{ChatView, HistoryView, SettingsView};

/// Compiled in rather than served as an asset: it applies before first paint on every target
/// and needs no asset pipeline (plain `cargo build` works).
const MAIN_CSS: &str = include_str!("../assets/main.css");

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum View {
    Chat,
    History,
    Settings,
    /// An OpenCode session (which one: `views::servers::OpenCodeHub::open`).
    Session,
}

/// State shared by the views. Each piece is its own signal so a change repaints only what
/// reads it.
#[derive(Clone, Copy)]
pub struct AppState {
    pub view: Signal<View>,
    /// The open conversation; `None` is a new, unsaved chat.
    pub conversation: Signal<Option<Id>>,
    /// A message to scroll to when the conversation opens (from a search hit).
    pub focus_message: Signal<Option<Id>>,
    pub settings: Signal<AppSettings>,
    pub profiles: Signal<Vec<Profile>>,
    /// Bumped whenever conversations change, so lists reload.
    pub history_rev: Signal<u64>,
    /// A problem that affects the whole app (the database could not be opened...).
    pub fatal: Signal<Option<String>>,
    pub loaded: Signal<bool>,
}

impl AppState {
    /// Fresh state; must be called inside a component (signals belong to its scope).
    pub fn new() -> Self {
        AppState {
            view: Signal::new(View::Chat),
            conversation: Signal::new(None),
            focus_message: Signal::new(None),
            settings: Signal::new(AppSettings::default()),
            profiles: Signal::new(Vec::new()),
            history_rev: Signal::new(0),
            fatal: Signal::new(None),
            loaded: Signal::new(false),
        }
    }

    pub fn open_conversation(mut self, id: Option<Id>, focus: Option<Id>) {
        self.conversation.set(id);
        self.focus_message.set(focus);
        self.view.set(View::Chat);
    }

    pub fn touch_history(mut self) {
        *self.history_rev.write() += 1;
    }

    /// Apply and persist settings. The write runs in the root scope so leaving the view that
    /// changed a setting cannot cancel it.
    pub fn save_settings(mut self, services: &Services, new: AppSettings) {
        self.settings.set(new.clone());
        let services = services.clone();
        dioxus::core::spawn_forever(async move {
            if let Err(e) = services.store.save_settings(&new).await {
                tracing::error!(error = %e, "saving settings failed");
            }
        });
    }

    /// Reload the profile list. Awaited by callers: a task spawned from a component that is
    /// about to close (the profile editor) would be cancelled with it.
    pub async fn reload_profiles(mut self, services: &Services) {
        match services.store.list_profiles().await {
            Ok(list) => self.profiles.set(list),
            Err(e) => self.fatal.set(Some(e.to_string())),
        }
    }
}

impl Default for AppState {
    fn default() -> Self {
        Self::new()
    }
}

pub fn use_services() -> Services {
    use_context::<Services>()
}

pub fn use_app_state() -> AppState {
    use_context::<AppState>()
}

#[component]
pub fn App() -> Element {
    let services = use_hook(|| {
        try_consume_context::<Services>()
            .unwrap_or_else(|| provide_context(crate::platform::app_services()))
    });
    let state = use_context_provider(AppState::new);
    use_context_provider(crate::views::chat::ChatController::new);
    use_context_provider(crate::views::data::DataJobs::new);
    let services_for_hub = services.clone();
    use_context_provider(move || crate::views::servers::OpenCodeHub::new(services_for_hub));

    // Load settings and profiles once, off the UI thread (the store worker does the I/O).
    let services_for_load = services.clone();
    use_hook(move || {
        let services = services_for_load.clone();
        let mut state = state;
        spawn(async move {
            match services.store.load_settings().await {
                Ok(s) => state.settings.set(s),
                Err(e) => state.fatal.set(Some(e.to_string())),
            }
            match services.store.list_profiles().await {
                Ok(p) => state.profiles.set(p),
                Err(e) => state.fatal.set(Some(e.to_string())),
            }
            state.loaded.set(true);
            if let Some(days) = state.settings.peek().retention_days {
                let cutoff = crate::engine::model::now_ms() - i64::from(days) * 86_400_000;
                if let Ok(n) = services.store.apply_retention(cutoff).await {
                    if n > 0 {
                        tracing::info!(deleted = n, "retention removed old conversations");
                    }
                }
            }
            // The daily backup: checked now and every hour while the app runs; a backup is
            // taken when the newest one is a day old and there is a history to keep. Settings
            // are read each time, so turning it off (or changing how many to keep) applies at
            // the next check.
            let Some(dir) = services.shell.backups_dir() else {
                return;
            };
            loop {
                let s = state.settings.peek().clone();
                let has_history = services
                    .store
                    .count_conversations()
                    .await
                    .is_ok_and(|n| n > 0);
                if s.auto_backup && has_history {
                    match services
                        .store
                        .auto_backup(dir.clone(), 86_400_000, s.backup_keep.max(1))
                        .await
                    {
                        Ok(Some(path)) => {
                            tracing::info!(path = %path.display(), "daily backup taken")
                        }
                        Ok(None) => {}
                        Err(e) => tracing::warn!(error = %e, "daily backup failed"),
                    }
                }
                crate::engine::rt::sleep(std::time::Duration::from_secs(3600)).await;
            }
        });
    });

    let settings = state.settings.read();
    let theme = match settings.theme {
        Theme::System => "theme-system",
        Theme::Light => "theme-light",
        Theme::Dark => "theme-dark",
    };
    let compact = if settings.compact { "compact" } else { "" };
    let style = format!("--font-size: {}px;", settings.font_size.clamp(11, 24));
    let view = *state.view.read();

    rsx! {
        style { {MAIN_CSS} }
        div { class: "app {theme} {compact}", style: "{style}",
            NavBar {}
            main { class: "main", id: "main-content",
                if let Some(problem) = state.fatal.read().clone() {
                    div { class: "banner banner-error", role: "alert", "{problem}" }
                }
                crate::components::notices::StartupNotices {}
                match view {
                    View::Chat => rsx! { ChatView {} },
                    View::History => rsx! { HistoryView {} },
                    View::Settings => rsx! { SettingsView {} },
                    View::Session => rsx! { crate::views::session::SessionPage {} },
                }
            }
        }
    }
}

/// Extra `<head>` for the desktop webview: a Content-Security-Policy as strict as the Dioxus
/// desktop runtime allows. What it permits, and why:
/// - scripts only from the app itself, plus 'unsafe-inline' (Dioxus injects its bootstrap as an
///   inline module script) and 'unsafe-eval' (element queries such as focus and scroll run
///   through `new AsyncFunction`);
/// - styles from the app (inline, compiled in), images from the app or `data:` URLs;
/// - connections only to the app's own protocol and the local WebSocket the runtime streams
///   DOM edits over (127.0.0.1);
/// - no frames, plugins, `<base>` or form targets, and nothing at all from the network.
///
/// Model output never becomes markup (see `engine::markdown`), so this is a second wall.
pub const DESKTOP_HEAD: &str = concat!(
    r#"<meta http-equiv="Content-Security-Policy" content=""#,
    "default-src 'self' dioxus: http://dioxus.index.html https://dioxus.index.html; ",
    "script-src 'self' 'unsafe-inline' 'unsafe-eval' dioxus: http://dioxus.index.html https://dioxus.index.html; ",
    "style-src 'self' 'unsafe-inline' dioxus: http://dioxus.index.html https://dioxus.index.html; ",
    "img-src 'self' data: dioxus: http://dioxus.index.html https://dioxus.index.html; ",
    "font-src 'self' dioxus:; ",
    "connect-src 'self' dioxus: http://dioxus.index.html https://dioxus.index.html ws://127.0.0.1:* ws://localhost:*; ",
    "frame-src 'none'; object-src 'none'; base-uri 'none'; form-action 'none'",
    r#"">"#
);
