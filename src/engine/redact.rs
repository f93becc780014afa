//! Secret redaction. Keys reach the engine only to be put in a request header; anything that
//! turns a request or response into text (errors, logs, diagnostics) passes through here so a
//! key can never be echoed back, even when a server includes it in its error body.

use std::sync::{Mutex, OnceLock};

fn registry() -> &'static Mutex<Vec<String>> {
    static KNOWN: OnceLock<Mutex<Vec<String>>> = OnceLock::new();
    KNOWN.get_or_init(|| Mutex::new(Vec::new()))
}

/// Remember a secret for the lifetime of the process so every later redaction removes it.
pub fn register_secret(secret: &str) {
    // Very short values would blank out ordinary words; real keys are long.
    if secret.len() < 6 {
        return;
    }
    if let Ok(mut known) = registry().lock() {
        if !known.iter().any(|k| k == secret) {
            known.push(secret.to_owned());
        }
    }
}

/// Replace every registered secret and anything shaped like a bearer token or API key.
pub fn redact(text: &str) -> String {
    let mut out = text.to_owned();
    if let Ok(known) = registry().lock() {
        for secret in known.iter() {
            if out.contains(secret.as_str()) {
                out = out.replace(secret.as_str(), "[redacted]");
            }
        }
    }
    redact_patterns(&out)
}

fn redact_patterns(text: &str) -> String {
    // Well-known key prefixes (OpenAI, OpenRouter, Anthropic style) and "Bearer x" headers.
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(pos) = find_key_start(rest) {
        out.push_str(&rest[..pos]);
        let tail = &rest[pos..];
        let (replacement, body) = match tail.strip_prefix("Bearer ") {
            Some(after) => ("Bearer [redacted]", after),
            None => ("[redacted]", tail),
        };
        let end = body
            .find(|c: char| c.is_whitespace() || c == '"' || c == '\'' || c == ',')
            .unwrap_or(body.len());
        out.push_str(replacement);
        rest = &body[end..];
    }
    out.push_str(rest);
    out
}

fn find_key_start(text: &str) -> Option<usize> {
    let mut best: Option<usize> = None;
    for prefix in ["sk-", "sk_", "rk-", "pk-"] {
        let mut from = 0;
        while let Some(i) = text[from..].find(prefix) {
            let at = from + i;
            let boundary = at == 0
                || !text[..at]
                    .chars()
                    .next_back()
                    .is_some_and(|c| c.is_ascii_alphanumeric());
            let body = &text[at + prefix.len()..];
            let run = body
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
                .count();
            if boundary && run >= 8 {
                best = Some(best.map_or(at, |b| b.min(at)));
                break;
            }
            from = at + prefix.len();
        }
    }
    let mut from = 0;
    while let Some(i) = text[from..].find("Bearer ") {
        let at = from + i;
        let after = &text[at + 7..];
        if !after.is_empty()
            && !after.starts_with("[redacted]")
            && !after.starts_with(char::is_whitespace)
        {
            best = Some(best.map_or(at, |b| b.min(at)));
            break;
        }
        from = at + 7;
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registered_secret_is_removed() {
        register_secret("my-very-secret-value-123");
        let s = redact("error: key my-very-secret-value-123 is invalid");
        assert!(!s.contains("my-very-secret-value-123"));
        assert!(s.contains("[redacted]"));
    }

    #[test]
    fn key_shapes_and_bearer_are_removed() {
        let s = redact(
            "Incorrect API key provided: sk-abcdefghijklmnop1234. Header Bearer abc.def-ghi end",
        );
        assert!(!s.contains("sk-abcdefghijklmnop1234"), "{s}");
        assert!(!s.contains("abc.def-ghi"), "{s}");
        assert!(s.contains("end"));
    }

    #[test]
    fn ordinary_text_is_untouched() {
        let text = "task-list and desk-top are words; sk-short too";
        assert_eq!(redact(text), text);
    }
}
