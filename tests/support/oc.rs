//! The OpenCode client as the tests use it against real and stand-in servers.
#![allow(dead_code)]

use std::time::{Duration, Instant};

use opencode_nexus::engine::opencode::api::{
    CreateSessionBody, MessageWithParts, Part, PermissionRequest, PromptBody, QuestionRequest,
};
use opencode_nexus::engine::opencode::client::OpenCodeClient;

/// How long a run of the scripted tool model may take to get somewhere.
pub const WAIT: Duration = Duration::from_secs(60);

/// A client for the server at `url` with the app's HTTP defaults.
pub fn client(url: &str, password: Option<&str>) -> OpenCodeClient {
    OpenCodeClient::new(
        OpenCodeClient::default_http(),
        url,
        password.map(str::to_owned),
        None,
        None,
    )
    .expect("valid url")
}

/// A new session with a title (so the server does not spend its model on naming it).
pub async fn titled_session(client: &OpenCodeClient, title: &str) -> String {
    client
        .create_session(&CreateSessionBody {
            title: Some(title.to_owned()),
            ..Default::default()
        })
        .await
        .expect("create session")
        .id
}

/// A file name no other test uses.
pub fn unique(stem: &str) -> String {
    format!("{stem}-{}.txt", uuid::Uuid::now_v7().simple())
}

pub async fn prompt(client: &OpenCodeClient, session: &str, text: &str) {
    client
        .prompt_async(session, &PromptBody::text(text))
        .await
        .expect("prompt accepted");
}

pub async fn wait_until<T, F: std::future::Future<Output = Option<T>>>(
    what: &str,
    mut probe: impl FnMut() -> F,
) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = probe().await {
            return v;
        }
        assert!(
            start.elapsed() < WAIT,
            "{what} did not happen within {WAIT:?}"
        );
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
}

pub async fn permission_of(client: &OpenCodeClient, session: &str) -> PermissionRequest {
    wait_until("a permission request", || async {
        client
            .permissions()
            .await
            .unwrap()
            .into_iter()
            .find(|p| p.session_id == session)
    })
    .await
}

pub async fn question_of(client: &OpenCodeClient, session: &str) -> QuestionRequest {
    wait_until("a question", || async {
        client
            .questions()
            .await
            .unwrap()
            .into_iter()
            .find(|q| q.session_id == session)
    })
    .await
}

/// Whether the server still lists the permission request `id` as open.
pub async fn permission_open(client: &OpenCodeClient, id: &str) -> bool {
    client
        .permissions()
        .await
        .unwrap()
        .iter()
        .any(|p| p.id == id)
}

/// Whether the server still lists the question `id` as open.
pub async fn question_open(client: &OpenCodeClient, id: &str) -> bool {
    client.questions().await.unwrap().iter().any(|q| q.id == id)
}

/// The messages once the run ended with the scripted model's closing text `replies` times.
pub async fn finished(
    client: &OpenCodeClient,
    session: &str,
    replies: usize,
) -> Vec<MessageWithParts> {
    wait_until("the end of the run", || async {
        let messages = client.messages(session).await.unwrap();
        let done = messages
            .iter()
            .filter(|m| {
                m.info
                    .as_assistant()
                    .is_some_and(|a| a.time.completed.is_some())
            })
            .filter(|m| m.text().contains("tool-finished"))
            .count();
        let busy = client.session_status().await.unwrap().contains_key(session);
        (done >= replies && !busy).then_some(messages)
    })
    .await
}

pub fn tool_states(messages: &[MessageWithParts]) -> Vec<(String, String)> {
    messages
        .iter()
        .flat_map(|m| &m.parts)
        .filter_map(|p| match p {
            Part::Tool(t) => Some((t.tool.clone(), t.state.status().to_owned())),
            _ => None,
        })
        .collect()
}

pub fn reply_text(messages: &[MessageWithParts]) -> String {
    messages
        .iter()
        .filter(|m| m.info.as_assistant().is_some())
        .map(MessageWithParts::text)
        .collect::<Vec<_>>()
        .join("\n")
}
