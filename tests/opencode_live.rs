//! The OpenCode client against a real `opencode serve` (1.18, started by `scripts/test.sh`, its
//! provider pointed at the real llama.cpp server): health, session create/rename/delete, a
//! prompt whose streamed events rebuild exactly what `GET /session/{id}/message` returns, abort
//! of a running prompt, HTTP Basic auth on a password-protected server started here, a stream
//! cut mid-reply by a proxy this test controls, the CLI, and the app's session screens.
//!
//! Prompts use the `chat` agent (short system prompt, no tools) so the tiny model answers in
//! seconds; sessions are created with a title so the server does not spend the model on
//! naming them.

mod support;

use support::cli::nexus;
use support::live_watch::{duplicate_part_ids, Watcher};
use support::oc::{client as client_for, titled_session};

use std::collections::HashSet;
use std::path::Path;
use std::process::Command as Process;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use opencode_nexus::engine::opencode::api::{Event, PromptBody, SessionStatus};
use opencode_nexus::engine::opencode::client::OpenCodeError;
use opencode_nexus::engine::opencode::live::{Connection, LiveOptions};
use opencode_nexus::engine::opencode::state::SessionView;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const BIN: &str = env!("CARGO_BIN_EXE_opencode-nexus");
/// Generous: the first token of a reply can take many seconds on a loaded 2-core machine.
const REPLY_TIMEOUT: Duration = Duration::from_secs(240);

fn server_url() -> String {
    support::peers::opencode_url().unwrap_or_else(|| {
        panic!("the OpenCode server is required (NEXUS_TEST_OPENCODE_URL); run scripts/test.sh")
    })
}

fn chat_prompt(text: &str) -> PromptBody {
    let mut body = PromptBody::text(text);
    body.agent = Some("chat".to_owned());
    body
}

fn message_ids(v: &SessionView) -> HashSet<String> {
    v.messages.iter().map(|m| m.info.id().to_owned()).collect()
}

#[tokio::test]
async fn health_reports_the_server_version() {
    let client = client_for(&server_url(), None);
    let health = client.health().await.expect("health");
    assert!(health.healthy);
    let version = health.version.expect("a version");
    assert!(version.starts_with("1.18"), "{version}");

    // The settings panel and `profiles test` show the same through the services layer.
    let services = opencode_nexus::platform::memory::services();
    let profile = opencode_nexus::engine::model::Profile::new(
        "oc",
        opencode_nexus::engine::model::BackendKind::OpenCode,
        server_url(),
    );
    let reached = opencode_nexus::platform::ops::test_connection(&services, &profile)
        .await
        .expect("connection test");
    let (detail, models) = (reached.detail, reached.models);
    assert!(detail.contains(&version), "{detail}");
    assert!(
        models.iter().any(|m| m == "llamacpp/smollm2-135m"),
        "{models:?}"
    );
}

#[tokio::test]
async fn sessions_are_created_renamed_and_deleted_and_the_live_list_follows() {
    let client = client_for(&server_url(), None);
    let mut w = Watcher::start(client.clone(), LiveOptions::default(), None);
    w.until("the first snapshot", Duration::from_secs(60), |w| {
        w.state.connection.is_connected() && w.snapshots > 0
    })
    .await;

    let id = titled_session(&client, "nexus lifecycle test").await;
    w.until(
        "the new session in the list",
        Duration::from_secs(30),
        |w| w.state.sessions.get(&id).is_some(),
    )
    .await;
    assert!(client
        .list_sessions()
        .await
        .expect("list")
        .iter()
        .any(|s| s.id == id));

    let renamed = client
        .rename_session(&id, "nexus lifecycle renamed")
        .await
        .expect("rename");
    assert_eq!(renamed.title, "nexus lifecycle renamed");
    assert_eq!(
        client.get_session(&id).await.expect("get").title,
        "nexus lifecycle renamed"
    );
    w.until("the new title in the list", Duration::from_secs(30), |w| {
        w.state
            .sessions
            .get(&id)
            .is_some_and(|s| s.title == "nexus lifecycle renamed")
    })
    .await;

    assert!(client.delete_session(&id).await.expect("delete"));
    w.until(
        "the session gone from the list",
        Duration::from_secs(30),
        |w| w.state.sessions.get(&id).is_none(),
    )
    .await;
    let gone = client.get_session(&id).await.expect_err("deleted");
    assert!(matches!(gone, OpenCodeError::NotFound { .. }), "{gone:?}");
    assert!(gone.to_string().contains("could not find"), "{gone}");
    let again = client.delete_session(&id).await.expect_err("second delete");
    assert!(matches!(again, OpenCodeError::NotFound { .. }));
}

#[tokio::test]
async fn streamed_events_rebuild_exactly_what_the_server_stores() {
    let client = client_for(&server_url(), None);
    let id = titled_session(&client, "nexus stream test").await;
    let mut w = Watcher::start(client.clone(), LiveOptions::default(), Some(&id));
    w.until("the session loaded", Duration::from_secs(60), |w| {
        w.state.view_loaded
    })
    .await;
    let before = w.view().messages.clone();
    let known = message_ids(w.view());
    let first_event = w.events.len();

    client
        .prompt_async(&id, &chat_prompt("Say hello in one short sentence."))
        .await
        .expect("prompt_async");
    w.until("the reply", REPLY_TIMEOUT, |w| w.reply_done(&known))
        .await;

    // Only the events, applied to the state from before the prompt: no fetch involved.
    let mut from_events = SessionView::new(id.clone());
    from_events.replace_from_fetch(before);
    let mut deltas = String::new();
    for e in &w.events[first_event..] {
        from_events.apply(e);
        if let Event::MessagePartDelta {
            session_id, delta, ..
        } = e
        {
            if *session_id == id {
                deltas.push_str(delta);
            }
        }
    }
    let fetched = client.messages(&id).await.expect("messages");
    assert_eq!(fetched.len(), 2, "user + assistant: {fetched:#?}");
    let reply = fetched[1].text();
    assert!(!reply.trim().is_empty(), "the model answered");
    assert!(!deltas.is_empty(), "the text streamed as deltas");
    assert_eq!(deltas, reply, "streamed deltas == stored text");
    assert_eq!(
        from_events.messages, fetched,
        "events rebuild the stored messages"
    );
    assert!(duplicate_part_ids(&w.view().messages).is_empty());
    assert_eq!(
        w.view().messages,
        fetched,
        "the live view after the run == the server"
    );
    let _ = client.delete_session(&id).await;
}

