//! The pieces of an OpenCode session screen: one message with its parts (text, reasoning, tool
//! calls, files, patches, steps, retries, errors), permission and question cards, the run
//! status line and the cost/token totals.
//!
//! Everything the server or the model sends is shown as text: markdown goes through the safe
//! AST renderer, tool input/output and raw JSON sit in `pre` blocks, and a part type this
//! client does not know is shown by name with its JSON, never dropped and never interpreted.

use dioxus::prelude::*;
use serde_json::Value;

use super::Markdown;
use crate::engine::model::now_ms;
use crate::engine::opencode::api::{
    FilePart, MessageError, MessageErrorData, MessageInfo, MessageWithParts, Part, PermissionReply,
    PermissionReplyBody, PermissionRequest, QuestionRequest, SessionStatus, TitleRun, Tokens,
    ToolPart, ToolState,
};
use crate::engine::opencode::offline::{error_sentence, pretty, OFFLINE_ERROR};
use crate::engine::opencode::state::{ToolWait, WaitingCall};
use crate::state::use_services;

pub use crate::engine::model::format_cost;

/// "1234 tokens (in 1000 · out 200 · reasoning 34 · cache 0/0)".
pub fn format_tokens(t: &Tokens) -> String {
    format!(
        "{} tokens (in {} · out {} · reasoning {} · cache {}/{})",
        t.total(),
        t.input,
        t.output,
        t.reasoning,
        t.cache.read,
        t.cache.write
    )
}

/// Tokens and cost as one line, leaving out what the server did not report: `None` when it
/// sent no usage at all (a "0 tokens · $0" line would be noise, or wrong).
pub fn usage_line(t: &Tokens, cost: f64) -> Option<String> {
    let tokens = (t.total() > 0).then(|| format_tokens(t));
    let cost = (cost > 0.0).then(|| format_cost(cost));
    match (tokens, cost) {
        (None, None) => None,
        (Some(t), None) => Some(t),
        (None, Some(c)) => Some(c),
        (Some(t), Some(c)) => Some(format!("{t} · {c}")),
    }
}

/// Marks a reply that can no longer finish: when the session is idle but its last assistant
/// message has neither an end time nor an error (OpenCode reports an abort as `session.error`
/// and does not always update the message), it gets the session's error, or a generic one,
/// so it is not shown as still streaming.
pub fn settle_unfinished(
    messages: &mut [MessageWithParts],
    status: &SessionStatus,
    session_error: Option<&MessageError>,
) {
    if status.is_busy() {
        return;
    }
    let Some(last) = messages.last_mut() else {
        return;
    };
    let MessageInfo::Assistant(a) = &mut last.info else {
        return;
    };
    if a.time.completed.is_some() || a.error.is_some() {
        return;
    }
    a.error = Some(session_error.cloned().unwrap_or_else(|| {
        MessageError {
            name: OFFLINE_ERROR.to_owned(),
            data: MessageErrorData {
                message: Some(
                    "The reply did not finish. Send the message again for a complete answer."
                        .to_owned(),
                ),
                ..MessageErrorData::default()
            },
        }
    }));
    // Its tool calls stopped with it: none of them is still "Running".
    for part in &mut last.parts {
        let Part::Tool(tool) = part else { continue };
        let (input, metadata, time) = match &tool.state {
            ToolState::Pending { input, .. } => (input.clone(), None, Default::default()),
            ToolState::Running {
                input,
                metadata,
                time,
                ..
            } => (input.clone(), metadata.clone(), *time),
            ToolState::Completed { .. } | ToolState::Error { .. } => continue,
        };
        tool.state = ToolState::Error {
            input,
            error: UNFINISHED_TOOL.to_owned(),
            metadata,
            time,
        };
    }
}

/// What a tool call that was still pending or running says once its reply has stopped.
pub const UNFINISHED_TOOL: &str = "It did not finish: the reply stopped before it.";

