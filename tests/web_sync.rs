//! Sync in the browser build, against the real WebDAV server (`rclone serve webdav`, started by
//! scripts/test.sh) behind a CORS front that answers preflights as docs/sync-format.md asks a
//! server to: a desktop device (a data directory driven by the command line) publishes its
//! history; the page, in headless Chromium, sets sync up in Settings → Sync with the same
//! passphrase and gets that history; a pin and a deleted reply made in the page reach the
//! desktop with its next sync, and a conversation the desktop deletes leaves the page. The
//! engine's WebDAV client runs over the browser's fetch here.

mod support;

use fantoccini::Client;
use support::browser::*;
use support::cli::run_ok_env;
use support::cors_proxy::CorsProxy;

const PASSPHRASE: &str = "lantern ferry quartz meadow";
const CHATGPT_FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/chatgpt/conversations.json"
);

fn desktop(data: &std::path::Path, args: &[&str], dav_password: &str) -> String {
    run_ok_env(
        data,
        args,
        &[
            ("NEXUS_SYNC_TEST_PASSPHRASE", PASSPHRASE),
            ("NEXUS_SYNC_TEST_DAV_PASSWORD", dav_password),
        ],
    )
}

/// Type into a field of the Sync form.
async fn fill(c: &Client, id: &str, text: &str) {
    let field = wait_for(c, &format!("#{id}"), 10).await;
    field.clear().await.unwrap();
    field.send_keys(text).await.unwrap();
}

/// The Sync panel's outcome once it differs from `previous`: its text and whether it failed.
async fn sync_outcome(c: &Client, previous: &str) -> (String, bool) {
    eventually(c, 60, "no new sync outcome", async |last| {
        let now = js(
            c,
            "const ok = document.querySelector('.sync-outcome'); const bad = document.querySelector('#main-content .banner-error'); return ok ? [ok.innerText, false] : bad ? [bad.innerText, true] : null",
        )
        .await;
        *last = now.to_string();
        let a = now.as_array()?;
        let text = a[0].as_str().unwrap_or_default().to_owned();
        (text != previous).then(|| (text, a[1] == true))
    })
    .await
}

/// Clicks "Sync now" once no run is under way (the app's own runs, one a few seconds after
/// start, hold it until they end); the outcome of the run it started and whether it failed.
async fn sync_now(c: &Client) -> (String, bool) {
    wait_enabled(c, "Sync now", 60).await;
    let before = js(
        c,
        "const e = document.querySelector('.sync-outcome'); return e ? e.innerText : ''",
    )
    .await;
    button(c, "Sync now").await.click().await.unwrap();
    sync_outcome(c, before.as_str().unwrap_or_default()).await
}

