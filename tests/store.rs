//! The SQLite store against real database files: migrations, FTS5, WAL, crash recovery,
//! refusal of newer schemas and of damaged files, branches.

use opencode_nexus::engine::error::Error;
use opencode_nexus::engine::model::*;
use opencode_nexus::engine::store::{schema, Store};

fn conversation(store: &Store, title: &str) -> Conversation {
    let c = Conversation::new(title);
    store.create_conversation(&c).unwrap();
    c
}

/// The texts of a conversation's visible thread, in order.
fn thread_texts(store: &Store, conversation_id: &str) -> Vec<String> {
    store
        .thread(conversation_id)
        .unwrap()
        .iter()
        .map(|t| t.message.text())
        .collect()
}

fn add(
    store: &mut Store,
    c: &Conversation,
    parent: Option<&Message>,
    role: Role,
    text: &str,
) -> Message {
    let m = Message::new(&c.id, parent.map(|p| p.id.clone()), role, text);
    store.save_message(&m, true).unwrap();
    m
}

#[test]
fn migrates_an_empty_database_to_the_latest_schema() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("h.db")).unwrap();
    assert_eq!(store.schema_version().unwrap(), schema::LATEST);
    let journal: String = store
        .connection()
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(journal, "wal");
    let fk: i64 = store
        .connection()
        .query_row("PRAGMA foreign_keys", [], |r| r.get(0))
        .unwrap();
    assert_eq!(fk, 1);
}

/// Every earlier schema version, with data written the way that version wrote it, opens in the
/// current version with the data intact and searchable.
#[test]
fn migrates_from_every_earlier_schema_keeping_data() {
    for old in 1..schema::LATEST {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.db");
        {
            let mut raw = Store::open_raw(&path).unwrap();
            raw.migrate_to(old).unwrap();
            assert_eq!(raw.schema_version().unwrap(), old);
            // Rows as version 1 laid them out (later versions only add columns/tables).
            raw.connection()
                .execute_batch(
                    "INSERT INTO conversations (id, title, created_at, updated_at, params, head_id)
                       VALUES ('c1', 'Old chat', 1, 2, '{}', 'm2');
                     INSERT INTO messages (id, conversation_id, parent_id, role, parts, text, status, created_at, updated_at)
                       VALUES ('m1', 'c1', NULL, 'user', '[{\"type\":\"text\",\"text\":\"tell me about aardvarks\"}]', 'tell me about aardvarks', 'complete', 1, 1),
                              ('m2', 'c1', 'm1', 'assistant', '[{\"type\":\"text\",\"text\":\"Aardvarks eat ants\"}]', 'Aardvarks eat ants', 'streaming', 2, 2);",
                )
                .unwrap();
        }
        let store = Store::open(&path).unwrap();
        assert_eq!(
            store.schema_version().unwrap(),
            schema::LATEST,
            "from v{old}"
        );
        let thread = store.thread("c1").unwrap();
        assert_eq!(thread.len(), 2, "from v{old}");
        assert_eq!(thread[1].message.text(), "Aardvarks eat ants");
        // A reply left streaming by the old process is recovered as interrupted.
        assert_eq!(thread[1].message.status, MessageStatus::Interrupted);
        let hits = store.search("aardvark", 10).unwrap();
        assert_eq!(
            hits.len(),
            2,
            "FTS index built for pre-existing rows (from v{old})"
        );
    }
}

/// Version 5 (presets, prices, model lists) on a database as version 4 left it: a backend, a
/// conversation that used it and its messages. They keep working; the new tables take rows and
/// follow the backend's removal.
#[test]
fn version_5_adds_presets_and_prices_to_a_version_4_database() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v4.db");
    {
        let mut raw = Store::open_raw(&path).unwrap();
        raw.migrate_to(4).unwrap();
        raw.connection()
            .execute_batch(
                "INSERT INTO profiles (id, name, kind, base_url, headers, created_at, updated_at)
                   VALUES ('p1', 'work', 'openai-compatible', 'http://127.0.0.1:9/v1', '[]', 1, 1);
                 INSERT INTO conversations (id, title, created_at, updated_at, profile_id, model, params, head_id)
                   VALUES ('c1', 'Old chat', 1, 2, 'p1', 'm', '{\"temperature\":0.4}', 'm2');
                 INSERT INTO messages (id, conversation_id, parent_id, role, parts, text, status, usage, cost, created_at, updated_at)
                   VALUES ('m1', 'c1', NULL, 'user', '[{\"type\":\"text\",\"text\":\"hi\"}]', 'hi', 'complete', NULL, NULL, 1, 1),
                          ('m2', 'c1', 'm1', 'assistant', '[{\"type\":\"text\",\"text\":\"hello\"}]', 'hello', 'complete',
                           '{\"prompt_tokens\":10,\"completion_tokens\":3}', 0.5, 2, 2);",
            )
            .unwrap();
    }
    let mut store = Store::open(&path).unwrap();
    assert_eq!(store.schema_version().unwrap(), schema::LATEST);
    let c = store.get_conversation("c1").unwrap();
    assert_eq!(c.params.temperature, Some(0.4));
    assert_eq!(c.preset_id, None);
    assert_eq!(store.thread("c1").unwrap().len(), 2);
    let total = store.usage_total("c1").unwrap();
    assert_eq!((total.input, total.output, total.cost), (10, 3, Some(0.5)));
    assert!(!total.estimated);
    assert_eq!(store.stream_usage("p1").unwrap(), None);

    let mut preset = Preset::new("Tutor");
    preset.profile_id = Some("p1".into());
    preset.is_default = true;
    store.save_preset(&preset).unwrap();
    let mut other = Preset::new("Other");
    other.is_default = true;
    store.save_preset(&other).unwrap();
    // One default at a time: the newer one takes it.
    assert_eq!(store.default_preset().unwrap().unwrap().name, "Other");
    assert!(!store.get_preset("Tutor").unwrap().is_default);
    let clash = Preset::new("tutor");
    assert!(matches!(store.save_preset(&clash), Err(Error::Invalid(_))));
    let mut bad = Preset::new("Hot");
    bad.params.temperature = Some(2.5);
    assert!(matches!(store.save_preset(&bad), Err(Error::Invalid(_))));
    assert_eq!(store.list_presets().unwrap().len(), 2, "nothing saved");

    store
        .set_price(&ModelPrice {
            profile_id: "p1".into(),
            model: "m".into(),
            input_per_million: 2.0,
            output_per_million: 8.0,
        })
        .unwrap();
    assert_eq!(
        store
            .get_price("p1", "m")
            .unwrap()
            .unwrap()
            .output_per_million,
        8.0
    );
    let negative = ModelPrice {
        profile_id: "p1".into(),
        model: "m".into(),
        input_per_million: -1.0,
        output_per_million: 8.0,
    };
    assert!(matches!(store.set_price(&negative), Err(Error::Invalid(_))));
    store.set_stream_usage("p1", false).unwrap();
    assert_eq!(store.stream_usage("p1").unwrap(), Some(false));

    // Removing the backend: its prices go, the preset stays without a backend.
    store.delete_profile("p1").unwrap();
    assert!(store.list_prices(None).unwrap().is_empty());
    assert_eq!(store.get_preset("Tutor").unwrap().profile_id, None);
    let conv_preset = {
        let mut c = Conversation::new("From a preset");
        c.preset_id = Some(preset.id.clone());
        store.create_conversation(&c).unwrap();
        c.id
    };
    store.delete_preset("Tutor").unwrap();
    assert_eq!(
        store.get_conversation(&conv_preset).unwrap().preset_id,
        None
    );
}

