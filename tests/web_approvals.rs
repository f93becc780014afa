//! Approvals in the browser build, against the real OpenCode server whose model calls tools
//! (`scripts/test.sh` starts both): a run started elsewhere (here: by the test, over HTTP)
//! asks for permission; the page shows it in Approvals with a count in the navigation, and
//! the buttons there answer it. The server really runs (or does not run) the command in its
//! project directory, so each case checks the file system: allowed once, rejected with a
//! message (which the agent is told), and always (a second matching call is not asked). Also at
//! a 390×844 phone viewport.
//!
//! Commands are chosen so no "always" given here or in `tests/opencode_tools.rs` answers
//! another test's request: only the "always" case here runs `ln`.

mod support;

use std::path::Path;

use fantoccini::{Client, Locator};
use opencode_nexus::engine::opencode::api::{PermissionReply, PermissionReplyBody};
use opencode_nexus::engine::opencode::OpenCodeClient;
use serde_json::Value;
use support::browser::*;
use support::oc::{
    finished, permission_of, prompt, question_of, question_open, reply_text, titled_session,
    tool_states, unique,
};

fn tool_server() -> (String, std::path::PathBuf) {
    support::peers::opencode_tools().unwrap_or_else(|| {
        panic!("the OpenCode tool server is required (NEXUS_TEST_OPENCODE_TOOLS_URL)")
    })
}

/// The app served and opened in Chromium at `width`×`height`, with the tool server added
/// as the backend "Agent server". The server process goes when the first value is dropped.
async fn agent_page(url: &str, width: u32, height: u32, phone: bool) -> (Killer, Browser) {
    let (server, base) = serve_bundle().await;
    let b = browser(width, height, phone).await;
    b.client.goto(&base).await.unwrap();
    app_ready(&b.client).await;
    add_backend(&b.client, "Agent server", Some("opencode"), url, None).await;
    (server, b)
}

/// Waits until the chat's model list shows one of the OpenCode server's models ("provider/model":
/// its connection is up); that model.
async fn server_model_chosen(c: &Client) -> String {
    eventually(c, 60, "the server's models were not listed", async |last| {
        let v = js(
            c,
            "const m = document.getElementById('model-picker'); return m ? m.value : ''",
        )
        .await;
        *last = v.to_string();
        v.as_str().filter(|m| m.contains('/')).map(str::to_owned)
    })
    .await
}

/// What the session's message box holds.
const SESSION_BOX_TEXT: &str =
    "const e = document.getElementById('session-input'); return e ? e.value : null";

/// The card of the request whose title mentions `needle`, as an XPath prefix.
fn card(needle: &str) -> String {
    format!("//div[contains(concat(' ', @class, ' '), ' approval ')][.//p[contains(@class, 'approval-title')][contains(., '{needle}')]]")
}

/// Waits for the card in Approvals; checks the navigation's count against the cards shown.
async fn wait_card(c: &Client, needle: &str) {
    let xpath = card(needle);
    eventually(
        c,
        60,
        &format!("no approval card for `{needle}`"),
        async |_| c.find(Locator::XPath(&xpath)).await.ok(),
    )
    .await;
    // Read in one script, so both come from the same rendered frame.
    let seen: Value = js(
        c,
        "const b = document.querySelector('nav button[aria-label=\"Approvals\"] .nav-badge');
         return [b ? b.textContent.trim() : '0', document.querySelectorAll('.approvals-view .approval').length];",
    )
    .await;
    assert_eq!(
        seen[0].as_str().unwrap_or_default(),
        seen[1].to_string(),
        "the navigation's count is the number of cards: {seen}"
    );
}

async fn click_in_card(c: &Client, needle: &str, label: &str) {
    c.find(Locator::XPath(&format!(
        "{}//button[normalize-space()='{label}']",
        card(needle)
    )))
    .await
    .unwrap_or_else(|e| panic!("no '{label}' on the card for `{needle}`: {e}"))
    .click()
    .await
    .unwrap();
}

async fn wait_card_gone(c: &Client, needle: &str) {
    let xpath = card(needle);
    eventually(
        c,
        30,
        &format!("the card for `{needle}` stayed"),
        async |_| c.find(Locator::XPath(&xpath)).await.is_err().then_some(()),
    )
    .await;
}

/// A run started outside the page: a new session on the server, prompted over HTTP.
async fn run_elsewhere(client: &OpenCodeClient, title: &str, command: &str) -> String {
    let s = titled_session(client, title).await;
    prompt(client, &s, &format!("RUN: {command}")).await;
    permission_of(client, &s).await;
    s
}

fn read(project: &Path, file: &str) -> Option<String> {
    std::fs::read_to_string(project.join(file))
        .ok()
        .map(|s| s.trim().to_owned())
}

