//! Local crash reports. A panic hook writes `<data dir>/crash-reports/crash-<time>.txt` with the
//! version line, OS and architecture, the panicking thread, the panic location, a backtrace and
//! the name of the last user action ("send", "open-settings"...). Nothing is uploaded; the next
//! start offers to view or delete the report (a banner in the app, `doctor` on the command line).
//!
//! A report must never carry what the user wrote or a key, yet panics can quote data: Rust's own
//! string-slicing panics print the string. So the last action is a `&'static str` (a name from
//! the code, never text from the user), the panic message is cut at its first quoted part, and
//! every line goes through the redactor, which knows every key the process has used.

use std::sync::Mutex;

static LAST_ACTION: Mutex<&'static str> = Mutex::new("start");

/// Record what the user just did, by name. Only `'static` names are accepted so that no
/// message text or key can end up in a crash report through this.
pub fn set_last_action(name: &'static str) {
    if let Ok(mut last) = LAST_ACTION.lock() {
        *last = name;
    }
}

pub fn last_action() -> &'static str {
    // try_lock: the panic hook must not wait on a lock the panicking thread may hold.
    LAST_ACTION.try_lock().map(|l| *l).unwrap_or("unknown")
}

/// The panic message without anything it quotes, at most 200 characters, redacted.
pub fn sanitize_panic_message(message: &str) -> String {
    let line = message.lines().next().unwrap_or("");
    let (kept, cut) = match line.find(['`', '"', '\'']) {
        Some(at) => (&line[..at], true),
        None => (line, false),
    };
    let mut kept: String = kept.chars().take(200).collect();
    if cut || kept.len() < line.len() {
        kept.push_str("[…quoted data removed]");
    }
    crate::engine::redact::redact(kept.trim_end())
}

#[cfg(feature = "native")]
pub use native::*;

#[cfg(feature = "native")]
mod native {
    use std::io::Write;
    use std::path::{Path, PathBuf};
    use std::sync::atomic::{AtomicBool, Ordering};

    use serde::Serialize;

    use super::{last_action, sanitize_panic_message};
    use crate::engine::redact::redact;
    use crate::engine::version;

    /// A crash report on disk.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize)]
    pub struct CrashReport {
        pub name: String,
        pub path: String,
        pub bytes: u64,
    }

    /// The reports already shown at start-up and kept by the user.
    const SEEN_FILE: &str = ".seen";

    /// Install the panic hook; reports go to `dir`. The previous hook (the default message on
    /// stderr) still runs afterwards.
    pub fn install(dir: PathBuf) {
        static IN_HOOK: AtomicBool = AtomicBool::new(false);
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            // A panic while writing the report must not recurse into another report.
            if !IN_HOOK.swap(true, Ordering::SeqCst) {
                let message = info
                    .payload()
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
                    .or_else(|| info.payload().downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "(no message)".into());
                let location = info
                    .location()
                    .map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column()))
                    .unwrap_or_else(|| "unknown".into());
                let text = render(&message, &location);
                match write_report(&dir, &text) {
                    Ok(path) => eprintln!(
                        "OpenCode Nexus crashed. A report was saved on this device (nothing was sent): {}",
                        path.display()
                    ),
                    Err(e) => eprintln!("OpenCode Nexus crashed, and the crash report could not be saved: {e}"),
                }
                IN_HOOK.store(false, Ordering::SeqCst);
            }
            previous(info);
        }));
    }

    /// The report's text for a panic.
    pub fn render(message: &str, location: &str) -> String {
        let thread = std::thread::current();
        let thread = thread.name().unwrap_or("unnamed").to_owned();
        let backtrace = std::backtrace::Backtrace::force_capture();
        let now = time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        let body = format!(
            "OpenCode Nexus crash report\n\
             Nothing in this file was sent anywhere. It holds no message text and no keys.\n\n\
             version: {}\n\
             os: {} {}\n\
             time: {now}\n\
             thread: {thread}\n\
             last action: {}\n\
             panic: {}\n\
             location: {location}\n\n\
             backtrace:\n{backtrace}\n",
            version::VERSION_LINE,
            std::env::consts::OS,
            std::env::consts::ARCH,
            last_action(),
            sanitize_panic_message(message),
        );
        redact(&body)
    }

    fn write_report(dir: &Path, text: &str) -> std::io::Result<PathBuf> {
        std::fs::create_dir_all(dir)?;
        let stamp = time::OffsetDateTime::now_utc()
            .format(time::macros::format_description!(
                "[year][month][day]-[hour][minute][second]-[subsecond digits:3]"
            ))
            .unwrap_or_else(|_| "unknown".into());
        let path = dir.join(format!("crash-{stamp}.txt"));
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)?;
        file.write_all(text.as_bytes())?;
        file.sync_all()?;
        Ok(path)
    }

    /// Reports in `dir`, newest first.
    pub fn list(dir: &Path) -> Vec<CrashReport> {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return Vec::new();
        };
        let mut out: Vec<CrashReport> = entries
            .flatten()
            .filter_map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                if !(name.starts_with("crash-") && name.ends_with(".txt")) {
                    return None;
                }
                Some(CrashReport {
                    bytes: e.metadata().map(|m| m.len()).unwrap_or(0),
                    path: e.path().display().to_string(),
                    name,
                })
            })
            .collect();
        // The timestamp in the name sorts chronologically.
        out.sort_by(|a, b| a.name.cmp(&b.name));
        out.reverse();
        out
    }

    /// Reports not yet shown and kept by the user.
    pub fn unseen(dir: &Path) -> Vec<CrashReport> {
        let seen = std::fs::read_to_string(dir.join(SEEN_FILE)).unwrap_or_default();
        list(dir)
            .into_iter()
            .filter(|r| !seen.lines().any(|l| l == r.name))
            .collect()
    }

    /// Keep the report but stop offering it at start-up.
    pub fn mark_seen(dir: &Path, name: &str) -> std::io::Result<()> {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join(SEEN_FILE))?;
        writeln!(f, "{name}")
    }

    /// Read a report by name (never a path from elsewhere).
    pub fn read(dir: &Path, name: &str) -> std::io::Result<String> {
        std::fs::read_to_string(dir.join(checked_name(name)?))
    }

    pub fn delete(dir: &Path, name: &str) -> std::io::Result<()> {
        std::fs::remove_file(dir.join(checked_name(name)?))
    }

    fn checked_name(name: &str) -> std::io::Result<&str> {
        if name.starts_with("crash-")
            && name.ends_with(".txt")
            && !name.contains(['/', '\\'])
            && !name.contains("..")
        {
            Ok(name)
        } else {
            Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "not a crash report name",
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_data_in_a_panic_message_is_dropped() {
        // The std message for slicing a string inside a character quotes the string.
        let text = String::from("private words é here");
        let at = text.find('é').unwrap() + 1;
        let message = std::panic::catch_unwind(|| text[..at].len())
            .err()
            .and_then(|p| p.downcast_ref::<String>().cloned())
            .unwrap();
        assert!(message.contains("private words"), "{message}");
        let clean = sanitize_panic_message(&message);
        assert!(!clean.contains("private"), "{clean}");
        assert!(clean.contains("is not a char boundary"), "{clean}");
    }

    #[test]
    fn registered_keys_are_redacted_from_unquoted_messages() {
        crate::engine::redact::register_secret("crash-unit-key-0123456789");
        let clean = sanitize_panic_message("upstream rejected crash-unit-key-0123456789 twice");
        assert!(!clean.contains("0123456789"), "{clean}");
    }
}
