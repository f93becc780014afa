//! Incremental Server-Sent-Events decoder.
//!
//! Both backends the app talks to stream over SSE: OpenAI-compatible
//! `/chat/completions` (`data: {json}` … `data: [DONE]`) and OpenCode's
//! `/event` bus. Network reads arrive in arbitrary pieces, so the decoder is a
//! push parser: the caller feeds raw bytes as they come and gets back the
//! events those bytes completed.
//!
//! Why it is shaped this way:
//! - It follows the WHATWG EventSource parsing rules (line endings `\r\n`,
//!   `\n` or lone `\r`; leading BOM; comments; one stripped space after the
//!   colon; `data` lines joined with `\n`; `id` persisting across events;
//!   digits-only `retry`), because servers differ in which of those corners
//!   they exercise and a browser-compatible parser is the one they are
//!   tested against.
//! - It buffers *bytes* and decodes only complete lines, so a chunk boundary
//!   that falls inside a multi-byte UTF-8 sequence (common with emoji and CJK
//!   text) never turns into U+FFFD.
//! - It remembers how far it has already scanned for a line terminator, so a
//!   huge line delivered in many small chunks costs linear time, not
//!   quadratic: a 5 MB reply or a 5,000 tokens/s stream stays cheap.
//! - A per-event size limit (pending line + accumulated data) stops a broken
//!   or hostile server from growing memory without bound.
//! - It is std-only so it can be compiled standalone by the fuzz target.

use std::fmt;

/// Default cap on one event (pending line plus accumulated data): large
/// enough for any realistic reply, small enough to stop a runaway stream.
const DEFAULT_MAX_EVENT_BYTES: usize = 32 * 1024 * 1024;

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// One dispatched event.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SseEvent {
    /// The `event:` field; `None` when absent or empty (the spec's "message").
    pub event: Option<String>,
    /// All `data:` lines of the event joined with `\n`.
    pub data: String,
    /// The last event ID in force when this event was dispatched. Like the
    /// spec's "last event ID" it persists across events until a new `id:`
    /// line changes it; an empty `id:` resets it to `None`.
    pub id: Option<String>,
    /// The most recent valid `retry:` value received since the previous
    /// dispatched event (so a `retry:` sent in a data-less block is not lost).
    pub retry: Option<u64>,
}

/// Why the decoder refused input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SseError {
    /// The pending line plus the event's accumulated data exceeded the limit.
    /// The event in progress is discarded; the stream should be abandoned.
    EventTooLarge { limit: usize },
}

impl fmt::Display for SseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SseError::EventTooLarge { limit } => {
                write!(f, "server-sent event exceeds the {limit}-byte limit")
            }
        }
    }
}

impl std::error::Error for SseError {}

/// Per-event parser state, kept apart from the byte buffer so a line can be
/// borrowed from the buffer while the state is mutated.
#[derive(Debug, Default)]
struct EventState {
    data: String,
    /// Distinguishes "no data line" from "one empty data line": the spec
    /// dispatches the latter (its data buffer would be "\n").
    has_data: bool,
    event: Option<String>,
    last_id: Option<String>,
    retry: Option<u64>,
    activity: bool,
}

impl EventState {
    /// Handles one complete line (terminator already removed).
    fn process_line(&mut self, line: &[u8]) -> Option<SseEvent> {
        if line.is_empty() {
            return self.dispatch();
        }
        self.activity = true;
        if line[0] == b':' {
            return None;
        }
        // Splitting on the ASCII colon before decoding is safe: 0x3A never
        // occurs inside a multi-byte UTF-8 sequence.
        let (field, value) = match line.iter().position(|&b| b == b':') {
            Some(colon) => {
                let rest = &line[colon + 1..];
                let rest = rest.strip_prefix(b" ").unwrap_or(rest);
                (&line[..colon], rest)
            }
            None => (line, &[][..]),
        };
        match field {
            b"data" => {
                if self.has_data {
                    self.data.push('\n');
                }
                self.has_data = true;
                self.data.push_str(&String::from_utf8_lossy(value));
            }
            b"event" => {
                self.event = if value.is_empty() {
                    None
                } else {
                    Some(String::from_utf8_lossy(value).into_owned())
                };
            }
            // The spec ignores ids containing NUL (they could not be sent
            // back in a Last-Event-ID header).
            b"id" if !value.contains(&0) => {
                self.last_id = if value.is_empty() {
                    None
                } else {
                    Some(String::from_utf8_lossy(value).into_owned())
                };
            }
            b"retry" if !value.is_empty() && value.iter().all(u8::is_ascii_digit) => {
                // Overflowing values are ignored rather than clamped: a
                // server sending 20+ digit delays is not worth obeying.
                if let Some(ms) = std::str::from_utf8(value)
                    .ok()
                    .and_then(|text| text.parse::<u64>().ok())
                {
                    self.retry = Some(ms);
                }
            }
            _ => {}
        }
        None
    }

