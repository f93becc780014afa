//! An S3-compatible bucket as the sync folder (AWS S3, Cloudflare R2, Backblaze B2, MinIO,
//! Garage…): the same layout as on WebDAV, under `s3://bucket/prefix`, with path-style
//! requests to the endpoint and AWS Signature Version 4. An S3 PUT is atomic (a reader sees the
//! old object or the new one), so files are written in place.

use std::cell::Cell;

use hmac::{Hmac, Mac};
use reqwest::{Method, StatusCode};
use sha2::{Digest, Sha256};

use super::remote::{Counters, Remote};
use crate::engine::error::{Error, Result};

/// Where a bucket is and how to sign for it.
#[derive(Debug, Clone, PartialEq)]
pub struct S3Location {
    /// e.g. `https://s3.eu-central-1.amazonaws.com`, `https://<account>.r2.cloudflarestorage.com`
    pub endpoint: String,
    pub region: String,
    pub bucket: String,
    /// A folder inside the bucket, without leading or trailing `/` (may be empty).
    pub prefix: String,
}

impl S3Location {
    /// `s3://bucket/some/prefix` with the endpoint and region given beside it.
    pub fn parse(url: &str, endpoint: &str, region: &str) -> Result<S3Location> {
        let rest = url.trim().strip_prefix("s3://").ok_or_else(|| {
            Error::Invalid(format!(
                "{url} is not an s3:// address. Use the form s3://bucket/folder."
            ))
        })?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(Error::Invalid(format!(
                "{url} names no bucket. Use the form s3://bucket/folder."
            )));
        }
        if crate::engine::idn::parse_http_url(endpoint).is_none() {
            return Err(Error::BadUrl {
                url: endpoint.into(),
            });
        }
        Ok(S3Location {
            endpoint: crate::engine::idn::ascii_host(endpoint.trim())
                .trim_end_matches('/')
                .to_owned(),
            region: if region.trim().is_empty() {
                "us-east-1".into()
            } else {
                region.trim().to_owned()
            },
            bucket: bucket.to_owned(),
            prefix: prefix.trim_matches('/').to_owned(),
        })
    }
}

pub struct S3 {
    client: reqwest::Client,
    at: S3Location,
    access_key: String,
    secret_key: String,
    counters: Cell<Counters>,
}

type HmacSha256 = Hmac<Sha256>;

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// AWS's URI encoding: unreserved characters stay, everything else is `%XX`; `/` stays in
/// paths when `keep_slash`.
pub fn aws_encode(s: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b'/' if keep_slash => out.push('/'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// What a Signature Version 4 signature covers, and the signature.
pub struct Signed {
    pub authorization: String,
    pub amz_date: String,
    pub payload_hash: String,
}

/// Sign one request. `headers` are the headers to sign besides `host`, `x-amz-content-sha256`
/// and `x-amz-date` (lower-case names); `query` is already sorted and encoded.
#[allow(clippy::too_many_arguments)]
pub fn sign(
    method: &str,
    host: &str,
    path: &str,
    query: &str,
    headers: &[(&str, &str)],
    payload: &[u8],
    access_key: &str,
    secret_key: &str,
    region: &str,
    unix_secs: i64,
) -> Signed {
    let when = time::OffsetDateTime::from_unix_timestamp(unix_secs)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let date = format!(
        "{:04}{:02}{:02}",
        when.year(),
        u8::from(when.month()),
        when.day()
    );
    let amz_date = format!(
        "{date}T{:02}{:02}{:02}Z",
        when.hour(),
        when.minute(),
        when.second()
    );
    let payload_hash = hex(&Sha256::digest(payload));
    let mut all: Vec<(String, String)> = vec![
        ("host".into(), host.to_owned()),
        ("x-amz-content-sha256".into(), payload_hash.clone()),
        ("x-amz-date".into(), amz_date.clone()),
    ];
    all.extend(
        headers
            .iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v.trim().to_owned())),
    );
    all.sort();
    let canonical_headers: String = all.iter().map(|(k, v)| format!("{k}:{v}\n")).collect();
    let signed_headers = all
        .iter()
        .map(|(k, _)| k.as_str())
        .collect::<Vec<_>>()
        .join(";");
    let canonical = format!(
        "{method}\n{}\n{query}\n{canonical_headers}\n{signed_headers}\n{payload_hash}",
        aws_encode(path, true)
    );
    let scope = format!("{date}/{region}/s3/aws4_request");
    let to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
        hex(&Sha256::digest(canonical.as_bytes()))
    );
    let k_date = hmac(format!("AWS4{secret_key}").as_bytes(), date.as_bytes());
    let k_region = hmac(&k_date, region.as_bytes());
    let k_service = hmac(&k_region, b"s3");
    let k_signing = hmac(&k_service, b"aws4_request");
    let signature = hex(&hmac(&k_signing, to_sign.as_bytes()));
    Signed {
        authorization: format!(
            "AWS4-HMAC-SHA256 Credential={access_key}/{scope}, SignedHeaders={signed_headers}, Signature={signature}"
        ),
        amz_date,
        payload_hash,
    }
}

