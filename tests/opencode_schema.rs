//! Checks the OpenCode client against the server's own OpenAPI document (captured from
//! OpenCode 1.18.33 in `tests/fixtures/opencode/openapi.json`).
//!
//! Instead of keeping a hand-written list of routes next to the client (which could drift
//! from the client itself), the client is pointed at a tiny loopback HTTP server that records
//! every request. Each recorded request must match a route of the document with the same
//! method, carry `?directory=` where the route accepts it, send Basic auth, and have a body
//! that validates against the route's request-body schema. A small validator covers the JSON
//! Schema subset those schemas use, so no heavy dev-dependency is needed.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use futures_util::StreamExt;
use opencode_nexus::engine::opencode::api::{
    CreateSessionBody, Event, ModelRef, PermissionReply, PermissionReplyBody, PromptBody,
    PromptPart, QuestionReplyBody, SessionModel, SessionStatus,
};
use opencode_nexus::engine::opencode::client::{OpenCodeClient, OpenCodeError};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

mod support;
use support::openapi::validate;

fn fixture(name: &str) -> String {
    let path = format!(
        "{}/tests/fixtures/opencode/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {path}: {e}"))
}

fn openapi() -> Value {
    serde_json::from_str(&fixture("openapi.json")).expect("openapi.json is JSON")
}

fn request_schema<'a>(doc: &'a Value, template: &str, method: &str) -> Option<&'a Value> {
    doc["paths"][template][method].pointer("/requestBody/content/application~1json/schema")
}

#[test]
fn validator_rejects_what_the_server_rejects() {
    let doc = openapi();
    let schema = request_schema(&doc, "/session/{sessionID}/prompt_async", "post").expect("schema");
    // The exact body the server answered 400 to (session-prompt-bad-body.json).
    assert!(!validate(&doc, schema, &json!({"parts":[{"type":"bogus"}]}), "$").is_empty());
    assert!(!validate(&doc, schema, &json!({"parts":[], "extra": 1}), "$").is_empty());
    assert!(!validate(&doc, schema, &json!({"parts":[], "messageID":"nope"}), "$").is_empty());
    assert!(!validate(&doc, schema, &json!({}), "$").is_empty());
    assert!(validate(
        &doc,
        schema,
        &json!({"parts":[{"type":"text","text":"hi"}]}),
        "$"
    )
    .is_empty());
    let reply = request_schema(&doc, "/permission/{requestID}/reply", "post").expect("schema");
    assert!(!validate(&doc, reply, &json!({"reply":"sometimes"}), "$").is_empty());
}

// ---------------------------------------------------------------------------------------------
// A recording loopback server.
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
struct Recorded {
    method: String,
    path: String,
    query: Option<String>,
    authorization: Option<String>,
    body: Option<Value>,
}

/// Finds the document's path template for a concrete path, preferring literal segments
/// (`/session/status` over `/session/{sessionID}`).
fn match_template(doc: &Value, path: &str) -> Option<String> {
    let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let mut best: Option<(usize, String)> = None;
    for template in doc["paths"].as_object().expect("paths").keys() {
        let tsegs: Vec<&str> = template.trim_start_matches('/').split('/').collect();
        if tsegs.len() != segs.len() {
            continue;
        }
        let mut literal = 0;
        let fits = tsegs.iter().zip(&segs).all(|(t, s)| {
            if t.starts_with('{') && t.ends_with('}') {
                !s.is_empty()
            } else {
                literal += 1;
                t == s
            }
        });
        if fits && best.as_ref().is_none_or(|(n, _)| literal > *n) {
            best = Some((literal, template.clone()));
        }
    }
    best.map(|(_, t)| t)
}

fn canned(method: &str, template: &str) -> (u16, &'static str, String) {
    let ok = |name: &str| (200, "application/json", fixture(name));
    let yes = (200, "application/json", "true".to_owned());
    match (method, template) {
        ("GET", "/global/health") => ok("global-health.json"),
        ("GET", "/session") => ok("session-list.json"),
        ("POST", "/session") => ok("session-create.json"),
        ("GET", "/session/{sessionID}") => ok("session-get.json"),
        ("PATCH", "/session/{sessionID}") => ok("session-rename.json"),
        ("GET", "/session/{sessionID}/message") => ok("session-messages.json"),
        ("POST", "/session/{sessionID}/message") => ok("session-prompt-sync-response.json"),
        ("POST", "/session/{sessionID}/prompt_async") => (204, "text/plain", String::new()),
        ("GET", "/config/providers") => ok("config-providers.json"),
        ("GET", "/agent") => ok("agent-list.json"),
        ("GET", "/session/status") => ok("session-status-busy.json"),
        ("GET", "/permission") => ok("permission-list.json"),
        ("GET", "/question") => ok("question-list.json"),
        ("GET", "/event") => (
            200,
            "text/event-stream",
            fixture("event-roundtrip-final.sse"),
        ),
        ("DELETE", _) | ("POST", _) => yes,
        _ => (
            404,
            "application/json",
            r#"{"name":"NotFoundError","data":{"message":"no route"}}"#.to_owned(),
        ),
    }
}

