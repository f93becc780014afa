//! OpenCode agents that run real tools: a real `opencode serve` (started by `scripts/test.sh`)
//! whose model is the scripted tool model (`scripts/tool_model.py`), with `bash` and `edit`
//! asking for permission. The server really runs the commands and writes the files in its
//! project directory, so every test checks the file system, not only the answers.
//!
//! "Always" approvals hold for the whole server, across sessions: only the test of "always"
//! runs `touch`; the others use commands of their own (`echo`, `printf`, `mkdir`, `cp`) so
//! an approval given by one test never answers another's request. The server must be new for
//! each run of this file (`scripts/test.sh` starts one): "always" outlives the test.

mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use opencode_nexus::engine::opencode::api::{
    PermissionReply, PermissionReplyBody, PermissionRequest,
};
use opencode_nexus::engine::opencode::client::OpenCodeClient;
use support::cli::{json_of, nexus, run_ok};
use support::oc::titled_session as session;
use support::oc::{
    finished, permission_of, permission_open, prompt, question_of, question_open, reply_text,
    tool_states, unique, WAIT,
};

fn server() -> (OpenCodeClient, PathBuf, String) {
    let (url, project) = support::peers::opencode_tools().unwrap_or_else(|| {
        panic!("the OpenCode tool server is required (NEXUS_TEST_OPENCODE_TOOLS_URL)")
    });
    (support::oc::client(&url, None), project, url)
}

async fn reply(client: &OpenCodeClient, id: &str, reply: PermissionReply, message: Option<&str>) {
    let ok = client
        .reply_permission(
            id,
            &PermissionReplyBody {
                reply,
                message: message.map(str::to_owned),
            },
        )
        .await
        .expect("reply sent");
    assert!(ok, "the server took the reply");
}

#[tokio::test]
async fn allowed_once_the_command_really_runs() {
    let (client, project, _) = server();
    let file = unique("once");
    let s = session(&client, "approve once").await;
    prompt(&client, &s, &format!("RUN: echo APPROVED > {file}")).await;
    let asked = permission_of(&client, &s).await;
    assert_eq!(asked.permission, "bash");
    assert_eq!(asked.patterns, vec![format!("echo APPROVED > {file}")]);
    assert_eq!(asked.title(), format!("Run `echo APPROVED > {file}`"));
    assert!(
        !project.join(&file).exists(),
        "nothing runs before the answer"
    );
    reply(&client, &asked.id, PermissionReply::Once, None).await;
    let messages = finished(&client, &s, 1).await;
    assert_eq!(
        std::fs::read_to_string(project.join(&file)).unwrap().trim(),
        "APPROVED"
    );
    assert_eq!(
        tool_states(&messages),
        vec![("bash".to_owned(), "completed".to_owned())]
    );
    assert!(!permission_open(&client, &asked.id).await);
}

#[tokio::test]
async fn rejected_the_command_does_not_run_and_the_reply_says_so() {
    let (client, project, _) = server();
    let file = unique("rejected");
    let s = session(&client, "reject").await;
    prompt(&client, &s, &format!("RUN: echo NO > {file}")).await;
    let asked = permission_of(&client, &s).await;
    reply(
        &client,
        &asked.id,
        PermissionReply::Reject,
        Some("not in this project"),
    )
    .await;
    let messages = finished(&client, &s, 1).await;
    assert!(!project.join(&file).exists(), "a rejected command ran");
    assert_eq!(
        tool_states(&messages),
        vec![("bash".to_owned(), "error".to_owned())]
    );
    let text = reply_text(&messages);
    assert!(
        text.contains("rejected") && text.contains("not in this project"),
        "{text}"
    );
}

