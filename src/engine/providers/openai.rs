//! OpenAI-compatible chat API client (OpenAI, OpenRouter, Ollama, llama.cpp, vLLM, ...):
//! `GET {base}/models` and streamed `POST {base}/chat/completions`.
//!
//! The stream is decoded incrementally by [`crate::engine::sse::SseDecoder`], so deltas are
//! handed on as soon as their bytes arrive, whatever the network chunking. Every failure becomes
//! an [`Error`] that keeps the HTTP status and the server's message (with secrets redacted).

use std::collections::VecDeque;
use std::time::Duration;

use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{normalize_base_url, transport_error};
use crate::engine::error::{Error, ImagesSent, Result};
use crate::engine::model::{ModelInfo, Profile, Usage};
use crate::engine::redact::redact;
use crate::engine::rt;
use crate::engine::sse::SseDecoder;

/// One message of a request. With images its `content` is sent as OpenAI content parts (the
/// text, then one `image_url` part per image); otherwise as a plain string.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub struct WireMessage {
    pub role: String,
    pub content: String,
    /// `data:` URLs of the images the message carries.
    #[serde(skip)]
    pub images: Vec<String>,
}

impl WireMessage {
    pub fn new(role: impl Into<String>, content: impl Into<String>) -> Self {
        WireMessage {
            role: role.into(),
            content: content.into(),
            images: Vec::new(),
        }
    }
}

impl Serialize for WireMessage {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(Some(2))?;
        map.serialize_entry("role", &self.role)?;
        if self.images.is_empty() {
            map.serialize_entry("content", &self.content)?;
        } else {
            let mut parts = Vec::with_capacity(self.images.len() + 1);
            if !self.content.is_empty() {
                parts.push(serde_json::json!({"type": "text", "text": self.content}));
            }
            for url in &self.images {
                parts.push(serde_json::json!({"type": "image_url", "image_url": {"url": url}}));
            }
            map.serialize_entry("content", &parts)?;
        }
        map.end()
    }
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct ChatRequest {
    pub model: String,
    pub messages: Vec<WireMessage>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub presence_penalty: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub frequency_penalty: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed: Option<i64>,
    pub stream: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream_options: Option<Value>,
}

/// One decoded piece of a streamed reply.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamEvent {
    Content(String),
    Reasoning(String),
    Finish(String),
    Usage(Usage),
}

#[derive(Clone)]
pub struct OpenAiClient {
    http: reqwest::Client,
    base: String,
    key: Option<String>,
    headers: Vec<(String, String)>,
    /// Longest silence tolerated between two chunks of a stream.
    pub idle_timeout: Duration,
    /// Longest wait for the response headers.
    pub request_timeout: Duration,
}

impl std::fmt::Debug for OpenAiClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenAiClient")
            .field("base", &self.base)
            .field("key", &self.key.as_ref().map(|_| "[redacted]"))
            .finish()
    }
}

impl OpenAiClient {
    pub fn new(http: reqwest::Client, profile: &Profile, key: Option<String>) -> Result<Self> {
        Ok(OpenAiClient {
            http,
            base: normalize_base_url(&profile.base_url)?,
            key: key.filter(|k| !k.is_empty()),
            headers: profile.headers.clone(),
            idle_timeout: Duration::from_secs(60),
            request_timeout: Duration::from_secs(120),
        })
    }

