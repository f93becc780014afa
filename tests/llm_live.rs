//! The conversation engine against the real llama.cpp server (SmolLM2-135M) started by
//! `scripts/test.sh`: models, streaming, stop, regenerate, edit-and-resend, and everything found
//! again after reopening the database file.

mod support;

use std::cell::RefCell;
use std::rc::Rc;

use opencode_nexus::engine::chat::{self, ChatUpdate, EngineOptions, ReplyContext, Target};
use opencode_nexus::engine::model::*;
use opencode_nexus::engine::providers::openai::OpenAiClient;
use opencode_nexus::engine::store::api::StoreClient;
use opencode_nexus::engine::store::Store;
use opencode_nexus::platform::native::WorkerTransport;

/// Changes the sampling parameters of conversation `id`.
async fn edit_params(store: &StoreClient, id: &Id, edit: impl FnOnce(&mut SamplingParams)) {
    let mut params = store.get_conversation(id.clone()).await.unwrap().params;
    edit(&mut params);
    store.set_params(id.clone(), params).await.unwrap();
}

/// `text` sent in conversation `id`; the reply as saved.
async fn ask(ctx: &ReplyContext<'_>, id: &Id, text: &str) -> Message {
    let (_h, stop) = chat::stop_pair();
    ctx.send(Target::Existing(id.clone()), text, stop, &mut |_| {})
        .await
        .unwrap()
        .message
}

