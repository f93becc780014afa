//! The signed update check. A release publishes a JSON manifest (version, channel, notes, and
//! one entry per downloadable artifact) and, next to it, a detached Ed25519 signature of the
//! manifest's exact bytes at `<manifest url>.sig` (base64). The app trusts a manifest only when
//! that signature verifies (`verify_strict`) against the public key compiled into it
//! ([`UPDATE_PUBLIC_KEY`]); each artifact carries its own SHA-256 and Ed25519 signature, checked
//! again after download, before the file is offered to the user.
//!
//! The signature is checked before the manifest is parsed, so nothing an attacker wrote is
//! interpreted unless the release key signed it. The app never installs anything: the face
//! (Settings → Updates, `opencode-nexus check-update`) shows the notes and, when asked, saves the
//! verified artifact for the user to open.
//!
//! The key pair is made with `nexus-release keygen`; the secret half stays with whoever cuts
//! releases (a repository secret in CI), never in this repository.

use std::time::Duration;

use base64::Engine as _;
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The release key's public half (`nexus-release keygen`, base64
/// `Is+AwcgutK7Hvh9xVExWseiaabeDRendyXyZ8PgK52g=`). Manifests and artifacts signed with any other
/// key are refused.
pub const UPDATE_PUBLIC_KEY: [u8; 32] = [
    0x22, 0xcf, 0x80, 0xc1, 0xc8, 0x2e, 0xb4, 0xae, 0xc7, 0xbe, 0x1f, 0x71, 0x54, 0x4c, 0x56, 0xb1,
    0xe8, 0x9a, 0x69, 0xb7, 0x83, 0x45, 0xe9, 0xdd, 0xc9, 0x7c, 0x99, 0xf0, 0xf8, 0x0a, 0xe7, 0x68,
];

/// A manifest larger than this is not a manifest; refuse it before buffering more.
const MAX_MANIFEST_BYTES: usize = 1024 * 1024;
/// Artifacts are desktop bundles; anything beyond this is refused rather than filling the disk.
const MAX_ARTIFACT_BYTES: u64 = 1024 * 1024 * 1024;
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// What a release publishes at the update URL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// Semantic version of the release, e.g. `0.2.0` or `0.3.0-beta.1`.
    pub version: String,
    /// `stable`, `beta` or `dev`.
    pub channel: String,
    /// Release notes (plain text / markdown), shown before anything is downloaded.
    #[serde(default)]
    pub notes: String,
    /// RFC 3339 date-time of publication.
    #[serde(default)]
    pub published_at: String,
    pub artifacts: Vec<Artifact>,
}

/// One downloadable file of a release.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Artifact {
    /// `<os>-<arch>-<format>`, e.g. `linux-x86_64-deb`, `macos-aarch64-dmg`,
    /// `windows-x86_64-msi`; see [`platform_prefix`].
    pub target: String,
    pub url: String,
    /// Lowercase hex SHA-256 of the file.
    pub sha256: String,
    pub size: u64,
    /// Base64 Ed25519 signature of the file's bytes.
    pub signature: String,
}

/// Why an update check or download did not produce something to offer. Each renders as a
/// sentence for the Settings card and the CLI.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UpdateError {
    #[error("No update URL is set. Enter the address of a release manifest in Settings → Updates, or pass --url.")]
    NoUrl,
    #[error("The update address {url} is not a valid http(s) URL. Use a form like https://example.org/opencode-nexus/stable.json.")]
    BadUrl { url: String },
    #[error("Could not reach the update server at {url}: {detail}. Check the address and your connection, then try again.")]
    Unreachable { url: String, detail: String },
    #[error("The update server answered HTTP {status} for {url}. Check the update address; the release may not be published yet.")]
    Http { url: String, status: u16 },
    #[error("The update manifest's signature does not match the OpenCode Nexus release key: the manifest was changed after it was signed, or it was signed with another key. Nothing was downloaded; check the update address or report this to the maintainers.")]
    BadSignature,
    #[error("The update manifest's signature file is not a valid signature ({detail}). Nothing was downloaded; check the update address.")]
    MalformedSignature { detail: String },
    #[error("The update manifest is signed but not valid ({detail}). Nothing was downloaded; report this to the maintainers.")]
    Malformed { detail: String },
    #[error("The downloaded file for {target} does not match its signed description ({detail}). It was deleted and nothing was installed; try again later or report this to the maintainers.")]
    ArtifactRejected { target: String, detail: String },
    #[error("The release has no download for this system ({platform}). See the release notes for other ways to install it.")]
    NoArtifact { platform: String },
    #[error("Could not save the download to {path}: {detail}. Check that the folder exists and is writable.")]
    Save { path: String, detail: String },
    #[error("This copy of OpenCode Nexus is a web page: whoever hosts it installs new versions, and reloading the page picks them up. Signed releases are for the installed app.")]
    HostUpdated,
}

