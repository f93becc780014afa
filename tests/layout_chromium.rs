//! Layout checks of the real stylesheet (`assets/main.css`) on components rendered by
//! dioxus-ssr, measured in headless Chromium at desktop size and on an emulated phone. They
//! need no web bundle: the page is the component's markup and the stylesheet, opened as a
//! `data:` URL. What can only be seen once laid out (a label running over its box) is caught
//! here.

mod support;

use dioxus::prelude::*;
use opencode_nexus::engine::model::{BackendKind, Profile};
use opencode_nexus::state::{AppState, View};
use serde_json::Value;
use support::browser::{browser, js};

/// The navigation as `App` shows it with an OpenCode backend set up (so Approvals is there),
/// Approvals the view on screen.
#[component]
fn NavHarness() -> Element {
    let state = use_context_provider(AppState::new);
    use_hook(move || {
        let mut profiles = state.profiles;
        profiles.set(vec![Profile::new(
            "Agent box",
            BackendKind::OpenCode,
            "http://127.0.0.1:9",
        )]);
        let mut view = state.view;
        view.set(View::Approvals);
    });
    rsx! { opencode_nexus::components::nav::NavBar {} }
}

fn nav_page() -> String {
    let mut dom = VirtualDom::new(NavHarness);
    dom.rebuild_in_place();
    let nav = dioxus_ssr::render(&dom);
    assert!(nav.contains("aria-label=\"Approvals\""), "{nav}");
    let css =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/assets/main.css")).unwrap();
    format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\"><style>{css}</style></head>\
         <body><div class=\"app theme-light\" style=\"--font-size: 15px;\">{nav}<main class=\"main\"></main></div></body></html>"
    )
}

/// For each tab: its name, whether its label lies within it, and its width.
const MEASURE: &str = r#"
    return [...document.querySelectorAll('.nav-item')].map(item => {
        const tab = item.getBoundingClientRect();
        const label = item.querySelector('.nav-label').getBoundingClientRect();
        const inside = label.left >= tab.left - 0.5 && label.right <= tab.right + 0.5;
        return [item.getAttribute('aria-label'), inside, Math.round(tab.width * 10) / 10,
                Math.round(label.width * 10) / 10];
    });
"#;

/// Makes `name`'s tab the active one, as a click on it does.
fn activate(name: &str) -> String {
    format!(
        "document.querySelectorAll('.nav-item').forEach(i => i.classList.toggle('active', i.getAttribute('aria-label') === '{name}')); return true;"
    )
}

/// "Approvals", bold on its active tab, ran over the edges of the 76 px rail's tab. Every label
/// fits its tab, at desktop size and on a 390 px phone, and choosing another view does not
/// change a tab's width.
#[tokio::test]
async fn every_navigation_label_fits_its_tab_on_desktop_and_phone() {
    use base64::Engine as _;
    let page = format!(
        "data:text/html;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(nav_page())
    );
    for (width, height, phone) in [(1280, 900, false), (390, 844, true)] {
        let b = browser(width, height, phone).await;
        let c = &b.client;
        c.goto(&page).await.unwrap();
        let with_approvals = js(c, MEASURE).await;
        let tabs = with_approvals.as_array().expect("tabs measured");
        assert_eq!(tabs.len(), 4, "{with_approvals}");
        for tab in tabs {
            assert_eq!(
                tab[1],
                Value::Bool(true),
                "at {width} px the label of {} runs over its tab (tab, label widths): {with_approvals}",
                tab[0]
            );
        }
        js(c, &activate("Chat")).await;
        let with_chat = js(c, MEASURE).await;
        let widths = |v: &Value| -> Vec<Value> {
            v.as_array().unwrap().iter().map(|t| t[2].clone()).collect()
        };
        assert_eq!(
            widths(&with_approvals),
            widths(&with_chat),
            "at {width} px a tab's width changed with the view: {with_approvals} then {with_chat}"
        );
        for tab in with_chat.as_array().unwrap() {
            assert_eq!(tab[1], Value::Bool(true), "at {width} px: {with_chat}");
        }
        b.client.clone().close().await.unwrap();
    }
}
