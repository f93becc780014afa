//! Pure reducers for a client's view of an OpenCode server.
//!
//! The server is the source of truth; the client only mirrors it from the `/event` stream and
//! from fetches. Keeping the mirroring logic free of I/O and UI makes it testable by replaying
//! captured streams, and lets the UI layer simply re-render when [`Changed`] says so.
//!
//! Ordering: message and part ids are time-ordered (`msg_`/`prt_` followed by a monotonic
//! hex timestamp), and the server itself lists messages and parts sorted by id. So both are
//! kept sorted by id, which makes the order independent of event arrival order.
//!
//! Deltas for a part that is not known yet: a placeholder is created (a text part, inside a
//! placeholder assistant message if the message is unknown too) instead of buffering. On a
//! single ordered SSE stream a delta only precedes its part when the client missed the part's
//! `message.part.updated` (it connected mid-reply), and then showing the streamed text at once
//! is better than holding it back until the final update. The placeholder is replaced
//! wholesale by the next `message.part.updated` / `message.updated` for the same id, or by
//! [`SessionView::replace_from_fetch`], so it never survives next to the real part.

use std::collections::HashSet;

use super::api::{
    AssistantMessage, Event, MessageError, MessageInfo, MessageTime, MessageWithParts, Part,
    PermissionRequest, QuestionRequest, Session, SessionStatus, TextPart, Tokens, ToolPart,
};

/// What an applied event changed, so the UI knows what to refresh.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Changed {
    /// The event was not about this view, or changed nothing.
    Nothing,
    /// The session record (title, cost, ...) changed.
    Session,
    /// Messages or parts changed.
    Messages,
    /// Busy / idle / retry changed.
    Status,
    /// Pending permission requests or questions changed.
    Prompts,
    /// A session error arrived.
    Error,
}

impl Changed {
    pub fn any(self) -> bool {
        self != Changed::Nothing
    }
}

/// Everything a chat screen shows about one session.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SessionView {
    /// The session this view follows; events for other sessions are ignored.
    pub session_id: String,
    pub session: Option<Session>,
    /// Sorted by message id (server order).
    pub messages: Vec<MessageWithParts>,
    pub status: SessionStatus,
    pub pending_permissions: Vec<PermissionRequest>,
    pub pending_questions: Vec<QuestionRequest>,
    /// The last `session.error`, cleared when a new prompt makes the session busy.
    pub last_error: Option<MessageError>,
    /// True after `session.deleted` for this session.
    pub deleted: bool,
    /// Ids of placeholder parts and messages created for deltas that arrived first.
    placeholders: HashSet<String>,
}

impl SessionView {
    pub fn new(session_id: impl Into<String>) -> Self {
        SessionView {
            session_id: session_id.into(),
            ..SessionView::default()
        }
    }

    /// True when `id` is a placeholder created for an early delta.
    pub fn is_placeholder(&self, id: &str) -> bool {
        self.placeholders.contains(id)
    }

    fn message_index(&self, message_id: &str) -> Result<usize, usize> {
        self.messages
            .binary_search_by(|m| m.info.id().cmp(message_id))
    }

    /// Index of the message, creating a placeholder assistant message when it is unknown.
    fn message_or_placeholder(&mut self, message_id: &str) -> usize {
        match self.message_index(message_id) {
            Ok(i) => i,
            Err(i) => {
                let info = MessageInfo::Assistant(AssistantMessage {
                    id: message_id.to_owned(),
                    session_id: self.session_id.clone(),
                    time: MessageTime::default(),
                    ..AssistantMessage::default()
                });
                self.messages.insert(
                    i,
                    MessageWithParts {
                        info,
                        parts: Vec::new(),
                    },
                );
                self.placeholders.insert(message_id.to_owned());
                i
            }
        }
    }