fn header_end(buf: &[u8]) -> Option<usize> {
    buf.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4)
}

/// Serves until the test ends; every connection handles one request and closes.
async fn serve(
    listener: TcpListener,
    doc: Arc<Value>,
    log: Arc<Mutex<Vec<Recorded>>>,
    status_override: Option<u16>,
) {
    loop {
        let Ok((mut sock, _)) = listener.accept().await else {
            return;
        };
        let doc = doc.clone();
        let log = log.clone();
        tokio::spawn(async move {
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            let head_len = loop {
                if let Some(n) = header_end(&buf) {
                    break n;
                }
                match sock.read(&mut chunk).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => buf.extend_from_slice(&chunk[..n]),
                }
            };
            let head = String::from_utf8_lossy(&buf[..head_len]).to_string();
            let mut lines = head.split("\r\n");
            let mut first = lines.next().unwrap_or_default().split(' ');
            let method = first.next().unwrap_or_default().to_owned();
            let target = first.next().unwrap_or_default().to_owned();
            let mut headers = HashMap::new();
            for l in lines {
                if let Some((k, v)) = l.split_once(':') {
                    headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_owned());
                }
            }
            let len: usize = headers
                .get("content-length")
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            while buf.len() < head_len + len {
                match sock.read(&mut chunk).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => buf.extend_from_slice(&chunk[..n]),
                }
            }
            let body = (len > 0).then(|| {
                serde_json::from_slice(&buf[head_len..head_len + len]).expect("client sent JSON")
            });
            let (path, query) = match target.split_once('?') {
                Some((p, q)) => (p.to_owned(), Some(q.to_owned())),
                None => (target.clone(), None),
            };
            log.lock().expect("log").push(Recorded {
                method: method.clone(),
                path: path.clone(),
                query,
                authorization: headers.get("authorization").cloned(),
                body,
            });
            let template = match_template(&doc, &path).unwrap_or_default();
            let (status, ctype, body) = match status_override {
                Some(s) => (s, "text/plain", String::new()),
                None => canned(&method, &template),
            };
            let resp = format!(
                "HTTP/1.1 {status} X\r\ncontent-type: {ctype}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = sock.write_all(resp.as_bytes()).await;
            let _ = sock.shutdown().await;
        });
    }
}

async fn start(status_override: Option<u16>) -> (String, Arc<Mutex<Vec<Recorded>>>, Arc<Value>) {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let addr = listener.local_addr().expect("addr");
    let log = Arc::new(Mutex::new(Vec::new()));
    let doc = Arc::new(openapi());
    tokio::spawn(serve(listener, doc.clone(), log.clone(), status_override));
    (format!("http://{addr}"), log, doc)
}

const PASSWORD: &str = "pw-123456";
/// base64("opencode:pw-123456")
const BASIC: &str = "Basic b3BlbmNvZGU6cHctMTIzNDU2";

