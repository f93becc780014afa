//! The real desktop build in a real window under Xvfb (started by `scripts/test.sh`): the shell
//! opens and stays up, and a prompt typed on the keyboard streams a reply from the real
//! llama.cpp server onto the screen and into history. Screenshots land in
//! `$NEXUS_SCREENSHOT_DIR`.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_opencode-nexus");

fn display() -> String {
    match std::env::var("NEXUS_TEST_DISPLAY") {
        Ok(d) if !d.is_empty() => d,
        _ => panic!("NEXUS_TEST_DISPLAY is not set: run scripts/test.sh, which starts Xvfb"),
    }
}

fn shots() -> PathBuf {
    let dir = std::env::var("NEXUS_SCREENSHOT_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| std::env::temp_dir());
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

struct App {
    child: Child,
    display: String,
    window: String,
}

impl Drop for App {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn xdotool(display: &str, args: &[&str]) -> String {
    let out = Command::new("xdotool")
        .args(args)
        .env("DISPLAY", display)
        .output()
        .expect("xdotool runs");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

fn launch(data: &Path) -> App {
    let display = display();
    // A file, not a pipe: nobody drains a pipe while the test waits, and a full one blocks the app.
    let log = std::fs::File::create(data.join("app-stderr.log")).unwrap();
    let child = Command::new(BIN)
        .arg("--data-dir")
        .arg(data)
        .env("DISPLAY", &display)
        .env("WEBKIT_DISABLE_DMABUF_RENDERER", "1")
        .env("WEBKIT_DISABLE_COMPOSITING_MODE", "1")
        .env("LIBGL_ALWAYS_SOFTWARE", "1")
        .env("NO_AT_BRIDGE", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::from(log))
        .spawn()
        .expect("app starts");
    let mut app = App {
        child,
        display: display.clone(),
        window: String::new(),
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        let found = xdotool(&display, &["search", "--name", "^OpenCode Nexus$"]);
        if let Some(id) = found.lines().last().filter(|l| !l.is_empty()) {
            app.window = id.to_owned();
            break;
        }
        assert!(
            app.child.try_wait().unwrap().is_none(),
            "the app exited during start-up"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(
        !app.window.is_empty(),
        "no window titled 'OpenCode Nexus' appeared"
    );
    app
}

fn screenshot(display: &str, name: &str) -> PathBuf {
    let path = shots().join(name);
    let status = Command::new("import")
        .args(["-window", "root", path.to_str().unwrap()])
        .env("DISPLAY", display)
        .status()
        .expect("imagemagick import runs");
    assert!(status.success());
    path
}

/// Number of distinct colours: a blank or failed render has one or two.
fn colours(path: &Path) -> u64 {
    let out = Command::new("convert")
        .arg(path)
        .args(["-format", "%k", "info:"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or(0)
}

fn nexus(data: &Path, args: &[&str]) -> std::process::Output {
    Command::new(BIN)
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn desktop_window_shows_the_shell_and_streams_a_reply_typed_on_the_keyboard() {
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
    let mut app = launch(data);
    std::thread::sleep(Duration::from_secs(4));
    assert!(app.child.try_wait().unwrap().is_none(), "the app stays up");
    let shell = screenshot(&app.display, "desktop-shell.png");
    assert!(
        colours(&shell) > 20,
        "the window rendered something ({} colours)",
        colours(&shell)
    );

    let Some(_) = llm else { return };
    // Type a prompt into the composer (focused on start) and press Enter.
    let w = app.window.clone();
    xdotool(
        &app.display,
        &["mousemove", "--window", &w, "550", "660", "click", "1"],
    );
    xdotool(
        &app.display,
        &["type", "--delay", "25", "Say hello to the user."],
    );
    std::thread::sleep(Duration::from_millis(500));
    screenshot(&app.display, "desktop-typed.png");
    xdotool(&app.display, &["key", "Return"]);

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
        assert!(
            app.child.try_wait().unwrap().is_none(),
            "the app crashed while chatting"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    assert!(
        !reply.trim().is_empty(),
        "a reply streamed in and was saved"
    );
    std::thread::sleep(Duration::from_millis(800));
    let chat = screenshot(&app.display, "desktop-chat.png");
    assert!(colours(&chat) > colours(&shell) / 2);
    assert!(app.child.try_wait().unwrap().is_none());
    let _ = app.child.kill();
    let stderr = std::fs::read_to_string(data.join("app-stderr.log")).unwrap_or_default();
    assert!(!stderr.contains("panicked"), "{stderr}");
}