#[tokio::test]
async fn allowed_always_a_matching_call_is_not_asked_again() {
    let (client, project, _) = server();
    let (first, second) = (unique("always-1"), unique("always-2"));
    let s = session(&client, "approve always").await;
    prompt(&client, &s, &format!("RUN: touch {first}")).await;
    let asked = permission_of(&client, &s).await;
    assert_eq!(asked.always, vec!["touch *".to_owned()]);
    reply(&client, &asked.id, PermissionReply::Always, None).await;
    finished(&client, &s, 1).await;
    assert!(project.join(&first).exists());

    prompt(&client, &s, &format!("RUN: touch {second}")).await;
    let messages = finished(&client, &s, 2).await;
    assert!(project.join(&second).exists(), "the second call ran");
    assert_eq!(
        tool_states(&messages),
        vec![
            ("bash".to_owned(), "completed".to_owned()),
            ("bash".to_owned(), "completed".to_owned())
        ]
    );
    // It was never asked: no request of this session is open, and none was answered since.
    assert!(client
        .permissions()
        .await
        .unwrap()
        .iter()
        .all(|p| p.session_id != s));
}

#[tokio::test]
async fn a_file_write_is_asked_with_its_diff_then_written() {
    let (client, project, _) = server();
    let file = unique("written");
    let s = session(&client, "write").await;
    prompt(
        &client,
        &s,
        &format!("WRITE: {file}\nfirst line\nsecond line"),
    )
    .await;
    let asked = permission_of(&client, &s).await;
    assert_eq!(asked.permission, "edit");
    let diff = asked.metadata["diff"].as_str().expect("a diff to show");
    assert!(
        diff.contains("+first line") && diff.contains("+second line"),
        "{diff}"
    );
    assert!(asked.title().starts_with("Change ") && asked.title().ends_with(&file));
    reply(&client, &asked.id, PermissionReply::Once, None).await;
    finished(&client, &s, 1).await;
    let written = std::fs::read_to_string(project.join(&file)).unwrap();
    assert_eq!(written.trim_end(), "first line\nsecond line");

    // An edit of that file: asked with the change, then applied.
    prompt(
        &client,
        &s,
        &format!("EDIT: {file}\nsecond line\n---\nchanged line"),
    )
    .await;
    let asked = permission_of(&client, &s).await;
    let diff = asked.metadata["diff"].as_str().unwrap();
    assert!(
        diff.contains("-second line") && diff.contains("+changed line"),
        "{diff}"
    );
    reply(&client, &asked.id, PermissionReply::Once, None).await;
    finished(&client, &s, 2).await;
    assert_eq!(
        std::fs::read_to_string(project.join(&file))
            .unwrap()
            .trim_end(),
        "first line\nchanged line"
    );
}

#[tokio::test]
async fn a_question_is_answered_with_one_of_its_options() {
    let (client, _, _) = server();
    let s = session(&client, "question").await;
    prompt(&client, &s, "ASK: Which colour? | red | blue").await;
    let q = question_of(&client, &s).await;
    assert_eq!(q.questions[0].labels(), vec!["red", "blue"]);
    let wrong = q.answer(&[vec!["red".into()], vec!["blue".into()]]);
    assert!(wrong.unwrap_err().contains("1 question(s) and 2 answer(s)"));
    let body = q.answer(&[vec!["blue".into()]]).unwrap();
    assert!(client.reply_question(&q.id, &body).await.unwrap());
    let messages = finished(&client, &s, 1).await;
    let text = reply_text(&messages);
    assert!(text.contains("blue"), "the agent got the answer: {text}");
    assert!(!question_open(&client, &q.id).await);
}

// ---- the command line ---------------------------------------------------------------------

/// The entry with `id` in what `KIND list --profile oc --json` prints.
fn listed(data: &Path, kind: &str, id: &str) -> serde_json::Value {
    let list = json_of(data, &[kind, "list", "--profile", "oc", "--json"]);
    list.as_array()
        .unwrap()
        .iter()
        .find(|e| e["id"] == id)
        .cloned()
        .unwrap_or_else(|| panic!("{id} not in {list}"))
}

fn cli_profile(data: &Path, url: &str) {
    run_ok(
        data,
        &["profiles", "add", "oc", "--kind", "opencode", "--url", url],
    );
}

