//! The chat view's flows through its controller, in a VirtualDom with the real ChatView: the
//! exact steps of the "vanishing thread" report (auto-titles off, new chat, one message, then
//! the temperature changed in Options, then another conversation and this one again) keep the
//! whole thread, on screen and in the store.

mod support;

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use dioxus::prelude::*;
use opencode_nexus::engine::model::*;
use opencode_nexus::platform::memory;
use opencode_nexus::state::chat::ChatController;
use opencode_nexus::state::AppState;
use opencode_nexus::views::ChatView;
use support::fault_server::{sse_chat_chunks, Fault, FaultServer, StreamEnd};

#[derive(Clone)]
struct Backend(Profile);

/// What the app logs, for the assertions that read it.
#[derive(Clone, Default)]
struct LogBuffer(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl LogBuffer {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl std::io::Write for LogBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogBuffer {
    type Writer = LogBuffer;
    fn make_writer(&'a self) -> LogBuffer {
        self.clone()
    }
}

/// Hands the root-scope controller and state to the test.
#[derive(Clone, Default)]
struct Handles(Rc<RefCell<Option<(ChatController, AppState)>>>);

#[component]
fn Harness() -> Element {
    let profile = use_context::<Backend>().0;
    let handles = use_context::<Handles>();
    let mut state = use_context_provider(AppState::new);
    let ctl = use_context_provider(ChatController::new);
    // The OpenCode hub `App` provides: the chat's message box starts sessions through it.
    let for_hub = use_context::<opencode_nexus::platform::Services>();
    use_context_provider(move || opencode_nexus::state::opencode::OpenCodeHub::new(for_hub, state));
    use_hook(move || {
        state.settings.write().auto_title = false;
        state.profiles.set(vec![profile]);
        *handles.0.borrow_mut() = Some((ctl, state));
    });
    rsx! {
        div { id: "running", "{ctl.running}" }
        ChatView {}
    }
}

/// The chat view in a VirtualDom over `services`, with `profile` as its backend; the
/// controller and state it runs on.
fn mount(
    services: &opencode_nexus::platform::Services,
    profile: Profile,
) -> (VirtualDom, ChatController, AppState) {
    let handles = Handles::default();
    let mut dom = VirtualDom::new(Harness)
        .with_root_context(services.clone())
        .with_root_context(Backend(profile))
        .with_root_context(handles.clone());
    dom.rebuild_in_place();
    let (ctl, state) = (*handles.0.borrow()).unwrap();
    (dom, ctl, state)
}

/// In-memory services with one backend on a scripted server that answers with `script`.
async fn scripted_backend(
    script: Vec<Fault>,
) -> (FaultServer, opencode_nexus::platform::Services, Profile) {
    let server = FaultServer::start(script).await;
    let mut profile = Profile::new("scripted", BackendKind::OpenAiCompatible, server.base_url());
    profile.default_model = Some("fault-model".into());
    let services = memory::services();
    services.store.save_profile(profile.clone()).await.unwrap();
    (server, services, profile)
}

/// "+ New chat", then `text` sent.
fn send_in_new_chat(
    dom: &VirtualDom,
    ctl: ChatController,
    state: AppState,
    services: &opencode_nexus::platform::Services,
    text: &str,
) {
    dom.in_scope(ScopeId::APP, || {
        ctl.new_chat(state);
        ctl.send(services.clone(), state, text.into());
    });
}

/// A scripted backend answering once with `stream`, another conversation ("Other") beside
/// it, and the chat view mounted with `+ New chat` and `prompt` sent.
async fn sending_beside_another(
    stream: Fault,
    prompt: &str,
) -> (
    FaultServer,
    opencode_nexus::platform::Services,
    Conversation,
    VirtualDom,
    ChatController,
    AppState,
) {
    let (server, services, profile) = scripted_backend(vec![stream]).await;
    let other = Conversation::new("Other");
    services
        .store
        .create_conversation(other.clone())
        .await
        .unwrap();
    let (dom, ctl, state) = mount(&services, profile);
    send_in_new_chat(&dom, ctl, state, &services, prompt);
    (server, services, other, dom, ctl, state)
}

fn html_of(dom: &VirtualDom) -> String {
    dioxus_ssr::render(dom)
}

async fn settle(dom: &mut VirtualDom, passes: usize) {
    for _ in 0..passes {
        let _ = tokio::time::timeout(Duration::from_millis(30), dom.wait_for_work()).await;
        dom.render_immediate(&mut dioxus::dioxus_core::NoOpMutations);
    }
}

/// Renders until the markup satisfies `done` (at most `passes` frames), then returns it; fails
/// with `what` and the markup otherwise.
async fn render_until(
    dom: &mut VirtualDom,
    passes: usize,
    what: &str,
    done: impl Fn(&str) -> bool,
) -> String {
    for _ in 0..passes {
        settle(dom, 1).await;
        let html = html_of(dom);
        if done(&html) {
            return html;
        }
    }
    panic!("{what}:\n{}", html_of(dom));
}

/// Renders until the reply is over and the markup shows `text`.
async fn until_finished_with(dom: &mut VirtualDom, text: &str) -> String {
    render_until(dom, 300, "the reply never finished", |html| {
        html.contains("id=\"running\">false") && html.contains(text)
    })
    .await
}

#[tokio::test(flavor = "current_thread")]
async fn changing_options_after_a_reply_keeps_the_thread() {
    // + New chat, one message; another conversation to switch to.
    let (_server, services, other, mut dom, ctl, state) = sending_beside_another(
        Fault::Stream {
            chunks: sse_chat_chunks(&["Hello ", "there."]),
            delay_ms: 5,
            then: StreamEnd::Finish,
        },
        "Say hello.",
    )
    .await;
    until_finished_with(&mut dom, "Hello there.").await;
    let id = ctl.conversation.peek().as_ref().unwrap().id.clone();

    // Options → Temperature 0.5 (the intent the field sends), and the model changed too.
    dom.in_scope(ScopeId::APP, || {
        let mut params = ctl.conversation.peek().as_ref().unwrap().params.clone();
        params.temperature = Some(0.5);
        ctl.set_params(state, services.clone(), params);
        ctl.set_model(state, services.clone(), "another-model".into());
    });
    settle(&mut dom, 10).await;

    // Another conversation, then this one again.
    dom.in_scope(ScopeId::APP, || {
        state.open_conversation(Some(other.id.clone()), None)
    });
    settle(&mut dom, 10).await;
    assert!(
        !html_of(&dom).contains("Hello there."),
        "the other conversation is shown"
    );
    dom.in_scope(ScopeId::APP, || {
        state.open_conversation(Some(id.clone()), None)
    });
    settle(&mut dom, 10).await;
    let html = html_of(&dom);
    assert!(html.contains("Say hello."), "the question is back:\n{html}");
    assert!(html.contains("Hello there."), "the reply is back:\n{html}");

    let saved = services.store.get_conversation(id.clone()).await.unwrap();
    assert!(saved.head_id.is_some(), "the head survived the edits");
    assert_eq!(saved.params.temperature, Some(0.5));
    assert_eq!(saved.model.as_deref(), Some("another-model"));
    assert_eq!(services.store.thread(id).await.unwrap().len(), 2);

    // A value outside its range is refused with a sentence and saves nothing.
    dom.in_scope(ScopeId::APP, || {
        let mut params = saved.params.clone();
        params.temperature = Some(7.0);
        ctl.set_params(state, services.clone(), params);
    });
    settle(&mut dom, 5).await;
    let toast = state.toast.peek().clone().expect("a toast");
    assert!(
        toast.text.contains("Temperature must be between 0 and 2"),
        "{toast:?}"
    );
    let again = services
        .store
        .get_conversation(saved.id.clone())
        .await
        .unwrap();
    assert_eq!(again.params.temperature, Some(0.5));
}

/// A new chat started from a preset, with one parameter changed in Options before the first
/// send: the request carries the preset's system prompt and parameters with the change, the
/// conversation remembers the preset, and the reply's tokens and cost show in the thread and
/// the header.
#[tokio::test(flavor = "current_thread")]
async fn a_chat_from_a_preset_sends_its_prompt_and_parameters_and_shows_usage() {
    let mut chunks = sse_chat_chunks(&["Ahoy ", "there."]);
    let done = chunks.pop().unwrap();
    chunks.push(
        "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":1200,\"completion_tokens\":34}}\n\n"
            .into(),
    );
    chunks.push(done);
    let server = FaultServer::start(vec![Fault::Stream {
        chunks,
        delay_ms: 5,
        then: StreamEnd::Finish,
    }])
    .await;
    let mut profile = Profile::new("scripted", BackendKind::OpenAiCompatible, server.base_url());
    profile.default_model = Some("fault-model".into());
    let services = memory::services();
    services.store.save_profile(profile.clone()).await.unwrap();
    services
        .store
        .set_price(ModelPrice {
            profile_id: profile.id.clone(),
            model: "fault-model".into(),
            input_per_million: 1.0,
            output_per_million: 2.0,
        })
        .await
        .unwrap();
    let mut pirate = Preset::new("Pirate");
    pirate.system_prompt = Some("Talk like a pirate.".into());
    pirate.params.temperature = Some(1.2);
    pirate.params.seed = Some(11);
    pirate.is_default = true;
    services.store.save_preset(pirate.clone()).await.unwrap();

    let (mut dom, ctl, state) = mount(&services, profile);
    dom.in_scope(ScopeId::APP, || {
        let mut presets = state.presets;
        presets.set(vec![pirate.clone()]);
    });

    // + New chat picks the default preset; Options then sets Top P before the first send, and
    // an out-of-range value is refused with a sentence, changing nothing.
    dom.in_scope(ScopeId::APP, || ctl.new_chat(state));
    settle(&mut dom, 2).await;
    assert_eq!(ctl.new_preset.peek().as_deref(), Some(pirate.id.as_str()));
    let html = html_of(&dom);
    assert!(html.contains("id=\"preset-picker\""), "{html}");
    dom.in_scope(ScopeId::APP, || {
        let p = ctl
            .new_params
            .peek()
            .with_text(ParamKey::TopP, "0.8")
            .unwrap();
        ctl.set_params(state, services.clone(), p);
        assert!(ctl
            .new_params
            .peek()
            .with_text(ParamKey::PresencePenalty, "3")
            .unwrap_err()
            .contains("Presence penalty must be between -2 and 2"));
        ctl.send(services.clone(), state, "Hello?".into());
    });
    until_finished_with(&mut dom, "Ahoy there.").await;
    settle(&mut dom, 3).await;

    let bodies: Vec<serde_json::Value> = server
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST")
        .map(|r| serde_json::from_str(&r.body).unwrap())
        .collect();
    assert_eq!(bodies.len(), 1, "{bodies:?}");
    assert_eq!(
        bodies[0]["messages"][0],
        serde_json::json!({"role": "system", "content": "Talk like a pirate."})
    );
    assert_eq!(bodies[0]["temperature"], 1.2);
    assert_eq!(bodies[0]["top_p"], 0.8);
    assert_eq!(bodies[0]["seed"], 11);
    assert!(bodies[0].get("presence_penalty").is_none());
    assert_eq!(
        bodies[0]["stream_options"],
        serde_json::json!({"include_usage": true})
    );

    let conv = ctl.conversation.peek().clone().unwrap();
    assert_eq!(conv.preset_id.as_deref(), Some(pirate.id.as_str()));
    assert_eq!(conv.system_prompt.as_deref(), Some("Talk like a pirate."));
    let saved = services
        .store
        .get_conversation(conv.id.clone())
        .await
        .unwrap();
    assert_eq!(saved.params.top_p, Some(0.8));
    assert_eq!(saved.params.temperature, Some(1.2));

    // Per reply and per conversation: 1,200 in, 34 out, at $1 / $2 per million tokens.
    let html = html_of(&dom);
    let line = "1,200 in · 34 out · $0.0013";
    assert!(
        html.matches(line).count() >= 2,
        "reply and header show the usage:\n{html}"
    );
}

/// A long conversation opens at its end before the rest is read: the first paint has the last
/// messages, then the whole thread is put in place without moving what is shown, and the
/// earlier messages are offered.
#[tokio::test(flavor = "current_thread")]
async fn a_long_conversation_shows_its_end_first_then_the_whole_thread() {
    let services = memory::services();
    let profile = Profile::new(
        "none",
        BackendKind::OpenAiCompatible,
        "http://127.0.0.1:9/v1",
    );
    let c = Conversation::new("Long");
    services.store.create_conversation(c.clone()).await.unwrap();
    let mut parent: Option<String> = None;
    for i in 0..300 {
        let role = if i % 2 == 0 {
            Role::User
        } else {
            Role::Assistant
        };
        let m = Message::new(&c.id, parent.clone(), role, &format!("message number {i}"));
        parent = Some(m.id.clone());
        services.store.save_message(m, true).await.unwrap();
    }

    // The app's log says what each open read before its first paint.
    let log = LogBuffer::default();
    let _subscriber = tracing::subscriber::set_default(
        tracing_subscriber::fmt()
            .with_writer(log.clone())
            .with_ansi(false)
            .finish(),
    );
    let (mut dom, ctl, state) = mount(&services, profile);
    dom.in_scope(ScopeId::APP, || {
        state.open_conversation(Some(c.id.clone()), None)
    });
    // What the first paint had: the end, 80 messages.
    let mut passes = 0;
    while !log.text().contains("conversation opened") {
        settle(&mut dom, 1).await;
        passes += 1;
        assert!(passes < 200, "the conversation never opened");
    }
    let opened = log.text();
    assert!(
        opened.contains(&format!("conversation={} messages=80 mounted=80", c.id)),
        "{opened}"
    );
    // Then the whole thread, with the same 80 mounted.
    while ctl.thread.peek().len() != 300 {
        settle(&mut dom, 1).await;
        passes += 1;
        assert!(passes < 400, "the whole thread never came");
    }
    assert_eq!(*ctl.window_start.peek(), 220);
    let html = html_of(&dom);
    assert!(html.contains("Show 220 earlier messages"), "{html}");
    assert!(html.contains("message number 220") && html.contains("message number 299"));
    assert!(
        !html.contains("message number 219"),
        "nothing above the window is mounted"
    );
    assert_eq!(
        ctl.thread
            .peek()
            .iter()
            .map(|t| t.message.id.clone())
            .collect::<Vec<_>>(),
        services
            .store
            .thread(c.id.clone())
            .await
            .unwrap()
            .iter()
            .map(|t| t.message.id.clone())
            .collect::<Vec<_>>()
    );
}

/// A server that accepts the request and then says nothing: after ten seconds the reply's
/// bubble says how long it has waited (it showed three dots until the two-minute timeout),
/// and the note goes when the words come.
#[tokio::test(flavor = "current_thread")]
async fn a_reply_that_keeps_the_user_waiting_says_so() {
    let mut pieces = sse_chat_chunks(&["", "Late answer."]);
    let first = pieces.remove(0);
    let (_server, services, profile) = scripted_backend(vec![Fault::Stream {
        chunks: vec![first, pieces.concat()],
        delay_ms: 11_500,
        then: StreamEnd::Finish,
    }])
    .await;
    let (mut dom, ctl, state) = mount(&services, profile);
    let rev_before = *state.history_rev.peek();
    send_in_new_chat(&dom, ctl, state, &services, "Are you there?");

    let waited = std::time::Instant::now();
    let mut saw = Vec::new();
    loop {
        settle(&mut dom, 1).await;
        let html = html_of(&dom);
        if let Some(at) = html.find("No answer yet after ") {
            saw.push(html[at..at + 24].to_string());
            // The new conversation is listed while its reply is still awaited.
            assert!(*state.history_rev.peek() > rev_before);
            let listed = services
                .store
                .list_conversations(ConversationFilter {
                    limit: 10,
                    ..ConversationFilter::default()
                })
                .await
                .unwrap();
            assert_eq!(listed.len(), 1);
        }
        if html.contains("Late answer.") && html.contains("id=\"running\">false") {
            assert!(
                !html.contains("No answer yet"),
                "the note goes with the dots: {html}"
            );
            break;
        }
        assert!(
            waited.elapsed() < Duration::from_secs(30),
            "the reply never came: {html}"
        );
    }
    let total = waited.elapsed();
    assert!(
        !saw.is_empty()
            && saw
                .iter()
                .all(|s| s.starts_with("No answer yet after 10 s")),
        "the bubble said so from ten seconds, in steps of ten: {saw:?}"
    );
    assert!(total >= Duration::from_secs(11), "{total:?}");
}

/// A reply that failed before its first words offers no Copy buttons (they copied nothing);
/// Regenerate and Delete stay, and the user's message keeps its Copy.
#[tokio::test(flavor = "current_thread")]
async fn a_reply_that_failed_empty_has_nothing_to_copy() {
    let (_server, services, profile) = scripted_backend(vec![Fault::Status {
        code: 500,
        headers: Vec::new(),
        body: r#"{"error":{"message":"model crashed"}}"#.into(),
    }])
    .await;
    let (mut dom, ctl, state) = mount(&services, profile);
    send_in_new_chat(&dom, ctl, state, &services, "Hello?");
    let html = until_finished_with(&mut dom, "model crashed").await;
    assert_eq!(html.matches(">Copy</button>").count(), 1, "{html}");
    assert!(!html.contains(">Copy Markdown</button>"), "{html}");
    assert!(html.contains(">Regenerate</button>"), "{html}");
}

/// "+ New chat" carries on with the backend and model of the conversation that was open (it
/// took the first backend in the list), unless Settings names a default backend.
#[tokio::test(flavor = "current_thread")]
async fn a_new_chat_keeps_the_backend_last_used_unless_a_default_is_set() {
    let services = memory::services();
    let first = Profile::new(
        "Agent",
        BackendKind::OpenAiCompatible,
        "http://127.0.0.1:9/v1",
    );
    let used = Profile::new(
        "Llama",
        BackendKind::OpenAiCompatible,
        "http://127.0.0.1:9/v1",
    );
    let (mut dom, mut ctl, mut state) = mount(&services, first.clone());
    let mut open = Conversation::new("Colours");
    open.profile_id = Some(used.id.clone());
    open.model = Some("smollm2".into());
    dom.in_scope(ScopeId::APP, || {
        state.profiles.set(vec![first.clone(), used.clone()]);
        ctl.conversation.set(Some(open.clone()));
        ctl.new_chat(state);
    });
    settle(&mut dom, 2).await;
    dom.in_scope(ScopeId::APP, || {
        assert!(ctl.conversation.peek().is_none(), "a new chat");
        assert_eq!(ctl.active_profile(&state).unwrap().name, "Llama");
        assert_eq!(ctl.active_model(&state).as_deref(), Some("smollm2"));
    });

    // With "Agent" as the default backend, a new chat from the same conversation uses it.
    dom.in_scope(ScopeId::APP, || {
        state.settings.write().default_profile = Some(first.id.clone());
        ctl.new_profile.set(None);
        ctl.new_model.set(None);
        ctl.conversation.set(Some(open.clone()));
        ctl.new_chat(state);
    });
    settle(&mut dom, 2).await;
    dom.in_scope(ScopeId::APP, || {
        assert!(ctl.conversation.peek().is_none(), "a new chat");
        assert_eq!(ctl.active_profile(&state).unwrap().name, "Agent");
    });
}

/// "Continue" on a model that only writes its reply again (SmolLM2 does, with a small Max
/// tokens): the repeat is not added, the reply stays as it was, and the view says why instead
/// of seeming to do nothing.
#[tokio::test(flavor = "current_thread")]
async fn a_continue_that_only_repeats_the_reply_says_so() {
    let cut = |pieces: &[&str]| {
        let mut chunks: Vec<String> = pieces
            .iter()
            .map(|p| {
                format!(
                    "data: {{\"choices\":[{{\"index\":0,\"delta\":{{\"content\":{}}},\"finish_reason\":null}}]}}\n\n",
                    serde_json::to_string(p).unwrap()
                )
            })
            .collect();
        chunks.push(
            "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"length\"}]}\n\n"
                .into(),
        );
        chunks.push("data: [DONE]\n\n".into());
        Fault::Stream {
            chunks,
            delay_ms: 2,
            then: StreamEnd::Finish,
        }
    };
    let (_server, services, profile) = scripted_backend(vec![
        cut(&["A hash map is ", "a data structure"]),
        cut(&["A hash", " map is a", " data struc"]),
    ])
    .await;
    let (mut dom, ctl, state) = mount(&services, profile);
    send_in_new_chat(&dom, ctl, state, &services, "Explain what a hash map is.");
    until_finished_with(&mut dom, "stopped at the token limit").await;
    let reply = ctl.thread.peek().last().unwrap().message.clone();
    dom.in_scope(ScopeId::APP, || {
        ctl.continue_reply(services.clone(), state, reply.id.clone())
    });
    let html = render_until(&mut dom, 300, "no sentence after Continue", |html| {
        html.contains("id=\"running\">false") && html.contains("nothing was added")
    })
    .await;
    assert!(
        html.contains(opencode_nexus::engine::chat::CONTINUE_ADDED_NOTHING),
        "{html}"
    );
    let saved = services.store.get_message(reply.id.clone()).await.unwrap();
    assert_eq!(saved.text(), "A hash map is a data structure");
    assert_eq!(saved.status, MessageStatus::Complete);
    assert!(saved.cut_at_limit(), "still offered to continue");
    assert_eq!(
        html.matches("A hash map is a data structure").count(),
        1,
        "{html}"
    );
}

/// The open conversation changed elsewhere (renamed in History, a sync that merged another
/// device's messages): the chat shows the new title and the new messages. Its header kept the
/// old title while the sidebar had the new one.
#[tokio::test(flavor = "current_thread")]
async fn the_open_conversation_follows_changes_made_elsewhere() {
    let (_server, services, profile) = scripted_backend(vec![Fault::Stream {
        chunks: sse_chat_chunks(&["Hello ", "there."]),
        delay_ms: 2,
        then: StreamEnd::Finish,
    }])
    .await;
    let (mut dom, ctl, state) = mount(&services, profile);
    send_in_new_chat(&dom, ctl, state, &services, "Say hello.");
    until_finished_with(&mut dom, "Hello there.").await;
    let conv = ctl.conversation.peek().clone().unwrap();

    // What History's rename and a merged message from another device do to the store.
    services
        .store
        .rename_conversation(conv.id.clone(), "Greetings, renamed elsewhere".into())
        .await
        .unwrap();
    let from_phone = Message::new(
        &conv.id,
        conv.head_id.clone(),
        Role::User,
        "Asked on the phone",
    );
    services.store.save_message(from_phone, true).await.unwrap();
    dom.in_scope(ScopeId::APP, || state.touch_history());
    let html = render_until(&mut dom, 100, "the chat did not follow", |html| {
        html.contains("Greetings, renamed elsewhere") && html.contains("Asked on the phone")
    })
    .await;
    assert!(html.contains("Hello there."), "{html}");

    // Deleted by a sync while on screen: closed, with a sentence.
    services
        .store
        .delete_conversation(conv.id.clone())
        .await
        .unwrap();
    dom.in_scope(ScopeId::APP, || state.touch_history());
    render_until(&mut dom, 100, "the deleted conversation stayed", |html| {
        html.contains("“Greetings, renamed elsewhere” was deleted on another device.")
            && !html.contains("Hello there.")
    })
    .await;
    assert!(state.conversation.peek().is_none());
}

#[tokio::test(flavor = "current_thread")]
async fn with_no_backend_the_header_says_so_instead_of_showing_empty_pickers() {
    let services = memory::services();
    let profile = Profile::new(
        "local",
        BackendKind::OpenAiCompatible,
        "http://127.0.0.1:9/v1",
    );
    let (mut dom, _ctl, state) = mount(&services, profile.clone());
    // The first frame, before the history has opened, keeps the pickers (the prerendered copy
    // of it in index.html has them): whether there is a backend is not known yet.
    dom.in_scope(ScopeId::APP, || {
        let (mut loaded, mut profiles) = (state.loaded, state.profiles);
        loaded.set(false);
        profiles.set(Vec::new());
    });
    settle(&mut dom, 2).await;
    let html = html_of(&dom);
    assert!(html.contains("id=\"profile-picker\""), "{html}");
    assert!(!html.contains("No backend yet"), "{html}");

    // Opened with none: a note, no empty backend list and no model box.
    dom.in_scope(ScopeId::APP, || {
        let mut loaded = state.loaded;
        loaded.set(true);
    });
    settle(&mut dom, 2).await;
    let html = html_of(&dom);
    assert!(html.contains("No backend yet"), "{html}");
    assert!(!html.contains("id=\"profile-picker\""), "{html}");
    assert!(!html.contains("id=\"model-picker\""), "{html}");
    assert!(html.contains(">Add a backend</button>"), "{html}");

    // Once one is added, its pickers come back.
    dom.in_scope(ScopeId::APP, || {
        let mut profiles = state.profiles;
        profiles.set(vec![profile]);
    });
    settle(&mut dom, 2).await;
    let html = html_of(&dom);
    assert!(!html.contains("No backend yet"), "{html}");
    assert!(html.contains("id=\"profile-picker\""), "{html}");
    assert!(html.contains("id=\"model-picker\""), "{html}");
}

/// A reply still being written in one conversation while another is open: the other offers no
/// Stop (it would stop the first one's reply) and says why Send waits; back in the first, Stop
/// is there and stops that reply.
#[tokio::test(flavor = "current_thread")]
async fn stop_is_offered_only_in_the_conversation_whose_reply_is_being_written() {
    let (_server, services, other, mut dom, ctl, state) = sending_beside_another(
        Fault::Stream {
            chunks: sse_chat_chunks(&["Still ", "writing"]),
            delay_ms: 5,
            then: StreamEnd::Stall,
        },
        "Write a lot.",
    )
    .await;
    let html = render_until(&mut dom, 300, "the reply did not begin", |html| {
        html.contains("Still writing")
    })
    .await;
    assert!(html.contains(">Stop</button>"), "{html}");
    assert!(
        !html.contains(opencode_nexus::views::chat::BUSY_ELSEWHERE),
        "{html}"
    );
    let first = ctl.conversation.peek().as_ref().unwrap().id.clone();

    dom.in_scope(ScopeId::APP, || {
        state.open_conversation(Some(other.id.clone()), None)
    });
    let html = render_until(
        &mut dom,
        100,
        "the other conversation did not open",
        |html| !html.contains("Write a lot."),
    )
    .await;
    assert!(*ctl.running.peek(), "the first reply goes on");
    assert!(!html.contains(">Stop</button>"), "{html}");
    assert!(
        html.contains(opencode_nexus::views::chat::BUSY_ELSEWHERE),
        "{html}"
    );

    dom.in_scope(ScopeId::APP, || {
        state.open_conversation(Some(first.clone()), None)
    });
    let html = render_until(
        &mut dom,
        100,
        "the first conversation did not come back",
        |html| html.contains("Write a lot.") && html.contains(">Stop</button>"),
    )
    .await;
    assert!(
        !html.contains(opencode_nexus::views::chat::BUSY_ELSEWHERE),
        "{html}"
    );
    dom.in_scope(ScopeId::APP, || ctl.stop());
    render_until(&mut dom, 300, "Stop did not end the reply", |html| {
        html.contains("id=\"running\">false")
    })
    .await;
    let thread = services.store.thread(first).await.unwrap();
    assert_eq!(
        thread.last().unwrap().message.status,
        MessageStatus::Interrupted
    );
    assert!(thread
        .last()
        .unwrap()
        .message
        .text()
        .starts_with("Still writing"));
}

/// A search hit in a version of the conversation that is not the one shown (History's search
/// finds every version): opening it shows that version, with the hit.
#[tokio::test(flavor = "current_thread")]
async fn opening_a_hit_in_another_version_shows_that_version() {
    let services = memory::services();
    let profile = Profile::new(
        "none",
        BackendKind::OpenAiCompatible,
        "http://127.0.0.1:9/v1",
    );
    let c = Conversation::new("Greetings");
    services.store.create_conversation(c.clone()).await.unwrap();
    let first = Message::new(&c.id, None, Role::User, "Say hello in French.");
    services
        .store
        .save_message(first.clone(), true)
        .await
        .unwrap();
    let hit = Message::new(&c.id, Some(first.id.clone()), Role::Assistant, "Bonjour !");
    services
        .store
        .save_message(hit.clone(), true)
        .await
        .unwrap();
    // The question edited into a second version, which is the one shown.
    let edited = Message::new(&c.id, None, Role::User, "Say hello in German.");
    services
        .store
        .save_message(edited.clone(), true)
        .await
        .unwrap();
    let reply = Message::new(&c.id, Some(edited.id.clone()), Role::Assistant, "Hallo!");
    services.store.save_message(reply, true).await.unwrap();
    let hits = services.store.search("bonjour".into(), 10).await.unwrap();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].message_id, hit.id);

    let (mut dom, _ctl, state) = mount(&services, profile);
    dom.in_scope(ScopeId::APP, || {
        state.open_conversation(Some(c.id.clone()), Some(hits[0].message_id.clone()))
    });
    let html = render_until(&mut dom, 100, "the hit's version was not shown", |html| {
        html.contains("Bonjour !")
    })
    .await;
    assert!(html.contains("Say hello in French."), "{html}");
    assert!(!html.contains("Hallo!"), "{html}");
    // Chosen as if by its "‹ 1/2 ›": the conversation opens there next time too.
    let thread = services.store.thread(c.id.clone()).await.unwrap();
    assert_eq!(thread.last().unwrap().message.id, hit.id);
}
