//! The chat view and its controller.
//!
//! The controller lives in the root scope so a reply keeps streaming (and saving) while the user
//! looks at another view. Deltas from the engine land in a plain buffer; a pump repaints from it
//! at most once per frame, so a 5,000 token/s stream costs ~60 renders a second, not 5,000.
//! Only a window of the thread is mounted (bounded DOM), however long the conversation.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use dioxus::core::spawn_forever;
use dioxus::prelude::*;

use crate::app::{use_app_state, use_services, AppState, View};
use crate::components::MessageBubble;
use crate::engine::chat::{self, ChatUpdate, EngineOptions, ReplyContext, StopHandle, StopSignal};
use crate::engine::error::Error;
use crate::engine::model::*;
use crate::engine::providers::openai::OpenAiClient;
use crate::engine::rt;
use crate::platform::Services;

/// How many messages are mounted when a conversation opens.
pub const WINDOW: usize = 80;
/// The most messages ever mounted: scrolling up mounts earlier ones until this many, then
/// "Show earlier messages" moves the window instead of growing it.
pub const MAX_MOUNTED: usize = 240;
/// Scrolling closer than this to the top of the thread mounts earlier messages.
const LOAD_EARLIER_PX: f64 = 600.0;
const FRAME: Duration = Duration::from_millis(16);
/// Saves the first mounted message and its position on screen before the window changes.
const RECORD_ANCHOR: &str = "(() => { const t = document.getElementById('thread'); const m = t && t.querySelector('article.msg'); window.__nexusAnchor = m ? [m.id, m.getBoundingClientRect().top] : null; })()";
/// Scrolls the thread so the saved message is where it was (now and on the next frame, in
/// case the webview applies the change later); does nothing when the engine kept it in place.
const RESTORE_ANCHOR: &str = "(() => { const a = window.__nexusAnchor; if (!a) return; const fix = () => { const e = document.getElementById(a[0]); const t = document.getElementById('thread'); if (!e || !t) return; const d = e.getBoundingClientRect().top - a[1]; if (Math.abs(d) > 1) t.scrollTop += d; }; fix(); requestAnimationFrame(() => { fix(); window.__nexusAnchor = null; }); })()";
/// Characters after which the composer shows a count.
const LONG_INPUT: usize = 2_000;

#[derive(Clone, Debug, PartialEq, Default)]
pub struct LiveReply {
    pub message_id: Id,
    pub text: String,
    pub reasoning: String,
}

#[derive(Clone, Debug, PartialEq)]
pub enum BackendStatus {
    Unknown,
    Checking,
    Online(String),
    Offline(String),
}

/// Chat state shared through context (created once in `App`).
#[derive(Clone, Copy)]
pub struct ChatController {
    pub conversation: Signal<Option<Conversation>>,
    pub thread: Signal<Vec<ThreadMessage>>,
    pub live: Signal<Option<LiveReply>>,
    pub running: Signal<bool>,
    pub notice: Signal<Option<String>>,
    /// Profile and model chosen for the next new conversation.
    pub new_profile: Signal<Option<Id>>,
    pub new_model: Signal<Option<String>>,
    pub models: Signal<Vec<String>>,
    pub status: Signal<BackendStatus>,
    /// First mounted index of the thread.
    pub window_start: Signal<usize>,
    /// How many messages from `window_start` are mounted (WINDOW..=MAX_MOUNTED).
    pub window_len: Signal<usize>,
    /// When scrolling last mounted earlier messages: one step per scroll gesture, not one per
    /// scroll event.
    last_mount: Signal<Option<rt::Instant>>,
    stop: Signal<Option<StopHandle>>,
    /// Renders since the reply started (shown in diagnostics; proves coalescing).
    pub frames: Signal<u64>,
}

impl ChatController {
    pub fn new() -> Self {
        ChatController {
            conversation: Signal::new(None),
            thread: Signal::new(Vec::new()),
            live: Signal::new(None),
            running: Signal::new(false),
            notice: Signal::new(None),
            new_profile: Signal::new(None),
            new_model: Signal::new(None),
            models: Signal::new(Vec::new()),
            status: Signal::new(BackendStatus::Unknown),
            window_start: Signal::new(0),
            window_len: Signal::new(WINDOW),
            last_mount: Signal::new(None),
            stop: Signal::new(None),
            frames: Signal::new(0),
        }
    }

