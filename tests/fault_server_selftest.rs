//! Self-test of the scripted fault server, using a raw TCP client so the
//! server's wire output is checked byte for byte (a real HTTP client would
//! hide exactly the breakage the server is meant to produce).

mod support;

use std::time::Duration;

use support::fault_server::{
    big_reply_chunks, big_reply_text, sse_chat_chunks, Fault, FaultServer, StreamEnd,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

const WAIT: Duration = Duration::from_secs(10);

/// Sends one request and reads until the server closes the connection.
async fn roundtrip(server: &FaultServer, method: &str, path: &str, body: &str) -> Vec<u8> {
    let mut stream = connect(server, method, path, body).await;
    let mut response = Vec::new();
    timeout(WAIT, stream.read_to_end(&mut response))
        .await
        .expect("response timed out")
        .expect("read response");
    response
}

async fn connect(server: &FaultServer, method: &str, path: &str, body: &str) -> TcpStream {
    let mut stream = TcpStream::connect(server.addr()).await.expect("connect");
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer sk-test\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        server.addr(),
        body.len()
    );
    stream
        .write_all(request.as_bytes())
        .await
        .expect("send request");
    stream
}

/// Splits a raw response into (head, body bytes).
fn split_response(raw: &[u8]) -> (String, Vec<u8>) {
    let pos = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("response has a head");
    (
        String::from_utf8_lossy(&raw[..pos]).to_ascii_lowercase(),
        raw[pos + 4..].to_vec(),
    )
}

/// Decodes a chunked body; returns the payload and whether the terminating
/// zero-length chunk was present.
fn dechunk(mut body: &[u8]) -> (String, bool) {
    let mut out = Vec::new();
    loop {
        let Some(line_end) = body.windows(2).position(|w| w == b"\r\n") else {
            return (String::from_utf8(out).expect("utf8 payload"), false);
        };
        let size_text = std::str::from_utf8(&body[..line_end]).expect("chunk size");
        let size = usize::from_str_radix(size_text, 16).expect("hex chunk size");
        body = &body[line_end + 2..];
        if size == 0 {
            assert_eq!(body, b"\r\n", "nothing after the terminator");
            return (String::from_utf8(out).expect("utf8 payload"), true);
        }
        out.extend_from_slice(&body[..size]);
        assert_eq!(&body[size..size + 2], b"\r\n", "chunk framing");
        body = &body[size + 2..];
    }
}

/// Reassembles the `content` deltas of an OpenAI-style SSE payload.
fn content_of(payload: &str) -> String {
    let mut text = String::new();
    for event in payload.split("\n\n").filter(|e| !e.is_empty()) {
        let data = event.strip_prefix("data: ").expect("data event");
        if let Some(start) = data.find(r#""content":""#) {
            let rest = &data[start + r#""content":""#.len()..];
            let end = rest.find(r#""},"finish_reason""#).expect("content end");
            text.push_str(
                &rest[..end]
                    .replace("\\n", "\n")
                    .replace("\\\"", "\"")
                    .replace("\\\\", "\\"),
            );
        }
    }
    text
}

fn status(code: u16, headers: &[(&str, &str)], body: &str) -> Fault {
    Fault::Status {
        code,
        headers: headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        body: body.to_string(),
    }
}

#[tokio::test]
async fn rate_limit_with_retry_after_and_request_recording() {
    let server = FaultServer::start(vec![status(
        429,
        &[("Retry-After", "7")],
        r#"{"error":{"message":"slow down","type":"rate_limit"}}"#,
    )])
    .await;
    assert!(server.base_url().starts_with("http://127.0.0.1:"));
    assert!(server.base_url().ends_with("/v1"));

    let sent = r#"{"model":"fault-model","stream":true}"#;
    let raw = roundtrip(&server, "POST", "/v1/chat/completions", sent).await;
    let (head, body) = split_response(&raw);
    assert!(head.starts_with("http/1.1 429 too many requests"), "{head}");
    assert!(head.contains("\r\nretry-after: 7"), "{head}");
    assert!(head.contains("content-type: application/json"), "{head}");
    assert_eq!(
        body,
        br#"{"error":{"message":"slow down","type":"rate_limit"}}"#
    );

    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].method, "POST");
    assert_eq!(requests[0].path, "/v1/chat/completions");
    assert_eq!(requests[0].body, sent);
    assert_eq!(requests[0].header("Authorization"), Some("Bearer sk-test"));
    assert!(requests[0]
        .headers
        .iter()
        .any(|(name, value)| name == "content-type" && value == "application/json"));
}

