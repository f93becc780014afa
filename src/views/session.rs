//! The screen of one OpenCode session: its messages rendered part by part from the live
//! connection (the offline copy until the server answers), pending permission requests and
//! questions, the run status with Abort, cost and token totals, and a composer that picks the
//! model (`/config/providers`) and agent (`/agent`) for each prompt.
//!
//! All data and effects live in the root-scope [`OpenCodeHub`]; this view only reads its
//! signals, which the hub repaints at most once per frame.

use dioxus::prelude::*;

use crate::components::composer::{set_composer_text, ComposerBox};
use crate::components::parts::{
    settle_unfinished, PermissionCard, QuestionCard, RunStatus, SessionMessage, SessionTotals,
};
use crate::engine::opencode::api::{ModelRef, SessionStatus};
use crate::engine::opencode::offline::error_sentence;
use crate::engine::opencode::state::SessionView;
use crate::engine::opencode::MessageInfo;
use crate::state::opencode::use_hub;
use crate::state::{use_app_state, View};

const SESSION_INPUT: &str = "session-input";

#[component]
pub fn SessionPage() -> Element {
    let hub = use_hub();
    let state = use_app_state();
    let Some(open) = hub.open.read().clone() else {
        return rsx! {
            section { class: "view session-view", "aria-label": "OpenCode session",
                div { class: "empty",
                    p { "No session is open. Pick one from History." }
                    button { class: "btn-primary", onclick: move |_| { let mut v = state.view; v.set(View::History) }, "Open History" }
                }
            }
        };
    };
    let profile = state
        .profiles
        .read()
        .iter()
        .find(|p| p.id == open.profile_id)
        .cloned();
    let info = hub
        .servers
        .read()
        .get(&open.profile_id)
        .cloned()
        .unwrap_or_default();
    let live: Option<SessionView> = hub
        .view
        .read()
        .clone()
        .filter(|v| v.session_id == open.session_id);
    let (copy_title, cached) = match hub.cached.read().clone() {
        Some((sid, title, m)) if sid == open.session_id => (Some(title), Some(m)),
        _ => (None, None),
    };
    let from_cache = live.is_none() && cached.is_some();
    let mut messages = match (&live, cached) {
        // Deleted on the server: what is left of it is the copy saved here.
        (Some(v), Some(m)) if v.deleted && v.messages.is_empty() => m,
        (Some(v), _) => v.messages.clone(),
        (None, Some(m)) => m,
        (None, None) => Vec::new(),
    };
    let listed = info
        .sessions
        .iter()
        .find(|s| s.id == open.session_id)
        .cloned();
    let title = live
        .as_ref()
        .and_then(|v| v.session.as_ref())
        .or(listed.as_ref())
        .map(|s| s.title.clone())
        .or(copy_title)
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| "OpenCode session".to_owned());
    let status = live
        .as_ref()
        .map(|v| v.status.clone())
        .or_else(|| info.statuses.get(&open.session_id).cloned())
        .unwrap_or_default();
    let busy = status.is_busy();
    settle_unfinished(
        &mut messages,
        &status,
        live.as_ref().and_then(|v| v.last_error.as_ref()),
    );
    let (cost, tokens) = match &live {
        Some(v) => v.totals(),
        None => {
            let mut v = SessionView::default();
            v.messages.clone_from(&messages);
            v.totals()
        }
    };
    let sending = *hub.sending.read();
    let connection = info.connection.clone();
    let connected = connection.is_connected();
    let deleted = live.as_ref().is_some_and(|v| v.deleted);
    let profile_name = profile
        .as_ref()
        .map(|p| p.name.clone())
        .unwrap_or_else(|| "OpenCode".into());
    let permissions = live
        .as_ref()
        .map(|v| v.pending_permissions.clone())
        .unwrap_or_default();
    let questions = live
        .as_ref()
        .map(|v| v.pending_questions.clone())
        .unwrap_or_default();
    // A session error already shown on the reply it ended is not repeated below.
    let last_error = live
        .as_ref()
        .and_then(|v| v.last_error.clone())
        .filter(|e| !e.is_abort())
        .filter(|e| {
            !messages
                .iter()
                .any(|m| m.info.as_assistant().and_then(|a| a.error.as_ref()) == Some(e))
        });
    let pid = open.profile_id.clone();
    // The model the session's last prompt went with ("provider/model"), which the next one
    // keeps unless another is chosen.
    let last_model = messages.iter().rev().find_map(|m| match &m.info {
        MessageInfo::User(u) => u.model.as_ref().map(ModelRef::key),
        MessageInfo::Assistant(_) => None,
    });

    // The tool calls these requests hold: they say they wait for the user, not that they run.
    let held = crate::engine::opencode::state::waiting_calls(&permissions, &questions);
    // A reply waiting on the user or on an unreachable server is not on its way: its dots
    // stand still (an animation would repaint the page for nothing the whole time).
    let paused = if !connected {
        Some("Paused: the server is out of reach".to_owned())
    } else if !permissions.is_empty() || !questions.is_empty() {
        Some("Paused: the agent waits for your answer below".to_owned())
    } else {
        None
    };

    // Back to where the session was opened from: the chat (its sidebar or message box),
    // History or Approvals.
    let back = *hub.back_to.read();
    let back_name = match back {
        View::Chat => "Chat",
        View::Approvals => "Approvals",
        View::Settings => "Settings",
        View::History | View::Session => "History",
    };

    rsx! {
        section { class: "view session-view", "aria-label": "OpenCode session",
            header { class: "chat-header session-header",
                div { class: "title-row",
                    button { class: "btn-small", "aria-label": "Back to {back_name}", onclick: move |_| { let mut v = state.view; v.set(back) }, "← {back_name}" }
                    h2 { class: "conv-title", "{title}" }
                }
                div { class: "picker-row",
                    span {
                        class: if connected { "dot online" } else if matches!(connection, crate::engine::opencode::live::Connection::Disconnected { .. }) { "dot offline" } else { "dot checking" },
                        role: "img",
                        "aria-label": "Server connection: {connection.label()}",
                        title: "{connection.label()}",
                    }
                    span { class: "badge backend-badge", title: "OpenCode server", "{profile_name}" }
                    span { class: "badge", if let Some(v) = info.version.clone() { "OpenCode {v}" } else { "OpenCode" } }
                    SessionTotals { cost, tokens }
                }
                if !connected {
                    div { class: "banner banner-warn", role: "status",
                        span { "{connection.label()}" }
                        button { class: "btn-small", onclick: { let pid = pid.clone(); move |_| hub.refresh(&pid) }, "Retry now" }
                    }
                }
                if let Some(p) = info.problem.clone().filter(|_| connected) {
                    div { class: "banner banner-warn", role: "status", "{p}" }
                }
            }
            if let Some(n) = hub.notice.read().clone() {
                div { class: "banner banner-error", role: "alert", "{n}" }
            }
            if from_cache {
                div { class: "hint offline-note", role: "status", "Showing the copy saved on this device; the server's version replaces it once connected." }
            }
            if deleted {
                div { class: "banner banner-warn", role: "status", "This session was deleted on the server. Its saved copy stays readable here." }
            }
            div { class: "thread-scroll", id: "thread",
                div { class: "thread", role: "log", "aria-live": "polite",
                    if messages.is_empty() {
                        div { class: "empty",
                            p {
                                if deleted {
                                    "No messages of this session were saved here."
                                } else if live.is_some() || !connected {
                                    "No messages yet. Ask something below."
                                } else {
                                    "Loading…"
                                }
                            }
                        }
                    }
                    for m in messages.into_iter() {
                        SessionMessage {
                            key: "{m.info.id()}",
                            held: held.iter().filter(|w| w.message_id == m.info.id()).cloned().collect::<Vec<_>>(),
                            message: m,
                            paused: paused.clone(),
                        }
                    }
                    for p in permissions.into_iter() {
                        PermissionCard {
                            key: "{p.id}",
                            busy: sending,
                            offline: !connected,
                            on_reply: { let id = p.id.clone(); move |r| hub.reply_permission(id.clone(), r) },
                            request: p,
                        }
                    }
                    for q in questions.into_iter() {
                        QuestionCard {
                            key: "{q.id}",
                            busy: sending,
                            offline: !connected,
                            on_answer: { let id = q.id.clone(); move |a| hub.answer_question(id.clone(), a) },
                            on_reject: { let id = q.id.clone(); move |_| hub.reject_question(id.clone()) },
                            request: q,
                        }
                    }
                    RunStatus { status: status.clone() }
                    if let Some(e) = last_error {
                        div { class: "banner banner-error", role: "alert", "{error_sentence(&e)}" }
                    }
                }
            }
            SessionComposer { session_id: open.session_id.clone(), busy, sending, disabled: deleted,
                session_agent: live.as_ref().and_then(|v| v.session.as_ref()).and_then(|s| s.agent.clone()),
                session_model: last_model }
        }
    }
}

