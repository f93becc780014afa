//! UI state and the long-lived controllers, with no markup: what the views render and the
//! intents they send. Everything here lives in the root scope (created once by `App`), so a
//! reply keeps streaming, an import keeps running and an OpenCode run keeps being followed
//! while the user moves between views.
//!
//! - [`AppState`]: the current view, the open conversation, settings, profiles, toasts.
//! - [`chat::ChatController`]: the open conversation's thread and the send path.
//! - [`opencode::OpenCodeHub`]: live connections to OpenCode servers and their sessions.
//! - [`data::DataJobs`]: the one long data operation at a time (Settings → Data).

pub mod chat;
pub mod data;
pub mod opencode;
pub mod presets;
pub mod profiles;
pub mod sync;
pub mod tasks;

use dioxus::prelude::*;

use crate::engine::model::{Id, Preset, Profile};
use crate::platform::{AppSettings, Services, SettingsStore};

/// Focus the element with this id once it is in the document and enabled, selecting its text
/// when asked. A view shown by a change of state renders on a later frame: the script looks
/// once per frame, for up to 60 frames.
pub(crate) fn focus_when_shown(id: &str, select: bool) {
    let select = if select { " e.select();" } else { "" };
    let _ = document::eval(&format!(
        "(function tryFocus(n) {{ const e = document.getElementById('{id}'); if (e && !e.disabled) {{ e.focus();{select} }} else if (n > 0) {{ requestAnimationFrame(() => tryFocus(n - 1)); }} }})(60)"
    ));
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum View {
    Chat,
    History,
    Settings,
    /// An OpenCode session (which one: `state::opencode::OpenCodeHub::open`).
    Session,
    /// What OpenCode agents wait for on every server (permissions and questions).
    Approvals,
}

impl View {
    /// Where the navigation's Chat goes from `self`: from another view, back to the OpenCode
    /// session that last stood in the chat's place (`last_chat_view`), if it is still open;
    /// otherwise (and from the session itself) the chat.
    pub fn chat_destination(self, last_chat_view: View, session_open: bool) -> View {
        let elsewhere = !matches!(self, View::Chat | View::Session);
        if elsewhere && last_chat_view == View::Session && session_open {
            View::Session
        } else {
            View::Chat
        }
    }
}

/// A change to the settings (see [`AppState::update_settings`]).
type SettingsEdit = std::rc::Rc<dyn Fn(&mut AppSettings)>;

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
    /// The stored settings have been read (until then a change waits in `settings_edits`).
    pub settings_loaded: Signal<bool>,
    /// Changes made before the stored settings were read, applied over them once they are.
    settings_edits: Signal<Vec<SettingsEdit>>,
    pub profiles: Signal<Vec<Profile>>,
    pub presets: Signal<Vec<Preset>>,
    /// Bumped whenever conversations change, so lists reload.
    pub history_rev: Signal<u64>,
    /// A problem that affects the whole app (the database could not be opened...).
    pub fatal: Signal<Option<String>>,
    pub loaded: Signal<bool>,
    /// A sentence about something that just failed (a store error, a rejected value); shown
    /// as a toast until dismissed or replaced.
    pub toast: Signal<Option<Toast>>,
    /// Settings should open with the "Add backend" form (first start's "Add a backend").
    pub add_backend: Signal<bool>,
    /// The keyboard shortcut sheet is open (Ctrl/Cmd+/).
    pub shortcuts: Signal<bool>,
    /// The conversations just deleted from History and what the toast calls them ("“title”",
    /// "3 conversations"), offered for undo until [`AppState::delete_conversations`]'s window
    /// passes. In the root scope, so the window and the purge after it go on when the user
    /// leaves History.
    pub deleted: Signal<Option<(Vec<Id>, String)>>,
    /// The device is a touch screen with no mouse (a phone, a tablet): its keyboard has no
    /// Shift+Enter or Esc, so Enter adds a line in a message box (Send sends) and hints name
    /// no keys. Read from the page once at start.
    pub touch: Signal<bool>,
}

/// A short message over the app: what happened and what to do.
#[derive(Clone, Debug, PartialEq)]
pub struct Toast {
    pub text: String,
    /// Bumped per toast so the same sentence twice still shows (and restarts its timer).
    pub serial: u64,
}

impl AppState {
    /// Fresh state; must be called inside a component (signals belong to its scope).
    pub fn new() -> Self {
        AppState {
            view: Signal::new(View::Chat),
            conversation: Signal::new(None),
            focus_message: Signal::new(None),
            settings: Signal::new(AppSettings::default()),
            settings_loaded: Signal::new(false),
            settings_edits: Signal::new(Vec::new()),
            profiles: Signal::new(Vec::new()),
            presets: Signal::new(Vec::new()),
            history_rev: Signal::new(0),
            fatal: Signal::new(None),
            loaded: Signal::new(false),
            toast: Signal::new(None),
            add_backend: Signal::new(false),
            shortcuts: Signal::new(false),
            deleted: Signal::new(None),
            touch: Signal::new(false),
        }
    }

