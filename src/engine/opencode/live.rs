//! The live connection to one OpenCode server: a single `GET /event` stream kept open for as
//! long as the caller polls [`run`], and [`ServerState`], the client-side mirror it feeds.
//!
//! Why it is shaped like this:
//! - OpenCode's event stream is known to drop, to stall, and to go "heartbeat-only" (events
//!   lost while `server.heartbeat` keeps arriving). So the driver reconnects with capped,
//!   jittered exponential backoff, treats 25 s without any event as a stall (the server sends a
//!   heartbeat about every 10 s), and treats a long run of heartbeats while a reply is running
//!   as a lost stream too.
//! - Events missed while disconnected are not replayed by the server, so after every (re)connect
//!   the driver refetches the session list and the open session's messages. Events arriving
//!   while that fetch runs are buffered and handed over with the [`Snapshot`]; applying them
//!   after the fetched state cannot duplicate a part (parts are keyed by id) and deltas the
//!   snapshot already contains are trimmed (see [`ServerState::apply`]).
//! - It is a plain future driven by the caller (no thread, no `Send`), using `engine::rt` for
//!   timers, so the same code runs in the desktop app, the CLI and the browser. Dropping the
//!   future closes the connection; closing the command channel ends it too.
//! - Updates go to a callback rather than into UI state: the face decides how often to repaint
//!   (the app coalesces to one repaint per frame).

use std::collections::{HashMap, HashSet};
use std::pin::pin;
use std::time::Duration;

use futures_channel::mpsc::UnboundedReceiver;
use futures_util::future::{join, join4, select, Either};
use futures_util::{Stream, StreamExt};

use super::api::{
    Event, MessageWithParts, Part, PermissionRequest, QuestionRequest, Session, SessionStatus,
};
use super::client::{OpenCodeClient, OpenCodeError};
use super::state::{Changed, SessionList, SessionView};
use crate::engine::rt::{self, Instant};

/// Timing of the live connection.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveOptions {
    /// No event at all (not even a heartbeat) for this long means the stream is dead.
    pub stall_after: Duration,
    /// Only heartbeats for this long while a session is busy means events are being lost.
    /// Generous, because a slow local model can think for a long time before its first token.
    pub quiet_while_busy: Duration,
    /// Wait before the first reconnect; doubled for each further attempt.
    pub first_backoff: Duration,
    /// Longest wait between reconnects.
    pub max_backoff: Duration,
}

impl Default for LiveOptions {
    fn default() -> Self {
        LiveOptions {
            stall_after: Duration::from_secs(25),
            quiet_while_busy: Duration::from_secs(90),
            first_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(10),
        }
    }
}

/// Where the connection stands, for the UI's status dot and banner.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum Connection {
    #[default]
    Connecting,
    Connected,
    /// The stream dropped; the next attempt starts after `delay`.
    Reconnecting {
        attempt: u32,
        delay: Duration,
        reason: String,
    },
    /// Retrying cannot help (wrong password, wrong address); waits for [`Command::Refresh`].
    Disconnected {
        reason: String,
    },
}

impl Connection {
    pub fn is_connected(&self) -> bool {
        matches!(self, Connection::Connected)
    }

    /// One line for people.
    pub fn label(&self) -> String {
        match self {
            Connection::Connecting => "Connecting…".to_owned(),
            Connection::Connected => "Connected".to_owned(),
            Connection::Reconnecting {
                attempt,
                delay,
                reason,
            } => format!(
                "Connection lost ({}). Reconnecting in {:.1} s (attempt {attempt})…",
                reason.trim_end_matches('.'),
                delay.as_secs_f64()
            ),
            Connection::Disconnected { reason } => reason.clone(),
        }
    }
}

/// What the caller can ask of a running connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Follow this session (fetch its messages now and after every reconnect), or none.
    Open(Option<String>),
    /// Refetch everything now; also retries at once when waiting or disconnected.
    Refresh,
}

/// The open session as fetched from the server.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenSnapshot {
    pub session_id: String,
    /// `None` when the server no longer has the session.
    pub session: Option<Session>,
    pub messages: Vec<MessageWithParts>,
}

