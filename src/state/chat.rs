//! The chat controller: the open conversation, its thread, the reply in flight, and the intents
//! the chat view sends (send, stop, regenerate, edit, choose a branch, change the model,
//! backend or options).
//!
//! The engine owns the conversation's lifecycle (it creates, names and finishes it); the
//! controller applies the engine's events to the signals the view renders. The controller lives in the root scope so a reply keeps streaming (and saving) while the user
//! looks at another view. Deltas from the engine land in a plain buffer; a pump repaints from it
//! at most once per frame, so a 5,000 token/s stream costs ~60 renders a second, not 5,000.
//! Only a window of the thread is mounted (bounded DOM), however long the conversation.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use dioxus::core::spawn_forever;
use dioxus::prelude::*;

use crate::engine::attachments::{self, NewAttachment};
use crate::engine::chat::{
    self, ChatUpdate, EngineOptions, Outcome, Reply, ReplyContext, StopHandle, StopSignal, Target,
};
use crate::engine::error::Error;
use crate::engine::model::*;
use crate::engine::providers::openai::OpenAiClient;
use crate::engine::rt;
use crate::platform::Services;
use crate::state::tasks::spawn_stoppable;
use crate::state::AppState;

/// The chat's message box (its textarea's id).
pub const COMPOSER_ID: &str = "composer-input";

/// How many messages are mounted when a conversation opens.
pub const WINDOW: usize = 80;
/// The most messages ever mounted: scrolling up mounts earlier ones until this many, then
/// "Show earlier messages" moves the window instead of growing it.
pub const MAX_MOUNTED: usize = 240;
/// Scrolling closer than this to the top of the thread mounts earlier messages.
const FRAME: Duration = Duration::from_millis(16);
/// Saves the first mounted message and its position on screen before the window changes.
pub const RECORD_ANCHOR: &str = "(() => { const t = document.getElementById('thread'); const m = t && t.querySelector('article.msg'); window.__nexusAnchor = m ? [m.id, m.getBoundingClientRect().top] : null; })()";
/// Scrolls the thread so the saved message is where it was (now and on the next frame, in
/// case the webview applies the change later); does nothing when the engine kept it in place.
pub const RESTORE_ANCHOR: &str = "(() => { const a = window.__nexusAnchor; if (!a) return; const fix = () => { const e = document.getElementById(a[0]); const t = document.getElementById('thread'); if (!e || !t) return; const d = e.getBoundingClientRect().top - a[1]; if (Math.abs(d) > 1) t.scrollTop += d; }; fix(); requestAnimationFrame(() => { fix(); window.__nexusAnchor = null; }); })()";

#[derive(Clone, Debug, PartialEq, Default)]
pub struct LiveReply {
    pub message_id: Id,
    pub text: String,
    pub reasoning: String,
    /// Seconds waited for the first words, once that is long enough to say so
    /// ([`WAIT_NOTE_AFTER`]); `None` before then and once the reply has begun.
    pub waited_secs: Option<u64>,
}

