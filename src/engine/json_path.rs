//! Where in a JSON document a parse failed, as a path (`conversations[3].messages[7].role`).
//!
//! serde_json names the line and column of a failure; the path is found by walking the text up
//! to that place, keeping the object keys and array positions that enclose it. Reading the
//! document with plain `serde_json::from_str` (rather than through a path-tracking wrapper) lets
//! the importers share their deserializers with the store protocol, which reads the same types
//! from text.

use serde::de::DeserializeOwned;

/// Parse `text` as `T`. A failure reads "what, at line L column C (at the JSON path)".
pub fn from_str<T: DeserializeOwned>(text: &str) -> Result<T, String> {
    serde_json::from_str(text).map_err(|e| {
        let path = path_at(text, e.line(), e.column());
        if path.is_empty() {
            e.to_string()
        } else {
            format!("{e} (at {path})")
        }
    })
}

/// The JSON path of the value being read at `line` (1-based) and `column` (bytes since the
/// start of that line), as serde_json reports them.
pub fn path_at(text: &str, line: usize, column: usize) -> String {
    let bytes = text.as_bytes();
    let mut start = 0;
    for _ in 1..line {
        match bytes[start..].iter().position(|&b| b == b'\n') {
            Some(i) => start += i + 1,
            None => break,
        }
    }
    let end = (start + column).min(bytes.len());
    path_before(&bytes[..end])
}

/// One open container while walking the text.
enum Frame {
    /// An object: the key of the member being read (None before the first key, or between a
    /// comma and the next key).
    Object { key: Option<String>, in_value: bool },
    /// An array: the position of the element being read.
    Array { index: usize },
}