    /// Load a conversation (or clear for a new chat) and position the window.
    pub async fn load(mut self, services: &Services, id: Option<Id>, focus: Option<Id>) {
        let Some(id) = id else {
            self.conversation.set(None);
            self.thread.set(Vec::new());
            self.window_start.set(0);
            self.window_len.set(WINDOW);
            return;
        };
        let conv = services.store.get_conversation(id.clone()).await;
        let thread = services.store.thread(id).await;
        match (conv, thread) {
            (Ok(c), Ok(t)) => {
                let start = match focus
                    .as_ref()
                    .and_then(|f| t.iter().position(|m| &m.message.id == f))
                {
                    Some(pos) => pos.saturating_sub(WINDOW / 2),
                    None => t.len().saturating_sub(WINDOW),
                };
                self.window_start.set(start);
                self.window_len.set(WINDOW);
                self.thread.set(t);
                self.conversation.set(Some(c));
            }
            (Err(e), _) | (_, Err(e)) => self.notice.set(Some(e.to_string())),
        }
    }

    /// Mount earlier messages: grow the window upwards while it is under MAX_MOUNTED; at the
    /// limit, `shift` (the "Show earlier" button) moves it up instead, and scrolling does nothing.
    pub fn mount_earlier(mut self, shift: bool) {
        let start = *self.window_start.peek();
        if start == 0 {
            return;
        }
        if !shift {
            let recent = self
                .last_mount
                .peek()
                .is_some_and(|t| t.elapsed() < Duration::from_millis(250));
            if recent {
                return;
            }
            self.last_mount.set(Some(rt::Instant::now()));
        }
        let len = *self.window_len.peek();
        let step = (WINDOW / 2).min(start);
        // Remember where the first mounted message is on screen; after the earlier ones are
        // added above it, `RESTORE_ANCHOR` scrolls so it is there again.
        let _ = document::eval(RECORD_ANCHOR);
        if len < MAX_MOUNTED {
            let step = step.min(MAX_MOUNTED - len);
            self.window_start.set(start - step);
            self.window_len.set(len + step);
        } else if shift {
            self.window_start.set(start - step);
        }
    }

    async fn reload_thread(mut self, services: &Services) {
        let Some(id) = self.conversation.peek().as_ref().map(|c| c.id.clone()) else {
            return;
        };
        match services.store.thread(id).await {
            Ok(t) => {
                let start = *self.window_start.peek();
                let len = *self.window_len.peek();
                if t.len() > start + len {
                    self.window_start.set(t.len() - len);
                }
                self.thread.set(t);
            }
            Err(e) => self.notice.set(Some(e.to_string())),
        }
    }

    pub fn stop(mut self) {
        if let Some(handle) = self.stop.write().take() {
            handle.stop();
        }
    }

    /// The profile a send would use: the conversation's, else the one picked for a new chat,
    /// else the default from settings, else the first.
    pub fn active_profile(&self, state: &AppState) -> Option<Profile> {
        let profiles = state.profiles.read();
        let wanted = self
            .conversation
            .read()
            .as_ref()
            .and_then(|c| c.profile_id.clone())
            .or_else(|| self.new_profile.read().clone())
            .or_else(|| state.settings.read().default_profile.clone());
        wanted
            .and_then(|id| profiles.iter().find(|p| p.id == id).cloned())
            .or_else(|| profiles.first().cloned())
    }

    pub fn active_model(&self, state: &AppState) -> Option<String> {
        self.conversation
            .read()
            .as_ref()
            .and_then(|c| c.model.clone())
            .or_else(|| self.new_model.read().clone())
            .or_else(|| self.active_profile(state).and_then(|p| p.default_model))
            .or_else(|| state.settings.read().default_model.clone())
            .or_else(|| self.models.read().first().cloned())
    }

