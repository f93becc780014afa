//! Sync between two data directories through a real WebDAV server (`rclone serve webdav`,
//! started by scripts/test.sh), driven through the command line as a headless device would:
//! chats from both sides meet, a rename on one and a pin on the other both survive, a delete
//! propagates, the server holds no plaintext, a wrong passphrase changes nothing, and syncs
//! killed with SIGKILL at random moments end consistent once rerun.

mod support;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use support::cli::{add_openai_profile, device_names, nexus_env, run_ok_env};
use support::fault_server::*;

const BIN: &str = env!("CARGO_BIN_EXE_opencode-nexus");
const PASSPHRASE: &str = "correct horse battery staple";

fn run(data: &Path, args: &[&str], passphrase: &str, password: &str) -> Output {
    let env = [
        ("NEXUS_SYNC_TEST_PASSPHRASE", passphrase),
        ("NEXUS_SYNC_TEST_DAV_PASSWORD", password),
    ];
    nexus_env(data, args, &env)
}

fn ok(data: &Path, args: &[&str], password: &str) -> String {
    let env = [
        ("NEXUS_SYNC_TEST_PASSPHRASE", PASSPHRASE),
        ("NEXUS_SYNC_TEST_DAV_PASSWORD", password),
    ];
    run_ok_env(data, args, &env)
}

fn json(data: &Path, args: &[&str], password: &str) -> serde_json::Value {
    serde_json::from_str(&ok(data, args, password)).unwrap()
}

fn setup_args<'a>(url: &'a str, user: &'a str, name: &'a str) -> Vec<&'a str> {
    vec![
        "sync",
        "setup",
        "--url",
        url,
        "--user",
        user,
        "--password-env",
        "NEXUS_SYNC_TEST_DAV_PASSWORD",
        "--passphrase-env",
        "NEXUS_SYNC_TEST_PASSPHRASE",
        "--name",
        name,
    ]
}

