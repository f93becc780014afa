//! Compression of sync files: raw DEFLATE (RFC 1951), the same bytes on every target.
//!
//! Natively it is flate2 (pure Rust). In the browser it is the platform's own
//! `CompressionStream("deflate-raw")` / `DecompressionStream`, so the page's module carries no
//! DEFLATE code of its own (miniz_oxide and flate2 were 22 KB of it before gzip).

use crate::engine::error::{Error, Result};

/// The largest file a sync run inflates (a guard against a damaged or hostile file).
pub const LIMIT: u64 = 1 << 31;

fn too_large() -> Error {
    Error::Invalid(format!(
        "A sync file unpacks to more than {} MB, more than this app reads; nothing was merged from it.",
        LIMIT >> 20
    ))
}

fn damaged(detail: impl std::fmt::Display) -> Error {
    Error::Invalid(format!(
        "A sync file cannot be decompressed ({detail}); nothing was merged from it."
    ))
}

#[cfg(not(target_family = "wasm"))]
pub async fn deflate(data: &[u8]) -> Result<Vec<u8>> {
    use std::io::Write;
    let mut enc = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::new(6));
    enc.write_all(data).map_err(Error::db)?;
    enc.finish().map_err(Error::db)
}

/// `data` inflated; an error past `limit` bytes or on a damaged stream.
#[cfg(not(target_family = "wasm"))]
pub async fn inflate(data: &[u8], limit: u64) -> Result<Vec<u8>> {
    use std::io::Read;
    let mut out = Vec::new();
    flate2::read::DeflateDecoder::new(data)
        .take(limit.saturating_add(1))
        .read_to_end(&mut out)
        .map_err(damaged)?;
    if out.len() as u64 > limit {
        return Err(too_large());
    }
    Ok(out)
}

#[cfg(target_family = "wasm")]
pub async fn deflate(data: &[u8]) -> Result<Vec<u8>> {
    let stream = js::CompressionStream::new("deflate-raw")
        .map_err(|e| Error::Invalid(format!("This browser cannot compress ({e:?}).")))?;
    through(&stream.readable(), &stream.writable(), data, u64::MAX)
        .await
        .map_err(|e| Error::Invalid(format!("A sync file could not be compressed ({e:?}).")))?
        .ok_or_else(too_large)
}

#[cfg(target_family = "wasm")]
pub async fn inflate(data: &[u8], limit: u64) -> Result<Vec<u8>> {
    let stream = js::DecompressionStream::new("deflate-raw")
        .map_err(|e| Error::Invalid(format!("This browser cannot decompress ({e:?}).")))?;
    through(&stream.readable(), &stream.writable(), data, limit)
        .await
        .map_err(damaged_js)?
        .ok_or_else(too_large)
}

/// `data` through a transform stream (its two ends), read back up to `limit` bytes.
#[cfg(target_family = "wasm")]
async fn through(
    readable: &web_sys::ReadableStream,
    writable: &web_sys::WritableStream,
    data: &[u8],
    limit: u64,
) -> std::result::Result<Option<Vec<u8>>, wasm_bindgen::JsValue> {
    let pair = web_sys::ReadableWritablePair::new(readable, writable);
    read_to_end(source(data)?.pipe_through(&pair), limit).await
}

/// The Compression Streams API (every current browser; web-sys has it only behind
/// `web_sys_unstable_apis`).
#[cfg(target_family = "wasm")]
mod js {
    use wasm_bindgen::prelude::*;

    #[wasm_bindgen]
    extern "C" {
        pub type CompressionStream;
        #[wasm_bindgen(constructor, catch)]
        pub fn new(format: &str) -> Result<CompressionStream, JsValue>;
        #[wasm_bindgen(method, getter)]
        pub fn readable(this: &CompressionStream) -> web_sys::ReadableStream;
        #[wasm_bindgen(method, getter)]
        pub fn writable(this: &CompressionStream) -> web_sys::WritableStream;

        pub type DecompressionStream;
        #[wasm_bindgen(constructor, catch)]
        pub fn new(format: &str) -> Result<DecompressionStream, JsValue>;
        #[wasm_bindgen(method, getter)]
        pub fn readable(this: &DecompressionStream) -> web_sys::ReadableStream;
        #[wasm_bindgen(method, getter)]
        pub fn writable(this: &DecompressionStream) -> web_sys::WritableStream;
    }
}

#[cfg(target_family = "wasm")]
fn damaged_js(e: wasm_bindgen::JsValue) -> Error {
    damaged(format!("{e:?}"))
}

#[cfg(target_family = "wasm")]
fn source(data: &[u8]) -> std::result::Result<web_sys::ReadableStream, wasm_bindgen::JsValue> {
    let parts = js_sys::Array::of1(&js_sys::Uint8Array::from(data));
    Ok(web_sys::Blob::new_with_u8_array_sequence(&parts)?.stream())
}

/// The stream's bytes, or `None` once they pass `limit` (the stream is cancelled then).
#[cfg(target_family = "wasm")]
async fn read_to_end(
    stream: web_sys::ReadableStream,
    limit: u64,
) -> std::result::Result<Option<Vec<u8>>, wasm_bindgen::JsValue> {
    use wasm_bindgen::JsCast;
    use wasm_bindgen_futures::JsFuture;
    let reader: web_sys::ReadableStreamDefaultReader = stream.get_reader().unchecked_into();
    let mut out = Vec::new();
    loop {
        let chunk: web_sys::ReadableStreamReadResult =
            JsFuture::from(reader.read()).await?.unchecked_into();
        if chunk.get_done().unwrap_or(false) {
            return Ok(Some(out));
        }
        let bytes = js_sys::Uint8Array::new(&chunk.get_value());
        let start = out.len();
        if (start as u64).saturating_add(u64::from(bytes.length())) > limit {
            let _ = JsFuture::from(reader.cancel()).await;
            return Ok(None);
        }
        out.resize(start + bytes.length() as usize, 0);
        bytes.copy_to(&mut out[start..]);
    }
}

#[cfg(all(test, not(target_family = "wasm")))]
mod tests {
    use super::*;

    #[tokio::test]
    async fn round_trip_limit_and_damage() {
        let text = "a sync file ".repeat(1000);
        let packed = deflate(text.as_bytes()).await.unwrap();
        assert!(packed.len() < text.len() / 10);
        assert_eq!(inflate(&packed, LIMIT).await.unwrap(), text.as_bytes());
        // Exactly at the limit is read; one byte past it is refused with a sentence.
        assert_eq!(
            inflate(&packed, text.len() as u64).await.unwrap().len(),
            text.len()
        );
        let err = inflate(&packed, text.len() as u64 - 1).await.unwrap_err();
        assert!(
            err.to_string().contains("more than this app reads"),
            "{err}"
        );
        let err = inflate(&[0xff, 0xff, 0xff], LIMIT).await.unwrap_err();
        assert!(err.to_string().contains("cannot be decompressed"), "{err}");
    }
}