#[test]
fn refuses_a_database_from_a_newer_version_without_touching_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("new.db");
    {
        let store = Store::open(&path).unwrap();
        store
            .connection()
            .pragma_update(None, "user_version", schema::LATEST + 5)
            .unwrap();
        store
            .connection()
            .execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")
            .unwrap();
    }
    let before = std::fs::read(&path).unwrap();
    match Store::open(&path) {
        Err(Error::DatabaseTooNew {
            found, supported, ..
        }) => {
            assert_eq!(found, schema::LATEST + 5);
            assert_eq!(supported, schema::LATEST);
        }
        Err(e) => panic!("unexpected error {e}"),
        Ok(_) => panic!("a newer database was opened"),
    }
    assert_eq!(std::fs::read(&path).unwrap(), before, "file unchanged");
    let msg = Error::DatabaseTooNew {
        path: "x".into(),
        found: 9,
        supported: 3,
    }
    .to_string();
    assert!(
        msg.contains("newer version") && msg.contains("Update the app"),
        "{msg}"
    );
}

#[test]
fn a_damaged_file_gives_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("garbage.db");
    std::fs::write(&path, vec![0x42u8; 8192]).unwrap();
    match Store::open(&path) {
        Err(e @ Error::DatabaseCorrupt { .. }) => {
            let s = e.to_string();
            assert!(s.contains("damaged") && s.contains("restore"), "{s}");
        }
        Err(e) => panic!("unexpected error {e:?}"),
        Ok(_) => panic!("garbage opened as a database"),
    }
}

#[test]
fn fts_finds_messages_by_word_and_prefix_and_skips_deleted() {
    let mut store = Store::open_in_memory().unwrap();
    let c = conversation(&store, "Rust questions");
    let u = add(
        &mut store,
        &c,
        None,
        Role::User,
        "How do lifetimes work in Rust?",
    );
    add(
        &mut store,
        &c,
        Some(&u),
        Role::Assistant,
        "Lifetimes describe how long references are valid. Crème brûlée.",
    );
    let other = conversation(&store, "Cooking");
    add(
        &mut store,
        &other,
        None,
        Role::User,
        "A recipe for pancakes please",
    );

    let by_word = store.search("lifetimes", 10).unwrap();
    assert_eq!(by_word.len(), 2);
    assert!(by_word.iter().all(|h| h.conversation_id == c.id));
    let by_prefix = store.search("panc", 10).unwrap();
    assert_eq!(by_prefix.len(), 1);
    assert_eq!(by_prefix[0].conversation_title, "Cooking");
    let runs = snippet_runs(&by_prefix[0].snippet);
    assert!(
        runs.iter().any(|(t, hit)| *hit && t == "pancakes"),
        "{runs:?}"
    );
    // diacritics folded
    assert_eq!(store.search("creme brulee", 10).unwrap().len(), 1);
    // FTS syntax in user input is harmless
    assert!(store.search("\"unbalanced AND (", 10).is_ok());
    assert!(store.search("   ", 10).unwrap().is_empty());

    store.delete_conversation(&other.id).unwrap();
    assert!(
        store.search("pancakes", 10).unwrap().is_empty(),
        "deleted conversations are not found"
    );
    store.undelete_conversation(&other.id).unwrap();
    assert_eq!(store.search("pancakes", 10).unwrap().len(), 1);
}

