//! Approvals: every permission request and question waiting on any connected OpenCode server,
//! whichever session (or device) started the run, each answerable here. A request answered
//! elsewhere (another device, the TUI) leaves the list as soon as the server says so.

use dioxus::prelude::*;

use crate::components::parts::{PermissionCard, PermissionTitle, QuestionCard};
use crate::state::opencode::use_hub;
use crate::state::{use_app_state, View};

#[component]
pub fn ApprovalsView() -> Element {
    let state = use_app_state();
    let hub = use_hub();
    let servers = hub.servers.read().clone();
    let sending = *hub.sending.read();
    let notice = hub.notice.read().clone();
    let profiles = state.profiles.read().clone();
    let name_of = |id: &str| {
        profiles
            .iter()
            .find(|p| p.id == id)
            .map(|p| p.name.clone())
            .unwrap_or_else(|| "OpenCode server".into())
    };
    let waiting: Vec<_> = servers
        .iter()
        .filter(|(_, i)| !i.permissions.is_empty() || !i.questions.is_empty())
        .collect();
    let total: usize = waiting
        .iter()
        .map(|(_, i)| i.permissions.len() + i.questions.len())
        .sum();

    rsx! {
        section { class: "view approvals-view", "aria-label": "Approvals",
            header { class: "view-header",
                h1 { "Approvals" }
                p { class: "muted",
                    if total == 0 { "Nothing is waiting for you." }
                    else if total == 1 { "1 request is waiting for you." }
                    else { "{total} requests are waiting for you." }
                }
            }
            if let Some(n) = notice {
                div { class: "banner banner-error", role: "alert", "{n}" }
            }
            if servers.is_empty() {
                p { class: "empty", "Add an OpenCode server in Settings → Backends: the tool calls its agents want to make and the questions they ask show up here, from every session." }
            }
            for (pid, info) in waiting.into_iter() {
                section { key: "{pid}", class: "approvals-server", "aria-label": "Requests on {name_of(pid)}",
                    h2 { "{name_of(pid)}" }
                    for p in info.permissions.iter().cloned() {
                        div { key: "{p.id}", class: "approval",
                            SessionLink {
                                profile_id: pid.clone(),
                                session_id: p.session_id.clone(),
                                title: session_title(info, &p.session_id),
                            }
                            PermissionTitle { request: p.clone() }
                            PermissionCard {
                                busy: sending,
                                offline: !info.connection.is_connected(),
                                on_reply: { let (pid, id) = (pid.clone(), p.id.clone()); move |r| hub.reply_permission_on(&pid, id.clone(), r) },
                                request: p,
                            }
                        }
                    }
                    for q in info.questions.iter().cloned() {
                        div { key: "{q.id}", class: "approval",
                            SessionLink {
                                profile_id: pid.clone(),
                                session_id: q.session_id.clone(),
                                title: session_title(info, &q.session_id),
                            }
                            QuestionCard {
                                busy: sending,
                                offline: !info.connection.is_connected(),
                                on_answer: { let (pid, id) = (pid.clone(), q.id.clone()); move |a| hub.answer_question_on(&pid, id.clone(), a) },
                                on_reject: { let (pid, id) = (pid.clone(), q.id.clone()); move |_| hub.reject_question_on(&pid, id.clone()) },
                                request: q,
                            }
                        }
                    }
                }
            }
        }
    }
}

fn session_title(info: &crate::state::opencode::ServerInfo, session_id: &str) -> String {
    info.sessions
        .iter()
        .find(|s| s.id == session_id)
        .map(|s| s.title.clone())
        .filter(|t| !t.trim().is_empty())
        .unwrap_or_else(|| "A session".into())
}

/// The session a request belongs to, opening it on click.
#[component]
fn SessionLink(profile_id: String, session_id: String, title: String) -> Element {
    let state = use_app_state();
    let hub = use_hub();
    rsx! {
        button {
            class: "btn-link approval-session",
            title: "Open the session",
            onclick: move |_| {
                hub.open_session(state, &profile_id, &session_id);
                let mut view = state.view;
                view.set(View::Session);
            },
            "In “{title}”"
        }
    }
}
