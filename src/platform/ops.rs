//! Operations over the services that both faces (GUI and CLI) offer: testing a backend
//! connection and collecting diagnostics. They live here, not in a view, so the CLI and the
//! settings panel give the same answers.

use serde::Serialize;

use super::{SecretStatus, Services};
use crate::engine::error::Result;
use crate::engine::model::{BackendKind, Profile};
use crate::engine::providers::openai::OpenAiClient;
use crate::engine::version;

/// Reach the backend, check the key, list models. Returns a one-line description and the
/// model ids.
pub async fn test_connection(
    services: &Services,
    profile: &Profile,
) -> Result<(String, Vec<String>)> {
    let key = services.resolve_key(profile).await?;
    match profile.kind {
        BackendKind::OpenAiCompatible => {
            let client = OpenAiClient::new(services.http.client(), profile, key)?;
            let models = client.models().await?;
            let detail = if models.is_empty() {
                "reachable; the server lists no models, enter one by hand".to_owned()
            } else {
                format!("reachable, {} model(s)", models.len())
            };
            Ok((detail, models))
        }
        BackendKind::OpenCode => {
            let client = opencode_client(services, profile, key)?;
            let health = client.health().await?;
            let providers = client.providers().await?;
            let models: Vec<String> = providers
                .providers
                .iter()
                .flat_map(|p| p.models.keys().map(move |m| format!("{}/{}", p.id, m)))
                .collect();
            Ok((
                format!(
                    "OpenCode server {} is healthy",
                    health.version.as_deref().unwrap_or("(version unknown)")
                ),
                models,
            ))
        }
    }
}

pub fn opencode_client(
    services: &Services,
    profile: &Profile,
    password: Option<String>,
) -> Result<crate::engine::opencode::client::OpenCodeClient> {
    Ok(crate::engine::opencode::client::OpenCodeClient::new(
        services.http.client(),
        &profile.base_url,
        password,
        profile.username.clone(),
        profile.directory.clone(),
    )?)
}

#[derive(Debug, Clone, Serialize)]
pub struct Diagnostics {
    pub version: String,
    pub commit: String,
    pub build_date: String,
    pub channel: String,
    pub os: String,
    pub data_dir: Option<String>,
    pub database_path: Option<String>,
    pub database_bytes: i64,
    pub schema_version: i64,
    pub integrity: String,
    pub database_ok: bool,
    pub conversations: i64,
    pub log_dir: Option<String>,
    pub secrets: SecretStatus,
    /// Milliseconds from `main` entry to the first frame (app) or to this report (CLI).
    pub startup_ms: Option<u64>,
    /// Resident memory of this process in bytes; `None` where the platform does not say.
    pub rss_bytes: Option<u64>,
    /// Connection-test round trips per backend (last and average).
    pub backend_latency: Vec<super::vitals::LatencyStat>,
    /// Local crash reports (paths), newest first.
    pub crash_reports: Vec<String>,
}

/// Version, paths, database health and keychain status.
#[cfg(feature = "native")]
pub async fn diagnostics(
    services: &Services,
    dirs: Option<&super::native::DataDirs>,
) -> Diagnostics {
    let (integrity, database_ok) = match services.store.integrity_check().await {
        Ok(rows) if rows == ["ok"] => ("ok".to_owned(), true),
        Ok(rows) => (rows.join("; "), false),
        Err(e) => (e.to_string(), false),
    };
    Diagnostics {
        version: version::VERSION.into(),
        commit: version::GIT_COMMIT.into(),
        build_date: version::BUILD_DATE.into(),
        channel: version::CHANNEL.into(),
        os: format!("{} {}", std::env::consts::OS, std::env::consts::ARCH),
        data_dir: dirs.map(|d| d.root.display().to_string()),
        database_path: dirs.map(|d| d.database().display().to_string()),
        database_bytes: services.store.size_bytes().await.unwrap_or(0),
        schema_version: services.store.schema_version().await.unwrap_or(0),
        integrity,
        database_ok,
        conversations: services.store.count_conversations().await.unwrap_or(0),
        log_dir: dirs.map(|d| d.logs().display().to_string()),
        secrets: services.secrets.status().await,
        startup_ms: super::vitals::startup_ms(),
        rss_bytes: super::vitals::rss_bytes(),
        backend_latency: super::vitals::latency_stats(services).await,
        crash_reports: dirs
            .map(|d| crate::crash::list(&d.crash_reports()))
            .unwrap_or_default()
            .into_iter()
            .map(|r| r.path)
            .collect(),
    }
}