/// The path of the innermost value still open at the end of `text`.
fn path_before(text: &[u8]) -> String {
    let mut stack: Vec<Frame> = Vec::new();
    let mut i = 0;
    while i < text.len() {
        match text[i] {
            b'{' => stack.push(Frame::Object {
                key: None,
                in_value: false,
            }),
            b'[' => stack.push(Frame::Array { index: 0 }),
            b'}' | b']' => {
                stack.pop();
            }
            b',' => match stack.last_mut() {
                Some(Frame::Array { index }) => *index += 1,
                Some(Frame::Object { key, in_value }) => {
                    *key = None;
                    *in_value = false;
                }
                None => {}
            },
            b':' => {
                if let Some(Frame::Object { in_value, .. }) = stack.last_mut() {
                    *in_value = true;
                }
            }
            b'"' => {
                let (string, next) = read_string(text, i + 1);
                if let Some(Frame::Object {
                    key,
                    in_value: false,
                }) = stack.last_mut()
                {
                    *key = Some(string);
                }
                i = next;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    // A container that has just opened is itself the value that failed (a map where a
    // string belongs), not its first member.
    if matches!(text.trim_ascii_end().last(), Some(b'{' | b'[')) {
        stack.pop();
    }
    let mut path = String::new();
    for frame in &stack {
        match frame {
            Frame::Array { index } => path.push_str(&format!("[{index}]")),
            Frame::Object {
                key: Some(key),
                in_value: true,
            } => {
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(key);
            }
            // Between members: the failure is about this object itself.
            Frame::Object { .. } => break,
        }
    }
    path
}

/// The string starting after its opening quote at `from`, decoded, and the index after its
/// closing quote (or the end of the text when it is cut short).
fn read_string(text: &[u8], from: usize) -> (String, usize) {
    let mut out = Vec::new();
    let mut i = from;
    while i < text.len() {
        match text[i] {
            b'"' => return (String::from_utf8_lossy(&out).into_owned(), i + 1),
            b'\\' if i + 1 < text.len() => {
                let escaped = text[i + 1];
                i += 2;
                match escaped {
                    b'n' => out.push(b'\n'),
                    b't' => out.push(b'\t'),
                    b'r' => out.push(b'\r'),
                    b'b' => out.push(8),
                    b'f' => out.push(12),
                    b'u' => {
                        let hex = text.get(i..i + 4).and_then(|h| std::str::from_utf8(h).ok());
                        match hex.and_then(|h| u32::from_str_radix(h, 16).ok()) {
                            Some(code) => {
                                let c = char::from_u32(code).unwrap_or('\u{FFFD}');
                                out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
                                i += 4;
                            }
                            None => out.push(b'?'),
                        }
                    }
                    other => out.push(other),
                }
                continue;
            }
            b => out.push(b),
        }
        i += 1;
    }
    (String::from_utf8_lossy(&out).into_owned(), i)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Doc {
        conversations: Vec<Conv>,
    }
    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Conv {
        title: String,
        messages: Vec<Msg>,
    }
    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Msg {
        role: Role,
        text: String,
    }
    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "lowercase")]
    enum Role {
        User,
        Assistant,
    }

    fn fails(text: &str) -> String {
        from_str::<Doc>(text).unwrap_err()
    }

    #[test]
    fn names_the_member_whose_value_is_wrong() {
        let e = fails(
            r#"{"conversations":[{"title":"a","messages":[]},
               {"title":"b","messages":[{"role":"user","text":"hi"},{"role":"robot","text":"x"}]}]}"#,
        );
        assert!(e.starts_with("unknown variant `robot`"), "{e}");
        assert!(e.ends_with("(at conversations[1].messages[1].role)"), "{e}");
    }

    #[test]
    fn names_the_object_a_field_is_missing_from() {
        let e = fails(r#"{"conversations":[{"title":"a","messages":[{"role":"user"}]}]}"#);
        assert!(e.starts_with("missing field `text`"), "{e}");
        assert!(e.ends_with("(at conversations[0].messages[0])"), "{e}");
    }

    #[test]
    fn names_the_array_element_of_the_wrong_type() {
        let e = from_str::<Vec<Conv>>("[\n  {\"title\": \"a\", \"messages\": []},\n  1\n]")
            .unwrap_err();
        assert!(e.contains("expected struct Conv at line 3"), "{e}");
        assert!(e.ends_with("(at [1])"), "{e}");
    }

    #[test]
    fn keys_with_escapes_and_brackets_inside_strings_do_not_mislead_it() {
        let e = fails(
            r#"{"x":"[{\"","conversations":[{"title":"a \"]}","messages":[{"role":"user","text":5}]}]}"#,
        );
        assert!(e.starts_with("invalid type: integer `5`"), "{e}");
        assert!(e.ends_with("(at conversations[0].messages[0].text)"), "{e}");
        assert_eq!(
            path_before(br#"{"k\u00e9y\n":[1,"#),
            "k\u{e9}y\n[1]",
            "escaped key decoded"
        );
    }

    #[test]
    fn a_failure_at_the_top_has_no_path() {
        let e = fails(r#""conversations""#);
        assert!(e.starts_with("invalid type: string"), "{e}");
        assert!(!e.contains("(at"), "{e}");
        let e = fails(r#"{"conversations":{}}"#);
        assert!(e.starts_with("invalid type: map"), "{e}");
        assert!(e.ends_with("(at conversations)"), "{e}");
        let e = fails("[]");
        assert!(e.starts_with("invalid length 0"), "{e}");
        assert!(!e.contains("(at"), "{e}");
        let e = fails(r#"{"conversations":[]} x"#);
        assert!(e.starts_with("trailing characters"), "{e}");
        assert!(!e.contains("(at"), "{e}");
    }

    #[test]
    fn text_cut_short_names_where_it_stopped() {
        let e = fails(r#"{"conversations":[{"title":"a","messages":[{"role":"us"#);
        assert!(e.starts_with("EOF while parsing"), "{e}");
        assert!(e.ends_with("(at conversations[0].messages[0].role)"), "{e}");
    }
}
