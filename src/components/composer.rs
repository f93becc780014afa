//! The message box both the chat and an OpenCode session use: a textarea that sends on the
//! send key, Stop (or Abort) while a reply runs, an optional note above it and the caller's
//! pickers in its bar. Callers keep the draft signal and decide what sending means.

use dioxus::prelude::*;

/// Whether `e` is the send key: Enter (not Shift/Alt+Enter, which add a line, and not while an
/// input method is composing) when `enter_sends`, otherwise Ctrl/Cmd+Enter.
pub fn is_send_key(e: &KeyboardEvent, enter_sends: bool) -> bool {
    if e.key() != Key::Enter {
        return false;
    }
    let mods = e.modifiers();
    if enter_sends {
        !mods.shift() && !mods.alt() && !e.is_composing()
    } else {
        mods.ctrl() || mods.meta()
    }
}

/// Replace a composer's text from code (restore a draft, clear after sending, edit).
///
/// The textarea is deliberately not bound to the signal: re-applying the signal's value on each
/// render races with fast typing on desktop (the webview is a step ahead of the last `input`
/// event) and drops characters. Typing only flows DOM → signal; code sets the DOM directly.
pub fn set_composer_text(input_id: &str, mut draft: Signal<String>, text: String) {
    let literal = serde_json::to_string(&text).unwrap_or_else(|_| "\"\"".into());
    let id = serde_json::to_string(input_id).unwrap_or_else(|_| "\"\"".into());
    draft.set(text);
    let _ = document::eval(&format!(
        "const el = document.getElementById({id}); if (el) {{ el.value = {literal}; }}"
    ));
}

/// Characters after which the composer shows a count.
const LONG_INPUT: usize = 2_000;

#[derive(Props, Clone, PartialEq)]
pub struct ComposerBoxProps {
    /// The textarea's id (for labels, focus and [`set_composer_text`]).
    pub input_id: &'static str,
    /// What has been typed; the box writes it on every input.
    pub draft: Signal<String>,
    /// Enter sends (else Ctrl/Cmd+Enter).
    pub enter_sends: bool,
    /// A touch screen with no mouse: the placeholder names no keys.
    #[props(default)]
    pub touch: bool,
    /// A reply or run is in flight: the bar shows `stop_label` instead of Send.
    pub busy: bool,
    /// Why nothing can be typed (shown as the placeholder), if so.
    #[props(default)]
    pub disabled_reason: Option<String>,
    /// Send is greyed out (e.g. while a prompt is being handed to the server).
    #[props(default)]
    pub send_disabled: bool,
    #[props(default = "Stop")]
    pub stop_label: &'static str,
    #[props(default)]
    pub stop_disabled: bool,
    /// Send stays available while busy (an OpenCode session queues the next prompt).
    #[props(default)]
    pub send_while_busy: bool,
    #[props(default)]
    pub autofocus: bool,
    pub on_submit: EventHandler<()>,
    pub on_stop: EventHandler<()>,
    /// Every change of the text (to save a draft).
    #[props(default)]
    pub on_input: Option<EventHandler<String>>,
    /// Keys the box does not handle itself (Escape while idle, arrows).
    #[props(default)]
    pub on_other_key: Option<EventHandler<KeyboardEvent>>,
    /// Shown above the textarea (e.g. "Editing a message").
    #[props(default)]
    pub note: Option<String>,
    /// A Cancel button beside the note, for what the note says is under way (an edit): Esc
    /// does the same, but a phone has no Esc key.
    #[props(default)]
    pub on_cancel_note: Option<EventHandler<()>>,
    /// The caller's controls in the bar, before the buttons (model and agent pickers).
    #[props(default)]
    pub children: Element,
    /// Shown above the textarea: the files about to be sent.
    #[props(default = VNode::empty())]
    pub tray: Element,
    /// Send is available with no text (files are attached).
    #[props(default)]
    pub has_files: bool,
    /// Files dropped on the box.
    #[props(default)]
    pub on_drop_files: Option<EventHandler<Vec<dioxus::html::FileData>>>,
}

#[component]
pub fn ComposerBox(props: ComposerBoxProps) -> Element {
    let mut draft = props.draft;
    let len = draft.read().chars().count();
    let placeholder = props.disabled_reason.clone().unwrap_or_else(|| {
        if props.touch {
            "Message".to_owned()
        } else if props.enter_sends {
            "Message (Enter to send, Shift+Enter for a new line)".to_owned()
        } else {
            "Message (Ctrl/Cmd+Enter to send)".to_owned()
        }
    });
    let disabled = props.disabled_reason.is_some();
    let (busy, enter_sends) = (props.busy, props.enter_sends);
    let (on_submit, on_stop) = (props.on_submit, props.on_stop);
    let (on_input, on_other_key) = (props.on_input, props.on_other_key);
    let on_drop_files = props.on_drop_files;
    let mut dragging = use_signal(|| false);
    rsx! {
        form {
            class: if dragging() { "composer dragging" } else { "composer" },
            onsubmit: move |e| { e.prevent_default(); on_submit.call(()); },
            ondragover: move |e| {
                if on_drop_files.is_some() {
                    e.prevent_default();
                    dragging.set(true);
                }
            },
            ondragleave: move |_| dragging.set(false),
            ondrop: move |e| {
                dragging.set(false);
                if let Some(h) = on_drop_files {
                    e.prevent_default();
                    let files = e.data_transfer().files();
                    if !files.is_empty() {
                        h.call(files);
                    }
                }
            },
            if let Some(note) = props.note.clone() {
                div { class: "editing-note",
                    span { role: "status", "{note}" }
                    if let Some(cancel) = props.on_cancel_note {
                        button { class: "btn-small", r#type: "button", onclick: move |_| cancel.call(()), "Cancel" }
                    }
                }
            }
            {props.tray}
            label { class: "sr-only", r#for: props.input_id, "Message" }
            textarea {
                id: props.input_id,
                rows: "3",
                autofocus: props.autofocus,
                placeholder: "{placeholder}",
                disabled,
                oninput: move |e| {
                    let v = e.value();
                    draft.set(v.clone());
                    if let Some(h) = on_input {
                        h.call(v);
                    }
                },
                onkeydown: move |e: KeyboardEvent| {
                    if is_send_key(&e, enter_sends) {
                        e.prevent_default();
                        on_submit.call(());
                    } else if e.key() == Key::Escape && busy {
                        on_stop.call(());
                    } else if let Some(h) = on_other_key {
                        h.call(e);
                    }
                },
            }
            div { class: "composer-bar",
                if len > LONG_INPUT {
                    span { class: "char-count", "aria-live": "polite", "{len} characters" }
                }
                {props.children}
                if busy {
                    button {
                        r#type: "button",
                        class: "btn-danger",
                        disabled: props.stop_disabled,
                        onclick: move |_| on_stop.call(()),
                        "{props.stop_label}"
                    }
                }
                if !busy || props.send_while_busy {
                    button {
                        r#type: "submit",
                        class: "btn-primary",
                        disabled: disabled || props.send_disabled || (len == 0 && !props.has_files),
                        "Send"
                    }
                }
            }
        }
    }
}