/// Server state fetched after a (re)connect or on request.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Snapshot {
    /// `None` when only the open session was refetched.
    pub sessions: Option<Vec<Session>>,
    /// Non-idle sessions.
    pub statuses: HashMap<String, SessionStatus>,
    pub permissions: Vec<PermissionRequest>,
    pub questions: Vec<QuestionRequest>,
    pub open: Option<OpenSnapshot>,
    /// Events that arrived while the snapshot was fetched, in arrival order. They may or may
    /// not be contained in the snapshot; apply them after it.
    pub buffered: Vec<Event>,
}

/// What [`run`] reports.
// Events are not boxed: each is moved once into the callback, and boxing would add an
// allocation per streamed token.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum LiveUpdate {
    Connection(Connection),
    Event(Event),
    Snapshot(Box<Snapshot>),
}

/// Errors that a reconnect cannot fix.
fn is_fatal(e: &OpenCodeError) -> bool {
    matches!(
        e,
        OpenCodeError::Unauthorized { .. }
            | OpenCodeError::Unsupported { .. }
            | OpenCodeError::InvalidUrl { .. }
            | OpenCodeError::NotFound { .. }
            | OpenCodeError::BadRequest { .. }
    )
}

/// Delay before reconnect attempt `attempt` (1-based): `first_backoff · 2^(attempt-1)`, capped
/// at `max_backoff`, with ±20 % jitter so many clients do not reconnect in lockstep after a
/// server restart (never above the cap).
pub fn backoff(options: &LiveOptions, attempt: u32) -> Duration {
    let factor = 1u32 << attempt.saturating_sub(1).min(16);
    let base = options
        .first_backoff
        .saturating_mul(factor)
        .min(options.max_backoff);
    // UUIDv7 carries 62 random bits at its end, random on every target (no extra dependency).
    let random = (uuid::Uuid::now_v7().as_u128() & 0xffff) as f64 / f64::from(u16::MAX);
    base.mul_f64(0.8 + 0.4 * random).min(options.max_backoff)
}

enum End {
    /// The command channel closed: the owner is gone.
    Closed,
    Retry(String),
    Fatal(String),
}

#[allow(clippy::large_enum_variant)] // short-lived, see `LiveUpdate`
enum Step {
    Command(Option<Command>),
    Item(Option<Option<Result<Event, OpenCodeError>>>),
}

/// Keeps one event-stream connection to the server alive and reports through `sink`: the
/// connection state, every event, and a [`Snapshot`] after each (re)connect and each
/// [`Command`]. `open` is the session to follow from the start. Returns when `commands` is
/// closed; drop the future to stop at once.
pub async fn run<F: FnMut(LiveUpdate)>(
    client: OpenCodeClient,
    options: LiveOptions,
    open: Option<String>,
    mut commands: UnboundedReceiver<Command>,
    mut sink: F,
) {
    let mut open = open;
    let mut attempt: u32 = 0;
    sink(LiveUpdate::Connection(Connection::Connecting));
    loop {
        let end = connect_once(
            &client,
            &options,
            &mut commands,
            &mut open,
            &mut attempt,
            &mut sink,
        )
        .await;
        match end {
            End::Closed => return,
            End::Fatal(reason) => {
                tracing::warn!(%reason, "OpenCode event stream: giving up until asked again");
                sink(LiveUpdate::Connection(Connection::Disconnected { reason }));
                loop {
                    match commands.next().await {
                        None => return,
                        Some(Command::Open(id)) => open = id,
                        Some(Command::Refresh) => break,
                    }
                }
                attempt = 0;
                sink(LiveUpdate::Connection(Connection::Connecting));
            }
            End::Retry(reason) => {
                attempt = attempt.saturating_add(1);
                let delay = backoff(&options, attempt);
                tracing::info!(%reason, attempt, delay_ms = delay.as_millis() as u64, "OpenCode event stream: reconnecting");
                sink(LiveUpdate::Connection(Connection::Reconnecting {
                    attempt,
                    delay,
                    reason,
                }));
                let started = Instant::now();
                loop {
                    let left = delay.saturating_sub(started.elapsed());
                    if left.is_zero() {
                        break;
                    }
                    let step = match select(commands.next(), pin!(rt::sleep(left))).await {
                        Either::Left((c, _)) => Some(c),
                        Either::Right(_) => None,
                    };
                    match step {
                        None => break,
                        Some(None) => return,
                        Some(Some(Command::Open(id))) => open = id,
                        Some(Some(Command::Refresh)) => break,
                    }
                }
            }
        }
    }
}

