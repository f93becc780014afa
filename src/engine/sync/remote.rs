//! Where sync's files live: storage the user already has. The engine needs four operations of
//! it (read a file, write one whole, list a folder, delete), so a WebDAV server and an
//! in-memory store for tests are interchangeable, and an object store can be added beside them.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashSet};

use reqwest::{Method, StatusCode};

use crate::engine::error::{Error, Result};

#[async_trait::async_trait(?Send)]
pub trait Remote {
    /// The file's bytes; `None` when there is no such file.
    async fn get(&self, path: &str) -> Result<Option<Vec<u8>>>;
    /// Write a file so that readers see it whole or not at all (written under a temporary
    /// name, then moved into place), creating its folders.
    async fn put(&self, path: &str, data: Vec<u8>) -> Result<()>;
    /// The names of the files directly in folder `dir` (empty when it does not exist).
    async fn list(&self, dir: &str) -> Result<Vec<String>>;
    async fn delete(&self, path: &str) -> Result<()>;
    /// Where this is, for sentences ("the WebDAV folder at …").
    fn describe(&self) -> String;
    /// Requests made, bytes sent and bytes received so far.
    fn counters(&self) -> Counters;
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    pub requests: u64,
    pub bytes_up: u64,
    pub bytes_down: u64,
}

/// Files in memory, for tests: shareable between simulated devices, counting requests and
/// bytes, and able to fail from a given request on (a connection dropped mid-sync).
#[derive(Default)]
pub struct MemoryRemote {
    pub files: RefCell<BTreeMap<String, Vec<u8>>>,
    pub requests: Cell<u64>,
    pub bytes_up: Cell<u64>,
    pub bytes_down: Cell<u64>,
    /// Requests from this number on fail as if the connection dropped.
    pub fail_from: Cell<Option<u64>>,
}

impl MemoryRemote {
    fn count(&self) -> Result<()> {
        let n = self.requests.get() + 1;
        self.requests.set(n);
        if self.fail_from.get().is_some_and(|f| n >= f) {
            return Err(Error::Unreachable {
                url: "memory:".into(),
                detail: "the connection dropped (test)".into(),
            });
        }
        Ok(())
    }
}

#[async_trait::async_trait(?Send)]
impl Remote for MemoryRemote {
    async fn get(&self, path: &str) -> Result<Option<Vec<u8>>> {
        self.count()?;
        let data = self.files.borrow().get(path).cloned();
        if let Some(d) = &data {
            self.bytes_down.set(self.bytes_down.get() + d.len() as u64);
        }
        Ok(data)
    }

    async fn put(&self, path: &str, data: Vec<u8>) -> Result<()> {
        self.count()?;
        self.bytes_up.set(self.bytes_up.get() + data.len() as u64);
        self.files.borrow_mut().insert(path.to_owned(), data);
        Ok(())
    }

    async fn list(&self, dir: &str) -> Result<Vec<String>> {
        self.count()?;
        let prefix = format!("{}/", dir.trim_end_matches('/'));
        Ok(self
            .files
            .borrow()
            .keys()
            .filter_map(|k| k.strip_prefix(&prefix))
            .filter(|rest| !rest.contains('/'))
            .map(str::to_owned)
            .collect())
    }

    async fn delete(&self, path: &str) -> Result<()> {
        self.count()?;
        self.files.borrow_mut().remove(path);
        Ok(())
    }

    fn describe(&self) -> String {
        "the in-memory sync folder".into()
    }

    fn counters(&self) -> Counters {
        Counters {
            requests: self.requests.get(),
            bytes_up: self.bytes_up.get(),
            bytes_down: self.bytes_down.get(),
        }
    }
}

/// A folder on a WebDAV server (Nextcloud, ownCloud, a NAS, `rclone serve webdav`), with
/// Basic authentication. Writes go to a temporary file first, then `MOVE` into place.
pub struct WebDav {
    client: reqwest::Client,
    /// The folder's URL, ending in `/`.
    base: url::Url,
    user: Option<String>,
    password: Option<String>,
    made: RefCell<HashSet<String>>,
    counters: Cell<Counters>,
}

impl WebDav {
    pub fn new(
        client: reqwest::Client,
        url: &str,
        user: Option<String>,
        password: Option<String>,
    ) -> Result<WebDav> {
        let mut base =
            crate::engine::idn::parse_http_url(url).ok_or(Error::BadUrl { url: url.into() })?;
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        Ok(WebDav {
            client,
            base,
            user: user.filter(|u| !u.is_empty()),
            password,
            made: RefCell::new(HashSet::new()),
            counters: Cell::new(Counters::default()),
        })
    }

