//! `nexus-release`, the release-side signer, through its binary: keygen writes a 0600 secret and
//! refuses to overwrite it; sign/verify round-trip and catch a changed file; `manifest` writes a
//! manifest and signature that the app's own verification accepts with the generated key.

use std::path::Path;
use std::process::{Command, Output};

use opencode_nexus::engine::update;

const BIN: &str = env!("CARGO_BIN_EXE_nexus-release");

fn tool(args: &[&str], cwd: &Path) -> Output {
    Command::new(BIN)
        .args(args)
        .current_dir(cwd)
        .env_remove("NEXUS_SIGNING_KEY")
        .env_remove("NEXUS_SIGNING_KEY_FILE")
        .output()
        .expect("nexus-release runs")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The public key from keygen's output line `public key (base64): …`.
fn public_key(out: &str) -> String {
    out.lines()
        .find_map(|l| l.strip_prefix("public key (base64): "))
        .expect("keygen prints the public key")
        .trim()
        .to_owned()
}

#[test]
fn keygen_sign_verify_and_manifest_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let out = tool(&["keygen", "--out", "release.key"], d);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let public = public_key(&stdout);
    assert!(stdout.contains("pub const UPDATE_PUBLIC_KEY: [u8; 32] = ["));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(d.join("release.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(
            mode & 0o777,
            0o600,
            "the secret key is private to its owner"
        );
    }
    // Never overwrites a key.
    let again = tool(&["keygen", "--out", "release.key"], d);
    assert!(!again.status.success());
    assert!(text(&again.stderr).contains("must not exist yet"));

    std::fs::write(d.join("app.deb"), b"package bytes").unwrap();
    let out = tool(&["sign", "--key", "release.key", "app.deb"], d);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = tool(&["verify", "--public-key", &public, "app.deb"], d);
    assert!(out.status.success(), "{}", text(&out.stderr));
    // The compiled-in key is not this test's key: verification without --public-key fails.
    let out = tool(&["verify", "app.deb"], d);
    assert!(!out.status.success());
    std::fs::write(d.join("app.deb"), b"package bytes, changed").unwrap();
    let out = tool(&["verify", "--public-key", &public, "app.deb"], d);
    assert!(!out.status.success(), "a changed file fails verification");
    std::fs::write(d.join("app.deb"), b"package bytes").unwrap();

    std::fs::write(d.join("notes.md"), "- feat: faster search\n").unwrap();
    let out = tool(
        &[
            "manifest",
            "--key",
            "release.key",
            "--version",
            "0.9.0",
            "--channel",
            "beta",
            "--notes-file",
            "notes.md",
            "--base-url",
            "https://releases.example.org/v0.9.0/",
            "--published-at",
            "2026-11-22T00:00:00Z",
            "--out",
            "stable.json",
            "linux-x86_64-deb=app.deb",
        ],
        d,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let body = std::fs::read(d.join("stable.json")).unwrap();
    let sig = std::fs::read(d.join("stable.json.sig")).unwrap();
    let key: [u8; 32] = {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD
            .decode(&public)
            .unwrap()
            .try_into()
            .unwrap()
    };
    let manifest = update::verify_manifest(&body, &sig, &key).expect("the app accepts it");
    assert_eq!(manifest.version, "0.9.0");
    assert_eq!(manifest.channel, "beta");
    assert_eq!(manifest.notes, "- feat: faster search\n");
    let a = &manifest.artifacts[0];
    assert_eq!(a.url, "https://releases.example.org/v0.9.0/app.deb");
    update::verify_artifact(a, b"package bytes", &key).expect("the artifact entry verifies");
}

#[test]
fn signing_without_a_key_says_where_to_put_one() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("f"), b"x").unwrap();
    let out = tool(&["sign", "f"], dir.path());
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("pass --key FILE or set NEXUS_SIGNING_KEY"),
        "{}",
        text(&out.stderr)
    );
}
