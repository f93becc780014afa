//! The command-line face, run as a real process with an isolated `--data-dir`.

mod support;

use support::cli::nexus;

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};
use std::time::Duration;

use support::fault_server::*;

const BIN: &str = env!("CARGO_BIN_EXE_opencode-nexus");

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn doctor_on_a_fresh_data_dir_is_healthy() {
    let dir = tempfile::tempdir().unwrap();
    let out = nexus(dir.path(), &["doctor"]);
    assert!(
        out.status.success(),
        "stdout:\n{}\nstderr:\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let report = text(&out.stdout);
    assert!(report.contains("integrity        ok"), "{report}");
    assert!(report.contains("status           healthy"), "{report}");
    assert!(dir.path().join("history.db").exists());

    let out = nexus(dir.path(), &["doctor", "--json"]);
    assert!(out.status.success());
    let json: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("doctor --json is JSON");
    assert_eq!(json["healthy"], true);
    assert_eq!(json["integrity"], "ok");
    assert_eq!(
        json["schema_version"],
        opencode_nexus::engine::store::schema::LATEST
    );
    assert_eq!(
        json["data_dir"],
        dir.path().canonicalize().unwrap().display().to_string()
    );
    assert!(json["version"].as_str().is_some());
    if support::peers::secret_service_required() {
        assert!(json["secrets"]["Available"].is_object(), "{json}");
    }
}

#[test]
fn profiles_add_list_remove_and_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let out = nexus(
        d,
        &[
            "profiles",
            "add",
            "local",
            "--kind",
            "openai-compatible",
            "--url",
            "http://127.0.0.1:9/v1",
            "--model",
            "m1",
            "--key-env",
            "NEXUS_TEST_KEY",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = nexus(d, &["profiles", "list", "--json"]);
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(list[0]["name"], "local");
    assert_eq!(list[0]["kind"], "openai-compatible");
    assert_eq!(list[0]["model"], "m1");
    assert_eq!(list[0]["key_env"], "NEXUS_TEST_KEY");

    // A duplicate name, a bad URL and an unknown kind are refused with sentences.
    let out = nexus(
        d,
        &[
            "profiles",
            "add",
            "local",
            "--kind",
            "openai-compatible",
            "--url",
            "http://x/v1",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("already exists"),
        "{}",
        text(&out.stderr)
    );
    let out = nexus(
        d,
        &[
            "profiles",
            "add",
            "bad",
            "--kind",
            "openai-compatible",
            "--url",
            "not a url",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("is not a valid http(s) URL"));
    // A host name outside ASCII is kept in the ASCII form requests use.
    let out = nexus(
        d,
        &[
            "profiles",
            "add",
            "idn",
            "--kind",
            "openai-compatible",
            "--url",
            "https://Bücher.example/v1/",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = nexus(d, &["profiles", "list", "--json"]);
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let idn = list.as_array().unwrap().iter().find(|p| p["name"] == "idn");
    assert_eq!(
        idn.unwrap()["url"],
        "https://xn--bcher-kva.example/v1",
        "{list}"
    );
    let out = nexus(
        d,
        &[
            "profiles", "add", "bad", "--kind", "gopher", "--url", "http://x",
        ],
    );
    assert_eq!(out.status.code(), Some(2));

    // Testing an unreachable backend fails with a sentence naming the address.
    let out = Command::new(BIN)
        .arg("--data-dir")
        .arg(d)
        .args(["profiles", "test", "local"])
        .env("NEXUS_TEST_KEY", "k")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stdout).contains("Could not reach http://127.0.0.1:9/v1"),
        "{}",
        text(&out.stdout)
    );

    for name in ["local", "idn"] {
        let out = nexus(d, &["profiles", "remove", name]);
        assert!(out.status.success(), "{}", text(&out.stderr));
    }
    let out = nexus(d, &["profiles", "list", "--json"]);
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap(),
        serde_json::json!([])
    );
    let out = nexus(d, &["profiles", "remove", "local"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("was not found"));
}

/// A key given on stdin goes to the keychain; a server that echoes it back in an error does not
/// get it into the output, the database or the logs.
#[tokio::test(flavor = "multi_thread")]
async fn key_from_stdin_is_stored_in_the_keychain_and_never_leaks() {
    const KEY: &str = "sk-cli-planted-0a1b2c3d4e5f6a7b";
    if !support::peers::secret_service_required() {
        eprintln!(
            "SKIPPED: needs the Secret Service (scripts/test.sh runs this under dbus-run-session)"
        );
        return;
    }
    let server = FaultServer::start(vec![Fault::Status {
        code: 401,
        headers: vec![],
        body: format!(r#"{{"error":{{"message":"Incorrect API key provided: {KEY}"}}}}"#),
    }])
    .await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_path_buf();
    let url = server.base_url();
    let out = tokio::task::spawn_blocking(move || {
        let mut child = Command::new(BIN)
            .arg("--data-dir")
            .arg(&d)
            .args([
                "profiles",
                "add",
                "cloud",
                "--kind",
                "openai-compatible",
                "--url",
                &url,
                "--key-stdin",
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(KEY.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        let chat = nexus(
            &d,
            &["chat", "--profile", "cloud", "--model", "x", "hello there"],
        );
        (out, chat)
    })
    .await
    .unwrap();
    let (add, chat) = out;
    assert!(add.status.success(), "{}", text(&add.stderr));
    assert!(text(&add.stderr).contains("key stored in the system keychain"));
    assert_eq!(chat.status.code(), Some(1));
    let stderr = text(&chat.stderr);
    assert!(
        stderr.contains("rejected the API key") && stderr.contains("Check the key"),
        "{stderr}"
    );
    assert!(!stderr.contains(KEY) && !text(&chat.stdout).contains(KEY));
    assert_eq!(
        server
            .requests()
            .iter()
            .find(|r| r.path.ends_with("/chat/completions"))
            .unwrap()
            .header("authorization"),
        Some(format!("Bearer {KEY}").as_str())
    );
    // Nothing under the data dir (DB, WAL, logs) holds the key.
    let mut stack = vec![dir.path().to_path_buf()];
    while let Some(p) = stack.pop() {
        for e in std::fs::read_dir(&p).unwrap() {
            let path = e.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let bytes = std::fs::read(&path).unwrap();
                assert!(
                    !bytes.windows(KEY.len()).any(|w| w == KEY.as_bytes()),
                    "key in {}",
                    path.display()
                );
            }
        }
    }
    // The user's message was kept even though the reply failed.
    let out = nexus(dir.path(), &["history", "list", "--json"]);
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(list[0]["messages"], 2);
    let out = nexus(dir.path(), &["profiles", "remove", "cloud"]);
    assert!(out.status.success());
}

/// Ctrl-C during `chat` keeps the partial reply, marked interrupted, and exits 130.
#[tokio::test(flavor = "multi_thread")]
async fn ctrl_c_keeps_the_partial_reply() {
    let pieces: Vec<String> = (0..200).map(|i| format!("word{i} ")).collect();
    let refs: Vec<&str> = pieces.iter().map(String::as_str).collect();
    let server = FaultServer::start(vec![Fault::Stream {
        chunks: sse_chat_chunks(&refs),
        delay_ms: 40,
        then: StreamEnd::Finish,
    }])
    .await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_path_buf();
    let url = server.base_url();
    let (status, streamed) = tokio::task::spawn_blocking(move || {
        assert!(nexus(
            &d,
            &[
                "profiles",
                "add",
                "slow",
                "--kind",
                "openai-compatible",
                "--url",
                &url
            ]
        )
        .status
        .success());
        let mut child = Command::new(BIN)
            .arg("--data-dir")
            .arg(&d)
            .args([
                "chat",
                "--profile",
                "slow",
                "--model",
                "fault-model",
                "count slowly",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut got = Vec::new();
        let mut buf = [0u8; 64];
        while got.len() < 40 {
            let n = stdout.read(&mut buf).unwrap();
            assert!(n > 0, "stream ended early");
            got.extend_from_slice(&buf[..n]);
        }
        Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status()
            .unwrap();
        let mut rest = String::new();
        let _ = stdout.read_to_string(&mut rest);
        let status = child.wait().unwrap();
        let _ = stdout.fill_buf();
        (status, String::from_utf8_lossy(&got).into_owned() + &rest)
    })
    .await
    .unwrap();
    assert_eq!(status.code(), Some(130));
    let out = nexus(dir.path(), &["history", "list", "--json"]);
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let id = list[0]["id"].as_str().unwrap().to_owned();
    let out = nexus(dir.path(), &["history", "show", &id, "--json"]);
    let shown: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let reply = &shown["messages"][1];
    assert_eq!(reply["status"], "interrupted");
    let saved = reply["text"].as_str().unwrap();
    assert!(saved.starts_with("word0 word1"), "{saved}");
    assert_eq!(
        saved.trim_end(),
        streamed.trim_end(),
        "what was printed is what was saved"
    );
    assert!(!saved.contains("word199"));
}

/// The full flow against the real llama.cpp server: chat streams and stores, history finds it.
#[test]
fn chat_against_the_real_llama_server_streams_and_stores() {
    let Some(url) = support::peers::llm_url() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert!(nexus(
        d,
        &[
            "profiles",
            "add",
            "llama",
            "--kind",
            "openai-compatible",
            "--url",
            &url
        ]
    )
    .status
    .success());
    let out = nexus(d, &["profiles", "test", "llama", "--json"]);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["ok"], true, "{report}");
    assert!(report["models"]
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m == "smollm2-135m"));

    let out = nexus(
        d,
        &[
            "chat",
            "--profile",
            "llama",
            "--json",
            "What is the capital of France?",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let reply = text(&out.stdout);
    assert!(!reply.trim().is_empty());
    let status_line = text(&out.stderr).lines().last().unwrap().to_owned();
    let status: serde_json::Value = serde_json::from_str(&status_line).unwrap();
    assert_eq!(status["status"], "complete");
    let conv = status["conversation"].as_str().unwrap().to_owned();

    // Continue the same conversation.
    let out = nexus(
        d,
        &[
            "chat",
            "--profile",
            "llama",
            "--conversation",
            &conv,
            "And of Italy?",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));

    let out = nexus(d, &["history", "show", &conv, "--json"]);
    let shown: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let messages = shown["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 4);
    assert_eq!(messages[0]["text"], "What is the capital of France?");
    assert_eq!(messages[1]["text"].as_str().unwrap().trim(), reply.trim());
    assert_eq!(messages[2]["text"], "And of Italy?");

    let out = nexus(d, &["history", "search", "capital", "--json"]);
    let hits: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(hits
        .as_array()
        .unwrap()
        .iter()
        .any(|h| h["conversation_id"] == conv.as_str()));
    let out = nexus(d, &["history", "search", "Ital", "--json"]);
    let hits: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(!hits.as_array().unwrap().is_empty(), "prefix search");
    std::thread::sleep(Duration::from_millis(10));
}

/// A backend saved with the server's root (what Ollama and llama.cpp users copy) answers 404;
/// "profiles test" finds the API under /v1 and keeps that address. A path where /v1 answers
/// 404 too keeps its own address and the 404 sentence.
#[test]
fn a_server_root_without_v1_is_found_under_v1_and_kept() {
    let Some(url) = support::peers::llm_url() else {
        return;
    };
    let root = url.trim_end_matches('/').trim_end_matches("/v1").to_owned();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    support::cli::add_openai_profile(d, "root", &root);
    support::cli::add_openai_profile(d, "wrong", &format!("{root}/nothing"));
    let out = nexus(d, &["profiles", "test", "root", "--json"]);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["ok"], true, "{report}");
    assert_eq!(
        report["detail"].as_str().unwrap(),
        format!("reachable, 1 model; its API is at {root}/v1, which the backend now uses ({root} answered 404)")
    );
    let out = nexus(d, &["profiles", "test", "wrong", "--json"]);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["ok"], false, "{report}");
    assert!(
        report["detail"].as_str().unwrap().contains("HTTP 404")
            && report["detail"]
                .as_str()
                .unwrap()
                .contains("usually end in /v1"),
        "{report}"
    );

    let out = nexus(d, &["profiles", "list", "--json"]);
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let address = |name: &str| {
        list.as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name)
            .map(|p| p["url"].as_str().unwrap().to_owned())
            .unwrap()
    };
    assert_eq!(address("root"), format!("{root}/v1"));
    assert_eq!(address("wrong"), format!("{root}/nothing"));

    // And it chats at once.
    let out = nexus(d, &["chat", "--profile", "root", "Say one word."]);
    assert!(out.status.success(), "{}", text(&out.stderr));
}