impl S3 {
    pub fn new(
        client: reqwest::Client,
        at: S3Location,
        access_key: String,
        secret_key: String,
    ) -> S3 {
        S3 {
            client,
            at,
            access_key,
            secret_key,
            counters: Cell::new(Counters::default()),
        }
    }

    fn key(&self, path: &str) -> String {
        if self.at.prefix.is_empty() {
            path.to_owned()
        } else {
            format!("{}/{path}", self.at.prefix)
        }
    }

    async fn send(
        &self,
        method: Method,
        key: Option<&str>,
        query: &str,
        body: Vec<u8>,
        what: &str,
    ) -> Result<reqwest::Response> {
        let endpoint =
            crate::engine::idn::parse_http_url(&self.at.endpoint).ok_or_else(|| Error::BadUrl {
                url: self.at.endpoint.clone(),
            })?;
        let host = match endpoint.port() {
            Some(p) => format!("{}:{p}", endpoint.host_str().unwrap_or("")),
            None => endpoint.host_str().unwrap_or("").to_owned(),
        };
        let base_path = endpoint.path().trim_end_matches('/');
        let path = match key {
            Some(k) => format!("{base_path}/{}/{k}", self.at.bucket),
            None => format!("{base_path}/{}", self.at.bucket),
        };
        let signed = sign(
            method.as_str(),
            &host,
            &path,
            query,
            &[],
            &body,
            &self.access_key,
            &self.secret_key,
            &self.at.region,
            crate::engine::model::now_ms() / 1000,
        );
        let mut url = format!("{}://{host}{}", endpoint.scheme(), aws_encode(&path, true));
        if !query.is_empty() {
            url.push('?');
            url.push_str(query);
        }
        let mut c = self.counters.get();
        c.requests += 1;
        c.bytes_up += body.len() as u64;
        self.counters.set(c);
        self.client
            .request(method, url)
            .header("x-amz-date", signed.amz_date)
            .header("x-amz-content-sha256", signed.payload_hash)
            .header("authorization", signed.authorization)
            .body(body)
            .send()
            .await
            .map_err(|e| Error::Unreachable {
                url: self.at.endpoint.clone(),
                detail: format!("{what}: {}", crate::engine::redact::redact(&e.to_string())),
            })
    }

    async fn error(&self, resp: reqwest::Response, what: &str) -> Error {
        let status = resp.status();
        let body = resp.text().await.unwrap_or_default();
        let code = between(&body, "<Code>", "</Code>").unwrap_or_default();
        match (status.as_u16(), code.as_str()) {
            (403, _) | (401, _) => Error::Invalid(format!(
                "The S3 storage at {} refused the access key or secret key (HTTP {}{}). Check them and try again.",
                self.at.endpoint,
                status.as_u16(),
                if code.is_empty() { String::new() } else { format!(", {code}") }
            )),
            (404, "NoSuchBucket") => Error::Invalid(format!(
                "The bucket '{}' does not exist at {}. Create it, or check the address.",
                self.at.bucket, self.at.endpoint
            )),
            (507, _) | (_, "QuotaExceeded") => Error::Invalid(format!(
                "The S3 storage at {} is full or over its quota. Free space, then sync again; nothing was lost.",
                self.at.endpoint
            )),
            (code_num, _) => Error::Http {
                status: code_num,
                message: format!("while {what} at {} ({code})", self.at.endpoint),
            },
        }
    }
}

fn between(text: &str, open: &str, close: &str) -> Option<String> {
    let start = text.find(open)? + open.len();
    let end = text[start..].find(close)? + start;
    Some(text[start..end].to_owned())
}

fn xml_unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

#[async_trait::async_trait(?Send)]
impl Remote for S3 {
    async fn get(&self, path: &str) -> Result<Option<Vec<u8>>> {
        let resp = self
            .send(
                Method::GET,
                Some(&self.key(path)),
                "",
                Vec::new(),
                "reading",
            )
            .await?;
        match resp.status() {
            StatusCode::NOT_FOUND => {
                let body = resp.text().await.unwrap_or_default();
                if body.contains("NoSuchBucket") {
                    return Err(Error::Invalid(format!(
                        "The bucket '{}' does not exist at {}. Create it, or check the address.",
                        self.at.bucket, self.at.endpoint
                    )));
                }
                Ok(None)
            }
            s if s.is_success() => {
                let bytes = resp.bytes().await.map_err(|e| Error::Disconnected {
                    detail: e.to_string(),
                })?;
                let mut c = self.counters.get();
                c.bytes_down += bytes.len() as u64;
                self.counters.set(c);
                Ok(Some(bytes.to_vec()))
            }
            _ => Err(self.error(resp, "reading").await),
        }
    }