/// How long a reply may show nothing before its bubble says how long it has been waiting
/// (and the step in which that count goes up).
pub const WAIT_NOTE_AFTER: u64 = 10;

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
    /// A reply is in flight (one at a time, in whichever conversation it began).
    pub running: Signal<bool>,
    /// The conversation the reply in flight belongs to (`None` while a new chat's first
    /// message is being set up): Stop is offered there, not in another one opened meanwhile.
    pub running_in: Signal<Option<Id>>,
    pub notice: Signal<Option<String>>,
    /// Profile and model chosen for the next new conversation.
    pub new_profile: Signal<Option<Id>>,
    pub new_model: Signal<Option<String>>,
    /// The preset the next new conversation starts from, and the system prompt and
    /// parameters it gets (the preset's, as changed in Options before the first send).
    pub new_preset: Signal<Option<Id>>,
    pub new_system: Signal<Option<String>>,
    pub new_params: Signal<SamplingParams>,
    /// What the open conversation's replies used, over every branch.
    pub usage: Signal<UsageTotal>,
    /// Files attached to the message being written (checked when added).
    pub pending_files: Signal<Vec<NewAttachment>>,
    /// The message box holds text the user typed before the app had loaded (the store answers
    /// once its worker is up, in the browser after the first paint): what they typed stays in
    /// the box over any draft the store then returns, and the last conversation is not
    /// reopened over it. Cleared when loading ends.
    pub typed_before_load: Signal<bool>,
    pub models: Signal<Vec<String>>,
    /// What the backend's model list says about its models (context lengths).
    pub model_infos: Signal<Vec<ModelInfo>>,
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
            running_in: Signal::new(None),
            notice: Signal::new(None),
            new_profile: Signal::new(None),
            new_model: Signal::new(None),
            new_preset: Signal::new(None),
            new_system: Signal::new(None),
            new_params: Signal::new(SamplingParams::default()),
            usage: Signal::new(UsageTotal::default()),
            pending_files: Signal::new(Vec::new()),
            typed_before_load: Signal::new(false),
            models: Signal::new(Vec::new()),
            model_infos: Signal::new(Vec::new()),
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
            self.usage.set(UsageTotal::default());
            self.window_start.set(0);
            self.window_len.set(WINDOW);
            return;
        };
        // The end of the thread first (what is mounted), the rest once that is on screen; a
        // message to show may be anywhere, so then the whole thread at once.
        let thread = match &focus {
            Some(f) => match services.store.thread(id.clone()).await {
                // A message in another version of the conversation (a search hit in a branch
                // not shown): that version is chosen, as "‹ 2/2 ›" would, and read again.
                Ok(t) if !t.iter().any(|m| &m.message.id == f) => {
                    match services.store.select_branch(id.clone(), f.clone()).await {
                        Ok(()) => services.store.thread(id.clone()).await,
                        Err(e) => {
                            tracing::warn!(error = %e, "the message to show is in no branch");
                            Ok(t)
                        }
                    }
                }
                other => other,
            }
            .map(|t| (t, false)),
            None => services
                .store
                .thread_tail(id.clone(), WINDOW as u32)
                .await
                .map(|t| (t.messages, t.earlier)),
        };
        // Read after the branch is chosen (its head is the conversation's).
        let conv = services.store.get_conversation(id.clone()).await;
        // The header's token total comes after the thread, off the way to its first paint.
        let store = services.store.clone();
        let mut usage = self.usage;
        usage.set(UsageTotal::default());
        let for_id = id.clone();
        spawn_forever(async move {
            let total = store.usage_total(for_id.clone()).await.unwrap_or_default();
            // Another conversation may have been opened meanwhile.
            if self.is_open(&for_id) {
                usage.set(total);
            }
        });
        match (conv, thread) {
            (Ok(c), Ok((t, earlier))) => {
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
                if earlier {
                    self.complete_thread(services, id);
                }
            }
            (Err(e), _) | (_, Err(e)) => self.notice.set(Some(e.to_string())),
        }
    }

    /// After the end of a thread was shown: read the whole thread and put it in place without
    /// moving what is on screen (the window keeps its first message). What was saved meanwhile
    /// is in the store and so in what is read; while a message shown is not there yet (a reply
    /// just started), it is read again a little later.
    fn complete_thread(mut self, services: &Services, id: Id) {
        let services = services.clone();
        spawn_forever(async move {
            for _ in 0..20 {
                let whole = match services.store.thread(id.clone()).await {
                    Ok(t) => t,
                    Err(e) => {
                        if self.is_open(&id) {
                            self.notice.set(Some(e.to_string()));
                        }
                        return;
                    }
                };
                if !self.is_open(&id) {
                    return;
                }
                let (complete, first) = {
                    // Both are chains from the root down, so what is shown is all there when
                    // it appears in the same order in what was read.
                    let shown = self.thread.peek();
                    let mut missing = shown.iter().map(|t| &t.message.id).peekable();
                    for t in &whole {
                        if missing.peek() == Some(&&t.message.id) {
                            missing.next();
                        }
                    }
                    (
                        missing.peek().is_none(),
                        shown
                            .get(*self.window_start.peek())
                            .map(|t| t.message.id.clone()),
                    )
                };
                if complete {
                    let start = first
                        .and_then(|f| whole.iter().position(|t| t.message.id == f))
                        .unwrap_or_else(|| whole.len().saturating_sub(WINDOW));
                    self.window_start.set(start);
                    self.thread.set(whole);
                    // Scrolled to the top while only the end was there: the view's scroll
                    // handler now mounts the earlier messages.
                    let _ = document::eval(
                        "document.getElementById('thread')?.dispatchEvent(new Event('scroll'))",
                    );
                    return;
                }
                rt::sleep(Duration::from_millis(250)).await;
            }
            tracing::warn!(conversation = %id, "the whole thread could not be read beside the one shown");
        });
    }

    /// Log how long opening a conversation took: its store requests, and until the frame
    /// holding its thread was painted (the next animation frame after it). `scripts/bench_open.py`
    /// reads these lines.
    /// `messages` is how many were read for that first paint (the end of a long thread).
    pub fn report_opened(self, id: Id, started: rt::Instant) {
        let loaded_ms = started.elapsed().as_secs_f64() * 1000.0;
        let messages = self.thread.peek().len();
        let mounted = messages.min(*self.window_len.peek());
        spawn_forever(async move {
            let mut frame = document::eval(
                "requestAnimationFrame(() => requestAnimationFrame(() => dioxus.send(true)));",
            );
            let _ = frame.recv::<bool>().await;
            let painted_ms = started.elapsed().as_secs_f64() * 1000.0;
            crate::platform::vitals::report(
                "conversation opened",
                format_args!(
                    "conversation={id} messages={messages} mounted={mounted} loaded_ms={} painted_ms={}",
                    (loaded_ms * 10.0).round() / 10.0,
                    (painted_ms * 10.0).round() / 10.0,
                ),
            );
        });
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

    /// Show the open conversation as the store has it now: another device's changes a sync
    /// merged, a rename in History or the sidebar. Not while a reply streams into it (its end
    /// shows the conversation as saved).
    pub fn refresh_open(mut self, state: AppState, services: Services) {
        if *self.running.peek() {
            return;
        }
        let Some(open) = self.conversation.peek().clone() else {
            return;
        };
        spawn(async move {
            let now = match services.store.get_conversation(open.id.clone()).await {
                Ok(now) => now,
                // Deleted by a sync while on screen (a delete here closes it first).
                Err(Error::NotFound { .. })
                    if state.conversation.peek().as_deref() == Some(open.id.as_str()) =>
                {
                    let mut shown = state.conversation;
                    shown.set(None);
                    self.notice.set(Some(format!(
                        "“{}” was deleted on another device.",
                        open.title
                    )));
                    return;
                }
                Err(_) => return,
            };
            if !self.is_open(&now.id) || *self.running.peek() {
                return;
            }
            let head_moved = now.head_id != open.head_id;
            if self.conversation.peek().as_ref() != Some(&now) {
                self.conversation.set(Some(now.clone()));
            }
            if head_moved {
                self.reload_thread(&services).await;
                if let Ok(total) = services.store.usage_total(now.id).await {
                    self.usage.set(total);
                }
            }
        });
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

    /// The reply in flight belongs to the conversation on screen (subscribes to both).
    pub fn busy_here(&self) -> bool {
        *self.running.read()
            && self.running_in.read().as_deref()
                == self.conversation.read().as_ref().map(|c| c.id.as_str())
    }

    pub fn stop(mut self) {
        if let Some(handle) = self.stop.write().take() {
            handle.stop();
        }
    }

    /// The profile a send would use: the conversation's, else the one picked for a new chat
    /// (or carried over from the conversation open before it), else the default from
    /// settings, else the first.
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

    /// The backend a reply would go to, if one can start now; if not, the notice says why (no
    /// backend, or an OpenCode server chosen for a conversation kept here) and the caller
    /// leaves the message box as it is.
    fn runnable(mut self, state: &AppState) -> Option<Profile> {
        if *self.running.peek() {
            return None;
        }
        let why = match self.active_profile(state) {
            None => "Add a backend in Settings before chatting.",
            Some(p) if p.kind == BackendKind::OpenCode => {
                "This backend is an OpenCode server, which keeps its own sessions: choose another backend to go on here, or start a new chat with it."
            }
            Some(p) => return Some(p),
        };
        self.notice.set(Some(why.into()));
        None
    }

    /// Run one engine operation if one can start now (see [`Self::runnable`]); whether it did.
    fn run(self, services: Services, state: AppState, op: Op) -> bool {
        let Some(profile) = self.runnable(&state) else {
            return false;
        };
        self.start(services, state, profile, op);
        true
    }

    /// Run one engine operation in the root scope with per-frame repainting.
    fn start(mut self, services: Services, state: AppState, profile: Profile, op: Op) {
        let model = self.active_model(&state);
        let auto_title = state.settings.peek().auto_title;
        tracing::info!(action = op.name(), profile = %profile.name, "reply requested");
        self.notice.set(None);
        self.running.set(true);
        self.running_in
            .set(self.conversation.peek().as_ref().map(|c| c.id.clone()));
        self.frames.set(0);
        let (handle, stop) = chat::stop_pair();
        self.stop.set(Some(handle));

        spawn_forever(async move {
            let result = self
                .run_inner(&services, state, &profile, model, op, stop, auto_title)
                .await;
            match &result {
                Ok(outcome) => tracing::info!(?outcome, "reply finished"),
                Err(e) => tracing::warn!(error = %e, "reply not started"),
            }
            self.stop.set(None);
            self.live.set(None);
            self.running.set(false);
            self.running_in.set(None);
            state.touch_history();
            if let Err(e) = result {
                self.notice.set(Some(e.to_string()));
            }
        });
    }

    #[allow(clippy::too_many_arguments)]
    async fn run_inner(
        self,
        services: &Services,
        state: AppState,
        profile: &Profile,
        model: Option<String>,
        op: Op,
        stop: StopSignal,
        auto_title: bool,
    ) -> Result<Outcome, Error> {
        let key = services.resolve_key(profile).await?;
        let client = OpenAiClient::new(services.http.client(), profile, key)?;
        let target = match self.conversation.peek().as_ref() {
            Some(c) => Target::Existing(c.id.clone()),
            // What the composer shows is what the new conversation gets.
            None => Target::New(chat::NewChat {
                profile_id: profile.id.clone(),
                model,
                system_prompt: self.new_system.peek().clone(),
                params: self.new_params.peek().clone(),
                preset_id: self.new_preset.peek().clone(),
            }),
        };

        let buffer = Rc::new(RefCell::new(Pending::default()));
        let pump = spawn_stoppable(pump(self, state, services.clone(), buffer.clone()));

        let options = EngineOptions::default();
        let ctx = ReplyContext {
            store: &services.store,
            client: &client,
            options: &options,
        };
        let sink = buffer.clone();
        let started = Rc::new(std::cell::Cell::new(false));
        let saw_start = started.clone();
        let mut on_update = move |u: ChatUpdate| {
            if matches!(u, ChatUpdate::Started { .. }) {
                saw_start.set(true);
            }
            sink.borrow_mut().apply(u)
        };
        let result = match op {
            Op::Send(text, files) => {
                // Refused before anything was saved: the files go back to the composer.
                let kept = files.clone();
                let r = ctx
                    .send_with(target, &text, files, stop, &mut on_update)
                    .await;
                if r.is_err() && !started.get() {
                    let mut pending = self.pending_files;
                    if pending.peek().is_empty() {
                        pending.set(kept);
                    }
                }
                r
            }
            Op::Regenerate(id) => ctx.regenerate(&id, stop, &mut on_update).await,
            Op::Edit(id, text) => ctx.edit_and_resend(&id, &text, stop, &mut on_update).await,
            Op::Continue(id) => ctx.continue_reply(&id, stop, &mut on_update).await,
        };
        pump.stop();
        // Whatever the pump had not shown yet (the first events of a very short reply), then
        // the reply in its final state: the thread shows what the store holds, with no reload.
        let rest = std::mem::take(&mut *buffer.borrow_mut());
        self.apply(state, services, rest);
        let reply = result?;
        if self.is_open(&reply.conversation.id) {
            if let Some(note) = reply.note.clone() {
                let mut notice = self.notice;
                notice.set(Some(note));
            }
            let mut conversation = self.conversation;
            conversation.set(Some(reply.conversation.clone()));
            // Read back: a continued reply's tokens replace what it had.
            let mut usage = self.usage;
            if let Ok(total) = services
                .store
                .usage_total(reply.conversation.id.clone())
                .await
            {
                usage.set(total);
            }
        }
        let outcome = reply.outcome;
        if auto_title {
            // The title comes after the reply, so the composer is free while the model names
            // the conversation.
            let services = services.clone();
            spawn_forever(async move {
                self.name(state, &services, client, reply).await;
            });
        }
        Ok(outcome)
    }

    async fn name(
        mut self,
        state: AppState,
        services: &Services,
        client: OpenAiClient,
        reply: Reply,
    ) {
        let options = EngineOptions::default();
        let ctx = ReplyContext {
            store: &services.store,
            client: &client,
            options: &options,
        };
        if let Some(c) = ctx.name(&reply).await {
            if self.is_open(&c.id) {
                self.conversation.set(Some(c));
            }
            state.touch_history();
        }
    }

    fn is_open(&self, id: &str) -> bool {
        self.conversation.peek().as_ref().map(|c| c.id.as_str()) == Some(id)
    }

    /// Apply what the engine reported since the last frame.
    fn apply(mut self, mut state: AppState, services: &Services, pending: Pending) {
        if let Some((conversation, user, assistant)) = pending.started {
            if let Some(c) = conversation {
                self.running_in.set(Some(c.id.clone()));
                state.conversation.set(Some(c.id.clone()));
                self.conversation.set(Some(*c));
                // A new conversation is listed (the sidebar, History) as it starts, not when
                // its first reply has finished.
                state.touch_history();
            }
            let mut thread = self.thread.write();
            let mut attached = true;
            if let Some(u) = &user {
                attached &= chat::attach_to_thread(&mut thread, u);
            }
            attached &= chat::attach_to_thread(&mut thread, &assistant);
            if !attached {
                tracing::warn!("the reply's parent is not in the thread shown; reading it again");
                drop(thread);
                self.reload_soon(services);
            } else {
                let len = thread.len();
                drop(thread);
                self.follow_end(len);
            }
        }
        if pending.dirty {
            self.live.set(pending.live);
            *self.frames.write() += 1;
        }
        if let Some(message) = pending.finished {
            let mut thread = self.thread.write();
            if !chat::update_in_thread(&mut thread, &message) {
                drop(thread);
                self.reload_soon(services);
            }
        }
    }

    /// Keep the newest message mounted when the thread grows at the end.
    fn follow_end(mut self, len: usize) {
        let start = *self.window_start.peek();
        let window = *self.window_len.peek();
        if len > start + window {
            self.window_start.set(len - window);
        }
    }

    fn reload_soon(self, services: &Services) {
        let services = services.clone();
        spawn_forever(async move { self.reload_thread(&services).await });
    }

    // ---- conversation settings: narrow engine edits that never move the head ----------------

    /// Save one edit of the open conversation (or, for a chat not yet started, remember it for
    /// the first send). The store's copy comes back and replaces the view's.
    fn edit_open(mut self, state: AppState, services: Services, edit: ConversationEdit) {
        if let Err(e) = edit.validate() {
            state.toast_error(e);
            return;
        }
        let Some(id) = self.conversation.peek().as_ref().map(|c| c.id.clone()) else {
            match edit {
                ConversationEdit::SystemPrompt(p) => self.new_system.set(p),
                ConversationEdit::Params(p) => self.new_params.set(p),
                _ => {}
            }
            return;
        };
        spawn(async move {
            match services.store.update_conversation(id, vec![edit]).await {
                Ok(c) => {
                    if self.is_open(&c.id) {
                        self.conversation.set(Some(c));
                    }
                    state.touch_history();
                }
                Err(e) => state.toast_error(e),
            }
        });
    }

    pub fn set_backend(mut self, state: AppState, services: Services, profile_id: Id) {
        if self.conversation.peek().is_none() {
            self.new_profile.set(Some(profile_id));
            self.new_model.set(None);
            return;
        }
        self.edit_open(
            state,
            services,
            ConversationEdit::Backend {
                profile_id: Some(profile_id),
                model: None,
            },
        );
    }

    pub fn set_model(mut self, state: AppState, services: Services, model: String) {
        let model = Some(model.trim().to_owned()).filter(|m| !m.is_empty());
        if self.conversation.peek().is_none() {
            self.new_model.set(model);
            return;
        }
        self.edit_open(state, services, ConversationEdit::Model(model));
    }

    pub fn set_system_prompt(self, state: AppState, services: Services, prompt: String) {
        let prompt = Some(prompt).filter(|s| !s.trim().is_empty());
        self.edit_open(state, services, ConversationEdit::SystemPrompt(prompt));
    }

    pub fn set_params(self, state: AppState, services: Services, params: SamplingParams) {
        self.edit_open(state, services, ConversationEdit::Params(params));
    }

    /// Start a new chat (the conversation is created by the first send), from the default
    /// preset when there is one, with the message box focused: what is typed next goes into it
    /// (after a click on "+ New chat" or Ctrl/Cmd+N alike).
    pub fn new_chat(mut self, mut state: AppState) {
        self.stop();
        self.notice.set(None);
        // Without a default backend in Settings, a new chat carries on with the backend and
        // model of the conversation that was open (a preset that names its own still wins).
        if state.settings.peek().default_profile.is_none() {
            if let Some(c) = self.conversation.peek().as_ref() {
                if c.profile_id.is_some() {
                    self.new_profile.set(c.profile_id.clone());
                    self.new_model.set(c.model.clone());
                }
            }
        }
        let default = state.presets.peek().iter().find(|p| p.is_default).cloned();
        self.choose_preset(default.as_ref());
        state.conversation.set(None);
        state.view.set(crate::state::View::Chat);
        crate::state::focus_when_shown(COMPOSER_ID, false);
    }

    /// Start the next new chat from this preset (or from none): its prompt and parameters,
    /// and its backend and model when it names them.
    pub fn choose_preset(mut self, preset: Option<&Preset>) {
        match preset {
            Some(p) => {
                self.new_preset.set(Some(p.id.clone()));
                self.new_system.set(p.system_prompt.clone());
                self.new_params.set(p.params.clone());
                if p.profile_id.is_some() {
                    self.new_profile.set(p.profile_id.clone());
                }
                if p.model.is_some() || p.profile_id.is_some() {
                    self.new_model.set(p.model.clone());
                }
            }
            None => {
                self.new_preset.set(None);
                self.new_system.set(None);
                self.new_params.set(SamplingParams::default());
            }
        }
    }

    /// Send the composer's text with the files attached to it. False when it cannot go now
    /// (the notice says why): the text and files stay where they are.
    pub fn send(mut self, services: Services, state: AppState, text: String) -> bool {
        crate::crash::set_last_action("send");
        let Some(profile) = self.runnable(&state) else {
            return false;
        };
        let files = std::mem::take(&mut *self.pending_files.write());
        self.start(services, state, profile, Op::Send(text, files));
        true
    }

    /// Attach files to the message being written (from the picker, a drop or a paste). Each
    /// is checked (type, size, how many); one that is refused gets a toast and the others stay.
    pub fn attach(mut self, state: AppState, files: Vec<(String, Vec<u8>)>) {
        for (name, data) in files {
            let count = self.pending_files.peek().len() + 1;
            let checked =
                attachments::check_count(count).and_then(|()| attachments::prepare(&name, data));
            match checked {
                Ok(f) => self.pending_files.write().push(f),
                Err(e) => state.toast_error(e),
            }
        }
    }

    /// Attach what a paste held that the page could not read itself: files or an image on the
    /// system clipboard (see [`crate::platform::Shell::pasted_files`]). `only_files` is a
    /// paste that carried nothing else, so finding nothing is said.
    pub fn attach_pasted(self, services: Services, state: AppState, only_files: bool) {
        spawn_forever(async move {
            match services.shell.pasted_files().await {
                Ok(files) if files.is_empty() && only_files => state.show_toast(
                    "The clipboard holds no image or file that can be attached.".into(),
                ),
                Ok(files) => self.attach(state, files),
                Err(e) => state.toast_error(e),
            }
        });
    }

    pub fn detach(mut self, index: usize) {
        let mut files = self.pending_files.write();
        if index < files.len() {
            files.remove(index);
        }
    }

    pub fn regenerate(self, services: Services, state: AppState, assistant_id: Id) {
        crate::crash::set_last_action("regenerate");
        self.run(services, state, Op::Regenerate(assistant_id));
    }

    /// Resend an edited message; false (the edit stays in the box) as for [`Self::send`].
    pub fn edit(self, services: Services, state: AppState, user_id: Id, text: String) -> bool {
        crate::crash::set_last_action("edit-and-resend");
        self.run(services, state, Op::Edit(user_id, text))
    }

    /// Carry on the last reply where the server cut it at the token limit.
    pub fn continue_reply(self, services: Services, state: AppState, assistant_id: Id) {
        crate::crash::set_last_action("continue");
        self.run(services, state, Op::Continue(assistant_id));
    }

    /// Delete a message and what follows from it on its branch; the thread shows the branch
    /// the store chose then (an alternative, or the branch up to the parent).
    pub fn delete_message(self, services: Services, state: AppState, message_id: Id) {
        if *self.running.peek() {
            state.show_toast("Wait for the reply to finish (or stop it) before deleting.".into());
            return;
        }
        spawn_forever(async move {
            match services.store.delete_message(message_id).await {
                Ok(c) => {
                    if self.is_open(&c.id) {
                        let mut conversation = self.conversation;
                        conversation.set(Some(c.clone()));
                        let mut usage = self.usage;
                        usage.set(services.store.usage_total(c.id).await.unwrap_or_default());
                        self.reload_thread(&services).await;
                    }
                    state.touch_history();
                }
                Err(e) => state.toast_error(e),
            }
        });
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

    /// The context window the backend's list gives for a model.
    pub fn context_length(&self, model: &str) -> Option<u32> {
        self.model_infos
            .read()
            .iter()
            .find(|m| m.id == model)
            .and_then(|m| m.context_length)
    }

    /// Refresh the model list and reachability for a profile. The list as last fetched shows
    /// at once; a backend that cannot be reached keeps it.
    pub fn check_backend(mut self, state: AppState, services: Services, profile: Profile) {
        self.status.set(BackendStatus::Checking);
        spawn_forever(async move {
            let cached = services
                .store
                .model_list(profile.id.clone())
                .await
                .ok()
                .flatten();
            if let Some(list) = &cached {
                self.set_model_list(&list.models);
            }
            match crate::platform::ops::test_connection(&services, &profile).await {
                Ok(reached) => {
                    match services.store.model_list(profile.id.clone()).await {
                        Ok(Some(list)) => self.set_model_list(&list.models),
                        _ => self.models.set(reached.models),
                    }
                    self.status.set(BackendStatus::Online(reached.detail));
                    if reached.moved_to.is_some() {
                        state.reload_profiles(&services).await;
                    }
                }
                Err(e) => {
                    if cached.is_none() {
                        self.models.set(Vec::new());
                    }
                    self.status.set(BackendStatus::Offline(e.to_string()));
                }
            }
        });
    }

    fn set_model_list(mut self, infos: &[ModelInfo]) {
        self.models
            .set(infos.iter().map(|m| m.id.clone()).collect());
        self.model_infos.set(infos.to_vec());
    }
}

impl Default for ChatController {
    fn default() -> Self {
        Self::new()
    }
}

enum Op {
    Send(String, Vec<NewAttachment>),
    Regenerate(Id),
    Edit(Id, String),
    Continue(Id),
}

impl Op {
    /// For logs: the action, never the text.
    fn name(&self) -> &'static str {
        match self {
            Op::Send(..) => "send",
            Op::Regenerate(_) => "regenerate",
            Op::Edit(..) => "edit",
            Op::Continue(_) => "continue",
        }
    }
}

/// A reply's first records: the conversation (if the send created it), the user message (new
/// or edited), the assistant message.
type Started = (
    Option<Box<Conversation>>,
    Option<Box<Message>>,
    Box<Message>,
);

/// What the engine reported since the last frame, collected outside the signals.
#[derive(Default)]
struct Pending {
    started: Option<Started>,
    live: Option<LiveReply>,
    dirty: bool,
    finished: Option<Box<Message>>,
}

impl Pending {
    fn apply(&mut self, u: ChatUpdate) {
        match u {
            ChatUpdate::Started {
                conversation,
                user,
                assistant,
            } => {
                // A continued reply starts from the text it has.
                self.live = Some(LiveReply {
                    message_id: assistant.id.clone(),
                    text: assistant.text(),
                    reasoning: assistant.reasoning(),
                    waited_secs: None,
                });
                self.started = Some((conversation, user, assistant));
                self.dirty = true;
            }
            ChatUpdate::Content { text, .. } => {
                if let Some(l) = self.live.as_mut() {
                    l.text.push_str(&text);
                }
                self.dirty = true;
            }
            ChatUpdate::Reasoning { text, .. } => {
                if let Some(l) = self.live.as_mut() {
                    l.reasoning.push_str(&text);
                }
                self.dirty = true;
            }
            ChatUpdate::Finished { message, .. } => self.finished = Some(message),
        }
    }
}

/// Applies the engine's events to the signals at most once per frame.
/// Runs until the send stops it ([`crate::state::tasks::Stopper`]; never `Task::cancel`, which
/// hangs Dioxus 0.7 when the pump's timer has just fired).
async fn pump(
    ctl: ChatController,
    state: AppState,
    services: Services,
    buffer: Rc<RefCell<Pending>>,
) {
    let since = now_ms();
    loop {
        rt::sleep(FRAME).await;
        let pending = {
            let mut b = buffer.borrow_mut();
            note_wait(&mut b, (now_ms() - since).max(0) as u64 / 1000);
            if !b.dirty && b.started.is_none() {
                continue;
            }
            Pending {
                started: b.started.take(),
                live: b.live.clone(),
                dirty: std::mem::take(&mut b.dirty),
                // The final message is applied by the send itself, after the last delta.
                finished: None,
            }
        };
        ctl.apply(state, &services, pending);
    }
}

/// While a reply has shown nothing, its bubble says for how long, in steps of
/// [`WAIT_NOTE_AFTER`] seconds (the thread is a live region: a screen reader reads each
/// change): a server that is loading a model, or stuck, otherwise looks the same as one about
/// to answer until the request's timeout.
fn note_wait(pending: &mut Pending, secs: u64) {
    let Some(live) = pending.live.as_mut() else {
        return;
    };
    let waiting = live.text.is_empty() && live.reasoning.is_empty();
    let step = secs / WAIT_NOTE_AFTER * WAIT_NOTE_AFTER;
    let note = (waiting && step > 0).then_some(step);
    if live.waited_secs != note {
        live.waited_secs = note;
        pending.dirty = true;
    }
}

pub fn use_chat() -> ChatController {
    use_context::<ChatController>()
}
