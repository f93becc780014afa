//! The signed update check against a local HTTP server: a newer release signed with the test's
//! key is offered and its artifact downloads and verifies; a manifest changed after signing, one
//! signed with another key, an older release, malformed JSON, an artifact whose bytes do not
//! match, and an unreachable server each end in a clear sentence and nothing saved.
//!
//! Each test makes its own key pair and passes the public half in, the way the app passes its
//! compiled-in `UPDATE_PUBLIC_KEY`.

mod support;

use ed25519_dalek::SigningKey;
use opencode_nexus::engine::update::{self, Manifest, UpdateError, UpdateStatus};
use support::static_server::StaticServer;

fn keypair(seed: u8) -> (SigningKey, [u8; 32]) {
    // Distinct fixed seeds: the tests need two different keys, not secret ones.
    let key = SigningKey::from_bytes(&[seed; 32]);
    let public = key.verifying_key().to_bytes();
    (key, public)
}

const ARTIFACT: &[u8] = b"\x7fELF pretend this is opencode-nexus_9.0.0_amd64.deb";

/// A release manifest for `version` whose one artifact targets this platform, served with
/// `manifest_edit` applied to the signed bytes (to tamper with them) and with
/// `artifact_bytes_served` at the artifact's address.
async fn publish(
    key: &SigningKey,
    version: &str,
    artifact_bytes_served: &[u8],
    manifest_edit: impl FnOnce(Vec<u8>) -> Vec<u8>,
) -> (StaticServer, String) {
    let server = StaticServer::start().await;
    let artifact_path = format!("/dl/opencode-nexus_{version}_amd64.deb");
    let artifact = update::artifact_entry(
        key,
        &format!("{}-deb", update::platform_prefix()),
        &server.url(&artifact_path),
        ARTIFACT,
    );
    let manifest = Manifest {
        version: version.into(),
        channel: "stable".into(),
        notes: "- fix: streaming survives a dropped proxy".into(),
        published_at: "2026-11-22T00:00:00Z".into(),
        artifacts: vec![artifact],
    };
    let signed = serde_json::to_vec_pretty(&manifest).unwrap();
    let sig = update::sign(key, &signed);
    server.put("/stable.json", manifest_edit(signed));
    server.put("/stable.json.sig", sig);
    server.put(&artifact_path, artifact_bytes_served);
    let url = server.url("/stable.json");
    (server, url)
}

fn client() -> reqwest::Client {
    reqwest::Client::new()
}

#[tokio::test]
async fn newer_signed_release_is_offered_and_its_artifact_verifies_and_saves() {
    let (key, public) = keypair(11);
    let (_server, url) = publish(&key, "9.0.0", ARTIFACT, |b| b).await;
    let status = update::check(&client(), &url, "0.1.0", &public)
        .await
        .unwrap();
    let UpdateStatus::Available(offer) = &status else {
        panic!("expected an offer, got {status:?}")
    };
    assert_eq!(offer.manifest.version, "9.0.0");
    assert!(offer.manifest.notes.contains("dropped proxy"));
    assert_eq!(offer.artifacts.len(), 1, "the artifact for this platform");
    assert!(status.summary().contains("9.0.0"));

    let dir = tempfile::tempdir().unwrap();
    let saved = update::download(&client(), &offer.artifacts[0], &public, dir.path())
        .await
        .unwrap();
    assert_eq!(std::fs::read(&saved).unwrap(), ARTIFACT);
    assert_eq!(
        saved.file_name().unwrap().to_str().unwrap(),
        "opencode-nexus_9.0.0_amd64.deb"
    );
}

#[tokio::test]
async fn manifest_changed_after_signing_is_rejected() {
    let (key, public) = keypair(12);
    // One byte of the notes changes after the signature was made.
    let (_server, url) = publish(&key, "9.0.0", ARTIFACT, |mut b| {
        let at = b.iter().position(|c| *c == b'p').unwrap();
        b[at] = b'P';
        b
    })
    .await;
    let err = update::check(&client(), &url, "0.1.0", &public)
        .await
        .unwrap_err();
    assert_eq!(err, UpdateError::BadSignature);
    assert!(err.to_string().contains("changed after it was signed"));
}

