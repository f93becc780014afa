//! Operating the installed app, through the real binary: crash reports written by a forced
//! panic hold the version and a backtrace but not the planted key or message text; `doctor
//! --json` carries start-up time, memory, latencies, log location and crash reports with the
//! right types; the diagnostics bundle has the logs with keys removed; `reset --keep-backup`
//! backs up and then clears; `check-update` refuses a manifest not signed by the release key.

mod support;

use std::path::Path;
use std::process::{Command, Output, Stdio};

use support::static_server::StaticServer;

const BIN: &str = env!("CARGO_BIN_EXE_opencode-nexus");
const PLANTED_KEY: &str = "planted-Key-7f3a9c1e5b2d4068";
const PLANTED_TEXT: &str = "meet me at the old mill at nine, née Zoë";

fn nexus(data: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.arg("--data-dir")
        .arg(data)
        .args(args)
        .stdin(Stdio::null())
        .env_remove("RUST_LOG");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("the binary runs")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn crash_reports(data: &Path) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(data.join("crash-reports"))
        .map(|d| {
            d.flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "txt"))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn forced_panic_writes_a_report_without_the_key_or_message_text() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let env = [
        ("NEXUS_CRASH_TEST_KEY", PLANTED_KEY),
        ("NEXUS_CRASH_TEST_MESSAGE", PLANTED_TEXT),
    ];
    for kind in ["slice", "key"] {
        let out = nexus(data, &["__crash-test", kind], &env);
        assert_eq!(out.status.code(), Some(101), "{kind} panics");
        assert!(
            text(&out.stderr).contains("A report was saved on this device"),
            "{}",
            text(&out.stderr)
        );
    }
    let reports = crash_reports(data);
    assert_eq!(reports.len(), 2, "{reports:?}");
    for path in reports {
        let report = std::fs::read_to_string(&path).unwrap();
        assert!(report.contains(&format!(
            "version: {}",
            opencode_nexus::engine::version::VERSION_LINE
        )));
        assert!(report.contains(&format!("os: {}", std::env::consts::OS)));
        assert!(report.contains("last action: send"), "{report}");
        assert!(report.contains("thread: main"), "{report}");
        assert!(report.contains("location: src/cli/system.rs:"), "{report}");
        // A backtrace with frames from this crate (debug build: symbols are present).
        assert!(report.contains("backtrace:\n"), "{report}");
        assert!(report.contains("opencode_nexus::cli::"), "{report}");
        assert!(!report.contains(PLANTED_KEY), "key leaked: {report}");
        assert!(
            !report.contains("old mill"),
            "message text leaked: {report}"
        );
    }

    // `doctor` lists them.
    let out = nexus(data, &["doctor"], &[]);
    assert!(
        text(&out.stdout).matches("crash report     ").count() == 2,
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn doctor_json_reports_startup_memory_latency_logs_and_crashes_with_types() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    // A backend nobody listens on: its test fails fast and still yields a latency sample.
    let out = nexus(
        data,
        &[
            "profiles",
            "add",
            "nowhere",
            "--kind",
            "openai-compatible",
            "--url",
            "http://127.0.0.1:9/v1",
        ],
        &[],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    for _ in 0..2 {
        let out = nexus(data, &["doctor", "--json"], &[]);
        assert!(out.status.success(), "{}", text(&out.stderr));
    }
    let out = nexus(data, &["doctor", "--json"], &[]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("doctor --json is JSON");
    assert!(v["startup_ms"].is_u64(), "{v}");
    assert!(v["startup_ms"].as_u64().unwrap() < 60_000);
    if cfg!(target_os = "linux") {
        assert!(v["rss_bytes"].as_u64().unwrap() > 1_000_000, "{v}");
    } else {
        assert!(v["rss_bytes"].is_null() || v["rss_bytes"].is_u64());
    }
    assert!(v["log_dir"]
        .as_str()
        .unwrap()
        .ends_with(&format!("{}logs", std::path::MAIN_SEPARATOR)));
    assert!(v["crash_reports"].as_array().unwrap().is_empty());
    assert!(v["database_bytes"].is_i64());
    assert_eq!(v["integrity"], "ok");
    let lat = v["backend_latency"].as_array().unwrap();
    assert_eq!(lat.len(), 1, "{v}");
    assert_eq!(lat[0]["profile"], "nowhere");
    assert_eq!(lat[0]["samples"], 3, "three doctor runs, three samples");
    assert!(lat[0]["last_ms"].is_u64() && lat[0]["avg_ms"].is_u64());
    assert!(v["profiles"][0]["latency_ms"].is_u64());
    assert_eq!(v["healthy"], true);
}

#[test]
fn diagnostics_bundle_redacts_keys_from_logs() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let env = [("NEXUS_TEST_PLANTED", PLANTED_KEY)];
    let out = nexus(
        data,
        &[
            "profiles",
            "add",
            "env-keyed",
            "--kind",
            "openai-compatible",
            "--url",
            "http://127.0.0.1:9/v1",
            "--key-env",
            "NEXUS_TEST_PLANTED",
        ],
        &env,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    // A line that reached a log file unredacted (an older version, a library writing on its
    // own): the bundle must still not carry the key.
    let logs = data.join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    std::fs::write(
        logs.join("opencode-nexus.2020-01-01.log"),
        format!("2020-01-01T00:00:00Z WARN request failed for key {PLANTED_KEY}\n"),
    )
    .unwrap();

    let bundle = data.join("out/diag.tar");
    let out = nexus(
        data,
        &["doctor", "--json", "--bundle", bundle.to_str().unwrap()],
        &env,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(!text(&out.stdout).contains(PLANTED_KEY));

    let mut archive = tar::Archive::new(std::fs::File::open(&bundle).unwrap());
    let mut names = Vec::new();
    let mut saw_redacted_log = false;
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let name = entry.path().unwrap().display().to_string();
        let mut body = String::new();
        std::io::Read::read_to_string(&mut entry, &mut body).unwrap();
        assert!(!body.contains(PLANTED_KEY), "{name} carries the key");
        if name.ends_with("opencode-nexus.2020-01-01.log") {
            saw_redacted_log = body.contains("request failed for key [redacted]");
        }
        if name.ends_with("diagnostics.json") {
            let v: serde_json::Value = serde_json::from_str(&body).unwrap();
            assert!(v["startup_ms"].is_u64());
        }
        names.push(name);
    }
    assert!(saw_redacted_log, "{names:?}");
    assert!(names.contains(&"opencode-nexus-diagnostics/diagnostics.json".to_owned()));
}

#[test]
fn reset_keeps_a_backup_then_clears_the_data() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let out = nexus(
        data,
        &[
            "profiles",
            "add",
            "keepme",
            "--kind",
            "openai-compatible",
            "--url",
            "http://127.0.0.1:9/v1",
        ],
        &[],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(data.join("history.db").exists());
    std::fs::create_dir_all(data.join("crash-reports")).unwrap();
    std::fs::write(
        data.join("crash-reports/crash-20260101-000000-000.txt"),
        "x",
    )
    .unwrap();

    // No terminal and no --yes: refused, nothing touched.
    let out = nexus(data, &["reset", "--keep-backup"], &[]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("--yes"));
    assert!(data.join("history.db").exists());

    // While another process has the database open (the app, here this test), nothing happens.
    {
        let _open = opencode_nexus::engine::store::Store::open(&data.join("history.db")).unwrap();
        let out = nexus(data, &["reset", "--keep-backup", "--yes"], &[]);
        assert_eq!(out.status.code(), Some(1));
        assert!(
            text(&out.stderr).contains("is using")
                && text(&out.stderr).contains("nothing was changed"),
            "{}",
            text(&out.stderr)
        );
        assert!(data.join("history.db").exists());
        assert!(!data.join("backups").exists());
    }

    let out = nexus(data, &["reset", "--keep-backup", "--yes"], &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(!data.join("history.db").exists());
    assert!(!data.join("crash-reports").exists());
    let backups: Vec<_> = std::fs::read_dir(data.join("backups"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    assert_eq!(backups.len(), 1, "{backups:?}");
    let name = backups[0].file_name().unwrap().to_str().unwrap().to_owned();
    assert!(
        name.starts_with("history-") && name.ends_with(".db"),
        "{name}"
    );
    // The backup is a complete database with the profile in it.
    let conn = rusqlite::Connection::open(&backups[0]).unwrap();
    let profile: String = conn
        .query_row("SELECT name FROM profiles", [], |r| r.get(0))
        .unwrap();
    assert_eq!(profile, "keepme");

    // The app starts fresh afterwards.
    let out = nexus(data, &["profiles", "list", "--json"], &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).trim(), "[]");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_update_refuses_a_manifest_not_signed_by_the_release_key() {
    use ed25519_dalek::SigningKey;
    use opencode_nexus::engine::update;

    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_owned();

    // No URL configured: a sentence, not a network request.
    let d = data.clone();
    let out = tokio::task::spawn_blocking(move || nexus(&d, &["--check-update"], &[]))
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("No update URL is set"),
        "{}",
        text(&out.stderr)
    );

    // Signed, but not with the key compiled into the app.
    let key = SigningKey::from_bytes(&[42; 32]);
    let server = StaticServer::start().await;
    let body = serde_json::to_vec(&update::Manifest {
        version: "99.0.0".into(),
        channel: "stable".into(),
        notes: String::new(),
        published_at: String::new(),
        artifacts: vec![],
    })
    .unwrap();
    server.put("/stable.json.sig", update::sign(&key, &body));
    server.put("/stable.json", body);
    let url = server.url("/stable.json");
    let d = data.clone();
    let out = tokio::task::spawn_blocking(move || {
        nexus(&d, &["check-update", "--url", &url, "--json"], &[])
    })
    .await
    .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("signature does not match the OpenCode Nexus release key"),
        "{}",
        text(&out.stderr)
    );
    assert!(out.stdout.is_empty(), "nothing offered");
}
