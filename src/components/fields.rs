//! A settings field for a whole number in a range (days, copies, megabytes). A text field
//! rather than a number field: a number field reads "30 days" or "1,5" as nothing, which would
//! unset the setting without a word. What is refused stays in the field with its sentence under
//! it (`aria-invalid`), and nothing is saved until it is mended.

use dioxus::prelude::*;

#[derive(Props, Clone, PartialEq)]
pub struct WholeNumberProps {
    pub id: String,
    pub label: String,
    /// The setting as it stands (`None`: unset, shown empty).
    pub value: Option<u32>,
    pub min: u32,
    pub max: u32,
    /// Whether an empty field unsets the setting (`on_value(None)`); else empty is refused.
    #[props(default)]
    pub optional: bool,
    #[props(default)]
    pub placeholder: String,
    /// What to type instead, shown when a text is refused ("nothing was changed" is added).
    pub refusal: String,
    pub on_value: EventHandler<Option<u32>>,
    /// Shown under the field while nothing is refused; give it the id `{id}-note`.
    #[props(default)]
    pub children: Element,
}

#[component]
pub fn WholeNumberField(props: WholeNumberProps) -> Element {
    let mut refused = use_signal(|| None::<String>);
    let shown = refused()
        .or_else(|| props.value.map(|v| v.to_string()))
        .unwrap_or_default();
    let (min, max, optional) = (props.min, props.max, props.optional);
    let note = format!("{}-note", props.id);
    rsx! {
        div { class: "field",
            label { r#for: "{props.id}", "{props.label}" }
            input { id: "{props.id}", r#type: "text", inputmode: "numeric", autocomplete: "off",
                placeholder: "{props.placeholder}", value: "{shown}",
                "aria-invalid": refused().is_some(), "aria-describedby": "{note}",
                onchange: move |e| {
                    let text = e.value();
                    let text = text.trim();
                    let value = match text.parse::<u32>() {
                        _ if text.is_empty() && optional => None,
                        Ok(v) if (min..=max).contains(&v) => Some(v),
                        _ => {
                            refused.set(Some(text.to_owned()));
                            return;
                        }
                    };
                    refused.set(None);
                    props.on_value.call(value);
                } }
            if refused().is_some() {
                span { class: "field-error", id: "{note}", role: "alert", "{props.refusal} Nothing was changed." }
            } else {
                {props.children}
            }
        }
    }
}
