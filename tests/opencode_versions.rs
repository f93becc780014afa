//! A server this client cannot speak: a stand-in that answers only under `/api/` (as newer
//! OpenCode majors are reported to) gets a sentence naming its version and what is supported,
//! from the client, the live connection and the command line — never a parse error.

mod support;

use std::time::Duration;

use futures_util::StreamExt;
use opencode_nexus::engine::opencode::client::{OpenCodeClient, OpenCodeError};
use opencode_nexus::engine::opencode::live::{self, Connection, LiveOptions, LiveUpdate};
use support::cli::{nexus, run_ok};
use support::static_server::StaticServer;

async fn api_only_server() -> StaticServer {
    let server = StaticServer::start().await;
    server.put(
        "/api/global/health",
        r#"{"healthy":true,"version":"2.0.0"}"#,
    );
    server
}

fn client(server: &StaticServer) -> OpenCodeClient {
    support::oc::client(&server.url(""), None)
}

fn assert_sentence(text: &str) {
    assert!(text.contains("OpenCode 2.0.0"), "names the version: {text}");
    assert!(text.contains("/api/"), "says what it found: {text}");
    assert!(
        text.contains("OpenCode 1.x (tested with 1.18)"),
        "says what is supported: {text}"
    );
    assert!(
        !text.contains("Could not read"),
        "not a parse error: {text}"
    );
}

#[tokio::test]
async fn the_client_names_the_version_of_a_server_it_cannot_speak() {
    let server = api_only_server().await;
    match client(&server).health().await {
        Err(e @ OpenCodeError::Unsupported { .. }) => assert_sentence(&e.to_string()),
        other => panic!("expected Unsupported, got {other:?}"),
    }
}

#[tokio::test]
async fn a_server_that_answers_nothing_of_either_api_is_not_called_another_version() {
    let server = StaticServer::start().await;
    match client(&server).health().await {
        Err(OpenCodeError::NotFound { .. }) => {}
        other => panic!("expected NotFound, got {other:?}"),
    }
    // A web page in place of the API is named as such, not quoted.
    server.put(
        "/global/health",
        "<!DOCTYPE html><html><body>Hello</body></html>",
    );
    let e = client(&server).health().await.unwrap_err().to_string();
    assert!(e.contains("web page, not the OpenCode API"), "{e}");
    assert!(!e.contains("DOCTYPE"), "{e}");
}

#[tokio::test]
async fn the_live_connection_stops_with_the_sentence_instead_of_retrying() {
    let server = api_only_server().await;
    let (_commands, command_rx) = futures_channel::mpsc::unbounded();
    let (tx, mut updates) = futures_channel::mpsc::unbounded();
    let driver = live::run(
        client(&server),
        LiveOptions::default(),
        None,
        command_rx,
        move |u| {
            let _ = tx.unbounded_send(u);
        },
    );
    tokio::pin!(driver);
    let reason = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            tokio::select! {
                _ = &mut driver => panic!("the driver ended"),
                u = updates.next() => match u {
                    Some(LiveUpdate::Connection(Connection::Disconnected { reason })) => break reason,
                    Some(LiveUpdate::Connection(Connection::Reconnecting { reason, .. })) => {
                        panic!("retried a server it cannot speak: {reason}")
                    }
                    Some(_) => {}
                    None => panic!("updates ended"),
                },
            }
        }
    })
    .await
    .expect("the connection gave up with a reason");
    assert_sentence(&reason);
}

#[tokio::test]
async fn profiles_test_on_the_command_line_says_it_in_a_sentence() {
    let server = api_only_server().await;
    let dir = tempfile::tempdir().unwrap();
    let url = server.url("");
    let (data, url2) = (dir.path().to_owned(), url.clone());
    tokio::task::spawn_blocking(move || {
        run_ok(
            &data,
            &[
                "profiles", "add", "new", "--kind", "opencode", "--url", &url2,
            ],
        );
        let out = nexus(&data, &["profiles", "test", "new"]);
        assert_eq!(out.status.code(), Some(1));
        let said = String::from_utf8_lossy(&out.stdout);
        assert!(said.starts_with("FAILED: "), "{said}");
        assert_sentence(&said);
    })
    .await
    .unwrap();
}
