//! Settings → Sync in the app, in a VirtualDom against the real WebDAV server: setting sync up
//! (the intent the form sends) checks the folder and syncs, the panel then shows the folder, the
//! last run and the device list; a conversation another device sent appears in the history; a
//! wrong passphrase is a sentence and sets nothing up; another device is removed from the
//! folder. The same form with an `s3://` folder against the S3-compatible server.

mod support;

use dioxus::prelude::*;
use opencode_nexus::engine::model::*;
use opencode_nexus::engine::sync::{self, remote::WebDav};
use opencode_nexus::platform::memory;
use opencode_nexus::state::sync::{SetupForm, SyncController};
use opencode_nexus::state::AppState;
use support::vdom::render_until;

#[derive(Clone)]
struct Form(SetupForm);

#[component]
fn Harness() -> Element {
    let services = use_context::<opencode_nexus::platform::Services>();
    let state = use_context_provider(AppState::new);
    let sync = use_context_provider(SyncController::new);
    let form = use_context::<Form>();
    use_hook(move || sync.set_up(state, &services, form.0.clone()));
    rsx! {
        opencode_nexus::views::sync::SyncSection {}
        p { id: "history-rev", "{state.history_rev}" }
        p { id: "font-size", "{state.settings.read().font_size}px" }
    }
}

/// The app as it runs: the sync schedule starts with the app, and sync is set up a while later
/// (after the schedule's first look, 3 s after start), as a user filling in the form would.
#[component]
fn ScheduledHarness() -> Element {
    let services = use_context::<opencode_nexus::platform::Services>();
    let state = use_context_provider(AppState::new);
    let sync = use_context_provider(SyncController::new);
    let form = use_context::<Form>();
    use_hook(move || {
        sync.start(state, services.clone());
        spawn(async move {
            tokio::time::sleep(std::time::Duration::from_secs(4)).await;
            sync.set_up(state, &services, form.0.clone());
        });
    });
    rsx! {
        opencode_nexus::views::sync::SyncSection {}
    }
}

#[derive(Clone)]
struct RemoveDevice(String);

/// Settings → Sync after "Remove…" is confirmed for another device.
#[component]
fn RemoveHarness() -> Element {
    let services = use_context::<opencode_nexus::platform::Services>();
    let state = use_context_provider(AppState::new);
    let sync = use_context_provider(SyncController::new);
    let RemoveDevice(id) = use_context::<RemoveDevice>();
    use_hook(move || sync.remove_device(state, &services, id));
    rsx! {
        opencode_nexus::views::sync::SyncSection {}
    }
}

