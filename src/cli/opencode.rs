//! `chat` against an OpenCode server: the prompt goes to a session, the reply streams through
//! the live connection, and the server's messages become the conversation's offline copy.

use super::*;
use crate::engine::error::Result;
use crate::engine::opencode::api::{
    PermissionReply, PermissionReplyBody, PermissionRequest, QuestionRequest,
};
use crate::engine::opencode::live::ServerState as LiveState;
use crate::engine::opencode::OpenCodeClient;
use crate::platform::ops::opencode_client;

/// What a rejection without a terminal tells the agent.
const NO_TERMINAL: &str =
    "Rejected: the command line that started this run had no terminal to ask, and no --approve.";

/// A request of the run waiting for an answer.
enum Ask {
    Permission(PermissionRequest),
    Question(QuestionRequest),
}

/// How one was answered.
enum Decision {
    Permission(PermissionRequest, PermissionReply, Option<String>),
    /// `None` dismisses the question.
    Question(QuestionRequest, Option<Vec<Vec<String>>>),
}

/// The oldest request of `session_id` not seen yet (permissions first).
fn next_request(
    state: &LiveState,
    session_id: &str,
    handled: &mut std::collections::HashSet<String>,
) -> Option<Ask> {
    if let Some(p) = state
        .permissions
        .iter()
        .find(|p| p.session_id == session_id && !handled.contains(&p.id))
    {
        handled.insert(p.id.clone());
        return Some(Ask::Permission(p.clone()));
    }
    let q = state
        .questions
        .iter()
        .find(|q| q.session_id == session_id && !handled.contains(&q.id))?;
    handled.insert(q.id.clone());
    Some(Ask::Question(q.clone()))
}

fn lowercase_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}

impl Ask {
    fn describe(&self) -> String {
        match self {
            Ask::Permission(p) => format!("permission requested ({}): {}", p.permission, p.title()),
            Ask::Question(q) => {
                let mut out = String::from("question:");
                for i in &q.questions {
                    out.push_str(&format!(" {} [{}]", i.question, i.labels().join(" | ")));
                }
                out
            }
        }
    }

    /// Asks on the terminal (blocking) and returns the answer.
    fn prompt_terminal(self) -> Decision {
        let read = || {
            let mut line = String::new();
            std::io::stdin()
                .read_line(&mut line)
                .ok()
                .map(|_| line.trim().to_owned())
        };
        match self {
            Ask::Permission(p) => {
                eprint!("Allow it? [o]nce, [a]lways, [r]eject: ");
                let reply = match read().unwrap_or_default().to_lowercase().as_str() {
                    "o" | "once" | "y" | "yes" => PermissionReply::Once,
                    "a" | "always" => PermissionReply::Always,
                    _ => PermissionReply::Reject,
                };
                Decision::Permission(p, reply, None)
            }
            Ask::Question(q) => {
                let mut answers = Vec::new();
                for i in &q.questions {
                    eprintln!("{}", i.question);
                    for (n, label) in i.labels().iter().enumerate() {
                        eprintln!("  {}) {label}", n + 1);
                    }
                    eprint!("Answer (a number or your own words; empty to dismiss): ");
                    let line = read().unwrap_or_default();
                    if line.is_empty() {
                        return Decision::Question(q, None);
                    }
                    let label = line
                        .parse::<usize>()
                        .ok()
                        .and_then(|n| i.labels().get(n.wrapping_sub(1)).map(|l| l.to_string()))
                        .unwrap_or(line);
                    answers.push(vec![label]);
                }
                Decision::Question(q, Some(answers))
            }
        }
    }
}

/// Sends an answer; a request answered elsewhere in the meantime is only noted.
async fn answer(client: &OpenCodeClient, decision: Decision) {
    let result = match &decision {
        Decision::Permission(p, reply, message) => {
            let body = PermissionReplyBody {
                reply: *reply,
                message: message.clone(),
            };
            let verb = match reply {
                PermissionReply::Once => "allowed once",
                PermissionReply::Always => "allowed from now on",
                PermissionReply::Reject => "rejected",
            };
            eprintln!("  {verb}");
            client.reply_permission(&p.id, &body).await
        }
        Decision::Question(q, Some(answers)) => match q.answer(answers) {
            Ok(body) => client.reply_question(&q.id, &body).await,
            Err(sentence) => {
                eprintln!("  {sentence} The question was dismissed.");
                client.reject_question(&q.id).await
            }
        },
        Decision::Question(q, None) => {
            eprintln!("  dismissed");
            client.reject_question(&q.id).await
        }
    };
    if let Err(e) = result {
        eprintln!("  could not send the answer: {e}");
    }
}

