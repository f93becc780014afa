//! Secrets against the real Secret Service (gnome-keyring under dbus-run-session in the suite),
//! and the promise that a key never reaches the database or the logs.

mod support;

use std::rc::Rc;

use opencode_nexus::engine::chat::{self, EngineOptions, ReplyContext};
use opencode_nexus::engine::model::*;
use opencode_nexus::engine::providers::openai::OpenAiClient;
use opencode_nexus::engine::store::api::StoreClient;
use opencode_nexus::platform::native::{KeyringSecrets, WorkerTransport};
use opencode_nexus::platform::{SecretStatus, SecretStore};
use support::fault_server::*;

#[tokio::test]
async fn round_trip_through_the_real_secret_service() {
    let secrets = KeyringSecrets::new(format!("test-{}", new_id()));
    match secrets.status().await {
        SecretStatus::Available { backend } => {
            assert!(backend.contains("Secret Service") || !cfg!(target_os = "linux"))
        }
        SecretStatus::Unavailable { reason } | SecretStatus::DeviceStorage { note: reason } => {
            if support::peers::secret_service_required() {
                panic!("the Secret Service must be running for this suite: {reason}");
            }
            eprintln!("SKIPPED: no Secret Service ({reason}); scripts/test.sh provides one");
            return;
        }
    }
    let profile_id = new_id();
    assert_eq!(secrets.get(&profile_id).await.unwrap(), None);
    secrets
        .set(&profile_id, "sk-roundtrip-ABCDEFGHIJ")
        .await
        .unwrap();
    assert_eq!(
        secrets.get(&profile_id).await.unwrap().as_deref(),
        Some("sk-roundtrip-ABCDEFGHIJ")
    );
    // Another namespace (another data dir) does not see it.
    let other = KeyringSecrets::new(format!("test-{}", new_id()));
    assert_eq!(other.get(&profile_id).await.unwrap(), None);
    secrets
        .set(&profile_id, "sk-replaced-KLMNOPQRST")
        .await
        .unwrap();
    assert_eq!(
        secrets.get(&profile_id).await.unwrap().as_deref(),
        Some("sk-replaced-KLMNOPQRST")
    );
    secrets.delete(&profile_id).await.unwrap();
    assert_eq!(secrets.get(&profile_id).await.unwrap(), None);
    secrets.delete(&profile_id).await.unwrap();
}

fn files_contain(dir: &std::path::Path, needle: &[u8]) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if let Ok(bytes) = std::fs::read(&path) {
                if bytes.windows(needle.len()).any(|w| w == needle) {
                    found.push(path.display().to_string());
                }
            }
        }
    }
    found
}

#[tokio::test]
async fn a_planted_key_never_reaches_the_database_or_the_logs() {
    const KEY: &str = "sk-planted-9f8e7d6c5b4a39281706";
    let dir = tempfile::tempdir().unwrap();
    let log_dir = dir.path().join("logs");
    let _guard = opencode_nexus::logging::init(Some(&log_dir), "debug");
    // The server echoes the key back in its error, as OpenAI does for wrong keys.
    let server = FaultServer::start(vec![Fault::Status {
        code: 401,
        headers: vec![],
        body: format!(r#"{{"error":{{"message":"Incorrect API key provided: {KEY}. You can find your API key at ..."}}}}"#),
    }])
    .await;
    let store = StoreClient::new(Rc::new(
        WorkerTransport::spawn(&dir.path().join("history.db")).unwrap(),
    ));
    let mut profile = Profile::new("leaky", BackendKind::OpenAiCompatible, server.base_url());
    profile.headers.push(("X-Trace".into(), "1".into()));
    store.save_profile(profile.clone()).await.unwrap();
    opencode_nexus::engine::redact::register_secret(KEY);
    let client = OpenAiClient::new(reqwest::Client::new(), &profile, Some(KEY.into())).unwrap();
    tracing::info!(client = ?client, "client built");
    let mut conv = Conversation::new("leak test");
    conv.profile_id = Some(profile.id.clone());
    store.create_conversation(conv.clone()).await.unwrap();
    let options = EngineOptions::default();
    let ctx = ReplyContext {
        store: &store,
        client: &client,
        options: &options,
    };
    let (_h, stop) = chat::stop_pair();
    let m = ctx
        .send(
            opencode_nexus::engine::chat::Target::Existing(conv.id.clone()),
            "hello",
            stop,
            &mut |_| {},
        )
        .await
        .unwrap()
        .message;
    assert_eq!(m.status, MessageStatus::Error);
    let err = m.error.clone().unwrap();
    tracing::error!(error = %err, "reply failed");
    tracing::warn!("a careless log line with the key {KEY}");
    assert!(err.contains("Incorrect API key provided"), "{err}");
    assert!(!err.contains(KEY));
    // The key was really sent (so the test plants it where it could leak).
    assert_eq!(
        server.requests()[0].header("authorization"),
        Some(format!("Bearer {KEY}").as_str())
    );
    store.integrity_check().await.unwrap();
    drop(_guard);
    let logs: Vec<_> = std::fs::read_dir(&log_dir).unwrap().collect();
    assert!(!logs.is_empty(), "a log file was written");
    let leaks = files_contain(dir.path(), KEY.as_bytes());
    assert!(leaks.is_empty(), "key found in {leaks:?}");
    // The logs did record the events, redacted.
    let all_logs: String = std::fs::read_dir(&log_dir)
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap_or_default())
        .collect();
    assert!(
        all_logs.contains("a careless log line with the key [redacted]"),
        "{all_logs}"
    );
}