#[tokio::test]
async fn a_running_prompt_is_aborted() {
    let client = client_for(&server_url(), None);
    let id = titled_session(&client, "nexus abort test").await;
    let mut w = Watcher::start(client.clone(), LiveOptions::default(), Some(&id));
    w.until("the session loaded", Duration::from_secs(60), |w| {
        w.state.view_loaded
    })
    .await;
    let known = message_ids(w.view());
    client
        .prompt_async(
            &id,
            &chat_prompt("Write a very long story about a lighthouse keeper, with many chapters."),
        )
        .await
        .expect("prompt_async");
    // Running for real: the reply has started to stream.
    w.until("the first streamed text", REPLY_TIMEOUT, |w| {
        w.events
            .iter()
            .any(|e| matches!(e, Event::MessagePartDelta { session_id, .. } if *session_id == id))
    })
    .await;
    assert!(w.state.is_busy(&id));
    assert!(client.abort(&id).await.expect("abort"));
    w.until("the run to end", Duration::from_secs(60), |w| {
        w.reply_done(&known)
    })
    .await;

    let fetched = client.messages(&id).await.expect("messages");
    let reply = fetched
        .iter()
        .rev()
        .find_map(|m| m.info.as_assistant())
        .expect("a reply");
    let error = reply.error.clone().expect("the reply records the abort");
    assert!(error.is_abort(), "{error:?}");
    assert!(error.sentence().contains("stopped before it finished"));
    assert_eq!(
        w.view().messages,
        fetched,
        "the live view settles on the server's record"
    );
    let _ = client.delete_session(&id).await;
}

// ---------------------------------------------------------------------------------------------
// A password-protected server, started here.
// ---------------------------------------------------------------------------------------------

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

struct PeerProcess(String);

impl Drop for PeerProcess {
    fn drop(&mut self) {
        let _ = Process::new("bash")
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/peers.sh"))
            .args(["stop", &self.0])
            .status();
    }
}

#[tokio::test]
async fn basic_auth_accepts_the_right_password_and_names_the_problem_otherwise() {
    let llm = support::peers::llm_url().unwrap_or_else(|| {
        panic!("the llama.cpp server is required (NEXUS_TEST_LLM_URL); run scripts/test.sh")
    });
    let port = free_port();
    let password = format!("pw-{}", uuid::Uuid::now_v7().simple());
    let out = tokio::task::spawn_blocking({
        let password = password.clone();
        move || {
            Process::new("bash")
                .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/peers.sh"))
                .args(["start-opencode", &port.to_string(), &llm, &password])
                .output()
                .expect("peers.sh runs")
        }
    })
    .await
    .expect("join");
    assert!(
        out.status.success(),
        "a password-protected opencode serve should start: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let _server = PeerProcess(String::from_utf8_lossy(&out.stdout).trim().to_owned());
    let url = format!("http://127.0.0.1:{port}");

    let right = client_for(&url, Some(&password));
    assert!(
        right
            .health()
            .await
            .expect("health with the password")
            .healthy
    );
    right
        .list_sessions()
        .await
        .expect("sessions with the password");

    let wrong = client_for(&url, Some("not-the-password"));
    let e = wrong.list_sessions().await.expect_err("wrong password");
    assert_eq!(
        e,
        OpenCodeError::Unauthorized {
            password_sent: true
        }
    );
    assert!(e.to_string().contains("rejected the password"), "{e}");

    let none = client_for(&url, None);
    let e = none.list_sessions().await.expect_err("no password");
    assert_eq!(
        e,
        OpenCodeError::Unauthorized {
            password_sent: false
        }
    );
    assert!(e.to_string().contains("needs a password"), "{e}");

    // The live connection: connected with the password, and without one it stops retrying
    // and says why.
    let mut ok = Watcher::start(right, LiveOptions::default(), None);
    ok.until("connected", Duration::from_secs(60), |w| {
        w.state.connection.is_connected()
    })
    .await;
    let mut bad = Watcher::start(wrong, LiveOptions::default(), None);
    bad.until("disconnected", Duration::from_secs(60), |w| {
        matches!(w.state.connection, Connection::Disconnected { .. })
    })
    .await;
    assert!(
        bad.state
            .connection
            .label()
            .contains("rejected the password"),
        "{:?}",
        bad.state.connection
    );

    // The profile path the app and CLI take: the password comes from the secret store.
    let services = opencode_nexus::platform::memory::services();
    let profile = opencode_nexus::engine::model::Profile::new(
        "secured",
        opencode_nexus::engine::model::BackendKind::OpenCode,
        url.clone(),
    );
    services.set_session_key(&profile.id, &password);
    let detail = opencode_nexus::platform::ops::test_connection(&services, &profile)
        .await
        .expect("test with the stored password")
        .detail;
    assert!(detail.contains("1.18"), "{detail}");
}

// ---------------------------------------------------------------------------------------------
// A stream cut mid-reply.
// ---------------------------------------------------------------------------------------------

/// A loopback TCP proxy in front of the real server that can cut the `/event` connections
/// (and refuse new ones for a while), leaving every other request alone.
struct Proxy {
    url: String,
    cut: Arc<Mutex<Vec<tokio::sync::oneshot::Sender<()>>>>,
    refuse: Arc<AtomicBool>,
    event_connections: Arc<std::sync::atomic::AtomicUsize>,
}

impl Proxy {
    async fn start(upstream: &str) -> Proxy {
        let upstream = upstream
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_owned();
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let cut: Arc<Mutex<Vec<tokio::sync::oneshot::Sender<()>>>> = Arc::default();
        let refuse = Arc::new(AtomicBool::new(false));
        let event_connections = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let (c, r, n) = (cut.clone(), refuse.clone(), event_connections.clone());
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let upstream = upstream.clone();
                let (c, r, n) = (c.clone(), r.clone(), n.clone());
                tokio::spawn(async move {
                    let _ = Self::forward(client, &upstream, c, r, n).await;
                });
            }
        });
        Proxy {
            url,
            cut,
            refuse,
            event_connections,
        }
    }

    async fn forward(
        mut client: TcpStream,
        upstream: &str,
        cut: Arc<Mutex<Vec<tokio::sync::oneshot::Sender<()>>>>,
        refuse: Arc<AtomicBool>,
        count: Arc<std::sync::atomic::AtomicUsize>,
    ) -> std::io::Result<()> {
        let mut server = TcpStream::connect(upstream).await?;
        let (mut cr, mut cw) = client.split();
        let (mut sr, mut sw) = server.split();
        let (tx, mut killed) = tokio::sync::oneshot::channel::<()>();
        let mut tx = Some(tx);
        let mut buf = vec![0u8; 16 * 1024];
        let up = async {
            loop {
                let n = cr.read(&mut buf).await?;
                if n == 0 {
                    return Ok::<(), std::io::Error>(());
                }
                // A pooled connection can carry any request; one that asks for the event
                // stream becomes cuttable from then on.
                if buf[..n].starts_with(b"GET /event") {
                    if refuse.load(Ordering::SeqCst) {
                        return Ok(());
                    }
                    count.fetch_add(1, Ordering::SeqCst);
                    if let Some(tx) = tx.take() {
                        cut.lock().expect("lock").push(tx);
                    }
                }
                sw.write_all(&buf[..n]).await?;
            }
        };
        let down = tokio::io::copy(&mut sr, &mut cw);
        tokio::select! {
            _ = up => {}
            _ = down => {}
            _ = &mut killed => {}
        }
        Ok(())
    }

    /// Drops every open `/event` connection; new ones are refused while `refuse` is set.
    fn cut_events(&self, refuse: bool) {
        self.refuse.store(refuse, Ordering::SeqCst);
        for tx in self.cut.lock().expect("lock").drain(..) {
            let _ = tx.send(());
        }
    }
}

