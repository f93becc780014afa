//! Wire types of the OpenCode server (`opencode serve`, checked against 1.18.33).
//!
//! Everything the chat client sends to or reads from the server lives in this one module so
//! that schema drift has a single place to be fixed. The field names follow the server's JSON
//! exactly (`sessionID`, `messageID`, `providerID`, `modelID`, `callID`), which is why many
//! fields carry explicit renames: serde's `camelCase` would produce `sessionId`.
//!
//! Parsing is deliberately lenient in the directions the server is known to grow:
//! unknown fields are ignored, an unknown part type becomes [`Part::Unknown`] (keeping the raw
//! JSON so nothing is lost), an unknown session status becomes [`SessionStatus::Unknown`], and
//! an unknown event type becomes [`Event::Other`]. A chat client must keep streaming when a
//! newer server adds something, rather than drop the whole event stream.

use std::collections::{BTreeMap, HashMap};

use serde::de::{self, Deserializer};
use serde::ser::{self, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Epoch milliseconds. The schema types some times as `number`, so they are read leniently.
pub type Millis = u64;

/// Reads a JSON number that should be a non-negative integer but is typed `number` in the
/// schema (token counts, some times). Fractions are rounded and negatives clamp to zero, since
/// a count that arrives as `12.0` must not break the message it belongs to.
fn de_count<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    let v = f64::deserialize(d)?;
    Ok(if v.is_finite() && v > 0.0 {
        v.round() as u64
    } else {
        0
    })
}

/// Reads a flag the server may send as `null` (agents from the config file carry
/// `"hidden": null`); `null` means unset, i.e. false.
fn de_null_false<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(Option::<bool>::deserialize(d)?.unwrap_or(false))
}

fn de_opt_count<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    let v = Option::<f64>::deserialize(d)?;
    Ok(v.map(|v| {
        if v.is_finite() && v > 0.0 {
            v.round() as u64
        } else {
            0
        }
    }))
}

// ---------------------------------------------------------------------------------------------
// Shared small types
// ---------------------------------------------------------------------------------------------

/// Cache token counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CacheTokens {
    #[serde(default, deserialize_with = "de_count")]
    pub read: u64,
    #[serde(default, deserialize_with = "de_count")]
    pub write: u64,
}

/// Token usage of a message, a step or a whole session.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tokens {
    #[serde(default, deserialize_with = "de_count")]
    pub input: u64,
    #[serde(default, deserialize_with = "de_count")]
    pub output: u64,
    #[serde(default, deserialize_with = "de_count")]
    pub reasoning: u64,
    #[serde(default)]
    pub cache: CacheTokens,
}

impl Tokens {
    /// Adds another usage record to this one (saturating, counts never wrap).
    pub fn add(&mut self, other: &Tokens) {
        self.input = self.input.saturating_add(other.input);
        self.output = self.output.saturating_add(other.output);
        self.reasoning = self.reasoning.saturating_add(other.reasoning);
        self.cache.read = self.cache.read.saturating_add(other.cache.read);
        self.cache.write = self.cache.write.saturating_add(other.cache.write);
    }

    /// Everything counted, for a compact "N tokens" label.
    pub fn total(&self) -> u64 {
        self.input
            .saturating_add(self.output)
            .saturating_add(self.reasoning)
            .saturating_add(self.cache.read)
            .saturating_add(self.cache.write)
    }
}

/// A model chosen for a prompt: `{"providerID","modelID"}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ModelRef {
    #[serde(rename = "providerID")]
    pub provider_id: String,
    #[serde(rename = "modelID")]
    pub model_id: String,
}

/// The model remembered on a session, and the one `POST /session` accepts:
/// `{"id","providerID","variant"?}` (note `id`, not `modelID`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionModel {
    pub id: String,
    #[serde(rename = "providerID")]
    pub provider_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
}

/// Points at the tool call that raised a permission request or a question.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolRef {
    #[serde(rename = "messageID")]
    pub message_id: String,
    #[serde(rename = "callID")]
    pub call_id: String,
}

// ---------------------------------------------------------------------------------------------
// Sessions
// ---------------------------------------------------------------------------------------------

