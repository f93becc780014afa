//! Domain types persisted by the store and exchanged with the views and the CLI.
//!
//! Conversations are trees: every message points at its parent and the conversation remembers
//! its current leaf (`head_id`). Regenerating a reply or editing a user message adds a sibling
//! instead of overwriting, so earlier answers stay reachable, and ChatGPT's mapping tree imports
//! without loss. IDs are UUIDv7 strings: sortable by creation time and stable across export/import.

use serde::{Deserialize, Serialize};

pub type Id = String;

pub fn new_id() -> Id {
    uuid::Uuid::now_v7().to_string()
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    #[cfg(not(target_family = "wasm"))]
    {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0)
    }
    #[cfg(target_family = "wasm")]
    {
        js_sys::Date::now() as i64
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum BackendKind {
    #[serde(rename = "openai-compatible")]
    OpenAiCompatible,
    #[serde(rename = "opencode")]
    OpenCode,
}

impl BackendKind {
    pub fn as_str(self) -> &'static str {
        match self {
            BackendKind::OpenAiCompatible => "openai-compatible",
            BackendKind::OpenCode => "opencode",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            BackendKind::OpenAiCompatible => "OpenAI-compatible",
            BackendKind::OpenCode => "OpenCode",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "openai-compatible" | "openai" => Some(BackendKind::OpenAiCompatible),
            "opencode" => Some(BackendKind::OpenCode),
            _ => None,
        }
    }
}

/// A configured backend. The API key (or OpenCode password) is never part of this struct: it
/// lives in the secret store under `id`, or is read from the environment variable `key_env`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Profile {
    pub id: Id,
    pub name: String,
    pub kind: BackendKind,
    pub base_url: String,
    pub default_model: Option<String>,
    #[serde(default)]
    pub headers: Vec<(String, String)>,
    /// Read the key from this environment variable at use time instead of the keychain.
    pub key_env: Option<String>,
    /// OpenCode Basic-auth user name (default `opencode`).
    pub username: Option<String>,
    /// OpenCode project directory (`?directory=`).
    pub directory: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Profile {
    pub fn new(name: impl Into<String>, kind: BackendKind, base_url: impl Into<String>) -> Self {
        let now = now_ms();
        Profile {
            id: new_id(),
            name: name.into(),
            kind,
            base_url: base_url.into(),
            default_model: None,
            headers: Vec::new(),
            key_env: None,
            username: None,
            directory: None,
            created_at: now,
            updated_at: now,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SamplingParams {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u32>,
    /// The model's context window in tokens, when the user knows it; drives history trimming.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub context_tokens: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Conversation {
    pub id: Id,
    pub title: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub pinned: bool,
    pub archived: bool,
    pub profile_id: Option<Id>,
    pub model: Option<String>,
    pub system_prompt: Option<String>,
    #[serde(default)]
    pub params: SamplingParams,
    /// The current leaf of the message tree; the visible thread is its ancestor chain.
    pub head_id: Option<Id>,
    /// For OpenCode backends: the server session this conversation mirrors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_session: Option<String>,
}

impl Conversation {
    pub fn new(title: impl Into<String>) -> Self {
        let now = now_ms();
        Conversation {
            id: new_id(),
            title: title.into(),
            created_at: now,
            updated_at: now,
            pinned: false,
            archived: false,
            profile_id: None,
            model: None,
            system_prompt: None,
            params: SamplingParams::default(),
            head_id: None,
            remote_session: None,
        }
    }
}

/// One change to a conversation's own fields. Saving a message and choosing a branch are the
/// only ways to move its head, so no edit carries one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ConversationEdit {
    Title(String),
    Pinned(bool),
    Archived(bool),
    /// A new backend; the model goes with it (models are per backend).
    Backend {
        profile_id: Option<Id>,
        model: Option<String>,
    },
    Model(Option<String>),
    SystemPrompt(Option<String>),
    Params(SamplingParams),
    /// The OpenCode session an offline copy mirrors.
    RemoteSession(Option<String>),
    CreatedAt(i64),
}

impl ConversationEdit {
    /// A sentence for an edit that must not be saved.
    pub fn validate(&self) -> crate::engine::error::Result<()> {
        use crate::engine::error::Error;
        match self {
            ConversationEdit::Title(t) if t.trim().is_empty() => Err(Error::Invalid(
                "A conversation needs a title; the old one was kept.".into(),
            )),
            ConversationEdit::Params(p) => p.validate(),
            _ => Ok(()),
        }
    }
}

impl SamplingParams {
    /// Each parameter's valid range; a value outside it gets a sentence and nothing is saved.
    pub fn validate(&self) -> crate::engine::error::Result<()> {
        use crate::engine::error::Error;
        let bad = |what: &str, range: &str| {
            Err(Error::Invalid(format!(
                "{what} must be {range}; the previous value was kept."
            )))
        };
        if let Some(t) = self.temperature {
            if !(0.0..=2.0).contains(&t) {
                return bad("Temperature", "between 0 and 2");
            }
        }
        if let Some(p) = self.top_p {
            if !(0.0..=1.0).contains(&p) {
                return bad("Top P", "between 0 and 1");
            }
        }
        if self.max_tokens == Some(0) {
            return bad("Max tokens", "at least 1");
        }
        if let Some(c) = self.context_tokens {
            if c < 256 {
                return bad("The context size", "at least 256 tokens");
            }
        }
        Ok(())
    }
}

/// A conversation row as the history list shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConversationSummary {
    pub conversation: Conversation,
    pub profile_name: Option<String>,
    pub profile_kind: Option<BackendKind>,
    pub message_count: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    System,
    User,
    Assistant,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::System => "system",
            Role::User => "user",
            Role::Assistant => "assistant",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "system" => Some(Role::System),
            "user" => Some(Role::User),
            "assistant" => Some(Role::Assistant),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MessageStatus {
    Complete,
    Streaming,
    Interrupted,
    Error,
}

impl MessageStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            MessageStatus::Complete => "complete",
            MessageStatus::Streaming => "streaming",
            MessageStatus::Interrupted => "interrupted",
            MessageStatus::Error => "error",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "complete" => Some(MessageStatus::Complete),
            "streaming" => Some(MessageStatus::Streaming),
            "interrupted" => Some(MessageStatus::Interrupted),
            "error" => Some(MessageStatus::Error),
            _ => None,
        }
    }
}