#[test]
fn fts_index_follows_updates_of_streamed_text() {
    let mut store = Store::open_in_memory().unwrap();
    let c = conversation(&store, "t");
    let mut m = Message::new(&c.id, None, Role::Assistant, "first draft");
    m.status = MessageStatus::Streaming;
    store.save_message(&m, true).unwrap();
    m.parts = vec![Part::Text {
        text: "final zebra answer".into(),
    }];
    m.status = MessageStatus::Complete;
    store.save_message(&m, true).unwrap();
    assert!(store.search("draft", 10).unwrap().is_empty());
    assert_eq!(store.search("zebra", 10).unwrap().len(), 1);
}

#[test]
fn wal_database_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("h.db");
    let id;
    {
        let mut store = Store::open(&path).unwrap();
        let c = conversation(&store, "persisted");
        id = c.id.clone();
        add(&mut store, &c, None, Role::User, "hello persistence");
        // Dropped without a checkpoint: the data sits in the WAL file.
        assert!(dir.path().join("h.db-wal").exists());
    }
    let store = Store::open(&path).unwrap();
    let thread = store.thread(&id).unwrap();
    assert_eq!(thread.len(), 1);
    assert_eq!(thread[0].message.text(), "hello persistence");
    assert_eq!(store.integrity_check().unwrap(), vec!["ok".to_string()]);
}

#[test]
fn branches_keep_alternatives_reachable() {
    let mut store = Store::open_in_memory().unwrap();
    let c = conversation(&store, "t");
    let u = add(&mut store, &c, None, Role::User, "q");
    let a1 = add(&mut store, &c, Some(&u), Role::Assistant, "answer one");
    let a2 = add(&mut store, &c, Some(&u), Role::Assistant, "answer two");
    let thread = store.thread(&c.id).unwrap();
    assert_eq!(thread.len(), 2);
    assert_eq!(thread[1].message.id, a2.id);
    assert_eq!((thread[1].sibling_index, thread[1].sibling_count), (1, 2));
    store.select_branch(&c.id, &a1.id).unwrap();
    let thread = store.thread(&c.id).unwrap();
    assert_eq!(thread[1].message.id, a1.id);
    // Selecting a user message on another branch follows it down to its newest leaf.
    let u2 = add(&mut store, &c, None, Role::User, "edited q");
    let a3 = add(&mut store, &c, Some(&u2), Role::Assistant, "answer three");
    store.select_branch(&c.id, &u.id).unwrap();
    assert_eq!(store.thread(&c.id).unwrap()[1].message.id, a2.id);
    store.select_branch(&c.id, &u2.id).unwrap();
    let thread = store.thread(&c.id).unwrap();
    assert_eq!(thread[0].message.id, u2.id);
    assert_eq!(thread[1].message.id, a3.id);
    assert_eq!(thread[0].sibling_count, 2);
}

/// The end of the thread read on its own (what a conversation shows first) is exactly the end
/// of the whole thread, alternatives included, on random trees with branches at every level
/// and another conversation's messages in between.
#[test]
fn the_thread_tail_is_the_end_of_the_thread() {
    let mut store = Store::open_in_memory().unwrap();
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move |n: usize| {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((seed >> 33) as usize) % n
    };
    for round in 0..20 {
        let c = conversation(&store, &format!("tree {round}"));
        let other = conversation(&store, "other");
        let mut messages: Vec<Message> = Vec::new();
        for i in 0..(20 + next(150)) {
            // Mostly a reply to the newest message (long threads), sometimes an alternative
            // somewhere earlier, sometimes a new root.
            let parent = match next(10) {
                0 => None,
                1..=2 if !messages.is_empty() => Some(messages[next(messages.len())].clone()),
                _ => messages.last().cloned(),
            };
            let role = if i % 2 == 0 {
                Role::User
            } else {
                Role::Assistant
            };
            let m = add(
                &mut store,
                &c,
                parent.as_ref(),
                role,
                &format!("message {i}"),
            );
            messages.push(m);
            if next(4) == 0 {
                add(&mut store, &other, None, Role::User, "elsewhere");
            }
        }
        for _ in 0..3 {
            let at = &messages[next(messages.len())];
            store.select_branch(&c.id, &at.id).unwrap();
            let whole = store.thread(&c.id).unwrap();
            for limit in [
                0,
                1,
                2,
                7,
                80,
                whole.len().saturating_sub(1),
                whole.len(),
                whole.len() + 5,
            ] {
                let tail = store.thread_tail(&c.id, limit).unwrap();
                let from = whole.len().saturating_sub(limit);
                assert_eq!(tail.messages, whole[from..], "round {round}, limit {limit}");
                assert_eq!(tail.earlier, from > 0, "round {round}, limit {limit}");
            }
        }
    }
    let empty = conversation(&store, "empty");
    let tail = store.thread_tail(&empty.id, 80).unwrap();
    assert!(tail.messages.is_empty() && !tail.earlier);
}

#[test]
fn profiles_drafts_settings_and_list_order() {
    let store = Store::open_in_memory().unwrap();
    let p = Profile::new(
        "local",
        BackendKind::OpenAiCompatible,
        "http://127.0.0.1:1/v1",
    );
    store.save_profile(&p).unwrap();
    let dup = Profile::new("local", BackendKind::OpenCode, "http://x");
    assert!(matches!(store.save_profile(&dup), Err(Error::Invalid(_))));
    assert_eq!(store.get_profile("local").unwrap().id, p.id);

    store.set_draft("c1", "half a thought").unwrap();
    assert_eq!(
        store.get_draft("c1").unwrap().as_deref(),
        Some("half a thought")
    );
    store.set_draft("c1", "").unwrap();
    assert_eq!(store.get_draft("c1").unwrap(), None);

    store
        .set_setting("k", &serde_json::json!({"a": 1}))
        .unwrap();
    assert_eq!(
        store.get_setting("k").unwrap(),
        Some(serde_json::json!({"a": 1}))
    );

    let mut older = Conversation::new("older");
    older.updated_at = 10;
    older.pinned = true;
    store.create_conversation(&older).unwrap();
    let mut newer = Conversation::new("newer");
    newer.updated_at = 20;
    store.create_conversation(&newer).unwrap();
    let list = store
        .list_conversations(&ConversationFilter::default())
        .unwrap();
    let titles: Vec<_> = list.iter().map(|s| s.conversation.title.as_str()).collect();
    assert_eq!(titles, vec!["older", "newer"], "pinned first, then newest");
}