/// Times of a session (epoch ms).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionTime {
    #[serde(default, deserialize_with = "de_count")]
    pub created: Millis,
    #[serde(default, deserialize_with = "de_count")]
    pub updated: Millis,
    #[serde(
        default,
        deserialize_with = "de_opt_count",
        skip_serializing_if = "Option::is_none"
    )]
    pub archived: Option<Millis>,
    #[serde(
        default,
        deserialize_with = "de_opt_count",
        skip_serializing_if = "Option::is_none"
    )]
    pub compacting: Option<Millis>,
}

/// File-change summary of a session.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionSummary {
    #[serde(default, deserialize_with = "de_count")]
    pub additions: u64,
    #[serde(default, deserialize_with = "de_count")]
    pub deletions: u64,
    #[serde(default, deserialize_with = "de_count")]
    pub files: u64,
}

/// A conversation on the server (`GET /session`, `session.updated` events, ...).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Session {
    pub id: String,
    #[serde(default)]
    pub slug: String,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub directory: String,
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub time: SessionTime,
    #[serde(rename = "projectID", default, skip_serializing_if = "Option::is_none")]
    pub project_id: Option<String>,
    #[serde(rename = "parentID", default, skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens: Option<Tokens>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<SessionSummary>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<SessionModel>,
}

impl Session {
    /// True for sub-agent sessions, which a chat list normally hides.
    pub fn is_child(&self) -> bool {
        self.parent_id.is_some()
    }

    /// True when the session was archived (`time.archived` set).
    pub fn is_archived(&self) -> bool {
        self.time.archived.is_some()
    }
}

/// `POST /session` body. `{}` (all `None`) is valid and creates an untitled session.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CreateSessionBody {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(rename = "parentID", default, skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<SessionModel>,
}

/// `PATCH /session/{id}` body (renaming is all the chat client does with it).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UpdateSessionBody {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
}

/// State of a session's agent loop (`GET /session/status`, `session.status` events).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum SessionStatus {
    /// Nothing running. Sessions absent from `GET /session/status` are idle.
    #[default]
    Idle,
    /// The model is working on a prompt.
    Busy,
    /// A provider call failed and is retried at `next` (epoch ms); the UI should offer abort.
    Retry {
        #[serde(default)]
        attempt: u32,
        #[serde(default)]
        message: String,
        #[serde(default, deserialize_with = "de_count")]
        next: Millis,
    },
    /// A status type newer than this client; treated like busy by [`SessionStatus::is_busy`].
    #[serde(other)]
    Unknown,
}

impl SessionStatus {
    /// True while a prompt is being worked on (busy, retrying, or an unknown non-idle state).
    pub fn is_busy(&self) -> bool {
        !matches!(self, SessionStatus::Idle)
    }
}

// ---------------------------------------------------------------------------------------------
// Messages
// ---------------------------------------------------------------------------------------------

/// Extra details of a [`MessageError`]. Which fields are present depends on `name`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MessageErrorData {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(
        rename = "providerID",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub provider_id: Option<String>,
    #[serde(
        rename = "statusCode",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub status_code: Option<u16>,
    #[serde(
        rename = "isRetryable",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub is_retryable: Option<bool>,
}

/// Why an assistant message or a session failed: `{"name":"MessageAbortedError","data":{...}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessageError {
    pub name: String,
    #[serde(default)]
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
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageTime {
    #[serde(default, deserialize_with = "de_count")]
    pub created: Millis,
    #[serde(
        default,
        deserialize_with = "de_opt_count",
        skip_serializing_if = "Option::is_none"
    )]
    pub completed: Option<Millis>,
}

/// Working directories an assistant message ran in.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessagePath {
    #[serde(default)]
    pub cwd: String,
    #[serde(default)]
    pub root: String,
}

/// A prompt the user sent.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UserMessage {
    pub id: String,
    #[serde(rename = "sessionID", default)]
    pub session_id: String,
    #[serde(default)]
    pub time: MessageTime,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<ModelRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<String>,
}

/// A reply of the model. `time.completed` is absent while it is still being written.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AssistantMessage {
    pub id: String,
    #[serde(rename = "sessionID", default)]
    pub session_id: String,
    #[serde(default)]
    pub time: MessageTime,
    #[serde(rename = "parentID", default, skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<String>,
    #[serde(rename = "modelID", default)]
    pub model_id: String,
    #[serde(rename = "providerID", default)]
    pub provider_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<MessagePath>,
    #[serde(default)]
    pub cost: f64,
    #[serde(default)]
    pub tokens: Tokens,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finish: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<MessageError>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<bool>,
}