#[tokio::test]
async fn approvals_in_the_browser_allow_once_reject_with_a_message_and_always() {
    let (url, project) = tool_server();
    let client = support::oc::client(&url, None);
    let (_server, b) = agent_page(&url, 1280, 900, false).await;
    let c = &b.client;

    // Allowed once: the command runs.
    let once = unique("web-once");
    let s1 = run_elsewhere(&client, "web once", &format!("echo WEB > {once}")).await;
    nav(c, "Approvals").await;
    wait_card(c, &once).await;
    screenshot(c, "web-approvals.png").await;
    click_in_card(c, &once, "Allow once").await;
    wait_card_gone(c, &once).await;
    finished(&client, &s1, 1).await;
    assert_eq!(read(&project, &once).as_deref(), Some("WEB"));

    // Rejected with a message: nothing runs, and the agent was told why.
    let rejected = unique("web-rejected");
    let s2 = run_elsewhere(&client, "web reject", &format!("echo NO > {rejected}")).await;
    wait_card(c, &rejected).await;
    c.find(Locator::XPath(&format!(
        "{}//input[starts-with(@id, 'reject-note-')]",
        card(&rejected)
    )))
    .await
    .unwrap()
    .send_keys("use the scratch directory instead")
    .await
    .unwrap();
    click_in_card(c, &rejected, "Reject").await;
    wait_card_gone(c, &rejected).await;
    let messages = finished(&client, &s2, 1).await;
    assert!(!project.join(&rejected).exists(), "a rejected command ran");
    assert_eq!(
        tool_states(&messages),
        vec![("bash".to_owned(), "error".to_owned())]
    );
    let text = reply_text(&messages);
    assert!(
        text.contains("rejected") && text.contains("use the scratch directory instead"),
        "{text}"
    );

    // Always: a second matching call in another run is not asked.
    let (first, second) = (unique("web-always-1"), unique("web-always-2"));
    let s3 = run_elsewhere(&client, "web always", &format!("ln -s README.md {first}")).await;
    wait_card(c, &first).await;
    click_in_card(c, &first, "Always allow").await;
    wait_card_gone(c, &first).await;
    finished(&client, &s3, 1).await;
    assert!(project.join(&first).is_symlink(), "the first call ran");
    let s4 = titled_session(&client, "web always again").await;
    prompt(&client, &s4, &format!("RUN: ln -s README.md {second}")).await;
    let messages = finished(&client, &s4, 1).await;
    assert!(project.join(&second).is_symlink(), "the second call ran");
    assert_eq!(
        tool_states(&messages),
        vec![("bash".to_owned(), "completed".to_owned())]
    );
    assert!(
        client
            .permissions()
            .await
            .unwrap()
            .iter()
            .all(|p| p.session_id != s4),
        "the second call was asked"
    );

    // Nothing of ours waits any more, and the page says so or lists only others' requests.
    let left: Value = js(
        c,
        "return document.querySelectorAll('.approvals-view .approval').length;",
    )
    .await;
    let open = client.permissions().await.unwrap().len() + client.questions().await.unwrap().len();
    assert!(
        left.as_u64().unwrap_or(u64::MAX) <= open as u64,
        "cards {left} for {open} open requests"
    );
    b.client.clone().close().await.unwrap();
}