#[tokio::test(flavor = "current_thread")]
async fn setting_up_sync_in_the_app_syncs_and_lists_the_devices() {
    let Some(dav) = support::peers::webdav() else {
        return;
    };
    let (folder, _) = dav.new_folder("in-app");

    // Another device already synced a conversation into the folder.
    let laptop = memory::services();
    let c = Conversation::new("Okapi field notes");
    laptop.store.create_conversation(c.clone()).await.unwrap();
    laptop
        .store
        .save_message(
            Message::new(&c.id, None, Role::User, "stripes on the legs"),
            true,
        )
        .await
        .unwrap();
    // And its settings.
    {
        use opencode_nexus::platform::{AppSettings, SettingsStore};
        let settings = AppSettings {
            font_size: 19,
            ..AppSettings::default()
        };
        laptop.store.save_settings(&settings).await.unwrap();
    }
    laptop
        .store
        .sync_enable(new_id(), "Laptop".into())
        .await
        .unwrap();
    let remote = WebDav::new(
        reqwest::Client::new(),
        &folder,
        Some(dav.user.clone()),
        Some(dav.password.clone()),
    )
    .unwrap();
    sync::sync_now(&laptop.store, &remote, "shared words")
        .await
        .unwrap();

    // This device: a wrong passphrase first.
    let phone = memory::services();
    let wrong = SetupForm {
        url: folder.clone(),
        user: dav.user.clone(),
        password: dav.password.clone(),
        passphrase: "other words".into(),
        name: "Phone".into(),
        ..SetupForm::default()
    };
    let mut dom = VirtualDom::new(Harness)
        .with_root_context(phone.clone())
        .with_root_context(Form(wrong.clone()));
    dom.rebuild_in_place();
    let html = render_until(&mut dom, "the wrong passphrase's sentence", |h| {
        h.contains("passphrase is not the one")
    })
    .await;
    assert!(html.contains("Set up sync"), "the form stays:\n{html}");
    assert_eq!(phone.store.sync_state().await.unwrap().device, None);
    assert!(phone
        .secrets
        .get(sync::PASSPHRASE_SECRET)
        .await
        .unwrap()
        .is_none());
    drop(dom);

    // The right one: set up, synced, the laptop's conversation here, both devices listed.
    let right = SetupForm {
        passphrase: "shared words".into(),
        ..wrong
    };
    let mut dom = VirtualDom::new(Harness)
        .with_root_context(phone.clone())
        .with_root_context(Form(right));
    dom.rebuild_in_place();
    let html = render_until(&mut dom, "the first sync's outcome", |h| {
        h.contains("1 conversation and 1 message here")
    })
    .await;
    assert!(html.contains(&folder), "{html}");
    assert!(html.contains("Laptop"), "{html}");
    assert!(html.contains("Phone"), "{html}");
    assert!(html.contains("(this device)"), "{html}");
    assert!(html.contains("Sync now"), "{html}");
    assert!(
        !html.contains("id=\"history-rev\">0<"),
        "lists were told to reload:\n{html}"
    );
    // The settings the laptop synced are the ones shown (and what a change is made over).
    assert!(html.contains("id=\"font-size\">19px<"), "{html}");
    let list = phone
        .store
        .list_conversations(ConversationFilter::default())
        .await
        .unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].conversation.title, "Okapi field notes");
    assert_eq!(
        phone
            .secrets
            .get(sync::PASSPHRASE_SECRET)
            .await
            .unwrap()
            .as_deref(),
        Some("shared words")
    );
    // Another device can be removed from the folder; this one cannot (it is forgotten instead).
    assert!(
        html.contains("aria-label=\"Remove Laptop from the sync folder…\""),
        "{html}"
    );
    assert!(!html.contains("Remove Phone"), "{html}");
    drop(dom);

    // The laptop is lost: the phone removes it. The list no longer has it, the folder neither,
    // and its conversation stays.
    let laptop_id = laptop.store.sync_state().await.unwrap().device.unwrap();
    let mut dom = VirtualDom::new(RemoveHarness)
        .with_root_context(phone.clone())
        .with_root_context(RemoveDevice(laptop_id.clone()));
    dom.rebuild_in_place();
    let html = render_until(&mut dom, "the removal's sentence", |h| {
        h.contains("was removed from the sync folder")
    })
    .await;
    assert!(
        html.contains("\u{201c}Laptop\u{201d} was removed"),
        "{html}"
    );
    assert!(html.contains("(this device)"), "{html}");
    assert!(!html.contains("Remove Laptop"), "{html}");
    let key = sync::open_folder(&remote, "shared words").await.unwrap();
    let phone_id = phone.store.sync_state().await.unwrap().device.unwrap();
    let listed = sync::devices(&remote, &key, &phone_id).await.unwrap();
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert!(listed[0].this_device);
    assert_eq!(
        phone
            .store
            .list_conversations(ConversationFilter::default())
            .await
            .unwrap()
            .len(),
        1
    );
}

