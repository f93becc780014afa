//! Async HTTP client for an OpenCode server (`opencode serve`).
//!
//! It speaks the classic routes the OpenCode TUI and SDK use (`/session`, `/event`, ...), adds
//! `?directory=` to project-scoped routes when a project directory is configured, and sends
//! HTTP Basic auth when a password is set (user `opencode` unless told otherwise).
//!
//! Why it looks like this:
//! - It only uses the parts of reqwest that exist on both native and wasm targets (no blocking
//!   API; native-only builder calls sit behind `cfg`), so the web build shares it.
//! - Every failure becomes an [`OpenCodeError`] whose message is one sentence a person can act
//!   on; the password never appears in errors or `Debug` output.
//! - Ordinary calls carry a timeout because a freshly started server has been seen to accept a
//!   request and never answer it; the event stream has none, it is meant to stay open.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::marker::PhantomData;
use std::pin::Pin;
use std::time::Duration;

use crate::engine::json::{FromJson, JsonError, ToJson};
use bytes::Bytes;
use futures_util::stream::{self, Stream, StreamExt};
use reqwest::header::ACCEPT;
use reqwest::{Method, RequestBuilder, Response};
use url::Url;

use super::super::sse::{SseDecoder, SseEvent};
pub use super::adapter::OpenCodeClient;
use super::adapter::{boxed, boxed_stream, ApiFuture, ApiStream, OpenCodeApi};
use super::api::{
    Agent, CreateSessionBody, Event, GlobalEvent, Health, MessageWithParts, PermissionReplyBody,
    PermissionRequest, PromptBody, ProvidersResponse, QuestionReplyBody, QuestionRequest, Session,
    SessionStatus, UpdateSessionBody,
};

/// Username OpenCode expects when `OPENCODE_SERVER_USERNAME` is not set.
pub const DEFAULT_USERNAME: &str = "opencode";

/// Timeout for ordinary calls (listing, creating, replying, ...).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// Timeout for `prompt_sync`, which blocks until the model has finished its reply; slow local
/// models need minutes for one answer.
pub const PROMPT_SYNC_TIMEOUT: Duration = Duration::from_secs(20 * 60);

/// Longest server error text kept in an error message.
const MAX_MESSAGE_CHARS: usize = 300;

/// What can go wrong talking to an OpenCode server. Each message is one sentence saying what
/// happened and what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpenCodeError {
    #[error("The server address \"{url}\" is not a valid http(s) URL. Enter it like http://127.0.0.1:4096.")]
    InvalidUrl { url: String },
    #[error("Could not reach the OpenCode server at {url} ({reason}). Check that `opencode serve` is running and that the address and port are right.")]
    Unreachable { url: String, reason: String },
    #[error("{}", unauthorized_sentence(*.password_sent))]
    Unauthorized { password_sent: bool },
    #[error("The OpenCode server could not find it: {}. Refresh the list; it may have been deleted.", clause(.message))]
    NotFound { message: String },
    #[error("The OpenCode server rejected the request: {}. The app and server versions may not match; update one of them.", clause(.message))]
    BadRequest { message: String },
    #[error("The OpenCode server failed with HTTP {status}: {}. Try again; if it keeps failing, check the server log.", clause(.message))]
    Server { status: u16, message: String },
    #[error("Could not read the server's {what} ({detail}). This server version may not be supported; update the app or the server.")]
    Decode { what: String, detail: String },
    #[error("The OpenCode server did not answer in time. It may be busy or still starting; try again in a moment.")]
    Timeout,
    /// The server speaks another API than the one this client knows (e.g. a newer major
    /// version whose routes live under `/api/`).
    #[error("This server ({}) speaks an API this app does not: it answers under {found} instead of the routes of {SUPPORTED_SERVERS}, which this version of OpenCode Nexus supports. Update the app, or connect it to an OpenCode 1.x server.", version.as_deref().map(|v| format!("OpenCode {v}")).unwrap_or_else(|| "version unknown".into()))]
    Unsupported {
        version: Option<String>,
        found: String,
    },
}

