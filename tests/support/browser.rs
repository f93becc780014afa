//! Headless Chromium over WebDriver for the browser tests: the bundle served by the app's own
//! `serve-web`, a browser at a size (or an emulated phone), and waits that fail with a
//! screenshot, the console and the page.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};

pub const BIN: &str = env!("CARGO_BIN_EXE_opencode-nexus");

pub fn required(var: &str) -> String {
    match std::env::var(var) {
        Ok(v) if !v.is_empty() => v,
        _ => {
            panic!("{var} is not set: run scripts/test.sh, which builds the web bundle and sets it")
        }
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub struct Killer(pub Child);
impl Drop for Killer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub async fn wait_port(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        assert!(Instant::now() < deadline, "nothing listens on {port}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The bundle served by the app's own `serve-web` command.
pub async fn serve_bundle() -> (Killer, String) {
    let dist = required("NEXUS_TEST_WEB_DIST");
    let port = free_port();
    let data = tempfile::tempdir().unwrap().keep();
    let child = Command::new(BIN)
        .arg("--data-dir")
        .arg(&data)
        .args(["serve-web", "--port", &port.to_string(), "--dir", &dist])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    wait_port(port).await;
    (Killer(child), format!("http://127.0.0.1:{port}/"))
}

pub struct Browser {
    pub client: Client,
    _driver: Killer,
    _profile: tempfile::TempDir,
    /// Where the browser saves downloads (exports).
    pub downloads: PathBuf,
}

pub async fn browser(width: u32, height: u32, phone: bool) -> Browser {
    let driver_bin =
        std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".into());
    let port = free_port();
    let driver = Command::new(&driver_bin)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("chromedriver ({driver_bin}) must be installed: {e}"));
    let driver = Killer(driver);
    wait_port(port).await;
    let profile = tempfile::tempdir().unwrap();
    let downloads = profile.path().join("downloads");
    std::fs::create_dir_all(&downloads).unwrap();
    let args = vec![
        "--headless=new".to_string(),
        "--no-sandbox".into(),
        "--disable-gpu".into(),
        "--disable-quic".into(),
        "--no-first-run".into(),
        "--disable-background-networking".into(),
        "--disable-component-update".into(),
        "--disable-sync".into(),
        "--disable-dev-shm-usage".into(),
        format!("--user-data-dir={}", profile.path().display()),
        format!("--window-size={width},{height}"),
    ];
    let mut options = json!({
        "binary": std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()),
        "args": args,
        "prefs": {
            "download.default_directory": downloads.display().to_string(),
            "download.prompt_for_download": false,
        },
    });
    if phone {
        // Headless windows cannot be narrower than 500 px; emulate the phone's viewport instead.
        options["mobileEmulation"] = json!({ "deviceMetrics": { "width": width, "height": height, "pixelRatio": 3.0, "touch": true } });
    }
    let mut caps = serde_json::Map::new();
    caps.insert("goog:chromeOptions".into(), options);
    caps.insert("goog:loggingPrefs".into(), json!({ "browser": "ALL" }));
    // WebDriver runs over plain HTTP on loopback; native-tls is only what the client links.
    let client = ClientBuilder::native()
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        .expect("a WebDriver session with headless Chromium");
    Browser {
        client,
        _driver: driver,
        _profile: profile,
        downloads,
    }
}

/// Chromium's console log (the app logs through `tracing` to the console), via chromedriver's
/// log endpoint; printed when a wait fails so CI failures explain themselves.
#[derive(Debug)]
struct BrowserLog;

impl fantoccini::wd::WebDriverCompatibleCommand for BrowserLog {
    fn endpoint(
        &self,
        base: &url::Url,
        session: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base.join(&format!("session/{}/se/log", session.unwrap_or_default()))
    }
    fn method_and_body(&self, _url: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(r#"{"type":"browser"}"#.into()))
    }
}

pub async fn console_log(c: &Client) -> String {
    match c.issue_cmd(BrowserLog).await {
        Ok(Value::Array(entries)) => entries
            .iter()
            .map(|e| {
                format!(
                    "{} {}",
                    e["level"].as_str().unwrap_or(""),
                    e["message"].as_str().unwrap_or("")
                )
            })
            .collect::<Vec<_>>()
            .join("\n"),
        other => format!("(no console log: {other:?})"),
    }
}

/// Ask `probe` every 100 ms until it answers `Some`; after `secs`, fail with `what` (and the
/// last thing `probe` said through it), a screenshot, the browser console and the page.
pub async fn eventually<T>(
    c: &Client,
    secs: u64,
    what: &str,
    mut probe: impl AsyncFnMut(&mut String) -> Option<T>,
) -> T {
    let deadline = Instant::now() + Duration::from_secs(secs);
    let mut last = String::new();
    loop {
        if let Some(v) = probe(&mut last).await {
            return v;
        }
        if Instant::now() > deadline {
            screenshot(c, "web-failure.png").await;
            let body = c.source().await.unwrap_or_default();
            panic!(
                "{what} within {secs} s {last}; console:\n{}\npage:\n{}",
                console_log(c).await,
                &body[..body.len().min(3000)]
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub async fn wait_for(c: &Client, css: &str, secs: u64) -> Element {
    let what = format!("`{css}` did not appear");
    eventually(c, secs, &what, async |_| {
        c.find(Locator::Css(css)).await.ok()
    })
    .await
}

pub async fn js(c: &Client, script: &str) -> Value {
    c.execute(script, vec![]).await.unwrap()
}

/// The text of the element `css` finds within `secs`.
pub async fn text_of(c: &Client, css: &str, secs: u64) -> String {
    wait_for(c, css, secs).await.text().await.unwrap()
}

/// Types `text` into `field`, then Tab: the field is left, so its change is sent.
pub async fn type_and_leave(field: &Element, text: &str) {
    let tab = char::from(fantoccini::key::Key::Tab);
    field.send_keys(&format!("{text}{tab}")).await.unwrap();
}

/// Clicks the element `css` finds, once it takes clicks: on a loaded machine an element can be
/// in the page a moment before it can be clicked (still laid out, or under another one).
pub async fn click(c: &Client, css: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let found = c
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no `{css}`: {e}"));
        match found.click().await {
            Ok(()) => return,
            Err(e) => {
                let why = format!("{e:?}");
                let not_yet = why.contains("ElementNotInteractable")
                    || why.contains("ElementClickIntercepted");
                assert!(
                    not_yet && std::time::Instant::now() < deadline,
                    "clicking `{css}`: {e}"
                );
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            }
        }
    }
}

/// Waits up to `secs` for `script` to return `expected`; fails with `what` and what it last
/// returned.
pub async fn wait_js(c: &Client, secs: u64, what: &str, script: &str, expected: Value) {
    eventually(c, secs, what, async |last| {
        let v = js(c, script).await;
        *last = v.to_string();
        (v == expected).then_some(())
    })
    .await
}

/// Presses a key on whatever has the focus.
pub async fn press(c: &Client, key: fantoccini::key::Key) {
    c.active_element()
        .await
        .unwrap()
        .send_keys(&char::from(key).to_string())
        .await
        .unwrap();
}

pub async fn button(c: &Client, text: &str) -> Element {
    let xpath = format!("//button[normalize-space()='{text}']");
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if let Ok(e) = c.find(Locator::XPath(&xpath)).await {
            return e;
        }
        assert!(Instant::now() < deadline, "no button '{text}'");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits up to `secs` for a button reading `text` that is enabled (one held back while a
/// sync runs, for instance).
pub async fn wait_enabled(c: &Client, text: &str, secs: u64) {
    let script = format!(
        "return [...document.querySelectorAll('button')].some((b) => b.innerText.trim() === '{text}' && !b.disabled)"
    );
    eventually(
        c,
        secs,
        &format!("{text} did not become available"),
        async |_| (js(c, &script).await == true).then_some(()),
    )
    .await;
}

pub async fn nav(c: &Client, view: &str) {
    c.find(Locator::Css(&format!("nav button[aria-label='{view}']")))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let section = format!("section[aria-label='{view}']");
    wait_for(c, &section, 10).await;
}

pub async fn screenshot(c: &Client, name: &str) {
    let dir = std::env::var("NEXUS_SCREENSHOT_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| std::env::temp_dir());
    std::fs::create_dir_all(&dir).unwrap();
    let png = c.screenshot().await.unwrap();
    std::fs::write(dir.join(name), png).unwrap();
}

/// axe-core's serious and critical violations on the current view.
pub async fn axe(c: &Client) -> Vec<String> {
    let source = std::fs::read_to_string(required("NEXUS_TEST_AXE")).unwrap();
    c.execute(&source, vec![]).await.unwrap();
    let result = c
        .execute_async(
            "const done = arguments[arguments.length - 1];
             axe.run(document, { resultTypes: ['violations'] }).then(r => done(
               r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
                 .map(v => v.id + ': ' + v.help + ' @ ' + v.nodes.map(n => n.target.join(' ')).join(' | '))));",
            vec![],
        )
        .await
        .unwrap();
    serde_json::from_value(result).unwrap()
}

pub async fn app_ready(c: &Client) {
    // The app's own navigation, not the prerendered first frame's (index.html's #shell).
    wait_for(c, "#main nav button[aria-label='Chat']", 60).await;
}

/// Settings → Backends → Add backend: `kind` is the form's value (`opencode`; none keeps the
/// default, OpenAI-compatible), saved and listed.
pub async fn add_backend(
    c: &Client,
    name: &str,
    kind: Option<&str>,
    url: &str,
    model: Option<&str>,
) {
    nav(c, "Settings").await;
    button(c, "Add backend").await.click().await.unwrap();
    fill_backend_form(c, name, kind, url, model).await;
    wait_for(c, ".profile-list li.profile", 20).await;
}

/// Fills the open backend form (see [`add_backend`]) and saves it.
pub async fn fill_backend_form(
    c: &Client,
    name: &str,
    kind: Option<&str>,
    url: &str,
    model: Option<&str>,
) {
    wait_for(c, "#pf-name", 10)
        .await
        .send_keys(name)
        .await
        .unwrap();
    if let Some(kind) = kind {
        c.find(Locator::Css("#pf-kind"))
            .await
            .unwrap()
            .select_by_value(kind)
            .await
            .unwrap();
    }
    c.find(Locator::Css("#pf-url"))
        .await
        .unwrap()
        .send_keys(url)
        .await
        .unwrap();
    if let Some(model) = model {
        c.find(Locator::Css("#pf-model"))
            .await
            .unwrap()
            .send_keys(model)
            .await
            .unwrap();
    }
    c.find(Locator::Css("form.profile-editor button[type='submit']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

/// The conversation titles in the History list, top to bottom; pinned ones carry a "📌 " prefix.
pub async fn history_titles(c: &Client) -> Vec<String> {
    let v = js(
        c,
        "return [...document.querySelectorAll(\"ul[aria-label='Conversations'] li.row\")].map(r => {
           const t = r.querySelector('.row-title');
           return (t && t.querySelector('.pin') ? '📌 ' : '') + (t ? t.innerText.trim() : '');
         });",
    )
    .await;
    serde_json::from_value(v).unwrap()
}

/// Click the element at `xpath`; a sentence naming `what` when there is none.
pub async fn click_xpath(c: &Client, xpath: &str, what: &str) {
    c.find(Locator::XPath(xpath))
        .await
        .unwrap_or_else(|e| panic!("no {what}: {e}"))
        .click()
        .await
        .unwrap();
}

/// Click the row action `label` (Pin, Rename, Delete...) of the row titled `title`.
pub async fn row_action(c: &Client, title: &str, label: &str) {
    let xpath = format!(
        "//ul[@aria-label='Conversations']/li[contains(@class,'row')][.//span[contains(@class,'row-title')][contains(normalize-space(.), '{title}')]]//button[@aria-label='{label}']"
    );
    click_xpath(c, &xpath, &format!("{label} button on the row '{title}'")).await;
}

/// Open the conversation titled `title` from the History list.
pub async fn row_action_open(c: &Client, title: &str) {
    let xpath = format!(
        "//ul[@aria-label='Conversations']/li[contains(@class,'row')]//button[contains(@class,'row-main')][.//span[contains(@class,'row-title')][contains(normalize-space(.), '{title}')]]"
    );
    wait_for(c, "ul[aria-label='Conversations'] li.row", 20).await;
    click_xpath(c, &xpath, &format!("conversation '{title}' in History")).await;
    wait_for(c, "section[aria-label='Chat']", 10).await;
}
