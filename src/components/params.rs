//! The sampling parameter fields (temperature, top P, …), each labelled with its range, for
//! a conversation's Options and a preset's editor alike.

use dioxus::prelude::*;

use crate::engine::model::{SamplingParams, PARAM_SPECS};

/// One field per parameter. A change comes back as the whole parameter set with it applied,
/// or as the sentence saying why the value is refused (nothing changes then).
#[component]
pub fn ParamFields(
    /// Prefix of the fields' ids (empty for the conversation's Options).
    id_prefix: &'static str,
    params: SamplingParams,
    on_change: EventHandler<Result<SamplingParams, String>>,
) -> Element {
    rsx! {
        div { class: "option-fields",
            for spec in PARAM_SPECS.iter().copied() {
                div { class: "field", key: "{spec.id}",
                    label { r#for: "{id_prefix}{spec.id}", "{spec.label}" }
                    input {
                        id: "{id_prefix}{spec.id}", r#type: "number", min: "{spec.min}", max: "{spec.max}", step: "{spec.step}",
                        inputmode: "decimal", placeholder: "default", value: "{params.text(spec.key)}",
                        "aria-describedby": "{id_prefix}{spec.id}-hint",
                        onchange: {
                            let params = params.clone();
                            move |e: FormEvent| on_change.call(params.with_text(spec.key, &e.value()))
                        },
                    }
                    span { class: "hint", id: "{id_prefix}{spec.id}-hint", "{spec.hint}" }
                }
            }
        }
    }
}
