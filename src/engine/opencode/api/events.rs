//! Bus events of `GET /event` and `GET /global/event`, parsed into the typed [`Event`].

use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::messages::{MessageError, MessageInfo};
use super::parts::Part;
use super::permissions::{PermissionRequest, QuestionRequest};
use super::sessions::{Session, SessionStatus};

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
