//! The conversation engine against a scripted fault server: every failure ends in a clear
//! state on the assistant message, the history stays intact on disk, and retry works.

mod support;

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use opencode_nexus::engine::chat::{
    self, ChatUpdate, EngineOptions, NewChat, ReplyContext, Target,
};
use opencode_nexus::engine::error::Error;
use opencode_nexus::engine::model::*;
use opencode_nexus::engine::providers::openai::OpenAiClient;
use opencode_nexus::engine::store::api::StoreClient;
use opencode_nexus::engine::store::Store;
use opencode_nexus::platform::native::WorkerTransport;
use support::fault_server::*;

struct Harness {
    _dir: tempfile::TempDir,
    path: std::path::PathBuf,
    store: StoreClient,
    client: OpenAiClient,
    options: EngineOptions,
    conv: Conversation,
    server: FaultServer,
}

async fn harness(script: Vec<Fault>) -> Harness {
    let server = FaultServer::start(script).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("history.db");
    let store = StoreClient::new(Rc::new(WorkerTransport::spawn(&path).unwrap()));
    let mut profile = Profile::new("fault", BackendKind::OpenAiCompatible, server.base_url());
    profile.default_model = Some(FAULT_MODEL.into());
    store.save_profile(profile.clone()).await.unwrap();
    let mut client = OpenAiClient::new(
        reqwest::Client::new(),
        &profile,
        Some("sk-test-key-0123456789".into()),
    )
    .unwrap();
    client.idle_timeout = Duration::from_secs(2);
    let mut conv = Conversation::new("faults");
    conv.profile_id = Some(profile.id.clone());
    conv.model = Some(FAULT_MODEL.into());
    store.create_conversation(conv.clone()).await.unwrap();
    Harness {
        _dir: dir,
        path,
        store,
        client,
        options: EngineOptions::default(),
        conv,
        server,
    }
}

impl Harness {
    /// The engine over this harness's store and server.
    fn ctx(&self) -> ReplyContext<'_> {
        ReplyContext {
            store: &self.store,
            client: &self.client,
            options: &self.options,
        }
    }

    async fn send(&self, text: &str) -> (Message, String) {
        let ctx = self.ctx();
        let (_stop_handle, stop) = chat::stop_pair();
        let mut streamed = String::new();
        let m = ctx
            .send(
                Target::Existing(self.conv.id.clone()),
                text,
                stop,
                &mut |u| {
                    if let ChatUpdate::Content { text, .. } = u {
                        streamed.push_str(&text);
                    }
                },
            )
            .await
            .unwrap()
            .message;
        (m, streamed)
    }

    async fn regenerate(&self, id: &str) -> Message {
        let ctx = self.ctx();
        let (_h, stop) = chat::stop_pair();
        ctx.regenerate(id, stop, &mut |_| {}).await.unwrap().message
    }

    /// Read the conversation back from a fresh connection to the file.
    fn reopen_thread(&self) -> Vec<ThreadMessage> {
        let store = Store::open(&self.path).unwrap();
        store.thread(&self.conv.id).unwrap()
    }

    fn chat_requests(&self) -> usize {
        self.server
            .requests()
            .iter()
            .filter(|r| r.path.ends_with("/chat/completions"))
            .count()
    }
}

fn status(code: u16, headers: &[(&str, &str)], body: &str) -> Fault {
    Fault::Status {
        code,
        headers: headers
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect(),
        body: body.into(),
    }
}

fn ok_stream(pieces: &[&str]) -> Fault {
    Fault::Stream {
        chunks: sse_chat_chunks(pieces),
        delay_ms: 0,
        then: StreamEnd::Finish,
    }
}