/// Every conversation (id, title, pinned) and its visible thread's texts, sorted.
fn history(data: &Path, password: &str) -> Vec<(String, String, bool, Vec<String>)> {
    let list = json(
        data,
        &["history", "list", "--json", "--limit", "1000"],
        password,
    );
    let mut out = Vec::new();
    for c in list.as_array().unwrap() {
        let id = c["id"].as_str().unwrap().to_owned();
        let shown = json(data, &["history", "show", &id, "--json"], password);
        let texts = shown["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["text"].as_str().unwrap_or("").to_owned())
            .collect();
        out.push((
            id,
            c["title"].as_str().unwrap().to_owned(),
            c["pinned"].as_bool().unwrap(),
            texts,
        ));
    }
    out.sort();
    out
}

fn chat(data: &Path, prompt: &str, password: &str) -> String {
    let out = run(
        data,
        &[
            "chat",
            "--profile",
            "scripted",
            "--model",
            "fault-model",
            "--json",
            prompt,
        ],
        PASSPHRASE,
        password,
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "chat: {err}");
    let line: serde_json::Value = serde_json::from_str(err.lines().last().unwrap()).unwrap();
    line["conversation"].as_str().unwrap().to_owned()
}

fn files_under(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn two_devices_sync_through_a_real_webdav_server() {
    let Some(dav) = support::peers::webdav() else {
        return;
    };
    let server = FaultServer::start(vec![Fault::Stream {
        chunks: sse_chat_chunks(&["Noted, ", "with ", "pleasure."]),
        delay_ms: 0,
        then: StreamEnd::Finish,
    }])
    .await;
    let backend = server.base_url();
    tokio::task::spawn_blocking(move || scenario(&dav, &backend))
        .await
        .unwrap();
}

fn scenario(dav: &support::peers::WebDavPeer, backend: &str) {
    let (folder, folder_dir) = dav.new_folder("two-devices");
    let pw = dav.password.as_str();
    let laptop = tempfile::tempdir().unwrap();
    let phone = tempfile::tempdir().unwrap();
    let (a, b) = (laptop.path(), phone.path());
    for (d, name) in [(a, "laptop"), (b, "phone")] {
        add_openai_profile(d, "scripted", backend);
        let out = run(d, &setup_args(&folder, &dav.user, name), PASSPHRASE, pw);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stderr).contains(name));
    }

    // Chats on both sides meet.
    let ca = chat(a, "notes on the zanzibar expedition", pw);
    let cb = chat(b, "plans for the okapi survey", pw);
    let first = json(a, &["sync", "now", "--json"], pw);
    assert_eq!(first["conversations"], 1, "{first}");
    assert!(first["pushed"].as_u64().unwrap() > 0);
    let on_b = json(b, &["sync", "now", "--json"], pw);
    assert_eq!(
        (on_b["conversations"].as_i64(), on_b["messages"].as_i64()),
        (Some(2), Some(4)),
        "{on_b}"
    );
    let on_a = json(a, &["sync", "now", "--json"], pw);
    assert_eq!(
        (on_a["conversations"].as_i64(), on_a["messages"].as_i64()),
        (Some(2), Some(4)),
        "{on_a}"
    );
    assert_eq!(on_a["devices"], 2);
    assert_eq!(history(a, pw), history(b, pw));

    // A rename here and a pin there: both survive.
    ok(a, &["history", "rename", &ca, "Expedition", "notes"], pw);
    ok(b, &["history", "pin", &ca], pw);
    for d in [a, b, a] {
        ok(d, &["sync", "now"], pw);
    }
    for d in [a, b] {
        let shown = json(d, &["history", "show", &ca, "--json"], pw);
        assert_eq!(shown["conversation"]["title"], "Expedition notes");
        assert_eq!(shown["conversation"]["pinned"], true);
    }

    // A delete propagates.
    ok(b, &["history", "delete", &cb], pw);
    ok(b, &["sync", "now"], pw);
    ok(a, &["sync", "now"], pw);
    let ids: Vec<String> = history(a, pw).into_iter().map(|c| c.0).collect();
    assert_eq!(ids, vec![ca.clone()]);

    // The server holds ciphertext only.
    let files = files_under(&folder_dir);
    assert!(files.len() >= 5, "{files:?}");
    for f in &files {
        let data = std::fs::read(f).unwrap();
        for word in ["zanzibar", "okapi", "Expedition", "laptop", ca.as_str()] {
            assert!(
                !data.windows(word.len()).any(|w| w == word.as_bytes()),
                "{} holds '{word}'",
                f.display()
            );
        }
    }

    // A wrong passphrase: a sentence, exit 1, nothing set up or merged.
    let third = tempfile::tempdir().unwrap();
    let c = third.path();
    let out = run(
        c,
        &setup_args(&folder, &dav.user, "tablet"),
        "not the passphrase",
        pw,
    );
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("passphrase"), "{err}");
    assert_eq!(json(c, &["sync", "status", "--json"], pw)["set_up"], false);
    assert!(history(c, pw).is_empty());
    // A wrong server password: a sentence naming it.
    let out = run(
        c,
        &setup_args(&folder, &dav.user, "tablet"),
        PASSPHRASE,
        "wrong-password",
    );
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("user name or password"), "{err}");

    // Syncs killed at random moments, on both sides, then rerun: consistent, nothing lost.
    for i in 0..4 {
        chat(a, &format!("laptop note {i}"), pw);
        chat(b, &format!("phone note {i}"), pw);
    }
    let mut seed = 0x2545_F491_4F6C_DD1Du64;
    for round in 0..8 {
        let d = if round % 2 == 0 { a } else { b };
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let after = Duration::from_millis(20 + seed % 400);
        let mut child = Command::new(BIN)
            .arg("--data-dir")
            .arg(d)
            .args(["sync", "now"])
            .env("NEXUS_SYNC_TEST_PASSPHRASE", PASSPHRASE)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(after);
        let _ = Command::new("kill")
            .args(["-9", &child.id().to_string()])
            .status();
        let _ = child.wait();
    }
    for d in [a, b, a, b] {
        ok(d, &["sync", "now"], pw);
    }
    let (ha, hb) = (history(a, pw), history(b, pw));
    assert_eq!(ha, hb);
    assert_eq!(ha.len(), 9, "{ha:#?}");
    let status = json(a, &["sync", "status", "--json"], pw);
    assert_eq!(status["pending"], 0, "{status}");
    assert_eq!(status["devices"].as_array().unwrap().len(), 2, "{status}");

    // A tablet joins, chats, syncs and is lost: the laptop removes it from the folder by name.
    // Its files leave the server, the list no longer has it, and what it wrote stays.
    add_openai_profile(c, "scripted", backend);
    ok(c, &setup_args(&folder, &dav.user, "tablet"), pw);
    chat(c, "tablet note on the okapi tracks", pw);
    ok(c, &["sync", "now"], pw);
    let tablet = json(c, &["sync", "status", "--json"], pw)["device"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(files_under(&folder_dir)
        .iter()
        .any(|f| f.to_string_lossy().contains(&tablet)));
    // Naming this device or one the folder does not have: exit 1, a sentence, no change.
    let before = files_under(&folder_dir).len();
    for (which, says) in [
        ("laptop", "That is this device"),
        ("fridge", "No device \"fridge\""),
    ] {
        let out = run(a, &["sync", "remove", which], PASSPHRASE, pw);
        assert_eq!(out.status.code(), Some(1));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(says), "{err}");
    }
    assert_eq!(files_under(&folder_dir).len(), before);
    let removal = json(a, &["sync", "remove", "tablet", "--json"], pw);
    assert_eq!(removal["device"], tablet.as_str(), "{removal}");
    assert!(removal["files_removed"].as_u64().unwrap() >= 2, "{removal}");
    let left: Vec<_> = files_under(&folder_dir)
        .into_iter()
        .filter(|f| f.to_string_lossy().contains(&tablet))
        .collect();
    assert!(left.is_empty(), "{left:?}");
    let status = json(a, &["sync", "status", "--json"], pw);
    let names = device_names(&status);
    assert_eq!(names.len(), 2, "{status}");
    assert!(!names.contains(&"tablet"), "{status}");
    // The phone had not merged the tablet's chat: it gets it from the folder all the same.
    ok(b, &["sync", "now"], pw);
    let (ha, hb) = (history(a, pw), history(b, pw));
    assert_eq!(ha, hb);
    assert_eq!(ha.len(), 10, "{ha:#?}");
    assert!(ha
        .iter()
        .any(|c| c.3.iter().any(|t| t.contains("tablet note"))));
}

