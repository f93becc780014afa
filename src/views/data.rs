//! Settings → Data: export, import, backups (now, daily, restore) and "Delete all data".
//!
//! Long operations run on the store worker with a job the panel polls for a progress bar and
//! may cancel (the operation then rolls back and changes nothing). On the desktop, exports and
//! backups are files (in the downloads folder and the backups folder); in the browser an export
//! is handed over as a download, and so is "Back up now" (the whole database, one file), which
//! restores from the file picker.
//! The operation's state is [`crate::state::data::DataJobs`].

use dioxus::prelude::*;

use crate::components::fields::WholeNumberField;
use crate::engine::model::format_time;
use crate::engine::portability::{self as port, ExportFormat};
use crate::platform::AppSettings;
use crate::state::data::{DataJobs, Outcome, Place};
use crate::state::{use_app_state, use_services};

#[component]
pub fn DataSection() -> Element {
    let services = use_services();
    let state = use_app_state();
    let chat = crate::state::chat::use_chat();
    let jobs = use_context::<DataJobs>();
    let DataJobs {
        running,
        mut outcome,
        backups,
        backups_bytes,
        ..
    } = jobs;
    let mut confirm_restore = use_signal(|| None::<std::path::PathBuf>);
    let mut confirm_upload = use_signal(|| None::<dioxus::html::FileData>);
    let mut confirm_delete = use_signal(|| false);
    let mut delete_backups_too = use_signal(|| false);

    // A web page keeps no backups folder: its module leaves the folder's controls out.
    let backups_dir = services
        .shell
        .backups_dir()
        .filter(|_| crate::platform::KEEPS_FILES);
    let export_dir = services.shell.export_dir();
    let busy = running.read().is_some();
    let place = jobs.place();
    {
        let services = services.clone();
        use_hook(move || jobs.reload_backups(&services));
    }

    let svc = services.clone();
    let export_json = move |_| jobs.export_all(&svc, ExportFormat::Json);
    let svc = services.clone();
    let export_md = move |_| jobs.export_all(&svc, ExportFormat::Markdown);
    let svc = services.clone();
    let import = move |e: FormEvent| {
        if let Some(file) = e.files().into_iter().next() {
            jobs.import(state, &svc, file);
        }
    };
    let svc = services.clone();
    let backup_now = move |_| jobs.backup_now(state, &svc);
    let svc = services.clone();
    let download_backup = move |_| jobs.download_backup(&svc);
    let svc = services.clone();
    let restore_upload = move |_| {
        if let Some(file) = confirm_upload.take() {
            jobs.restore_upload(state, chat, &svc, file);
        }
    };
    let svc = services.clone();
    let restore = move |path: std::path::PathBuf| {
        confirm_restore.set(None);
        jobs.restore(state, chat, &svc, path);
    };
    let svc = services.clone();
    let delete_all = move |_| {
        confirm_delete.set(false);
        jobs.delete_all(state, chat, &svc, delete_backups_too());
    };

    let s = state.settings.read().clone();
    let services_settings = services.clone();
    let save = move |f: Box<dyn Fn(&mut AppSettings)>| state.update_settings(&services_settings, f);
    let (save_auto, save_keep, save_max) = (save.clone(), save.clone(), save);
    let (svc_keep, svc_max) = (services.clone(), services.clone());
    let (keep, max_mb) = (s.backup_keep, s.backup_max_mb);

    rsx! {
        section { class: "card", "aria-labelledby": "data-h",
            h3 { id: "data-h", "Data" }
            p { class: "hint",
                if let Some(dir) = &export_dir { "Exports are saved in {dir.display()}. " }
                "JSON keeps every branch, id and timestamp and can be imported again; Markdown is for reading. Keys are never exported."
            }
            div { class: "form-actions",
                button { class: "btn-small", r#type: "button", disabled: busy, onclick: export_json, "Export all (JSON)" }
                button { class: "btn-small", r#type: "button", disabled: busy, onclick: export_md, "Export all (Markdown)" }
                input { id: "import-file", class: "sr-only", r#type: "file", accept: ".json,application/json",
                    disabled: busy, onchange: import }
                label { class: "btn-small file-button", r#for: "import-file", "Import…" }
            }
            p { class: "hint", "Import reads an OpenCode Nexus JSON export or ChatGPT's conversations.json. Conversations already here are skipped; a damaged file changes nothing." }

            if place == Place::Transfers {
                JobStatus {}
            }

            if let Some(dir) = &backups_dir {
                h4 { "Backups" }
                p { class: "hint", "Backups are kept in {dir.display()}. The daily backup stores only what changed since the one before (and is skipped when nothing did); “Back up now” writes a complete copy, one file you can keep anywhere. Any of them restores the whole history." }
                label { class: "check",
                    input { r#type: "checkbox", checked: s.auto_backup,
                        onchange: move |e| { let v = e.checked(); save_auto(Box::new(move |s| s.auto_backup = v)) } }
                    " Back up automatically once a day"
                }
                WholeNumberField {
                    id: "backup-keep",
                    label: "Backups to keep",
                    value: Some(s.backup_keep),
                    min: 1,
                    max: 365,
                    refusal: "Type how many backups to keep, from 1 to 365.",
                    on_value: move |v: Option<u32>| if let Some(v) = v {
                        save_keep(Box::new(move |s| s.backup_keep = v));
                        jobs.apply_limits(&svc_keep, v, max_mb);
                    },
                }
                WholeNumberField {
                    id: "backup-max",
                    label: "Most space for backups (MB, 0 for no limit)",
                    value: Some(s.backup_max_mb),
                    min: 0,
                    max: 1_000_000,
                    refusal: "Type a whole number of megabytes (0 for no limit).",
                    on_value: move |v: Option<u32>| if let Some(v) = v {
                        save_max(Box::new(move |s| s.backup_max_mb = v));
                        jobs.apply_limits(&svc_max, keep, v);
                    },
                    span { class: "hint backups-used", id: "backup-max-note", "Backups use {port::human_bytes(backups_bytes())} now; the oldest go first, the newest is always kept." }
                }
                div { class: "form-actions",
                    button { class: "btn-small", r#type: "button", disabled: busy, onclick: backup_now, "Back up now" }
                    input { id: "restore-file", class: "sr-only", r#type: "file", accept: ".db,.nbk,.sqlite,.sqlite3",
                        disabled: busy,
                        onchange: move |e: FormEvent| {
                            if let Some(f) = e.files().into_iter().next() {
                                let p = f.path();
                                if p.is_absolute() { confirm_restore.set(Some(p)); }
                            }
                        } }
                    label { class: "btn-small file-button", r#for: "restore-file", "Restore from a file…" }
                }
                if place == Place::Backups {
                    JobStatus {}
                }
                if let Some(path) = confirm_restore() {
                    ConfirmRestore {
                        question: format!("Replace the whole history with the backup {}? The history as it is now is kept as a copy in the backups folder.", path.display()),
                        on_restore: { let mut r = restore.clone(); move |_| r(path.clone()) },
                        on_keep: move |_| confirm_restore.set(None),
                    }
                }
                if backups.read().is_empty() {
                    p { class: "hint", "No backups yet." }
                } else {
                    ul { class: "backup-list",
                        for b in backups.read().iter().take(10).cloned() {
                            li { key: "{b.path.display()}",
                                span { "{format_time(b.taken_at)}" }
                                span { class: "mono",
                                    if b.incremental { "changes since the one before" } else { "complete copy, {port::human_bytes(b.bytes)}" }
                                }
                                button { class: "btn-small", r#type: "button", disabled: busy,
                                    onclick: { let p = b.path.clone(); move |_| confirm_restore.set(Some(p.clone())) },
                                    "Restore…" }
                            }
                        }
                    }
                }
            }

            if backups_dir.is_none() {
                h4 { "Backups" }
                p { class: "hint", "This browser keeps no backups folder: “Back up now” downloads the whole history as one database file, which restores here or in the desktop app. Before a restore, the history as it is is downloaded too." }
                div { class: "form-actions",
                    button { class: "btn-small", r#type: "button", disabled: busy, onclick: download_backup, "Back up now" }
                    input { id: "restore-upload", class: "sr-only", r#type: "file", accept: ".db,.sqlite,.sqlite3",
                        disabled: busy,
                        onchange: move |e: FormEvent| {
                            outcome.set(None);
                            confirm_upload.set(e.files().into_iter().next());
                        } }
                    label { class: "btn-small file-button", r#for: "restore-upload", "Restore from a file…" }
                }
                if place == Place::Backups {
                    JobStatus {}
                }
                if let Some(file) = confirm_upload() {
                    ConfirmRestore {
                        question: format!("Replace the whole history with the backup {}? The history as it is now is downloaded first.", file.name()),
                        on_restore: restore_upload,
                        on_keep: move |_| confirm_upload.set(None),
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
            if place == Place::Deletion {
                JobStatus {}
            }
        }
    }
}

/// The running operation's progress bar (with Cancel where it may be cancelled) and how the
/// last one ended, shown beside the buttons that started it.
#[component]
fn JobStatus() -> Element {
    let DataJobs {
        running,
        progress,
        outcome,
        ..
    } = use_context::<DataJobs>();
    let (done, total) = progress();
    rsx! {
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
    }
}

/// "Replace the whole history with this backup?", with Restore and Keep: the desktop's backups
/// folder and file picker, and the browser's uploaded file.
#[component]
fn ConfirmRestore(question: String, on_restore: EventHandler, on_keep: EventHandler) -> Element {
    rsx! {
        div { class: "confirm", role: "alertdialog", "aria-labelledby": "restore-q",
            p { id: "restore-q", "{question}" }
            div { class: "form-actions",
                button { class: "btn-small danger", r#type: "button", onclick: move |_| on_restore.call(()), "Restore" }
                button { class: "btn-small", r#type: "button", onclick: move |_| on_keep.call(()), "Keep the current history" }
            }
        }
    }
}
