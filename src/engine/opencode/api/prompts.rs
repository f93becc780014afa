//! Prompts the client sends: input parts and the `prompt_async` / `message` body.

use crate::engine::json::Json;

use super::common::ModelRef;

/// An input part of a prompt (the schema's `TextPartInput | FilePartInput | AgentPartInput |
/// SubtaskPartInput`).
#[derive(Debug, Clone, PartialEq, Json)]
#[json(tag = "type", rename_all = "lowercase")]
pub enum PromptPart {
    Text {
        text: String,
    },
    /// An attachment; `url` is usually a `data:` URL or a `file://` path on the server.
    File {
        mime: String,
        #[json(default, skip_none)]
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
#[derive(Debug, Clone, Default, PartialEq, Json)]
pub struct PromptBody {
    pub parts: Vec<PromptPart>,
    #[json(default, skip_none)]
    pub model: Option<ModelRef>,
    #[json(default, skip_none)]
    pub agent: Option<String>,
    #[json(default, skip_none)]
    pub system: Option<String>,
    /// Lets the client choose the user message id (must start with `msg`), so an optimistic
    /// local bubble can be matched with the server's `message.updated`.
    #[json(rename = "messageID", default, skip_none)]
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