#[tokio::test(flavor = "multi_thread")]
async fn the_browser_syncs_with_a_desktop_through_webdav() {
    let dav = support::peers::webdav().expect("the WebDAV peer (NEXUS_TEST_WEBDAV_URL)");
    let (folder, _) = dav.new_folder("browser");
    let upstream = url::Url::parse(&dav.url).unwrap();
    let proxy = CorsProxy::start(upstream.origin().ascii_serialization().as_str()).await;
    let page_folder = proxy.front(&folder);

    // The desktop: ChatGPT's conversations imported, then published.
    let laptop = tempfile::tempdir().unwrap();
    let a = laptop.path();
    let pw = dav.password.clone();
    let (folder_a, user) = (folder.clone(), dav.user.clone());
    let a_path = a.to_owned();
    tokio::task::spawn_blocking(move || {
        desktop(&a_path, &["import", CHATGPT_FIXTURE], &pw);
        desktop(
            &a_path,
            &[
                "sync",
                "setup",
                "--url",
                &folder_a,
                "--user",
                &user,
                "--password-env",
                "NEXUS_SYNC_TEST_DAV_PASSWORD",
                "--passphrase-env",
                "NEXUS_SYNC_TEST_PASSPHRASE",
                "--name",
                "Laptop",
            ],
            &pw,
        );
        desktop(&a_path, &["sync", "now"], &pw);
    })
    .await
    .unwrap();

    // The page: Settings → Sync, set up against the CORS front.
    let (_server, base) = serve_bundle().await;
    let b = browser(1280, 800, false).await;
    let c = &b.client;
    c.goto(&base).await.unwrap();
    app_ready(c).await;
    nav(c, "Settings").await;
    fill(c, "sync-url", &page_folder).await;
    fill(c, "sync-user", &dav.user).await;
    fill(c, "sync-password", &dav.password).await;
    fill(c, "sync-passphrase", PASSPHRASE).await;
    fill(c, "sync-name", "Browser").await;
    button(c, "Set up sync").await.click().await.unwrap();
    let (first, failed) = sync_outcome(c, "").await;
    assert!(!failed, "{first}");
    assert!(
        first.contains("3 conversations"),
        "the desktop's history arrived: {first}"
    );
    let devices = text_of(c, ".sync-devices", 10).await;
    assert!(
        devices.contains("Laptop") && devices.contains("Browser"),
        "{devices}"
    );
    screenshot(c, "web-sync.png").await;
    assert!(
        proxy.preflights() > 0,
        "the page reached the server through CORS preflights"
    );

    // History shows it; a pin made here goes back with "Sync now".
    nav(c, "History").await;
    eventually(c, 20, "the synced conversations in History", async |last| {
        let titles = history_titles(c).await;
        *last = format!("{titles:?}");
        titles
            .iter()
            .any(|t| t.contains("Rust lifetimes"))
            .then_some(())
    })
    .await;
    row_action(c, "Rust lifetimes", "Pin").await;
    eventually(c, 10, "the pin", async |_| {
        history_titles(c)
            .await
            .iter()
            .any(|t| t.starts_with("📌 ") && t.contains("Rust lifetimes"))
            .then_some(())
    })
    .await;
    nav(c, "Settings").await;
    let (second, failed) = sync_now(c).await;
    assert!(!failed, "{second}");
    // The pin went with this run, or with the app's own run if that came after the pin: the
    // desktop's next sync is what tells.
    assert!(second.starts_with("Sent "), "{second}");

    let pw = dav.password.clone();
    let a_path = a.to_owned();
    let list = tokio::task::spawn_blocking(move || {
        desktop(&a_path, &["sync", "now"], &pw);
        desktop(&a_path, &["history", "list", "--json"], &pw)
    })
    .await
    .unwrap();
    let list: serde_json::Value = serde_json::from_str(&list).unwrap();
    let rust = list
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["title"].as_str().unwrap_or("").contains("Rust lifetimes"))
        .unwrap_or_else(|| panic!("{list}"));
    assert_eq!(
        rust["pinned"], true,
        "the page's pin reached the desktop: {rust}"
    );
    let rust_id = rust["id"].as_str().unwrap().to_owned();
    let other_id = list
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["title"].as_str().unwrap_or("").contains("Plot y = sin"))
        .and_then(|c| c["id"].as_str())
        .unwrap_or_else(|| panic!("{list}"))
        .to_owned();

    // A reply deleted here leaves a tombstone (written by the storage worker's trigger), and
    // the desktop's thread loses it after both sync.
    let thread_on_desktop = |id: String| {
        let pw = dav.password.clone();
        let a_path = a.to_owned();
        async move {
            tokio::task::spawn_blocking(move || {
                desktop(&a_path, &["sync", "now"], &pw);
                let shown = desktop(&a_path, &["history", "show", &id, "--json"], &pw);
                serde_json::from_str::<serde_json::Value>(&shown).unwrap()["messages"]
                    .as_array()
                    .unwrap()
                    .len()
            })
            .await
            .unwrap()
        }
    };
    let before_delete = thread_on_desktop(rust_id.clone()).await;
    nav(c, "History").await;
    row_action_open(c, "Rust lifetimes").await;
    let shown = js(c, "return document.querySelectorAll('article.msg').length").await;
    assert_eq!(
        shown.as_u64(),
        Some(before_delete as u64),
        "the page shows the same thread"
    );
    js(
        c,
        "const m = [...document.querySelectorAll('article.msg.assistant')].pop();
         [...m.querySelectorAll('.msg-action')].find(b => b.innerText.trim() === 'Delete').click();",
    )
    .await;
    wait_for(c, "div.confirm[role='alertdialog']", 10).await;
    js(
        c,
        "[...document.querySelectorAll(\"div.confirm[role='alertdialog'] button\")].find(b => b.innerText.trim() === 'Delete').click();",
    )
    .await;
    wait_js(
        c,
        10,
        "the reply deleted in the page",
        "return document.querySelectorAll('article.msg').length",
        serde_json::json!(before_delete - 1),
    )
    .await;
    nav(c, "Settings").await;
    let (third, failed) = sync_now(c).await;
    assert!(!failed, "{third}");
    assert_eq!(
        thread_on_desktop(rust_id).await,
        before_delete - 1,
        "the reply deleted in the page is gone on the desktop"
    );

    // A conversation the desktop deletes leaves the page's History with its next sync (the
    // worker checks the tombstones of messages written after the delete).
    let pw = dav.password.clone();
    let a_path = a.to_owned();
    tokio::task::spawn_blocking(move || {
        desktop(&a_path, &["history", "delete", &other_id], &pw);
        desktop(&a_path, &["sync", "now"], &pw);
    })
    .await
    .unwrap();
    let (fourth, failed) = sync_now(c).await;
    assert!(!failed, "{fourth}");
    nav(c, "History").await;
    eventually(c, 20, "the desktop's delete in History", async |last| {
        let titles = history_titles(c).await;
        *last = format!("{titles:?}");
        (titles.iter().any(|t| t.contains("Rust lifetimes"))
            && !titles.iter().any(|t| t.contains("Plot y = sin")))
        .then_some(())
    })
    .await;
    nav(c, "Settings").await;

    // The laptop is lost: removed from the folder here, after a confirmation.
    click(
        c,
        "button[aria-label='Remove Laptop from the sync folder…']",
    )
    .await;
    let question = text_of(c, "#remove-q", 10).await;
    assert!(
        question.contains("Remove “Laptop” from the sync folder?"),
        "{question}"
    );
    js(
        c,
        "document.getElementById('remove-q').scrollIntoView({block: 'center'})",
    )
    .await;
    screenshot(c, "web-sync-remove.png").await;
    let before = js(
        c,
        "const e = document.querySelector('.sync-outcome'); return e ? e.innerText : ''",
    )
    .await;
    // A sync the app runs on its own meanwhile holds the removal back until it ends.
    wait_enabled(c, "Remove Laptop", 60).await;
    button(c, "Remove Laptop").await.click().await.unwrap();
    let (done, failed) = sync_outcome(c, before.as_str().unwrap_or_default()).await;
    assert!(!failed, "{done}");
    assert!(
        done.contains("“Laptop” was removed from the sync folder"),
        "{done}"
    );
    let devices = text_of(c, ".sync-devices", 10).await;
    assert!(
        !devices.contains("Laptop") && devices.contains("Browser"),
        "{devices}"
    );
    let pw = dav.password.clone();
    let a_path = a.to_owned();
    let status =
        tokio::task::spawn_blocking(move || desktop(&a_path, &["sync", "status", "--json"], &pw))
            .await
            .unwrap();
    let status: serde_json::Value = serde_json::from_str(&status).unwrap();
    let names = support::cli::device_names(&status);
    assert_eq!(
        names,
        ["Browser"],
        "the folder as the desktop reads it: {status}"
    );
    b.client.clone().close().await.unwrap();
}
