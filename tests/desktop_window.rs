//! The real desktop build in a real window under Xvfb (started by `scripts/test.sh`): the shell
//! opens and stays up, and a prompt typed on the keyboard streams a reply from the real
//! llama.cpp server onto the screen and into history; the daily backup is taken when the app
//! starts with a history; Settings → Data shows it; the drop-down lists follow the app's dark
//! theme; a focused message box beside a long code block leaves the app idle. Screenshots land
//! in `$NEXUS_SCREENSHOT_DIR`.

mod support;

use support::cli::{add_openai_profile, nexus};

use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use opencode_nexus::engine::store::Store;

use support::desktop::{colours, launch, launch_as_installed, light_share};

const BIN: &str = env!("CARGO_BIN_EXE_opencode-nexus");
const CHATGPT_FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/chatgpt/conversations.json"
);

/// One window at a time on the test display: each test finds its window by title and reads
/// the screen.
static DISPLAY: Mutex<()> = Mutex::new(());

/// The backups in `dir` (`history-<time>.db` complete, `.nbk` incremental), oldest first.
fn backup_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut found: Vec<_> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            let n = p.file_name().unwrap().to_string_lossy().into_owned();
            n.starts_with("history-") && (n.ends_with(".db") || n.ends_with(".nbk"))
        })
        .collect();
    found.sort();
    found
}

