//! The user's data in and out, against real SQLite files in temporary directories: exact
//! export/import round trips, ChatGPT's `conversations.json`, bad files that must change nothing
//! (the database file compared byte for byte), backups taken while another connection keeps
//! writing, restore, retention, and the `export`/`import`/`backup`/`restore` commands.

mod support;

use support::cli::nexus;

use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use opencode_nexus::engine::error::Error;
use opencode_nexus::engine::model::*;
use opencode_nexus::engine::portability::{self, ImportFormat, MAX_IMPORT_BYTES};
use opencode_nexus::engine::store::Store;

const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/chatgpt/conversations.json"
);
/// A secret that must never reach an export.
const HEADER_SECRET: &str = "sk-header-secret-7f3a9c";

fn go_on() -> impl FnMut(u64, u64) -> bool {
    |_, _| true
}

fn msg(c: &Conversation, parent: Option<&Message>, role: Role, text: &str, at: i64) -> Message {
    let mut m = Message::new(&c.id, parent.map(|p| p.id.clone()), role, text);
    m.created_at = at;
    m.updated_at = at + 7;
    m
}

/// A history with what an export must carry: a profile (with a secret header), branches from a
/// regenerated answer and from an edited prompt, reasoning and tool parts, usage and cost, an
/// interrupted reply, sampling parameters, pinned and archived flags, and a soft-deleted
/// conversation that must not be exported.
fn seed(store: &mut Store) -> Vec<Conversation> {
    let mut profile = Profile::new(
        "work",
        BackendKind::OpenAiCompatible,
        "http://127.0.0.1:9/v1",
    );
    profile.key_env = Some("WORK_KEY".into());
    profile
        .headers
        .push(("X-Api-Key".into(), HEADER_SECRET.into()));
    store.save_profile(&profile).unwrap();

    // Presets: one on the "work" backend (by reference in an export), the default on none.
    let mut coder = Preset::new("Rust tutor");
    coder.system_prompt = Some("Explain Rust with short examples.".into());
    coder.profile_id = Some(profile.id.clone());
    coder.model = Some("gpt-x".into());
    coder.params.temperature = Some(0.3);
    coder.params.seed = Some(7);
    coder.created_at = 1_699_000_000_000;
    coder.updated_at = 1_699_000_000_000;
    store.save_preset(&coder).unwrap();
    let mut plain = Preset::new("Plain");
    plain.is_default = true;
    plain.params.presence_penalty = Some(-0.5);
    plain.created_at = 1_699_000_000_001;
    plain.updated_at = 1_699_000_000_001;
    store.save_preset(&plain).unwrap();

    let mut a = Conversation::new("Lifetimes in Rust");
    a.preset_id = Some(coder.id.clone());
    a.created_at = 1_700_000_000_000;
    a.updated_at = 1_700_000_000_000;
    a.profile_id = Some(profile.id.clone());
    a.model = Some("gpt-x".into());
    a.system_prompt = Some("Be brief.".into());
    a.params.temperature = Some(0.7);
    a.params.max_tokens = Some(512);
    a.pinned = true;
    store.create_conversation(&a).unwrap();
    let u1 = msg(
        &a,
        None,
        Role::User,
        "What is a lifetime? 🦀",
        1_700_000_001_000,
    );
    store.save_message(&u1, true).unwrap();
    let mut r1 = msg(
        &a,
        Some(&u1),
        Role::Assistant,
        "A scope for which a reference is valid.",
        1_700_000_002_000,
    );
    r1.parts.insert(
        0,
        Part::Reasoning {
            text: "The user asks about borrowck.".into(),
        },
    );
    r1.model = Some("gpt-x".into());
    r1.usage = Some(Usage {
        prompt_tokens: 12,
        completion_tokens: 9,
        reasoning_tokens: Some(4),
        estimated: false,
    });
    r1.cost = Some(0.000_123_4);
    store.save_message(&r1, true).unwrap();
    // Regenerated: a sibling of r1 that becomes the visible one.
    let mut r2 = msg(&a, Some(&u1), Role::Assistant, "The region of code where a borrow is live.\n\n```rust\nfn f<'a>(x: &'a str) -> &'a str { x }\n```", 1_700_000_003_000);
    r2.model = Some("gpt-y".into());
    r2.parts.push(Part::Tool {
        data: serde_json::json!({"tool": "grep", "state": {"status": "completed"}}),
    });
    store.save_message(&r2, true).unwrap();
    let u2 = msg(
        &a,
        Some(&r2),
        Role::User,
        "Thanks — 谢谢 — شكرا",
        1_700_000_004_000,
    );
    store.save_message(&u2, true).unwrap();
    let mut r3 = msg(
        &a,
        Some(&u2),
        Role::Assistant,
        "You're welcome",
        1_700_000_005_000,
    );
    r3.status = MessageStatus::Interrupted;
    r3.error = Some("Stopped before the reply finished.".into());
    store.save_message(&r3, true).unwrap();

    let mut b = Conversation::new("Edited prompt");
    b.created_at = 1_700_000_100_000;
    b.updated_at = 1_700_000_100_000;
    b.archived = true;
    store.create_conversation(&b).unwrap();
    let e1 = msg(&b, None, Role::User, "first wording", 1_700_000_101_000);
    store.save_message(&e1, true).unwrap();
    let e1r = msg(
        &b,
        Some(&e1),
        Role::Assistant,
        "answer to the first wording",
        1_700_000_102_000,
    );
    store.save_message(&e1r, true).unwrap();
    let e2 = msg(&b, None, Role::User, "second wording", 1_700_000_103_000);
    store.save_message(&e2, true).unwrap();
    let mut e2r = msg(&b, Some(&e2), Role::Assistant, "", 1_700_000_104_000);
    e2r.status = MessageStatus::Error;
    e2r.error = Some("The server returned an error (HTTP 500): boom.".into());
    store.save_message(&e2r, true).unwrap();

    let mut gone = Conversation::new("Deleted one");
    gone.created_at = 1_700_000_200_000;
    store.create_conversation(&gone).unwrap();
    store
        .save_message(
            &msg(&gone, None, Role::User, "deleted text", 1_700_000_201_000),
            true,
        )
        .unwrap();
    store.delete_conversation(&gone.id).unwrap();

    vec![
        store.get_conversation(&a.id).unwrap(),
        store.get_conversation(&b.id).unwrap(),
    ]
}