/// Said of an HTML answer (a proxy, a web server, another app on the port) where JSON was due.
const WEB_PAGE: &str =
    "the address answered with a web page, not the OpenCode API (is it the right port?)";

/// The OpenCode servers this client speaks to.
pub const SUPPORTED_SERVERS: &str = "OpenCode 1.x (tested with 1.18)";

/// Where other OpenCode APIs are known to answer their health check.
const OTHER_API_HEALTH: &[&[&str]] = &[&["api", "global", "health"], &["api", "health"]];

fn unauthorized_sentence(password_sent: bool) -> &'static str {
    if password_sent {
        "The OpenCode server rejected the password. Check the username (default \"opencode\") and password in the connection settings."
    } else {
        "The OpenCode server needs a password. Enter its OPENCODE_SERVER_PASSWORD in the connection settings."
    }
}

/// Cuts trailing full stops so a server message can sit inside a sentence without "..".
fn clause(s: &str) -> &str {
    let t = s.trim().trim_end_matches('.').trim_end();
    if t.is_empty() {
        "no details were given"
    } else {
        t
    }
}

impl OpenCodeError {
    /// True for failures that may go away by themselves (worth an automatic retry).
    pub fn is_transient(&self) -> bool {
        match self {
            OpenCodeError::Unreachable { .. } | OpenCodeError::Timeout => true,
            OpenCodeError::Server { status, .. } => *status >= 500 || *status == 429,
            _ => false,
        }
    }
}

/// Maps a non-success HTTP status and its body to an error. Public so callers with their own
/// transport (and tests) get the same mapping.
pub fn error_for_status(status: u16, body: &str, password_sent: bool) -> OpenCodeError {
    let message = server_message(body);
    match status {
        401 => OpenCodeError::Unauthorized { password_sent },
        404 => OpenCodeError::NotFound { message },
        400 => OpenCodeError::BadRequest { message },
        _ => OpenCodeError::Server { status, message },
    }
}

/// Pulls the human part out of the server's error bodies:
/// `{"name","data":{"message"}}`, `{"_tag","message"}`, or plain text.
fn server_message(body: &str) -> String {
    let text = match serde_json::from_str::<serde_json::Value>(body) {
        Ok(v) => v
            .pointer("/data/message")
            .or_else(|| v.get("message"))
            .or_else(|| v.get("error"))
            .and_then(|m| m.as_str())
            .map(str::to_owned)
            .or_else(|| v.get("name").and_then(|n| n.as_str()).map(str::to_owned))
            .unwrap_or_else(|| body.trim().to_owned()),
        // An HTML error page (a proxy, a web server, another app on the port) is no sentence.
        Err(_) if body.trim_start().starts_with('<') => WEB_PAGE.to_owned(),
        Err(_) => body.trim().to_owned(),
    };
    // Server messages can be long (validation errors quote the whole body).
    let mut out: String = text.chars().take(MAX_MESSAGE_CHARS).collect();
    if text.chars().count() > MAX_MESSAGE_CHARS {
        out.push('…');
    }
    out
}

fn transport_error(e: reqwest::Error, url: &Url) -> OpenCodeError {
    if e.is_timeout() {
        return OpenCodeError::Timeout;
    }
    // The URL is shown without credentials (they are moved out of it in `new`) and without
    // its query (the project directory, percent-encoded, said nothing about where the server
    // is), and reqwest's own message is stripped of its URL so the query never comes back.
    let mut shown = url.clone();
    shown.set_query(None);
    shown.set_fragment(None);
    OpenCodeError::Unreachable {
        url: shown.to_string(),
        reason: e.without_url().to_string(),
    }
}

/// A payload type carried in the `data:` lines of an OpenCode SSE stream.
pub trait SsePayload: Sized {
    /// What the payload is called in decode errors.
    const WHAT: &'static str;
    fn parse(data: &str) -> Result<Self, JsonError>;
}