/// After a failed reply: the user message is intact, a retry succeeds and the failed reply stays
/// reachable as an alternative.
async fn assert_retry_recovers(h: &Harness, failed: &Message, question: &str) {
    h.server.push(ok_stream(&["Recovered ", "answer."]));
    let again = h.regenerate(&failed.id).await;
    assert_eq!(again.status, MessageStatus::Complete);
    assert_eq!(again.text(), "Recovered answer.");
    let thread = h.reopen_thread();
    assert_eq!(thread.len(), 2);
    assert_eq!(thread[0].message.text(), question);
    assert_eq!(thread[1].message.id, again.id);
    assert_eq!(
        thread[1].sibling_count, 2,
        "the failed reply is kept as an alternative"
    );
}

#[tokio::test]
async fn unauthorized_is_an_error_with_a_sentence_and_retry_works() {
    let h = harness(vec![status(401, &[], r#"{"error":{"message":"Incorrect API key provided: sk-test-key-0123456789","type":"invalid_request_error"}}"#)]).await;
    let (m, _) = h.send("hello?").await;
    assert_eq!(m.status, MessageStatus::Error);
    let err = m.error.clone().unwrap();
    assert!(
        err.contains("rejected the API key") && err.contains("401"),
        "{err}"
    );
    assert!(
        !err.contains("sk-test-key-0123456789"),
        "key redacted: {err}"
    );
    let req = &h.server.requests()[0];
    assert_eq!(
        req.header("authorization"),
        Some("Bearer sk-test-key-0123456789")
    );
    assert_retry_recovers(&h, &m, "hello?").await;
}

#[tokio::test]
async fn rate_limit_keeps_retry_after() {
    let h = harness(vec![status(
        429,
        &[("Retry-After", "7")],
        r#"{"error":{"message":"Rate limit reached"}}"#,
    )])
    .await;
    let (m, _) = h.send("q").await;
    assert_eq!(m.status, MessageStatus::Error);
    let err = m.error.clone().unwrap();
    assert!(
        err.contains("429")
            && err.contains("retry after 7 s")
            && err.contains("Rate limit reached"),
        "{err}"
    );
    assert_retry_recovers(&h, &m, "q").await;
}

#[tokio::test]
async fn server_error_keeps_status_and_body_message() {
    let h = harness(vec![status(
        500,
        &[],
        r#"{"error":{"message":"CUDA out of memory"}}"#,
    )])
    .await;
    let (m, _) = h.send("q").await;
    assert_eq!(m.status, MessageStatus::Error);
    let err = m.error.clone().unwrap();
    assert!(
        err.contains("HTTP 500") && err.contains("CUDA out of memory"),
        "{err}"
    );
    assert_retry_recovers(&h, &m, "q").await;
}

#[tokio::test]
async fn dropped_connection_keeps_partial_reply_as_interrupted() {
    // The first deltas, then the socket closes without a finish reason or [DONE].
    let chunks: Vec<String> = sse_chat_chunks(&["Hello ", "wor", "ld"])
        .into_iter()
        .take(3)
        .collect();
    let h = harness(vec![Fault::Stream {
        chunks,
        delay_ms: 10,
        then: StreamEnd::Drop,
    }])
    .await;
    let (m, streamed) = h.send("greet me").await;
    assert_eq!(m.status, MessageStatus::Interrupted);
    assert!(
        m.error.as_deref().unwrap().contains("connection dropped"),
        "{:?}",
        m.error
    );
    assert!(!streamed.is_empty());
    let thread = h.reopen_thread();
    assert_eq!(thread[1].message.text(), streamed, "partial text persisted");
    assert_eq!(thread[1].message.status, MessageStatus::Interrupted);
    assert_retry_recovers(&h, &m, "greet me").await;
}

#[tokio::test]
async fn stalled_stream_times_out_and_keeps_partial() {
    let chunks: Vec<String> = sse_chat_chunks(&["Partial", " answer"])
        .into_iter()
        .take(2)
        .collect();
    let h = harness(vec![Fault::Stream {
        chunks,
        delay_ms: 0,
        then: StreamEnd::Stall,
    }])
    .await;
    let started = std::time::Instant::now();
    let (m, streamed) = h.send("q").await;
    assert!(started.elapsed() < Duration::from_secs(20));
    assert_eq!(m.status, MessageStatus::Interrupted);
    assert!(
        m.error.as_deref().unwrap().contains("stopped sending data"),
        "{:?}",
        m.error
    );
    assert_eq!(h.reopen_thread()[1].message.text(), streamed);
    assert_retry_recovers(&h, &m, "q").await;
}

#[tokio::test]
async fn malformed_chunk_is_a_clear_error() {
    let mut chunks: Vec<String> = sse_chat_chunks(&["Good start"])
        .into_iter()
        .take(2)
        .collect();
    chunks.push("data: {\"choices\": [{\"delta\": {\"content\": \"x\"\n\n".into());
    let h = harness(vec![Fault::Stream {
        chunks,
        delay_ms: 0,
        then: StreamEnd::Finish,
    }])
    .await;
    let (m, _) = h.send("q").await;
    assert_eq!(m.status, MessageStatus::Error);
    assert!(
        m.error
            .as_deref()
            .unwrap()
            .contains("could not be understood"),
        "{:?}",
        m.error
    );
    assert_eq!(m.text(), "Good start", "text before the bad chunk kept");
    assert_retry_recovers(&h, &m, "q").await;
}

#[tokio::test]
async fn error_object_in_the_middle_of_a_stream() {
    let mut chunks: Vec<String> = sse_chat_chunks(&["Some text"])
        .into_iter()
        .take(2)
        .collect();
    chunks.push("data: {\"error\":{\"message\":\"model overloaded\"}}\n\n".into());
    let h = harness(vec![Fault::Stream {
        chunks,
        delay_ms: 0,
        then: StreamEnd::Finish,
    }])
    .await;
    let (m, _) = h.send("q").await;
    assert_eq!(m.status, MessageStatus::Error);
    assert!(
        m.error.as_deref().unwrap().contains("model overloaded"),
        "{:?}",
        m.error
    );
}

#[tokio::test]
async fn five_megabyte_reply_arrives_whole() {
    let expected = big_reply_text(5 * 1024 * 1024);
    let h = harness(vec![Fault::Stream {
        chunks: big_reply_chunks(5 * 1024 * 1024),
        delay_ms: 0,
        then: StreamEnd::Finish,
    }])
    .await;
    let (m, streamed) = h.send("long please").await;
    assert_eq!(m.status, MessageStatus::Complete);
    assert_eq!(streamed.len(), expected.len());
    assert!(streamed == expected);
    assert!(h.reopen_thread()[1].message.text() == expected);
}

#[tokio::test]
async fn unreachable_server_is_an_error_with_a_sentence() {
    let h = harness(vec![]).await;
    let dead = Profile::new(
        "dead",
        BackendKind::OpenAiCompatible,
        "http://127.0.0.1:9/v1",
    );
    let client = OpenAiClient::new(reqwest::Client::new(), &dead, None).unwrap();
    let options = EngineOptions::default();
    let ctx = ReplyContext {
        store: &h.store,
        client: &client,
        options: &options,
    };
    let (_h, stop) = chat::stop_pair();
    let m = ctx
        .send(
            Target::Existing(h.conv.id.clone()),
            "anyone?",
            stop,
            &mut |_| {},
        )
        .await
        .unwrap()
        .message;
    assert_eq!(m.status, MessageStatus::Error);
    assert!(
        m.error
            .as_deref()
            .unwrap()
            .starts_with("Could not reach http://127.0.0.1:9/v1"),
        "{:?}",
        m.error
    );
    assert!(matches!(
        OpenAiClient::new(
            reqwest::Client::new(),
            &Profile::new("b", BackendKind::OpenAiCompatible, "ftp://x"),
            None
        ),
        Err(Error::BadUrl { .. })
    ));
}

#[tokio::test]
async fn stop_keeps_partial_reply_and_progress_is_persisted_while_streaming() {
    let pieces: Vec<String> = (0..40).map(|i| format!("w{i} ")).collect();
    let refs: Vec<&str> = pieces.iter().map(String::as_str).collect();
    let h = harness(vec![Fault::Stream {
        chunks: sse_chat_chunks(&refs),
        delay_ms: 50,
        then: StreamEnd::Finish,
    }])
    .await;
    let options = EngineOptions {
        persist_every: Duration::from_millis(100),
    };
    let ctx = ReplyContext {
        store: &h.store,
        client: &h.client,
        options: &options,
    };
    let (stop_handle, stop) = chat::stop_pair();
    let assistant_id = Rc::new(RefCell::new(None::<String>));
    let seen = assistant_id.clone();
    let mut on_update = |u: ChatUpdate| {
        if let ChatUpdate::Started { assistant, .. } = u {
            *seen.borrow_mut() = Some(assistant.id);
        }
    };
    let send = ctx.send(
        Target::Existing(h.conv.id.clone()),
        "count",
        stop,
        &mut on_update,
    );
    let observer = async {
        tokio::time::sleep(Duration::from_millis(900)).await;
        // Mid-stream, a separate connection sees the reply saved as streaming with some text.
        let id = assistant_id.borrow().clone().unwrap();
        let mid = Store::open(&h.path).unwrap().get_message(&id).unwrap();
        stop_handle.stop();
        mid
    };
    let (result, mid) = tokio::join!(send, observer);
    assert_eq!(mid.status, MessageStatus::Streaming);
    assert!(!mid.text().is_empty(), "progress persisted while streaming");
    let m = result.unwrap().message;
    assert_eq!(m.status, MessageStatus::Interrupted);
    assert!(m.text().starts_with(&mid.text()));
    assert!(
        m.text().len() < pieces.concat().len(),
        "stopped before the end"
    );
    let on_disk = h.reopen_thread();
    assert_eq!(on_disk[1].message.status, MessageStatus::Interrupted);
    assert_eq!(on_disk[1].message.text(), m.text());
    assert_eq!(h.chat_requests(), 1);
}

#[tokio::test]
async fn sends_system_prompt_history_and_sampling() {
    let h = harness(vec![ok_stream(&["one"]), ok_stream(&["two"])]).await;
    let mut params = h.conv.params.clone();
    params.temperature = Some(0.3);
    h.store
        .update_conversation(
            h.conv.id.clone(),
            vec![
                ConversationEdit::SystemPrompt(Some("Be terse.".into())),
                ConversationEdit::Params(params),
            ],
        )
        .await
        .unwrap();
    h.send("first").await;
    h.send("second").await;
    let reqs: Vec<_> = h
        .server
        .requests()
        .into_iter()
        .filter(|r| r.path.ends_with("/chat/completions"))
        .collect();
    let body: serde_json::Value = serde_json::from_str(&reqs[1].body).unwrap();
    assert_eq!(body["stream"], true);
    assert_eq!(body["model"], FAULT_MODEL);
    assert!((body["temperature"].as_f64().unwrap() - 0.3).abs() < 1e-6);
    let roles: Vec<_> = body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["role"].as_str().unwrap().to_owned(),
                m["content"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        roles,
        vec![
            ("system".into(), "Be terse.".into()),
            ("user".into(), "first".into()),
            ("assistant".into(), "one".into()),
            ("user".into(), "second".into())
        ]
    );
}

/// The engine owns the conversation: a send to a new chat creates it (titled from the first
/// words), announces it in `Started`, reports a typed outcome, and names it after the first
/// complete exchange; the thread the caller builds from the engine's events is exactly the one
/// the store shows, through send, regenerate and edit.
#[tokio::test(flavor = "current_thread")]
async fn the_engine_starts_names_and_finishes_a_conversation() {
    let h = harness(vec![
        ok_stream(&["Use ", "slicing: ", "`s[::-1]`."]),
        status(
            200,
            &[],
            r#"{"choices":[{"index":0,"message":{"role":"assistant","content":"Title: \"Reversing strings in Python.\""},"finish_reason":"stop"}]}"#,
        ),
    ])
    .await;
    let ctx = h.ctx();
    let profile_id = h.conv.profile_id.clone().unwrap();
    let mut thread: Vec<ThreadMessage> = Vec::new();
    let apply = |thread: &mut Vec<ThreadMessage>, u: &ChatUpdate| match u {
        ChatUpdate::Started {
            user, assistant, ..
        } => {
            if let Some(u) = user {
                assert!(chat::attach_to_thread(thread, u));
            }
            assert!(chat::attach_to_thread(thread, assistant));
        }
        ChatUpdate::Finished { message, .. } => {
            assert!(chat::update_in_thread(thread, message))
        }
        _ => {}
    };

    let mut created = None;
    let mut outcome_seen = None;
    let (_h1, stop) = chat::stop_pair();
    let reply = ctx
        .send(
            Target::New(NewChat::on(profile_id.clone(), Some(FAULT_MODEL.into()))),
            "How do I reverse a string in Python without a loop, quickly and idiomatically?",
            stop,
            &mut |u| {
                apply(&mut thread, &u);
                match u {
                    ChatUpdate::Started { conversation, .. } => created = conversation,
                    ChatUpdate::Finished { outcome, .. } => outcome_seen = Some(outcome),
                    _ => {}
                }
            },
        )
        .await
        .unwrap();
    let created = created.expect("Started carries the conversation the send created");
    assert_eq!(created.id, reply.conversation.id);
    assert_eq!(created.profile_id.as_deref(), Some(profile_id.as_str()));
    assert_eq!(
        created.title,
        "How do I reverse a string in Python without a…"
    );
    assert_eq!(reply.outcome, chat::Outcome::Complete);
    assert_eq!(outcome_seen, Some(chat::Outcome::Complete));
    assert!(reply.first_exchange);
    assert_eq!(reply.message.text(), "Use slicing: `s[::-1]`.");
    let id = reply.conversation.id.clone();
    assert_eq!(thread, h.store.thread(id.clone()).await.unwrap());

    // Named by the model, cleaned up, for the app and the CLI alike.
    let named = ctx.name(&reply).await.expect("a title");
    assert_eq!(named.title, "Reversing strings in Python");
    assert_eq!(
        h.store.get_conversation(id.clone()).await.unwrap().title,
        "Reversing strings in Python"
    );
    assert_eq!(
        h.store.get_conversation(id.clone()).await.unwrap().head_id,
        Some(reply.message.id.clone()),
        "naming never moves the head"
    );

    // Regenerate and edit: the events put the thread where the store has it.
    h.server.push(ok_stream(&["Second ", "answer."]));
    let (_h2, stop) = chat::stop_pair();
    let again = ctx
        .regenerate(&reply.message.id, stop, &mut |u| apply(&mut thread, &u))
        .await
        .unwrap();
    assert!(!again.first_exchange);
    assert_eq!(
        ctx.name(&again).await,
        None,
        "only the first exchange names"
    );
    assert_eq!(thread, h.store.thread(id.clone()).await.unwrap());
    assert_eq!(thread[1].sibling_count, 2);

    h.server.push(ok_stream(&["Edited ", "answer."]));
    let first_user = thread[0].message.id.clone();
    let (_h3, stop) = chat::stop_pair();
    ctx.edit_and_resend(&first_user, "And in Rust?", stop, &mut |u| {
        apply(&mut thread, &u)
    })
    .await
    .unwrap();
    assert_eq!(thread, h.store.thread(id.clone()).await.unwrap());
    assert_eq!(thread[0].sibling_count, 2, "the edit is a new root version");
    assert_eq!(thread.len(), 2);

    // A follow-up on the current branch.
    h.server.push(ok_stream(&["Third."]));
    let (_h4, stop) = chat::stop_pair();
    ctx.send(Target::Existing(id.clone()), "Thanks", stop, &mut |u| {
        apply(&mut thread, &u)
    })
    .await
    .unwrap();
    assert_eq!(thread, h.store.thread(id).await.unwrap());
    assert_eq!(thread.len(), 4);
}

/// Stop is an outcome, not an error text to compare.
#[tokio::test(flavor = "current_thread")]
async fn a_stopped_reply_reports_the_stopped_outcome() {
    let h = harness(vec![Fault::Stream {
        chunks: sse_chat_chunks(&["one ", "two ", "three ", "four ", "five "]),
        delay_ms: 150,
        then: StreamEnd::Finish,
    }])
    .await;
    let ctx = h.ctx();
    let (handle, stop) = chat::stop_pair();
    let handle = RefCell::new(Some(handle));
    let reply = ctx
        .send(
            Target::Existing(h.conv.id.clone()),
            "count",
            stop,
            &mut |u| {
                if let ChatUpdate::Content { .. } = u {
                    if let Some(h) = handle.borrow_mut().take() {
                        h.stop();
                    }
                }
            },
        )
        .await
        .unwrap();
    assert_eq!(reply.outcome, chat::Outcome::Stopped);
    assert_eq!(reply.message.status, MessageStatus::Interrupted);
    assert!(
        !reply.message.text().is_empty(),
        "the partial reply is kept"
    );
}

/// A reply cut at the token limit (`finish_reason: length`) is marked so; "Continue" asks the
/// model to go on and adds what it writes to the same message, tokens included.
#[tokio::test]
async fn a_reply_cut_at_the_limit_continues_in_the_same_message() {
    let cut = Fault::Stream {
        chunks: vec![
            "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"The first half\"},\"finish_reason\":null}]}\n\n".into(),
            "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"length\"}]}\n\n".into(),
            "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":10,\"completion_tokens\":4}}\n\n".into(),
            "data: [DONE]\n\n".into(),
        ],
        delay_ms: 0,
        then: StreamEnd::Finish,
    };
    let h = harness(vec![cut, ok_stream(&[" and the rest."])]).await;
    let (first, _) = h.send("Tell me a long story.").await;
    assert_eq!(first.finish_reason.as_deref(), Some("length"));
    assert!(first.cut_at_limit());

    let ctx = h.ctx();
    let (_h, stop) = chat::stop_pair();
    let mut live = String::new();
    let reply = ctx
        .continue_reply(&first.id, stop, &mut |u| match u {
            ChatUpdate::Started { assistant, .. } => live = assistant.text(),
            ChatUpdate::Content { text, .. } => live.push_str(&text),
            _ => {}
        })
        .await
        .unwrap();
    assert_eq!(reply.outcome, chat::Outcome::Complete);
    assert_eq!(reply.message.id, first.id, "the same message");
    assert_eq!(reply.message.text(), "The first half and the rest.");
    assert_eq!(live, "The first half and the rest.", "the view saw it grow");
    assert_eq!(reply.message.finish_reason.as_deref(), Some("stop"));
    assert!(!reply.message.cut_at_limit());
    // The continuation's tokens (estimated: the second stream reports none) add to the first's.
    let usage = reply.message.usage.clone().unwrap();
    assert!(usage.estimated);
    assert!(
        usage.prompt_tokens > 10 && usage.completion_tokens > 4,
        "{usage:?}"
    );

    let thread = h.reopen_thread();
    assert_eq!(thread.len(), 2, "no new message");
    assert_eq!(thread[1].message.text(), "The first half and the rest.");
    // The request carried the partial reply and the instruction to go on.
    let body: serde_json::Value = serde_json::from_str(
        &h.server
            .requests()
            .iter()
            .filter(|r| r.path.ends_with("/chat/completions"))
            .nth(1)
            .unwrap()
            .body,
    )
    .unwrap();
    let messages = body["messages"].as_array().unwrap();
    assert_eq!(messages[messages.len() - 2]["content"], "The first half");
    assert_eq!(messages[messages.len() - 2]["role"], "assistant");
    assert_eq!(
        messages[messages.len() - 1]["content"],
        chat::CONTINUE_PROMPT
    );

    // Only the last reply can be continued.
    let (_h2, stop) = chat::stop_pair();
    let err = ctx
        .continue_reply(&thread[0].message.id, stop, &mut |_| {})
        .await
        .unwrap_err();
    assert!(err.to_string().contains("Only a reply"), "{err}");
}

/// A server that answers 200 and ends the stream before any event (llama.cpp's Python server
/// does this when a text-only model is handed an image): the reply failed, with a sentence that
/// does not speak of a partial reply and says where the images were; the exchange that failed
/// is left out of the next request (it failed every later message), and Retry works.
#[tokio::test]
async fn a_stream_that_ends_before_any_event_is_an_empty_reply() {
    let empty = || Fault::Stream {
        chunks: Vec::new(),
        delay_ms: 0,
        then: StreamEnd::Finish,
    };
    let h = harness(vec![
        empty(),
        ok_stream(&["Seen."]),
        empty(),
        empty(),
        ok_stream(&["Fine."]),
    ])
    .await;
    let (m, streamed) = h.send("plain question").await;
    assert!(streamed.is_empty());
    assert_eq!(m.status, MessageStatus::Error);
    assert_eq!(
        m.error.as_deref().unwrap(),
        "The server ended the reply without sending any of it. Retry, or check the server's logs."
    );

    let png = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/assets/icon-256.png")).unwrap();
    let send_image = |text: &'static str| {
        let image = opencode_nexus::engine::attachments::prepare("icon.png", png.clone()).unwrap();
        let ctx = h.ctx();
        let target = Target::Existing(h.conv.id.clone());
        async move {
            let (_h, stop) = chat::stop_pair();
            ctx.send_with(target, text, vec![image], stop, &mut |_| {})
                .await
                .unwrap()
                .message
        }
    };
    // An image the model answers; then a text message whose reply comes back empty.
    assert_eq!(send_image("what is this?").await.text(), "Seen.");
    let (after, _) = h.send("and this?").await;
    let error = after.error.clone().unwrap();
    assert!(
        error.contains("An earlier message of this conversation has images"),
        "{error}"
    );
    // An image in the message itself.
    let with_image = send_image("and that?").await;
    assert_eq!(with_image.status, MessageStatus::Error);
    let error = with_image.error.clone().unwrap();
    assert!(
        error.contains("This message has images, which this model may not accept"),
        "{error}"
    );
    assert!(!error.contains("partial"), "{error}");

    // The next message goes without the exchanges that failed: the answered image is sent,
    // the refused one is not, nor the questions left unanswered.
    let (fine, _) = h.send("tell me a joke").await;
    assert_eq!(fine.text(), "Fine.");
    let body = h.server.requests().last().unwrap().body.clone();
    let sent: serde_json::Value = serde_json::from_str(&body).unwrap();
    let turns: Vec<String> = sent["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| match &m["content"] {
            serde_json::Value::String(text) => text.clone(),
            parts => format!("{} with an image", parts[0]["text"].as_str().unwrap()),
        })
        .collect();
    assert_eq!(
        turns,
        ["what is this? with an image", "Seen.", "tell me a joke"]
    );
    assert_eq!(h.chat_requests(), 5);
    assert_retry_recovers(&h, &m, "plain question").await;
}

/// A server that resets the connection before answering (llama.cpp's server does so to a
/// kept-alive connection after breaking off a reply): the request goes once more on a new
/// connection and the reply arrives; a second reset in a row is reported with its sentence.
#[tokio::test]
async fn a_connection_reset_before_the_answer_is_tried_once_more() {
    let h = harness(vec![Fault::Reset, ok_stream(&["Second ", "try."])]).await;
    let (m, _) = h.send("hello?").await;
    assert_eq!(m.status, MessageStatus::Complete, "{:?}", m.error);
    assert_eq!(m.text(), "Second try.");
    assert_eq!(h.chat_requests(), 2);

    h.server.push(Fault::Reset);
    h.server.push(Fault::Reset);
    let (m, _) = h.send("and again?").await;
    assert_eq!(m.status, MessageStatus::Error);
    let error = m.error.clone().unwrap();
    assert!(error.starts_with("Could not reach"), "{error}");
    assert_eq!(h.chat_requests(), 4);
}
