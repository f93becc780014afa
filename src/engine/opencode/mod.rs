//! OpenCode-server backend protocol: wire types ([`api`]), an async HTTP + SSE client
//! ([`client`]), pure reducers that mirror a server's state from its events ([`state`]), the
//! self-healing live connection that feeds them ([`live`]), and the local offline copy of
//! sessions ([`offline`]).
//!
//! Kept free of UI code so it can be unit-tested against captured server traffic and shared
//! by every front end (desktop, mobile, web).

pub mod adapter;
pub mod api;
pub mod client;
pub mod live;
pub mod offline;
pub mod state;

#[cfg(test)]
mod tests;

pub use adapter::{OpenCodeApi, OpenCodeClient};
pub use api::{
    Agent, AssistantMessage, CreateSessionBody, Event, GlobalEvent, Health, MessageError,
    MessageInfo, MessageWithParts, ModelRef, Part, PermissionReply, PermissionReplyBody,
    PermissionRequest, PromptBody, PromptPart, ProvidersResponse, QuestionReplyBody,
    QuestionRequest, Session, SessionStatus, Tokens, UpdateSessionBody, UserMessage,
};
pub use client::{EventDecoder, HttpV1, OpenCodeError};
pub use live::{Command, Connection, LiveOptions, LiveUpdate, ServerState};
pub use state::{Changed, SessionList, SessionView};
