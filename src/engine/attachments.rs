//! Files attached to a message: images (PNG, JPEG, WebP, GIF), sent as OpenAI `image_url`
//! content parts with `data:` URLs, and text or code files (UTF-8, recognised by content),
//! inlined into the message as a fenced block named after the file. Each content is stored
//! once (by its SHA-256), however many messages and branches use it.

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::engine::error::{Error, Result};
use crate::engine::portability::human_bytes;
use crate::engine::wire::Wire;

/// The largest image a message may carry.
pub const MAX_IMAGE_BYTES: u64 = 20 * 1024 * 1024;
/// The largest text file a message may inline.
pub const MAX_TEXT_BYTES: u64 = 2 * 1024 * 1024;
/// How many files one message may carry.
pub const MAX_PER_MESSAGE: usize = 8;
/// What an image counts for when the history is fitted to the context window.
pub const IMAGE_TOKEN_ESTIMATE: u32 = 800;

/// A file about to be attached, checked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Wire)]
pub struct NewAttachment {
    pub name: String,
    pub mime: String,
    #[serde(with = "base64_bytes")]
    pub data: Vec<u8>,
}

/// A stored file's content and type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Wire)]
pub struct Blob {
    pub mime: String,
    #[serde(with = "base64_bytes")]
    pub data: Vec<u8>,
}

/// Bytes as one base64 string when serialized (compact across the store worker boundary and
/// in export files), not as an array of numbers.
pub mod base64_bytes {
    use base64::Engine as _;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(data: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(data))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        base64::engine::general_purpose::STANDARD
            .decode(text.as_bytes())
            .map_err(serde::de::Error::custom)
    }

    /// The same as a JSON value, for `#[derive(Json)]` (`with` and `write_with`).
    pub fn read(v: &crate::engine::json::Value) -> Result<Vec<u8>, crate::engine::json::JsonError> {
        let text: String = crate::engine::json::FromJson::from_json(v)?;
        base64::engine::general_purpose::STANDARD
            .decode(text.as_bytes())
            .map_err(|e| crate::engine::json::JsonError::new(e.to_string()))
    }

    pub fn write(data: &Vec<u8>) -> crate::engine::json::Value {
        crate::engine::json::Value::String(base64::engine::general_purpose::STANDARD.encode(data))
    }
}

impl NewAttachment {
    pub fn sha256(&self) -> String {
        sha256_hex(&self.data)
    }

    /// The part a message carries for this file.
    pub fn reference(&self) -> crate::engine::model::AttachmentRef {
        crate::engine::model::AttachmentRef {
            name: self.name.clone(),
            mime: self.mime.clone(),
            sha256: self.sha256(),
            bytes: self.data.len() as u64,
        }
    }

    pub fn is_image(&self) -> bool {
        is_image(&self.mime)
    }
}

pub fn sha256_hex(data: &[u8]) -> String {
    let digest = Sha256::digest(data);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn is_image(mime: &str) -> bool {
    mime.starts_with("image/")
}

/// The image type of `data` from its first bytes, whatever the file is called.
pub fn image_mime(data: &[u8]) -> Option<&'static str> {
    if data.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if data.starts_with(b"\xff\xd8\xff") {
        Some("image/jpeg")
    } else if data.len() >= 12 && &data[..4] == b"RIFF" && &data[8..12] == b"WEBP" {
        Some("image/webp")
    } else if data.starts_with(b"GIF87a") || data.starts_with(b"GIF89a") {
        Some("image/gif")
    } else {
        None
    }
}

