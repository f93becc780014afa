//! Settings → Sync: set sync up with a WebDAV folder or an S3-compatible bucket (checked first
//! with "Test"), then see
//! where it stands (last sync, changes waiting, the devices), sync now, or forget this device.
//! The runs themselves are [`crate::state::sync::SyncController`]'s.

use dioxus::prelude::*;

use crate::state::sync::{ago, SetupForm, SyncController};
use crate::state::{use_app_state, use_services};

#[component]
pub fn SyncSection() -> Element {
    let sync = use_context::<SyncController>();
    let setup = sync.setup.read().clone();
    rsx! {
        section { class: "card", "aria-labelledby": "sync-h",
            h3 { id: "sync-h", "Sync" }
            p { class: "hint",
                "Your history on every device, through storage you own: a WebDAV folder (Nextcloud, ownCloud, a NAS) or an S3-compatible bucket (AWS, R2, B2, MinIO). "
                "Everything is encrypted here with your passphrase before it leaves this device; the server sees only ciphertext. "
                "Devices merge their changes: nothing is overwritten. Keys are never synced."
            }
            if let Some(setup) = setup {
                SyncStatus { url: setup.url.clone() }
            } else {
                SyncSetupForm {}
            }
        }
    }
}

#[component]
fn SyncSetupForm() -> Element {
    let services = use_services();
    let state = use_app_state();
    let sync = use_context::<SyncController>();
    let mut f = use_signal(SetupForm::default);
    let mut tested = use_signal(|| None::<Result<String, String>>);
    let mut testing = use_signal(|| false);
    use_effect(move || {
        let _ = f.read();
        tested.set(None);
    });
    let running = (sync.running)();
    let svc = services.clone();
    let test = move |_| {
        let services = svc.clone();
        let form = f.peek().clone();
        testing.set(true);
        spawn(async move {
            let r = SyncController::test(&services, &form).await;
            testing.set(false);
            tested.set(Some(r.map_err(|e| e.to_string())));
        });
    };
    let svc = services.clone();
    let save = move |e: FormEvent| {
        e.prevent_default();
        sync.set_up(state, &svc, f.peek().clone());
    };
    let s3 = f.read().is_s3();
    let failure = match (sync.outcome)() {
        Some(Err(e)) => Some(e),
        _ => None,
    };
    rsx! {
        form { class: "sync-setup", "aria-label": "Set up sync", onsubmit: save,
            div { class: "field",
                label { r#for: "sync-url", "Folder URL: WebDAV, or s3://bucket/folder for S3-compatible storage" }
                input { id: "sync-url", required: true, r#type: "url",
                    placeholder: "https://cloud.example.com/remote.php/dav/files/me/nexus/",
                    initial_value: "{f.read().url}", oninput: move |e| f.write().url = e.value() }
            }
            if s3 {
                div { class: "field",
                    label { r#for: "sync-endpoint", "Endpoint (AWS, R2, B2, MinIO…)" }
                    input { id: "sync-endpoint", required: true, r#type: "url",
                        placeholder: "https://s3.eu-central-1.amazonaws.com",
                        initial_value: "{f.read().endpoint}", oninput: move |e| f.write().endpoint = e.value() }
                }
                div { class: "field",
                    label { r#for: "sync-region", "Region" }
                    input { id: "sync-region", placeholder: "us-east-1",
                        initial_value: "{f.read().region}", oninput: move |e| f.write().region = e.value() }
                }
                div { class: "field",
                    label { r#for: "sync-access-key", "Access key ID" }
                    input { id: "sync-access-key", required: true, autocomplete: "off",
                        initial_value: "{f.read().access_key}", oninput: move |e| f.write().access_key = e.value() }
                }
                div { class: "field",
                    label { r#for: "sync-password", "Secret access key" }
                    input { id: "sync-password", r#type: "password", required: true, autocomplete: "off", initial_value: "{f.read().password}", oninput: move |e| f.write().password = e.value() }
                }
            } else {
                div { class: "field",
                    label { r#for: "sync-user", "User name" }
                    input { id: "sync-user", autocomplete: "username", initial_value: "{f.read().user}", oninput: move |e| f.write().user = e.value() }
                }
                div { class: "field",
                    label { r#for: "sync-password", "Password (an app password where the server offers them)" }
                    input { id: "sync-password", r#type: "password", autocomplete: "off", initial_value: "{f.read().password}", oninput: move |e| f.write().password = e.value() }
                }
            }
            div { class: "field",
                label { r#for: "sync-passphrase", "Encryption passphrase (the same on every device)" }
                input { id: "sync-passphrase", r#type: "password", required: true, autocomplete: "off", initial_value: "{f.read().passphrase}", oninput: move |e| f.write().passphrase = e.value() }
                p { class: "hint", "Stored in this device's keychain. Without it the synced data cannot be read, by the server or by anyone: keep it safe." }
            }
            div { class: "field",
                label { r#for: "sync-name", "This device's name" }
                input { id: "sync-name", placeholder: "e.g. Laptop", initial_value: "{f.read().name}", oninput: move |e| f.write().name = e.value() }
            }
            match tested() {
                Some(Ok(s)) => rsx! { p { class: "test-ok", role: "status", "{s}" } },
                Some(Err(s)) => rsx! { div { class: "banner banner-error", role: "alert", "{s}" } },
                None => rsx! {},
            }
            if let Some(e) = failure {
                div { class: "banner banner-error", role: "alert", "{e}" }
            }
            div { class: "form-actions",
                button { class: "btn-small", r#type: "button", disabled: testing() || running, onclick: test,
                    if testing() { "Testing…" } else { "Test" } }
                button { class: "btn-primary", r#type: "submit", disabled: running,
                    if running { "Setting up…" } else { "Set up sync" } }
            }
        }
    }
}

#[component]
fn SyncStatus(url: String) -> Element {
    let services = use_services();
    let state = use_app_state();
    let sync = use_context::<SyncController>();
    let mut confirm_forget = use_signal(|| false);
    // The other device a removal waits to be confirmed for: (id, name).
    let mut confirm_remove = use_signal(|| None::<(String, String)>);
    let running = (sync.running)();
    let local = sync.local.read().clone().unwrap_or_default();
    let devices = sync.devices.read().clone();
    let name = local.device_name.clone().unwrap_or_default();
    let last = local
        .last_sync_ms
        .map(ago)
        .unwrap_or_else(|| "never".into());
    let svc = services.clone();
    let now = move |_| sync.sync_now(state, &svc);
    let svc = services.clone();
    let forget = move |_| {
        confirm_forget.set(false);
        sync.forget(&svc);
    };
    rsx! {
        dl { class: "sync-facts",
            dt { "Folder" } dd { "{url}" }
            dt { "This device" } dd { "{name}" }
            dt { "Last sync" } dd { "{last}" }
            dt { "Changes waiting" } dd { "{local.pending}" }
        }
        if running {
            p { class: "hint sync-progress", role: "status",
                if let Some(at) = (sync.progress)() { "Syncing… {at.sentence()}" }
                else if local.pending > 0 { "Syncing… {local.pending} changes left to send." }
                else { "Syncing…" }
            }
        }
        match (sync.outcome)() {
            Some(Ok(r)) => rsx! {
                p { class: "test-ok sync-outcome", role: "status", "{r.summary()}" }
                if !r.kept.is_empty() {
                    p { class: "hint",
                        if r.kept.len() == 1 {
                            "A conversation deleted on another device was kept, because messages were added to it after the delete."
                        } else {
                            "{r.kept.len()} conversations deleted on another device were kept, because messages were added to them after the delete."
                        }
                    }
                }
            },
            Some(Err(e)) => rsx! { div { class: "banner banner-error sync-outcome", role: "alert", "{e}" } },
            None => rsx! {},
        }
        if let Some(done) = (sync.removed)() {
            p { class: "test-ok sync-outcome", role: "status", "{done}" }
        }
        if !devices.is_empty() {
            h4 { "Devices" }
            ul { class: "sync-devices",
                for d in devices {
                    li { key: "{d.id}",
                        strong { "{d.name}" }
                        if d.this_device { " (this device)" }
                        span { class: "hint", " — last sync {ago(d.last_sync_ms)}" }
                        if !d.this_device {
                            {
                                let (id, name) = (d.id.clone(), d.name.clone());
                                rsx! {
                                    button { class: "btn-small", r#type: "button", disabled: running,
                                        "aria-label": "Remove {d.name} from the sync folder…",
                                        onclick: move |_| confirm_remove.set(Some((id.clone(), name.clone()))),
                                        "Remove…" }
                                }
                            }
                        }
                    }
                }
            }
        }
        div { class: "form-actions",
            button { class: "btn-primary", r#type: "button", disabled: running, onclick: now,
                if running { "Syncing…" } else { "Sync now" } }
            button { class: "btn-small danger", r#type: "button", disabled: running,
                onclick: move |_| confirm_forget.set(true), "Forget this device…" }
        }
        if let Some((id, name)) = confirm_remove() {
            div { class: "confirm", role: "alertdialog", "aria-labelledby": "remove-q",
                p { id: "remove-q", "Remove \u{201c}{name}\u{201d} from the sync folder? Use this for a device that is lost or no longer used. What it wrote is merged here first and kept for your other devices; then its files are deleted from the folder. If it syncs again, it joins again." }
                div { class: "form-actions",
                    // While a sync runs the removal waits for it (the button comes back after).
                    button { class: "btn-small danger", r#type: "button", disabled: running,
                        onclick: {
                            let svc = services.clone();
                            move |_| {
                                confirm_remove.set(None);
                                sync.remove_device(state, &svc, id.clone());
                            }
                        },
                        "Remove {name}" }
                    button { class: "btn-small", r#type: "button", onclick: move |_| confirm_remove.set(None), "Cancel" }
                }
            }
        }
        if confirm_forget() {
            div { class: "confirm", role: "alertdialog", "aria-labelledby": "forget-q",
                p { id: "forget-q", "Stop syncing this device? Its history stays here, the folder keeps what was synced, and the passphrase is removed from this device's keychain." }
                div { class: "form-actions",
                    button { class: "btn-small danger", r#type: "button", onclick: forget, "Forget this device" }
                    button { class: "btn-small", r#type: "button", onclick: move |_| confirm_forget.set(false), "Cancel" }
                }
            }
        }
    }
}