    /// Applies one event from `/event`. Returns what changed.
    pub fn apply(&mut self, ev: &Event) -> Changed {
        if let Some(sid) = ev.session_id() {
            if sid != self.session_id {
                return Changed::Nothing;
            }
        }
        match ev {
            Event::SessionCreated { info } | Event::SessionUpdated { info } => {
                if self.session.as_ref() == Some(info) {
                    return Changed::Nothing;
                }
                self.session = Some(info.clone());
                self.deleted = false;
                Changed::Session
            }
            Event::SessionDeleted { .. } => {
                self.session = None;
                self.messages.clear();
                self.pending_permissions.clear();
                self.pending_questions.clear();
                self.placeholders.clear();
                self.deleted = true;
                Changed::Session
            }
            Event::SessionStatus { status, .. } => self.set_status(status.clone()),
            Event::SessionIdle { .. } => self.set_status(SessionStatus::Idle),
            Event::SessionError { session_id, error } => {
                // An error without a session id is server-wide; a session screen leaves it
                // to whoever shows global problems.
                if session_id.is_none() {
                    return Changed::Nothing;
                }
                self.last_error = error.clone();
                Changed::Error
            }
            Event::MessageUpdated { info } => {
                let id = info.id().to_owned();
                self.placeholders.remove(&id);
                match self.message_index(&id) {
                    Ok(i) => {
                        if &self.messages[i].info == info {
                            return Changed::Nothing;
                        }
                        self.messages[i].info = info.clone();
                    }
                    Err(i) => self.messages.insert(
                        i,
                        MessageWithParts {
                            info: info.clone(),
                            parts: Vec::new(),
                        },
                    ),
                }
                Changed::Messages
            }
            Event::MessageRemoved { message_id, .. } => match self.message_index(message_id) {
                Ok(i) => {
                    let removed = self.messages.remove(i);
                    self.placeholders.remove(message_id);
                    for p in &removed.parts {
                        if let Some(id) = p.id() {
                            self.placeholders.remove(id);
                        }
                    }
                    Changed::Messages
                }
                Err(_) => Changed::Nothing,
            },
            Event::MessagePartUpdated { part, .. } => self.upsert_part(part),
            Event::MessagePartDelta {
                message_id,
                part_id,
                field,
                delta,
                ..
            } => self.apply_delta(message_id, part_id, field, delta),
            Event::MessagePartRemoved {
                message_id,
                part_id,
                ..
            } => {
                let Ok(mi) = self.message_index(message_id) else {
                    return Changed::Nothing;
                };
                let parts = &mut self.messages[mi].parts;
                let before = parts.len();
                parts.retain(|p| p.id() != Some(part_id.as_str()));
                self.placeholders.remove(part_id);
                if parts.len() == before {
                    Changed::Nothing
                } else {
                    Changed::Messages
                }
            }
            Event::PermissionAsked(req) => {
                if let Some(existing) = self.pending_permissions.iter_mut().find(|p| p.id == req.id)
                {
                    *existing = req.clone();
                } else {
                    self.pending_permissions.push(req.clone());
                }
                Changed::Prompts
            }
            Event::PermissionReplied { request_id, .. } => {
                let before = self.pending_permissions.len();
                self.pending_permissions.retain(|p| &p.id != request_id);
                if before == self.pending_permissions.len() {
                    Changed::Nothing
                } else {
                    Changed::Prompts
                }
            }
            Event::QuestionAsked(q) => {
                if let Some(existing) = self.pending_questions.iter_mut().find(|x| x.id == q.id) {
                    *existing = q.clone();
                } else {
                    self.pending_questions.push(q.clone());
                }
                Changed::Prompts
            }
            Event::QuestionClosed { request_id, .. } => {
                let before = self.pending_questions.len();
                self.pending_questions.retain(|q| &q.id != request_id);
                if before == self.pending_questions.len() {
                    Changed::Nothing
                } else {
                    Changed::Prompts
                }
            }
            Event::ServerConnected
            | Event::ServerHeartbeat
            | Event::SessionDiff { .. }
            | Event::Other { .. } => Changed::Nothing,
        }
    }

    fn set_status(&mut self, status: SessionStatus) -> Changed {
        if self.status == status {
            return Changed::Nothing;
        }
        if status == SessionStatus::Busy && !self.status.is_busy() {
            // A new run started: the previous run's error no longer describes the session.
            self.last_error = None;
        }
        self.status = status;
        Changed::Status
    }

