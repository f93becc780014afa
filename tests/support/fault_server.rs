#![allow(dead_code)]
//! A scripted HTTP/1.1 server that misbehaves on purpose, for integration
//! tests of the chat client's fault handling (auth errors, rate limits,
//! server errors, streams that break off or stall, very large replies).
//!
//! It is a raw TCP listener writing HTTP by hand rather than hyper/axum so
//! that it can produce exactly the broken wire output real servers produce
//! (a chunked body cut off without its terminator, a socket that goes
//! silent) and so the test build needs nothing beyond tokio.
//!
//! Each request to anything but `GET /v1/models` takes the next [`Fault`]
//! from the script; once the script is exhausted the last fault repeats, so
//! retries keep seeing the same behaviour. Every response carries
//! `connection: close`, which keeps one request per connection and makes
//! the script order follow the order of requests.
//!
//! The support module is compiled once per test binary and not every binary
//! uses every item, hence the crate-level `dead_code` allowance.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};

/// The model the fake `/v1/models` endpoint advertises.
pub const FAULT_MODEL: &str = "fault-model";

/// Caps what the server buffers for one request head, so a confused client
/// cannot make a test eat memory.
const MAX_HEAD_BYTES: usize = 64 * 1024;

/// What the server does with one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// A complete, non-streaming response, e.g. 401, 429 with `Retry-After`,
    /// or 500 with `{"error":{...}}`. `content-type: application/json` is
    /// added unless `headers` sets a content type.
    Status {
        code: u16,
        headers: Vec<(String, String)>,
        body: String,
    },
    /// A 200 `text/event-stream` response with `Transfer-Encoding: chunked`;
    /// each element of `chunks` is written as one HTTP chunk, with
    /// `delay_ms` between them, and the stream then ends as `then` says.
    Stream {
        chunks: Vec<String>,
        delay_ms: u64,
        then: StreamEnd,
    },
    /// Read the request, then reset the connection (RST) without answering, as a server does
    /// to a kept-alive connection it has already given up.
    Reset,
}

/// How a [`Fault::Stream`] ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamEnd {
    /// Write the terminating `0\r\n\r\n` and close cleanly.
    Finish,
    /// Close the socket without terminating the chunked encoding, as a
    /// crashing server or a dropped proxy connection would.
    Drop,
    /// Keep the socket open and send nothing more, until the client hangs
    /// up or the server is dropped; for testing stall timeouts.
    Stall,
}

/// One request as the server received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRequest {
    pub method: String,
    /// The request target as sent, including any query string.
    pub path: String,
    /// Header names lowercased, values trimmed, in the order received.
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl RecordedRequest {
    /// The first header with this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(key, _)| *key == name)
            .map(|(_, value)| value.as_str())
    }
}

#[derive(Debug, Default)]
struct State {
    script: Vec<Fault>,
    /// How many scripted faults have been handed out.
    served: usize,
    requests: Vec<RecordedRequest>,
}

impl State {
    fn next_fault(&mut self) -> Option<Fault> {
        let last = self.script.len().checked_sub(1)?;
        let fault = self.script[self.served.min(last)].clone();
        self.served += 1;
        Some(fault)
    }
}

/// The running server; dropping it stops the listener and every open
/// connection, stalled ones included.
pub struct FaultServer {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    task: JoinHandle<()>,
}

impl FaultServer {
    /// Serves the given faults to successive requests in order; after the list is exhausted it repeats the LAST one.
    pub async fn start(script: Vec<Fault>) -> FaultServer {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("fault server: bind 127.0.0.1:0");
        let addr = listener
            .local_addr()
            .expect("fault server: listener address");
        let state = Arc::new(Mutex::new(State {
            script,
            ..State::default()
        }));
        let task = tokio::spawn(accept_loop(listener, Arc::clone(&state)));
        FaultServer { addr, state, task }
    }

    /// `http://127.0.0.1:PORT/v1`, the shape an OpenAI-compatible base URL has.
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Every request received so far, `/v1/models` included, in arrival order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.state).requests.clone()
    }

    /// Appends to the script at run time. If the script was already
    /// exhausted (repeating its last fault), the pushed fault is served next.
    pub fn push(&self, fault: Fault) {
        let mut state = lock(&self.state);
        // Once exhausted, `served` has run past the end; pin it there so the
        // new fault comes next instead of being skipped.
        state.served = state.served.min(state.script.len());
        state.script.push(fault);
    }
}

impl Drop for FaultServer {
    fn drop(&mut self) {
        // Aborting the accept loop drops its JoinSet, which aborts every
        // connection task and so closes their sockets.
        self.task.abort();
    }
}

/// A poisoned lock only means another test thread panicked; the recorded
/// data is still what that test wants to see.
fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

async fn accept_loop(listener: TcpListener, state: Arc<Mutex<State>>) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                if let Ok((stream, _)) = accepted {
                    connections.spawn(serve_connection(stream, Arc::clone(&state)));
                }
            }
            // Reap finished connections so the set does not grow for the
            // lifetime of a long test.
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

