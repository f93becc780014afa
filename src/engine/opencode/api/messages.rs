//! Messages: user prompts and assistant replies, their errors and the message-with-parts list.

use crate::engine::json::Json;

use super::common::{Millis, ModelRef, Tokens};
use super::de::{de_count, de_opt_count};
use super::parts::Part;

/// Extra details of a [`MessageError`]. Which fields are present depends on `name`.
#[derive(Debug, Clone, Default, PartialEq, Json)]
pub struct MessageErrorData {
    #[json(default, skip_none)]
    pub message: Option<String>,
    #[json(rename = "providerID", default, skip_none)]
    pub provider_id: Option<String>,
    #[json(rename = "statusCode", default, skip_none)]
    pub status_code: Option<u16>,
    #[json(rename = "isRetryable", default, skip_none)]
    pub is_retryable: Option<bool>,
}

/// Why an assistant message or a session failed: `{"name":"MessageAbortedError","data":{...}}`.
#[derive(Debug, Clone, PartialEq, Json)]
pub struct MessageError {
    pub name: String,
    #[json(default)]
    pub data: MessageErrorData,
}

/// Cuts trailing full stops so a server message can sit inside a sentence without "..".
fn clause(s: &str) -> &str {
    s.trim().trim_end_matches('.').trim_end()
}

impl MessageError {
    /// The server's own message, if any.
    pub fn message(&self) -> Option<&str> {
        self.data
            .message
            .as_deref()
            .filter(|m| !m.trim().is_empty())
    }

    /// True when the user stopped the reply (not a failure worth alarming about).
    pub fn is_abort(&self) -> bool {
        self.name == "MessageAbortedError"
    }

    /// A sentence for people: what happened and what to do about it.
    pub fn sentence(&self) -> String {
        let detail = self.message().map(clause);
        match self.name.as_str() {
            "MessageAbortedError" => {
                "The reply was stopped before it finished. Send the message again if you want a complete answer."
                    .to_owned()
            }
            "ProviderAuthError" => {
                let provider = self.data.provider_id.as_deref().unwrap_or("the model provider");
                match detail {
                    Some(d) => format!(
                        "The provider {provider} refused the server's credentials ({d}). Check the API key configured for it on the OpenCode server."
                    ),
                    None => format!(
                        "The provider {provider} refused the server's credentials. Check the API key configured for it on the OpenCode server."
                    ),
                }
            }
            "APIError" => {
                let status = self
                    .data
                    .status_code
                    .map(|s| format!(" (HTTP {s})"))
                    .unwrap_or_default();
                let what = detail.unwrap_or("no details were given");
                if self.data.is_retryable == Some(true) {
                    format!("The model provider returned an error{status}: {what}. Try again in a moment.")
                } else {
                    format!(
                        "The model provider returned an error{status}: {what}. Check the provider and model settings on the OpenCode server."
                    )
                }
            }
            "MessageOutputLengthError" => {
                "The reply reached the model's output length limit and was cut short. Ask for a shorter answer, or ask it to continue."
                    .to_owned()
            }
            "ContextOverflowError" => {
                "The conversation is too long for the model's context window. Start a new session or compact this one."
                    .to_owned()
            }
            "ContentFilterError" => {
                "The provider's content filter blocked the reply. Rephrase the message and try again."
                    .to_owned()
            }
            "StructuredOutputError" => match detail {
                Some(d) => format!(
                    "The model did not produce the requested structured output ({d}). Try again, or relax the requested format."
                ),
                None => "The model did not produce the requested structured output. Try again, or relax the requested format."
                    .to_owned(),
            },
            other => {
                let what = detail.unwrap_or(other);
                format!(
                    "The server reported an error: {what}. Try again; if it keeps happening, check the OpenCode server log."
                )
            }
        }
    }
}

/// Message times (epoch ms).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Json)]
pub struct MessageTime {
    #[json(default, with = "de_count")]
    pub created: Millis,
    #[json(default, with = "de_opt_count", skip_none)]
    pub completed: Option<Millis>,
}

/// Working directories an assistant message ran in.
#[derive(Debug, Clone, Default, PartialEq, Eq, Json)]
pub struct MessagePath {
    #[json(default)]
    pub cwd: String,
    #[json(default)]
    pub root: String,
}

/// A prompt the user sent.
#[derive(Debug, Clone, Default, PartialEq, Json)]
pub struct UserMessage {
    pub id: String,
    #[json(rename = "sessionID", default)]
    pub session_id: String,
    #[json(default)]
    pub time: MessageTime,
    #[json(default, skip_none)]
    pub agent: Option<String>,
    #[json(default, skip_none)]
    pub model: Option<ModelRef>,
    #[json(default, skip_none)]
    pub system: Option<String>,
}

/// A reply of the model. `time.completed` is absent while it is still being written.
#[derive(Debug, Clone, Default, PartialEq, Json)]
pub struct AssistantMessage {
    pub id: String,
    #[json(rename = "sessionID", default)]
    pub session_id: String,
    #[json(default)]
    pub time: MessageTime,
    #[json(rename = "parentID", default, skip_none)]
    pub parent_id: Option<String>,
    #[json(rename = "modelID", default)]
    pub model_id: String,
    #[json(rename = "providerID", default)]
    pub provider_id: String,
    #[json(default, skip_none)]
    pub mode: Option<String>,
    #[json(default, skip_none)]
    pub agent: Option<String>,
    #[json(default, skip_none)]
    pub path: Option<MessagePath>,
    #[json(default)]
    pub cost: f64,
    #[json(default)]
    pub tokens: Tokens,
    #[json(default, skip_none)]
    pub finish: Option<String>,
    #[json(default, skip_none)]
    pub error: Option<MessageError>,
    #[json(default, skip_none)]
    pub summary: Option<bool>,
}

/// The `info` of a message, tagged by `role`.
// Not boxed: about half of all messages are assistant messages, so boxing would save little
// memory and make every match on the role clumsier.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Json)]
#[json(tag = "role", rename_all = "lowercase")]
pub enum MessageInfo {
    User(UserMessage),
    Assistant(AssistantMessage),
}

impl MessageInfo {
    pub fn id(&self) -> &str {
        match self {
            MessageInfo::User(m) => &m.id,
            MessageInfo::Assistant(m) => &m.id,
        }
    }

    pub fn session_id(&self) -> &str {
        match self {
            MessageInfo::User(m) => &m.session_id,
            MessageInfo::Assistant(m) => &m.session_id,
        }
    }

    pub fn created(&self) -> Millis {
        match self {
            MessageInfo::User(m) => m.time.created,
            MessageInfo::Assistant(m) => m.time.created,
        }
    }

    pub fn as_assistant(&self) -> Option<&AssistantMessage> {
        match self {
            MessageInfo::Assistant(m) => Some(m),
            MessageInfo::User(_) => None,
        }
    }
}

/// One message with its parts (`GET /session/{id}/message`, the sync prompt response).
#[derive(Debug, Clone, PartialEq, Json)]
pub struct MessageWithParts {
    pub info: MessageInfo,
    #[json(default)]
    pub parts: Vec<Part>,
}

impl MessageWithParts {
    /// The visible text of the message: its non-synthetic, non-ignored text parts joined.
    pub fn text(&self) -> String {
        let mut out = String::new();
        for p in &self.parts {
            if let Part::Text(t) = p {
                if t.synthetic == Some(true) || t.ignored == Some(true) {
                    continue;
                }
                if !out.is_empty() && !t.text.is_empty() {
                    out.push('\n');
                }
                out.push_str(&t.text);
            }
        }
        out
    }
}
