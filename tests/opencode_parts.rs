//! Rendering tests of the OpenCode session pieces (`components::parts`) in a VirtualDom, read
//! back with dioxus-ssr. Messages come from real captures of `opencode serve` 1.18.33
//! (`tests/fixtures/opencode/`, replayed through the real decoder and reducer); part types the
//! small test model never produces (tools, files, patches, permissions, questions) are written
//! by hand and first checked against the server's own OpenAPI schemas, so they are shaped like
//! what a server sends. Whatever the server or model sends must come out as inert text.

use dioxus::prelude::*;
use opencode_nexus::components::parts::{
    settle_unfinished, PartView, PartViewProps, PermissionCard, PermissionTitle,
    PermissionTitleProps, QuestionCard, RunStatus, RunStatusProps, SessionMessage,
    SessionMessageProps, UNFINISHED_TOOL,
};
use opencode_nexus::engine::opencode::api::{
    Event, MessageInfo, MessageWithParts, Part, PermissionRequest, QuestionRequest, SessionStatus,
};
use opencode_nexus::engine::opencode::client::EventDecoder;
use opencode_nexus::engine::opencode::state::{waiting_calls, SessionView, WaitingCall};
use opencode_nexus::platform::memory;
use serde_json::{json, Value};

mod support;
use support::openapi::{openapi, validate_component};

fn fixture(name: &str) -> String {
    let path = format!(
        "{}/tests/fixtures/opencode/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {path}: {e}"))
}

/// The captured chat's reply as it is while still being written (no completion time).
fn unfinished_reply() -> MessageWithParts {
    let view = replay("event-roundtrip-chat-agent.sse");
    let mut reply = view.messages[1].clone();
    match &mut reply.info {
        MessageInfo::Assistant(a) => a.time.completed = None,
        MessageInfo::User(_) => panic!("the capture's second message is the reply"),
    }
    reply
}

/// The session state after replaying a captured `/event` stream.
fn replay(name: &str) -> SessionView {
    let mut decoder = EventDecoder::<Event>::new();
    let mut events: Vec<Event> = decoder
        .push(fixture(name).as_bytes())
        .into_iter()
        .map(|r| r.expect("captured event parses"))
        .collect();
    events.extend(decoder.finish().map(|r| r.expect("last event parses")));
    let session_id = events
        .iter()
        .find_map(|e| match e {
            Event::MessageUpdated { info } => Some(info.session_id().to_owned()),
            _ => None,
        })
        .expect("capture has a message");
    let mut view = SessionView::new(session_id);
    for e in &events {
        view.apply(e);
    }
    view
}

/// SSR output with entities normalised, so assertions can use one escaped form.
fn html_of(dom: &VirtualDom) -> String {
    dioxus_ssr::render(dom)
        .replace("&#60;", "&lt;")
        .replace("&#62;", "&gt;")
        .replace("&#34;", "&quot;")
        .replace("&#39;", "'")
}

fn render_message(message: MessageWithParts) -> String {
    render_paused(message, None)
}

fn render_paused(message: MessageWithParts, paused: Option<String>) -> String {
    render_held(message, paused, Vec::new())
}

fn render_held(
    message: MessageWithParts,
    paused: Option<String>,
    held: Vec<WaitingCall>,
) -> String {
    let mut dom = VirtualDom::new_with_props(
        SessionMessage,
        SessionMessageProps {
            message,
            paused,
            held,
        },
    )
    .with_root_context(memory::services());
    dom.rebuild_in_place();
    html_of(&dom)
}

fn render_part(part: Part) -> String {
    let mut dom = VirtualDom::new_with_props(
        PartView,
        PartViewProps {
            part,
            user: false,
            wait: None,
        },
    )
    .with_root_context(memory::services());
    dom.rebuild_in_place();
    html_of(&dom)
}

