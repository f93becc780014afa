//! The store protocol's binary form (`engine::wire`), which carries every request and answer
//! between the browser page and its storage worker: a store on a real SQLite file, written and
//! read through it, gives back exactly what went in, and answers every read as the same store
//! does without it.

use opencode_nexus::engine::attachments::NewAttachment;
use opencode_nexus::engine::error::Error;
use opencode_nexus::engine::model::*;
use opencode_nexus::engine::portability::ExportFormat;
use opencode_nexus::engine::store::api::StoreClient;
use opencode_nexus::engine::store::dump::ImportFormat;
use opencode_nexus::engine::store::Store;
use serde_json::json;

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(f)
}

/// A message with every kind of part and every optional field set, with text and JSON that a
/// careless encoding would bend (quotes, NUL, non-ASCII, extreme numbers).
fn rich_reply(conversation_id: &str, parent: &Message) -> Message {
    let mut m = Message::new(
        conversation_id,
        Some(parent.id.clone()),
        Role::Assistant,
        "Here is \"the\" answer: naïve ☕ \u{0} end",
    );
    m.parts.extend([
        Part::Reasoning {
            text: "first, think".into(),
        },
        Part::Tool {
            data: json!({"tool": "bash", "state": {"status": "completed", "input": {"command": "ls -la"}, "output": "a\nb", "time": {"start": 1_700_000_000_000i64, "end": 1_700_000_000_123i64}}}),
        },
        Part::File {
            data: json!({"mime": "image/png", "url": "file:///x.png", "size": u64::MAX}),
        },
        Part::Patch {
            data: json!({"hash": "abc", "files": ["a.rs", "b.rs"], "ratio": 0.1, "neg": i64::MIN}),
        },
        Part::Other {
            data: json!({"type": "step-finish", "nested": [null, true, {}, [], 1e300]}),
        },
    ]);
    m.status = MessageStatus::Interrupted;
    m.error = Some("The connection dropped before the reply finished.".into());
    m.model = Some("smollm2:135m".into());
    m.usage = Some(Usage {
        prompt_tokens: 12,
        completion_tokens: u64::from(u32::MAX) + 7,
        reasoning_tokens: Some(3),
        estimated: true,
    });
    m.cost = Some(0.000_123_456_789);
    m.finish_reason = Some("length".into());
    m.created_at = -5;
    m.updated_at = i64::MAX;
    m
}

#[test]
fn everything_written_through_the_wire_reads_back_whole() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("h.db");
    let client = StoreClient::inline_over_wire(Store::open(&path).unwrap());

    let mut profile = Profile::new(
        "Local ☕",
        BackendKind::OpenAiCompatible,
        "http://127.0.0.1:8080/v1",
    );
    profile.default_model = Some("m".into());
    profile.headers = vec![("X-Team".into(), "a=b; c".into())];
    profile.key_env = Some("NEXUS_KEY".into());
    profile.username = Some("opencode".into());
    profile.directory = Some("/srv/project".into());
    block_on(client.save_profile(profile.clone())).unwrap();
    assert_eq!(
        block_on(client.get_profile(profile.id.clone())).unwrap(),
        profile
    );

    let mut preset = Preset::new("Careful");
    preset.system_prompt = Some("Be careful.\nTwice.".into());
    preset.profile_id = Some(profile.id.clone());
    preset.model = Some("m".into());
    preset.params = SamplingParams {
        temperature: Some(0.3),
        top_p: Some(0.95),
        max_tokens: Some(4096),
        context_tokens: Some(131_072),
        presence_penalty: Some(-1.5),
        frequency_penalty: Some(2.0),
        seed: Some(-42),
    };
    preset.is_default = true;
    block_on(client.save_preset(preset.clone())).unwrap();
    assert_eq!(
        block_on(client.get_preset(preset.id.clone())).unwrap(),
        preset
    );
    assert_eq!(
        block_on(client.default_preset()).unwrap(),
        Some(preset.clone())
    );

    let price = ModelPrice {
        profile_id: profile.id.clone(),
        model: "m".into(),
        input_per_million: 0.15,
        output_per_million: 0.6,
    };
    block_on(client.set_price(price.clone())).unwrap();
    assert_eq!(
        block_on(client.get_price(profile.id.clone(), "m".into())).unwrap(),
        Some(price)
    );

    let mut conversation = Conversation::new("Wire «test»");
    conversation.profile_id = Some(profile.id.clone());
    conversation.model = Some("m".into());
    block_on(client.create_conversation(conversation.clone())).unwrap();
    // Every byte value, as an attachment's content.
    let content: Vec<u8> = (0..=255u8).cycle().take(70_000).collect();
    let file = NewAttachment {
        name: "all bytes.bin".into(),
        mime: "application/octet-stream".into(),
        data: content.clone(),
    };
    let mut question = Message::new(&conversation.id, None, Role::User, "What is in the file?");
    question.parts.push(Part::Attachment(file.reference()));
    block_on(client.save_message_with_files(question.clone(), vec![file], true)).unwrap();
    let reply = rich_reply(&conversation.id, &question);
    block_on(client.save_message(reply.clone(), true)).unwrap();

    assert_eq!(
        block_on(client.get_message(reply.id.clone())).unwrap(),
        reply
    );
    assert_eq!(
        block_on(client.get_message(question.id.clone())).unwrap(),
        question
    );
    let attached = question.attachments();
    assert_eq!(attached[0].bytes, 70_000);
    let blob = block_on(client.attachment_data(attached[0].sha256.clone())).unwrap();
    assert_eq!(blob.mime, "application/octet-stream");
    assert_eq!(blob.data, content);

    let thread = block_on(client.thread(conversation.id.clone())).unwrap();
    assert_eq!(thread.len(), 2);
    assert_eq!(thread[1].message, reply);
    let hits = block_on(client.search("answer".into(), 10)).unwrap();
    assert_eq!(hits.len(), 1, "{hits:?}");
    assert_eq!(hits[0].message_id, reply.id);

    // A failure crosses as the same error, sentence and all.
    let missing = block_on(client.get_conversation("no-such-id".into())).unwrap_err();
    assert!(matches!(missing, Error::NotFound { .. }), "{missing:?}");
    let inline = StoreClient::inline(Store::open(&path).unwrap());
    assert_eq!(
        block_on(inline.get_conversation("no-such-id".into())).unwrap_err(),
        missing
    );
}

