//! The navigation between the three views: a side rail on wide screens, a bottom bar on phones.

use dioxus::prelude::*;

use crate::app::{use_app_state, View};

#[component]
pub fn NavBar() -> Element {
    let state = use_app_state();
    let current = *state.view.read();
    let item = move |view: View, label: &'static str, icon: &'static str| {
        let icon_path = icon;
        let mut view_signal = state.view;
        let active = current == view;
        rsx! {
            button {
                class: if active { "nav-item active" } else { "nav-item" },
                "aria-current": if active { "page" } else { "false" },
                "aria-label": label,
                title: label,
                onclick: move |_| {
                    crate::crash::set_last_action(match view {
                        View::Chat => "open-chat",
                        View::History => "open-history",
                        View::Settings => "open-settings",
                        #[allow(unreachable_patterns)]
                        _ => "open-view",
                    });
                    view_signal.set(view)
                },
                svg {
                    class: "nav-icon",
                    "aria-hidden": "true",
                    view_box: "0 0 24 24",
                    width: "22",
                    height: "22",
                    fill: "none",
                    stroke: "currentColor",
                    stroke_width: "1.8",
                    stroke_linecap: "round",
                    stroke_linejoin: "round",
                    path { d: icon_path }
                }
                span { class: "nav-label", "{label}" }
            }
        }
    };
    rsx! {
        nav { class: "nav", "aria-label": "Main",
            div { class: "brand", "aria-hidden": "true", "◆" }
            {item(View::Chat, "Chat", ICON_CHAT)}
            {item(View::History, "History", ICON_HISTORY)}
            {item(View::Settings, "Settings", ICON_SETTINGS)}
        }
    }
}

// Stroke icons drawn on a 24×24 grid (no icon font or emoji font needed).
const ICON_CHAT: &str = "M4 5h16v11H9l-5 4z";
const ICON_HISTORY: &str = "M3 12a9 9 0 1 0 3-6.7M3 4v4h4M12 7v5l3 3";
const ICON_SETTINGS: &str = "M12 9a3 3 0 1 0 0 6 3 3 0 0 0 0-6zM19.4 15a1.7 1.7 0 0 0 .3 1.8l.1.1a2 2 0 1 1-2.8 2.8l-.1-.1a1.7 1.7 0 0 0-1.8-.3 1.7 1.7 0 0 0-1 1.5V21a2 2 0 1 1-4 0v-.1a1.7 1.7 0 0 0-1.1-1.5 1.7 1.7 0 0 0-1.8.3l-.1.1a2 2 0 1 1-2.8-2.8l.1-.1a1.7 1.7 0 0 0 .3-1.8 1.7 1.7 0 0 0-1.5-1H3a2 2 0 1 1 0-4h.1a1.7 1.7 0 0 0 1.5-1.1 1.7 1.7 0 0 0-.3-1.8l-.1-.1a2 2 0 1 1 2.8-2.8l.1.1a1.7 1.7 0 0 0 1.8.3H9a1.7 1.7 0 0 0 1-1.5V3a2 2 0 1 1 4 0v.1a1.7 1.7 0 0 0 1 1.5 1.7 1.7 0 0 0 1.8-.3l.1-.1a2 2 0 1 1 2.8 2.8l-.1.1a1.7 1.7 0 0 0-.3 1.8V9a1.7 1.7 0 0 0 1.5 1H21a2 2 0 1 1 0 4h-.1a1.7 1.7 0 0 0-1.5 1z";
