//! The Linux desktop package end to end: `scripts/package-deb.sh` builds the release `.deb`,
//! its metadata and contents are checked, `dpkg -i` installs it on this machine, the installed
//! binary answers `--version` and `doctor`, and the installed app opens its window under Xvfb
//! and stays up; `dpkg -r` removes it again.
//!
//! Then the flow users take, with the build users run (the installed release binary, LTO and
//! `opt-level = 3`): a prompt typed on the keyboard to a scripted server that answers with code
//! blocks streamed four characters per event (the reply that once left the release build
//! spinning), the reply completes, Stop turns back into Send, the process goes idle (CPU from
//! `/proc`), a second prompt works, the conversation list's search and History's search, typed
//! at 40 keys a second, keep every key and open the conversation with Enter.
//!
//! It installs system-wide, so it runs only when asked: `NEXUS_TEST_PACKAGE=1` (scripts/test.sh
//! sets it, with `NEXUS_TEST_DISPLAY`). Under CI it must run, so there a missing switch fails.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use support::desktop::{colours, launch, App};
use support::fault_server::{sse_chat_chunks, Fault, FaultServer, StreamEnd, FAULT_MODEL};

fn enabled() -> bool {
    let on = std::env::var("NEXUS_TEST_PACKAGE").is_ok_and(|v| v == "1");
    if !on && std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("CI=true but NEXUS_TEST_PACKAGE is not 1: run scripts/test.sh, which packages and installs the app");
    }
    if !on {
        eprintln!(
            "package test not run: set NEXUS_TEST_PACKAGE=1 (it installs a .deb system-wide)"
        );
    }
    on
}

