//! A fault proxy between the app and a real OpenCode server. Every request is forwarded
//! unchanged (HTTP/1.1, read and written here, so each `/event` stream can be tampered with at
//! SSE-event granularity): `/event` streams can be cut (and refused for a while), stalled (kept
//! open with nothing delivered) or delivered with every event twice; or the server can be out
//! of reach altogether ([`EventProxy::set_down`]). The server's response headers pass through
//! (CORS included), so a page in a browser can talk to the server through it.
#![allow(dead_code)]

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use futures_util::StreamExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What happens to the events of `/event` streams.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventMode {
    Pass,
    /// Every event is delivered twice in a row.
    Duplicate,
    /// The stream stays open and events are swallowed.
    Stall,
}

struct Control {
    upstream: String,
    http: reqwest::Client,
    mode: Mutex<EventMode>,
    refuse: AtomicBool,
    down: AtomicBool,
    cuts: Mutex<Vec<tokio::sync::oneshot::Sender<()>>>,
    event_streams: AtomicUsize,
}

pub struct EventProxy {
    pub url: String,
    control: Arc<Control>,
    task: tokio::task::JoinHandle<()>,
}

impl EventProxy {
    pub async fn start(upstream: &str) -> EventProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let control = Arc::new(Control {
            upstream: upstream.trim_end_matches('/').to_owned(),
            http: reqwest::Client::new(),
            mode: Mutex::new(EventMode::Pass),
            refuse: AtomicBool::new(false),
            down: AtomicBool::new(false),
            cuts: Mutex::default(),
            event_streams: AtomicUsize::new(0),
        });
        let c = control.clone();
        let task = tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let c = c.clone();
                tokio::spawn(async move {
                    let _ = serve(socket, c).await;
                });
            }
        });
        EventProxy { url, control, task }
    }

    pub fn set_mode(&self, mode: EventMode) {
        *self.control.mode.lock().unwrap() = mode;
    }

    /// Drops every open `/event` stream; while `refuse` holds, new ones are closed at once.
    pub fn cut_events(&self, refuse: bool) {
        self.control.refuse.store(refuse, Ordering::SeqCst);
        for tx in self.control.cuts.lock().unwrap().drain(..) {
            let _ = tx.send(());
        }
    }

    /// The server out of reach (while `down`): every request's connection is closed with no
    /// answer, and `/event` streams are cut and refused.
    pub fn set_down(&self, down: bool) {
        self.control.down.store(down, Ordering::SeqCst);
        self.cut_events(down);
    }

    pub fn refuse_events(&self, refuse: bool) {
        self.control.refuse.store(refuse, Ordering::SeqCst);
    }

    /// `/event` streams opened through the proxy so far.
    pub fn event_streams(&self) -> usize {
        self.control.event_streams.load(Ordering::SeqCst)
    }
}

impl Drop for EventProxy {
    fn drop(&mut self) {
        self.task.abort();
        self.cut_events(true);
    }
}

struct Request {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

/// Reads one request (head and `content-length` body); `None` at the end of the connection.
async fn read_request(socket: &mut TcpStream, buf: &mut Vec<u8>) -> Option<Request> {
    let end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let mut chunk = [0u8; 8192];
        match socket.read(&mut chunk).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    };
    let head = String::from_utf8_lossy(&buf[..end]).into_owned();
    buf.drain(..end);
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split_whitespace();
    let (method, path) = (first.next()?.to_owned(), first.next()?.to_owned());
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    while buf.len() < length {
        let mut chunk = [0u8; 8192];
        match socket.read(&mut chunk).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    let body = buf.drain(..length).collect();
    Some(Request {
        method,
        path,
        headers,
        body,
    })
}

async fn serve(mut socket: TcpStream, c: Arc<Control>) -> std::io::Result<()> {
    let mut buf = Vec::new();
    while let Some(req) = read_request(&mut socket, &mut buf).await {
        if c.down.load(Ordering::SeqCst) {
            return Ok(());
        }
        if req.method == "GET" && req.path.starts_with("/event") {
            return stream_events(socket, &c, &req).await;
        }
        let method = reqwest::Method::from_bytes(req.method.as_bytes()).unwrap();
        let mut up = c
            .http
            .request(method, format!("{}{}", c.upstream, req.path))
            .body(req.body);
        for (k, v) in &req.headers {
            if !matches!(k.as_str(), "host" | "content-length" | "connection") {
                up = up.header(k, v);
            }
        }
        let (status, headers, body) = match up.send().await {
            Ok(r) => {
                let status = r.status().as_u16();
                let headers = passed_headers(r.headers());
                (
                    status,
                    headers,
                    r.bytes().await.unwrap_or_default().to_vec(),
                )
            }
            Err(_) => (
                502,
                "content-type: text/plain\r\n".to_owned(),
                b"upstream failed".to_vec(),
            ),
        };
        let head = format!(
            "HTTP/1.1 {status} X\r\n{headers}content-length: {}\r\n\r\n",
            body.len()
        );
        socket.write_all(head.as_bytes()).await?;
        socket.write_all(&body).await?;
    }
    Ok(())
}

/// The upstream's response headers as header lines, without those of its own connection and
/// body framing (the proxy sends the body whole, with its length).
fn passed_headers(headers: &reqwest::header::HeaderMap) -> String {
    let mut out = String::new();
    for (k, v) in headers {
        if matches!(
            k.as_str(),
            "content-length" | "transfer-encoding" | "connection" | "keep-alive"
        ) {
            continue;
        }
        if let Ok(v) = v.to_str() {
            out.push_str(&format!("{k}: {v}\r\n"));
        }
    }
    if !headers.contains_key("content-type") {
        out.push_str("content-type: application/json\r\n");
    }
    out
}

async fn stream_events(mut socket: TcpStream, c: &Control, req: &Request) -> std::io::Result<()> {
    if c.refuse.load(Ordering::SeqCst) {
        return Ok(());
    }
    let mut up = c.http.get(format!("{}{}", c.upstream, req.path));
    for (k, v) in &req.headers {
        if matches!(k.as_str(), "accept" | "authorization" | "origin") {
            up = up.header(k, v);
        }
    }
    let Ok(resp) = up.send().await else {
        return Ok(());
    };
    c.event_streams.fetch_add(1, Ordering::SeqCst);
    let (tx, mut killed) = tokio::sync::oneshot::channel();
    c.cuts.lock().unwrap().push(tx);
    // Close-delimited body: the client reads events until the proxy hangs up.
    let cors: String = passed_headers(resp.headers())
        .lines()
        .filter(|l| l.starts_with("access-control-"))
        .map(|l| format!("{l}\r\n"))
        .collect();
    socket
        .write_all(
            format!("HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\n{cors}connection: close\r\n\r\n")
                .as_bytes(),
        )
        .await?;
    let mut body = resp.bytes_stream();
    let mut pending: Vec<u8> = Vec::new();
    loop {
        tokio::select! {
            _ = &mut killed => return Ok(()),
            chunk = body.next() => {
                let Some(Ok(chunk)) = chunk else { return Ok(()) };
                pending.extend_from_slice(&chunk);
                while let Some(i) = pending.windows(2).position(|w| w == b"\n\n") {
                    let event: Vec<u8> = pending.drain(..i + 2).collect();
                    let mode = *c.mode.lock().unwrap();
                    match mode {
                        EventMode::Pass => socket.write_all(&event).await?,
                        EventMode::Duplicate => {
                            socket.write_all(&event).await?;
                            socket.write_all(&event).await?;
                        }
                        EventMode::Stall => {}
                    }
                }
            }
        }
    }
}