/// The status line after "Set up sync" tells what the setup's sync did: the schedule counts
/// from that run and does not run again at its next look (which would have said "Sent 0
/// changes" over it).
#[tokio::test(flavor = "current_thread")]
async fn the_status_after_setup_tells_what_the_first_sync_sent() {
    let Some(dav) = support::peers::webdav() else {
        return;
    };
    let (folder, _) = dav.new_folder("scheduled");
    let phone = memory::services();
    let c = Conversation::new("Heron sightings");
    phone.store.create_conversation(c.clone()).await.unwrap();
    phone
        .store
        .save_message(
            Message::new(&c.id, None, Role::User, "grey, by the weir"),
            true,
        )
        .await
        .unwrap();
    let form = SetupForm {
        url: folder,
        user: dav.user.clone(),
        password: dav.password.clone(),
        passphrase: "heron words".into(),
        name: "Phone".into(),
        ..SetupForm::default()
    };
    let started = tokio::time::Instant::now();
    let mut dom = VirtualDom::new(ScheduledHarness)
        .with_root_context(phone.clone())
        .with_root_context(Form(form));
    dom.rebuild_in_place();
    let html = render_until(&mut dom, "the setup's sync outcome", |h| {
        h.contains("1 conversation and 1 message here")
    })
    .await;
    let outcome = |html: &str| {
        let at = html.find("sync-outcome").expect("an outcome line");
        let text = &html[at..];
        let start = text.find('>').unwrap() + 1;
        text[start..start + text[start..].find('<').unwrap()].to_owned()
    };
    let first = outcome(&html);
    assert!(
        first.starts_with("Sent ") && !first.starts_with("Sent 0 "),
        "{first}"
    );
    // The schedule looks every 20 s after its first look at 3 s: watch past its second look.
    while started.elapsed() < std::time::Duration::from_secs(28) {
        support::vdom::pump(&mut dom).await;
        let html = dioxus_ssr::render(&dom);
        assert!(!html.contains("Syncing…"), "a second run started:\n{html}");
        assert_eq!(outcome(&html), first);
    }
}

/// The form's S3 fields: an `s3://bucket/folder` URL with its endpoint and keys sets sync up
/// against the S3-compatible server; the keys go to the keychain, not the database.
#[tokio::test(flavor = "current_thread")]
async fn setting_up_sync_with_an_s3_bucket_in_the_app() {
    let Some(endpoint) = support::peers::s3_endpoint() else {
        return;
    };
    let bucket = support::peers::new_bucket(&endpoint).await;

    let device = memory::services();
    let c = Conversation::new("Tapir sightings");
    device.store.create_conversation(c.clone()).await.unwrap();
    let form = SetupForm {
        url: format!("s3://{bucket}/notes"),
        endpoint: endpoint.clone(),
        region: "us-east-1".into(),
        access_key: "app-access-key".into(),
        password: "app-secret-key".into(),
        passphrase: "bucket words".into(),
        name: "Tablet".into(),
        ..SetupForm::default()
    };
    let mut dom = VirtualDom::new(Harness)
        .with_root_context(device.clone())
        .with_root_context(Form(form));
    dom.rebuild_in_place();
    let html = render_until(&mut dom, "the first S3 sync's outcome", |h| {
        h.contains("Sync now") && h.contains("Tablet")
    })
    .await;
    assert!(html.contains(&format!("s3://{bucket}/notes")), "{html}");
    assert_eq!(
        device
            .secrets
            .get(sync::ACCESS_KEY_SECRET)
            .await
            .unwrap()
            .as_deref(),
        Some("app-access-key")
    );
    assert_eq!(
        device
            .secrets
            .get(sync::PASSWORD_SECRET)
            .await
            .unwrap()
            .as_deref(),
        Some("app-secret-key")
    );
    let saved = device
        .store
        .get_setting(sync::SETUP_KEY.into())
        .await
        .unwrap()
        .unwrap();
    let saved = saved.to_string();
    assert!(saved.contains(&endpoint), "{saved}");
    assert!(
        !saved.contains("app-secret-key") && !saved.contains("app-access-key"),
        "{saved}"
    );
    // The bucket now holds the folder's objects.
    let listing = support::peers::bucket_listing(&endpoint, &bucket).await;
    assert!(listing.contains("<Key>notes/"), "{listing}");
}
