//! Sync on loopback: the first sync of a 100,000-message history to a new device, one
//! incremental sync of one new message, then a day of small syncs (100 runs of one message
//! each) and a third device joining after it, from a snapshot — requests made, bytes moved and
//! time taken for each.
//! `scripts/bench.sh sync` starts a WebDAV server (`rclone serve webdav`) on 127.0.0.1 and
//! passes it in NEXUS_BENCH_WEBDAV_URL / _USER / _PASSWORD; without it the folder is kept in
//! memory (and the output says so).
//!
//! Under `cargo test` (benches run once, without `--bench`) a small history goes through the
//! same steps and the counts are checked, so the benchmark cannot rot.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Instant;

use opencode_nexus::engine::model::*;
use opencode_nexus::engine::store::api::{InlineTransport, StoreClient};
use opencode_nexus::engine::store::Store;
use opencode_nexus::engine::sync::remote::{MemoryRemote, Remote, WebDav};
use opencode_nexus::engine::sync::{self, SyncReport};

fn store_at(path: &std::path::Path) -> (StoreClient, Rc<InlineTransport>) {
    let t = Rc::new(InlineTransport(RefCell::new(Store::open(path).unwrap())));
    (StoreClient::new(t.clone()), t)
}

/// `conversations` × `per` messages, written in one transaction (the FTS index included).
fn fill(t: &InlineTransport, conversations: usize, per: usize) {
    let store = t.0.borrow();
    let conn = store.connection();
    conn.execute_batch("BEGIN").unwrap();
    let mut n = 0u64;
    for c in 0..conversations {
        let conv = Conversation::new(format!("Conversation {c}"));
        store.create_conversation(&conv).unwrap();
        let mut parent: Option<String> = None;
        for i in 0..per {
            n += 1;
            let role = if i % 2 == 0 {
                Role::User
            } else {
                Role::Assistant
            };
            let text = format!(
                "Message {n} about the {} of {} and how it relates to item {}",
                ["history", "design", "budget", "schema"][i % 4],
                ["trains", "rust", "sqlite", "gardens"][c % 4],
                n * 7 % 1000
            );
            let m = Message::new(&conv.id, parent.clone(), role, &text);
            let parts = serde_json::to_string(&m.parts).unwrap();
            conn.execute(
                "INSERT INTO messages (id, conversation_id, parent_id, role, parts, text, status, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'complete', ?7, ?7)",
                rusqlite::params![m.id, conv.id, parent, role.as_str(), parts, text, m.created_at],
            )
            .unwrap();
            parent = Some(m.id.clone());
        }
        conn.execute(
            "UPDATE conversations SET head_id = ?2 WHERE id = ?1",
            rusqlite::params![conv.id, parent],
        )
        .unwrap();
    }
    conn.execute_batch("COMMIT").unwrap();
}

fn line(
    what: &str,
    r: &SyncReport,
    before: sync::remote::Counters,
    after: sync::remote::Counters,
    secs: f64,
) {
    println!(
        "{what:<44} {:>8.2} s  {:>6} requests  {:>10} bytes up  {:>10} bytes down  ({} sent, {} merged)",
        secs,
        after.requests - before.requests,
        after.bytes_up - before.bytes_up,
        after.bytes_down - before.bytes_down,
        r.pushed,
        r.pulled
    );
}