impl SsePayload for Event {
    const WHAT: &'static str = "event";
    fn parse(data: &str) -> Result<Self, JsonError> {
        Event::parse(data)
    }
}

impl SsePayload for GlobalEvent {
    const WHAT: &'static str = "global event";
    fn parse(data: &str) -> Result<Self, JsonError> {
        GlobalEvent::parse(data)
    }
}

/// Turns raw bytes of an SSE body into parsed payloads. Independent of HTTP so it can be fed
/// captured streams in tests.
#[derive(Debug)]
pub struct EventDecoder<T> {
    sse: SseDecoder,
    failed: bool,
    _payload: PhantomData<fn() -> T>,
}

impl<T: SsePayload> Default for EventDecoder<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: SsePayload> EventDecoder<T> {
    pub fn new() -> Self {
        EventDecoder {
            sse: SseDecoder::new(),
            failed: false,
            _payload: PhantomData,
        }
    }

    fn convert(ev: SseEvent) -> Option<Result<T, OpenCodeError>> {
        // OpenCode sends no `event:` names and no keep-alive data; a data-less event carries
        // nothing to apply.
        if ev.data.trim().is_empty() {
            return None;
        }
        Some(T::parse(&ev.data).map_err(|e| OpenCodeError::Decode {
            what: T::WHAT.to_owned(),
            detail: e.to_string(),
        }))
    }

    /// Feeds one chunk. A bad payload is an `Err` item and decoding goes on; an SSE framing
    /// failure is a final `Err` item after which [`EventDecoder::is_failed`] is true.
    pub fn push(&mut self, chunk: &[u8]) -> Vec<Result<T, OpenCodeError>> {
        if self.failed {
            return Vec::new();
        }
        match self.sse.push(chunk) {
            Ok(events) => events.into_iter().filter_map(Self::convert).collect(),
            Err(e) => {
                self.failed = true;
                vec![Err(OpenCodeError::Decode {
                    what: "event stream".to_owned(),
                    detail: e.to_string(),
                })]
            }
        }
    }

    /// Call at end of stream: yields an event left without its closing blank line.
    pub fn finish(&mut self) -> Option<Result<T, OpenCodeError>> {
        if self.failed {
            return None;
        }
        self.sse.finish().and_then(Self::convert)
    }

    pub fn is_failed(&self) -> bool {
        self.failed
    }
}

struct BodyState<S, T> {
    body: Pin<Box<S>>,
    decoder: EventDecoder<T>,
    queue: VecDeque<Result<T, OpenCodeError>>,
    url: Url,
    done: bool,
}

fn decode_body<S, T>(body: S, url: Url) -> impl Stream<Item = Result<T, OpenCodeError>>
where
    S: Stream<Item = reqwest::Result<Bytes>>,
    T: SsePayload,
{
    let state = BodyState {
        body: Box::pin(body),
        decoder: EventDecoder::<T>::new(),
        queue: VecDeque::new(),
        url,
        done: false,
    };
    stream::unfold(state, |mut st| async move {
        loop {
            if let Some(item) = st.queue.pop_front() {
                return Some((item, st));
            }
            if st.done {
                return None;
            }
            match st.body.next().await {
                Some(Ok(chunk)) => {
                    st.queue.extend(st.decoder.push(&chunk));
                    st.done = st.decoder.is_failed();
                }
                Some(Err(e)) => {
                    st.done = true;
                    st.queue.push_back(Err(transport_error(e, &st.url)));
                }
                None => {
                    st.done = true;
                    st.queue.extend(st.decoder.finish());
                }
            }
        }
    })
}

/// The HTTP API of OpenCode 1.x, for one server (and optionally one project directory on it).
/// The app holds it as an [`OpenCodeClient`]; the inherent methods here are the API's routes.
#[derive(Clone)]
pub struct HttpV1 {
    http: reqwest::Client,
    base: Url,
    username: String,
    password: Option<String>,
    directory: Option<String>,
    timeout: Duration,
}

