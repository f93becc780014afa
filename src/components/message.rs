//! One message of the thread: role styling, markdown body, reasoning (collapsible), status and
//! error banner with Retry, token usage, and the alternatives switcher (‹ 2/3 ›).

use dioxus::prelude::*;

use super::Markdown;
use crate::engine::model::{MessageStatus, Role, ThreadMessage};

#[derive(Props, Clone, PartialEq)]
pub struct MessageProps {
    pub item: ThreadMessage,
    /// Text streamed so far when this reply is in flight (replaces the stored text).
    #[props(default)]
    pub live_text: Option<String>,
    #[props(default)]
    pub live_reasoning: Option<String>,
    #[props(default)]
    pub busy: bool,
    pub on_regenerate: EventHandler<String>,
    pub on_edit: EventHandler<String>,
    pub on_select: EventHandler<String>,
    pub on_copy: EventHandler<String>,
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
    let error = m.error.clone();
    let is_assistant = m.role == Role::Assistant;
    let is_user = m.role == Role::User;
    let copy_text = text.clone();

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
            div { class: "msg-body",
                if is_user {
                    div { class: "plain", "{text}" }
                } else if text.is_empty() && streaming {
                    div { class: "typing", "aria-label": "Waiting for the reply", span {} span {} span {} }
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
            footer { class: "msg-foot",
                if let Some(u) = usage {
                    span { class: "usage", title: "Prompt + completion tokens", "{u.prompt_tokens} + {u.completion_tokens} tokens" }
                }
                if !streaming {
                    button { class: "btn-link", onclick: move |_| props.on_copy.call(copy_text.clone()), "Copy" }
                    if is_assistant {
                        button { class: "btn-link", disabled: props.busy, onclick: { let id = id.clone(); move |_| props.on_regenerate.call(id.clone()) }, "Regenerate" }
                    }
                    if is_user {
                        button { class: "btn-link", disabled: props.busy, onclick: { let id = id.clone(); move |_| props.on_edit.call(id.clone()) }, "Edit" }
                    }
                }
            }
        }
    }
}