#[tokio::test]
async fn a_stream_cut_mid_reply_reconnects_refetches_and_ends_equal_to_the_server() {
    let upstream = server_url();
    let direct = client_for(&upstream, None);
    let proxy = Proxy::start(&upstream).await;
    let via_proxy = client_for(&proxy.url, None);
    let id = titled_session(&direct, "nexus reconnect test").await;

    let options = LiveOptions {
        first_backoff: Duration::from_millis(300),
        ..LiveOptions::default()
    };
    let mut w = Watcher::start(via_proxy, options, Some(&id));
    w.until("the session loaded", Duration::from_secs(60), |w| {
        w.state.view_loaded
    })
    .await;
    let known = message_ids(w.view());
    direct
        .prompt_async(
            &id,
            &chat_prompt("Tell a long story about a fox who learns to sail, in many sentences."),
        )
        .await
        .expect("prompt_async");
    w.until("the first streamed text", REPLY_TIMEOUT, |w| {
        w.events
            .iter()
            .any(|e| matches!(e, Event::MessagePartDelta { session_id, .. } if *session_id == id))
    })
    .await;
    assert!(w.state.is_busy(&id), "cut while the reply is running");

    // Cut the stream and keep it down for a moment, so deltas are really missed.
    let connects_before = w.connections.iter().filter(|c| c.is_connected()).count();
    let snapshots_before = w.snapshots;
    proxy.cut_events(true);
    w.until("the drop noticed", Duration::from_secs(30), |w| {
        matches!(w.state.connection, Connection::Reconnecting { .. })
    })
    .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    proxy.cut_events(false);
    w.until("reconnected", Duration::from_secs(60), |w| {
        w.connections.iter().filter(|c| c.is_connected()).count() > connects_before
    })
    .await;
    assert!(
        proxy.event_connections.load(Ordering::SeqCst) >= 2,
        "a second stream was opened"
    );
    w.until(
        "the refetch after reconnecting",
        Duration::from_secs(60),
        |w| w.snapshots > snapshots_before,
    )
    .await;

    w.until("the reply", REPLY_TIMEOUT, |w| w.reply_done(&known))
        .await;
    let fetched = direct.messages(&id).await.expect("messages");
    let live = &w.view().messages;
    assert!(
        duplicate_part_ids(live).is_empty(),
        "no duplicated parts: {live:#?}"
    );
    assert_eq!(live, &fetched, "the conversation equals the server's");
    let reply = fetched[1].text();
    assert!(!reply.trim().is_empty());
    let _ = direct.delete_session(&id).await;
}

