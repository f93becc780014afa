//! What the app needs from an OpenCode server, whatever API it speaks.
//!
//! [`OpenCodeApi`] is the seam between the protocol and everything above it: the live
//! connection ([`super::live`]), the UI state and the CLI hold an [`OpenCodeClient`], a cheap
//! handle around one implementation. Today that is [`super::client::HttpV1`], the HTTP API of
//! OpenCode 1.x; a server speaking another API gets a second implementation of this trait and
//! nothing above it changes.
//!
//! Futures and streams are boxed so the trait can be used as `dyn`. Natively they are `Send`
//! (tests and the CLI drive them on tokio's thread pool); in the browser nothing is `Send`
//! and nothing needs to be.

use std::collections::HashMap;
use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

use url::Url;

use super::api::{
    Agent, CreateSessionBody, Event, GlobalEvent, Health, MessageWithParts, PermissionReplyBody,
    PermissionRequest, PromptBody, ProvidersResponse, QuestionReplyBody, QuestionRequest, Session,
    SessionStatus,
};
use super::client::{HttpV1, OpenCodeError};

#[cfg(not(target_family = "wasm"))]
mod bounds {
    /// `Send + Sync` natively, nothing in the browser.
    pub trait MaybeSendSync: Send + Sync {}
    impl<T: Send + Sync + ?Sized> MaybeSendSync for T {}
    /// `Send` natively, nothing in the browser.
    pub trait MaybeSend: Send {}
    impl<T: Send + ?Sized> MaybeSend for T {}
    pub type Future<'a, T> = futures_util::future::BoxFuture<'a, T>;
    pub type Stream<T> = futures_util::stream::BoxStream<'static, T>;
}
#[cfg(target_family = "wasm")]
mod bounds {
    /// `Send + Sync` natively, nothing in the browser.
    pub trait MaybeSendSync {}
    impl<T: ?Sized> MaybeSendSync for T {}
    /// `Send` natively, nothing in the browser.
    pub trait MaybeSend {}
    impl<T: ?Sized> MaybeSend for T {}
    pub type Future<'a, T> = futures_util::future::LocalBoxFuture<'a, T>;
    pub type Stream<T> = futures_util::stream::LocalBoxStream<'static, T>;
}
pub use bounds::{MaybeSend, MaybeSendSync};

/// A boxed future, `Send` natively.
pub type BoxedFuture<'a, T> = bounds::Future<'a, T>;
/// The future of one call to a server.
pub type ApiFuture<'a, T> = bounds::Future<'a, Result<T, OpenCodeError>>;
/// A server's event stream: connection errors come out as the first (and only) item; it ends
/// when the server closes it.
pub type ApiStream<T> = bounds::Stream<Result<T, OpenCodeError>>;