/// The inside of every element tag, lowercased. Escaped text never contains a raw '<', so
/// each of these is a real element.
fn live_tags(html: &str) -> Vec<String> {
    html.split('<')
        .skip(1)
        .filter_map(|rest| rest.split_once('>').map(|(t, _)| t.to_ascii_lowercase()))
        .collect()
}

fn assert_inert(html: &str) {
    for tag in live_tags(html) {
        let name: String = tag
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        assert!(
            !["script", "img", "iframe", "object", "embed", "base", "meta", "style"]
                .contains(&name.as_str()),
            "live element <{tag}> in {html}"
        );
        assert!(!tag.contains("javascript:"), "javascript URL in <{tag}>");
        let handler = tag
            .split_whitespace()
            .skip(1)
            .any(|attr| attr.starts_with("on") && attr.contains('='));
        assert!(!handler, "event handler in <{tag}>");
    }
}

/// A hand-written part: checked against the server's schema, then parsed as a known type.
fn schema_part(component: &str, v: Value) -> Part {
    let doc = openapi();
    let errors = validate_component(&doc, component, &v);
    assert!(
        errors.is_empty(),
        "{component} example violates the schema: {errors:?}"
    );
    let part: Part = serde_json::from_value(v).expect("part JSON");
    assert!(
        !matches!(part, Part::Unknown(_)),
        "{component} parsed as unknown"
    );
    part
}

fn ids(kind: &str) -> Value {
    json!({"id": format!("prt_{kind}1"), "sessionID": "ses_render", "messageID": "msg_render1"})
}

fn with_ids(kind: &str, body: Value) -> Value {
    let mut v = ids(kind);
    if let (Some(o), Some(b)) = (v.as_object_mut(), body.as_object()) {
        o.extend(b.clone());
    }
    v
}

#[test]
fn a_captured_round_trip_renders_user_text_markdown_reply_and_step_usage() {
    let view = replay("event-roundtrip-chat-agent.sse");
    assert_eq!(view.messages.len(), 2, "user + assistant");
    let user = render_message(view.messages[0].clone());
    assert!(user.contains("class=\"msg user"), "{user}");
    assert!(user.contains(&view.messages[0].text()), "{user}");

    let reply = view.messages[1].clone();
    let text = reply.text();
    assert!(!text.is_empty());
    let html = render_message(reply);
    assert!(
        html.contains("class=\"msg assistant status-complete\""),
        "{html}"
    );
    assert!(
        html.contains("class=\"md\""),
        "reply text goes through markdown: {html}"
    );
    let first_words: String = text
        .split_whitespace()
        .take(2)
        .collect::<Vec<_>>()
        .join(" ");
    assert!(html.contains(&first_words), "{first_words} in {html}");
    assert!(html.contains("Step finished (stop)"), "{html}");
    assert!(html.contains("smollm2-135m"), "model badge: {html}");
    assert!(html.contains("chat"), "agent badge: {html}");
    assert_inert(&html);

    // GET /session/{id}/message from the same server renders the same way.
    let fetched: Vec<MessageWithParts> =
        serde_json::from_str(&fixture("session-messages.json")).expect("messages");
    for m in fetched {
        let html = render_message(m.clone());
        assert!(
            html.contains(m.text().split_whitespace().next().unwrap_or("")),
            "{html}"
        );
    }
}

#[test]
fn an_aborted_capture_shows_the_stop_as_a_sentence() {
    // The capture ends with `session.error` (MessageAbortedError) and `session.idle`; the
    // message itself is never updated with the error, so the screen settles it.
    let view = replay("event-abort.sse");
    let mut messages = view.messages.clone();
    settle_unfinished(&mut messages, &view.status, view.last_error.as_ref());
    let reply = messages.last().expect("assistant").clone();
    assert!(reply.info.as_assistant().is_some());
    let html = render_message(reply);
    assert!(html.contains("status-interrupted"), "{html}");
    assert!(
        html.contains("The reply was stopped before it finished."),
        "{html}"
    );
    assert!(
        !html.contains("MessageAbortedError"),
        "no raw error names: {html}"
    );
}