    /// Run one engine operation in the root scope with per-frame repainting.
    fn run(mut self, services: Services, state: AppState, op: Op) {
        if *self.running.peek() {
            return;
        }
        let Some(profile) = self.active_profile(&state) else {
            self.notice
                .set(Some("Add a backend in Settings before chatting.".into()));
            return;
        };
        if profile.kind == BackendKind::OpenCode {
            self.notice.set(Some(
                "This backend is an OpenCode server: open its sessions from History.".into(),
            ));
            return;
        }
        let model = self.active_model(&state);
        let auto_title = state.settings.peek().auto_title;
        tracing::info!(action = op.name(), profile = %profile.name, "reply requested");
        self.notice.set(None);
        self.running.set(true);
        self.frames.set(0);
        let (handle, stop) = chat::stop_pair();
        self.stop.set(Some(handle));

        spawn_forever(async move {
            let result = self
                .run_inner(&services, state, &profile, model, op, stop)
                .await;
            tracing::info!(ok = result.is_ok(), "reply finished");
            self.stop.set(None);
            // The saved thread first, then drop the live copy: the other way round, the reply
            // would vanish for a frame.
            self.reload_thread(&services).await;
            self.live.set(None);
            self.running.set(false);
            state.touch_history();
            match result {
                Ok(Some(job)) if auto_title => self.name_conversation(&services, job).await,
                Ok(_) => {}
                Err(e) => self.notice.set(Some(e.to_string())),
            }
        });
    }

    #[allow(clippy::too_many_arguments)]
    async fn run_inner(
        mut self,
        services: &Services,
        mut state: AppState,
        profile: &Profile,
        model: Option<String>,
        op: Op,
        stop: StopSignal,
    ) -> Result<Option<TitleJob>, Error> {
        let key = services.resolve_key(profile).await?;
        let client = OpenAiClient::new(services.http.client(), profile, key)?;
        // A new chat becomes a conversation on its first send.
        let existing = self.conversation.peek().clone();
        let conv = match existing {
            Some(c) => c,
            None => {
                let text = match &op {
                    Op::Send(t) => t.clone(),
                    _ => String::new(),
                };
                let mut c = Conversation::new(chat::fallback_title(&text));
                c.profile_id = Some(profile.id.clone());
                c.model = model.clone();
                services.store.save_conversation(c.clone()).await?;
                // The "new chat" draft now belongs to this conversation.
                let _ = services.store.set_draft("new".into(), String::new()).await;
                self.conversation.set(Some(c.clone()));
                state.conversation.set(Some(c.id.clone()));
                c
            }
        };
        let first_exchange = self.thread.peek().is_empty();

        let buffer = Rc::new(RefCell::new(Pending::default()));
        let done = Rc::new(std::cell::Cell::new(false));
        let pump = spawn_forever(pump(self, services.clone(), buffer.clone(), done.clone()));

        let options = EngineOptions::default();
        let ctx = ReplyContext {
            store: &services.store,
            client: &client,
            options: &options,
        };
        let sink = buffer.clone();
        let mut on_update = move |u: ChatUpdate| {
            let mut b = sink.borrow_mut();
            match u {
                ChatUpdate::Started { assistant, .. } => {
                    b.live = Some(LiveReply {
                        message_id: assistant.id,
                        ..Default::default()
                    });
                    b.reload = true;
                    b.dirty = true;
                }
                ChatUpdate::Content { text, .. } => {
                    if let Some(l) = b.live.as_mut() {
                        l.text.push_str(&text);
                    }
                    b.dirty = true;
                }
                ChatUpdate::Reasoning { text, .. } => {
                    if let Some(l) = b.live.as_mut() {
                        l.reasoning.push_str(&text);
                    }
                    b.dirty = true;
                }
                ChatUpdate::Finished { .. } => {}
            }
        };
        let result = match op {
            Op::Send(text) => ctx.send(&conv.id, &text, stop, &mut on_update).await,
            Op::Regenerate(id) => ctx.regenerate(&id, stop, &mut on_update).await,
            Op::Edit(id, text) => ctx.edit_and_resend(&id, &text, stop, &mut on_update).await,
        };
        done.set(true);
        pump.cancel();
        let message = result?;
        if !first_exchange || message.status != MessageStatus::Complete {
            return Ok(None);
        }
        let user_text = self
            .thread
            .peek()
            .first()
            .map(|t| t.message.text())
            .unwrap_or_default();
        Ok(Some(TitleJob {
            client,
            conversation_id: conv.id,
            model: conv.model,
            user_text,
            reply_text: message.text(),
        }))
    }

