//! The sampling parameter fields (temperature, top P, …), each labelled with its range, for
//! a conversation's Options and a preset's editor alike.

use dioxus::prelude::*;

use crate::engine::model::{ParamKey, SamplingParams, PARAM_SPECS};

/// What the fields hold after a change: the parameters with every value accepted so far, and
/// whether a field's text is refused. A refused text stays in its field, with its sentence
/// under it, until it is corrected; nothing of it is applied.
#[derive(Debug, Clone, PartialEq)]
pub struct ParamsEdit {
    pub params: SamplingParams,
    pub refused: bool,
}

/// One field per parameter. The fields are text fields: a number field would report a text it
/// cannot read (a decimal comma, a stray letter) as empty, which would unset the parameter
/// without a word.
#[component]
pub fn ParamFields(
    /// Prefix of the fields' ids (empty for the conversation's Options).
    id_prefix: &'static str,
    params: SamplingParams,
    on_change: EventHandler<ParamsEdit>,
) -> Element {
    // The fields whose text is refused: the text as typed and the sentence saying why.
    let mut refused = use_signal(Vec::<(ParamKey, String, String)>::new);
    rsx! {
        div { class: "option-fields",
            for spec in PARAM_SPECS.iter().copied() {
                {
                    let held = refused.read().iter().find(|(k, _, _)| *k == spec.key).cloned();
                    let text = held.as_ref().map_or_else(|| params.text(spec.key), |(_, t, _)| t.clone());
                    let described = if held.is_some() {
                        format!("{id_prefix}{}-error", spec.id)
                    } else {
                        format!("{id_prefix}{}-hint", spec.id)
                    };
                    rsx! {
                        div { class: "field", key: "{spec.id}",
                            label { r#for: "{id_prefix}{spec.id}", "{spec.label}" }
                            input {
                                id: "{id_prefix}{spec.id}", r#type: "text", inputmode: spec.inputmode,
                                autocomplete: "off", placeholder: "default", value: "{text}",
                                "aria-invalid": held.is_some(),
                                "aria-describedby": "{described}",
                                onchange: {
                                    let params = params.clone();
                                    move |e: FormEvent| {
                                        let text = e.value();
                                        let mut held = refused.write();
                                        held.retain(|(k, _, _)| *k != spec.key);
                                        let next = match params.with_text(spec.key, &text) {
                                            Ok(next) => next,
                                            Err(sentence) => {
                                                held.push((spec.key, text, sentence));
                                                params.clone()
                                            }
                                        };
                                        let refused = !held.is_empty();
                                        drop(held);
                                        on_change.call(ParamsEdit { params: next, refused });
                                    }
                                },
                            }
                            // The refusal takes the hint's place (it names the range too), so the
                            // form below does not move when it comes and goes: a click on a
                            // button below, which first takes the focus out of the field and so
                            // clears a mended refusal, lands on that button.
                            if let Some((_, _, why)) = &held {
                                span { class: "field-error", id: "{id_prefix}{spec.id}-error", role: "alert", "{why}" }
                            } else {
                                span { class: "hint", id: "{id_prefix}{spec.id}-hint", "{spec.hint}" }
                            }
                        }
                    }
                }
            }
        }
    }
}
