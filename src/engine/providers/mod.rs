//! Clients for the backends the app talks to. OpenAI-compatible chat APIs live here; the
//! OpenCode server protocol has its own module (`engine::opencode`).

pub mod openai;

use crate::engine::error::Error;
use crate::engine::idn;
use crate::engine::redact::redact;

/// Validate a user-entered base URL: http(s) only, no trailing slash, a non-ASCII host in its
/// ASCII form (`engine::idn`).
pub fn normalize_base_url(input: &str) -> Result<String, Error> {
    let trimmed = input.trim();
    if idn::parse_http_url(trimmed).is_none() {
        return Err(Error::BadUrl {
            url: redact(trimmed),
        });
    }
    Ok(idn::ascii_host(trimmed).trim_end_matches('/').to_owned())
}

/// Map a transport-level reqwest error to a sentence. Secrets are scrubbed from the detail.
pub fn transport_error(url: &str, e: &reqwest::Error, timeout_secs: u64) -> Error {
    let detail = redact(&error_chain(e));
    if e.is_timeout() {
        Error::Timeout {
            url: url.to_owned(),
            seconds: timeout_secs,
        }
    } else if e.is_builder() {
        Error::BadUrl {
            url: url.to_owned(),
        }
    } else if e.is_body() || e.is_decode() {
        Error::Disconnected { detail }
    } else if is_cors_like(e) {
        Error::Unreachable {
            url: url.to_owned(),
            detail: "the request was blocked before reaching the server; in a browser this usually means the server does not allow this app's origin (CORS) — start it with a CORS option that allows this origin".into(),
        }
    } else {
        Error::Unreachable {
            url: url.to_owned(),
            detail,
        }
    }
}

#[cfg(target_family = "wasm")]
fn is_cors_like(e: &reqwest::Error) -> bool {
    e.is_request()
}

#[cfg(not(target_family = "wasm"))]
fn is_cors_like(_e: &reqwest::Error) -> bool {
    false
}

/// The connection was reset or closed before any answer came (not a timeout, not a refusal
/// to connect): what a stale kept-alive connection gives. Browsers deal with those themselves.
#[cfg(not(target_family = "wasm"))]
pub fn connection_reset(e: &reqwest::Error) -> bool {
    if !e.is_request() || e.is_timeout() || e.is_connect() {
        return false;
    }
    let chain = error_chain(e).to_lowercase();
    [
        "reset by peer",
        "closed before message completed",
        "broken pipe",
    ]
    .iter()
    .any(|s| chain.contains(s))
}

#[cfg(target_family = "wasm")]
pub fn connection_reset(_e: &reqwest::Error) -> bool {
    false
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}
