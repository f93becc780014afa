//! One scenario for every real sync storage: a busy device syncs many times, a second device
//! follows, snapshots are written and merged change files removed through the storage's own
//! requests, and a device joining afterwards starts from the snapshot and holds the same
//! history.

use std::cell::RefCell;
use std::path::Path;
use std::rc::Rc;

use opencode_nexus::engine::model::*;
use opencode_nexus::engine::store::api::{InlineTransport, StoreClient};
use opencode_nexus::engine::store::Store;
use opencode_nexus::engine::sync::{self, remote::Remote, SyncOptions};

fn device(dir: &Path, name: &str) -> (StoreClient, Rc<InlineTransport>) {
    let t = Rc::new(InlineTransport(RefCell::new(
        Store::open(&dir.join(format!("{name}.db"))).unwrap(),
    )));
    (StoreClient::new(t.clone()), t)
}

/// Conversations with their titles and message texts, as a device holds them.
async fn history(client: &StoreClient) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    for item in client
        .list_conversations(ConversationFilter::default())
        .await
        .unwrap()
    {
        let c = item.conversation;
        let thread = client.thread(c.id.clone()).await.unwrap();
        out.push((
            c.title.clone(),
            thread.iter().map(|t| t.message.text()).collect(),
        ));
    }
    out.sort();
    out
}

/// What the scenario saw, for the caller's own look at the storage.
#[allow(dead_code)]
pub struct Seen {
    pub busy_device: String,
    pub snapshots_written: usize,
    pub files_removed: usize,
}

#[allow(dead_code)]
pub async fn scenario(remote: &dyn Remote, passphrase: &str) -> Seen {
    let dir = tempfile::tempdir().unwrap();
    let opts = SyncOptions {
        snapshot_after_files: 4,
        snapshot_min_percent: 10,
        part_changes: 25,
    };
    let key = sync::open_folder(remote, passphrase).await.unwrap();
    let (a, _at) = device(dir.path(), "a");
    let (b, _bt) = device(dir.path(), "b");
    let busy = new_id();
    a.sync_enable(busy.clone(), "busy laptop".into())
        .await
        .unwrap();
    b.sync_enable(new_id(), "phone".into()).await.unwrap();
    let run = |client: &StoreClient| {
        let (client, key) = (client.clone(), key.clone());
        async move {
            sync::sync_with_options(&client, remote, &key, &opts, &|_| {})
                .await
                .unwrap()
        }
    };
    let (mut written, mut removed) = (0, 0);
    let mut tally = |r: &sync::SyncReport| {
        written += r.snapshot_written as usize;
        removed += r.files_removed;
    };
    for i in 0..12 {
        let c = Conversation::new(format!("Trip plan {i}"));
        a.create_conversation(c.clone()).await.unwrap();
        let q = Message::new(
            &c.id,
            None,
            Role::User,
            &format!("Where do we go on day {i}?"),
        );
        let r = Message::new(&c.id, Some(q.id.clone()), Role::Assistant, "To the coast.");
        a.save_message(q, true).await.unwrap();
        a.save_message(r, true).await.unwrap();
        tally(&run(&a).await);
        if i % 4 == 3 {
            tally(&run(&b).await);
        }
    }
    tally(&run(&b).await);
    tally(&run(&a).await);
    assert!(written >= 1, "no snapshot was written");
    assert!(
        removed >= 6,
        "only {removed} merged change files were removed"
    );
    let segments = remote
        .list(&format!("{}/segments/{busy}", sync::ROOT))
        .await
        .unwrap();
    assert!(
        segments.len() < 6,
        "12 runs of the busy device left {} change files: {segments:?}",
        segments.len()
    );
    let parts = remote
        .list(&format!("{}/snapshots/{busy}", sync::ROOT))
        .await
        .unwrap();
    assert!(parts.iter().all(|p| p.ends_with(".nxp")), "{parts:?}");

    let (c, _ct) = device(dir.path(), "c");
    c.sync_enable(new_id(), "new tablet".into()).await.unwrap();
    let report = run(&c).await;
    assert_eq!(report.snapshots_merged, 1, "{report:?}");
    assert_eq!((report.conversations, report.messages), (12, 24));
    let expected = history(&a).await;
    assert_eq!(expected.len(), 12);
    assert_eq!(history(&b).await, expected);
    assert_eq!(history(&c).await, expected);
    Seen {
        busy_device: busy,
        snapshots_written: written,
        files_removed: removed,
    }
}