async fn serve_connection(mut stream: TcpStream, state: Arc<Mutex<State>>) {
    // I/O errors just mean the client went away, which is a legitimate
    // outcome of the faults being tested.
    let _ = handle(&mut stream, &state).await;
}

async fn handle(stream: &mut TcpStream, state: &Mutex<State>) -> std::io::Result<()> {
    let Some(request) = read_request(stream).await? else {
        return Ok(());
    };
    let is_models = request.method == "GET"
        && (request.path == "/v1/models" || request.path.starts_with("/v1/models?"));
    let fault = {
        let mut state = lock(state);
        state.requests.push(request);
        if is_models {
            None
        } else {
            Some(state.next_fault().unwrap_or_else(|| Fault::Status {
                code: 500,
                headers: Vec::new(),
                body: r#"{"error":{"message":"fault server: empty script"}}"#.to_string(),
            }))
        }
    };
    match fault {
        None => {
            let body = format!(
                r#"{{"object":"list","data":[{{"id":"{FAULT_MODEL}","object":"model"}}]}}"#
            );
            write_status(stream, 200, &[], &body).await
        }
        Some(Fault::Status {
            code,
            headers,
            body,
        }) => write_status(stream, code, &headers, &body).await,
        Some(Fault::Stream {
            chunks,
            delay_ms,
            then,
        }) => write_stream(stream, &chunks, delay_ms, then).await,
        Some(Fault::Reset) => {
            stream.set_zero_linger()?;
            Err(std::io::Error::other("connection reset by the script"))
        }
    }
}

/// Reads one full request (head and body) so the response never races the
/// client's upload. `None` if the client closed before sending a request.
async fn read_request(stream: &mut TcpStream) -> std::io::Result<Option<RecordedRequest>> {
    let mut buf = Vec::with_capacity(4096);
    let head_end = loop {
        if let Some(pos) = find(&buf, b"\r\n\r\n") {
            break pos;
        }
        if buf.len() > MAX_HEAD_BYTES {
            return Err(invalid("request head too large"));
        }
        if read_more(stream, &mut buf).await? == 0 {
            return Ok(None);
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let request_line = lines.next().unwrap_or_default();
    let mut parts = request_line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_string();
    let path = parts.next().unwrap_or_default().to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_string()))
        .collect();
    let header = |name: &str| {
        headers
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    };

    let mut rest = buf.split_off(head_end + 4);
    let chunked = header("transfer-encoding")
        .is_some_and(|value| value.to_ascii_lowercase().contains("chunked"));
    let body = if chunked {
        read_chunked_body(stream, rest).await?
    } else {
        let length = match header("content-length") {
            Some(value) => value
                .parse::<usize>()
                .map_err(|_| invalid("bad content-length"))?,
            None => 0,
        };
        while rest.len() < length {
            if read_more(stream, &mut rest).await? == 0 {
                return Err(invalid("body shorter than content-length"));
            }
        }
        rest.truncate(length);
        rest
    };
    Ok(Some(RecordedRequest {
        method,
        path,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    }))
}

/// Decodes a chunked request body; trailers are read and discarded.
async fn read_chunked_body(stream: &mut TcpStream, mut buf: Vec<u8>) -> std::io::Result<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let line_end = loop {
            if let Some(pos) = find(&buf, b"\r\n") {
                break pos;
            }
            if read_more(stream, &mut buf).await? == 0 {
                return Err(invalid("truncated chunk size"));
            }
        };
        let size_text = String::from_utf8_lossy(&buf[..line_end]);
        let size_text = size_text.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_text, 16).map_err(|_| invalid("bad chunk size"))?;
        buf.drain(..line_end + 2);
        if size == 0 {
            // Skip optional trailers up to the final empty line.
            loop {
                match find(&buf, b"\r\n") {
                    Some(0) => return Ok(body),
                    Some(pos) => {
                        buf.drain(..pos + 2);
                    }
                    None => {
                        if read_more(stream, &mut buf).await? == 0 {
                            return Err(invalid("truncated trailers"));
                        }
                    }
                }
            }
        }
        while buf.len() < size + 2 {
            if read_more(stream, &mut buf).await? == 0 {
                return Err(invalid("truncated chunk"));
            }
        }
        body.extend_from_slice(&buf[..size]);
        buf.drain(..size + 2);
    }
}

async fn read_more(stream: &mut TcpStream, buf: &mut Vec<u8>) -> std::io::Result<usize> {
    let mut chunk = [0u8; 8192];
    let n = stream.read(&mut chunk).await?;
    buf.extend_from_slice(&chunk[..n]);
    Ok(n)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

fn invalid(message: &str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, message.to_string())
}

fn reason(code: u16) -> &'static str {
    match code {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        408 => "Request Timeout",
        413 => "Payload Too Large",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Fault",
    }
}

