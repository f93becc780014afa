//! OpenCode server connections, owned by the root scope so they outlive any one view: one live
//! `/event` connection per OpenCode backend profile (`engine::opencode::live`), its mirror of
//! the server's state, and the actions the session screens take (send, abort, answer
//! permissions and questions, create/rename/delete sessions).
//!
//! Updates from the live connection land in a plain `ServerState`; a pump copies what changed
//! into signals at most once per frame, however fast tokens stream. The same pump raises a
//! desktop notification when a run ends or asks for approval while the window is unfocused,
//! and refreshes the offline copy of the open session after every resync and every run.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;
use std::time::Duration;

use dioxus::core::spawn_forever;

use crate::state::tasks::{spawn_stoppable, Stopper};
use dioxus::prelude::*;
use futures_channel::mpsc::{unbounded, UnboundedSender};
use futures_util::StreamExt;

use crate::engine::model::{Id, Profile};
use crate::engine::opencode::api::{
    Agent, CreateSessionBody, MessageWithParts, ModelRef, PermissionReplyBody, PermissionRequest,
    PromptBody, ProvidersResponse, QuestionReplyBody, QuestionRequest, Session, SessionStatus,
};
use crate::engine::opencode::client::OpenCodeClient;
use crate::engine::opencode::live::{
    self, Applied, Command, Connection, LiveOptions, LiveUpdate, ServerState,
};
use crate::engine::opencode::offline;
use crate::engine::opencode::state::SessionView;
use crate::engine::rt;
use crate::platform::Services;
use crate::state::{AppState, View};

const FRAME: Duration = Duration::from_millis(16);

/// What the screens show about one OpenCode backend.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ServerInfo {
    pub connection: Connection,
    /// From `GET /global/health`.
    pub version: Option<String>,
    /// A setup problem (no password in the keychain, bad URL, ...), as a sentence.
    pub problem: Option<String>,
    /// Top-level, unarchived sessions, newest first; meaningful once `synced`.
    pub sessions: Vec<Session>,
    pub synced: bool,
    /// Non-idle sessions.
    pub statuses: HashMap<String, SessionStatus>,
    pub permissions: Vec<PermissionRequest>,
    pub questions: Vec<QuestionRequest>,
    pub providers: Option<ProvidersResponse>,
    pub agents: Vec<Agent>,
}

/// The session on screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenSession {
    pub profile_id: Id,
    pub session_id: String,
}

/// The non-reactive half of a connection.
struct Conn {
    fingerprint: String,
    profile: Profile,
    client: Option<OpenCodeClient>,
    commands: Option<UnboundedSender<Command>>,
    state: ServerState,
    tasks: Vec<Stopper>,
}

impl Conn {
    fn stop(&mut self) {
        self.commands = None;
        for t in self.tasks.drain(..) {
            t.stop();
        }
    }

    fn send(&self, cmd: Command) {
        if let Some(tx) = &self.commands {
            let _ = tx.unbounded_send(cmd);
        }
    }
}

type ConnRef = Rc<RefCell<Conn>>;

#[derive(Default)]
struct Pending {
    applied: Applied,
    scheduled: bool,
}

/// Root-scope controller of every OpenCode connection (provided in `App`).
#[derive(Clone, Copy)]
pub struct OpenCodeHub {
    pub servers: Signal<BTreeMap<Id, ServerInfo>>,
    pub open: Signal<Option<OpenSession>>,
    /// The open session as the server has it; `None` until its first fetch.
    pub view: Signal<Option<SessionView>>,
    /// The open session's offline copy: (session id, title, messages), shown until `view`
    /// arrives (and its title while the server has none to give).
    pub cached: Signal<Option<(String, String, Vec<MessageWithParts>)>>,
    /// The last failed action (send, abort, reply...), as a sentence.
    pub notice: Signal<Option<String>>,
    /// An action is on its way to the server.
    pub sending: Signal<bool>,
    /// A prompt that did not reach its server, (session id, text): the session's message box
    /// takes it back (`views::session`), so nothing typed is lost to an unreachable server.
    pub unsent: Signal<Option<(String, String)>>,
    /// Where the session screen's back button goes: the view the session was opened from.
    pub back_to: Signal<View>,
    /// The app's history revision, which the lists of sessions read the saved copies by:
    /// bumped when the hub changes the copies' titles and when a session leaves a server's list.
    history_rev: Signal<u64>,
    conns: Signal<HashMap<Id, ConnRef>>,
    /// Kept here because the hub's tasks run in the root scope, above the component that
    /// provides the services as context.
    services: Signal<Services>,
}

