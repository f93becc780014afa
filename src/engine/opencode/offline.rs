//! The offline copy of an OpenCode session: a local conversation (`Conversation.remote_session`)
//! whose messages mirror the server's, so a session opens instantly and reads without the
//! server, and full-text search covers it.
//!
//! The server stays the source of truth: [`save_copy`] replaces the local messages wholesale
//! with what the server returned (after every reconnect, after every run, and after a CLI
//! chat), so edits, reverts and deletions on the server win. Local message ids are derived
//! from the server's (`<conversation>/<msg_…>`), which keeps repeated copies idempotent.
//!
//! Text and reasoning become ordinary local parts (indexed and exported like any chat); every
//! other part is kept as the server's JSON so nothing is lost and [`from_local`] can render
//! tool calls, files and patches offline.

use serde_json::Value;

use super::api::{
    AssistantMessage, MessageError, MessageErrorData, MessageInfo, MessageTime, MessageWithParts,
    Part, PartTime, ReasoningPart, Session, TextPart, Tokens, UserMessage,
};
use crate::engine::error::Result;
use crate::engine::json::{FromJson, ToJson};
use crate::engine::model::{
    self, Conversation, ConversationEdit, Message, MessageStatus, Role, Usage,
};
use crate::engine::store::api::StoreClient;

/// `MessageError::name` of an error rebuilt from the offline copy, whose message already is the
/// sentence shown when it happened.
pub const OFFLINE_ERROR: &str = "NexusOfflineError";

/// A readable sentence for a message error, also for one rebuilt from the offline copy.
pub fn error_sentence(e: &MessageError) -> String {
    if e.name == OFFLINE_ERROR {
        e.message().unwrap_or("The reply failed.").to_owned()
    } else {
        e.sentence()
    }
}

/// The local id of server message `server_id` inside conversation `conversation_id`.
pub fn local_id(conversation_id: &str, server_id: &str) -> String {
    format!("{conversation_id}/{server_id}")
}

/// The server message id inside a local id made by [`local_id`].
pub fn server_id(local_id: &str) -> &str {
    local_id
        .rsplit_once('/')
        .map(|(_, s)| s)
        .unwrap_or(local_id)
}

fn millis(ms: u64) -> i64 {
    i64::try_from(ms).unwrap_or(i64::MAX)
}

/// The server's messages as local messages of `conversation_id`, a single chain in server order.
pub fn to_local(conversation_id: &str, messages: &[MessageWithParts]) -> Vec<Message> {
    let mut out: Vec<Message> = Vec::with_capacity(messages.len());
    for m in messages {
        let parent = out.last().map(|p| p.id.clone());
        let mut local = Message::new(conversation_id, parent, Role::User, "");
        local.id = local_id(conversation_id, m.info.id());
        local.created_at = millis(m.info.created());
        local.updated_at = local.created_at;
        local.parts = m.parts.iter().filter_map(to_local_part).collect();
        if let MessageInfo::Assistant(a) = &m.info {
            local.role = Role::Assistant;
            if !a.model_id.is_empty() {
                local.model = Some(format!("{}/{}", a.provider_id, a.model_id));
            }
            local.cost = Some(a.cost);
            local.usage = Some(Usage {
                prompt_tokens: a.tokens.input,
                completion_tokens: a.tokens.output,
                reasoning_tokens: Some(a.tokens.reasoning),
                estimated: false,
            });
            if let Some(done) = a.time.completed {
                local.updated_at = millis(done);
            }
            local.status = match (&a.error, a.time.completed) {
                (Some(e), _) if e.is_abort() => MessageStatus::Interrupted,
                (Some(_), _) => MessageStatus::Error,
                (None, Some(_)) => MessageStatus::Complete,
                (None, None) => MessageStatus::Streaming,
            };
            local.error = a.error.as_ref().map(error_sentence);
        }
        out.push(local);
    }
    out
}

fn to_local_part(p: &Part) -> Option<model::Part> {
    let raw = || Some(p.to_json());
    Some(match p {
        Part::Text(t) if t.synthetic != Some(true) && t.ignored != Some(true) => {
            model::Part::Text {
                text: t.text.clone(),
            }
        }
        Part::Reasoning(r) => model::Part::Reasoning {
            text: r.text.clone(),
        },
        Part::Tool(_) => model::Part::Tool { data: raw()? },
        Part::File(_) => model::Part::File { data: raw()? },
        Part::Patch(_) => model::Part::Patch { data: raw()? },
        _ => model::Part::Other { data: raw()? },
    })
}