/// One OpenCode server (and optionally one project on it), as the app uses it.
pub trait OpenCodeApi: fmt::Debug + MaybeSendSync {
    /// The server root, without credentials.
    fn base_url(&self) -> &Url;
    /// The project directory calls are scoped to, if one is set.
    fn directory(&self) -> Option<&str>;
    /// The server's health and version; a server of another API is named in
    /// [`OpenCodeError::Unsupported`].
    fn health(&self) -> ApiFuture<'_, Health>;
    /// When a route this API needs is missing: the API the server speaks instead, if it says.
    fn other_api(&self) -> BoxedFuture<'_, Option<OpenCodeError>>;
    /// Sessions of the project, most recently updated first.
    fn list_sessions(&self) -> ApiFuture<'_, Vec<Session>>;
    fn create_session<'a>(&'a self, body: &'a CreateSessionBody) -> ApiFuture<'a, Session>;
    fn get_session<'a>(&'a self, id: &'a str) -> ApiFuture<'a, Session>;
    fn rename_session<'a>(&'a self, id: &'a str, title: &'a str) -> ApiFuture<'a, Session>;
    /// `true` when deleted.
    fn delete_session<'a>(&'a self, id: &'a str) -> ApiFuture<'a, bool>;
    /// All messages of a session with their parts, oldest first.
    fn messages<'a>(&'a self, session_id: &'a str) -> ApiFuture<'a, Vec<MessageWithParts>>;
    /// Starts a reply and returns at once; the reply arrives as events.
    fn prompt_async<'a>(&'a self, session_id: &'a str, body: &'a PromptBody) -> ApiFuture<'a, ()>;
    /// Sends a prompt and waits for the whole reply.
    fn prompt_sync<'a>(
        &'a self,
        session_id: &'a str,
        body: &'a PromptBody,
    ) -> ApiFuture<'a, MessageWithParts>;
    /// Stops the running reply.
    fn abort<'a>(&'a self, session_id: &'a str) -> ApiFuture<'a, bool>;
    /// Configured providers, their models and the default models.
    fn providers(&self) -> ApiFuture<'_, ProvidersResponse>;
    fn agents(&self) -> ApiFuture<'_, Vec<Agent>>;
    /// Busy sessions (idle ones are not listed).
    fn session_status(&self) -> ApiFuture<'_, HashMap<String, SessionStatus>>;
    /// Tool calls waiting for approval.
    fn permissions(&self) -> ApiFuture<'_, Vec<PermissionRequest>>;
    fn reply_permission<'a>(
        &'a self,
        request_id: &'a str,
        body: &'a PermissionReplyBody,
    ) -> ApiFuture<'a, bool>;
    /// Open questions from the model.
    fn questions(&self) -> ApiFuture<'_, Vec<QuestionRequest>>;
    fn reply_question<'a>(
        &'a self,
        request_id: &'a str,
        body: &'a QuestionReplyBody,
    ) -> ApiFuture<'a, bool>;
    /// Dismisses a question without answering it.
    fn reject_question<'a>(&'a self, request_id: &'a str) -> ApiFuture<'a, bool>;
    /// The project's live events.
    fn event_stream(&self) -> ApiStream<Event>;
    /// Events of every project on the server, each with its directory.
    fn global_event_stream(&self) -> ApiStream<GlobalEvent>;
}

/// A cheap, clonable handle to one server, whichever [`OpenCodeApi`] speaks to it. Calls go
/// straight through (`client.list_sessions().await`).
#[derive(Clone)]
pub struct OpenCodeClient {
    api: Arc<dyn OpenCodeApi>,
}

impl OpenCodeClient {
    /// A client for a server of the OpenCode 1.x HTTP API. `base_url` is the server root,
    /// e.g. `http://127.0.0.1:4096`; a path prefix (reverse proxy) is kept. Credentials
    /// written into the URL are moved into Basic auth so they never show up in error
    /// messages. An empty password counts as none.
    pub fn new(
        http: reqwest::Client,
        base_url: &str,
        password: Option<String>,
        username: Option<String>,
        directory: Option<String>,
    ) -> Result<Self, OpenCodeError> {
        HttpV1::new(http, base_url, password, username, directory).map(Self::from_api)
    }

    /// A client over any implementation of the API.
    pub fn from_api(api: impl OpenCodeApi + 'static) -> Self {
        OpenCodeClient { api: Arc::new(api) }
    }

    /// A reqwest client with sensible defaults for talking to OpenCode.
    pub fn default_http() -> reqwest::Client {
        HttpV1::default_http()
    }
}

impl Deref for OpenCodeClient {
    type Target = dyn OpenCodeApi;

    fn deref(&self) -> &Self::Target {
        &*self.api
    }
}

impl fmt::Debug for OpenCodeClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.api.fmt(f)
    }
}

/// Boxes a future the way [`ApiFuture`] wants it on this target.
pub(crate) fn boxed<'a, T>(
    fut: impl std::future::Future<Output = T> + MaybeSend + 'a,
) -> bounds::Future<'a, T> {
    Box::pin(fut)
}

/// Boxes a stream the way [`ApiStream`] wants it on this target.
pub(crate) fn boxed_stream<T>(
    stream: impl futures_util::Stream<Item = T> + MaybeSend + 'static,
) -> bounds::Stream<T> {
    Box::pin(stream)
}
