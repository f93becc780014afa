//! Attachments in the real desktop window under Xvfb (started by `scripts/test.sh`), the three
//! ways a user adds them, against a scripted server that records what it is sent:
//! - an image pasted from the clipboard (a screenshot tool puts `image/png` there; WebKitGTK
//!   hands the page no file for it, so the app reads the clipboard itself),
//! - a file copied in a file manager and pasted (a `text/uri-list` of `file:` URIs),
//! - "Attach…", whose file chooser (zenity, the fallback without a desktop portal) is driven
//!   with the keyboard: Ctrl+L and the path pasted into its location field.
//!
//! The request carries both images as `image_url` parts with their exact pixels (the picked one
//! byte for byte) and the text file inlined; history lists all three.

mod support;

use std::path::Path;

use base64::Engine as _;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use support::cli::{nexus, run_ok};
use support::desktop::{display, launch, xdotool, App};
use support::fault_server::{sse_chat_chunks, Fault, FaultServer, StreamEnd, FAULT_MODEL};
use support::RED_PIXEL_PNG;

const BIN: &str = env!("CARGO_BIN_EXE_opencode-nexus");
const PROMPT: &str = "Describe these files.";
const NOTES: &str = "fn main() {\n    println!(\"from the file manager\");\n}\n";
/// The pasted screenshot's colour.
const BLUE: [u8; 4] = [0, 128, 255, 255];

/// `xclip` owning the clipboard with `bytes` as `target` until it is dropped.
struct Clipboard(Child);

impl Clipboard {
    fn offer(target: &str, bytes: &[u8]) -> Clipboard {
        use std::io::Write;
        let mut child = Command::new("xclip")
            .args(["-quiet", "-selection", "clipboard", "-t", target])
            .env("DISPLAY", display())
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("xclip runs (scripts/setup.sh installs it)");
        child.stdin.take().unwrap().write_all(bytes).unwrap();
        // xclip takes the selection once its input has ended.
        std::thread::sleep(Duration::from_millis(400));
        Clipboard(child)
    }
}

impl Drop for Clipboard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn blue_png() -> Vec<u8> {
    let image = image::RgbaImage::from_pixel(32, 24, image::Rgba(BLUE));
    let mut png = std::io::Cursor::new(Vec::new());
    image.write_to(&mut png, image::ImageFormat::Png).unwrap();
    png.into_inner()
}

fn wait_for_window(name: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while xdotool(&display(), &["search", "--onlyvisible", "--name", name]).is_empty() {
        assert!(Instant::now() < deadline, "no {name} window within 30 s");
        std::thread::sleep(Duration::from_millis(250));
    }
}

fn saved_conversation(data: &Path) -> serde_json::Value {
    let list: serde_json::Value =
        serde_json::from_slice(&nexus(data, &["history", "list", "--json"]).stdout)
            .unwrap_or_default();
    let Some(id) = list.get(0).and_then(|c| c["id"].as_str()) else {
        return serde_json::Value::Null;
    };
    serde_json::from_slice(&nexus(data, &["history", "show", id, "--json"]).stdout)
        .unwrap_or_default()
}

fn wait_for_reply(app: &mut App, data: &Path) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let shown = saved_conversation(data);
        if shown["messages"][1]["status"] == "complete" {
            return shown;
        }
        assert_ne!(shown["messages"][1]["status"], "error", "{shown}");
        assert!(app.running(), "the app exited: {}", app.stderr());
        assert!(Instant::now() < deadline, "no complete reply: {shown}");
        std::thread::sleep(Duration::from_millis(300));
    }
}

