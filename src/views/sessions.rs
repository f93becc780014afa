//! The OpenCode part of the history view: for every OpenCode backend, its server's sessions
//! (title, last update, running state) with create, rename, delete and open. While a server is
//! out of reach the sessions saved on this device (their offline copies) are listed instead,
//! marked as such; once it answers, the copies of sessions its list does not hold stay listed.
//! Each block carries the backend's name and an "OpenCode" badge so it is never mistaken for
//! local conversations.

use dioxus::prelude::*;

use crate::state::tasks::use_latest;

use crate::components::icons::{self, Icon};
use crate::components::rename::RenameForm;

use crate::engine::model::{format_time, BackendKind, ConversationFilter, Id, Profile};
use crate::engine::opencode::live::Connection;
use crate::state::opencode::{use_hub, ServerInfo};
use crate::state::{use_app_state, use_services};

/// One row of the list: a live session, or a saved copy.
#[derive(Debug, Clone, PartialEq)]
struct Row {
    session_id: String,
    title: String,
    updated: i64,
    status: Option<&'static str>,
    waiting: usize,
    saved_copy: bool,
}

#[component]
pub fn OpenCodeSessions() -> Element {
    let state = use_app_state();
    let profiles: Vec<Profile> = state
        .profiles
        .read()
        .iter()
        .filter(|p| p.kind == BackendKind::OpenCode)
        .cloned()
        .collect();

    if profiles.is_empty() {
        return rsx! {};
    }
    rsx! {
        div { class: "opencode-sessions",
            for p in profiles.into_iter() {
                ServerSessions { key: "{p.id}", profile: p }
            }
        }
    }
}

#[component]
fn ServerSessions(profile: Profile) -> Element {
    let services = use_services();
    let state = use_app_state();
    let hub = use_hub();
    let info: ServerInfo = hub
        .servers
        .read()
        .get(&profile.id)
        .cloned()
        .unwrap_or_default();
    let pid = profile.id.clone();

    // Saved copies, for reading while the server cannot be reached.
    let pid_saved = pid.clone();
    let saved = use_latest(move || {
        let services = services.clone();
        let pid = pid_saved.clone();
        let _rev = state.history_rev.read();
        async move {
            services
                .store
                .list_conversations(ConversationFilter {
                    archived: false,
                    profile_id: Some(pid),
                    limit: 500,
                    offset: 0,
                })
                .await
                .unwrap_or_default()
        }
    });

    let mut rows: Vec<Row> = if info.synced {
        info.sessions
            .iter()
            .map(|s| Row {
                session_id: s.id.clone(),
                title: s.shown_title().to_owned(),
                updated: i64::try_from(s.time.updated).unwrap_or(0),
                status: info
                    .statuses
                    .get(&s.id)
                    .map(crate::views::session::status_label),
                waiting: info
                    .permissions
                    .iter()
                    .filter(|p| p.session_id == s.id)
                    .count()
                    + info
                        .questions
                        .iter()
                        .filter(|q| q.session_id == s.id)
                        .count(),
                saved_copy: false,
            })
            .collect()
    } else {
        Vec::new()
    };
    // Saved copies: all of them until the server answers, then those its list does not hold
    // (deleted elsewhere, archived, or lost with the server's data), still readable here.
    if let Some(saved) = &*saved.read() {
        for c in saved.iter().map(|s| &s.conversation) {
            let Some(sid) = &c.remote_session else {
                continue;
            };
            if !info.synced || info.sessions.iter().all(|s| s.id != *sid) {
                rows.push(Row {
                    session_id: sid.clone(),
                    title: c.title.clone(),
                    updated: c.updated_at,
                    status: None,
                    waiting: 0,
                    saved_copy: true,
                });
            }
        }
    }
    let connection = info.connection.clone();
    let (dot, state_label) = match &connection {
        Connection::Connected => ("dot online", "Connected".to_owned()),
        Connection::Disconnected { .. } => ("dot offline", connection.label()),
        _ => ("dot checking", connection.label()),
    };
    let version = info
        .version
        .clone()
        .map(|v| format!("OpenCode {v}"))
        .unwrap_or_else(|| "OpenCode".into());

    rsx! {
        section { class: "server-sessions", "aria-label": "Sessions on {profile.name}",
            header { class: "server-head",
                span { class: dot, role: "img", "aria-label": "Server connection: {state_label}", title: "{state_label}" }
                h3 { "{profile.name}" }
                span { class: "badge backend-badge", "{version}" }
                button {
                    class: "btn-small",
                    disabled: !connection.is_connected(),
                    onclick: { let pid = pid.clone(); move |_| hub.create_session(state, &pid) },
                    "+ New session"
                }
                button { class: "btn-small", onclick: { let pid = pid.clone(); move |_| hub.refresh(&pid) }, "Refresh" }
            }
            if !connection.is_connected() && !matches!(connection, Connection::Connecting) {
                div { class: "banner banner-warn", role: "status", "{state_label}" }
            }
            if let Some(p) = info.problem.clone() {
                if connection.is_connected() { div { class: "banner banner-warn", role: "status", "{p}" } }
            }
            ul { class: "list", role: "list", "aria-label": "OpenCode sessions",
                if rows.is_empty() {
                    li { class: "empty-row",
                        if info.synced { "No sessions on this server yet." } else if connection.is_connected() { "Loading sessions…" } else { "No saved sessions from this server." }
                    }
                }
                for row in rows.into_iter() {
                    SessionRow { key: "{row.session_id}", profile_id: pid.clone(), profile_name: profile.name.clone(), row }
                }
            }
        }
    }
}

