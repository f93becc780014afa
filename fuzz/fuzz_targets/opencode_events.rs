//! Fuzz target for the OpenCode event path: `/event` bytes → SSE frames → typed events → the
//! session screen's state and the session list. A server (or anything between it and the app)
//! can send any bytes; the decoder must never panic, a bad payload must stay one bad item, and
//! the state the screen shows must not depend on how the network chunked the stream.
//!
//! The first input byte chooses the split point (scaled to the length); the rest is the stream.
#![no_main]

use libfuzzer_sys::fuzz_target;

use opencode_nexus::engine::opencode::api::Event;
use opencode_nexus::engine::opencode::{EventDecoder, SessionList, SessionView};

/// Decodes the chunks in order into the Debug text of each item (events and errors alike).
fn decode(chunks: &[&[u8]]) -> Vec<Result<Event, String>> {
    let mut decoder = EventDecoder::<Event>::new();
    let mut items = Vec::new();
    for chunk in chunks {
        items.extend(decoder.push(chunk));
    }
    items.extend(decoder.finish());
    items
        .into_iter()
        .map(|r| r.map_err(|e| e.to_string()))
        .collect()
}

/// Applies the events to the screen of the first session they mention and to the list.
fn apply(items: &[Result<Event, String>]) -> (SessionView, SessionList) {
    let session = items
        .iter()
        .filter_map(|r| r.as_ref().ok())
        .find_map(|e| e.session_id().map(str::to_owned))
        .unwrap_or_else(|| "ses_fuzz".to_owned());
    let mut view = SessionView::new(session);
    let mut list = SessionList::default();
    for event in items.iter().filter_map(|r| r.as_ref().ok()) {
        view.apply(event);
        list.apply(event);
    }
    (view, list)
}

fuzz_target!(|input: &[u8]| {
    let Some((&selector, stream)) = input.split_first() else {
        return;
    };
    let split = usize::from(selector) * (stream.len() + 1) / 256;
    let (a, b) = stream.split_at(split);
    let whole = decode(&[stream]);
    let parts = decode(&[a, b]);
    assert_eq!(
        format!("{whole:?}"),
        format!("{parts:?}"),
        "split at {split}"
    );
    let (view_whole, list_whole) = apply(&whole);
    let (view_parts, list_parts) = apply(&parts);
    assert_eq!(view_whole, view_parts);
    assert_eq!(list_whole, list_parts);
    // Applying a stream again (a reconnect replays what the screen already has) must not panic.
    let mut again = view_whole.clone();
    for event in whole.iter().filter_map(|r| r.as_ref().ok()) {
        again.apply(event);
    }
});