#[tokio::test]
async fn chunked_sse_stream_ends_with_done() {
    let server = FaultServer::start(vec![Fault::Stream {
        chunks: sse_chat_chunks(&["Hel", "lo \"wörld\"\n"]),
        delay_ms: 5,
        then: StreamEnd::Finish,
    }])
    .await;
    let raw = roundtrip(&server, "POST", "/v1/chat/completions", "{}").await;
    let (head, body) = split_response(&raw);
    assert!(head.starts_with("http/1.1 200 ok"), "{head}");
    assert!(head.contains("transfer-encoding: chunked"), "{head}");
    assert!(head.contains("content-type: text/event-stream"), "{head}");
    assert!(body.ends_with(b"0\r\n\r\n"));

    let (payload, terminated) = dechunk(&body);
    assert!(terminated);
    assert!(payload.ends_with("data: [DONE]\n\n"), "{payload}");
    assert!(payload.contains(r#""finish_reason":"stop""#));
    assert_eq!(content_of(&payload), "Hello \"wörld\"\n");
}

#[tokio::test]
async fn drop_cuts_the_stream_without_terminator() {
    let server = FaultServer::start(vec![Fault::Stream {
        chunks: sse_chat_chunks(&["partial"])[..1].to_vec(),
        delay_ms: 0,
        then: StreamEnd::Drop,
    }])
    .await;
    let raw = roundtrip(&server, "POST", "/v1/chat/completions", "{}").await;
    let (_, body) = split_response(&raw);
    assert!(!body.ends_with(b"0\r\n\r\n"));
    let (payload, terminated) = dechunk(&body);
    assert!(!terminated, "Drop must not terminate the chunked body");
    assert_eq!(content_of(&payload), "partial");
    assert!(!payload.contains("[DONE]"));
}

#[tokio::test]
async fn stall_keeps_socket_open_while_other_connections_are_served() {
    let server = FaultServer::start(vec![Fault::Stream {
        chunks: sse_chat_chunks(&["first"])[..1].to_vec(),
        delay_ms: 0,
        then: StreamEnd::Stall,
    }])
    .await;
    let mut stalled = connect(&server, "POST", "/v1/chat/completions", "{}").await;
    let mut received = Vec::new();
    // The first chunk is complete once its SSE event and chunk framing are in.
    while !received.ends_with(b"\n\n\r\n") {
        let mut buf = [0u8; 4096];
        let n = timeout(WAIT, stalled.read(&mut buf))
            .await
            .expect("first chunk timed out")
            .expect("read first chunk");
        assert!(n > 0, "connection closed before the first chunk");
        received.extend_from_slice(&buf[..n]);
    }

    let received = String::from_utf8_lossy(&received);
    assert!(received.starts_with("HTTP/1.1 200 OK"), "{received}");
    assert!(received.contains(r#"{"content":"first"}"#), "{received}");

    // Nothing more arrives while stalled...
    let mut buf = [0u8; 64];
    assert!(
        timeout(Duration::from_millis(300), stalled.read(&mut buf))
            .await
            .is_err(),
        "a stalled stream must send nothing more"
    );
    // ...yet a concurrent connection is answered, without using the script.
    let raw = roundtrip(&server, "GET", "/v1/models", "").await;
    let (head, body) = split_response(&raw);
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert_eq!(
        body,
        br#"{"object":"list","data":[{"id":"fault-model","object":"model"}]}"#
    );

    // Dropping the server closes the stalled socket.
    drop(server);
    let n = timeout(WAIT, stalled.read(&mut buf))
        .await
        .expect("stalled socket not closed on drop")
        .unwrap_or(0);
    assert_eq!(n, 0);
}

#[tokio::test]
async fn script_runs_in_order_repeats_last_and_accepts_pushes() {
    let server = FaultServer::start(vec![
        status(500, &[], r#"{"error":{"message":"boom"}}"#),
        status(401, &[], r#"{"error":{"message":"bad key"}}"#),
    ])
    .await;
    let mut codes = Vec::new();
    for _ in 0..4 {
        let raw = roundtrip(&server, "POST", "/v1/chat/completions", "{}").await;
        // Models requests do not consume the script.
        roundtrip(&server, "GET", "/v1/models", "").await;
        codes.push(String::from_utf8_lossy(&raw[9..12]).into_owned());
    }
    assert_eq!(codes, ["500", "401", "401", "401"]);

    server.push(status(503, &[], "{}"));
    server.push(status(200, &[("content-type", "text/plain")], "ok"));
    let raw = roundtrip(&server, "POST", "/v1/chat/completions", "{}").await;
    assert!(raw.starts_with(b"HTTP/1.1 503"));
    let raw = roundtrip(&server, "POST", "/v1/chat/completions", "{}").await;
    let (head, body) = split_response(&raw);
    assert!(head.starts_with("http/1.1 200"));
    assert!(head.contains("content-type: text/plain"));
    assert!(!head.contains("application/json"));
    assert_eq!(body, b"ok");
    assert_eq!(server.requests().len(), 10);
}

#[tokio::test]
async fn full_body_is_read_before_answering() {
    let server = FaultServer::start(vec![status(200, &[], "{}")]).await;
    let body = "x".repeat(100_000);
    let mut stream = TcpStream::connect(server.addr()).await.expect("connect");
    let head = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nHost: test\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.expect("send head");
    stream
        .write_all(&body.as_bytes()[..500])
        .await
        .expect("send part");
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        server.requests().is_empty(),
        "request recorded before its body"
    );
    stream
        .write_all(&body.as_bytes()[500..])
        .await
        .expect("send rest");
    let mut response = Vec::new();
    timeout(WAIT, stream.read_to_end(&mut response))
        .await
        .expect("response timed out")
        .expect("read response");
    assert!(response.starts_with(b"HTTP/1.1 200"));
    assert_eq!(server.requests()[0].body, body);
}

#[tokio::test]
async fn chunked_request_body_is_decoded() {
    let server = FaultServer::start(vec![status(200, &[], "{}")]).await;
    let mut stream = TcpStream::connect(server.addr()).await.expect("connect");
    stream
        .write_all(
            b"POST /v1/chat/completions HTTP/1.1\r\nHost: test\r\n\
              Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\n\r\n",
        )
        .await
        .expect("send");
    let mut response = Vec::new();
    timeout(WAIT, stream.read_to_end(&mut response))
        .await
        .expect("response timed out")
        .expect("read response");
    assert!(response.starts_with(b"HTTP/1.1 200"));
    assert_eq!(server.requests()[0].body, "hello world");
}

#[tokio::test]
async fn big_reply_streams_intact() {
    let total = 5 * 1024 * 1024;
    let chunks = big_reply_chunks(total);
    assert!(chunks.len() > 5000, "{} chunks", chunks.len());
    let expected = big_reply_text(total);
    assert!(expected.len() > total - 4 && expected.len() <= total);

    let server = FaultServer::start(vec![Fault::Stream {
        chunks,
        delay_ms: 0,
        then: StreamEnd::Finish,
    }])
    .await;
    let raw = roundtrip(&server, "POST", "/v1/chat/completions", "{}").await;
    let (_, body) = split_response(&raw);
    let (payload, terminated) = dechunk(&body);
    assert!(terminated);
    assert!(payload.ends_with("data: [DONE]\n\n"));
    assert!(
        content_of(&payload) == expected,
        "reassembled reply differs"
    );
}