#[component]
fn SessionRow(profile_id: Id, profile_name: String, row: Row) -> Element {
    let state = use_app_state();
    let hub = use_hub();
    let mut renaming = use_signal(|| None::<String>);
    let mut confirm_delete = use_signal(|| false);
    let time = format_time(row.updated);
    let sid = row.session_id.clone();
    let (p1, p2, p3) = (profile_id.clone(), profile_id.clone(), profile_id);
    let input_id = format!("rename-{sid}");
    let (s1, s2, s3) = (sid.clone(), sid.clone(), sid);
    rsx! {
        li { class: "row session-row",
            if let Some(shown) = renaming() {
                RenameForm {
                    input_id: input_id.clone(),
                    initial: shown,
                    on_save: move |v: String| {
                        renaming.set(None);
                        hub.rename_session(&p1, &s1, v);
                    },
                    on_cancel: move |_| renaming.set(None),
                }
            } else if confirm_delete() {
                div { class: "row-main confirm", role: "alert",
                    span { "Delete “{row.title}” on the server? This cannot be undone." }
                    div { class: "row-actions",
                        button { class: "btn-danger", onclick: move |_| { confirm_delete.set(false); hub.delete_session(state, &p3, &s3); }, "Delete" }
                        button { class: "btn-small", onclick: move |_| confirm_delete.set(false), "Cancel" }
                    }
                }
            } else {
                button { class: "row-main", onclick: move |_| hub.open_session(state, &p2, &s2),
                    span { class: "row-title", "{row.title}" }
                    span { class: "row-meta",
                        span { class: "badge backend-badge", "OpenCode" }
                        span { class: "badge", "{profile_name}" }
                        if let Some(s) = row.status { span { class: "badge status-badge", "{s}" } }
                        if row.waiting > 0 { span { class: "badge waiting-badge", "needs your answer" } }
                        if row.saved_copy { span { class: "badge", "saved copy" } }
                        span { "{time}" }
                    }
                }
                if !row.saved_copy {
                    div { class: "row-actions",
                        // A page-drawn tooltip, as in History's rows (see there).
                        button { class: "btn-icon", "aria-label": "Rename session", "data-tip": "Rename",
                            onclick: { let t = row.title.clone(); move |_| renaming.set(Some(t.clone())) }, Icon { path: icons::RENAME } }
                        button { class: "btn-icon danger", "aria-label": "Delete session", "data-tip": "Delete",
                            onclick: move |_| confirm_delete.set(true), Icon { path: icons::DELETE } }
                    }
                }
            }
        }
    }
}