/// Said after why a prompt did not reach its server.
const NOT_SENT: &str = "The message was not sent: it is back in the message box.";

pub fn use_hub() -> OpenCodeHub {
    use_context::<OpenCodeHub>()
}

fn fingerprint(p: &Profile) -> String {
    format!(
        "{}|{}|{:?}|{:?}|{:?}|{}",
        p.id, p.base_url, p.username, p.directory, p.key_env, p.updated_at
    )
}

impl OpenCodeHub {
    /// Fresh hub; must be called inside a component (signals belong to its scope).
    pub fn new(services: Services, state: AppState) -> Self {
        OpenCodeHub {
            servers: Signal::new(BTreeMap::new()),
            open: Signal::new(None),
            view: Signal::new(None),
            back_to: Signal::new(View::History),
            history_rev: state.history_rev,
            cached: Signal::new(None),
            notice: Signal::new(None),
            sending: Signal::new(false),
            unsent: Signal::new(None),
            conns: Signal::new(HashMap::new()),
            services: Signal::new(services),
        }
    }

    fn conn(&self, profile_id: &str) -> Option<ConnRef> {
        self.conns.peek().get(profile_id).cloned()
    }

    /// The HTTP client of a backend, once its connection is set up.
    pub fn client(&self, profile_id: &str) -> Option<OpenCodeClient> {
        self.conn(profile_id)
            .and_then(|c| c.borrow().client.clone())
    }

    /// Keeps exactly one live connection per OpenCode profile in `profiles`: starts missing
    /// ones, restarts those whose settings changed, and stops those of removed profiles.
    pub fn sync_profiles(mut self, services: &Services, profiles: &[Profile]) {
        let wanted: HashMap<&str, &Profile> = profiles
            .iter()
            .filter(|p| p.kind == crate::engine::model::BackendKind::OpenCode)
            .map(|p| (p.id.as_str(), p))
            .collect();
        let stale: Vec<Id> = self
            .conns
            .peek()
            .iter()
            .filter(|(id, c)| {
                wanted
                    .get(id.as_str())
                    .is_none_or(|p| fingerprint(p) != c.borrow().fingerprint)
            })
            .map(|(id, _)| id.clone())
            .collect();
        for id in stale {
            if let Some(c) = self.conns.write().remove(&id) {
                c.borrow_mut().stop();
            }
            self.servers.write().remove(&id);
        }
        for (id, p) in wanted {
            if !self.conns.peek().contains_key(id) {
                self.start(services, p.clone());
            }
        }
    }

    fn start(mut self, services: &Services, profile: Profile) {
        let id = profile.id.clone();
        let conn = Rc::new(RefCell::new(Conn {
            fingerprint: fingerprint(&profile),
            profile: profile.clone(),
            client: None,
            commands: None,
            state: ServerState::default(),
            tasks: Vec::new(),
        }));
        self.conns.write().insert(id.clone(), conn.clone());
        self.servers
            .write()
            .insert(id.clone(), ServerInfo::default());
        let services = services.clone();
        let conn_for_setup = conn.clone();
        let setup = spawn_stoppable(async move {
            let conn = conn_for_setup;
            let client = match services
                .resolve_key(&profile)
                .await
                .and_then(|pw| crate::platform::ops::opencode_client(&services, &profile, pw))
            {
                Ok(c) => c,
                Err(e) => {
                    let reason = e.to_string();
                    if let Some(info) = self.servers.write().get_mut(&id) {
                        info.problem = Some(reason.clone());
                        info.connection = Connection::Disconnected { reason };
                    }
                    return;
                }
            };
            let open = self
                .open
                .peek()
                .as_ref()
                .filter(|o| o.profile_id == id)
                .map(|o| o.session_id.clone());
            let (tx, rx) = unbounded();
            let pending = Rc::new(RefCell::new(Pending::default()));
            let (wake_tx, mut wake_rx) = unbounded::<()>();
            {
                let mut c = conn.borrow_mut();
                c.client = Some(client.clone());
                c.commands = Some(tx);
                c.state.open(open.as_deref());
            }
            let sink = {
                let conn = conn.clone();
                let pending = pending.clone();
                move |u: LiveUpdate| {
                    let applied = conn.borrow_mut().state.apply(&u);
                    if !applied.any() {
                        return;
                    }
                    let mut p = pending.borrow_mut();
                    merge(&mut p.applied, applied);
                    if !p.scheduled {
                        p.scheduled = true;
                        let _ = wake_tx.unbounded_send(());
                    }
                }
            };
            let driver = spawn_stoppable(live::run(
                client.clone(),
                LiveOptions::default(),
                open,
                rx,
                sink,
            ));
            let pump = spawn_stoppable({
                let conn = conn.clone();
                let services = services.clone();
                let id = id.clone();
                async move {
                    while wake_rx.next().await.is_some() {
                        // Everything that arrives within one frame is painted once.
                        rt::sleep(FRAME).await;
                        let applied = {
                            let mut p = pending.borrow_mut();
                            p.scheduled = false;
                            std::mem::take(&mut p.applied)
                        };
                        self.flush(&services, &id, &conn, applied).await;
                    }
                }
            });
            conn.borrow_mut().tasks.extend([driver, pump]);
            self.refresh_server_info(&id, &client).await;
        });
        conn.borrow_mut().tasks.push(setup);
    }