    pub fn base_url(&self) -> &str {
        &self.base
    }

    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let mut req = self.http.request(method, format!("{}{}", self.base, path));
        if let Some(key) = &self.key {
            req = req.bearer_auth(key);
        }
        for (name, value) in &self.headers {
            req = req.header(name.as_str(), value.as_str());
        }
        req
    }

    async fn send(&self, req: reqwest::RequestBuilder, url: &str) -> Result<reqwest::Response> {
        let secs = self.request_timeout.as_secs();
        let timed_out = || Error::Timeout {
            url: url.to_owned(),
            seconds: secs,
        };
        let again = req.try_clone();
        let sent = rt::timeout(self.request_timeout, req.send())
            .await
            .ok_or_else(timed_out)?;
        let sent = match (sent, again) {
            // A connection the server reset before answering (a kept-alive one it had given
            // up after breaking off a reply, as llama.cpp's server does): the request goes once
            // more, on a new connection.
            (Err(e), Some(again)) if super::connection_reset(&e) => {
                tracing::info!(
                    url,
                    "the connection was reset before an answer; sending again"
                );
                rt::timeout(self.request_timeout, again.send())
                    .await
                    .ok_or_else(timed_out)?
            }
            (sent, _) => sent,
        };
        let resp = sent.map_err(|e| transport_error(url, &e, secs))?;
        if resp.status().is_success() {
            Ok(resp)
        } else {
            Err(error_from_response(resp).await)
        }
    }

    /// Model ids the server offers, sorted. An empty list is valid (enter a model by hand).
    pub async fn models(&self) -> Result<Vec<String>> {
        Ok(self
            .model_infos()
            .await?
            .into_iter()
            .map(|m| m.id)
            .collect())
    }

    /// The models the server offers with what it says about them (the context length, where
    /// it tells), sorted by id.
    pub async fn model_infos(&self) -> Result<Vec<ModelInfo>> {
        let url = format!("{}/models", self.base);
        let resp = self
            .send(self.request(reqwest::Method::GET, "/models"), &url)
            .await?;
        let body = resp
            .text()
            .await
            .map_err(|e| transport_error(&url, &e, self.request_timeout.as_secs()))?;
        parse_model_infos(&body)
    }

    /// Start a streamed completion; returns once the server accepted the request.
    pub async fn stream_chat(&self, request: &ChatRequest) -> Result<ChatStream> {
        let url = format!("{}/chat/completions", self.base);
        let mut body = request.clone();
        body.stream = true;
        let req = self
            .request(reqwest::Method::POST, "/chat/completions")
            .header(reqwest::header::ACCEPT, "text/event-stream")
            .json(&body);
        let resp = self.send(req, &url).await?;
        let is_sse = resp
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("event-stream"));
        if !is_sse {
            // Some servers ignore `stream` and answer with one JSON document.
            let text = resp
                .text()
                .await
                .map_err(|e| transport_error(&url, &e, self.request_timeout.as_secs()))?;
            let events = parse_whole_completion(&text)?;
            return Ok(ChatStream {
                body: None,
                decoder: SseDecoder::new(),
                pending: events.into(),
                finished: true,
                complete: true,
                began: true,
                images: ImagesSent::None,
                idle_timeout: self.idle_timeout,
            });
        }
        Ok(ChatStream {
            body: Some(Box::pin(resp.bytes_stream())),
            decoder: SseDecoder::new(),
            pending: VecDeque::new(),
            finished: false,
            complete: false,
            began: false,
            images: match request.messages.split_last() {
                Some((last, _)) if !last.images.is_empty() => ImagesSent::ThisMessage,
                Some((_, earlier)) if earlier.iter().any(|m| !m.images.is_empty()) => {
                    ImagesSent::Earlier
                }
                _ => ImagesSent::None,
            },
            idle_timeout: self.idle_timeout,
        })
    }

    /// A short non-streamed completion (titles). Returns the reply text.
    pub async fn complete(&self, request: &ChatRequest) -> Result<String> {
        let url = format!("{}/chat/completions", self.base);
        let mut body = request.clone();
        body.stream = false;
        let resp = self
            .send(
                self.request(reqwest::Method::POST, "/chat/completions")
                    .json(&body),
                &url,
            )
            .await?;
        let text = resp
            .text()
            .await
            .map_err(|e| transport_error(&url, &e, self.request_timeout.as_secs()))?;
        let mut out = String::new();
        for ev in parse_whole_completion(&text)? {
            if let StreamEvent::Content(c) = ev {
                out.push_str(&c);
            }
        }
        Ok(out)
    }
}

type ByteStream =
    std::pin::Pin<Box<dyn futures_util::Stream<Item = reqwest::Result<bytes::Bytes>>>>;

/// A reply being streamed. Dropping it closes the connection, which is how Stop cancels.
pub struct ChatStream {
    body: Option<ByteStream>,
    decoder: SseDecoder,
    pending: VecDeque<StreamEvent>,
    finished: bool,
    /// A finish reason or `[DONE]` arrived: the reply is complete even if the socket then drops.
    complete: bool,
    /// Some event arrived (a stream that ends before any is an empty reply, not a cut one).
    began: bool,
    /// Where the request carried images (named in the sentence for an empty reply).
    images: ImagesSent,
    idle_timeout: Duration,
}

