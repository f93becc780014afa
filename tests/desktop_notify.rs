//! Desktop notifications from the real desktop build under Xvfb: with the window in the
//! background (another window has the focus), a run on a real OpenCode server (the tool
//! server of `scripts/test.sh`) that asks for approval, and then finishes, each reach a real
//! notification daemon (dunst) on the test's D-Bus session, read back with `dunstctl history`.

mod support;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use opencode_nexus::engine::opencode::api::{PermissionReply, PermissionReplyBody, PromptBody};
use support::desktop::{display, launch_with_opencode, xdotool};

const BIN: &str = env!("CARGO_BIN_EXE_opencode-nexus");

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn notifications_owned() -> bool {
    Command::new("dbus-send")
        .args([
            "--session",
            "--dest=org.freedesktop.DBus",
            "--type=method_call",
            "--print-reply",
            "/org/freedesktop/DBus",
            "org.freedesktop.DBus.NameHasOwner",
            "string:org.freedesktop.Notifications",
        ])
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("boolean true"))
}

/// Everything the daemon has shown (expired notifications move to its history at once).
fn history() -> String {
    let out = Command::new("dunstctl")
        .arg("history")
        .output()
        .expect("dunstctl runs");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn wait_for_notification(what: &str, needles: &[&str]) -> String {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let h = history();
        if needles.iter().all(|n| h.contains(n)) {
            return h;
        }
        assert!(
            Instant::now() < deadline,
            "no notification {what} ({needles:?}); the daemon has: {h}"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
}

#[test]
fn a_run_in_the_background_notifies_when_it_needs_approval_and_when_it_finishes() {
    let (url, project) = support::peers::opencode_tools().expect("the tool server");
    assert!(
        std::env::var("DBUS_SESSION_BUS_ADDRESS").is_ok(),
        "run under scripts/with-keyring.sh: the notification daemon needs the test's D-Bus"
    );
    assert!(
        !notifications_owned(),
        "another notification daemon owns this D-Bus session"
    );
    let display = display();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("dunstrc");
    // Shown for a second, then kept in the history this test reads.
    std::fs::write(
        &config,
        "[global]\n    timeout = 1\n[urgency_low]\n    timeout = 1\n[urgency_normal]\n    timeout = 1\n[urgency_critical]\n    timeout = 1\n",
    )
    .unwrap();
    let _daemon = Killed(
        Command::new("dunst")
            .arg("-config")
            .arg(&config)
            .env("DISPLAY", &display)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("dunst starts"),
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    while !notifications_owned() {
        assert!(
            Instant::now() < deadline,
            "dunst did not take the D-Bus name"
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    let mut app = launch_with_opencode(BIN, &dir.path().join("data"), &url, "notify-start.png");

    // Another window takes the focus: the app is in the background.
    let _clock = Killed(
        Command::new("xclock")
            .env("DISPLAY", &display)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("xclock starts"),
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    let clock = loop {
        let found = xdotool(&display, &["search", "--class", "XClock"]);
        if let Some(id) = found.lines().last().filter(|l| !l.is_empty()) {
            break id.to_owned();
        }
        assert!(Instant::now() < deadline, "no xclock window");
        std::thread::sleep(Duration::from_millis(100));
    };
    // Out of the way of the screenshots, then focused.
    xdotool(&display, &["windowmove", &clock, "1110", "630"]);
    xdotool(&display, &["windowfocus", "--sync", &clock]);

    // A run started elsewhere asks for approval...
    let rt = tokio::runtime::Runtime::new().unwrap();
    let client = support::oc::client(&url, None);
    let file = format!("notify-{}.txt", uuid::Uuid::now_v7().simple());
    let session = rt.block_on(async {
        let s = support::oc::titled_session(&client, "notified run").await;
        client
            .prompt_async(&s, &PromptBody::text(format!("RUN: echo NOTIFY > {file}")))
            .await
            .unwrap();
        s
    });
    wait_for_notification(
        "asking for approval",
        &["OpenCode needs your answer", "echo NOTIFY", &file],
    );
    app.screenshot("notify-asked.png");
    // The Approvals view lists it (screenshot for the README); then the clock takes the focus
    // again.
    app.click(37, 220);
    std::thread::sleep(Duration::from_secs(1));
    app.screenshot("approvals-desktop.png");
    xdotool(&display, &["windowfocus", "--sync", &clock]);

    // ...and, answered, finishes.
    rt.block_on(async {
        let asked = loop {
            if let Some(p) = client
                .permissions()
                .await
                .unwrap()
                .into_iter()
                .find(|p| p.session_id == session)
            {
                break p;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        client
            .reply_permission(
                &asked.id,
                &PermissionReplyBody {
                    reply: PermissionReply::Once,
                    message: None,
                },
            )
            .await
            .unwrap();
    });
    wait_for_notification("of the finished run", &["Reply finished", "notified run"]);
    assert!(project.join(&file).exists());
    assert!(app.running(), "the app stays up: {}", app.stderr());
}