    /// Health (version), models and agents of a server.
    async fn refresh_server_info(mut self, id: &str, client: &OpenCodeClient) {
        let health = client.health().await;
        let (providers, agents) =
            futures_util::future::join(client.providers(), client.agents()).await;
        let mut servers = self.servers.write();
        let Some(info) = servers.get_mut(id) else {
            return;
        };
        match health {
            Ok(h) => {
                info.version = h.version;
                info.problem = None;
            }
            Err(e) => info.problem = Some(e.to_string()),
        }
        if let Ok(p) = providers {
            info.providers = Some(p);
        }
        if let Ok(a) = agents {
            info.agents = a;
        }
    }

    async fn flush(mut self, services: &Services, id: &str, conn: &ConnRef, applied: Applied) {
        let open = self.open.peek().clone().filter(|o| o.profile_id == id);
        let (info_update, view_update, save, finished_titles, client) = {
            let c = conn.borrow();
            let st = &c.state;
            let info_update = (applied.list || applied.connection).then(|| {
                (
                    st.connection.clone(),
                    st.sessions
                        .roots()
                        .filter(|s| !s.is_archived())
                        .cloned()
                        .collect::<Vec<_>>(),
                    st.statuses.clone(),
                    st.permissions.clone(),
                    st.questions.clone(),
                )
            });
            let view_update = match (&open, &st.view) {
                (Some(o), Some(v))
                    if applied.view && st.view_loaded && v.session_id == o.session_id =>
                {
                    Some(v.clone())
                }
                _ => None,
            };
            // The offline copy follows the server after each resync and each finished run.
            let save = match (&open, &st.view) {
                (Some(o), Some(v))
                    if st.view_loaded
                        && v.session_id == o.session_id
                        && (applied.synced_open || applied.finished.contains(&o.session_id)) =>
                {
                    Some((
                        v.session_id.clone(),
                        v.session.clone(),
                        v.messages.clone(),
                        v.deleted,
                    ))
                }
                _ => None,
            };
            let titles: Vec<String> = applied
                .finished
                .iter()
                .map(|sid| {
                    st.sessions
                        .get(sid)
                        .map(|s| s.title.clone())
                        .unwrap_or_else(|| "An OpenCode session".to_owned())
                })
                .collect();
            (info_update, view_update, save, titles, c.client.clone())
        };
        let reconnected =
            applied.connection && info_update.as_ref().is_some_and(|(c, ..)| c.is_connected());
        // The saved copies follow the server's list: the titles it gave or changed (all of them
        // on its first list) go to the copies, so a copy listed once the server no longer has
        // its session shows the last title it had there; and when a session leaves the list,
        // the lists read the copies again (one saved since they last did, when the session was
        // opened, is then listed).
        let mut retitled: Vec<(String, String)> = Vec::new();
        let mut reread = false;
        if let (Some((_, sessions, ..)), Some(before)) = (&info_update, self.servers.peek().get(id))
        {
            reread = before.synced
                && before
                    .sessions
                    .iter()
                    .any(|b| sessions.iter().all(|s| s.id != b.id));
            for s in sessions {
                let known = before.synced
                    && before
                        .sessions
                        .iter()
                        .any(|b| b.id == s.id && b.title == s.title);
                if !known {
                    retitled.push((s.id.clone(), s.title.clone()));
                }
            }
        }
        if let Some((connection, sessions, statuses, permissions, questions)) = info_update {
            if let Some(info) = self.servers.write().get_mut(id) {
                if applied.list {
                    info.synced = true;
                }
                info.connection = connection;
                info.sessions = sessions;
                info.statuses = statuses;
                info.permissions = permissions;
                info.questions = questions;
            }
        }
        if let Some(v) = view_update {
            // Deleted on the server while open: its copy saved here is what the screen shows
            // (read now: the copy may have been saved after the session was opened).
            if v.deleted {
                self.load_copy(id, &v.session_id);
            }
            self.view.set(Some(v));
        }
        if reconnected
            && self
                .servers
                .peek()
                .get(id)
                .is_some_and(|i| i.version.is_none())
        {
            if let Some(client) = client.clone() {
                let id = id.to_owned();
                spawn_forever(async move { self.refresh_server_info(&id, &client).await });
            }
        }
        if !finished_titles.is_empty() || !applied.asked.is_empty() {
            notify_if_unfocused(services, &finished_titles, &applied.asked).await;
        }
        if !retitled.is_empty() {
            match services.store.retitle_copies(id.to_owned(), retitled).await {
                Ok(0) => {}
                Ok(_) => reread = true,
                Err(e) => tracing::warn!(error = %e, "could not retitle the saved copies"),
            }
        }
        if reread {
            *self.history_rev.write() += 1;
        }
        if let Some((session_id, session, messages, deleted)) = save {
            if !deleted {
                let profile_id = conn.borrow().profile.id.clone();
                let store = services.store.clone();
                if let Err(e) = offline::save_copy(
                    &store,
                    &profile_id,
                    &session_id,
                    session.as_ref(),
                    &messages,
                    None,
                )
                .await
                {
                    tracing::warn!(error = %e, "could not save the offline copy of a session");
                }
            }
        }
    }

