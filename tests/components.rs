//! Component tests: the real views rendered in a VirtualDom with in-memory services and read
//! back with dioxus-ssr. Model output must render as inert text, never as markup.

use std::time::Duration;

use dioxus::prelude::*;
use opencode_nexus::app::App;
use opencode_nexus::engine::model::*;
use opencode_nexus::platform::{memory, Services, SettingsStore, Theme};
use opencode_nexus::state::chat::ChatController;
use opencode_nexus::state::AppState;
use opencode_nexus::views::ChatView;

const HOSTILE: &str = r#"Here you go:

<script>window.pwned = 1</script>

<img src=x onerror="alert(1)">

<iframe src="javascript:alert(2)"></iframe>

[click me](javascript:alert(3)) and [ok link](https://example.com/docs)

<a href="javascript:alert(4)" onclick="alert(5)">raw anchor</a>
"#;

const RICH: &str = "# Title\n\nSome **bold** and `inline` text.\n\n| a | b |\n|---|:-:|\n| 1 | 2 |\n\n```rust\nfn main() { println!(\"hi\"); }\n```\n\n- one\n- two\n";

#[derive(Clone)]
struct OpenConversation(Id);

#[component]
fn ChatHarness() -> Element {
    let id = use_context::<OpenConversation>().0;
    let state = use_context_provider(AppState::new);
    use_hook(move || {
        let mut c = state.conversation;
        c.set(Some(id));
    });
    use_context_provider(ChatController::new);
    // The OpenCode hub `App` provides: the chat's message box starts sessions through it.
    let for_hub = use_context::<Services>();
    use_context_provider(move || opencode_nexus::state::opencode::OpenCodeHub::new(for_hub, state));
    rsx! { ChatView {} }
}

async fn seeded_services() -> (Services, Id) {
    let services = memory::services();
    let mut conv = Conversation::new("Component test");
    services
        .store
        .create_conversation(conv.clone())
        .await
        .unwrap();
    let u1 = Message::new(
        &conv.id,
        None,
        Role::User,
        "Show me markdown <b>not bold</b>",
    );
    services.store.save_message(u1.clone(), true).await.unwrap();
    let a1 = Message::new(&conv.id, Some(u1.id.clone()), Role::Assistant, RICH);
    services.store.save_message(a1.clone(), true).await.unwrap();
    let u2 = Message::new(
        &conv.id,
        Some(a1.id.clone()),
        Role::User,
        "Now something nasty",
    );
    services.store.save_message(u2.clone(), true).await.unwrap();
    let a2 = Message::new(&conv.id, Some(u2.id.clone()), Role::Assistant, HOSTILE);
    services.store.save_message(a2.clone(), true).await.unwrap();
    conv = services
        .store
        .get_conversation(conv.id.clone())
        .await
        .unwrap();
    (services, conv.id)
}

async fn render_until(dom: &mut VirtualDom, needle: &str) -> String {
    for _ in 0..100 {
        let _ = tokio::time::timeout(Duration::from_millis(20), dom.wait_for_work()).await;
        dom.render_immediate(&mut dioxus::dioxus_core::NoOpMutations);
        // SSR escapes with named or numeric entities depending on the node; compare one form.
        let html = dioxus_ssr::render(dom)
            .replace("&#60;", "&lt;")
            .replace("&#62;", "&gt;");
        if html.contains(needle) {
            return html;
        }
    }
    panic!("'{needle}' never rendered:\n{}", dioxus_ssr::render(dom));
}

#[tokio::test]
async fn chat_view_renders_markdown_code_and_inert_hostile_html() {
    let (services, id) = seeded_services().await;
    let mut dom = VirtualDom::new(ChatHarness)
        .with_root_context(services)
        .with_root_context(OpenConversation(id));
    dom.rebuild_in_place();
    let html = render_until(&mut dom, "raw anchor").await;

    // Markdown became real structure.
    assert!(html.contains("<h1>Title</h1>"), "{html}");
    assert!(html.contains("<strong>bold</strong>"));
    assert!(html.contains("<table>") && html.contains("al-center"));
    assert!(
        html.contains("class=\"code-block\"") && html.contains("tok-kw"),
        "highlighted code"
    );
    assert!(html.contains("Copy code"));
    assert!(html.contains("<li>"));
    // User text is plain text, even when it looks like HTML.
    assert!(html.contains("&lt;b&gt;not bold&lt;/b&gt;"), "{html}");

    // Hostile HTML is escaped text: no live element or handler survives. Escaped text never
    // contains a raw '<', so every '<…>' in the output is a real element.
    let tags = live_tags(&html);
    assert!(tags.len() > 50, "markup was scanned");
    for tag in tags {
        let name: String = tag
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        assert!(
            !["script", "img", "iframe", "object", "embed", "base", "meta"]
                .contains(&name.as_str()),
            "live element <{tag}>"
        );
        assert!(!tag.contains("javascript:"), "javascript URL in <{tag}>");
        let has_handler = tag
            .split_whitespace()
            .skip(1)
            .any(|attr| attr.starts_with("on") && attr.contains('='));
        assert!(!has_handler, "event handler in <{tag}>");
    }
    assert!(
        html.contains("&lt;script&gt;window.pwned = 1&lt;/script&gt;"),
        "{html}"
    );
    assert!(
        html.contains("&lt;img src=x onerror=") || html.contains("&lt;img src=x onerror"),
        "{html}"
    );
    // The unsafe markdown link keeps its text but loses its target; the safe one keeps it.
    assert!(html.contains("class=\"unsafe-link\""));
    assert!(html.contains("href=\"https://example.com/docs\""));
}

#[tokio::test]
async fn app_shell_shows_navigation_and_empty_state() {
    let mut dom = VirtualDom::new(App).with_root_context(memory::services());
    dom.rebuild_in_place();
    let html = render_until(&mut dom, "Add a backend").await;
    for label in ["Chat", "History", "Settings"] {
        assert!(
            html.contains(&format!("aria-label=\"{label}\"")),
            "nav item {label}"
        );
    }
    assert!(
        html.contains("disabled"),
        "composer disabled without a backend"
    );
}

/// The retention setting applied at start says what it deleted (it did so without a word);
/// the pinned and the recent conversation stay. The one reopened at start (open when the app
/// closed) was among them: it is closed, not taken for a delete on another device.
#[tokio::test]
async fn conversations_deleted_by_retention_at_start_are_told() {
    use opencode_nexus::platform::AppSettings;
    let services = memory::services();
    let now = now_ms();
    for (title, age_days, pinned) in [
        ("Old trip plans", 45, false),
        ("Old but pinned", 45, true),
        ("This week", 3, false),
    ] {
        let mut c = Conversation::new(title);
        c.created_at = now - age_days * 86_400_000;
        c.updated_at = c.created_at;
        c.pinned = pinned;
        services.store.create_conversation(c.clone()).await.unwrap();
        if title == "Old trip plans" {
            services
                .store
                .set_setting("last_conversation".into(), serde_json::json!(c.id))
                .await
                .unwrap();
        }
    }
    services
        .store
        .save_settings(&AppSettings {
            retention_days: Some(30),
            ..AppSettings::default()
        })
        .await
        .unwrap();
    let mut dom = VirtualDom::new(App).with_root_context(services.clone());
    dom.rebuild_in_place();
    let html = render_until(&mut dom, "untouched for 30 days").await;
    assert!(
        html.contains(
            "1 conversation untouched for 30 days was deleted, as set in Settings → Privacy."
        ),
        "{html}"
    );
    let left: Vec<String> = services
        .store
        .list_conversations(ConversationFilter {
            limit: 10,
            ..ConversationFilter::default()
        })
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.conversation.title)
        .collect();
    assert_eq!(left, vec!["Old but pinned", "This week"]);
    for _ in 0..20 {
        let _ = tokio::time::timeout(Duration::from_millis(20), dom.wait_for_work()).await;
        dom.render_immediate(&mut dioxus::dioxus_core::NoOpMutations);
    }
    let html = dioxus_ssr::render(&dom);
    assert!(!html.contains("another device"), "{html}");
    assert!(
        !html.contains("class=\"banner banner-error\""),
        "no error either: {html}"
    );
    assert!(
        !html.contains("<h2 class=\"conv-title\">Old trip plans"),
        "{html}"
    );
}

