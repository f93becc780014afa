//! Message parts: text, reasoning, tool calls, files, steps and the rest, and the lenient
//! [`Part`] enum that keeps unknown part types as raw JSON.

use crate::engine::json::{FromJson, Json, JsonError, ToJson, Value};

use super::common::{Millis, ModelRef, Tokens};
use super::de::{de_count, de_opt_count};
use super::messages::MessageError;

/// Start/end of a text or reasoning part; `end` is missing while it streams.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Json)]
pub struct PartTime {
    #[json(default, with = "de_count")]
    pub start: Millis,
    #[json(default, with = "de_opt_count", skip_none)]
    pub end: Option<Millis>,
}

#[derive(Debug, Clone, Default, PartialEq, Json)]
pub struct TextPart {
    pub id: String,
    #[json(rename = "sessionID", default)]
    pub session_id: String,
    #[json(rename = "messageID")]
    pub message_id: String,
    #[json(default)]
    pub text: String,
    #[json(default, skip_none)]
    pub synthetic: Option<bool>,
    #[json(default, skip_none)]
    pub ignored: Option<bool>,
    #[json(default, skip_none)]
    pub time: Option<PartTime>,
    #[json(default, skip_none)]
    pub metadata: Option<Value>,
}

#[derive(Debug, Clone, Default, PartialEq, Json)]
pub struct ReasoningPart {
    pub id: String,
    #[json(rename = "sessionID", default)]
    pub session_id: String,
    #[json(rename = "messageID")]
    pub message_id: String,
    #[json(default)]
    pub text: String,
    #[json(default, skip_none)]
    pub time: Option<PartTime>,
    #[json(default, skip_none)]
    pub metadata: Option<Value>,
}

/// Times of a tool run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Json)]
pub struct ToolTime {
    #[json(default, with = "de_count")]
    pub start: Millis,
    #[json(default, with = "de_opt_count", skip_none)]
    pub end: Option<Millis>,
    #[json(default, with = "de_opt_count", skip_none)]
    pub compacted: Option<Millis>,
}

/// Life cycle of a tool call, tagged by `status`.
#[derive(Debug, Clone, PartialEq, Json)]
#[json(tag = "status", rename_all = "lowercase")]
pub enum ToolState {
    Pending {
        #[json(default)]
        input: Value,
        #[json(default, skip_none)]
        raw: Option<String>,
    },
    Running {
        #[json(default)]
        input: Value,
        #[json(default, skip_none)]
        title: Option<String>,
        #[json(default, skip_none)]
        metadata: Option<Value>,
        #[json(default)]
        time: ToolTime,
    },
    Completed {
        #[json(default)]
        input: Value,
        #[json(default)]
        output: String,
        #[json(default)]
        title: String,
        #[json(default)]
        metadata: Value,
        #[json(default)]
        time: ToolTime,
    },
    Error {
        #[json(default)]
        input: Value,
        #[json(default)]
        error: String,
        #[json(default, skip_none)]
        metadata: Option<Value>,
        #[json(default)]
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

#[derive(Debug, Clone, PartialEq, Json)]
pub struct ToolPart {
    pub id: String,
    #[json(rename = "sessionID", default)]
    pub session_id: String,
    #[json(rename = "messageID")]
    pub message_id: String,
    #[json(rename = "callID")]
    pub call_id: String,
    pub tool: String,
    pub state: ToolState,
    #[json(default, skip_none)]
    pub metadata: Option<Value>,
}

#[derive(Debug, Clone, PartialEq, Json)]
pub struct FilePart {
    pub id: String,
    #[json(rename = "sessionID", default)]
    pub session_id: String,
    #[json(rename = "messageID")]
    pub message_id: String,
    pub mime: String,
    #[json(default, skip_none)]
    pub filename: Option<String>,
    pub url: String,
    #[json(default, skip_none)]
    pub source: Option<Value>,
}

#[derive(Debug, Clone, PartialEq, Json)]
pub struct AgentPart {
    pub id: String,
    #[json(rename = "sessionID", default)]
    pub session_id: String,
    #[json(rename = "messageID")]
    pub message_id: String,
    pub name: String,
    #[json(default, skip_none)]
    pub source: Option<Value>,
}

#[derive(Debug, Clone, PartialEq, Json)]
pub struct SubtaskPart {
    pub id: String,
    #[json(rename = "sessionID", default)]
    pub session_id: String,
    #[json(rename = "messageID")]
    pub message_id: String,
    #[json(default)]
    pub prompt: String,
    #[json(default)]
    pub description: String,
    #[json(default)]
    pub agent: String,
    #[json(default, skip_none)]
    pub model: Option<ModelRef>,
    #[json(default, skip_none)]
    pub command: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Json)]
pub struct StepStartPart {
    pub id: String,
    #[json(rename = "sessionID", default)]
    pub session_id: String,
    #[json(rename = "messageID")]
    pub message_id: String,
    #[json(default, skip_none)]
    pub snapshot: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Json)]
