//! A CORS front for the WebDAV server in the browser tests. `rclone serve webdav` answers no
//! preflight, so the page could not reach it; this answers preflights exactly as
//! docs/sync-format.md asks a server to (the WebDAV methods, the headers the client sends) and
//! forwards everything else unchanged, with the page's origin allowed on the response. It
//! counts the preflights it answered, so a test sees that the browser really went through CORS.
#![allow(dead_code)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

const METHODS: &str = "GET, PUT, PROPFIND, MKCOL, MOVE, DELETE, OPTIONS";
const HEADERS: &str = "Authorization, Content-Type, Depth, Destination, Overwrite";

pub struct CorsProxy {
    /// The proxy's base URL (`http://127.0.0.1:PORT`).
    pub url: String,
    upstream: String,
    preflights: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl CorsProxy {
    /// In front of `upstream` (`http://host:port`, no path).
    pub async fn start(upstream: &str) -> CorsProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let upstream = upstream.trim_end_matches('/').to_owned();
        let preflights = Arc::new(AtomicUsize::new(0));
        let (me, to, count) = (url.clone(), upstream.clone(), preflights.clone());
        let http = reqwest::Client::new();
        let task = tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let (me, to, count, http) = (me.clone(), to.clone(), count.clone(), http.clone());
                tokio::spawn(async move {
                    let _ = serve(socket, &me, &to, &count, &http).await;
                });
            }
        });
        CorsProxy {
            url,
            upstream,
            preflights,
            task,
        }
    }

    /// The proxy's URL for an upstream URL (same path).
    pub fn front(&self, upstream_url: &str) -> String {
        upstream_url.replacen(&self.upstream, &self.url, 1)
    }

    pub fn preflights(&self) -> usize {
        self.preflights.load(Ordering::SeqCst)
    }
}

impl Drop for CorsProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// One request per connection (`Connection: close`), which every client handles.
async fn serve(
    socket: TcpStream,
    me: &str,
    upstream: &str,
    preflights: &AtomicUsize,
    http: &reqwest::Client,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(socket);
    let mut line = String::new();
    reader.read_line(&mut line).await?;
    let mut parts = line.split_whitespace();
    let (method, target) = (
        parts.next().unwrap_or("").to_owned(),
        parts.next().unwrap_or("/").to_owned(),
    );
    let mut headers = Vec::new();
    let mut length = 0usize;
    loop {
        let mut h = String::new();
        reader.read_line(&mut h).await?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((name, value)) = h.split_once(':') {
            let (name, value) = (name.trim().to_owned(), value.trim().to_owned());
            if name.eq_ignore_ascii_case("content-length") {
                length = value.parse().unwrap_or(0);
            }
            headers.push((name, value));
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).await?;
    let origin = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("origin"))
        .map(|(_, v)| v.clone());
    let allow = match &origin {
        Some(o) => format!("Access-Control-Allow-Origin: {o}\r\nVary: Origin\r\n"),
        None => String::new(),
    };
    let mut socket = reader.into_inner();
    if method == "OPTIONS" {
        preflights.fetch_add(1, Ordering::SeqCst);
        let reply = format!(
            "HTTP/1.1 204 No Content\r\n{allow}Access-Control-Allow-Methods: {METHODS}\r\nAccess-Control-Allow-Headers: {HEADERS}\r\nAccess-Control-Max-Age: 600\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        );
        socket.write_all(reply.as_bytes()).await?;
        return socket.shutdown().await;
    }
    let mut request = http.request(
        reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
        format!("{upstream}{target}"),
    );
    for (name, value) in &headers {
        let skip = ["host", "origin", "referer", "connection", "content-length"]
            .iter()
            .any(|h| name.eq_ignore_ascii_case(h));
        if skip {
            continue;
        }
        let value = if name.eq_ignore_ascii_case("destination") {
            value.replacen(me, upstream, 1)
        } else {
            value.clone()
        };
        request = request.header(name.as_str(), value);
    }
    let answer = request.body(body).send().await;
    let (status, kept, body) = match answer {
        Ok(r) => {
            let status = r.status();
            let kept: Vec<(String, String)> = r
                .headers()
                .iter()
                .filter(|(n, _)| {
                    !["connection", "content-length", "transfer-encoding"].contains(&n.as_str())
                })
                .map(|(n, v)| (n.to_string(), v.to_str().unwrap_or("").to_owned()))
                .collect();
            (status, kept, r.bytes().await.unwrap_or_default().to_vec())
        }
        Err(e) => (
            reqwest::StatusCode::BAD_GATEWAY,
            Vec::new(),
            e.to_string().into_bytes(),
        ),
    };
    let mut head = format!(
        "HTTP/1.1 {} {}\r\n{allow}",
        status.as_u16(),
        status.canonical_reason().unwrap_or("")
    );
    for (n, v) in kept {
        head.push_str(&format!("{n}: {v}\r\n"));
    }
    head.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    ));
    socket.write_all(head.as_bytes()).await?;
    socket.write_all(&body).await?;
    socket.shutdown().await
}