/// Regression: a second process opening the database (the CLI while the app streams) must not
/// mark the first one's live replies as interrupted; only a start with nobody else holding the
/// database recovers leftovers.
#[test]
fn crash_recovery_only_when_no_other_process_holds_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("h.db");
    let mut first = Store::open(&path).unwrap();
    let c = conversation(&first, "live");
    let mut m = Message::new(&c.id, None, Role::Assistant, "partial");
    m.status = MessageStatus::Streaming;
    first.save_message(&m, true).unwrap();

    let second = Store::open(&path).unwrap();
    assert_eq!(
        second.get_message(&m.id).unwrap().status,
        MessageStatus::Streaming
    );
    drop(second);
    drop(first);

    let after_crash = Store::open(&path).unwrap();
    let recovered = after_crash.get_message(&m.id).unwrap();
    assert_eq!(recovered.status, MessageStatus::Interrupted);
    assert_eq!(recovered.text(), "partial");
    assert!(recovered
        .error
        .unwrap()
        .contains("closed before this reply finished"));
}

/// Regression: search-as-you-type made the last word a prefix, and FTS5 answered short common
/// prefixes by merging every matching posting list (up to 450 ms on a million messages); schema
/// v4 adds prefix indexes, and complete words (followed by a space) or single letters match
/// exactly.
#[test]
fn search_prefixes_use_the_prefix_index_and_complete_words_match_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("h.db")).unwrap();
    let sql: String = store
        .connection()
        .query_row(
            "SELECT sql FROM sqlite_master WHERE name = 'messages_fts'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(sql.contains("prefix='2 3 4'"), "{sql}");
    let c = conversation(&store, "Words");
    add(&mut store, &c, None, Role::User, "the theory of everything");
    add(&mut store, &c, None, Role::User, "then a thermos");
    add(&mut store, &c, None, Role::User, "東京 in spring");
    assert_eq!(store.search("th", 10).unwrap().len(), 2);
    assert_eq!(
        store.search("the", 10).unwrap().len(),
        2,
        "the, theory, then, thermos"
    );
    assert_eq!(
        store.search("the ", 10).unwrap().len(),
        1,
        "only the word 'the'"
    );
    assert_eq!(store.search("a", 10).unwrap().len(), 1, "only the word 'a'");
    assert_eq!(store.search("theory every", 10).unwrap().len(), 1);
    assert_eq!(
        store.search("東", 10).unwrap().len(),
        1,
        "one CJK character is a prefix"
    );
    assert_eq!(
        opencode_nexus::engine::store::fts_query("the theo").as_deref(),
        Some("\"the\" \"theo\"*")
    );
    assert_eq!(
        opencode_nexus::engine::store::fts_query("the ").as_deref(),
        Some("\"the\"")
    );
}

/// Changing a conversation's model, backend, options, title, pin or archive after a reply
/// never touches its thread: the edits carry no head, so a stale copy of the conversation (a
/// view's, a list row's) cannot clear or rewind it. Only saving a message and choosing a
/// branch move the head.
#[test]
fn conversation_edits_never_move_the_head() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("h.db");
    let mut store = Store::open(&path).unwrap();
    let c = conversation(&store, "edits");
    // The copy a view holds from before the first message: head None.
    let stale_before_any_message = store.get_conversation(&c.id).unwrap();
    let q1 = add(&mut store, &c, None, Role::User, "q1");
    let a1 = add(&mut store, &c, Some(&q1), Role::Assistant, "a1");
    // The copy a view holds from the middle of the conversation: head a1.
    let stale_mid = store.get_conversation(&c.id).unwrap();
    assert_eq!(stale_mid.head_id.as_deref(), Some(a1.id.as_str()));
    let q2 = add(&mut store, &c, Some(&a1), Role::User, "q2");
    let a2 = add(&mut store, &c, Some(&q2), Role::Assistant, "a2");
    assert_eq!(stale_before_any_message.head_id, None);

    let mut params = stale_mid.params.clone();
    params.temperature = Some(0.5);
    let edits = [
        ConversationEdit::Params(params),
        ConversationEdit::Model(Some("other-model".into())),
        ConversationEdit::Backend {
            profile_id: None,
            model: Some("m2".into()),
        },
        ConversationEdit::SystemPrompt(Some("Be brief.".into())),
        ConversationEdit::Title("Renamed".into()),
        ConversationEdit::Pinned(true),
        ConversationEdit::Archived(true),
        ConversationEdit::Archived(false),
    ];
    for edit in &edits {
        let saved = store
            .update_conversation(&c.id, std::slice::from_ref(edit))
            .unwrap();
        assert_eq!(saved.head_id.as_deref(), Some(a2.id.as_str()), "{edit:?}");
    }
    // Reopened from the file: every field as edited, and the whole thread there.
    drop(store);
    let store = Store::open(&path).unwrap();
    let after = store.get_conversation(&c.id).unwrap();
    assert_eq!(after.head_id.as_deref(), Some(a2.id.as_str()));
    assert_eq!(after.params.temperature, Some(0.5));
    assert_eq!(after.model.as_deref(), Some("m2"));
    assert_eq!(after.system_prompt.as_deref(), Some("Be brief."));
    assert_eq!(after.title, "Renamed");
    assert!(after.pinned && !after.archived);
    let texts = thread_texts(&store, &c.id);
    assert_eq!(texts, ["q1", "a1", "q2", "a2"]);
    let summary = store
        .list_conversations(&ConversationFilter::default())
        .unwrap()
        .into_iter()
        .find(|s| s.conversation.id == c.id)
        .unwrap();
    assert_eq!(summary.message_count, 4);
}

