//! The inline rename form of a list row (a conversation in History, an OpenCode session):
//! Enter or Save renames, Esc or Cancel leaves the title as it was, an empty title is ignored.

use dioxus::prelude::*;

#[component]
pub fn RenameForm(
    /// The input's id, unique on the page.
    input_id: String,
    /// The current title, the starting text.
    initial: String,
    on_save: EventHandler<String>,
    on_cancel: EventHandler<()>,
) -> Element {
    let mut text = use_signal(|| initial.clone());
    rsx! {
        form {
            class: "rename",
            onsubmit: move |e| {
                e.prevent_default();
                let v = text.peek().trim().to_owned();
                if v.is_empty() {
                    on_cancel.call(());
                } else {
                    on_save.call(v);
                }
            },
            label { class: "sr-only", r#for: "{input_id}", "New title" }
            // Keys typed here edit the title; the list's shortcuts (Enter opens, Delete deletes,
            // arrows move) must not see them.
            input {
                id: "{input_id}",
                // The starting text only: bound to `text`, a key typed before the previous
                // one's input event came back would be dropped.
                initial_value: "{initial}",
                // Focused with the title selected, so typing replaces it (`autofocus` does not
                // take the focus from the button that opened the form).
                onmounted: {
                    let id = input_id.clone();
                    move |_| crate::state::focus_when_shown(&id, true)
                },
                oninput: move |e| text.set(e.value()),
                onkeydown: move |e: KeyboardEvent| {
                    e.stop_propagation();
                    if e.key() == Key::Escape {
                        on_cancel.call(());
                    }
                },
            }
            button { class: "btn-small", r#type: "submit", "Save" }
            button { class: "btn-small", r#type: "button", onclick: move |_| on_cancel.call(()), "Cancel" }
        }
    }
}