impl From<UpdateError> for crate::engine::error::Error {
    fn from(e: UpdateError) -> Self {
        crate::engine::error::Error::Invalid(crate::engine::redact::redact(&e.to_string()))
    }
}

/// The result of a check: either nothing newer, or a verified manifest to offer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UpdateStatus {
    UpToDate { current: String, latest: String },
    Available(Offer),
}

/// A newer release whose manifest verified. `artifacts` are those for this system.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offer {
    pub current: String,
    pub manifest: Manifest,
    pub artifacts: Vec<Artifact>,
}

impl UpdateStatus {
    /// One sentence for the Settings card and the CLI.
    pub fn summary(&self) -> String {
        match self {
            UpdateStatus::UpToDate { current, latest } => format!(
                "You are up to date: this is version {current}; the newest published release is {latest}."
            ),
            UpdateStatus::Available(offer) => format!(
                "Version {} ({}) is available; you have {}.",
                offer.manifest.version, offer.manifest.channel, offer.current
            ),
        }
    }
}

/// `<os>-<arch>` of the running build, the prefix of matching [`Artifact::target`]s.
pub fn platform_prefix() -> String {
    format!("{}-{}", std::env::consts::OS, std::env::consts::ARCH)
}

/// The signature file's address for a manifest address.
pub fn signature_url(manifest_url: &str) -> String {
    format!("{manifest_url}.sig")
}

/// Fetch the manifest and its signature from `url`, verify the signature against
/// `public_key`, then compare the release with `current_version`.
pub async fn check(
    client: &reqwest::Client,
    url: &str,
    current_version: &str,
    public_key: &[u8; 32],
) -> Result<UpdateStatus, UpdateError> {
    let url = validate_url(url)?;
    let body = fetch(client, url.as_str(), MAX_MANIFEST_BYTES as u64).await?;
    let sig = fetch(client, &signature_url(url.as_str()), 4096).await?;
    let manifest = verify_manifest(&body, &sig, public_key)?;
    evaluate(manifest, current_version, &platform_prefix())
}

/// Verify `signature_b64` over `manifest_bytes`, then parse and validate the manifest.
pub fn verify_manifest(
    manifest_bytes: &[u8],
    signature_b64: &[u8],
    public_key: &[u8; 32],
) -> Result<Manifest, UpdateError> {
    let key = VerifyingKey::from_bytes(public_key).map_err(|_| UpdateError::BadSignature)?;
    let signature = decode_signature(signature_b64)
        .map_err(|detail| UpdateError::MalformedSignature { detail })?;
    key.verify_strict(manifest_bytes, &signature)
        .map_err(|_| UpdateError::BadSignature)?;
    let manifest: Manifest =
        serde_json::from_slice(manifest_bytes).map_err(|e| UpdateError::Malformed {
            detail: format!("not the expected JSON: {e}"),
        })?;
    validate(&manifest)?;
    Ok(manifest)
}

