//! The chat view under a 5,000 tokens/s stream: the reply is painted progressively but once
//! per frame at most, never once per token, and every token ends up on screen. The real
//! ChatView and ChatController run in a VirtualDom; the scripted server streams 2,000 tokens,
//! five to a network write, a millisecond apart.

mod support;

use std::time::Duration;

use dioxus::prelude::*;
use opencode_nexus::engine::model::*;
use opencode_nexus::platform::{memory, Services};
use opencode_nexus::state::chat::ChatController;
use opencode_nexus::state::AppState;
use opencode_nexus::views::ChatView;
use support::fault_server::{sse_chat_chunks, Fault, FaultServer, StreamEnd};

const TOKENS: usize = 2_000;

#[derive(Clone)]
struct Backend(Profile);

#[component]
fn Harness() -> Element {
    let services = use_context::<Services>();
    let profile = use_context::<Backend>().0;
    let mut state = use_context_provider(AppState::new);
    let ctl = use_context_provider(ChatController::new);
    // The OpenCode hub `App` provides: the chat's message box starts sessions through it.
    let for_hub = services.clone();
    use_context_provider(move || opencode_nexus::state::opencode::OpenCodeHub::new(for_hub, state));
    use_hook(move || {
        state.settings.write().auto_title = false;
        state.profiles.set(vec![profile]);
        ctl.send(services, state, "Count for me.".into());
    });
    rsx! {
        div { id: "frames", "{ctl.frames}" }
        div { id: "running", "{ctl.running}" }
        ChatView {}
    }
}

fn between<'a>(html: &'a str, start: &str) -> &'a str {
    let rest = &html[html.find(start).expect(start) + start.len()..];
    &rest[..rest.find('<').unwrap()]
}

#[tokio::test(flavor = "current_thread")]
async fn a_fast_stream_is_painted_once_per_frame_and_completely() {
    let pieces: Vec<String> = (0..TOKENS).map(|i| format!("t{i} ")).collect();
    let refs: Vec<&str> = pieces.iter().map(String::as_str).collect();
    let events = sse_chat_chunks(&refs);
    // Five events per network write, a millisecond apart: 5,000 tokens per second.
    let chunks: Vec<String> = events.chunks(5).map(|c| c.concat()).collect();
    let server = FaultServer::start(vec![Fault::Stream {
        chunks,
        delay_ms: 1,
        then: StreamEnd::Finish,
    }])
    .await;
    let mut profile = Profile::new("fast", BackendKind::OpenAiCompatible, server.base_url());
    profile.default_model = Some("fault-model".into());

    let services = memory::services();
    services.store.save_profile(profile.clone()).await.unwrap();
    let mut dom = VirtualDom::new(Harness)
        .with_root_context(services)
        .with_root_context(Backend(profile));
    dom.rebuild_in_place();

    let mut renders = 0u32;
    let mut started = false;
    let html = loop {
        let _ = tokio::time::timeout(Duration::from_millis(50), dom.wait_for_work()).await;
        dom.render_immediate(&mut dioxus::dioxus_core::NoOpMutations);
        renders += 1;
        let html = dioxus_ssr::render(&dom);
        let running = between(&html, "id=\"running\">") == "true";
        started |= running;
        if started && !running {
            break html;
        }
        assert!(renders < 200, "the reply never finished:\n{html}");
    };
    assert!(
        html.contains("t0 t1 t2") && html.contains(&format!("t{}", TOKENS - 1)),
        "every token is on screen:\n{html}"
    );
    let frames: u64 = between(&html, "id=\"frames\">").parse().unwrap();
    assert!(
        frames >= 2,
        "the reply was painted while it streamed ({frames} frames)"
    );
    assert!(
        frames <= (TOKENS / 10) as u64,
        "{frames} paints for {TOKENS} tokens: deltas are not coalesced per frame"
    );
    println!("{TOKENS} tokens painted in {frames} frames ({renders} VirtualDom passes)");
}