    /// Shows a session: the offline copy at once, then the server's state as it arrives.
    pub fn open_session(mut self, state: AppState, profile_id: &str, session_id: &str) {
        let target = OpenSession {
            profile_id: profile_id.to_owned(),
            session_id: session_id.to_owned(),
        };
        let mut view = state.view;
        let from = *view.peek();
        if from != View::Session {
            self.back_to.set(from);
        }
        view.set(View::Session);
        if self.open.peek().as_ref() == Some(&target) {
            return;
        }
        self.open.set(Some(target));
        self.view.set(None);
        self.cached.set(None);
        self.notice.set(None);
        for (pid, conn) in self.conns.peek().iter() {
            let mut c = conn.borrow_mut();
            let follow = (pid == profile_id).then_some(session_id);
            if c.state.open(follow) {
                c.send(Command::Open(follow.map(str::to_owned)));
            }
        }
        self.load_copy(profile_id, session_id);
    }

    /// Reads the offline copy of the open session into `cached`.
    fn load_copy(mut self, profile_id: &str, session_id: &str) {
        let services = self.services.peek().clone();
        let (pid, sid) = (profile_id.to_owned(), session_id.to_owned());
        spawn_forever(async move {
            match offline::load_copy(&services.store, &pid, &sid).await {
                Ok(Some((copy, messages))) => {
                    let still_open = self
                        .open
                        .peek()
                        .as_ref()
                        .is_some_and(|o| o.session_id == sid);
                    if still_open {
                        self.cached.set(Some((sid, copy.title, messages)));
                    }
                }
                Ok(None) => {}
                Err(e) => tracing::warn!(error = %e, "could not read the offline copy"),
            }
        });
    }

    /// Asks a server to refetch everything now (and to retry at once when disconnected).
    pub fn refresh(&self, profile_id: &str) {
        if let Some(c) = self.conn(profile_id) {
            c.borrow().send(Command::Refresh);
        }
    }

    fn fail(mut self, e: impl std::fmt::Display) {
        tracing::warn!(error = %e, "OpenCode action failed");
        self.notice.set(Some(e.to_string()));
    }

    fn require_client(self, profile_id: &str) -> Option<OpenCodeClient> {
        let client = self.client(profile_id);
        if client.is_none() {
            self.fail(
                "This OpenCode server is not connected yet. Wait a moment, or check its settings.",
            );
        }
        client
    }