fn run(cmd: &mut Command) -> String {
    let mut out = cmd.output().expect("command starts");
    // dpkg refuses at once while another package operation holds its lock (an apt run of the
    // same machine); wait for it instead of failing.
    for _ in 0..60 {
        if out.status.success() || !String::from_utf8_lossy(&out.stderr).contains("lock") {
            break;
        }
        std::thread::sleep(Duration::from_secs(2));
        out = cmd.output().expect("command starts");
    }
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `dpkg` as root: directly when the tests run as root (this machine, CI), else through
/// `sudo -n` (hosted runners), which fails at once rather than prompting.
fn dpkg() -> Command {
    let uid = Command::new("id").arg("-u").output().map(|o| o.stdout);
    if uid.is_ok_and(|u| u.trim_ascii() == b"0") {
        Command::new("dpkg")
    } else {
        let mut c = Command::new("sudo");
        c.args(["-n", "dpkg"]);
        c
    }
}

/// Removes the package even when an assertion fails halfway.
struct Installed;

impl Drop for Installed {
    fn drop(&mut self) {
        let _ = dpkg()
            .args(["-r", "opencode-nexus"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

#[test]
fn deb_builds_installs_with_dpkg_and_the_installed_app_starts() {
    if !enabled() {
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut script = Command::new("bash");
    script.arg(root.join("scripts/package-deb.sh"));
    // Cargo sets CARGO_*/RUSTC* variables for tests; passed on, they change the release build's
    // fingerprints (build scripts watch some) and force a rebuild that a shell run would reuse.
    script.env_clear();
    for var in [
        "PATH",
        "HOME",
        "USER",
        "LANG",
        "XDG_CACHE_HOME",
        "CARGO_HOME",
        "RUSTUP_HOME",
        "NEXUS_RELEASE_TARGET_DIR",
        "NEXUS_CHANNEL",
    ] {
        if let Some(v) = std::env::var_os(var) {
            script.env(var, v);
        }
    }
    let out = script
        .stderr(Stdio::inherit())
        .output()
        .expect("package script runs");
    assert!(out.status.success(), "scripts/package-deb.sh failed");
    let deb = PathBuf::from(
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .last()
            .unwrap_or("")
            .trim(),
    );
    assert!(deb.is_file(), "no package at {}", deb.display());
    let size = std::fs::metadata(&deb).unwrap().len();
    eprintln!("package: {} ({size} bytes)", deb.display());
    assert!(size > 1_000_000, "a package this small cannot hold the app");

    let info = run(Command::new("dpkg-deb").arg("--info").arg(&deb));
    assert!(info.contains("Package: opencode-nexus"), "{info}");
    assert!(
        info.contains(&format!("Version: {}", env!("CARGO_PKG_VERSION"))),
        "{info}"
    );
    // $auto found the shared libraries the binary links against.
    assert!(info.contains("libwebkit2gtk-4.1"), "{info}");
    let contents = run(Command::new("dpkg-deb").arg("--contents").arg(&deb));
    for path in [
        "./usr/bin/opencode-nexus",
        "./usr/share/applications/opencode-nexus.desktop",
        "./usr/share/icons/hicolor/scalable/apps/opencode-nexus.svg",
        "./usr/share/icons/hicolor/256x256/apps/opencode-nexus.png",
    ] {
        assert!(contents.contains(path), "{path} missing:\n{contents}");
    }

    let _installed = Installed;
    run(dpkg().arg("-i").arg(&deb));
    let status = run(Command::new("dpkg").args(["-s", "opencode-nexus"]));
    assert!(status.contains("Status: install ok installed"), "{status}");

    let bin = "/usr/bin/opencode-nexus";
    let version = run(Command::new(bin).arg("--version"));
    assert!(
        version.starts_with(&format!("opencode-nexus {} (", env!("CARGO_PKG_VERSION"))),
        "{version}"
    );
    assert!(version.trim_end().ends_with(')'), "{version}");
    let data = tempfile::tempdir().unwrap();
    let doctor = run(Command::new(bin)
        .arg("--data-dir")
        .arg(data.path())
        .args(["doctor", "--json"])
        .stdin(Stdio::null()));
    let report: serde_json::Value = serde_json::from_str(&doctor).unwrap();
    assert_eq!(report["integrity"], "ok");

    let mut app = launch(bin, data.path());
    let shot = app.wait_painted("installed-deb.png");
    std::thread::sleep(Duration::from_secs(2));
    assert!(
        app.running(),
        "the installed app stays up: {}",
        app.stderr()
    );
    let colours = colours(&shot);
    assert!(colours > 20, "the window rendered ({colours} colours)");
    let log = app.log.clone();
    drop(app);
    let stderr = std::fs::read_to_string(log).unwrap_or_default();
    assert!(!stderr.contains("panicked"), "{stderr}");

    release_app_chats_with_code_blocks_and_goes_idle(bin);

    run(dpkg().args(["-r", "opencode-nexus"]));
    assert!(!Path::new(bin).exists(), "dpkg -r removed the binary");
}

/// The replies of the release-build freeze report: fenced code (Python with a `#` comment and
/// escaped quotes, a bash heredoc, a C string ending in a backslash, a fence with no language).
const CODE_REPLY: &str = "To reverse a string in Python, you can use slicing with negative numbers. Here's how to do it:\n\n```python\ndef reverse_string(s):\n    return s[::-1]\n\n# Example usage:\nprint(reverse_string(\"Hello World\"))  # Output: \"Hll Wrld\"\n```\n";
const SECOND_REPLY: &str = "A heredoc:\n\n```bash\ncat <<'EOF' > notes.txt\nline with $HOME and \\$literal\nEOF\n```\n\nA C string that ends in a backslash:\n\n```c\nconst char *sep = \"\\\\\";\n```\n\n```\nno language at all\n```\n";

/// Four characters per SSE event, as the report's server sent them.
fn code_stream(text: &str) -> Fault {
    let chars: Vec<char> = text.chars().collect();
    let pieces: Vec<String> = chars.chunks(4).map(|c| c.iter().collect()).collect();
    let refs: Vec<&str> = pieces.iter().map(String::as_str).collect();
    Fault::Stream {
        chunks: sse_chat_chunks(&refs),
        delay_ms: 25,
        then: StreamEnd::Finish,
    }
}

/// Pixels of the Stop button's red (light and dark theme) in a screenshot.
fn stop_red_pixels(shot: &Path) -> u64 {
    let out = Command::new("convert")
        .arg(shot)
        .args(["-format", "%c", "histogram:info:-"])
        .output()
        .expect("imagemagick convert runs");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| {
            let l = l.to_ascii_uppercase();
            l.contains("#B91C1C") || l.contains("#F87171")
        })
        .filter_map(|l| l.trim().split(':').next()?.trim().parse::<u64>().ok())
        .sum()
}

/// CPU seconds (user + system) the process has used, from `/proc/PID/stat`.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("the process exists");
    // Fields after the command name (which is in parentheses and may hold spaces).
    let rest = &stat[stat.rfind(')').expect("stat has a command") + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    let hz = Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .trim()
                .parse::<f64>()
                .ok()
        })
        .unwrap_or(100.0);
    ticks / hz
}

/// The share of one core the process used over the next `secs` seconds.
fn cpu_share(pid: u32, secs: u64) -> f64 {
    let before = cpu_seconds(pid);
    std::thread::sleep(Duration::from_secs(secs));
    (cpu_seconds(pid) - before) / secs as f64
}

/// The conversations and their messages as the installed CLI reads them from the app's file.
/// What the app has logged so far (every file in its log directory).
/// The text on the clipboard of the test display.
fn clipboard() -> String {
    let out = Command::new("xclip")
        .args(["-o", "-selection", "clipboard"])
        .env("DISPLAY", support::desktop::display())
        .output()
        .expect("xclip runs (scripts/setup.sh installs it)");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn app_log(data: &Path) -> String {
    std::fs::read_dir(data.join("logs"))
        .unwrap()
        .flatten()
        .map(|e| std::fs::read_to_string(e.path()).unwrap_or_default())
        .collect()
}

fn saved_messages(bin: &str, data: &Path) -> Vec<serde_json::Value> {
    let list = Command::new(bin)
        .arg("--data-dir")
        .arg(data)
        .args(["history", "list", "--json"])
        .output()
        .unwrap();
    let list: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap_or_default();
    let Some(id) = list.get(0).and_then(|c| c["id"].as_str()) else {
        return Vec::new();
    };
    let shown = Command::new(bin)
        .arg("--data-dir")
        .arg(data)
        .args(["history", "show", id, "--json"])
        .output()
        .unwrap();
    let shown: serde_json::Value = serde_json::from_slice(&shown.stdout).unwrap_or_default();
    shown["messages"].as_array().cloned().unwrap_or_default()
}

fn wait_for_complete_reply(app: &mut App, bin: &str, data: &Path, count: usize) -> String {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let messages = saved_messages(bin, data);
        if let Some(m) = messages.get(count - 1) {
            assert_ne!(m["status"], "error", "{m}");
            if m["status"] == "complete" {
                return m["text"].as_str().unwrap_or_default().to_owned();
            }
        }
        assert!(
            app.running(),
            "the app exited while replying: {}",
            app.stderr()
        );
        assert!(
            std::time::Instant::now() < deadline,
            "no complete reply #{count}: {messages:?}"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
}

fn release_app_chats_with_code_blocks_and_goes_idle(bin: &str) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let title = Fault::Status {
        code: 200,
        headers: Vec::new(),
        body: r#"{"choices":[{"index":0,"message":{"role":"assistant","content":"Reversing a string"},"finish_reason":"stop"}]}"#.into(),
    };
    let server = rt.block_on(FaultServer::start(vec![
        code_stream(CODE_REPLY),
        title,
        code_stream(SECOND_REPLY),
    ]));
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    run(Command::new(bin).arg("--data-dir").arg(data).args([
        "profiles",
        "add",
        "scripted",
        "--kind",
        "openai-compatible",
        "--url",
        &server.base_url(),
        "--model",
        FAULT_MODEL,
    ]));
    let mut app = launch(bin, data);
    app.wait_painted("release-start.png");
    std::thread::sleep(Duration::from_secs(1));

    // The first prompt, by keyboard, into the composer (focused at start).
    app.click(550, 660);
    app.type_text("Write a Python function that reverses a string, in a code block.");
    app.key("Return");
    std::thread::sleep(Duration::from_millis(900));
    let streaming = app.screenshot("release-streaming.png");
    let red_while_streaming = stop_red_pixels(&streaming);
    assert!(
        red_while_streaming > 200,
        "the red Stop button shows while the reply streams ({red_while_streaming} red pixels)"
    );
    let reply = wait_for_complete_reply(&mut app, bin, data, 2);
    assert_eq!(reply, CODE_REPLY, "the whole reply was saved");

    // Stop turns back into Send, and the process settles: no frame pump or loop left running.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let mut shot;
    loop {
        std::thread::sleep(Duration::from_millis(500));
        shot = app.screenshot("release-code-reply.png");
        if stop_red_pixels(&shot) == 0 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the Stop button is still shown 10 s after the reply completed"
        );
    }
    assert!(colours(&shot) > 40, "the reply is on screen");
    std::thread::sleep(Duration::from_secs(2));
    let busy = cpu_share(app.child.id(), 5);
    eprintln!(
        "release app CPU after the reply: {:.1}% of a core",
        busy * 100.0
    );
    assert!(
        busy < 0.10,
        "the app keeps {:.0}% of a core busy after the reply",
        busy * 100.0
    );

    // A second prompt works (a frozen UI takes no keys), with more code.
    app.click(550, 660);
    app.type_text("Show a heredoc and a C string.");
    app.key("Return");
    let second = wait_for_complete_reply(&mut app, bin, data, 4);
    assert!(second.contains("cat <<'EOF'"), "{second}");
    std::thread::sleep(Duration::from_millis(800));
    app.screenshot("release-second-reply.png");

    // The reply's "Copy Markdown" and "Copy", reached from the message box with Shift+Tab
    // (Delete, Regenerate, Copy Markdown, Copy): what they copy is still on the clipboard
    // afterwards (there is no clipboard manager under Xvfb to take it over).
    app.click(550, 660);
    for _ in 0..3 {
        app.key("shift+Tab");
    }
    app.key("Return");
    std::thread::sleep(Duration::from_millis(500));
    app.screenshot("release-copied-markdown.png");
    assert_eq!(
        clipboard(),
        SECOND_REPLY,
        "Copy Markdown copies the reply as written"
    );
    app.key("shift+Tab");
    app.key("Return");
    std::thread::sleep(Duration::from_millis(500));
    let plain = clipboard();
    assert!(
        plain.contains("cat <<'EOF' > notes.txt") && !plain.contains("```"),
        "Copy copies the reply's text without its Markdown: {plain:?}"
    );

    let list = Command::new(bin)
        .arg("--data-dir")
        .arg(data)
        .args(["history", "list", "--json"])
        .output()
        .unwrap();
    let list: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap();
    assert_eq!(list[0]["title"], "Reversing a string", "{list}");
    assert_eq!(list[0]["messages"], 4, "{list}");
    let id = list[0]["id"].as_str().unwrap().to_owned();
    let shown = format!("conversation shown conversation={id}");

    // A new chat, then Ctrl+K focuses the search of the conversation list beside the chat.
    // The title typed at 40 keys a second is all kept (a key typed before the previous one's
    // input event came back was dropped), so it matches and Enter opens the conversation.
    app.key("ctrl+n");
    std::thread::sleep(Duration::from_millis(800));
    let before = app_log(data).matches(&shown).count();
    app.key("ctrl+k");
    std::thread::sleep(Duration::from_millis(800));
    app.type_text("Reversing a string");
    std::thread::sleep(Duration::from_millis(800));
    app.screenshot("release-list-search.png");
    app.key("Return");
    std::thread::sleep(Duration::from_millis(800));
    let log = app_log(data);
    assert!(
        log.contains("conversation list search focused"),
        "Ctrl+K reached the list's search: {log}"
    );
    assert_eq!(
        log.matches(&shown).count(),
        before + 1,
        "Enter in the list's search opened the conversation typed: {log}"
    );

    // History from the navigation, another new chat first; its search typed as quickly finds
    // the words in a message, and Enter opens the conversation there.
    app.key("ctrl+n");
    app.click(37, 157);
    std::thread::sleep(Duration::from_millis(1200));
    let history = app.screenshot("release-history.png");
    assert!(colours(&history) > 20);
    app.key("ctrl+k");
    std::thread::sleep(Duration::from_millis(800));
    app.type_text("reverses a string");
    std::thread::sleep(Duration::from_millis(1200));
    app.screenshot("release-history-search.png");
    app.key("Return");
    std::thread::sleep(Duration::from_millis(800));
    let log = app_log(data);
    assert!(log.contains("view=History"), "History was shown: {log}");
    assert_eq!(
        log.matches(&shown).count(),
        before + 2,
        "Enter in History's search opened the conversation found: {log}"
    );
    assert!(app.running(), "{}", app.stderr());
    let busy = cpu_share(app.child.id(), 3);
    assert!(
        busy < 0.10,
        "History left {:.0}% of a core busy",
        busy * 100.0
    );
    let _ = app.child.kill();
    let stderr = app.stderr();
    assert!(!stderr.contains("panicked"), "{stderr}");
    drop(server);
}