async fn connect_once<F: FnMut(LiveUpdate)>(
    client: &OpenCodeClient,
    options: &LiveOptions,
    commands: &mut UnboundedReceiver<Command>,
    open: &mut Option<String>,
    attempt: &mut u32,
    sink: &mut F,
) -> End {
    let mut stream = Box::pin(client.event_stream());
    let first = match rt::timeout(options.stall_after, stream.next()).await {
        None => {
            return End::Retry(format!(
                "the server did not open the event stream within {} s",
                options.stall_after.as_secs()
            ))
        }
        Some(None) => return End::Retry("the server closed the event stream".to_owned()),
        Some(Some(Err(e @ OpenCodeError::NotFound { .. }))) => {
            // No event route: a server of another API says which, if it can.
            let e = client.other_api().await.unwrap_or(e);
            return End::Fatal(e.to_string());
        }
        Some(Some(Err(e))) if is_fatal(&e) => return End::Fatal(e.to_string()),
        Some(Some(Err(e))) => return End::Retry(e.to_string()),
        Some(Some(Ok(ev))) => ev,
    };
    tracing::info!(server = %client.base_url(), "OpenCode event stream: connected");
    sink(LiveUpdate::Connection(Connection::Connected));

    let mut busy: HashMap<String, SessionStatus> = HashMap::new();
    if let Err(end) = resync(
        client,
        open.clone(),
        true,
        &mut stream,
        &mut busy,
        sink,
        vec![first],
    )
    .await
    {
        return end;
    }
    // Only a connection that delivered its snapshot resets the backoff, so a server that
    // accepts and drops at once is not hammered.
    *attempt = 0;

    let mut last_event = Instant::now();
    let mut last_meaningful = Instant::now();
    loop {
        let left = options.stall_after.saturating_sub(last_event.elapsed());
        let step = match select(commands.next(), pin!(rt::timeout(left, stream.next()))).await {
            Either::Left((c, _)) => Step::Command(c),
            Either::Right((item, _)) => Step::Item(item),
        };
        match step {
            Step::Command(None) => return End::Closed,
            Step::Command(Some(cmd)) => {
                let full = match cmd {
                    Command::Open(id) => {
                        *open = id;
                        if open.is_none() {
                            continue;
                        }
                        false
                    }
                    Command::Refresh => true,
                };
                if let Err(end) = resync(
                    client,
                    open.clone(),
                    full,
                    &mut stream,
                    &mut busy,
                    sink,
                    Vec::new(),
                )
                .await
                {
                    return end;
                }
                last_event = Instant::now();
            }
            Step::Item(None) => {
                return End::Retry(format!("no events for {} s", options.stall_after.as_secs()))
            }
            Step::Item(Some(None)) => {
                return End::Retry("the server closed the event stream".to_owned())
            }
            Step::Item(Some(Some(Err(e)))) => match e {
                // One event this client cannot read; the stream itself is fine.
                OpenCodeError::Decode { .. } => {
                    tracing::warn!(error = %e, "skipping an OpenCode event");
                    last_event = Instant::now();
                }
                e => return End::Retry(e.to_string()),
            },
            Step::Item(Some(Some(Ok(ev)))) => {
                last_event = Instant::now();
                let heartbeat = matches!(ev, Event::ServerHeartbeat);
                if !heartbeat {
                    last_meaningful = Instant::now();
                }
                let was_busy = open.as_ref().is_some_and(|o| busy.contains_key(o));
                track_status(&mut busy, &ev);
                let run_ended = was_busy && open.as_ref().is_some_and(|o| !busy.contains_key(o));
                sink(LiveUpdate::Event(ev));
                if run_ended {
                    // The server's record of a finished run is the one to keep (an abort, for
                    // one, does not always update the message by event).
                    if let Err(end) = resync(
                        client,
                        open.clone(),
                        false,
                        &mut stream,
                        &mut busy,
                        sink,
                        Vec::new(),
                    )
                    .await
                    {
                        return end;
                    }
                    last_event = Instant::now();
                }
                if heartbeat
                    && !busy.is_empty()
                    && last_meaningful.elapsed() >= options.quiet_while_busy
                {
                    return End::Retry(format!(
                        "only heartbeats for {} s while a reply was running",
                        options.quiet_while_busy.as_secs()
                    ));
                }
            }
        }
    }
}

