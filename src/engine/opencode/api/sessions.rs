//! Sessions: the session record, its create/update bodies and the agent loop status.

use serde::{Deserialize, Serialize};

use super::common::{Millis, Tokens};
use super::de::{de_count, de_opt_count};

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

    /// The title a list shows: the session's, or "Untitled session" before it has one.
    pub fn shown_title(&self) -> &str {
        if self.title.is_empty() {
            "Untitled session"
        } else {
            &self.title
        }
    }
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