#[test]
fn a_reply_that_waits_on_the_user_or_the_server_shows_still_dots_that_say_why() {
    // The captured reply as it was before its first words: begun, not finished, no text.
    let mut reply = unfinished_reply();
    reply.parts.retain(|p| p.text().is_none());
    let running = render_message(reply.clone());
    assert!(
        running.contains("class=\"typing\" aria-label=\"Waiting for the reply\""),
        "{running}"
    );
    let why = "Paused: the agent waits for your answer below";
    let paused = render_paused(reply, Some(why.into()));
    assert!(paused.contains("class=\"typing paused\""), "{paused}");
    assert!(
        paused.contains(&format!("aria-label=\"{why}\"")),
        "{paused}"
    );
    assert!(!paused.contains("Waiting for the reply"), "{paused}");
    // The stylesheet stops the animation of paused dots.
    let css =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/assets/main.css")).unwrap();
    assert!(
        css.contains(".typing.paused span { animation: none;"),
        "main.css"
    );
}

#[test]
fn tool_calls_of_a_reply_that_stopped_unfinished_no_longer_say_running() {
    let tool = |kind: &str, state: Value| {
        schema_part(
            "ToolPart",
            with_ids(
                kind,
                json!({"type": "tool", "callID": format!("call_{kind}"), "tool": "bash", "state": state}),
            ),
        )
    };
    let mut reply = unfinished_reply();
    reply.parts = vec![
        tool(
            "run",
            json!({"status": "running", "input": {"command": "make"}, "title": "Build", "time": {"start": 1}}),
        ),
        tool("wait", json!({"status": "pending", "input": {}, "raw": ""})),
        tool(
            "done",
            json!({"status": "completed", "input": {"command": "ls"}, "output": "a", "title": "List", "metadata": {}, "time": {"start": 1, "end": 2}}),
        ),
    ];
    // While the session is busy the calls run on.
    let mut messages = vec![reply.clone()];
    settle_unfinished(&mut messages, &SessionStatus::Busy, None);
    assert!(render_message(messages[0].clone()).contains(">Running<"));
    // Idle with the reply unfinished (its server went away, or it was stopped): the reply
    // says so, and so do the calls that were left running or pending.
    let mut messages = vec![reply];
    settle_unfinished(&mut messages, &SessionStatus::Idle, None);
    let html = render_message(messages[0].clone());
    assert!(
        !html.contains(">Running<") && !html.contains(">Pending<"),
        "{html}"
    );
    assert_eq!(html.matches(UNFINISHED_TOOL).count(), 2, "{html}");
    assert!(html.contains(">Completed<"), "{html}");
    assert!(html.contains("The reply did not finish."), "{html}");
}

#[test]
fn retry_status_from_the_llm_down_capture_shows_attempt_message_and_time() {
    let mut decoder = EventDecoder::<Event>::new();
    let status = decoder
        .push(fixture("event-llm-down.sse").as_bytes())
        .into_iter()
        .filter_map(Result::ok)
        .find_map(|e| match e {
            Event::SessionStatus { status, .. }
                if matches!(status, SessionStatus::Retry { .. }) =>
            {
                Some(status)
            }
            _ => None,
        })
        .expect("a retry status");
    let mut dom = VirtualDom::new_with_props(RunStatus, RunStatusProps { status });
    dom.rebuild_in_place();
    let html = html_of(&dom);
    assert!(
        html.contains("Attempt 1 failed: Cannot connect to API"),
        "{html}"
    );
    assert!(html.contains("UTC"), "next try time: {html}");
    assert!(html.contains("Abort"), "{html}");
}

