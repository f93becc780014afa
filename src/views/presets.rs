//! Settings → Presets: the starting points for new chats (a system prompt, parameters,
//! optionally a backend and model), one of them the default.

use dioxus::prelude::*;

use crate::components::confirm::ConfirmButton;
use crate::engine::model::Preset;
use crate::state::{presets, use_app_state, use_services};

#[component]
pub fn PresetsSection() -> Element {
    let state = use_app_state();
    let services = use_services();
    let mut editing = use_signal(|| None::<Preset>);
    let list = state.presets.read().clone();
    let profiles = state.profiles.read().clone();
    let backend_name = move |id: &Option<String>| {
        id.as_ref()
            .and_then(|id| profiles.iter().find(|p| &p.id == id))
            .map(|p| p.name.clone())
    };
    rsx! {
        section { class: "card", "aria-labelledby": "presets-h",
            h3 { id: "presets-h", "Presets" }
            p { class: "hint", "A preset gives a new chat its system prompt and parameters, and a backend and model when it names them. Choose one when starting a chat; the default one is chosen for you." }
            if list.is_empty() {
                p { class: "hint", "No presets yet." }
            } else {
                ul { class: "preset-list",
                    for p in list.iter().cloned() {
                        li { class: "preset", key: "{p.id}",
                            div { class: "preset-main",
                                strong { "{p.name}" }
                                if p.is_default { span { class: "badge", "default" } }
                                span { class: "hint",
                                    "{backend_name(&p.profile_id).unwrap_or_else(|| \"any backend\".into())}"
                                    if let Some(m) = &p.model { " · {m}" }
                                }
                            }
                            div { class: "row-actions",
                                button { class: "btn-small", r#type: "button", "aria-label": "Edit {p.name}",
                                    onclick: { let p = p.clone(); move |_| editing.set(Some(p.clone())) }, "Edit" }
                                ConfirmButton {
                                    label: "Remove",
                                    aria_label: "Remove {p.name}",
                                    question: "Remove the preset “{p.name}”? Conversations started from it keep their prompt and parameters.",
                                    on_confirm: {
                                        let services = services.clone();
                                        let id = p.id.clone();
                                        move |_| {
                                            let services = services.clone();
                                            let id = id.clone();
                                            dioxus::core::spawn_forever(async move {
                                                if let Err(e) = presets::remove(state, &services, id).await {
                                                    state.toast_error(e);
                                                }
                                            });
                                        }
                                    },
                                }
                            }
                        }
                    }
                }
            }
            if editing.read().is_some() {
                // Keyed by the preset, so "Edit" on another one while this form is open starts
                // a new form with that preset's fields (a component keeps its state otherwise).
                for p in editing().into_iter() {
                    PresetEditor { key: "{p.id}", preset: p, editing }
                }
            } else {
                button { class: "btn-small", r#type: "button", onclick: move |_| editing.set(Some(Preset::new(""))), "Add preset" }
            }
        }
    }
}

#[component]
fn PresetEditor(preset: Preset, editing: Signal<Option<Preset>>) -> Element {
    let state = use_app_state();
    let chat = crate::state::chat::use_chat();
    let services = use_services();
    let mut form = use_signal(|| preset.clone());
    let mut error = use_signal(|| None::<String>);
    // A parameter's text is refused (its field says why): nothing is saved until it is mended.
    let mut refused = use_signal(|| false);
    let profiles = state.profiles.read().clone();
    let f = form.read().clone();
    let save = move |e: FormEvent| {
        e.prevent_default();
        // A refused parameter says why under its field; nothing is saved until it is mended.
        // (Save stays clickable: the click that takes the focus out of a mended field clears
        // the refusal first, and then saves.)
        if *refused.peek() {
            return;
        }
        let services = services.clone();
        let preset = form.peek().clone();
        dioxus::core::spawn_forever(async move {
            match presets::save(state, chat, &services, preset).await {
                Ok(()) => editing.set(None),
                Err(e) => error.set(Some(e.to_string())),
            }
        });
    };
    rsx! {
        form { class: "preset-editor", onsubmit: save,
            div { class: "field",
                label { r#for: "preset-name", "Name" }
                input { id: "preset-name", initial_value: "{f.name}", required: true,
                    oninput: move |e| { form.write().name = e.value(); error.set(None) } }
            }
            div { class: "field",
                label { r#for: "preset-system", "System prompt" }
                textarea { id: "preset-system", rows: "3", initial_value: "{f.system_prompt.clone().unwrap_or_default()}",
                    oninput: move |e| form.write().system_prompt = Some(e.value()) }
            }
            div { class: "field",
                label { r#for: "preset-backend", "Backend" }
                select { id: "preset-backend",
                    onchange: move |e| { let v = e.value(); form.write().profile_id = Some(v).filter(|v| !v.is_empty()) },
                    option { value: "", selected: f.profile_id.is_none(), "The one chosen when starting" }
                    for p in profiles.iter() {
                        option { value: "{p.id}", selected: f.profile_id.as_deref() == Some(p.id.as_str()), "{p.name}" }
                    }
                }
            }
            div { class: "field",
                label { r#for: "preset-model", "Model" }
                input { id: "preset-model", placeholder: "the backend's default", initial_value: "{f.model.clone().unwrap_or_default()}",
                    oninput: move |e| form.write().model = Some(e.value()) }
            }
            crate::components::params::ParamFields {
                id_prefix: "preset-",
                params: f.params.clone(),
                on_change: move |edit: crate::components::params::ParamsEdit| {
                    form.write().params = edit.params;
                    refused.set(edit.refused);
                },
            }
            label { class: "check",
                input { r#type: "checkbox", checked: f.is_default, onchange: move |e| form.write().is_default = e.checked() }
                " New chats start from this preset"
            }
            if let Some(e) = error() {
                div { class: "banner banner-error", role: "alert", "{e}" }
            }
            div { class: "form-actions",
                button { class: "btn-small primary", r#type: "submit", disabled: error().is_some(), "Save preset" }
                button { class: "btn-small", r#type: "button", onclick: move |_| editing.set(None), "Cancel" }
            }
        }
    }
}
