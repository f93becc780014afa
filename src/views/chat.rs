//! The chat view: header (title, backend, model, options), the thread window and the composer.
//! It renders [`crate::state::chat::ChatController`]'s signals and sends it intents; the controller and the engine
//! do the rest.

use std::time::Duration;

use dioxus::prelude::*;

use crate::components::composer::ComposerBox;
use crate::components::params::ParamsEdit;
use crate::components::MessageBubble;
use crate::engine::chat;
use crate::engine::model::*;
use crate::engine::rt;
use crate::state::chat::{use_chat, BackendStatus, COMPOSER_ID, RESTORE_ANCHOR, WINDOW};
use crate::state::{use_app_state, use_services};

/// Scrolling closer than this to the top of the thread mounts earlier messages.
const LOAD_EARLIER_PX: f64 = 600.0;

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
                let started = crate::engine::rt::Instant::now();
                ctl.load(&services, id.clone(), focus.clone()).await;
                if let Some(id) = id {
                    ctl.report_opened(id, started);
                }
                if let Some(f) = focus {
                    let _ = document::eval(&format!(
                        "requestAnimationFrame(() => {{ const e = document.getElementById('msg-{f}'); if (e) {{ e.scrollIntoView({{block: 'center'}}); e.classList.add('flash'); }} }})"
                    ));
                }
            });
        }
    });

    // A change to the history made elsewhere (a sync, History, the sidebar) shows in the open
    // conversation too: when it happens, and when the chat is shown again.
    let services_open = services.clone();
    use_effect(move || {
        let _ = state.history_rev.read();
        ctl.refresh_open(state, services_open.clone());
    });

    // Check the backend whenever the active profile changes.
    let services_check = services.clone();
    // Keyed by what the check depends on: fixing a profile's URL or key checks again, so an
    // old "could not reach" does not stay after the fix.
    let active_profile_id = use_memo(move || {
        ctl.active_profile(&state)
            .map(|p| (p.id, p.base_url, p.updated_at))
    });
    use_effect(move || {
        let _ = active_profile_id.read();
        if let Some(p) = ctl.active_profile(&state) {
            ctl.check_backend(state, services_check.clone(), p);
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
    // The keys named are the ones that work here (none on a touch screen).
    let ask_hint = if *state.touch.read() {
        "Ask anything."
    } else if state.enter_sends() {
        "Ask anything. Enter sends, Shift+Enter adds a line, Esc stops."
    } else {
        "Ask anything. Ctrl/Cmd+Enter sends, Esc stops."
    };

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
    let on_delete = {
        let services = services.clone();
        move |id: String| ctl.delete_message(services.clone(), state, id)
    };
    let on_continue = {
        let services = services.clone();
        move |id: String| ctl.continue_reply(services.clone(), state, id)
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
                            if !*state.loaded.read() {
                                // Type away meanwhile: the message box works already.
                                p { "Opening your history…" }
                            } else if has_profiles {
                                p { "{ask_hint}" }
                            } else {
                                p { "Add a backend (an OpenAI-compatible API or an OpenCode server) to start." }
                                button {
                                    class: "btn-primary",
                                    onclick: move |_| state.open_add_backend(),
                                    "Add a backend"
                                }
                            }
                        }
                    }
                    for item in thread[start..end].iter().cloned() {
                        MessageBubble {
                            key: "{item.message.id}",
                            is_last: thread.last().is_some_and(|t| t.message.id == item.message.id),
                            live_text: live.as_ref().filter(|l| l.message_id == item.message.id).map(|l| l.text.clone()),
                            live_reasoning: live.as_ref().filter(|l| l.message_id == item.message.id).map(|l| l.reasoning.clone()),
                            live_waited: live.as_ref().filter(|l| l.message_id == item.message.id).and_then(|l| l.waited_secs),
                            busy,
                            item,
                            on_regenerate: on_regenerate.clone(),
                            on_edit: on_edit,
                            on_select: on_select.clone(),
                            on_delete: on_delete.clone(),
                            on_continue: on_continue.clone(),
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
    // Known only once the history is open (the first frame, before that, shows the pickers).
    let no_backend = *state.loaded.read() && profiles.is_empty();
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
    let mut typing_model = use_signal(|| false);
    let presets = state.presets.read().clone();
    let preset = ctl.new_preset.read().clone();
    let total = ctl.usage.read().clone();
    let usage_text = usage_summary(total.input, total.output, total.cost, total.estimated);
    // The context meter: the newest reply's prompt and answer against the model's window
    // (the conversation's own setting, else what the server lists for the model).
    let meter = {
        let thread = ctl.thread.read();
        let last = thread.iter().rev().find_map(|t| t.message.usage.clone());
        let window = conv
            .as_ref()
            .and_then(|c| c.params.context_tokens)
            .or_else(|| ctl.context_length(&model));
        match (last, window) {
            (Some(u), Some(of)) if of > 0 => {
                let used = u.prompt_tokens + u.completion_tokens;
                Some((used, of, (used * 100 / u64::from(of)).min(999)))
            }
            _ => None,
        }
    };

    let set_profile = {
        let services = services.clone();
        move |id: String| ctl.set_backend(state, services.clone(), id)
    };
    let set_model = {
        let services = services.clone();
        move |m: String| ctl.set_model(state, services.clone(), m)
    };

    rsx! {
        header { class: "chat-header",
            div { class: "title-row",
                h2 { class: "conv-title", "{title}" }
                button {
                    class: "btn-small",
                    onclick: move |_| ctl.new_chat(state),
                    "aria-label": "New chat",
                    "+ New chat"
                }
            }
            div { class: "picker-row",
                if no_backend {
                    // Nothing to pick yet: the empty chat below offers "Add a backend".
                    span { class: "hint no-backend", "No backend yet" }
                } else {
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
                    if models.is_empty() || typing_model() {
                        // Free entry: servers that list nothing, or a model the list does not have.
                        input {
                            id: "model-picker",
                            placeholder: "model",
                            value: "{model}",
                            onchange: {
                                let set_model = set_model.clone();
                                move |e: FormEvent| { typing_model.set(false); set_model(e.value()) }
                            },
                        }
                    } else {
                        select {
                            id: "model-picker",
                            onchange: {
                                let set_model = set_model.clone();
                                move |e: FormEvent| {
                                    let v = e.value();
                                    if v == OTHER_MODEL { typing_model.set(true) } else { set_model(v) }
                                }
                            },
                            if !model.is_empty() && !models.contains(&model) {
                                option { value: "{model}", selected: true, "{model}" }
                            }
                            for m in models.iter() {
                                option { value: "{m}", selected: *m == model, "{m}" }
                            }
                            option { value: OTHER_MODEL, "Other…" }
                        }
                    }
                    button {
                        class: "btn-small icon-button",
                        r#type: "button",
                        "aria-label": "Refresh the model list",
                        disabled: active.is_none(),
                        onclick: {
                            let services = services.clone();
                            let active = active.clone();
                            move |_| if let Some(p) = active.clone() { ctl.check_backend(state, services.clone(), p) }
                        },
                        "↻"
                    }
                }
                if conv.is_none() && !presets.is_empty() {
                    label { class: "sr-only", r#for: "preset-picker", "Preset" }
                    select {
                        id: "preset-picker",
                        onchange: move |e| {
                            let id = e.value();
                            let chosen = state.presets.peek().iter().find(|p| p.id == id).cloned();
                            ctl.choose_preset(chosen.as_ref());
                        },
                        option { value: "", selected: preset.is_none(), "No preset" }
                        for p in presets.iter() {
                            option { value: "{p.id}", selected: preset.as_deref() == Some(p.id.as_str()), "{p.name}" }
                        }
                    }
                }
                button {
                    class: "btn-small",
                    "aria-expanded": "{show_settings()}",
                    onclick: move |_| show_settings.toggle(),
                    "Options"
                }
            }
            if !usage_text.is_empty() || meter.is_some() {
                div { class: "usage-row", role: "status",
                    if !usage_text.is_empty() {
                        span { class: "usage-total", title: "Tokens and cost of every reply in this conversation", "{usage_text}" }
                    }
                    if let Some((used, of, percent)) = meter {
                        span { class: "context-meter", title: "The last reply's tokens against the model's context window",
                            meter { min: "0", max: "{of}", value: "{used}", "aria-label": "Context used" }
                            span { class: "mono", "{percent}% of {group_digits(u64::from(of))}" }
                        }
                    }
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

/// The system prompt and sampling parameters of the open conversation, or of the chat about
/// to start (kept for its first send); each field labelled with its range.
#[component]
fn ConversationOptions(conversation: Option<Conversation>) -> Element {
    let services = use_services();
    let state = use_app_state();
    let ctl = use_chat();
    let key = conversation
        .as_ref()
        .map_or("new", |c| c.id.as_str())
        .to_string();
    let (system, params) = match &conversation {
        Some(c) => (
            c.system_prompt.clone().unwrap_or_default(),
            c.params.clone(),
        ),
        None => (
            ctl.new_system.read().clone().unwrap_or_default(),
            ctl.new_params.read().clone(),
        ),
    };
    let services_prompt = services.clone();
    rsx! {
        div { class: "conv-options",
            label { r#for: "system-prompt", "System prompt" }
            textarea {
                id: "system-prompt",
                rows: "3",
                value: "{system}",
                onchange: move |e| ctl.set_system_prompt(state, services_prompt.clone(), e.value()),
            }
            // Keyed by the conversation: a refused text belongs to the one it was typed for.
            for key in std::iter::once(key) {
                crate::components::params::ParamFields {
                    key: "{key}",
                    id_prefix: "",
                    params: params.clone(),
                    on_change: {
                        let params = params.clone();
                        let services = services.clone();
                        move |edit: ParamsEdit| {
                            // The accepted values apply at once; a refused one stays in its field.
                            if edit.params != params {
                                ctl.set_params(state, services.clone(), edit.params);
                            }
                        }
                    },
                }
            }
            p { class: "hint", "Empty fields use the server's defaults and are not sent." }
        }
    }
}

/// The model list's last entry: type a model by hand.
const OTHER_MODEL: &str = "\u{1}other";

/// Under the message box of a conversation while a reply is being written in another one.
pub const BUSY_ELSEWHERE: &str =
    "A reply is being written in another conversation: send this once it has finished, or go back there to stop it.";

fn set_composer_text(draft: Signal<String>, text: String) {
    crate::components::composer::set_composer_text(COMPOSER_ID, draft, text);
}

/// The chat's message box: drafts saved per conversation, Esc stops a reply or cancels an
/// edit, ↑ in an empty box edits the last message.
#[component]
fn Composer(editing: Signal<Option<(Id, String)>>) -> Element {
    let services = use_services();
    let state = use_app_state();
    let ctl = use_chat();
    let hub = crate::state::opencode::use_hub();
    let draft = use_signal(String::new);
    // Not a signal: the save runs in the root scope and must not touch this component's state
    // (it finishes after the chat view closes, so a draft typed just before leaving is kept).
    let draft_gen = use_hook(|| std::rc::Rc::new(std::cell::Cell::new(0u64)));
    // A reply in flight elsewhere (begun in another conversation) has its Stop there; here
    // Send waits for it, and says so.
    let busy = ctl.busy_here();
    let busy_elsewhere = *ctl.running.read() && !busy;
    let has_profile = !state.profiles.read().is_empty();
    // Until the app has loaded (settings, backends, the last conversation) the box takes text
    // at once; a message sent then waits for the load and goes when it ends.
    let loaded = *state.loaded.read();
    let mut queued = use_signal(|| false);
    // A saved draft of a new chat found when the store answered while a message typed during
    // the load waits to be sent: it stays the new chat's draft after that message has gone
    // (the box then belongs to the conversation the message started).
    let mut held_draft = use_signal(|| None::<String>);
    let enter_sends = state.enter_sends();
    let draft_key = ctl
        .conversation
        .read()
        .as_ref()
        .map(|c| c.id.clone())
        .unwrap_or_else(|| "new".into());

    // Restore the draft of the conversation being shown.
    let services_restore = services.clone();
    let key_for_restore = draft_key.clone();
    let gen_restore = draft_gen.clone();
    use_effect(use_reactive!(|key_for_restore| {
        let services = services_restore.clone();
        let draft_gen = gen_restore.clone();
        spawn(async move {
            match services.store.get_draft(key_for_restore.clone()).await {
                // What was typed while the app loaded stays; a different saved draft is kept
                // too (after it in the box, or, when what was typed waits to be sent, saved
                // again as the draft once it has gone), so neither is lost.
                Ok(text) if *ctl.typed_before_load.peek() => {
                    let saved = text.unwrap_or_default();
                    let typed = draft.peek().clone();
                    let distinct = !saved.trim().is_empty() && !typed.starts_with(&saved);
                    if distinct && *queued.peek() {
                        held_draft.set(Some(saved));
                    } else if distinct {
                        let both = format!("{saved}\n\n{typed}");
                        set_composer_text(draft, both.clone());
                        // A save of the typed text alone, still waiting, is superseded.
                        draft_gen.set(draft_gen.get() + 1);
                        if let Err(e) = services.store.set_draft(key_for_restore, both).await {
                            state.toast_error(e);
                        }
                    }
                }
                Ok(text) => set_composer_text(draft, text.unwrap_or_default()),
                Err(e) => state.toast_error(e),
            }
        });
    }));

    let save_draft = {
        let services = services.clone();
        let key = draft_key.clone();
        let draft_gen = draft_gen.clone();
        move |text: String| {
            let generation = draft_gen.get() + 1;
            draft_gen.set(generation);
            let draft_gen = draft_gen.clone();
            let services = services.clone();
            let key = key.clone();
            dioxus::core::spawn_forever(async move {
                rt::sleep(Duration::from_millis(400)).await;
                if draft_gen.get() == generation {
                    if let Err(e) = services.store.set_draft(key, text).await {
                        state.toast_error(e);
                    }
                }
            });
        }
    };

    let submit = {
        let services = services.clone();
        let save_draft = save_draft.clone();
        let draft_gen = draft_gen.clone();
        move |_: ()| {
            if *ctl.running.peek() {
                return;
            }
            let edit = editing.peek().clone();
            let text = draft.peek().clone();
            if text.trim().is_empty()
                && (ctl.pending_files.peek().is_empty() || editing.peek().is_some())
            {
                return;
            }
            if !*state.loaded.peek() {
                queued.set(true);
                return;
            }
            // A new chat with an OpenCode server chosen starts a session there with this
            // prompt; the box keeps the text until the session exists.
            let opencode = ctl
                .active_profile(&state)
                .filter(|p| p.kind == BackendKind::OpenCode && ctl.conversation.peek().is_none());
            if let (Some(p), None) = (opencode, &edit) {
                if !ctl.pending_files.peek().is_empty() {
                    state.show_toast("Files are not sent to OpenCode servers from here: remove them to start the session, or choose another backend.".into());
                } else if !*hub.sending.peek() {
                    // A save of the text still waiting would bring it back as the new chat's
                    // draft once the session has emptied it.
                    draft_gen.set(draft_gen.get() + 1);
                    hub.start_session(state, &p.id, text, ctl.active_model(&state));
                }
                return;
            }
            let sent = match edit {
                Some((id, _)) => {
                    let sent = ctl.edit(services.clone(), state, id, text);
                    if sent {
                        editing.set(None);
                    }
                    sent
                }
                None => ctl.send(services.clone(), state, text),
            };
            if sent {
                set_composer_text(draft, String::new());
                save_draft(String::new());
            }
        }
    };

    // Editing a message puts its text in the composer and the focus there (after a click on
    // "Edit" it would stay on that button, and what is typed would go nowhere).
    use_effect(move || {
        if let Some((_, text)) = editing.read().clone() {
            set_composer_text(draft, text);
            crate::state::focus_when_shown(COMPOSER_ID, false);
        }
    });

    // A message sent while the app loaded goes now, with a backend to send it to; without one
    // it stays in the box (which says to add one), after the saved draft if there was one.
    let mut send_queued = submit.clone();
    let save_held = save_draft.clone();
    use_effect(move || {
        if *state.loaded.read() && *queued.peek() {
            queued.set(false);
            let held = held_draft.take();
            if !state.profiles.peek().is_empty() {
                send_queued(());
                if let Some(saved) = held {
                    save_held(saved);
                }
            } else if let Some(saved) = held {
                let both = format!("{saved}\n\n{}", draft.peek());
                set_composer_text(draft, both.clone());
                save_held(both);
            }
        }
    });

    let disabled_reason =
        (loaded && !has_profile).then(|| "Add a backend in Settings to start chatting.".to_owned());
    let save_on_input = move |text: String| {
        if !*state.loaded.peek() {
            // Text in the box, not a keystroke: typed and erased again, nothing is kept.
            let mut typed = ctl.typed_before_load;
            typed.set(!text.trim().is_empty());
        }
        save_draft(text);
    };
    let mut cancel_edit = move || {
        editing.set(None);
        set_composer_text(draft, String::new());
        crate::state::focus_when_shown(COMPOSER_ID, false);
    };
    let note = if editing.read().is_some() {
        Some("Editing a message: Enter resends it as a new version, Esc cancels.".to_owned())
    } else if *queued.read() {
        Some("Your message is sent as soon as the app has loaded your history.".to_owned())
    } else if busy_elsewhere {
        Some(BUSY_ELSEWHERE.to_owned())
    } else {
        None
    };

    // Files pasted into the message box arrive from the page as ("file", name, base64); a
    // paste the page cannot read as ("host", "only" or "", "") for the host to read.
    use_hook(move || {
        spawn(async move {
            let mut pasted = document::eval(PASTE_FILES);
            while let Ok((kind, name, b64)) = pasted.recv::<(String, String, String)>().await {
                if kind == "host" {
                    ctl.attach_pasted(services.clone(), state, name == "only");
                    continue;
                }
                match base64_decode(&b64) {
                    Some(data) => ctl.attach(state, vec![(name, data)]),
                    None => {
                        state.show_toast(format!("{name} could not be read; it was not attached."))
                    }
                }
            }
        });
    });
    let pending = ctl.pending_files.read().clone();
    let has_files = !pending.is_empty();
    let read_files = move |files: Vec<dioxus::html::FileData>| {
        spawn(async move {
            let mut read = Vec::new();
            for f in files {
                match f.read_bytes().await {
                    Ok(bytes) => read.push((f.name(), bytes.to_vec())),
                    Err(e) => state.show_toast(format!(
                        "{} could not be read ({e}); it was not attached.",
                        f.name()
                    )),
                }
            }
            ctl.attach(state, read);
        });
    };
    let tray = rsx! {
        if has_files {
            ul { class: "attach-tray", "aria-label": "Attached files",
                for (i, f) in pending.iter().enumerate() {
                    li { key: "{i}-{f.name}", class: "attach-chip",
                        if f.is_image() {
                            img { class: "thumb", src: "{crate::engine::attachments::data_url(&f.mime, &f.data)}", alt: "{f.name}" }
                        } else {
                            span { class: "file-icon", crate::components::icons::Icon { path: crate::components::icons::FILE, size: 16 } }
                        }
                        span { class: "attach-name", "{f.name}" }
                        span { class: "hint", "{crate::engine::portability::human_bytes(f.data.len() as u64)}" }
                        button { class: "btn-icon", r#type: "button", "aria-label": "Remove {f.name}",
                            onclick: move |_| ctl.detach(i), "×" }
                    }
                }
            }
        }
    };

    rsx! {
        ComposerBox {
            input_id: COMPOSER_ID,
            draft,
            enter_sends,
            touch: *state.touch.read(),
            busy,
            send_disabled: busy_elsewhere,
            disabled_reason: disabled_reason.clone(),
            autofocus: true,
            note,
            tray,
            has_files,
            on_drop_files: read_files,
            on_submit: submit,
            on_stop: move |_| ctl.stop(),
            on_input: move |v: String| save_on_input(v),
            on_cancel_note: editing.read().is_some().then_some(EventHandler::new(move |_| cancel_edit())),
            on_other_key: move |e: KeyboardEvent| match e.key() {
                Key::Escape if editing.peek().is_some() => cancel_edit(),
                Key::ArrowUp if draft.peek().is_empty() && !*ctl.running.peek() => {
                    let last = ctl
                        .thread
                        .peek()
                        .iter()
                        .rev()
                        .find(|t| t.message.role == Role::User)
                        .map(|t| (t.message.id.clone(), t.message.text()));
                    if let Some(last) = last {
                        e.prevent_default();
                        editing.set(Some(last));
                    }
                }
                _ => {}
            },
            input { id: "attach-input", class: "sr-only", r#type: "file", multiple: true,
                accept: "image/png,image/jpeg,image/webp,image/gif,text/*,.md,.rs,.py,.js,.ts,.json,.toml,.yaml,.yml,.c,.h,.cpp,.go,.java,.sh,.csv,.log",
                disabled: disabled_reason.is_some(),
                onchange: move |e: FormEvent| read_files(e.files()) }
            label { class: "btn-small file-button", r#for: "attach-input", title: "Attach images or text files (or paste, or drop them here)", "Attach…" }
        }
    }
}

/// Sends each file pasted into the message box to the app as `["file", name, base64]`. A paste
/// that may hold files the page cannot read (WebKitGTK hands over neither a copied file nor a
/// copied image: only an emptied `text/uri-list`, or nothing) goes to the host as `["host",
/// "only" when the paste carried nothing else, ""]`; any text in it is still pasted.
const PASTE_FILES: &str = "document.addEventListener('paste', (e) => { const t = e.target; const d = e.clipboardData; if (!t || t.id !== 'composer-input' || !d) return; let files = [...d.files]; if (!files.length) files = [...d.items].filter((i) => i.kind === 'file').map((i) => i.getAsFile()).filter(Boolean); if (files.length) { e.preventDefault(); for (const f of files) { const r = new FileReader(); r.onload = () => { const s = String(r.result); dioxus.send(['file', f.name || 'pasted-image', s.slice(s.indexOf(',') + 1)]); }; r.readAsDataURL(f); } return; } const types = [...d.types]; if (!types.length || types.includes('text/uri-list')) dioxus.send(['host', types.includes('text/plain') ? '' : 'only', '']); }); await new Promise(() => {});";

fn base64_decode(text: &str) -> Option<Vec<u8>> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.decode(text).ok()
}