#[test]
fn every_read_answers_the_same_with_and_without_the_wire() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("h.db");
    {
        let client = StoreClient::inline(Store::open(&path).unwrap());
        let profile = Profile::new("P", BackendKind::OpenCode, "http://127.0.0.1:4096");
        block_on(client.save_profile(profile.clone())).unwrap();
        block_on(client.sync_enable("device-a".into(), "Laptop".into())).unwrap();
        for i in 0..3 {
            let mut c = Conversation::new(format!("Conversation {i}"));
            c.profile_id = Some(profile.id.clone());
            block_on(client.create_conversation(c.clone())).unwrap();
            let q = Message::new(
                &c.id,
                None,
                Role::User,
                &format!("question {i} about wires"),
            );
            block_on(client.save_message(q.clone(), true)).unwrap();
            block_on(client.save_message(rich_reply(&c.id, &q), true)).unwrap();
        }
        block_on(client.set_setting("theme".into(), json!({"mode": "dark", "scale": 1.25})))
            .unwrap();
        block_on(client.set_draft("draft:x".into(), "half-typed ☕".into())).unwrap();
    }
    let plain = StoreClient::inline(Store::open(&path).unwrap());
    let wired = StoreClient::inline_over_wire(Store::open(&path).unwrap());

    macro_rules! same {
        ($($call:ident ( $($arg:expr),* )),* $(,)?) => { $(
            let a = block_on(plain.$call($($arg),*));
            let b = block_on(wired.$call($($arg),*));
            assert!(a.is_ok(), "{}: {a:?}", stringify!($call));
            assert_eq!(format!("{a:?}"), format!("{b:?}"), "{}", stringify!($call));
        )* };
    }
    let all = block_on(plain.list_conversations(ConversationFilter::default())).unwrap();
    assert_eq!(all.len(), 3);
    let id = all[0].conversation.id.clone();
    same!(
        list_profiles(),
        list_presets(),
        list_prices(None),
        list_conversations(ConversationFilter::default()),
        get_conversation(id.clone()),
        thread(id.clone()),
        thread_tail(id.clone(), 1),
        usage_total(id.clone()),
        search("wires".into(), 50),
        get_setting("theme".into()),
        get_draft("draft:x".into()),
        count_conversations(),
        sync_state(),
        sync_counts(),
        sync_notes(),
        integrity_check(),
        schema_version(),
        export_dump(None, None),
        export_text(ExportFormat::Markdown, None, None),
    );
    // The collected sync changes: the same changes either way.
    let a = block_on(plain.sync_collect()).unwrap();
    let b = block_on(wired.sync_collect()).unwrap();
    assert!(!a.changes.is_empty());
    assert_eq!(format!("{a:?}"), format!("{b:?}"));

    // An export read through the wire imports through it into a fresh store, message for message.
    let dump = block_on(wired.export_dump(None, None)).unwrap();
    let other = tempfile::tempdir().unwrap();
    let fresh = StoreClient::inline_over_wire(Store::open(&other.path().join("h.db")).unwrap());
    let report = block_on(fresh.import_conversations(ImportFormat::Nexus, dump, None)).unwrap();
    assert_eq!(report.conversations_imported, 3, "{report:?}");
    assert_eq!(report.format, Some(ImportFormat::Nexus));
    for c in &all {
        let before = block_on(plain.thread(c.conversation.id.clone())).unwrap();
        let after = block_on(fresh.thread(c.conversation.id.clone())).unwrap();
        let texts = |t: &[ThreadMessage]| {
            t.iter()
                .map(|m| m.message.parts.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(texts(&after), texts(&before));
    }
}