async fn write_status(
    stream: &mut TcpStream,
    code: u16,
    headers: &[(String, String)],
    body: &str,
) -> std::io::Result<()> {
    let mut head = format!("HTTP/1.1 {code} {}\r\n", reason(code));
    if !headers
        .iter()
        .any(|(name, _)| name.eq_ignore_ascii_case("content-type"))
    {
        head.push_str("content-type: application/json\r\n");
    }
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str(&format!(
        "content-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    ));
    let mut out = head.into_bytes();
    out.extend_from_slice(body.as_bytes());
    stream.write_all(&out).await?;
    stream.flush().await?;
    stream.shutdown().await
}

async fn write_stream(
    stream: &mut TcpStream,
    chunks: &[String],
    delay_ms: u64,
    then: StreamEnd,
) -> std::io::Result<()> {
    stream
        .write_all(
            b"HTTP/1.1 200 OK\r\n\
              content-type: text/event-stream\r\n\
              cache-control: no-cache\r\n\
              transfer-encoding: chunked\r\n\
              connection: close\r\n\r\n",
        )
        .await?;
    stream.flush().await?;
    for (index, chunk) in chunks.iter().enumerate() {
        if index > 0 && delay_ms > 0 {
            tokio::time::sleep(Duration::from_millis(delay_ms)).await;
        }
        // A zero-length chunk would terminate the body early.
        if chunk.is_empty() {
            continue;
        }
        let mut frame = format!("{:x}\r\n", chunk.len()).into_bytes();
        frame.extend_from_slice(chunk.as_bytes());
        frame.extend_from_slice(b"\r\n");
        stream.write_all(&frame).await?;
        stream.flush().await?;
    }
    match then {
        StreamEnd::Finish => {
            stream.write_all(b"0\r\n\r\n").await?;
            stream.flush().await?;
            stream.shutdown().await
        }
        // Returning drops the socket: a FIN with the chunked body still open.
        // (Not an RST, which could discard data the client has not read yet
        // and make tests flaky.)
        StreamEnd::Drop => Ok(()),
        StreamEnd::Stall => {
            // Hold the socket until the client hangs up (or the task is
            // aborted when the server is dropped), discarding anything it sends.
            let mut sink = [0u8; 1024];
            while stream.read(&mut sink).await? > 0 {}
            Ok(())
        }
    }
}

/// Escapes `text` as the inside of a JSON string literal.
fn json_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    for ch in text.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out
}

fn chunk_json(delta: &str, finish_reason: &str) -> String {
    format!(
        r#"data: {{"id":"chatcmpl-fault","object":"chat.completion.chunk","created":0,"model":"{FAULT_MODEL}","choices":[{{"index":0,"delta":{delta},"finish_reason":{finish_reason}}}]}}"#
    ) + "\n\n"
}

/// OpenAI-style stream chunks: one content delta per piece, then a
/// `finish_reason: "stop"` chunk and `data: [DONE]`.
pub fn sse_chat_chunks(text_pieces: &[&str]) -> Vec<String> {
    let mut chunks: Vec<String> = text_pieces
        .iter()
        .map(|piece| {
            chunk_json(
                &format!(r#"{{"content":"{}"}}"#, json_escape(piece)),
                "null",
            )
        })
        .collect();
    chunks.push(chunk_json("{}", r#""stop""#));
    chunks.push("data: [DONE]\n\n".to_string());
    chunks
}

/// The reply text [`big_reply_chunks`] streams: exactly `total_bytes` bytes
/// when the pattern allows, otherwise the largest whole-character prefix.
/// It mixes ASCII, accented, CJK and emoji text so multi-byte characters
/// straddle chunk and read boundaries.
pub fn big_reply_text(total_bytes: usize) -> String {
    const PATTERN: &str = "Lorem ipsum dolor sit amet, café 中文字 😀 \"quoted\"\n";
    let mut text = PATTERN.repeat(total_bytes / PATTERN.len() + 1);
    let mut cut = total_bytes.min(text.len());
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    text.truncate(cut);
    text
}

/// A large (e.g. ~5 MB) reply: [`big_reply_text`] split into many content
/// deltas of about 1 KB each, then the stop chunk and `[DONE]`.
pub fn big_reply_chunks(total_bytes: usize) -> Vec<String> {
    const PIECE_BYTES: usize = 1000;
    let text = big_reply_text(total_bytes);
    let mut pieces = Vec::with_capacity(text.len() / PIECE_BYTES + 1);
    let mut rest = text.as_str();
    while !rest.is_empty() {
        let mut cut = PIECE_BYTES.min(rest.len());
        while !rest.is_char_boundary(cut) {
            cut += 1;
        }
        let (piece, tail) = rest.split_at(cut);
        pieces.push(piece);
        rest = tail;
    }
    sse_chat_chunks(&pieces)
}

/// The JSON bodies of the streamed chat requests a server received, in order (the short
/// request that names a new conversation is not streamed).
pub fn streamed_chat_bodies(server: &FaultServer) -> Vec<serde_json::Value> {
    server
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST" && r.path.ends_with("/chat/completions"))
        .map(|r| serde_json::from_str::<serde_json::Value>(&r.body).unwrap())
        .filter(|b| b["stream"] == true)
        .collect()
}