#[test]
fn reasoning_is_collapsible_and_steps_are_quiet() {
    let reasoning = schema_part(
        "ReasoningPart",
        with_ids(
            "reasoning",
            json!({"type": "reasoning", "text": "Let me think <b>hard</b>.", "time": {"start": 1, "end": 2}}),
        ),
    );
    let html = render_part(reasoning);
    assert!(html.contains("<details class=\"part reasoning\""), "{html}");
    assert!(html.contains("<summary>Reasoning</summary>"), "{html}");
    assert!(
        html.contains("Let me think &lt;b&gt;hard&lt;/b&gt;."),
        "{html}"
    );

    let start = schema_part(
        "StepStartPart",
        with_ids("start", json!({"type": "step-start"})),
    );
    assert_eq!(render_part(start).trim(), "", "step-start shows nothing");
    let snapshot = schema_part(
        "SnapshotPart",
        with_ids("snap", json!({"type": "snapshot", "snapshot": "abc"})),
    );
    assert_eq!(render_part(snapshot).trim(), "");
}

#[test]
fn tool_calls_show_state_title_input_output_and_errors() {
    let tool = |state: Value| {
        schema_part(
            "ToolPart",
            with_ids(
                "tool",
                json!({"type": "tool", "callID": "call_1", "tool": "bash", "state": state}),
            ),
        )
    };
    let pending = render_part(tool(
        json!({"status": "pending", "input": {}, "raw": "{\"comm"}),
    ));
    assert!(
        pending.contains("tool-pending") && pending.contains(">Pending<"),
        "{pending}"
    );
    assert!(pending.contains("Input so far"), "{pending}");

    let running = render_part(tool(json!({
        "status": "running", "input": {"command": "ls -la"}, "title": "List files", "time": {"start": 1}
    })));
    assert!(
        running.contains("tool-running") && running.contains(">Running<"),
        "{running}"
    );
    assert!(running.contains("List files"), "{running}");
    assert!(
        running.contains("<summary>Input</summary>") && running.contains("ls -la"),
        "{running}"
    );

    let completed = render_part(tool(json!({
        "status": "completed", "input": {"filePath": "src/a.rs"}, "output": "<script>alert(1)</script>\nok",
        "title": "Edit src/a.rs", "metadata": {"diff": "--- a/src/a.rs\n+++ b/src/a.rs\n@@ -1 +1 @@\n-old\n+new"},
        "time": {"start": 1, "end": 2}
    })));
    assert!(
        completed.contains("tool-completed") && completed.contains(">Completed<"),
        "{completed}"
    );
    assert!(
        completed.contains("<summary>Output</summary>"),
        "{completed}"
    );
    assert!(
        completed.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{completed}"
    );
    assert!(
        completed.contains("class=\"diff-add\"") && completed.contains("+new"),
        "{completed}"
    );
    assert!(
        completed.contains("class=\"diff-del\"") && completed.contains("-old"),
        "{completed}"
    );
    assert_inert(&completed);

    let failed = render_part(tool(json!({
        "status": "error", "input": {"command": "rm -rf /"}, "error": "Permission denied", "time": {"start": 1, "end": 2}
    })));
    assert!(
        failed.contains("tool-error") && failed.contains(">Failed<"),
        "{failed}"
    );
    assert!(
        failed.contains("The tool failed: Permission denied"),
        "{failed}"
    );
}