#[tokio::test]
async fn cli_chat_approves_as_told_and_without_a_terminal_refuses_with_a_sentence() {
    let (_, project, url) = server();
    let dir = tempfile::tempdir().unwrap();
    cli_profile(dir.path(), &url);

    let file = unique("cli-once");
    let out = nexus(
        dir.path(),
        &[
            "chat",
            "--profile",
            "oc",
            "--approve",
            "once",
            &format!("RUN: printf CLI > {file}"),
        ],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains(&format!(
            "permission requested (bash): Run `printf CLI > {file}`"
        )),
        "{err}"
    );
    assert!(err.contains("allowed once"), "{err}");
    assert_eq!(std::fs::read_to_string(project.join(&file)).unwrap(), "CLI");
    assert!(String::from_utf8_lossy(&out.stdout).contains("tool-finished"));

    // No terminal (stdin is not one here) and no --approve: rejected, exit 1, how to approve.
    let file = unique("cli-refused");
    let out = nexus(
        dir.path(),
        &[
            "chat",
            "--profile",
            "oc",
            &format!("RUN: printf NO > {file}"),
        ],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("rejected"), "{err}");
    assert!(err.contains("--approve once"), "{err}");
    assert!(!project.join(&file).exists(), "a refused command ran");

    // --approve only means something to an OpenCode agent.
    let out = nexus(
        dir.path(),
        &[
            "profiles",
            "add",
            "plain",
            "--kind",
            "openai-compatible",
            "--url",
            "http://127.0.0.1:9/v1",
        ],
    );
    assert!(out.status.success());
    let out = nexus(
        dir.path(),
        &["chat", "--profile", "plain", "--approve", "once", "hi"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("runs no tools"));
}

#[tokio::test]
async fn cli_lists_and_answers_requests_of_a_run_started_elsewhere() {
    let (client, project, url) = server();
    let dir = tempfile::tempdir().unwrap();
    cli_profile(dir.path(), &url);

    // A run started by another client waits for approval...
    let file = unique("elsewhere");
    let s = session(&client, "started elsewhere").await;
    prompt(&client, &s, &format!("RUN: mkdir -p {file}")).await;
    let asked = permission_of(&client, &s).await;
    let entry = listed(dir.path(), "permissions", &asked.id);
    assert_eq!(entry["session"], s.as_str());
    assert_eq!(entry["tool"], "bash");
    assert_eq!(entry["title"], format!("Run `mkdir -p {file}`"));
    assert_eq!(
        entry["patterns"],
        serde_json::json!([format!("mkdir -p {file}")])
    );
    let keys: Vec<&String> = entry.as_object().unwrap().keys().collect();
    assert_eq!(keys.len(), 5, "{entry}");

    // ...and is approved from here.
    let out = nexus(
        dir.path(),
        &["permissions", "reply", "--profile", "oc", &asked.id, "once"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    finished(&client, &s, 1).await;
    assert!(project.join(&file).is_dir());

    // Answered already: a sentence, exit 1.
    let out = nexus(
        dir.path(),
        &["permissions", "reply", "--profile", "oc", &asked.id, "once"],
    );
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("answered elsewhere") && err.contains("permissions list"),
        "{err}"
    );

    // A question, listed and answered from here; a wrong answer changes nothing.
    let s = session(&client, "question elsewhere").await;
    prompt(&client, &s, "ASK: Which size? | small | large").await;
    let q = question_of(&client, &s).await;
    let entry = listed(dir.path(), "questions", &q.id);
    assert_eq!(entry["questions"][0]["question"], "Which size?");
    assert_eq!(
        entry["questions"][0]["options"],
        serde_json::json!(["small", "large"])
    );
    let out = nexus(
        dir.path(),
        &[
            "questions",
            "reply",
            "--profile",
            "oc",
            &q.id,
            "small",
            "extra",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(question_open(&client, &q.id).await);
    run_ok(
        dir.path(),
        &["questions", "reply", "--profile", "oc", &q.id, "large"],
    );
    let messages = finished(&client, &s, 1).await;
    assert!(reply_text(&messages).contains("large"));
}

// ---- the app's Approvals view -------------------------------------------------------------

/// In-memory services holding one saved backend: the tool server at `url`.
async fn tools_backend(
    url: &str,
) -> (
    opencode_nexus::platform::Services,
    opencode_nexus::engine::model::Profile,
) {
    use opencode_nexus::engine::model::{BackendKind, Profile};
    let services = opencode_nexus::platform::memory::services();
    let profile = Profile::new("Tools server", BackendKind::OpenCode, url);
    services.store.save_profile(profile.clone()).await.unwrap();
    (services, profile)
}

mod approvals_screen {
    use std::cell::RefCell;
    use std::rc::Rc;

    use dioxus::prelude::*;
    use opencode_nexus::components::nav::NavBar;
    use opencode_nexus::engine::model::Profile;
    use opencode_nexus::platform::Services;
    use opencode_nexus::state::opencode::OpenCodeHub;
    use opencode_nexus::views::approvals::ApprovalsView;

    #[derive(Clone)]
    pub struct Seed {
        pub services: Services,
        pub profile: Profile,
        pub hub: Rc<RefCell<Option<OpenCodeHub>>>,
    }

    /// The navigation and the Approvals view, wired as `App` wires them.
    #[component]
    pub fn Harness() -> Element {
        let seed = use_context::<Seed>();
        let (_, hub) =
            super::support::vdom::provide_opencode_app(seed.services.clone(), seed.profile.clone());
        use_hook(move || *seed.hub.borrow_mut() = Some(hub));
        rsx! {
            NavBar {}
            ApprovalsView {}
        }
    }
}

#[tokio::test]
async fn the_approvals_view_lists_what_waits_answers_it_and_drops_what_was_answered_elsewhere() {
    use dioxus::prelude::VirtualDom;
    use support::vdom::render_until;

    let (client, project, url) = server();
    let (services, profile) = tools_backend(&url).await;
    let seed = approvals_screen::Seed {
        services,
        profile,
        hub: Default::default(),
    };
    let mut dom = VirtualDom::new(approvals_screen::Harness).with_root_context(seed.clone());
    dom.rebuild_in_place();
    // Other tests of this file run beside this one on the same server, so their requests may
    // be listed too: this one checks its own, and that the count agrees with the list.
    render_until(&mut dom, "the view", |h| {
        h.contains("aria-label=\"Approvals\"") && h.contains("<h1>Approvals</h1>")
    })
    .await;

    // A run started by another client asks: the view shows it, the navigation counts it.
    let file = unique("approvals-view");
    let s = session(&client, "needs approval").await;
    prompt(&client, &s, &format!("RUN: echo VIEW > {file}")).await;
    let asked = permission_of(&client, &s).await;
    let html = render_until(&mut dom, "the request", |h| {
        // The command as inline code, not in backticks (the title read "Run `echo …`").
        h.contains(&format!(
            "<span>Run </span><code class=\"inline-code\">echo VIEW &gt; {file}</code>"
        ))
    })
    .await;
    let badge: usize = html
        .split("aria-label=\"")
        .find_map(|rest| rest.split_once(" waiting\""))
        .and_then(|(n, _)| n.parse().ok())
        .unwrap_or_else(|| panic!("no count in the navigation: {html}"));
    assert_eq!(badge, html.matches("class=\"approval\"").count(), "{html}");
    assert!(badge >= 1);
    assert!(html.contains("In “needs approval”"), "{html}");
    assert!(
        html.contains("Allow once") && html.contains("Reject"),
        "{html}"
    );
    assert!(html.contains("Requests on Tools server"), "{html}");

    // Allowed from the view (what its button calls): the command runs, the card goes.
    let hub = seed.hub.borrow().expect("hub");
    let pid = seed.profile.id.clone();
    dom.in_runtime(|| {
        hub.reply_permission_on(
            &pid,
            asked.id.clone(),
            PermissionReplyBody {
                reply: PermissionReply::Once,
                message: None,
            },
        )
    });
    render_until(&mut dom, "the answered request to leave", |h| {
        !h.contains(&file)
    })
    .await;
    finished(&client, &s, 1).await;
    assert_eq!(
        std::fs::read_to_string(project.join(&file)).unwrap().trim(),
        "VIEW"
    );

    // A question answered on another device disappears at once.
    let s = session(&client, "asks elsewhere").await;
    prompt(&client, &s, "ASK: Ship it? | yes | no").await;
    let q = question_of(&client, &s).await;
    render_until(&mut dom, "the question", |h| {
        h.contains("Ship it?") && h.contains("In “asks elsewhere”")
    })
    .await;
    let body = q.answer(&[vec!["no".into()]]).unwrap();
    assert!(client.reply_question(&q.id, &body).await.unwrap());
    render_until(&mut dom, "the question answered elsewhere to leave", |h| {
        !h.contains("Ship it?")
    })
    .await;
}

mod session_screen {
    use std::cell::RefCell;
    use std::rc::Rc;

    use dioxus::prelude::*;
    use opencode_nexus::engine::model::Profile;
    use opencode_nexus::platform::Services;
    use opencode_nexus::state::opencode::OpenCodeHub;
    use opencode_nexus::state::AppState;
    use opencode_nexus::views::session::SessionPage;

    #[derive(Clone)]
    pub struct Seed {
        pub services: Services,
        pub profile: Profile,
        pub handles: Rc<RefCell<Option<(AppState, OpenCodeHub)>>>,
    }

    /// A session screen, wired as `App` wires it.
    #[component]
    pub fn Harness() -> Element {
        let seed = use_context::<Seed>();
        let handles =
            super::support::vdom::provide_opencode_app(seed.services.clone(), seed.profile.clone());
        use_hook(move || *seed.handles.borrow_mut() = Some(handles));
        rsx! { SessionPage {} }
    }
}

/// A tool call whose permission request waited said "Running" in its session. With the real
/// server's requests and parts (matched by messageID and callID) it says it waits for approval,
/// and completes once allowed.
#[tokio::test]
async fn a_tool_call_waiting_for_approval_says_so_in_its_session() {
    use dioxus::prelude::VirtualDom;
    use support::vdom::render_until;

    let (client, project, url) = server();
    let (services, profile) = tools_backend(&url).await;
    let seed = session_screen::Seed {
        services,
        profile,
        handles: Default::default(),
    };
    let mut dom = VirtualDom::new(session_screen::Harness).with_root_context(seed.clone());
    dom.rebuild_in_place();

    let file = unique("waiting-call");
    let s = session(&client, "waits for approval").await;
    prompt(&client, &s, &format!("RUN: echo WAITED > {file}")).await;
    let asked = permission_of(&client, &s).await;
    let (state, hub) = seed.handles.borrow().expect("the harness ran");
    let pid = seed.profile.id.clone();
    dom.in_runtime(|| hub.open_session(state, &pid, &s));
    let html = render_until(&mut dom, "the call to wait for approval", |h| {
        h.contains(">Waiting for approval<")
    })
    .await;
    assert!(html.contains("class=\"part tool tool-waiting\""), "{html}");
    assert!(!html.contains(">Running<"), "{html}");

    dom.in_runtime(|| {
        hub.reply_permission_on(
            &pid,
            asked.id.clone(),
            PermissionReplyBody {
                reply: PermissionReply::Once,
                message: None,
            },
        )
    });
    render_until(&mut dom, "the call to complete", |h| {
        h.contains(">Completed<") && !h.contains(">Waiting for approval<")
    })
    .await;
    finished(&client, &s, 1).await;
    assert_eq!(
        std::fs::read_to_string(project.join(&file)).unwrap().trim(),
        "WAITED"
    );
}

// ---- faults on the event stream -----------------------------------------------------------

mod faults {
    use super::*;
    use opencode_nexus::engine::opencode::api::Event;
    use opencode_nexus::engine::opencode::live::{Connection, LiveOptions};
    use support::event_proxy::{EventMode, EventProxy};
    use support::live_watch::{duplicate_part_ids, Watcher};

    /// The proxy, a client through it, and a watcher following a new session through it.
    pub async fn through_proxy(
        title: &str,
        options: LiveOptions,
    ) -> (EventProxy, OpenCodeClient, OpenCodeClient, String, Watcher) {
        let (direct, _, url) = server();
        let proxy = EventProxy::start(&url).await;
        let via = support::oc::client(&proxy.url, None);
        let s = session(&direct, title).await;
        let mut w = Watcher::start(via.clone(), options, Some(&s));
        w.until("the session loaded", WAIT, |w| w.state.view_loaded)
            .await;
        (proxy, via, direct, s, w)
    }

    /// Once the run is over, the screen's state holds exactly what the server has: every
    /// message and part, none twice, nothing pending.
    pub async fn converged(w: &mut Watcher, direct: &OpenCodeClient, s: &str, replies: usize) {
        let server = finished(direct, s, replies).await;
        let want: Vec<(String, Vec<Option<String>>, String)> = server
            .iter()
            .map(|m| {
                (
                    m.info.id().to_owned(),
                    m.parts.iter().map(|p| p.id().map(str::to_owned)).collect(),
                    m.text(),
                )
            })
            .collect();
        w.until("the screen to match the server", WAIT, |w| {
            let v = w.view();
            let have: Vec<(String, Vec<Option<String>>, String)> = v
                .messages
                .iter()
                .map(|m| {
                    (
                        m.info.id().to_owned(),
                        m.parts.iter().map(|p| p.id().map(str::to_owned)).collect(),
                        m.text(),
                    )
                })
                .collect();
            have == want && !w.state.is_busy(s)
        })
        .await;
        assert!(duplicate_part_ids(&w.view().messages).is_empty());
        assert_eq!(tool_states(&w.view().messages), tool_states(&server));
        assert!(w.state.permissions.iter().all(|p| p.session_id != s));
        assert!(w.view().pending_permissions.is_empty());
    }

    pub fn asked_in(w: &Watcher, s: &str) -> Option<PermissionRequest> {
        w.state
            .permissions
            .iter()
            .find(|p| p.session_id == s)
            .cloned()
    }

    /// Starts `RUN: command` and waits until the watcher sees its permission request.
    pub async fn asked_for(
        w: &mut Watcher,
        via: &OpenCodeClient,
        s: &str,
        command: &str,
    ) -> PermissionRequest {
        prompt(via, s, &format!("RUN: {command}")).await;
        w.until("the request", WAIT, |w| asked_in(w, s).is_some())
            .await;
        asked_in(w, s).unwrap()
    }

    /// Cuts the event streams (refusing new ones) and waits until the watcher notices.
    pub async fn cut(proxy: &EventProxy, w: &mut Watcher) {
        proxy.cut_events(true);
        w.until("the cut to be noticed", WAIT, reconnecting).await;
    }

    pub fn reconnecting(w: &Watcher) -> bool {
        matches!(w.state.connection, Connection::Reconnecting { .. })
    }

    pub fn asked_events(w: &Watcher, id: &str) -> usize {
        w.events
            .iter()
            .filter(|e| matches!(e, Event::PermissionAsked(p) if p.id == id))
            .count()
    }

    pub use opencode_nexus::engine::opencode::live::LiveOptions as Options;
    pub use EventMode::*;
}

#[tokio::test]
async fn every_event_delivered_twice_changes_nothing() {
    use faults::*;
    let (_, project, _) = server();
    let (proxy, via, direct, s, mut w) = through_proxy("events twice", Options::default()).await;
    proxy.set_mode(Duplicate);
    let file = unique("twice");
    let asked = asked_for(&mut w, &via, &s, &format!("echo TWICE > {file}")).await;
    w.until("its event twice", WAIT, |w| asked_events(w, &asked.id) == 2)
        .await;
    assert_eq!(
        w.state
            .permissions
            .iter()
            .filter(|p| p.id == asked.id)
            .count(),
        1,
        "one request, listed once"
    );
    reply(&via, &asked.id, PermissionReply::Once, None).await;
    converged(&mut w, &direct, &s, 1).await;
    assert_eq!(
        std::fs::read_to_string(project.join(&file)).unwrap().trim(),
        "TWICE"
    );
}

#[tokio::test]
async fn the_stream_cut_while_a_request_waits_is_resynced_and_the_request_still_answerable() {
    use faults::*;
    let (_, project, _) = server();
    let (proxy, via, direct, s, mut w) =
        through_proxy("cut while asking", Options::default()).await;
    let file = unique("cut");
    let asked = asked_for(&mut w, &via, &s, &format!("echo CUT > {file}")).await;
    let streams = proxy.event_streams();
    cut(&proxy, &mut w).await;
    proxy.refuse_events(false);
    w.until("the reconnect", WAIT, |w| {
        w.state.connection.is_connected() && proxy.event_streams() > streams
    })
    .await;
    // Refetched, not lost: still pending, and answerable.
    assert_eq!(asked_in(&w, &s).map(|p| p.id), Some(asked.id.clone()));
    reply(&via, &asked.id, PermissionReply::Once, None).await;
    converged(&mut w, &direct, &s, 1).await;
    assert!(project.join(&file).exists());
}

#[tokio::test]
async fn a_request_answered_elsewhere_during_an_outage_is_gone_after_it() {
    use faults::*;
    let (_, project, _) = server();
    let (proxy, via, direct, s, mut w) =
        through_proxy("answered in an outage", Options::default()).await;
    let file = unique("outage");
    let asked = asked_for(&mut w, &via, &s, &format!("echo OUTAGE > {file}")).await;
    cut(&proxy, &mut w).await;
    // Another device answers while this one is offline; the run ends meanwhile.
    reply(&direct, &asked.id, PermissionReply::Once, None).await;
    finished(&direct, &s, 1).await;
    proxy.refuse_events(false);
    converged(&mut w, &direct, &s, 1).await;
    assert!(project.join(&file).exists());
}

#[tokio::test]
async fn a_stalled_stream_is_detected_and_the_screen_catches_up() {
    use faults::*;
    let options = Options {
        stall_after: Duration::from_secs(4),
        ..Options::default()
    };
    let (proxy, via, direct, s, mut w) = through_proxy("stalled", options).await;
    proxy.set_mode(Stall);
    let file = unique("stall");
    prompt(&via, &s, &format!("RUN: echo STALL > {file}")).await;
    // Nothing arrives: the request is answered from the other device, the run finishes.
    let asked = permission_of(&direct, &s).await;
    assert!(asked_in(&w, &s).is_none(), "a stalled stream delivered");
    reply(&direct, &asked.id, PermissionReply::Once, None).await;
    finished(&direct, &s, 1).await;
    w.until("the stall to be noticed", WAIT, reconnecting).await;
    proxy.set_mode(Pass);
    converged(&mut w, &direct, &s, 1).await;
}

/// `chat` on a terminal (a pseudo-terminal made by util-linux's `script`) asks, and takes what
/// is typed: "o" allows the command once; "2" picks a question's second option.
#[tokio::test]
async fn cli_chat_on_a_terminal_asks_and_takes_the_answer() {
    let (_, project, url) = server();
    let dir = tempfile::tempdir().unwrap();
    cli_profile(dir.path(), &url);
    let on_terminal = |prompt: String, typed: &'static str| {
        let data = dir.path().to_owned();
        async move {
            tokio::task::spawn_blocking(move || {
                use std::io::Write;
                use std::process::{Command, Stdio};
                let line = format!(
                    "{} --data-dir {} chat --profile oc '{prompt}'",
                    env!("CARGO_BIN_EXE_opencode-nexus"),
                    data.display()
                );
                let mut child = Command::new("script")
                    .args(["-qec", &line, "/dev/null"])
                    .env_remove("RUST_LOG")
                    .stdin(Stdio::piped())
                    .stdout(Stdio::piped())
                    .spawn()
                    .expect("script runs");
                child
                    .stdin
                    .take()
                    .unwrap()
                    .write_all(typed.as_bytes())
                    .unwrap();
                let out = child.wait_with_output().unwrap();
                (
                    out.status.code(),
                    String::from_utf8_lossy(&out.stdout).into_owned(),
                )
            })
            .await
            .unwrap()
        }
    };

    let file = unique("terminal");
    let (code, shown) = on_terminal(format!("RUN: printf TTY > {file}"), "o\n").await;
    assert_eq!(code, Some(0), "{shown}");
    assert!(
        shown.contains("Allow it? [o]nce, [a]lways, [r]eject:"),
        "{shown}"
    );
    assert!(shown.contains("allowed once"), "{shown}");
    assert_eq!(std::fs::read_to_string(project.join(&file)).unwrap(), "TTY");

    let (code, shown) = on_terminal("ASK: Which colour? | red | blue".into(), "2\n").await;
    assert_eq!(code, Some(0), "{shown}");
    assert!(
        shown.contains("1) red") && shown.contains("2) blue"),
        "{shown}"
    );
    // The reply follows the prompt on its line (stderr and stdout share the terminal).
    let reply = shown.split("tool-finished:").nth(1).unwrap_or_default();
    assert!(reply.contains("=\"blue\""), "{shown}");
}