fn checkpoint(store: &Store) {
    store
        .connection()
        .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
            r.get::<_, i64>(0)
        })
        .unwrap();
}

/// The database file's bytes once everything committed is in it.
fn db_bytes(store: &Store) -> Vec<u8> {
    checkpoint(store);
    let path = store.path().unwrap();
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    let wal_len = std::fs::metadata(PathBuf::from(wal))
        .map(|m| m.len())
        .unwrap_or(0);
    assert_eq!(wal_len, 0, "the WAL is empty after a TRUNCATE checkpoint");
    std::fs::read(path).unwrap()
}

fn texts(store: &Store, conversation: &str) -> Vec<(Role, String)> {
    store
        .thread(conversation)
        .unwrap()
        .into_iter()
        .map(|t| (t.message.role, t.message.text()))
        .collect()
}

// ---- round trip -------------------------------------------------------------------------------

#[test]
fn export_then_import_into_an_empty_database_then_export_is_byte_identical() {
    let dir = tempfile::tempdir().unwrap();
    let mut first = Store::open(&dir.path().join("a/history.db")).unwrap();
    let seeded = seed(&mut first);
    let exported = portability::export_json(&first, None, 1_234_567, &mut go_on()).unwrap();

    let doc: serde_json::Value = serde_json::from_str(&exported).unwrap();
    assert_eq!(doc["format"], "opencode-nexus");
    assert_eq!(doc["version"], 1);
    assert_eq!(doc["exported_at"], 1_234_567);
    let conversations = doc["conversations"].as_array().unwrap();
    assert_eq!(
        conversations.len(),
        2,
        "the soft-deleted conversation stays out"
    );
    assert_eq!(conversations[0]["id"], seeded[0].id.as_str());
    assert_eq!(
        conversations[0]["messages"].as_array().unwrap().len(),
        5,
        "both branches"
    );
    assert_eq!(conversations[1]["messages"].as_array().unwrap().len(), 4);
    assert_eq!(
        conversations[0]["profile"],
        serde_json::json!({"name": "work", "kind": "openai-compatible", "url": "http://127.0.0.1:9/v1"})
    );
    assert_eq!(conversations[0]["preset_id"], doc["presets"][1]["id"]);
    let presets = doc["presets"].as_array().unwrap();
    assert_eq!(presets.len(), 2, "{presets:?}");
    assert_eq!(presets[0]["name"], "Plain");
    assert_eq!(presets[0]["is_default"], true);
    assert_eq!(
        presets[0]["params"],
        serde_json::json!({"presence_penalty": -0.5})
    );
    assert_eq!(presets[1]["name"], "Rust tutor");
    assert_eq!(
        presets[1]["profile"],
        serde_json::json!({"name": "work", "kind": "openai-compatible", "url": "http://127.0.0.1:9/v1"})
    );
    assert_eq!(
        presets[1]["params"],
        serde_json::json!({"temperature": 0.3, "seed": 7})
    );
    let first_reply = &conversations[0]["messages"][1];
    assert_eq!(first_reply["usage"]["reasoning_tokens"], 4);
    assert_eq!(first_reply["cost"], 0.000_123_4);
    assert_eq!(first_reply["parts"][0]["type"], "reasoning");
    assert!(
        !exported.contains(HEADER_SECRET),
        "no header value in an export"
    );
    assert!(!exported.contains("WORK_KEY"), "no key source in an export");
    assert!(!exported.contains("deleted text"));
    // Every key is always written, in a fixed order.
    let keys: Vec<&str> = conversations[1]["messages"][3]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let mut expected = vec![
        "id",
        "parent_id",
        "role",
        "parts",
        "status",
        "error",
        "model",
        "usage",
        "cost",
        "created_at",
        "updated_at",
    ];
    expected.sort();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(sorted, expected);
    let id_at = exported.find("\"id\"").unwrap();
    assert!(
        exported[id_at..].find("\"title\"").unwrap()
            < exported[id_at..].find("\"messages\"").unwrap()
    );

    let mut second = Store::open(&dir.path().join("b/history.db")).unwrap();
    let report = portability::import_bytes(
        &mut second,
        exported.as_bytes(),
        ImportFormat::Auto,
        MAX_IMPORT_BYTES,
        &mut go_on(),
    )
    .unwrap();
    assert_eq!(report.format, Some(ImportFormat::Nexus));
    assert_eq!(report.conversations_imported, 2);
    assert_eq!(report.messages_imported, 9);
    assert_eq!(report.conversations_skipped, 0);
    assert_eq!(report.profiles_created, 1);
    assert_eq!((report.presets_imported, report.presets_skipped), (2, 0));
    let again = portability::export_json(&second, None, 1_234_567, &mut go_on()).unwrap();
    assert_eq!(exported, again, "byte-identical after a round trip");
    assert_eq!(first.list_presets().unwrap(), {
        let mut imported = second.list_presets().unwrap();
        imported[1].profile_id = first.list_presets().unwrap()[1].profile_id.clone();
        imported
    });
    assert_eq!(
        second.default_preset().unwrap().map(|p| p.name),
        Some("Plain".into())
    );

    for c in &seeded {
        assert_eq!(first.thread(&c.id).unwrap(), second.thread(&c.id).unwrap());
        assert_eq!(first.get_conversation(&c.id).unwrap(), {
            let mut imported = second.get_conversation(&c.id).unwrap();
            // Profile ids are local to a database; the profile is matched by name.
            imported.profile_id = c.profile_id.clone();
            imported
        });
    }
    let profile = second.get_profile("work").unwrap();
    assert!(profile.headers.is_empty() && profile.key_env.is_none());
    assert_eq!(
        second.search("borrow", 10).unwrap().len(),
        1,
        "imported text is searchable"
    );

    // Importing the same file again changes nothing.
    let before = db_bytes(&second);
    let report = portability::import_bytes(
        &mut second,
        exported.as_bytes(),
        ImportFormat::Nexus,
        MAX_IMPORT_BYTES,
        &mut go_on(),
    )
    .unwrap();
    assert_eq!(
        (
            report.conversations_imported,
            report.conversations_skipped,
            report.messages_skipped
        ),
        (0, 2, 9)
    );
    assert_eq!(
        report.summary(),
        "Imported 0 conversations (0 messages); skipped 2 already present (9 messages). Imported 0 presets; skipped 2 already present."
    );
    assert_eq!(before, db_bytes(&second));
}