#[tokio::test]
async fn every_client_call_matches_the_openapi_document() {
    let (base, log, doc) = start(None).await;
    let c = OpenCodeClient::new(
        reqwest::Client::new(),
        &base,
        Some(PASSWORD.into()),
        None,
        Some("/work/my project".into()),
    )
    .expect("client");
    let sid = "ses_dff852733ffeH91oTObLuQtOBE";
    let model = ModelRef {
        provider_id: "llamacpp".into(),
        model_id: "smollm2-135m".into(),
    };
    let full_prompt = PromptBody {
        parts: vec![
            PromptPart::text("Say hello"),
            PromptPart::File {
                mime: "text/plain".into(),
                filename: Some("a.txt".into()),
                url: "data:text/plain;base64,aGk=".into(),
            },
            PromptPart::Agent {
                name: "chat".into(),
            },
        ],
        model: Some(model),
        agent: Some("chat".into()),
        system: Some("Be brief.".into()),
        message_id: Some("msg_2007ad9a7001eUzP7GORQTdd5H".into()),
    };

    assert!(c.health().await.expect("health").healthy);
    assert_eq!(c.list_sessions().await.expect("list").len(), 3);
    c.create_session(&CreateSessionBody::default())
        .await
        .expect("create {}");
    c.create_session(&CreateSessionBody {
        title: Some("t".into()),
        parent_id: Some("ses_parent".into()),
        agent: Some("chat".into()),
        model: Some(SessionModel {
            id: "smollm2-135m".into(),
            provider_id: "llamacpp".into(),
            variant: None,
        }),
    })
    .await
    .expect("create full");
    c.get_session(sid).await.expect("get");
    c.rename_session(sid, "renamed").await.expect("rename");
    assert_eq!(c.messages(sid).await.expect("messages").len(), 2);
    c.prompt_async(sid, &PromptBody::text("Say hello"))
        .await
        .expect("prompt_async");
    c.prompt_async(sid, &full_prompt)
        .await
        .expect("prompt_async full");
    let reply = c.prompt_sync(sid, &full_prompt).await.expect("prompt_sync");
    assert_eq!(reply.parts.len(), 3);
    assert!(c.abort(sid).await.expect("abort"));
    assert_eq!(
        c.providers().await.expect("providers").providers[0].id,
        "llamacpp"
    );
    assert!(!c.agents().await.expect("agents").is_empty());
    assert_eq!(
        c.session_status().await.expect("status").get(sid),
        Some(&SessionStatus::Busy)
    );
    assert!(c.permissions().await.expect("permissions").is_empty());
    for reply in [
        PermissionReply::Once,
        PermissionReply::Always,
        PermissionReply::Reject,
    ] {
        let body = PermissionReplyBody {
            reply,
            message: (reply == PermissionReply::Reject).then(|| "no".into()),
        };
        assert!(c
            .reply_permission("per_1", &body)
            .await
            .expect("reply permission"));
    }
    assert!(c.questions().await.expect("questions").is_empty());
    let answers = QuestionReplyBody {
        answers: vec![vec!["A".into()], vec![]],
    };
    assert!(c
        .reply_question("que_1", &answers)
        .await
        .expect("reply question"));
    assert!(c.reject_question("que_1").await.expect("reject question"));
    assert!(c.delete_session(sid).await.expect("delete"));

    // The event stream over real HTTP, through the SSE decoder.
    let events: Vec<Event> = c.event_stream().map(|r| r.expect("event")).collect().await;
    assert_eq!(events.first(), Some(&Event::ServerConnected));
    assert!(events
        .iter()
        .any(|e| matches!(e, Event::MessagePartDelta { .. })));
    assert!(matches!(events.last(), Some(Event::SessionIdle { .. })));

    let log = log.lock().expect("log").clone();
    assert_eq!(log.len(), 23, "one request per call: {log:#?}");
    for r in &log {
        let template = match_template(&doc, &r.path)
            .unwrap_or_else(|| panic!("{} {} is not in the OpenAPI document", r.method, r.path));
        let method = r.method.to_ascii_lowercase();
        let op = doc["paths"][&template]
            .get(&method)
            .unwrap_or_else(|| panic!("{} {template} is not a documented method", r.method));
        assert_eq!(
            r.authorization.as_deref(),
            Some(BASIC),
            "{} {}",
            r.method,
            r.path
        );
        let accepts_directory = op["parameters"].as_array().is_some_and(|ps| {
            ps.iter()
                .any(|p| p["name"] == "directory" && p["in"] == "query")
        });
        if accepts_directory {
            assert_eq!(
                r.query.as_deref(),
                Some("directory=%2Fwork%2Fmy+project"),
                "{} {}",
                r.method,
                r.path
            );
        } else {
            assert_eq!(r.query, None, "{} {} takes no directory", r.method, r.path);
        }
        match (request_schema(&doc, &template, &method), &r.body) {
            (Some(schema), Some(body)) => {
                let errs = validate(&doc, schema, body, "$");
                assert!(
                    errs.is_empty(),
                    "{} {template}: {body} violates the schema: {errs:#?}",
                    r.method
                );
            }
            (Some(schema), None) => {
                let required = doc["paths"][&template][&method]["requestBody"]["required"] == true;
                assert!(!required, "{} {template} needs a body {schema}", r.method);
            }
            (None, Some(body)) => panic!("{} {template} takes no body but got {body}", r.method),
            (None, None) => {}
        }
    }
    // Every documented operation we rely on was exercised.
    let seen: Vec<String> = log
        .iter()
        .map(|r| {
            format!(
                "{} {}",
                r.method,
                match_template(&doc, &r.path).unwrap_or_default()
            )
        })
        .collect();
    for needed in [
        "GET /global/health",
        "GET /session",
        "POST /session",
        "GET /session/{sessionID}",
        "PATCH /session/{sessionID}",
        "DELETE /session/{sessionID}",
        "GET /session/{sessionID}/message",
        "POST /session/{sessionID}/message",
        "POST /session/{sessionID}/prompt_async",
        "POST /session/{sessionID}/abort",
        "GET /config/providers",
        "GET /agent",
        "GET /session/status",
        "GET /permission",
        "POST /permission/{requestID}/reply",
        "GET /question",
        "POST /question/{requestID}/reply",
        "POST /question/{requestID}/reject",
        "GET /event",
    ] {
        assert!(
            seen.iter().any(|s| s == needed),
            "{needed} not called: {seen:?}"
        );
    }
}