/// Rebuilds displayable server messages from an offline copy made by [`to_local`]. Lossy only
/// in what the screen does not show (part times, token details).
pub fn from_local(messages: &[Message]) -> Vec<MessageWithParts> {
    messages
        .iter()
        .filter(|m| m.role != Role::System)
        .map(|m| {
            let id = server_id(&m.id).to_owned();
            let time = MessageTime {
                created: u64::try_from(m.created_at).unwrap_or(0),
                completed: (m.status != MessageStatus::Streaming)
                    .then(|| u64::try_from(m.updated_at).unwrap_or(0)),
            };
            let info = match m.role {
                Role::Assistant => {
                    let (provider_id, model_id) = m
                        .model
                        .as_deref()
                        .and_then(|s| s.split_once('/'))
                        .map(|(p, m)| (p.to_owned(), m.to_owned()))
                        .unwrap_or_default();
                    let usage = m.usage.clone().unwrap_or_default();
                    MessageInfo::Assistant(AssistantMessage {
                        id: id.clone(),
                        time,
                        provider_id,
                        model_id,
                        cost: m.cost.unwrap_or(0.0),
                        tokens: Tokens {
                            input: usage.prompt_tokens,
                            output: usage.completion_tokens,
                            reasoning: usage.reasoning_tokens.unwrap_or(0),
                            ..Tokens::default()
                        },
                        error: m.error.clone().map(|message| MessageError {
                            name: OFFLINE_ERROR.to_owned(),
                            data: MessageErrorData {
                                message: Some(message),
                                ..MessageErrorData::default()
                            },
                        }),
                        ..AssistantMessage::default()
                    })
                }
                _ => MessageInfo::User(UserMessage {
                    id: id.clone(),
                    time,
                    ..UserMessage::default()
                }),
            };
            let done = Some(PartTime {
                start: time.created,
                end: Some(time.completed.unwrap_or(time.created)),
            });
            let parts = m
                .parts
                .iter()
                .enumerate()
                .filter_map(|(i, p)| {
                    let part_id = format!("{id}-{i:04}");
                    match p {
                        model::Part::Text { text } => Some(Part::Text(TextPart {
                            id: part_id,
                            message_id: id.clone(),
                            text: text.clone(),
                            time: done,
                            ..TextPart::default()
                        })),
                        model::Part::Reasoning { text } => Some(Part::Reasoning(ReasoningPart {
                            id: part_id,
                            message_id: id.clone(),
                            text: text.clone(),
                            time: done,
                            ..ReasoningPart::default()
                        })),
                        model::Part::Tool { data }
                        | model::Part::File { data }
                        | model::Part::Patch { data }
                        | model::Part::Other { data } => Part::from_json(data).ok(),
                        model::Part::Attachment(_) => None,
                    }
                })
                .collect();
            MessageWithParts { info, parts }
        })
        .collect()
}

/// Stores `messages` of session `session_id` as the offline copy for backend `profile_id`,
/// creating the local conversation on first use (or using `existing`). Returns the conversation.
pub async fn save_copy(
    store: &StoreClient,
    profile_id: &str,
    session_id: &str,
    session: Option<&Session>,
    messages: &[MessageWithParts],
    existing: Option<Conversation>,
) -> Result<Conversation> {
    let found = match existing {
        Some(c) => Some(c),
        None => {
            store
                .find_remote_conversation(profile_id.to_owned(), session_id.to_owned())
                .await?
        }
    };
    let title = session
        .map(|s| s.title.clone())
        .filter(|t| !t.trim().is_empty());
    let model = messages
        .iter()
        .rev()
        .filter_map(|m| m.info.as_assistant())
        .find(|a| !a.model_id.is_empty())
        .map(|a| format!("{}/{}", a.provider_id, a.model_id));
    let conv = match found {
        Some(existing) => {
            let mut edits = vec![ConversationEdit::RemoteSession(Some(session_id.to_owned()))];
            if let Some(t) = title {
                edits.push(ConversationEdit::Title(t));
            }
            if let Some(m) = model {
                edits.push(ConversationEdit::Model(Some(m)));
            }
            store.update_conversation(existing.id, edits).await?
        }
        None => {
            let mut c = Conversation::new(title.unwrap_or_else(|| "OpenCode session".to_owned()));
            c.profile_id = Some(profile_id.to_owned());
            c.remote_session = Some(session_id.to_owned());
            c.model = model;
            if let Some(s) = session.filter(|s| s.time.created > 0) {
                c.created_at = millis(s.time.created);
            }
            store.create_conversation(c.clone()).await?;
            c
        }
    };
    store
        .replace_messages(conv.id.clone(), to_local(&conv.id, messages))
        .await?;
    store.get_conversation(conv.id).await
}

/// The offline copy of a session, if one was saved.
pub async fn load_copy(
    store: &StoreClient,
    profile_id: &str,
    session_id: &str,
) -> Result<Option<(Conversation, Vec<MessageWithParts>)>> {
    let Some(conv) = store
        .find_remote_conversation(profile_id.to_owned(), session_id.to_owned())
        .await?
    else {
        return Ok(None);
    };
    let thread = store.thread(conv.id.clone()).await?;
    let messages: Vec<Message> = thread.into_iter().map(|t| t.message).collect();
    Ok(Some((conv, from_local(&messages))))
}