#[test]
fn a_deleted_conversation_comes_back_when_its_export_is_imported() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("history.db")).unwrap();
    let seeded = seed(&mut store);
    let exported =
        portability::export_json(&store, Some(&[seeded[1].id.clone()]), 1, &mut go_on()).unwrap();
    store.delete_conversation(&seeded[1].id).unwrap();
    let report = portability::import_bytes(
        &mut store,
        exported.as_bytes(),
        ImportFormat::Auto,
        MAX_IMPORT_BYTES,
        &mut go_on(),
    )
    .unwrap();
    assert_eq!(
        (report.conversations_imported, report.messages_imported),
        (1, 4)
    );
    assert_eq!(store.get_conversation(&seeded[1].id).unwrap(), seeded[1]);
}

#[test]
fn markdown_export_shows_the_visible_thread() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("history.db")).unwrap();
    let seeded = seed(&mut store);
    let md =
        portability::export_markdown(&store, Some(&[seeded[0].id.clone()]), &mut go_on()).unwrap();
    assert!(
        md.starts_with("# Lifetimes in Rust\n\nCreated 2023-11-14 22:13 UTC"),
        "{md}"
    );
    assert!(md.contains("backend work (OpenAI-compatible)"), "{md}");
    assert!(
        md.contains("## User · 2023-11-14 22:13 UTC\n\nWhat is a lifetime? 🦀\n"),
        "{md}"
    );
    assert!(md.contains("## Assistant · 2023-11-14 22:13 UTC · gpt-y\n\nThe region of code where a borrow is live.\n\n```rust\n"), "{md}");
    assert!(
        md.contains("*Interrupted: Stopped before the reply finished.*"),
        "{md}"
    );
    assert!(
        !md.contains("A scope for which"),
        "the replaced answer is not on the visible thread"
    );
    assert!(
        !md.contains("borrowck"),
        "reasoning is not part of the text"
    );

    let all = portability::export_markdown(&store, None, &mut go_on()).unwrap();
    assert_eq!(all.matches("\n---\n").count(), 1);
    assert!(all.contains("# Edited prompt") && all.contains("second wording"));
    assert!(all.contains("*Failed: The server returned an error (HTTP 500): boom.*"));
    assert!(!all.contains("first wording"));
}

// ---- ChatGPT ------------------------------------------------------------------------------------

#[test]
fn chatgpt_export_imports_trees_titles_and_times_and_reimport_skips() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("history.db")).unwrap();
    let report = portability::import_file(
        &mut store,
        Path::new(FIXTURE),
        ImportFormat::Auto,
        &mut go_on(),
    )
    .unwrap();
    assert_eq!(report.format, Some(ImportFormat::ChatGpt));
    assert_eq!(
        (report.conversations_imported, report.messages_imported),
        (3, 15)
    );

    // 1: a regenerated answer; the conversation went on from both versions.
    let c1 = store
        .get_conversation("6630a1b2-0c4e-8003-9a7f-2f1d3e4c5b6a")
        .unwrap();
    assert_eq!(c1.title, "Rust lifetimes 🦀");
    assert_eq!(
        (c1.created_at, c1.updated_at),
        (1_714_560_000_123, 1_714_560_905_500)
    );
    assert_eq!(c1.model.as_deref(), Some("gpt-4o"));
    assert!(!c1.archived);
    let thread = store.thread(&c1.id).unwrap();
    let roles: Vec<Role> = thread.iter().map(|t| t.message.role).collect();
    assert_eq!(
        roles,
        [Role::User, Role::Assistant, Role::User, Role::Assistant],
        "hidden system node and null root skipped"
    );
    assert!(thread[0]
        .message
        .text()
        .contains("```rust\nfn longest(a: &str, b: &str) -> &str {"));
    assert_eq!(
        thread[0].message.parent_id, None,
        "the first visible message is a root"
    );
    assert_eq!(thread[0].message.created_at, 1_714_560_001_250);
    assert!(
        thread[1].message.text().starts_with("Rust needs to know"),
        "current_node's branch is shown"
    );
    assert_eq!(
        (thread[1].sibling_index, thread[1].sibling_count),
        (1, 2),
        "the first answer is an alternative"
    );
    assert_eq!(
        thread[3].message.text(),
        "Only if both inputs are `&'static str`, e.g. string literals."
    );
    assert_eq!(thread[3].message.model.as_deref(), Some("gpt-4o-mini"));
    assert_eq!(
        store.all_messages(&c1.id).unwrap().len(),
        7,
        "both branches kept"
    );
    store
        .select_branch(&c1.id, &thread[1].sibling_ids[0])
        .unwrap();
    let other = texts(&store, &c1.id);
    assert_eq!(other[2].1, "And with `String` instead?");
    assert_eq!(
        other[3].1,
        "Return an owned `String` and no lifetime is needed."
    );

    // 2: an edited prompt, RTL and CJK text, hidden custom instructions.
    let c2 = store
        .get_conversation("66a1f0e3-5d2c-8003-b1a2-3c4d5e6f7a8b")
        .unwrap();
    assert_eq!(c2.title, "问候 · שלום · مرحبا");
    assert!(c2.archived);
    assert_eq!(
        c2.model.as_deref(),
        Some("gpt-4"),
        "from the last reply when the conversation names none"
    );
    let thread = store.thread(&c2.id).unwrap();
    assert_eq!(thread.len(), 2);
    assert_eq!(
        thread[0].message.text(),
        "How do you say good morning in Japanese, Hebrew and Arabic? 🙂"
    );
    assert_eq!(
        (thread[0].sibling_index, thread[0].sibling_count),
        (1, 2),
        "the edit keeps the original"
    );
    assert_eq!(
        thread[1].message.text(),
        "- 日本語: おはようございます\n- עברית: בוקר טוב\n- العربية: صباح الخير ☀️"
    );
    assert!(!store
        .all_messages(&c2.id)
        .unwrap()
        .iter()
        .any(|m| m.text().contains("learning languages")));
    assert_eq!(store.search("בוקר", 5).unwrap()[0].conversation_id, c2.id);

    // 3: no title, an image, a code-interpreter run, empty system and tool nodes, a reply
    // without create_time.
    let c3 = store
        .get_conversation("6690b2c1-7e3f-8003-a4b5-c6d7e8f9a0b1")
        .unwrap();
    assert_eq!(
        c3.title, "Plot y = sin(x) like in this picture",
        "titled from the first prompt"
    );
    assert_eq!(c3.created_at, 1_720_000_000_001);
    assert_eq!(
        c3.updated_at, 1_720_000_008_000,
        "no update_time: the newest message"
    );
    let thread = store.thread(&c3.id).unwrap();
    assert_eq!(thread.len(), 4);
    let question = &thread[0].message;
    assert_eq!(
        question.text(),
        "[image not included in the ChatGPT export]\nPlot y = sin(x) like in this picture"
    );
    assert!(
        matches!(&question.parts[1], Part::File { data } if data["asset_pointer"] == "file-service://file-Xy12AbCdEf")
    );
    assert_eq!(thread[1].message.text(), "```\nimport numpy as np\nimport matplotlib.pyplot as plt\nx = np.linspace(0, 2*np.pi, 200)\nplt.plot(x, np.sin(x))\nplt.show()\n```");
    assert!(
        matches!(&thread[2].message.parts[..], [Part::Tool { data }] if data["tool"] == "python" && data["output"] == "<<ImageDisplayed>>")
    );
    assert_eq!(
        thread[3].message.text(),
        "Here is the plot of $y = \\sin(x)$ over one period."
    );
    assert_eq!(
        thread[3].message.created_at, 1_720_000_008_000,
        "inherits the nearest earlier time"
    );
    assert_eq!(
        thread[3].message.parent_id.as_deref(),
        Some(thread[2].message.id.as_str()),
        "re-attached past the empty tool node"
    );

    // The same file again: nothing new.
    let report = portability::import_file(
        &mut store,
        Path::new(FIXTURE),
        ImportFormat::ChatGpt,
        &mut go_on(),
    )
    .unwrap();
    assert_eq!(
        (
            report.conversations_imported,
            report.messages_imported,
            report.conversations_skipped,
            report.messages_skipped
        ),
        (0, 0, 3, 15)
    );
    assert_eq!(store.count_conversations().unwrap(), 3);
}