/// The inside of every element tag in the markup, lowercased.
fn live_tags(html: &str) -> Vec<String> {
    html.split('<')
        .skip(1)
        .filter_map(|rest| {
            rest.split_once('>')
                .map(|(tag, _)| tag.to_ascii_lowercase())
        })
        .collect()
}

/// The page's first frame is prerendered into `web/index.html` (`<div id="shell">`), so the
/// browser paints it from the HTML and the stylesheet, before the page's module has loaded;
/// the app's own first frame takes its place when it mounts (`assets/main.css` hides the
/// shell then, and the page removes it after the next paint). This checks that the markup
/// there is the app's first frame, rendered here the way the browser build renders it (the
/// stylesheet in a file of its own; before the store has answered, so no history or
/// settings in it), with the ids, label targets and autofocus taken out (the live app's
/// elements own those). `NEXUS_WRITE_SHELL=1 cargo test --test components prerendered`
/// rewrites it after a change to the first frame.
#[test]
fn the_prerendered_first_frame_in_the_page_is_the_apps() {
    opencode_nexus::app::stylesheet_head();
    let mut dom = VirtualDom::new(App).with_root_context(memory::services());
    dom.rebuild_in_place();
    let frame = inert_copy(&dioxus_ssr::render(&dom));
    assert!(frame.contains("Opening your history…"), "{frame}");
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/web/index.html");
    let page = std::fs::read_to_string(path).unwrap();
    let (open, close) = (
        "<div id=\"shell\" inert aria-hidden=\"true\">",
        "</div><!-- end of shell -->",
    );
    let start = page.find(open).expect("web/index.html has no shell") + open.len();
    let end = page[start..].find(close).expect("the shell is not closed") + start;
    if std::env::var("NEXUS_WRITE_SHELL").as_deref() == Ok("1") {
        let updated = format!("{}{frame}{}", &page[..start], &page[end..]);
        std::fs::write(path, updated).unwrap();
        return;
    }
    assert!(
        page[start..end] == frame,
        "web/index.html's prerendered first frame is not the app's: run `NEXUS_WRITE_SHELL=1 cargo test --test components prerendered`.\nin the page:\n{}\nthe app's:\n{frame}",
        &page[start..end]
    );
}

