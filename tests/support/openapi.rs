//! A JSON-Schema validator for the subset OpenCode's OpenAPI document uses, so requests the
//! client sends and hand-written examples of server data can be checked against the server's
//! own schemas without a heavy dev-dependency.
#![allow(dead_code)]

use serde_json::Value;

/// The captured OpenAPI document of OpenCode 1.18.33.
pub fn openapi() -> Value {
    let path = format!(
        "{}/tests/fixtures/opencode/openapi.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {path}: {e}"));
    serde_json::from_str(&text).expect("openapi.json is JSON")
}

/// Violations of `#/components/schemas/{name}` by `v` (empty when valid).
pub fn validate_component(doc: &Value, name: &str, v: &Value) -> Vec<String> {
    let schema = doc
        .pointer(&format!("/components/schemas/{name}"))
        .unwrap_or_else(|| panic!("no schema {name}"));
    validate(doc, schema, v, "$")
}

pub fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(r) => {
            let pointer = r
                .strip_prefix('#')
                .unwrap_or_else(|| panic!("external $ref {r}"));
            resolve(
                doc,
                doc.pointer(pointer)
                    .unwrap_or_else(|| panic!("dangling $ref {r}")),
            )
        }
        None => schema,
    }
}

pub fn type_matches(ty: &str, v: &Value) -> bool {
    match ty {
        "object" => v.is_object(),
        "array" => v.is_array(),
        "string" => v.is_string(),
        "boolean" => v.is_boolean(),
        "null" => v.is_null(),
        "number" => v.is_number(),
        "integer" => v.as_f64().is_some_and(|n| n.fract() == 0.0),
        other => panic!("validator does not know type {other}"),
    }
}

/// Returns the list of violations (empty when valid).
pub fn validate(doc: &Value, schema: &Value, v: &Value, at: &str) -> Vec<String> {
    let schema = resolve(doc, schema);
    let mut errs = Vec::new();
    let Some(obj) = schema.as_object() else {
        // `true`/`{}` accept anything; `false` accepts nothing.
        if schema == &Value::Bool(false) {
            errs.push(format!("{at}: no value allowed"));
        }
        return errs;
    };
    for (key, rule) in obj {
        match key.as_str() {
            "type" => {
                let ok = match rule {
                    Value::String(t) => type_matches(t, v),
                    Value::Array(ts) => ts
                        .iter()
                        .filter_map(Value::as_str)
                        .any(|t| type_matches(t, v)),
                    _ => panic!("bad type rule at {at}"),
                };
                if !ok {
                    errs.push(format!("{at}: expected type {rule}, got {v}"));
                }
            }
            "enum" => {
                if !rule.as_array().is_some_and(|vals| vals.contains(v)) {
                    errs.push(format!("{at}: {v} not in {rule}"));
                }
            }
            "const" => {
                if rule != v {
                    errs.push(format!("{at}: {v} != const {rule}"));
                }
            }
            "pattern" => {
                let p = rule.as_str().expect("pattern string");
                // The request schemas only use anchored literal prefixes such as "^msg".
                let prefix = p
                    .strip_prefix('^')
                    .filter(|rest| rest.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or_else(|| panic!("validator does not support pattern {p}"));
                if let Some(s) = v.as_str() {
                    if !s.starts_with(prefix) {
                        errs.push(format!("{at}: {s:?} does not match {p}"));
                    }
                }
            }
            "minimum" => {
                if let (Some(n), Some(min)) = (v.as_f64(), rule.as_f64()) {
                    if n < min {
                        errs.push(format!("{at}: {n} < minimum {min}"));
                    }
                }
            }
            "required" => {
                if let Some(o) = v.as_object() {
                    for r in rule
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(Value::as_str)
                    {
                        if !o.contains_key(r) {
                            errs.push(format!("{at}: missing required {r}"));
                        }
                    }
                }
            }
            "properties" => {
                if let (Some(o), Some(props)) = (v.as_object(), rule.as_object()) {
                    for (k, val) in o {
                        if let Some(s) = props.get(k) {
                            errs.extend(validate(doc, s, val, &format!("{at}.{k}")));
                        }
                    }
                }
            }
            "additionalProperties" => {
                if let Some(o) = v.as_object() {
                    let props = obj.get("properties").and_then(Value::as_object);
                    for (k, val) in o {
                        if props.is_some_and(|p| p.contains_key(k)) {
                            continue;
                        }
                        match rule {
                            Value::Bool(false) => {
                                errs.push(format!("{at}: unexpected property {k}"))
                            }
                            Value::Bool(true) => {}
                            s => errs.extend(validate(doc, s, val, &format!("{at}.{k}"))),
                        }
                    }
                }
            }
            "items" => {
                if let Some(items) = v.as_array() {
                    for (i, item) in items.iter().enumerate() {
                        errs.extend(validate(doc, rule, item, &format!("{at}[{i}]")));
                    }
                }
            }
            "anyOf" | "oneOf" => {
                let alts = rule.as_array().expect("alternatives");
                let passing = alts
                    .iter()
                    .filter(|s| validate(doc, s, v, at).is_empty())
                    .count();
                let ok = if key == "anyOf" {
                    passing >= 1
                } else {
                    passing == 1
                };
                if !ok {
                    errs.push(format!(
                        "{at}: {passing} of {} {key} alternatives match {v}",
                        alts.len()
                    ));
                }
            }
            "allOf" => {
                for s in rule.as_array().expect("allOf list") {
                    errs.extend(validate(doc, s, v, at));
                }
            }
            // Annotations and keywords with no effect on the bodies checked here.
            "description" | "title" | "default" | "examples" | "format" | "maxLength"
            | "minLength" | "maximum" | "propertyNames" | "minItems" | "maxItems" => {}
            "$ref" => unreachable!("resolved above"),
            other => panic!("validator does not support keyword {other} at {at}"),
        }
    }
    errs
}