#[test]
fn desktop_window_shows_the_shell_and_streams_a_reply_typed_on_the_keyboard() {
    let _display = DISPLAY.lock().unwrap_or_else(|e| e.into_inner());
    let llm = support::peers::llm_url();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    if let Some(url) = &llm {
        let out = nexus(
            data,
            &[
                "profiles",
                "add",
                "llama.cpp (SmolLM2)",
                "--kind",
                "openai-compatible",
                "--url",
                url,
                "--model",
                "smollm2-135m",
            ],
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // A history to keep, so the daily backup has something to do when the app starts.
    let out = nexus(data, &["import", CHATGPT_FIXTURE]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut app = launch(BIN, data);
    let shell = app.wait_painted("desktop-shell.png");
    assert!(
        colours(&shell) > 20,
        "the window rendered something ({} colours)",
        colours(&shell)
    );

    // The daily backup (on by default) was taken at start: an incremental one (a manifest
    // beside the page store), which restores the whole history.
    let backups = data.join("backups");
    let deadline = Instant::now() + Duration::from_secs(30);
    let backup = loop {
        if let Some(p) = backup_files(&backups).pop() {
            break p;
        }
        assert!(Instant::now() < deadline, "no daily backup in {backups:?}");
        std::thread::sleep(Duration::from_millis(200));
    };
    std::thread::sleep(Duration::from_millis(500));
    let bytes = std::fs::read(&backup).unwrap();
    assert!(bytes.starts_with(b"NXBKUP01"), "{backup:?}");
    assert!(backups.join("pages.db").is_file());
    let restored = tempfile::tempdir().unwrap();
    let out = nexus(restored.path(), &["restore", backup.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let list: serde_json::Value = serde_json::from_slice(
        &nexus(
            restored.path(),
            &["history", "list", "--archived", "--json"],
        )
        .stdout,
    )
    .unwrap_or_default();
    assert!(
        list.as_array().is_some_and(|l| !l.is_empty()),
        "the backup holds the history: {list}"
    );

    let Some(_) = llm else { return };
    // Type a prompt into the composer (focused on start) and press Enter.
    app.click(550, 660);
    app.type_text("Say hello to the user.");
    std::thread::sleep(Duration::from_millis(500));
    app.screenshot("desktop-typed.png");
    app.key("Return");

    // Wait until the reply is complete in history (the app saves while it streams).
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut reply = String::new();
    while Instant::now() < deadline {
        let out = nexus(data, &["history", "list", "--json"]);
        let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
        if let Some(id) = list.get(0).and_then(|c| c["id"].as_str()) {
            let shown: serde_json::Value =
                serde_json::from_slice(&nexus(data, &["history", "show", id, "--json"]).stdout)
                    .unwrap_or_default();
            if let Some(m) = shown["messages"].get(1) {
                if m["status"] == "complete" {
                    assert_eq!(shown["messages"][0]["text"], "Say hello to the user.");
                    reply = m["text"].as_str().unwrap_or_default().to_owned();
                    break;
                }
                assert_ne!(m["status"], "error", "{m}");
            }
        }
        assert!(app.running(), "the app crashed while chatting");
        std::thread::sleep(Duration::from_millis(500));
    }
    assert!(
        !reply.trim().is_empty(),
        "a reply streamed in and was saved"
    );
    std::thread::sleep(Duration::from_millis(800));
    let chat = app.screenshot("desktop-chat.png");
    assert!(colours(&chat) > colours(&shell) / 2);

    // Settings → Data, scrolled into view from the bottom of the page.
    app.click(37, 222);
    std::thread::sleep(Duration::from_millis(800));
    app.click(1030, 400);
    app.key("End");
    std::thread::sleep(Duration::from_millis(300));
    app.key("Prior");
    std::thread::sleep(Duration::from_millis(800));
    let settings = app.screenshot("desktop-data-panel.png");
    assert!(colours(&settings) > 20);
    // "Back up now" (where this fixed-size window lays it out): a second backup appears.
    app.click(161, 545);
    let deadline = Instant::now() + Duration::from_secs(30);
    while backup_files(&backups).len() < 2 {
        assert!(
            Instant::now() < deadline,
            "Back up now made no backup: {:?}",
            backup_files(&backups)
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    std::thread::sleep(Duration::from_millis(800));
    app.screenshot("desktop-data.png");
    assert!(app.running());
    let _ = app.child.kill();
    let stderr = app.stderr();
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// In the app's dark theme on a light desktop (the test display's GTK theme is the light
/// default), the chat header's drop-down lists (backend, model) are drawn in the app's dark
/// colours. The webview drew them in the desktop theme's light grey under the dark theme's
/// light text: two blank light boxes.
#[test]
fn drop_down_lists_follow_the_apps_dark_theme() {
    let _display = DISPLAY.lock().unwrap_or_else(|e| e.into_inner());
    // A backend that lists its models, so the header has both lists.
    let url = support::peers::llm_url().expect("the llama.cpp server (NEXUS_TEST_LLM_URL)");
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    add_openai_profile(data, "llama.cpp", &url);
    Store::open(&data.join("history.db"))
        .unwrap()
        .set_setting("app", &serde_json::json!({ "theme": "dark" }))
        .unwrap();
    let mut app = launch(BIN, data);
    app.wait_painted("desktop-dark-pickers.png");
    // The window opens at the screen's corner, 1100×760; the chat's header (right of the
    // navigation and the conversation list) holds the pickers from y≈40 to y≈85.
    std::thread::sleep(Duration::from_millis(1500));
    let shot = app.screenshot("desktop-dark-pickers.png");
    let header = light_share(&shot, 700, 50, 345, 38);
    // Light text on dark: a few percent. The toolkit's light boxes took about a third.
    assert!(
        header < 0.12,
        "the header's pickers are light boxes in the dark theme ({:.0} % light pixels; see {shot:?})",
        header * 100.0
    );
    // And the theme is dark there at all (a dark band, not an empty light one).
    assert!(
        header > 0.005,
        "no text in the header band ({:.2} %); see {shot:?}",
        header * 100.0
    );
    assert!(app.running());
}

/// The CPU time `pid` used over `secs` seconds, as a share of one core.
fn cpu_share(pid: u32, secs: u64) -> f64 {
    let ticks = || -> f64 {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        // Fields after the command name (which may hold spaces): utime and stime are the 12th
        // and 13th of them.
        let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or_default();
        let f: Vec<&str> = rest.split_whitespace().collect();
        f.get(11).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0)
            + f.get(12).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0)
    };
    let before = ticks();
    std::thread::sleep(Duration::from_secs(secs));
    // Linux counts CPU time in 1/100 s.
    (ticks() - before) / 100.0 / secs as f64
}

/// The app's web content process (WebKit draws the page there).
fn web_process(app_pid: u32) -> u32 {
    for _ in 0..100 {
        let found = std::fs::read_dir("/proc").unwrap().flatten().find_map(|e| {
            let pid: u32 = e.file_name().to_str()?.parse().ok()?;
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            let (head, rest) = stat.rsplit_once(')')?;
            let parent: u32 = rest.split_whitespace().nth(1)?.parse().ok()?;
            (parent == app_pid && head.contains("WebKitWebProc")).then_some(pid)
        });
        if let Some(pid) = found {
            return pid;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("no WebKitWebProcess under the app ({app_pid})");
}

/// Started as a user's desktop starts it (none of WebKit's drawing switches the other tests
/// set), on a display without a GPU, with a reply holding a 300-line code block wider than the
/// thread open and the message box focused: the caret blinks, and nothing else happens. WebKit composited the page
/// in software GL on every blink: its web process used about a third of a core. It stays
/// near idle now.
#[test]
fn a_focused_message_box_beside_a_long_code_block_leaves_the_app_idle() {
    let _display = DISPLAY.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    {
        use opencode_nexus::engine::model::{Conversation, Message, Role};
        let mut store = Store::open(&data.join("history.db")).unwrap();
        let c = Conversation::new("Code to read");
        store.create_conversation(&c).unwrap();
        let q = Message::new(&c.id, None, Role::User, "Show me a long program.");
        store.save_message(&q, true).unwrap();
        let body: String = (0..300)
            .map(|i| {
                // Lines wider than the thread: the block scrolls sideways.
                format!(
                    "    let value_{i} = compute({i}) * {i} + offset; // line {i}: {}\n",
                    "wide ".repeat(30)
                )
            })
            .collect();
        let reply = format!("Here it is:\n\n```rust\nfn main() {{\n{body}}}\n```\n");
        let a = Message::new(&c.id, Some(q.id.clone()), Role::Assistant, &reply);
        store.save_message(&a, true).unwrap();
    }
    // A backend, so the message box takes text (nothing is sent to it).
    add_openai_profile(data, "Offline backend", "http://127.0.0.1:9/v1");
    let mut app = launch_as_installed(BIN, data);
    app.wait_painted("desktop-code-focus.png");
    // The conversation from the list beside the chat (its first row, under "Recent"), then the
    // message box.
    std::thread::sleep(Duration::from_millis(1500));
    app.click(200, 132);
    app.wait_log("conversation opened", 20, "the conversation did not open");
    std::thread::sleep(Duration::from_millis(1000));
    app.click(700, 660);
    // Laying out and painting the long reply takes a few seconds of the web process; then only
    // the caret blinks. Three windows of 3 s, the middle one counts.
    std::thread::sleep(Duration::from_secs(5));
    let shot = app.screenshot("desktop-code-focus.png");
    let web = web_process(app.child.id());
    let mut shares: Vec<f64> = (0..3).map(|_| cpu_share(web, 3)).collect();
    shares.sort_by(f64::total_cmp);
    eprintln!("the web process, a core's share in three windows of 3 s: {shares:.3?}");
    assert!(app.running(), "{}", app.stderr());
    assert!(
        shares[1] < 0.10,
        "the web process used {:.0} % of a core with nothing happening ({shares:.3?}; see {shot:?})",
        shares[1] * 100.0
    );
    let main = cpu_share(app.child.id(), 3);
    assert!(main < 0.10, "the app used {:.0} % of a core", main * 100.0);
}