/// Check a file before it is attached: an image within [`MAX_IMAGE_BYTES`], or UTF-8 text
/// within [`MAX_TEXT_BYTES`]. Anything else gets a sentence and is not attached.
pub fn prepare(name: &str, data: Vec<u8>) -> Result<NewAttachment> {
    let name = display_name(name);
    let size = data.len() as u64;
    if let Some(mime) = image_mime(&data) {
        if size > MAX_IMAGE_BYTES {
            return Err(Error::Invalid(format!(
                "{name} is {}, more than the {} an image may be; it was not attached.",
                human_bytes(size),
                human_bytes(MAX_IMAGE_BYTES)
            )));
        }
        return Ok(NewAttachment {
            name,
            mime: mime.into(),
            data,
        });
    }
    let text = std::str::from_utf8(&data)
        .ok()
        .filter(|t| !t.contains('\0'));
    if text.is_none() {
        return Err(Error::Invalid(format!(
            "{name} is neither an image (PNG, JPEG, WebP, GIF) nor a UTF-8 text file; it was not attached."
        )));
    }
    if size > MAX_TEXT_BYTES {
        return Err(Error::Invalid(format!(
            "{name} is {}, more than the {} a text file may be; it was not attached.",
            human_bytes(size),
            human_bytes(MAX_TEXT_BYTES)
        )));
    }
    Ok(NewAttachment {
        name,
        mime: "text/plain".into(),
        data,
    })
}

/// A sentence when a message would carry too many files.
pub fn check_count(n: usize) -> Result<()> {
    if n > MAX_PER_MESSAGE {
        return Err(Error::Invalid(format!(
            "A message can carry {MAX_PER_MESSAGE} files at most; remove {} and send again.",
            n - MAX_PER_MESSAGE
        )));
    }
    Ok(())
}

/// The file's name without any folders, never empty.
fn display_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name).trim();
    if base.is_empty() {
        "file".into()
    } else {
        base.into()
    }
}

/// `data:<mime>;base64,…` for an image part.
pub fn data_url(mime: &str, data: &[u8]) -> String {
    format!(
        "data:{mime};base64,{}",
        base64::engine::general_purpose::STANDARD.encode(data)
    )
}

/// A text file as the model reads it: its name, then its content in a fence longer than any
/// run of backticks inside it, with the language from the file's extension.
pub fn inline_text_file(name: &str, content: &str) -> String {
    let mut longest = 0;
    let mut run = 0;
    for c in content.chars() {
        if c == '`' {
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    let fence = "`".repeat((longest + 1).max(3));
    let lang = name
        .rsplit_once('.')
        .map(|(_, ext)| ext)
        .filter(|e| e.chars().all(|c| c.is_ascii_alphanumeric()))
        .unwrap_or("");
    let body = content.strip_suffix('\n').unwrap_or(content);
    format!("{name}:\n{fence}{lang}\n{body}\n{fence}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_are_recognised_by_content_and_limits_hold() {
        let png = b"\x89PNG\r\n\x1a\nrest".to_vec();
        assert_eq!(prepare("shot.jpg", png).unwrap().mime, "image/png");
        let webp = b"RIFF\0\0\0\0WEBPVP8 ".to_vec();
        assert_eq!(prepare("a", webp).unwrap().mime, "image/webp");
        assert_eq!(
            prepare("dir/notes.md", b"# hi\n".to_vec()).unwrap(),
            NewAttachment {
                name: "notes.md".into(),
                mime: "text/plain".into(),
                data: b"# hi\n".to_vec()
            }
        );
        let err = prepare("x.bin", vec![0, 159, 146, 150]).unwrap_err();
        assert!(err.to_string().contains("neither an image"), "{err}");
        let big = vec![b'a'; MAX_TEXT_BYTES as usize + 1];
        assert!(prepare("big.txt", big)
            .unwrap_err()
            .to_string()
            .contains("more than the 2.0 MB"));
        assert!(check_count(MAX_PER_MESSAGE).is_ok());
        assert!(check_count(MAX_PER_MESSAGE + 2)
            .unwrap_err()
            .to_string()
            .contains("remove 2"));
    }

    #[test]
    fn text_files_are_fenced_safely() {
        assert_eq!(
            inline_text_file("main.rs", "fn main() {}\n"),
            "main.rs:\n```rs\nfn main() {}\n```"
        );
        let tricky = inline_text_file("README", "a\n````\nb");
        assert!(tricky.starts_with("README:\n`````\n"), "{tricky}");
        assert!(tricky.ends_with("\n`````"));
        assert_eq!(sha256_hex(b"abc").len(), 64);
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