/// Bad values get a sentence and change nothing, not even the edits before them in the same
/// call; creating a conversation twice is refused.
#[test]
fn invalid_conversation_edits_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("h.db")).unwrap();
    let c = conversation(&store, "valid");
    let before = store.get_conversation(&c.id).unwrap();
    for bad in [
        SamplingParams {
            temperature: Some(2.5),
            ..Default::default()
        },
        SamplingParams {
            top_p: Some(-0.1),
            ..Default::default()
        },
        SamplingParams {
            max_tokens: Some(0),
            ..Default::default()
        },
        SamplingParams {
            context_tokens: Some(10),
            ..Default::default()
        },
    ] {
        let err = store
            .update_conversation(
                &c.id,
                &[
                    ConversationEdit::Title("changed".into()),
                    ConversationEdit::Params(bad.clone()),
                ],
            )
            .unwrap_err();
        assert!(matches!(err, Error::Invalid(_)), "{bad:?}: {err:?}");
        assert!(err.to_string().contains("nothing was changed"), "{err}");
        assert_eq!(store.get_conversation(&c.id).unwrap(), before);
    }
    let err = store
        .update_conversation(&c.id, &[ConversationEdit::Title("   ".into())])
        .unwrap_err();
    assert!(err.to_string().contains("needs a title"), "{err}");
    assert_eq!(store.get_conversation(&c.id).unwrap(), before);
    let missing = store
        .update_conversation("no-such-id", &[ConversationEdit::Pinned(true)])
        .unwrap_err();
    assert!(matches!(missing, Error::NotFound { .. }), "{missing:?}");
    let twice = store.create_conversation(&before).unwrap_err();
    assert!(twice.to_string().contains("already exists"), "{twice}");
}

/// Deleting a message takes what follows from it on its branch; other branches stay, and the
/// visible branch moves to the newest alternative left, or ends at the parent.
#[test]
fn deleting_a_message_is_branch_aware() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("h.db")).unwrap();
    let c = conversation(&store, "Branches");
    let u1 = add(&mut store, &c, None, Role::User, "first question");
    let a1 = add(&mut store, &c, Some(&u1), Role::Assistant, "first answer");
    let u2 = add(&mut store, &c, Some(&a1), Role::User, "second question");
    let a2 = add(&mut store, &c, Some(&u2), Role::Assistant, "second answer");
    // A regenerated second answer: a sibling of a2, now shown.
    let a2b = add(
        &mut store,
        &c,
        Some(&u2),
        Role::Assistant,
        "second answer, again",
    );
    assert_eq!(
        store.get_conversation(&c.id).unwrap().head_id.as_deref(),
        Some(a2b.id.as_str())
    );

    // The shown alternative goes: the other one is shown.
    let after = store.delete_message(&a2b.id).unwrap();
    assert_eq!(after.head_id.as_deref(), Some(a2.id.as_str()));
    let texts = thread_texts(&store, &c.id);
    assert_eq!(
        texts,
        [
            "first question",
            "first answer",
            "second question",
            "second answer"
        ]
    );
    assert!(
        store.search("again", 10).unwrap().is_empty(),
        "gone from search too"
    );

    // A user message goes with its replies; the branch ends at its parent.
    let after = store.delete_message(&u2.id).unwrap();
    assert_eq!(after.head_id.as_deref(), Some(a1.id.as_str()));
    assert_eq!(store.thread(&c.id).unwrap().len(), 2);
    assert!(matches!(
        store.get_message(&a2.id),
        Err(Error::NotFound { .. })
    ));

    // An alternative that is not shown goes without moving the head.
    let a1b = add(
        &mut store,
        &c,
        Some(&u1),
        Role::Assistant,
        "other first answer",
    );
    store.select_branch(&c.id, &a1.id).unwrap();
    let after = store.delete_message(&a1b.id).unwrap();
    assert_eq!(after.head_id.as_deref(), Some(a1.id.as_str()));

    // The root: nothing is left, and the conversation shows an empty thread.
    let after = store.delete_message(&u1.id).unwrap();
    assert_eq!(after.head_id, None);
    assert!(store.thread(&c.id).unwrap().is_empty());
    assert!(matches!(
        store.delete_message("no-such-message"),
        Err(Error::NotFound { .. })
    ));
}

