//! A button for something that cannot be taken back (removing a backend, deleting a key): it
//! asks first. The question, the action's own button and Cancel take its place until one is
//! chosen; Cancel takes the focus, so a stray Enter destroys nothing.

use dioxus::prelude::*;

#[component]
pub fn ConfirmButton(
    /// The button's text, also the confirming button's ("Remove").
    label: String,
    /// The button's accessible name when its text alone is ambiguous ("Remove Work laptop").
    #[props(default)]
    aria_label: Option<String>,
    /// What will happen, as a question ("Remove “Work laptop”? …").
    question: String,
    on_confirm: EventHandler<()>,
) -> Element {
    let mut asking = use_signal(|| false);
    // After Cancel the focus goes back to the button (the one it was on has gone).
    let mut refocus = use_signal(|| false);
    if asking() {
        rsx! {
            div { class: "confirm", role: "alert",
                span { "{question}" }
                button { class: "btn-small danger-filled", r#type: "button",
                    onclick: move |_| { asking.set(false); on_confirm.call(()) }, "{label}" }
                button { class: "btn-small", r#type: "button",
                    onmounted: super::focus_on_mount,
                    onclick: move |_| { refocus.set(true); asking.set(false) }, "Cancel" }
            }
        }
    } else {
        rsx! {
            button { class: "btn-small danger", r#type: "button", "aria-label": aria_label.unwrap_or_else(|| label.clone()),
                onmounted: move |e: MountedEvent| {
                    if *refocus.peek() {
                        refocus.set(false);
                        super::focus_on_mount(e);
                    }
                },
                onclick: move |_| asking.set(true), "{label}" }
        }
    }
}
