//! Answering an agent in the real desktop build under Xvfb: the message given with Reject,
//! typed as fast as a keyboard repeats, reaches the agent letter for letter (the field once
//! dropped letters when the card re-rendered while it was being typed in).

mod support;

use std::time::Duration;

use opencode_nexus::engine::opencode::api::PromptBody;
use support::desktop::{launch_with_opencode, xdotool};
use support::oc::{finished, permission_of, reply_text, titled_session, unique};

const BIN: &str = env!("CARGO_BIN_EXE_opencode-nexus");

#[test]
fn a_reject_message_typed_fast_reaches_the_agent_whole() {
    let (url, project) = support::peers::opencode_tools().expect("the tool server");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let client = support::oc::client(&url, None);
    // The Approvals view lists every open request of the server: requests the runs of earlier
    // tests left open are answered first, so this run's card is the only one (test binaries
    // run one after another).
    rt.block_on(async {
        for p in client.permissions().await.unwrap() {
            client
                .reply_permission(
                    &p.id,
                    &opencode_nexus::engine::opencode::api::PermissionReplyBody {
                        reply: opencode_nexus::engine::opencode::api::PermissionReply::Reject,
                        message: None,
                    },
                )
                .await
                .unwrap();
        }
        for q in client.questions().await.unwrap() {
            client.reject_question(&q.id).await.unwrap();
        }
    });

    let dir = tempfile::tempdir().unwrap();
    let mut app = launch_with_opencode(BIN, &dir.path().join("data"), &url, "reject-start.png");

    let file = unique("fast-reject");
    let session = rt.block_on(async {
        let s = titled_session(&client, "fast reject").await;
        client
            .prompt_async(&s, &PromptBody::text(format!("RUN: echo NO > {file}")))
            .await
            .unwrap();
        permission_of(&client, &s).await;
        s
    });

    // Approvals, then the one card's Reject message field (its place with one request).
    app.click(37, 220);
    std::thread::sleep(Duration::from_secs(2));
    app.screenshot("reject-card.png");
    app.click(380, 434);
    const MESSAGE: &str = "Do not delete files, just list them in the scratch folder instead";
    // 10 ms a key: faster than typing by hand, as fast as a held key repeats.
    xdotool(&app.display, &["type", "--delay", "10", MESSAGE]);
    std::thread::sleep(Duration::from_millis(500));
    app.screenshot("reject-typed.png");
    app.click(413, 479);

    let messages = rt.block_on(finished(&client, &session, 1));
    let text = reply_text(&messages);
    assert!(
        text.contains(MESSAGE),
        "the agent got another message than the one typed: {text}"
    );
    assert!(!project.join(&file).exists(), "a rejected command ran");
    assert!(app.running(), "the app stays up: {}", app.stderr());
}