/// Fetches a snapshot (with the events arriving meanwhile, after those in `buffered`) and hands
/// it to `sink`; an `Err` says how the connection ends.
async fn resync<S, F>(
    client: &OpenCodeClient,
    open: Option<String>,
    full: bool,
    stream: &mut S,
    busy: &mut HashMap<String, SessionStatus>,
    sink: &mut F,
    mut buffered: Vec<Event>,
) -> Result<(), End>
where
    S: Stream<Item = Result<Event, OpenCodeError>> + Unpin,
    F: FnMut(LiveUpdate),
{
    match fetch_buffered(client, open, full, stream, &mut buffered).await {
        Ok(mut snap) => {
            busy.clone_from(&snap.statuses);
            for ev in &buffered {
                track_status(busy, ev);
            }
            snap.buffered = buffered;
            sink(LiveUpdate::Snapshot(Box::new(snap)));
            Ok(())
        }
        Err(Fetch::Failed(e)) if is_fatal(&e) => Err(End::Fatal(e.to_string())),
        Err(Fetch::Failed(e)) => Err(End::Retry(e.to_string())),
        Err(Fetch::StreamLost(reason)) => Err(End::Retry(reason)),
    }
}

fn track_status(busy: &mut HashMap<String, SessionStatus>, ev: &Event) {
    match ev {
        Event::SessionStatus { session_id, status } if status.is_busy() => {
            busy.insert(session_id.clone(), status.clone());
        }
        Event::SessionStatus { session_id, .. } | Event::SessionIdle { session_id } => {
            busy.remove(session_id);
        }
        _ => {}
    }
}

enum Fetch {
    Failed(OpenCodeError),
    StreamLost(String),
}

/// Fetches a snapshot while reading (and keeping) the events that arrive meanwhile, so none is
/// lost and the stream does not back up.
async fn fetch_buffered<S>(
    client: &OpenCodeClient,
    open: Option<String>,
    full: bool,
    stream: &mut S,
    buffer: &mut Vec<Event>,
) -> Result<Snapshot, Fetch>
where
    S: Stream<Item = Result<Event, OpenCodeError>> + Unpin,
{
    let mut fetch = pin!(fetch_snapshot(client, open, full));
    loop {
        let item = match select(fetch.as_mut(), stream.next()).await {
            Either::Left((result, _)) => return result.map_err(Fetch::Failed),
            Either::Right((item, _)) => item,
        };
        match item {
            Some(Ok(ev)) => buffer.push(ev),
            Some(Err(OpenCodeError::Decode { .. })) => {}
            Some(Err(e)) => return Err(Fetch::StreamLost(e.to_string())),
            None => {
                return Err(Fetch::StreamLost(
                    "the server closed the event stream".into(),
                ))
            }
        }
    }
}

async fn fetch_snapshot(
    client: &OpenCodeClient,
    open: Option<String>,
    full: bool,
) -> Result<Snapshot, OpenCodeError> {
    let sessions = async {
        if full {
            client.list_sessions().await.map(Some)
        } else {
            Ok(None)
        }
    };
    let (sessions, statuses, permissions, questions) = join4(
        sessions,
        client.session_status(),
        client.permissions(),
        client.questions(),
    )
    .await;
    let open = match open {
        None => None,
        Some(id) => {
            let (session, messages) = join(client.get_session(&id), client.messages(&id)).await;
            match session {
                Ok(s) => Some(OpenSnapshot {
                    session_id: id,
                    session: Some(s),
                    messages: messages?,
                }),
                Err(OpenCodeError::NotFound { .. }) => Some(OpenSnapshot {
                    session_id: id,
                    session: None,
                    messages: Vec::new(),
                }),
                Err(e) => return Err(e),
            }
        }
    };
    Ok(Snapshot {
        sessions: sessions?,
        statuses: statuses?.into_iter().filter(|(_, s)| s.is_busy()).collect(),
        permissions: permissions?,
        questions: questions?,
        open,
        buffered: Vec::new(),
    })
}

// ---------------------------------------------------------------------------------------------
// The client-side mirror
// ---------------------------------------------------------------------------------------------