async fn run(remote: &dyn Remote, conversations: usize, per: usize) {
    let dir = tempfile::tempdir().unwrap();
    let (a, at) = store_at(&dir.path().join("a.db"));
    let (b, _bt) = store_at(&dir.path().join("b.db"));
    let t0 = Instant::now();
    fill(&at, conversations, per);
    println!(
        "history: {conversations} conversations × {per} messages = {} messages, built in {:.1} s",
        conversations * per,
        t0.elapsed().as_secs_f64()
    );
    a.sync_enable(new_id(), "A".into()).await.unwrap();
    b.sync_enable(new_id(), "B".into()).await.unwrap();
    let passphrase = "benchmark passphrase";
    let key = sync::open_folder(remote, passphrase).await.unwrap();

    let c0 = remote.counters();
    let t = Instant::now();
    let r = sync::sync_with_key(&a, remote, &key).await.unwrap();
    let c1 = remote.counters();
    line(
        "device A publishes its history",
        &r,
        c0,
        c1,
        t.elapsed().as_secs_f64(),
    );

    let t = Instant::now();
    let r = sync::sync_with_key(&b, remote, &key).await.unwrap();
    let c2 = remote.counters();
    line(
        "new device B: first sync",
        &r,
        c1,
        c2,
        t.elapsed().as_secs_f64(),
    );
    assert_eq!(r.messages as usize, conversations * per);
    assert_eq!(r.conversations as usize, conversations);

    // One new message on A, then A and B sync.
    let list = a
        .list_conversations(ConversationFilter::default())
        .await
        .unwrap();
    let conv = &list[0].conversation;
    let m = Message::new(&conv.id, conv.head_id.clone(), Role::User, "one more thing");
    a.save_message(m, true).await.unwrap();
    let t = Instant::now();
    let r = sync::sync_with_key(&a, remote, &key).await.unwrap();
    let c3 = remote.counters();
    line(
        "one new message: A sends it",
        &r,
        c2,
        c3,
        t.elapsed().as_secs_f64(),
    );
    assert_eq!(r.pushed, 2, "the message and the conversation's head");
    let t = Instant::now();
    let r = sync::sync_with_key(&b, remote, &key).await.unwrap();
    let c4 = remote.counters();
    line(
        "one new message: B receives it",
        &r,
        c3,
        c4,
        t.elapsed().as_secs_f64(),
    );
    assert_eq!(r.messages as usize, conversations * per + 1);

    // A day of use: 100 small syncs from A, B syncing after every tenth.
    let t = Instant::now();
    let mut head = a.get_conversation(conv.id.clone()).await.unwrap().head_id;
    let mut snapshots = 0;
    let mut removed = 0;
    for i in 0..100 {
        let m = Message::new(&conv.id, head.clone(), Role::User, &format!("note {i}"));
        head = Some(m.id.clone());
        a.save_message(m, true).await.unwrap();
        let r = sync::sync_with_key(&a, remote, &key).await.unwrap();
        snapshots += r.snapshot_written as usize;
        removed += r.files_removed;
        if i % 10 == 9 {
            let r = sync::sync_with_key(&b, remote, &key).await.unwrap();
            snapshots += r.snapshot_written as usize;
            removed += r.files_removed;
        }
    }
    let c5 = remote.counters();
    println!(
        "{:<44} {:>8.2} s  {:>6} requests  ({snapshots} snapshot(s) written, {removed} merged files removed)",
        "a day: 100 small syncs from A, 10 from B",
        t.elapsed().as_secs_f64(),
        c5.requests - c4.requests
    );
    assert!(snapshots >= 1, "a day of small syncs leads to a snapshot");

    let (c, _ct) = store_at(&dir.path().join("c.db"));
    c.sync_enable(new_id(), "C".into()).await.unwrap();
    let t = Instant::now();
    let r = sync::sync_with_key(&c, remote, &key).await.unwrap();
    let c6 = remote.counters();
    line(
        "new device C after that day: first sync",
        &r,
        c5,
        c6,
        t.elapsed().as_secs_f64(),
    );
    assert_eq!(r.snapshots_merged, 1, "C starts from the snapshot");
    assert_eq!(r.messages as usize, conversations * per + 101);
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let (conversations, per) = if full { (2_000, 50) } else { (20, 50) };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        match std::env::var("NEXUS_BENCH_WEBDAV_URL") {
            Ok(url) if !url.is_empty() => {
                let folder = format!("{}bench-{}/", url, new_id());
                let user = std::env::var("NEXUS_BENCH_WEBDAV_USER").ok();
                let password = std::env::var("NEXUS_BENCH_WEBDAV_PASSWORD").ok();
                let client = reqwest::Client::new();
                let mut mk = client.request(reqwest::Method::from_bytes(b"MKCOL").unwrap(), &folder);
                if let Some(u) = &user {
                    mk = mk.basic_auth(u, password.as_deref());
                }
                mk.send().await.unwrap();
                println!("sync folder: WebDAV on loopback ({folder})");
                let remote = WebDav::new(client, &folder, user, password).unwrap();
                run(&remote, conversations, per).await;
            }
            _ => {
                println!("sync folder: in memory (set NEXUS_BENCH_WEBDAV_URL, as scripts/bench.sh sync does, for WebDAV on loopback)");
                run(&MemoryRemote::default(), conversations, per).await;
            }
        }
    });
}
