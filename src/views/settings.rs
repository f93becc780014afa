//! The settings view: backend profiles (with connection test and keychain-backed keys that are
//! never shown again), appearance, behaviour, privacy, data and diagnostics.

use dioxus::prelude::*;

use crate::components::confirm::ConfirmButton;
use crate::engine::model::*;
use crate::engine::version;
use crate::platform::{SecretStatus, Theme};
use crate::state::profiles::ProfileForm;
use crate::state::{use_app_state, use_services};

#[component]
pub fn SettingsView() -> Element {
    rsx! {
        section { class: "view settings-view", "aria-label": "Settings",
            h2 { "Settings" }
            BackendsSection {}
            crate::views::presets::PresetsSection {}
            AppearanceSection {}
            BehaviourSection {}
            PrivacySection {}
            crate::views::sync::SyncSection {}
            crate::views::data::DataSection {}
            DiagnosticsSection {}
            if crate::platform::SELF_UPDATES {
                UpdatesSection {}
            }
        }
    }
}

#[component]
fn BackendsSection() -> Element {
    let services = use_services();
    let state = use_app_state();
    let mut form = use_signal(|| None::<ProfileForm>);
    // "Add a backend" on first start lands here with the form open; once it is saved, the
    // chat is back with its message box ready.
    let mut add_requested = state.add_backend;
    let mut back_to_chat = use_signal(|| false);
    let chat = crate::state::chat::use_chat();
    use_effect(move || {
        if add_requested() {
            add_requested.set(false);
            back_to_chat.set(true);
            form.set(Some(ProfileForm {
                kind: "openai-compatible".into(),
                ..Default::default()
            }));
        }
    });
    let mut results = use_signal(std::collections::HashMap::<Id, Result<String, String>>::new);
    let mut testing = use_signal(std::collections::HashSet::<Id>::new);
    let mut key_status = use_signal(std::collections::HashMap::<Id, bool>::new);
    let mut error = use_signal(|| None::<String>);
    let mut secret_status = use_signal(|| None::<SecretStatus>);

    let services_status = services.clone();
    use_effect(move || {
        let profiles = state.profiles.read().clone();
        let services = services_status.clone();
        spawn(async move {
            secret_status.set(Some(services.secrets.status().await));
            let mut map = std::collections::HashMap::new();
            for p in profiles {
                let set = services.has_session_key(&p.id)
                    || services.secrets.get(&p.id).await.ok().flatten().is_some();
                map.insert(p.id.clone(), set);
            }
            key_status.set(map);
        });
    });

    let profiles = state.profiles.read().clone();
    let keychain_ok = matches!(secret_status(), Some(SecretStatus::Available { .. }) | None);
    let can_remember = matches!(secret_status(), Some(SecretStatus::DeviceStorage { .. }));

    rsx! {
        section { class: "card", "aria-labelledby": "backends-h",
            h3 { id: "backends-h", "Backends" }
            if let Some(SecretStatus::Unavailable { reason }) = secret_status() {
                div { class: "banner banner-warn", role: "status",
                    "No system keychain is available ({reason}). Keys you enter are kept for this session only and are never written to disk."
                }
            }
            if let Some(SecretStatus::DeviceStorage { note }) = secret_status() {
                div { class: "banner banner-warn", role: "status", "{note}" }
            }
            if let Some(e) = error() {
                div { class: "banner banner-error", role: "alert", "{e}" }
            }
            ul { class: "profile-list",
                for p in profiles.iter().cloned() {
                    li { key: "{p.id}", class: "profile",
                        div { class: "profile-main",
                            strong { "{p.name}" }
                            span { class: "badge", "{p.kind.label()}" }
                            span { class: "mono", "{p.base_url}" }
                            // The project an OpenCode server is bound to: two backends on one
                            // server differ only by it.
                            if let Some(dir) = p.directory.clone().filter(|d| !d.trim().is_empty()) {
                                span { class: "profile-dir", "project " span { class: "mono", "{dir}" } }
                            }
                            span { class: "key-state",
                                if p.key_env.is_some() { "key from ${p.key_env.clone().unwrap_or_default()}" }
                                else if key_status.read().get(&p.id).copied().unwrap_or(false) { "key: set" }
                                else { "key: not set" }
                            }
                        }
                        if testing.read().contains(&p.id) {
                            div { class: "test-pending", role: "status", "Testing…" }
                        } else if let Some(r) = results.read().get(&p.id).cloned() {
                            match r {
                                Ok(msg) => rsx! { div { class: "test-ok", role: "status", "✓ {msg}" } },
                                Err(msg) => rsx! { div { class: "test-fail", role: "alert", "✗ {msg}" } },
                            }
                        }
                        div { class: "profile-actions",
                            button {
                                class: "btn-small",
                                onclick: {
                                    let services = services.clone();
                                    let p = p.clone();
                                    move |_| {
                                        let services = services.clone();
                                        let p = p.clone();
                                        testing.write().insert(p.id.clone());
                                        spawn(async move {
                                            let r = crate::platform::ops::test_connection(&services, &p).await;
                                            if matches!(&r, Ok(reached) if reached.moved_to.is_some()) {
                                                state.reload_profiles(&services).await;
                                            }
                                            let r = r.map(|reached| {
                                                if reached.models.is_empty() { reached.detail } else { format!("{}: {}", reached.detail, reached.models.join(", ")) }
                                            }).map_err(|e| e.to_string());
                                            results.write().insert(p.id.clone(), r);
                                            testing.write().remove(&p.id);
                                        });
                                    }
                                },
                                "Test connection"
                            }
                            button { class: "btn-small", onclick: { let p = p.clone(); move |_| form.set(Some(ProfileForm::from_profile(&p))) }, "Edit" }
                            if key_status.read().get(&p.id).copied().unwrap_or(false) {
                                ConfirmButton {
                                    label: "Remove key",
                                    aria_label: "Remove the key of {p.name}",
                                    question: "Delete the key of “{p.name}”? It is never shown again: to use this backend afterwards you type it anew.",
                                    on_confirm: {
                                        let services = services.clone();
                                        let id = p.id.clone();
                                        move |_| {
                                            let services = services.clone();
                                            let id = id.clone();
                                            spawn(async move {
                                                services.forget_session_key(&id);
                                                if let Err(e) = services.secrets.delete(&id).await { error.set(Some(e.to_string())); }
                                                key_status.write().insert(id, false);
                                            });
                                        }
                                    },
                                }
                            }
                            ConfirmButton {
                                label: "Remove",
                                aria_label: "Remove {p.name}",
                                question: "Remove “{p.name}”? Its conversations stay in History; its key, if it has one, is deleted.",
                                on_confirm: {
                                    let services = services.clone();
                                    let id = p.id.clone();
                                    move |_| {
                                        let services = services.clone();
                                        let id = id.clone();
                                        spawn(async move {
                                            match crate::state::profiles::remove(&services, &id).await {
                                                Ok(()) => state.reload_profiles(&services).await,
                                                Err(e) => error.set(Some(e.to_string())),
                                            }
                                        });
                                    }
                                },
                            }
                        }
                        if p.kind == BackendKind::OpenAiCompatible {
                            PriceList { profile_id: p.id.clone() }
                        }
                    }
                }
            }
            if form().is_none() {
                button {
                    class: "btn-primary",
                    onclick: move |_| form.set(Some(ProfileForm { kind: "openai-compatible".into(), ..Default::default() })),
                    "Add backend"
                }
            }
            if let Some(f) = form() {
                // Keyed by the profile, so editing another one starts from its own values (the
                // fields are uncontrolled: typing is never overwritten by a re-render).
                ProfileEditor { key: "{f.id.clone().unwrap_or_default()}", initial: f, keychain_ok, can_remember, on_close: move |saved: bool| {
                    form.set(None);
                    if saved && *back_to_chat.peek() {
                        chat.new_chat(state);
                    }
                    back_to_chat.set(false);
                } }
            }
        }
    }
}