/// The `info` of a message, tagged by `role`.
// Not boxed: about half of all messages are assistant messages, so boxing would save little
// memory and make every match on the role clumsier.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "role", rename_all = "lowercase")]
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessageWithParts {
    pub info: MessageInfo,
    #[serde(default)]
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

// ---------------------------------------------------------------------------------------------
// Parts
// ---------------------------------------------------------------------------------------------

/// Start/end of a text or reasoning part; `end` is missing while it streams.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartTime {
    #[serde(default, deserialize_with = "de_count")]
    pub start: Millis,
    #[serde(
        default,
        deserialize_with = "de_opt_count",
        skip_serializing_if = "Option::is_none"
    )]
    pub end: Option<Millis>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TextPart {
    pub id: String,
    #[serde(rename = "sessionID", default)]
    pub session_id: String,
    #[serde(rename = "messageID")]
    pub message_id: String,
    #[serde(default)]
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub synthetic: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignored: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<PartTime>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Value>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ReasoningPart {
    pub id: String,
    #[serde(rename = "sessionID", default)]
    pub session_id: String,
    #[serde(rename = "messageID")]
    pub message_id: String,
    #[serde(default)]
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<PartTime>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Value>,
}

/// Times of a tool run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolTime {
    #[serde(default, deserialize_with = "de_count")]
    pub start: Millis,
    #[serde(
        default,
        deserialize_with = "de_opt_count",
        skip_serializing_if = "Option::is_none"
    )]
    pub end: Option<Millis>,
    #[serde(
        default,
        deserialize_with = "de_opt_count",
        skip_serializing_if = "Option::is_none"
    )]
    pub compacted: Option<Millis>,
}