#[test]
fn files_patches_agents_subtasks_retries_and_compaction_render() {
    let file = render_part(schema_part(
        "FilePart",
        with_ids(
            "file",
            json!({"type": "file", "mime": "image/png", "filename": "shot.png", "url": "data:image/png;base64,AAAA"}),
        ),
    ));
    assert!(
        file.contains("shot.png") && file.contains("image/png"),
        "{file}"
    );
    assert!(
        !file.contains("href=\"data:"),
        "data URLs are not links: {file}"
    );
    let web = render_part(schema_part(
        "FilePart",
        with_ids(
            "web",
            json!({"type": "file", "mime": "text/html", "url": "https://example.com/page"}),
        ),
    ));
    assert!(web.contains("href=\"https://example.com/page\""), "{web}");
    let local = render_part(schema_part(
        "FilePart",
        with_ids(
            "local",
            json!({"type": "file", "mime": "text/plain", "url": "javascript:alert(1)", "filename": "x.txt"}),
        ),
    ));
    assert!(
        !local.contains("href"),
        "only http(s) becomes a link: {local}"
    );

    let patch = render_part(schema_part(
        "PatchPart",
        with_ids(
            "patch",
            json!({"type": "patch", "hash": "0123456789abcdef", "files": ["src/a.rs", "src/b.rs"]}),
        ),
    ));
    assert!(
        patch.contains("Changed 2 files") && patch.contains("src/b.rs"),
        "{patch}"
    );
    assert!(patch.contains("0123456789"), "{patch}");

    let agent = render_part(schema_part(
        "AgentPart",
        with_ids("agent", json!({"type": "agent", "name": "explore"})),
    ));
    assert!(agent.contains("@explore"), "{agent}");

    let subtask = render_part(schema_part(
        "SubtaskPart",
        with_ids(
            "sub",
            json!({"type": "subtask", "prompt": "Find the bug", "description": "bug hunt", "agent": "general"}),
        ),
    ));
    assert!(
        subtask.contains("Subtask for agent “general”: bug hunt"),
        "{subtask}"
    );
    assert!(subtask.contains("Find the bug"), "{subtask}");

    let retry = render_part(schema_part(
        "RetryPart",
        with_ids(
            "retry",
            json!({"type": "retry", "attempt": 2, "time": {"created": 5},
            "error": {"name": "APIError", "data": {"message": "Overloaded", "statusCode": 529, "isRetryable": true}}}),
        ),
    ));
    assert!(
        retry.contains(
            "Attempt 2 failed: The model provider returned an error (HTTP 529): Overloaded"
        ),
        "{retry}"
    );

    let compaction = render_part(schema_part(
        "CompactionPart",
        with_ids("compact", json!({"type": "compaction", "auto": true})),
    ));
    assert!(
        compaction.contains("compacted automatically"),
        "{compaction}"
    );
}

#[test]
fn an_unknown_part_type_shows_its_name_and_raw_json_as_text() {
    let raw = json!({
        "id": "prt_unknown1", "sessionID": "ses_render", "messageID": "msg_render1",
        "type": "hologram", "payload": "<img src=x onerror=alert(1)>"
    });
    let part: Part = serde_json::from_value(raw).expect("any object is a part");
    assert!(matches!(part, Part::Unknown(_)));
    let html = render_part(part);
    assert!(html.contains("parts of type “hologram”"), "{html}");
    assert!(html.contains("<summary>Raw data</summary>"), "{html}");
    assert!(
        html.contains("&lt;img src=x onerror=alert(1)&gt;"),
        "{html}"
    );
    assert_inert(&html);
}

#[test]
fn hostile_reply_text_renders_inert_and_errors_read_as_sentences() {
    let msg: MessageWithParts = serde_json::from_value(json!({
        "info": {"id": "msg_h1", "sessionID": "ses_h", "role": "assistant", "time": {"created": 1, "completed": 2},
                 "modelID": "m", "providerID": "p", "cost": 0.5, "tokens": {"input": 10, "output": 5, "reasoning": 0, "cache": {"read": 0, "write": 0}},
                 "error": {"name": "ProviderAuthError", "data": {"providerID": "openai", "message": "bad key"}}},
        "parts": [{"id": "prt_h1", "sessionID": "ses_h", "messageID": "msg_h1", "type": "text",
                   "text": "Hi <script>window.x=1</script> [x](javascript:alert(1)) <iframe src=\"javascript:alert(2)\"></iframe>",
                   "time": {"start": 1, "end": 2}}]
    }))
    .expect("message");
    let html = render_message(msg);
    assert_inert(&html);
    assert!(
        html.contains("&lt;script&gt;window.x=1&lt;/script&gt;"),
        "{html}"
    );
    assert!(html.contains("class=\"unsafe-link\""), "{html}");
    assert!(html.contains("banner banner-error"), "{html}");
    assert!(
        !html.contains("ProviderAuthError"),
        "no raw error names: {html}"
    );
    assert!(
        html.contains("openai"),
        "the sentence names the provider: {html}"
    );
    assert!(
        html.contains("15 tokens") && html.contains("$0.50"),
        "usage and cost: {html}"
    );
}

