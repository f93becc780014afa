//! The engine's one error type. Every variant renders as a sentence a user can act on (what
//! happened, what to do), because these strings reach the chat banner, the CLI and the logs
//! unchanged. Errors are serializable so they can cross the store worker boundary (a thread on
//! native, a Web Worker in the browser) without losing their meaning.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    #[error("The history database at {path} was written by a newer version of OpenCode Nexus (schema {found}, this version understands up to {supported}). Update the app; the file was left untouched.")]
    DatabaseTooNew {
        path: String,
        found: i64,
        supported: i64,
    },
    #[error("The history database at {path} is damaged or is not a database ({detail}). Restore a backup with `opencode-nexus restore --latest`, or move the file away to start fresh.")]
    DatabaseCorrupt { path: String, detail: String },
    #[error("The history database could not be used: {detail}. Check that the data directory is writable and the disk is not full.")]
    Database { detail: String },
    #[error("Could not read or write {path}: {detail}. Check the path and its permissions.")]
    Io { path: String, detail: String },
    #[error("{what} was not found. It may have been deleted; refresh and try again.")]
    NotFound { what: String },
    #[error("{0}")]
    Invalid(String),
    #[error("No secret service is reachable ({detail}), so API keys cannot be stored in the system keychain. Start a keyring (GNOME Keyring, KWallet) or use a session-only key; keys are never written to files.")]
    SecretServiceUnavailable { detail: String },
    #[error(
        "The system keychain refused the request: {detail}. Unlock the keyring and try again."
    )]
    Secret { detail: String },
    #[error(
        "The address {url} is not a valid http(s) URL. Use a form like http://127.0.0.1:8080/v1."
    )]
    BadUrl { url: String },
    #[error("Could not reach {url}: {detail}. Check that the server is running and the address is right.")]
    Unreachable { url: String, detail: String },
    #[error("{url} did not answer within {seconds} s. The server may be overloaded or stuck; try again or check it.")]
    Timeout { url: String, seconds: u64 },
    #[error("The server rejected the API key (HTTP {status}): {message}. Check the key in Settings → Backends.")]
    Unauthorized { status: u16, message: String },
    #[error("The server is rate-limiting requests (HTTP 429){}: {message}. Wait a moment and retry.", retry_after.map(|s| format!(", retry after {s} s")).unwrap_or_default())]
    RateLimited {
        retry_after: Option<u64>,
        message: String,
    },
    #[error("The server returned an error (HTTP {status}): {message}. Retry, or check the server's logs.")]
    Http { status: u16, message: String },
    #[error("The server reported an error in the middle of the reply: {message}. The partial reply was kept; retry to continue.")]
    StreamError { message: String },
    #[error("The server sent data that could not be understood ({detail}). The partial reply was kept; retry, or check that the URL points at an OpenAI-compatible API.")]
    Malformed { detail: String },
    #[error("The connection dropped before the reply finished ({detail}). The partial reply was kept; retry to get a complete answer.")]
    Disconnected { detail: String },
    #[error("The server stopped sending data for {seconds} s. The partial reply was kept; retry, or check the server.")]
    Stalled { seconds: u64 },
    /// The stream ended cleanly before a single event (servers that fail a request after
    /// they have answered 200, e.g. a text-only model handed an image).
    #[error("The server ended the reply without sending any of it.{} Retry, or check the server's logs.", images.hint())]
    EmptyReply { images: ImagesSent },
    #[error("Stopped.")]
    Cancelled,
    /// An OpenCode server error, already phrased as a sentence by `engine::opencode`.
    #[error("{message}")]
    Remote { message: String, retryable: bool },
    #[error("The file is not a valid {format} file: {detail}. Nothing was changed.")]
    BadImport { format: String, detail: String },
    #[error("The backup {path} cannot be restored: {detail}. Your current history was left untouched; choose another backup.")]
    BadBackup { path: String, detail: String },
}

/// Where the request for a reply carried images (named when a server fails on it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ImagesSent {
    #[default]
    None = 0,
    /// The message being answered has images.
    ThisMessage = 1,
    /// Only earlier messages of the conversation have.
    Earlier = 2,
}

impl ImagesSent {
    fn hint(self) -> &'static str {
        match self {
            ImagesSent::None => "",
            ImagesSent::ThisMessage => " This message has images, which this model may not accept: send it without them, or choose a model that reads images.",
            ImagesSent::Earlier => " An earlier message of this conversation has images, which this model may not accept: choose a model that reads images, or start a new chat.",
        }
    }
}

impl Error {
    pub fn db(e: impl std::fmt::Display) -> Self {
        Error::Database {
            detail: e.to_string(),
        }
    }

    pub fn io(path: impl AsRef<std::path::Path>, e: impl std::fmt::Display) -> Self {
        Error::Io {
            path: path.as_ref().display().to_string(),
            detail: e.to_string(),
        }
    }