/// `opencode-nexus chat` against an OpenCode server: send the prompt to a session (new, or the
/// one the conversation mirrors), print the reply text as it streams from `/event`, then store
/// the server's final messages as the local offline copy. Ctrl-C aborts the run on the server.
#[cfg(feature = "native")]
pub async fn opencode_cli_chat(
    services: &Services,
    profile: &Profile,
    model: Option<String>,
    conversation: Option<String>,
    agent: Option<String>,
    prompt: &str,
) -> Result<()> {
    use std::io::Write;

    use futures_util::StreamExt;

    use crate::engine::error::Error;
    use crate::engine::model::{Conversation, Message, MessageStatus, Role};
    use crate::engine::opencode::api::{CreateSessionBody, ModelRef, PromptBody};
    use crate::engine::opencode::state::SessionView;

    let password = services.resolve_key(profile).await?;
    let client = opencode_client(services, profile, password)?;
    let mut conv = match conversation {
        Some(id) => services.store.get_conversation(id).await?,
        None => {
            let mut c = Conversation::new(crate::engine::chat::fallback_title(prompt));
            c.profile_id = Some(profile.id.clone());
            c.model = model.clone().or(profile.default_model.clone());
            c
        }
    };
    let session_id = match &conv.remote_session {
        Some(s) => s.clone(),
        None => {
            let body = CreateSessionBody {
                title: Some(conv.title.clone()),
                ..Default::default()
            };
            let session = client.create_session(&body).await?;
            conv.remote_session = Some(session.id.clone());
            session.id
        }
    };
    services.store.save_conversation(conv.clone()).await?;
    eprintln!("conversation {} (OpenCode session {session_id})", conv.id);

    // Subscribe before prompting so no event of this run is missed.
    let mut events = Box::pin(client.event_stream());
    let mut view = SessionView::new(session_id.clone());
    view.replace_from_fetch(client.messages(&session_id).await?);
    let known: std::collections::HashSet<String> = view
        .messages
        .iter()
        .map(|m| m.info.id().to_owned())
        .collect();

    let mut body = PromptBody::text(prompt);
    body.agent = agent;
    if let Some(m) = conv.model.as_deref().and_then(|m| m.split_once('/')) {
        body.model = Some(ModelRef {
            provider_id: m.0.to_owned(),
            model_id: m.1.to_owned(),
        });
    }
    client.prompt_async(&session_id, &body).await?;

    let mut printed = String::new();
    let mut stdout = std::io::stdout();
    let mut saw_busy = false;
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    let mut interrupted = false;
    loop {
        let next = tokio::time::timeout(std::time::Duration::from_secs(120), events.next());
        tokio::select! {
            _ = &mut ctrl_c => {
                let _ = client.abort(&session_id).await;
                interrupted = true;
                break;
            }
            ev = next => match ev {
                Err(_) => return Err(Error::Stalled { seconds: 120 }),
                Ok(None) => {
                    // The stream ended: recover from the server's own record.
                    view.replace_from_fetch(client.messages(&session_id).await?);
                    break;
                }
                Ok(Some(Err(e))) => return Err(e.into()),
                Ok(Some(Ok(ev))) => {
                    view.apply(&ev);
                    let text = view
                        .messages
                        .iter()
                        .rev()
                        .find(|m| m.info.as_assistant().is_some() && !known.contains(m.info.id()))
                        .map(|m| m.text())
                        .unwrap_or_default();
                    if let Some(rest) = text.strip_prefix(printed.as_str()) {
                        if !rest.is_empty() {
                            let _ = stdout.write_all(rest.as_bytes());
                            let _ = stdout.flush();
                            printed.push_str(rest);
                        }
                    }
                    match &ev {
                        crate::engine::opencode::api::Event::SessionStatus { session_id: s, status } if *s == session_id => {
                            if matches!(status, crate::engine::opencode::api::SessionStatus::Busy) { saw_busy = true; }
                        }
                        crate::engine::opencode::api::Event::SessionIdle { session_id: s } if *s == session_id && saw_busy => break,
                        _ => {}
                    }
                }
            }
        }
    }
    if !printed.is_empty() {
        let _ = writeln!(stdout);
    }
    // The server's record is the truth: store what it has for this run.
    view.replace_from_fetch(client.messages(&session_id).await?);
    let mut parent = conv.head_id.clone();
    let mut last_status = MessageStatus::Complete;
    let mut last_error = None;
    for m in view
        .messages
        .iter()
        .filter(|m| !known.contains(m.info.id()))
    {
        let role = if m.info.as_assistant().is_some() {
            Role::Assistant
        } else {
            Role::User
        };
        let mut local = Message::new(&conv.id, parent.clone(), role, &m.text());
        if let Some(a) = m.info.as_assistant() {
            local.model = Some(format!("{}/{}", a.provider_id, a.model_id));
            local.cost = Some(a.cost);
            local.usage = Some(crate::engine::model::Usage {
                prompt_tokens: a.tokens.input,
                completion_tokens: a.tokens.output,
                reasoning_tokens: Some(a.tokens.reasoning),
            });
            if let Some(err) = &a.error {
                local.status = if err.is_abort() {
                    MessageStatus::Interrupted
                } else {
                    MessageStatus::Error
                };
                local.error = Some(err.sentence());
            } else if interrupted {
                local.status = MessageStatus::Interrupted;
            }
            last_status = local.status;
            last_error = local.error.clone();
        }
        services.store.save_message(local.clone(), true).await?;
        parent = Some(local.id);
    }
    if interrupted {
        return Err(Error::Cancelled);
    }
    match last_status {
        MessageStatus::Complete => Ok(()),
        _ => Err(Error::Remote {
            message: last_error.unwrap_or_else(|| "The reply did not finish.".into()),
            retryable: true,
        }),
    }
}