#[derive(Clone)]
struct Permission(PermissionRequest);

#[component]
fn PermissionHarness() -> Element {
    let request = use_context::<Permission>().0;
    rsx! { PermissionCard { request, on_reply: |_| {} } }
}

/// A request and a question of a server that is out of reach, as the session screen and
/// Approvals show them.
#[component]
fn OfflineHarness() -> Element {
    let request = use_context::<Permission>().0;
    let question = use_context::<Question>().0;
    rsx! {
        PermissionCard { request, offline: true, on_reply: |_| {} }
        QuestionCard { request: question, offline: true, on_answer: |_| {}, on_reject: |_| {} }
    }
}

/// Every answer button of `html`, as (label, disabled).
fn answer_buttons(html: &str) -> Vec<(String, bool)> {
    html.split("<button")
        .skip(1)
        .map(|b| {
            let (attrs, rest) = b.split_once('>').unwrap();
            let label = rest.split_once("</button>").unwrap().0.to_owned();
            (label, attrs.contains("disabled"))
        })
        .collect()
}

#[test]
fn requests_of_a_server_out_of_reach_wait_with_their_answers_greyed_out() {
    let request: PermissionRequest = serde_json::from_value(json!({
        "id": "per_off", "sessionID": "ses_off", "permission": "bash",
        "patterns": ["ls"], "metadata": {}, "always": [],
    }))
    .expect("request");
    let question: QuestionRequest = serde_json::from_value(json!({
        "id": "que_off", "sessionID": "ses_off",
        "questions": [{"question": "Which branch?", "header": "Git",
                       "options": [{"label": "main", "description": ""}]}]
    }))
    .expect("question");
    let mut dom = VirtualDom::new(OfflineHarness)
        .with_root_context(Permission(request.clone()))
        .with_root_context(Question(question));
    dom.rebuild_in_place();
    let html = html_of(&dom);
    let buttons = answer_buttons(&html);
    let labels: Vec<&str> = buttons.iter().map(|(l, _)| l.as_str()).collect();
    assert_eq!(
        labels,
        [
            "Allow once",
            "Always allow",
            "Reject",
            "Send answer",
            "Dismiss"
        ],
        "{html}"
    );
    assert!(buttons.iter().all(|(_, off)| *off), "{buttons:?}");
    assert_eq!(
        html.matches("Out of reach: answer once the server is back")
            .count(),
        2,
        "{html}"
    );

    // Connected, the same request's answers are live and no hint is shown.
    let mut dom = VirtualDom::new(PermissionHarness).with_root_context(Permission(request));
    dom.rebuild_in_place();
    let html = html_of(&dom);
    assert!(answer_buttons(&html).iter().all(|(_, off)| !off), "{html}");
    assert!(!html.contains("Out of reach"), "{html}");
}