/// Version 6 (attached files) on a database as version 5 left it: its messages keep working
/// and stay searchable, and new messages can carry files.
#[test]
fn version_6_adds_attachments_to_a_version_5_database() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v5.db");
    {
        let mut raw = Store::open_raw(&path).unwrap();
        raw.migrate_to(5).unwrap();
        raw.connection()
            .execute_batch(
                "INSERT INTO presets (id, name, params, is_default, created_at, updated_at)
                   VALUES ('s1', 'Tutor', '{}', 1, 1, 1);
                 INSERT INTO conversations (id, title, created_at, updated_at, params, head_id, preset_id)
                   VALUES ('c1', 'Old chat', 1, 2, '{}', 'm1', 's1');
                 INSERT INTO messages (id, conversation_id, parent_id, role, parts, text, status, finish_reason, created_at, updated_at)
                   VALUES ('m1', 'c1', NULL, 'user', '[{\"type\":\"text\",\"text\":\"about wombats\"}]', 'about wombats', 'complete', NULL, 1, 1);",
            )
            .unwrap();
    }
    let mut store = Store::open(&path).unwrap();
    assert_eq!(store.schema_version().unwrap(), schema::LATEST);
    assert_eq!(
        store.get_conversation("c1").unwrap().preset_id.as_deref(),
        Some("s1")
    );
    assert_eq!(store.search("wombats", 10).unwrap().len(), 1);
    assert_eq!(store.attachment_stats().unwrap(), (0, 0));
    let file =
        opencode_nexus::engine::attachments::prepare("wombat.txt", b"burrows".to_vec()).unwrap();
    let c = store.get_conversation("c1").unwrap();
    let parent = store.get_message("m1").unwrap();
    let mut m = Message::new(&c.id, Some(parent.id.clone()), Role::User, "and this");
    m.parts.push(Part::Attachment(file.reference()));
    store
        .save_message_with_files(&m, std::slice::from_ref(&file), true)
        .unwrap();
    assert_eq!(store.thread("c1").unwrap().len(), 2);
    assert_eq!(store.attachment_stats().unwrap(), (1, 7));
    assert_eq!(store.search("wombat.txt", 10).unwrap().len(), 1);
}

/// Version 7 (sync) on a database as version 6 left it: nothing is recorded for sync until it is
/// set up; then the whole history is marked to be sent, and each later edit marks its field.
#[test]
fn version_7_adds_sync_records_to_a_version_6_database() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v6.db");
    {
        let mut raw = Store::open_raw(&path).unwrap();
        raw.migrate_to(6).unwrap();
        raw.connection()
            .execute_batch(
                "INSERT INTO conversations (id, title, created_at, updated_at, params, head_id)
                   VALUES ('c1', 'Old chat', 1, 2, '{}', 'm1');
                 INSERT INTO conversations (id, title, created_at, updated_at, params, remote_session)
                   VALUES ('c2', 'An OpenCode session', 1, 2, '{}', 'ses_1');
                 INSERT INTO messages (id, conversation_id, parent_id, role, parts, text, status, created_at, updated_at)
                   VALUES ('m1', 'c1', NULL, 'user', '[{\"type\":\"text\",\"text\":\"about wombats\"}]', 'about wombats', 'complete', 1, 1),
                          ('m2', 'c2', NULL, 'user', '[{\"type\":\"text\",\"text\":\"run ls\"}]', 'run ls', 'complete', 1, 1);",
            )
            .unwrap();
    }
    let mut store = Store::open(&path).unwrap();
    assert_eq!(store.schema_version().unwrap(), schema::LATEST);
    let marks = |s: &Store| -> i64 {
        s.connection()
            .query_row("SELECT count(*) FROM sync_dirty", [], |r| r.get(0))
            .unwrap()
    };
    // Not set up: edits leave no marks.
    store
        .update_conversation("c1", &[ConversationEdit::Pinned(true)])
        .unwrap();
    assert_eq!(marks(&store), 0);
    assert_eq!(store.sync_state().unwrap().device, None);

    store.sync_enable("dev-1", "laptop").unwrap();
    // c1 and m1 are marked; the OpenCode copy and its message are not.
    assert_eq!(marks(&store), 2);
    let out = store.sync_collect().unwrap();
    let kinds: Vec<(String, String)> = out
        .changes
        .iter()
        .map(|c| (c.kind.clone(), c.id.clone()))
        .collect();
    assert!(kinds.contains(&("conversation".into(), "c1".into())));
    assert!(kinds.contains(&("message".into(), "m1".into())));
    assert!(!kinds.iter().any(|(_, id)| id == "c2" || id == "m2"));
    store.sync_ack(1, &out).unwrap();
    assert_eq!(marks(&store), 0);
    assert_eq!(store.sync_state().unwrap().pushed_seq, 1);

    // One field edited: one mark, for that field.
    store
        .update_conversation("c1", &[ConversationEdit::Title("Wombats".into())])
        .unwrap();
    let out = store.sync_collect().unwrap();
    assert_eq!(out.changes.len(), 1);
    assert_eq!(out.changes[0].field, "title");
    assert_eq!(out.changes[0].value, serde_json::json!("Wombats"));
    // The old data still reads and searches.
    assert_eq!(store.thread("c1").unwrap().len(), 1);
    assert_eq!(store.search("wombats", 10).unwrap().len(), 1);
}

/// Version 8 on a database as version 7 left it (sync set up, a change waiting): the waiting
/// change survives, and a message deleted afterwards leaves a tombstone saying when the message
/// was written.
#[test]
fn version_8_dates_message_tombstones_on_a_version_7_database() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v7.db");
    {
        let mut raw = Store::open_raw(&path).unwrap();
        raw.migrate_to(7).unwrap();
        raw.connection()
            .execute_batch(
                "INSERT INTO conversations (id, title, created_at, updated_at, params, head_id)
                   VALUES ('c1', 'Old chat', 1, 2, '{}', 'm2');
                 INSERT INTO messages (id, conversation_id, parent_id, role, parts, text, status, created_at, updated_at)
                   VALUES ('m1', 'c1', NULL, 'user', '[]', 'first', 'complete', 1, 1),
                          ('m2', 'c1', 'm1', 'assistant', '[]', 'second', 'complete', 5, 1234);
                 INSERT INTO sync_meta (key, value) VALUES ('device', 'dev-1'), ('pushed_seq', '3');
                 INSERT INTO sync_dirty (kind, id, field, at_ms) VALUES ('conversation', 'c1', 'title', 7);",
            )
            .unwrap();
    }
    let mut store = Store::open(&path).unwrap();
    assert_eq!(store.schema_version().unwrap(), schema::LATEST);
    let state = store.sync_state().unwrap();
    assert_eq!((state.pushed_seq, state.pending), (3, 1));
    store.delete_message("m2").unwrap();
    let out = store.sync_collect().unwrap();
    let tomb = out
        .changes
        .iter()
        .find(|c| c.kind == "message" && c.field == "deleted")
        .expect("the delete is sent");
    assert_eq!(tomb.id, "m2");
    assert_eq!(
        tomb.value,
        serde_json::json!({"conversation": "c1", "parent": "m1", "updated_at": 1234})
    );
    assert!(out
        .changes
        .iter()
        .any(|c| c.kind == "conversation" && c.field == "title"));
}