/// Prompt box with model and agent pickers, Send and Abort.
#[component]
fn SessionComposer(
    session_id: String,
    busy: bool,
    sending: bool,
    disabled: bool,
    session_agent: Option<String>,
    session_model: Option<String>,
) -> Element {
    let hub = use_hub();
    let state = use_app_state();
    let draft = use_signal(String::new);
    // A prompt its server did not take comes back into the box (before anything typed since).
    let mut unsent = hub.unsent;
    let open = hub.open;
    use_effect(move || {
        let open_id = open.read().as_ref().map(|o| o.session_id.clone());
        let waiting = unsent
            .read()
            .as_ref()
            .is_some_and(|(sid, _)| Some(sid) == open_id.as_ref());
        if !waiting {
            return;
        }
        let Some((_, text)) = unsent.write().take() else {
            return;
        };
        let typed = draft.peek().trim().to_owned();
        let back = if typed.is_empty() {
            text
        } else {
            format!("{text}\n\n{typed}")
        };
        set_composer_text(SESSION_INPUT, draft, back);
    });
    // The model and agent chosen here, each with the session it was chosen in (a choice is
    // not carried to another session; the text typed stays in the box). Until one is chosen,
    // the session's own; "" is the server's default.
    let mut model = use_signal(|| None::<(String, String)>);
    let mut agent = use_signal(|| None::<(String, String)>);
    let chosen = |choice: Option<(String, String)>| {
        choice.filter(|(sid, _)| *sid == session_id).map(|(_, v)| v)
    };
    let enter_sends = state.enter_sends();
    let info = hub
        .open
        .read()
        .as_ref()
        .and_then(|o| hub.servers.read().get(&o.profile_id).cloned())
        .unwrap_or_default();
    let agents: Vec<String> = info
        .agents
        .iter()
        .filter(|a| a.is_selectable())
        .map(|a| a.name.clone())
        .collect();
    let chosen_agent = chosen(agent()).or(session_agent).unwrap_or_default();
    let providers = info.providers.clone().unwrap_or_default();

    let chosen_model = chosen(model()).or(session_model).unwrap_or_default();
    // A model the server no longer lists is still offered, as the one in use.
    let unlisted = (!chosen_model.is_empty()
        && !providers.providers.iter().any(|p| {
            p.models
                .values()
                .any(|m| chosen_model == format!("{}/{}", p.id, m.id))
        }))
    .then(|| chosen_model.clone());

    let agent_for_submit = chosen_agent.clone();
    let model_for_submit = chosen_model.clone();
    let submit = move |_| {
        let text = draft.peek().trim().to_owned();
        if text.is_empty() || *hub.sending.peek() {
            return;
        }
        let model = ModelRef::parse(&model_for_submit);
        let agent = Some(agent_for_submit.clone()).filter(|a| !a.is_empty());
        hub.send(text, model, agent);
        set_composer_text(SESSION_INPUT, draft, String::new());
    };
    let disabled_reason = disabled.then(|| "This session was deleted on the server.".to_owned());

    rsx! {
        ComposerBox {
            input_id: SESSION_INPUT,
            draft,
            enter_sends,
            touch: *state.touch.read(),
            busy,
            disabled_reason,
            send_disabled: sending,
            send_while_busy: true,
            stop_label: "Abort",
            stop_disabled: sending,
            on_submit: submit,
            on_stop: move |_| hub.abort(),
            label { class: "sr-only", r#for: "session-model", "Model" }
            select {
                id: "session-model",
                onchange: {
                    let sid = session_id.clone();
                    move |e: FormEvent| model.set(Some((sid.clone(), e.value())))
                },
                option { value: "", selected: chosen_model.is_empty(), "Server default model" }
                if let Some(m) = unlisted {
                    option { value: "{m}", selected: true, "{m}" }
                }
                for p in providers.providers.iter() {
                    optgroup { key: "{p.id}", label: if p.name.is_empty() { p.id.clone() } else { p.name.clone() },
                        for m in p.models.values() {
                            option {
                                key: "{p.id}/{m.id}",
                                value: "{p.id}/{m.id}",
                                selected: chosen_model == format!("{}/{}", p.id, m.id),
                                if m.name.is_empty() { "{m.id}" } else { "{m.name}" }
                            }
                        }
                    }
                }
            }
            label { class: "sr-only", r#for: "session-agent", "Agent" }
            select {
                id: "session-agent",
                onchange: {
                    let sid = session_id.clone();
                    move |e: FormEvent| agent.set(Some((sid.clone(), e.value())))
                },
                option { value: "", selected: chosen_agent.is_empty(), "Default agent" }
                for a in agents.iter() {
                    option { key: "{a}", value: "{a}", selected: *a == chosen_agent, "{a}" }
                }
            }
        }
    }
}

/// Whether a status shows a run in progress (for tests and badges).
pub fn status_label(status: &SessionStatus) -> &'static str {
    match status {
        SessionStatus::Idle => "idle",
        SessionStatus::Busy => "busy",
        SessionStatus::Retry { .. } => "retrying",
        SessionStatus::Unknown => "working",
    }
}