#[test]
fn a_permission_request_shows_what_the_tool_wants_and_three_answers() {
    let raw = json!({
        "id": "per_1", "sessionID": "ses_render", "permission": "bash",
        "patterns": ["git push --force"], "metadata": {"command": "git push --force <b>origin</b>"},
        "always": ["git push *"], "tool": {"messageID": "msg_render1", "callID": "call_1"}
    });
    let doc = openapi();
    assert_eq!(
        validate_component(&doc, "PermissionRequest", &raw),
        Vec::<String>::new()
    );
    let request: PermissionRequest = serde_json::from_value(raw).expect("request");
    let mut dom = VirtualDom::new(PermissionHarness).with_root_context(Permission(request));
    dom.rebuild_in_place();
    let html = html_of(&dom);
    assert!(html.contains("The agent asks for permission: "), "{html}");
    assert!(
        html.contains(">bash<") && html.contains("git push --force"),
        "{html}"
    );
    assert!(
        html.contains("&lt;b&gt;origin&lt;/b&gt;"),
        "metadata as text: {html}"
    );
    assert!(html.contains("git push *"), "what Always allows: {html}");
    for label in ["Allow once", "Always allow", "Reject"] {
        assert!(
            html.contains(&format!(">{label}</button>")),
            "{label}: {html}"
        );
    }
    assert_inert(&html);
}

#[derive(Clone)]
struct Question(QuestionRequest);

#[component]
fn QuestionHarness() -> Element {
    let request = use_context::<Question>().0;
    rsx! { QuestionCard { request, on_answer: |_| {}, on_reject: |_| {} } }
}

#[test]
fn a_question_offers_its_options_a_custom_answer_and_dismiss() {
    let raw = json!({
        "id": "que_1", "sessionID": "ses_render",
        "questions": [{"question": "Which database?", "header": "Storage",
                       "options": [{"label": "SQLite", "description": "embedded"}, {"label": "Postgres", "description": "server"}]}]
    });
    let doc = openapi();
    assert_eq!(
        validate_component(&doc, "QuestionRequest", &raw),
        Vec::<String>::new()
    );
    let request: QuestionRequest = serde_json::from_value(raw).expect("question");
    let mut dom = VirtualDom::new(QuestionHarness).with_root_context(Question(request));
    dom.rebuild_in_place();
    let html = html_of(&dom);
    assert!(
        html.contains("Which database?") && html.contains("Storage"),
        "{html}"
    );
    assert!(
        html.contains("SQLite") && html.contains("Postgres"),
        "{html}"
    );
    assert!(html.contains("type=\"radio\""), "single choice: {html}");
    assert!(html.contains("Your own answer"), "{html}");
    assert!(
        html.contains(">Send answer</button>") && html.contains(">Dismiss</button>"),
        "{html}"
    );
}

#[test]
fn usage_is_shown_only_as_far_as_the_server_reported_it() {
    use opencode_nexus::components::parts::usage_line;
    use opencode_nexus::engine::opencode::api::Tokens;
    // No usage at all: no "0 tokens · $0" line.
    assert_eq!(usage_line(&Tokens::default(), 0.0), None);
    let tokens = Tokens {
        input: 1000,
        output: 200,
        ..Default::default()
    };
    let line = usage_line(&tokens, 0.0).unwrap();
    assert!(line.starts_with("1200 tokens (in 1000 · out 200"), "{line}");
    assert!(!line.contains('$'), "no cost reported, none shown: {line}");
    assert_eq!(
        usage_line(&Tokens::default(), 0.25).as_deref(),
        Some("$0.25")
    );
    let both = usage_line(&tokens, 0.0042).unwrap();
    assert!(both.ends_with(" · $0.0042"), "{both}");
}

