//! The navigation between the views: a side rail on wide screens, a bottom bar on phones.

use dioxus::prelude::*;

use super::icons::{self, Icon};
use crate::engine::model::BackendKind;
use crate::state::opencode::OpenCodeHub;
use crate::state::{use_app_state, View};

#[component]
pub fn NavBar() -> Element {
    let state = use_app_state();
    let current = *state.view.read();
    // Approvals appear once an OpenCode server is set up; the badge counts what waits on all.
    let opencode = state
        .profiles
        .read()
        .iter()
        .any(|p| p.kind == BackendKind::OpenCode);
    // A memo, so the bar re-renders when the count changes, not on every server update.
    let hub = try_use_context::<OpenCodeHub>();
    let waiting = *use_memo(move || hub.map_or(0, |h| h.pending_count())).read();
    // What last stood in the chat's place (the chat, or an OpenCode session opened from it):
    // Chat goes back there from the other views.
    let mut last_chat_view = use_signal(|| View::Chat);
    use_effect(move || {
        let v = *state.view.read();
        if matches!(v, View::Chat | View::Session) && *last_chat_view.peek() != v {
            last_chat_view.set(v);
        }
    });
    let item = move |view: View, label: &'static str, icon: &'static str, badge: usize| {
        let icon_path = icon;
        let mut view_signal = state.view;
        let active = current == view || (view == View::Chat && current == View::Session);
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
                        View::Approvals => "open-approvals",
                        #[allow(unreachable_patterns)]
                        _ => "open-view",
                    });
                    let to = if view == View::Chat {
                        let open = hub.is_some_and(|h| h.open.peek().is_some());
                        current.chat_destination(*last_chat_view.peek(), open)
                    } else {
                        view
                    };
                    view_signal.set(to)
                },
                span { class: "nav-icon", Icon { path: icon_path, size: 22 } }
                span { class: "nav-label", "data-label": label, "{label}" }
                if badge > 0 {
                    span { class: "nav-badge", "aria-label": "{badge} waiting", "{badge}" }
                }
            }
        }
    };
    rsx! {
        nav { class: "nav", "aria-label": "Main",
            div { class: "brand", "aria-hidden": "true", "◆" }
            {item(View::Chat, "Chat", icons::CHAT, 0)}
            {item(View::History, "History", icons::HISTORY, 0)}
            if opencode {
                {item(View::Approvals, "Approvals", icons::SHIELD, waiting)}
            }
            {item(View::Settings, "Settings", icons::SETTINGS, 0)}
        }
    }
}