/// The markup without `id`, `for` and `autofocus` attributes.
fn inert_copy(html: &str) -> String {
    let mut out = html.to_owned();
    for attr in [" id=\"", " for=\""] {
        while let Some(at) = out.find(attr) {
            let value_end = out[at + attr.len()..].find('"').unwrap() + at + attr.len() + 1;
            out.replace_range(at..value_end, "");
        }
    }
    out.replace(" autofocus=true", "")
        .replace(" autofocus=\"true\"", "")
}

/// What `App` does at start (the stored settings are read in a task), with a setting changed
/// by the user before that read has answered.
#[component]
fn EarlySettingHarness() -> Element {
    let services = use_context::<Services>();
    let state = use_context_provider(AppState::new);
    let for_load = services.clone();
    use_hook(move || {
        spawn(async move { state.load_settings(&for_load).await });
    });
    use_hook(move || state.update_settings(&services, |s| s.theme = Theme::Dark));
    let s = state.settings.read();
    let loaded = *state.settings_loaded.read();
    rsx! { p { "shown: {s.theme:?} {s.font_size}px compact={s.compact} loaded={loaded}" } }
}

#[tokio::test(flavor = "current_thread")]
async fn a_setting_changed_before_the_settings_load_is_kept_over_the_stored_ones() {
    use opencode_nexus::engine::store::api::StoreClient;
    use opencode_nexus::platform::native::WorkerTransport;
    use opencode_nexus::platform::{AppSettings, SettingsStore};

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("history.db");
    let open = || StoreClient::new(std::rc::Rc::new(WorkerTransport::spawn(&path).unwrap()));
    let stored = AppSettings {
        theme: Theme::Light,
        font_size: 19,
        compact: true,
        ..AppSettings::default()
    };
    open().save_settings(&stored).await.unwrap();

    let services = memory::services_with(open());
    let mut dom = VirtualDom::new(EarlySettingHarness).with_root_context(services.clone());
    dom.rebuild_in_place();
    let html = render_until(&mut dom, "loaded=true").await;
    // The change stays on screen, over the user's other stored settings (not the defaults).
    assert!(
        html.contains("shown: Dark 19px compact=true loaded=true"),
        "{html}"
    );
    // And that is what is stored: the change and the rest, as a new start reads them.
    let mut saved = None;
    for _ in 0..100 {
        let _ = tokio::time::timeout(Duration::from_millis(20), dom.wait_for_work()).await;
        let now = open().load_settings().await.unwrap();
        if now.theme == Theme::Dark {
            saved = Some(now);
            break;
        }
    }
    let saved = saved.expect("the early change was never saved");
    assert_eq!((saved.font_size, saved.compact), (19, true));
}

#[component]
fn ListsHarness() -> Element {
    let state = use_context_provider(AppState::new);
    use_context_provider(ChatController::new);
    let for_hub = use_context::<Services>();
    use_context_provider(move || opencode_nexus::state::opencode::OpenCodeHub::new(for_hub, state));
    rsx! {
        opencode_nexus::views::sidebar::Sidebar {}
        opencode_nexus::views::HistoryView {}
    }
}

