//! The keyboard shortcut sheet (Ctrl/Cmd+/): every shortcut the app has, in one place.

use dioxus::prelude::*;

use crate::state::use_app_state;

/// (keys, what they do), in the order the sheet lists them.
pub const SHORTCUTS: &[(&str, &str)] = &[
    (
        "Enter",
        "Send (Shift+Enter for a new line; Ctrl+Enter when Enter is set to add lines)",
    ),
    ("Esc", "Stop the reply; close this sheet"),
    ("↑ in an empty composer", "Edit your last message"),
    (
        "Ctrl/Cmd+K",
        "Search conversations (the list beside the chat, or History)",
    ),
    ("Ctrl/Cmd+N", "New chat"),
    ("Ctrl/Cmd+/", "Show or hide these shortcuts"),
    (
        "↑ ↓ and Enter",
        "Move through a conversation list and open one",
    ),
    (
        "Delete (History)",
        "Delete the selected conversation, with Undo",
    ),
];

#[component]
pub fn ShortcutSheet() -> Element {
    let mut state = use_app_state();
    if !*state.shortcuts.read() {
        return rsx! {};
    }
    rsx! {
        div { class: "sheet-backdrop", onclick: move |_| state.shortcuts.set(false),
            div {
                class: "sheet", role: "dialog", "aria-modal": "true", "aria-labelledby": "shortcuts-h",
                onclick: move |e| e.stop_propagation(),
                onkeydown: move |e: KeyboardEvent| if e.key() == Key::Escape { state.shortcuts.set(false) },
                h3 { id: "shortcuts-h", "Keyboard shortcuts" }
                table { class: "shortcut-table",
                    tbody {
                        for (keys, what) in SHORTCUTS.iter() {
                            tr { key: "{keys}",
                                th { scope: "row", kbd { "{keys}" } }
                                td { "{what}" }
                            }
                        }
                    }
                }
                div { class: "form-actions",
                    button { class: "btn-small", r#type: "button",
                        // Focused when the sheet opens (`autofocus` does not move a focus
                        // already in the message box), so Enter or Esc closes it at once.
                        onmounted: super::focus_on_mount,
                        onclick: move |_| state.shortcuts.set(false), "Close" }
                }
            }
        }
    }
}