/// Compare a verified manifest with the running version and pick this platform's artifacts.
pub fn evaluate(
    manifest: Manifest,
    current_version: &str,
    platform: &str,
) -> Result<UpdateStatus, UpdateError> {
    let latest = parse_version(&manifest.version)?;
    // The running version is ours, compiled in; a parse failure is a build problem, not the
    // server's, so treat it as 0.0.0 and let any release be offered.
    let current = semver::Version::parse(current_version).unwrap_or(semver::Version::new(0, 0, 0));
    if latest <= current {
        return Ok(UpdateStatus::UpToDate {
            current: current_version.to_owned(),
            latest: manifest.version,
        });
    }
    let artifacts = manifest
        .artifacts
        .iter()
        .filter(|a| {
            a.target == platform
                || a.target
                    .strip_prefix(platform)
                    .is_some_and(|rest| rest.starts_with('-'))
        })
        .cloned()
        .collect();
    Ok(UpdateStatus::Available(Offer {
        current: current_version.to_owned(),
        manifest,
        artifacts,
    }))
}

/// The artifact to offer on this system when a release has several (a `.deb` before an
/// AppImage on Linux: it integrates with the desktop and the package manager).
pub fn preferred_artifact(artifacts: &[Artifact]) -> Option<&Artifact> {
    const ORDER: [&str; 6] = ["-deb", "-appimage", "-dmg", "-msi", "-nsis", "-exe"];
    ORDER
        .iter()
        .find_map(|suffix| artifacts.iter().find(|a| a.target.ends_with(suffix)))
        .or_else(|| artifacts.first())
}

/// Download `artifact`, check its size, SHA-256 and signature, and only then write it into
/// `dest_dir` under the last segment of its URL. Returns the saved path.
pub async fn download(
    client: &reqwest::Client,
    artifact: &Artifact,
    public_key: &[u8; 32],
    dest_dir: &std::path::Path,
) -> Result<std::path::PathBuf, UpdateError> {
    let url = validate_url(&artifact.url)?;
    let limit = artifact.size.min(MAX_ARTIFACT_BYTES);
    let bytes = fetch(client, url.as_str(), limit).await?;
    verify_artifact(artifact, &bytes, public_key)?;
    let name = file_name(&url).ok_or_else(|| UpdateError::Malformed {
        detail: format!("the download address {} names no file", artifact.url),
    })?;
    let path = dest_dir.join(&name);
    let save_err = |e: std::io::Error| UpdateError::Save {
        path: path.display().to_string(),
        detail: e.to_string(),
    };
    std::fs::create_dir_all(dest_dir).map_err(save_err)?;
    // Written to a temporary name and renamed, so a half-written file never carries the real
    // name.
    let partial = dest_dir.join(format!(".{name}.part"));
    std::fs::write(&partial, &bytes).map_err(save_err)?;
    std::fs::rename(&partial, &path).map_err(|e| {
        let _ = std::fs::remove_file(&partial);
        save_err(e)
    })?;
    Ok(path)
}

/// Size, SHA-256 and Ed25519 signature of a downloaded artifact.
pub fn verify_artifact(
    artifact: &Artifact,
    bytes: &[u8],
    public_key: &[u8; 32],
) -> Result<(), UpdateError> {
    let reject = |detail: String| UpdateError::ArtifactRejected {
        target: artifact.target.clone(),
        detail,
    };
    if bytes.len() as u64 != artifact.size {
        return Err(reject(format!(
            "{} bytes instead of {}",
            bytes.len(),
            artifact.size
        )));
    }
    let digest = sha256_hex(bytes);
    if !digest.eq_ignore_ascii_case(&artifact.sha256) {
        return Err(reject("its SHA-256 checksum differs".into()));
    }
    let key = VerifyingKey::from_bytes(public_key)
        .map_err(|_| reject("the release key is not valid".into()))?;
    let signature = decode_signature(artifact.signature.as_bytes())
        .map_err(|d| reject(format!("its signature is unreadable: {d}")))?;
    key.verify_strict(bytes, &signature)
        .map_err(|_| reject("its signature does not match the release key".into()))
}

// ---- release side (nexus-release, tests) ------------------------------------------------------

/// Sign `bytes`, returning the base64 signature as stored in `.sig` files and manifests.
pub fn sign(key: &SigningKey, bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(key.sign(bytes).to_bytes())
}

