//! Presets, parameters, usage and cost through the command line (the same engine the app uses),
//! against a scripted server that records every request body: what is sent is exactly what the
//! user set, usage is asked for in the stream and stored, and bad input sends and saves nothing.

mod support;

use serde_json::json;
use support::cli::{add_openai_profile, chat_json, json_of, nexus, run_ok};
use support::fault_server::*;

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A reply streamed in two pieces, then the stop chunk, then the usage chunk an
/// `include_usage` stream ends with, then `[DONE]`.
fn reply_with_usage(prompt: u64, completion: u64) -> Fault {
    let mut chunks = sse_chat_chunks(&["Short ", "answer."]);
    let done = chunks.pop().unwrap();
    chunks.push(format!(
        "data: {}\n\n",
        json!({"id": "u", "object": "chat.completion.chunk", "choices": [],
               "usage": {"prompt_tokens": prompt, "completion_tokens": completion}})
    ));
    chunks.push(done);
    Fault::Stream {
        chunks,
        delay_ms: 0,
        then: StreamEnd::Finish,
    }
}

fn plain_reply() -> Fault {
    Fault::Stream {
        chunks: sse_chat_chunks(&["Plain ", "reply."]),
        delay_ms: 0,
        then: StreamEnd::Finish,
    }
}

const SAMPLING_KEYS: [&str; 6] = [
    "temperature",
    "top_p",
    "max_tokens",
    "presence_penalty",
    "frequency_penalty",
    "seed",
];