#[tokio::test]
async fn a_silent_stream_is_treated_as_stalled_and_reconnected() {
    // A server that accepts the event stream, says it is connected, then goes quiet.
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let streams = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = streams.clone();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let counter = counter.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 8192];
                let n = s.read(&mut buf).await.unwrap_or(0);
                let request = String::from_utf8_lossy(&buf[..n]).into_owned();
                if request.starts_with("GET /event") {
                    counter.fetch_add(1, Ordering::SeqCst);
                    let _ = s
                        .write_all(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n\r\ndata: {\"type\":\"server.connected\",\"properties\":{}}\n\n")
                        .await;
                    tokio::time::sleep(Duration::from_secs(60)).await;
                } else {
                    let body = if request.starts_with("GET /session/status") {
                        "{}"
                    } else {
                        "[]"
                    };
                    let _ = s
                        .write_all(format!("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}", body.len()).as_bytes())
                        .await;
                }
            });
        }
    });
    let options = LiveOptions {
        stall_after: Duration::from_millis(800),
        first_backoff: Duration::from_millis(100),
        ..LiveOptions::default()
    };
    let mut w = Watcher::start(client_for(&url, None), options, None);
    w.until("a stall detected", Duration::from_secs(20), |w| {
        w.connections.iter().any(|c| {
            matches!(c, Connection::Reconnecting { reason, .. } if reason.contains("no events"))
        })
    })
    .await;
    w.until("reconnected", Duration::from_secs(20), |w| {
        w.connections.iter().filter(|c| c.is_connected()).count() >= 2
    })
    .await;
    assert!(streams.load(Ordering::SeqCst) >= 2);
    // Dropping the command side ends the driver.
    let driver = w.driver.take().expect("driver");
    w.commands.close_channel();
    tokio::time::timeout(Duration::from_secs(5), driver)
        .await
        .expect("the driver ends when its owner goes away")
        .expect("no panic");
}

// ---------------------------------------------------------------------------------------------
// The CLI.
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn the_cli_chats_through_opencode_and_stores_the_conversation() {
    let url = server_url();
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().to_owned();
    let out = tokio::task::spawn_blocking(move || {
        let add = nexus(
            &data,
            &["profiles", "add", "oc", "--kind", "opencode", "--url", &url],
        );
        assert!(
            add.status.success(),
            "{}",
            String::from_utf8_lossy(&add.stderr)
        );
        let chat = nexus(
            &data,
            &[
                "chat",
                "--profile",
                "oc",
                "--agent",
                "chat",
                "--json",
                "Say hello in one short sentence.",
            ],
        );
        let list = nexus(&data, &["history", "list", "--json"]);
        (chat, list, data)
    })
    .await
    .expect("join");
    let (chat, list, data) = out;
    let stdout = String::from_utf8_lossy(&chat.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&chat.stderr).into_owned();
    assert!(
        chat.status.success(),
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(!stdout.trim().is_empty(), "the reply streamed to stdout");
    assert!(stderr.contains("OpenCode session ses_"), "{stderr}");

    let rows: serde_json::Value = serde_json::from_slice(&list.stdout).expect("list json");
    let conv = rows[0]["id"].as_str().expect("a conversation").to_owned();
    let summary: serde_json::Value =
        serde_json::from_str(stderr.lines().last().unwrap_or_default()).expect("--json line");
    assert_eq!(summary["conversation"], conv.as_str(), "{stderr}");
    assert_eq!(summary["status"], "complete", "{stderr}");
    assert!(summary["error"].is_null(), "{stderr}");
    let show =
        tokio::task::spawn_blocking(move || nexus(&data, &["history", "show", &conv, "--json"]))
            .await
            .expect("join");
    let shown: serde_json::Value = serde_json::from_slice(&show.stdout).expect("show json");
    let messages = shown["messages"].as_array().expect("messages");
    assert_eq!(messages.len(), 2, "{shown}");
    assert_eq!(messages[0]["role"], "user");
    assert_eq!(messages[0]["text"], "Say hello in one short sentence.");
    assert_eq!(messages[1]["role"], "assistant");
    assert_eq!(messages[1]["status"], "complete");
    assert_eq!(messages[1]["id"], summary["message"]);
    assert_eq!(
        messages[1]["text"].as_str().map(str::trim),
        Some(stdout.trim())
    );
    let session = shown["conversation"]["remote_session"]
        .as_str()
        .expect("the conversation mirrors a session")
        .to_owned();
    let _ = client_for(&server_url(), None)
        .delete_session(&session)
        .await;
}

/// The sidebar of the app, its server answering: the server's sessions, and the copies saved
/// here of sessions it no longer lists (they were not shown anywhere once it answered).
#[tokio::test]
async fn the_sidebar_keeps_copies_of_sessions_the_server_no_longer_lists() {
    use dioxus::prelude::VirtualDom;
    use opencode_nexus::engine::model::{BackendKind, Conversation, Profile};

    let url = server_url();
    let live = format!("Sidebar live {}", uuid::Uuid::now_v7().simple());
    let id = titled_session(&client_for(&url, None), &live).await;
    let services = opencode_nexus::platform::memory::services();
    let profile = Profile::new("Bench server", BackendKind::OpenCode, url.as_str());
    services.store.save_profile(profile.clone()).await.unwrap();
    let mut gone = Conversation::new("Copy of a gone session");
    gone.profile_id = Some(profile.id.clone());
    gone.remote_session = Some("ses_gone_from_this_server".into());
    services.store.create_conversation(gone).await.unwrap();
    let mut dom = VirtualDom::new(opencode_nexus::app::App).with_root_context(services.clone());
    dom.rebuild_in_place();
    let html =
        support::vdom::render_until(&mut dom, "the server's sessions", |h| h.contains(&live)).await;
    let group = html
        .split("aria-label=\"Bench server (OpenCode sessions)\"")
        .nth(1)
        .and_then(|g| g.split("</ul>").next())
        .expect("the server's list");
    let row = |title: &str| {
        group
            .split(title)
            .next()
            .and_then(|before| before.rsplit("<button").next())
            .unwrap_or_else(|| panic!("{title} is listed: {group}"))
            .to_owned()
    };
    assert!(group.contains("Copy of a gone session"), "{group}");
    assert!(
        row("Copy of a gone session").contains("A copy saved on this device"),
        "{group}"
    );
    assert!(
        !row(&live).contains("A copy saved on this device"),
        "{group}"
    );
    assert!(!html.contains("Out of reach"), "{html}");
    let _ = client_for(&url, None).delete_session(&id).await;
}

/// A session renamed on the server: its saved copy takes the new title, so once the server
/// no longer lists the session, the sidebar's copy is listed by the last title it had there
/// (copies kept the title of when they were saved).
#[tokio::test]
async fn saved_copies_take_the_titles_the_server_gives_their_sessions() {
    use dioxus::prelude::VirtualDom;
    use opencode_nexus::engine::model::{BackendKind, Conversation, Profile};

    let url = server_url();
    let client = client_for(&url, None);
    let tag = uuid::Uuid::now_v7().simple().to_string();
    let first = format!("Named on the server {tag}");
    let id = titled_session(&client, &first).await;
    let services = opencode_nexus::platform::memory::services();
    let profile = Profile::new("Bench server", BackendKind::OpenCode, url.as_str());
    services.store.save_profile(profile.clone()).await.unwrap();
    let mut copy = Conversation::new("Title of when it was saved");
    copy.profile_id = Some(profile.id.clone());
    copy.remote_session = Some(id.clone());
    services
        .store
        .create_conversation(copy.clone())
        .await
        .unwrap();
    let copy_title = |services: opencode_nexus::platform::Services, id: String| async move {
        services.store.get_conversation(id).await.unwrap().title
    };
    let mut dom = VirtualDom::new(opencode_nexus::app::App).with_root_context(services.clone());
    dom.rebuild_in_place();
    support::vdom::render_until(&mut dom, "the server's sessions", |h| h.contains(&first)).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while copy_title(services.clone(), copy.id.clone()).await != first {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the copy took the server's title on its first list"
        );
        support::vdom::pump(&mut dom).await;
    }

    let renamed = format!("Renamed on the server {tag}");
    client.rename_session(&id, &renamed).await.unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while copy_title(services.clone(), copy.id.clone()).await != renamed {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the copy took the title the server changed: {:?}",
            copy_title(services.clone(), copy.id.clone()).await
        );
        support::vdom::pump(&mut dom).await;
    }

    client.delete_session(&id).await.unwrap();
    let html = support::vdom::render_until(&mut dom, "the copy listed by its last title", |h| {
        h.contains(&renamed) && h.contains("A copy saved on this device")
    })
    .await;
    assert!(!html.contains("Title of when it was saved"), "{html}");
}