/// With every conversation archived, History and the sidebar say where they are (they said
/// "No conversations yet."), and History's button shows the archive.
#[tokio::test]
async fn lists_with_everything_archived_say_where_it_is() {
    let services = memory::services();
    let mut c = Conversation::new("Archived trip plans");
    c.archived = true;
    services.store.create_conversation(c).await.unwrap();
    let mut dom = VirtualDom::new(ListsHarness).with_root_context(services.clone());
    dom.rebuild_in_place();
    let html = render_until(&mut dom, "All your conversations are archived. ").await;
    assert!(
        html.contains("All your conversations are archived: History shows them under “Archived”."),
        "the sidebar says it too: {html}"
    );
    assert!(html.contains(">Show archived</button>"), "{html}");
    assert!(!html.contains("No conversations yet."), "{html}");

    // Nothing archived either: the plain sentence.
    let empty = memory::services();
    let mut dom = VirtualDom::new(ListsHarness).with_root_context(empty);
    dom.rebuild_in_place();
    let html = render_until(&mut dom, "No conversations yet.").await;
    assert!(!html.contains("archived"), "{html}");
}

/// The interface draws its icons as SVG: an emoji glyph in a view (a session row's delete
/// button, a text file's icon) showed as an empty box on desktops without an emoji font (the
/// release binary under Xvfb).
#[test]
fn the_interface_uses_no_emoji_glyphs() {
    let mut found = Vec::new();
    for dir in ["src/views", "src/components", "src/app.rs"] {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
        let files: Vec<std::path::PathBuf> = if root.is_dir() {
            std::fs::read_dir(&root)
                .unwrap()
                .map(|e| e.unwrap().path())
                .collect()
        } else {
            vec![root]
        };
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap();
            for (n, line) in text.lines().enumerate() {
                if line
                    .chars()
                    .any(|c| ('\u{1F000}'..='\u{1FAFF}').contains(&c))
                {
                    found.push(format!("{}:{}: {}", file.display(), n + 1, line.trim()));
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "emoji glyphs in the interface:\n{}",
        found.join("\n")
    );
}

/// An OpenCode server that does not answer: its group in the sidebar says so, and lists the
/// copies of its sessions saved on this device (it showed its heading and nothing else).
#[tokio::test]
async fn the_sidebar_says_when_an_opencode_server_is_out_of_reach() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);

    // No copies saved: the group says it waits for the server.
    let services = memory::services();
    let profile = Profile::new("Agent box", BackendKind::OpenCode, url.clone());
    services.store.save_profile(profile.clone()).await.unwrap();
    let mut dom = VirtualDom::new(App).with_root_context(services.clone());
    dom.rebuild_in_place();
    let html = render_until(
        &mut dom,
        "Out of reach: its sessions show here when it answers.",
    )
    .await;
    assert!(html.contains("Agent box · OpenCode"), "{html}");

    // A session read before: its saved copy is listed under the server, not among the local
    // conversations.
    let services = memory::services();
    services.store.save_profile(profile.clone()).await.unwrap();
    let mut copy = Conversation::new("Refactor the parser (saved)");
    copy.profile_id = Some(profile.id.clone());
    copy.remote_session = Some("ses_saved_copy".into());
    services.store.create_conversation(copy).await.unwrap();
    services
        .store
        .create_conversation(Conversation::new("A local chat"))
        .await
        .unwrap();
    let mut dom = VirtualDom::new(App).with_root_context(services.clone());
    dom.rebuild_in_place();
    let html = render_until(
        &mut dom,
        "Out of reach: these are the copies saved on this device.",
    )
    .await;
    let group = html
        .split("aria-label=\"Agent box (OpenCode sessions)\"")
        .nth(1)
        .expect("the server's list");
    assert!(group.contains("Refactor the parser (saved)"), "{html}");
    assert!(group.contains("A copy saved on this device"), "{html}");
    let recent = html
        .split("aria-label=\"Recent\"")
        .nth(1)
        .and_then(|r| r.split("</ul>").next())
        .expect("the recent list");
    assert!(recent.contains("A local chat"), "{recent}");
    assert!(!recent.contains("Refactor the parser"), "{recent}");
}

#[derive(Clone)]
struct Row(ConversationSummary);

#[component]
fn RowHarness() -> Element {
    use_context_provider(AppState::new);
    let row = use_context::<Row>().0;
    rsx! {
        ul {
            opencode_nexus::views::history::ConversationRow {
                row,
                selected: false,
                picked: None,
                on_pick: |_| {},
                on_open: |_| {},
                on_hold_order: |_| {},
                on_delete: |_| {},
                on_export: |_| {},
            }
        }
    }
}