    fn url(&self, path: &str) -> Result<url::Url> {
        self.base
            .join(path.trim_start_matches('/'))
            .map_err(|_| Error::BadUrl {
                url: format!("{}{path}", self.base),
            })
    }

    fn request(&self, method: Method, url: url::Url) -> reqwest::RequestBuilder {
        let mut req = self.client.request(method, url);
        if let Some(user) = &self.user {
            req = req.basic_auth(user, self.password.as_deref());
        }
        req
    }

    fn count(&self, requests: u64, up: u64, down: u64) {
        let mut c = self.counters.get();
        c.requests += requests;
        c.bytes_up += up;
        c.bytes_down += down;
        self.counters.set(c);
    }

    async fn send(&self, req: reqwest::RequestBuilder, what: &str) -> Result<reqwest::Response> {
        let up = req
            .try_clone()
            .and_then(|r| r.build().ok())
            .and_then(|r| r.body().and_then(|b| b.as_bytes()).map(|b| b.len() as u64))
            .unwrap_or(0);
        self.count(1, up, 0);
        req.send().await.map_err(|e| Error::Unreachable {
            url: self.base.to_string(),
            detail: format!("{what}: {}", crate::engine::redact::redact(&e.to_string())),
        })
    }

    /// A sentence for a status a WebDAV server answers with.
    fn status_error(&self, status: StatusCode, what: &str) -> Error {
        match status.as_u16() {
            401 | 403 => Error::Invalid(format!(
                "The sync server at {} refused the user name or password (HTTP {}). Check them in Settings → Sync and try again.",
                self.base,
                status.as_u16()
            )),
            507 => Error::Invalid(format!(
                "The sync storage at {} is full (HTTP 507 Insufficient Storage). Free space or raise the quota on the server, then sync again; nothing was lost.",
                self.base
            )),
            404 | 409 => Error::Invalid(format!(
                "The sync folder {} does not exist on the server (HTTP {} while {what}). Create it, or check the URL.",
                self.base,
                status.as_u16()
            )),
            405 if what == "listing" => Error::Invalid(format!(
                "{} does not speak WebDAV (HTTP 405 to PROPFIND). Check that the URL is the WebDAV address of a folder.",
                self.base
            )),
            code => Error::Http {
                status: code,
                message: format!("while {what} at {}", self.base),
            },
        }
    }

    /// Create the sync folder itself when it is missing, once per run: a new folder inside an
    /// existing one, as people name it in the form. A server without the folder above it
    /// answers 409, which gets its own sentence.
    async fn make_base(&self) -> Result<()> {
        if self.made.borrow().contains("") {
            return Ok(());
        }
        let what = "creating the sync folder";
        let resp = self
            .send(
                self.request(Method::from_bytes(b"MKCOL").unwrap(), self.base.clone()),
                what,
            )
            .await?;
        let s = resp.status();
        // 405: it exists already.
        if !(s.is_success() || s == StatusCode::METHOD_NOT_ALLOWED) {
            return Err(match s.as_u16() {
                409 => Error::Invalid(format!(
                    "The folder that should hold the sync folder {} does not exist on the server (HTTP 409 while {what}). Create it, or check the URL.",
                    self.base
                )),
                _ => self.status_error(s, what),
            });
        }
        self.made.borrow_mut().insert(String::new());
        Ok(())
    }

    /// Create the folders above `path` (and the sync folder), once per run.
    async fn make_parents(&self, path: &str) -> Result<()> {
        self.make_base().await?;
        let mut acc = String::new();
        let parts: Vec<&str> = path.split('/').collect();
        for dir in &parts[..parts.len().saturating_sub(1)] {
            acc.push_str(dir);
            acc.push('/');
            if self.made.borrow().contains(&acc) {
                continue;
            }
            let resp = self
                .send(
                    self.request(Method::from_bytes(b"MKCOL").unwrap(), self.url(&acc)?),
                    "creating a folder",
                )
                .await?;
            let s = resp.status();
            // 405: it exists already.
            if !(s.is_success() || s == StatusCode::METHOD_NOT_ALLOWED) {
                return Err(self.status_error(s, "creating a folder"));
            }
            self.made.borrow_mut().insert(acc.clone());
        }
        Ok(())
    }
}