    fn dispatch(&mut self) -> Option<SseEvent> {
        let event = self.event.take();
        if !self.has_data {
            return None;
        }
        self.has_data = false;
        Some(SseEvent {
            event,
            data: std::mem::take(&mut self.data),
            id: self.last_id.clone(),
            retry: self.retry.take(),
        })
    }

    /// Drops the event in progress but keeps what persists across events.
    fn discard_event(&mut self) {
        self.data = String::new();
        self.has_data = false;
        self.event = None;
    }
}

/// Push-style SSE decoder; see the module docs.
#[derive(Debug)]
pub struct SseDecoder {
    /// Raw bytes not yet consumed. Complete lines are consumed from `start`;
    /// the tail after the last terminator is the pending partial line.
    buf: Vec<u8>,
    /// First unconsumed byte in `buf`.
    start: usize,
    /// Bytes in `buf[start..scan]` are known to hold no line terminator, so
    /// the next push resumes scanning there instead of rescanning.
    scan: usize,
    /// The previous chunk ended with `\r`; a `\n` at the start of the next
    /// one belongs to the same `\r\n` terminator and must not make a second
    /// (empty, event-dispatching) line.
    skip_lf: bool,
    /// Still at stream start, where a UTF-8 BOM is skipped.
    at_stream_start: bool,
    state: EventState,
    max_event_bytes: usize,
}

impl Default for SseDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl SseDecoder {
    /// A decoder with the default 32 MiB per-event limit.
    pub fn new() -> Self {
        Self::with_limit(DEFAULT_MAX_EVENT_BYTES)
    }

    /// A decoder that rejects an event whose pending line plus accumulated
    /// data exceeds `max_event_bytes`.
    pub fn with_limit(max_event_bytes: usize) -> Self {
        SseDecoder {
            buf: Vec::new(),
            start: 0,
            scan: 0,
            skip_lf: false,
            at_stream_start: true,
            state: EventState::default(),
            max_event_bytes,
        }
    }

    /// Feed raw bytes as they arrive from the network; returns the events completed by this chunk.
    ///
    /// On error the event in progress (and any events completed earlier in
    /// the same chunk) are dropped; the stream should be treated as broken.
    pub fn push(&mut self, chunk: &[u8]) -> Result<Vec<SseEvent>, SseError> {
        let mut events = Vec::new();
        let mut chunk = chunk;
        if self.skip_lf && !chunk.is_empty() {
            self.skip_lf = false;
            if chunk[0] == b'\n' {
                chunk = &chunk[1..];
            }
        }
        self.buf.extend_from_slice(chunk);

        if self.at_stream_start {
            let pending = &self.buf[self.start..];
            if pending.len() < BOM.len() && BOM.starts_with(pending) {
                // Could still be a BOM split across chunks; decide later.
                return Ok(events);
            }
            if pending.starts_with(BOM) {
                self.start += BOM.len();
                self.scan = self.scan.max(self.start);
            }
            self.at_stream_start = false;
        }

        while let Some(offset) = self.buf[self.scan..]
            .iter()
            .position(|&b| b == b'\n' || b == b'\r')
        {
            let end = self.scan + offset;
            let next = if self.buf[end] == b'\r' {
                match self.buf.get(end + 1) {
                    Some(b'\n') => end + 2,
                    Some(_) => end + 1,
                    None => {
                        self.skip_lf = true;
                        end + 1
                    }
                }
            } else {
                end + 1
            };
            let line_len = end - self.start;
            if line_len.saturating_add(self.state.data.len()) > self.max_event_bytes {
                return Err(self.fail());
            }
            if let Some(event) = self.state.process_line(&self.buf[self.start..end]) {
                events.push(event);
            }
            self.start = next;
            self.scan = next;
        }
        self.scan = self.buf.len();

        if self.start > 0 {
            // Only the partial line is moved, and each byte is moved at most
            // once before its line completes, so this stays linear overall.
            self.buf.drain(..self.start);
            self.scan -= self.start;
            self.start = 0;
        }

        let pending = self.buf.len() - self.start;
        if pending.saturating_add(self.state.data.len()) > self.max_event_bytes {
            return Err(self.fail());
        }
        Ok(events)
    }