/// Version 9 on a database as version 8 left it: a reply left streaming is still found and
/// marked interrupted at the next start, through the index of streaming replies rather than a
/// read of every message.
#[test]
fn version_9_finds_interrupted_replies_by_index_on_a_version_8_database() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v8.db");
    {
        let mut raw = Store::open_raw(&path).unwrap();
        raw.migrate_to(8).unwrap();
        raw.connection()
            .execute_batch(
                "INSERT INTO conversations (id, title, created_at, updated_at, params, head_id)
                   VALUES ('c1', 'Old chat', 1, 2, '{}', 'm2');
                 INSERT INTO messages (id, conversation_id, parent_id, role, parts, text, status, created_at, updated_at)
                   VALUES ('m1', 'c1', NULL, 'user', '[]', 'question', 'complete', 1, 1),
                          ('m2', 'c1', 'm1', 'assistant', '[{\"type\":\"text\",\"text\":\"half an answ\"}]', 'half an answ', 'streaming', 2, 2);",
            )
            .unwrap();
    }
    let store = Store::open(&path).unwrap();
    assert_eq!(store.schema_version().unwrap(), schema::LATEST);
    let m2 = store.get_message("m2").unwrap();
    assert_eq!(m2.status, MessageStatus::Interrupted);
    assert_eq!(m2.text(), "half an answ");
    let plan: Vec<String> = store
        .connection()
        .prepare("EXPLAIN QUERY PLAN UPDATE messages SET status = 'interrupted' WHERE status = 'streaming'")
        .unwrap()
        .query_map([], |r| r.get::<_, String>(3))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(
        plan.iter().any(|p| p.contains("messages_streaming")),
        "{plan:?}"
    );
}

/// The browser's backups: an image of the whole database (one consistent snapshot), checked and
/// restored into a running store; a bad image changes nothing.
#[test]
fn a_database_image_restores_into_an_open_store_and_a_bad_one_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut source = Store::open(&dir.path().join("a.db")).unwrap();
    let kept = conversation(&source, "Kept through a restore");
    let q = add(&mut source, &kept, None, Role::User, "what is a lifetime");
    add(
        &mut source,
        &kept,
        Some(&q),
        Role::Assistant,
        "a region of code",
    );
    let image = source.database_image().unwrap();
    assert!(image.starts_with(b"SQLite format 3\0"));
    assert_eq!(
        Store::check_image("a.db", image.clone()).unwrap(),
        schema::LATEST
    );

    // The image is a database file that opens on its own.
    let copy = dir.path().join("copy.db");
    std::fs::write(&copy, &image).unwrap();
    assert_eq!(
        opencode_nexus::engine::portability::validate_backup(&copy).unwrap(),
        schema::LATEST
    );

    let mut target = Store::open(&dir.path().join("b.db")).unwrap();
    let other = conversation(&target, "Replaced by the restore");
    for bad in [
        b"not a database at all".to_vec(),
        image[..image.len() / 2].to_vec(),
    ] {
        let e = target.restore_image("upload.db", bad).unwrap_err();
        assert!(matches!(e, Error::BadBackup { .. }), "{e}");
        assert!(e.to_string().contains("upload.db"), "{e}");
        assert_eq!(
            target.get_conversation(&other.id).unwrap().title,
            other.title
        );
    }
    // A database from a newer version is refused too.
    let newer = {
        let mut s = Store::open(&dir.path().join("newer.db")).unwrap();
        s.connection()
            .pragma_update(None, "user_version", schema::LATEST + 1)
            .unwrap();
        s.database_image().unwrap()
    };
    let e = target.restore_image("newer.db", newer).unwrap_err();
    assert!(e.to_string().contains("newer version"), "{e}");
    assert!(target.get_conversation(&other.id).is_ok());

    assert_eq!(target.restore_image("a.db", image).unwrap(), schema::LATEST);
    assert!(target.get_conversation(&other.id).is_err());
    assert_eq!(
        thread_texts(&target, &kept.id),
        ["what is a lifetime", "a region of code"]
    );
    assert_eq!(target.search("lifetime", 10).unwrap().len(), 1);
    drop(target);
    // And it is there after the store opens again.
    let reopened = Store::open(&dir.path().join("b.db")).unwrap();
    assert_eq!(
        reopened.get_conversation(&kept.id).unwrap().title,
        kept.title
    );
}