#[async_trait::async_trait(?Send)]
impl Remote for WebDav {
    async fn get(&self, path: &str) -> Result<Option<Vec<u8>>> {
        let resp = self
            .send(self.request(Method::GET, self.url(path)?), "reading")
            .await?;
        match resp.status() {
            StatusCode::NOT_FOUND => Ok(None),
            s if s.is_success() => {
                let bytes = resp.bytes().await.map_err(|e| Error::Disconnected {
                    detail: e.to_string(),
                })?;
                self.count(0, 0, bytes.len() as u64);
                Ok(Some(bytes.to_vec()))
            }
            s => Err(self.status_error(s, "reading")),
        }
    }

    async fn put(&self, path: &str, data: Vec<u8>) -> Result<()> {
        self.make_parents(path).await?;
        self.make_parents("tmp/x").await?;
        let tmp = format!("tmp/{}", uuid::Uuid::now_v7().simple());
        let resp = self
            .send(
                self.request(Method::PUT, self.url(&tmp)?).body(data),
                "writing",
            )
            .await?;
        if !resp.status().is_success() {
            return Err(self.status_error(resp.status(), "writing"));
        }
        let resp = self
            .send(
                self.request(Method::from_bytes(b"MOVE").unwrap(), self.url(&tmp)?)
                    .header("Destination", self.url(path)?.as_str())
                    .header("Overwrite", "T"),
                "moving a file into place",
            )
            .await?;
        if !resp.status().is_success() {
            let err = self.status_error(resp.status(), "moving a file into place");
            let _ = self
                .send(
                    self.request(Method::DELETE, self.url(&tmp)?),
                    "removing a temporary file",
                )
                .await;
            return Err(err);
        }
        Ok(())
    }

    async fn list(&self, dir: &str) -> Result<Vec<String>> {
        let dir = format!("{}/", dir.trim_end_matches('/'));
        let resp = self
            .send(
                self.request(Method::from_bytes(b"PROPFIND").unwrap(), self.url(&dir)?)
                    .header("Depth", "1")
                    .header("Content-Type", "application/xml")
                    .body(
                        r#"<?xml version="1.0" encoding="utf-8"?><propfind xmlns="DAV:"><prop><resourcetype/></prop></propfind>"#,
                    ),
                "listing",
            )
            .await?;
        match resp.status() {
            StatusCode::NOT_FOUND => Ok(Vec::new()),
            s if s.is_success() => {
                let body = resp.text().await.map_err(|e| Error::Disconnected {
                    detail: e.to_string(),
                })?;
                self.count(0, 0, body.len() as u64);
                Ok(hrefs(&body)
                    .into_iter()
                    .filter(|h| !h.ends_with('/'))
                    .filter_map(|h| h.rsplit('/').next().map(str::to_owned))
                    .filter(|n| !n.is_empty())
                    .collect())
            }
            s => Err(self.status_error(s, "listing")),
        }
    }

    async fn delete(&self, path: &str) -> Result<()> {
        let resp = self
            .send(self.request(Method::DELETE, self.url(path)?), "deleting")
            .await?;
        if resp.status().is_success() || resp.status() == StatusCode::NOT_FOUND {
            Ok(())
        } else {
            Err(self.status_error(resp.status(), "deleting"))
        }
    }

    fn describe(&self) -> String {
        format!("the WebDAV folder at {}", self.base)
    }

    fn counters(&self) -> Counters {
        self.counters.get()
    }
}

/// The `href` elements of a PROPFIND answer, whatever prefix the server gives the DAV
/// namespace (`D:`, `d:`, none).
pub fn hrefs(xml: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = xml;
    while let Some(start) = rest.find("href>") {
        let before = &rest[..start];
        let is_open = before.ends_with('<')
            || before.rfind('<').is_some_and(|lt| {
                let tag = &before[lt + 1..];
                !tag.starts_with('/') && tag.chars().all(|c| c.is_alphanumeric() || c == ':')
            });
        rest = &rest[start + 5..];
        if !is_open {
            continue;
        }
        if let Some(end) = rest.find('<') {
            out.push(rest[..end].trim().replace("&amp;", "&"));
            rest = &rest[end..];
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_hrefs_with_any_namespace_prefix() {
        let xml = r#"<?xml version="1.0"?><D:multistatus xmlns:D="DAV:">
          <D:response><D:href>/dav/heads/</D:href></D:response>
          <D:response><D:href>/dav/heads/abc.nxh</D:href></D:response>
          <d:response><d:href>/dav/heads/def.nxh</d:href></d:response>
          <response><href>/dav/heads/x&amp;y</href></response></D:multistatus>"#;
        assert_eq!(
            hrefs(xml),
            vec![
                "/dav/heads/",
                "/dav/heads/abc.nxh",
                "/dav/heads/def.nxh",
                "/dav/heads/x&y"
            ]
        );
    }
}