/// The manifest entry for a file's bytes.
pub fn artifact_entry(key: &SigningKey, target: &str, url: &str, bytes: &[u8]) -> Artifact {
    Artifact {
        target: target.to_owned(),
        url: url.to_owned(),
        sha256: sha256_hex(bytes),
        size: bytes.len() as u64,
        signature: sign(key, bytes),
    }
}

/// A signing key from its file form: the 32-byte secret seed in base64.
pub fn signing_key_from_base64(text: &str) -> Result<SigningKey, String> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .map_err(|e| format!("not base64: {e}"))?;
    let seed: [u8; 32] = bytes
        .try_into()
        .map_err(|b: Vec<u8>| format!("{} bytes instead of 32", b.len()))?;
    Ok(SigningKey::from_bytes(&seed))
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

// ---- helpers ----------------------------------------------------------------------------------

fn decode_signature(text: &[u8]) -> Result<Signature, String> {
    let text = std::str::from_utf8(text).map_err(|_| "not text".to_owned())?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .map_err(|e| format!("not base64: {e}"))?;
    let bytes: [u8; 64] = bytes
        .try_into()
        .map_err(|b: Vec<u8>| format!("{} bytes instead of 64", b.len()))?;
    Ok(Signature::from_bytes(&bytes))
}

fn validate_url(url: &str) -> Result<url::Url, UpdateError> {
    let trimmed = url.trim();
    if trimmed.is_empty() {
        return Err(UpdateError::NoUrl);
    }
    crate::engine::idn::parse_http_url(trimmed).ok_or_else(|| UpdateError::BadUrl {
        url: trimmed.to_owned(),
    })
}

fn parse_version(v: &str) -> Result<semver::Version, UpdateError> {
    semver::Version::parse(v.trim()).map_err(|e| UpdateError::Malformed {
        detail: format!("the version '{v}' is not a semantic version ({e})"),
    })
}

fn validate(m: &Manifest) -> Result<(), UpdateError> {
    parse_version(&m.version)?;
    for a in &m.artifacts {
        let bad = |what: &str| UpdateError::Malformed {
            detail: format!("the artifact for '{}' has {what}", a.target),
        };
        if a.target.trim().is_empty() {
            return Err(bad("no target"));
        }
        if a.sha256.len() != 64 || !a.sha256.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(bad("a SHA-256 that is not 64 hex digits"));
        }
        if validate_url(&a.url).is_err() {
            return Err(bad("a download address that is not http(s)"));
        }
        if decode_signature(a.signature.as_bytes()).is_err() {
            return Err(bad("an unreadable signature"));
        }
    }
    Ok(())
}

fn file_name(url: &url::Url) -> Option<String> {
    let name = url.path_segments()?.next_back()?.to_owned();
    // Only a plain file name: never a path that could climb out of the downloads folder.
    let ok = !name.is_empty()
        && name != "."
        && name != ".."
        && !name.contains(['/', '\\'])
        && !name.starts_with('.');
    ok.then_some(name)
}

