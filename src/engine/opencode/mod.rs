//! OpenCode-server backend protocol: wire types ([`api`]), an async HTTP + SSE client
//! ([`client`]) and pure reducers that mirror a server's state from its events ([`state`]).
//!
//! Kept free of UI code so it can be unit-tested against captured server traffic and shared
//! by every front end (desktop, mobile, web).

pub mod api;
pub mod client;
pub mod state;

#[cfg(test)]
mod tests;

pub use api::{
    Agent, AssistantMessage, CreateSessionBody, Event, GlobalEvent, Health, MessageError,
    MessageInfo, MessageWithParts, ModelRef, Part, PermissionReply, PermissionReplyBody,
    PermissionRequest, PromptBody, PromptPart, ProvidersResponse, QuestionReplyBody,
    QuestionRequest, Session, SessionStatus, Tokens, UpdateSessionBody, UserMessage,
};
pub use client::{EventDecoder, OpenCodeClient, OpenCodeError};
pub use state::{Changed, SessionList, SessionView};
