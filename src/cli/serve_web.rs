//! `opencode-nexus serve-web`: serves the browser bundle (built by `scripts/build-web.sh`) on
//! 127.0.0.1 for local use. A deliberately small static file server: GET/HEAD only, no
//! directory listings, no paths outside the bundle, the right MIME types (browsers compile
//! `.wasm` while downloading only when it is served as `application/wasm`).

use std::path::{Component, Path, PathBuf};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::engine::error::{Error, Result};

/// Where the bundle is looked for when `--dir` is not given: `./dist`, then the installed copy.
pub fn default_dir() -> Option<PathBuf> {
    let mut candidates = vec![PathBuf::from("dist")];
    if let Ok(exe) = std::env::current_exe() {
        if let Some(prefix) = exe.parent().and_then(Path::parent) {
            candidates.push(prefix.join("share/opencode-nexus/web"));
        }
    }
    candidates
        .into_iter()
        .find(|d| d.join("index.html").is_file())
}

pub async fn serve(dir: PathBuf, port: u16) -> Result<()> {
    if !dir.join("index.html").is_file() {
        return Err(Error::Io {
            path: dir.display().to_string(),
            detail: "no index.html there; build the bundle with scripts/build-web.sh or pass --dir"
                .into(),
        });
    }
    let listener = TcpListener::bind(("127.0.0.1", port))
        .await
        .map_err(|e| Error::io(format!("127.0.0.1:{port}"), e))?;
    let addr = listener
        .local_addr()
        .map_err(|e| Error::io("listener", e))?;
    println!("Serving OpenCode Nexus at http://{addr}/ (Ctrl-C to stop)");
    loop {
        let (socket, _) = listener
            .accept()
            .await
            .map_err(|e| Error::io("listener", e))?;
        let dir = dir.clone();
        tokio::spawn(async move {
            if let Err(e) = handle(socket, &dir).await {
                tracing::debug!(error = %e, "web request failed");
            }
        });
    }
}

async fn handle(mut socket: TcpStream, dir: &Path) -> std::io::Result<()> {
    let mut buf = Vec::with_capacity(2048);
    let mut chunk = [0u8; 2048];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = socket.read(&mut chunk).await?;
        if n == 0 || buf.len() > 32 * 1024 {
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let head = String::from_utf8_lossy(&buf);
    let mut parts = head.lines().next().unwrap_or("").split_whitespace();
    let method = parts.next().unwrap_or("");
    let target = parts.next().unwrap_or("/");
    if method != "GET" && method != "HEAD" {
        return respond(
            &mut socket,
            405,
            "text/plain",
            b"method not allowed",
            method == "HEAD",
        )
        .await;
    }
    let path = target.split(['?', '#']).next().unwrap_or("/");
    let Some(file) = resolve(dir, path) else {
        return respond(
            &mut socket,
            404,
            "text/plain",
            b"not found",
            method == "HEAD",
        )
        .await;
    };
    match tokio::fs::read(&file).await {
        Ok(body) => respond(&mut socket, 200, mime(&file), &body, method == "HEAD").await,
        Err(_) => {
            respond(
                &mut socket,
                404,
                "text/plain",
                b"not found",
                method == "HEAD",
            )
            .await
        }
    }
}

/// Map a URL path to a file inside `dir`, refusing anything that would leave it.
fn resolve(dir: &Path, url_path: &str) -> Option<PathBuf> {
    let decoded = percent_decode(url_path)?;
    let rel = decoded.trim_start_matches('/');
    let rel = if rel.is_empty() { "index.html" } else { rel };
    let rel_path = Path::new(rel);
    if rel_path
        .components()
        .any(|c| !matches!(c, Component::Normal(_)))
    {
        return None;
    }
    let full = dir.join(rel_path);
    full.is_file().then_some(full)
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn mime(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "wasm" => "application/wasm",
        "css" => "text/css; charset=utf-8",
        "json" => "application/json",
        "webmanifest" => "application/manifest+json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        _ => "application/octet-stream",
    }
}

async fn respond(
    socket: &mut TcpStream,
    status: u16,
    content_type: &str,
    body: &[u8],
    head_only: bool,
) -> std::io::Result<()> {
    let reason = match status {
        200 => "OK",
        404 => "Not Found",
        _ => "Method Not Allowed",
    };
    let header = format!(
        "HTTP/1.1 {status} {reason}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\ncache-control: no-cache\r\nx-content-type-options: nosniff\r\nreferrer-policy: no-referrer\r\nconnection: close\r\n\r\n",
        body.len()
    );
    socket.write_all(header.as_bytes()).await?;
    if !head_only {
        socket.write_all(body).await?;
    }
    socket.shutdown().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_cannot_leave_the_bundle() {
        let dir = tempfile_dir();
        std::fs::write(dir.join("index.html"), "x").unwrap();
        assert_eq!(resolve(&dir, "/"), Some(dir.join("index.html")));
        assert_eq!(resolve(&dir, "/index.html"), Some(dir.join("index.html")));
        assert_eq!(resolve(&dir, "/../etc/passwd"), None);
        assert_eq!(resolve(&dir, "/%2e%2e/etc/passwd"), None);
        assert_eq!(resolve(&dir, "/missing.js"), None);
        assert_eq!(mime(Path::new("a.wasm")), "application/wasm");
    }

    fn tempfile_dir() -> PathBuf {
        let d = std::env::temp_dir().join(format!("nexus-serve-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        d
    }
}