/// Pretty JSON for showing raw values (tool input, unknown parts) as text.
pub fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_else(|_| v.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::store::Store;

    fn fixture(name: &str) -> String {
        let path = format!(
            "{}/tests/fixtures/opencode/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {path}: {e}"))
    }

    fn tool_message() -> MessageWithParts {
        serde_json::from_value(serde_json::json!({
            "info": {"id": "msg_b", "sessionID": "ses_1", "role": "assistant",
                     "time": {"created": 5, "completed": 9}, "modelID": "m", "providerID": "p",
                     "cost": 0.25, "tokens": {"input": 3, "output": 4, "reasoning": 0, "cache": {"read": 0, "write": 0}},
                     "error": {"name": "MessageAbortedError", "data": {"message": "Aborted"}}},
            "parts": [
                {"id": "prt_1", "sessionID": "ses_1", "messageID": "msg_b", "type": "reasoning", "text": "hmm", "time": {"start": 5, "end": 6}},
                {"id": "prt_2", "sessionID": "ses_1", "messageID": "msg_b", "type": "tool", "callID": "c1", "tool": "bash",
                 "state": {"status": "completed", "input": {"command": "ls"}, "output": "a\nb", "title": "ls", "metadata": {}, "time": {"start": 6, "end": 7}}},
                {"id": "prt_3", "sessionID": "ses_1", "messageID": "msg_b", "type": "text", "text": "Done.", "time": {"start": 7, "end": 8}},
                {"id": "prt_4", "sessionID": "ses_1", "messageID": "msg_b", "type": "step-finish", "reason": "stop", "cost": 0.25,
                 "tokens": {"input": 3, "output": 4, "reasoning": 0, "cache": {"read": 0, "write": 0}}}
            ]
        }))
        .expect("message")
    }

    #[test]
    fn local_copy_keeps_text_roles_errors_and_non_text_parts() {
        let msgs: Vec<MessageWithParts> =
            serde_json::from_str(&fixture("session-messages.json")).expect("messages");
        let mut all = msgs.clone();
        all.push(tool_message());
        let local = to_local("conv", &all);
        assert_eq!(local.len(), all.len());
        assert_eq!(local[0].role, Role::User);
        assert_eq!(local[0].parent_id, None);
        assert_eq!(local[1].parent_id.as_deref(), Some(local[0].id.as_str()));
        assert_eq!(local[1].text(), all[1].text());
        let last = local.last().expect("last");
        assert_eq!(last.status, MessageStatus::Interrupted);
        assert!(last.error.as_deref().is_some_and(|e| e.contains("stopped")));
        assert_eq!(last.model.as_deref(), Some("p/m"));
        assert_eq!(last.text(), "Done.");
        assert_eq!(last.reasoning(), "hmm");

        let back = from_local(&local);
        assert_eq!(back.len(), all.len());
        assert_eq!(back[1].info.id(), all[1].info.id());
        assert_eq!(back[1].text(), all[1].text());
        let b = back.last().expect("last");
        let kinds: Vec<&str> = b.parts.iter().map(Part::type_name).collect();
        assert_eq!(kinds, ["reasoning", "tool", "text", "step-finish"]);
        assert_eq!(b.parts[1], all.last().expect("last").parts[1]);
        let err = b
            .info
            .as_assistant()
            .and_then(|a| a.error.clone())
            .expect("error");
        assert_eq!(error_sentence(&err), last.error.clone().unwrap_or_default());
    }

    #[tokio::test]
    async fn saving_twice_replaces_the_copy_with_the_servers_state() {
        let store = StoreClient::inline(Store::open_in_memory().expect("store"));
        let profile = model::Profile::new("oc", model::BackendKind::OpenCode, "http://x");
        store.save_profile(profile.clone()).await.expect("profile");
        let msgs: Vec<MessageWithParts> =
            serde_json::from_str(&fixture("session-messages.json")).expect("messages");
        let session: Session = serde_json::from_str(&fixture("session-get.json")).expect("session");
        let conv = save_copy(
            &store,
            &profile.id,
            &session.id,
            Some(&session),
            &msgs,
            None,
        )
        .await
        .expect("save");
        assert_eq!(conv.remote_session.as_deref(), Some(session.id.as_str()));
        assert_eq!(conv.title, session.title);
        assert_eq!(
            store.thread(conv.id.clone()).await.expect("thread").len(),
            msgs.len()
        );

        // The server dropped the reply (a revert): the copy follows, in the same conversation.
        let again = save_copy(
            &store,
            &profile.id,
            &session.id,
            Some(&session),
            &msgs[..1],
            None,
        )
        .await
        .expect("save again");
        assert_eq!(again.id, conv.id);
        let (_, loaded) = load_copy(&store, &profile.id, &session.id)
            .await
            .expect("load")
            .expect("copy exists");
        assert_eq!(loaded.len(), 1);
        assert_eq!(loaded[0].info.id(), msgs[0].info.id());
        assert_eq!(loaded[0].text(), msgs[0].text());
    }
}