/// Life cycle of a tool call, tagged by `status`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "lowercase")]
pub enum ToolState {
    Pending {
        #[serde(default)]
        input: Value,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        raw: Option<String>,
    },
    Running {
        #[serde(default)]
        input: Value,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        title: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        metadata: Option<Value>,
        #[serde(default)]
        time: ToolTime,
    },
    Completed {
        #[serde(default)]
        input: Value,
        #[serde(default)]
        output: String,
        #[serde(default)]
        title: String,
        #[serde(default)]
        metadata: Value,
        #[serde(default)]
        time: ToolTime,
    },
    Error {
        #[serde(default)]
        input: Value,
        #[serde(default)]
        error: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        metadata: Option<Value>,
        #[serde(default)]
        time: ToolTime,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolPart {
    pub id: String,
    #[serde(rename = "sessionID", default)]
    pub session_id: String,
    #[serde(rename = "messageID")]
    pub message_id: String,
    #[serde(rename = "callID")]
    pub call_id: String,
    pub tool: String,
    pub state: ToolState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FilePart {
    pub id: String,
    #[serde(rename = "sessionID", default)]
    pub session_id: String,
    #[serde(rename = "messageID")]
    pub message_id: String,
    pub mime: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filename: Option<String>,
    pub url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentPart {
    pub id: String,
    #[serde(rename = "sessionID", default)]
    pub session_id: String,
    #[serde(rename = "messageID")]
    pub message_id: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SubtaskPart {
    pub id: String,
    #[serde(rename = "sessionID", default)]
    pub session_id: String,
    #[serde(rename = "messageID")]
    pub message_id: String,
    #[serde(default)]
    pub prompt: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub agent: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<ModelRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepStartPart {
    pub id: String,
    #[serde(rename = "sessionID", default)]
    pub session_id: String,
    #[serde(rename = "messageID")]
    pub message_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepFinishPart {
    pub id: String,
    #[serde(rename = "sessionID", default)]
    pub session_id: String,
    #[serde(rename = "messageID")]
    pub message_id: String,
    #[serde(default)]
    pub reason: String,
    #[serde(default)]
    pub cost: f64,
    #[serde(default)]
    pub tokens: Tokens,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SnapshotPart {
    pub id: String,
    #[serde(rename = "sessionID", default)]
    pub session_id: String,
    #[serde(rename = "messageID")]
    pub message_id: String,
    #[serde(default)]
    pub snapshot: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PatchPart {
    pub id: String,
    #[serde(rename = "sessionID", default)]
    pub session_id: String,
    #[serde(rename = "messageID")]
    pub message_id: String,
    #[serde(default)]
    pub hash: String,
    #[serde(default)]
    pub files: Vec<String>,
}

/// When a retry part was created.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatedTime {
    #[serde(default, deserialize_with = "de_count")]
    pub created: Millis,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RetryPart {
    pub id: String,
    #[serde(rename = "sessionID", default)]
    pub session_id: String,
    #[serde(rename = "messageID")]
    pub message_id: String,
    #[serde(default)]
    pub attempt: u32,
    pub error: MessageError,
    #[serde(default)]
    pub time: CreatedTime,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CompactionPart {
    pub id: String,
    #[serde(rename = "sessionID", default)]
    pub session_id: String,
    #[serde(rename = "messageID")]
    pub message_id: String,
    #[serde(default)]
    pub auto: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overflow: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tail_start_id: Option<String>,
}

/// One piece of a message, tagged by `type`.
///
/// Deserialization is hand-written: a `type` this client does not know, or a known type whose
/// body no longer matches (schema drift), becomes [`Part::Unknown`] with the raw JSON instead
/// of failing the whole message or event. Tests assert the captured samples never land there.
#[derive(Debug, Clone, PartialEq)]
pub enum Part {
    Text(TextPart),
    Reasoning(ReasoningPart),
    Tool(ToolPart),
    File(FilePart),
    Agent(AgentPart),
    Subtask(SubtaskPart),
    StepStart(StepStartPart),
    StepFinish(StepFinishPart),
    Snapshot(SnapshotPart),
    Patch(PatchPart),
    Retry(RetryPart),
    Compaction(CompactionPart),
    /// Anything else, kept verbatim so it can be shown generically or re-serialized.
    Unknown(Value),
}

impl Part {
    /// The wire `type` of this part (for `Unknown`, whatever string the JSON had, or "").
    pub fn type_name(&self) -> &str {
        match self {
            Part::Text(_) => "text",
            Part::Reasoning(_) => "reasoning",
            Part::Tool(_) => "tool",
            Part::File(_) => "file",
            Part::Agent(_) => "agent",
            Part::Subtask(_) => "subtask",
            Part::StepStart(_) => "step-start",
            Part::StepFinish(_) => "step-finish",
            Part::Snapshot(_) => "snapshot",
            Part::Patch(_) => "patch",
            Part::Retry(_) => "retry",
            Part::Compaction(_) => "compaction",
            Part::Unknown(v) => v.get("type").and_then(Value::as_str).unwrap_or(""),
        }
    }

    /// The part id (`prt_…`); `None` only for an unknown part without a string `id`.
    pub fn id(&self) -> Option<&str> {
        Some(match self {
            Part::Text(p) => &p.id,
            Part::Reasoning(p) => &p.id,
            Part::Tool(p) => &p.id,
            Part::File(p) => &p.id,
            Part::Agent(p) => &p.id,
            Part::Subtask(p) => &p.id,
            Part::StepStart(p) => &p.id,
            Part::StepFinish(p) => &p.id,
            Part::Snapshot(p) => &p.id,
            Part::Patch(p) => &p.id,
            Part::Retry(p) => &p.id,
            Part::Compaction(p) => &p.id,
            Part::Unknown(v) => return v.get("id").and_then(Value::as_str),
        })
    }

    /// The id of the message this part belongs to.
    pub fn message_id(&self) -> Option<&str> {
        Some(match self {
            Part::Text(p) => &p.message_id,
            Part::Reasoning(p) => &p.message_id,
            Part::Tool(p) => &p.message_id,
            Part::File(p) => &p.message_id,
            Part::Agent(p) => &p.message_id,
            Part::Subtask(p) => &p.message_id,
            Part::StepStart(p) => &p.message_id,
            Part::StepFinish(p) => &p.message_id,
            Part::Snapshot(p) => &p.message_id,
            Part::Patch(p) => &p.message_id,
            Part::Retry(p) => &p.message_id,
            Part::Compaction(p) => &p.message_id,
            Part::Unknown(v) => return v.get("messageID").and_then(Value::as_str),
        })
    }

    /// The streamed text of a text or reasoning part.
    pub fn text(&self) -> Option<&str> {
        match self {
            Part::Text(p) => Some(&p.text),
            Part::Reasoning(p) => Some(&p.text),
            _ => None,
        }
    }

    /// Mutable access to the field `message.part.delta` appends to. Only the `text` field of
    /// text and reasoning parts is streamed; other fields are refreshed by whole-part updates.
    pub fn delta_target(&mut self, field: &str) -> Option<&mut String> {
        if field != "text" {
            return None;
        }
        match self {
            Part::Text(p) => Some(&mut p.text),
            Part::Reasoning(p) => Some(&mut p.text),
            _ => None,
        }
    }

    /// True once a text/reasoning part has its `time.end`; other parts are always final.
    pub fn is_finished(&self) -> bool {
        match self {
            Part::Text(p) => p.time.and_then(|t| t.end).is_some(),
            Part::Reasoning(p) => p.time.and_then(|t| t.end).is_some(),
            _ => true,
        }
    }
}

fn parse_known<T: serde::de::DeserializeOwned>(v: &Value, wrap: fn(T) -> Part) -> Option<Part> {
    T::deserialize(v).ok().map(wrap)
}

impl<'de> Deserialize<'de> for Part {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        if !v.is_object() {
            return Err(de::Error::custom("a message part must be a JSON object"));
        }
        let parsed = match v.get("type").and_then(Value::as_str) {
            Some("text") => parse_known(&v, Part::Text),
            Some("reasoning") => parse_known(&v, Part::Reasoning),
            Some("tool") => parse_known(&v, Part::Tool),
            Some("file") => parse_known(&v, Part::File),
            Some("agent") => parse_known(&v, Part::Agent),
            Some("subtask") => parse_known(&v, Part::Subtask),
            Some("step-start") => parse_known(&v, Part::StepStart),
            Some("step-finish") => parse_known(&v, Part::StepFinish),
            Some("snapshot") => parse_known(&v, Part::Snapshot),
            Some("patch") => parse_known(&v, Part::Patch),
            Some("retry") => parse_known(&v, Part::Retry),
            Some("compaction") => parse_known(&v, Part::Compaction),
            _ => None,
        };
        Ok(parsed.unwrap_or(Part::Unknown(v)))
    }
}

fn tagged<S: Serializer, T: Serialize>(s: S, kind: &str, body: &T) -> Result<S::Ok, S::Error> {
    let mut v = serde_json::to_value(body).map_err(ser::Error::custom)?;
    if let Value::Object(map) = &mut v {
        map.insert("type".to_owned(), Value::String(kind.to_owned()));
    }
    v.serialize(s)
}

impl Serialize for Part {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let kind = self.type_name().to_owned();
        match self {
            Part::Text(p) => tagged(s, &kind, p),
            Part::Reasoning(p) => tagged(s, &kind, p),
            Part::Tool(p) => tagged(s, &kind, p),
            Part::File(p) => tagged(s, &kind, p),
            Part::Agent(p) => tagged(s, &kind, p),
            Part::Subtask(p) => tagged(s, &kind, p),
            Part::StepStart(p) => tagged(s, &kind, p),
            Part::StepFinish(p) => tagged(s, &kind, p),
            Part::Snapshot(p) => tagged(s, &kind, p),
            Part::Patch(p) => tagged(s, &kind, p),
            Part::Retry(p) => tagged(s, &kind, p),
            Part::Compaction(p) => tagged(s, &kind, p),
            Part::Unknown(v) => v.serialize(s),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Prompts
// ---------------------------------------------------------------------------------------------

/// An input part of a prompt (the schema's `TextPartInput | FilePartInput | AgentPartInput |
/// SubtaskPartInput`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum PromptPart {
    Text {
        text: String,
    },
    /// An attachment; `url` is usually a `data:` URL or a `file://` path on the server.
    File {
        mime: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        filename: Option<String>,
        url: String,
    },
    /// An `@agent` mention.
    Agent {
        name: String,
    },
    Subtask {
        prompt: String,
        description: String,
        agent: String,
    },
}

impl PromptPart {
    pub fn text(text: impl Into<String>) -> Self {
        PromptPart::Text { text: text.into() }
    }
}

/// Body of `POST /session/{id}/prompt_async` and `POST /session/{id}/message`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PromptBody {
    pub parts: Vec<PromptPart>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<ModelRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<String>,
    /// Lets the client choose the user message id (must start with `msg`), so an optimistic
    /// local bubble can be matched with the server's `message.updated`.
    #[serde(rename = "messageID", default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
}

impl PromptBody {
    /// A plain text prompt with server defaults for model and agent.
    pub fn text(text: impl Into<String>) -> Self {
        PromptBody {
            parts: vec![PromptPart::text(text)],
            ..PromptBody::default()
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Permissions and questions
// ---------------------------------------------------------------------------------------------

/// How the user answered a permission request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PermissionReply {
    /// Allow this one call.
    Once,
    /// Allow this and matching future calls (`always` patterns).
    Always,
    Reject,
}

/// Body of `POST /permission/{requestID}/reply`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PermissionReplyBody {
    pub reply: PermissionReply,
    /// Optional note to the model, useful with `reject` to say why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// A tool call waiting for the user's approval (`GET /permission`, `permission.asked`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PermissionRequest {
    pub id: String,
    #[serde(rename = "sessionID")]
    pub session_id: String,
    /// What is asked for, e.g. `bash`, `edit`, `external_directory`.
    pub permission: String,
    #[serde(default)]
    pub patterns: Vec<String>,
    #[serde(default)]
    pub metadata: Value,
    #[serde(default)]
    pub always: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool: Option<ToolRef>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuestionOption {
    pub label: String,
    #[serde(default)]
    pub description: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuestionInfo {
    pub question: String,
    #[serde(default)]
    pub header: String,
    #[serde(default)]
    pub options: Vec<QuestionOption>,
    /// More than one option may be chosen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multiple: Option<bool>,
    /// A free-text answer is allowed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom: Option<bool>,
}

/// Questions the model asks the user (`GET /question`, `question.asked`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuestionRequest {
    pub id: String,
    #[serde(rename = "sessionID")]
    pub session_id: String,
    #[serde(default)]
    pub questions: Vec<QuestionInfo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool: Option<ToolRef>,
}

/// Body of `POST /question/{requestID}/reply`: one answer per question, in order; each answer
/// is the list of chosen labels (or the custom text).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuestionReplyBody {
    pub answers: Vec<Vec<String>>,
}

// ---------------------------------------------------------------------------------------------
// Server, providers, agents
// ---------------------------------------------------------------------------------------------

/// `GET /global/health`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    pub healthy: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelLimit {
    #[serde(default, deserialize_with = "de_count")]
    pub context: u64,
    #[serde(default, deserialize_with = "de_count")]
    pub output: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Model {
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(
        rename = "providerID",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub provider_id: Option<String>,
    #[serde(default)]
    pub limit: ModelLimit,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Kept raw: the capability set grows often and the UI only peeks at a few flags.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capabilities: Option<Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Provider {
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Keyed by model id; a BTreeMap so model pickers list them in a stable order.
    #[serde(default)]
    pub models: BTreeMap<String, Model>,
}

/// `GET /config/providers`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ProvidersResponse {
    #[serde(default)]
    pub providers: Vec<Provider>,
    /// Provider id → default model id.
    #[serde(default)]
    pub default: HashMap<String, String>,
}

impl ProvidersResponse {
    /// The server's default model for a provider, as a [`ModelRef`].
    pub fn default_model(&self, provider_id: &str) -> Option<ModelRef> {
        self.default.get(provider_id).map(|m| ModelRef {
            provider_id: provider_id.to_owned(),
            model_id: m.clone(),
        })
    }
}

/// `GET /agent` entries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Agent {
    pub name: String,
    /// `primary`, `subagent` or `all`.
    #[serde(default)]
    pub mode: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, deserialize_with = "de_null_false")]
    pub hidden: bool,
    #[serde(default, deserialize_with = "de_null_false")]
    pub native: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<ModelRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub color: Option<String>,
}

impl Agent {
    /// Whether a user can pick this agent for a prompt (primary or all, and not hidden).
    pub fn is_selectable(&self) -> bool {
        !self.hidden && self.mode != "subagent"
    }
}

// ---------------------------------------------------------------------------------------------
// Events
// ---------------------------------------------------------------------------------------------

/// The `/event` payload as it arrives: `{id?, type, properties}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RawEvent {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub properties: Value,
}

/// An event from the server's bus, reduced to what a chat client applies.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    ServerConnected,
    ServerHeartbeat,
    SessionCreated {
        info: Session,
    },
    SessionUpdated {
        info: Session,
    },
    SessionDeleted {
        info: Session,
    },
    SessionStatus {
        session_id: String,
        status: SessionStatus,
    },
    SessionIdle {
        session_id: String,
    },
    SessionError {
        session_id: Option<String>,
        error: Option<MessageError>,
    },
    /// File diff of a session; kept raw (the chat client only shows a count).
    SessionDiff {
        session_id: String,
        diff: Vec<Value>,
    },
    MessageUpdated {
        info: MessageInfo,
    },
    MessageRemoved {
        session_id: String,
        message_id: String,
    },
    /// A whole part (new or replaced). `delta` is only sent by older servers.
    MessagePartUpdated {
        part: Part,
        delta: Option<String>,
    },
    /// Streamed text: append `delta` to `field` of part `part_id`.
    MessagePartDelta {
        session_id: String,
        message_id: String,
        part_id: String,
        field: String,
        delta: String,
    },
    MessagePartRemoved {
        session_id: String,
        message_id: String,
        part_id: String,
    },
    PermissionAsked(PermissionRequest),
    PermissionReplied {
        session_id: String,
        request_id: String,
        reply: String,
    },
    QuestionAsked(QuestionRequest),
    /// `question.replied` or `question.rejected`: either way the question is no longer open.
    QuestionClosed {
        session_id: String,
        request_id: String,
    },
    /// Any other event type (plugin.added, catalog.updated, todo.updated, ...).
    Other {
        kind: String,
    },
}

#[derive(Deserialize)]
struct InfoProps<T> {
    info: T,
}

#[derive(Deserialize)]
struct StatusProps {
    #[serde(rename = "sessionID")]
    session_id: String,
    status: SessionStatus,
}

#[derive(Deserialize)]
struct SessionIdProps {
    #[serde(rename = "sessionID")]
    session_id: String,
}

#[derive(Deserialize)]
struct SessionErrorProps {
    #[serde(rename = "sessionID", default)]
    session_id: Option<String>,
    #[serde(default)]
    error: Option<MessageError>,
}

#[derive(Deserialize)]
struct DiffProps {
    #[serde(rename = "sessionID")]
    session_id: String,
    #[serde(default)]
    diff: Vec<Value>,
}

#[derive(Deserialize)]
struct MessageRemovedProps {
    #[serde(rename = "sessionID")]
    session_id: String,
    #[serde(rename = "messageID")]
    message_id: String,
}

#[derive(Deserialize)]
struct PartUpdatedProps {
    part: Part,
    #[serde(default)]
    delta: Option<String>,
}

#[derive(Deserialize)]
struct PartDeltaProps {
    #[serde(rename = "sessionID")]
    session_id: String,
    #[serde(rename = "messageID")]
    message_id: String,
    #[serde(rename = "partID")]
    part_id: String,
    field: String,
    delta: String,
}

#[derive(Deserialize)]
struct PartRemovedProps {
    #[serde(rename = "sessionID")]
    session_id: String,
    #[serde(rename = "messageID")]
    message_id: String,
    #[serde(rename = "partID")]
    part_id: String,
}

#[derive(Deserialize)]
struct RequestReplyProps {
    #[serde(rename = "sessionID")]
    session_id: String,
    #[serde(rename = "requestID")]
    request_id: String,
    #[serde(default)]
    reply: Option<String>,
}

impl Event {
    /// Turns a raw event into a typed one. Unknown types become [`Event::Other`]; a known type
    /// whose properties do not match is an error (that is schema drift worth surfacing).
    pub fn from_raw(raw: RawEvent) -> Result<Event, serde_json::Error> {
        let p = raw.properties;
        Ok(match raw.kind.as_str() {
            "server.connected" => Event::ServerConnected,
            "server.heartbeat" => Event::ServerHeartbeat,
            "session.created" => Event::SessionCreated {
                info: InfoProps::deserialize(p)?.info,
            },
            "session.updated" => Event::SessionUpdated {
                info: InfoProps::deserialize(p)?.info,
            },
            "session.deleted" => Event::SessionDeleted {
                info: InfoProps::deserialize(p)?.info,
            },
            "session.status" => {
                let s = StatusProps::deserialize(p)?;
                Event::SessionStatus {
                    session_id: s.session_id,
                    status: s.status,
                }
            }
            "session.idle" => Event::SessionIdle {
                session_id: SessionIdProps::deserialize(p)?.session_id,
            },
            "session.error" => {
                let s = SessionErrorProps::deserialize(p)?;
                Event::SessionError {
                    session_id: s.session_id,
                    error: s.error,
                }
            }
            "session.diff" => {
                let s = DiffProps::deserialize(p)?;
                Event::SessionDiff {
                    session_id: s.session_id,
                    diff: s.diff,
                }
            }
            "message.updated" => Event::MessageUpdated {
                info: InfoProps::deserialize(p)?.info,
            },
            "message.removed" => {
                let s = MessageRemovedProps::deserialize(p)?;
                Event::MessageRemoved {
                    session_id: s.session_id,
                    message_id: s.message_id,
                }
            }
            "message.part.updated" => {
                let s = PartUpdatedProps::deserialize(p)?;
                Event::MessagePartUpdated {
                    part: s.part,
                    delta: s.delta,
                }
            }
            "message.part.delta" => {
                let s = PartDeltaProps::deserialize(p)?;
                Event::MessagePartDelta {
                    session_id: s.session_id,
                    message_id: s.message_id,
                    part_id: s.part_id,
                    field: s.field,
                    delta: s.delta,
                }
            }
            "message.part.removed" => {
                let s = PartRemovedProps::deserialize(p)?;
                Event::MessagePartRemoved {
                    session_id: s.session_id,
                    message_id: s.message_id,
                    part_id: s.part_id,
                }
            }
            "permission.asked" => Event::PermissionAsked(PermissionRequest::deserialize(p)?),
            "permission.replied" => {
                let s = RequestReplyProps::deserialize(p)?;
                Event::PermissionReplied {
                    session_id: s.session_id,
                    request_id: s.request_id,
                    reply: s.reply.unwrap_or_default(),
                }
            }
            "question.asked" => Event::QuestionAsked(QuestionRequest::deserialize(p)?),
            "question.replied" | "question.rejected" => {
                let s = RequestReplyProps::deserialize(p)?;
                Event::QuestionClosed {
                    session_id: s.session_id,
                    request_id: s.request_id,
                }
            }
            _ => Event::Other { kind: raw.kind },
        })
    }

    /// Parses one SSE `data:` payload of `GET /event`.
    pub fn parse(data: &str) -> Result<Event, serde_json::Error> {
        Event::from_raw(serde_json::from_str(data)?)
    }

    /// The session this event is about, when it is about one.
    pub fn session_id(&self) -> Option<&str> {
        match self {
            Event::SessionCreated { info }
            | Event::SessionUpdated { info }
            | Event::SessionDeleted { info } => Some(&info.id),
            Event::SessionStatus { session_id, .. }
            | Event::SessionIdle { session_id }
            | Event::SessionDiff { session_id, .. }
            | Event::MessageRemoved { session_id, .. }
            | Event::MessagePartDelta { session_id, .. }
            | Event::MessagePartRemoved { session_id, .. }
            | Event::PermissionReplied { session_id, .. }
            | Event::QuestionClosed { session_id, .. } => Some(session_id),
            Event::SessionError { session_id, .. } => session_id.as_deref(),
            Event::MessageUpdated { info } => Some(info.session_id()),
            Event::MessagePartUpdated { part, .. } => match part {
                Part::Text(p) => Some(&p.session_id),
                Part::Reasoning(p) => Some(&p.session_id),
                Part::Tool(p) => Some(&p.session_id),
                Part::File(p) => Some(&p.session_id),
                Part::Agent(p) => Some(&p.session_id),
                Part::Subtask(p) => Some(&p.session_id),
                Part::StepStart(p) => Some(&p.session_id),
                Part::StepFinish(p) => Some(&p.session_id),
                Part::Snapshot(p) => Some(&p.session_id),
                Part::Patch(p) => Some(&p.session_id),
                Part::Retry(p) => Some(&p.session_id),
                Part::Compaction(p) => Some(&p.session_id),
                Part::Unknown(v) => v.get("sessionID").and_then(Value::as_str),
            },
            Event::PermissionAsked(r) => Some(&r.session_id),
            Event::QuestionAsked(q) => Some(&q.session_id),
            Event::ServerConnected | Event::ServerHeartbeat | Event::Other { .. } => None,
        }
    }
}

impl<'de> Deserialize<'de> for Event {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = RawEvent::deserialize(d)?;
        Event::from_raw(raw).map_err(de::Error::custom)
    }
}

/// One `GET /global/event` item: `{directory?, project?, payload}`. The first
/// `server.connected` carries only `payload`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct GlobalEvent {
    #[serde(default)]
    pub directory: Option<String>,
    #[serde(default)]
    pub project: Option<String>,
    pub payload: Event,
}

impl GlobalEvent {
    /// Parses one SSE `data:` payload of `GET /global/event`.
    pub fn parse(data: &str) -> Result<GlobalEvent, serde_json::Error> {
        serde_json::from_str(data)
    }
}
