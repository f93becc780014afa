//! One message of the thread: role styling, markdown body, reasoning (collapsible), status and
//! error banner with Retry, tokens and cost, the alternatives switcher (‹ 2/3 ›), and its
//! actions: copy (as text or Markdown), edit, regenerate, delete, continue a cut-off reply.

use dioxus::prelude::*;

use super::Markdown;
use crate::engine::model::{usage_summary, AttachmentRef, MessageStatus, Role, ThreadMessage};
use crate::state::use_services;

#[derive(Props, Clone, PartialEq)]
pub struct MessageProps {
    pub item: ThreadMessage,
    /// Text streamed so far when this reply is in flight (replaces the stored text).
    #[props(default)]
    pub live_text: Option<String>,
    #[props(default)]
    pub live_reasoning: Option<String>,
    /// Seconds this reply has waited for its first words, once that is worth saying.
    #[props(default)]
    pub live_waited: Option<u64>,
    #[props(default)]
    pub busy: bool,
    pub on_regenerate: EventHandler<String>,
    pub on_edit: EventHandler<String>,
    pub on_select: EventHandler<String>,
    /// Delete this message and what follows from it on its branch (asked first).
    pub on_delete: EventHandler<String>,
    /// Carry on a reply cut at the token limit (offered on the last message only).
    pub on_continue: EventHandler<String>,
    /// The last message of the visible thread.
    #[props(default)]
    pub is_last: bool,
}