#[tokio::test]
async fn real_llama_server_full_conversation_lifecycle() {
    let Some(url) = support::peers::llm_url() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("history.db");
    let store = StoreClient::new(Rc::new(WorkerTransport::spawn(&path).unwrap()));
    let profile = Profile::new("llama", BackendKind::OpenAiCompatible, url);
    store.save_profile(profile.clone()).await.unwrap();
    let client = OpenAiClient::new(reqwest::Client::new(), &profile, None).unwrap();

    let models = client.models().await.unwrap();
    assert!(models.contains(&"smollm2-135m".to_string()), "{models:?}");

    let mut conv = Conversation::new("live");
    conv.profile_id = Some(profile.id.clone());
    conv.model = Some(models[0].clone());
    conv.params.max_tokens = Some(48);
    conv.params.temperature = Some(0.7);
    store.create_conversation(conv.clone()).await.unwrap();
    let options = EngineOptions::default();
    let ctx = ReplyContext {
        store: &store,
        client: &client,
        options: &options,
    };

    // 1. A streamed reply: several deltas, complete, saved.
    let deltas = Rc::new(RefCell::new(Vec::<String>::new()));
    let sink = deltas.clone();
    let (_h, stop) = chat::stop_pair();
    let first = ctx
        .send(
            Target::Existing(conv.id.clone()),
            "Name three colors.",
            stop,
            &mut |u| {
                if let ChatUpdate::Content { text, .. } = u {
                    sink.borrow_mut().push(text);
                }
            },
        )
        .await
        .unwrap()
        .message;
    assert_eq!(first.status, MessageStatus::Complete, "{:?}", first.error);
    assert!(deltas.borrow().len() > 1, "streamed in pieces");
    assert_eq!(deltas.borrow().concat(), first.text());
    assert!(!first.text().trim().is_empty());

    // 2. Stop mid-stream: the partial reply is kept, marked interrupted.
    edit_params(&store, &conv.id, |p| p.max_tokens = Some(400)).await;
    let (stop_handle, stop) = chat::stop_pair();
    let stop_handle = RefCell::new(Some(stop_handle));
    let count = RefCell::new(0usize);
    let stopped = ctx
        .send(
            Target::Existing(conv.id.clone()),
            "Write a long story about a dragon and a knight.",
            stop,
            &mut |u| {
                if let ChatUpdate::Content { .. } = u {
                    *count.borrow_mut() += 1;
                    if *count.borrow() == 5 {
                        if let Some(h) = stop_handle.borrow_mut().take() {
                            h.stop();
                        }
                    }
                }
            },
        )
        .await
        .unwrap()
        .message;
    assert_eq!(stopped.status, MessageStatus::Interrupted);
    assert!(!stopped.text().is_empty(), "partial text kept");

    // 3. Regenerate the stopped reply: a new alternative, the old one still reachable.
    edit_params(&store, &conv.id, |p| p.max_tokens = Some(32)).await;
    let (_h, stop) = chat::stop_pair();
    let regenerated = ctx
        .regenerate(&stopped.id, stop, &mut |_| {})
        .await
        .unwrap()
        .message;
    assert_eq!(
        regenerated.status,
        MessageStatus::Complete,
        "{:?}",
        regenerated.error
    );
    assert_eq!(regenerated.parent_id, stopped.parent_id);

    // 4. Edit the first question and resend: a new branch from the root.
    let thread = store.thread(conv.id.clone()).await.unwrap();
    let first_user = thread[0].message.clone();
    let (_h, stop) = chat::stop_pair();
    let edited_reply = ctx
        .edit_and_resend(&first_user.id, "Name two animals.", stop, &mut |_| {})
        .await
        .unwrap()
        .message;
    assert_eq!(
        edited_reply.status,
        MessageStatus::Complete,
        "{:?}",
        edited_reply.error
    );

    // 5. Reopen the file: every message is there, branches intact.
    let reopened = Store::open(&path).unwrap();
    let all = reopened.all_messages(&conv.id).unwrap();
    assert_eq!(
        all.len(),
        7,
        "2 sent + 2 stopped + 1 regenerated + 2 edited"
    );
    let thread = reopened.thread(&conv.id).unwrap();
    assert_eq!(thread.len(), 2);
    assert_eq!(thread[0].message.text(), "Name two animals.");
    assert_eq!(
        thread[0].sibling_count, 2,
        "the original question is still reachable"
    );
    assert_eq!(thread[1].message.id, edited_reply.id);
    let interrupted = reopened.get_message(&stopped.id).unwrap();
    assert_eq!(interrupted.status, MessageStatus::Interrupted);
    assert_eq!(interrupted.text(), stopped.text());
    reopened.select_branch(&conv.id, &regenerated.id).unwrap();
    let old_branch = reopened.thread(&conv.id).unwrap();
    assert_eq!(old_branch.len(), 4);
    assert_eq!(old_branch[3].message.id, regenerated.id);
    assert_eq!(old_branch[3].sibling_count, 2);
    drop(reopened);

    // 6. An image to this text-only model: the server answers 200 and ends the stream empty.
    // The reply failed with a sentence that names the images; the message and its image stay.
    let png = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/assets/icon-256.png")).unwrap();
    let image = opencode_nexus::engine::attachments::prepare("icon.png", png).unwrap();
    let (_h, stop) = chat::stop_pair();
    let sent = ctx
        .send_with(
            Target::Existing(conv.id.clone()),
            "What is in this picture?",
            vec![image],
            stop,
            &mut |_| {},
        )
        .await
        .unwrap();
    assert_eq!(sent.message.status, MessageStatus::Error);
    let error = sent.message.error.clone().unwrap_or_default();
    assert!(
        error.contains("This message has images, which this model may not accept"),
        "{error}"
    );
    let thread = store.thread(conv.id.clone()).await.unwrap();
    let asked = &thread[thread.len() - 2].message;
    assert_eq!(asked.text(), "What is in this picture?");
    assert_eq!(asked.attachments().len(), 1);

    // 7. The next message is answered: the refused image is not sent again with it.
    let next = ask(&ctx, &conv.id, "Name one fruit.").await;
    assert_eq!(next.status, MessageStatus::Complete, "{:?}", next.error);
    assert!(!next.text().trim().is_empty());

    // 8. A reply cut at its token limit, continued. Asked to go on, this model starts its reply
    // again: what it repeats is not added twice, what follows is.
    edit_params(&store, &conv.id, |p| {
        p.max_tokens = Some(16);
        p.temperature = Some(0.0);
    })
    .await;
    let cut = ask(&ctx, &conv.id, "Explain what a hash map is.").await;
    assert!(cut.cut_at_limit(), "{:?}", cut.finish_reason);
    let before = cut.text();
    edit_params(&store, &conv.id, |p| p.max_tokens = Some(48)).await;
    let (_h, stop) = chat::stop_pair();
    let continued = ctx
        .continue_reply(&cut.id, stop, &mut |_| {})
        .await
        .unwrap()
        .message;
    assert_eq!(continued.id, cut.id);
    let after = continued.text();
    assert!(after.starts_with(&before), "{before:?} → {after:?}");
    assert!(after.len() > before.len(), "{before:?} → {after:?}");
    assert_eq!(
        after.matches(before.trim()).count(),
        1,
        "the start was added again: {after:?}"
    );
}