/// A tool call whose permission request waits for the user said "Running": the server keeps
/// it running until the answer, but nothing runs. It now says what it waits for; the request
/// is matched to its call by message id and call id, so another call stays "Running".
#[test]
fn a_tool_call_held_by_a_permission_request_says_it_waits_for_approval() {
    let tool = |call: &str, tool: &str| {
        schema_part(
            "ToolPart",
            with_ids(
                call,
                json!({"type": "tool", "callID": call, "tool": tool, "state":
                    {"status": "running", "input": {"command": "ls"}, "time": {"start": 1}}}),
            ),
        )
    };
    let mut reply = unfinished_reply();
    reply.parts = vec![
        tool("call_ls", "bash"),
        tool("call_ask", "question"),
        tool("call_free", "bash"),
    ];
    let ask = |raw: Value, component: &str| {
        let doc = openapi();
        assert_eq!(
            validate_component(&doc, component, &raw),
            Vec::<String>::new()
        );
        raw
    };
    let permissions: Vec<PermissionRequest> = vec![
        serde_json::from_value(ask(
            json!({"id": "per_ls", "sessionID": "ses_render", "permission": "bash", "patterns": ["ls"],
                   "metadata": {"command": "ls"}, "always": [],
                   "tool": {"messageID": "msg_render1", "callID": "call_ls"}}),
            "PermissionRequest",
        ))
        .unwrap(),
        // Same call id in another message: not this reply's call.
        serde_json::from_value(ask(
            json!({"id": "per_other", "sessionID": "ses_render", "permission": "bash", "patterns": ["ls"],
                   "metadata": {}, "always": [],
                   "tool": {"messageID": "msg_other", "callID": "call_free"}}),
            "PermissionRequest",
        ))
        .unwrap(),
    ];
    let questions: Vec<QuestionRequest> = vec![serde_json::from_value(ask(
        json!({"id": "que_1", "sessionID": "ses_render",
               "questions": [{"question": "Which?", "header": "Pick", "options": [{"label": "a", "description": ""}]}],
               "tool": {"messageID": "msg_render1", "callID": "call_ask"}}),
        "QuestionRequest",
    ))
    .unwrap()];
    let held = waiting_calls(&permissions, &questions);
    assert_eq!(held.len(), 3);

    let before = render_message(reply.clone());
    assert_eq!(before.matches(">Running<").count(), 3, "{before}");

    let html = render_held(reply, None, held);
    let tools: Vec<&str> = html.split("class=\"part tool tool-").skip(1).collect();
    assert_eq!(tools.len(), 3, "{html}");
    assert!(
        tools[0].starts_with("waiting") && tools[0].contains(">Waiting for approval<"),
        "{}",
        tools[0]
    );
    assert!(
        tools[1].starts_with("waiting") && tools[1].contains(">Waiting for your answer<"),
        "{}",
        tools[1]
    );
    assert!(
        tools[2].starts_with("running") && tools[2].contains(">Running<"),
        "{}",
        tools[2]
    );
}

/// The Approvals card showed a command in raw backticks ("Run `ls -la`"). The command is now
/// inline code, taken from the request as it is: its own backticks and any markup in it stay
/// text.
#[test]
fn a_permission_title_shows_its_command_as_inline_code_and_nothing_as_markup() {
    let render = |metadata: Value| {
        let request: PermissionRequest = serde_json::from_value(json!({
            "id": "per_t", "sessionID": "ses_t", "permission": "bash", "patterns": ["*"],
            "metadata": metadata, "always": []
        }))
        .unwrap();
        let mut dom = VirtualDom::new_with_props(PermissionTitle, PermissionTitleProps { request });
        dom.rebuild_in_place();
        html_of(&dom)
    };
    let html = render(json!({"command": "ls -la"}));
    assert!(
        html.contains("<span>Run </span><code class=\"inline-code\">ls -la</code>"),
        "{html}"
    );
    assert!(!html.contains('`'), "{html}");

    let hostile =
        render(json!({"command": "echo `date` <img src=x onerror=alert(1)> <b>bold</b>"}));
    assert!(
        hostile.contains("<code class=\"inline-code\">echo `date` &lt;img src=x onerror=alert(1)&gt; &lt;b&gt;bold&lt;/b&gt;</code>"),
        "{hostile}"
    );
    assert_inert(&hostile);

    // No command: the words alone, as text.
    let edit = render(json!({"filepath": "src/<i>main</i>.rs"}));
    assert!(
        edit.contains("<span>Change src/&lt;i&gt;main&lt;/i&gt;.rs</span>"),
        "{edit}"
    );
    assert!(!edit.contains("<code"), "{edit}");
}