#[tokio::test(flavor = "multi_thread")]
async fn the_system_prompt_and_parameters_are_sent_as_set_and_usage_is_stored_with_its_cost() {
    let server = FaultServer::start(vec![reply_with_usage(21, 7), plain_reply()]).await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_path_buf();
    let url = server.base_url();
    let (first, second, shown) = tokio::task::spawn_blocking(move || {
        add_openai_profile(&d, "scripted", &url);
        run_ok(
            &d,
            &[
                "profiles",
                "price",
                "scripted",
                "fault-model",
                "--input",
                "3",
                "--output",
                "15",
            ],
        );
        let first = chat_json(
            &d,
            &[
                "chat",
                "--profile",
                "scripted",
                "--model",
                "fault-model",
                "--system",
                "Be terse.",
                "--temperature",
                "0.5",
                "--top-p",
                "0.9",
                "--max-tokens",
                "64",
                "--presence-penalty",
                "-0.5",
                "--frequency-penalty",
                "0.25",
                "--seed",
                "42",
                "--json",
                "What is Rust?",
            ],
        );
        // A second chat with no flags sends no sampling parameter at all.
        let second = chat_json(
            &d,
            &[
                "chat",
                "--profile",
                "scripted",
                "--model",
                "fault-model",
                "--json",
                "And Go?",
            ],
        );
        let id = first["conversation"].as_str().unwrap().to_owned();
        let shown = json_of(&d, &["history", "show", &id, "--json"]);
        (first, second, shown)
    })
    .await
    .unwrap();
    assert_eq!(first["outcome"], "complete");
    assert_eq!(second["outcome"], "complete");

    let bodies = streamed_chat_bodies(&server);
    assert_eq!(bodies.len(), 2, "{bodies:?}");
    let body = &bodies[0];
    assert_eq!(
        body["messages"],
        json!([{"role": "system", "content": "Be terse."}, {"role": "user", "content": "What is Rust?"}])
    );
    assert_eq!(body["temperature"], 0.5);
    assert_eq!(body["top_p"], 0.9);
    assert_eq!(body["max_tokens"], 64);
    assert_eq!(body["presence_penalty"], -0.5);
    assert_eq!(body["frequency_penalty"], 0.25);
    assert_eq!(body["seed"], 42);
    assert_eq!(body["stream"], true);
    assert_eq!(body["stream_options"], json!({"include_usage": true}));
    for key in SAMPLING_KEYS {
        assert!(
            bodies[1].get(key).is_none(),
            "{key} was sent unset: {}",
            bodies[1]
        );
    }
    assert_eq!(bodies[1]["messages"][0]["role"], "user", "no system prompt");

    // The usage the server reported, and its cost at 3 $ in / 15 $ out per million tokens.
    let reply = &shown["messages"][1];
    assert_eq!(reply["role"], "assistant");
    assert_eq!(reply["usage"]["input"], 21);
    assert_eq!(reply["usage"]["output"], 7);
    assert_eq!(reply["usage"]["estimated"], false);
    let cost = reply["usage"]["cost"].as_f64().unwrap();
    assert!(
        (cost - (21.0 * 3.0 + 7.0 * 15.0) / 1e6).abs() < 1e-12,
        "{cost}"
    );
    assert_eq!(shown["usage"]["input"], 21);
    assert_eq!(shown["usage"]["output"], 7);
    assert_eq!(shown["conversation"]["system_prompt"], "Be terse.");
    assert_eq!(shown["conversation"]["params"]["seed"], 42);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_backend_that_rejects_stream_options_is_asked_again_without_and_it_is_remembered() {
    let server = FaultServer::start(vec![
        Fault::Status {
            code: 400,
            headers: vec![],
            body: r#"{"error":{"message":"Unrecognized request argument supplied: stream_options","type":"invalid_request_error"}}"#.into(),
        },
        plain_reply(),
    ])
    .await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_path_buf();
    let url = server.base_url();
    let shown = tokio::task::spawn_blocking(move || {
        add_openai_profile(&d, "old", &url);
        let first = chat_json(
            &d,
            &[
                "chat",
                "--profile",
                "old",
                "--model",
                "fault-model",
                "--json",
                "hello",
            ],
        );
        assert_eq!(first["outcome"], "complete");
        let second = chat_json(
            &d,
            &[
                "chat",
                "--profile",
                "old",
                "--model",
                "fault-model",
                "--json",
                "again",
            ],
        );
        assert_eq!(second["outcome"], "complete");
        let id = first["conversation"].as_str().unwrap().to_owned();
        json_of(&d, &["history", "show", &id, "--json"])
    })
    .await
    .unwrap();
    let bodies = streamed_chat_bodies(&server);
    assert_eq!(bodies.len(), 3, "{bodies:?}");
    assert_eq!(bodies[0]["stream_options"], json!({"include_usage": true}));
    assert!(bodies[1].get("stream_options").is_none(), "{}", bodies[1]);
    assert!(
        bodies[2].get("stream_options").is_none(),
        "remembered for the backend: {}",
        bodies[2]
    );
    // No usage from the server: an estimate, marked as such, and no cost without a price.
    let reply = &shown["messages"][1];
    assert_eq!(reply["text"], "Plain reply.");
    assert_eq!(reply["usage"]["estimated"], true);
    assert!(reply["usage"]["input"].as_u64().unwrap() > 0);
    assert!(reply["usage"]["output"].as_u64().unwrap() > 0);
    assert!(reply["usage"]["cost"].is_null());
    assert_eq!(shown["usage"]["estimated"], true);
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_values_exit_with_a_sentence_and_nothing_is_sent_or_saved() {
    let server = FaultServer::start(vec![plain_reply()]).await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_path_buf();
    let url = server.base_url();
    tokio::task::spawn_blocking(move || {
        add_openai_profile(&d, "p", &url);
        let cases: [(&[&str], i32, &str); 6] = [
            (
                &["--temperature", "3"],
                2,
                "Temperature must be between 0 and 2",
            ),
            (&["--top-p", "1.5"], 2, "Top P must be between 0 and 1"),
            (&["--max-tokens", "0"], 2, "Max tokens must be at least 1"),
            (
                &["--presence-penalty", "-2.5"],
                2,
                "Presence penalty must be between -2 and 2",
            ),
            (&["--seed", "abc"], 2, "invalid value 'abc'"),
            (
                &["--preset", "Nobody"],
                1,
                "The preset 'Nobody' was not found",
            ),
        ];
        for (flags, code, sentence) in cases {
            let mut args = vec!["chat", "--profile", "p", "--model", "fault-model"];
            args.extend_from_slice(flags);
            args.push("hello");
            let out = nexus(&d, &args);
            let err = text(&out.stderr);
            assert_eq!(out.status.code(), Some(code), "{flags:?}: {err}");
            assert!(err.contains(sentence), "{flags:?}: {err}");
        }
        let out = nexus(&d, &["presets", "add", "Hot", "--temperature", "9"]);
        assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
        let out = nexus(
            &d,
            &[
                "profiles",
                "price",
                "p",
                "fault-model",
                "--input",
                "-1",
                "--output",
                "2",
            ],
        );
        assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
        assert!(text(&out.stderr).contains("A price must be a number of at least 0"));
        assert_eq!(json_of(&d, &["history", "list", "--json"]), json!([]));
        assert_eq!(json_of(&d, &["presets", "list", "--json"]), json!([]));
    })
    .await
    .unwrap();
    assert!(streamed_chat_bodies(&server).is_empty(), "nothing was sent");
}

#[tokio::test(flavor = "multi_thread")]
async fn presets_add_list_remove_and_new_chats_start_from_them() {
    let server = FaultServer::start(vec![plain_reply()]).await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_path_buf();
    let url = server.base_url();
    let (listed, from_default, from_named, shown) = tokio::task::spawn_blocking(move || {
        add_openai_profile(&d, "p", &url);
        run_ok(
            &d,
            &[
                "presets",
                "add",
                "Tutor",
                "--system",
                "You teach Rust.",
                "--model",
                "fault-model",
                "--temperature",
                "0.2",
                "--default",
            ],
        );
        run_ok(
            &d,
            &[
                "presets",
                "add",
                "Poet",
                "--system",
                "Answer in verse.",
                "--seed",
                "3",
            ],
        );
        let listed = json_of(&d, &["presets", "list", "--json"]);
        // No --preset: the default one; the model comes from it.
        let from_default = chat_json(&d, &["chat", "--profile", "p", "--json", "Borrowing?"]);
        // A named preset, with a flag that wins over it.
        let from_named = chat_json(
            &d,
            &[
                "chat",
                "--profile",
                "p",
                "--model",
                "fault-model",
                "--preset",
                "poet",
                "--temperature",
                "0.7",
                "--json",
                "The sea?",
            ],
        );
        let id = from_default["conversation"].as_str().unwrap().to_owned();
        let shown = json_of(&d, &["history", "show", &id, "--json"]);
        run_ok(&d, &["presets", "remove", "Tutor"]);
        let after = json_of(&d, &["presets", "list", "--json"]);
        assert_eq!(after.as_array().unwrap().len(), 1, "{after}");
        assert_eq!(after[0]["name"], "Poet");
        let out = nexus(&d, &["presets", "remove", "Tutor"]);
        assert_eq!(out.status.code(), Some(1));
        assert!(text(&out.stderr).contains("The preset 'Tutor' was not found"));
        (listed, from_default, from_named, shown)
    })
    .await
    .unwrap();
    let rows = listed.as_array().unwrap();
    assert_eq!(rows.len(), 2, "{listed}");
    assert_eq!(rows[0]["name"], "Poet");
    assert_eq!(rows[0]["default"], false);
    assert_eq!(rows[1]["name"], "Tutor");
    assert_eq!(rows[1]["default"], true);
    assert_eq!(rows[1]["params"], json!({"temperature": 0.2}));
    assert_eq!(from_default["outcome"], "complete");
    assert_eq!(from_named["outcome"], "complete");

    let bodies = streamed_chat_bodies(&server);
    assert_eq!(bodies.len(), 2, "{bodies:?}");
    assert_eq!(bodies[0]["model"], "fault-model");
    assert_eq!(
        bodies[0]["messages"][0],
        json!({"role": "system", "content": "You teach Rust."})
    );
    assert_eq!(bodies[0]["temperature"], 0.2);
    assert_eq!(
        bodies[1]["messages"][0],
        json!({"role": "system", "content": "Answer in verse."})
    );
    assert_eq!(bodies[1]["temperature"], 0.7);
    assert_eq!(bodies[1]["seed"], 3);
    assert_eq!(shown["conversation"]["preset_id"], rows[1]["id"]);
}
