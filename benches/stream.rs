//! Streaming benchmark: time to first token against curl, and a 5,000 tokens/s reply.
//!
//! A local server (its own thread and runtime) answers `POST /v1/chat/completions` with an
//! OpenAI-style SSE stream. Measured, each over many runs:
//!
//! - **Time to first token.** The server writes the headers and the first token in one write as
//!   soon as it has read the request. `curl` reports `time_starttransfer`; the engine's client
//!   (`OpenAiClient::stream_chat`, the first decoded token) and the whole send path the app uses
//!   (`ReplyContext::send`: user and assistant messages saved in SQLite on the store worker,
//!   request, first token) are timed the same way. Every request is a new connection on all
//!   sides (the server closes after each reply).
//! - **5,000 tokens/s.** The server sends 10,000 tokens at 5 per millisecond; each token is its
//!   sequence number, and the server records when it wrote each one. The app's send path runs
//!   with the store persisting every 250 ms; for every update the engine hands to the UI, the lag
//!   is "now − when the server wrote the newest token in it". No backlog means the lag stays
//!   below a frame (16 ms) at p99 and the reply ends when the server's stream ends.
//!
//! Run with `scripts/bench.sh` (or `cargo bench --bench stream`). Under `cargo test` (which runs
//! benches once, without `--bench`) it is a smaller smoke run: 10 starts each and 2,000 tokens,
//! still checking that every token reaches the saved reply.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use opencode_nexus::engine::chat::{stop_pair, ChatUpdate, EngineOptions, ReplyContext, Target};
use opencode_nexus::engine::model::{BackendKind, Conversation, Profile};
use opencode_nexus::engine::providers::openai::{
    ChatRequest, OpenAiClient, StreamEvent, WireMessage,
};
use opencode_nexus::platform::native::{self, DataDirs};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const TOKENS_PER_MS: usize = 5;

/// Starts per time-to-first-token measurement, and tokens in the 5,000 tok/s reply.
#[derive(Clone, Copy)]
struct Size {
    runs: usize,
    tokens: usize,
}

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    /// Headers and one token in one write, then the end of the stream.
    FirstToken,
    /// `tokens` tokens at TOKENS_PER_MS per millisecond.
    Rate { tokens: usize },
}

struct Server {
    port: u16,
    mode: Arc<Mutex<Mode>>,
    /// When each token of the last Rate reply was written, relative to `epoch`.
    sent: Arc<Mutex<Vec<Duration>>>,
    epoch: Instant,
}

fn event(text: &str) -> String {
    format!("data: {{\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\"{text}\"}}}}]}}\n\n")
}

fn chunk(body: &str) -> String {
    format!("{:x}\r\n{body}\r\n", body.len())
}

const HEAD: &str = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n";

async fn read_request(sock: &mut TcpStream) -> bool {
    let mut buf = Vec::with_capacity(4096);
    let mut tmp = [0u8; 4096];
    loop {
        let Ok(n) = sock.read(&mut tmp).await else {
            return false;
        };
        if n == 0 {
            return false;
        }
        buf.extend_from_slice(&tmp[..n]);
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let len: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            while buf.len() < end + 4 + len {
                match sock.read(&mut tmp).await {
                    Ok(0) | Err(_) => return false,
                    Ok(n) => buf.extend_from_slice(&tmp[..n]),
                }
            }
            return true;
        }
    }
}

async fn serve(mut sock: TcpStream, mode: Mode, sent: Arc<Mutex<Vec<Duration>>>, epoch: Instant) {
    let _ = sock.set_nodelay(true);
    if !read_request(&mut sock).await {
        return;
    }
    match mode {
        Mode::FirstToken => {
            let first = format!("{HEAD}{}", chunk(&event("Hello")));
            let _ = sock.write_all(first.as_bytes()).await;
            let rest = format!(
                "{}{}0\r\n\r\n",
                chunk(&event(" world")),
                chunk("data: [DONE]\n\n")
            );
            let _ = sock.write_all(rest.as_bytes()).await;
        }
        Mode::Rate { tokens } => {
            let _ = sock.write_all(HEAD.as_bytes()).await;
            let mut times = Vec::with_capacity(tokens);
            let start = Instant::now();
            let mut seq = 0;
            while seq < tokens {
                let due = start + Duration::from_millis((seq / TOKENS_PER_MS) as u64);
                tokio::time::sleep_until(due.into()).await;
                let mut body = String::new();
                for _ in 0..TOKENS_PER_MS {
                    body.push_str(&event(&format!("{seq} ")));
                    seq += 1;
                }
                if sock.write_all(chunk(&body).as_bytes()).await.is_err() {
                    return;
                }
                let at = epoch.elapsed();
                times.extend(std::iter::repeat_n(at, TOKENS_PER_MS));
            }
            *sent.lock().unwrap() = times;
            let end = format!("{}0\r\n\r\n", chunk("data: [DONE]\n\n"));
            let _ = sock.write_all(end.as_bytes()).await;
        }
    }
}