    pub fn not_found(what: impl Into<String>) -> Self {
        Error::NotFound { what: what.into() }
    }

    /// Whether retrying the same request later can succeed (drives the Retry button).
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Error::Unreachable { .. }
                | Error::Timeout { .. }
                | Error::RateLimited { .. }
                | Error::Http { .. }
                | Error::StreamError { .. }
                | Error::Malformed { .. }
                | Error::Disconnected { .. }
                | Error::Stalled { .. }
                | Error::EmptyReply { .. }
                | Error::Cancelled
                | Error::Remote {
                    retryable: true,
                    ..
                }
        )
    }
}

impl From<crate::engine::opencode::client::OpenCodeError> for Error {
    fn from(e: crate::engine::opencode::client::OpenCodeError) -> Self {
        Error::Remote {
            retryable: e.is_transient(),
            message: e.to_string(),
        }
    }
}

/// An [`Error`] as it crosses the worker boundary: its kind and that kind's fields, flat
/// (`{"kind":"not_found","what":"…"}`; `Invalid`'s sentence goes in `message`). Written out by
/// hand rather than derived as an internally tagged enum: that form cannot carry
/// `Invalid(String)` at all (the reply was never sent), and its deserializer buffers every field
/// before choosing a variant, which costs the browser page's module much more code than one
/// flat struct.
#[derive(Serialize, Deserialize, Default)]
struct Wire {
    kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    found: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    supported: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    what: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    seconds: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    retry_after: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    retryable: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    format: Option<String>,
    /// [`ImagesSent`] as a number: the page and the worker share the code that reads the
    /// other numeric fields.
    #[serde(skip_serializing_if = "Option::is_none")]
    images: Option<u64>,
}