    fn upsert_part(&mut self, part: &Part) -> Changed {
        let (Some(message_id), Some(part_id)) = (part.message_id(), part.id()) else {
            // An unknown part without ids cannot be placed; nothing to show.
            return Changed::Nothing;
        };
        let mi = self.message_or_placeholder(message_id);
        let parts = &mut self.messages[mi].parts;
        match parts.binary_search_by(|p| p.id().unwrap_or("").cmp(part_id)) {
            Ok(pi) => {
                if &parts[pi] == part {
                    return Changed::Nothing;
                }
                parts[pi] = part.clone();
            }
            Err(pi) => parts.insert(pi, part.clone()),
        }
        self.placeholders.remove(part_id);
        Changed::Messages
    }

    fn apply_delta(
        &mut self,
        message_id: &str,
        part_id: &str,
        field: &str,
        delta: &str,
    ) -> Changed {
        if delta.is_empty() {
            return Changed::Nothing;
        }
        let known_message = self.message_index(message_id).is_ok();
        if !known_message && field != "text" {
            // Not a streamed text field: a whole-part update will bring it.
            return Changed::Nothing;
        }
        let mi = self.message_or_placeholder(message_id);
        let session_id = self.session_id.clone();
        let parts = &mut self.messages[mi].parts;
        let pi = match parts.binary_search_by(|p| p.id().unwrap_or("").cmp(part_id)) {
            Ok(pi) => pi,
            Err(pi) => {
                if field != "text" {
                    return Changed::Nothing;
                }
                parts.insert(
                    pi,
                    Part::Text(TextPart {
                        id: part_id.to_owned(),
                        session_id,
                        message_id: message_id.to_owned(),
                        ..TextPart::default()
                    }),
                );
                self.placeholders.insert(part_id.to_owned());
                pi
            }
        };
        match parts[pi].delta_target(field) {
            Some(target) => {
                target.push_str(delta);
                Changed::Messages
            }
            None => Changed::Nothing,
        }
    }

    /// Replaces the messages with a fresh `GET /session/{id}/message` result, e.g. after the
    /// event stream reconnected and events may have been missed.
    ///
    /// The result equals the fetched list, with one exception that keeps streaming smooth: a
    /// text/reasoning part that is still streaming (no `time.end` on the server) keeps the
    /// local text when that text strictly extends the fetched one. That happens when deltas
    /// arrived after the server took its snapshot; they only ever append, so a strict
    /// extension cannot contain duplicated text, and the next full part update settles it.
    pub fn replace_from_fetch(&mut self, msgs: Vec<MessageWithParts>) {
        let mut fetched: Vec<MessageWithParts> = msgs
            .into_iter()
            .filter(|m| m.info.session_id() == self.session_id || m.info.session_id().is_empty())
            .collect();
        fetched.sort_by(|a, b| a.info.id().cmp(b.info.id()));
        for m in &mut fetched {
            m.parts
                .sort_by(|a, b| a.id().unwrap_or("").cmp(b.id().unwrap_or("")));
            m.parts
                .dedup_by(|a, b| a.id().is_some() && a.id() == b.id());
            let Ok(local_mi) = self.message_index(m.info.id()) else {
                continue;
            };
            let local = &self.messages[local_mi];
            for part in &mut m.parts {
                if part.is_finished() {
                    continue;
                }
                let Some(pid) = part.id() else { continue };
                let Some(local_text) = local
                    .parts
                    .iter()
                    .find(|p| p.id() == Some(pid))
                    .and_then(Part::text)
                else {
                    continue;
                };
                let longer = part
                    .text()
                    .is_some_and(|t| local_text.len() > t.len() && local_text.starts_with(t));
                if longer {
                    let local_text = local_text.to_owned();
                    if let Some(target) = part.delta_target("text") {
                        *target = local_text;
                    }
                }
            }
        }
        self.messages = fetched;
        self.placeholders.clear();
    }