/// One message of a session with all its parts. `paused` says why a reply that has not begun
/// is not coming for now (the agent waits for the user's answer, or its server is out of
/// reach): its "typing" dots then stand still instead of animating. `held` are the tool
/// calls held by a request waiting for the user (see [`SessionView::waiting_calls`]).
///
/// [`SessionView::waiting_calls`]: crate::engine::opencode::state::SessionView::waiting_calls
#[component]
pub fn SessionMessage(
    message: MessageWithParts,
    #[props(default)] paused: Option<String>,
    #[props(default)] held: Vec<WaitingCall>,
) -> Element {
    let (class, label) = match &message.info {
        MessageInfo::User(_) => ("msg user", "You"),
        MessageInfo::Assistant(_) => ("msg assistant", "Assistant"),
    };
    let is_user = matches!(message.info, MessageInfo::User(_));
    let id = message.info.id().to_owned();
    let assistant = message.info.as_assistant().cloned();
    let agent = match &message.info {
        MessageInfo::User(u) => u.agent.clone(),
        MessageInfo::Assistant(a) => a.agent.clone(),
    };
    let model = assistant
        .as_ref()
        .filter(|a| !a.model_id.is_empty())
        .map(|a| format!("{}/{}", a.provider_id, a.model_id));
    let running = assistant
        .as_ref()
        .is_some_and(|a| a.time.completed.is_none() && a.error.is_none());
    let waiting = running
        && message
            .parts
            .iter()
            .all(|p| p.text().is_none_or(str::is_empty));
    let error = assistant.as_ref().and_then(|a| a.error.clone());
    let steps = message
        .parts
        .iter()
        .filter(|p| matches!(p, Part::StepFinish(_)))
        .count();
    let status = if running {
        "streaming"
    } else if error.as_ref().is_some_and(|e| e.is_abort()) {
        "interrupted"
    } else if error.is_some() {
        "error"
    } else {
        "complete"
    };
    rsx! {
        article { class: "{class} status-{status}", id: "msg-{id}", "aria-label": "{label}",
            header { class: "msg-head",
                span { class: "msg-role", "{label}" }
                if let Some(a) = agent { span { class: "badge", title: "Agent", "{a}" } }
                if let Some(m) = model { span { class: "badge", title: "Model", "{m}" } }
            }
            div { class: "msg-body",
                for (i, part) in message.parts.iter().cloned().enumerate() {
                    PartView {
                        key: "{part.id().unwrap_or_default()}-{i}",
                        wait: match &part { Part::Tool(t) => held.iter().find(|w| w.is_of(t)).map(|w| w.wait), _ => None },
                        part,
                        user: is_user,
                    }
                }
                if waiting {
                    if let Some(why) = paused {
                        div { class: "typing paused", role: "img", "aria-label": "{why}", title: "{why}", span {} span {} span {} }
                    } else {
                        div { class: "typing", "aria-label": "Waiting for the reply", span {} span {} span {} }
                    }
                }
            }
            if let Some(e) = error {
                div {
                    class: if e.is_abort() { "banner banner-warn" } else { "banner banner-error" },
                    role: if e.is_abort() { "status" } else { "alert" },
                    "{error_sentence(&e)}"
                }
            }
            // With one step its own line already says this.
            if let Some(line) = assistant.filter(|a| a.time.completed.is_some() && steps != 1).and_then(|a| usage_line(&a.tokens, a.cost)) {
                footer { class: "msg-foot",
                    span { class: "usage", "{line}" }
                }
            }
        }
    }
}