/// `opencode-nexus chat` against an OpenCode server: send the prompt to a session (new, or the
/// one the conversation mirrors), print the reply text as it streams in through the live
/// connection (which reconnects and refetches by itself), then store the server's messages as
/// the conversation's offline copy (`engine::opencode::offline`, the same copy the app keeps).
/// Ctrl-C aborts the run on the server; the partial reply is kept, marked interrupted. With
/// `json`, the last stderr line is `{"conversation","message","status","error"}`.
pub(super) async fn opencode_cli_chat(
    services: &Services,
    profile: &Profile,
    args: ChatArgs,
    prompt: &str,
) -> Result<()> {
    let ChatArgs {
        model,
        conversation,
        agent,
        approve,
        json,
        ..
    } = args;
    use std::collections::HashSet;
    use std::io::Write;
    use std::time::Duration;

    use futures_util::StreamExt;

    use crate::engine::error::Error;
    use crate::engine::model::{Conversation, ConversationEdit};
    use crate::engine::opencode::api::{
        CreateSessionBody, MessageError, MessageErrorData, MessageInfo, ModelRef, PromptBody,
    };
    use crate::engine::opencode::live::{self, Connection, LiveOptions, LiveUpdate, ServerState};
    use crate::engine::opencode::offline;

    /// Reconnect attempts in a row after which the CLI gives up on the run.
    const MAX_ATTEMPTS: u32 = 6;
    /// Failed provider calls after which the CLI stops the run: OpenCode itself retries
    /// forever (about 1, 4, 8, 17, 35 s apart), which suits a window, not a script.
    const MAX_PROVIDER_RETRIES: u32 = 3;

    let password = services.resolve_key(profile).await?;
    let client = opencode_client(services, profile, password)?;
    let existing = match conversation {
        Some(id) => Some(services.store.get_conversation(id).await?),
        None => None,
    };
    let model = model.or(profile.default_model.clone());
    let title = existing.as_ref().map_or_else(
        || crate::engine::chat::fallback_title(prompt),
        |c| c.title.clone(),
    );
    let session_id = match existing.as_ref().and_then(|c| c.remote_session.clone()) {
        Some(s) => s,
        None => {
            let body = CreateSessionBody {
                title: Some(title.clone()),
                ..Default::default()
            };
            client.create_session(&body).await?.id
        }
    };
    let conv = match existing {
        Some(c) => {
            let mut edits = vec![ConversationEdit::RemoteSession(Some(session_id.clone()))];
            if model.is_some() {
                edits.push(ConversationEdit::Model(model));
            }
            services.store.update_conversation(c.id, edits).await?
        }
        None => {
            let mut c = Conversation::new(title);
            c.profile_id = Some(profile.id.clone());
            c.model = model;
            c.remote_session = Some(session_id.clone());
            services.store.create_conversation(c.clone()).await?;
            c
        }
    };
    eprintln!("conversation {} (OpenCode session {session_id})", conv.id);

    // The live connection follows the session from its first snapshot on, so no event of this
    // run is missed, and a dropped stream is recovered by its refetch.
    let (commands, command_rx) = futures_channel::mpsc::unbounded();
    let (update_tx, mut updates) = futures_channel::mpsc::unbounded();
    let driver = live::run(
        client.clone(),
        LiveOptions::default(),
        Some(session_id.clone()),
        command_rx,
        move |u| {
            let _ = update_tx.unbounded_send(u);
        },
    );
    tokio::pin!(driver);
    let mut state = ServerState::default();
    state.open(Some(&session_id));

    let lost = |c: &Connection| -> Option<Error> {
        match c {
            Connection::Disconnected { reason } => Some(Error::Remote {
                message: reason.clone(),
                retryable: false,
            }),
            Connection::Reconnecting {
                attempt, reason, ..
            } if *attempt >= MAX_ATTEMPTS => Some(Error::Remote {
                message: format!(
                    "Lost the connection to the OpenCode server ({}). The run may still finish on the server; check it with `opencode-nexus history show {}` later.",
                    reason.trim_end_matches('.'),
                    conv.id
                ),
                retryable: true,
            }),
            _ => None,
        }
    };

    // Phase 1: connected, and the session's current messages known.
    let known: HashSet<String> = loop {
        tokio::select! {
            _ = &mut driver => return Err(Error::Cancelled),
            u = updates.next() => {
                let Some(u) = u else { return Err(Error::Cancelled) };
                state.apply(&u);
                if let LiveUpdate::Connection(c) = &u {
                    if let Some(e) = lost(c) { return Err(e); }
                }
                if state.view_loaded {
                    break state.view.iter().flat_map(|v| &v.messages).map(|m| m.info.id().to_owned()).collect();
                }
            }
        }
    };

    let mut body = PromptBody::text(prompt);
    body.agent = agent;
    body.model = conv.model.as_deref().and_then(ModelRef::parse);
    client.prompt_async(&session_id, &body).await?;

    // Phase 2: print the new reply text as it grows, until the session is idle again with a
    // finished reply (or Ctrl-C).
    let reply_text = |state: &ServerState| -> String {
        let mut out = String::new();
        for m in state.view.iter().flat_map(|v| &v.messages) {
            if m.info.as_assistant().is_none() || known.contains(m.info.id()) {
                continue;
            }
            let t = m.text();
            if !out.is_empty() && !t.is_empty() {
                out.push('\n');
            }
            out.push_str(&t);
        }
        out
    };
    let reply_done = |state: &ServerState| -> bool {
        !state.is_busy(&session_id)
            && state
                .view
                .iter()
                .flat_map(|v| &v.messages)
                .rev()
                .filter_map(|m| m.info.as_assistant())
                .find(|a| !known.contains(&a.id))
                .is_some_and(|a| a.time.completed.is_some() || a.error.is_some())
    };
    // Permission requests and questions of this run: answered as `approve` says, else asked on
    // the terminal (on a thread of its own, so events keep flowing), else refused.
    let interactive = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    let mut handled: HashSet<String> = HashSet::new();
    let (decided_tx, mut decided) = futures_channel::mpsc::unbounded::<Decision>();
    let mut asking = false;
    let mut refused: Option<String> = None;
    let mut printed = String::new();
    let mut stdout = std::io::stdout();
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    let mut interrupted = false;
    let mut gave_up: Option<String> = None;
    let mut deadline: Option<tokio::time::Instant> = None;
    loop {
        let grace = async move {
            match deadline {
                Some(d) => tokio::time::sleep_until(d).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = &mut ctrl_c, if !interrupted => {
                let _ = client.abort(&session_id).await;
                interrupted = true;
                // Give the server a moment to record the abort on the message.
                deadline = Some(tokio::time::Instant::now() + Duration::from_secs(5));
            }
            _ = grace => break,
            _ = &mut driver => break,
            d = decided.next(), if asking => {
                asking = false;
                if let Some(d) = d {
                    answer(&client, d).await;
                }
            }
            u = updates.next() => {
                let Some(u) = u else { break };
                state.apply(&u);
                if let LiveUpdate::Connection(c) = &u {
                    if let Some(e) = lost(c) { return Err(e); }
                }
                if !asking && !interrupted {
                    if let Some(ask) = next_request(&state, &session_id, &mut handled) {
                        eprintln!("{}", ask.describe());
                        match (ask, approve) {
                            (Ask::Permission(p), Some(reply)) => {
                                answer(&client, Decision::Permission(p, reply.into(), None)).await;
                            }
                            (ask, _) if interactive => {
                                asking = true;
                                let tx = decided_tx.clone();
                                // A thread, not the runtime's blocking pool: a prompt left
                                // unanswered must not hold up the process at exit.
                                std::thread::spawn(move || {
                                    let _ = tx.unbounded_send(ask.prompt_terminal());
                                });
                            }
                            (Ask::Permission(p), None) => {
                                refused = Some(format!(
                                    "The agent asked for permission to {} and, with no terminal to ask, it was rejected. Run again with --approve once (or always) to allow it.",
                                    lowercase_first(&p.title())
                                ));
                                answer(&client, Decision::Permission(p, PermissionReply::Reject, Some(NO_TERMINAL.into()))).await;
                            }
                            (Ask::Question(q), _) => {
                                refused = Some(format!(
                                    "The agent asked \"{}\" and, with no terminal to ask, the question was dismissed. Run it in a terminal to answer it.",
                                    q.questions.first().map(|i| i.question.as_str()).unwrap_or("a question")
                                ));
                                answer(&client, Decision::Question(q, None)).await;
                            }
                        }
                    }
                }
                let text = reply_text(&state);
                if let Some(rest) = text.strip_prefix(printed.as_str()) {
                    if !rest.is_empty() {
                        let _ = stdout.write_all(rest.as_bytes());
                        let _ = stdout.flush();
                        printed.push_str(rest);
                    }
                }
                if reply_done(&state) {
                    break;
                }
                let retrying = match state.statuses.get(&session_id) {
                    Some(crate::engine::opencode::api::SessionStatus::Retry { attempt, message, .. })
                        if *attempt >= MAX_PROVIDER_RETRIES => Some((*attempt, message.clone())),
                    _ => None,
                };
                if let (Some((attempt, message)), None, false) = (retrying, &gave_up, interrupted) {
                    let _ = client.abort(&session_id).await;
                    gave_up = Some(format!(
                        "The model provider failed {attempt} times ({}), so the run was stopped. Check the provider settings of the OpenCode server, then try again.",
                        message.trim().trim_end_matches('.')
                    ));
                    deadline = Some(tokio::time::Instant::now() + Duration::from_secs(5));
                }
            }
        }
    }
    drop(commands);
    if !printed.is_empty() {
        let _ = writeln!(stdout);
    }

    // The server's record is the truth: the offline copy becomes exactly what it has.
    let session = client.get_session(&session_id).await.ok();
    let mut messages = client.messages(&session_id).await?;
    if interrupted || gave_up.is_some() {
        for m in &mut messages {
            if let MessageInfo::Assistant(a) = &mut m.info {
                if !known.contains(&a.id) && a.time.completed.is_none() && a.error.is_none() {
                    a.error = Some(MessageError {
                        name: "MessageAbortedError".to_owned(),
                        data: MessageErrorData::default(),
                    });
                }
            }
        }
    }
    let last = messages
        .iter()
        .rev()
        .filter_map(|m| m.info.as_assistant())
        .find(|a| !known.contains(&a.id))
        .cloned();
    let conv = offline::save_copy(
        &services.store,
        &profile.id,
        &session_id,
        session.as_ref(),
        &messages,
        Some(conv),
    )
    .await?;
    if json {
        let stored = match &last {
            Some(a) => services
                .store
                .get_message(offline::local_id(&conv.id, &a.id))
                .await
                .ok(),
            None => None,
        };
        eprintln!(
            "{}",
            serde_json::json!({
                "conversation": conv.id,
                "message": stored.as_ref().map(|m| m.id.clone()),
                "status": stored.as_ref().map(|m| m.status),
                "error": stored.as_ref().and_then(|m| m.error.clone()),
            })
        );
    }
    if interrupted {
        return Err(Error::Cancelled);
    }
    if let Some(message) = refused.or(gave_up) {
        return Err(Error::Remote {
            message,
            retryable: true,
        });
    }
    match last {
        Some(a) if a.error.is_none() && a.time.completed.is_some() => Ok(()),
        Some(a) => Err(Error::Remote {
            message: a
                .error
                .as_ref()
                .map(offline::error_sentence)
                .unwrap_or_else(|| "The reply did not finish.".into()),
            retryable: true,
        }),
        None => Err(Error::Remote {
            message:
                "The OpenCode server finished without a reply. Check its log for provider errors."
                    .into(),
            retryable: true,
        }),
    }
}