/// A session whose copy was saved after the lists had read the copies (it is saved when the
/// session is opened): once the server deletes the session, the sidebar lists that copy.
#[tokio::test]
async fn a_copy_saved_after_the_lists_read_them_is_listed_once_its_session_is_deleted() {
    use dioxus::prelude::VirtualDom;
    use opencode_nexus::engine::model::{BackendKind, Conversation, Profile};

    let url = server_url();
    let client = client_for(&url, None);
    let live = format!("Opened then deleted {}", uuid::Uuid::now_v7().simple());
    let id = titled_session(&client, &live).await;
    let services = opencode_nexus::platform::memory::services();
    let profile = Profile::new("Bench server", BackendKind::OpenCode, url.as_str());
    services.store.save_profile(profile.clone()).await.unwrap();
    let mut dom = VirtualDom::new(opencode_nexus::app::App).with_root_context(services.clone());
    dom.rebuild_in_place();
    support::vdom::render_until(&mut dom, "the server's sessions", |h| h.contains(&live)).await;
    // What opening the session does: its copy saved, with the server's title.
    let mut copy = Conversation::new(&live);
    copy.profile_id = Some(profile.id.clone());
    copy.remote_session = Some(id.clone());
    services.store.create_conversation(copy).await.unwrap();

    client.delete_session(&id).await.unwrap();
    support::vdom::render_until(&mut dom, "the copy listed after the deletion", |h| {
        h.contains(&live) && h.contains("A copy saved on this device")
    })
    .await;
}

/// The saved copy of a session the server no longer has opens readable: its messages under
/// the banner that says so (the screen showed the banner over "No messages yet").
#[tokio::test]
async fn the_saved_copy_of_a_session_deleted_on_the_server_opens_readable() {
    use dioxus::prelude::VirtualDom;
    use opencode_nexus::engine::model::{Message, Role};

    let (services, seed, copy) =
        seed_with_copy("ses_gone_with_its_words", "Gone with its words").await;
    let words = "Words kept from a session deleted on the server";
    services
        .store
        .save_message(Message::new(&copy.id, None, Role::User, words), true)
        .await
        .unwrap();
    let mut dom = VirtualDom::new(screens::OpenHarness).with_root_context(seed);
    dom.rebuild_in_place();
    let html = deleted_banner_over(&mut dom, words).await;
    assert!(!html.contains("No messages yet"), "{html}");
    assert!(
        html.contains(">Gone with its words</h2>"),
        "the header has the copy's title: {html}"
    );
}

/// A session deleted on the server whose saved copy has no messages says so, and does not ask
/// for a message its composer cannot send.
#[tokio::test]
async fn an_empty_copy_of_a_deleted_session_says_nothing_was_saved() {
    use dioxus::prelude::VirtualDom;

    let (_services, seed, _copy) =
        seed_with_copy("ses_gone_without_words", "Gone without words").await;
    let mut dom = VirtualDom::new(screens::OpenHarness).with_root_context(seed);
    dom.rebuild_in_place();
    let html = deleted_banner_over(&mut dom, "No messages of this session were saved here.").await;
    assert!(!html.contains("Ask something below"), "{html}");
    assert!(html.contains(">Gone without words</h2>"), "{html}");
}