/// Snapshots through the real WebDAV server: written, listed and merged change files removed
/// with the server's own PROPFIND, MOVE and DELETE, and a device joining starts from the
/// snapshot. Checked again on the server's disk.
#[tokio::test]
async fn snapshots_and_removed_files_through_a_real_webdav_server() {
    let Some(dav) = support::peers::webdav() else {
        return;
    };
    let (folder, folder_dir) = dav.new_folder("snapshots");
    let remote = opencode_nexus::engine::sync::remote::WebDav::new(
        reqwest::Client::new(),
        &folder,
        Some(dav.user.clone()),
        Some(dav.password.clone()),
    )
    .unwrap();
    let seen = support::snapshots::scenario(&remote, "snapshot passphrase").await;
    // Paths inside the folder: where the server keeps it may itself be under a `tmp` directory.
    let files: Vec<std::path::PathBuf> = files_under(&folder_dir)
        .into_iter()
        .map(|p| p.strip_prefix(&folder_dir).unwrap().to_path_buf())
        .collect();
    let named = |p: &std::path::PathBuf, s: &str| p.to_string_lossy().contains(s);
    let busy = format!("segments/{}/", seen.busy_device);
    let segments = files.iter().filter(|p| named(p, &busy)).count();
    assert!(
        segments < 6,
        "{segments} change files of the busy device on disk"
    );
    assert!(files
        .iter()
        .any(|p| named(p, "/snapshots/") && named(p, ".nxp")));
    // Every upload was moved into place: nothing is left half-written.
    assert!(!files.iter().any(|p| named(p, "/tmp/")), "{files:?}");
    assert!(seen.snapshots_written >= 1 && seen.files_removed >= 6);
}

/// A folder named in the setup that does not exist yet is created inside the one above it (as
/// people type a new folder's name into the form); one whose parent is missing too gets a
/// sentence that says so, exit 1, and nothing is created or set up.
#[test]
fn setup_creates_a_missing_sync_folder_in_an_existing_one() {
    let Some(dav) = support::peers::webdav() else {
        return;
    };
    let pw = dav.password.as_str();
    let name = format!("made-by-setup-{}", uuid::Uuid::now_v7().simple());
    let url = format!("{}{name}/", dav.url);
    let data = tempfile::tempdir().unwrap();
    ok(data.path(), &setup_args(&url, &dav.user, "laptop"), pw);
    assert!(dav.dir.join(&name).is_dir(), "the folder was created");
    ok(data.path(), &["sync", "now", "--json"], pw);
    let status = json(data.path(), &["sync", "status", "--json"], pw);
    assert_eq!(device_names(&status), ["laptop"], "{status}");

    let missing = format!("missing-parent-{}", uuid::Uuid::now_v7().simple());
    let url = format!("{}{missing}/nexus/", dav.url);
    let other = tempfile::tempdir().unwrap();
    let out = run(
        other.path(),
        &setup_args(&url, &dav.user, "laptop"),
        PASSPHRASE,
        pw,
    );
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!(
            "The folder that should hold the sync folder {url} does not exist on the server (HTTP 409"
        )),
        "{err}"
    );
    assert!(!dav.dir.join(&missing).exists());
    let status = run(other.path(), &["sync", "status", "--json"], PASSPHRASE, pw);
    let status: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(status["set_up"], false, "{status}");
}
