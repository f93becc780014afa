//! Sync through an S3-compatible bucket (moto's server, started by scripts/test.sh), with the
//! command line: two data directories meet through `s3://bucket/folder`, the bucket holds
//! ciphertext only, and a second sync sends nothing new.

mod support;

use std::path::Path;
use std::process::Output;

use support::cli::{nexus_env, run_ok_env};

/// The secrets `sync setup` reads by name.
const ENV: &[(&str, &str)] = &[
    ("NEXUS_S3_TEST_PASSPHRASE", "a bucket of words"),
    ("NEXUS_S3_TEST_ACCESS", "AKIANEXUSTEST"),
    ("NEXUS_S3_TEST_SECRET", "nexus-test-secret"),
];

fn run(data: &Path, args: &[&str]) -> Output {
    nexus_env(data, args, ENV)
}

fn refs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

fn ok(data: &Path, args: &[&str]) -> String {
    run_ok_env(data, args, ENV)
}

#[tokio::test(flavor = "multi_thread")]
async fn two_devices_sync_through_an_s3_bucket() {
    let Some(endpoint) = support::peers::s3_endpoint() else {
        return;
    };
    let bucket = support::peers::new_bucket(&endpoint).await;
    let client = reqwest::Client::new();
    let url = format!("s3://{bucket}/team/notes");

    let fixture = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/chatgpt/conversations.json"
    );
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let setup = |name: &str| -> Vec<String> {
        [
            "sync",
            "setup",
            "--url",
            &url,
            "--endpoint",
            &endpoint,
            "--region",
            "eu-west-1",
            "--access-key-env",
            "NEXUS_S3_TEST_ACCESS",
            "--secret-key-env",
            "NEXUS_S3_TEST_SECRET",
            "--passphrase-env",
            "NEXUS_S3_TEST_PASSPHRASE",
            "--name",
            name,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    };
    let (pa, pb) = (a.path().to_path_buf(), b.path().to_path_buf());
    let (setup_a, setup_b) = (setup("laptop"), setup("phone"));
    let listing = tokio::task::spawn_blocking(move || {
        // Without the keys: a usage error, nothing set up.
        let out = run(
            &pa,
            &[
                "sync",
                "setup",
                "--url",
                "s3://x/y",
                "--passphrase-env",
                "NEXUS_S3_TEST_PASSPHRASE",
            ],
        );
        assert_eq!(out.status.code(), Some(2));
        ok(&pa, &["import", fixture]);
        ok(&pa, &refs(&setup_a));
        ok(&pb, &refs(&setup_b));
        let first: serde_json::Value =
            serde_json::from_str(&ok(&pa, &["sync", "now", "--json"])).unwrap();
        assert!(first["pushed"].as_u64().unwrap() > 0, "{first}");
        let got: serde_json::Value =
            serde_json::from_str(&ok(&pb, &["sync", "now", "--json"])).unwrap();
        assert_eq!(
            (got["conversations"].as_i64(), got["messages"].as_i64()),
            (Some(3), Some(15)),
            "{got}"
        );
        let again: serde_json::Value =
            serde_json::from_str(&ok(&pa, &["sync", "now", "--json"])).unwrap();
        assert_eq!(
            (again["pushed"].as_u64(), again["pulled"].as_u64()),
            (Some(0), Some(0)),
            "{again}"
        );
        assert_eq!(again["devices"], 2);
        let shown_a = ok(&pa, &["history", "list", "--json"]);
        let shown_b = ok(&pb, &["history", "list", "--json"]);
        let titles = |s: &str| -> Vec<String> {
            let v: serde_json::Value = serde_json::from_str(s).unwrap();
            let mut t: Vec<String> = v
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["title"].as_str().unwrap().to_owned())
                .collect();
            t.sort();
            t
        };
        assert_eq!(titles(&shown_a), titles(&shown_b));
    })
    .await;
    listing.unwrap();

    // Every object in the bucket is under the folder and holds no plaintext.
    let body = support::peers::bucket_listing(&endpoint, &bucket).await;
    let keys: Vec<&str> = body
        .split("<Key>")
        .skip(1)
        .filter_map(|k| k.split("</Key>").next())
        .collect();
    assert!(keys.len() >= 5, "{body}");
    for key in keys {
        assert!(key.starts_with("team/notes/opencode-nexus/"), "{key}");
        let data = client
            .get(format!("{endpoint}/{bucket}/{key}"))
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        for word in ["Rust lifetimes", "sin(x)", "laptop"] {
            assert!(
                !data.windows(word.len()).any(|w| w == word.as_bytes()),
                "{key} holds '{word}'"
            );
        }
    }
}

/// Snapshots through the S3 bucket: written, listed and merged change files removed with
/// ListObjectsV2 and DeleteObject, and a device joining starts from the snapshot. Checked
/// again in the bucket's own listing.
#[tokio::test]
async fn snapshots_and_removed_files_through_an_s3_bucket() {
    use opencode_nexus::engine::sync::s3::{S3Location, S3};
    let Some(endpoint) = support::peers::s3_endpoint() else {
        return;
    };
    let bucket = support::peers::new_bucket(&endpoint).await;
    let at = S3Location::parse(&format!("s3://{bucket}/snap"), &endpoint, "eu-west-1").unwrap();
    let remote = S3::new(
        reqwest::Client::new(),
        at,
        "AKIANEXUSTEST".into(),
        "nexus-test-secret".into(),
    );
    let seen = support::snapshots::scenario(&remote, "snapshot passphrase").await;
    let listing = support::peers::bucket_listing(&endpoint, &bucket).await;
    let busy = format!("snap/opencode-nexus/segments/{}/", seen.busy_device);
    let segments = listing.matches(&busy).count();
    assert!(
        segments < 6,
        "{segments} change files of the busy device: {listing}"
    );
    assert!(
        listing.contains("snap/opencode-nexus/snapshots/"),
        "{listing}"
    );
    assert!(seen.snapshots_written >= 1 && seen.files_removed >= 6);
}