impl fmt::Debug for HttpV1 {
    // Hand-written so the password can never end up in logs or panic messages.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenCodeClient")
            .field("base", &self.base.as_str())
            .field("username", &self.username)
            .field(
                "password",
                &if self.password.is_some() {
                    "<redacted>"
                } else {
                    "<none>"
                },
            )
            .field("directory", &self.directory)
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl HttpV1 {
    /// Creates a client. `base_url` is the server root, e.g. `http://127.0.0.1:4096`; a path
    /// prefix (reverse proxy) is kept. Credentials written into the URL are moved into Basic
    /// auth so they never show up in error messages. An empty password counts as none.
    pub fn new(
        http: reqwest::Client,
        base_url: &str,
        password: Option<String>,
        username: Option<String>,
        directory: Option<String>,
    ) -> Result<Self, OpenCodeError> {
        let invalid = || OpenCodeError::InvalidUrl {
            url: redact_userinfo(base_url),
        };
        let mut base = crate::engine::idn::parse_http_url(base_url).ok_or_else(invalid)?;
        if base.cannot_be_a_base() {
            return Err(invalid());
        }
        let url_user = (!base.username().is_empty()).then(|| base.username().to_owned());
        let url_password = base.password().map(str::to_owned);
        // Clearing userinfo only fails for URLs without a host, which http(s) always have.
        let _ = base.set_username("");
        let _ = base.set_password(None);
        base.set_query(None);
        base.set_fragment(None);
        let password = password.or(url_password).filter(|p| !p.is_empty());
        let username = username
            .filter(|u| !u.is_empty())
            .or(url_user)
            .unwrap_or_else(|| DEFAULT_USERNAME.to_owned());
        Ok(HttpV1 {
            http,
            base,
            username,
            password,
            directory: directory.filter(|d| !d.is_empty()),
            timeout: DEFAULT_TIMEOUT,
        })
    }

    /// A reqwest client with sensible defaults for talking to OpenCode.
    pub fn default_http() -> reqwest::Client {
        let builder = reqwest::Client::builder();
        // Connect timeouts are not available in the browser, which has its own.
        #[cfg(not(target_family = "wasm"))]
        let builder = builder.connect_timeout(Duration::from_secs(10));
        builder.build().unwrap_or_default()
    }

    /// Changes the timeout of ordinary calls.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Builds `base/seg1/seg2…` (segments percent-encoded) plus `?directory=` when the route
    /// is project-scoped.
    pub fn url(&self, segments: &[&str], scoped: bool) -> Result<Url, OpenCodeError> {
        let mut url = self.base.clone();
        url.path_segments_mut()
            .map_err(|_| OpenCodeError::InvalidUrl {
                url: self.base.to_string(),
            })?
            .pop_if_empty()
            .extend(segments);
        if scoped {
            if let Some(dir) = &self.directory {
                url.query_pairs_mut().append_pair("directory", dir);
            }
        }
        Ok(url)
    }

    fn request(&self, method: Method, url: Url) -> RequestBuilder {
        let req = self.http.request(method, url);
        match &self.password {
            Some(pw) => req.basic_auth(&self.username, Some(pw)),
            None => req,
        }
    }

    async fn send(
        &self,
        req: RequestBuilder,
        url: &Url,
        timeout: Duration,
    ) -> Result<Response, OpenCodeError> {
        let resp = req
            .timeout(timeout)
            .send()
            .await
            .map_err(|e| transport_error(e, url))?;
        check_status(resp, self.password.is_some()).await
    }

    async fn call<B: ToJson + ?Sized, R: FromJson>(
        &self,
        method: Method,
        segments: &[&str],
        scoped: bool,
        body: Option<&B>,
        what: &str,
        timeout: Duration,
    ) -> Result<R, OpenCodeError> {
        let body = body.map(ToJson::to_json);
        // The request itself is one function for every type (only the conversions above and
        // below are per type): the page carries one copy of it, not one per API call.
        let value = self
            .call_value(method, segments, scoped, body, what, timeout)
            .await?;
        R::from_json(&value).map_err(|e| OpenCodeError::Decode {
            what: what.to_owned(),
            detail: e.to_string(),
        })
    }

    async fn call_value(
        &self,
        method: Method,
        segments: &[&str],
        scoped: bool,
        body: Option<serde_json::Value>,
        what: &str,
        timeout: Duration,
    ) -> Result<serde_json::Value, OpenCodeError> {
        let url = self.url(segments, scoped)?;
        let mut req = self
            .request(method, url.clone())
            .header(ACCEPT, "application/json");
        if let Some(b) = &body {
            req = req.json(b);
        }
        let resp = self.send(req, &url, timeout).await?;
        let bytes = resp.bytes().await.map_err(|e| transport_error(e, &url))?;
        // Through a `Value`: the API's types are also read from event payloads (which arrive
        // as values), so each is compiled for one deserializer rather than two.
        // As text, so the page has one JSON reader (the store protocol's).
        serde_json::from_str::<serde_json::Value>(&String::from_utf8_lossy(&bytes)).map_err(|e| {
            OpenCodeError::Decode {
                what: what.to_owned(),
                detail: if bytes.trim_ascii_start().starts_with(b"<") {
                    WEB_PAGE.to_owned()
                } else {
                    e.to_string()
                },
            }
        })
    }

    async fn get<R: FromJson>(
        &self,
        segments: &[&str],
        scoped: bool,
        what: &str,
    ) -> Result<R, OpenCodeError> {
        self.call::<serde_json::Value, R>(Method::GET, segments, scoped, None, what, self.timeout)
            .await
    }

    fn sse_stream<T: SsePayload + 'static>(
        &self,
        segments: &[&str],
        scoped: bool,
    ) -> impl Stream<Item = Result<T, OpenCodeError>> + 'static {
        let prepared = self.url(segments, scoped).map(|url| {
            let req = self
                .request(Method::GET, url.clone())
                .header(ACCEPT, "text/event-stream");
            (req, url)
        });
        let password_sent = self.password.is_some();
        stream::once(async move {
            let (req, url) = prepared?;
            let resp = req.send().await.map_err(|e| transport_error(e, &url))?;
            let resp = check_status(resp, password_sent).await?;
            Ok((resp, url))
        })
        .map(|r: Result<(Response, Url), OpenCodeError>| match r {
            Ok((resp, url)) => decode_body::<_, T>(resp.bytes_stream(), url).left_stream(),
            Err(e) => stream::iter([Err(e)]).right_stream(),
        })
        .flatten()
    }
}