// ---- bad input changes nothing ------------------------------------------------------------------

fn bad_import(store: &mut Store, bytes: &[u8], format: ImportFormat, max: u64) -> String {
    match portability::import_bytes(store, bytes, format, max, &mut go_on()) {
        Err(e @ Error::BadImport { .. }) => e.to_string(),
        other => panic!("expected BadImport, got {other:?}"),
    }
}

#[test]
fn corrupted_truncated_foreign_and_oversized_files_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("history.db")).unwrap();
    let seeded = seed(&mut store);
    let export = portability::export_json(&store, None, 1, &mut go_on()).unwrap();
    let chatgpt = std::fs::read(FIXTURE).unwrap();
    let before = db_bytes(&store);

    // A conversation the database does not have yet, so only the damage stops the import.
    let fresh = export.replace(&seeded[0].id, "0190aaaa-bbbb-7ccc-8ddd-eeeeeeeeeeee");
    let fresh = {
        let mut doc: serde_json::Value = serde_json::from_str(&fresh).unwrap();
        for m in doc["conversations"][0]["messages"].as_array_mut().unwrap() {
            let id = m["id"].as_str().unwrap().replace("-", "").to_uppercase();
            m["id"] = id.into();
            if let Some(p) = m["parent_id"].as_str() {
                m["parent_id"] = p.replace("-", "").to_uppercase().into();
            }
        }
        let head = doc["conversations"][0]["head_id"]
            .as_str()
            .unwrap()
            .replace("-", "")
            .to_uppercase();
        doc["conversations"][0]["head_id"] = head.into();
        doc["conversations"].as_array_mut().unwrap().truncate(1);
        serde_json::to_string_pretty(&doc).unwrap()
    };

    // Corrupted in the middle: a comma becomes a semicolon.
    let at = fresh.len() / 2 + fresh[fresh.len() / 2..].find(",\n").unwrap();
    let mut corrupted = fresh.clone().into_bytes();
    corrupted[at] = b';';
    let e = bad_import(&mut store, &corrupted, ImportFormat::Auto, MAX_IMPORT_BYTES);
    assert!(
        e.starts_with("The file is not a valid OpenCode Nexus export file: expected `,` or "),
        "{e}"
    );
    assert!(e.contains(" at line ") && e.contains(" column "), "{e}");
    assert!(e.ends_with("Nothing was changed."), "{e}");

    // Truncated in the middle, for both formats.
    let e = bad_import(
        &mut store,
        &fresh.as_bytes()[..fresh.len() / 2],
        ImportFormat::Auto,
        MAX_IMPORT_BYTES,
    );
    assert!(
        e.contains("EOF while parsing") && e.contains(" line ") && e.contains(" column "),
        "{e}"
    );
    let e = bad_import(
        &mut store,
        &chatgpt[..chatgpt.len() / 2],
        ImportFormat::Auto,
        MAX_IMPORT_BYTES,
    );
    assert!(
        e.starts_with("The file is not a valid ChatGPT conversations.json file: EOF while parsing"),
        "{e}"
    );

    // Not JSON at all: a PNG.
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89";
    let e = bad_import(&mut store, png, ImportFormat::Auto, MAX_IMPORT_BYTES);
    assert!(
        e.contains("it is not JSON (it starts with the bytes 89 50 4E 47 0D 0A 1A 0A)"),
        "{e}"
    );
    let e = bad_import(
        &mut store,
        b"PK\x03\x04zipzip",
        ImportFormat::Auto,
        MAX_IMPORT_BYTES,
    );
    assert!(e.contains("ZIP archive"), "{e}");
    let e = bad_import(&mut store, b"   \n", ImportFormat::Auto, MAX_IMPORT_BYTES);
    assert!(e.contains("the file is empty"), "{e}");
    // JSON in another encoding (Latin-1 here): named, with where, and nothing imported.
    let e = bad_import(
        &mut store,
        b"\xEF\xBB\xBF{\"format\": \"opencode-nexus\", \"title\": \"Caf\xE9\"}",
        ImportFormat::Auto,
        MAX_IMPORT_BYTES,
    );
    assert!(
        e.contains("it is not UTF-8 text (the bytes at offset 45 are not UTF-8)"),
        "{e}"
    );

    // JSON, but the wrong shape.
    let e = bad_import(
        &mut store,
        b"[1, 2, 3]",
        ImportFormat::Auto,
        MAX_IMPORT_BYTES,
    );
    // A value of the wrong shape is named by its path (text that is not JSON, above, by its
    // line and column).
    assert!(
        e.contains("invalid type: integer `1`, expected struct GptConversation (at [0])"),
        "{e}"
    );
    let e = bad_import(
        &mut store,
        br#"{"hello": "world"}"#,
        ImportFormat::Auto,
        MAX_IMPORT_BYTES,
    );
    assert!(
        e.contains("the \"format\" field is missing instead of \"opencode-nexus\""),
        "{e}"
    );
    let e = bad_import(&mut store, &chatgpt, ImportFormat::Nexus, MAX_IMPORT_BYTES);
    assert!(e.contains("it is a JSON array"), "{e}");
    let e = bad_import(
        &mut store,
        fresh.replace("\"version\": 1", "\"version\": 7").as_bytes(),
        ImportFormat::Auto,
        MAX_IMPORT_BYTES,
    );
    assert!(
        e.contains("newer version of OpenCode Nexus (format version 7"),
        "{e}"
    );
    let e = bad_import(
        &mut store,
        fresh
            .replacen("\"role\": \"user\"", "\"role\": \"wizard\"", 1)
            .as_bytes(),
        ImportFormat::Auto,
        MAX_IMPORT_BYTES,
    );
    assert!(
        e.contains("unknown variant `wizard`")
            && e.contains("(at conversations[0].messages[0].role)"),
        "{e}"
    );
    let e = bad_import(
        &mut store,
        fresh.replacen("\"role\": \"user\",", "", 1).as_bytes(),
        ImportFormat::Auto,
        MAX_IMPORT_BYTES,
    );
    assert!(
        e.contains("missing field `role` (at conversations[0].messages[0])"),
        "{e}"
    );
    let dangling = fresh.replacen("\"parent_id\": null", "\"parent_id\": \"nowhere\"", 1);
    let e = bad_import(
        &mut store,
        dangling.as_bytes(),
        ImportFormat::Auto,
        MAX_IMPORT_BYTES,
    );
    assert!(
        e.contains(
            "conversations[0].messages[0].parent_id: nowhere is not a message of this conversation"
        ),
        "{e}"
    );
    let gpt_dangling = String::from_utf8(chatgpt.clone()).unwrap().replacen(
        "\"parent\": \"aaa2b1c3-1111-4e5f-8a9b-0c1d2e3f4a01\"",
        "\"parent\": \"lost\"",
        1,
    );
    let e = bad_import(
        &mut store,
        gpt_dangling.as_bytes(),
        ImportFormat::Auto,
        MAX_IMPORT_BYTES,
    );
    assert!(
        e.contains("[0].mapping.") && e.contains(".parent: the node lost is not in the mapping"),
        "{e}"
    );

    let cycle = br#"[{"title": "loop", "mapping": {
        "a": {"message": null, "parent": "b", "children": ["b"]},
        "b": {"message": null, "parent": "a", "children": ["a"]}}, "current_node": "a"}]"#;
    let e = bad_import(&mut store, cycle, ImportFormat::Auto, MAX_IMPORT_BYTES);
    assert!(
        e.contains("[0].mapping.a.parent: the parent links form a cycle"),
        "{e}"
    );
    let lost_head = String::from_utf8(chatgpt.clone()).unwrap().replacen(
        "\"current_node\": \"a4b5c6d7-7777-4a01-b2c3-d4e5f6a7b807\"",
        "\"current_node\": \"gone\"",
        1,
    );
    let e = bad_import(
        &mut store,
        lost_head.as_bytes(),
        ImportFormat::Auto,
        MAX_IMPORT_BYTES,
    );
    assert!(
        e.contains("[0].current_node: the node gone is not in the mapping"),
        "{e}"
    );

    // Valid JSON whose new conversation reuses a message id the database already has: found
    // inside the transaction, which rolls back.
    let clash = export.replace(&seeded[1].id, "0190ffff-bbbb-7ccc-8ddd-eeeeeeeeeeee");
    let e = bad_import(
        &mut store,
        clash.as_bytes(),
        ImportFormat::Auto,
        MAX_IMPORT_BYTES,
    );
    assert!(
        e.contains("conversations[1].messages[0].id: the message")
            && e.contains("already belongs to the conversation"),
        "{e}"
    );

    // Too big (a small limit stands in for the real 512 MB), from memory and from a file.
    let e = bad_import(&mut store, fresh.as_bytes(), ImportFormat::Auto, 1024);
    assert!(e.contains("more than the 1.0 KB an import may be"), "{e}");
    let big = dir.path().join("big.json");
    std::fs::write(&big, &chatgpt).unwrap();
    match portability::read_import_file(&big, ImportFormat::Auto, 4096) {
        Err(Error::BadImport { detail, .. }) => assert!(
            detail.starts_with("it is 19.3 KB, more than the 4.0 KB"),
            "{detail}"
        ),
        other => panic!("{other:?}"),
    }

    // Cancelled half-way: rolled back.
    let both = String::from_utf8(chatgpt.clone()).unwrap();
    let r = portability::import_bytes(
        &mut store,
        both.as_bytes(),
        ImportFormat::Auto,
        MAX_IMPORT_BYTES,
        &mut |done, _| done < 2,
    );
    assert_eq!(r, Err(Error::Cancelled));

    assert_eq!(
        before,
        db_bytes(&store),
        "the database file is byte-for-byte unchanged"
    );
    assert_eq!(store.count_conversations().unwrap(), 2);

    // And the untouched file still takes a good import.
    let ok = portability::import_bytes(
        &mut store,
        fresh.as_bytes(),
        ImportFormat::Auto,
        MAX_IMPORT_BYTES,
        &mut go_on(),
    )
    .unwrap();
    assert_eq!(ok.conversations_imported, 1);
}