/// GET `url` and return its body, refusing more than `limit` bytes.
async fn fetch(client: &reqwest::Client, url: &str, limit: u64) -> Result<Vec<u8>, UpdateError> {
    use futures_util::StreamExt;

    let unreachable = |e: reqwest::Error| UpdateError::Unreachable {
        url: url.to_owned(),
        detail: crate::engine::redact::redact(&without_url(&e)),
    };
    let response = client
        .get(url)
        .timeout(REQUEST_TIMEOUT)
        .send()
        .await
        .map_err(unreachable)?;
    let status = response.status();
    if !status.is_success() {
        return Err(UpdateError::Http {
            url: url.to_owned(),
            status: status.as_u16(),
        });
    }
    let mut body = Vec::new();
    let mut stream = response.bytes_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(unreachable)?;
        if (body.len() + chunk.len()) as u64 > limit {
            return Err(UpdateError::Malformed {
                detail: format!("{url} is larger than the {limit} bytes expected"),
            });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// reqwest's message repeats the URL, which the sentence already names.
fn without_url(e: &reqwest::Error) -> String {
    let mut source: Option<&dyn std::error::Error> = std::error::Error::source(e);
    let mut deepest = None;
    while let Some(s) = source {
        deepest = Some(s.to_string());
        source = s.source();
    }
    deepest.unwrap_or_else(|| {
        if e.is_timeout() {
            "the request timed out".into()
        } else {
            "the connection failed".into()
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(seed: u8) -> SigningKey {
        SigningKey::from_bytes(&[seed; 32])
    }

    fn manifest_bytes(version: &str, artifacts: Vec<Artifact>) -> Vec<u8> {
        serde_json::to_vec(&Manifest {
            version: version.into(),
            channel: "stable".into(),
            notes: "Fixes.".into(),
            published_at: "2026-11-22T00:00:00Z".into(),
            artifacts,
        })
        .unwrap()
    }

    #[test]
    fn newer_signed_manifest_is_offered_with_this_platforms_artifacts() {
        let k = key(7);
        let deb = artifact_entry(&k, "linux-x86_64-deb", "https://x.test/a.deb", b"deb");
        let dmg = artifact_entry(&k, "macos-aarch64-dmg", "https://x.test/a.dmg", b"dmg");
        let body = manifest_bytes("1.2.0", vec![deb.clone(), dmg]);
        let sig = sign(&k, &body);
        let m = verify_manifest(&body, sig.as_bytes(), &k.verifying_key().to_bytes()).unwrap();
        match evaluate(m, "1.1.9", "linux-x86_64").unwrap() {
            UpdateStatus::Available(offer) => assert_eq!(offer.artifacts, vec![deb]),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn prerelease_orders_below_its_release() {
        let k = key(1);
        let body = manifest_bytes("1.0.0-beta.2", vec![]);
        let m = verify_manifest(
            &body,
            sign(&k, &body).as_bytes(),
            &k.verifying_key().to_bytes(),
        )
        .unwrap();
        assert!(matches!(
            evaluate(m, "1.0.0", "linux-x86_64").unwrap(),
            UpdateStatus::UpToDate { .. }
        ));
    }

    #[test]
    fn platform_prefix_does_not_match_a_longer_arch_name() {
        let k = key(2);
        let a = artifact_entry(&k, "linux-x86_64x-deb", "https://x.test/a.deb", b"a");
        let body = manifest_bytes("9.0.0", vec![a]);
        let m = verify_manifest(
            &body,
            sign(&k, &body).as_bytes(),
            &k.verifying_key().to_bytes(),
        )
        .unwrap();
        let UpdateStatus::Available(offer) = evaluate(m, "0.1.0", "linux-x86_64").unwrap() else {
            panic!("expected an offer")
        };
        assert!(offer.artifacts.is_empty());
    }

    #[test]
    fn download_names_cannot_leave_the_folder() {
        for (url, ok) in [
            ("https://x.test/r/app.deb", true),
            ("https://x.test/r/", false),
            ("https://x.test/r/..", false),
            ("https://x.test/r/.hidden", false),
            // Segments stay percent-encoded, so this is a literal (odd) name, not a path.
            ("https://x.test/r/%2e%2e%2fevil", true),
        ] {
            let u = url::Url::parse(url).unwrap();
            assert_eq!(file_name(&u).is_some(), ok, "{url}");
        }
    }

    fn artifact(target: &str) -> Artifact {
        Artifact {
            target: target.into(),
            url: format!("https://x.test/{target}"),
            sha256: "0".repeat(64),
            size: 1,
            signature: String::new(),
        }
    }

    #[test]
    fn deb_is_preferred_over_appimage() {
        let list = [
            artifact("linux-x86_64-appimage"),
            artifact("linux-x86_64-deb"),
        ];
        assert_eq!(
            preferred_artifact(&list).unwrap().target,
            "linux-x86_64-deb"
        );
        assert!(preferred_artifact(&[]).is_none());
    }

    #[test]
    fn compiled_in_key_is_a_valid_curve_point() {
        assert!(VerifyingKey::from_bytes(&UPDATE_PUBLIC_KEY).is_ok());
    }
}