impl OpenCodeApi for HttpV1 {
    fn base_url(&self) -> &Url {
        &self.base
    }

    fn directory(&self) -> Option<&str> {
        self.directory.as_deref()
    }

    /// `GET /global/health`. A server without that route (or whose answer is not this API's)
    /// is probed for another API, which is named in [`OpenCodeError::Unsupported`].
    fn health(&self) -> ApiFuture<'_, Health> {
        boxed(async move {
            match self
                .get::<Health>(&["global", "health"], false, "health status")
                .await
            {
                Err(e @ (OpenCodeError::NotFound { .. } | OpenCodeError::Decode { .. })) => {
                    Err(self.other_api().await.unwrap_or(e))
                }
                other => other,
            }
        })
    }

    /// The API a server speaks when it is not this one, if it says.
    fn other_api(&self) -> super::adapter::BoxedFuture<'_, Option<OpenCodeError>> {
        boxed(async move {
            for path in OTHER_API_HEALTH {
                if let Ok(h) = self.get::<Health>(path, false, "health status").await {
                    return Some(OpenCodeError::Unsupported {
                        version: h.version,
                        found: format!("/{}/", path[0]),
                    });
                }
            }
            None
        })
    }

    /// `GET /session`: sessions of the project, most recently updated first.
    fn list_sessions(&self) -> ApiFuture<'_, Vec<Session>> {
        boxed(async move { self.get(&["session"], true, "session list").await })
    }

    /// `POST /session`.
    fn create_session<'a>(&'a self, body: &'a CreateSessionBody) -> ApiFuture<'a, Session> {
        boxed(async move {
            self.call(
                Method::POST,
                &["session"],
                true,
                Some(body),
                "new session",
                self.timeout,
            )
            .await
        })
    }

    /// `GET /session/{id}`.
    fn get_session<'a>(&'a self, id: &'a str) -> ApiFuture<'a, Session> {
        boxed(async move { self.get(&["session", id], true, "session").await })
    }

    /// `PATCH /session/{id}` with a new title.
    fn rename_session<'a>(&'a self, id: &'a str, title: &'a str) -> ApiFuture<'a, Session> {
        boxed(async move {
            let body = UpdateSessionBody {
                title: Some(title.to_owned()),
            };
            self.call(
                Method::PATCH,
                &["session", id],
                true,
                Some(&body),
                "renamed session",
                self.timeout,
            )
            .await
        })
    }

    /// `DELETE /session/{id}`; `true` when deleted.
    fn delete_session<'a>(&'a self, id: &'a str) -> ApiFuture<'a, bool> {
        boxed(async move {
            self.call::<serde_json::Value, bool>(
                Method::DELETE,
                &["session", id],
                true,
                None,
                "delete result",
                self.timeout,
            )
            .await
        })
    }

    /// `GET /session/{id}/message`: all messages with their parts, oldest first.
    fn messages<'a>(&'a self, session_id: &'a str) -> ApiFuture<'a, Vec<MessageWithParts>> {
        boxed(async move {
            self.get(&["session", session_id, "message"], true, "message list")
                .await
        })
    }

    /// `POST /session/{id}/prompt_async`: returns at once (204); the reply arrives as events.
    fn prompt_async<'a>(&'a self, session_id: &'a str, body: &'a PromptBody) -> ApiFuture<'a, ()> {
        boxed(async move {
            let url = self.url(&["session", session_id, "prompt_async"], true)?;
            let req = self
                .request(Method::POST, url.clone())
                .json(&body.to_json());
            self.send(req, &url, self.timeout).await.map(drop)
        })
    }

    /// `POST /session/{id}/message`: blocks until the reply is complete and returns it.
    fn prompt_sync<'a>(
        &'a self,
        session_id: &'a str,
        body: &'a PromptBody,
    ) -> ApiFuture<'a, MessageWithParts> {
        boxed(async move {
            self.call(
                Method::POST,
                &["session", session_id, "message"],
                true,
                Some(body),
                "reply",
                PROMPT_SYNC_TIMEOUT,
            )
            .await
        })
    }

    /// `POST /session/{id}/abort`: stops the running reply.
    fn abort<'a>(&'a self, session_id: &'a str) -> ApiFuture<'a, bool> {
        boxed(async move {
            self.call::<serde_json::Value, bool>(
                Method::POST,
                &["session", session_id, "abort"],
                true,
                None,
                "abort result",
                self.timeout,
            )
            .await
        })
    }

    /// `GET /config/providers`: configured providers, their models and the default models.
    fn providers(&self) -> ApiFuture<'_, ProvidersResponse> {
        boxed(async move {
            self.get(&["config", "providers"], true, "provider list")
                .await
        })
    }

    /// `GET /agent`.
    fn agents(&self) -> ApiFuture<'_, Vec<Agent>> {
        boxed(async move { self.get(&["agent"], true, "agent list").await })
    }

    /// `GET /session/status`: only non-idle sessions are listed.
    fn session_status(&self) -> ApiFuture<'_, HashMap<String, SessionStatus>> {
        boxed(async move {
            self.get(&["session", "status"], true, "session status")
                .await
        })
    }

    /// `GET /permission`: tool calls waiting for approval.
    fn permissions(&self) -> ApiFuture<'_, Vec<PermissionRequest>> {
        boxed(async move { self.get(&["permission"], true, "permission list").await })
    }

    /// `POST /permission/{requestID}/reply`.
    fn reply_permission<'a>(
        &'a self,
        request_id: &'a str,
        body: &'a PermissionReplyBody,
    ) -> ApiFuture<'a, bool> {
        boxed(async move {
            self.call(
                Method::POST,
                &["permission", request_id, "reply"],
                true,
                Some(body),
                "permission reply result",
                self.timeout,
            )
            .await
        })
    }

    /// `GET /question`: open questions from the model.
    fn questions(&self) -> ApiFuture<'_, Vec<QuestionRequest>> {
        boxed(async move { self.get(&["question"], true, "question list").await })
    }

    /// `POST /question/{requestID}/reply`.
    fn reply_question<'a>(
        &'a self,
        request_id: &'a str,
        body: &'a QuestionReplyBody,
    ) -> ApiFuture<'a, bool> {
        boxed(async move {
            self.call(
                Method::POST,
                &["question", request_id, "reply"],
                true,
                Some(body),
                "question reply result",
                self.timeout,
            )
            .await
        })
    }

    /// `POST /question/{requestID}/reject`: dismisses a question without answering.
    fn reject_question<'a>(&'a self, request_id: &'a str) -> ApiFuture<'a, bool> {
        boxed(async move {
            self.call::<serde_json::Value, bool>(
                Method::POST,
                &["question", request_id, "reject"],
                true,
                None,
                "question reject result",
                self.timeout,
            )
            .await
        })
    }

    /// `GET /event`: the project's live event stream. Connection errors come out as the first
    /// (and only) item; the stream ends when the server closes it, and the caller reconnects
    /// and then refetches state (see `SessionView::replace_from_fetch`).
    fn event_stream(&self) -> ApiStream<Event> {
        boxed_stream(self.sse_stream::<Event>(&["event"], true))
    }

    /// `GET /global/event`: events of every project on the server, each with its directory.
    fn global_event_stream(&self) -> ApiStream<GlobalEvent> {
        boxed_stream(self.sse_stream::<GlobalEvent>(&["global", "event"], false))
    }
}

