//! The navigation between the three views: a side rail on wide screens, a bottom bar on phones.

use dioxus::prelude::*;

use crate::app::{use_app_state, View};

#[component]
pub fn NavBar() -> Element {
    let state = use_app_state();
    let current = *state.view.read();
    let item = move |view: View, label: &'static str, icon: &'static str| {
        let mut view_signal = state.view;
        let active = current == view;
        rsx! {
            button {
                class: if active { "nav-item active" } else { "nav-item" },
                "aria-current": if active { "page" } else { "false" },
                "aria-label": label,
                title: label,
                onclick: move |_| view_signal.set(view),
                span { class: "nav-icon", "aria-hidden": "true", "{icon}" }
                span { class: "nav-label", "{label}" }
            }
        }
    };
    rsx! {
        nav { class: "nav", "aria-label": "Main",
            div { class: "brand", "aria-hidden": "true", "◆" }
            {item(View::Chat, "Chat", "💬")}
            {item(View::History, "History", "🕘")}
            {item(View::Settings, "Settings", "⚙")}
        }
    }
}
