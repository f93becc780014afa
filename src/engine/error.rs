//! The engine's one error type. Every variant renders as a sentence a user can act on (what
//! happened, what to do), because these strings reach the chat banner, the CLI and the logs
//! unchanged. Errors are serializable so they can cross the store worker boundary (a thread on
//! native, a Web Worker in the browser) without losing their meaning.

use serde::{Deserialize, Serialize};

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, Clone, PartialEq, thiserror::Error, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
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