fn start_server(epoch: Instant) -> Server {
    let mode = Arc::new(Mutex::new(Mode::FirstToken));
    let sent = Arc::new(Mutex::new(Vec::new()));
    let (tx, rx) = std::sync::mpsc::channel();
    let (m, s) = (mode.clone(), sent.clone());
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap().port()).unwrap();
            loop {
                let (sock, _) = listener.accept().await.unwrap();
                let mode = *m.lock().unwrap();
                tokio::spawn(serve(sock, mode, s.clone(), epoch));
            }
        });
    });
    Server {
        port: rx.recv().unwrap(),
        mode,
        sent,
        epoch,
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn summary(name: &str, mut ms: Vec<f64>) -> f64 {
    ms.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let p50 = percentile(&ms, 0.5);
    println!(
        "{name:<44} p50 {p50:7.2} ms   p95 {:7.2} ms   min {:7.2} ms",
        percentile(&ms, 0.95),
        ms[0]
    );
    p50
}

fn body_json() -> String {
    r#"{"model":"bench","stream":true,"messages":[{"role":"user","content":"hi"}]}"#.into()
}

fn curl_ttft(url: &str, runs: usize) -> Vec<f64> {
    let mut out = Vec::new();
    for _ in 0..runs {
        let o = std::process::Command::new("curl")
            .args([
                "-s",
                "-N",
                "-o",
                "/dev/null",
                "-w",
                "%{time_starttransfer}",
                "-H",
                "content-type: application/json",
                "-d",
                &body_json(),
                url,
            ])
            .output()
            .expect("curl is installed");
        let secs: f64 = String::from_utf8_lossy(&o.stdout).trim().parse().unwrap();
        out.push(secs * 1000.0);
    }
    out
}

fn profile(port: u16) -> Profile {
    let mut p = Profile::new(
        "bench",
        BackendKind::OpenAiCompatible,
        format!("http://127.0.0.1:{port}/v1"),
    );
    p.default_model = Some("bench".into());
    p
}

fn request() -> ChatRequest {
    ChatRequest {
        model: "bench".into(),
        messages: vec![WireMessage::new("user", "hi")],
        stream: true,
        ..Default::default()
    }
}

/// A client like the app's (`NativeHttp`), but without a pool, so every request connects anew
/// as curl does.
fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .tcp_nodelay(true)
        .pool_max_idle_per_host(0)
        .build()
        .unwrap()
}

async fn client_ttft(port: u16, runs: usize) -> Vec<f64> {
    let client = OpenAiClient::new(http(), &profile(port), None).unwrap();
    let mut out = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        let mut stream = client.stream_chat(&request()).await.unwrap();
        loop {
            match stream.next().await {
                Some(Ok(StreamEvent::Content(_))) => break,
                Some(Ok(_)) => {}
                other => panic!("no token: {other:?}"),
            }
        }
        out.push(t.elapsed().as_secs_f64() * 1000.0);
        while stream.next().await.is_some() {}
    }
    out
}

async fn app_ttft(port: u16, dir: &std::path::Path, runs: usize) -> Vec<f64> {
    let services = native::services(&DataDirs {
        root: dir.to_owned(),
        custom: true,
    })
    .unwrap();
    let client = OpenAiClient::new(http(), &profile(port), None).unwrap();
    let options = EngineOptions::default();
    let ctx = ReplyContext {
        store: &services.store,
        client: &client,
        options: &options,
    };
    let mut out = Vec::new();
    for _ in 0..runs {
        let mut c = Conversation::new("bench");
        c.model = Some("bench".into());
        services.store.create_conversation(c.clone()).await.unwrap();
        let (_stop, signal) = stop_pair();
        let t = Instant::now();
        let mut first = None;
        let mut on_update = |u: ChatUpdate| {
            if first.is_none() && matches!(u, ChatUpdate::Content { .. }) {
                first = Some(t.elapsed());
            }
        };
        ctx.send(Target::Existing(c.id.clone()), "hi", signal, &mut on_update)
            .await
            .unwrap();
        out.push(first.expect("a token arrived").as_secs_f64() * 1000.0);
    }
    out
}

