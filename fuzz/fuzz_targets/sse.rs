//! Fuzz target for the SSE decoder: network reads split a stream at arbitrary
//! points, so the decoder must give the same result however the bytes are
//! chunked, and must never panic on hostile input.
//!
//! The first input byte chooses the split point (scaled to the length); the rest is the stream. It
//! is checked with the default limit and with a tiny one, so the size-limit
//! path is exercised too (there only "an error happened" must agree, since a
//! chunked feed may already have returned the events before the error).
#![no_main]

use libfuzzer_sys::fuzz_target;

use opencode_nexus::engine::sse::{SseDecoder, SseError, SseEvent};

/// Feeds the chunks in order; `Err` if any push failed.
fn run(limit: usize, chunks: &[&[u8]]) -> Result<Vec<SseEvent>, SseError> {
    let mut decoder = SseDecoder::with_limit(limit);
    let mut events = Vec::new();
    for chunk in chunks {
        events.extend(decoder.push(chunk)?);
    }
    events.extend(decoder.finish());
    Ok(events)
}

fuzz_target!(|input: &[u8]| {
    let Some((&selector, stream)) = input.split_first() else {
        return;
    };
    // Scaled rather than taken modulo, so long inputs are split anywhere
    // along their length, while every position of a short one is reachable.
    let split = usize::from(selector) * (stream.len() + 1) / 256;
    let (a, b) = stream.split_at(split);
    for limit in [32 * 1024 * 1024, 24] {
        let whole = run(limit, &[stream]);
        let parts = run(limit, &[a, b]);
        match (&whole, &parts) {
            (Ok(w), Ok(p)) => assert_eq!(w, p, "split at {split}"),
            (Err(w), Err(p)) => assert_eq!(w, p),
            _ => panic!("limit {limit}: whole {whole:?} vs split at {split} {parts:?}"),
        }
    }
});