pub struct StepFinishPart {
    pub id: String,
    #[json(rename = "sessionID", default)]
    pub session_id: String,
    #[json(rename = "messageID")]
    pub message_id: String,
    #[json(default)]
    pub reason: String,
    #[json(default)]
    pub cost: f64,
    #[json(default)]
    pub tokens: Tokens,
    #[json(default, skip_none)]
    pub snapshot: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Json)]
pub struct SnapshotPart {
    pub id: String,
    #[json(rename = "sessionID", default)]
    pub session_id: String,
    #[json(rename = "messageID")]
    pub message_id: String,
    #[json(default)]
    pub snapshot: String,
}

#[derive(Debug, Clone, PartialEq, Json)]
pub struct PatchPart {
    pub id: String,
    #[json(rename = "sessionID", default)]
    pub session_id: String,
    #[json(rename = "messageID")]
    pub message_id: String,
    #[json(default)]
    pub hash: String,
    #[json(default)]
    pub files: Vec<String>,
}

/// When a retry part was created.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Json)]
pub struct CreatedTime {
    #[json(default, with = "de_count")]
    pub created: Millis,
}

#[derive(Debug, Clone, PartialEq, Json)]
pub struct RetryPart {
    pub id: String,
    #[json(rename = "sessionID", default)]
    pub session_id: String,
    #[json(rename = "messageID")]
    pub message_id: String,
    #[json(default)]
    pub attempt: u32,
    pub error: MessageError,
    #[json(default)]
    pub time: CreatedTime,
}

#[derive(Debug, Clone, PartialEq, Json)]
pub struct CompactionPart {
    pub id: String,
    #[json(rename = "sessionID", default)]
    pub session_id: String,
    #[json(rename = "messageID")]
    pub message_id: String,
    #[json(default)]
    pub auto: bool,
    #[json(default, skip_none)]
    pub overflow: Option<bool>,
    #[json(default, skip_none)]
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

fn parse_known<T: FromJson>(v: &Value, wrap: fn(T) -> Part) -> Option<Part> {
    T::from_json(v).ok().map(wrap)
}

impl FromJson for Part {
    fn from_json(v: &Value) -> Result<Self, JsonError> {
        if !v.is_object() {
            return Err(JsonError::new("a message part must be a JSON object"));
        }
        let parsed = match v.get("type").and_then(Value::as_str) {
            Some("text") => parse_known(v, Part::Text),
            Some("reasoning") => parse_known(v, Part::Reasoning),
            Some("tool") => parse_known(v, Part::Tool),
            Some("file") => parse_known(v, Part::File),
            Some("agent") => parse_known(v, Part::Agent),
            Some("subtask") => parse_known(v, Part::Subtask),
            Some("step-start") => parse_known(v, Part::StepStart),
            Some("step-finish") => parse_known(v, Part::StepFinish),
            Some("snapshot") => parse_known(v, Part::Snapshot),
            Some("patch") => parse_known(v, Part::Patch),
            Some("retry") => parse_known(v, Part::Retry),
            Some("compaction") => parse_known(v, Part::Compaction),
            _ => None,
        };
        Ok(parsed.unwrap_or_else(|| Part::Unknown(v.clone())))
    }
}

impl ToJson for Part {
    fn to_json(&self) -> Value {
        let body = match self {
            Part::Text(p) => p.to_json(),
            Part::Reasoning(p) => p.to_json(),
            Part::Tool(p) => p.to_json(),
            Part::File(p) => p.to_json(),
            Part::Agent(p) => p.to_json(),
            Part::Subtask(p) => p.to_json(),
            Part::StepStart(p) => p.to_json(),
            Part::StepFinish(p) => p.to_json(),
            Part::Snapshot(p) => p.to_json(),
            Part::Patch(p) => p.to_json(),
            Part::Retry(p) => p.to_json(),
            Part::Compaction(p) => p.to_json(),
            Part::Unknown(v) => return v.clone(),
        };
        crate::engine::json::tagged(body, "type", self.type_name())
    }
}

crate::serde_via_json!(Part);