/// One part, by type. `user` parts are shown as typed (plain text), assistant text as markdown.
/// `wait`: what a tool part's call waits for from the user, if anything.
#[component]
pub fn PartView(
    part: Part,
    #[props(default)] user: bool,
    #[props(default)] wait: Option<ToolWait>,
) -> Element {
    match part {
        Part::Text(t) => {
            if t.synthetic == Some(true) || t.ignored == Some(true) || t.text.is_empty() {
                return rsx! {};
            }
            if user {
                rsx! { div { class: "part part-text plain", "{t.text}" } }
            } else {
                rsx! { div { class: "part part-text", Markdown { text: t.text } } }
            }
        }
        Part::Reasoning(r) => {
            if r.text.trim().is_empty() {
                return rsx! {};
            }
            let streaming = r.time.and_then(|t| t.end).is_none();
            rsx! {
                details { class: "part reasoning",
                    summary { if streaming { "Thinking…" } else { "Reasoning" } }
                    div { class: "reasoning-body", "{r.text}" }
                }
            }
        }
        Part::Tool(t) => rsx! { ToolCall { tool: t, wait } },
        Part::File(f) => rsx! { FileAttachment { file: f } },
        Part::Agent(a) => rsx! {
            div { class: "part part-agent", span { class: "badge", "@{a.name}" } }
        },
        Part::Subtask(s) => rsx! {
            div { class: "part part-subtask",
                div { "Subtask for agent “{s.agent}”: {s.description}" }
                details { summary { "Prompt" } pre { class: "part-pre", "{s.prompt}" } }
            }
        },
        // A step boundary carries nothing to read; its end (below) carries the usage.
        Part::StepStart(_) | Part::Snapshot(_) => rsx! {},
        Part::StepFinish(s) => {
            let usage = usage_line(&s.tokens, s.cost)
                .map(|u| format!(" · {u}"))
                .unwrap_or_default();
            rsx! {
                div { class: "part step-finish", "Step finished ({s.reason}){usage}" }
            }
        }
        Part::Patch(p) => {
            let short: String = p.hash.chars().take(10).collect();
            let n = p.files.len();
            rsx! {
                div { class: "part part-patch",
                    div { class: "part-title",
                        if n == 1 { "Changed 1 file" } else { "Changed {n} files" }
                        if !short.is_empty() { span { class: "badge mono", title: "Snapshot {p.hash}", "{short}" } }
                    }
                    ul { class: "patch-files",
                        for (i, f) in p.files.iter().enumerate() { li { key: "{i}", class: "mono", "{f}" } }
                    }
                }
            }
        }
        Part::Retry(r) => rsx! {
            div { class: "part banner banner-warn", role: "status",
                "Attempt {r.attempt} failed: {error_sentence(&r.error)}"
            }
        },
        Part::Compaction(c) => rsx! {
            div { class: "part hint",
                if c.auto { "The conversation was compacted automatically to fit the model's context." } else { "The conversation was compacted." }
            }
        },
        Part::Unknown(v) => {
            let kind = v
                .get("type")
                .and_then(Value::as_str)
                .filter(|k| !k.is_empty())
                .unwrap_or("untyped")
                .to_owned();
            let raw = pretty(&v);
            rsx! {
                div { class: "part part-unknown",
                    div { class: "hint", "This client cannot show parts of type “{kind}” yet." }
                    details { summary { "Raw data" } pre { class: "part-pre", "{raw}" } }
                }
            }
        }
    }
}

/// The class and label of a call's state. A call the server still calls pending or running
/// while its permission request or question waits says what it waits for: it does not run
/// until the user answers.
fn tool_status(state: &ToolState, wait: Option<ToolWait>) -> (&'static str, &'static str) {
    match (state, wait) {
        (ToolState::Pending { .. } | ToolState::Running { .. }, Some(ToolWait::Approval)) => {
            ("waiting", "Waiting for approval")
        }
        (ToolState::Pending { .. } | ToolState::Running { .. }, Some(ToolWait::Answer)) => {
            ("waiting", "Waiting for your answer")
        }
        _ => tool_status_of(state),
    }
}

fn tool_status_of(state: &ToolState) -> (&'static str, &'static str) {
    match state {
        ToolState::Pending { .. } => ("pending", "Pending"),
        ToolState::Running { .. } => ("running", "Running"),
        ToolState::Completed { .. } => ("completed", "Completed"),
        ToolState::Error { .. } => ("error", "Failed"),
    }
}