/// A session deleted on the server while it is open here (from another device, or with the
/// server's data): the screen keeps its messages, from the copy saved after it was opened.
#[tokio::test]
async fn a_session_deleted_on_the_server_while_open_keeps_its_messages_on_screen() {
    use dioxus::prelude::VirtualDom;
    use opencode_nexus::engine::opencode::offline;

    let url = server_url();
    let client = client_for(&url, None);
    let id = titled_session(&client, "Deleted while open").await;
    let asked = "Say hello in one short sentence.";
    client
        .prompt_sync(&id, &chat_prompt(asked))
        .await
        .expect("a reply");
    let (services, seed) = saved_seed(&url, &id).await;
    let mut dom = VirtualDom::new(screens::OpenHarness).with_root_context(seed.clone());
    dom.rebuild_in_place();
    support::vdom::render_until(&mut dom, "the session", |h| h.contains(asked)).await;
    // Saved here once the screen has the server's state.
    let mut saved = false;
    for _ in 0..200 {
        saved = offline::load_copy(&services.store, &seed.profile.id, &id)
            .await
            .unwrap()
            .is_some_and(|(_, m)| m.len() == 2);
        if saved {
            break;
        }
        support::vdom::pump(&mut dom).await;
    }
    assert!(saved, "the offline copy was saved");

    client.delete_session(&id).await.expect("deleted");
    let html = deleted_banner_over(&mut dom, asked).await;
    assert!(
        html.contains(">Deleted while open</h2>"),
        "the header keeps the session's title: {html}"
    );
}

/// A session screen's seed for `session` on the server at `url`, its backend saved in the
/// store of fresh in-memory services.
async fn saved_seed(
    url: &str,
    session: &str,
) -> (opencode_nexus::platform::Services, screens::Seed) {
    let services = opencode_nexus::platform::memory::services();
    let seed = screens::Seed::new(services.clone(), url, session);
    services
        .store
        .save_profile(seed.profile.clone())
        .await
        .expect("the backend is saved");
    (services, seed)
}

/// A session screen's seed for `session` (one the server does not have) with its backend saved,
/// and a saved copy of that session titled `title`, with no messages yet.
async fn seed_with_copy(
    session: &str,
    title: &str,
) -> (
    opencode_nexus::platform::Services,
    screens::Seed,
    opencode_nexus::engine::model::Conversation,
) {
    let (services, seed) = saved_seed(&server_url(), session).await;
    let mut copy = opencode_nexus::engine::model::Conversation::new(title);
    copy.profile_id = Some(seed.profile.id.clone());
    copy.remote_session = Some(seed.session.clone());
    services
        .store
        .create_conversation(copy.clone())
        .await
        .unwrap();
    (services, seed, copy)
}

/// Waits for the session screen's "deleted on the server" banner, then asserts that `words`
/// from the saved copy show under it (the copy is read beside the server's answer: a moment at
/// most). Returns the screen.
async fn deleted_banner_over(dom: &mut dioxus::prelude::VirtualDom, words: &str) -> String {
    support::vdom::render_until(dom, "the server's answer", |h| {
        h.contains("This session was deleted on the server.")
    })
    .await;
    let mut html = String::new();
    for _ in 0..100 {
        support::vdom::pump(dom).await;
        html = dioxus_ssr::render(dom);
        if html.contains(words) {
            break;
        }
    }
    assert!(
        html.contains("This session was deleted on the server.") && html.contains(words),
        "{html}"
    );
    html
}

// ---------------------------------------------------------------------------------------------
// The app's screens against the real server.
// ---------------------------------------------------------------------------------------------

mod screens {
    use std::cell::RefCell;
    use std::rc::Rc;

    use dioxus::prelude::*;
    use opencode_nexus::engine::model::{BackendKind, Profile};
    use opencode_nexus::state::chat::ChatController;
    use opencode_nexus::state::opencode::OpenCodeHub;
    use opencode_nexus::state::AppState;
    use opencode_nexus::views::session::SessionPage;
    use opencode_nexus::views::HistoryView;

    #[derive(Clone)]
    pub struct Seed {
        /// Provided by the harness component, not as a root context, exactly like `App` does:
        /// the hub's tasks run in the root scope and must not need it from there.
        pub services: opencode_nexus::platform::Services,
        pub profile: Profile,
        pub session: String,
        pub hub: Rc<RefCell<Option<(OpenCodeHub, AppState)>>>,
    }

    impl Seed {
        pub fn new(services: opencode_nexus::platform::Services, url: &str, session: &str) -> Seed {
            Seed {
                services,
                profile: Profile::new("Lab server", BackendKind::OpenCode, url),
                session: session.to_owned(),
                hub: Rc::default(),
            }
        }
    }

    /// The session screen opening `seed.session` once the server has listed its sessions,
    /// whether it lists that one or not (a saved copy of a session deleted on the server).
    #[component]
    pub fn OpenHarness() -> Element {
        let seed = use_context::<Seed>();
        let (state, hub) =
            super::support::vdom::provide_opencode_app(seed.services.clone(), seed.profile.clone());
        use_context_provider(ChatController::new);
        let (pid, sid) = (seed.profile.id.clone(), seed.session.clone());
        use_effect(move || {
            let synced = hub.servers.read().get(&pid).is_some_and(|i| i.synced);
            if synced && hub.open.peek().is_none() {
                hub.open_session(state, &pid, &sid);
            }
        });
        rsx! {
            SessionPage {}
        }
    }

