//! `check-update`, `reset`, and the crash test used by the crash-report tests.

use super::*;

impl Command {
    /// The name recorded as the last user action for crash reports (never an argument).
    pub(super) fn action_name(&self) -> &'static str {
        match self {
            Command::Profiles(_) => "cli-profiles",
            Command::Chat(_) => "cli-chat",
            Command::History(_) => "cli-history",
            Command::Sync(_) => "cli-sync",
            Command::Permissions(_) => "cli-permissions",
            Command::Questions(_) => "cli-questions",
            Command::Doctor { .. } => "cli-doctor",
            Command::CheckUpdate { .. } => "cli-check-update",
            Command::Reset { .. } => "cli-reset",
            Command::CrashTest { .. } => "cli-crash-test",
            #[allow(unreachable_patterns)]
            _ => "cli",
        }
    }
}

pub(super) async fn check_update_cmd(
    services: &Services,
    dirs: &DataDirs,
    url: Option<String>,
    json: bool,
    download: Option<PathBuf>,
) -> CliResult {
    use crate::engine::update::{self, UpdateStatus};

    let url = crate::maintenance::update_url(services, url).await?;
    let client = services.http.client();
    let status = update::check(
        &client,
        &url,
        crate::engine::version::VERSION,
        &update::UPDATE_PUBLIC_KEY,
    )
    .await
    .map_err(Error::from)?;
    let mut saved = None;
    if let (Some(dir), UpdateStatus::Available(offer)) = (&download, &status) {
        let artifact = update::preferred_artifact(&offer.artifacts).ok_or_else(|| {
            Error::from(update::UpdateError::NoArtifact {
                platform: update::platform_prefix(),
            })
        })?;
        let dir = if dir.as_os_str().is_empty() {
            crate::maintenance::download_dir(dirs)
        } else {
            dir.clone()
        };
        saved = Some(
            update::download(&client, artifact, &update::UPDATE_PUBLIC_KEY, &dir)
                .await
                .map_err(Error::from)?,
        );
    }
    if json {
        print_json(&crate::maintenance::status_json(&status, saved.as_deref()));
        return Ok(());
    }
    println!("{}", status.summary());
    if let UpdateStatus::Available(offer) = &status {
        if !offer.manifest.notes.trim().is_empty() {
            println!(
                "
{}
",
                offer.manifest.notes.trim()
            );
        }
        for a in &offer.artifacts {
            println!("{}	{}	{} bytes", a.target, a.url, a.size);
        }
        match &saved {
            Some(path) => println!(
                "Downloaded and verified (SHA-256 and signature): {}
Nothing was installed; open the file to install it.",
                path.display()
            ),
            None if offer.artifacts.is_empty() => println!(
                "There is no download for this system ({}).",
                update::platform_prefix()
            ),
            None => println!(
                "Run `opencode-nexus check-update --download` to download and verify it; nothing is installed automatically."
            ),
        }
    }
    Ok(())
}

pub(super) async fn reset_cmd(dirs: &DataDirs, keep_backup: bool, yes: bool) -> CliResult {
    if !yes {
        if !std::io::stdin().is_terminal() {
            return Err(Failure {
                code: 2,
                message: "reset deletes the history, logs and stored keys of this data directory; pass --yes to confirm when not at a terminal.".into(),
            });
        }
        eprint!(
            "This deletes the history database, logs, crash reports and stored keys under {}{}.
Close OpenCode Nexus first. Continue? [y/N] ",
            dirs.root.display(),
            if keep_backup {
                " (after backing the database up into backups/)"
            } else {
                ", with no backup"
            }
        );
        let mut answer = String::new();
        let _ = std::io::stdin().read_line(&mut answer);
        if !matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes") {
            eprintln!("Nothing was changed.");
            return Err(Failure {
                code: 1,
                message: String::new(),
            });
        }
    }
    let report = crate::maintenance::reset(dirs, keep_backup).await?;
    if let Some(b) = &report.backup {
        eprintln!(
            "Backed up the history to {} (bring it back with `opencode-nexus restore --latest`).",
            b.display()
        );
    }
    eprintln!(
        "Removed {} stored key(s) and {} file(s) or folder(s); backups were kept.",
        report.keys_removed,
        report.removed.len()
    );
    for w in &report.warnings {
        eprintln!("warning: {w}");
    }
    Ok(())
}

/// The crash-report test's forced panic: it first does what the app does with a key and a
/// message (registers the key with the redactor, logs a line naming both), then panics the way
/// real bugs do. `slice` cuts the message inside a character (std quotes the string in the
/// panic message); `key` panics with the key in an unquoted message.
pub(super) fn crash_test(kind: &str) -> CliResult {
    let key = std::env::var("NEXUS_CRASH_TEST_KEY").unwrap_or_default();
    let text = std::env::var("NEXUS_CRASH_TEST_MESSAGE").unwrap_or_default();
    crate::engine::redact::register_secret(&key);
    crate::crash::set_last_action("send");
    tracing::warn!("about to send a message with key {key}");
    if kind == "slice" {
        let inside = text
            .char_indices()
            .find(|(_, c)| c.len_utf8() > 1)
            .map(|(i, _)| i + 1)
            .unwrap_or(text.len() + 1);
        let cut = &text[..inside];
        return Err(fail(cut.to_owned()));
    }
    panic!("the server rejected {key} for this request");
}