/// The retention setting deletes what is untouched since the cut-off and not pinned, with its
/// messages, and counts beforehand exactly what it will delete.
#[test]
fn retention_counts_then_deletes_old_unpinned_conversations_with_their_messages() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("h.db")).unwrap();
    let day = 86_400_000;
    let now = now_ms();
    let make = |title: &str, age_days: i64, pinned: bool| {
        let mut c = Conversation::new(title);
        c.created_at = now - age_days * day;
        c.updated_at = now - age_days * day;
        c.pinned = pinned;
        c
    };
    let old = make("old", 40, false);
    let old_pinned = make("old, pinned", 40, true);
    let recent = make("recent", 2, false);
    for c in [&old, &old_pinned, &recent] {
        store.create_conversation(c).unwrap();
    }
    // An old message of the old one (written when it was).
    let mut m = Message::new(&old.id, None, Role::User, "an old question about retention");
    m.created_at = old.updated_at;
    m.updated_at = old.updated_at;
    store.save_message(&m, true).unwrap();

    let cutoff = retention_cutoff(30);
    assert_eq!(store.count_retention(cutoff).unwrap(), 1);
    assert_eq!(store.count_retention(retention_cutoff(60)).unwrap(), 0);
    assert_eq!(store.apply_retention(cutoff).unwrap(), 1);
    let left: Vec<String> = store
        .list_conversations(&ConversationFilter::default())
        .unwrap()
        .into_iter()
        .map(|s| s.conversation.title)
        .collect();
    assert_eq!(left, vec!["old, pinned", "recent"]);
    assert!(
        store.search("retention", 10).unwrap().is_empty(),
        "its messages went with it"
    );
    assert_eq!(store.count_retention(cutoff).unwrap(), 0);
}

#[test]
fn saved_copies_take_the_server_titles_of_their_own_backend_only() {
    let mut store = Store::open_in_memory().unwrap();
    let server = Profile::new("server", BackendKind::OpenCode, "http://127.0.0.1:1");
    let other = Profile::new("other", BackendKind::OpenCode, "http://127.0.0.1:2");
    store.save_profile(&server).unwrap();
    store.save_profile(&other).unwrap();
    let copy = |store: &Store, profile: &Profile, session: &str, title: &str| {
        let mut c = Conversation::new(title);
        c.profile_id = Some(profile.id.clone());
        c.remote_session = Some(session.to_owned());
        store.create_conversation(&c).unwrap();
        c.id
    };
    let renamed = copy(&store, &server, "ses_a", "Old title");
    let same = copy(&store, &server, "ses_b", "Kept");
    let unlisted = copy(&store, &server, "ses_gone", "Not in the list");
    let elsewhere = copy(&store, &other, "ses_a", "Another server's session");
    let local = conversation(&store, "A chat of this device");
    let titles = vec![
        ("ses_a".to_owned(), "New title".to_owned()),
        ("ses_b".to_owned(), "Kept".to_owned()),
        ("ses_new".to_owned(), "No copy yet".to_owned()),
    ];

    assert_eq!(store.retitle_copies(&server.id, &titles).unwrap(), 1);
    let title = |store: &Store, id: &str| store.get_conversation(id).unwrap().title;
    assert_eq!(title(&store, &renamed), "New title");
    assert_eq!(title(&store, &same), "Kept");
    assert_eq!(title(&store, &unlisted), "Not in the list");
    assert_eq!(title(&store, &elsewhere), "Another server's session");
    assert_eq!(title(&store, &local.id), "A chat of this device");
    // An empty title from the server leaves the copy's as it is.
    let blank = vec![("ses_a".to_owned(), "  ".to_owned())];
    assert_eq!(store.retitle_copies(&server.id, &blank).unwrap(), 0);
    assert_eq!(title(&store, &renamed), "New title");
}

/// A saved copy following its server: the conversation's messages become exactly the given
/// ones (the others gone from the thread and the search index), another conversation's
/// messages stay, and the last given one is the head.
#[test]
fn replacing_messages_keeps_exactly_the_given_ones() {
    let mut store = Store::open_in_memory().unwrap();
    let c = conversation(&store, "copy");
    let other = conversation(&store, "other");
    let u = add(&mut store, &c, None, Role::User, "first walrus question");
    let a = add(
        &mut store,
        &c,
        Some(&u),
        Role::Assistant,
        "an answer about narwhals",
    );
    let u2 = add(
        &mut store,
        &c,
        Some(&a),
        Role::User,
        "a second walrus question",
    );
    let kept_elsewhere = add(&mut store, &other, None, Role::User, "narwhals elsewhere");

    let mut edited = a.clone();
    edited.parts = vec![Part::Text {
        text: "a shorter answer".into(),
    }];
    store
        .replace_messages(&c.id, &[u.clone(), edited.clone()])
        .unwrap();

    assert_eq!(
        thread_texts(&store, &c.id),
        ["first walrus question", "a shorter answer"]
    );
    assert!(
        store.get_message(&u2.id).is_err(),
        "the message not given is gone"
    );
    assert_eq!(
        store.get_conversation(&c.id).unwrap().head_id,
        Some(edited.id)
    );
    assert_eq!(
        store.get_message(&kept_elsewhere.id).unwrap().text(),
        "narwhals elsewhere"
    );
    let hits = store.search("narwhals", 10).unwrap();
    assert_eq!(
        hits.len(),
        1,
        "only the other conversation's message matches: {hits:?}"
    );
    assert_eq!(hits[0].message_id, kept_elsewhere.id);
    assert!(store.search("second", 10).unwrap().is_empty());

    // A message of another conversation is refused and nothing changes.
    let err = store
        .replace_messages(&c.id, &[u.clone(), kept_elsewhere.clone()])
        .unwrap_err();
    assert!(
        err.to_string().contains("cannot be stored in conversation"),
        "{err}"
    );
    assert_eq!(store.thread(&c.id).unwrap().len(), 2);
}