    /// A new chat sent to an OpenCode server: a session is created there, opened, and given
    /// the prompt (with `model`, "provider/model", when one is chosen). The text stays in the
    /// chat's message box until the session exists, so a failure (a sentence) loses nothing;
    /// then the new chat's saved draft is emptied.
    pub fn start_session(
        mut self,
        state: AppState,
        profile_id: &str,
        text: String,
        model: Option<String>,
    ) {
        let Some(client) = self.client(profile_id) else {
            state.show_toast(
                "This OpenCode server is not connected yet. Wait a moment, or check its settings; your message is still in the box.".into(),
            );
            return;
        };
        let services = self.services.peek().clone();
        let pid = profile_id.to_owned();
        let model = model.as_deref().and_then(ModelRef::parse);
        self.sending.set(true);
        self.notice.set(None);
        spawn_forever(async move {
            let session = client.create_session(&CreateSessionBody::default()).await;
            let result = match session {
                Ok(session) => {
                    if let Err(e) = services.store.set_draft("new".into(), String::new()).await {
                        tracing::warn!(error = %e, "emptying the new chat's draft failed");
                    }
                    self.open_session(state, &pid, &session.id);
                    let mut body = PromptBody::text(text.clone());
                    body.model = model;
                    match client.prompt_async(&session.id, &body).await {
                        Ok(()) => Ok(()),
                        // Kept where a new chat finds it.
                        Err(e) => match services.store.set_draft("new".into(), text).await {
                            Ok(()) => {
                                Err(format!("{e} Your message is the new chat's draft again."))
                            }
                            Err(_) => Err(e.to_string()),
                        },
                    }
                }
                Err(e) => {
                    state.toast_error(format!("{e} Your message is still in the box."));
                    Ok(())
                }
            };
            self.sending.set(false);
            if let Err(e) = result {
                self.fail(e);
            }
        });
    }

    /// Creates a session on the server and opens it.
    pub fn create_session(self, state: AppState, profile_id: &str) {
        let Some(client) = self.require_client(profile_id) else {
            return;
        };
        let pid = profile_id.to_owned();
        spawn_forever(async move {
            match client.create_session(&CreateSessionBody::default()).await {
                Ok(s) => self.open_session(state, &pid, &s.id),
                Err(e) => self.fail(e),
            }
        });
    }

    pub fn rename_session(self, profile_id: &str, session_id: &str, title: String) {
        let Some(client) = self.require_client(profile_id) else {
            return;
        };
        let services = self.services.peek().clone();
        let (pid, sid) = (profile_id.to_owned(), session_id.to_owned());
        spawn_forever(async move {
            match client.rename_session(&sid, &title).await {
                Ok(_) => match services.store.find_remote_conversation(pid, sid).await {
                    Ok(Some(c)) => {
                        if let Err(e) = services.store.rename_conversation(c.id, title).await {
                            self.fail(e);
                        }
                    }
                    Ok(None) => {}
                    Err(e) => self.fail(e),
                },
                Err(e) => self.fail(e),
            }
        });
    }

    /// Deletes a session on the server, and its offline copy.
    pub fn delete_session(mut self, state: AppState, profile_id: &str, session_id: &str) {
        let Some(client) = self.require_client(profile_id) else {
            return;
        };
        let services = self.services.peek().clone();
        let (pid, sid) = (profile_id.to_owned(), session_id.to_owned());
        spawn_forever(async move {
            match client.delete_session(&sid).await {
                Ok(_) => {
                    if let Ok(Some(c)) = services
                        .store
                        .find_remote_conversation(pid, sid.clone())
                        .await
                    {
                        let _ = services.store.delete_conversation(c.id).await;
                        let _ = services
                            .store
                            .purge_deleted(crate::engine::model::now_ms())
                            .await;
                        state.touch_history();
                    }
                    if self
                        .open
                        .peek()
                        .as_ref()
                        .is_some_and(|o| o.session_id == sid)
                    {
                        self.open.set(None);
                        let mut view = state.view;
                        if *view.peek() == View::Session {
                            view.set(View::History);
                        }
                    }
                }
                Err(e) => self.fail(e),
            }
        });
    }

    /// Runs an action against the open session's server, with the busy flag and error notice.
    /// False when it could not start (no session open, or its server not connected).
    fn act<F, Fut>(self, f: F) -> bool
    where
        F: FnOnce(OpenCodeClient, String) -> Fut + 'static,
        Fut: std::future::Future<Output = Result<(), String>> + 'static,
    {
        match self.open.peek().clone() {
            Some(open) => self.act_on(&open.profile_id, move |client| f(client, open.session_id)),
            None => false,
        }
    }

