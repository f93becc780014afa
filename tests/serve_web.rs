//! `serve-web` over the real bundle (`scripts/build-web.sh`'s output, which `scripts/test.sh`
//! builds): every file comes back byte for byte under each encoding a browser may accept, the
//! precompressed copies with `Content-Encoding`, content-hashed files cached as immutable,
//! the rest revalidated with an `ETag` (304 when unchanged). Prints the bytes a cold page load
//! transfers with brotli, gzip and none.

mod support;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use support::browser::{free_port, required, wait_port, Killer, BIN};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// One request over a fresh connection, the reply read to its end (the server closes it).
async fn get(port: u16, path: &str, headers: &[(&str, &str)]) -> Reply {
    let mut socket = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let mut request = format!("GET {path} HTTP/1.1\r\nhost: 127.0.0.1\r\n");
    for (k, v) in headers {
        request.push_str(&format!("{k}: {v}\r\n"));
    }
    request.push_str("\r\n");
    socket.write_all(request.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    socket.read_to_end(&mut raw).await.unwrap();
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a complete head");
    let head = String::from_utf8(raw[..split].to_vec()).unwrap();
    let mut lines = head.lines();
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    Reply {
        status,
        headers,
        body: raw[split + 4..].to_vec(),
    }
}

fn decode(encoding: Option<&str>, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    match encoding {
        None => out.extend_from_slice(body),
        Some("gzip") => {
            flate2::read::GzDecoder::new(body)
                .read_to_end(&mut out)
                .unwrap();
        }
        Some("br") => {
            brotli_decompressor::Decompressor::new(body, 4096)
                .read_to_end(&mut out)
                .unwrap();
        }
        Some(other) => panic!("unexpected content-encoding {other}"),
    }
    out
}

/// The bundle's own files (not the precompressed copies), relative to `dist`.
fn bundle_files(dist: &Path) -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if !matches!(path.extension().and_then(|e| e.to_str()), Some("br" | "gz")) {
                out.push(path);
            }
        }
    }
    let mut out = Vec::new();
    walk(dist, &mut out);
    out.sort();
    out
}

#[tokio::test]
async fn the_bundle_is_served_precompressed_cached_by_hash_and_revalidated() {
    let dist = PathBuf::from(required("NEXUS_TEST_WEB_DIST"));
    let port = free_port();
    let data = tempfile::tempdir().unwrap();
    let _server = Killer(
        Command::new(BIN)
            .arg("--data-dir")
            .arg(data.path())
            .args(["serve-web", "--port", &port.to_string(), "--dir"])
            .arg(&dist)
            .stdout(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_port(port).await;

    let files = bundle_files(&dist);
    let wasm = files
        .iter()
        .find(|f| f.extension().is_some_and(|e| e == "wasm"))
        .expect("a wasm module in the bundle")
        .clone();
    assert!(
        wasm.file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .split('.')
            .count()
            == 3,
        "the module's name carries its hash: {wasm:?}"
    );

    let mut transferred = [0usize; 3];
    for file in &files {
        let rel = file.strip_prefix(&dist).unwrap().to_str().unwrap();
        let url = format!("/{rel}");
        let original = std::fs::read(file).unwrap();
        for (i, accept) in ["br, gzip, deflate", "gzip", "identity"]
            .into_iter()
            .enumerate()
        {
            let r = get(port, &url, &[("accept-encoding", accept)]).await;
            assert_eq!(r.status, 200, "{url} with {accept}");
            let encoding = r.header("content-encoding");
            assert_eq!(
                decode(encoding, &r.body),
                original,
                "{url} with {accept} ({encoding:?}) is not the file"
            );
            assert_eq!(r.header("vary"), Some("accept-encoding"), "{url}");
            let compressible = !rel.ends_with(".png");
            let expected = match (i, compressible) {
                (0, true) => Some("br"),
                (1, true) => Some("gzip"),
                _ => None,
            };
            assert_eq!(encoding, expected, "{url} with {accept}");
            transferred[i] += r.body.len();
        }
        let r = get(port, &url, &[]).await;
        let hashed = rel.contains(".wasm")
            || rel.starts_with("opencode-nexus.")
            || rel.starts_with("nexus-store.")
            || rel.starts_with("main.");
        if hashed {
            assert_eq!(
                r.header("cache-control"),
                Some("public, max-age=31536000, immutable"),
                "{url}"
            );
        } else {
            assert_eq!(r.header("cache-control"), Some("no-cache"), "{url}");
            let tag = r.header("etag").expect("an etag").to_owned();
            let again = get(port, &url, &[("if-none-match", &tag)]).await;
            assert_eq!(again.status, 304, "{url} unchanged");
            assert!(again.body.is_empty());
            let other = get(port, &url, &[("if-none-match", "\"other\"")]).await;
            assert_eq!(other.status, 200, "{url} with a stale tag");
        }
    }
    // A q=0 refuses an encoding.
    let r = get(port, "/index.html", &[("accept-encoding", "br;q=0, gzip")]).await;
    assert_eq!(r.header("content-encoding"), Some("gzip"));

    let kb = |b: usize| b as f64 / 1000.0;
    println!(
        "serve-web, every file of the bundle: {:.1} KB with brotli, {:.1} KB with gzip, {:.1} KB uncompressed",
        kb(transferred[0]),
        kb(transferred[1]),
        kb(transferred[2])
    );
    assert!(transferred[0] < transferred[1] && transferred[1] < transferred[2]);
}

#[tokio::test]
async fn a_cold_page_load_in_chromium_gets_the_compressed_copies() {
    use support::browser::{app_ready, browser, js, serve_bundle};
    let (_server, base) = serve_bundle().await;
    let b = browser(1280, 900, false).await;
    let c = &b.client;
    c.goto(&base).await.unwrap();
    app_ready(c).await;
    let seen = js(
        c,
        "const nav = performance.getEntriesByType('navigation')[0];
         const res = performance.getEntriesByType('resource').filter(r => r.name.startsWith(location.origin));
         const all = [nav, ...res];
         return {
           transferred: all.reduce((s, r) => s + r.transferSize, 0),
           decoded: all.reduce((s, r) => s + r.decodedBodySize, 0),
           wasm: res.filter(r => r.name.endsWith('.wasm')).map(r => [r.name, r.encodedBodySize, r.decodedBodySize]),
           count: all.length,
         };",
    )
    .await;
    println!("cold page load in Chromium: {seen}");
    let wasm = &seen["wasm"][0];
    let (encoded, decoded) = (wasm[1].as_u64().unwrap(), wasm[2].as_u64().unwrap());
    assert!(
        encoded > 0 && encoded * 2 < decoded,
        "the module came compressed: {wasm}"
    );
    let module = std::fs::metadata(
        PathBuf::from(required("NEXUS_TEST_WEB_DIST"))
            .join(wasm[0].as_str().unwrap().rsplit('/').next().unwrap()),
    )
    .unwrap()
    .len();
    assert_eq!(decoded, module, "Chromium decoded the whole module");
    let br = std::fs::metadata(PathBuf::from(required("NEXUS_TEST_WEB_DIST")).join(format!(
        "{}.br",
        wasm[0].as_str().unwrap().rsplit('/').next().unwrap()
    )))
    .unwrap()
    .len();
    assert_eq!(encoded, br, "the brotli copy was sent");
    b.client.clone().close().await.unwrap();
}