    async fn put(&self, path: &str, data: Vec<u8>) -> Result<()> {
        let resp = self
            .send(Method::PUT, Some(&self.key(path)), "", data, "writing")
            .await?;
        if resp.status().is_success() {
            Ok(())
        } else {
            Err(self.error(resp, "writing").await)
        }
    }

    async fn list(&self, dir: &str) -> Result<Vec<String>> {
        let prefix = format!("{}/", self.key(dir.trim_end_matches('/')));
        let mut names = Vec::new();
        let mut token: Option<String> = None;
        loop {
            // Sorted by name, as the signature wants.
            let mut query = String::new();
            if let Some(t) = &token {
                query.push_str(&format!("continuation-token={}&", aws_encode(t, false)));
            }
            query.push_str(&format!(
                "delimiter=%2F&list-type=2&prefix={}",
                aws_encode(&prefix, false)
            ));
            let resp = self
                .send(Method::GET, None, &query, Vec::new(), "listing")
                .await?;
            if !resp.status().is_success() {
                return Err(self.error(resp, "listing").await);
            }
            let body = resp.text().await.map_err(|e| Error::Disconnected {
                detail: e.to_string(),
            })?;
            let mut c = self.counters.get();
            c.bytes_down += body.len() as u64;
            self.counters.set(c);
            let mut rest = body.as_str();
            while let Some(start) = rest.find("<Key>") {
                let after = &rest[start + 5..];
                let Some(end) = after.find("</Key>") else {
                    break;
                };
                let key = xml_unescape(&after[..end]);
                if let Some(name) = key.strip_prefix(&prefix) {
                    if !name.is_empty() && !name.contains('/') {
                        names.push(name.to_owned());
                    }
                }
                rest = &after[end..];
            }
            match between(&body, "<NextContinuationToken>", "</NextContinuationToken>") {
                Some(t) if body.contains("<IsTruncated>true</IsTruncated>") => {
                    token = Some(xml_unescape(&t))
                }
                _ => break,
            }
        }
        Ok(names)
    }

    async fn delete(&self, path: &str) -> Result<()> {
        let resp = self
            .send(
                Method::DELETE,
                Some(&self.key(path)),
                "",
                Vec::new(),
                "deleting",
            )
            .await?;
        if resp.status().is_success() || resp.status() == StatusCode::NOT_FOUND {
            Ok(())
        } else {
            Err(self.error(resp, "deleting").await)
        }
    }

    fn describe(&self) -> String {
        format!(
            "the S3 bucket {} at {}{}",
            self.at.bucket,
            self.at.endpoint,
            if self.at.prefix.is_empty() {
                String::new()
            } else {
                format!(" (folder {})", self.at.prefix)
            }
        )
    }

    fn counters(&self) -> Counters {
        self.counters.get()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// AWS's own worked example ("Example: GET Object", Amazon S3 API reference, Signature
    /// Version 4): the same request must give the same signature.
    #[test]
    fn signs_like_the_aws_documentation_example() {
        // 2013-05-24T00:00:00Z
        let signed = sign(
            "GET",
            "examplebucket.s3.amazonaws.com",
            "/test.txt",
            "",
            &[("range", "bytes=0-9")],
            b"",
            "AKIAIOSFODNN7EXAMPLE",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "us-east-1",
            1_369_353_600,
        );
        assert_eq!(signed.amz_date, "20130524T000000Z");
        assert_eq!(
            signed.authorization,
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
        );
    }

    #[test]
    fn parses_bucket_addresses() {
        let at = S3Location::parse("s3://notes/nexus/sync/", "http://127.0.0.1:9000/", "").unwrap();
        assert_eq!(
            (at.bucket.as_str(), at.prefix.as_str(), at.region.as_str()),
            ("notes", "nexus/sync", "us-east-1")
        );
        assert!(S3Location::parse("https://x/y", "http://127.0.0.1:9000", "").is_err());
        assert!(S3Location::parse("s3:///x", "http://127.0.0.1:9000", "").is_err());
        assert!(S3Location::parse("s3://b", "not a url", "").is_err());
        assert_eq!(aws_encode("a b/c~d", true), "a%20b/c~d");
        assert_eq!(aws_encode("a/b", false), "a%2Fb");
    }
}