#[tokio::test]
async fn http_failures_become_actionable_errors() {
    let (base, _log, _doc) = start(Some(401)).await;
    let with_pw = OpenCodeClient::new(
        reqwest::Client::new(),
        &base,
        Some(PASSWORD.into()),
        None,
        None,
    )
    .expect("client");
    let err = with_pw.list_sessions().await.expect_err("401");
    assert_eq!(
        err,
        OpenCodeError::Unauthorized {
            password_sent: true
        }
    );
    assert!(!err.to_string().contains(PASSWORD));
    let without =
        OpenCodeClient::new(reqwest::Client::new(), &base, None, None, None).expect("client");
    let err = without.health().await.expect_err("401");
    assert!(err.to_string().contains("needs a password"), "{err}");
    let first = Box::pin(without.event_stream()).next().await;
    assert_eq!(
        first,
        Some(Err(OpenCodeError::Unauthorized {
            password_sent: false
        }))
    );

    // A port nothing listens on.
    let closed = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = closed.local_addr().expect("addr");
    drop(closed);
    let c = OpenCodeClient::new(
        reqwest::Client::new(),
        &format!("http://{addr}"),
        Some(PASSWORD.into()),
        None,
        None,
    )
    .expect("client");
    let err = c.health().await.expect_err("nothing listens");
    assert!(matches!(err, OpenCodeError::Unreachable { .. }), "{err:?}");
    assert!(err.to_string().contains(&addr.to_string()));
    assert!(!err.to_string().contains(PASSWORD));

    // With a project directory: the sentence names the server, not the percent-encoded query.
    let c = OpenCodeClient::new(
        reqwest::Client::new(),
        &format!("http://{addr}"),
        None,
        None,
        Some("/home/me/my project".into()),
    )
    .expect("client");
    let err = c.list_sessions().await.expect_err("nothing listens");
    let text = err.to_string();
    assert!(text.contains(&format!("http://{addr}/session ")), "{text}");
    assert!(
        !text.contains("directory") && !text.contains("%2F"),
        "{text}"
    );
}

#[test]
fn serialized_request_types_validate_without_a_server() {
    let doc = openapi();
    let cases: Vec<(&str, &str, Value)> = vec![
        (
            "/session",
            "post",
            serde_json::to_value(CreateSessionBody::default()).expect("json"),
        ),
        (
            "/session/{sessionID}/prompt_async",
            "post",
            serde_json::to_value(PromptBody {
                parts: vec![PromptPart::Subtask {
                    prompt: "p".into(),
                    description: "d".into(),
                    agent: "general".into(),
                }],
                ..PromptBody::default()
            })
            .expect("json"),
        ),
        (
            "/permission/{requestID}/reply",
            "post",
            serde_json::to_value(PermissionReplyBody {
                reply: PermissionReply::Always,
                message: None,
            })
            .expect("json"),
        ),
        (
            "/question/{requestID}/reply",
            "post",
            serde_json::to_value(QuestionReplyBody {
                answers: vec![vec!["x".into(), "y".into()]],
            })
            .expect("json"),
        ),
    ];
    for (template, method, body) in cases {
        let schema = request_schema(&doc, template, method)
            .unwrap_or_else(|| panic!("{template} has a schema"));
        let errs = validate(&doc, schema, &body, "$");
        assert!(errs.is_empty(), "{template}: {body}: {errs:#?}");
    }
}