    /// History and the session screen side by side, as the app shows them one after the other;
    /// the session is opened once the server lists it.
    #[component]
    pub fn Harness() -> Element {
        let seed = use_context::<Seed>();
        let (state, hub) =
            super::support::vdom::provide_opencode_app(seed.services.clone(), seed.profile.clone());
        use_context_provider(ChatController::new);
        use_hook(move || *seed.hub.borrow_mut() = Some((hub, state)));
        let (pid, sid) = (seed.profile.id.clone(), seed.session.clone());
        use_effect(move || {
            let listed = hub
                .servers
                .read()
                .get(&pid)
                .is_some_and(|i| i.sessions.iter().any(|s| s.id == sid));
            if listed && hub.open.peek().is_none() {
                hub.open_session(state, &pid, &sid);
            }
        });
        rsx! {
            HistoryView {}
            SessionPage {}
        }
    }
}

#[tokio::test]
async fn history_lists_server_sessions_and_the_session_screen_streams_a_reply() {
    use dioxus::prelude::{ReadableExt, VirtualDom};
    use opencode_nexus::engine::opencode::offline;

    let url = server_url();
    let client = client_for(&url, None);
    let id = titled_session(&client, "nexus screen test").await;
    let first = client
        .prompt_sync(&id, &chat_prompt("Say hello in one short sentence."))
        .await
        .expect("a first reply");
    let first_text = first.text();
    let first_words: String = first_text
        .split_whitespace()
        .take(2)
        .collect::<Vec<_>>()
        .join(" ");

    let (services, seed) = saved_seed(&url, &id).await;
    // The copy saved here of a session the server no longer has (deleted from another
    // device, or lost with the server's data).
    let mut gone = opencode_nexus::engine::model::Conversation::new("Session gone from the server");
    gone.profile_id = Some(seed.profile.id.clone());
    gone.remote_session = Some("ses_gone_from_the_server".into());
    services.store.create_conversation(gone).await.unwrap();
    let mut dom = VirtualDom::new(screens::Harness).with_root_context(seed.clone());
    dom.rebuild_in_place();

    // History: the server's sessions with the backend marked, and below them the copy of the
    // one it no longer lists; then the open session's messages, the server version and the
    // totals.
    let html = support::vdom::render_until(&mut dom, "the session screen", |h| {
        h.contains("nexus screen test") && h.contains(&first_words) && h.contains("OpenCode 1.18")
    })
    .await;
    assert!(html.contains("Sessions on Lab server"), "{html}");
    let gone_row = html
        .split("Session gone from the server")
        .nth(1)
        .and_then(|rest| rest.split("</li>").next())
        .unwrap_or_else(|| panic!("the saved copy is listed: {html}"));
    assert!(gone_row.contains(">saved copy<"), "{gone_row}");
    let live_row = html
        .split("nexus screen test")
        .nth(1)
        .and_then(|rest| rest.split("</li>").next())
        .unwrap();
    assert!(!live_row.contains(">saved copy<"), "{live_row}");
    assert!(html.contains("backend-badge"), "{html}");
    assert!(html.contains("+ New session"), "{html}");
    assert!(html.contains("Say hello in one short sentence."), "{html}");
    // Totals show what the server reported, and nothing when it reported no usage (no
    // "0 tokens · $0" line).
    let reported = first
        .info
        .as_assistant()
        .is_some_and(|a| a.tokens.total() > 0 || a.cost > 0.0);
    assert_eq!(html.contains("class=\"totals\""), reported, "{html}");
    assert!(!html.contains("0 tokens (in 0"), "{html}");
    assert!(
        html.contains("Server default model") && html.contains("SmolLM2"),
        "model picker: {html}"
    );
    assert!(html.contains(">chat</option>"), "agent picker: {html}");

    // The offline copy was written from the server's state.
    let mut copy = None;
    for _ in 0..100 {
        copy = offline::load_copy(&services.store, &seed.profile.id, &id)
            .await
            .expect("store");
        if copy.as_ref().is_some_and(|(_, m)| m.len() == 2) {
            break;
        }
        support::vdom::pump(&mut dom).await;
    }
    let (conv, cached) = copy.expect("an offline copy");
    assert_eq!(conv.remote_session.as_deref(), Some(id.as_str()));
    assert_eq!(cached.len(), 2);
    assert_eq!(cached[1].text(), first_text);

    // Send from the screen: the reply streams in through the hub and is painted.
    let (hub, _) = (*seed.hub.borrow()).expect("hub");
    dom.in_runtime(|| hub.send("Now say goodbye.".into(), None, Some("chat".into())));
    let html = support::vdom::render_until(&mut dom, "the second reply", |h| {
        h.contains("Now say goodbye.") && h.matches("msg assistant status-complete").count() >= 2
    })
    .await;
    assert!(!html.contains("banner-error"), "{html}");
    let fetched = client.messages(&id).await.expect("messages");
    assert_eq!(fetched.len(), 4);

    // A new session from History opens at once; deleting it from the list removes it on the
    // server (and returns to History).
    let (hub, state) = (*seed.hub.borrow()).expect("hub");
    let pid = seed.profile.id.clone();
    dom.in_runtime(|| hub.create_session(state, &pid));
    let mut new_id: Option<String> = None;
    for _ in 0..400 {
        support::vdom::pump(&mut dom).await;
        new_id = dom
            .in_runtime(|| hub.open.peek().clone())
            .map(|o| o.session_id)
            .filter(|s| *s != id);
        if new_id.is_some() {
            break;
        }
    }
    let new_id = new_id.expect("the new session opened");
    support::vdom::render_until(&mut dom, "the empty new session", |h| {
        h.contains("No messages yet")
    })
    .await;
    assert!(client.get_session(&new_id).await.is_ok());
    dom.in_runtime(|| hub.delete_session(state, &pid, &new_id));
    let mut gone = false;
    for _ in 0..400 {
        support::vdom::pump(&mut dom).await;
        if matches!(
            client.get_session(&new_id).await,
            Err(OpenCodeError::NotFound { .. })
        ) {
            gone = true;
            break;
        }
    }
    assert!(gone, "the session was deleted on the server");
    let _ = client.delete_session(&id).await;
}