    /// Sum of cost and tokens over the assistant messages.
    pub fn totals(&self) -> (f64, Tokens) {
        let mut cost = 0.0;
        let mut tokens = Tokens::default();
        for m in &self.messages {
            if let Some(a) = m.info.as_assistant() {
                cost += a.cost;
                tokens.add(&a.tokens);
            }
        }
        (cost, tokens)
    }

    /// The newest assistant message, e.g. to show its streaming text or its error.
    pub fn last_assistant(&self) -> Option<&MessageWithParts> {
        self.messages
            .iter()
            .rev()
            .find(|m| m.info.as_assistant().is_some())
    }

    /// The tool calls of this session held by a request waiting for the user.
    pub fn waiting_calls(&self) -> Vec<WaitingCall> {
        waiting_calls(&self.pending_permissions, &self.pending_questions)
    }
}

/// What a tool call waits for when a request of its own waits for the user: the server keeps
/// such a call "running" until the answer comes, but nothing runs meanwhile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ToolWait {
    /// A permission request (allow once / always / reject).
    Approval,
    /// A question from the agent.
    Answer,
}

/// A tool call held by a request waiting for the user, named as its tool part names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaitingCall {
    pub message_id: String,
    pub call_id: String,
    pub wait: ToolWait,
}

impl WaitingCall {
    /// Whether this is the call of `tool` (same message, same call id).
    pub fn is_of(&self, tool: &ToolPart) -> bool {
        self.call_id == tool.call_id && self.message_id == tool.message_id
    }
}

/// The tool calls the requests point at (`tool: {messageID, callID}`); a request without
/// `tool` (one not raised by a tool call) holds none.
pub fn waiting_calls(
    permissions: &[PermissionRequest],
    questions: &[QuestionRequest],
) -> Vec<WaitingCall> {
    let asks = permissions
        .iter()
        .filter_map(|p| Some((p.tool.as_ref()?, ToolWait::Approval)));
    let questions = questions
        .iter()
        .filter_map(|q| Some((q.tool.as_ref()?, ToolWait::Answer)));
    asks.chain(questions)
        .map(|(tool, wait)| WaitingCall {
            message_id: tool.message_id.clone(),
            call_id: tool.call_id.clone(),
            wait,
        })
        .collect()
}

/// The session list of a server, most recently updated first (as `GET /session` returns it).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SessionList {
    pub sessions: Vec<Session>,
}

impl SessionList {
    pub fn new(sessions: Vec<Session>) -> Self {
        let mut list = SessionList { sessions };
        list.sort();
        list
    }

    /// Replaces the list with a fresh `GET /session` result.
    pub fn replace(&mut self, sessions: Vec<Session>) {
        self.sessions = sessions;
        self.sort();
    }

    fn sort(&mut self) {
        // Newest activity first; ties broken by id (newer ids sort higher) so order is stable.
        self.sessions.sort_by(|a, b| {
            b.time
                .updated
                .cmp(&a.time.updated)
                .then_with(|| b.id.cmp(&a.id))
        });
    }

    pub fn get(&self, id: &str) -> Option<&Session> {
        self.sessions.iter().find(|s| s.id == id)
    }

    /// Top-level sessions only (sub-agent sessions have a parent).
    pub fn roots(&self) -> impl Iterator<Item = &Session> {
        self.sessions.iter().filter(|s| !s.is_child())
    }

    /// Applies `session.created`, `session.updated` and `session.deleted`; other events are
    /// ignored.
    pub fn apply(&mut self, ev: &Event) -> Changed {
        match ev {
            Event::SessionCreated { info } | Event::SessionUpdated { info } => {
                match self.sessions.iter_mut().find(|s| s.id == info.id) {
                    Some(existing) if existing == info => return Changed::Nothing,
                    Some(existing) => *existing = info.clone(),
                    None => self.sessions.push(info.clone()),
                }
                self.sort();
                Changed::Session
            }
            Event::SessionDeleted { info } => {
                let before = self.sessions.len();
                self.sessions.retain(|s| s.id != info.id);
                if before == self.sessions.len() {
                    Changed::Nothing
                } else {
                    Changed::Session
                }
            }
            _ => Changed::Nothing,
        }
    }
}