async fn rate(server: &Server, dir: &std::path::Path, tokens: usize) {
    *server.mode.lock().unwrap() = Mode::Rate { tokens };
    let services = native::services(&DataDirs {
        root: dir.to_owned(),
        custom: true,
    })
    .unwrap();
    let client = OpenAiClient::new(http(), &profile(server.port), None).unwrap();
    let options = EngineOptions::default();
    let ctx = ReplyContext {
        store: &services.store,
        client: &client,
        options: &options,
    };
    let mut c = Conversation::new("rate");
    c.model = Some("bench".into());
    services.store.create_conversation(c.clone()).await.unwrap();
    let (_stop, signal) = stop_pair();
    let mut seen: Vec<(Duration, usize)> = Vec::new();
    let epoch = server.epoch;
    let mut on_update = |u: ChatUpdate| {
        if let ChatUpdate::Content { text, .. } = u {
            let newest = text
                .split_whitespace()
                .last()
                .and_then(|t| t.parse::<usize>().ok());
            if let Some(n) = newest {
                seen.push((epoch.elapsed(), n));
            }
        }
    };
    let started = Instant::now();
    let message = ctx
        .send(Target::Existing(c.id.clone()), "go", signal, &mut on_update)
        .await
        .unwrap()
        .message;
    let wall = started.elapsed();
    let sent = server.sent.lock().unwrap().clone();
    assert_eq!(sent.len(), tokens, "the server sent every token");
    let words = message.text().split_whitespace().count();
    assert_eq!(words, tokens, "every token reached the saved reply");
    let mut lags: Vec<f64> = seen
        .iter()
        .map(|(at, n)| at.saturating_sub(sent[*n]).as_secs_f64() * 1000.0)
        .collect();
    lags.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let server_span = sent[tokens - 1].saturating_sub(sent[0]);
    let end_lag = seen
        .last()
        .map(|(at, _)| at.saturating_sub(sent[tokens - 1]))
        .unwrap_or_default();
    println!(
        "5,000 tok/s: {tokens} tokens sent over {:.0} ms; reply saved after {:.0} ms; {} updates",
        server_span.as_secs_f64() * 1000.0,
        wall.as_secs_f64() * 1000.0,
        seen.len()
    );
    println!(
        "  lag from server write to engine update: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms; last token {:.2} ms after it was sent",
        percentile(&lags, 0.5),
        percentile(&lags, 0.99),
        lags.last().copied().unwrap_or(f64::NAN),
        end_lag.as_secs_f64() * 1000.0
    );
    let verdict = if percentile(&lags, 0.99) < 16.0 {
        "no backlog (p99 lag under one 16 ms frame)"
    } else {
        "BACKLOG: p99 lag is over one frame"
    };
    println!("  {verdict}");
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let size = if full {
        Size {
            runs: 60,
            tokens: 10_000,
        }
    } else {
        Size {
            runs: 10,
            tokens: 2_000,
        }
    };
    let runs = size.runs;
    let epoch = Instant::now();
    let server = start_server(epoch);
    let url = format!("http://127.0.0.1:{}/v1/chat/completions", server.port);
    let dir = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    println!("time to first token, {runs} runs each, new connection per request:");
    let curl = summary("curl (time_starttransfer)", curl_ttft(&url, runs));
    let client = summary(
        "engine client (stream_chat → first token)",
        rt.block_on(client_ttft(server.port, runs)),
    );
    let app = summary(
        "app send path (SQLite saves + stream)",
        rt.block_on(app_ttft(server.port, &dir.path().join("ttft"), runs)),
    );
    println!(
        "  over curl: client {:+.2} ms, app send path {:+.2} ms (budget +5 ms)",
        client - curl,
        app - curl
    );
    rt.block_on(rate(&server, &dir.path().join("rate"), size.tokens));
    if !full {
        println!("(small smoke run; `cargo bench --bench stream` runs the full size)");
    }
}