impl Serialize for Error {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        let mut w = Wire::default();
        let kind = match self.clone() {
            Error::DatabaseTooNew {
                path,
                found,
                supported,
            } => {
                (w.path, w.found, w.supported) = (Some(path), Some(found), Some(supported));
                "database_too_new"
            }
            Error::DatabaseCorrupt { path, detail } => {
                (w.path, w.detail) = (Some(path), Some(detail));
                "database_corrupt"
            }
            Error::Database { detail } => {
                w.detail = Some(detail);
                "database"
            }
            Error::Io { path, detail } => {
                (w.path, w.detail) = (Some(path), Some(detail));
                "io"
            }
            Error::NotFound { what } => {
                w.what = Some(what);
                "not_found"
            }
            Error::Invalid(message) => {
                w.message = Some(message);
                "invalid"
            }
            Error::SecretServiceUnavailable { detail } => {
                w.detail = Some(detail);
                "secret_service_unavailable"
            }
            Error::Secret { detail } => {
                w.detail = Some(detail);
                "secret"
            }
            Error::BadUrl { url } => {
                w.url = Some(url);
                "bad_url"
            }
            Error::Unreachable { url, detail } => {
                (w.url, w.detail) = (Some(url), Some(detail));
                "unreachable"
            }
            Error::Timeout { url, seconds } => {
                (w.url, w.seconds) = (Some(url), Some(seconds));
                "timeout"
            }
            Error::Unauthorized { status, message } => {
                (w.status, w.message) = (Some(status), Some(message));
                "unauthorized"
            }
            Error::RateLimited {
                retry_after,
                message,
            } => {
                (w.retry_after, w.message) = (retry_after, Some(message));
                "rate_limited"
            }
            Error::Http { status, message } => {
                (w.status, w.message) = (Some(status), Some(message));
                "http"
            }
            Error::StreamError { message } => {
                w.message = Some(message);
                "stream_error"
            }
            Error::Malformed { detail } => {
                w.detail = Some(detail);
                "malformed"
            }
            Error::Disconnected { detail } => {
                w.detail = Some(detail);
                "disconnected"
            }
            Error::Stalled { seconds } => {
                w.seconds = Some(seconds);
                "stalled"
            }
            Error::EmptyReply { images } => {
                w.images = Some(images as u64);
                "empty_reply"
            }
            Error::Cancelled => "cancelled",
            Error::Remote { message, retryable } => {
                (w.message, w.retryable) = (Some(message), Some(retryable));
                "remote"
            }
            Error::BadImport { format, detail } => {
                (w.format, w.detail) = (Some(format), Some(detail));
                "bad_import"
            }
            Error::BadBackup { path, detail } => {
                (w.path, w.detail) = (Some(path), Some(detail));
                "bad_backup"
            }
        };
        w.kind = kind.to_owned();
        w.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Error {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let w = Wire::deserialize(deserializer)?;
        // Both ends are the same build; a field missing from a known kind reads as empty.
        let path = || w.path.clone().unwrap_or_default();
        let detail = || w.detail.clone().unwrap_or_default();
        let url = || w.url.clone().unwrap_or_default();
        let message = || w.message.clone().unwrap_or_default();
        Ok(match w.kind.as_str() {
            "database_too_new" => Error::DatabaseTooNew {
                path: path(),
                found: w.found.unwrap_or_default(),
                supported: w.supported.unwrap_or_default(),
            },
            "database_corrupt" => Error::DatabaseCorrupt {
                path: path(),
                detail: detail(),
            },
            "database" => Error::Database { detail: detail() },
            "io" => Error::Io {
                path: path(),
                detail: detail(),
            },
            "not_found" => Error::NotFound {
                what: w.what.clone().unwrap_or_default(),
            },
            "invalid" => Error::Invalid(message()),
            "secret_service_unavailable" => Error::SecretServiceUnavailable { detail: detail() },
            "secret" => Error::Secret { detail: detail() },
            "bad_url" => Error::BadUrl { url: url() },
            "unreachable" => Error::Unreachable {
                url: url(),
                detail: detail(),
            },
            "timeout" => Error::Timeout {
                url: url(),
                seconds: w.seconds.unwrap_or_default(),
            },
            "unauthorized" => Error::Unauthorized {
                status: w.status.unwrap_or_default(),
                message: message(),
            },
            "rate_limited" => Error::RateLimited {
                retry_after: w.retry_after,
                message: message(),
            },
            "http" => Error::Http {
                status: w.status.unwrap_or_default(),
                message: message(),
            },
            "stream_error" => Error::StreamError { message: message() },
            "malformed" => Error::Malformed { detail: detail() },
            "disconnected" => Error::Disconnected { detail: detail() },
            "stalled" => Error::Stalled {
                seconds: w.seconds.unwrap_or_default(),
            },
            "empty_reply" => Error::EmptyReply {
                images: match w.images {
                    Some(1) => ImagesSent::ThisMessage,
                    Some(2) => ImagesSent::Earlier,
                    _ => ImagesSent::None,
                },
            },
            "cancelled" => Error::Cancelled,
            "remote" => Error::Remote {
                message: message(),
                retryable: w.retryable.unwrap_or_default(),
            },
            "bad_import" => Error::BadImport {
                format: w.format.clone().unwrap_or_default(),
                detail: detail(),
            },
            "bad_backup" => Error::BadBackup {
                path: path(),
                detail: detail(),
            },
            other => {
                return Err(serde::de::Error::custom(format!(
                    "unknown error kind {other:?}"
                )))
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::Error;

    #[test]
    fn every_kind_crosses_the_worker_boundary_unchanged() {
        // Regression: `Invalid(String)` could not be serialized, so the browser's storage
        // worker never answered a request that failed with it.
        let all = [
            Error::DatabaseTooNew {
                path: "/h.db".into(),
                found: 9,
                supported: 7,
            },
            Error::DatabaseCorrupt {
                path: "/h.db".into(),
                detail: "bad".into(),
            },
            Error::db("locked"),
            Error::io("/x", "denied"),
            Error::not_found("Conversation 1"),
            Error::Invalid("A conversation needs a title; the old one was kept.".into()),
            Error::SecretServiceUnavailable {
                detail: "no bus".into(),
            },
            Error::Secret {
                detail: "locked".into(),
            },
            Error::BadUrl { url: "x".into() },
            Error::Unreachable {
                url: "http://h".into(),
                detail: "refused".into(),
            },
            Error::Timeout {
                url: "http://h".into(),
                seconds: 30,
            },
            Error::Unauthorized {
                status: 401,
                message: "no".into(),
            },
            Error::RateLimited {
                retry_after: Some(5),
                message: "slow".into(),
            },
            Error::RateLimited {
                retry_after: None,
                message: "slow".into(),
            },
            Error::Http {
                status: 500,
                message: "boom".into(),
            },
            Error::StreamError {
                message: "cut".into(),
            },
            Error::Malformed {
                detail: "junk".into(),
            },
            Error::Disconnected {
                detail: "reset".into(),
            },
            Error::Stalled { seconds: 60 },
            Error::EmptyReply {
                images: super::ImagesSent::Earlier,
            },
            Error::Cancelled,
            Error::Remote {
                message: "busy".into(),
                retryable: true,
            },
            Error::BadImport {
                format: "ChatGPT".into(),
                detail: "no list".into(),
            },
            Error::BadBackup {
                path: "/b".into(),
                detail: "short".into(),
            },
        ];
        for e in all {
            let text = serde_json::to_string(&e).expect("serializes");
            let back: Error = serde_json::from_str(&text).expect("deserializes");
            assert_eq!(back, e, "{text}");
        }
        let text = serde_json::to_string(&Error::not_found("x")).unwrap();
        assert_eq!(text, r#"{"kind":"not_found","what":"x"}"#);
        assert!(serde_json::from_str::<Error>(r#"{"kind":"nonsense"}"#).is_err());
    }
}
