//! `opencode-nexus serve-web`: serves the browser bundle (built by `scripts/build-web.sh`) on
//! 127.0.0.1 for local use. A deliberately small static file server: GET/HEAD only, no
//! directory listings, no paths outside the bundle, the right MIME types (browsers compile
//! `.wasm` while downloading only when it is served as `application/wasm`).
//!
//! It serves what a static host should (docs/web.md): the precompressed copy the build made
//! (`name.br`, `name.gz`) when the browser accepts it, with `Content-Encoding` and
//! `Vary: Accept-Encoding`; content-hashed files (`name.0123abcdef.wasm`) cached for a year as
//! immutable; everything else revalidated (`no-cache` with an `ETag`, answered `304` when it
//! did not change).

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
            &[],
            method == "HEAD",
        )
        .await;
    }
    let path = target.split(['?', '#']).next().unwrap_or("/");
    let head_only = method == "HEAD";
    let Some(file) = resolve(dir, path) else {
        return respond(&mut socket, 404, "text/plain", b"not found", &[], head_only).await;
    };
    let accepted = header(&head, "accept-encoding").unwrap_or_default();
    let (served, encoding) = variant(&file, &accepted);
    let Ok(body) = tokio::fs::read(&served).await else {
        return respond(&mut socket, 404, "text/plain", b"not found", &[], head_only).await;
    };
    let mut headers = vec![("vary", "accept-encoding".to_owned())];
    if let Some(e) = encoding {
        headers.push(("content-encoding", e.to_owned()));
    }
    if is_hashed(&file) {
        headers.push(("cache-control", IMMUTABLE.to_owned()));
    } else {
        let tag = etag(&body);
        headers.push(("cache-control", "no-cache".to_owned()));
        headers.push(("etag", tag.clone()));
        let matches = header(&head, "if-none-match")
            .is_some_and(|h| h.split(',').any(|t| t.trim() == tag || t.trim() == "*"));
        if matches {
            return respond(&mut socket, 304, mime(&file), b"", &headers, true).await;
        }
    }
    respond(&mut socket, 200, mime(&file), &body, &headers, head_only).await
}

/// For content-hashed files: the name changes whenever the content does.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// A request header's value (names compared case-insensitively).
fn header(head: &str, name: &str) -> Option<String> {
    head.lines().skip(1).find_map(|line| {
        let (k, v) = line.split_once(':')?;
        k.trim()
            .eq_ignore_ascii_case(name)
            .then(|| v.trim().to_owned())
    })
}

/// Whether `Accept-Encoding` allows `coding` (a `q=0` refuses it).
fn accepts(accept_encoding: &str, coding: &str) -> bool {
    accept_encoding.split(',').any(|item| {
        let mut parts = item.split(';');
        let name = parts.next().unwrap_or("").trim();
        let refused = parts.any(|p| {
            p.trim()
                .strip_prefix("q=")
                .and_then(|q| q.trim().parse::<f32>().ok())
                .is_some_and(|q| q == 0.0)
        });
        name.eq_ignore_ascii_case(coding) && !refused
    })
}

/// The file to send for `file` and its `Content-Encoding`: the brotli or gzip copy made by
/// the build when the client takes it, else the file itself.
fn variant(file: &Path, accept_encoding: &str) -> (PathBuf, Option<&'static str>) {
    for (coding, ext) in [("br", "br"), ("gzip", "gz")] {
        if accepts(accept_encoding, coding) {
            let mut name = file.as_os_str().to_owned();
            name.push(".");
            name.push(ext);
            let candidate = PathBuf::from(name);
            if candidate.is_file() {
                return (candidate, Some(coding));
            }
        }
    }
    (file.to_owned(), None)
}

/// `name.<10 hex digits>.ext`, as `scripts/build-web.sh` names the module and its glue.
fn is_hashed(file: &Path) -> bool {
    let name = file.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let mut parts = name.rsplit('.');
    let _ext = parts.next();
    parts
        .next()
        .is_some_and(|h| h.len() == 10 && h.bytes().all(|b| b.is_ascii_hexdigit()))
        && parts.next().is_some()
}

/// A strong validator for the bytes sent (each encoding has its own).
fn etag(body: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(body);
    let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    format!("\"{hex}\"")
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
    extra: &[(&str, String)],
    head_only: bool,
) -> std::io::Result<()> {
    let reason = match status {
        200 => "OK",
        304 => "Not Modified",
        404 => "Not Found",
        _ => "Method Not Allowed",
    };
    let mut header = format!(
        "HTTP/1.1 {status} {reason}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nx-content-type-options: nosniff\r\nreferrer-policy: no-referrer\r\nconnection: close\r\n",
        body.len()
    );
    if !extra.iter().any(|(k, _)| *k == "cache-control") {
        header.push_str("cache-control: no-cache\r\n");
    }
    for (k, v) in extra {
        header.push_str(&format!("{k}: {v}\r\n"));
    }
    header.push_str("\r\n");
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

    #[test]
    fn encodings_are_negotiated_from_accept_encoding() {
        assert!(accepts("gzip, deflate, br, zstd", "br"));
        assert!(accepts("GZIP;q=0.5", "gzip"));
        assert!(!accepts("gzip;q=0, br", "gzip"));
        assert!(!accepts("identity", "br"));
        assert!(!accepts("", "gzip"));

        let dir = tempfile_dir().join("enc");
        std::fs::create_dir_all(&dir).unwrap();
        let wasm = dir.join("app.0123456789.wasm");
        std::fs::write(&wasm, b"raw").unwrap();
        std::fs::write(dir.join("app.0123456789.wasm.gz"), b"gz").unwrap();
        assert_eq!(
            variant(&wasm, "gzip, br"),
            (dir.join("app.0123456789.wasm.gz"), Some("gzip"))
        );
        std::fs::write(dir.join("app.0123456789.wasm.br"), b"br").unwrap();
        assert_eq!(
            variant(&wasm, "gzip, br"),
            (dir.join("app.0123456789.wasm.br"), Some("br"))
        );
        assert_eq!(variant(&wasm, "identity"), (wasm.clone(), None));
        assert!(is_hashed(&wasm));
        assert!(!is_hashed(Path::new("index.html")));
        assert!(!is_hashed(Path::new("0123456789.js")));
        assert!(!is_hashed(Path::new("app.012345678g.js")));
        assert_ne!(etag(b"a"), etag(b"b"));
    }

    fn tempfile_dir() -> PathBuf {
        let d = std::env::temp_dir().join(format!("nexus-serve-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        d
    }
}