/// One ordered piece of a message. Plain chat uses `Text` (and `Reasoning` when the model sends
/// it); OpenCode sessions add tool calls, files and patches, kept as their server JSON so nothing
/// is lost when the server adds fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Part {
    Text { text: String },
    Reasoning { text: String },
    Tool { data: serde_json::Value },
    File { data: serde_json::Value },
    Patch { data: serde_json::Value },
    Other { data: serde_json::Value },
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning_tokens: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub id: Id,
    pub conversation_id: Id,
    pub parent_id: Option<Id>,
    pub role: Role,
    pub parts: Vec<Part>,
    pub status: MessageStatus,
    pub error: Option<String>,
    pub model: Option<String>,
    pub usage: Option<Usage>,
    pub cost: Option<f64>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Message {
    pub fn new(conversation_id: &str, parent_id: Option<Id>, role: Role, text: &str) -> Self {
        let now = now_ms();
        Message {
            id: new_id(),
            conversation_id: conversation_id.to_owned(),
            parent_id,
            role,
            parts: if text.is_empty() {
                Vec::new()
            } else {
                vec![Part::Text {
                    text: text.to_owned(),
                }]
            },
            status: MessageStatus::Complete,
            error: None,
            model: None,
            usage: None,
            cost: None,
            created_at: now,
            updated_at: now,
        }
    }

    /// The visible text: all text parts joined. Indexed for search.
    pub fn text(&self) -> String {
        let mut out = String::new();
        for part in &self.parts {
            if let Part::Text { text } = part {
                if !out.is_empty() {
                    out.push('\n');
                }
                out.push_str(text);
            }
        }
        out
    }

    pub fn reasoning(&self) -> String {
        let mut out = String::new();
        for part in &self.parts {
            if let Part::Reasoning { text } = part {
                out.push_str(text);
            }
        }
        out
    }
}

/// A message on the visible thread, with its position among alternatives (siblings that share
/// its parent) so the view can offer "‹ 2/3 ›".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThreadMessage {
    pub message: Message,
    pub sibling_index: usize,
    pub sibling_count: usize,
    pub sibling_ids: Vec<Id>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchHit {
    pub conversation_id: Id,
    pub conversation_title: String,
    pub message_id: Id,
    pub role: Role,
    /// The matching excerpt; matched terms are wrapped in `HIT_START`/`HIT_END`.
    pub snippet: String,
    pub created_at: i64,
}

/// Markers around matched terms in snippets: private-use characters that never occur in text,
/// so the view can split on them without parsing any markup.
pub const HIT_START: char = '\u{E000}';
pub const HIT_END: char = '\u{E001}';

/// Split a snippet into (text, is_match) runs.
pub fn snippet_runs(snippet: &str) -> Vec<(String, bool)> {
    let mut runs = Vec::new();
    let mut cur = String::new();
    let mut in_hit = false;
    for c in snippet.chars() {
        if c == HIT_START || c == HIT_END {
            if !cur.is_empty() {
                runs.push((std::mem::take(&mut cur), in_hit));
            }
            in_hit = c == HIT_START;
        } else {
            cur.push(c);
        }
    }
    if !cur.is_empty() {
        runs.push((cur, in_hit));
    }
    runs
}

/// Filter for the history list.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ConversationFilter {
    pub archived: bool,
    pub profile_id: Option<Id>,
    pub limit: u32,
    pub offset: u32,
}

/// "2026-11-22 14:05" (UTC) for lists and the CLI.
pub fn format_time(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(ms / 1000)
        .ok()
        .and_then(|t| {
            t.format(time::macros::format_description!(
                "[year]-[month]-[day] [hour]:[minute]"
            ))
            .ok()
        })
        .unwrap_or_default()
}