impl ChatStream {
    /// The next decoded event; `None` at the end of a complete reply. A stream that ends without
    /// `[DONE]` or a finish reason is reported as a dropped connection.
    pub async fn next(&mut self) -> Option<Result<StreamEvent>> {
        loop {
            if let Some(ev) = self.pending.pop_front() {
                return Some(Ok(ev));
            }
            if self.finished {
                return None;
            }
            let body = self.body.as_mut()?;
            let chunk = match rt::timeout(self.idle_timeout, body.next()).await {
                None => {
                    self.finished = true;
                    return Some(Err(Error::Stalled {
                        seconds: self.idle_timeout.as_secs(),
                    }));
                }
                Some(c) => c,
            };
            match chunk {
                Some(Ok(bytes)) => {
                    let events = match self.decoder.push(&bytes) {
                        Ok(events) => events,
                        Err(e) => {
                            self.finished = true;
                            return Some(Err(Error::Malformed {
                                detail: e.to_string(),
                            }));
                        }
                    };
                    for ev in events {
                        if let Err(e) = self.absorb(&ev.data) {
                            self.finished = true;
                            return Some(Err(e));
                        }
                        if self.finished {
                            break;
                        }
                    }
                }
                Some(Err(_)) if self.complete => self.finished = true,
                Some(Err(e)) => {
                    self.finished = true;
                    return Some(Err(Error::Disconnected {
                        detail: redact(&e.to_string()),
                    }));
                }
                None => {
                    self.finished = true;
                    if let Some(ev) = self.decoder.finish() {
                        if let Err(e) = self.absorb(&ev.data) {
                            return Some(Err(e));
                        }
                    }
                    if !self.complete && !self.began {
                        return Some(Err(Error::EmptyReply {
                            images: self.images,
                        }));
                    }
                    if !self.complete {
                        return Some(Err(Error::Disconnected {
                            detail: "the server closed the stream before the reply was complete"
                                .into(),
                        }));
                    }
                }
            }
        }
    }

    fn absorb(&mut self, data: &str) -> Result<()> {
        let data = data.trim();
        if data == "[DONE]" {
            self.finished = true;
            self.complete = true;
            return Ok(());
        }
        if data.is_empty() {
            return Ok(());
        }
        self.began = true;
        let events = parse_chunk(data)?;
        // Usage and [DONE] may still follow a finish reason, so reading goes on.
        if events.iter().any(|e| matches!(e, StreamEvent::Finish(_))) {
            self.complete = true;
        }
        self.pending.extend(events);
        Ok(())
    }
}

/// Decode one `data:` payload of a chat completion stream.
pub fn parse_chunk(data: &str) -> Result<Vec<StreamEvent>> {
    let value: Value = serde_json::from_str(data).map_err(|e| Error::Malformed {
        detail: format!("a stream chunk is not valid JSON ({e})"),
    })?;
    if let Some(err) = value.get("error") {
        return Err(Error::StreamError {
            message: redact(&error_message(err)),
        });
    }
    let mut out = Vec::new();
    if let Some(choice) = value
        .get("choices")
        .and_then(Value::as_array)
        .and_then(|c| c.first())
    {
        let delta = choice.get("delta").or_else(|| choice.get("message"));
        if let Some(delta) = delta {
            for key in ["reasoning_content", "reasoning"] {
                if let Some(r) = delta.get(key).and_then(Value::as_str) {
                    if !r.is_empty() {
                        out.push(StreamEvent::Reasoning(r.to_owned()));
                    }
                    break;
                }
            }
            if let Some(c) = delta.get("content").and_then(Value::as_str) {
                if !c.is_empty() {
                    out.push(StreamEvent::Content(c.to_owned()));
                }
            }
        }
        if let Some(reason) = choice.get("finish_reason").and_then(Value::as_str) {
            out.push(StreamEvent::Finish(reason.to_owned()));
        }
    } else if value.get("choices").is_none() && value.get("usage").is_none() {
        return Err(Error::Malformed {
            detail: "a stream chunk has no `choices`".into(),
        });
    }
    if let Some(usage) = value.get("usage").filter(|u| !u.is_null()) {
        out.push(StreamEvent::Usage(parse_usage(usage)));
    }
    Ok(out)
}