/// A tool call: name, state, title, and its input and output (collapsed).
#[component]
pub fn ToolCall(tool: ToolPart, #[props(default)] wait: Option<ToolWait>) -> Element {
    let (class, label) = tool_status(&tool.state, wait);
    let (input, title, output, error, metadata, raw) = match &tool.state {
        ToolState::Pending { input, raw } => (input, None, None, None, None, raw.clone()),
        ToolState::Running {
            input,
            title,
            metadata,
            ..
        } => (input, title.clone(), None, None, metadata.clone(), None),
        ToolState::Completed {
            input,
            output,
            title,
            metadata,
            ..
        } => (
            input,
            Some(title.clone()).filter(|t| !t.is_empty()),
            Some(output.clone()),
            None,
            Some(metadata.clone()),
            None,
        ),
        ToolState::Error {
            input,
            error,
            metadata,
            ..
        } => (
            input,
            None,
            None,
            Some(error.clone()),
            metadata.clone(),
            None,
        ),
    };
    let has_input = !(input.is_null() || input.as_object().is_some_and(|o| o.is_empty()));
    let input = pretty(input);
    let diff = metadata
        .as_ref()
        .and_then(|m| m.get("diff"))
        .and_then(Value::as_str)
        .filter(|d| !d.trim().is_empty())
        .map(str::to_owned);
    rsx! {
        div { class: "part tool tool-{class}",
            div { class: "part-title",
                span { class: "tool-name mono", "{tool.tool}" }
                span { class: "badge tool-state", "{label}" }
                if let Some(t) = title { span { class: "tool-title", "{t}" } }
            }
            if has_input {
                details { class: "tool-input", summary { "Input" } pre { class: "part-pre", "{input}" } }
            }
            if let Some(r) = raw.filter(|r| !r.is_empty()) {
                details { class: "tool-input", summary { "Input so far" } pre { class: "part-pre", "{r}" } }
            }
            if let Some(o) = output {
                details { class: "tool-output",
                    summary { if o.is_empty() { "Output (empty)" } else { "Output" } }
                    pre { class: "part-pre", "{o}" }
                }
            }
            if let Some(d) = diff { DiffView { diff: d } }
            if let Some(e) = error {
                div { class: "banner banner-error", role: "alert", "The tool failed: {e}" }
            }
        }
    }
}

/// A unified diff, each line coloured by what it does.
#[component]
pub fn DiffView(diff: String) -> Element {
    rsx! {
        details { class: "tool-diff", open: true,
            summary { "Changes" }
            pre { class: "part-pre diff",
                for (i, line) in diff.lines().enumerate() {
                    span {
                        key: "{i}",
                        class: if line.starts_with("+++") || line.starts_with("---") { "diff-file" }
                            else if line.starts_with('+') { "diff-add" }
                            else if line.starts_with('-') { "diff-del" }
                            else if line.starts_with("@@") { "diff-hunk" }
                            else { "diff-ctx" },
                        "{line}\n"
                    }
                }
            }
        }
    }
}

