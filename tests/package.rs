//! The Linux desktop package end to end: `scripts/package-deb.sh` builds the release `.deb`,
//! its metadata and contents are checked, `dpkg -i` installs it on this machine, the installed
//! binary answers `--version` and `doctor`, and the installed app opens its window under Xvfb
//! and stays up; `dpkg -r` removes it again.
//!
//! It installs system-wide, so it runs only when asked: `NEXUS_TEST_PACKAGE=1` (scripts/test.sh
//! sets it, with `NEXUS_TEST_DISPLAY`). Under CI it must run, so there a missing switch fails.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use support::desktop::{colours, launch};

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
    std::thread::sleep(Duration::from_secs(4));
    assert!(
        app.running(),
        "the installed app stays up: {}",
        app.stderr()
    );
    let shot = app.screenshot("installed-deb.png");
    let colours = colours(&shot);
    assert!(colours > 20, "the window rendered ({colours} colours)");
    let log = app.log.clone();
    drop(app);
    let stderr = std::fs::read_to_string(log).unwrap_or_default();
    assert!(!stderr.contains("panicked"), "{stderr}");

    run(dpkg().args(["-r", "opencode-nexus"]));
    assert!(!Path::new(bin).exists(), "dpkg -r removed the binary");
}
