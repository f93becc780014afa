//! Settings → Data: export, import, backups (now, daily, restore) and "Delete all data".
//!
//! Long operations run on the store worker with a job the panel polls for a progress bar and
//! may cancel (the operation then rolls back and changes nothing). On the desktop, exports and
//! backups are files (in the downloads folder and the backups folder); in the browser an export
//! is handed over as a download and backups are not offered, the export being the copy to keep.
//! The operation's state is [`crate::state::data::DataJobs`].

use dioxus::prelude::*;

use crate::engine::error::Error;
use crate::engine::model::format_time;
use crate::engine::portability::{self as port, ExportFormat, ImportFormat};
use crate::platform::AppSettings;
use crate::state::data::{
    delete_all_data, export_to_user, reset_app_state, run, DataJobs, Outcome,
};
use crate::state::{use_app_state, use_services};

#[component]
pub fn DataSection() -> Element {
    let services = use_services();
    let state = use_app_state();
    let chat = crate::state::chat::use_chat();
    let jobs = use_context::<DataJobs>();
    let DataJobs {
        running,
        progress,
        mut outcome,
        mut backups,
    } = jobs;
    let mut confirm_restore = use_signal(|| None::<std::path::PathBuf>);
    let mut confirm_delete = use_signal(|| false);
    let mut delete_backups_too = use_signal(|| false);

    let backups_dir = services.shell.backups_dir();
    let export_dir = services.shell.export_dir();
    let busy = running.read().is_some();

    // The backup list is read by the store worker (it touches the filesystem).
    let services_list = services.clone();
    let dir_list = backups_dir.clone();
    let reload_backups = move || {
        let (services, dir) = (services_list.clone(), dir_list.clone());
        spawn(async move {
            if let Some(dir) = dir {
                if let Ok(list) = services.store.list_backups(dir).await {
                    backups.set(list);
                }
            }
        });
    };
    let first_load = reload_backups.clone();
    use_hook(first_load);

    let export = {
        let services = services.clone();
        move |format: ExportFormat| {
            let services = services.clone();
            run(jobs, "Exporting", true, move |job| async move {
                export_to_user(&services, format, None, Some(job)).await
            });
        }
    };
    let (export_json, export_md) = (export.clone(), export);

    let services_import = services.clone();
    let import = move |e: FormEvent| {
        let Some(file) = e.files().into_iter().next() else {
            return;
        };
        let services = services_import.clone();
        run(jobs, "Importing", true, move |job| async move {
            let path = file.path();
            let report = if !path.as_os_str().is_empty() && path.is_absolute() {
                // Desktop: the worker reads the file itself (no copy through the UI thread).
                services
                    .store
                    .import_file(path, ImportFormat::Auto, Some(job))
                    .await?
            } else {
                if file.size() > port::MAX_IMPORT_BYTES {
                    return Err(Error::BadImport {
                        format: "auto".into(),
                        detail: format!(
                            "{} is {}, more than the {} an import may be",
                            file.name(),
                            port::human_bytes(file.size()),
                            port::human_bytes(port::MAX_IMPORT_BYTES)
                        ),
                    });
                }
                let bytes = file.read_bytes().await.map_err(|e| Error::BadImport {
                    format: "auto".into(),
                    detail: format!("{} could not be read ({e})", file.name()),
                })?;
                let text = String::from_utf8_lossy(&bytes).into_owned();
                services
                    .store
                    .import_text(text, ImportFormat::Auto, Some(job))
                    .await?
            };
            state.reload_profiles(&services).await;
            state.touch_history();
            Ok(report.summary())
        });
    };

    let services_backup = services.clone();
    let dir_backup = backups_dir.clone();
    let reload_after_backup = reload_backups.clone();
    let backup_now = move |_| {
        let (services, Some(dir)) = (services_backup.clone(), dir_backup.clone()) else {
            return;
        };
        let keep = state.settings.peek().backup_keep.max(1);
        let reload = reload_after_backup.clone();
        run(jobs, "Backing up", true, move |job| async move {
            let path = services
                .store
                .backup_now(dir, Some(keep), Some(job))
                .await?;
            reload();
            Ok(format!("Backed up to {}.", path.display()))
        });
    };

    let services_restore = services.clone();
    let reload_after_restore = reload_backups.clone();
    let restore = move |path: std::path::PathBuf| {
        let services = services_restore.clone();
        confirm_restore.set(None);
        chat.stop();
        let reload = reload_after_restore.clone();
        run(jobs, "Restoring", false, move |_job| async move {
            let report = services.store.restore_backup(path).await?;
            reset_app_state(state, &services).await;
            reload();
            Ok(match report.pre_restore {
                Some(pre) => format!(
                    "Restored the history from {}. The history as it was is kept in {}.",
                    report.restored_from.display(),
                    pre.display()
                ),
                None => format!(
                    "Restored the history from {}.",
                    report.restored_from.display()
                ),
            })
        });
    };
    let restore_confirmed = restore;

    let services_delete = services.clone();
    let dir_delete = backups_dir.clone();
    let reload_after_delete = reload_backups.clone();
    let delete_all = move |_| {
        let services = services_delete.clone();
        let dir = dir_delete.clone().filter(|_| delete_backups_too());
        confirm_delete.set(false);
        chat.stop();
        let reload = reload_after_delete.clone();
        run(jobs, "Deleting", false, move |_job| async move {
            let sentence = delete_all_data(&services, dir).await?;
            reset_app_state(state, &services).await;
            reload();
            Ok(sentence)
        });
    };

    let s = state.settings.read().clone();
    let services_settings = services.clone();
    let save = move |f: Box<dyn FnOnce(&mut AppSettings)>| {
        let mut next = state.settings.peek().clone();
        f(&mut next);
        state.save_settings(&services_settings, next);
    };
    let (save_auto, save_keep) = (save.clone(), save);
    let (done, total) = progress();

    rsx! {
        section { class: "card", "aria-labelledby": "data-h",
            h3 { id: "data-h", "Data" }
            p { class: "hint",
                if let Some(dir) = &export_dir { "Exports are saved in {dir.display()}. " }
                "JSON keeps every branch, id and timestamp and can be imported again; Markdown is for reading. Keys are never exported."
            }
            div { class: "form-actions",
                button { class: "btn-small", r#type: "button", disabled: busy, onclick: move |_| export_json(ExportFormat::Json), "Export all (JSON)" }
                button { class: "btn-small", r#type: "button", disabled: busy, onclick: move |_| export_md(ExportFormat::Markdown), "Export all (Markdown)" }
                input { id: "import-file", class: "sr-only", r#type: "file", accept: ".json,application/json",
                    disabled: busy, onchange: import }
                label { class: "btn-small file-button", r#for: "import-file", "Import…" }
            }
            p { class: "hint", "Import reads an OpenCode Nexus JSON export or ChatGPT's conversations.json. Conversations already here are skipped; a damaged file changes nothing." }

            if let Some(r) = running() {
                div { class: "job", role: "status", "aria-live": "polite",
                    span { "{r.label}…" }
                    if total > 0 {
                        progress { max: "{total}", value: "{done}", "aria-label": "{r.label}" }
                        span { class: "mono", "{done} / {total}" }
                    } else {
                        progress { "aria-label": "{r.label}" }
                    }
                    if r.cancellable {
                        button { class: "btn-small", r#type: "button", onclick: move |_| r.job.cancel(), "Cancel" }
                    }
                }
            }
            match outcome() {
                Some(Outcome::Done(s)) => rsx! { p { class: "test-ok data-outcome", role: "status", "{s}" } },
                Some(Outcome::Failed(s)) => rsx! { div { class: "banner banner-error data-outcome", role: "alert", "{s}" } },
                None => rsx! {},
            }

            if let Some(dir) = &backups_dir {
                h4 { "Backups" }
                p { class: "hint", "A backup is a complete copy of the history database, taken while the app runs, kept in {dir.display()}." }
                label { class: "check",
                    input { r#type: "checkbox", checked: s.auto_backup,
                        onchange: move |e| { let v = e.checked(); save_auto(Box::new(move |s| s.auto_backup = v)) } }
                    " Back up automatically once a day"
                }
                div { class: "field",
                    label { r#for: "backup-keep", "Backups to keep" }
                    input { id: "backup-keep", r#type: "number", min: "1", max: "365", value: "{s.backup_keep}",
                        onchange: move |e| {
                            if let Some(v) = e.value().trim().parse::<u32>().ok().filter(|v| (1..=365).contains(v)) {
                                save_keep(Box::new(move |s| s.backup_keep = v));
                            }
                        } }
                }
                div { class: "form-actions",
                    button { class: "btn-small", r#type: "button", disabled: busy, onclick: backup_now, "Back up now" }
                    input { id: "restore-file", class: "sr-only", r#type: "file", accept: ".db,.sqlite,.sqlite3",
                        disabled: busy,
                        onchange: move |e: FormEvent| {
                            if let Some(f) = e.files().into_iter().next() {
                                let p = f.path();
                                if p.is_absolute() { confirm_restore.set(Some(p)); }
                            }
                        } }
                    label { class: "btn-small file-button", r#for: "restore-file", "Restore from a file…" }
                }
                if let Some(path) = confirm_restore() {
                    div { class: "confirm", role: "alertdialog", "aria-labelledby": "restore-q",
                        p { id: "restore-q", "Replace the whole history with the backup {path.display()}? The history as it is now is kept as a copy in the backups folder." }
                        div { class: "form-actions",
                            button { class: "btn-small danger", r#type: "button", onclick: { let p = path.clone(); let mut r = restore_confirmed.clone(); move |_| r(p.clone()) }, "Restore" }
                            button { class: "btn-small", r#type: "button", onclick: move |_| confirm_restore.set(None), "Keep the current history" }
                        }
                    }
                }
                if backups.read().is_empty() {
                    p { class: "hint", "No backups yet." }
                } else {
                    ul { class: "backup-list",
                        for b in backups.read().iter().take(10).cloned() {
                            li { key: "{b.path.display()}",
                                span { "{format_time(b.taken_at)}" }
                                span { class: "mono", "{port::human_bytes(b.bytes)}" }
                                button { class: "btn-small", r#type: "button", disabled: busy,
                                    onclick: { let p = b.path.clone(); move |_| confirm_restore.set(Some(p.clone())) },
                                    "Restore…" }
                            }
                        }
                    }
                }
            }

            h4 { "Delete all data" }
            if confirm_delete() {
                div { class: "confirm", role: "alertdialog", "aria-labelledby": "delete-q",
                    p { id: "delete-q", "Delete every conversation, backend profile, stored key, setting and log on this device? This cannot be undone." }
                    if backups_dir.is_some() {
                        label { class: "check",
                            input { r#type: "checkbox", checked: delete_backups_too(), onchange: move |e| delete_backups_too.set(e.checked()) }
                            " Delete the backups too"
                        }
                    }
                    div { class: "form-actions",
                        button { class: "btn-small danger", r#type: "button", onclick: delete_all, "Delete everything" }
                        button { class: "btn-small", r#type: "button", onclick: move |_| confirm_delete.set(false), "Cancel" }
                    }
                }
            } else {
                button { class: "btn-small danger", r#type: "button", disabled: busy, onclick: move |_| { outcome.set(None); confirm_delete.set(true) }, "Delete all data…" }
            }
        }
    }
}
