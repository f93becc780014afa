//! Message parts: text, reasoning, tool calls, files, steps and the rest, and the lenient
//! [`Part`] enum that keeps unknown part types as raw JSON.

use serde::de::{self, Deserializer};
use serde::ser::{self, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::common::{Millis, ModelRef, Tokens};
use super::de::{de_count, de_opt_count};
use super::messages::MessageError;

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

impl ToolState {
    /// The `status` tag: `pending`, `running`, `completed` or `error`.
    pub fn status(&self) -> &'static str {
        match self {
            ToolState::Pending { .. } => "pending",
            ToolState::Running { .. } => "running",
            ToolState::Completed { .. } => "completed",
            ToolState::Error { .. } => "error",
        }
    }
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