/// What one [`ServerState::apply`] changed, and what deserves the user's attention.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Applied {
    /// The session list, statuses, or pending requests changed.
    pub list: bool,
    /// The open session's view changed.
    pub view: bool,
    pub connection: bool,
    /// Sessions whose run just ended (busy → idle).
    pub finished: Vec<String>,
    /// Permission requests and questions that just arrived: (session id, what is asked).
    pub asked: Vec<(String, String)>,
    /// The open session was just refetched from the server (time to refresh the offline copy).
    pub synced_open: bool,
}

impl Applied {
    pub fn any(&self) -> bool {
        self.list
            || self.view
            || self.connection
            || !self.finished.is_empty()
            || !self.asked.is_empty()
            || self.synced_open
    }

    fn merge(&mut self, other: Applied) {
        self.list |= other.list;
        self.view |= other.view;
        self.connection |= other.connection;
        self.finished.extend(other.finished);
        self.asked.extend(other.asked);
        self.synced_open |= other.synced_open;
    }
}

/// Everything a client shows about one server, mirrored from [`run`]'s updates.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ServerState {
    pub connection: Connection,
    pub sessions: SessionList,
    /// Non-idle sessions.
    pub statuses: HashMap<String, SessionStatus>,
    /// Open permission requests and questions of every session.
    pub permissions: Vec<PermissionRequest>,
    pub questions: Vec<QuestionRequest>,
    /// The session being looked at.
    pub view: Option<SessionView>,
    /// True once the open session's messages came from the server.
    pub view_loaded: bool,
}

impl ServerState {
    /// Follows `session_id` (or none). Returns true when that changed the view; the caller
    /// then sends [`Command::Open`] so the driver fetches it.
    pub fn open(&mut self, session_id: Option<&str>) -> bool {
        let current = self.view.as_ref().map(|v| v.session_id.as_str());
        if current == session_id {
            return false;
        }
        self.view = session_id.map(|id| {
            let mut v = SessionView::new(id);
            v.session = self.sessions.get(id).cloned();
            v.status = self.statuses.get(id).cloned().unwrap_or_default();
            v.pending_permissions = self
                .permissions
                .iter()
                .filter(|p| p.session_id == id)
                .cloned()
                .collect();
            v.pending_questions = self
                .questions
                .iter()
                .filter(|q| q.session_id == id)
                .cloned()
                .collect();
            v
        });
        self.view_loaded = false;
        true
    }

    /// Whether `session_id` is working on a prompt.
    pub fn is_busy(&self, session_id: &str) -> bool {
        self.statuses.contains_key(session_id)
    }

    pub fn apply(&mut self, update: &LiveUpdate) -> Applied {
        let mut out = Applied::default();
        match update {
            LiveUpdate::Connection(c) => {
                if &self.connection != c {
                    self.connection = c.clone();
                    out.connection = true;
                }
            }
            LiveUpdate::Event(ev) => self.apply_event(ev, &mut out),
            LiveUpdate::Snapshot(s) => self.apply_snapshot(s, &mut out),
        }
        out
    }

    fn apply_event(&mut self, ev: &Event, out: &mut Applied) {
        match ev {
            Event::SessionCreated { info } | Event::SessionUpdated { info } => {
                // A buffered event can be older than the fetched list; never go back in time.
                let older = self
                    .sessions
                    .get(&info.id)
                    .is_some_and(|s| s.time.updated > info.time.updated);
                if !older && self.sessions.apply(ev).any() {
                    out.list = true;
                }
            }
            Event::SessionDeleted { .. } if self.sessions.apply(ev).any() => out.list = true,
            Event::SessionStatus { session_id, status } => {
                self.set_status(session_id, status.clone(), out);
            }
            Event::SessionIdle { session_id } => {
                self.set_status(session_id, SessionStatus::Idle, out);
            }
            Event::PermissionAsked(req) => {
                match self.permissions.iter_mut().find(|p| p.id == req.id) {
                    Some(p) => *p = req.clone(),
                    None => {
                        self.permissions.push(req.clone());
                        out.asked
                            .push((req.session_id.clone(), describe_permission(req)));
                    }
                }
                out.list = true;
            }
            Event::PermissionReplied { request_id, .. } => {
                let before = self.permissions.len();
                self.permissions.retain(|p| &p.id != request_id);
                out.list |= before != self.permissions.len();
            }
            Event::QuestionAsked(q) => {
                match self.questions.iter_mut().find(|x| x.id == q.id) {
                    Some(x) => *x = q.clone(),
                    None => {
                        self.questions.push(q.clone());
                        let what = q
                            .questions
                            .first()
                            .map(|i| i.question.clone())
                            .unwrap_or_else(|| "The agent has a question.".into());
                        out.asked.push((q.session_id.clone(), what));
                    }
                }
                out.list = true;
            }
            Event::QuestionClosed { request_id, .. } => {
                let before = self.questions.len();
                self.questions.retain(|q| &q.id != request_id);
                out.list |= before != self.questions.len();
            }
            _ => {}
        }
        if let Some(view) = self.view.as_mut() {
            if view.apply(ev) != Changed::Nothing {
                out.view = true;
            }
        }
    }