#[component]
pub fn MessageBubble(props: MessageProps) -> Element {
    let m = &props.item.message;
    let streaming = props.live_text.is_some();
    let text = props.live_text.clone().unwrap_or_else(|| m.text());
    let reasoning = props
        .live_reasoning
        .clone()
        .unwrap_or_else(|| m.reasoning());
    let (role_class, role_label) = match m.role {
        Role::User => ("msg user", "You"),
        Role::Assistant => ("msg assistant", "Assistant"),
        Role::System => ("msg system", "System"),
    };
    let status = if streaming {
        MessageStatus::Streaming
    } else {
        m.status
    };
    let id = m.id.clone();
    let idx = props.item.sibling_index;
    let count = props.item.sibling_count;
    let prev = (idx > 0).then(|| props.item.sibling_ids[idx - 1].clone());
    let next = props.item.sibling_ids.get(idx + 1).cloned();
    let usage = m.usage.clone();
    let cost = m.cost;
    let error = m.error.clone();
    let is_assistant = m.role == Role::Assistant;
    let is_user = m.role == Role::User;
    // Which copy button just copied (the Markdown one is `true`): it says "Copied" until the
    // pointer or the focus leaves it (no timer: a component's task must not outlive it).
    let mut copied = use_signal(|| None::<bool>);
    let copy = {
        let text = text.clone();
        let services = use_services();
        let state = crate::state::use_app_state();
        move |markdown: bool| {
            let out = if is_assistant && !markdown {
                crate::engine::markdown::plain_text(&crate::engine::markdown::parse(&text))
            } else {
                text.clone()
            };
            match services.shell.copy_to_clipboard(&out) {
                Ok(()) => copied.set(Some(markdown)),
                Err(e) => state.toast_error(e),
            }
        }
    };
    // Only a change re-renders: crossing a button that copied nothing does not.
    let mut uncopy = move || {
        if copied.peek().is_some() {
            copied.set(None);
        }
    };
    let mut copy_md = copy.clone();
    let mut copy = copy;
    let files: Vec<AttachmentRef> = m.attachments().into_iter().cloned().collect();
    let can_continue = props.is_last && m.cut_at_limit();
    let mut confirm_delete = use_signal(|| false);

    rsx! {
        article {
            class: "{role_class} status-{status.as_str()}",
            id: "msg-{id}",
            "aria-label": "{role_label}",
            header { class: "msg-head",
                span { class: "msg-role", "{role_label}" }
                if let Some(model) = m.model.clone().filter(|_| is_assistant) {
                    span { class: "badge", "{model}" }
                }
                if count > 1 {
                    span { class: "alternatives", role: "group", "aria-label": "Alternative versions",
                        button {
                            class: "btn-icon",
                            disabled: prev.is_none() || props.busy,
                            "aria-label": "Previous version",
                            onclick: {
                                let prev = prev.clone();
                                move |_| if let Some(p) = prev.clone() { props.on_select.call(p) }
                            },
                            "‹"
                        }
                        span { "{idx + 1}/{count}" }
                        button {
                            class: "btn-icon",
                            disabled: next.is_none() || props.busy,
                            "aria-label": "Next version",
                            onclick: {
                                let next = next.clone();
                                move |_| if let Some(n) = next.clone() { props.on_select.call(n) }
                            },
                            "›"
                        }
                    }
                }
            }
            if !reasoning.is_empty() {
                details { class: "reasoning",
                    summary { if streaming { "Thinking…" } else { "Reasoning" } }
                    div { class: "reasoning-body", "{reasoning}" }
                }
            }
            if !files.is_empty() {
                ul { class: "msg-files", "aria-label": "Attached files",
                    for a in files {
                        li { key: "{a.sha256}-{a.name}", AttachmentView { file: a } }
                    }
                }
            }
            div { class: "msg-body",
                if is_user {
                    div { class: "plain", "{text}" }
                } else if text.is_empty() && streaming {
                    div { class: "typing", "aria-label": "Waiting for the reply", span {} span {} span {} }
                    if let Some(secs) = props.live_waited {
                        p { class: "hint waiting-note",
                            "No answer yet after {secs} s. A server that is loading its model can take a minute; Stop cancels."
                        }
                    }
                } else {
                    Markdown { text: text.clone() }
                }
            }
            match status {
                MessageStatus::Interrupted => rsx! {
                    div { class: "banner banner-warn", role: "status",
                        span { "{error.clone().unwrap_or_else(|| \"This reply was interrupted.\".into())}" }
                        button { class: "btn-small", disabled: props.busy, onclick: { let id = id.clone(); move |_| props.on_regenerate.call(id.clone()) }, "Retry" }
                    }
                },
                MessageStatus::Error => rsx! {
                    div { class: "banner banner-error", role: "alert",
                        span { "{error.clone().unwrap_or_else(|| \"The reply failed.\".into())}" }
                        button { class: "btn-small", disabled: props.busy, onclick: { let id = id.clone(); move |_| props.on_regenerate.call(id.clone()) }, "Retry" }
                    }
                },
                _ => rsx! {},
            }
            if can_continue && !streaming {
                div { class: "banner banner-warn", role: "status",
                    span { "This reply stopped at the token limit." }
                    button { class: "btn-small", disabled: props.busy, onclick: { let id = id.clone(); move |_| props.on_continue.call(id.clone()) }, "Continue" }
                }
            }
            footer { class: "msg-foot",
                if let Some(u) = usage {
                    span { class: "usage", title: if u.estimated { "Estimated from the text: the server reported no usage" } else { "Tokens in and out, as the server reported them" },
                        "{usage_summary(u.prompt_tokens, u.completion_tokens, cost, u.estimated)}" }
                }
                if !streaming {
                    div { class: "msg-actions", role: "group", "aria-label": "Message actions",
                        // (A reply that failed before its first words has nothing to copy.)
                        if !text.is_empty() {
                            button { class: "msg-action", r#type: "button", onclick: move |_| copy(false),
                                onmouseleave: move |_| uncopy(), onblur: move |_| uncopy(),
                                if copied() == Some(false) { "Copied" } else { "Copy" } }
                        }
                        if is_assistant && !text.is_empty() {
                            button { class: "msg-action", r#type: "button", title: "Copy the reply with its Markdown", onclick: move |_| copy_md(true),
                                onmouseleave: move |_| uncopy(), onblur: move |_| uncopy(),
                                if copied() == Some(true) { "Copied" } else { "Copy Markdown" } }
                        }
                        if is_assistant {
                            button { class: "msg-action", r#type: "button", disabled: props.busy, onclick: { let id = id.clone(); move |_| props.on_regenerate.call(id.clone()) }, "Regenerate" }
                        }
                        if is_user {
                            button { class: "msg-action", r#type: "button", disabled: props.busy, onclick: { let id = id.clone(); move |_| props.on_edit.call(id.clone()) }, "Edit" }
                        }
                        button { class: "msg-action", r#type: "button", disabled: props.busy, "aria-expanded": "{confirm_delete()}", onclick: move |_| confirm_delete.toggle(), "Delete" }
                    }
                }
            }
            if confirm_delete() && !streaming {
                div { class: "confirm", role: "alertdialog", "aria-label": "Delete this message",
                    p { if is_user { "Delete this message and the replies that follow it? Other versions stay." } else { "Delete this reply and what follows it? Other versions stay." } }
                    div { class: "form-actions",
                        button { class: "btn-small danger", r#type: "button", disabled: props.busy,
                            onclick: { let id = id.clone(); move |_| { confirm_delete.set(false); props.on_delete.call(id.clone()) } }, "Delete" }
                        button { class: "btn-small", r#type: "button", onclick: move |_| confirm_delete.set(false), "Keep it" }
                    }
                }
            }
        }
    }
}

/// A file a message carries: an image as a thumbnail (its content read from the store), a text
/// file by name and size, its text shown under it on a click (read from the store then).
#[component]
fn AttachmentView(file: AttachmentRef) -> Element {
    let services = use_services();
    let mut large = use_signal(|| false);
    let mut open = use_signal(|| false);
    let sha = file.sha256.clone();
    let is_image = file.is_image();
    let blob = crate::state::tasks::use_latest(move || {
        let services = services.clone();
        let sha = sha.clone();
        let wanted = is_image || open();
        async move {
            if wanted {
                services.store.attachment_data(sha).await.ok()
            } else {
                None
            }
        }
    });
    let size = crate::engine::portability::human_bytes(file.bytes);
    if is_image {
        let src = blob
            .read()
            .as_ref()
            .and_then(|b| b.as_ref())
            .map(|b| crate::engine::attachments::data_url(&b.mime, &b.data));
        return rsx! {
            figure { class: if large() { "msg-image large" } else { "msg-image" },
                if let Some(src) = src {
                    button { class: "image-button", r#type: "button", "aria-label": "Enlarge {file.name}",
                        "aria-pressed": "{large()}", onclick: move |_| large.toggle(),
                        img { src: "{src}", alt: "{file.name}" }
                    }
                } else {
                    div { class: "thumb-placeholder", "aria-hidden": "true" }
                }
                figcaption { "{file.name} · {size}" }
            }
        };
    }
    let text = blob
        .read()
        .as_ref()
        .and_then(|b| b.as_ref())
        .map(|b| String::from_utf8_lossy(&b.data).into_owned());
    rsx! {
        button { class: "attach-chip", r#type: "button", "aria-expanded": "{open()}",
            title: if open() { "Hide the file's text" } else { "Show the file's text" },
            onclick: move |_| open.toggle(),
            span { class: "file-icon", crate::components::icons::Icon { path: crate::components::icons::FILE, size: 16 } }
            span { class: "attach-name", "{file.name}" }
            span { class: "hint", "{size}" }
        }
        if open() {
            pre { class: "attach-text", "aria-label": "{file.name}",
                if let Some(text) = text { "{text}" } else { "Reading…" }
            }
        }
    }
}
