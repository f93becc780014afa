//! The navigation between the three views: a side rail on wide screens, a bottom bar on phones.

use dioxus::prelude::*;

use super::icons::{self, Icon};
use crate::state::{use_app_state, View};

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
                span { class: "nav-icon", Icon { path: icon_path, size: 22 } }
                span { class: "nav-label", "{label}" }
            }
        }
    };
    rsx! {
        nav { class: "nav", "aria-label": "Main",
            div { class: "brand", "aria-hidden": "true", "◆" }
            {item(View::Chat, "Chat", icons::CHAT)}
            {item(View::History, "History", icons::HISTORY)}
            {item(View::Settings, "Settings", icons::SETTINGS)}
        }
    }
}