    fn set_status(&mut self, session_id: &str, status: SessionStatus, out: &mut Applied) {
        let was_busy = self.statuses.contains_key(session_id);
        if status.is_busy() {
            if self.statuses.get(session_id) != Some(&status) {
                self.statuses.insert(session_id.to_owned(), status);
                out.list = true;
            }
        } else if was_busy {
            self.statuses.remove(session_id);
            out.finished.push(session_id.to_owned());
            out.list = true;
        }
    }

    fn apply_snapshot(&mut self, snap: &Snapshot, out: &mut Applied) {
        if let Some(sessions) = &snap.sessions {
            self.sessions.replace(sessions.clone());
            out.list = true;
        }
        for id in self.statuses.keys() {
            if !snap.statuses.contains_key(id) {
                out.finished.push(id.clone());
            }
        }
        if self.statuses != snap.statuses
            || self.permissions != snap.permissions
            || self.questions != snap.questions
        {
            out.list = true;
        }
        self.statuses.clone_from(&snap.statuses);
        self.permissions.clone_from(&snap.permissions);
        self.questions.clone_from(&snap.questions);

        let mut skip = HashSet::new();
        if let (Some(view), Some(open)) = (self.view.as_mut(), snap.open.as_ref()) {
            if view.session_id == open.session_id {
                let before = text_lengths(&view.messages);
                let fetched: HashMap<String, String> = open
                    .messages
                    .iter()
                    .flat_map(|m| &m.parts)
                    .filter(|p| !p.is_finished())
                    .filter_map(|p| Some((p.id()?.to_owned(), p.text()?.to_owned())))
                    .collect();
                view.replace_from_fetch(open.messages.clone());
                view.deleted = open.session.is_none();
                view.session.clone_from(&open.session);
                view.status = snap
                    .statuses
                    .get(&open.session_id)
                    .cloned()
                    .unwrap_or_default();
                view.pending_permissions = snap
                    .permissions
                    .iter()
                    .filter(|p| p.session_id == open.session_id)
                    .cloned()
                    .collect();
                view.pending_questions = snap
                    .questions
                    .iter()
                    .filter(|q| q.session_id == open.session_id)
                    .cloned()
                    .collect();
                skip = already_contained(view, &fetched, &before, &snap.buffered);
                self.view_loaded = true;
                out.view = true;
                out.synced_open = true;
            }
        }
        for (i, ev) in snap.buffered.iter().enumerate() {
            if !skip.contains(&i) {
                let mut one = Applied::default();
                self.apply_event(ev, &mut one);
                out.merge(one);
            }
        }
    }
}

fn describe_permission(req: &PermissionRequest) -> String {
    if req.patterns.is_empty() {
        format!("The agent asks for permission: {}.", req.permission)
    } else {
        format!(
            "The agent asks for permission: {} ({}).",
            req.permission,
            req.patterns.join(", ")
        )
    }
}

fn text_lengths(messages: &[MessageWithParts]) -> HashMap<String, usize> {
    messages
        .iter()
        .flat_map(|m| &m.parts)
        .filter_map(|p| Some((p.id()?.to_owned(), p.text()?.len())))
        .collect()
}

