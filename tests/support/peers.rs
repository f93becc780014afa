//! Where the real backends started by `scripts/test.sh` listen. A test that needs one and finds
//! it missing fails loudly: a silently skipped peer test would prove nothing. Only an explicit
//! `NEXUS_ALLOW_MISSING_PEERS=1` (never set by CI) turns that into a printed skip.
#![allow(dead_code)]

fn missing_allowed() -> bool {
    std::env::var("NEXUS_ALLOW_MISSING_PEERS").as_deref() == Ok("1")
        && std::env::var("CI").as_deref() != Ok("true")
}

fn peer(var: &str, what: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(v) if !v.is_empty() => Some(v),
        _ => {
            if missing_allowed() {
                eprintln!("SKIPPED: {what} is not running ({var} unset); run scripts/test.sh for the full suite");
                None
            } else {
                panic!("{what} is required: {var} is not set. Run the suite with scripts/test.sh, which starts it.");
            }
        }
    }
}

/// Base URL of the llama.cpp OpenAI-compatible server, e.g. `http://127.0.0.1:18080/v1`.
pub fn llm_url() -> Option<String> {
    peer("NEXUS_TEST_LLM_URL", "the llama.cpp server")
}

/// Base URL of `opencode serve` (no password).
pub fn opencode_url() -> Option<String> {
    peer("NEXUS_TEST_OPENCODE_URL", "the OpenCode server")
}

/// Whether a Secret Service must be there (the suite runs the tests under dbus-run-session with
/// an unlocked gnome-keyring); only an explicit local opt-out makes it optional.
pub fn secret_service_required() -> bool {
    !missing_allowed()
}

/// `opencode serve` driven by the scripted tool model (`scripts/tool_model.py`): its base URL
/// and the project directory its tools run in. `bash` and `edit` ask for permission there.
pub fn opencode_tools() -> Option<(String, std::path::PathBuf)> {
    let url = peer(
        "NEXUS_TEST_OPENCODE_TOOLS_URL",
        "the OpenCode server with the tool model",
    )?;
    let project = peer(
        "NEXUS_TEST_OPENCODE_TOOLS_PROJECT",
        "the OpenCode tool server's project directory",
    )?;
    Some((url, project.into()))
}

/// The WebDAV server for sync (`rclone serve webdav`): its URL, user, password, and the folder
/// it serves (to look at what the server stores).
pub struct WebDavPeer {
    pub url: String,
    pub user: String,
    pub password: String,
    pub dir: std::path::PathBuf,
}

pub fn webdav() -> Option<WebDavPeer> {
    Some(WebDavPeer {
        url: peer("NEXUS_TEST_WEBDAV_URL", "the WebDAV server")?,
        user: peer("NEXUS_TEST_WEBDAV_USER", "the WebDAV server's user")?,
        password: peer("NEXUS_TEST_WEBDAV_PASSWORD", "the WebDAV server's password")?,
        dir: peer("NEXUS_TEST_WEBDAV_DIR", "the WebDAV server's folder")?.into(),
    })
}

impl WebDavPeer {
    /// A new empty folder on the server (MKCOL), so each test syncs through its own.
    pub fn new_folder(&self, stem: &str) -> (String, std::path::PathBuf) {
        let name = format!("{stem}-{}", uuid::Uuid::now_v7().simple());
        let url = format!("{}{name}/", self.url);
        let out = std::process::Command::new("curl")
            .args([
                "-sS",
                "-o",
                "/dev/null",
                "-w",
                "%{http_code}",
                "-X",
                "MKCOL",
                "-u",
            ])
            .arg(format!("{}:{}", self.user, self.password))
            .arg(&url)
            .output()
            .expect("curl runs");
        let code = String::from_utf8_lossy(&out.stdout).to_string();
        assert_eq!(code, "201", "MKCOL {url}: {code}");
        (url, self.dir.join(name))
    }
}

/// The S3-compatible server for sync (moto): its endpoint. A test makes its own bucket.
pub fn s3_endpoint() -> Option<String> {
    peer("NEXUS_TEST_S3_ENDPOINT", "the S3-compatible server")
}

/// A new, empty bucket on the S3-compatible server; its name.
#[allow(dead_code)]
pub async fn new_bucket(endpoint: &str) -> String {
    let bucket = format!("nexus-{}", uuid::Uuid::now_v7().simple());
    let made = reqwest::Client::new()
        .put(format!("{endpoint}/{bucket}"))
        .send()
        .await
        .unwrap();
    assert!(made.status().is_success(), "{}", made.status());
    bucket
}

/// The bucket's object listing (ListObjectsV2's XML), read without signing as moto allows.
#[allow(dead_code)]
pub async fn bucket_listing(endpoint: &str, bucket: &str) -> String {
    reqwest::Client::new()
        .get(format!("{endpoint}/{bucket}?list-type=2"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}
