//! The history view: conversations newest first with pinned ones on top, full-text search with
//! highlighted snippets, rename, pin, archive, and delete with undo; "Select" picks several
//! to archive, export or delete at once. Lists are paged; search is served by the store's FTS
//! index.

use dioxus::prelude::*;

use crate::state::tasks::use_latest;

use crate::components::icons::{self, Icon};
use crate::components::rename::RenameForm;
use crate::engine::model::*;
use crate::engine::portability::ExportFormat;
use crate::state::{use_app_state, use_services};

const PAGE: u32 = 100;

#[component]
pub fn HistoryView() -> Element {
    let services = use_services();
    let state = use_app_state();
    let mut query = use_signal(String::new);
    let mut archived = use_signal(|| false);
    let mut profile_filter = use_signal(|| None::<Id>);
    let mut limit = use_signal(|| PAGE);
    let undo = state.deleted;
    let mut selected = use_signal(|| 0usize);
    let mut error = use_signal(|| None::<String>);
    let mut notice = use_signal(|| None::<String>);
    // Delete in the search box edits the query; it deletes a conversation only from the list.
    let mut search_focused = use_signal(|| false);
    // "Select": the conversations picked for an action on all of them (`None` outside it).
    let mut picked = use_signal(|| None::<Vec<Id>>);

    let services_list = services.clone();
    let list = use_latest(move || {
        let services = services_list.clone();
        let filter = ConversationFilter {
            archived: archived(),
            profile_id: profile_filter(),
            limit: limit(),
            offset: 0,
        };
        let _rev = state.history_rev.read();
        // An empty list says where the archived conversations are, when there are some.
        async move { crate::state::list_conversations_or_archive(&services, filter).await }
    });
    let hits = crate::state::use_search(query, 50);
    let in_archive = matches!(&*list.read(), Some(Ok((_, true))));

    let searching = !query.read().trim().is_empty();
    let mut list_error = None;
    let mut rows: Vec<ConversationSummary> = match &*list.read() {
        // OpenCode sessions are listed by their server's section; their local copies are caches.
        Some(Ok((rows, _))) => rows
            .iter()
            .filter(|r| r.conversation.remote_session.is_none())
            .cloned()
            .collect(),
        Some(Err(e)) => {
            list_error = Some(e.to_string());
            Vec::new()
        }
        None => Vec::new(),
    };
    // After a pin, rows keep their places while the pointer is over the list, so the next click
    // lands on the row the user aimed at; they sort again when it leaves.
    let mut held_order = use_signal(|| None::<Vec<Id>>);
    if let Some(order) = held_order.read().as_ref() {
        rows.sort_by_key(|r| {
            order
                .iter()
                .position(|id| *id == r.conversation.id)
                .unwrap_or(usize::MAX)
        });
    }
    let row_ids: Vec<Id> = rows.iter().map(|r| r.conversation.id.clone()).collect();
    let hit_rows: Vec<SearchHit> = match &*hits.read() {
        Some(Ok(h)) => h.clone(),
        _ => Vec::new(),
    };
    let count = if searching {
        hit_rows.len()
    } else {
        rows.len()
    };
    let profiles = state.profiles.read().clone();

    let delete = {
        let services = services.clone();
        move |id: Id, title: String| {
            state.delete_conversations(&services, vec![id], format!("“{title}”"))
        }
    };
    let mut pick = move |id: Id| {
        if let Some(ids) = picked.write().as_mut() {
            match ids.iter().position(|p| *p == id) {
                Some(i) => {
                    ids.remove(i);
                }
                None => ids.push(id),
            }
        }
    };
    let selecting = picked.read().is_some();
    let picked_ids = picked.read().clone().unwrap_or_default();
    let bulk_label = if picked_ids.len() == 1 {
        rows.iter()
            .find(|r| r.conversation.id == picked_ids[0])
            .map(|r| format!("“{}”", r.conversation.title))
            .unwrap_or_else(|| counted(1, "conversation"))
    } else {
        counted(picked_ids.len() as i64, "conversation")
    };
    // Archive (or bring back from the archive) every picked conversation, one narrow edit each.
    let bulk_archive = {
        let services = services.clone();
        let ids = picked_ids.clone();
        let label = bulk_label.clone();
        let to_archive = !archived();
        move |_| {
            let services = services.clone();
            let ids = ids.clone();
            let label = label.clone();
            picked.set(None);
            spawn(async move {
                let mut failed = None;
                for id in ids {
                    let edit = vec![ConversationEdit::Archived(to_archive)];
                    if let Err(e) = services.store.update_conversation(id, edit).await {
                        failed = Some(e);
                        break;
                    }
                }
                state.touch_history();
                match failed {
                    Some(e) => state.toast_error(e),
                    None if to_archive => state.show_toast(format!(
                        "Archived {label}; the “Archived” filter shows the archive."
                    )),
                    None => state.show_toast(format!("Brought {label} back from the archive.")),
                }
            });
        }
    };
    let bulk_export = {
        let services = services.clone();
        let ids = picked_ids.clone();
        move |_| {
            let services = services.clone();
            let ids = ids.clone();
            spawn(async move {
                let r = crate::state::data::export_to_user(
                    &services,
                    ExportFormat::Json,
                    Some(ids),
                    None,
                )
                .await;
                match r {
                    Ok(s) => notice.set(Some(s)),
                    Err(e) => error.set(Some(e.to_string())),
                }
            });
        }
    };
    let bulk_delete = {
        let services = services.clone();
        let ids = picked_ids.clone();
        let label = bulk_label.clone();
        move |_| {
            picked.set(None);
            state.delete_conversations(&services, ids.clone(), label.clone());
        }
    };
    // Offline copies of OpenCode sessions open in the session screen.
    let open = move |id: Id, focus: Option<Id>| crate::state::open_conversation(id, focus);

    let rows_for_keys = rows.clone();
    let hits_for_keys = hit_rows.clone();
    let delete_key = delete.clone();

    rsx! {
        section {
            class: "view history-view",
            "aria-label": "History",
            onkeydown: move |e: KeyboardEvent| {
                match e.key() {
                    Key::ArrowDown if count > 0 => {
                        e.prevent_default();
                        selected.set((selected() + 1).min(count - 1));
                    }
                    Key::ArrowUp if count > 0 => {
                        e.prevent_default();
                        selected.set(selected().saturating_sub(1));
                    }
                    Key::Escape if selecting => picked.set(None),
                    Key::Enter => {
                        if searching {
                            if let Some(h) = hits_for_keys.get(selected()) {
                                open(h.conversation_id.clone(), Some(h.message_id.clone()));
                            }
                        } else if let Some(r) = rows_for_keys.get(selected()) {
                            if selecting {
                                pick(r.conversation.id.clone());
                            } else {
                                open(r.conversation.id.clone(), None);
                            }
                        }
                    }
                    Key::Delete if !searching && !selecting && !search_focused() => {
                        if let Some(r) = rows_for_keys.get(selected()) {
                            delete_key(r.conversation.id.clone(), r.conversation.title.clone());
                        }
                    }
                    _ => {}
                }
            },
            header { class: "history-header",
                h2 { "History" }
                div { class: "search-row",
                    label { class: "sr-only", r#for: "history-search", "Search all messages" }
                    input {
                        id: "history-search",
                        r#type: "search",
                        // A touch screen has no Ctrl+K to name.
                        placeholder: if *state.touch.read() { "Search all messages" } else { "Search all messages (Ctrl+K)" },
                        // Not bound to `query` (see the sidebar's search box): keys typed
                        // quickly are all kept.
                        oninput: move |e| { query.set(e.value()); selected.set(0); },
                        onfocus: move |_| search_focused.set(true),
                        onblur: move |_| search_focused.set(false),
                    }
                }
                div { class: "filters",
                    label {
                        input { r#type: "checkbox", checked: archived(), onchange: move |e| { archived.set(e.checked()); picked.set(None); } }
                        " Archived"
                    }
                    label { class: "sr-only", r#for: "backend-filter", "Backend" }
                    select {
                        id: "backend-filter",
                        onchange: move |e| { let v = e.value(); profile_filter.set(if v.is_empty() { None } else { Some(v) }); picked.set(None); },
                        option { value: "", "All backends" }
                        for p in profiles.iter() { option { value: "{p.id}", "{p.name}" } }
                    }
                    if !searching && !selecting && !rows.is_empty() {
                        button { class: "btn-small", r#type: "button", onclick: move |_| picked.set(Some(Vec::new())), "Select" }
                    }
                }
            }
            if selecting && !searching {
                // The focus comes here from "Select" (which goes away), so arrows, Enter and Esc
                // reach the list's keys at once.
                div { class: "bulk-bar", role: "toolbar", "aria-label": "Picked conversations", tabindex: "-1",
                    onmounted: crate::components::focus_on_mount,
                    span { role: "status", "{picked_ids.len()} selected" }
                    if picked_ids.len() < rows.len() {
                        button { class: "btn-small", r#type: "button",
                            onclick: { let ids = row_ids.clone(); move |_| picked.set(Some(ids.clone())) }, "Select all" }
                    } else {
                        button { class: "btn-small", r#type: "button", onclick: move |_| picked.set(Some(Vec::new())), "Select none" }
                    }
                    button { class: "btn-small", r#type: "button", disabled: picked_ids.is_empty(), onclick: bulk_archive,
                        if archived() { "Unarchive" } else { "Archive" } }
                    button { class: "btn-small", r#type: "button", disabled: picked_ids.is_empty(), title: "Export as JSON (every branch; can be imported again)", onclick: bulk_export, "Export" }
                    button { class: "btn-small danger", r#type: "button", disabled: picked_ids.is_empty(), onclick: bulk_delete, "Delete" }
                    button { class: "btn-small", r#type: "button", onclick: move |_| picked.set(None), "Done" }
                }
            }
            if let Some(e) = error().or(list_error) {
                div { class: "banner banner-error", role: "alert", "{e}" }
            }
            if let Some(n) = notice() {
                div { class: "toast", role: "status",
                    span { class: "data-outcome", "{n}" }
                    button { class: "btn-small", onclick: move |_| notice.set(None), "Dismiss" }
                }
            }
            if let Some((_, title)) = undo() {
                // Keys and clicks on the toast are its own: the list underneath must not open
                // or delete a conversation because Enter or a click reached it too.
                div { class: "toast", role: "status",
                    onkeydown: move |e: KeyboardEvent| e.stop_propagation(),
                    onclick: move |e: MouseEvent| e.stop_propagation(),
                    span { "Deleted {title}." }
                    button {
                        class: "btn-small",
                        onclick: {
                            let services = services.clone();
                            move |_| state.undo_delete(&services)
                        },
                        "Undo"
                    }
                }
            }
            if searching {
                ul { class: "list", "aria-label": "Search results",
                    if hit_rows.is_empty() {
                        li { class: "empty-row", "No messages match." }
                    }
                    for (i, hit) in hit_rows.into_iter().enumerate() {
                        SearchRow { key: "{hit.message_id}", hit, selected: i == selected(), on_open: move |(c, m): (Id, Id)| open(c, Some(m)) }
                    }
                }
            } else {
                if !archived() { crate::views::sessions::OpenCodeSessions {} }
                ul { class: "list", "aria-label": "Conversations",
                    onmouseleave: move |_| held_order.set(None),
                    if rows.is_empty() {
                        li { class: "empty-row",
                            if archived() {
                                "No archived conversations."
                            } else if in_archive {
                                if profile_filter.read().is_some() { "This backend's conversations are all archived. " } else { "All your conversations are archived. " }
                                button { class: "btn-small", onclick: move |_| { archived.set(true); picked.set(None); }, "Show archived" }
                            } else if profile_filter.read().is_some() {
                                "No conversations with this backend."
                            } else {
                                "No conversations yet."
                            }
                        }
                    }
                    for (i, row) in rows.iter().cloned().enumerate() {
                        ConversationRow {
                            key: "{row.conversation.id}",
                            picked: selecting.then(|| picked_ids.contains(&row.conversation.id)),
                            on_pick: move |id: Id| pick(id),
                            row,
                            selected: i == selected(),
                            on_open: move |id: Id| open(id, None),
                            on_hold_order: {
                                let ids = row_ids.clone();
                                move |_| held_order.set(Some(ids.clone()))
                            },
                            on_delete: {
                                let delete = delete.clone();
                                move |(id, title): (Id, String)| delete(id, title)
                            },
                            on_export: {
                                let services = services.clone();
                                move |id: Id| {
                                    let services = services.clone();
                                    spawn(async move {
                                        let r = crate::state::data::export_to_user(&services, ExportFormat::Markdown, Some(vec![id]), None).await;
                                        match r {
                                            Ok(s) => notice.set(Some(s)),
                                            Err(e) => error.set(Some(e.to_string())),
                                        }
                                    });
                                }
                            },
                        }
                    }
                    if rows.len() as u32 >= limit() {
                        li { button { class: "btn-link", onclick: move |_| limit += PAGE, "Load more" } }
                    }
                }
            }
        }
    }
}

#[component]
fn SearchRow(hit: SearchHit, selected: bool, on_open: EventHandler<(Id, Id)>) -> Element {
    let runs = snippet_runs(&hit.snippet);
    let (c, m) = (hit.conversation_id.clone(), hit.message_id.clone());
    rsx! {
        li { class: if selected { "row selected" } else { "row" },
            button { class: "row-main", onclick: move |_| on_open.call((c.clone(), m.clone())),
                span { class: "row-title", "{hit.conversation_title}" }
                span { class: "snippet",
                    for (i, (text, is_hit)) in runs.into_iter().enumerate() {
                        if is_hit { mark { key: "{i}", "{text}" } } else { span { key: "{i}", "{text}" } }
                    }
                }
            }
        }
    }
}

/// One conversation of the list, with its actions (pin, rename, archive, export, delete).
#[component]
pub fn ConversationRow(
    row: ConversationSummary,
    selected: bool,
    /// In "Select": whether this one is picked (a click then picks instead of opening).
    picked: Option<bool>,
    on_pick: EventHandler<Id>,
    on_open: EventHandler<Id>,
    /// Called before a pin or unpin, which would otherwise re-sort the rows under the pointer.
    on_hold_order: EventHandler<()>,
    on_delete: EventHandler<(Id, String)>,
    on_export: EventHandler<Id>,
) -> Element {
    let services = use_services();
    let state = use_app_state();
    let mut renaming = use_signal(|| None::<String>);
    let c = row.conversation.clone();
    let id = c.id.clone();
    // Each action is one narrow edit: the row's copy of the conversation is never written
    // back, so it cannot rewind the conversation's thread.
    let update = move |edit: ConversationEdit| {
        let services = services.clone();
        let id = c.id.clone();
        spawn(async move {
            match services.store.update_conversation(id, vec![edit]).await {
                Ok(_) => state.touch_history(),
                Err(e) => state.toast_error(e),
            }
        });
    };
    let (u1, u2, u3) = (update.clone(), update.clone(), update);
    let pinned = row.conversation.pinned;
    let archived = row.conversation.archived;
    let title = row.conversation.title.clone();
    let kind = row.profile_kind.map(|k| k.label()).unwrap_or("no backend");
    let time = format_time(row.conversation.updated_at);
    rsx! {
        li { class: if selected { "row selected" } else { "row" },
            if let Some(shown) = renaming() {
                RenameForm {
                    input_id: format!("rename-{id}"),
                    initial: shown,
                    on_save: move |v: String| {
                        renaming.set(None);
                        u1(ConversationEdit::Title(v));
                    },
                    on_cancel: move |_| renaming.set(None),
                }
            } else {
                if let Some(on) = picked {
                    input { r#type: "checkbox", class: "row-check", checked: on, "aria-label": "Select “{title}”",
                        onchange: { let id = id.clone(); move |_| on_pick.call(id.clone()) } }
                }
                button { class: "row-main", "aria-pressed": picked.map(|p| p.to_string()),
                    onclick: { let id = id.clone(); move |_| if picked.is_some() { on_pick.call(id.clone()) } else { on_open.call(id.clone()) } },
                    span { class: "row-title", if pinned { span { class: "pin", role: "img", "aria-label": "Pinned", Icon { path: icons::PIN, size: 14 } " " } } "{title}" }
                    span { class: "row-meta",
                        span { class: "badge", "{kind}" }
                        if let Some(p) = row.profile_name.clone() { span { class: "badge", "{p}" } }
                        if let Some(m) = row.conversation.model.clone() { span { class: "badge", "{m}" } }
                        span { "{row.message_count} messages · {time}" }
                    }
                }
                if picked.is_none() {
                    // Named by `data-tip` (a tooltip the page draws), not `title`: the desktop
                    // webview's native tooltip is a window of its own that stayed on screen
                    // after its row was deleted or moved away under the pointer.
                    div { class: "row-actions",
                        button { class: "btn-icon", "aria-label": if pinned { "Unpin" } else { "Pin" }, "data-tip": if pinned { "Unpin" } else { "Pin" },
                            onclick: move |_| { on_hold_order.call(()); u2(ConversationEdit::Pinned(!pinned)) }, Icon { path: if pinned { icons::UNPIN } else { icons::PIN } } }
                        button { class: "btn-icon", "aria-label": "Rename", "data-tip": "Rename",
                            onclick: { let t = title.clone(); move |_| renaming.set(Some(t.clone())) }, Icon { path: icons::RENAME } }
                        button { class: "btn-icon", "aria-label": if archived { "Unarchive" } else { "Archive" }, "data-tip": if archived { "Unarchive" } else { "Archive" },
                            onclick: move |_| u3(ConversationEdit::Archived(!archived)), Icon { path: if archived { icons::UNARCHIVE } else { icons::ARCHIVE } } }
                        button { class: "btn-icon", "aria-label": "Export as Markdown", "data-tip": "Export as Markdown",
                            onclick: { let id = id.clone(); move |_| on_export.call(id.clone()) }, Icon { path: icons::EXPORT } }
                        button { class: "btn-icon danger", "aria-label": "Delete", "data-tip": "Delete",
                            onclick: { let id = id.clone(); let t = title.clone(); move |_| on_delete.call((id.clone(), t.clone())) }, Icon { path: icons::DELETE } }
                    }
                }
            }
        }
    }
}