    /// Whether Enter sends in a message box: the setting, except on a touch screen.
    pub fn enter_sends(&self) -> bool {
        self.settings.read().enter_sends && !*self.touch.read()
    }

    /// Ask the page whether it runs on a touch screen with no mouse (see `touch`).
    pub async fn detect_touch(mut self) {
        let query = "return matchMedia('(hover: none) and (pointer: coarse)').matches";
        if let Ok(touch) = document::eval(query).join::<bool>().await {
            self.touch.set(touch);
        }
    }

    /// Delete conversations with undo: gone from the lists at once, offered back for 10 s,
    /// then purged for good. `label` names them in the toast. A root-scope task, so leaving
    /// History neither cancels the purge nor removes a task whose timer may be due in that
    /// frame. Should one fail, those deleted before it are still offered back.
    pub fn delete_conversations(self, services: &Services, ids: Vec<Id>, label: String) {
        let services = services.clone();
        let mut deleted = self.deleted;
        dioxus::core::spawn_forever(async move {
            let mut done = Vec::new();
            for id in ids {
                if let Err(e) = services.store.delete_conversation(id.clone()).await {
                    self.toast_error(e);
                    break;
                }
                done.push(id);
            }
            if done.is_empty() {
                return;
            }
            if self
                .conversation
                .peek()
                .as_ref()
                .is_some_and(|open| done.contains(open))
            {
                let mut open = self.conversation;
                open.set(None);
            }
            deleted.set(Some((done.clone(), label)));
            self.touch_history();
            crate::engine::rt::sleep(std::time::Duration::from_secs(10)).await;
            if deleted.peek().as_ref().map(|d| &d.0) == Some(&done) {
                deleted.set(None);
            }
            if let Err(e) = services
                .store
                .purge_deleted(crate::engine::model::now_ms() - 9_000)
                .await
            {
                tracing::warn!(error = %e, "purging deleted conversations failed");
            }
        });
    }

    /// Bring back the conversations deleted last (the toast's Undo).
    pub fn undo_delete(self, services: &Services) {
        let mut deleted = self.deleted;
        let Some((ids, _)) = deleted.take() else {
            return;
        };
        let services = services.clone();
        dioxus::core::spawn_forever(async move {
            for id in ids {
                if let Err(e) = services.store.undelete_conversation(id).await {
                    self.toast_error(e);
                }
            }
            self.touch_history();
        });
    }

    pub fn open_conversation(mut self, id: Option<Id>, focus: Option<Id>) {
        self.conversation.set(id);
        self.focus_message.set(focus);
        self.view.set(View::Chat);
    }

    /// Show an error's sentence as a toast (and log it).
    pub fn toast_error(self, e: impl std::fmt::Display) {
        let text = e.to_string();
        tracing::warn!(error = %text, "shown to the user");
        self.show_toast(text);
    }

    pub fn show_toast(mut self, text: String) {
        let serial = self.toast.peek().as_ref().map_or(1, |t| t.serial + 1);
        self.toast.set(Some(Toast { text, serial }));
    }

    /// Open Settings with the form for a new backend open.
    pub fn open_add_backend(mut self) {
        self.add_backend.set(true);
        self.view.set(View::Settings);
    }

    /// Open History with the search box focused (Ctrl/Cmd+K from anywhere).
    pub fn search_history(mut self) {
        self.view.set(View::History);
        focus_when_shown("history-search", true);
    }

    pub fn toggle_shortcuts(mut self) {
        let open = *self.shortcuts.peek();
        self.shortcuts.set(!open);
    }

    pub fn touch_history(mut self) {
        *self.history_rev.write() += 1;
    }

    /// Change a setting: shown at once and saved. A change made before the stored settings
    /// have been read (the first moment after start) is kept and applied over them when they
    /// are, so it neither disappears from the screen nor saves defaults over the user's other
    /// settings.
    pub fn update_settings(
        mut self,
        services: &Services,
        edit: impl Fn(&mut AppSettings) + 'static,
    ) {
        self.settings.with_mut(|s| edit(s));
        if *self.settings_loaded.peek() {
            self.store_settings(services);
        } else {
            self.settings_edits.write().push(std::rc::Rc::new(edit));
        }
    }

    /// Read the stored settings: at start, after a restore and after a sync brought changes.
    /// Changes made before the first read are applied over them and saved.
    pub async fn load_settings(mut self, services: &Services) {
        match services.store.load_settings().await {
            Ok(mut loaded) => {
                let edits = std::mem::take(&mut *self.settings_edits.write());
                for edit in &edits {
                    edit(&mut loaded);
                }
                self.settings.set(loaded);
                self.settings_loaded.set(true);
                if !edits.is_empty() {
                    self.store_settings(services);
                }
            }
            Err(e) => self.fatal.set(Some(e.to_string())),
        }
    }