/// A new chat with the OpenCode server as its backend: the prompt starts a session there,
/// which opens (listed beside the chat under its server); the agent's run asks here, runs
/// once allowed, and the new chat's message box is empty again afterwards.
#[tokio::test]
async fn a_new_chat_sent_to_an_opencode_server_starts_a_session_there() {
    let (url, project) = tool_server();
    let (_server, b) = agent_page(&url, 1280, 900, false).await;
    let c = &b.client;
    nav(c, "Chat").await;
    // The server's models are listed (its connection is up) before the prompt goes.
    let chosen = server_model_chosen(c).await;
    let file = unique("web-new-chat");
    let input = wait_for(c, "#composer-input", 10).await;
    input
        .send_keys(&format!("RUN: echo NEWCHAT > {file}"))
        .await
        .unwrap();
    input
        .send_keys(&char::from(fantoccini::key::Key::Enter).to_string())
        .await
        .unwrap();
    // The session opens with the prompt in it, and the list beside it names the server's one.
    wait_for(c, "#session-input", 60).await;
    eventually(c, 60, "the prompt is not in the session", async |last| {
        let t = js(
            c,
            "const v = document.querySelector('main'); return v ? v.innerText : ''",
        )
        .await;
        *last = t.to_string();
        t.as_str().is_some_and(|t| t.contains(&file)).then_some(())
    })
    .await;
    // Its back button leads where it was started from (it said "← History").
    let back = js(
        c,
        "const b = document.querySelector('.session-header .title-row button'); return b ? [b.innerText, b.getAttribute('aria-label')] : null",
    )
    .await;
    assert_eq!(
        back,
        serde_json::json!(["← Chat", "Back to Chat"]),
        "{back}"
    );
    let listed: Value = js(
        c,
        "return document.querySelectorAll('#sidebar ul[aria-label=\"Agent server (OpenCode sessions)\"] li').length",
    )
    .await;
    assert!(listed.as_u64().unwrap_or(0) >= 1, "{listed}");
    // With sessions listed, the list does not say it is empty (nothing is kept here yet).
    let empty = js(
        c,
        "return [...document.querySelectorAll('#sidebar .side-empty')].map(e => e.innerText)",
    )
    .await;
    assert_eq!(empty, serde_json::json!([]), "{empty}");
    // The session's message box goes on with the model the prompt went with (it showed the
    // server's default, and the next prompt would have gone without it).
    wait_js(
        c,
        10,
        "the session's picker lost the model",
        "const m = document.getElementById('session-model'); return m ? m.value : null",
        serde_json::json!(chosen),
    )
    .await;
    screenshot(c, "web-new-chat-session.png").await;
    // Its run asks here; allowed once, the command runs in the project.
    nav(c, "Approvals").await;
    wait_card(c, &file).await;
    click_in_card(c, &file, "Allow once").await;
    wait_card_gone(c, &file).await;
    eventually(c, 60, "the allowed command did not run", async |_| {
        (read(&project, &file).as_deref() == Some("NEWCHAT")).then_some(())
    })
    .await;
    // From Approvals, Chat goes back to the session that stood in the chat's place; from
    // there, to the chat.
    click(c, "nav button[aria-label='Chat']").await;
    wait_for(
        c,
        "section[aria-label='OpenCode session'] #session-input",
        10,
    )
    .await;
    nav(c, "Chat").await;
    // The prompt went to the session, so the new chat does not keep it as a draft.
    button(c, "+ New chat").await.click().await.unwrap();
    // The new chat's draft is read from the store when the box mounts.
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let left = js(
        c,
        "const e = document.getElementById('composer-input'); return e ? e.value : null",
    )
    .await;
    assert_eq!(left, Value::String(String::new()));
    b.client.clone().close().await.unwrap();
}

#[tokio::test]
async fn approvals_at_phone_width() {
    let (url, project) = tool_server();
    let client = support::oc::client(&url, None);
    let (_server, b) = agent_page(&url, 390, 844, true).await;
    let c = &b.client;

    let file = unique("web-phone");
    let s = run_elsewhere(&client, "web phone", &format!("printf PHONE > {file}")).await;
    // The bottom bar carries the count; the card fits the width.
    eventually(c, 60, "no count on the bottom bar", async |_| {
        c.find(Locator::Css(
            "nav button[aria-label='Approvals'] .nav-badge",
        ))
        .await
        .ok()
    })
    .await;
    nav(c, "Approvals").await;
    wait_card(c, &file).await;
    let overflow: Value = js(
        c,
        "return [document.documentElement.scrollWidth, window.innerWidth];",
    )
    .await;
    assert!(
        overflow[0].as_u64() <= overflow[1].as_u64(),
        "the page scrolls sideways at phone width: {overflow}"
    );
    screenshot(c, "web-approvals-phone.png").await;
    click_in_card(c, &file, "Allow once").await;
    wait_card_gone(c, &file).await;
    finished(&client, &s, 1).await;
    assert_eq!(read(&project, &file).as_deref(), Some("PHONE"));
    b.client.clone().close().await.unwrap();
}

/// A question from the agent, answered in the browser by picking one of its options: "Send
/// answer" waits for a pick, and the agent is told the option picked.
#[tokio::test]
async fn a_question_is_answered_by_picking_one_of_its_options() {
    let (url, _) = tool_server();
    let client = support::oc::client(&url, None);
    let (_server, b) = agent_page(&url, 1280, 900, false).await;
    let c = &b.client;
    let asked = format!("Which colour for {}?", unique("web-question"));
    let s = titled_session(&client, "web question").await;
    prompt(&client, &s, &format!("ASK: {asked} | red | blue")).await;
    let q = question_of(&client, &s).await;
    nav(c, "Approvals").await;
    let card = format!(
        "//div[contains(concat(' ', @class, ' '), ' approval ')][.//p[normalize-space()='{asked}']]"
    );
    eventually(c, 60, "no card for the question", async |_| {
        c.find(Locator::XPath(&card)).await.ok()
    })
    .await;
    let send = format!("{card}//button[normalize-space()='Send answer']");
    let disabled = async || {
        c.find(Locator::XPath(&send))
            .await
            .unwrap()
            .attr("disabled")
            .await
            .unwrap()
            .is_some()
    };
    assert!(disabled().await, "nothing picked yet: Send answer waits");
    c.find(Locator::XPath(&format!(
        "{card}//label[contains(., 'blue')]/input[@type='radio']"
    )))
    .await
    .unwrap()
    .click()
    .await
    .unwrap();
    eventually(
        c,
        10,
        "picking an option did not enable Send answer",
        async |_| (!disabled().await).then_some(()),
    )
    .await;
    screenshot(c, "web-question-picked.png").await;
    c.find(Locator::XPath(&send))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    eventually(c, 30, "the question's card stayed", async |_| {
        c.find(Locator::XPath(&card)).await.is_err().then_some(())
    })
    .await;
    let text = reply_text(&finished(&client, &s, 1).await);
    assert!(
        text.contains("blue"),
        "the agent got the option picked: {text}"
    );
    assert!(!question_open(&client, &q.id).await);
    b.client.clone().close().await.unwrap();
}

