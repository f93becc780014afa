//! The engine's one error type. Every variant renders as a sentence a user can act on (what
//! happened, what to do), because these strings reach the chat banner, the CLI and the logs
//! unchanged. Errors cross the store worker boundary whole (a thread on native; a Web Worker in the
//! browser, in the store protocol's binary form, `engine::wire`).

use crate::engine::wire::Wire;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, Clone, PartialEq, thiserror::Error, Wire)]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Wire)]
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

#[cfg(test)]
mod tests {
    use super::Error;
    use crate::engine::wire;

    #[test]
    fn every_kind_crosses_the_worker_boundary_unchanged() {
        // Regression: `Invalid(String)` once could not cross, so the browser's storage worker
        // never answered a request that failed with it.
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
            let bytes = wire::encode(&e);
            assert_eq!(wire::decode::<Error>(&bytes), Ok(e.clone()), "{e:?}");
            // Cut anywhere, the message is unreadable rather than a different error.
            for cut in 0..bytes.len() {
                assert!(
                    wire::decode::<Error>(&bytes[..cut]).is_err(),
                    "{e:?} cut at {cut}"
                );
            }
        }
        // A kind this build does not have.
        assert!(wire::decode::<Error>(&[200, 1]).is_err());
    }
}
