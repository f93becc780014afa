//! Driving the app's real components in a VirtualDom (read back with dioxus-ssr) while their
//! tasks talk to real servers.
#![allow(dead_code)]

use std::time::Duration;

use dioxus::prelude::VirtualDom;

/// How long a screen may take to show what a test waits for: the first token of a reply can
/// take many seconds on a loaded 2-core machine.
pub const SCREEN_TIMEOUT: Duration = Duration::from_secs(240);

/// Lets the app's tasks run for a moment and applies what they changed.
pub async fn pump(dom: &mut VirtualDom) {
    let _ = tokio::time::timeout(Duration::from_millis(50), dom.wait_for_work()).await;
    dom.render_immediate(&mut dioxus::dioxus_core::NoOpMutations);
}

/// Renders until `done` holds for the HTML (entities in one form), failing with the last HTML
/// after [`SCREEN_TIMEOUT`].
pub async fn render_until(dom: &mut VirtualDom, what: &str, done: impl Fn(&str) -> bool) -> String {
    let deadline = tokio::time::Instant::now() + SCREEN_TIMEOUT;
    loop {
        pump(dom).await;
        // SSR escapes with named or numeric entities; compare one form.
        let html = dioxus_ssr::render(dom)
            .replace("&#39;", "'")
            .replace("&#34;", "&quot;")
            .replace("&#60;", "&lt;")
            .replace("&#62;", "&gt;")
            .replace("&#96;", "`");
        if done(&html) {
            return html;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}:\n{html}"
        );
    }
}

/// What `App` provides to the OpenCode screens, for a harness component: the services, the
/// app state with `profile` as the only backend, and the hub keeping a live connection to it.
/// Call it from the harness's body (it uses hooks).
pub fn provide_opencode_app(
    services: opencode_nexus::platform::Services,
    profile: opencode_nexus::engine::model::Profile,
) -> (
    opencode_nexus::state::AppState,
    opencode_nexus::state::opencode::OpenCodeHub,
) {
    use dioxus::prelude::*;
    use opencode_nexus::state::opencode::OpenCodeHub;
    use opencode_nexus::state::AppState;

    let for_hub = use_context_provider(|| services.clone());
    let state = use_context_provider(AppState::new);
    let hub = use_context_provider(move || OpenCodeHub::new(for_hub, state));
    use_hook(move || {
        let mut p = state.profiles;
        p.set(vec![profile]);
    });
    use_effect(move || {
        let profiles = state.profiles.read().clone();
        hub.sync_profiles(&services, &profiles);
    });
    (state, hub)
}