/// A prompt typed in a session while its server is out of reach is not lost: the send fails
/// with a sentence, the text is back in the session's message box, and once the server is
/// back the same text goes with one more press of Enter. The page talks to the server through
/// a proxy that can take it out of reach.
#[tokio::test]
async fn a_prompt_the_server_does_not_take_goes_back_in_the_message_box() {
    use support::event_proxy::EventProxy;
    let (url, _) = tool_server();
    let client = support::oc::client(&url, None);
    let proxy = EventProxy::start(&url).await;
    let (_server, b) = agent_page(&proxy.url, 1280, 900, false).await;
    let c = &b.client;
    // A session opened from the chat: its first prompt starts it.
    nav(c, "Chat").await;
    server_model_chosen(c).await;
    let first = unique("web-unsent-first");
    let input = wait_for(c, "#composer-input", 10).await;
    input.send_keys(&format!("Say {first}")).await.unwrap();
    input
        .send_keys(&char::from(fantoccini::key::Key::Enter).to_string())
        .await
        .unwrap();
    let session_input = wait_for(c, "#session-input", 60).await;
    let sid = eventually(
        c,
        60,
        "the session has no first prompt on the server",
        async |_| {
            for s in client.list_sessions().await.ok()? {
                let messages = client.messages(&s.id).await.ok()?;
                if messages.iter().any(|m| m.text().contains(&first)) {
                    return Some(s.id);
                }
            }
            None
        },
    )
    .await;

    // The server goes out of reach; a prompt typed and sent now fails and comes back.
    proxy.set_down(true);
    let typed = format!("Say {}", unique("web-unsent-second"));
    session_input.send_keys(&typed).await.unwrap();
    session_input
        .send_keys(&char::from(fantoccini::key::Key::Enter).to_string())
        .await
        .unwrap();
    let notice = eventually(c, 60, "no sentence about the failed send", async |last| {
        let t = js(
            c,
            "return [...document.querySelectorAll('main [role=alert], main .banner-error')].map(e => e.innerText).join(' | ')",
        )
        .await;
        *last = t.to_string();
        t.as_str()
            .filter(|t| t.contains("back in the message box"))
            .map(str::to_owned)
    })
    .await;
    assert!(notice.contains("not sent"), "{notice}");
    wait_js(
        c,
        10,
        "the text did not come back into the message box",
        SESSION_BOX_TEXT,
        Value::String(typed.clone()),
    )
    .await;
    screenshot(c, "web-session-unsent.png").await;
    let on_server = client.messages(&sid).await.expect("messages");
    assert!(
        !on_server.iter().any(|m| m.text().contains(&typed)),
        "the server got the prompt it was not sent"
    );

    // Back within reach: Enter sends the same text, and the box empties.
    proxy.set_down(false);
    session_input
        .send_keys(&char::from(fantoccini::key::Key::Enter).to_string())
        .await
        .unwrap();
    eventually(
        c,
        60,
        "the prompt sent again did not reach the server",
        async |_| {
            let messages = client.messages(&sid).await.ok()?;
            messages
                .iter()
                .any(|m| m.text().contains(&typed))
                .then_some(())
        },
    )
    .await;
    wait_js(
        c,
        10,
        "the message box kept the text that was sent",
        SESSION_BOX_TEXT,
        Value::String(String::new()),
    )
    .await;
    // The tool model answers every prompt with a command, which waits for approval: refused
    // here until the session is idle, so no card of this test stays for the others.
    support::oc::wait_until("the session's runs to end", || async {
        let asked = client.permissions().await.ok()?;
        for p in asked.iter().filter(|p| p.session_id == sid) {
            let refuse = PermissionReplyBody {
                reply: PermissionReply::Reject,
                message: None,
            };
            client.reply_permission(&p.id, &refuse).await.ok()?;
        }
        let busy = client.session_status().await.ok()?.contains_key(&sid);
        (!busy && !asked.iter().any(|p| p.session_id == sid)).then_some(())
    })
    .await;
    b.client.clone().close().await.unwrap();
}
