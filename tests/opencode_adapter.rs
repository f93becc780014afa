//! The OpenCode client is a trait object: the live connection (and everything above it) runs
//! over any implementation of `OpenCodeApi`, not only the HTTP one. Shown with a second
//! implementation kept in memory: a server whose state the test changes directly and whose
//! event streams the test can cut.

mod support;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_channel::mpsc::{unbounded, UnboundedSender};
use opencode_nexus::engine::opencode::adapter::{ApiFuture, ApiStream, BoxedFuture};
use opencode_nexus::engine::opencode::live::LiveOptions;
use opencode_nexus::engine::opencode::{
    Agent, Connection, CreateSessionBody, Event, GlobalEvent, Health, MessageWithParts,
    OpenCodeApi, OpenCodeClient, OpenCodeError, PermissionReply, PermissionReplyBody,
    PermissionRequest, PromptBody, ProvidersResponse, QuestionReplyBody, QuestionRequest, Session,
    SessionStatus,
};
use serde_json::json;
use support::live_watch::Watcher;
use url::Url;

#[derive(Default)]
struct Shared {
    sessions: Vec<Session>,
    permissions: Vec<PermissionRequest>,
    streams: Vec<UnboundedSender<Result<Event, OpenCodeError>>>,
    opened: usize,
}

/// An OpenCode server kept in memory.
#[derive(Clone)]
struct MemoryServer {
    base: Url,
    shared: Arc<Mutex<Shared>>,
}

impl std::fmt::Debug for MemoryServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MemoryServer")
    }
}

impl MemoryServer {
    fn new() -> Self {
        MemoryServer {
            base: Url::parse("memory://opencode/").expect("url"),
            shared: Arc::default(),
        }
    }

    fn with<R>(&self, f: impl FnOnce(&mut Shared) -> R) -> R {
        f(&mut self.shared.lock().expect("lock"))
    }

    fn broadcast(&self, event: Event) {
        self.with(|s| {
            s.streams
                .retain(|tx| tx.unbounded_send(Ok(event.clone())).is_ok())
        });
    }

    fn ask(&self, id: &str, session: &str, pattern: &str) {
        let request: PermissionRequest = serde_json::from_value(json!({
            "id": id, "sessionID": session, "permission": "bash",
            "patterns": [pattern], "metadata": {}, "always": [pattern],
        }))
        .expect("permission request");
        self.with(|s| s.permissions.push(request.clone()));
        self.broadcast(Event::PermissionAsked(request));
    }

    /// Ends every open event stream, as a server that drops its connections.
    fn cut(&self) {
        self.with(|s| s.streams.clear());
    }
}

fn not_here<T>(what: &str) -> ApiFuture<'static, T> {
    let e = OpenCodeError::NotFound {
        message: format!("{what} is not part of this server"),
    };
    Box::pin(async move { Err(e) })
}

fn ready<'a, T: Send + 'a>(value: T) -> ApiFuture<'a, T> {
    Box::pin(async move { Ok(value) })
}