    /// Persist the settings shown. The write runs in the root scope so leaving the view that
    /// changed a setting cannot cancel it.
    fn store_settings(self, services: &Services) {
        let new = self.settings.peek().clone();
        let services = services.clone();
        dioxus::core::spawn_forever(async move {
            if let Err(e) = services.store.save_settings(&new).await {
                tracing::error!(error = %e, "saving settings failed");
                self.toast_error(format!(
                    "{e} The settings shown apply until the app closes; change one again to save them."
                ));
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
        // A removed backend changes the presets that named it.
        self.reload_presets(services).await;
    }

    pub async fn reload_presets(mut self, services: &Services) {
        match services.store.list_presets().await {
            Ok(list) => self.presets.set(list),
            Err(e) => self.toast_error(e),
        }
    }
}

impl Default for AppState {
    fn default() -> Self {
        Self::new()
    }
}

/// The setting that remembers the open conversation across starts.
const LAST_CONVERSATION: &str = "last_conversation";

/// The conversation open when the app last closed, if it is still there (and local: an
/// OpenCode session's copy opens from its server's list).
pub async fn last_conversation(services: &Services) -> Option<Id> {
    let id = services
        .store
        .get_setting(LAST_CONVERSATION.into())
        .await
        .ok()
        .flatten()?
        .as_str()?
        .to_owned();
    let c = services.store.get_conversation(id).await.ok()?;
    c.remote_session.is_none().then_some(c.id)
}

pub fn remember_conversation(services: &Services, id: Option<Id>) {
    let services = services.clone();
    dioxus::core::spawn_forever(async move {
        let value = id.map_or(serde_json::Value::Null, serde_json::Value::String);
        if let Err(e) = services
            .store
            .set_setting(LAST_CONVERSATION.into(), value)
            .await
        {
            tracing::warn!(error = %e, "remembering the open conversation failed");
        }
    });
}

/// The conversations a list shows (`filter`) and, when none of them is a local one, whether
/// archived conversations exist with the same backend filter, so that the empty list can say
/// where they are instead of "No conversations yet".
pub async fn list_conversations_or_archive(
    services: &Services,
    filter: crate::engine::model::ConversationFilter,
) -> crate::engine::error::Result<(Vec<crate::engine::model::ConversationSummary>, bool)> {
    let archived = filter.archived;
    let profile_id = filter.profile_id.clone();
    let rows = services.store.list_conversations(filter).await?;
    let none_local = rows.iter().all(|r| r.conversation.remote_session.is_some());
    let in_archive = !archived
        && none_local
        && services
            .store
            .list_conversations(crate::engine::model::ConversationFilter {
                archived: true,
                profile_id,
                limit: 1,
                offset: 0,
            })
            .await
            .is_ok_and(|found| !found.is_empty());
    Ok((rows, in_archive))
}

/// Full-text search as the user types: runs after a short pause in typing, again when the
/// history changes; the latest finished result (empty for an empty query).
pub fn use_search(
    query: Signal<String>,
    limit: u32,
) -> Signal<Option<crate::engine::error::Result<Vec<crate::engine::model::SearchHit>>>> {
    let services = use_services();
    let state = use_app_state();
    tasks::use_latest(move || {
        let services = services.clone();
        let q = query();
        let _rev = state.history_rev.read();
        async move {
            if q.trim().is_empty() {
                return Ok(Vec::new());
            }
            crate::engine::rt::sleep(std::time::Duration::from_millis(120)).await;
            services.store.search(q, limit).await
        }
    })
}

pub fn use_services() -> Services {
    use_context::<Services>()
}

pub fn use_app_state() -> AppState {
    use_context::<AppState>()
}

/// Opens a local conversation, or the session screen when it is the offline copy of an
/// OpenCode session. Usable from any event handler (reads the contexts itself).
pub fn open_conversation(id: Id, focus: Option<Id>) {
    let Some(state) = try_consume_context::<AppState>() else {
        return;
    };
    let (Some(hub), Some(services)) = (
        try_consume_context::<opencode::OpenCodeHub>(),
        try_consume_context::<Services>(),
    ) else {
        state.open_conversation(Some(id), focus);
        return;
    };
    spawn(async move {
        match services.store.get_conversation(id.clone()).await {
            Ok(c) => match (c.remote_session, c.profile_id) {
                (Some(session), Some(profile)) => hub.open_session(state, &profile, &session),
                _ => state.open_conversation(Some(id), focus),
            },
            Err(_) => state.open_conversation(Some(id), focus),
        }
    });
}

#[cfg(test)]
mod tests {
    use super::View;

    #[test]
    fn chat_goes_back_to_the_session_that_stood_in_its_place() {
        // From Approvals (or History, Settings) after a session: the session, while it is open.
        for from in [View::Approvals, View::History, View::Settings] {
            assert_eq!(from.chat_destination(View::Session, true), View::Session);
            assert_eq!(from.chat_destination(View::Session, false), View::Chat);
            assert_eq!(from.chat_destination(View::Chat, true), View::Chat);
        }
        // From the session itself, or the chat: the chat.
        assert_eq!(
            View::Session.chat_destination(View::Session, true),
            View::Chat
        );
        assert_eq!(View::Chat.chat_destination(View::Session, true), View::Chat);
    }
}
