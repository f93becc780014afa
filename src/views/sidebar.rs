//! The conversation list beside the chat on wide windows: a search box (Ctrl/Cmd+K focuses
//! it), "New chat", pinned conversations first and then the most recent, OpenCode sessions
//! under their server. Arrow keys move between rows, Enter opens. It can be collapsed to a
//! narrow strip; phones (and narrow windows) keep the bottom tab bar and History instead.

use dioxus::prelude::*;

use crate::engine::model::*;
use crate::engine::opencode::live::Connection;
use crate::state::chat::use_chat;
use crate::state::opencode::{use_hub, ServerInfo};
use crate::state::tasks::use_latest;
use crate::state::{open_conversation, use_app_state, use_services, View};

/// How many conversations the list shows at first (pinned, then the most recent): a screenful
/// and some. Scrolling near its end shows [`PAGE`] more each time, so the list grows only as far
/// as it is read, and a long history costs the first frame nothing.
const PAGE: u32 = 40;
/// Filtering by title looks through at least this many of the most recent conversations
/// (History searches them all, and the list's "In messages" searches every message).
const FILTERED: u32 = 200;
/// How close to the end of the list (in pixels) scrolling shows more.
const MORE_PX: f64 = 300.0;

/// Moves the focus to the previous or next row of the sidebar (ArrowUp / ArrowDown).
/// Empty the search box (its text is the page's, see the input).
const CLEAR_SEARCH: &str =
    "const e = document.getElementById('sidebar-search'); if (e) e.value = '';";

const MOVE_FOCUS: &str = "const d = await dioxus.recv(); const rows = [...document.querySelectorAll('#sidebar .side-row')]; const i = rows.indexOf(document.activeElement); const n = rows[Math.max(0, Math.min(rows.length - 1, (i < 0 ? (d > 0 ? -1 : rows.length) : i) + d))]; if (n) n.focus();";

