//! The web build (wasm) in real headless Chromium, driven over WebDriver: add a backend pointing
//! at the real llama.cpp server, chat, reload, find the conversation in history, search it,
//! change a setting and see it persist — at desktop size and at a 390×844 phone viewport —
//! plus an axe-core audit of every view and a keyboard walk; and the history and data flows:
//! import (ChatGPT's export, a damaged file, a large file cancelled half-way), pin, rename,
//! delete with undo (by mouse and by keyboard), export as a download, and delete all data. `scripts/test.sh` builds the
//! bundle and exports where it is, chromedriver and axe-core.

mod support;

use std::time::{Duration, Instant};

use fantoccini::key::Key;
use fantoccini::{Client, Locator};
use serde_json::{json, Value};
use support::browser::*;

/// The whole user flow; `tag` names the screenshots.
/// Settings → Backends: add the llama.cpp peer and test the connection (its model is listed).
async fn add_llama_backend(c: &Client, llm: &str) {
    add_backend(c, "llama.cpp", None, llm, Some("smollm2-135m")).await;
    test_llama_connection(c).await;
}

/// Settings → Backends → Test connection: the llama.cpp peer's model is listed.
async fn test_llama_connection(c: &Client) {
    button(c, "Test connection").await.click().await.unwrap();
    // The local server answers one request at a time: a reply another test is generating
    // delays the model list.
    let ok = text_of(c, ".test-ok", 120).await;
    assert!(ok.contains("smollm2-135m"), "{ok}");
}

/// Settings → Theme → Dark.
async fn choose_dark_theme(c: &Client) {
    nav(c, "Settings").await;
    click(c, "input[name='theme'][value='Dark']").await;
}