#[tokio::test]
async fn ctrl_c_in_the_cli_aborts_the_run_and_keeps_the_partial_reply() {
    use std::io::Read;

    let url = server_url();
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().to_owned();
    let (code, shown) = tokio::task::spawn_blocking(move || {
        let add = nexus(
            &data,
            &["profiles", "add", "oc", "--kind", "opencode", "--url", &url],
        );
        assert!(
            add.status.success(),
            "{}",
            String::from_utf8_lossy(&add.stderr)
        );
        let mut child = Process::new(BIN)
            .arg("--data-dir")
            .arg(&data)
            .args([
                "chat",
                "--profile",
                "oc",
                "--agent",
                "chat",
                "Write a very long story about a lighthouse keeper, with many chapters.",
            ])
            .env_remove("RUST_LOG")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("chat starts");
        // Interrupt once the reply has started to stream.
        let mut first = [0u8; 1];
        let mut stdout = child.stdout.take().expect("stdout");
        stdout.read_exact(&mut first).expect("the reply streams");
        let killed = Process::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(killed.success());
        let status = child.wait().expect("chat ends");
        let list = nexus(&data, &["history", "list", "--json"]);
        let rows: serde_json::Value = serde_json::from_slice(&list.stdout).expect("list json");
        let conv = rows[0]["id"].as_str().expect("a conversation").to_owned();
        let show = nexus(&data, &["history", "show", &conv, "--json"]);
        let shown: serde_json::Value = serde_json::from_slice(&show.stdout).expect("show json");
        (status.code(), shown)
    })
    .await
    .expect("join");
    assert_eq!(code, Some(130), "Ctrl-C exits with 130");
    let messages = shown["messages"].as_array().expect("messages");
    assert_eq!(messages.len(), 2, "{shown}");
    assert_eq!(messages[1]["role"], "assistant");
    assert_eq!(messages[1]["status"], "interrupted", "{shown}");
    assert!(
        messages[1]["error"]
            .as_str()
            .is_some_and(|e| e.contains("stopped before it finished")),
        "{shown}"
    );
    let session = shown["conversation"]["remote_session"]
        .as_str()
        .expect("the conversation mirrors a session")
        .to_owned();
    let client = client_for(&server_url(), None);
    let server_reply = client
        .messages(&session)
        .await
        .expect("messages")
        .into_iter()
        .rev()
        .find_map(|m| m.info.as_assistant().cloned())
        .expect("the server has the reply");
    assert!(
        server_reply.error.is_some_and(|e| e.is_abort()),
        "aborted on the server too"
    );
    let _ = client.delete_session(&session).await;
}

#[tokio::test]
async fn with_the_model_down_retries_show_and_the_cli_gives_up_with_a_sentence() {
    // An OpenCode server whose provider points at a port nobody listens on.
    let port = free_port();
    let dead_llm = format!("http://127.0.0.1:{}/v1", free_port());
    let out = tokio::task::spawn_blocking(move || {
        Process::new("bash")
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/peers.sh"))
            .args(["start-opencode", &port.to_string(), &dead_llm])
            .output()
            .expect("peers.sh runs")
    })
    .await
    .expect("join");
    assert!(
        out.status.success(),
        "opencode serve should start without its model: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let _server = PeerProcess(String::from_utf8_lossy(&out.stdout).trim().to_owned());
    let url = format!("http://127.0.0.1:{port}");

    // The live state shows the retry (attempt, the server's message, the next time).
    let client = client_for(&url, None);
    let id = titled_session(&client, "nexus llm down test").await;
    let mut w = Watcher::start(client.clone(), LiveOptions::default(), Some(&id));
    w.until("the session loaded", Duration::from_secs(60), |w| {
        w.state.view_loaded
    })
    .await;
    client
        .prompt_async(&id, &chat_prompt("Say hello."))
        .await
        .expect("prompt_async");
    w.until("a retry", Duration::from_secs(60), |w| {
        matches!(w.view().status, SessionStatus::Retry { .. })
    })
    .await;
    let SessionStatus::Retry {
        attempt,
        message,
        next,
    } = w.view().status.clone()
    else {
        unreachable!()
    };
    assert!(attempt >= 1 && !message.is_empty() && next > 0, "{message}");
    assert!(client.abort(&id).await.expect("abort"));
    w.until("idle after abort", Duration::from_secs(60), |w| {
        !w.state.is_busy(&id)
    })
    .await;

    // The CLI does not wait forever: it stops the run and says why.
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().to_owned();
    let chat = tokio::task::spawn_blocking(move || {
        let add = nexus(
            &data,
            &[
                "profiles", "add", "down", "--kind", "opencode", "--url", &url,
            ],
        );
        assert!(
            add.status.success(),
            "{}",
            String::from_utf8_lossy(&add.stderr)
        );
        nexus(
            &data,
            &["chat", "--profile", "down", "--agent", "chat", "Say hello."],
        )
    })
    .await
    .expect("join");
    let stderr = String::from_utf8_lossy(&chat.stderr).into_owned();
    assert_eq!(chat.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("The model provider failed 3 times"),
        "{stderr}"
    );
    assert!(
        stderr.contains("Cannot connect to API"),
        "the server's reason: {stderr}"
    );
}