#[component]
pub fn Sidebar() -> Element {
    let services = use_services();
    let state = use_app_state();
    let ctl = use_chat();
    let hub = use_hub();
    let mut query = use_signal(String::new);
    let collapsed = state.settings.read().sidebar_collapsed;

    let mut listed = use_signal(|| PAGE);
    let filtering = use_memo(move || !query.read().trim().is_empty());
    let services_list = services.clone();
    let list = use_latest(move || {
        let services = services_list.clone();
        let _rev = state.history_rev.read();
        let limit = if filtering() {
            listed().max(FILTERED)
        } else {
            listed()
        };
        async move {
            let filter = ConversationFilter {
                limit,
                ..Default::default()
            };
            let rows = crate::state::list_conversations_or_archive(&services, filter).await;
            (limit, rows)
        }
    });
    // More can be listed while the last answer was as long as asked for; while the next page is
    // on its way, the list and its "Show more" stay as they are.
    let (asked, more_to_list) = match &*list.read() {
        Some((limit, Ok((rows, _)))) => (*limit, rows.len() as u32 >= *limit),
        _ => (0, false),
    };
    let nothing_listed = matches!(&*list.read(), Some((_, Ok((rows, _)))) if rows.iter().all(|r| r.conversation.remote_session.is_some()));
    let in_archive = matches!(&*list.read(), Some((_, Ok((_, true)))));
    // Read when called, not when rendered: several scroll events can arrive before the next
    // render, and only the first of them asks for a page.
    let mut show_more = move || {
        if *listed.peek() <= asked {
            listed += PAGE;
        }
    };
    let hits = crate::state::use_search(query, 20);

    let q = query.read().trim().to_lowercase();
    let open_id = state.conversation.read().clone();
    let rows: Vec<ConversationSummary> = match &*list.read() {
        Some((_, Ok((rows, _)))) => rows
            .iter()
            .filter(|r| r.conversation.remote_session.is_none())
            .filter(|r| q.is_empty() || r.conversation.title.to_lowercase().contains(&q))
            .cloned()
            .collect(),
        _ => Vec::new(),
    };
    let (pinned, recent): (Vec<_>, Vec<_>) = rows.into_iter().partition(|r| r.conversation.pinned);
    // Enter in the search box opens the first conversation listed.
    let first = pinned
        .iter()
        .chain(recent.iter())
        .next()
        .map(|r| r.conversation.id.clone());
    let searched = matches!(&*hits.read(), Some(Ok(_)));
    let hits: Vec<SearchHit> = match &*hits.read() {
        Some(Ok(h)) => h.clone(),
        _ => Vec::new(),
    };
    let servers = hub.servers.read().clone();
    let profiles = state.profiles.read().clone();
    // Each OpenCode server's rows: its sessions once it has answered; until then the copies
    // of its sessions saved on this device (among the conversations listed), and a line on why.
    let groups: Vec<ServerGroup> = {
        let listed = list.read();
        let listed: &[ConversationSummary] = match &*listed {
            Some((_, Ok((rows, _)))) => rows,
            _ => &[],
        };
        profiles
            .iter()
            .filter(|p| p.kind == BackendKind::OpenCode)
            .map(|p| server_group(p, servers.get(&p.id), listed, &q))
            .collect()
    };
    let sessions_found = groups.iter().any(|g| !g.rows.is_empty());
    let nothing_found =
        filtering() && searched && first.is_none() && hits.is_empty() && !sessions_found;
    let open_session = hub.open.read().clone();
    let view = *state.view.read();

    let services_toggle = services.clone();
    let toggle = move |_| {
        let collapsed = !state.settings.peek().sidebar_collapsed;
        state.update_settings(&services_toggle, move |s| s.sidebar_collapsed = collapsed);
    };
    let on_keys = move |e: KeyboardEvent| {
        let step = match e.key() {
            Key::ArrowDown => 1,
            Key::ArrowUp => -1,
            _ => return,
        };
        e.prevent_default();
        let eval = document::eval(MOVE_FOCUS);
        let _ = eval.send(step);
    };

    if collapsed {
        return rsx! {
            aside { id: "sidebar", class: "sidebar collapsed", "aria-label": "Conversations",
                button { class: "btn-small icon-button", r#type: "button", "aria-label": "Show the conversation list",
                    "aria-expanded": "false", onclick: toggle, "»" }
                button { class: "btn-small icon-button", r#type: "button", "aria-label": "New chat",
                    onclick: move |_| ctl.new_chat(state), "+" }
            }
        };
    }

    let row = move |s: ConversationSummary| {
        let c = s.conversation;
        let active = view == View::Chat && open_id.as_deref() == Some(c.id.as_str());
        let id = c.id.clone();
        rsx! {
            li { key: "{c.id}",
                button {
                    class: if active { "side-row active" } else { "side-row" },
                    r#type: "button",
                    "aria-current": if active { "page" } else { "false" },
                    onclick: move |_| open_conversation(id.clone(), None),
                    span { class: "side-title",
                        // A drawn pin, as in History (an emoji needs an emoji font).
                        if c.pinned {
                            span { class: "pin", title: "Pinned",
                                crate::components::icons::Icon { path: crate::components::icons::PIN, size: 13 }
                                " "
                            }
                        }
                        "{c.title}"
                    }
                }
            }
        }
    };

    rsx! {
        aside { id: "sidebar", class: "sidebar", "aria-label": "Conversations", onkeydown: on_keys,
            div { class: "side-top",
                label { class: "sr-only", r#for: "sidebar-search", "Search conversations" }
                input {
                    id: "sidebar-search",
                    r#type: "search",
                    // A touch screen has no Ctrl+K to name.
                    placeholder: if *state.touch.read() { "Search" } else { "Search (Ctrl+K)" },
                    // Not bound to `query`: in the desktop webview an input event reaches Rust
                    // after the next key has been typed, and writing the older text back would
                    // drop that key. What is typed stays the page's; Esc clears both.
                    oninput: move |e| query.set(e.value()),
                    onkeydown: move |e: KeyboardEvent| match e.key() {
                        Key::Escape => {
                            query.set(String::new());
                            let _ = document::eval(CLEAR_SEARCH);
                        }
                        Key::Enter => if let Some(id) = first.clone() { open_conversation(id, None) },
                        _ => {}
                    },
                }
                button { class: "btn-small icon-button", r#type: "button", "aria-label": "Hide the conversation list",
                    "aria-expanded": "true", onclick: toggle, "«" }
            }
            button { class: "btn-small side-new", r#type: "button", onclick: move |_| ctl.new_chat(state), "+ New chat" }
            nav { class: "side-lists", "aria-label": "Conversation list",
                onscroll: move |e: ScrollEvent| {
                    let left = f64::from(e.scroll_height() - e.client_height()) - e.scroll_top();
                    if more_to_list && left < MORE_PX {
                        show_more();
                    }
                },
                if !pinned.is_empty() {
                    div { class: "side-h", "aria-hidden": "true", "Pinned" }
                    ul { class: "side-list", "aria-label": "Pinned", for s in pinned { {row(s)} } }
                }
                if !recent.is_empty() {
                    div { class: "side-h", "aria-hidden": "true", "Recent" }
                    ul { class: "side-list", "aria-label": "Recent", for s in recent { {row(s)} } }
                }
                // Scrolling shows more by itself; this is for a list shorter than the window and
                // for the keyboard.
                if more_to_list && !filtering() {
                    button { class: "btn-link side-more", r#type: "button", onclick: move |_| show_more(), "Show more" }
                }
                if !hits.is_empty() {
                    div { class: "side-h", "aria-hidden": "true", "In messages" }
                    ul { class: "side-list", "aria-label": "Found in messages",
                        for h in hits {
                            li { key: "{h.message_id}",
                                button { class: "side-row hit", r#type: "button",
                                    onclick: { let (c, m) = (h.conversation_id.clone(), h.message_id.clone()); move |_| open_conversation(c.clone(), Some(m.clone())) },
                                    span { class: "side-title", "{h.conversation_title}" }
                                    span { class: "side-snippet",
                                        for (i, (t, hit)) in snippet_runs(&h.snippet).into_iter().enumerate() {
                                            if hit { mark { key: "{i}", "{t}" } } else { span { key: "{i}", "{t}" } }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                if nothing_found {
                    p { class: "hint side-empty", role: "status", "Nothing matches “{query}”." }
                } else if nothing_listed && !filtering() && in_archive {
                    p { class: "hint side-empty", "All your conversations are archived: History shows them under “Archived”." }
                } else if nothing_listed && !filtering() && !sessions_found {
                    // (Not above a server's sessions: the list is not empty then.)
                    p { class: "hint side-empty", "No conversations yet." }
                }
                for g in groups {
                    div { class: "side-group", key: "{g.profile_id}",
                    div { class: "side-h", "aria-hidden": "true", "{g.name} · OpenCode" }
                    ul { class: "side-list", "aria-label": "{g.name} (OpenCode sessions)",
                        for (sid, title, saved) in g.rows {
                            li { key: "{sid}",
                                button {
                                    class: if view == View::Session && open_session.as_ref().is_some_and(|o| o.session_id == sid) { "side-row active" } else { "side-row" },
                                    r#type: "button",
                                    title: if saved { "A copy saved on this device" } else { "" },
                                    onclick: { let (pid, sid) = (g.profile_id.clone(), sid.clone()); move |_| hub.open_session(state, &pid, &sid) },
                                    span { class: "side-title", "{title}" }
                                }
                            }
                        }
                    }
                    if !filtering() {
                        if let Some(note) = g.note {
                            p { class: "hint side-empty", role: "status", "{note}" }
                        }
                    }
                    }
                }
            }
        }
    }
}

/// One OpenCode server in the list.
struct ServerGroup {
    profile_id: Id,
    name: String,
    /// (session id, title, a copy saved on this device), filtered by the search box.
    rows: Vec<(String, String, bool)>,
    /// Said under the rows when there is something to say.
    note: Option<&'static str>,
}

fn server_group(
    profile: &Profile,
    info: Option<&ServerInfo>,
    listed: &[ConversationSummary],
    q: &str,
) -> ServerGroup {
    let matches = |title: &str| q.is_empty() || title.to_lowercase().contains(q);
    let synced = info.is_some_and(|i| i.synced);
    let sessions = info
        .filter(|_| synced)
        .map(|i| i.sessions.as_slice())
        .unwrap_or_default();
    // Its sessions once it has answered, then the copies saved on this device of sessions its
    // list does not hold (all of them until it answers): (session id, title, saved copy).
    let mut rows: Vec<(String, String, bool)> = Vec::new();
    for s in sessions.iter().filter(|s| matches(&s.title)) {
        rows.push((s.id.clone(), s.shown_title().to_owned(), false));
    }
    for r in listed {
        let c = &r.conversation;
        if let (Some(sid), Some(pid)) = (&c.remote_session, &c.profile_id) {
            if *pid == profile.id && sessions.iter().all(|s| s.id != *sid) && matches(&c.title) {
                rows.push((sid.clone(), c.title.clone(), true));
            }
        }
    }
    let out_of_reach = info.is_some_and(|i| {
        i.problem.is_some()
            || matches!(
                i.connection,
                Connection::Reconnecting { .. } | Connection::Disconnected { .. }
            )
    });
    let note = match (out_of_reach, synced, rows.is_empty()) {
        (true, _, true) => Some("Out of reach: its sessions show here when it answers."),
        (true, true, false) => Some("Out of reach: the list as last seen."),
        (true, false, false) => Some("Out of reach: these are the copies saved on this device."),
        (false, true, true) => Some("No sessions yet: a new chat with this backend starts one."),
        (false, true, false) => None,
        (false, false, _) => Some("Connecting…"),
    };
    ServerGroup {
        profile_id: profile.id.clone(),
        name: profile.name.clone(),
        rows,
        note,
    }
}