    /// Ask the model for a title after the first exchange; the first words stay otherwise.
    async fn name_conversation(mut self, services: &Services, job: TitleJob) {
        let Some(title) =
            chat::generate_title(&job.client, job.model, &job.user_text, &job.reply_text).await
        else {
            return;
        };
        if let Ok(mut c) = services.store.get_conversation(job.conversation_id).await {
            c.title = title;
            let saved = services.store.save_conversation(c.clone()).await.is_ok();
            if saved && self.conversation.peek().as_ref().map(|x| &x.id) == Some(&c.id) {
                self.conversation.set(Some(c));
            }
        }
    }

    pub fn send(self, services: Services, state: AppState, text: String) {
        crate::crash::set_last_action("send");
        self.run(services, state, Op::Send(text));
    }

    pub fn regenerate(self, services: Services, state: AppState, assistant_id: Id) {
        crate::crash::set_last_action("regenerate");
        self.run(services, state, Op::Regenerate(assistant_id));
    }

    pub fn edit(self, services: Services, state: AppState, user_id: Id, text: String) {
        crate::crash::set_last_action("edit-and-resend");
        self.run(services, state, Op::Edit(user_id, text));
    }

    pub fn select(self, services: Services, message_id: Id) {
        let Some(conv_id) = self.conversation.peek().as_ref().map(|c| c.id.clone()) else {
            return;
        };
        spawn(async move {
            match services.store.select_branch(conv_id, message_id).await {
                Ok(()) => self.reload_thread(&services).await,
                Err(e) => {
                    let mut notice = self.notice;
                    notice.set(Some(e.to_string()))
                }
            }
        });
    }

    /// Refresh the model list and reachability for a profile.
    pub fn check_backend(mut self, services: Services, profile: Profile) {
        self.status.set(BackendStatus::Checking);
        spawn(async move {
            match crate::platform::ops::test_connection(&services, &profile).await {
                Ok((detail, models)) => {
                    self.models.set(models);
                    self.status.set(BackendStatus::Online(detail));
                }
                Err(e) => {
                    self.models.set(Vec::new());
                    self.status.set(BackendStatus::Offline(e.to_string()));
                }
            }
        });
    }
}

impl Default for ChatController {
    fn default() -> Self {
        Self::new()
    }
}

struct TitleJob {
    client: OpenAiClient,
    conversation_id: Id,
    model: Option<String>,
    user_text: String,
    reply_text: String,
}

enum Op {
    Send(String),
    Regenerate(Id),
    Edit(Id, String),
}

impl Op {
    /// For logs: the action, never the text.
    fn name(&self) -> &'static str {
        match self {
            Op::Send(_) => "send",
            Op::Regenerate(_) => "regenerate",
            Op::Edit(..) => "edit",
        }
    }
}

#[derive(Default)]
struct Pending {
    live: Option<LiveReply>,
    dirty: bool,
    reload: bool,
}

/// Copies the engine's buffer into the signals at most once per frame.
async fn pump(
    mut ctl: ChatController,
    services: Services,
    buffer: Rc<RefCell<Pending>>,
    done: Rc<std::cell::Cell<bool>>,
) {
    loop {
        rt::sleep(FRAME).await;
        let (live, reload) = {
            let mut b = buffer.borrow_mut();
            if !b.dirty {
                if done.get() {
                    return;
                }
                continue;
            }
            b.dirty = false;
            (b.live.clone(), std::mem::take(&mut b.reload))
        };
        if reload {
            ctl.reload_thread(&services).await;
        }
        ctl.live.set(live);
        *ctl.frames.write() += 1;
    }
}