fn render_row(conversation: Conversation) -> String {
    let row = ConversationSummary {
        conversation,
        profile_name: None,
        profile_kind: None,
        message_count: 2,
    };
    let mut dom = VirtualDom::new(RowHarness)
        .with_root_context(memory::services())
        .with_root_context(Row(row));
    dom.rebuild_in_place();
    dioxus_ssr::render(&dom)
}

/// The `d` of the icon inside the button named `label`.
fn icon_of(html: &str, label: &str) -> String {
    let button = html
        .split(&format!("aria-label=\"{label}\""))
        .nth(1)
        .and_then(|b| b.split("</button>").next())
        .unwrap_or_else(|| panic!("no button “{label}”: {html}"));
    button
        .split(" d=\"")
        .nth(1)
        .and_then(|d| d.split('"').next())
        .unwrap_or_else(|| panic!("no icon in “{label}”: {button}"))
        .to_owned()
}

/// A History row's buttons carry no native tooltip (`title`): in the desktop webview that is a
/// window of its own, which stayed on screen after its row was deleted under the pointer. They
/// name themselves with a tooltip the stylesheet draws, which goes with its button.
#[test]
fn history_row_actions_have_tooltips_that_go_with_the_row() {
    let mut c = Conversation::new("Tooltip trip");
    c.pinned = true;
    let html = render_row(c);
    assert!(
        !html.contains(" title="),
        "a native tooltip in the row: {html}"
    );
    for tip in ["Unpin", "Rename", "Archive", "Export as Markdown", "Delete"] {
        assert!(
            html.contains(&format!("aria-label=\"{tip}\" data-tip=\"{tip}\"")),
            "{tip}: {html}"
        );
    }
    assert!(html.contains("aria-label=\"Pinned\""), "{html}");
    let css =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/assets/main.css")).unwrap();
    assert!(
        css.contains("[data-tip]:hover::after, [data-tip]:focus-visible::after {")
            && css.contains("content: attr(data-tip);"),
        "main.css draws the tooltips"
    );
}

/// Archive and Unarchive had the same icon.
#[test]
fn unarchive_has_an_icon_of_its_own() {
    use opencode_nexus::components::icons;
    let archive = icon_of(&render_row(Conversation::new("Kept")), "Archive");
    let mut c = Conversation::new("Put away");
    c.archived = true;
    let unarchive = icon_of(&render_row(c), "Unarchive");
    assert_eq!(archive, icons::ARCHIVE);
    assert_eq!(unarchive, icons::UNARCHIVE);
    assert_ne!(archive, unarchive);
}

#[derive(Clone)]
struct Backends(Vec<Profile>);

#[component]
fn SettingsHarness() -> Element {
    let state = use_context_provider(AppState::new);
    use_context_provider(ChatController::new);
    use_context_provider(opencode_nexus::state::data::DataJobs::new);
    use_context_provider(opencode_nexus::state::sync::SyncController::new);
    let for_hub = use_context::<Services>();
    use_context_provider(move || opencode_nexus::state::opencode::OpenCodeHub::new(for_hub, state));
    let profiles = use_context::<Backends>().0;
    use_hook(move || {
        let mut p = state.profiles;
        p.set(profiles);
    });
    rsx! { opencode_nexus::views::SettingsView {} }
}

/// An OpenCode backend's card in Settings → Backends shows the project directory it is bound
/// to (it showed only the server's address); one without a directory shows none.
#[tokio::test]
async fn an_opencode_backends_card_shows_its_project_directory() {
    let mut bound = Profile::new("Project box", BackendKind::OpenCode, "http://127.0.0.1:9");
    bound.directory = Some("/home/dev/projects/nexus <b>x</b>".into());
    let unbound = Profile::new("Plain box", BackendKind::OpenCode, "http://127.0.0.1:8");
    let mut dom = VirtualDom::new(SettingsHarness)
        .with_root_context(memory::services())
        .with_root_context(Backends(vec![bound, unbound]));
    dom.rebuild_in_place();
    let html = render_until(&mut dom, "Plain box").await;
    let card = |name: &str| {
        html.split(&format!("<strong>{name}</strong>"))
            .nth(1)
            .and_then(|c| c.split("</li>").next())
            .unwrap_or_else(|| panic!("no card for {name}: {html}"))
            .to_owned()
    };
    let bound_card = card("Project box");
    assert!(
        bound_card.contains("class=\"profile-dir\"")
            && bound_card.contains("/home/dev/projects/nexus &lt;b&gt;x&lt;/b&gt;"),
        "{bound_card}"
    );
    assert!(!card("Plain box").contains("profile-dir"), "{html}");
}
