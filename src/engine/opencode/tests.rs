//! Unit tests of the OpenCode protocol layer against traffic captured from a real server
//! (1.18.33, `tests/fixtures/opencode/`). Replaying real captures is the point: the shapes
//! and the event order are the server's, not our idea of them.

use std::collections::{HashMap, HashSet};

use serde_json::{json, Value};

use super::api::*;
use super::client::EventDecoder;
use super::state::{Changed, SessionList, SessionView};

fn fixture(name: &str) -> String {
    let path = format!(
        "{}/tests/fixtures/opencode/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {path}: {e}"))
}

fn parse<T: serde::de::DeserializeOwned>(name: &str) -> T {
    serde_json::from_str(&fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// All events of a captured `/event` stream, in order, through the real SSE decoder.
fn events(name: &str) -> Vec<Event> {
    let mut d = EventDecoder::<Event>::new();
    let text = fixture(name);
    let mut out = Vec::new();
    // Odd-sized chunks so events and UTF-8 sequences are split at arbitrary places.
    for chunk in text.as_bytes().chunks(97) {
        out.extend(d.push(chunk));
    }
    out.extend(d.finish());
    out.into_iter()
        .map(|r| r.unwrap_or_else(|e| panic!("{name}: {e}")))
        .collect()
}

fn raw_kinds(name: &str) -> Vec<String> {
    fixture(name)
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .map(|d| {
            let v: Value = serde_json::from_str(d).expect("captured line is JSON");
            let v = v.get("payload").cloned().unwrap_or(v);
            v["type"].as_str().expect("type").to_owned()
        })
        .collect()
}

const APPLIED_KINDS: &[&str] = &[
    "server.connected",
    "server.heartbeat",
    "session.created",
    "session.updated",
    "session.deleted",
    "session.status",
    "session.idle",
    "session.error",
    "session.diff",
    "message.updated",
    "message.removed",
    "message.part.updated",
    "message.part.delta",
    "message.part.removed",
    "permission.asked",
    "permission.replied",
    "question.asked",
    "question.replied",
    "question.rejected",
];

fn assert_no_unknown_parts(parts: &[Part], ctx: &str) {
    for p in parts {
        assert!(!matches!(p, Part::Unknown(_)), "{ctx}: unknown part {p:?}");
    }
}

const EVENT_CAPTURES: &[&str] = &[
    "event-abort.sse",
    "event-idle.sse",
    "event-llm-down.sse",
    "event-roundtrip-build-agent-async.sse",
    "event-roundtrip-chat-agent.sse",
    "event-roundtrip-final.sse",
];

#[test]
fn every_sample_response_parses() {
    for name in [
        "session-create.json",
        "session-create-untitled.json",
        "session-get.json",
        "session-rename.json",
    ] {
        let s: Session = parse(name);
        assert!(s.id.starts_with("ses_"), "{name}");
        assert_eq!(s.version, "1.18.33");
        assert!(s.time.created > 0 && s.time.updated >= s.time.created);
        assert!(!s.title.is_empty());
    }
    let list: Vec<Session> = parse("session-list.json");
    assert!(list.len() >= 2);
    let one: Vec<Session> = parse("session-list-limit1.json");
    assert_eq!(one[0].agent.as_deref(), Some("chat"));
    assert_eq!(
        one[0].model.as_ref().map(|m| m.provider_id.as_str()),
        Some("llamacpp")
    );
    assert_eq!(one[0].summary, Some(SessionSummary::default()));
    assert!(parse::<Vec<Session>>("session-list-empty.json").is_empty());

    let msgs: Vec<MessageWithParts> = parse("session-messages.json");
    assert_eq!(msgs.len(), 2);
    assert!(matches!(msgs[0].info, MessageInfo::User(_)));
    assert_eq!(msgs[0].text(), "Say hello");
    let a = msgs[1].info.as_assistant().expect("assistant");
    assert_eq!(
        (a.model_id.as_str(), a.provider_id.as_str()),
        ("smollm2-135m", "llamacpp")
    );
    assert_eq!(a.finish.as_deref(), Some("stop"));
    assert_eq!(msgs[1].text(), "Hello! How can I help you today?");
    assert_no_unknown_parts(&msgs[1].parts, "session-messages.json");
    assert!(parse::<Vec<MessageWithParts>>("session-messages-empty.json").is_empty());

    let sync: MessageWithParts = parse("session-prompt-sync-response.json");
    let kinds: Vec<&str> = sync.parts.iter().map(Part::type_name).collect();
    assert_eq!(kinds, ["step-start", "text", "step-finish"]);
    assert!(matches!(&sync.parts[2], Part::StepFinish(f) if f.reason == "stop"));

    let providers: ProvidersResponse = parse("config-providers.json");
    let p = &providers.providers[0];
    assert_eq!(p.id, "llamacpp");
    let m = &p.models["smollm2-135m"];
    assert_eq!((m.limit.context, m.limit.output), (8192, 512));
    assert_eq!(
        providers.default_model("llamacpp"),
        Some(ModelRef {
            provider_id: "llamacpp".into(),
            model_id: "smollm2-135m".into()
        })
    );

    let agents: Vec<Agent> = parse("agent-list.json");
    let names: Vec<&str> = agents.iter().map(|a| a.name.as_str()).collect();
    assert!(
        names.contains(&"build") && names.contains(&"plan"),
        "{names:?}"
    );
    let compaction = agents
        .iter()
        .find(|a| a.name == "compaction")
        .expect("compaction");
    assert!(compaction.hidden && !compaction.is_selectable());
    assert!(agents
        .iter()
        .any(|a| a.name == "build" && a.is_selectable()));
    assert!(agents
        .iter()
        .any(|a| a.mode == "subagent" && !a.is_selectable()));

    let health: Health = parse("global-health.json");
    assert_eq!(
        health,
        Health {
            healthy: true,
            version: Some("1.18.33".into())
        }
    );
    assert!(parse::<Vec<PermissionRequest>>("permission-list.json").is_empty());
    assert!(parse::<Vec<QuestionRequest>>("question-list.json").is_empty());
    assert!(parse::<HashMap<String, SessionStatus>>("session-status.json").is_empty());
    let busy: HashMap<String, SessionStatus> = parse("session-status-busy.json");
    assert_eq!(
        busy.get("ses_dff852733ffeH91oTObLuQtOBE"),
        Some(&SessionStatus::Busy)
    );
}

#[test]
fn every_captured_event_line_parses() {
    for name in EVENT_CAPTURES {
        let evs = events(name);
        let kinds = raw_kinds(name);
        assert_eq!(evs.len(), kinds.len(), "{name}: one event per data line");
        for (ev, kind) in evs.iter().zip(&kinds) {
            let is_other = matches!(ev, Event::Other { .. });
            assert_eq!(
                is_other,
                !APPLIED_KINDS.contains(&kind.as_str()),
                "{name}: {kind} parsed as {ev:?}"
            );
            if let Event::Other { kind: k } = ev {
                assert_eq!(k, kind);
            }
            if let Event::MessagePartUpdated { part, .. } = ev {
                assert_no_unknown_parts(std::slice::from_ref(part), name);
            }
        }
    }
    // The idle capture is boot noise only: everything but server.connected is ignored.
    let idle = events("event-idle.sse");
    assert_eq!(idle[0], Event::ServerConnected);
    assert!(idle[1..].iter().all(|e| matches!(e, Event::Other { .. })));
}

#[test]
fn every_global_event_line_parses() {
    for name in [
        "global-event-idle.sse",
        "global-event-roundtrip-chat-agent.sse",
        "global-event-roundtrip-final.sse",
    ] {
        let mut d = EventDecoder::<GlobalEvent>::new();
        let mut out = d.push(fixture(name).as_bytes());
        out.extend(d.finish());
        let kinds = raw_kinds(name);
        assert_eq!(out.len(), kinds.len(), "{name}");
        for (ev, kind) in out.into_iter().zip(kinds) {
            let ev = ev.unwrap_or_else(|e| panic!("{name}: {e}"));
            if kind == "server.connected" {
                assert_eq!(ev.payload, Event::ServerConnected);
            } else if ev.payload.session_id().is_some() {
                assert!(ev.directory.is_some(), "{name}: {kind} has a directory");
            }
            assert_eq!(
                matches!(ev.payload, Event::Other { .. }),
                !APPLIED_KINDS.contains(&kind.as_str()),
                "{name}: {kind}"
            );
        }
    }
}

#[test]
fn event_examples_parse_to_the_right_variants() {
    let examples: HashMap<String, Value> = parse("event-examples.json");
    assert_eq!(examples.len(), 22);
    for (label, v) in &examples {
        let raw: RawEvent = serde_json::from_value(v.clone()).expect("raw event");
        let ev = Event::from_raw(raw).unwrap_or_else(|e| panic!("{label}: {e}"));
        let kind = label.split(':').next().unwrap_or_default();
        match kind {
            "plugin.added" | "catalog.updated" | "reference.updated" | "integration.updated" => {
                assert_eq!(ev, Event::Other { kind: kind.into() })
            }
            "session.error" => match ev {
                Event::SessionError {
                    session_id: Some(_),
                    error: Some(err),
                } => {
                    assert!(err.is_abort());
                    assert_eq!(err.message(), Some("Aborted"));
                }
                other => panic!("session.error parsed as {other:?}"),
            },
            "message.part.delta" => {
                assert!(matches!(ev, Event::MessagePartDelta { ref field, .. } if field == "text"))
            }
            "session.status" => assert!(matches!(ev, Event::SessionStatus { .. })),
            _ => assert!(!matches!(ev, Event::Other { .. }), "{label}"),
        }
    }
}

#[test]
fn unknown_event_types_are_other_and_malformed_known_ones_are_errors() {
    let ev = Event::parse(r#"{"type":"todo.updated","properties":{"whatever":[1,2]}}"#)
        .expect("unknown type is fine");
    assert_eq!(
        ev,
        Event::Other {
            kind: "todo.updated".into()
        }
    );
    assert!(
        Event::parse(r#"{"type":"brand.new"}"#).is_ok(),
        "properties optional"
    );
    assert!(
        Event::parse(r#"{"type":"message.part.delta","properties":{"sessionID":"ses_1"}}"#)
            .is_err()
    );
    assert!(Event::parse("not json").is_err());
}

fn session_id_of(evs: &[Event]) -> String {
    evs.iter()
        .find_map(|e| match e {
            Event::SessionCreated { info } | Event::SessionUpdated { info } => {
                Some(info.id.clone())
            }
            _ => None,
        })
        .expect("capture has a session")
}

fn final_text_update(evs: &[Event]) -> (usize, TextPart) {
    evs.iter()
        .enumerate()
        .rev()
        .find_map(|(i, e)| match e {
            Event::MessagePartUpdated {
                part: Part::Text(t),
                ..
            } if t.time.and_then(|t| t.end).is_some() => Some((i, t.clone())),
            _ => None,
        })
        .expect("a finished text part")
}

fn duplicate_part_ids(view: &SessionView) -> Vec<String> {
    let mut seen = HashSet::new();
    let mut dups = Vec::new();
    for m in &view.messages {
        for p in &m.parts {
            let id = p.id().unwrap_or_default().to_owned();
            if !seen.insert(id.clone()) {
                dups.push(id);
            }
        }
    }
    dups
}

#[test]
fn replaying_the_roundtrip_builds_the_final_reply() {
    let evs = events("event-roundtrip-final.sse");
    let sid = session_id_of(&evs);
    let (final_idx, final_part) = final_text_update(&evs);
    assert!(!final_part.text.is_empty());

    let mut view = SessionView::new(&sid);
    let mut saw_busy = false;
    for (i, ev) in evs.iter().enumerate() {
        if i == final_idx {
            // Deltas alone must already have produced the full text before the final update.
            let streamed = view.last_assistant().expect("assistant").text();
            assert_eq!(streamed, final_part.text);
        }
        view.apply(ev);
        saw_busy |= view.status == SessionStatus::Busy;
    }
    assert!(saw_busy);
    assert_eq!(view.status, SessionStatus::Idle);
    assert_eq!(view.messages.len(), 2, "user prompt and reply");
    assert_eq!(view.messages[0].text(), "Say hello");
    let reply = view.last_assistant().expect("assistant");
    assert_eq!(reply.text(), final_part.text);
    let kinds: Vec<&str> = reply.parts.iter().map(Part::type_name).collect();
    assert_eq!(kinds, ["step-start", "text", "step-finish"]);
    let info = reply.info.as_assistant().expect("assistant");
    assert!(info.time.completed.is_some());
    assert_eq!(info.finish.as_deref(), Some("stop"));
    // The generated title replaced the placeholder one.
    let title = &view.session.as_ref().expect("session").title;
    assert!(!title.starts_with("New session"), "{title}");
    assert!(duplicate_part_ids(&view).is_empty());
    assert!(!view.is_placeholder(&final_part.id));
}

#[test]
fn events_for_other_sessions_are_ignored() {
    let evs = events("event-roundtrip-final.sse");
    let mut view = SessionView::new("ses_someone_else");
    for ev in &evs {
        assert_eq!(view.apply(ev), Changed::Nothing, "{ev:?}");
    }
    assert!(view.messages.is_empty() && view.session.is_none());
}

/// Replays a capture, dropping every third delta and everything from the final text update
/// on, as if the stream broke mid-reply.
fn broken_replay(name: &str) -> (SessionView, Vec<Event>) {
    let evs = events(name);
    let sid = session_id_of(&evs);
    let (final_idx, _) = final_text_update(&evs);
    let mut view = SessionView::new(sid);
    let mut n = 0;
    for ev in &evs[..final_idx] {
        if matches!(ev, Event::MessagePartDelta { .. }) {
            n += 1;
            if n % 3 == 0 {
                continue;
            }
        }
        view.apply(ev);
    }
    (view, evs)
}

#[test]
fn refetch_after_dropped_deltas_equals_the_server_state() {
    // session-messages.json is the server's answer for the session in this capture.
    let (mut view, _) = broken_replay("event-roundtrip-build-agent-async.sse");
    let fetched: Vec<MessageWithParts> = parse("session-messages.json");
    assert_ne!(view.messages, fetched, "the broken replay really is broken");
    view.replace_from_fetch(fetched.clone());
    assert_eq!(view.messages, fetched);
    assert!(duplicate_part_ids(&view).is_empty());

    // The same with a fetch built from a complete replay of the other capture, serialized
    // to the `GET /session/{id}/message` shape and parsed back.
    let (mut broken, evs) = broken_replay("event-roundtrip-final.sse");
    let mut full = SessionView::new(session_id_of(&evs));
    for ev in &evs {
        full.apply(ev);
    }
    let wire = serde_json::to_string(&full.messages).expect("serialize");
    let fetched: Vec<MessageWithParts> = serde_json::from_str(&wire).expect("parse back");
    broken.replace_from_fetch(fetched);
    assert_eq!(broken.messages, full.messages);
    assert!(duplicate_part_ids(&broken).is_empty());
    // Events that arrive after the refetch (the final part update, again) change nothing.
    for ev in &evs {
        if let Event::MessagePartUpdated { .. } | Event::MessageUpdated { .. } = ev {
            broken.apply(ev);
        }
    }
    assert_eq!(broken.messages.last(), full.messages.last());
}

#[test]
fn refetch_keeps_text_streamed_after_the_snapshot() {
    // Server snapshot taken at "Hel"; the client already saw "Hello" through deltas.
    let mut view = SessionView::new("ses_1");
    let delta = |d: &str| Event::MessagePartDelta {
        session_id: "ses_1".into(),
        message_id: "msg_2".into(),
        part_id: "prt_2".into(),
        field: "text".into(),
        delta: d.into(),
    };
    view.apply(&delta("Hel"));
    view.apply(&delta("lo"));
    let fetched: Vec<MessageWithParts> = serde_json::from_value(json!([{
        "info": {"id":"msg_2","sessionID":"ses_1","role":"assistant","time":{"created":1},
                 "modelID":"m","providerID":"p"},
        "parts": [{"id":"prt_2","sessionID":"ses_1","messageID":"msg_2","type":"text","text":"Hel",
                   "time":{"start":1}}]
    }]))
    .expect("fetch");
    view.replace_from_fetch(fetched);
    assert_eq!(view.messages[0].text(), "Hello");
    view.apply(&delta("!"));
    assert_eq!(view.messages[0].text(), "Hello!");
    assert!(!view.is_placeholder("prt_2"));
}

#[test]
fn deltas_before_their_part_are_kept_in_a_placeholder() {
    let mut view = SessionView::new("ses_1");
    let ev = Event::MessagePartDelta {
        session_id: "ses_1".into(),
        message_id: "msg_9".into(),
        part_id: "prt_9".into(),
        field: "text".into(),
        delta: "Hi".into(),
    };
    assert_eq!(view.apply(&ev), Changed::Messages);
    assert!(view.is_placeholder("msg_9") && view.is_placeholder("prt_9"));
    assert_eq!(view.messages[0].text(), "Hi");
    // A delta to another field of an unknown part is not text and is not guessed at.
    let other = Event::MessagePartDelta {
        session_id: "ses_1".into(),
        message_id: "msg_9".into(),
        part_id: "prt_10".into(),
        field: "metadata".into(),
        delta: "x".into(),
    };
    assert_eq!(view.apply(&other), Changed::Nothing);

    let part: Part = serde_json::from_value(json!({
        "id":"prt_9","sessionID":"ses_1","messageID":"msg_9","type":"text","text":"Hi there",
        "time":{"start":1,"end":2}
    }))
    .expect("part");
    view.apply(&Event::MessagePartUpdated { part, delta: None });
    let info: MessageInfo = serde_json::from_value(json!({
        "id":"msg_9","sessionID":"ses_1","role":"assistant","time":{"created":5},
        "modelID":"m","providerID":"p","cost":0.25,
        "tokens":{"input":10,"output":3,"reasoning":0,"cache":{"read":1,"write":0}}
    }))
    .expect("info");
    view.apply(&Event::MessageUpdated { info });
    assert_eq!(view.messages.len(), 1);
    assert_eq!(view.messages[0].parts.len(), 1);
    assert_eq!(view.messages[0].text(), "Hi there");
    assert!(!view.is_placeholder("msg_9") && !view.is_placeholder("prt_9"));
    let (cost, tokens) = view.totals();
    assert_eq!(cost, 0.25);
    assert_eq!((tokens.input, tokens.output, tokens.cache.read), (10, 3, 1));

    view.apply(&Event::MessagePartRemoved {
        session_id: "ses_1".into(),
        message_id: "msg_9".into(),
        part_id: "prt_9".into(),
    });
    assert!(view.messages[0].parts.is_empty());
    view.apply(&Event::MessageRemoved {
        session_id: "ses_1".into(),
        message_id: "msg_9".into(),
    });
    assert!(view.messages.is_empty());
}

#[test]
fn deltas_only_touch_text_of_text_and_reasoning_parts() {
    let mut view = SessionView::new("ses_1");
    for part in [
        json!({"id":"prt_1","sessionID":"ses_1","messageID":"msg_1","type":"reasoning","text":"a","time":{"start":1}}),
        json!({"id":"prt_2","sessionID":"ses_1","messageID":"msg_1","type":"step-start"}),
    ] {
        let part: Part = serde_json::from_value(part).expect("part");
        view.apply(&Event::MessagePartUpdated { part, delta: None });
    }
    let delta = |part: &str, field: &str| Event::MessagePartDelta {
        session_id: "ses_1".into(),
        message_id: "msg_1".into(),
        part_id: part.into(),
        field: field.into(),
        delta: "b".into(),
    };
    assert_eq!(view.apply(&delta("prt_1", "text")), Changed::Messages);
    assert_eq!(view.apply(&delta("prt_1", "signature")), Changed::Nothing);
    assert_eq!(view.apply(&delta("prt_2", "text")), Changed::Nothing);
    assert_eq!(view.messages[0].parts[0].text(), Some("ab"));
}

#[test]
fn abort_and_llm_down_captures_end_in_the_right_state() {
    let evs = events("event-abort.sse");
    let mut view = SessionView::new(session_id_of(&evs));
    for ev in &evs {
        view.apply(ev);
    }
    let err = view.last_error.as_ref().expect("abort error");
    assert!(err.is_abort());
    assert_eq!(view.status, SessionStatus::Idle);
    // The reply was cut off, but what streamed before the abort is kept.
    let reply = view.last_assistant().expect("assistant");
    assert!(
        reply.text().starts_with("Once upon a time"),
        "{}",
        reply.text()
    );

    let evs = events("event-llm-down.sse");
    let mut view = SessionView::new(session_id_of(&evs));
    let mut max_attempt = 0;
    for ev in &evs {
        view.apply(ev);
        if let SessionStatus::Retry {
            attempt,
            message,
            next,
        } = &view.status
        {
            assert!(!message.is_empty() && *next > 0);
            max_attempt = max_attempt.max(*attempt);
        }
    }
    assert!(max_attempt >= 2, "retries were seen: {max_attempt}");
    assert!(view.status.is_busy());
}

#[test]
fn permissions_and_questions_come_and_go() {
    let mut view = SessionView::new("ses_1");
    let asked = Event::parse(
        &json!({"type":"permission.asked","properties":{
            "id":"per_1","sessionID":"ses_1","permission":"bash","patterns":["ls *"],
            "metadata":{"command":"ls"},"always":["ls *"],"tool":{"messageID":"msg_1","callID":"call_1"}}})
        .to_string(),
    )
    .expect("permission.asked");
    assert_eq!(view.apply(&asked), Changed::Prompts);
    assert_eq!(
        view.apply(&asked),
        Changed::Prompts,
        "re-asked replaces, no duplicate"
    );
    assert_eq!(view.pending_permissions.len(), 1);
    assert_eq!(
        view.pending_permissions[0]
            .tool
            .as_ref()
            .map(|t| t.call_id.as_str()),
        Some("call_1")
    );
    let replied = Event::parse(
        r#"{"type":"permission.replied","properties":{"sessionID":"ses_1","requestID":"per_1","reply":"once"}}"#,
    )
    .expect("permission.replied");
    assert_eq!(view.apply(&replied), Changed::Prompts);
    assert!(view.pending_permissions.is_empty());

    let q = Event::parse(
        &json!({"type":"question.asked","properties":{"id":"que_1","sessionID":"ses_1",
            "questions":[{"question":"Which?","header":"Pick","options":[{"label":"A","description":"first"}]}]}})
        .to_string(),
    )
    .expect("question.asked");
    view.apply(&q);
    assert_eq!(view.pending_questions[0].questions[0].options[0].label, "A");
    let closed = Event::parse(
        r#"{"type":"question.rejected","properties":{"sessionID":"ses_1","requestID":"que_1"}}"#,
    )
    .expect("question.rejected");
    assert_eq!(view.apply(&closed), Changed::Prompts);
    assert!(view.pending_questions.is_empty());
}

#[test]
fn session_list_follows_created_updated_deleted() {
    let sessions: Vec<Session> = parse("session-list.json");
    let mut list = SessionList::new(Vec::new());
    for s in sessions.iter().rev() {
        list.apply(&Event::SessionCreated { info: s.clone() });
    }
    let ids: Vec<&str> = list.sessions.iter().map(|s| s.id.as_str()).collect();
    let expected: Vec<&str> = sessions.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids, expected, "newest first, like GET /session");

    let mut oldest = sessions.last().expect("one").clone();
    oldest.title = "renamed".into();
    oldest.time.updated += 1_000_000;
    assert_eq!(
        list.apply(&Event::SessionUpdated {
            info: oldest.clone()
        }),
        Changed::Session
    );
    assert_eq!(list.sessions[0].title, "renamed", "moved to the top");
    assert_eq!(list.sessions.len(), sessions.len());
    assert_eq!(
        list.apply(&Event::SessionDeleted {
            info: oldest.clone()
        }),
        Changed::Session
    );
    assert!(list.get(&oldest.id).is_none());
    assert_eq!(
        list.apply(&Event::SessionDeleted { info: oldest }),
        Changed::Nothing
    );
}

// Regression: a config-file agent comes back with `"hidden": null`, which failed the whole
// agent list and left the agent picker empty.
#[test]
fn agents_with_null_flags_parse() {
    let agents: Vec<Agent> = serde_json::from_value(json!([
        {"name": "chat", "description": "Plain chat", "mode": "primary", "native": false,
         "hidden": null, "topP": null, "temperature": null, "color": null, "permission": [],
         "variant": null, "prompt": "Answer briefly.", "options": {}, "steps": null},
        {"name": "build", "mode": "primary", "native": true, "permission": [], "options": {}}
    ]))
    .expect("agent list");
    assert!(agents.iter().all(Agent::is_selectable));
    assert!(!agents[0].hidden && !agents[0].native && agents[1].native);
}

#[test]
fn unknown_part_types_round_trip() {
    let raw = json!({"id":"prt_x","sessionID":"ses_1","messageID":"msg_1","type":"hologram",
                     "payload":{"deep":[1,2,3]}});
    let part: Part = serde_json::from_value(raw.clone()).expect("unknown part parses");
    assert!(matches!(part, Part::Unknown(_)));
    assert_eq!(part.type_name(), "hologram");
    assert_eq!(part.id(), Some("prt_x"));
    assert_eq!(serde_json::to_value(&part).expect("serialize"), raw);

    // A known type whose body drifted is kept too, rather than failing the message.
    let drifted = json!({"id":"prt_y","messageID":"msg_1","type":"tool","callID":42});
    assert!(matches!(
        serde_json::from_value::<Part>(drifted).expect("parses"),
        Part::Unknown(_)
    ));

    // Known parts serialize back to their wire shape, `type` included.
    let tool = json!({"id":"prt_t","sessionID":"ses_1","messageID":"msg_1","type":"tool",
        "callID":"call_1","tool":"bash","state":{"status":"completed","input":{"command":"ls"},
        "output":"a\nb","title":"ls","metadata":{},"time":{"start":1,"end":2}}});
    let part: Part = serde_json::from_value(tool.clone()).expect("tool part");
    match &part {
        Part::Tool(t) => {
            assert_eq!(t.call_id, "call_1");
            assert!(matches!(&t.state, ToolState::Completed { output, .. } if output == "a\nb"));
        }
        other => panic!("expected tool, got {other:?}"),
    }
    assert_eq!(serde_json::to_value(&part).expect("serialize"), tool);
}

#[test]
fn error_sentences_tell_what_happened_and_what_to_do() {
    let aborted: MessageError =
        serde_json::from_value(json!({"name":"MessageAbortedError","data":{"message":"Aborted"}}))
            .expect("error");
    let s = aborted.sentence();
    assert!(
        s.contains("stopped") && s.contains("Send the message again"),
        "{s}"
    );

    let auth: MessageError = serde_json::from_value(json!({"name":"ProviderAuthError",
        "data":{"providerID":"openai","message":"Invalid API key."}}))
    .expect("error");
    let s = auth.sentence();
    assert!(
        s.contains("openai") && s.contains("Invalid API key") && s.contains("API key configured"),
        "{s}"
    );
    assert!(!s.contains(".."), "{s}");

    let api: MessageError = serde_json::from_value(json!({"name":"APIError",
        "data":{"message":"Rate limited","statusCode":429,"isRetryable":true}}))
    .expect("error");
    assert_eq!(
        api.sentence(),
        "The model provider returned an error (HTTP 429): Rate limited. Try again in a moment."
    );
    let len: MessageError =
        serde_json::from_value(json!({"name":"MessageOutputLengthError","data":{}}))
            .expect("error");
    assert!(len.sentence().contains("output length limit"));
    let unknown: MessageError =
        serde_json::from_value(json!({"name":"SomethingNew","data":{"message":"boom"}}))
            .expect("error");
    assert!(unknown.sentence().contains("boom") && unknown.sentence().contains("server log"));
}
