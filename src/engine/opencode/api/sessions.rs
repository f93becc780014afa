//! Sessions: the session record, its create/update bodies and the agent loop status.

use crate::engine::json::Json;

use super::common::{Millis, Tokens};
use super::de::{de_count, de_opt_count};

/// Times of a session (epoch ms).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Json)]
pub struct SessionTime {
    #[json(default, with = "de_count")]
    pub created: Millis,
    #[json(default, with = "de_count")]
    pub updated: Millis,
    #[json(default, with = "de_opt_count", skip_none)]
    pub archived: Option<Millis>,
    #[json(default, with = "de_opt_count", skip_none)]
    pub compacting: Option<Millis>,
}

/// File-change summary of a session.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Json)]
pub struct SessionSummary {
    #[json(default, with = "de_count")]
    pub additions: u64,
    #[json(default, with = "de_count")]
    pub deletions: u64,
    #[json(default, with = "de_count")]
    pub files: u64,
}

/// A conversation on the server (`GET /session`, `session.updated` events, ...).
#[derive(Debug, Clone, PartialEq, Json)]
pub struct Session {
    pub id: String,
    #[json(default)]
    pub slug: String,
    #[json(default)]
    pub title: String,
    #[json(default)]
    pub directory: String,
    #[json(default)]
    pub version: String,
    #[json(default)]
    pub time: SessionTime,
    #[json(rename = "projectID", default, skip_none)]
    pub project_id: Option<String>,
    #[json(rename = "parentID", default, skip_none)]
    pub parent_id: Option<String>,
    #[json(default, skip_none)]
    pub path: Option<String>,
    #[json(default, skip_none)]
    pub cost: Option<f64>,
    #[json(default, skip_none)]
    pub tokens: Option<Tokens>,
    #[json(default, skip_none)]
    pub summary: Option<SessionSummary>,
    #[json(default, skip_none)]
    pub agent: Option<String>,
    #[json(default, skip_none)]
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
#[derive(Debug, Clone, PartialEq, Eq, Json)]
pub struct SessionModel {
    pub id: String,
    #[json(rename = "providerID")]
    pub provider_id: String,
    #[json(default, skip_none)]
    pub variant: Option<String>,
}

/// `POST /session` body. `{}` (all `None`) is valid and creates an untitled session.
#[derive(Debug, Clone, Default, PartialEq, Json)]
pub struct CreateSessionBody {
    #[json(default, skip_none)]
    pub title: Option<String>,
    #[json(rename = "parentID", default, skip_none)]
    pub parent_id: Option<String>,
    #[json(default, skip_none)]
    pub agent: Option<String>,
    #[json(default, skip_none)]
    pub model: Option<SessionModel>,
}

/// `PATCH /session/{id}` body (renaming is all the chat client does with it).
#[derive(Debug, Clone, Default, PartialEq, Json)]
pub struct UpdateSessionBody {
    #[json(default, skip_none)]
    pub title: Option<String>,
}

/// State of a session's agent loop (`GET /session/status`, `session.status` events).
#[derive(Debug, Clone, Default, PartialEq, Eq, Json)]
#[json(tag = "type", rename_all = "lowercase")]
pub enum SessionStatus {
    /// Nothing running. Sessions absent from `GET /session/status` are idle.
    #[default]
    Idle,
    /// The model is working on a prompt.
    Busy,
    /// A provider call failed and is retried at `next` (epoch ms); the UI should offer abort.
    Retry {
        #[json(default)]
        attempt: u32,
        #[json(default)]
        message: String,
        #[json(default, with = "de_count")]
        next: Millis,
    },
    /// A status type newer than this client; treated like busy by [`SessionStatus::is_busy`].
    #[json(other)]
    Unknown,
}

impl SessionStatus {
    /// True while a prompt is being worked on (busy, retrying, or an unknown non-idle state).
    pub fn is_busy(&self) -> bool {
        !matches!(self, SessionStatus::Idle)
    }
}