impl OpenCodeApi for MemoryServer {
    fn base_url(&self) -> &Url {
        &self.base
    }
    fn directory(&self) -> Option<&str> {
        None
    }
    fn health(&self) -> ApiFuture<'_, Health> {
        ready(
            serde_json::from_value(json!({"healthy": true, "version": "memory"})).expect("health"),
        )
    }
    fn other_api(&self) -> BoxedFuture<'_, Option<OpenCodeError>> {
        Box::pin(async { None })
    }
    fn list_sessions(&self) -> ApiFuture<'_, Vec<Session>> {
        ready(self.with(|s| s.sessions.clone()))
    }
    fn create_session<'a>(&'a self, _: &'a CreateSessionBody) -> ApiFuture<'a, Session> {
        not_here("creating sessions")
    }
    fn get_session<'a>(&'a self, id: &'a str) -> ApiFuture<'a, Session> {
        match self.with(|s| s.sessions.iter().find(|x| x.id == id).cloned()) {
            Some(found) => ready(found),
            None => not_here("that session"),
        }
    }
    fn rename_session<'a>(&'a self, _: &'a str, _: &'a str) -> ApiFuture<'a, Session> {
        not_here("renaming")
    }
    fn delete_session<'a>(&'a self, _: &'a str) -> ApiFuture<'a, bool> {
        not_here("deleting")
    }
    fn messages<'a>(&'a self, _: &'a str) -> ApiFuture<'a, Vec<MessageWithParts>> {
        ready(Vec::new())
    }
    fn prompt_async<'a>(&'a self, _: &'a str, _: &'a PromptBody) -> ApiFuture<'a, ()> {
        not_here("prompting")
    }
    fn prompt_sync<'a>(&'a self, _: &'a str, _: &'a PromptBody) -> ApiFuture<'a, MessageWithParts> {
        not_here("prompting")
    }
    fn abort<'a>(&'a self, _: &'a str) -> ApiFuture<'a, bool> {
        not_here("aborting")
    }
    fn providers(&self) -> ApiFuture<'_, ProvidersResponse> {
        not_here("the provider list")
    }
    fn agents(&self) -> ApiFuture<'_, Vec<Agent>> {
        ready(Vec::new())
    }
    fn session_status(&self) -> ApiFuture<'_, HashMap<String, SessionStatus>> {
        ready(HashMap::new())
    }
    fn permissions(&self) -> ApiFuture<'_, Vec<PermissionRequest>> {
        ready(self.with(|s| s.permissions.clone()))
    }
    fn reply_permission<'a>(
        &'a self,
        request_id: &'a str,
        body: &'a PermissionReplyBody,
    ) -> ApiFuture<'a, bool> {
        let removed = self.with(|s| {
            let at = s.permissions.iter().position(|p| p.id == request_id)?;
            Some(s.permissions.remove(at))
        });
        let Some(request) = removed else {
            return not_here("that permission request");
        };
        let reply = match body.reply {
            PermissionReply::Once => "once",
            PermissionReply::Always => "always",
            PermissionReply::Reject => "reject",
        };
        self.broadcast(Event::PermissionReplied {
            session_id: request.session_id,
            request_id: request.id,
            reply: reply.to_owned(),
        });
        ready(true)
    }
    fn questions(&self) -> ApiFuture<'_, Vec<QuestionRequest>> {
        ready(Vec::new())
    }
    fn reply_question<'a>(&'a self, _: &'a str, _: &'a QuestionReplyBody) -> ApiFuture<'a, bool> {
        not_here("questions")
    }
    fn reject_question<'a>(&'a self, _: &'a str) -> ApiFuture<'a, bool> {
        not_here("questions")
    }
    fn event_stream(&self) -> ApiStream<Event> {
        let (tx, rx) = unbounded();
        let _ = tx.unbounded_send(Ok(Event::ServerConnected));
        self.with(|s| {
            s.streams.push(tx);
            s.opened += 1;
        });
        Box::pin(rx)
    }
    fn global_event_stream(&self) -> ApiStream<GlobalEvent> {
        Box::pin(futures_util::stream::empty())
    }
}

#[tokio::test]
async fn the_live_connection_runs_over_another_implementation_of_the_api() {
    let server = MemoryServer::new();
    let session: Session = serde_json::from_value(json!({
        "id": "ses_memory", "title": "Kept in memory", "directory": "/p", "version": "memory",
        "time": {"created": 1, "updated": 2},
    }))
    .expect("session");
    server.with(|s| s.sessions.push(session));
    server.ask("per_1", "ses_memory", "ls");

    let client = OpenCodeClient::from_api(server.clone());
    let options = LiveOptions {
        first_backoff: Duration::from_millis(50),
        ..LiveOptions::default()
    };
    let mut w = Watcher::start(client.clone(), options, Some("ses_memory"));
    w.until("the first snapshot", Duration::from_secs(10), |w| {
        w.state.view_loaded && w.state.permissions.len() == 1
    })
    .await;
    assert_eq!(
        w.state.sessions.get("ses_memory").map(|s| s.title.as_str()),
        Some("Kept in memory")
    );

    // Asked and answered while connected: the events arrive through the adapter's stream.
    server.ask("per_2", "ses_memory", "pwd");
    w.until("the second request", Duration::from_secs(10), |w| {
        w.state.permissions.iter().any(|p| p.id == "per_2")
    })
    .await;
    let body = PermissionReplyBody {
        reply: PermissionReply::Once,
        message: None,
    };
    assert!(client
        .reply_permission("per_1", &body)
        .await
        .expect("reply"));
    w.until("the answered request gone", Duration::from_secs(10), |w| {
        !w.state.permissions.iter().any(|p| p.id == "per_1")
    })
    .await;

    // The stream cut, a request asked while nobody listens: the reconnect's resync has it.
    server.cut();
    server.with(|s| {
        s.permissions.push(
            serde_json::from_value(json!({
                "id": "per_3", "sessionID": "ses_memory", "permission": "edit",
                "patterns": ["a.txt"], "metadata": {}, "always": [],
            }))
            .expect("permission request"),
        )
    });
    w.until(
        "the request made during the outage",
        Duration::from_secs(10),
        |w| w.state.permissions.iter().any(|p| p.id == "per_3"),
    )
    .await;
    let ids: Vec<&str> = w.state.permissions.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(ids, ["per_2", "per_3"], "nothing missing, nothing doubled");
    assert!(
        w.connections
            .iter()
            .any(|c| matches!(c, Connection::Reconnecting { .. })),
        "the cut was noticed: {:?}",
        w.connections
    );
    assert_eq!(w.state.connection, Connection::Connected);
    assert!(
        server.with(|s| s.opened) >= 2,
        "the stream was opened again"
    );
}
