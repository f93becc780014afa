//! An HTTP/1.1 proxy in front of `serve-web` for the browser tests that holds back the
//! requests whose path contains a given text until the test lets them through: the storage
//! worker's SQLite module, so the page runs with its store still loading for as long as a test
//! needs. One request per connection (`Connection: close` both ways) and nothing cached
//! (`Cache-Control: no-store` on every response), so a reload asks again and is held again.
#![allow(dead_code)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

pub struct HoldProxy {
    /// The proxy's base URL (`http://127.0.0.1:PORT/`).
    pub url: String,
    holding: watch::Sender<bool>,
    waiting: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl HoldProxy {
    /// In front of `upstream` (`http://127.0.0.1:PORT/`), holding paths containing `pattern`
    /// while [`HoldProxy::hold`] is on (off at the start).
    pub async fn start(upstream: &str, pattern: &str) -> HoldProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        let to = upstream
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_owned();
        let (holding, gate) = watch::channel(false);
        let waiting = Arc::new(AtomicUsize::new(0));
        let (pattern, count) = (pattern.to_owned(), waiting.clone());
        let task = tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let (to, pattern, gate, count) =
                    (to.clone(), pattern.clone(), gate.clone(), count.clone());
                tokio::spawn(async move {
                    let _ = serve(socket, &to, &pattern, gate, &count).await;
                });
            }
        });
        HoldProxy {
            url,
            holding,
            waiting,
            task,
        }
    }

    /// Hold matching requests (`true`) or let them, and every one held, through (`false`).
    pub fn hold(&self, on: bool) {
        self.holding.send_replace(on);
    }

    /// How many matching requests are being held now.
    pub fn waiting(&self) -> usize {
        self.waiting.load(Ordering::SeqCst)
    }
}

impl Drop for HoldProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Reads up to the end of a head (`\r\n\r\n`); the head and any bytes after it.
async fn read_head(socket: &mut TcpStream) -> std::io::Result<(String, Vec<u8>)> {
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        if let Some(end) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            let rest = data.split_off(end + 4);
            return Ok((String::from_utf8_lossy(&data).into_owned(), rest));
        }
        let n = socket.read(&mut buf).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        data.extend_from_slice(&buf[..n]);
    }
}

/// The head with the named headers dropped and `extra` lines added before its end.
fn rewrite(head: &str, drop: &[&str], extra: &[&str]) -> String {
    let mut out = String::new();
    for line in head.trim_end_matches("\r\n").split("\r\n") {
        let name = line
            .split(':')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        if !drop.contains(&name.as_str()) || !line.contains(':') {
            out.push_str(line);
            out.push_str("\r\n");
        }
    }
    for line in extra {
        out.push_str(line);
        out.push_str("\r\n");
    }
    out.push_str("\r\n");
    out
}

async fn serve(
    mut client: TcpStream,
    to: &str,
    pattern: &str,
    mut gate: watch::Receiver<bool>,
    waiting: &AtomicUsize,
) -> std::io::Result<()> {
    let (head, body) = read_head(&mut client).await?;
    let path = head.split_whitespace().nth(1).unwrap_or("/");
    if path.contains(pattern) && *gate.borrow() {
        waiting.fetch_add(1, Ordering::SeqCst);
        let _ = gate.wait_for(|on| !on).await;
        waiting.fetch_sub(1, Ordering::SeqCst);
    }
    let mut upstream = TcpStream::connect(to).await?;
    let request = rewrite(&head, &["connection"], &["Connection: close"]);
    upstream.write_all(request.as_bytes()).await?;
    upstream.write_all(&body).await?;
    let (response, rest) = read_head(&mut upstream).await?;
    let response = rewrite(
        &response,
        &["connection", "cache-control", "etag", "last-modified"],
        &["Connection: close", "Cache-Control: no-store"],
    );
    client.write_all(response.as_bytes()).await?;
    client.write_all(&rest).await?;
    tokio::io::copy(&mut upstream, &mut client).await?;
    client.shutdown().await
}
