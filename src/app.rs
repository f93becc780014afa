//! The root component: provides the services and the shared app state through context, applies
//! appearance settings, and switches between the three views (chat, history, settings).

use dioxus::prelude::*;

use crate::components::nav::NavBar;
use crate::platform::{Services, Theme, STYLESHEET};
use crate::state::{AppState, View};
use crate::views::{ChatView, HistoryView, SettingsView};

/// The stylesheet, for a host that puts it in the page's `<head>` itself (the desktop
/// webview: parsed with the page, before the first render arrives, instead of as part of it).
pub fn stylesheet_head() -> String {
    STYLESHEET_IN_HEAD.store(true, std::sync::atomic::Ordering::Relaxed);
    format!("<style>{}</style>", STYLESHEET.unwrap_or_default())
}

/// Set once the host has put the stylesheet in the head; the root then leaves it out.
static STYLESHEET_IN_HEAD: std::sync::atomic::AtomicBool =
    std::sync::atomic::AtomicBool::new(false);

#[component]
pub fn App() -> Element {
    let services = use_hook(|| {
        tracing::info!(
            ms = crate::platform::vitals::since_start_ms(),
            "root component created"
        );
        try_consume_context::<Services>()
            .unwrap_or_else(|| provide_context(crate::platform::app_services()))
    });
    let state = use_context_provider(AppState::new);
    // The theme last shown, until the settings come from the store (in the browser that is
    // after the first frame): the first frame has the user's colours.
    let services_theme = services.clone();
    use_hook(move || {
        if let Some(theme) = services_theme.shell.remembered_theme() {
            let mut settings = state.settings;
            settings.write().theme = theme;
        }
    });
    let chat = use_context_provider(crate::state::chat::ChatController::new);
    use_context_provider(crate::state::data::DataJobs::new);
    let sync = use_context_provider(crate::state::sync::SyncController::new);
    let services_for_sync_runs = services.clone();
    use_hook(move || sync.start(state, services_for_sync_runs));
    let services_for_hub = services.clone();
    let hub = use_context_provider(move || {
        crate::state::opencode::OpenCodeHub::new(services_for_hub, state)
    });
    // One live connection per OpenCode backend from the start, following profile changes: what
    // its agents wait for (Approvals, notifications) is known whichever view is open.
    let services_for_sync = services.clone();
    use_effect(move || {
        let profiles = state.profiles.read().clone();
        hub.sync_profiles(&services_for_sync, &profiles);
    });

    use_hook(move || spawn(state.detect_touch()));
    // Load settings and profiles once, off the UI thread (the store worker does the I/O).
    let services_for_load = services.clone();
    use_hook(move || {
        let services = services_for_load.clone();
        let mut state = state;
        spawn(async move {
            state.load_settings(&services).await;
            match services.store.list_profiles().await {
                Ok(p) => state.profiles.set(p),
                Err(e) => state.fatal.set(Some(e.to_string())),
            }
            state.reload_presets(&services).await;
            if state.conversation.peek().is_none() {
                let default = state.presets.peek().iter().find(|p| p.is_default).cloned();
                chat.choose_preset(default.as_ref());
                // Reopen the conversation that was open when the app last closed, unless a
                // new message was begun while the app loaded.
                if !*chat.typed_before_load.peek() {
                    if let Some(id) = crate::state::last_conversation(&services).await {
                        state.conversation.set(Some(id));
                    }
                }
            }
            let mut typed_before_load = chat.typed_before_load;
            typed_before_load.set(false);
            state.loaded.set(true);
            let retention = state.settings.peek().retention_days;
            if let Some(days) = retention {
                let cutoff = crate::engine::model::retention_cutoff(days);
                match services.store.apply_retention(cutoff).await {
                    Ok(0) => {}
                    Ok(n) => {
                        tracing::info!(deleted = n, "retention removed old conversations");
                        // The conversation reopened at start may be one of them: closed here,
                        // before the views hear of the change (they would take it for a
                        // delete on another device).
                        let open = state.conversation.peek().clone();
                        if let Some(open) = open {
                            if services.store.get_conversation(open).await.is_err() {
                                state.conversation.set(None);
                            }
                        }
                        state.touch_history();
                        state.show_toast(format!(
                            "{} untouched for {days} days {} deleted, as set in Settings → Privacy.",
                            crate::engine::model::counted(n as i64, "conversation"),
                            if n == 1 { "was" } else { "were" },
                        ));
                    }
                    Err(e) => tracing::warn!(error = %e, "retention failed"),
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
                        .auto_backup(
                            dir.clone(),
                            86_400_000,
                            s.backup_keep.max(1),
                            s.backup_max_mb,
                        )
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

    // App-wide shortcuts, whatever has the focus (or nothing does): Ctrl/Cmd+K searches the
    // history, Ctrl/Cmd+N starts a new chat. The listener sits on the document and hands the key
    // to Rust, so it works the same in the desktop webview and the browser.
    let chat = crate::state::chat::use_chat();
    use_hook(move || {
        spawn(async move {
            let mut keys = document::eval(GLOBAL_KEYS);
            while let Ok(key) = keys.recv::<String>().await {
                match key.as_str() {
                    "k" => state.search_history(),
                    "k-sidebar" => tracing::info!("conversation list search focused"),
                    "n" => chat.new_chat(state),
                    "/" => state.toggle_shortcuts(),
                    _ => {}
                }
            }
        });
    });

    // The theme shown, kept for the next start's first frame (once the settings have loaded).
    let services_theme = services.clone();
    use_effect(move || {
        let theme = state.settings.read().theme;
        if *state.loaded.read() {
            services_theme.shell.remember_theme(theme);
        }
    });
    // Which view is shown, in the log: what a bug report (and the release-binary test) reads.
    use_effect(move || tracing::info!(view = ?state.view.read(), "view shown"));
    // Remember the open conversation for the next start (once the first load has run).
    let services_last = services.clone();
    use_effect(move || {
        let id = state.conversation.read().clone();
        if *state.loaded.read() {
            // Its id (never its title or text) in the log, like the view shown.
            tracing::info!(
                conversation = %id.as_deref().unwrap_or("none"),
                "conversation shown"
            );
            crate::state::remember_conversation(&services_last, id);
        }
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
        if let Some(css) = STYLESHEET.filter(|_| !STYLESHEET_IN_HEAD.load(std::sync::atomic::Ordering::Relaxed)) {
            style { {css} }
        }
        div { class: "app {theme} {compact}", style: "{style}",
            NavBar {}
            if matches!(view, View::Chat | View::Session) {
                crate::views::sidebar::Sidebar {}
            }
            main { class: "main", id: "main-content",
                if let Some(problem) = state.fatal.read().clone() {
                    div { class: "banner banner-error", role: "alert", "{problem}" }
                }
                crate::components::notices::StartupNotices {}
                crate::components::notices::ToastView {}
                crate::components::shortcuts::ShortcutSheet {}
                match view {
                    View::Chat => rsx! { ChatView {} },
                    View::History => rsx! { HistoryView {} },
                    View::Settings => rsx! { SettingsView {} },
                    View::Session => rsx! { crate::views::session::SessionPage {} },
                    View::Approvals => rsx! { crate::views::approvals::ApprovalsView {} },
                }
            }
        }
    }
}

/// Sends `k` / `n` for Ctrl/Cmd+K and Ctrl/Cmd+N from anywhere in the page (the browser's own
/// meaning of those keys is cancelled: they belong to the app).
/// Ctrl/Cmd+K focuses the conversation list's search where the list is on screen (wide
/// windows); elsewhere it is sent on and opens History's search. Ctrl/Cmd+/ shows the
/// shortcut sheet.
const GLOBAL_KEYS: &str = "document.addEventListener('keydown', (e) => { if ((e.ctrlKey || e.metaKey) && !e.altKey && !e.shiftKey) { const k = (e.key || '').toLowerCase(); if (k === 'k') { e.preventDefault(); const s = document.getElementById('sidebar-search'); if (s && s.offsetParent !== null) { s.focus(); s.select(); dioxus.send('k-sidebar'); } else { dioxus.send('k'); } } else if (k === 'n' || k === '/') { e.preventDefault(); dioxus.send(k); } } }, true); await new Promise(() => {});";

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