async fn check_status(resp: Response, password_sent: bool) -> Result<Response, OpenCodeError> {
    let status = resp.status();
    if status.is_success() {
        return Ok(resp);
    }
    // The body only feeds the message; failing to read it must not hide the status.
    let body = resp.text().await.unwrap_or_default();
    Err(error_for_status(status.as_u16(), &body, password_sent))
}

/// `base_url` for error messages, with any `user:password@` removed.
fn redact_userinfo(raw: &str) -> String {
    match (raw.find("://"), raw.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            format!("{}://{}", &raw[..scheme_end], &raw[at + 1..])
        }
        _ => raw.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(password: Option<&str>, dir: Option<&str>) -> HttpV1 {
        HttpV1::new(
            reqwest::Client::new(),
            "http://127.0.0.1:4096",
            password.map(str::to_owned),
            None,
            dir.map(str::to_owned),
        )
        .expect("valid url")
    }

    #[test]
    fn debug_never_shows_the_password() {
        let c = client(Some("hunter2-very-secret"), None);
        let dbg = format!("{c:?}");
        assert!(!dbg.contains("hunter2-very-secret"), "{dbg}");
        assert!(dbg.contains("<redacted>"));
        assert!(dbg.contains("opencode"), "default username shown: {dbg}");
    }

    #[test]
    fn credentials_in_the_url_move_to_basic_auth() {
        let c = HttpV1::new(
            reqwest::Client::new(),
            "http://alice:s3cret-pw@127.0.0.1:4096/",
            None,
            None,
            None,
        )
        .expect("valid url");
        assert_eq!(c.base_url().as_str(), "http://127.0.0.1:4096/");
        assert!(!format!("{c:?}").contains("s3cret-pw"));
        assert!(format!("{c:?}").contains("alice"));
        let err = OpenCodeClient::new(
            reqwest::Client::new(),
            "ftp://bob:pw123456@x",
            None,
            None,
            None,
        )
        .expect_err("ftp is not http");
        assert!(!err.to_string().contains("pw123456"), "{err}");
    }

    #[test]
    fn urls_are_scoped_and_encoded() {
        let c = client(None, Some("/home/me/my project"));
        let u = c.url(&["session", "ses_1", "message"], true).expect("url");
        assert_eq!(
            u.as_str(),
            "http://127.0.0.1:4096/session/ses_1/message?directory=%2Fhome%2Fme%2Fmy+project"
        );
        let u = c.url(&["global", "health"], false).expect("url");
        assert_eq!(u.as_str(), "http://127.0.0.1:4096/global/health");
        let prefixed = HttpV1::new(reqwest::Client::new(), "https://h/oc/", None, None, None)
            .expect("valid url");
        let u = prefixed.url(&["session", "a/b"], true).expect("url");
        assert_eq!(u.as_str(), "https://h/oc/session/a%2Fb");
    }

    #[test]
    fn status_mapping_uses_server_bodies() {
        let e = error_for_status(
            404,
            r#"{"name":"NotFoundError","data":{"message":"Session not found: ses_x"}}"#,
            false,
        );
        assert_eq!(
            e,
            OpenCodeError::NotFound {
                message: "Session not found: ses_x".into()
            }
        );
        let e = error_for_status(
            404,
            r#"{"_tag":"PermissionNotFoundError","requestID":"per_x","message":"Permission request not found: per_x"}"#,
            false,
        );
        assert!(e
            .to_string()
            .contains("Permission request not found: per_x"));
        assert!(matches!(
            error_for_status(400, r#"{"name":"BadRequest","data":{"message":"Expected x"}}"#, true),
            OpenCodeError::BadRequest { message } if message == "Expected x"
        ));
        let e = error_for_status(503, "upstream down.", false);
        assert_eq!(
            e.to_string(),
            "The OpenCode server failed with HTTP 503: upstream down. Try again; if it keeps failing, check the server log."
        );
        assert!(e.is_transient());
    }

    #[test]
    fn unauthorized_says_whether_a_password_was_sent() {
        let none = error_for_status(401, "", false).to_string();
        let wrong = error_for_status(401, "", true).to_string();
        assert!(none.contains("needs a password"), "{none}");
        assert!(wrong.contains("rejected the password"), "{wrong}");
    }

    #[test]
    fn decoder_reads_events_split_anywhere() {
        let text = concat!(
            "data: {\"id\":\"evt_1\",\"type\":\"server.connected\",\"properties\":{}}\n\n",
            "data: {\"type\":\"plugin.added\",\"properties\":{\"id\":\"core/x\"}}\n\n",
            "data: {\"type\":\"session.idle\",\"properties\":{}}\n\n",
            "data: {\"type\":\"server.heartbeat\",\"properties\":{}}"
        );
        let mut d = EventDecoder::<Event>::new();
        let mut out = Vec::new();
        for chunk in text.as_bytes().chunks(7) {
            out.extend(d.push(chunk));
        }
        out.extend(d.finish());
        assert_eq!(out.len(), 4);
        assert_eq!(out[0], Ok(Event::ServerConnected));
        assert_eq!(
            out[1],
            Ok(Event::Other {
                kind: "plugin.added".into()
            })
        );
        // session.idle without its sessionID is drift: reported, and decoding continues.
        assert!(matches!(&out[2], Err(OpenCodeError::Decode { what, .. }) if what == "event"));
        assert_eq!(out[3], Ok(Event::ServerHeartbeat));
    }
}
