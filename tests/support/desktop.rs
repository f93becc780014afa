//! The desktop app in a real window on the Xvfb display `scripts/test.sh` starts
//! (`NEXUS_TEST_DISPLAY`): launching it, finding its window, driving it with xdotool and taking
//! screenshots (into `NEXUS_SCREENSHOT_DIR`).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub fn display() -> String {
    match std::env::var("NEXUS_TEST_DISPLAY") {
        Ok(d) if !d.is_empty() => d,
        _ => panic!("NEXUS_TEST_DISPLAY is not set: run scripts/test.sh, which starts Xvfb"),
    }
}

pub fn shots() -> PathBuf {
    let dir = std::env::var("NEXUS_SCREENSHOT_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| std::env::temp_dir());
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub fn xdotool(display: &str, args: &[&str]) -> String {
    let out = Command::new("xdotool")
        .args(args)
        .env("DISPLAY", display)
        .output()
        .expect("xdotool runs");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// A running app and its window; killed when dropped.
pub struct App {
    pub child: Child,
    pub display: String,
    pub window: String,
    /// The app's stderr (a file, not a pipe: nobody drains a pipe while a test waits, and a
    /// full one blocks the app).
    pub log: PathBuf,
}

impl Drop for App {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl App {
    pub fn running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits up to `secs` for the app's log (stderr) to say `needle`; fails with `what` and the
    /// log.
    pub fn wait_log(&self, needle: &str, secs: u64, what: &str) {
        let deadline = Instant::now() + Duration::from_secs(secs);
        while !self.stderr().contains(needle) {
            assert!(Instant::now() < deadline, "{what}: {}", self.stderr());
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Click at window coordinates.
    pub fn click(&self, x: u32, y: u32) {
        xdotool(
            &self.display,
            &[
                "mousemove",
                "--window",
                &self.window,
                &x.to_string(),
                &y.to_string(),
                "click",
                "1",
            ],
        );
    }

    /// Press keys (xdotool names: `Return`, `End`, `Prior`...).
    pub fn key(&self, keys: &str) {
        xdotool(&self.display, &["key", keys]);
    }

    pub fn type_text(&self, text: &str) {
        xdotool(&self.display, &["type", "--delay", "25", text]);
    }

    pub fn screenshot(&self, name: &str) -> PathBuf {
        screenshot(&self.display, name)
    }

    /// Wait for the window's first paint (screenshots polled until they show more than a few
    /// colours, up to 30 s: a loaded machine takes longer than an idle one); the last one.
    pub fn wait_painted(&mut self, name: &str) -> PathBuf {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            std::thread::sleep(Duration::from_millis(500));
            assert!(self.running(), "the app stays up: {}", self.stderr());
            let shot = self.screenshot(name);
            if colours(&shot) > 20 || std::time::Instant::now() > deadline {
                return shot;
            }
        }
    }
}

/// Start `bin --data-dir data` on the test display and wait for its window. WebKit draws it
/// without compositing or GPU buffers (steadier screenshots on the virtual display).
pub fn launch(bin: &str, data: &Path) -> App {
    start(
        bin,
        data,
        &[
            ("WEBKIT_DISABLE_DMABUF_RENDERER", "1"),
            ("WEBKIT_DISABLE_COMPOSITING_MODE", "1"),
            ("LIBGL_ALWAYS_SOFTWARE", "1"),
        ],
    )
}

/// The app on `data` with the OpenCode server at `url` as its one backend (added with the
/// CLI), once its event stream is connected; `first_shot` names the screenshot of its first
/// paint.
pub fn launch_with_opencode(bin: &str, data: &Path, url: &str, first_shot: &str) -> App {
    super::cli::run_ok(
        data,
        &[
            "profiles", "add", "tools", "--kind", "opencode", "--url", url,
        ],
    );
    let mut app = launch(bin, data);
    app.wait_painted(first_shot);
    app.wait_log(
        "OpenCode event stream: connected",
        60,
        "the app did not connect",
    );
    app
}

/// Start the app as a user's desktop would, with none of WebKit's drawing switches set.
pub fn launch_as_installed(bin: &str, data: &Path) -> App {
    start(bin, data, &[])
}

fn start(bin: &str, data: &Path, env: &[(&str, &str)]) -> App {
    let display = display();
    let log = data.join("app-stderr.log");
    let child = Command::new(bin)
        .arg("--data-dir")
        .arg(data)
        .env("DISPLAY", &display)
        .env_remove("WEBKIT_DISABLE_DMABUF_RENDERER")
        .env_remove("WEBKIT_DISABLE_COMPOSITING_MODE")
        .env_remove("LIBGL_ALWAYS_SOFTWARE")
        .envs(env.iter().copied())
        .env("NO_AT_BRIDGE", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::from(std::fs::File::create(&log).unwrap()))
        .spawn()
        .unwrap_or_else(|e| panic!("{bin} starts: {e}"));
    let mut app = App {
        child,
        display: display.clone(),
        window: String::new(),
        log,
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        let found = xdotool(&display, &["search", "--name", "^OpenCode Nexus$"]);
        if let Some(id) = found.lines().last().filter(|l| !l.is_empty()) {
            app.window = id.to_owned();
            break;
        }
        assert!(
            app.running(),
            "the app exited during start-up: {}",
            app.stderr()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(
        !app.window.is_empty(),
        "no window titled 'OpenCode Nexus' appeared"
    );
    app
}

/// The whole screen as a PNG in the screenshot directory.
pub fn screenshot(display: &str, name: &str) -> PathBuf {
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
pub fn colours(path: &Path) -> u64 {
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

/// The share of light pixels (grey level above 78 %) in a rectangle of a screenshot.
pub fn light_share(shot: &Path, w: u32, h: u32, x: u32, y: u32) -> f64 {
    let out = Command::new("convert")
        .arg(shot)
        .args(["-crop", &format!("{w}x{h}+{x}+{y}"), "+repage"])
        .args(["-colorspace", "Gray", "-threshold", "78%"])
        .args(["-format", "%[fx:mean]", "info:"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    text.trim()
        .parse()
        .unwrap_or_else(|_| panic!("imagemagick measured {shot:?}: {text:?}"))
}
