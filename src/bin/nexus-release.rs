//! `nexus-release`: the release side of the signed update check (see `engine::update`).
//!
//! - `keygen --out FILE` makes a new Ed25519 key pair: the secret seed goes to FILE (mode 0600,
//!   never overwritten), the public key is printed as the `UPDATE_PUBLIC_KEY` constant to paste
//!   into `src/engine/update.rs`.
//! - `sign FILE...` writes `FILE.sig` (base64 Ed25519 signature of the file's bytes).
//! - `verify [--public-key B64] FILE...` checks `FILE.sig` (default key: the app's own).
//! - `manifest ...` writes the update manifest for a set of artifacts, and its `.sig`.
//!
//! The secret key is read from `--key FILE` or, in CI, from `NEXUS_SIGNING_KEY` (the same
//! base64 seed, from a repository secret), so it never has to touch the disk there.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use base64::Engine as _;
use clap::{Parser, Subcommand};
use ed25519_dalek::{SigningKey, VerifyingKey};
use opencode_nexus::engine::update::{self, Artifact, Manifest};

#[derive(Parser)]
#[command(
    name = "nexus-release",
    about = "Release signing for OpenCode Nexus updates"
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Make a new signing key pair; the secret goes to FILE (0600), the public key is printed.
    Keygen {
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Print the public key of a secret key.
    PublicKey {
        #[arg(long, value_name = "FILE", env = "NEXUS_SIGNING_KEY_FILE")]
        key: Option<PathBuf>,
    },
    /// Write FILE.sig for each FILE.
    Sign {
        #[arg(long, value_name = "FILE", env = "NEXUS_SIGNING_KEY_FILE")]
        key: Option<PathBuf>,
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Check FILE.sig for each FILE against a public key (default: the one compiled into the
    /// app, so CI proves its secret matches what installed apps will accept).
    Verify {
        #[arg(long, value_name = "BASE64")]
        public_key: Option<String>,
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Write an update manifest (and its .sig) describing the given artifacts.
    Manifest {
        #[arg(long, value_name = "FILE", env = "NEXUS_SIGNING_KEY_FILE")]
        key: Option<PathBuf>,
        /// Release version (semver), e.g. 0.2.0.
        #[arg(long, value_name = "VERSION")]
        version: String,
        #[arg(long, default_value = "stable")]
        channel: String,
        /// File holding the release notes.
        #[arg(long, value_name = "FILE")]
        notes_file: Option<PathBuf>,
        /// Where the artifacts will be downloadable; each URL is BASE_URL/<file name>.
        #[arg(long, value_name = "URL")]
        base_url: String,
        /// RFC 3339 publication time (default: now).
        #[arg(long)]
        published_at: Option<String>,
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// Artifacts as TARGET=PATH, e.g. linux-x86_64-deb=dist/opencode-nexus_0.2.0_amd64.deb.
        #[arg(required = true, value_name = "TARGET=PATH")]
        artifacts: Vec<String>,
    },
}

fn main() -> ExitCode {
    match run(Cli::parse().command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run(cmd: Cmd) -> Result<(), String> {
    match cmd {
        Cmd::Keygen { out } => keygen(&out),
        Cmd::PublicKey { key } => {
            let key = load_key(key.as_deref())?;
            print_public(&key.verifying_key());
            Ok(())
        }
        Cmd::Sign { key, files } => {
            let key = load_key(key.as_deref())?;
            for file in files {
                let bytes = read(&file)?;
                let sig_path = sig_path(&file);
                std::fs::write(&sig_path, update::sign(&key, &bytes) + "\n")
                    .map_err(|e| format!("Could not write {}: {e}.", sig_path.display()))?;
                println!("{}", sig_path.display());
            }
            Ok(())
        }
        Cmd::Verify { public_key, files } => {
            let public = match public_key {
                Some(k) => decode_public(&k)?,
                None => update::UPDATE_PUBLIC_KEY,
            };
            for file in files {
                let bytes = read(&file)?;
                let sig = read(&sig_path(&file))?;
                // The manifest path is the one the app takes; reuse it for any file.
                let probe = Artifact {
                    target: file.display().to_string(),
                    url: String::new(),
                    sha256: update::sha256_hex(&bytes),
                    size: bytes.len() as u64,
                    signature: String::from_utf8_lossy(&sig).trim().to_owned(),
                };
                update::verify_artifact(&probe, &bytes, &public).map_err(|e| e.to_string())?;
                println!("{}: signature OK", file.display());
            }
            Ok(())
        }
        Cmd::Manifest {
            key,
            version,
            channel,
            notes_file,
            base_url,
            published_at,
            out,
            artifacts,
        } => {
            let key = load_key(key.as_deref())?;
            semver::Version::parse(&version)
                .map_err(|e| format!("The version '{version}' is not semver ({e}).",))?;
            let notes = match notes_file {
                Some(p) => String::from_utf8(read(&p)?)
                    .map_err(|_| format!("{} is not UTF-8 text.", p.display()))?,
                None => String::new(),
            };
            let published_at = match published_at {
                Some(t) => t,
                None => time::OffsetDateTime::now_utc()
                    .format(&time::format_description::well_known::Rfc3339)
                    .map_err(|e| format!("Could not format the current time: {e}."))?,
            };
            let base = base_url.trim_end_matches('/');
            let mut entries = Vec::new();
            for spec in artifacts {
                let (target, path) = spec
                    .split_once('=')
                    .ok_or_else(|| format!("'{spec}' is not TARGET=PATH."))?;
                let path = Path::new(path);
                let name = path
                    .file_name()
                    .and_then(|n| n.to_str())
                    .ok_or_else(|| format!("{} has no file name.", path.display()))?;
                let bytes = read(path)?;
                entries.push(update::artifact_entry(
                    &key,
                    target,
                    &format!("{base}/{name}"),
                    &bytes,
                ));
            }
            let manifest = Manifest {
                version,
                channel,
                notes,
                published_at,
                artifacts: entries,
            };
            let body = serde_json::to_vec_pretty(&manifest)
                .map_err(|e| format!("Could not encode the manifest: {e}."))?;
            std::fs::write(&out, &body)
                .map_err(|e| format!("Could not write {}: {e}.", out.display()))?;
            let sig_path = sig_path(&out);
            std::fs::write(&sig_path, update::sign(&key, &body) + "\n")
                .map_err(|e| format!("Could not write {}: {e}.", sig_path.display()))?;
            println!("{}\n{}", out.display(), sig_path.display());
            Ok(())
        }
    }
}

fn keygen(out: &Path) -> Result<(), String> {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed)
        .map_err(|e| format!("The system random source failed ({e}); no key was made."))?;
    let key = SigningKey::from_bytes(&seed);
    let mut options = std::fs::OpenOptions::new();
    // Never overwrite: replacing a release key by accident would orphan every installed app.
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(out).map_err(|e| {
        format!(
            "Could not create {} ({e}). It must not exist yet; choose another path.",
            out.display()
        )
    })?;
    file.write_all((base64::engine::general_purpose::STANDARD.encode(seed) + "\n").as_bytes())
        .map_err(|e| format!("Could not write {}: {e}.", out.display()))?;
    eprintln!(
        "Secret key written to {} (keep it out of the repository; in CI, store its contents in the NEXUS_SIGNING_KEY secret).",
        out.display()
    );
    print_public(&key.verifying_key());
    Ok(())
}

fn print_public(key: &VerifyingKey) {
    let bytes = key.to_bytes();
    println!(
        "public key (base64): {}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    );
    println!("pub const UPDATE_PUBLIC_KEY: [u8; 32] = [");
    for row in bytes.chunks(16) {
        let cells: Vec<String> = row.iter().map(|b| format!("0x{b:02x}")).collect();
        println!("    {},", cells.join(", "));
    }
    println!("];");
}

/// The secret key from `--key FILE`, else from the `NEXUS_SIGNING_KEY` environment variable.
fn load_key(path: Option<&Path>) -> Result<SigningKey, String> {
    let (text, from) = match path {
        Some(p) => (
            String::from_utf8(read(p)?).map_err(|_| format!("{} is not text.", p.display()))?,
            p.display().to_string(),
        ),
        None => match std::env::var("NEXUS_SIGNING_KEY") {
            Ok(v) if !v.trim().is_empty() => (v, "$NEXUS_SIGNING_KEY".to_owned()),
            _ => return Err(
                "No signing key: pass --key FILE or set NEXUS_SIGNING_KEY to the key's contents."
                    .into(),
            ),
        },
    };
    update::signing_key_from_base64(&text).map_err(|e| {
        format!(
            "The signing key in {from} is not valid ({e}); it should be the file `keygen` wrote."
        )
    })
}

fn decode_public(text: &str) -> Result<[u8; 32], String> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .map_err(|e| format!("The public key is not base64 ({e})."))?;
    bytes
        .try_into()
        .map_err(|b: Vec<u8>| format!("The public key has {} bytes instead of 32.", b.len()))
}

fn read(path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("Could not read {}: {e}.", path.display()))
}

fn sig_path(file: &Path) -> PathBuf {
    let mut name = file.as_os_str().to_owned();
    name.push(".sig");
    PathBuf::from(name)
}