// ---- backup, restore, retention -----------------------------------------------------------------

/// Enough history that a backup takes many steps (a few MB).
fn bulk(store: &mut Store, conversations: usize, per: usize) {
    let filler = "lorem ipsum dolor sit amet consectetur adipiscing elit ".repeat(30);
    for i in 0..conversations {
        let c = Conversation::new(format!("bulk {i}"));
        store.create_conversation(&c).unwrap();
        let mut parent: Option<Message> = None;
        for j in 0..per {
            let role = if j % 2 == 0 {
                Role::User
            } else {
                Role::Assistant
            };
            let m = Message::new(
                &c.id,
                parent.as_ref().map(|p| p.id.clone()),
                role,
                &format!("{i}-{j} {filler}"),
            );
            store.save_message(&m, true).unwrap();
            parent = Some(m);
        }
    }
}

#[test]
fn backup_during_writes_is_consistent_and_restore_brings_it_back() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("history.db");
    let backups = dir.path().join("backups");
    let mut store = Store::open(&db).unwrap();
    bulk(&mut store, 40, 40);
    let log = Conversation::new("write log");
    store.create_conversation(&log).unwrap();

    // A second connection (as another process would) commits numbered rows as fast as it can.
    let stop = Arc::new(AtomicBool::new(false));
    let committed = Arc::new(AtomicI64::new(0));
    let writer = {
        let (db, stop, committed, log_id) =
            (db.clone(), stop.clone(), committed.clone(), log.id.clone());
        std::thread::spawn(move || {
            let conn = rusqlite::Connection::open(&db).unwrap();
            conn.busy_timeout(Duration::from_secs(10)).unwrap();
            let mut n = 0i64;
            while !stop.load(Ordering::Relaxed) {
                conn.execute(
                    "INSERT INTO messages (id, conversation_id, role, parts, text, status, created_at, updated_at)
                     VALUES (?1, ?2, 'user', '[]', ?3, 'complete', ?4, ?4)",
                    rusqlite::params![format!("w-{n}"), log_id, format!("write number {n}"), n],
                )
                .unwrap();
                n += 1;
                committed.store(n, Ordering::SeqCst);
            }
            n
        })
    };
    while committed.load(Ordering::SeqCst) < 50 {
        std::thread::sleep(Duration::from_millis(5));
    }
    let before_backup = committed.load(Ordering::SeqCst);
    let mut steps = 0;
    let backup = portability::backup_now_with_progress(&store, &backups, None, &mut |_, _| {
        steps += 1;
        // Slow enough that the writer commits between steps.
        std::thread::sleep(Duration::from_millis(20));
        true
    })
    .unwrap();
    let after_backup = committed.load(Ordering::SeqCst);
    while committed.load(Ordering::SeqCst) < after_backup + 50 {
        std::thread::sleep(Duration::from_millis(5));
    }
    stop.store(true, Ordering::Relaxed);
    let total = writer.join().unwrap();
    assert!(steps > 2, "the backup ran in several steps ({steps})");
    assert!(
        after_backup > before_backup,
        "writes went on during the backup"
    );

    let name = backup.file_name().unwrap().to_str().unwrap();
    assert!(
        name.starts_with("history-")
            && name.ends_with(".db")
            && name.len() == "history-20240101-120000.db".len(),
        "{name}"
    );
    assert_eq!(
        portability::validate_backup(&backup).unwrap(),
        opencode_nexus::engine::store::schema::LATEST
    );
    let in_backup = {
        let conn = rusqlite::Connection::open(&backup).unwrap();
        let ok: String = conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(ok, "ok");
        let (count, max): (i64, i64) = conn
            .query_row(
                "SELECT count(*), max(created_at) FROM messages WHERE conversation_id = ?1",
                [&log.id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!(count, max + 1, "a consistent prefix of the writes: no gaps");
        let fts: i64 = conn
            .query_row(
                "SELECT count(*) FROM messages_fts WHERE messages_fts MATCH '\"write\"'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(fts, count, "the search index matches the rows");
        count
    };
    assert!(
        in_backup >= before_backup && in_backup <= after_backup,
        "{before_backup} <= {in_backup} <= {after_backup}"
    );
    assert!(total > in_backup);

    // A cancelled backup leaves no file behind.
    let r = portability::backup_now_with_progress(&store, &backups, None, &mut |_, _| false);
    assert_eq!(r, Err(Error::Cancelled));
    assert_eq!(std::fs::read_dir(&backups).unwrap().count(), 1);

    // Restore needs the database closed.
    match portability::restore(&db, &backup) {
        Err(Error::Invalid(m)) => assert!(m.contains("is in use"), "{m}"),
        other => panic!("{other:?}"),
    }
    drop(store);
    let report = portability::restore(&db, &backup).unwrap();
    let pre = report.pre_restore.expect("the replaced database is kept");
    assert!(pre.starts_with(&backups));
    assert!(pre
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .starts_with("pre-restore-"));
    let count = |path: &Path| -> i64 {
        let conn = rusqlite::Connection::open(path).unwrap();
        conn.query_row(
            "SELECT count(*) FROM messages WHERE conversation_id = ?1",
            [&log.id],
            |r| r.get(0),
        )
        .unwrap()
    };
    assert_eq!(count(&pre), total, "the pre-restore copy has every write");
    let restored = Store::open(&db).unwrap();
    assert_eq!(restored.integrity_check().unwrap(), ["ok"]);
    assert_eq!(count(&db), in_backup, "writes after the backup are gone");
    assert_eq!(
        restored.count_conversations().unwrap(),
        41,
        "data from before the backup is back"
    );
    assert_eq!(restored.search("lorem", 3).unwrap().len(), 3);
}

#[test]
fn restore_refuses_damaged_foreign_and_newer_files_and_leaves_the_database_alone() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("history.db");
    {
        let mut store = Store::open(&db).unwrap();
        seed(&mut store);
        checkpoint(&store);
    }
    let original = std::fs::read(&db).unwrap();

    let junk = dir.path().join("junk.db");
    std::fs::write(
        &junk,
        b"\x89PNG\r\n\x1a\n this is no database, just bytes ".repeat(200),
    )
    .unwrap();
    let e = portability::restore(&db, &junk).unwrap_err();
    assert!(matches!(e, Error::BadBackup { .. }), "{e:?}");
    assert!(
        e.to_string().contains("is not a readable SQLite database"),
        "{e}"
    );

    let foreign = dir.path().join("foreign.db");
    rusqlite::Connection::open(&foreign)
        .unwrap()
        .execute_batch("CREATE TABLE t(x); PRAGMA user_version = 1;")
        .unwrap();
    let e = portability::restore(&db, &foreign).unwrap_err().to_string();
    assert!(e.contains("not an OpenCode Nexus history"), "{e}");

    let newer = dir.path().join("newer.db");
    {
        let store = Store::open(&newer).unwrap();
        store
            .connection()
            .pragma_update(None, "user_version", 99)
            .unwrap();
    }
    let e = portability::restore(&db, &newer).unwrap_err().to_string();
    assert!(
        e.contains("newer version of OpenCode Nexus (schema 99"),
        "{e}"
    );
    assert!(
        e.ends_with("Your current history was left untouched; choose another backup."),
        "{e}"
    );

    // A backup damaged in the middle fails the integrity check.
    let good = dir.path().join("good.db");
    {
        let mut store = Store::open(&dir.path().join("other/history.db")).unwrap();
        bulk(&mut store, 5, 20);
        store.backup_to(&good).unwrap();
    }
    let mut bytes = std::fs::read(&good).unwrap();
    let page = 4096;
    // Scramble the b-tree page headers after the first page.
    for start in (page..bytes.len()).step_by(page) {
        for b in &mut bytes[start..start + 12] {
            *b ^= 0x5a;
        }
    }
    let damaged = dir.path().join("damaged.db");
    std::fs::write(&damaged, &bytes).unwrap();
    let e = portability::restore(&db, &damaged).unwrap_err().to_string();
    assert!(e.contains("damaged.db cannot be restored"), "{e}");

    let e = portability::restore(&db, &dir.path().join("missing.db"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("there is no such file"), "{e}");

    assert_eq!(
        std::fs::read(&db).unwrap(),
        original,
        "the database is byte-for-byte unchanged"
    );
    assert!(
        !dir.path().join("backups").exists(),
        "no pre-restore copy for a refused restore"
    );
    assert!(!dir.path().join("history.db.restoring").exists());
}

#[test]
fn retention_keeps_exactly_the_n_newest_backups() {
    let dir = tempfile::tempdir().unwrap();
    let backups = dir.path().join("backups");
    let store = Store::open(&dir.path().join("history.db")).unwrap();
    std::fs::create_dir_all(&backups).unwrap();
    for old in [
        "history-20200101-000000.db",
        "history-20231231-235959.db",
        "history-20231231-235959-1.db",
    ] {
        std::fs::write(backups.join(old), b"old").unwrap();
    }
    // Not backups: never touched by retention.
    for other in [
        "pre-restore-20200101-000000.db",
        "notes.txt",
        "history-latest.db",
    ] {
        std::fs::write(backups.join(other), b"keep").unwrap();
    }
    let mut made = Vec::new();
    for _ in 0..5 {
        made.push(portability::backup_now(&store, &backups).unwrap());
    }
    let listed: Vec<PathBuf> = portability::list_backups(&backups)
        .unwrap()
        .into_iter()
        .map(|b| b.path)
        .collect();
    assert_eq!(listed.len(), 8);
    assert_eq!(
        listed[..5].iter().rev().cloned().collect::<Vec<_>>(),
        made,
        "newest first, same-second ones in order"
    );
    assert_eq!(
        listed[5..],
        [
            backups.join("history-20231231-235959-1.db"),
            backups.join("history-20231231-235959.db"),
            backups.join("history-20200101-000000.db")
        ]
    );

    let removed = portability::apply_backup_retention(&backups, 3).unwrap();
    assert_eq!(removed.len(), 5);
    let left: Vec<PathBuf> = portability::list_backups(&backups)
        .unwrap()
        .into_iter()
        .map(|b| b.path)
        .collect();
    assert_eq!(left, made[2..].iter().rev().cloned().collect::<Vec<_>>());
    for other in [
        "pre-restore-20200101-000000.db",
        "notes.txt",
        "history-latest.db",
    ] {
        assert!(backups.join(other).exists(), "{other}");
    }
    assert_eq!(
        portability::latest_backup(&backups).unwrap().as_ref(),
        made.last()
    );

    // The daily backup: due when the newest is a day old, then retention.
    let day = 24 * 3600 * 1000;
    assert_eq!(
        portability::auto_backup(&store, &backups, day, 3).unwrap(),
        None,
        "the newest backup is fresh"
    );
    let taken = portability::auto_backup(&store, &backups, 0, 2)
        .unwrap()
        .expect("due");
    let left: Vec<PathBuf> = portability::list_backups(&backups)
        .unwrap()
        .into_iter()
        .map(|b| b.path)
        .collect();
    assert_eq!(left, [taken, made[4].clone()]);
}

// ---- command line -------------------------------------------------------------------------------

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn without_time(json: &str) -> serde_json::Value {
    let mut v: serde_json::Value = serde_json::from_str(json).unwrap();
    v.as_object_mut().unwrap().remove("exported_at");
    v
}

#[test]
fn cli_import_export_backup_and_restore() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let data = data.as_path();

    let out = ok(&nexus(data, &["import", FIXTURE]));
    assert_eq!(
        out,
        "Imported 3 conversations (15 messages); skipped 0 already present (0 messages).\n"
    );
    let out = ok(&nexus(
        data,
        &["import", FIXTURE, "--format", "chatgpt", "--json"],
    ));
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        report,
        serde_json::json!({"format": "chatgpt", "conversations_imported": 0, "messages_imported": 0,
            "conversations_skipped": 3, "messages_skipped": 15, "profiles_created": 0,
            "presets_imported": 0, "presets_skipped": 0})
    );

    // Bad input: exit 1 with the sentence, nothing imported.
    let bad = tmp.path().join("bad.json");
    std::fs::write(&bad, b"[{\"title\": \"cut here").unwrap();
    let out = nexus(data, &["import", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("error: The file is not a valid ChatGPT conversations.json file: EOF while parsing a string at line 1 column 20"), "{err}");
    assert!(err.contains("Nothing was changed."), "{err}");
    let out = nexus(
        data,
        &["import", tmp.path().join("nope.json").to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(1));

    // Export to stdout and to a file; the file round-trips through a second data dir.
    let json = ok(&nexus(data, &["export"]));
    let doc: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(doc["format"], "opencode-nexus");
    assert_eq!(doc["conversations"].as_array().unwrap().len(), 3);
    let file = tmp.path().join("out/export.json");
    let out = nexus(
        data,
        &[
            "export",
            "--format",
            "json",
            "--out",
            file.to_str().unwrap(),
        ],
    );
    ok(&out);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("Exported 3 conversations with 15 messages")
    );
    let other = tmp.path().join("other");
    let out = ok(&nexus(
        &other,
        &["import", file.to_str().unwrap(), "--format", "nexus"],
    ));
    assert!(
        out.starts_with("Imported 3 conversations (15 messages)"),
        "{out}"
    );
    let again = ok(&nexus(&other, &["export"]));
    assert_eq!(without_time(&json), without_time(&again));

    let md = ok(&nexus(
        data,
        &[
            "export",
            "--format",
            "md",
            "--conversation",
            "66a1f0e3-5d2c-8003-b1a2-3c4d5e6f7a8b",
        ],
    ));
    assert!(md.starts_with("# 问候 · שלום · مرحبا\n"), "{md}");
    assert!(md.contains("בוקר טוב") && !md.contains("Rust lifetimes"));
    let out = nexus(data, &["export", "--conversation", "no-such-id"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("The conversation no-such-id was not found")
    );

    // Backup, change something, restore the latest: the change is gone.
    let out = nexus(data, &["restore", "--latest"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("There is no backup in"));
    let path = PathBuf::from(ok(&nexus(data, &["backup"])).trim());
    assert!(
        path.starts_with(data.canonicalize().unwrap().join("backups")),
        "{path:?}"
    );
    assert!(path.exists());
    let named = tmp.path().join("copy.db");
    assert_eq!(
        ok(&nexus(data, &["backup", "--out", named.to_str().unwrap()])).trim(),
        named.to_str().unwrap()
    );
    assert_eq!(
        portability::validate_backup(&named).unwrap(),
        opencode_nexus::engine::store::schema::LATEST
    );

    ok(&nexus(data, &["import", file.to_str().unwrap()]));
    let extra = without_time(&json)["conversations"][0].clone();
    let mut one = serde_json::json!({"format": "opencode-nexus", "version": 1, "exported_at": 0, "conversations": [extra]});
    one["conversations"][0]["id"] = "0190aaaa-0000-7000-8000-000000000001".into();
    for m in one["conversations"][0]["messages"].as_array_mut().unwrap() {
        m["id"] = format!("x-{}", m["id"].as_str().unwrap()).into();
        if let Some(p) = m["parent_id"].as_str() {
            m["parent_id"] = format!("x-{p}").into();
        }
    }
    one["conversations"][0]["head_id"] =
        format!("x-{}", one["conversations"][0]["head_id"].as_str().unwrap()).into();
    let extra_file = tmp.path().join("extra.json");
    std::fs::write(&extra_file, one.to_string()).unwrap();
    assert!(ok(&nexus(data, &["import", extra_file.to_str().unwrap()]))
        .starts_with("Imported 1 conversation (7 messages)"));
    let conversations = || {
        Store::open(&data.join("history.db"))
            .unwrap()
            .count_conversations()
            .unwrap()
    };
    assert_eq!(conversations(), 4);

    let out = ok(&nexus(data, &["restore", "--latest"]));
    assert!(
        out.starts_with(&format!("Restored the history from {}.", path.display())),
        "{out}"
    );
    assert!(
        out.contains("The database it replaced was saved as "),
        "{out}"
    );
    assert_eq!(
        conversations(),
        3,
        "the conversation imported after the backup is gone"
    );

    ok(&nexus(data, &["restore", named.to_str().unwrap()]));
    let out = nexus(data, &["restore", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot be restored"));
    let out = nexus(data, &["restore"]);
    assert_eq!(out.status.code(), Some(2), "a file or --latest is required");

    // Retention from the command line.
    for _ in 0..3 {
        ok(&nexus(data, &["backup"]));
    }
    ok(&nexus(data, &["backup", "--keep", "2"]));
    let left = portability::list_backups(&data.join("backups")).unwrap();
    assert_eq!(left.len(), 2);
}

/// An import run as a job records the job in its own transaction: after the browser stops its
/// storage worker to cancel, it asks whether the import had been committed first. A cancelled
/// (rolled back) import records nothing.
#[test]
fn an_import_records_its_job_in_its_own_transaction() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("history.db")).unwrap();
    let bytes = std::fs::read(FIXTURE).unwrap();
    let cancelled = portability::with_job(Some("job-cancelled"), |_| {
        portability::import_bytes(
            &mut store,
            &bytes,
            ImportFormat::Auto,
            MAX_IMPORT_BYTES,
            &mut |_, _| false,
        )
    });
    assert!(matches!(cancelled, Err(Error::Cancelled)), "{cancelled:?}");
    assert!(!store.import_committed("job-cancelled").unwrap());

    let report = portability::with_job(Some("job-done"), |p| {
        portability::import_bytes(&mut store, &bytes, ImportFormat::Auto, MAX_IMPORT_BYTES, p)
    })
    .unwrap();
    assert!(report.conversations_imported > 0);
    assert!(store.import_committed("job-done").unwrap());
    assert!(!store.import_committed("job-cancelled").unwrap());
    assert_eq!(portability::current_job(), None);
}

/// `history archive` and `history delete` take several IDs; one that is not found changes
/// nothing, for any of them.
#[test]
fn cli_archives_and_deletes_several_conversations_or_none() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let data = data.as_path();
    ok(&nexus(data, &["import", FIXTURE]));
    let list = |archived: bool| -> Vec<String> {
        let mut args = vec!["history", "list", "--json"];
        if archived {
            args.push("--archived");
        }
        let v: serde_json::Value = serde_json::from_str(&ok(&nexus(data, &args))).unwrap();
        v.as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_str().unwrap().to_owned())
            .collect()
    };
    // The fixture has an archived conversation: brought back first, with the others'.
    let mut back = vec!["history", "archive", "--off"];
    let archived = list(true);
    assert!(!archived.is_empty());
    back.extend(archived.iter().map(String::as_str));
    ok(&nexus(data, &back));
    assert!(list(true).is_empty());
    let ids = list(false);
    assert_eq!(ids.len(), 3);

    let out = nexus(data, &["history", "archive", &ids[0], "no-such-id"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(list(true).is_empty(), "nothing was archived");
    ok(&nexus(data, &["history", "archive", &ids[0], &ids[1]]));
    assert_eq!(list(false), vec![ids[2].clone()]);
    let mut archived = list(true);
    archived.sort();
    let mut want = vec![ids[0].clone(), ids[1].clone()];
    want.sort();
    assert_eq!(archived, want);
    ok(&nexus(data, &["history", "archive", "--off", &ids[1]]));
    assert_eq!(list(true), vec![ids[0].clone()]);

    let out = nexus(data, &["history", "delete", &ids[1], &ids[2], "no-such-id"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no-such-id"),
        "the sentence names the ID: {err}"
    );
    assert_eq!(list(false).len(), 2, "nothing was deleted");
    let out = ok(&nexus(data, &["history", "delete", &ids[1], &ids[2]]));
    assert!(out.is_empty());
    assert!(list(false).is_empty());
    assert_eq!(list(true), vec![ids[0].clone()]);
    let out = nexus(data, &["history", "delete"]);
    assert_eq!(out.status.code(), Some(2), "an ID is required");
}