pub fn use_chat() -> ChatController {
    use_context::<ChatController>()
}

#[component]
pub fn ChatView() -> Element {
    let services = use_services();
    let state = use_app_state();
    let ctl = use_chat();

    // Follow the app's open conversation.
    let services_load = services.clone();
    use_effect(move || {
        let id = state.conversation.read().clone();
        let focus = state.focus_message.read().clone();
        let current = ctl.conversation.peek().as_ref().map(|c| c.id.clone());
        if id != current || focus.is_some() {
            let services = services_load.clone();
            spawn(async move {
                ctl.load(&services, id, focus.clone()).await;
                if let Some(f) = focus {
                    let _ = document::eval(&format!(
                        "requestAnimationFrame(() => {{ const e = document.getElementById('msg-{f}'); if (e) {{ e.scrollIntoView({{block: 'center'}}); e.classList.add('flash'); }} }})"
                    ));
                }
            });
        }
    });

    // Check the backend whenever the active profile changes.
    let services_check = services.clone();
    let active_profile_id = use_memo(move || ctl.active_profile(&state).map(|p| p.id));
    use_effect(move || {
        let _ = active_profile_id.read();
        if let Some(p) = ctl.active_profile(&state) {
            ctl.check_backend(services_check.clone(), p);
        }
    });

    // After earlier messages were mounted, put what was on screen back in place.
    use_effect(move || {
        let _ = ctl.window_start.read();
        let _ = ctl.window_len.read();
        let _ = document::eval(RESTORE_ANCHOR);
    });

    let thread = ctl.thread.read();
    let live = ctl.live.read().clone();
    let busy = *ctl.running.read();
    let start = (*ctl.window_start.read()).min(thread.len());
    let end = (start + *ctl.window_len.read()).min(thread.len());
    let has_profiles = !state.profiles.read().is_empty();

    let on_regenerate = {
        let services = services.clone();
        move |id: String| ctl.regenerate(services.clone(), state, id)
    };
    let mut editing = use_signal(|| None::<(Id, String)>);
    let on_edit = {
        move |id: String| {
            if let Some(t) = ctl.thread.peek().iter().find(|t| t.message.id == id) {
                editing.set(Some((id, t.message.text())));
            }
        }
    };
    let on_select = {
        let services = services.clone();
        move |id: String| ctl.select(services.clone(), id)
    };
    let on_copy = {
        let services = services.clone();
        move |text: String| {
            let _ = services.shell.copy_to_clipboard(&text);
        }
    };

    rsx! {
        section { class: "view chat-view", "aria-label": "Chat",
            ChatHeader {}
            if let Some(n) = ctl.notice.read().clone() {
                div { class: "banner banner-error", role: "alert", "{n}" }
            }
            div { class: "thread-scroll", id: "thread",
                // Near the top, mount earlier messages (the thread is bottom-anchored, so what
                // is on screen stays put while they are added above it).
                onscroll: move |e: ScrollEvent| {
                    let room = f64::from(e.scroll_height() - e.client_height());
                    // Bottom-anchored scrolling counts from 0 at the bottom to −room at the top.
                    let to_top = room - e.scroll_top().abs();
                    if to_top < LOAD_EARLIER_PX {
                        ctl.mount_earlier(false);
                    }
                },
                div { class: "thread", role: "log", "aria-live": "polite",
                    if start > 0 {
                        button {
                            class: "btn-link load-earlier",
                            onclick: move |_| ctl.mount_earlier(true),
                            "Show {start} earlier messages"
                        }
                    }
                    if thread.is_empty() {
                        div { class: "empty",
                            h1 { "OpenCode Nexus" }
                            if has_profiles {
                                p { "Ask anything. Enter sends, Shift+Enter adds a line, Esc stops." }
                            } else {
                                p { "Add a backend (an OpenAI-compatible API or an OpenCode server) to start." }
                                button {
                                    class: "btn-primary",
                                    onclick: move |_| { let mut v = state.view; v.set(View::Settings) },
                                    "Add a backend"
                                }
                            }
                        }
                    }
                    for item in thread[start..end].iter().cloned() {
                        MessageBubble {
                            key: "{item.message.id}",
                            live_text: live.as_ref().filter(|l| l.message_id == item.message.id).map(|l| l.text.clone()),
                            live_reasoning: live.as_ref().filter(|l| l.message_id == item.message.id).map(|l| l.reasoning.clone()),
                            busy,
                            item,
                            on_regenerate: on_regenerate.clone(),
                            on_edit: on_edit,
                            on_select: on_select.clone(),
                            on_copy: on_copy.clone(),
                        }
                    }
                    if end < thread.len() {
                        button {
                            class: "btn-link load-later",
                            onclick: move |_| {
                                let mut w = ctl.window_start;
                                let s = *w.peek();
                                w.set(s + WINDOW / 2);
                            },
                            "Show later messages"
                        }
                    }
                }
            }
            Composer { editing }
        }
    }
}