fn parse_usage(u: &Value) -> Usage {
    let n = |k: &str| u.get(k).and_then(Value::as_u64).unwrap_or(0);
    Usage {
        prompt_tokens: n("prompt_tokens"),
        completion_tokens: n("completion_tokens"),
        reasoning_tokens: u
            .get("completion_tokens_details")
            .and_then(|d| d.get("reasoning_tokens"))
            .and_then(Value::as_u64),
        estimated: false,
    }
}

fn parse_whole_completion(text: &str) -> Result<Vec<StreamEvent>> {
    let mut events = parse_chunk(text)?;
    if !events.iter().any(|e| matches!(e, StreamEvent::Finish(_))) {
        events.push(StreamEvent::Finish("stop".into()));
    }
    Ok(events)
}

pub fn parse_models(body: &str) -> Result<Vec<String>> {
    Ok(parse_model_infos(body)?.into_iter().map(|m| m.id).collect())
}

/// A `/models` list: ids, and the context length under the names servers use for it
/// (`context_length` at OpenRouter, `max_model_len` at vLLM, `meta.n_ctx_train` at llama.cpp).
pub fn parse_model_infos(body: &str) -> Result<Vec<ModelInfo>> {
    let value: Value = serde_json::from_str(body).map_err(|e| Error::Malformed {
        detail: format!("the model list is not JSON ({e})"),
    })?;
    let list = value
        .get("data")
        .or_else(|| value.get("models"))
        .and_then(Value::as_array)
        .ok_or_else(|| Error::Malformed {
            detail: "the model list has no `data` array".into(),
        })?;
    let context = |m: &Value| {
        ["context_length", "max_model_len", "context_window"]
            .iter()
            .find_map(|k| m.get(*k).and_then(Value::as_u64))
            .or_else(|| {
                m.get("meta")
                    .and_then(|meta| meta.get("n_ctx_train").or_else(|| meta.get("n_ctx")))
                    .and_then(Value::as_u64)
            })
            .and_then(|n| u32::try_from(n).ok())
            .filter(|n| *n > 0)
    };
    let mut models: Vec<ModelInfo> = list
        .iter()
        .filter_map(|m| {
            let id = m
                .get("id")
                .or_else(|| m.get("name"))
                .and_then(Value::as_str)?;
            Some(ModelInfo {
                id: id.to_owned(),
                context_length: context(m),
            })
        })
        .collect();
    models.sort_by(|a, b| a.id.cmp(&b.id));
    models.dedup_by(|a, b| a.id == b.id);
    Ok(models)
}

fn error_message(err: &Value) -> String {
    match err {
        Value::String(s) => s.clone(),
        Value::Object(o) => o
            .get("message")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .unwrap_or_else(|| err.to_string()),
        other => other.to_string(),
    }
}

/// Turn a non-2xx response into an error that keeps the status and the server's message.
pub async fn error_from_response(resp: reqwest::Response) -> Error {
    let status = resp.status().as_u16();
    let retry_after = resp
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    // Error bodies are short; a huge one is cut so it cannot flood a banner or a log.
    let body = resp.text().await.unwrap_or_default();
    error_from_status(status, retry_after, &body)
}

pub fn error_from_status(status: u16, retry_after: Option<u64>, body: &str) -> Error {
    let message = serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|v| {
            v.get("error")
                .map(error_message)
                .or_else(|| v.get("message").and_then(Value::as_str).map(str::to_owned))
                .or_else(|| v.get("detail").map(|d| d.to_string()))
        })
        .unwrap_or_else(|| body.trim().to_owned());
    let mut message = redact(&message);
    // Python servers put whole tracebacks in their messages: the last line says what failed.
    if message.len() > 400 {
        let cut = message
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("");
        message = format!("{}…", truncate(cut, 400));
    }
    if message.is_empty() {
        message = "no details given".into();
    }
    match status {
        401 | 403 => Error::Unauthorized { status, message },
        429 => Error::RateLimited {
            retry_after,
            message,
        },
        404 => Error::Http {
            status,
            message: format!(
                "{message} (check the base URL; OpenAI-compatible APIs usually end in /v1)"
            ),
        },
        _ => Error::Http { status, message },
    }
}

fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Whether a refused request was refused for its `stream_options` field (servers that predate
/// usage in streams answer 400 or 422 and name the field), so it is worth sending again without.
pub fn rejects_stream_options(e: &Error) -> bool {
    match e {
        Error::Http {
            status: 400 | 422,
            message,
        } => {
            let m = message.to_ascii_lowercase();
            m.contains("stream_options") || m.contains("include_usage")
        }
        _ => false,
    }
}

/// Whether an error says the prompt was longer than the model's context window.
pub fn is_context_overflow(e: &Error) -> bool {
    match e {
        Error::Http {
            status: 400,
            message,
        }
        | Error::StreamError { message } => {
            let m = message.to_ascii_lowercase();
            m.contains("context")
                || m.contains("too many tokens")
                || m.contains("maximum") && m.contains("token")
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunk_with_content_and_finish() {
        let ev = parse_chunk(r#"{"choices":[{"delta":{"content":"Hi"},"finish_reason":null}]}"#)
            .unwrap();
        assert_eq!(ev, vec![StreamEvent::Content("Hi".into())]);
        let ev = parse_chunk(r#"{"choices":[{"delta":{},"finish_reason":"stop"}]}"#).unwrap();
        assert_eq!(ev, vec![StreamEvent::Finish("stop".into())]);
    }

    #[test]
    fn reasoning_fields_and_usage() {
        let ev = parse_chunk(r#"{"choices":[{"delta":{"reasoning_content":"think"}}]}"#).unwrap();
        assert_eq!(ev, vec![StreamEvent::Reasoning("think".into())]);
        let ev =
            parse_chunk(r#"{"choices":[{"delta":{"reasoning":"r2","content":"c"}}]}"#).unwrap();
        assert_eq!(
            ev,
            vec![
                StreamEvent::Reasoning("r2".into()),
                StreamEvent::Content("c".into())
            ]
        );
        let ev = parse_chunk(r#"{"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":5}}"#)
            .unwrap();
        assert_eq!(
            ev,
            vec![StreamEvent::Usage(Usage {
                prompt_tokens: 3,
                completion_tokens: 5,
                reasoning_tokens: None,
                estimated: false,
            })]
        );
    }

    #[test]
    fn error_object_mid_stream_is_typed() {
        let e =
            parse_chunk(r#"{"error":{"message":"overloaded","type":"server_error"}}"#).unwrap_err();
        assert_eq!(
            e,
            Error::StreamError {
                message: "overloaded".into()
            }
        );
    }

    #[test]
    fn malformed_json_is_reported() {
        assert!(matches!(
            parse_chunk("{\"choices\": [ {"),
            Err(Error::Malformed { .. })
        ));
    }

    #[test]
    fn status_errors_keep_status_and_message() {
        let e = error_from_status(
            401,
            None,
            r#"{"error":{"message":"Incorrect API key provided: sk-abcdefghijklmnopqrstuv"}}"#,
        );
        match e {
            Error::Unauthorized { status, message } => {
                assert_eq!(status, 401);
                assert!(message.contains("Incorrect API key"));
                assert!(!message.contains("sk-abcdefghijklmnopqrstuv"));
            }
            other => panic!("unexpected {other:?}"),
        }
        assert_eq!(
            error_from_status(429, Some(7), r#"{"error":{"message":"slow down"}}"#),
            Error::RateLimited {
                retry_after: Some(7),
                message: "slow down".into()
            }
        );
        assert!(matches!(
            error_from_status(500, None, "boom"),
            Error::Http { status: 500, .. }
        ));
    }

    #[test]
    fn models_list_parses() {
        let ids = parse_models(r#"{"object":"list","data":[{"id":"b"},{"id":"a"}]}"#).unwrap();
        assert_eq!(ids, vec!["a", "b"]);
        assert!(parse_models("<html>").is_err());
    }
}