#[component]
fn ProfileEditor(
    initial: ProfileForm,
    keychain_ok: bool,
    can_remember: bool,
    /// Called when the form closes: `true` after a save, `false` on Cancel.
    on_close: EventHandler<bool>,
) -> Element {
    let services = use_services();
    let state = use_app_state();
    let mut f = use_signal(|| initial.clone());
    let mut error = use_signal(|| None::<String>);
    let mut saving = use_signal(|| false);
    // A failed save's sentence is about the values then: editing any field clears it.
    use_effect(move || {
        let _ = f.read();
        error.set(None);
    });
    let mut remember = use_signal(|| false);
    let editing = initial.id.is_some();
    let is_opencode = f.read().kind == "opencode";

    let mut save = move |session_only: bool| {
        let services = services.clone();
        let form = f.peek().clone();
        saving.set(true);
        spawn(async move {
            let result = crate::state::profiles::save(&services, &form, session_only).await;
            saving.set(false);
            match result {
                Ok(_) => {
                    state.reload_profiles(&services).await;
                    on_close.call(true);
                }
                Err(e) => error.set(Some(e.to_string())),
            }
        });
    };
    let mut save_session = save.clone();

    rsx! {
        form {
            class: "profile-editor",
            "aria-label": if editing { "Edit backend" } else { "Add backend" },
            onsubmit: move |e| { e.prevent_default(); save(!keychain_ok && !remember()); },
            div { class: "field",
                label { r#for: "pf-name", "Name" }
                input { id: "pf-name", required: true, initial_value: "{f.read().name}", oninput: move |e| f.write().name = e.value() }
            }
            div { class: "field",
                label { r#for: "pf-kind", "Kind" }
                select { id: "pf-kind", onchange: move |e| f.write().kind = e.value(),
                    option { value: "openai-compatible", selected: !is_opencode, "OpenAI-compatible API" }
                    option { value: "opencode", selected: is_opencode, "OpenCode server" }
                }
            }
            div { class: "field",
                label { r#for: "pf-url", "Base URL" }
                input { id: "pf-url", required: true, placeholder: if is_opencode { "http://127.0.0.1:4096" } else { "https://api.openai.com/v1" }, initial_value: "{f.read().url}", oninput: move |e| f.write().url = e.value() }
            }
            div { class: "field",
                label { r#for: "pf-model", "Default model" }
                input { id: "pf-model", placeholder: "optional", initial_value: "{f.read().model}", oninput: move |e| f.write().model = e.value() }
            }
            div { class: "field",
                label { r#for: "pf-key", if is_opencode { "Server password" } else { "API key" } }
                input {
                    id: "pf-key", r#type: "password", autocomplete: "off",
                    placeholder: if editing { "leave empty to keep the stored key" } else { "optional for local servers" },
                    initial_value: "{f.read().key}", oninput: move |e| f.write().key = e.value(),
                }
                p { class: "hint",
                    if keychain_ok { "Stored in the system keychain; it is never shown again." }
                    else if can_remember { "Kept in memory for this session unless you tick “Remember on this device”." }
                    else { "No keychain is available: the key is kept in memory for this session only." }
                }
                if can_remember {
                    label { class: "check",
                        input { r#type: "checkbox", checked: remember(), onchange: move |e| remember.set(e.checked()) }
                        " Remember on this device (unencrypted in this browser profile's storage)"
                    }
                }
            }
            if is_opencode {
                div { class: "field",
                    label { r#for: "pf-user", "User name" }
                    input { id: "pf-user", placeholder: "opencode", initial_value: "{f.read().username}", oninput: move |e| f.write().username = e.value() }
                }
                div { class: "field",
                    label { r#for: "pf-dir", "Project directory" }
                    input { id: "pf-dir", placeholder: "server default", initial_value: "{f.read().directory}", oninput: move |e| f.write().directory = e.value() }
                }
            } else {
                div { class: "field",
                    label { r#for: "pf-headers", "Extra headers (Name: value per line)" }
                    textarea { id: "pf-headers", rows: "2", initial_value: "{f.read().headers}", oninput: move |e| f.write().headers = e.value() }
                }
            }
            if let Some(e) = error() {
                div { class: "banner banner-error", role: "alert", "{e}" }
            }
            div { class: "form-actions",
                button { class: "btn-primary", r#type: "submit", disabled: saving(), "Save" }
                if keychain_ok {
                    button { class: "btn-small", r#type: "button", disabled: saving(), onclick: move |_| save_session(true), "Save, key for this session only" }
                }
                button { class: "btn-small", r#type: "button", onclick: move |_| on_close.call(false), "Cancel" }
            }
        }
    }
}

#[component]
fn AppearanceSection() -> Element {
    let services = use_services();
    let state = use_app_state();
    let s = state.settings.read().clone();
    let update = move |f: Box<dyn Fn(&mut crate::platform::AppSettings)>| {
        state.update_settings(&services, f)
    };
    let (u1, u2, u3) = (update.clone(), update.clone(), update);
    rsx! {
        section { class: "card", "aria-labelledby": "appearance-h",
            h3 { id: "appearance-h", "Appearance" }
            fieldset { class: "radio-row",
                legend { "Theme" }
                for (value, label) in [(Theme::System, "System"), (Theme::Light, "Light"), (Theme::Dark, "Dark")] {
                    label { key: "{label}",
                        input {
                            r#type: "radio", name: "theme", value: "{label}",
                            checked: s.theme == value,
                            onchange: { let u = u1.clone(); move |_| u(Box::new(move |s| s.theme = value)) },
                        }
                        " {label}"
                    }
                }
            }
            div { class: "field",
                label { r#for: "font-size", "Font size: {s.font_size}px" }
                input {
                    id: "font-size", r#type: "range", min: "11", max: "24", value: "{s.font_size}",
                    onchange: move |e| { let v = e.value().parse().unwrap_or(15); u2(Box::new(move |s| s.font_size = v)) },
                }
            }
            label { class: "check",
                input { r#type: "checkbox", checked: s.compact, onchange: move |e| { let v = e.checked(); u3(Box::new(move |s| s.compact = v)) } }
                " Compact layout"
            }
        }
    }
}

#[component]
fn BehaviourSection() -> Element {
    let services = use_services();
    let state = use_app_state();
    let s = state.settings.read().clone();
    let profiles = state.profiles.read().clone();
    let update = move |f: Box<dyn Fn(&mut crate::platform::AppSettings)>| {
        state.update_settings(&services, f)
    };
    let (u1, u2, u3, u4) = (update.clone(), update.clone(), update.clone(), update);
    rsx! {
        section { class: "card", "aria-labelledby": "behaviour-h",
            h3 { id: "behaviour-h", "Behaviour" }
            label { class: "check",
                input { r#type: "checkbox", checked: s.enter_sends, onchange: move |e| { let v = e.checked(); u1(Box::new(move |s| s.enter_sends = v)) } }
                " Enter sends (Shift+Enter for a new line); off: Ctrl/Cmd+Enter sends"
            }
            if *state.touch.read() {
                p { class: "hint", "On this touch screen Enter adds a line and the Send button sends." }
            }
            label { class: "check",
                input { r#type: "checkbox", checked: s.auto_title, onchange: move |e| { let v = e.checked(); u2(Box::new(move |s| s.auto_title = v)) } }
                " Name new conversations automatically (asks the model for a short title)"
            }
            div { class: "field",
                label { r#for: "default-profile", "Default backend" }
                select { id: "default-profile",
                    onchange: move |e| { let v = e.value(); u3(Box::new(move |s| s.default_profile = Some(v.clone()).filter(|v| !v.is_empty()))) },
                    option { value: "", selected: s.default_profile.is_none(), "The one last used" }
                    for p in profiles.iter() { option { value: "{p.id}", selected: s.default_profile.as_deref() == Some(p.id.as_str()), "{p.name}" } }
                }
            }
            div { class: "field",
                label { r#for: "default-model", "Default model" }
                input { id: "default-model", placeholder: "the backend's default", value: "{s.default_model.clone().unwrap_or_default()}",
                    onchange: move |e| { let v = e.value(); u4(Box::new(move |s| s.default_model = Some(v.trim().to_owned()).filter(|v| !v.is_empty()))) } }
            }
        }
    }
}

#[component]
fn PrivacySection() -> Element {
    let services = use_services();
    let state = use_app_state();
    let s = state.settings.read().clone();
    // What the setting would delete at the next start, as it stands.
    let services_count = services.clone();
    let due = crate::state::tasks::use_latest(move || {
        let days = state.settings.read().retention_days;
        let services = services_count.clone();
        async move {
            let days = days?;
            let n = services
                .store
                .count_retention(retention_cutoff(days))
                .await
                .ok()?;
            Some((days, n))
        }
    });
    rsx! {
        section { class: "card", "aria-labelledby": "privacy-h",
            h3 { id: "privacy-h", "Privacy" }
            p { "OpenCode Nexus sends nothing anywhere except to the backends you configure. Crash reports and logs stay on this device." }
            crate::components::fields::WholeNumberField {
                id: "retention",
                label: "Delete conversations untouched for this many days (empty: keep everything; pinned ones are kept)",
                value: s.retention_days,
                min: 1,
                max: 36_500,
                optional: true,
                placeholder: "off",
                refusal: "Type a whole number of days (at least 1), or empty the field to keep everything.",
                on_value: move |days: Option<u32>| state.update_settings(&services, move |s| s.retention_days = days),
                if let Some(Some((days, n))) = due() {
                    span { class: "hint", id: "retention-note", role: "status",
                        if n == 0 {
                            "No conversation has been untouched for {days} days."
                        } else {
                            "{counted(n, \"conversation\")} untouched for {days} days will be deleted the next time the app starts."
                        }
                    }
                }
            }
        }
    }
}

/// Settings → About and diagnostics: version, data directory, database size, keychain, an
/// integrity check and compaction on request, this run's start-up time, memory and latencies,
/// and "Export diagnostics" (logs redacted) for bug reports.
#[component]
fn DiagnosticsSection() -> Element {
    let services = use_services();
    let mut integrity = use_signal(|| None::<String>);
    let mut size = use_signal(|| None::<i64>);
    let mut secrets = use_signal(|| None::<SecretStatus>);
    // Only the cheap facts of this run: an integrity check on a large history would hold the
    // store every time Settings opens, so it runs when asked.
    let mut latency = use_signal(Vec::<crate::platform::vitals::LatencyStat>::new);
    let mut crash_count = use_signal(|| None::<usize>);
    // Read once per visit, not on every repaint.
    let services_load = services.clone();
    use_hook(move || {
        let services = services_load.clone();
        spawn(async move {
            size.set(services.store.size_bytes().await.ok());
            secrets.set(Some(services.secrets.status().await));
            if crate::platform::KEEPS_FILES {
                crash_count.set(services.support.crash_report_count().await);
            }
            latency.set(crate::platform::vitals::latency_stats(&services).await);
        });
    });
    let data_dir = services
        .shell
        .data_dir()
        .map(|d| d.display().to_string())
        .unwrap_or_else(|| "browser storage".into());
    let startup_ms = crate::platform::vitals::startup_ms();
    let rss = crate::platform::vitals::rss_bytes();
    let log_dir = services.support.log_dir().map(|d| d.display().to_string());
    let can_export = crate::platform::KEEPS_FILES && services.support.downloads_dir().is_some();
    let mut exported = use_signal(|| None::<String>);
    let services_export = services.clone();
    let export = move |_| {
        let services = services_export.clone();
        spawn(async move {
            crate::crash::set_last_action("export-diagnostics");
            let note = match services.support.export_diagnostics(&services).await {
                Ok(sentence) => sentence,
                Err(e) => e.to_string(),
            };
            exported.set(Some(note));
        });
    };
    let (s1, s2) = (services.clone(), services.clone());
    let size_text = size()
        .map(|b| format!("{:.1} MB", b as f64 / 1e6))
        .unwrap_or_default();
    rsx! {
        section { class: "card", "aria-labelledby": "about-h",
            h3 { id: "about-h", "About and diagnostics" }
            dl { class: "facts",
                dt { "Version" } dd { "{version::VERSION_LINE}" }
                dt { "Data directory" } dd { class: "mono", "{data_dir}" }
                dt { "Database size" } dd { "{size_text}" }
                dt { "Keychain" } dd {
                    match secrets() {
                        Some(SecretStatus::Available { backend }) => format!("available ({backend})"),
                        Some(SecretStatus::Unavailable { reason }) => format!("unavailable: {reason}"),
                        Some(SecretStatus::DeviceStorage { .. }) => "none in browsers: session keys, or remembered on this device by choice".into(),
                        None => "checking…".into(),
                    }
                }
                if let Some(i) = integrity() { dt { "Integrity" } dd { "{i}" } }
            }
            div { class: "form-actions",
                button { class: "btn-small", onclick: move |_| {
                    let services = s1.clone();
                    spawn(async move {
                        let r = services.store.integrity_check().await.map(|r| r.join("; ")).unwrap_or_else(|e| e.to_string());
                        integrity.set(Some(r));
                    });
                }, "Check integrity" }
                button { class: "btn-small", onclick: move |_| {
                    let services = s2.clone();
                    spawn(async move {
                        match services.store.vacuum().await {
                            Ok(()) => { size.set(services.store.size_bytes().await.ok()); integrity.set(Some("compacted".into())); }
                            Err(e) => integrity.set(Some(e.to_string())),
                        }
                    });
                }, "Compact database" }
            }
            h4 { "This run" }
            dl { class: "facts",
                dt { "Start-up" }
                dd { {startup_ms.map(|ms| format!("{ms} ms to the first frame")).unwrap_or_else(|| "-".into())} }
                dt { "Memory" }
                dd { {rss.map(|b| format!("{:.1} MB resident", b as f64 / 1e6)).unwrap_or_else(|| "-".into())} }
                for l in latency() {
                    dt { key: "{l.profile}", "Latency: {l.profile}" }
                    dd { "last {l.last_ms} ms, average {l.avg_ms} ms ({l.samples} tests)" }
                }
                if crate::platform::KEEPS_FILES {
                    dt { "Logs" }
                    dd { class: "mono", {log_dir.unwrap_or_else(|| "-".into())} }
                    dt { "Crash reports" }
                    dd { {crash_count().map(|n| n.to_string()).unwrap_or_else(|| "-".into())} }
                }
            }
            if can_export {
                div { class: "form-actions",
                    button { class: "btn-small", r#type: "button", onclick: export, "Export diagnostics" }
                }
            }
            if let Some(note) = exported() { p { role: "status", class: "mono", "{note}" } }
        }
    }
}

/// Settings → Updates: the opt-in signed update check (toggle, manifest URL, "Check now", the
/// notes and a verified download that is never installed automatically).
#[component]
fn UpdatesSection() -> Element {
    use crate::engine::update::{self, UpdateStatus};

    let services = use_services();
    let state = use_app_state();
    let s = state.settings.read().clone();
    let mut result = use_signal(|| None::<Result<UpdateStatus, String>>);
    let mut busy = use_signal(|| false);
    let mut saved = use_signal(|| None::<String>);
    let downloads = services.support.downloads_dir();
    let (sv2, sv3, sv4) = (services.clone(), services.clone(), services.clone());
    let check = move |_| {
        let client = sv3.http.client();
        let updates = sv3.updates.clone();
        let url = state.settings.peek().update_url.clone().unwrap_or_default();
        busy.set(true);
        saved.set(None);
        spawn(async move {
            crate::crash::set_last_action("check-update");
            let r = updates
                .check(&client, &url)
                .await
                .map_err(|e| e.to_string());
            result.set(Some(r));
            busy.set(false);
        });
    };
    let offer = match result() {
        Some(Ok(UpdateStatus::Available(offer))) => Some(offer),
        _ => None,
    };
    let artifact = offer
        .as_ref()
        .and_then(|o| update::preferred_artifact(&o.artifacts).cloned());
    let can_download = artifact.is_some() && downloads.is_some();
    let download = move |_| {
        let (Some(a), Some(dir)) = (artifact.clone(), downloads.clone()) else {
            return;
        };
        let client = sv4.http.client();
        let updates = sv4.updates.clone();
        busy.set(true);
        spawn(async move {
            crate::crash::set_last_action("download-update");
            match updates.download(&client, &a, &dir).await {
                Ok(path) => saved.set(Some(format!(
                    "Downloaded and verified: {}. Nothing was installed; open the file to install it.",
                    path.display()
                ))),
                Err(e) => saved.set(Some(e.to_string())),
            }
            busy.set(false);
        });
    };
    let url_value = s.update_url.clone().unwrap_or_default();
    rsx! {
        section { class: "card", "aria-labelledby": "updates-h",
            h3 { id: "updates-h", "Updates" }
            p { "Off unless you turn it on: the app then reads a signed release manifest from the address below. Releases are verified against the key built into the app, and nothing is installed without you." }
            label { class: "check",
                input { r#type: "checkbox", checked: s.check_updates,
                    onchange: move |e| {
                        let v = e.checked();
                        state.update_settings(&sv2, move |s| s.check_updates = v);
                    } }
                " Check for updates when the app starts"
            }
            div { class: "field",
                label { r#for: "update-url", "Release manifest address" }
                input { id: "update-url", r#type: "url", class: "mono", placeholder: "https://…/stable.json", value: "{url_value}",
                    onchange: move |e| {
                        let v = Some(e.value().trim().to_owned()).filter(|v| !v.is_empty());
                        state.update_settings(&services, move |s| s.update_url = v.clone());
                    } }
            }
            div { class: "form-actions",
                button { class: "btn-small", r#type: "button", disabled: busy(), onclick: check, "Check now" }
                if can_download {
                    button { class: "btn-small", r#type: "button", disabled: busy(), onclick: download, "Download" }
                }
            }
            match result() {
                None => rsx! {},
                Some(Err(e)) => rsx! { div { class: "banner banner-error", role: "alert", "{e}" } },
                Some(Ok(status)) => rsx! { p { role: "status", "{status.summary()}" } },
            }
            if let Some(o) = offer {
                if !o.manifest.notes.trim().is_empty() {
                    pre { class: "mono update-notes", "{o.manifest.notes.trim()}" }
                }
                if o.artifacts.is_empty() {
                    p { "There is no download for this system in this release." }
                }
            }
            if let Some(note) = saved() { p { role: "status", class: "mono", "{note}" } }
        }
    }
}

/// What this backend charges per model, so replies show their cost.
#[component]
fn PriceList(profile_id: Id) -> Element {
    let services = use_services();
    let state = use_app_state();
    let mut rev = use_signal(|| 0u64);
    let id_for_load = profile_id.clone();
    let services_load = services.clone();
    let prices = crate::state::tasks::use_latest(move || {
        rev();
        let services = services_load.clone();
        let id = id_for_load.clone();
        async move { services.store.list_prices(Some(id)).await }
    });
    // The models the backend listed when last asked, offered in the model field.
    let services_models = services.clone();
    let id_models = profile_id.clone();
    let known = crate::state::tasks::use_latest(move || {
        let services = services_models.clone();
        let id = id_models.clone();
        async move { services.store.model_list(id).await }
    });
    let mut model = use_signal(String::new);
    let mut input = use_signal(String::new);
    let mut output = use_signal(String::new);
    let list = match &*prices.read() {
        Some(Ok(list)) => list.clone(),
        _ => Vec::new(),
    };
    let known: Vec<String> = match &*known.read() {
        Some(Ok(Some(l))) => l.models.iter().map(|m| m.id.clone()).collect(),
        _ => Vec::new(),
    };
    let services_save = services.clone();
    let id_save = profile_id.clone();
    let fid = profile_id.chars().take(8).collect::<String>();
    let form_id = fid.clone();
    let save = move |e: FormEvent| {
        e.prevent_default();
        let prices = crate::engine::model::parse_number::<f64>(&input.peek(), "The input price")
            .and_then(|i| {
                Ok((
                    i,
                    crate::engine::model::parse_number::<f64>(&output.peek(), "The output price")?,
                ))
            });
        let (i, o) = match prices {
            Ok((Some(i), Some(o))) => (i, o),
            Ok(_) => {
                state.show_toast(
                    "Enter the input and output prices (dollars per million tokens); nothing was saved."
                        .into(),
                );
                return;
            }
            Err(e) => {
                state.show_toast(e);
                return;
            }
        };
        let price = ModelPrice {
            profile_id: id_save.clone(),
            model: model.peek().trim().to_owned(),
            input_per_million: i,
            output_per_million: o,
        };
        if let Err(e) = price.validate() {
            state.toast_error(e);
            return;
        }
        let services = services_save.clone();
        let form_id = form_id.clone();
        dioxus::core::spawn_forever(async move {
            match services.store.set_price(price).await {
                Ok(()) => {
                    model.set(String::new());
                    input.set(String::new());
                    output.set(String::new());
                    // The fields' text is the page's (not bound, so fast typing keeps every
                    // key): empty them there too.
                    let _ = document::eval(&format!(
                        "document.getElementById('price-form-{form_id}')?.reset()"
                    ));
                    *rev.write() += 1;
                }
                Err(e) => state.toast_error(e),
            }
        });
    };
    rsx! {
        details { class: "prices",
            summary { "Prices ({list.len()})" }
            if !list.is_empty() {
                ul { class: "price-list",
                    for p in list.iter().cloned() {
                        li { key: "{p.model}",
                            span { class: "mono", "{p.model}" }
                            span { "${p.input_per_million} in · ${p.output_per_million} out per million tokens" }
                            button { class: "btn-small", r#type: "button", "aria-label": "Forget the price of {p.model}",
                                onclick: {
                                    let services = services.clone();
                                    let p = p.clone();
                                    move |_| {
                                        let services = services.clone();
                                        let p = p.clone();
                                        dioxus::core::spawn_forever(async move {
                                            match services.store.delete_price(p.profile_id, p.model).await {
                                                Ok(()) => *rev.write() += 1,
                                                Err(e) => state.toast_error(e),
                                            }
                                        });
                                    }
                                },
                                "Remove" }
                        }
                    }
                }
            }
            form { class: "price-form", id: "price-form-{fid}", onsubmit: save,
                div { class: "field",
                    label { r#for: "price-model-{fid}", "Model" }
                    input { id: "price-model-{fid}", required: true, list: "price-models-{fid}", autocomplete: "off",
                        oninput: move |e| model.set(e.value()) }
                    datalist { id: "price-models-{fid}",
                        for m in known { option { key: "{m}", value: "{m}" } }
                    }
                }
                div { class: "field",
                    label { r#for: "price-in-{fid}", "Input $ / M tokens" }
                    input { id: "price-in-{fid}", inputmode: "decimal", required: true, oninput: move |e| input.set(e.value()) }
                }
                div { class: "field",
                    label { r#for: "price-out-{fid}", "Output $ / M tokens" }
                    input { id: "price-out-{fid}", inputmode: "decimal", required: true, oninput: move |e| output.set(e.value()) }
                }
                button { class: "btn-small", r#type: "submit", "Save price" }
            }
        }
    }
}