    /// Call at end of stream: returns a final event that had data but no trailing blank line.
    ///
    /// A final line without any terminator is processed as if it had one,
    /// since some servers close right after `data: [DONE]`. The decoder is
    /// left at a clean line boundary; the last event ID is kept.
    pub fn finish(&mut self) -> Option<SseEvent> {
        let mut line = std::mem::take(&mut self.buf);
        let mut from = self.start.min(line.len());
        if self.at_stream_start && line[from..].starts_with(BOM) {
            from += BOM.len();
        }
        self.start = 0;
        self.scan = 0;
        self.skip_lf = false;
        self.at_stream_start = false;
        let mut result = None;
        if from < line.len() {
            result = self.state.process_line(&line[from..]);
        }
        if result.is_none() {
            result = self.state.dispatch();
        }
        self.state.discard_event();
        // Reuse the allocation for any later pushes.
        line.clear();
        self.buf = line;
        result
    }

    /// true if a comment/heartbeat line or any field was seen since the last call (for stall detection)
    pub fn take_activity(&mut self) -> bool {
        std::mem::take(&mut self.state.activity)
    }

    fn fail(&mut self) -> SseError {
        self.buf.clear();
        self.start = 0;
        self.scan = 0;
        self.skip_lf = false;
        self.state.discard_event();
        SseError::EventTooLarge {
            limit: self.max_event_bytes,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `chunks` in order and finishes, failing the test on an error.
    fn decode_chunks<'a>(chunks: impl IntoIterator<Item = &'a [u8]>) -> Vec<SseEvent> {
        let mut decoder = SseDecoder::new();
        let mut events = Vec::new();
        for chunk in chunks {
            events.extend(decoder.push(chunk).expect("push failed"));
        }
        events.extend(decoder.finish());
        events
    }

    fn decode(input: &[u8]) -> Vec<SseEvent> {
        decode_chunks([input])
    }

    fn data_event(data: &str) -> SseEvent {
        SseEvent {
            data: data.to_string(),
            ..SseEvent::default()
        }
    }

    struct XorShift(u64);

    impl XorShift {
        fn next(&mut self) -> u64 {
            let mut x = self.0;
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            self.0 = x;
            x
        }
    }

    /// Asserts that whole, byte-by-byte, every 2-way split and random
    /// chunkings of `input` all decode to `expected`.
    fn assert_split_invariant(input: &[u8], expected: &[SseEvent]) {
        assert_eq!(decode(input), expected, "whole");
        assert_eq!(decode_chunks(input.chunks(1)), expected, "byte by byte");
        for split in 0..=input.len() {
            let (a, b) = input.split_at(split);
            assert_eq!(decode_chunks([a, b]), expected, "split at {split}");
        }
        let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
        for round in 0..200 {
            let mut chunks = Vec::new();
            let mut rest = input;
            while !rest.is_empty() {
                let max = if round % 2 == 0 { 7 } else { 64 };
                let len = (rng.next() % max) as usize;
                let (a, b) = rest.split_at(len.min(rest.len()));
                chunks.push(a);
                rest = b;
            }
            assert_eq!(decode_chunks(chunks), expected, "random round {round}");
        }
    }

    const OPENAI_STREAM: &str = concat!(
        r#"data: {"id": "chatcmpl-6b83d6af-fe04-4980-8faf-c9d985d861a7", "model": "smollm2-135m", "created": 1795304230, "object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {"role": "assistant"}, "logprobs": null, "finish_reason": null}]}"#,
        "\n\n",
        r#"data: {"id": "chatcmpl-6b83d6af-fe04-4980-8faf-c9d985d861a7", "model": "smollm2-135m", "created": 1795304230, "object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {"content": "I"}, "logprobs": null, "finish_reason": null}]}"#,
        "\n\n",
        r#"data: {"id": "chatcmpl-6b83d6af-fe04-4980-8faf-c9d985d861a7", "model": "smollm2-135m", "created": 1795304230, "object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {"content": "'m"}, "logprobs": null, "finish_reason": null}]}"#,
        "\n\n",
        r#"data: {"id": "chatcmpl-6b83d6af-fe04-4980-8faf-c9d985d861a7", "model": "smollm2-135m", "created": 1795304230, "object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {"content": " glad"}, "logprobs": null, "finish_reason": null}]}"#,
        "\n\n",
        r#"data: {"id": "chatcmpl-6b83d6af-fe04-4980-8faf-c9d985d861a7", "model": "smollm2-135m", "created": 1795304230, "object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {}, "logprobs": null, "finish_reason": "stop"}]}"#,
        "\n\n",
        "data: [DONE]\n\n",
    );

    fn openai_expected() -> Vec<SseEvent> {
        OPENAI_STREAM
            .split("\n\n")
            .filter(|block| !block.is_empty())
            .map(|block| data_event(block.strip_prefix("data: ").expect("data line")))
            .collect()
    }

    #[test]
    fn openai_stream_any_chunking() {
        let expected = openai_expected();
        assert_eq!(expected.len(), 6);
        assert!(expected[1].data.contains(r#""content": "I""#));
        assert_eq!(expected[5].data, "[DONE]");
        assert_split_invariant(OPENAI_STREAM.as_bytes(), &expected);
    }

    #[test]
    fn openai_stream_with_crlf_any_chunking() {
        let crlf = OPENAI_STREAM.replace('\n', "\r\n");
        assert_split_invariant(crlf.as_bytes(), &openai_expected());
    }

    #[test]
    fn mixed_features_any_chunking() {
        let input = "\u{FEFF}: hello\r\nevent: delta\rid: 7\r\nretry: 1500\ndata: héllo 😀\r\ndata: 中文\r\r\n:ping\n\ndata\n\nid\ndata: x\n\ndata: tail";
        let expected = vec![
            SseEvent {
                event: Some("delta".into()),
                data: "héllo 😀\n中文".into(),
                id: Some("7".into()),
                retry: Some(1500),
            },
            SseEvent {
                id: Some("7".into()),
                ..data_event("")
            },
            data_event("x"),
            data_event("tail"),
        ];
        assert_split_invariant(input.as_bytes(), &expected);
    }

    #[test]
    fn line_endings_lf_crlf_and_lone_cr() {
        assert_eq!(decode(b"data: a\n\n"), vec![data_event("a")]);
        assert_eq!(decode(b"data: a\r\n\r\n"), vec![data_event("a")]);
        assert_eq!(decode(b"data: a\r\r"), vec![data_event("a")]);
        assert_eq!(decode(b"data: a\rdata: b\r\r"), vec![data_event("a\nb")]);
    }

    #[test]
    fn cr_at_chunk_end_then_lf_is_one_terminator() {
        let mut decoder = SseDecoder::new();
        assert_eq!(decoder.push(b"data: a\r").unwrap(), vec![]);
        // Were the `\n` taken as an empty line, "a" would be dispatched alone.
        assert_eq!(decoder.push(b"\ndata: b\r").unwrap(), vec![]);
        assert_eq!(decoder.push(b"\n\r").unwrap(), vec![data_event("a\nb")]);
        assert_eq!(decoder.push(b"\n").unwrap(), vec![]);
        assert_eq!(decoder.finish(), None);
    }

    #[test]
    fn cr_at_chunk_end_followed_by_other_byte() {
        let mut decoder = SseDecoder::new();
        assert_eq!(decoder.push(b"data: a\r").unwrap(), vec![]);
        assert_eq!(decoder.push(b"\r").unwrap(), vec![data_event("a")]);
    }

    #[test]
    fn bom_is_skipped_only_at_stream_start() {
        assert_eq!(decode(b"\xEF\xBB\xBFdata: x\n\n"), vec![data_event("x")]);
        // A later BOM is part of the field name, making it an unknown field.
        assert_eq!(
            decode(b"data: x\n\n\xEF\xBB\xBFdata: y\n\n"),
            vec![data_event("x")]
        );
        // A stream that is nothing but a partial BOM-like prefix.
        let mut decoder = SseDecoder::new();
        assert_eq!(decoder.push(b"\xEF\xBB").unwrap(), vec![]);
        assert_eq!(decoder.finish(), None);
    }

    #[test]
    fn comments_are_ignored_but_count_as_activity() {
        let mut decoder = SseDecoder::new();
        assert!(!decoder.take_activity());
        assert_eq!(decoder.push(b": keep-alive\n").unwrap(), vec![]);
        assert!(decoder.take_activity());
        assert!(!decoder.take_activity());
        assert_eq!(decoder.push(b":\n\n").unwrap(), vec![]);
        assert!(decoder.take_activity());
        assert_eq!(decoder.push(b"data: a\n").unwrap(), vec![]);
        assert!(decoder.take_activity());
        // A blank line alone is not activity.
        assert_eq!(decoder.push(b"\n").unwrap(), vec![data_event("a")]);
        assert!(!decoder.take_activity());
        assert_eq!(decoder.push(b"unknown: field\n").unwrap(), vec![]);
        assert!(decoder.take_activity());
    }

    #[test]
    fn one_leading_space_is_stripped() {
        assert_eq!(decode(b"data:a\n\n"), vec![data_event("a")]);
        assert_eq!(decode(b"data: a\n\n"), vec![data_event("a")]);
        assert_eq!(decode(b"data:  a \n\n"), vec![data_event(" a ")]);
        assert_eq!(decode(b"data: a: b\n\n"), vec![data_event("a: b")]);
    }

    #[test]
    fn field_without_colon_has_empty_value() {
        assert_eq!(decode(b"data\n\n"), vec![data_event("")]);
        assert_eq!(decode(b"data\ndata\n\n"), vec![data_event("\n")]);
        assert_eq!(
            decode(b"event: a\nevent\ndata: x\n\n"),
            vec![data_event("x")]
        );
    }

    #[test]
    fn multi_line_data_is_joined_with_lf() {
        assert_eq!(
            decode(b"data: one\ndata: two\ndata:\ndata: four\n\n"),
            vec![data_event("one\ntwo\n\nfour")]
        );
    }

    #[test]
    fn event_without_data_is_not_dispatched_and_type_resets() {
        assert_eq!(decode(b"event: ping\n\ndata: x\n\n"), vec![data_event("x")]);
    }

    #[test]
    fn event_id_and_retry_fields() {
        let events = decode(
            b"event: session.updated\nid: 42\nretry: 3000\ndata: {}\n\ndata: second\n\nid\ndata: third\n\n",
        );
        assert_eq!(
            events,
            vec![
                SseEvent {
                    event: Some("session.updated".into()),
                    data: "{}".into(),
                    id: Some("42".into()),
                    retry: Some(3000),
                },
                SseEvent {
                    id: Some("42".into()),
                    ..data_event("second")
                },
                data_event("third"),
            ]
        );
    }

    #[test]
    fn invalid_retry_and_nul_id_are_ignored() {
        let events = decode(b"retry: 12a\nretry: -5\nretry:\nid: a\0b\ndata: x\n\n");
        assert_eq!(events, vec![data_event("x")]);
        // A retry in a data-less block carries over to the next event.
        let events = decode(b"retry: 10\n\ndata: y\n\n");
        assert_eq!(events[0].retry, Some(10));
        // Too many digits for u64.
        let events = decode(b"retry: 99999999999999999999999\ndata: z\n\n");
        assert_eq!(events[0].retry, None);
    }

    #[test]
    fn unknown_fields_are_ignored() {
        assert_eq!(
            decode(b"foo: bar\nData: no\ndata: yes\n\n"),
            vec![data_event("yes")]
        );
    }

    #[test]
    fn done_sentinel_is_plain_data() {
        assert_eq!(decode(b"data: [DONE]\n\n"), vec![data_event("[DONE]")]);
    }

    #[test]
    fn finish_returns_last_event_without_blank_line() {
        let mut decoder = SseDecoder::new();
        assert_eq!(
            decoder.push(b"data: a\n\ndata: b\n").unwrap(),
            vec![data_event("a")]
        );
        assert_eq!(decoder.finish(), Some(data_event("b")));
        assert_eq!(decoder.finish(), None);

        // No terminator at all on the final line.
        let mut decoder = SseDecoder::new();
        assert_eq!(decoder.push(b"data: [DONE]").unwrap(), vec![]);
        assert_eq!(decoder.finish(), Some(data_event("[DONE]")));

        // Nothing pending: nothing returned.
        let mut decoder = SseDecoder::new();
        assert_eq!(
            decoder.push(b"data: a\n\n: c").unwrap(),
            vec![data_event("a")]
        );
        assert_eq!(decoder.finish(), None);
    }

    #[test]
    fn utf8_split_inside_code_points() {
        let text = "😀 emoji 中文字 mixed ü 🎉";
        let input = format!("data: {text}\n\n");
        let expected = vec![data_event(text)];
        assert_split_invariant(input.as_bytes(), &expected);
        // Explicitly split inside the 4-byte emoji.
        let bytes = input.as_bytes();
        let emoji_start = "data: ".len();
        for cut in 1..4 {
            let events = decode_chunks([&bytes[..emoji_start + cut], &bytes[emoji_start + cut..]]);
            assert_eq!(events, expected);
            assert!(!events[0].data.contains('\u{FFFD}'));
        }
    }

    #[test]
    fn invalid_utf8_is_replaced_not_fatal() {
        assert_eq!(decode(b"data: a\xFFb\n\n"), vec![data_event("a\u{FFFD}b")]);
    }

    #[test]
    fn size_limit_on_pending_line() {
        let mut decoder = SseDecoder::with_limit(16);
        let err = decoder.push(b"data: 0123456789abcdef").unwrap_err();
        assert_eq!(err, SseError::EventTooLarge { limit: 16 });
        assert_eq!(
            err.to_string(),
            "server-sent event exceeds the 16-byte limit"
        );
    }

    #[test]
    fn size_limit_on_accumulated_data() {
        let mut decoder = SseDecoder::with_limit(16);
        assert_eq!(decoder.push(b"data: 0123456789\n").unwrap(), vec![]);
        assert_eq!(
            decoder.push(b"data: 0123456789\n"),
            Err(SseError::EventTooLarge { limit: 16 })
        );
        // Events within the limit are fine, and the limit is per event.
        let mut decoder = SseDecoder::with_limit(16);
        for _ in 0..100 {
            assert_eq!(
                decoder.push(b"data: 0123456789\n\n").unwrap(),
                vec![data_event("0123456789")]
            );
        }
    }

    #[test]
    fn size_limit_on_line_completed_in_one_chunk() {
        let mut decoder = SseDecoder::with_limit(16);
        assert_eq!(
            decoder.push(b": a very long comment line that is over the limit\n"),
            Err(SseError::EventTooLarge { limit: 16 })
        );
    }

    #[test]
    fn five_megabyte_line_in_1k_chunks() {
        let mut payload = "a".repeat(5 * 1024 * 1024);
        payload.push_str("中😀");
        let input = format!("data: {payload}\n\ndata: [DONE]\n\n");
        let mut decoder = SseDecoder::new();
        let mut events = Vec::new();
        for chunk in input.as_bytes().chunks(1024) {
            events.extend(decoder.push(chunk).unwrap());
        }
        assert_eq!(decoder.finish(), None);
        assert_eq!(events.len(), 2);
        assert_eq!(events[0].data.len(), payload.len());
        assert!(events[0].data == payload);
        assert_eq!(events[1], data_event("[DONE]"));
    }

    #[test]
    fn many_small_events_in_one_push() {
        let input = "data: t\n\n".repeat(10_000);
        let events = decode(input.as_bytes());
        assert_eq!(events.len(), 10_000);
        assert!(events.iter().all(|e| e.data == "t"));
    }

    #[test]
    fn default_is_new() {
        let mut decoder = SseDecoder::default();
        assert_eq!(decoder.push(b"data: x\n\n").unwrap(), vec![data_event("x")]);
        assert_eq!(decoder.max_event_bytes, DEFAULT_MAX_EVENT_BYTES);
    }
}
