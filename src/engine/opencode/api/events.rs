//! Bus events of `GET /event` and `GET /global/event`, parsed into the typed [`Event`].

use crate::engine::json::{self, FromJson, Json, JsonError, Value};

use super::messages::{MessageError, MessageInfo};
use super::parts::Part;
use super::permissions::{PermissionRequest, QuestionRequest};
use super::sessions::{Session, SessionStatus};

/// The `/event` payload as it arrives: `{id?, type, properties}`.
#[derive(Debug, Clone, PartialEq, Json)]
pub struct RawEvent {
    #[json(default, skip_none)]
    pub id: Option<String>,
    #[json(rename = "type")]
    pub kind: String,
    #[json(default)]
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

/// The `info` of an event's properties.
fn info<T: FromJson>(p: &Value) -> Result<T, JsonError> {
    json::field(json::object(p, "properties")?, "info")
}

#[derive(Json)]
struct StatusProps {
    #[json(rename = "sessionID")]
    session_id: String,
    status: SessionStatus,
}

#[derive(Json)]
struct SessionIdProps {
    #[json(rename = "sessionID")]
    session_id: String,
}

#[derive(Json)]
struct SessionErrorProps {
    #[json(rename = "sessionID", default)]
    session_id: Option<String>,
    #[json(default)]
    error: Option<MessageError>,
}

#[derive(Json)]
struct DiffProps {
    #[json(rename = "sessionID")]
    session_id: String,
    #[json(default)]
    diff: Vec<Value>,
}

#[derive(Json)]
struct MessageRemovedProps {
    #[json(rename = "sessionID")]
    session_id: String,
    #[json(rename = "messageID")]
    message_id: String,
}

#[derive(Json)]
struct PartUpdatedProps {
    part: Part,
    #[json(default)]
    delta: Option<String>,
}

#[derive(Json)]
struct PartDeltaProps {
    #[json(rename = "sessionID")]
    session_id: String,
    #[json(rename = "messageID")]
    message_id: String,
    #[json(rename = "partID")]
    part_id: String,
    field: String,
    delta: String,
}

#[derive(Json)]
struct PartRemovedProps {
    #[json(rename = "sessionID")]
    session_id: String,
    #[json(rename = "messageID")]
    message_id: String,
    #[json(rename = "partID")]
    part_id: String,
}

#[derive(Json)]
struct RequestReplyProps {
    #[json(rename = "sessionID")]
    session_id: String,
    #[json(rename = "requestID")]
    request_id: String,
    #[json(default)]
    reply: Option<String>,
}

impl Event {
    /// Turns a raw event into a typed one. Unknown types become [`Event::Other`]; a known type
    /// whose properties do not match is an error (that is schema drift worth surfacing).
    pub fn from_raw(raw: RawEvent) -> Result<Event, JsonError> {
        let p = raw.properties;
        Ok(match raw.kind.as_str() {
            "server.connected" => Event::ServerConnected,
            "server.heartbeat" => Event::ServerHeartbeat,
            "session.created" => Event::SessionCreated { info: info(&p)? },
            "session.updated" => Event::SessionUpdated { info: info(&p)? },
            "session.deleted" => Event::SessionDeleted { info: info(&p)? },
            "session.status" => {
                let s = StatusProps::from_json(&p)?;
                Event::SessionStatus {
                    session_id: s.session_id,
                    status: s.status,
                }
            }
            "session.idle" => Event::SessionIdle {
                session_id: SessionIdProps::from_json(&p)?.session_id,
            },
            "session.error" => {
                let s = SessionErrorProps::from_json(&p)?;
                Event::SessionError {
                    session_id: s.session_id,
                    error: s.error,
                }
            }
            "session.diff" => {
                let s = DiffProps::from_json(&p)?;
                Event::SessionDiff {
                    session_id: s.session_id,
                    diff: s.diff,
                }
            }
            "message.updated" => Event::MessageUpdated { info: info(&p)? },
            "message.removed" => {
                let s = MessageRemovedProps::from_json(&p)?;
                Event::MessageRemoved {
                    session_id: s.session_id,
                    message_id: s.message_id,
                }
            }
            "message.part.updated" => {
                let s = PartUpdatedProps::from_json(&p)?;
                Event::MessagePartUpdated {
                    part: s.part,
                    delta: s.delta,
                }
            }
            "message.part.delta" => {
                let s = PartDeltaProps::from_json(&p)?;
                Event::MessagePartDelta {
                    session_id: s.session_id,
                    message_id: s.message_id,
                    part_id: s.part_id,
                    field: s.field,
                    delta: s.delta,
                }
            }
            "message.part.removed" => {
                let s = PartRemovedProps::from_json(&p)?;
                Event::MessagePartRemoved {
                    session_id: s.session_id,
                    message_id: s.message_id,
                    part_id: s.part_id,
                }
            }
            "permission.asked" => Event::PermissionAsked(PermissionRequest::from_json(&p)?),
            "permission.replied" => {
                let s = RequestReplyProps::from_json(&p)?;
                Event::PermissionReplied {
                    session_id: s.session_id,
                    request_id: s.request_id,
                    reply: s.reply.unwrap_or_default(),
                }
            }
            "question.asked" => Event::QuestionAsked(QuestionRequest::from_json(&p)?),
            "question.replied" | "question.rejected" => {
                let s = RequestReplyProps::from_json(&p)?;
                Event::QuestionClosed {
                    session_id: s.session_id,
                    request_id: s.request_id,
                }
            }
            _ => Event::Other { kind: raw.kind },
        })
    }

    /// Parses one SSE `data:` payload of `GET /event`.
    pub fn parse(data: &str) -> Result<Event, JsonError> {
        Event::from_raw(json::from_str(data)?)
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

impl FromJson for Event {
    fn from_json(v: &Value) -> Result<Self, JsonError> {
        Event::from_raw(RawEvent::from_json(v)?)
    }
}

/// One `GET /global/event` item: `{directory?, project?, payload}`. The first
/// `server.connected` carries only `payload`.
#[derive(Debug, Clone, PartialEq)]
pub struct GlobalEvent {
    pub directory: Option<String>,
    pub project: Option<String>,
    pub payload: Event,
}

impl GlobalEvent {
    /// Parses one SSE `data:` payload of `GET /global/event`.
    pub fn parse(data: &str) -> Result<GlobalEvent, JsonError> {
        let v: Value = json::from_str(data)?;
        let o = json::object(&v, "GlobalEvent")?;
        Ok(GlobalEvent {
            directory: json::field(o, "directory")?,
            project: json::field(o, "project")?,
            payload: json::field(o, "payload")?,
        })
    }
}