    /// Sends a prompt to the open session; the reply arrives through the event stream. A
    /// prompt the server did not take goes to [`Self::unsent`], and the notice says so.
    pub fn send(self, text: String, model: Option<ModelRef>, agent: Option<String>) {
        let Some(sid) = self.open.peek().as_ref().map(|o| o.session_id.clone()) else {
            return;
        };
        let mut unsent = self.unsent;
        let kept = text.clone();
        let started = self.act(move |client, sid| async move {
            let mut body = PromptBody::text(text.clone());
            body.model = model;
            body.agent = agent;
            let sent = client.prompt_async(&sid, &body).await;
            sent.map_err(|e| {
                unsent.set(Some((sid, text)));
                format!("{e} {NOT_SENT}")
            })
        });
        if !started {
            unsent.set(Some((sid, kept)));
            let why = self.notice.peek().clone().unwrap_or_default();
            self.fail(format!("{why} {NOT_SENT}").trim_start());
        }
    }

    pub fn abort(self) {
        self.act(|client, sid| async move {
            client
                .abort(&sid)
                .await
                .map(drop)
                .map_err(|e| e.to_string())
        });
    }

    /// Answers a permission request of the open session's server.
    pub fn reply_permission(self, request_id: String, reply: PermissionReplyBody) {
        if let Some(open) = self.open.peek().clone() {
            self.reply_permission_on(&open.profile_id, request_id, reply);
        }
    }

    pub fn answer_question(self, request_id: String, answers: Vec<Vec<String>>) {
        if let Some(open) = self.open.peek().clone() {
            self.answer_question_on(&open.profile_id, request_id, answers);
        }
    }

    pub fn reject_question(self, request_id: String) {
        if let Some(open) = self.open.peek().clone() {
            self.reject_question_on(&open.profile_id, request_id);
        }
    }

    /// Answers a permission request of any connected server (the approvals list). The request
    /// leaves the list when the server says it was answered (`permission.replied`).
    pub fn reply_permission_on(
        self,
        profile_id: &str,
        request_id: String,
        body: PermissionReplyBody,
    ) {
        self.act_on(profile_id, move |client| async move {
            client
                .reply_permission(&request_id, &body)
                .await
                .map(drop)
                .map_err(|e| e.to_string())
        });
    }

    pub fn answer_question_on(
        self,
        profile_id: &str,
        request_id: String,
        answers: Vec<Vec<String>>,
    ) {
        self.act_on(profile_id, move |client| async move {
            client
                .reply_question(&request_id, &QuestionReplyBody { answers })
                .await
                .map(drop)
                .map_err(|e| e.to_string())
        });
    }

    pub fn reject_question_on(self, profile_id: &str, request_id: String) {
        self.act_on(profile_id, move |client| async move {
            client
                .reject_question(&request_id)
                .await
                .map(drop)
                .map_err(|e| e.to_string())
        });
    }

    /// Runs an action against one server's client, with `sending` set meanwhile and a failure
    /// shown as the notice.
    fn act_on<F, Fut>(mut self, profile_id: &str, f: F) -> bool
    where
        F: FnOnce(OpenCodeClient) -> Fut + 'static,
        Fut: std::future::Future<Output = Result<(), String>> + 'static,
    {
        let Some(client) = self.require_client(profile_id) else {
            return false;
        };
        self.sending.set(true);
        self.notice.set(None);
        spawn_forever(async move {
            let result = f(client).await;
            self.sending.set(false);
            if let Err(e) = result {
                self.fail(e);
            }
        });
        true
    }

    /// Permission requests and questions waiting on every connected server.
    pub fn pending_count(&self) -> usize {
        self.servers
            .read()
            .values()
            .map(|i| i.permissions.len() + i.questions.len())
            .sum()
    }
}

fn merge(into: &mut Applied, other: Applied) {
    into.list |= other.list;
    into.view |= other.view;
    into.connection |= other.connection;
    into.finished.extend(other.finished);
    into.asked.extend(other.asked);
    into.synced_open |= other.synced_open;
}

/// Whether the app window has the user's attention. Where that cannot be told (no webview,
/// e.g. in tests), it counts as focused so nobody is notified about what they are looking at.
async fn window_focused() -> bool {
    document::eval("return document.hasFocus();")
        .join::<bool>()
        .await
        .unwrap_or(true)
}

async fn notify_if_unfocused(services: &Services, finished: &[String], asked: &[(String, String)]) {
    if window_focused().await {
        return;
    }
    for title in finished {
        services.shell.notify("Reply finished", title);
    }
    for (_, what) in asked {
        services.shell.notify("OpenCode needs your answer", what);
    }
}