/// Indices of buffered `message.part.delta` events whose text the fetched snapshot already
/// holds. Only parts whose shown text is the fetched one, and longer than what was shown
/// before, can contain buffered deltas; for those the longest run of leading deltas that the
/// fetched text ends with is skipped. Everything else is applied: deltas only ever append.
fn already_contained(
    view: &SessionView,
    fetched: &HashMap<String, String>,
    before: &HashMap<String, usize>,
    buffered: &[Event],
) -> HashSet<usize> {
    let mut by_part: HashMap<&str, Vec<(usize, &str)>> = HashMap::new();
    for (i, ev) in buffered.iter().enumerate() {
        if let Event::MessagePartDelta {
            session_id,
            part_id,
            field,
            delta,
            ..
        } = ev
        {
            if session_id == &view.session_id && field == "text" {
                by_part.entry(part_id).or_default().push((i, delta));
            }
        }
    }
    let mut skip = HashSet::new();
    for (part_id, deltas) in by_part {
        let Some(fetched_text) = fetched.get(part_id) else {
            continue;
        };
        let shown = view
            .messages
            .iter()
            .flat_map(|m| &m.parts)
            .find(|p| p.id() == Some(part_id))
            .and_then(Part::text);
        let grew = fetched_text.len() > before.get(part_id).copied().unwrap_or(0);
        if shown != Some(fetched_text.as_str()) || !grew {
            continue;
        }
        let mut joined = String::new();
        let mut contained = 0;
        for (k, (_, d)) in deltas.iter().enumerate() {
            joined.push_str(d);
            if joined.len() > fetched_text.len() {
                break;
            }
            if fetched_text.ends_with(&joined) {
                contained = k + 1;
            }
        }
        skip.extend(deltas[..contained].iter().map(|(i, _)| *i));
    }
    skip
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::opencode::api::{MessageInfo, PartTime, TextPart, UserMessage};

    fn text_part(msg: &str, id: &str, text: &str, done: bool) -> Part {
        Part::Text(TextPart {
            id: id.into(),
            session_id: "ses_1".into(),
            message_id: msg.into(),
            text: text.into(),
            time: Some(PartTime {
                start: 1,
                end: done.then_some(2),
            }),
            ..TextPart::default()
        })
    }

    fn message(id: &str, parts: Vec<Part>) -> MessageWithParts {
        MessageWithParts {
            info: MessageInfo::User(UserMessage {
                id: id.into(),
                session_id: "ses_1".into(),
                ..UserMessage::default()
            }),
            parts,
        }
    }

    fn delta(part: &str, d: &str) -> Event {
        Event::MessagePartDelta {
            session_id: "ses_1".into(),
            message_id: "msg_1".into(),
            part_id: part.into(),
            field: "text".into(),
            delta: d.into(),
        }
    }

    fn shown_text(state: &ServerState) -> String {
        state.view.as_ref().expect("view").messages[0].parts[0]
            .text()
            .expect("text")
            .to_owned()
    }

    #[test]
    fn backoff_doubles_up_to_the_cap_with_bounded_jitter() {
        let o = LiveOptions::default();
        for _ in 0..50 {
            let d1 = backoff(&o, 1);
            assert!(d1 >= Duration::from_millis(400) && d1 <= Duration::from_millis(600));
            let d3 = backoff(&o, 3);
            assert!(d3 >= Duration::from_millis(1600) && d3 <= Duration::from_millis(2400));
            let d20 = backoff(&o, 20);
            assert!(
                d20 >= Duration::from_secs(8) && d20 <= o.max_backoff,
                "{d20:?}"
            );
            assert!(backoff(&o, u32::MAX) <= o.max_backoff);
        }
    }

    #[test]
    fn buffered_deltas_the_snapshot_already_has_are_not_applied_twice() {
        let mut state = ServerState::default();
        state.open(Some("ses_1"));
        // Before the reconnect the client had seen "Hel".
        state.apply(&LiveUpdate::Event(Event::MessagePartUpdated {
            part: text_part("msg_1", "prt_1", "Hel", false),
            delta: None,
        }));
        // The server's snapshot already holds "lo wor", which also arrives as buffered
        // deltas, followed by "ld" that the snapshot does not have.
        let snap = Snapshot {
            open: Some(OpenSnapshot {
                session_id: "ses_1".into(),
                session: None,
                messages: vec![message(
                    "msg_1",
                    vec![text_part("msg_1", "prt_1", "Hello wor", false)],
                )],
            }),
            buffered: vec![
                delta("prt_1", "lo"),
                delta("prt_1", " wor"),
                delta("prt_1", "ld"),
            ],
            ..Snapshot::default()
        };
        let applied = state.apply(&LiveUpdate::Snapshot(Box::new(snap)));
        assert!(applied.synced_open && applied.view);
        assert_eq!(shown_text(&state), "Hello world");
    }

    #[test]
    fn buffered_deltas_after_an_empty_snapshot_part_all_apply() {
        // OpenCode 1.18 stores a streaming text part as "" until it ends, so mid-reply the
        // snapshot is empty and every buffered delta is new.
        let mut state = ServerState::default();
        state.open(Some("ses_1"));
        let snap = Snapshot {
            open: Some(OpenSnapshot {
                session_id: "ses_1".into(),
                session: None,
                messages: vec![message(
                    "msg_1",
                    vec![text_part("msg_1", "prt_1", "", false)],
                )],
            }),
            buffered: vec![delta("prt_1", "ab"), delta("prt_1", "ab")],
            ..Snapshot::default()
        };
        state.apply(&LiveUpdate::Snapshot(Box::new(snap)));
        assert_eq!(shown_text(&state), "abab");
    }

    #[test]
    fn local_text_longer_than_the_snapshot_gets_all_buffered_deltas() {
        let mut state = ServerState::default();
        state.open(Some("ses_1"));
        state.apply(&LiveUpdate::Event(Event::MessagePartUpdated {
            part: text_part("msg_1", "prt_1", "", false),
            delta: None,
        }));
        state.apply(&LiveUpdate::Event(delta("prt_1", "one two")));
        let snap = Snapshot {
            open: Some(OpenSnapshot {
                session_id: "ses_1".into(),
                session: None,
                messages: vec![message(
                    "msg_1",
                    vec![text_part("msg_1", "prt_1", "", false)],
                )],
            }),
            // " two" happens to be how the local text ends; it is still new.
            buffered: vec![delta("prt_1", " two")],
            ..Snapshot::default()
        };
        state.apply(&LiveUpdate::Snapshot(Box::new(snap)));
        assert_eq!(shown_text(&state), "one two two");
    }

    #[test]
    fn runs_that_end_are_reported_once_and_requests_are_tracked() {
        let mut state = ServerState::default();
        let busy = state.apply(&LiveUpdate::Event(Event::SessionStatus {
            session_id: "ses_1".into(),
            status: SessionStatus::Busy,
        }));
        assert!(busy.list && busy.finished.is_empty());
        assert!(state.is_busy("ses_1"));
        let idle = state.apply(&LiveUpdate::Event(Event::SessionStatus {
            session_id: "ses_1".into(),
            status: SessionStatus::Idle,
        }));
        assert_eq!(idle.finished, vec!["ses_1".to_owned()]);
        let again = state.apply(&LiveUpdate::Event(Event::SessionIdle {
            session_id: "ses_1".into(),
        }));
        assert!(again.finished.is_empty(), "idle twice is one finished run");

        let req: PermissionRequest = serde_json::from_value(serde_json::json!({
            "id": "per_1", "sessionID": "ses_1", "permission": "bash",
            "patterns": ["rm -rf build"], "metadata": {}, "always": ["rm *"]
        }))
        .expect("permission");
        let asked = state.apply(&LiveUpdate::Event(Event::PermissionAsked(req.clone())));
        assert_eq!(asked.asked.len(), 1);
        assert!(asked.asked[0].1.contains("bash") && asked.asked[0].1.contains("rm -rf build"));
        let replied = state.apply(&LiveUpdate::Event(Event::PermissionReplied {
            session_id: "ses_1".into(),
            request_id: "per_1".into(),
            reply: "once".into(),
        }));
        assert!(replied.list && state.permissions.is_empty());
    }

    #[test]
    fn an_older_buffered_session_update_does_not_undo_the_snapshot() {
        let session = |title: &str, updated: u64| -> Session {
            serde_json::from_value(serde_json::json!({
                "id": "ses_1", "title": title, "time": {"created": 1, "updated": updated}
            }))
            .expect("session")
        };
        let mut state = ServerState::default();
        let snap = Snapshot {
            sessions: Some(vec![session("New title", 20)]),
            buffered: vec![Event::SessionUpdated {
                info: session("Old title", 10),
            }],
            ..Snapshot::default()
        };
        state.apply(&LiveUpdate::Snapshot(Box::new(snap)));
        assert_eq!(
            state.sessions.get("ses_1").map(|s| s.title.as_str()),
            Some("New title")
        );
    }
}