#[component]
fn ChatHeader() -> Element {
    let services = use_services();
    let state = use_app_state();
    let ctl = use_chat();
    let mut show_settings = use_signal(|| false);
    let profiles = state.profiles.read().clone();
    let active = ctl.active_profile(&state);
    let model = ctl.active_model(&state).unwrap_or_default();
    let models = ctl.models.read().clone();
    let title = ctl
        .conversation
        .read()
        .as_ref()
        .map(|c| c.title.clone())
        .unwrap_or_else(|| chat::NEW_CONVERSATION_TITLE.to_owned());
    let status = ctl.status.read().clone();
    let (status_class, status_text) = match &status {
        BackendStatus::Unknown => ("dot", String::new()),
        BackendStatus::Checking => ("dot checking", "Checking…".to_owned()),
        BackendStatus::Online(d) => ("dot online", d.clone()),
        BackendStatus::Offline(e) => ("dot offline", e.clone()),
    };
    let conv = ctl.conversation.read().clone();

    let set_profile = {
        let services = services.clone();
        move |id: String| {
            let mut ctl = ctl;
            let conv = ctl.conversation.peek().clone();
            match conv {
                Some(mut c) => {
                    c.profile_id = Some(id);
                    c.model = None;
                    let services = services.clone();
                    ctl.conversation.set(Some(c.clone()));
                    spawn(async move {
                        let _ = services.store.save_conversation(c).await;
                    });
                }
                None => {
                    ctl.new_profile.set(Some(id));
                    ctl.new_model.set(None);
                }
            }
        }
    };
    let set_model = {
        let services = services.clone();
        move |m: String| {
            let mut ctl = ctl;
            let m = Some(m.trim().to_owned()).filter(|m| !m.is_empty());
            let conv = ctl.conversation.peek().clone();
            match conv {
                Some(mut c) => {
                    c.model = m;
                    ctl.conversation.set(Some(c.clone()));
                    let services = services.clone();
                    spawn(async move {
                        let _ = services.store.save_conversation(c).await;
                    });
                }
                None => ctl.new_model.set(m),
            }
        }
    };

    rsx! {
        header { class: "chat-header",
            div { class: "title-row",
                h2 { class: "conv-title", "{title}" }
                button {
                    class: "btn-small",
                    onclick: move |_| {
                        let mut ctl = ctl;
                        ctl.stop();
                        ctl.notice.set(None);
                        let mut conv = state.conversation;
                        conv.set(None);
                    },
                    "aria-label": "New chat",
                    "+ New chat"
                }
            }
            div { class: "picker-row",
                span { class: status_class, title: "{status_text}", role: "img", "aria-label": "Backend status: {status_text}" }
                label { class: "sr-only", r#for: "profile-picker", "Backend" }
                select {
                    id: "profile-picker",
                    disabled: profiles.is_empty(),
                    onchange: move |e| set_profile(e.value()),
                    for p in profiles.iter() {
                        option { value: "{p.id}", selected: active.as_ref().map(|a| a.id == p.id).unwrap_or(false), "{p.name}" }
                    }
                }
                label { class: "sr-only", r#for: "model-picker", "Model" }
                input {
                    id: "model-picker",
                    list: "model-list",
                    placeholder: "model",
                    value: "{model}",
                    onchange: move |e| set_model(e.value()),
                }
                datalist { id: "model-list",
                    for m in models.iter() { option { value: "{m}" } }
                }
                button {
                    class: "btn-small",
                    "aria-expanded": "{show_settings()}",
                    onclick: move |_| show_settings.toggle(),
                    "Options"
                }
            }
            if let BackendStatus::Offline(e) = &status {
                div { class: "banner banner-warn", role: "status", "{e}" }
            }
            if show_settings() {
                ConversationOptions { conversation: conv }
            }
        }
    }
}

/// Per-conversation system prompt and sampling.
#[component]
fn ConversationOptions(conversation: Option<Conversation>) -> Element {
    let services = use_services();
    let ctl = use_chat();
    let Some(conv) = conversation else {
        return rsx! { div { class: "conv-options", p { class: "hint", "Send a first message, then set this conversation's system prompt and temperature here." } } };
    };
    let system = conv.system_prompt.clone().unwrap_or_default();
    let temperature = conv
        .params
        .temperature
        .map(|t| format!("{t:.1}"))
        .unwrap_or_default();
    let context = conv
        .params
        .context_tokens
        .map(|t| t.to_string())
        .unwrap_or_default();
    let save = move |c: Conversation| {
        let services = services.clone();
        let mut ctl = ctl;
        ctl.conversation.set(Some(c.clone()));
        spawn(async move {
            let _ = services.store.save_conversation(c).await;
        });
    };
    let (c1, c2, c3) = (conv.clone(), conv.clone(), conv);
    let (s1, s2, s3) = (save.clone(), save.clone(), save);
    rsx! {
        div { class: "conv-options",
            label { r#for: "system-prompt", "System prompt" }
            textarea {
                id: "system-prompt",
                rows: "3",
                value: "{system}",
                onchange: move |e| { let mut c = c1.clone(); c.system_prompt = Some(e.value()).filter(|s| !s.trim().is_empty()); s1(c) },
            }
            div { class: "row",
                label { r#for: "temperature", "Temperature" }
                input {
                    id: "temperature", r#type: "number", min: "0", max: "2", step: "0.1",
                    placeholder: "default", value: "{temperature}",
                    onchange: move |e| { let mut c = c2.clone(); c.params.temperature = e.value().parse().ok(); s2(c) },
                }
                label { r#for: "context", "Context (tokens)" }
                input {
                    id: "context", r#type: "number", min: "512", step: "512",
                    placeholder: "{chat::DEFAULT_CONTEXT_TOKENS}", value: "{context}",
                    onchange: move |e| { let mut c = c3.clone(); c.params.context_tokens = e.value().parse().ok(); s3(c) },
                }
            }
        }
    }
}

/// Replace the composer's text from code (restore a draft, clear after sending, edit).
///
/// The textarea is deliberately not bound to the signal: re-applying the signal's value on each
/// render races with fast typing on desktop (the webview is a step ahead of the last `input`
/// event) and drops characters. Typing only flows DOM → signal; code sets the DOM directly.
fn set_composer_text(mut draft: Signal<String>, text: String) {
    let literal = serde_json::to_string(&text).unwrap_or_else(|_| "\"\"".into());
    draft.set(text);
    let _ = document::eval(&format!(
        "const el = document.getElementById('composer-input'); if (el) {{ el.value = {literal}; }}"
    ));
}

#[component]
fn Composer(editing: Signal<Option<(Id, String)>>) -> Element {
    let services = use_services();
    let state = use_app_state();
    let ctl = use_chat();
    let mut draft = use_signal(String::new);
    let mut draft_gen = use_signal(|| 0u64);
    let busy = *ctl.running.read();
    let has_profile = !state.profiles.read().is_empty();
    let enter_sends = state.settings.read().enter_sends;
    let draft_key = ctl
        .conversation
        .read()
        .as_ref()
        .map(|c| c.id.clone())
        .unwrap_or_else(|| "new".into());

    // Restore the draft of the conversation being shown.
    let services_restore = services.clone();
    let key_for_restore = draft_key.clone();
    use_effect(use_reactive!(|key_for_restore| {
        let services = services_restore.clone();
        spawn(async move {
            let text = services
                .store
                .get_draft(key_for_restore)
                .await
                .ok()
                .flatten()
                .unwrap_or_default();
            set_composer_text(draft, text);
        });
    }));

    let save_draft = {
        let services = services.clone();
        let key = draft_key.clone();
        move |text: String| {
            draft_gen += 1;
            let generation = *draft_gen.peek();
            let services = services.clone();
            let key = key.clone();
            spawn(async move {
                rt::sleep(Duration::from_millis(400)).await;
                if *draft_gen.peek() == generation {
                    if let Err(e) = services.store.set_draft(key, text).await {
                        tracing::warn!(error = %e, "saving the draft failed");
                    }
                }
            });
        }
    };

    let submit = {
        let services = services.clone();
        let key = draft_key.clone();
        let mut save_draft = save_draft.clone();
        move || {
            if *ctl.running.peek() {
                return;
            }
            let edit = editing.peek().clone();
            let text = draft.peek().clone();
            if text.trim().is_empty() {
                return;
            }
            match edit {
                Some((id, _)) => {
                    editing.set(None);
                    ctl.edit(services.clone(), state, id, text);
                }
                None => ctl.send(services.clone(), state, text),
            }
            set_composer_text(draft, String::new());
            save_draft(String::new());
            let _ = &key;
        }
    };

    // Editing a message puts its text in the composer.
    use_effect(move || {
        if let Some((_, text)) = editing.read().clone() {
            set_composer_text(draft, text);
        }
    });

    let len = draft.read().chars().count();
    let disabled_reason = if !has_profile {
        Some("Add a backend in Settings to start chatting.")
    } else {
        None
    };
    let mut submit_key = submit.clone();
    let mut submit_click = submit;
    let mut save_on_input = save_draft;

    rsx! {
        form {
            class: "composer",
            onsubmit: move |e| { e.prevent_default(); submit_click(); },
            if let Some((_, _)) = editing.read().as_ref() {
                div { class: "editing-note", role: "status",
                    "Editing a message: Enter resends it as a new version, Esc cancels."
                }
            }
            label { class: "sr-only", r#for: "composer-input", "Message" }
            textarea {
                id: "composer-input",
                rows: "3",
                autofocus: true,
                placeholder: disabled_reason.unwrap_or(if enter_sends { "Message (Enter to send, Shift+Enter for a new line)" } else { "Message (Ctrl+Enter to send)" }),
                disabled: disabled_reason.is_some(),
                oninput: move |e| {
                    let v = e.value();
                    draft.set(v.clone());
                    save_on_input(v);
                },
                onkeydown: move |e: KeyboardEvent| {
                    if crate::components::composer::is_send_key(&e, enter_sends) {
                        e.prevent_default();
                        submit_key();
                        return;
                    }
                    match e.key() {
                        Key::Escape => {
                            if *ctl.running.peek() {
                                ctl.stop();
                            } else if editing.peek().is_some() {
                                editing.set(None);
                                set_composer_text(draft, String::new());
                            }
                        }
                        Key::ArrowUp if draft.peek().is_empty() && !*ctl.running.peek() => {
                            let last = ctl.thread.peek().iter().rev().find(|t| t.message.role == Role::User).map(|t| (t.message.id.clone(), t.message.text()));
                            if let Some(last) = last {
                                e.prevent_default();
                                editing.set(Some(last));
                            }
                        }
                        _ => {}
                    }
                },
            }
            div { class: "composer-bar",
                if len > LONG_INPUT {
                    span { class: "char-count", "aria-live": "polite", "{len} characters" }
                }
                if busy {
                    button {
                        r#type: "button",
                        class: "btn-danger",
                        onclick: move |_| ctl.stop(),
                        "Stop"
                    }
                } else {
                    button {
                        r#type: "submit",
                        class: "btn-primary",
                        disabled: disabled_reason.is_some() || len == 0,
                        "Send"
                    }
                }
            }
        }
    }
}