#[test]
fn images_and_files_attached_by_paste_and_by_the_picker_reach_the_model() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt.block_on(FaultServer::start(vec![
        Fault::Stream {
            chunks: sse_chat_chunks(&["Two images ", "and a Rust file."]),
            delay_ms: 20,
            then: StreamEnd::Finish,
        },
        Fault::Status {
            code: 200,
            headers: Vec::new(),
            body: r#"{"choices":[{"index":0,"message":{"role":"assistant","content":"Three files"},"finish_reason":"stop"}]}"#.into(),
        },
    ]));
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let files = dir.path().join("files");
    std::fs::create_dir_all(&files).unwrap();
    let notes = files.join("notes.rs");
    std::fs::write(&notes, NOTES).unwrap();
    let picked = files.join("red pixel.png");
    std::fs::write(&picked, RED_PIXEL_PNG).unwrap();

    run_ok(
        &data,
        &[
            "profiles",
            "add",
            "scripted",
            "--kind",
            "openai-compatible",
            "--url",
            &server.base_url(),
            "--model",
            FAULT_MODEL,
        ],
    );
    let mut app = launch(BIN, &data);
    app.wait_painted("desktop-attach-start.png");
    std::thread::sleep(Duration::from_secs(1));

    app.click(550, 660);
    app.type_text(PROMPT);

    // A screenshot on the clipboard, pasted into the message box.
    let clip = Clipboard::offer("image/png", &blue_png());
    app.key("ctrl+v");
    std::thread::sleep(Duration::from_millis(1500));
    drop(clip);

    // A file copied in a file manager, pasted.
    let uri = url::Url::from_file_path(&notes).unwrap();
    let clip = Clipboard::offer("text/uri-list", format!("{uri}\r\n").as_bytes());
    app.key("ctrl+v");
    std::thread::sleep(Duration::from_millis(1500));
    drop(clip);

    // "Attach…" opens the file chooser; its location field takes the path, pasted (typed
    // keys race the field's completion, which drops characters).
    app.click(958, 730);
    wait_for_window("zenity");
    std::thread::sleep(Duration::from_millis(800));
    let clip = Clipboard::offer("UTF8_STRING", picked.to_str().unwrap().as_bytes());
    app.key("ctrl+l");
    std::thread::sleep(Duration::from_millis(300));
    app.key("ctrl+v");
    std::thread::sleep(Duration::from_millis(500));
    app.key("Return");
    std::thread::sleep(Duration::from_millis(2000));
    drop(clip);
    app.screenshot("desktop-attachments.png");

    app.click(550, 660);
    app.key("End");
    app.key("Return");
    let shown = wait_for_reply(&mut app, &data);
    // The thread shows the pasted screenshot (read back from the store) as a thumbnail.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        std::thread::sleep(Duration::from_millis(500));
        let shot = app.screenshot("desktop-attachments-sent.png");
        let blue = image::open(&shot)
            .unwrap()
            .to_rgb8()
            .pixels()
            .filter(|p| p.0 == [BLUE[0], BLUE[1], BLUE[2]])
            .count();
        if blue > 500 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no thumbnail of the pasted image in the thread ({blue} blue pixels)"
        );
    }

    // What the model was sent: the prompt, the text file inlined, both images as data URLs.
    let bodies = support::fault_server::streamed_chat_bodies(&server);
    assert_eq!(bodies.len(), 1, "{bodies:?}");
    let user = bodies[0]["messages"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .find(|m| m["role"] == "user")
        .cloned()
        .unwrap();
    let parts = user["content"]
        .as_array()
        .unwrap_or_else(|| panic!("{user}"));
    let text: String = parts
        .iter()
        .filter(|p| p["type"] == "text")
        .map(|p| p["text"].as_str().unwrap())
        .collect();
    assert!(text.contains(PROMPT), "{text}");
    assert!(
        text.contains("notes.rs") && text.contains(NOTES.trim_end()),
        "the pasted file is inlined: {text}"
    );
    let images: Vec<Vec<u8>> = parts
        .iter()
        .filter(|p| p["type"] == "image_url")
        .map(|p| {
            let url = p["image_url"]["url"].as_str().unwrap();
            let b64 = url
                .strip_prefix("data:image/png;base64,")
                .unwrap_or_else(|| panic!("a PNG data URL: {}", &url[..url.len().min(60)]));
            base64::engine::general_purpose::STANDARD
                .decode(b64)
                .expect("base64")
        })
        .collect();
    assert_eq!(images.len(), 2, "{parts:?}");
    let pasted = image::load_from_memory(&images[0])
        .expect("the pasted image is a PNG")
        .to_rgba8();
    assert_eq!(pasted.dimensions(), (32, 24));
    assert!(
        pasted.pixels().all(|p| p.0 == BLUE),
        "the pasted pixels arrive unchanged"
    );
    assert_eq!(images[1], RED_PIXEL_PNG, "the picked file byte for byte");

    // History keeps all three with the user's message.
    let names: Vec<&str> = shown["messages"][0]["attachments"]
        .as_array()
        .unwrap_or_else(|| panic!("{shown}"))
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["pasted-image.png", "notes.rs", "red pixel.png"],
        "{shown}"
    );
    assert!(app.running());
    let stderr = app.stderr();
    assert!(!stderr.contains("panicked"), "{stderr}");
    drop(server);
}