async fn flow(b: &Browser, base: &str, llm: &str, tag: &str) {
    let c = &b.client;
    c.goto(base).await.unwrap();
    app_ready(c).await;
    assert!(
        axe(c).await.is_empty(),
        "chat view a11y: {:?}",
        axe(c).await
    );

    // First start: the chat's "Add a backend" opens the form in Settings; once it is saved,
    // the chat is back with the focus in its message box. Then the connection is tested.
    button(c, "Add a backend").await.click().await.unwrap();
    fill_backend_form(c, "llama.cpp", None, llm, Some("smollm2-135m")).await;
    wait_js(c, 20, "saving the first backend did not return to the chat", "const e = document.activeElement; return [!!document.querySelector(\"section[aria-label='Chat']\"), e ? e.id : '']", json!([true, "composer-input"])).await;
    nav(c, "Settings").await;
    test_llama_connection(c).await;
    assert!(axe(c).await.is_empty(), "settings a11y: {:?}", axe(c).await);

    // Chat: type, press Enter (on the phone's touch screen: Enter adds a line, and the Send
    // button sends), watch the reply stream in.
    nav(c, "Chat").await;
    let composer = wait_for(c, "#composer-input:not([disabled])", 20).await;
    composer.click().await.unwrap();
    composer
        .send_keys("Write a short poem about the sea.")
        .await
        .unwrap();
    composer
        .send_keys(&char::from(Key::Enter).to_string())
        .await
        .unwrap();
    if tag == "phone" {
        composer.send_keys("Keep it short.").await.unwrap();
        let (value, placeholder, sent) = (
            js(c, "return document.getElementById('composer-input').value").await,
            js(
                c,
                "return document.getElementById('composer-input').placeholder",
            )
            .await,
            js(c, "return document.querySelectorAll('article.msg').length").await,
        );
        assert_eq!(value, "Write a short poem about the sea.\nKeep it short.");
        assert_eq!(placeholder, "Message", "no keys named on a touch screen");
        assert_eq!(sent, 0, "Enter sent the message on a touch screen");
        button(c, "Send").await.click().await.unwrap();
    }
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut saw_streaming = false;
    loop {
        let state = js(c, "const a = document.querySelector('article.msg.assistant'); return a ? [a.className, a.querySelector('.msg-body').innerText] : null;").await;
        if let Some(arr) = state.as_array() {
            let class = arr[0].as_str().unwrap_or("");
            let text = arr[1].as_str().unwrap_or("");
            if class.contains("status-streaming") && !text.trim().is_empty() {
                saw_streaming = true;
            }
            if class.contains("status-complete") {
                assert!(!text.trim().is_empty(), "empty reply");
                break;
            }
            assert!(!class.contains("status-error"), "reply failed: {text}");
        }
        assert!(Instant::now() < deadline, "no complete reply");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(saw_streaming, "the reply was seen while it streamed");
    tokio::time::sleep(Duration::from_millis(300)).await;
    screenshot(c, &format!("web-{tag}-chat.png")).await;

    // Ctrl+K from the composer focuses a search box, ready to type: the conversation list's
    // beside the chat on a wide window, History's on a phone.
    let composer = c.find(Locator::Css("#composer-input")).await.unwrap();
    composer
        .send_keys(&format!(
            "{}k{}",
            char::from(Key::Control),
            char::from(Key::Null)
        ))
        .await
        .unwrap();
    let expected = if tag == "phone" {
        "history-search"
    } else {
        "sidebar-search"
    };
    eventually(c, 10, "Ctrl+K did not focus the search box", async |last| {
        let id = js(c, "const e = document.activeElement; return e ? e.id : ''").await;
        *last = format!("(focus: {id}, expected {expected})");
        (id == expected).then_some(())
    })
    .await;

    // Reload: the conversation is still there, in history, and searchable.
    c.refresh().await.unwrap();
    app_ready(c).await;
    nav(c, "History").await;
    wait_for(c, "ul[aria-label='Conversations'] li.row", 20).await;
    screenshot(c, &format!("web-{tag}-history.png")).await;
    assert!(axe(c).await.is_empty(), "history a11y: {:?}", axe(c).await);
    // Select's bar and boxes fit the width (a phone's too); Done leaves it.
    button(c, "Select").await.click().await.unwrap();
    wait_for(c, ".bulk-bar", 10).await;
    click(c, "ul[aria-label='Conversations'] li.row .row-check").await;
    assert_eq!(text_of(c, ".bulk-bar > span", 5).await, "1 selected");
    let fits = js(c, "const w = document.documentElement.clientWidth; return [...document.querySelectorAll('.bulk-bar button, .row-check')].every(e => { const r = e.getBoundingClientRect(); return r.left >= 0 && r.right <= w; }) && document.documentElement.scrollWidth <= w").await;
    screenshot(c, &format!("web-{tag}-history-select.png")).await;
    assert_eq!(fits, json!(true), "Select's controls fit the {tag} width");
    button(c, "Done").await.click().await.unwrap();
    let search = c.find(Locator::Css("#history-search")).await.unwrap();
    search.click().await.unwrap();
    search.send_keys("poem").await.unwrap();
    let hit = wait_for(c, "ul[aria-label='Search results'] .snippet mark", 20).await;
    assert_eq!(hit.text().await.unwrap().to_lowercase(), "poem");
    click(c, "ul[aria-label='Search results'] .row-main").await;
    wait_for(c, "section[aria-label='Chat'] article.msg.user", 20).await;
    let first = js(
        c,
        "return document.querySelector('article.msg.user .msg-body').innerText",
    )
    .await;
    let sent = if tag == "phone" {
        "Write a short poem about the sea.\nKeep it short."
    } else {
        "Write a short poem about the sea."
    };
    assert_eq!(first.as_str().unwrap().trim(), sent);

    // A setting persists across reloads.
    choose_dark_theme(c).await;
    wait_for(c, ".app.theme-dark", 10).await;
    c.refresh().await.unwrap();
    app_ready(c).await;
    wait_for(c, ".app.theme-dark", 20).await;
    nav(c, "Settings").await;
    wait_for(c, ".profile-list li.profile", 20).await;
    screenshot(c, &format!("web-{tag}-settings.png")).await;

    // Privacy: a number of days that is not one is refused in place, nothing saved; a valid
    // one says what it would delete at the next start (nothing here: all is from today).
    let retention = c.find(Locator::Css("#retention")).await.unwrap();
    type_and_leave(&retention, "30 days").await;
    let note = text_of(c, "#retention-note.field-error", 10).await;
    assert!(note.contains("Type a whole number of days"), "{note}");
    retention.clear().await.unwrap();
    type_and_leave(&retention, "30").await;
    wait_js(
        c,
        10,
        "the retention setting did not say what it deletes",
        "const n = document.getElementById('retention-note'); return n ? n.innerText : ''",
        json!("No conversation has been untouched for 30 days."),
    )
    .await;
    retention.clear().await.unwrap();
    type_and_leave(&retention, "").await;
    wait_js(c, 10, "emptying the field did not turn retention off", "return [document.getElementById('retention').value, !!document.getElementById('retention-note')]", json!(["", false])).await;

    // Removing a backend asks first (one click removed it, with its key): the question takes
    // the button's place with the focus on Cancel, and Enter there keeps the backend.
    const REMOVE: &str = "button[aria-label='Remove llama.cpp']";
    click(c, REMOVE).await;
    let question = text_of(c, ".profile-list .confirm", 10).await;
    assert!(
        question.contains("Remove “llama.cpp”? Its conversations stay in History"),
        "{question}"
    );
    wait_js(
        c,
        10,
        "Cancel did not take the focus",
        "const e = document.activeElement; return e ? e.textContent : ''",
        json!("Cancel"),
    )
    .await;
    screenshot(c, &format!("web-{tag}-remove-backend.png")).await;
    press(c, Key::Enter).await;
    const STATE: &str = "return [document.querySelectorAll('.profile-list li.profile').length, document.querySelectorAll('.profile-list .confirm').length]";
    wait_js(
        c,
        10,
        "Cancel did not keep the backend",
        STATE,
        json!([1, 0]),
    )
    .await;
    wait_js(
        c,
        10,
        "the focus did not go back to Remove",
        "const e = document.activeElement; return e ? e.getAttribute('aria-label') : null",
        json!("Remove llama.cpp"),
    )
    .await;
    // Confirmed, it goes; its conversation stays in History.
    click(c, REMOVE).await;
    wait_for(c, ".profile-list .confirm button.danger-filled", 10)
        .await
        .click()
        .await
        .unwrap();
    wait_js(c, 10, "the backend was not removed", STATE, json!([0, 0])).await;
    nav(c, "History").await;
    eventually(c, 10, "the conversation left History", async |last| {
        let titles = history_titles(c).await;
        *last = format!("{titles:?}");
        (titles.len() == 1).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn web_app_full_flow_desktop_size() {
    let Some(llm) = support::peers::llm_url() else {
        return;
    };
    let (_server, base) = serve_bundle().await;
    let b = browser(1280, 800, false).await;
    flow(&b, &base, &llm, "desktop").await;
    b.client.clone().close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn web_app_full_flow_phone_viewport() {
    let Some(llm) = support::peers::llm_url() else {
        return;
    };
    let (_server, base) = serve_bundle().await;
    let b = browser(390, 844, true).await;
    let width = {
        b.client.goto(&base).await.unwrap();
        app_ready(&b.client).await;
        js(&b.client, "return window.innerWidth")
            .await
            .as_u64()
            .unwrap()
    };
    assert_eq!(width, 390, "phone viewport");
    flow(&b, &base, &llm, "phone").await;
    // Single pane: the navigation is a bottom bar, nothing scrolls sideways.
    let layout = js(&b.client, "const n = document.querySelector('nav').getBoundingClientRect(); return [n.top, n.width, document.documentElement.scrollWidth];").await;
    let l = layout.as_array().unwrap();
    assert!(
        l[0].as_f64().unwrap() > 700.0,
        "nav sits at the bottom: {layout}"
    );
    assert!(l[1].as_f64().unwrap() >= 389.0);
    assert!(
        l[2].as_u64().unwrap() <= 390,
        "no horizontal overflow: {layout}"
    );
    b.client.clone().close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn every_control_is_reachable_and_operable_by_keyboard() {
    let (_server, base) = serve_bundle().await;
    let b = browser(1280, 800, false).await;
    let c = &b.client;
    c.goto(&base).await.unwrap();
    app_ready(c).await;
    for view in ["Chat", "History", "Settings"] {
        nav(c, view).await;
        // Every visible, enabled control is in the tab order.
        let unreachable = js(
            c,
            "return [...document.querySelectorAll('button, a[href], input, select, textarea, summary, [role=button]')]
               .filter(e => e.offsetParent !== null && !e.disabled && e.tabIndex < 0)
               .map(e => e.outerHTML.slice(0, 80));",
        )
        .await;
        assert_eq!(unreachable, json!([]), "{view}: not keyboard reachable");
        // The view scrolls inside the app; the page itself never does, even with the view
        // scrolled to its end (visually hidden controls far down once made it scroll into
        // blank space below the app).
        let page = js(
            c,
            "for (const e of document.querySelectorAll('.view, .thread-scroll')) e.scrollTop = e.scrollHeight; const s = document.scrollingElement; return [s.scrollHeight, s.clientHeight];",
        )
        .await;
        assert_eq!(
            page[0], page[1],
            "{view}: the page scrolls ([scrollHeight, clientHeight])"
        );
    }
    // Walk the tab order: the navigation and the header controls come up; then operate the History
    // button with Enter once Tab has reached it.
    nav(c, "Chat").await;
    let body = c.find(Locator::Css("body")).await.unwrap();
    let mut seen = Vec::new();
    let mut operated = false;
    for _ in 0..60 {
        type_and_leave(&body, "").await;
        let label = js(c, "const e = document.activeElement; return e ? (e.getAttribute('aria-label') || e.id || e.textContent.trim() || e.tagName) : ''").await;
        let label = label.as_str().unwrap_or("").to_owned();
        if label == "History" && seen.iter().any(|l: &String| l == "Add a backend") {
            press(c, Key::Enter).await;
            wait_for(c, "section[aria-label='History']", 10).await;
            operated = true;
            break;
        }
        seen.push(label);
    }
    // (Without a backend the composer is disabled, so it is rightly not in the order; the
    // header has no pickers, only a note, and the empty chat's button adds one.)
    for expected in ["Chat", "Settings", "New chat", "Options", "Add a backend"] {
        assert!(
            seen.iter().any(|l| l == expected),
            "{expected} not reached by Tab: {seen:?}"
        );
    }
    assert!(
        operated,
        "History reached by Tab and opened with Enter: {seen:?}"
    );
    b.client.clone().close().await.unwrap();
}

const CHATGPT_FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/chatgpt/conversations.json"
);

/// Wait until the History list shows exactly `expected` (in order).
async fn wait_titles(c: &Client, expected: &[&str]) {
    let what = format!("history did not show {expected:?}");
    eventually(c, 20, &what, async |last| {
        let now = history_titles(c).await;
        *last = format!("(it shows {now:?})");
        (now == expected).then_some(())
    })
    .await
}

/// Tick the box of History's row titled `title` (as `history_titles` gives it) in "Select".
async fn pick_row(c: &Client, title: &str) {
    let title = title.trim_start_matches("📌 ");
    let xpath = format!("//input[@type='checkbox'][@aria-label='Select “{title}”']");
    click_xpath(c, &xpath, &format!("box to pick '{title}'")).await;
}

/// Tick or untick History's "Archived" filter.
async fn toggle_archived_filter(c: &Client) {
    c.find(Locator::XPath(
        "//div[@class='filters']//label[contains(., 'Archived')]/input",
    ))
    .await
    .unwrap()
    .click()
    .await
    .unwrap();
}

/// The Data panel's outcome once one differing from `previous` shows (each operation clears the
/// last one when it starts): its text and whether it is an error.
async fn data_outcome(c: &Client, previous: &str, secs: u64) -> (String, bool) {
    eventually(c, secs, "no new outcome in the Data panel", async |_| {
        let now = js(
            c,
            "const e = document.querySelector('.data-outcome'); return e ? [e.innerText, e.getAttribute('role')] : null",
        )
        .await;
        let a = now.as_array()?;
        let text = a[0].as_str().unwrap_or_default().to_owned();
        (text != previous).then(|| (text, a[1] == "alert"))
    })
    .await
}

/// Where the Data panel's outcome is: the heading of the part of the panel it follows
/// ("Data" for export and import, "Backups", "Delete all data"), so it shows beside the buttons
/// that started the operation.
async fn outcome_place(c: &Client) -> String {
    let v = js(
        c,
        "const o = document.querySelector('.data-outcome'); if (!o) return null;
         const before = [...document.querySelectorAll('.card h3, .card h4')]
           .filter(h => h.compareDocumentPosition(o) & Node.DOCUMENT_POSITION_FOLLOWING);
         return before.length ? before[before.length - 1].innerText.trim() : null",
    )
    .await;
    v.as_str().unwrap_or_default().to_owned()
}

/// Imports `file` through Settings → Data's file picker; returns the sentence it finished with
/// (failing the test if it reported a failure).
async fn import_through_settings(c: &Client, file: &std::path::Path) -> String {
    nav(c, "Settings").await;
    wait_for(c, "#import-file", 10)
        .await
        .send_keys(file.to_str().unwrap())
        .await
        .unwrap();
    let (text, failed) = data_outcome(c, "", 60).await;
    assert!(!failed, "the import failed: {text}");
    text
}

/// The app served and open in Chromium (1280×900) with `file` imported through Settings: the
/// server (kept alive by the caller), the browser and the import's outcome sentence.
async fn app_with_import(file: &std::path::Path) -> (Killer, Browser, String) {
    let (server, base) = serve_bundle().await;
    let b = browser(1280, 900, false).await;
    b.client.goto(&base).await.unwrap();
    app_ready(&b.client).await;
    let text = import_through_settings(&b.client, file).await;
    (server, b, text)
}

/// An OpenCode Nexus export of `n` small conversations, written by the engine itself.
fn large_export(n: usize) -> String {
    use opencode_nexus::engine::model::{Conversation, Message, Role};
    use opencode_nexus::engine::store::Store;
    let mut store = Store::open_in_memory().unwrap();
    for i in 0..n {
        let c = Conversation::new(format!("bulk {i}"));
        store.create_conversation(&c).unwrap();
        let q = Message::new(&c.id, None, Role::User, &format!("question {i}"));
        let a = Message::new(
            &c.id,
            Some(q.id.clone()),
            Role::Assistant,
            &format!("answer {i}"),
        );
        store.save_message(&q, true).unwrap();
        store.save_message(&a, true).unwrap();
    }
    opencode_nexus::engine::portability::export_json(&store, None, 1, &mut |_, _| true).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn history_and_data_flows_in_the_browser() {
    let (_server, base) = serve_bundle().await;
    let b = browser(1280, 900, false).await;
    let c = &b.client;
    let files = tempfile::tempdir().unwrap();
    c.goto(&base).await.unwrap();
    app_ready(c).await;

    // Import ChatGPT's conversations.json through the file picker.
    let text = import_through_settings(c, std::path::Path::new(CHATGPT_FIXTURE)).await;
    assert!(text.contains("Imported 3 conversations"), "{text}");
    js(c, "document.getElementById('data-h').scrollIntoView()").await;
    screenshot(c, "web-data-import.png").await;
    assert!(
        axe(c).await.is_empty(),
        "data panel a11y: {:?}",
        axe(c).await
    );

    // A damaged file: a clear sentence, and nothing changes.
    let fixture = std::fs::read_to_string(CHATGPT_FIXTURE).unwrap();
    let truncated = files.path().join("truncated.json");
    std::fs::write(&truncated, &fixture[..fixture.len() / 2]).unwrap();
    c.find(Locator::Css("#import-file"))
        .await
        .unwrap()
        .send_keys(truncated.to_str().unwrap())
        .await
        .unwrap();
    let (text, failed) = data_outcome(c, &text, 60).await;
    assert!(failed, "a damaged file is reported as a failure: {text}");
    assert!(
        text.contains("line") && text.to_lowercase().contains("nothing"),
        "the sentence says where and that nothing changed: {text}"
    );

    // History: ChatGPT's archived conversation is under the Archived filter; unarchive it.
    nav(c, "History").await;
    wait_titles(
        c,
        &["Plot y = sin(x) like in this picture", "Rust lifetimes 🦀"],
    )
    .await;
    toggle_archived_filter(c).await;
    wait_titles(c, &["问候 · שלום · مرحبا"]).await;
    row_action(c, "问候", "Unarchive").await;
    wait_for(c, "ul[aria-label='Conversations'] li.empty-row", 10).await;
    toggle_archived_filter(c).await;
    eventually(
        c,
        20,
        "the unarchived conversation did not come back",
        async |last| {
            let now = history_titles(c).await;
            *last = format!("{now:?}");
            (now.len() == 3).then_some(())
        },
    )
    .await;

    // Pin one: it is marked at once but keeps its place while the pointer is over the list (so
    // the next click lands on the row the user aimed at), and moves to the top once the pointer
    // leaves the list.
    let titles = history_titles(c).await;
    assert_ne!(titles[0], "Rust lifetimes 🦀", "{titles:?}");
    row_action(c, "Rust lifetimes", "Pin").await;
    let held: Vec<String> = titles
        .iter()
        .map(|t| {
            if t.starts_with("Rust") {
                format!("📌 {t}")
            } else {
                t.clone()
            }
        })
        .collect();
    let held: Vec<&str> = held.iter().map(String::as_str).collect();
    wait_titles(c, &held).await;
    click(c, "#history-search").await;
    let mut pinned_first: Vec<String> = vec!["📌 Rust lifetimes 🦀".to_owned()];
    pinned_first.extend(titles.iter().filter(|t| !t.starts_with("Rust")).cloned());
    let expect: Vec<&str> = pinned_first.iter().map(String::as_str).collect();
    wait_titles(c, &expect).await;

    // Rename it.
    row_action(c, "Rust lifetimes", "Rename").await;
    let input = wait_for(c, "form.rename input", 10).await;
    // The field takes the focus with the title selected, so what is typed replaces it.
    eventually(c, 10, "the rename field did not take the focus", async |last| {
        let v = js(c, "const e = document.activeElement; return e && e.closest('form.rename') ? [e.selectionStart, e.selectionEnd, e.value.length] : null").await;
        *last = v.to_string();
        let a = v.as_array()?;
        (a[0] == 0 && a[1] == a[2] && a[2].as_u64() > Some(0)).then_some(())
    })
    .await;
    c.active_element()
        .await
        .unwrap()
        .send_keys("Borrowing notes")
        .await
        .unwrap();
    screenshot(c, "web-history-rename.png").await;
    input
        .send_keys(&char::from(Key::Enter).to_string())
        .await
        .unwrap();
    let renamed: Vec<String> = pinned_first
        .iter()
        .map(|t| {
            if t.contains("Rust lifetimes") {
                "📌 Borrowing notes".to_owned()
            } else {
                t.clone()
            }
        })
        .collect();
    let expect: Vec<&str> = renamed.iter().map(String::as_str).collect();
    wait_titles(c, &expect).await;

    // Delete it, then Undo.
    row_action(c, "Borrowing notes", "Delete").await;
    let toast = text_of(c, ".toast", 10).await;
    assert!(toast.contains("Deleted “Borrowing notes”"), "{toast}");
    let without: Vec<&str> = expect[1..].to_vec();
    wait_titles(c, &without).await;
    screenshot(c, "web-history-undo.png").await;
    assert!(
        axe(c).await.is_empty(),
        "history with the undo toast a11y: {:?}",
        axe(c).await
    );
    button(c, "Undo").await.click().await.unwrap();
    wait_titles(c, &expect).await;

    // The keyboard: arrows select, Delete deletes (the row stays deleted after a reload), and
    // Delete typed in the search box only edits the query.
    let search = c.find(Locator::Css("#history-search")).await.unwrap();
    search.click().await.unwrap();
    search
        .send_keys(&char::from(Key::Delete).to_string())
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(history_titles(c).await, expect, "Delete in the search box");
    search
        .send_keys(&char::from(Key::Down).to_string())
        .await
        .unwrap();
    search
        .send_keys(&char::from(Key::Down).to_string())
        .await
        .unwrap();
    js(c, "document.activeElement.blur(); document.querySelector(\"section[aria-label='History'] .row-actions button\").focus()").await;
    press(c, Key::Delete).await;
    let gone = expect[2];
    let kept: Vec<&str> = expect.iter().copied().filter(|t| *t != gone).collect();
    wait_titles(c, &kept).await;
    c.refresh().await.unwrap();
    app_ready(c).await;
    nav(c, "History").await;
    wait_titles(c, &kept).await;

    // "Select": by the keyboard at once (the focus moves to its bar: arrows and Enter pick,
    // Enter again unpicks); both picked by their boxes and archived at once, brought back
    // together from the archive, then both deleted at once, and one Undo brings both back.
    button(c, "Select").await.click().await.unwrap();
    wait_for(c, ".bulk-bar", 10).await;
    const PICKED: &str = "return document.querySelector('.bulk-bar > span').innerText";
    press(c, Key::Down).await;
    press(c, Key::Enter).await;
    wait_js(
        c,
        10,
        "Enter did not pick the row",
        PICKED,
        json!("1 selected"),
    )
    .await;
    press(c, Key::Enter).await;
    wait_js(
        c,
        10,
        "Enter did not unpick the row",
        PICKED,
        json!("0 selected"),
    )
    .await;
    for t in &kept {
        pick_row(c, t).await;
    }
    wait_js(
        c,
        10,
        "the boxes did not pick both",
        PICKED,
        json!("2 selected"),
    )
    .await;
    let actions = js(
        c,
        "return document.querySelectorAll(\"ul[aria-label='Conversations'] .row-actions\").length",
    )
    .await;
    assert_eq!(
        actions,
        json!(0),
        "a row's own actions step aside in Select"
    );
    screenshot(c, "web-history-select.png").await;
    assert!(
        axe(c).await.is_empty(),
        "History's Select a11y: {:?}",
        axe(c).await
    );
    button(c, "Archive").await.click().await.unwrap();
    wait_titles(c, &[]).await;
    let toast = text_of(c, ".app-toast", 10).await;
    assert!(toast.contains("Archived 2 conversations"), "{toast}");
    toggle_archived_filter(c).await;
    wait_titles(c, &kept).await;
    button(c, "Select").await.click().await.unwrap();
    button(c, "Select all").await.click().await.unwrap();
    button(c, "Unarchive").await.click().await.unwrap();
    wait_titles(c, &[]).await;
    toggle_archived_filter(c).await;
    wait_titles(c, &kept).await;
    button(c, "Select").await.click().await.unwrap();
    button(c, "Select all").await.click().await.unwrap();
    assert_eq!(text_of(c, ".bulk-bar > span", 5).await, "2 selected");
    c.find(Locator::XPath(
        "//div[@class='bulk-bar']/button[normalize-space()='Delete']",
    ))
    .await
    .unwrap()
    .click()
    .await
    .unwrap();
    wait_titles(c, &[]).await;
    let toast = text_of(c, "section[aria-label='History'] .toast", 10).await;
    assert!(toast.contains("Deleted 2 conversations."), "{toast}");
    assert!(
        js(c, "return document.querySelector('.bulk-bar') === null").await == Value::Bool(true),
        "Delete leaves Select"
    );
    button(c, "Undo").await.click().await.unwrap();
    wait_titles(c, &kept).await;

    // Export everything as JSON: a download holding what History shows.
    nav(c, "Settings").await;
    button(c, "Export all (JSON)").await.click().await.unwrap();
    let (text, failed) = data_outcome(c, "", 60).await;
    assert!(!failed, "{text}");
    assert_eq!(outcome_place(c).await, "Data", "{text}");
    let what = format!("no export in {:?}", b.downloads);
    let export = eventually(c, 30, &what, async |_| {
        std::fs::read_dir(&b.downloads)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .find(|p| {
                let name = p.file_name().unwrap().to_string_lossy().into_owned();
                name.starts_with("opencode-nexus-export-") && name.ends_with(".json")
            })
    })
    .await;
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&export).unwrap()).unwrap();
    assert_eq!(doc["format"], "opencode-nexus");
    let exported: Vec<&str> = doc["conversations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["title"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(exported.len(), 2, "{exported:?}");
    assert_eq!(kept.len(), 2, "{kept:?}");
    assert!(exported.contains(&"Borrowing notes"), "{exported:?}");

    // A large import cancelled half-way changes nothing, and the app goes on working.
    let big = files.path().join("large-export.json");
    std::fs::write(&big, large_export(50_000)).unwrap();
    c.find(Locator::Css("#import-file"))
        .await
        .unwrap()
        .send_keys(big.to_str().unwrap())
        .await
        .unwrap();
    eventually(c, 60, "no import progress shown", async |_| {
        let shown = js(c, "const p = document.querySelector('.job progress'); return p && p.hasAttribute('value') ? p.value : 0").await;
        (shown.as_f64().unwrap_or(0.0) > 0.0).then_some(())
    })
    .await;
    // Leaving Settings does not stop it: back there, it is still running.
    nav(c, "History").await;
    nav(c, "Settings").await;
    wait_for(c, ".job progress", 10).await;
    js(c, "document.getElementById('data-h').scrollIntoView()").await;
    screenshot(c, "web-data-progress.png").await;
    let progress_text = text_of(c, ".job", 5).await;
    assert!(progress_text.contains("/ 50000"), "{progress_text}");
    button(c, "Cancel").await.click().await.unwrap();
    let (text, failed) = data_outcome(c, &text, 60).await;
    assert!(failed && text.contains("Cancelled"), "{text}");
    nav(c, "History").await;
    wait_titles(c, &kept).await;
    row_action(c, "Borrowing notes", "Archive").await;
    wait_titles(c, &kept[1..]).await;

    // Back up now: the whole database as a download, a history any device can restore.
    nav(c, "Settings").await;
    button(c, "Back up now").await.click().await.unwrap();
    let (text, failed) = data_outcome(c, "", 60).await;
    assert!(
        !failed && text.contains("Backed up the whole history"),
        "{text}"
    );
    assert_eq!(outcome_place(c).await, "Backups", "{text}");
    let backup = find_download(c, &b.downloads, "opencode-nexus-history-", ".db").await;
    let version = opencode_nexus::engine::portability::validate_backup(&backup).unwrap();
    assert_eq!(version, opencode_nexus::engine::store::schema::LATEST);
    let in_backup: Vec<(String, bool)> = {
        let db = rusqlite::Connection::open(&backup).unwrap();
        let mut q = db
            .prepare("SELECT title, archived FROM conversations ORDER BY title")
            .unwrap();
        q.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    for shown in &kept {
        // History marks pinned conversations with a pin.
        let title = shown.trim_start_matches("📌 ");
        let archived = title == "Borrowing notes";
        assert!(
            in_backup.contains(&(title.to_string(), archived)),
            "{title} (archived: {archived}) not in the backup: {in_backup:?}"
        );
    }

    // Delete all data, confirmed: History is empty, also after a reload.
    nav(c, "Settings").await;
    button(c, "Delete all data…").await.click().await.unwrap();
    button(c, "Delete everything").await.click().await.unwrap();
    let (text, failed) = data_outcome(c, "", 60).await;
    assert!(!failed && text.contains("Deleted all"), "{text}");
    assert_eq!(outcome_place(c).await, "Delete all data", "{text}");
    c.refresh().await.unwrap();
    app_ready(c).await;
    nav(c, "History").await;
    let empty = text_of(c, "ul[aria-label='Conversations'] li.empty-row", 20).await;
    assert_eq!(empty, "No conversations yet.");
    c.find(Locator::Css("#history-search"))
        .await
        .unwrap()
        .send_keys("lifetimes")
        .await
        .unwrap();
    let none = text_of(c, "ul[aria-label='Search results'] li.empty-row", 20).await;
    assert_eq!(none, "No messages match.");

    // Restoring from a file that is not a database changes nothing and says why.
    nav(c, "Settings").await;
    c.find(Locator::Css("#restore-upload"))
        .await
        .unwrap()
        .send_keys(export.to_str().unwrap())
        .await
        .unwrap();
    button(c, "Restore").await.click().await.unwrap();
    let (text, failed) = data_outcome(c, "", 60).await;
    assert!(failed && text.contains("not a SQLite database"), "{text}");
    assert_eq!(outcome_place(c).await, "Backups", "{text}");
    // Restoring the backup brings the history back (the current, empty one is downloaded
    // first), and it stays after a reload.
    c.find(Locator::Css("#restore-upload"))
        .await
        .unwrap()
        .send_keys(backup.to_str().unwrap())
        .await
        .unwrap();
    button(c, "Restore").await.click().await.unwrap();
    let (text, failed) = data_outcome(c, &text, 60).await;
    assert!(
        !failed && text.contains("Restored the history from"),
        "{text}"
    );
    find_download(c, &b.downloads, "opencode-nexus-before-restore-", ".db").await;
    nav(c, "History").await;
    wait_titles(c, &kept[1..]).await;
    c.refresh().await.unwrap();
    app_ready(c).await;
    nav(c, "History").await;
    wait_titles(c, &kept[1..]).await;
    toggle_archived_filter(c).await;
    wait_titles(c, &["📌 Borrowing notes"]).await;
    b.client.clone().close().await.unwrap();
}

/// The first finished download named `prefix…suffix`.
async fn find_download(
    c: &Client,
    downloads: &std::path::Path,
    prefix: &str,
    suffix: &str,
) -> std::path::PathBuf {
    let what = format!("no {prefix}…{suffix} in {downloads:?}");
    eventually(c, 30, &what, async |_| {
        std::fs::read_dir(downloads)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .find(|p| {
                let name = p.file_name().unwrap().to_string_lossy().into_owned();
                name.starts_with(prefix) && name.ends_with(suffix)
            })
    })
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_long_conversation_mounts_a_bounded_window_and_earlier_messages_on_scroll() {
    use opencode_nexus::engine::model::{Conversation, Message, Role};
    use opencode_nexus::engine::store::Store;
    // One conversation of 500 messages, imported through the Data panel.
    let mut store = Store::open_in_memory().unwrap();
    let c = Conversation::new("A very long conversation");
    store.create_conversation(&c).unwrap();
    let mut parent = None;
    for i in 0..500 {
        let role = if i % 2 == 0 {
            Role::User
        } else {
            Role::Assistant
        };
        let m = Message::new(&c.id, parent.clone(), role, &format!("message number {i}"));
        parent = Some(m.id.clone());
        store.save_message(&m, true).unwrap();
    }
    let files = tempfile::tempdir().unwrap();
    let file = files.path().join("long.json");
    std::fs::write(
        &file,
        opencode_nexus::engine::portability::export_json(&store, None, 1, &mut |_, _| true)
            .unwrap(),
    )
    .unwrap();

    let (_server, b, text) = app_with_import(&file).await;
    let c = &b.client;
    assert!(text.contains("(500 messages)"), "{text}");
    nav(c, "History").await;
    row_action_open(c, "A very long conversation").await;

    let mounted = "return [document.querySelectorAll('#thread article.msg').length, \
                   (document.querySelector('#thread article.msg .msg-body') || {}).innerText || '']";
    wait_for(c, "#thread article.msg", 20).await;
    let first = js(c, mounted).await;
    assert_eq!(first[0], 80, "a bounded window when it opens: {first}");
    assert_eq!(first[1].as_str().unwrap().trim(), "message number 420");
    let last = js(c, "const m = document.querySelectorAll('#thread article.msg .msg-body'); return m[m.length - 1].innerText").await;
    assert_eq!(last.as_str().unwrap().trim(), "message number 499");
    // The page logs the open with its timings, which `scripts/bench_open.py --web` reads (the
    // page's module leaves its other INFO events out).
    let mut console = String::new();
    eventually(
        c,
        10,
        "the open was not logged to the console",
        async |last| {
            console.push_str(&console_log(c).await);
            *last = console.clone();
            console
                .contains("conversation opened conversation=")
                .then_some(())
        },
    )
    .await;
    assert!(
        console.contains("messages=80 mounted=80"),
        "the open's line names what the first paint had: {console}"
    );

    // Scrolling to the top mounts earlier messages above what is on screen, which stays put.
    js(
        c,
        "const t = document.getElementById('thread'); t.scrollTop = -t.scrollHeight;",
    )
    .await;
    eventually(c, 10, "scrolling to the top mounted nothing", async |_| {
        (js(c, mounted).await[0] != 80).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let stays = js(
        c,
        "const t = document.getElementById('thread').getBoundingClientRect();
         const m = [...document.querySelectorAll('#thread article.msg')]
           .find(a => a.querySelector('.msg-body').innerText.trim() === 'message number 420');
         const r = m.getBoundingClientRect();
         return [r.top >= t.top - 1 && r.top < t.bottom, r.top - t.top];",
    )
    .await;
    assert_eq!(
        stays[0], true,
        "the message that was at the top is still on screen: {stays}"
    );
    screenshot(c, "web-long-thread.png").await;

    // Going on up mounts more, up to the limit, and no further.
    let mut seen = vec![80u64, js(c, mounted).await[0].as_u64().unwrap()];
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        js(
            c,
            "const t = document.getElementById('thread'); t.scrollTop = -t.scrollHeight; t.dispatchEvent(new Event('scroll'));",
        )
        .await;
        tokio::time::sleep(Duration::from_millis(400)).await;
        let now = js(c, mounted).await[0].as_u64().unwrap();
        assert!(now <= 240, "never more than 240 mounted: {now}");
        if seen.last() != Some(&now) {
            seen.push(now);
        }
        if now == 240 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "scrolling up mounted no more: {seen:?}"
        );
    }
    assert!(seen.len() > 2, "earlier messages came in steps: {seen:?}");
    // At the limit the window does not move by itself, even at the very top; the button moves it.
    js(
        c,
        "const t = document.getElementById('thread'); t.scrollTop = -t.scrollHeight;",
    )
    .await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(js(c, mounted).await[0], 240);
    let top = js(c, mounted).await;
    assert_eq!(top[1].as_str().unwrap().trim(), "message number 260");
    button(c, "Show 260 earlier messages")
        .await
        .click()
        .await
        .unwrap();
    let moved = eventually(c, 10, "the button did not move the window", async |last| {
        let now = js(c, mounted).await;
        *last = now.to_string();
        (now[1].as_str().unwrap_or_default().trim() == "message number 220").then_some(now)
    })
    .await;
    assert_eq!(moved[0], 240, "{moved}");
    b.client.clone().close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn the_conversation_list_grows_as_it_is_scrolled() {
    let files = tempfile::tempdir().unwrap();
    let file = files.path().join("hundred.json");
    std::fs::write(&file, large_export(100)).unwrap();
    let (_server, b, text) = app_with_import(&file).await;
    let c = &b.client;
    assert!(text.contains("100 conversations"), "{text}");
    nav(c, "Chat").await;

    // The first page: the 40 most recent, newest first, and a way to show more.
    let first = sidebar_rows(c, 40, "the list did not show its first page", None).await;
    assert_eq!(first[0], "bulk 99");
    assert_eq!(first[39], "bulk 60");
    assert!(
        js(c, "return !!document.querySelector('#sidebar .side-more')").await == true,
        "no way to show more"
    );
    // Filtering by title looks past the rows shown: "bulk 1" finds 1 and 10–19.
    let search = c.find(Locator::Css("#sidebar-search")).await.unwrap();
    search.send_keys("bulk 1").await.unwrap();
    sidebar_rows(c, 11, "the filter did not look past the first page", None).await;
    search.clear().await.unwrap();
    search
        .send_keys(&char::from(Key::Escape).to_string())
        .await
        .unwrap();
    // A filter that matches nothing, in titles or messages, says so; Esc empties the box.
    search.send_keys("no such words").await.unwrap();
    eventually(c, 15, "no sentence for a filter matching nothing", async |last| {
        let t = js(c, "const e = document.querySelector('#sidebar .side-empty'); return e ? e.innerText : ''").await;
        *last = t.to_string();
        (t.as_str() == Some("Nothing matches “no such words”.")).then_some(())
    })
    .await;
    search
        .send_keys(&char::from(Key::Escape).to_string())
        .await
        .unwrap();
    wait_js(
        c,
        10,
        "Esc did not empty the search box",
        "return document.getElementById('sidebar-search').value",
        json!(""),
    )
    .await;

    // Clearing the filter brings the first page back, with its way to show more.
    sidebar_rows(
        c,
        40,
        "clearing the filter did not bring the first page back",
        None,
    )
    .await;
    wait_for(c, "#sidebar .side-more", 15).await;
    // "Show more" lists the next page (clicked from script: a click from the driver scrolls it
    // into view first, which shows more by itself).
    js(c, "document.querySelector('#sidebar .side-more').click()").await;
    sidebar_rows(c, 80, "Show more listed no more", None).await;
    // Scrolling to the end of the list shows the next page below what was there; once all are
    // listed, nothing more is offered.
    let scroll_to_end = "const l = document.querySelector('#sidebar .side-lists'); l.scrollTop = l.scrollHeight; l.dispatchEvent(new Event('scroll'));";
    let all = sidebar_rows(
        c,
        100,
        "scrolling to the end showed no more",
        Some(scroll_to_end),
    )
    .await;
    screenshot(c, "web-sidebar-more.png").await;
    assert_eq!(all[99], "bulk 0");
    assert!(
        js(c, "return !document.querySelector('#sidebar .side-more')").await == true,
        "Show more is still offered with everything listed"
    );
    b.client.clone().close().await.unwrap();
}

/// The titles under Recent in the conversation list once there are `n` of them (running
/// `nudge` before each look, if given).
async fn sidebar_rows(c: &Client, n: usize, what: &str, nudge: Option<&str>) -> Vec<Value> {
    eventually(c, 20, what, async |last| {
        if let Some(script) = nudge {
            js(c, script).await;
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let v = js(c, "return [...document.querySelectorAll('#sidebar ul[aria-label=Recent] .side-row')].map(r => r.innerText.trim())").await;
        *last = v.to_string();
        let rows = v.as_array()?;
        (rows.len() == n).then(|| rows.clone())
    })
    .await
}

/// A browser on the app with the llama.cpp backend added.
async fn with_backend(base: &str, llm: &str, width: u32, height: u32, phone: bool) -> Browser {
    let b = browser(width, height, phone).await;
    b.client.goto(base).await.unwrap();
    app_ready(&b.client).await;
    add_llama_backend(&b.client, llm).await;
    b
}

/// Settings → Presets → Add preset, with its name typed.
async fn new_preset(c: &Client, name: &str) {
    button(c, "Add preset").await.click().await.unwrap();
    wait_for(c, "#preset-name", 10)
        .await
        .send_keys(name)
        .await
        .unwrap();
}

/// Attach a one-pixel PNG with the composer's file picker; the folder holding it is returned
/// (it goes when dropped).
async fn attach_png(c: &Client) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("red-pixel.png");
    std::fs::write(&png, support::RED_PIXEL_PNG).unwrap();
    c.find(Locator::Css("#attach-input"))
        .await
        .unwrap()
        .send_keys(png.to_str().unwrap())
        .await
        .unwrap();
    dir
}

/// Wait until the model picker is a dropdown (the backend's list arrived); returns its values.
async fn model_select(c: &Client) -> String {
    eventually(c, 30, "the model list did not load", async |_| {
        let tag = js(c, "const m = document.getElementById('model-picker'); return m ? m.tagName + ':' + [...(m.options || [])].map(o => o.value).join(',') : ''").await;
        let tag = tag.as_str().unwrap_or("").to_owned();
        tag.starts_with("SELECT:").then_some(tag)
    })
    .await
}

/// Wait for the newest reply in the chat to be complete; returns its text.
async fn wait_reply_complete(c: &Client, secs: u64) -> String {
    eventually(c, secs, "no complete reply", async |last| {
        let state = js(c, "const a = [...document.querySelectorAll('article.msg.assistant')].pop(); return a ? [a.className, a.querySelector('.msg-body').innerText] : null;").await;
        let arr = state.as_array()?;
        let class = arr[0].as_str().unwrap_or("");
        *last = class.to_owned();
        assert!(!class.contains("status-error"), "reply failed: {}", arr[1]);
        class
            .contains("status-complete")
            .then(|| arr[1].as_str().unwrap_or("").to_owned())
    })
    .await
}

/// Presets, the model dropdown and the conversation list beside the chat, driven as a user
/// would: a preset made in Settings starts the next chat (its prompt and temperature reach the
/// real server, whose reply then shows its tokens), the model is picked from the server's list,
/// the list beside the chat finds the conversation by title and by content, and a reload
/// reopens it. At phone width the list gives way to the tab bar and the pickers stay on screen.
#[tokio::test(flavor = "multi_thread")]
async fn presets_model_picker_and_conversation_list_in_the_browser() {
    let llm = support::peers::llm_url().expect("the llama.cpp peer (NEXUS_TEST_LLM_URL)");
    let (_server, base) = serve_bundle().await;
    let b = with_backend(&base, &llm, 1280, 800, false).await;
    let c = &b.client;

    // Settings → Presets: a default preset with a system prompt and a temperature; an
    // out-of-range value is refused with a sentence and blocks saving.
    new_preset(c, "Haiku").await;
    c.find(Locator::Css("#preset-system"))
        .await
        .unwrap()
        .send_keys("Answer in a haiku.")
        .await
        .unwrap();
    let temperature = c.find(Locator::Css("#preset-temperature")).await.unwrap();
    type_and_leave(&temperature, "5").await;
    let refused = text_of(c, "#preset-temperature-error", 10).await;
    assert!(
        refused.contains("Temperature must be between 0 and 2"),
        "{refused}"
    );
    // Another field changed meanwhile leaves the refusal standing: the refused text stays in
    // its field, in place of its hint, and Save saves nothing (it was saved without the value
    // before).
    // A short reply keeps the shared local server free for the tests beside this one.
    let max_tokens = c.find(Locator::Css("#preset-max-tokens")).await.unwrap();
    type_and_leave(&max_tokens, "48").await;
    const FORM_STATE: &str = "return [document.getElementById('preset-temperature').value, \
        document.getElementById('preset-max-tokens').value, \
        !!document.getElementById('preset-temperature-error'), \
        !!document.getElementById('preset-temperature-hint')]";
    wait_js(
        c,
        10,
        "the refusal did not stand",
        FORM_STATE,
        json!(["5", "48", true, false]),
    )
    .await;
    button(c, "Save preset").await.click().await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    wait_js(
        c,
        10,
        "Save saved a refused value",
        "return [document.querySelectorAll('form.preset-editor').length, document.querySelectorAll('.preset-list li.preset').length]",
        json!([1, 0]),
    )
    .await;
    // Mended with a decimal comma, which is read as a point (and shown as one).
    temperature.clear().await.unwrap();
    type_and_leave(&temperature, "0,3").await;
    wait_js(
        c,
        10,
        "the refusal did not clear",
        FORM_STATE,
        json!(["0.3", "48", false, true]),
    )
    .await;
    c.find(Locator::XPath("//form[contains(@class,'preset-editor')]//label[contains(., 'New chats start from this preset')]/input"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    button(c, "Save preset").await.click().await.unwrap();
    let row = text_of(c, ".preset-list li.preset", 10).await;
    assert!(row.contains("Haiku") && row.contains("default"), "{row}");
    // A second one; then "Edit" on one and, with its form open, "Edit" on the other shows the
    // other's fields (not the first one's, which saving would have written back).
    new_preset(c, "Limerick").await;
    button(c, "Save preset").await.click().await.unwrap();
    eventually(c, 10, "the second preset was not listed", async |_| {
        let n = js(
            c,
            "return document.querySelectorAll('.preset-list li.preset').length",
        )
        .await;
        (n == 2).then_some(())
    })
    .await;
    click(c, "button[aria-label='Edit Haiku']").await;
    wait_js(
        c,
        10,
        "Edit did not open Haiku's form",
        "const e = document.getElementById('preset-system'); return e ? e.value : ''",
        json!("Answer in a haiku."),
    )
    .await;
    click(c, "button[aria-label='Edit Limerick']").await;
    wait_js(c, 10, "Edit on another preset kept the first one's form", "return [document.getElementById('preset-name').value, document.getElementById('preset-system').value]", json!(["Limerick", ""])).await;
    button(c, "Cancel").await.click().await.unwrap();
    // Removing a preset asks first too; confirmed, only the other one is left.
    click(c, "button[aria-label='Remove Limerick']").await;
    let question = text_of(c, ".preset-list .confirm", 10).await;
    assert!(
        question.contains("Remove the preset “Limerick”?"),
        "{question}"
    );
    wait_for(c, ".preset-list .confirm button.danger-filled", 10)
        .await
        .click()
        .await
        .unwrap();
    wait_js(c, 10, "the preset was not removed", "return [...document.querySelectorAll('.preset-list li.preset strong')].map(e => e.textContent)", json!(["Haiku"])).await;
    js(
        c,
        "document.getElementById('presets-h').scrollIntoView({ block: 'start' }); return true",
    )
    .await;
    screenshot(c, "web-presets.png").await;

    // A new chat starts from it; the model comes from the server's list (a dropdown).
    nav(c, "Chat").await;
    let preset = wait_for(c, "#preset-picker", 10).await;
    assert_eq!(
        js(c, "const s = document.getElementById('preset-picker'); return s.options[s.selectedIndex].text").await,
        "Haiku"
    );
    drop(preset);
    let picker = model_select(c).await;
    assert!(picker.contains("smollm2-135m"), "{picker}");
    assert!(
        picker.contains("other"),
        "free entry stays offered: {picker}"
    );
    assert!(
        axe(c).await.is_empty(),
        "chat with list a11y: {:?}",
        axe(c).await
    );
    let composer = wait_for(c, "#composer-input:not([disabled])", 20).await;
    composer.click().await.unwrap();
    composer
        .send_keys("Write about autumn leaves.")
        .await
        .unwrap();
    composer
        .send_keys(&char::from(Key::Enter).to_string())
        .await
        .unwrap();
    let reply = wait_reply_complete(c, 120).await;
    assert!(!reply.trim().is_empty());
    // Tokens per reply and for the conversation (reported by the server, or estimated: "≈").
    let usage = text_of(c, ".usage-total", 10).await;
    assert!(
        usage.contains(" in · ") && usage.contains(" out"),
        "{usage}"
    );
    let per_reply = js(c, "return [...document.querySelectorAll('article.msg.assistant .usage')].map(e => e.innerText)").await;
    assert_eq!(per_reply.as_array().unwrap().len(), 1, "{per_reply}");
    // The message's actions are real buttons.
    let actions = js(c, "return [...document.querySelectorAll('article.msg.assistant .msg-action')].map(b => [b.innerText, b.getBoundingClientRect().height])").await;
    let actions = actions.as_array().unwrap();
    let labels: Vec<&str> = actions.iter().map(|a| a[0].as_str().unwrap()).collect();
    assert_eq!(
        labels,
        ["Copy", "Copy Markdown", "Regenerate", "Delete"],
        "{actions:?}"
    );
    assert!(
        actions.iter().all(|a| a[1].as_f64().unwrap() >= 28.0),
        "{actions:?}"
    );
    // The preset's temperature, typed with a decimal comma, is the conversation's.
    button(c, "Options").await.click().await.unwrap();
    let t = wait_for(c, "#temperature", 10).await;
    assert_eq!(t.prop("value").await.unwrap().as_deref(), Some("0.3"));
    button(c, "Options").await.click().await.unwrap();
    // "Edit" puts the message in the box and the focus there (it stayed on the button, and
    // what was typed next went nowhere); Esc cancels and empties the box.
    const EDIT: &str = "//article[contains(@class,'user')]//button[normalize-space()='Edit']";
    let edit = async || {
        let b = c.find(Locator::XPath(EDIT)).await.unwrap();
        b.click().await.unwrap();
    };
    edit().await;
    wait_js(
        c,
        10,
        "Edit left the focus off the message box",
        "const e = document.activeElement; return e ? [e.id, e.value] : null",
        json!(["composer-input", "Write about autumn leaves."]),
    )
    .await;
    press(c, Key::Escape).await;
    wait_js(
        c,
        10,
        "Esc did not cancel the edit",
        "return document.getElementById('composer-input').value",
        json!(""),
    )
    .await;
    // A phone has no Esc key: the note has a Cancel button, which does the same.
    edit().await;
    c.find(Locator::XPath(
        "//div[contains(@class,'editing-note')]/button[normalize-space()='Cancel']",
    ))
    .await
    .unwrap()
    .click()
    .await
    .unwrap();
    wait_js(c, 10, "Cancel did not end the edit", "const e = document.activeElement; return [document.getElementById('composer-input').value, !!document.querySelector('.editing-note'), e ? e.id : '']", json!(["", false, "composer-input"])).await;

    // The list beside the chat: the conversation under Recent, marked open; search by title
    // and by what a message says.
    let listed = eventually(c, 20, "the conversation is not in the list", async |_| {
        let t = js(c, "return [...document.querySelectorAll('#sidebar ul[aria-label=Recent] .side-row')].map(r => [r.innerText, r.getAttribute('aria-current')])").await;
        let rows = t.as_array()?.clone();
        (!rows.is_empty()).then_some(rows)
    })
    .await;
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0][1], "page");
    screenshot(c, "web-sidebar.png").await;
    let search = c.find(Locator::Css("#sidebar-search")).await.unwrap();
    // Arrow keys move from the search box into the list; Enter on a row opens it.
    search.click().await.unwrap();
    search
        .send_keys(&char::from(Key::Down).to_string())
        .await
        .unwrap();
    let focused: String = eventually(c, 10, "↓ did not reach the list", async |last| {
        let f = js(c, "const e = document.activeElement; return e && e.classList.contains('side-row') ? e.innerText : ''").await;
        *last = f.to_string();
        let f = f.as_str().unwrap_or("").to_owned();
        (!f.is_empty()).then_some(f)
    })
    .await;
    assert!(!focused.trim().is_empty());
    press(c, Key::Enter).await;
    wait_for(c, "section[aria-label='Chat'] article.msg.user", 10).await;
    search.send_keys("leaves").await.unwrap();
    wait_for(c, "#sidebar ul[aria-label='Found in messages'] mark", 20).await;
    let hit = js(c, "return document.querySelector(\"#sidebar ul[aria-label='Found in messages'] mark\").textContent").await;
    assert_eq!(hit.as_str().unwrap().to_lowercase(), "leaves");
    search.clear().await.unwrap();
    search.send_keys("zzz-nothing").await.unwrap();
    eventually(c, 10, "the list did not filter", async |_| {
        let n = js(
            c,
            "return document.querySelectorAll('#sidebar ul[aria-label=Recent] .side-row').length",
        )
        .await;
        (n == 0).then_some(())
    })
    .await;
    search.clear().await.unwrap();

    // The request the real server got carried the preset (checked in the store).
    let conversation = js(c, "return document.querySelector('.conv-title').innerText").await;
    assert!(!conversation.as_str().unwrap().is_empty());

    // Collapsing the list keeps a strip with "show" and "new chat"; reload: it stays collapsed
    // and the last conversation opens again.
    click(
        c,
        "#sidebar button[aria-label='Hide the conversation list']",
    )
    .await;
    wait_for(c, "#sidebar.collapsed", 10).await;
    c.refresh().await.unwrap();
    app_ready(c).await;
    eventually(c, 20, "the last conversation did not reopen", async |last| {
        let t = js(c, "const e = document.querySelector('article.msg.user .msg-body'); return e ? e.textContent.trim() : ''").await;
        *last = t.to_string();
        (t == "Write about autumn leaves.").then_some(())
    })
    .await;
    wait_for(c, "#sidebar.collapsed", 10).await;
    click(
        c,
        "#sidebar button[aria-label='Show the conversation list']",
    )
    .await;
    wait_for(c, "#sidebar-search", 10).await;

    // An image attached with the picker: a thumbnail in the composer, then in the thread, and
    // the message keeps it whatever the small text-only model makes of it.
    button(c, "+ New chat").await.click().await.unwrap();
    // The message box has the focus: what is typed next goes there.
    wait_js(
        c,
        10,
        "+ New chat left the focus off the message box",
        "const e = document.activeElement; return e ? e.id : ''",
        json!("composer-input"),
    )
    .await;
    let _png = attach_png(c).await;
    let chip = text_of(c, ".attach-tray .attach-chip", 10).await;
    assert!(chip.contains("red-pixel.png"), "{chip}");
    let thumb = js(c, "const i = document.querySelector('.attach-tray img.thumb'); return i ? [i.src.slice(0, 22), i.naturalWidth] : null").await;
    assert_eq!(thumb, json!(["data:image/png;base64,", 1]), "{thumb}");
    screenshot(c, "web-attach-tray.png").await;
    // × takes it off again, before anything is sent. (Sending an image is checked against a
    // scripted server in tests/attachments.rs: the small local model takes no images.)
    click(c, ".attach-tray button[aria-label='Remove red-pixel.png']").await;
    eventually(c, 10, "the tray did not empty", async |_| {
        let n = js(c, "return document.querySelectorAll('.attach-tray').length").await;
        (n == 0).then_some(())
    })
    .await;

    // A paste and a drop carrying files, as the page receives them (headless Chromium has no
    // system clipboard or drag source to drive, so the events are made in the page): each
    // file is attached with its name and exact bytes.
    let b64 = opencode_nexus::engine::attachments::data_url("image/png", support::RED_PIXEL_PNG)
        .trim_start_matches("data:image/png;base64,")
        .to_owned();
    js(c, &format!("const file = (name, type, b64) => new File([Uint8Array.from(atob(b64), (ch) => ch.charCodeAt(0))], name, {{ type }}); const box = document.getElementById('composer-input'); const pasted = new DataTransfer(); pasted.items.add(file('pasted.png', 'image/png', '{b64}')); box.dispatchEvent(new ClipboardEvent('paste', {{ clipboardData: pasted, bubbles: true, cancelable: true }})); const dropped = new DataTransfer(); dropped.items.add(file('dropped.md', 'text/markdown', btoa('# Notes\\n'))); box.dispatchEvent(new DragEvent('dragover', {{ dataTransfer: dropped, bubbles: true, cancelable: true }})); box.dispatchEvent(new DragEvent('drop', {{ dataTransfer: dropped, bubbles: true, cancelable: true }})); return true;")).await;
    let chips = eventually(c, 10, "the pasted and dropped files were not attached", async |last| {
        let chips = js(c, "return [...document.querySelectorAll('.attach-tray .attach-chip')].map((e) => [e.querySelector('.attach-name').innerText, (e.querySelector('img.thumb') || {}).src || null])").await;
        *last = chips.to_string();
        (chips.as_array().map_or(0, Vec::len) == 2).then_some(chips)
    })
    .await;
    assert_eq!(
        chips,
        json!([
            ["pasted.png", format!("data:image/png;base64,{b64}")],
            ["dropped.md", null]
        ]),
        "{chips}"
    );
    click(c, ".attach-tray button[aria-label='Remove pasted.png']").await;
    // The text file goes with a message; in the thread its chip shows the file's text on a
    // click, and hides it on the next.
    wait_for(c, "#composer-input:not([disabled])", 20)
        .await
        .send_keys(&format!(
            "What are these notes about?{}",
            char::from(Key::Enter)
        ))
        .await
        .unwrap();
    wait_reply_complete(c, 120).await;
    let chip = ".msg.user .msg-files button.attach-chip";
    assert_eq!(
        js(
            c,
            &format!("return document.querySelector(\"{chip}\").getAttribute('aria-expanded')")
        )
        .await,
        json!("false")
    );
    // A long reply scrolls the chip out of the thread's view (the model's answer varies in
    // length): bring it back as a user scrolling up would, then click it.
    js(
        c,
        &format!("document.querySelector(\"{chip}\").scrollIntoView({{block: 'center'}})"),
    )
    .await;
    click(c, chip).await;
    eventually(c, 10, "the file's text was not shown", async |last| {
        let t = js(c, "const p = document.querySelector('.msg.user .msg-files pre.attach-text'); return p ? p.innerText : null").await;
        *last = t.to_string();
        (t.as_str().map(str::trim) == Some("# Notes")).then_some(())
    })
    .await;
    screenshot(c, "web-attached-text.png").await;
    click(c, chip).await;
    wait_js(
        c,
        10,
        "the file's text did not hide",
        "return document.querySelectorAll('pre.attach-text').length",
        json!(0),
    )
    .await;

    // The shortcut sheet.
    c.find(Locator::Css("body"))
        .await
        .unwrap()
        .send_keys(&format!(
            "{}/{}",
            char::from(Key::Control),
            char::from(Key::Null)
        ))
        .await
        .unwrap();
    let sheet = text_of(c, "[role=dialog] .shortcut-table", 10).await;
    assert!(
        sheet.contains("Ctrl/Cmd+K") && sheet.contains("New chat"),
        "{sheet}"
    );
    screenshot(c, "web-shortcuts.png").await;
    // Its Close button has the focus (taken from the message box), so Esc closes it.
    eventually(
        c,
        10,
        "the sheet's Close button did not take the focus",
        async |last| {
            let t = js(
                c,
                "const e = document.activeElement; return e ? e.textContent : ''",
            )
            .await;
            *last = t.to_string();
            (t.as_str() == Some("Close")).then_some(())
        },
    )
    .await;
    press(c, Key::Escape).await;
    eventually(c, 10, "Esc did not close the sheet", async |_| {
        let open = js(
            c,
            "return !!document.querySelector('[role=dialog] .shortcut-table')",
        )
        .await;
        (open == false).then_some(())
    })
    .await;

    // Settings → the backend's prices: the model field offers the models the server listed;
    // a price that is not a number is refused with a sentence and nothing is saved; a decimal
    // comma is read as a point.
    nav(c, "Settings").await;
    click(c, "details.prices > summary").await;
    let offered = js(
        c,
        "return [...document.querySelectorAll('details.prices datalist option')].map(o => o.value)",
    )
    .await;
    assert!(
        offered
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m == "smollm2-135m"),
        "{offered}"
    );
    let field = |id: &'static str| async move {
        c.find(Locator::Css(&format!(
            "details.prices input[id^='price-{id}']"
        )))
        .await
        .unwrap()
    };
    field("model")
        .await
        .send_keys("smollm2-135m")
        .await
        .unwrap();
    field("in").await.send_keys("abc").await.unwrap();
    field("out").await.send_keys("0.6").await.unwrap();
    button(c, "Save price").await.click().await.unwrap();
    let toast = text_of(c, ".app-toast", 10).await;
    assert!(
        toast.contains("The input price must be a number; “abc” is not one"),
        "{toast}"
    );
    assert!(
        js(c, "return document.querySelector('.price-list') === null").await == json!(true),
        "nothing was saved"
    );
    let input = field("in").await;
    input.clear().await.unwrap();
    input.send_keys("0,15").await.unwrap();
    button(c, "Save price").await.click().await.unwrap();
    let saved = text_of(c, ".price-list li", 10).await;
    assert!(
        saved.contains("smollm2-135m") && saved.contains("$0.15 in · $0.6 out per million tokens"),
        "{saved}"
    );
    b.client.clone().close().await.unwrap();

    // Phone width: no list beside the chat; the preset and model pickers stay on screen.
    let p = with_backend(&base, &llm, 390, 844, true).await;
    let c = &p.client;
    new_preset(c, "Brief").await;
    button(c, "Save preset").await.click().await.unwrap();
    wait_for(c, ".preset-list li.preset", 10).await;
    nav(c, "Chat").await;
    wait_for(c, "#preset-picker", 10).await;
    model_select(c).await;
    let _png = attach_png(c).await;
    wait_for(c, ".attach-tray .attach-chip", 10).await;
    let boxes = js(c, "return ['sidebar', 'profile-picker', 'model-picker', 'preset-picker'].map(id => { const e = document.getElementById(id); if (!e || e.offsetParent === null) return [id, null]; const r = e.getBoundingClientRect(); return [id, [r.left, r.right]]; }).concat([['tray', (() => { const r = document.querySelector('.attach-tray').getBoundingClientRect(); return [r.left, r.right]; })()], ['page', [0, document.documentElement.scrollWidth]]])").await;
    let boxes = boxes.as_array().unwrap();
    assert!(boxes[0][1].is_null(), "no list beside the chat: {boxes:?}");
    for b in &boxes[1..] {
        let r = b[1].as_array().unwrap_or_else(|| panic!("{b} is shown"));
        assert!(
            r[0].as_f64().unwrap() >= 0.0 && r[1].as_f64().unwrap() <= 390.5,
            "{b} stays on screen: {boxes:?}"
        );
    }
    screenshot(c, "web-phone-presets.png").await;
    p.client.clone().close().await.unwrap();
}

/// The page's state as the early-input test reads it: the empty thread's sentence, the message
/// box (its text and whether it is disabled), the note under it, and the messages shown.
async fn early_state(c: &Client) -> Value {
    js(c, "const box = document.getElementById('composer-input'); const e = document.querySelector('.thread .empty p'); const n = document.querySelector('.composer .editing-note'); return {empty: e ? e.innerText : null, text: box ? box.value : null, disabled: box ? box.disabled : null, note: n ? n.innerText : null, users: [...document.querySelectorAll('article.msg.user .msg-body')].map((m) => m.innerText), replies: [...document.querySelectorAll('article.msg.assistant')].map((a) => a.className)};").await
}

/// Opens the page with the storage worker's module held back by `proxy`, once the worker has
/// asked for it (the app is then painted and its store still loading).
async fn open_with_the_store_held(c: &Client, proxy: &support::hold_proxy::HoldProxy) {
    proxy.hold(true);
    c.goto(&proxy.url).await.unwrap();
    app_ready(c).await;
    eventually(
        c,
        30,
        "the storage worker never asked for its module",
        async |last| {
            *last = format!("(held: {})", proxy.waiting());
            (proxy.waiting() > 0).then_some(())
        },
    )
    .await;
}

/// The message box works before the store is up (its SQLite module held back by a proxy in
/// front of `serve-web`): text typed then stays in the box and is saved as the new chat's
/// draft once the store answers (a reload shows it again); a message sent then waits with a
/// sentence and goes once the app has loaded, and its reply comes back; the new chat's draft
/// from before is still there for the next new chat.
#[tokio::test(flavor = "multi_thread")]
async fn the_message_box_works_before_the_store_is_up() {
    use support::hold_proxy::HoldProxy;
    let llm = support::peers::llm_url().expect("the llama.cpp peer (NEXUS_TEST_LLM_URL)");
    let (_server, upstream) = serve_bundle().await;
    let proxy = HoldProxy::start(&upstream, "nexus-store_bg").await;
    let b = browser(1280, 800, false).await;
    let c = &b.client;
    c.goto(&proxy.url).await.unwrap();
    app_ready(c).await;
    add_llama_backend(c, &llm).await;

    // The store's module held: the page paints and says it is opening the history; the box
    // takes text.
    open_with_the_store_held(c, &proxy).await;
    let s = early_state(c).await;
    assert_eq!(s["empty"], "Opening your history…", "{s}");
    assert_eq!(s["disabled"], false, "{s}");
    // What the page painted before its module loaded (index.html's prerendered #shell) is
    // this first frame of the app's: the same elements, classes and text. The shell itself is
    // gone from the page once the app's frame was painted.
    js(c, "window.__shell = null; fetch(location.href).then((r) => r.text()).then((t) => { window.__shell = new DOMParser().parseFromString(t, 'text/html').getElementById('shell').outerHTML; }); return true;").await;
    let same = eventually(c, 10, "index.html could not be read back", async |last| {
        let v = js(c, "if (window.__shell === null) return null; const shell = document.createElement('template'); shell.innerHTML = window.__shell; const root = shell.content.firstElementChild; const main = document.getElementById('main'); const shape = (r) => [...r.querySelectorAll('*')].map((e) => e.tagName + '.' + (e.getAttribute('class') || '')).join(' '); return {text: root.textContent === main.textContent, shape: shape(root) === shape(main), shell_left: document.getElementById('shell') !== null, shell: shape(root).slice(0, 300), app: shape(main).slice(0, 300)};").await;
        *last = v.to_string();
        (!v.is_null()).then_some(v)
    })
    .await;
    assert_eq!(same["text"], true, "{same}");
    assert_eq!(same["shape"], true, "{same}");
    assert_eq!(same["shell_left"], false, "{same}");
    let composer = c.find(Locator::Css("#composer-input")).await.unwrap();
    composer.click().await.unwrap();
    composer.send_keys("typed while loading").await.unwrap();
    // Past the draft's save delay, still loading: nothing was lost meanwhile.
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(proxy.waiting() > 0, "the store's module was let through");
    let s = early_state(c).await;
    assert_eq!(s["text"], "typed while loading", "{s}");
    assert_eq!(s["empty"], "Opening your history…", "{s}");

    // Let the store start: the app loads around what was typed.
    proxy.hold(false);
    eventually(c, 60, "the app did not finish loading", async |last| {
        let s = early_state(c).await;
        *last = s.to_string();
        (s["empty"]
            .as_str()
            .is_some_and(|e| e.starts_with("Ask anything")))
        .then_some(())
    })
    .await;
    assert_eq!(early_state(c).await["text"], "typed while loading");
    // Saved as the new chat's draft: a reload (nothing held) shows it again.
    tokio::time::sleep(Duration::from_millis(800)).await;
    c.goto(&proxy.url).await.unwrap();
    app_ready(c).await;
    eventually(
        c,
        30,
        "the draft typed while loading was not restored",
        async |last| {
            let s = early_state(c).await;
            *last = s.to_string();
            (s["text"] == "typed while loading").then_some(())
        },
    )
    .await;

    // Held again: a message typed and sent while the store loads waits, with a sentence, and
    // goes once the app has loaded.
    open_with_the_store_held(c, &proxy).await;
    let composer = c.find(Locator::Css("#composer-input")).await.unwrap();
    composer.click().await.unwrap();
    composer.send_keys("Say hello.").await.unwrap();
    composer
        .send_keys(&char::from(Key::Enter).to_string())
        .await
        .unwrap();
    let s = early_state(c).await;
    assert_eq!(
        s["note"], "Your message is sent as soon as the app has loaded your history.",
        "{s}"
    );
    assert_eq!(s["text"], "Say hello.", "{s}");
    assert_eq!(s["users"], json!([]), "{s}");
    screenshot(c, "web-early-input-queued.png").await;
    proxy.hold(false);
    eventually(
        c,
        120,
        "the message sent while loading got no complete reply",
        async |last| {
            let s = early_state(c).await;
            *last = s.to_string();
            let replies = s["replies"].as_array()?;
            assert!(
                !replies
                    .iter()
                    .any(|r| r.as_str().unwrap_or("").contains("status-error")),
                "{s}"
            );
            (s["users"] == json!(["Say hello."])
                && replies.len() == 1
                && replies[0]
                    .as_str()
                    .unwrap_or("")
                    .contains("status-complete"))
            .then_some(())
        },
    )
    .await;
    // The box belongs to the new conversation now; the new chat's draft from before
    // ("typed while loading") was not sent and is back for the next new chat.
    let s = early_state(c).await;
    assert_eq!(s["text"], "", "{s}");
    assert_eq!(s["note"], Value::Null, "{s}");
    tokio::time::sleep(Duration::from_millis(800)).await;
    click(c, ".chat-header button[aria-label='New chat']").await;
    eventually(
        c,
        20,
        "the new chat's draft did not come back",
        async |last| {
            let s = early_state(c).await;
            *last = s.to_string();
            (s["text"] == "typed while loading" && s["users"] == json!([])).then_some(())
        },
    )
    .await;
    b.client.clone().close().await.unwrap();
}

/// The theme chosen in Settings is the first frame's at the next start, before the store has
/// answered: the prerendered frame (index.html's #shell, through web/look.js) and the app's own
/// first frame are dark while the storage worker's module is still held back.
#[tokio::test(flavor = "multi_thread")]
async fn the_first_frame_has_the_theme_last_shown() {
    use support::hold_proxy::HoldProxy;
    let (_server, upstream) = serve_bundle().await;
    let proxy = HoldProxy::start(&upstream, "nexus-store_bg").await;
    let b = browser(1280, 800, false).await;
    let c = &b.client;
    c.goto(&proxy.url).await.unwrap();
    app_ready(c).await;
    let look = async || {
        js(c, "const a = document.querySelector('#main .app'); return {app: a ? a.className : null, root: document.documentElement.className, kept: localStorage.getItem('nexus-theme'), empty: (document.querySelector('.thread .empty p') || {}).innerText || null};").await
    };
    assert_eq!(look().await["root"], "", "no theme kept yet");
    // Loaded (the theme shown is kept from then on).
    eventually(c, 30, "the app did not load", async |last| {
        let l = look().await;
        *last = l.to_string();
        (l["kept"] == "system").then_some(())
    })
    .await;

    choose_dark_theme(c).await;
    eventually(c, 20, "the dark theme was not kept", async |last| {
        let l = look().await;
        *last = l.to_string();
        (l["kept"] == "dark"
            && l["root"] == "look-dark"
            && l["app"].as_str().unwrap_or("").contains("theme-dark"))
        .then_some(())
    })
    .await;

    // Started again with the store held: the settings cannot have come from it.
    open_with_the_store_held(c, &proxy).await;
    let l = look().await;
    assert_eq!(l["empty"], "Opening your history…", "still loading: {l}");
    assert_eq!(l["root"], "look-dark", "{l}");
    assert!(
        l["app"].as_str().unwrap_or("").contains("theme-dark"),
        "the app's first frame: {l}"
    );
    let bg = js(
        c,
        "return getComputedStyle(document.querySelector('#main .app')).backgroundColor",
    )
    .await;
    assert_eq!(
        bg, "rgb(24, 24, 27)",
        "the app's first frame is painted dark"
    );
    // The prerendered frame, as index.html has it, under the class web/look.js set.
    js(c, "window.__shellBg = null; fetch(location.href).then((r) => r.text()).then((t) => { const d = new DOMParser().parseFromString(t, 'text/html'); const s = document.importNode(d.getElementById('shell'), true); s.style.position = 'absolute'; document.body.appendChild(s); window.__shellBg = getComputedStyle(s.querySelector('.app')).backgroundColor; s.remove(); }); return true;").await;
    let shell_bg = eventually(c, 10, "index.html could not be read back", async |last| {
        let v = js(c, "return window.__shellBg").await;
        *last = v.to_string();
        (!v.is_null()).then_some(v)
    })
    .await;
    assert_eq!(shell_bg, "rgb(24, 24, 27)", "the prerendered frame is dark");
    screenshot(c, "web-first-frame-dark.png").await;

    // Loaded: still dark (the store's settings say so too).
    proxy.hold(false);
    eventually(c, 60, "the app did not finish loading", async |last| {
        let l = look().await;
        *last = l.to_string();
        (l["empty"]
            .as_str()
            .is_some_and(|e| e.starts_with("Ask anything"))
            || l["empty"]
                .as_str()
                .is_some_and(|e| e.starts_with("Add a backend")))
        .then_some(())
    })
    .await;
    assert!(look().await["app"]
        .as_str()
        .unwrap_or("")
        .contains("theme-dark"));
    b.client.clone().close().await.unwrap();
}
