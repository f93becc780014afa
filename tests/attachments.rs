//! Attached files, end to end: the command line sends images as `image_url` parts with the
//! exact bytes and inlines text files, refuses what it cannot send before anything is sent or
//! saved; the store keeps each content once across messages and branches and removes it with
//! its last message; export and import carry the files byte for byte.

mod support;

use base64::Engine as _;
use opencode_nexus::engine::attachments::{prepare, sha256_hex};
use opencode_nexus::engine::error::Error;
use opencode_nexus::engine::model::*;
use opencode_nexus::engine::portability::{self, ImportFormat, MAX_IMPORT_BYTES};
use opencode_nexus::engine::store::Store;
use serde_json::{json, Value};
use support::cli::{add_openai_profile, json_of, nexus};
use support::fault_server::*;
use support::RED_PIXEL_PNG;

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

const MAIN_RS: &str = "fn main() {\n    println!(\"zebra\");\n}\n";

fn reply() -> Fault {
    Fault::Stream {
        chunks: sse_chat_chunks(&["A red ", "pixel."]),
        delay_ms: 0,
        then: StreamEnd::Finish,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn chat_sends_images_as_parts_and_inlines_text_files() {
    let server = FaultServer::start(vec![reply()]).await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_path_buf();
    let png = d.join("pixel.png");
    std::fs::write(&png, RED_PIXEL_PNG).unwrap();
    let code = d.join("main.rs");
    std::fs::write(&code, MAIN_RS).unwrap();
    let url = server.base_url();
    let (out, shown, by_name, by_content) = tokio::task::spawn_blocking(move || {
        add_openai_profile(&d, "p", &url);
        let out = nexus(
            &d,
            &[
                "chat",
                "--profile",
                "p",
                "--model",
                "fault-model",
                "--attach",
                png.to_str().unwrap(),
                "--attach",
                code.to_str().unwrap(),
                "What is in these?",
            ],
        );
        assert!(out.status.success(), "{}", text(&out.stderr));
        let id = json_of(&d, &["history", "list", "--json"])[0]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let shown = json_of(&d, &["history", "show", &id, "--json"]);
        let by_name = json_of(&d, &["history", "search", "main.rs", "--json"]);
        let by_content = json_of(&d, &["history", "search", "zebra", "--json"]);
        (out, shown, by_name, by_content)
    })
    .await
    .unwrap();
    assert_eq!(text(&out.stdout).trim(), "A red pixel.");

    let bodies = streamed_chat_bodies(&server);
    assert_eq!(bodies.len(), 1, "{bodies:?}");
    let user = bodies[0]["messages"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(user["role"], "user");
    let parts = user["content"].as_array().expect("content parts");
    assert_eq!(parts.len(), 2, "{user}");
    assert_eq!(parts[0]["type"], "text");
    assert_eq!(
        parts[0]["text"],
        "What is in these?\n\nmain.rs:\n```rs\nfn main() {\n    println!(\"zebra\");\n}\n```"
    );
    assert_eq!(parts[1]["type"], "image_url");
    let url = parts[1]["image_url"]["url"].as_str().unwrap();
    let b64 = url.strip_prefix("data:image/png;base64,").expect(url);
    assert_eq!(
        base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap(),
        RED_PIXEL_PNG,
        "the exact bytes"
    );

    let files = &shown["messages"][0]["attachments"];
    assert_eq!(
        files,
        &json!([
            {"name": "pixel.png", "mime": "image/png", "bytes": RED_PIXEL_PNG.len(), "sha256": sha256_hex(RED_PIXEL_PNG)},
            {"name": "main.rs", "mime": "text/plain", "bytes": MAIN_RS.len(), "sha256": sha256_hex(MAIN_RS.as_bytes())},
        ])
    );
    assert_eq!(shown["messages"][0]["text"], "What is in these?");
    assert_eq!(
        by_name.as_array().unwrap().len(),
        1,
        "file names are searchable"
    );
    assert_eq!(by_content, json!([]), "file contents are not indexed");
}

#[tokio::test(flavor = "multi_thread")]
async fn files_that_cannot_be_sent_are_refused_before_anything_is_sent_or_saved() {
    let server = FaultServer::start(vec![reply()]).await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_path_buf();
    let url = server.base_url();
    tokio::task::spawn_blocking(move || {
        add_openai_profile(&d, "p", &url);
        let binary = d.join("data.bin");
        std::fs::write(&binary, [0u8, 159, 146, 150, 0, 1]).unwrap();
        let missing = d.join("nowhere.png");
        let many: Vec<String> = (0..9)
            .map(|i| {
                let p = d.join(format!("f{i}.txt"));
                std::fs::write(&p, "x").unwrap();
                p.display().to_string()
            })
            .collect();
        let mut too_many = vec!["chat", "--profile", "p", "--model", "fault-model"];
        for m in &many {
            too_many.push("--attach");
            too_many.push(m);
        }
        too_many.push("hello");
        let cases: Vec<(Vec<&str>, &str)> = vec![
            (
                vec![
                    "chat",
                    "--profile",
                    "p",
                    "--model",
                    "fault-model",
                    "--attach",
                    binary.to_str().unwrap(),
                    "hello",
                ],
                "data.bin is neither an image (PNG, JPEG, WebP, GIF) nor a UTF-8 text file",
            ),
            (
                vec![
                    "chat",
                    "--profile",
                    "p",
                    "--model",
                    "fault-model",
                    "--attach",
                    missing.to_str().unwrap(),
                    "hello",
                ],
                "Could not read or write",
            ),
            (too_many, "A message can carry 8 files at most; remove 1"),
        ];
        for (args, sentence) in cases {
            let out = nexus(&d, &args);
            let err = text(&out.stderr);
            assert_eq!(out.status.code(), Some(1), "{err}");
            assert!(err.contains(sentence), "{err}");
        }
        assert_eq!(
            json_of(&d, &["history", "list", "--json"]),
            json!([]),
            "nothing saved"
        );
    })
    .await
    .unwrap();
    assert!(streamed_chat_bodies(&server).is_empty(), "nothing sent");
}

/// A model that takes no images answers with an error: the user's message and its file stay,
/// and the reply says what the server said.
#[tokio::test(flavor = "multi_thread")]
async fn a_model_that_rejects_images_gets_its_error_shown_and_the_message_is_kept() {
    let server = FaultServer::start(vec![Fault::Status {
        code: 400,
        headers: vec![],
        body: r#"{"error":{"message":"This model does not support image input."}}"#.into(),
    }])
    .await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_path_buf();
    let png = d.join("pixel.png");
    std::fs::write(&png, RED_PIXEL_PNG).unwrap();
    let url = server.base_url();
    tokio::task::spawn_blocking(move || {
        add_openai_profile(&d, "p", &url);
        let out = nexus(
            &d,
            &[
                "chat",
                "--profile",
                "p",
                "--model",
                "fault-model",
                "--attach",
                png.to_str().unwrap(),
                "Describe it.",
            ],
        );
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert!(
            err.contains("This model does not support image input."),
            "{err}"
        );
        let list = json_of(&d, &["history", "list", "--json"]);
        let id = list[0]["id"].as_str().unwrap();
        let shown = json_of(&d, &["history", "show", id, "--json"]);
        assert_eq!(shown["messages"][0]["text"], "Describe it.");
        assert_eq!(shown["messages"][0]["attachments"][0]["name"], "pixel.png");
        assert_eq!(shown["messages"][1]["status"], "error");
    })
    .await
    .unwrap();
}

fn user_with(
    c: &Conversation,
    parent: Option<&Message>,
    text: &str,
    files: &[&opencode_nexus::engine::attachments::NewAttachment],
) -> Message {
    let mut m = Message::new(&c.id, parent.map(|p| p.id.clone()), Role::User, text);
    for f in files {
        m.parts.push(Part::Attachment(f.reference()));
    }
    m
}

#[test]
fn a_content_is_stored_once_and_goes_with_its_last_message() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("h.db")).unwrap();
    let image = prepare("pixel.png", RED_PIXEL_PNG.to_vec()).unwrap();
    let a = Conversation::new("First");
    store.create_conversation(&a).unwrap();
    let b = Conversation::new("Second");
    store.create_conversation(&b).unwrap();

    // The same image in two conversations, and again in an edited version (a branch).
    let m1 = user_with(&a, None, "look", &[&image]);
    store
        .save_message_with_files(&m1, std::slice::from_ref(&image), true)
        .unwrap();
    let m1b = user_with(&a, None, "look again", &[&image]);
    store.save_message(&m1b, true).unwrap();
    let m2 = user_with(&b, None, "same picture", &[&image]);
    store
        .save_message_with_files(&m2, std::slice::from_ref(&image), true)
        .unwrap();
    assert_eq!(
        store.attachment_stats().unwrap(),
        (1, RED_PIXEL_PNG.len() as i64)
    );
    assert_eq!(
        store.attachment_data(&image.sha256()).unwrap().data,
        RED_PIXEL_PNG
    );

    // A message naming a content that is not stored is refused, and nothing is saved.
    let mut ghost = Message::new(&a.id, None, Role::User, "ghost");
    ghost.parts.push(Part::Attachment(AttachmentRef {
        name: "ghost.png".into(),
        mime: "image/png".into(),
        sha256: sha256_hex(b"never stored"),
        bytes: 12,
    }));
    assert!(matches!(
        store.save_message(&ghost, true),
        Err(Error::Invalid(_))
    ));
    assert!(store.get_message(&ghost.id).is_err());

    // Deleting one version keeps the content (others carry it); the whole first conversation,
    // still kept (the second one uses it); the last message, gone.
    store.delete_message(&m1.id).unwrap();
    assert_eq!(store.attachment_stats().unwrap().0, 1);
    store.delete_conversation(&a.id).unwrap();
    store.purge_deleted(i64::MAX).unwrap();
    assert_eq!(store.attachment_stats().unwrap().0, 1);
    store.delete_message(&m2.id).unwrap();
    assert_eq!(store.attachment_stats().unwrap(), (0, 0));
}

fn import(store: &mut Store, text: &str) -> Result<portability::ImportReport, Error> {
    portability::import_bytes(
        store,
        text.as_bytes(),
        ImportFormat::Auto,
        MAX_IMPORT_BYTES,
        &mut |_, _| true,
    )
}

#[test]
fn export_and_import_keep_files_byte_exact_and_refuse_a_tampered_one() {
    let dir = tempfile::tempdir().unwrap();
    let mut first = Store::open(&dir.path().join("a.db")).unwrap();
    let image = prepare("pixel.png", RED_PIXEL_PNG.to_vec()).unwrap();
    let notes = prepare("notes.txt", "line one\nline two\n".as_bytes().to_vec()).unwrap();
    let c = Conversation::new("With files");
    first.create_conversation(&c).unwrap();
    let m = user_with(&c, None, "see attached", &[&image, &notes]);
    first
        .save_message_with_files(&m, &[image.clone(), notes.clone()], true)
        .unwrap();
    let exported = portability::export_json(&first, None, 42, &mut |_, _| true).unwrap();
    let doc: Value = serde_json::from_str(&exported).unwrap();
    assert_eq!(doc["attachments"].as_array().unwrap().len(), 2);
    assert_eq!(doc["attachments"][0]["sha256"], image.sha256());
    assert_eq!(
        doc["attachments"][0]["data"],
        base64::engine::general_purpose::STANDARD.encode(RED_PIXEL_PNG)
    );
    assert_eq!(
        doc["conversations"][0]["messages"][0]["parts"][1]["type"],
        "attachment"
    );

    let mut second = Store::open(&dir.path().join("b.db")).unwrap();
    import(&mut second, &exported).unwrap();
    assert_eq!(
        second.attachment_data(&image.sha256()).unwrap().data,
        RED_PIXEL_PNG
    );
    assert_eq!(
        second.attachment_data(&notes.sha256()).unwrap().data,
        notes.data
    );
    let again = portability::export_json(&second, None, 42, &mut |_, _| true).unwrap();
    assert_eq!(exported, again, "byte-identical after a round trip");

    // A file whose content does not match its hash changes nothing.
    let mut tampered: Value = serde_json::from_str(&exported).unwrap();
    tampered["attachments"][0]["data"] =
        json!(base64::engine::general_purpose::STANDARD.encode(b"something else"));
    let third_path = dir.path().join("c.db");
    let mut third = Store::open(&third_path).unwrap();
    let err = import(&mut third, &tampered.to_string()).unwrap_err();
    assert!(
        err.to_string()
            .contains("attachments[0].data: the content does not match"),
        "{err}"
    );
    assert_eq!(third.count_conversations().unwrap(), 0);
    // A message naming a file the export does not hold is refused too.
    let mut missing: Value = serde_json::from_str(&exported).unwrap();
    missing["attachments"] = json!([]);
    let err = import(&mut third, &missing.to_string()).unwrap_err();
    assert!(
        err.to_string()
            .contains("is not in the file's \"attachments\""),
        "{err}"
    );
    assert_eq!(third.count_conversations().unwrap(), 0);
    assert_eq!(third.attachment_stats().unwrap(), (0, 0));
}