#[tokio::test]
async fn manifest_signed_with_another_key_is_rejected() {
    let (attacker, _) = keypair(13);
    let (_, public) = keypair(14);
    let (_server, url) = publish(&attacker, "9.0.0", ARTIFACT, |b| b).await;
    let err = update::check(&client(), &url, "0.1.0", &public)
        .await
        .unwrap_err();
    assert_eq!(err, UpdateError::BadSignature);
    assert!(err.to_string().contains("signed with another key"));
}

#[tokio::test]
async fn older_or_same_release_says_up_to_date() {
    let (key, public) = keypair(15);
    for (published, running) in [("0.0.9", "0.1.0"), ("0.1.0", "0.1.0")] {
        let (_server, url) = publish(&key, published, ARTIFACT, |b| b).await;
        let status = update::check(&client(), &url, running, &public)
            .await
            .unwrap();
        assert_eq!(
            status,
            UpdateStatus::UpToDate {
                current: running.into(),
                latest: published.into()
            }
        );
        assert!(status.summary().starts_with("You are up to date"));
    }
}

#[tokio::test]
async fn malformed_manifest_is_a_clear_error_even_when_signed() {
    let (key, public) = keypair(16);
    for body in [
        b"{\"version\": \"9.0.0\", \"artifacts\": [".to_vec(),
        br#"{"version":"nine","channel":"stable","artifacts":[]}"#.to_vec(),
    ] {
        let server = StaticServer::start().await;
        server.put("/m.json.sig", update::sign(&key, &body));
        server.put("/m.json", body);
        let err = update::check(&client(), &server.url("/m.json"), "0.1.0", &public)
            .await
            .unwrap_err();
        assert!(matches!(err, UpdateError::Malformed { .. }), "{err:?}");
        assert!(err.to_string().contains("Nothing was downloaded"), "{err}");
    }
}

#[tokio::test]
async fn artifact_with_other_bytes_is_rejected_and_not_saved() {
    let (key, public) = keypair(17);
    let mut evil = ARTIFACT.to_vec();
    evil[5] ^= 0x20;
    let (_server, url) = publish(&key, "9.0.0", &evil, |b| b).await;
    let UpdateStatus::Available(offer) = update::check(&client(), &url, "0.1.0", &public)
        .await
        .unwrap()
    else {
        panic!("the manifest itself is valid")
    };
    let dir = tempfile::tempdir().unwrap();
    let err = update::download(&client(), &offer.artifacts[0], &public, dir.path())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, UpdateError::ArtifactRejected { detail, .. } if detail.contains("SHA-256")),
        "{err:?}"
    );
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[tokio::test]
async fn missing_signature_and_unreachable_server_are_sentences() {
    let server = StaticServer::start().await;
    server.put("/m.json", "{}");
    let (_, public) = keypair(18);
    let err = update::check(&client(), &server.url("/m.json"), "0.1.0", &public)
        .await
        .unwrap_err();
    assert!(
        matches!(err, UpdateError::Http { status: 404, .. }),
        "{err:?}"
    );

    let addr = server.addr;
    drop(server);
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let err = update::check(
        &client(),
        &format!("http://{addr}/m.json"),
        "0.1.0",
        &public,
    )
    .await
    .unwrap_err();
    assert!(matches!(err, UpdateError::Unreachable { .. }), "{err:?}");
    assert!(err
        .to_string()
        .starts_with("Could not reach the update server"));

    let err = update::check(&client(), "ftp://example.org/m.json", "0.1.0", &public)
        .await
        .unwrap_err();
    assert!(matches!(err, UpdateError::BadUrl { .. }));
}