/// An attached or produced file. Only http(s) links open (in the system browser); `data:`
/// and `file:` URLs are named, not followed.
#[component]
pub fn FileAttachment(file: FilePart) -> Element {
    let services = use_services();
    let name = file
        .filename
        .clone()
        .filter(|f| !f.is_empty())
        .or_else(|| {
            file.source
                .as_ref()
                .and_then(|s| s.get("path"))
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
        .unwrap_or_else(|| "attachment".to_owned());
    let web = file.url.starts_with("https://") || file.url.starts_with("http://");
    let url = file.url.clone();
    rsx! {
        div { class: "part part-file",
            super::icons::Icon { path: super::icons::FILE, size: 16 }
            " "
            if web {
                a {
                    href: "{url}",
                    rel: "noopener noreferrer nofollow",
                    onclick: move |e: MouseEvent| {
                        e.prevent_default();
                        if let Err(err) = services.shell.open_url(&url) {
                            tracing::warn!(error = %err, "could not open link");
                        }
                    },
                    "{name}"
                }
            } else {
                span { class: "file-name", "{name}" }
            }
            span { class: "badge", "{file.mime}" }
        }
    }
}

/// What a permission request would do, in one line, its command shown as inline code. The
/// server's text goes in as text nodes only: no backticks are parsed out of it and nothing in
/// it is read as markup.
#[component]
pub fn PermissionTitle(request: PermissionRequest) -> Element {
    rsx! {
        p { class: "approval-title",
            for (i, run) in request.title_runs().into_iter().enumerate() {
                match run {
                    TitleRun::Text(t) => rsx! { span { key: "{i}", "{t}" } },
                    TitleRun::Code(c) => rsx! { code { key: "{i}", class: "inline-code", "{c}" } },
                }
            }
        }
    }
}

/// A tool call waiting for the user's approval.
#[component]
pub fn PermissionCard(
    request: PermissionRequest,
    #[props(default)] busy: bool,
    /// The server is out of reach: the request waits there, and is answered once it is back.
    #[props(default)]
    offline: bool,
    on_reply: EventHandler<PermissionReplyBody>,
) -> Element {
    let busy = busy || offline;
    // Sent with "Reject": why, or what to do instead.
    let mut note = use_signal(String::new);
    let reply = move |reply: PermissionReply| {
        let text = note.peek().trim().to_owned();
        let message = (reply == PermissionReply::Reject && !text.is_empty()).then_some(text);
        on_reply.call(PermissionReplyBody { reply, message });
    };
    let note_id = format!("reject-note-{}", request.id);
    let has_metadata = match &request.metadata {
        Value::Null => false,
        Value::Object(o) => !o.is_empty(),
        _ => true,
    };
    let metadata = pretty(&request.metadata);
    rsx! {
        section { class: "prompt-card permission", role: "alertdialog", "aria-label": "Permission request",
            p { class: "card-title", "The agent asks for permission: " strong { class: "mono", "{request.permission}" } }
            if !request.patterns.is_empty() {
                ul { class: "patterns",
                    for (i, p) in request.patterns.iter().enumerate() { li { key: "{i}", code { "{p}" } } }
                }
            }
            if has_metadata {
                details { summary { "Details" } pre { class: "part-pre", "{metadata}" } }
            }
            if !request.always.is_empty() {
                p { class: "hint", "“Always” also allows from now on: {request.always.join(\", \")}" }
            }
            div { class: "field reject-note",
                label { r#for: "{note_id}", "Message with Reject (optional)" }
                // Not bound to `note` (no `value`): a re-render while typing fast would put
                // back an older text and drop the letters typed meanwhile (WebKitGTK).
                input {
                    id: "{note_id}",
                    placeholder: "Why, or what to do instead",
                    oninput: move |e| note.set(e.value()),
                }
            }
            if offline { OfflineHint {} }
            div { class: "card-actions",
                button { class: "btn-primary", disabled: busy, onclick: move |_| reply(PermissionReply::Once), "Allow once" }
                button { class: "btn-small", disabled: busy, onclick: move |_| reply(PermissionReply::Always), "Always allow" }
                button { class: "btn-danger", disabled: busy, onclick: move |_| reply(PermissionReply::Reject), "Reject" }
            }
        }
    }
}

/// Why a request's answers are greyed out while its server is out of reach.
#[component]
fn OfflineHint() -> Element {
    rsx! {
        p { class: "hint", role: "status",
            "Out of reach: answer once the server is back."
        }
    }
}

/// Questions from the agent: pick options (or type an answer), then send or dismiss.
#[component]
pub fn QuestionCard(
    request: QuestionRequest,
    #[props(default)] busy: bool,
    /// As for [`PermissionCard`].
    #[props(default)]
    offline: bool,
    on_answer: EventHandler<Vec<Vec<String>>>,
    on_reject: EventHandler<()>,
) -> Element {
    let busy = busy || offline;
    let count = request.questions.len();
    let mut chosen = use_signal(|| vec![Vec::<String>::new(); count]);
    let mut custom = use_signal(|| vec![String::new(); count]);
    let rid = request.id.clone();
    let answers = move || -> Vec<Vec<String>> {
        let chosen = chosen.peek();
        let custom = custom.peek();
        (0..count)
            .map(|i| {
                let mut a = chosen.get(i).cloned().unwrap_or_default();
                if let Some(c) = custom.get(i).map(|c| c.trim()).filter(|c| !c.is_empty()) {
                    a.push(c.to_owned());
                }
                a
            })
            .collect()
    };
    let complete = (0..count).all(|i| {
        chosen.read().get(i).is_some_and(|c| !c.is_empty())
            || custom.read().get(i).is_some_and(|c| !c.trim().is_empty())
    });
    rsx! {
        section { class: "prompt-card question", role: "alertdialog", "aria-label": "Question from the agent",
            for (qi, q) in request.questions.iter().cloned().enumerate() {
                fieldset { key: "{qi}", class: "question-item",
                    legend { if q.header.is_empty() { "Question" } else { "{q.header}" } }
                    p { "{q.question}" }
                    for (oi, opt) in q.options.iter().cloned().enumerate() {
                        label { key: "{oi}", class: "option",
                            input {
                                r#type: if q.multiple == Some(true) { "checkbox" } else { "radio" },
                                name: "q-{rid}-{qi}",
                                checked: chosen.read().get(qi).is_some_and(|c| c.contains(&opt.label)),
                                onchange: {
                                    let label = opt.label.clone();
                                    let multiple = q.multiple == Some(true);
                                    // A radio's change event says only that it is now the
                                    // one picked (its event carries its `value`, not a
                                    // checked state); a checkbox's says whether it is ticked.
                                    move |e: FormEvent| {
                                        let mut all = chosen.write();
                                        if let Some(c) = all.get_mut(qi) {
                                            if !multiple { c.clear(); }
                                            c.retain(|x| x != &label);
                                            if !multiple || e.checked() { c.push(label.clone()); }
                                        }
                                    }
                                },
                            }
                            " {opt.label}"
                            if !opt.description.is_empty() { span { class: "hint", " — {opt.description}" } }
                        }
                    }
                    if q.custom != Some(false) {
                        input {
                            class: "question-custom",
                            placeholder: "Your own answer",
                            "aria-label": "Your own answer",
                            oninput: move |e| { if let Some(c) = custom.write().get_mut(qi) { *c = e.value(); } },
                        }
                    }
                }
            }
            if offline { OfflineHint {} }
            div { class: "card-actions",
                button { class: "btn-primary", disabled: busy || !complete, onclick: move |_| on_answer.call(answers()), "Send answer" }
                button { class: "btn-small", disabled: busy, onclick: move |_| on_reject.call(()), "Dismiss" }
            }
        }
    }
}

/// Busy / retrying line under the thread.
#[component]
pub fn RunStatus(status: SessionStatus) -> Element {
    match status {
        SessionStatus::Idle => rsx! {},
        SessionStatus::Busy | SessionStatus::Unknown => rsx! {
            div { class: "run-status", role: "status", span { class: "dot checking" } " Working…" }
        },
        SessionStatus::Retry {
            attempt,
            message,
            next,
        } => {
            let wait = (i64::try_from(next).unwrap_or(i64::MAX) - now_ms()).max(0) / 1000;
            let at = clock(next);
            let message = message.trim().trim_end_matches('.').to_owned();
            rsx! {
                div { class: "banner banner-warn run-status", role: "status",
                    "Attempt {attempt} failed: {message}. The server tries again at {at} (in about {wait} s); Abort stops it."
                }
            }
        }
    }
}

/// "14:05:09" (UTC) of an epoch-ms time.
fn clock(ms: u64) -> String {
    time::OffsetDateTime::from_unix_timestamp(i64::try_from(ms / 1000).unwrap_or(0))
        .map(|t| format!("{:02}:{:02}:{:02} UTC", t.hour(), t.minute(), t.second()))
        .unwrap_or_default()
}

/// Cost and token totals of a session.
#[component]
pub fn SessionTotals(cost: f64, tokens: Tokens) -> Element {
    rsx! {
        if let Some(line) = usage_line(&tokens, cost) {
            span { class: "totals", title: "Cost and tokens of this session", "{line}" }
        }
    }
}
