//! Sync's merge, as a property: three simulated devices (real SQLite stores) edit the same
//! history in random interleavings — new chats, replies and branches, renames, pins, archives,
//! deleted conversations and messages — and sync in random orders through one folder, some
//! syncs cut off part-way as by a dropped connection, devices writing snapshots and removing
//! the change files every device has merged, devices removing another from the folder (which
//! then joins again). Afterwards every device holds the same history,
//! a device joining then (from a snapshot) holds it too, and no message is lost but those a
//! user deleted.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

use opencode_nexus::engine::model::*;
use opencode_nexus::engine::store::api::{InlineTransport, StoreClient};
use opencode_nexus::engine::store::Store;
use opencode_nexus::engine::sync::crypto::{KdfParams, SyncKey};
use opencode_nexus::engine::sync::remote::MemoryRemote;
use opencode_nexus::engine::sync::{self, FormatFile};

/// A small deterministic generator (xorshift64*), so a failing seed can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

struct Device {
    transport: Rc<InlineTransport>,
    client: StoreClient,
}

impl Device {
    async fn new(id: &str) -> Device {
        let transport = Rc::new(InlineTransport(RefCell::new(
            Store::open_in_memory().unwrap(),
        )));
        let client = StoreClient::new(transport.clone());
        client
            .sync_enable(id.to_owned(), format!("device {id}"))
            .await
            .unwrap();
        Device { transport, client }
    }

    fn query<T>(&self, sql: &str, f: impl FnMut(&rusqlite::Row) -> rusqlite::Result<T>) -> Vec<T> {
        let store = self.transport.0.borrow();
        let mut stmt = store.connection().prepare(sql).unwrap();
        let rows = stmt.query_map([], f).unwrap();
        rows.collect::<rusqlite::Result<_>>().unwrap()
    }

    /// Conversations (deleted ones too) by id, and their messages by id.
    fn conversations(&self) -> Vec<(String, bool)> {
        self.query(
            "SELECT id, deleted_at IS NOT NULL FROM conversations ORDER BY id",
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
    }

    fn messages_of(&self, conversation: &str) -> Vec<(String, Option<String>)> {
        let store = self.transport.0.borrow();
        let mut stmt = store
            .connection()
            .prepare("SELECT id, parent_id FROM messages WHERE conversation_id = ?1 ORDER BY id")
            .unwrap();
        let rows = stmt
            .query_map([conversation], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap();
        rows.collect::<rusqlite::Result<_>>().unwrap()
    }

    /// Everything a user sees, in a form that compares across devices.
    fn state(&self) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        let rows: Vec<(String, String)> = self.query(
            "SELECT id, json_array(title, pinned, archived, deleted_at IS NOT NULL, head_id,
                                   system_prompt, params, model)
             FROM conversations ORDER BY id",
            |r| Ok((r.get(0)?, r.get(1)?)),
        );
        for (id, fields) in rows {
            out.insert(format!("c {id}"), fields);
        }
        let rows: Vec<(String, String)> = self.query(
            "SELECT id, json_array(conversation_id, parent_id, role, text, status) FROM messages ORDER BY id",
            |r| Ok((r.get(0)?, r.get(1)?)),
        );
        for (id, fields) in rows {
            out.insert(format!("m {id}"), fields);
        }
        out
    }
}

/// The folder with cheap key costs, so the test spends its time merging, not hashing.
fn folder() -> MemoryRemote {
    let remote = MemoryRemote::default();
    let format = FormatFile {
        format: sync::FORMAT,
        kdf: KdfParams {
            m_kib: 64,
            t: 1,
            ..KdfParams::fresh().unwrap()
        },
    };
    remote.files.borrow_mut().insert(
        format!("{}/format.json", sync::ROOT),
        serde_json::to_vec(&format).unwrap(),
    );
    remote
}

struct World {
    devices: Vec<Device>,
    remote: MemoryRemote,
    key: SyncKey,
    rng: Rng,
    created: BTreeSet<String>,
    deleted: BTreeSet<String>,
    interrupted: usize,
    opts: sync::SyncOptions,
    stats: Stats,
}

/// What the runs did, so the test can tell it exercised snapshots.
#[derive(Debug, Default, Clone, Copy)]
struct Stats {
    snapshots_written: usize,
    files_removed: usize,
    joined_from_snapshot: usize,
    removals: usize,
}

impl World {
    async fn sync(&mut self, d: usize, cut: bool) {
        if cut {
            let at = self.remote.requests.get() + 1 + self.rng.below(12) as u64;
            self.remote.fail_from.set(Some(at));
        }
        let result = sync::sync_with_options(
            &self.devices[d].client,
            &self.remote,
            &self.key,
            &self.opts,
            &|_| {},
        )
        .await;
        if let Ok(report) = &result {
            self.stats.snapshots_written += report.snapshot_written as usize;
            self.stats.files_removed += report.files_removed;
        }
        if cut {
            self.remote.fail_from.set(None);
            if result.is_err() {
                self.interrupted += 1;
            }
        } else {
            result.unwrap();
        }
    }

    async fn step(&mut self) {
        let d = self.rng.below(self.devices.len());
        let client = self.devices[d].client.clone();
        let visible: Vec<(String, bool)> = self.devices[d].conversations();
        let pick = |rng: &mut Rng| -> Option<String> {
            let live: Vec<&String> = visible.iter().filter(|c| !c.1).map(|c| &c.0).collect();
            (!live.is_empty()).then(|| live[rng.below(live.len())].clone())
        };
        match self.rng.below(100) {
            0..=14 => {
                let c = Conversation::new(format!("chat {}", self.rng.next() % 1000));
                client.create_conversation(c.clone()).await.unwrap();
                let m = Message::new(&c.id, None, Role::User, "hello");
                self.created.insert(m.id.clone());
                client.save_message(m, true).await.unwrap();
            }
            15..=44 => {
                if let Some(c) = pick(&mut self.rng) {
                    let msgs = self.devices[d].messages_of(&c);
                    // Mostly a reply at the end of the visible branch, sometimes a new branch.
                    let parent = if msgs.is_empty() || self.rng.chance(70) {
                        client.get_conversation(c.clone()).await.unwrap().head_id
                    } else {
                        Some(msgs[self.rng.below(msgs.len())].0.clone())
                    };
                    let role = if self.rng.chance(50) {
                        Role::User
                    } else {
                        Role::Assistant
                    };
                    let m = Message::new(&c, parent, role, &format!("text {}", self.rng.next()));
                    self.created.insert(m.id.clone());
                    client.save_message(m, true).await.unwrap();
                }
            }
            45..=54 => {
                if let Some(c) = pick(&mut self.rng) {
                    let title = format!("renamed {}", self.rng.next() % 1000);
                    client.rename_conversation(c, title).await.unwrap();
                }
            }
            55..=62 => {
                if let Some(c) = pick(&mut self.rng) {
                    let pinned = self.rng.chance(50);
                    client.set_pinned(c, pinned).await.unwrap();
                }
            }
            63..=67 => {
                if let Some(c) = pick(&mut self.rng) {
                    let archived = self.rng.chance(50);
                    client.set_archived(c, archived).await.unwrap();
                }
            }
            68..=70 => {
                if let Some(c) = pick(&mut self.rng) {
                    let p = SamplingParams {
                        temperature: Some((self.rng.below(20) as f64) / 10.0),
                        ..Default::default()
                    };
                    client.set_params(c, p).await.unwrap();
                }
            }
            71..=74 => {
                if let Some(c) = pick(&mut self.rng) {
                    client.delete_conversation(c).await.unwrap();
                }
            }
            75..=78 => {
                if let Some(c) = pick(&mut self.rng) {
                    let msgs = self.devices[d].messages_of(&c);
                    if !msgs.is_empty() {
                        let victim = msgs[self.rng.below(msgs.len())].0.clone();
                        // Deleting removes the message and what follows it on this device.
                        let before: BTreeSet<String> = msgs.iter().map(|m| m.0.clone()).collect();
                        client.delete_message(victim).await.unwrap();
                        let after: BTreeSet<String> = self.devices[d]
                            .messages_of(&c)
                            .into_iter()
                            .map(|m| m.0)
                            .collect();
                        self.deleted.extend(before.difference(&after).cloned());
                    }
                }
            }
            79..=81 => {
                if let Some(c) = pick(&mut self.rng) {
                    let msgs = self.devices[d].messages_of(&c);
                    if !msgs.is_empty() {
                        let m = msgs[self.rng.below(msgs.len())].0.clone();
                        client.select_branch(c, m).await.unwrap();
                    }
                }
            }
            _ if self.rng.chance(6) => {
                // Another device is removed from the folder as if lost; it goes on editing and
                // syncing, so it joins again.
                let other = (d + 1 + self.rng.below(self.devices.len() - 1)) % self.devices.len();
                let id = self.devices[other]
                    .client
                    .sync_state()
                    .await
                    .unwrap()
                    .device
                    .unwrap();
                let cut = self.rng.chance(20);
                if cut {
                    let at = self.remote.requests.get() + 1 + self.rng.below(12) as u64;
                    self.remote.fail_from.set(Some(at));
                }
                let result =
                    sync::remove_device(&client, &self.remote, &self.key, &id, &self.opts).await;
                self.remote.fail_from.set(None);
                match result {
                    Ok(_) => self.stats.removals += 1,
                    Err(_) if cut => self.interrupted += 1,
                    // It has not synced yet, or was removed and has not come back.
                    Err(e) => assert!(e.to_string().contains("is in the sync folder"), "{e}"),
                }
            }
            _ => {
                let cut = self.rng.chance(20);
                self.sync(d, cut).await;
            }
        }
    }
}

/// The first ten rows where `other` (named `who`) differs from `first`.
fn differences(
    first: &BTreeMap<String, String>,
    other: &BTreeMap<String, String>,
    who: &str,
) -> Vec<String> {
    first
        .iter()
        .filter(|(k, v)| other.get(*k) != Some(v))
        .map(|(k, v)| format!("{k}: {v} vs {:?}", other.get(k)))
        .chain(
            other
                .keys()
                .filter(|k| !first.contains_key(*k))
                .map(|k| format!("{k} only on {who}")),
        )
        .take(10)
        .collect()
}

async fn run(seed: u64, steps: usize) -> (usize, usize, Stats) {
    let remote = folder();
    let key = sync::open_folder(&remote, "shared passphrase")
        .await
        .unwrap();
    let mut devices = Vec::new();
    for i in 0..3 {
        devices.push(Device::new(&format!("{i:08x}-0000-4000-8000-000000000000")).await);
    }
    let mut world = World {
        devices,
        remote,
        key,
        rng: Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1),
        created: BTreeSet::new(),
        deleted: BTreeSet::new(),
        interrupted: 0,
        // Snapshots early and often, in small parts.
        opts: sync::SyncOptions {
            snapshot_after_files: 2 + (seed % 4) as usize,
            snapshot_min_percent: if seed.is_multiple_of(2) { 0 } else { 20 },
            part_changes: 5 + (seed % 7) as usize,
        },
        stats: Stats::default(),
    };
    for _ in 0..steps {
        world.step().await;
    }
    // Everyone syncs until nothing is left to exchange.
    for _ in 0..3 {
        for d in 0..3 {
            world.sync(d, false).await;
        }
    }
    let first = world.devices[0].state();
    for (i, dev) in world.devices.iter().enumerate().skip(1) {
        let other = dev.state();
        if first != other {
            let diff = differences(&first, &other, &format!("device {i}"));
            let id = diff[0]
                .split(' ')
                .nth(1)
                .unwrap_or("")
                .trim_end_matches(':')
                .to_owned();
            let records = |d: &Device| {
                let store = d.transport.0.borrow();
                let mut stmt = store
                    .connection()
                    .prepare(
                        "SELECT 'version ' || field || ' ' || hlc || ' ' || coalesce(value, '') FROM sync_versions WHERE id = ?1
                         UNION ALL SELECT 'pending ' || field || ' ' || at_ms FROM sync_dirty WHERE id = ?1
                         UNION ALL SELECT 'tomb ' || id || ' ' || hlc || ' ' || value FROM sync_versions WHERE kind = 'message' AND value LIKE '%' || ?1 || '%'
                         UNION ALL SELECT 'msg ' || id || ' ' || updated_at FROM messages WHERE conversation_id = ?1",
                    )
                    .unwrap();
                let rows = stmt.query_map([&id], |r| r.get::<_, String>(0)).unwrap();
                rows.collect::<rusqlite::Result<Vec<_>>>()
                    .unwrap()
                    .join("; ")
            };
            panic!(
                "seed {seed}: device 0 and device {i} differ:\n{}\nrecords of {id}: on 0: {}\non {i}: {}",
                diff.join("\n"),
                records(&world.devices[0]),
                records(dev)
            );
        }
    }
    // No message lost but those deleted.
    for id in world.created.difference(&world.deleted) {
        assert!(
            first.contains_key(&format!("m {id}")),
            "seed {seed}: message {id} was lost"
        );
    }
    for id in &world.deleted {
        assert!(
            !first.contains_key(&format!("m {id}")),
            "seed {seed}: deleted message {id} came back"
        );
    }
    // Every visible thread ends at a message of its own conversation.
    for dev in &world.devices {
        let bad = dev.query(
            "SELECT id FROM conversations c WHERE head_id IS NOT NULL
               AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.id = c.head_id AND m.conversation_id = c.id)",
            |r| r.get::<_, String>(0),
        );
        assert!(bad.is_empty(), "seed {seed}: heads point nowhere: {bad:?}");
    }
    // A device joining now starts from a snapshot (when one was written) and the change files
    // after it, and ends with the same history.
    let newcomer = Device::new("0000000f-0000-4000-8000-000000000000").await;
    let report = sync::sync_with_options(
        &newcomer.client,
        &world.remote,
        &world.key,
        &world.opts,
        &|_| {},
    )
    .await
    .unwrap();
    let joined = newcomer.state();
    if joined != first {
        let diff = differences(&first, &joined, "the newcomer");
        panic!(
            "seed {seed}: a device joining holds another history ({} snapshots merged):\n{}",
            report.snapshots_merged,
            diff.join("\n")
        );
    }
    // A finished run that wrote a snapshot published it (or one holding more replaced it).
    if world.stats.snapshots_written > 0 {
        assert!(
            report.snapshots_merged > 0,
            "seed {seed}: the newcomer read no snapshot"
        );
    }
    world.stats.joined_from_snapshot += report.snapshots_merged.min(1);
    (world.created.len(), world.interrupted, world.stats)
}

#[tokio::test]
async fn three_devices_converge_and_lose_nothing_whatever_the_order() {
    let mut messages = 0;
    let mut interrupted = 0;
    let mut stats = Stats::default();
    for seed in 1..=40 {
        let (m, i, s) = run(seed, 120).await;
        messages += m;
        interrupted += i;
        stats.snapshots_written += s.snapshots_written;
        stats.files_removed += s.files_removed;
        stats.joined_from_snapshot += s.joined_from_snapshot;
        stats.removals += s.removals;
    }
    // The runs exercised what they claim to.
    assert!(messages > 500, "only {messages} messages written");
    assert!(interrupted > 10, "only {interrupted} syncs were cut off");
    eprintln!("{stats:?}: {messages} messages, {interrupted} syncs cut off");
    assert!(stats.snapshots_written > 40, "{stats:?}");
    assert!(stats.files_removed > 100, "{stats:?}");
    assert!(stats.joined_from_snapshot > 30, "{stats:?}");
    assert!(stats.removals > 20, "{stats:?}");
}

/// The folder holds ciphertext only: no title or message text in any file, and a wrong
/// passphrase is refused before anything is merged.
#[tokio::test]
async fn the_folder_holds_no_plaintext_and_a_wrong_passphrase_changes_nothing() {
    let remote = folder();
    let key = sync::open_folder(&remote, "right").await.unwrap();
    let a = Device::new("aaaaaaaa-0000-4000-8000-000000000000").await;
    let b = Device::new("bbbbbbbb-0000-4000-8000-000000000000").await;
    let c = Conversation::new("Platypus plans");
    a.client.create_conversation(c.clone()).await.unwrap();
    a.client
        .save_message(
            Message::new(&c.id, None, Role::User, "the secret word is zanzibar"),
            true,
        )
        .await
        .unwrap();
    sync::sync_with_key(&a.client, &remote, &key).await.unwrap();
    for (name, data) in remote.files.borrow().iter() {
        for word in [&b"zanzibar"[..], b"Platypus", c.id.as_bytes()] {
            assert!(
                !data.windows(word.len()).any(|w| w == word),
                "{name} holds {}",
                String::from_utf8_lossy(word)
            );
        }
    }
    let err = sync::sync_now(&b.client, &remote, "wrong")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("passphrase"), "{err}");
    assert!(b.conversations().is_empty());
    assert_eq!(b.client.sync_state().await.unwrap().cursors, Vec::new());
    // With the right one it arrives.
    let report = sync::sync_with_key(&b.client, &remote, &key).await.unwrap();
    assert_eq!((report.conversations, report.messages), (1, 1));
    assert_eq!(report.devices.len(), 2);
    let requests_before = remote.requests.get();
    let again = sync::sync_with_key(&b.client, &remote, &key).await.unwrap();
    assert_eq!((again.pushed, again.pulled), (0, 0));
    assert!(remote.requests.get() - requests_before < 10);
}

/// The rules a user can meet, one by one: a rename on one device and a pin on another both
/// survive; a delete wins over an older edit; messages added after a delete keep the
/// conversation, with a note; a reply to a message deleted elsewhere is kept.
#[tokio::test]
async fn field_merges_deletes_and_replies_follow_the_documented_rules() {
    let remote = folder();
    let key = sync::open_folder(&remote, "pass").await.unwrap();
    let a = Device::new("aaaaaaaa-0000-4000-8000-000000000000").await;
    let b = Device::new("bbbbbbbb-0000-4000-8000-000000000000").await;
    let s = |d: &Device| {
        let client = d.client.clone();
        let key = key.clone();
        let remote = &remote;
        async move { sync::sync_with_key(&client, remote, &key).await.unwrap() }
    };
    let c = Conversation::new("Trip");
    a.client.create_conversation(c.clone()).await.unwrap();
    let m1 = Message::new(&c.id, None, Role::User, "where to?");
    a.client.save_message(m1.clone(), true).await.unwrap();
    let m2 = Message::new(&c.id, Some(m1.id.clone()), Role::Assistant, "Lisbon");
    a.client.save_message(m2.clone(), true).await.unwrap();
    s(&a).await;
    s(&b).await;
    assert_eq!(b.client.thread(c.id.clone()).await.unwrap().len(), 2);
    assert_eq!(
        b.client.get_conversation(c.id.clone()).await.unwrap().title,
        "Trip"
    );

    // Rename on A, pin on B: both survive.
    a.client
        .rename_conversation(c.id.clone(), "Lisbon trip".into())
        .await
        .unwrap();
    b.client.set_pinned(c.id.clone(), true).await.unwrap();
    s(&a).await;
    s(&b).await;
    s(&a).await;
    for d in [&a, &b] {
        let got = d.client.get_conversation(c.id.clone()).await.unwrap();
        assert_eq!((got.title.as_str(), got.pinned), ("Lisbon trip", true));
    }

    // A deletes m2 while B replies to it: the reply is kept, moved up to m1.
    a.client.delete_message(m2.id.clone()).await.unwrap();
    let reply = Message::new(&c.id, Some(m2.id.clone()), Role::User, "and Porto?");
    b.client.save_message(reply.clone(), true).await.unwrap();
    s(&a).await;
    s(&b).await;
    s(&a).await;
    for d in [&a, &b] {
        let msgs = d.messages_of(&c.id);
        assert!(!msgs.iter().any(|m| m.0 == m2.id));
        let kept = msgs
            .iter()
            .find(|m| m.0 == reply.id)
            .expect("the reply was kept");
        assert_eq!(kept.1.as_deref(), Some(m1.id.as_str()));
    }

    // B deletes the conversation; A, not having seen it, adds a message: it is kept, noted.
    b.client.delete_conversation(c.id.clone()).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let late = Message::new(&c.id, Some(reply.id.clone()), Role::Assistant, "Porto too");
    a.client.save_message(late.clone(), true).await.unwrap();
    s(&b).await;
    s(&a).await;
    s(&b).await;
    for d in [&a, &b] {
        assert!(d.client.get_conversation(c.id.clone()).await.is_ok());
        let notes = d.transport.0.borrow().sync_notes().unwrap();
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert!(notes[0].1.contains("kept"));
    }

    // A delete newer than every message wins over an older rename made elsewhere.
    let d2 = Conversation::new("Short-lived");
    a.client.create_conversation(d2.clone()).await.unwrap();
    a.client
        .save_message(Message::new(&d2.id, None, Role::User, "hi"), true)
        .await
        .unwrap();
    s(&a).await;
    s(&b).await;
    b.client
        .rename_conversation(d2.id.clone(), "Renamed first".into())
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    a.client.delete_conversation(d2.id.clone()).await.unwrap();
    s(&a).await;
    s(&b).await;
    s(&a).await;
    for d in [&a, &b] {
        assert!(d.client.get_conversation(d2.id.clone()).await.is_err());
    }
}

/// A long run says where it is: after every change file sent and merged, with how many files
/// it has to merge in all (what Settings → Sync shows during a new device's first sync).
#[tokio::test]
async fn a_run_reports_its_progress_file_by_file() {
    let remote = folder();
    let key = sync::open_folder(&remote, "pass").await.unwrap();
    let a = Device::new("aaaaaaaa-0000-4000-8000-000000000000").await;
    let b = Device::new("bbbbbbbb-0000-4000-8000-000000000000").await;
    let c = Conversation::new("Three syncs");
    a.client.create_conversation(c.clone()).await.unwrap();
    let mut parent = None;
    let mut sent = Vec::new();
    for text in ["one", "two", "three"] {
        let m = Message::new(&c.id, parent.clone(), Role::User, text);
        parent = Some(m.id.clone());
        a.client.save_message(m, true).await.unwrap();
        let seen = std::cell::RefCell::new(Vec::new());
        let report =
            sync::sync_with_progress(&a.client, &remote, &key, &|p| seen.borrow_mut().push(p))
                .await
                .unwrap();
        let seen = seen.into_inner();
        // One file sent per run, and its changes counted.
        assert_eq!(seen.len(), 1, "{seen:?}");
        assert_eq!(seen[0].sent, report.pushed);
        assert!(seen[0]
            .sentence()
            .starts_with("Sending this device's changes"));
        sent.push(report.pushed);
    }

    let seen = std::cell::RefCell::new(Vec::new());
    let report = sync::sync_with_progress(&b.client, &remote, &key, &|p| seen.borrow_mut().push(p))
        .await
        .unwrap();
    let seen = seen.into_inner();
    let files: Vec<(usize, usize)> = seen
        .iter()
        .map(|p| (p.files_merged, p.files_to_merge))
        .collect();
    assert_eq!(files, [(0, 3), (1, 3), (2, 3), (3, 3)], "{seen:?}");
    let last = seen.last().unwrap();
    assert_eq!(last.merged, report.pulled);
    assert_eq!(report.pulled, sent.iter().sum::<usize>());
    assert!(
        last.sentence()
            .starts_with("Merging changes from other devices: 3 of 3 files ("),
        "{}",
        last.sentence()
    );
    assert_eq!(b.client.thread(c.id.clone()).await.unwrap().len(), 3);
}

/// A device that syncs often leaves many small change files; once a new device would have to
/// read many of them, a snapshot is written and the files every device has merged are removed.
/// A device joining later reads the snapshot and the few files after it, and holds the same
/// history as the others.
#[tokio::test]
async fn a_new_device_starts_from_a_snapshot_and_merged_files_are_removed() {
    let remote = folder();
    let key = sync::open_folder(&remote, "pass").await.unwrap();
    let opts = sync::SyncOptions {
        snapshot_after_files: 10,
        snapshot_min_percent: 10,
        part_changes: 40,
    };
    let a_id = "aaaaaaaa-0000-4000-8000-000000000000";
    let a = Device::new(a_id).await;
    let b = Device::new("bbbbbbbb-0000-4000-8000-000000000000").await;
    let run = |d: &Device| {
        let client = d.client.clone();
        let (key, remote, opts) = (key.clone(), &remote, opts);
        async move {
            sync::sync_with_options(&client, remote, &key, &opts, &|_| {})
                .await
                .unwrap()
        }
    };
    let mut written = 0;
    let mut removed = 0;
    for i in 0..40 {
        let c = Conversation::new(format!("chat {i}"));
        a.client.create_conversation(c.clone()).await.unwrap();
        let q = Message::new(&c.id, None, Role::User, &format!("question {i}"));
        let r = Message::new(&c.id, Some(q.id.clone()), Role::Assistant, "answer");
        a.client.save_message(q, true).await.unwrap();
        a.client.save_message(r, true).await.unwrap();
        if i % 3 == 0 {
            a.client
                .rename_conversation(c.id.clone(), format!("renamed {i}"))
                .await
                .unwrap();
        }
        let report = run(&a).await;
        written += report.snapshot_written as usize;
        removed += report.files_removed;
        if i % 5 == 4 {
            let report = run(&b).await;
            written += report.snapshot_written as usize;
            removed += report.files_removed;
        }
    }
    run(&b).await;
    let report = run(&a).await;
    removed += report.files_removed;
    assert!(written >= 2, "snapshots written: {written}");
    let a_files = remote
        .files
        .borrow()
        .keys()
        .filter(|k| k.contains(&format!("segments/{a_id}/")))
        .count();
    // 40 runs published 40 change files; those both devices merged and a snapshot holds went.
    assert!(removed >= 25, "files removed: {removed}");
    assert!(
        a_files < 15,
        "{a_files} change files of the busy device are left"
    );
    assert_eq!(a.state(), b.state());

    let c = Device::new("cccccccc-0000-4000-8000-000000000000").await;
    let seen = RefCell::new(Vec::new());
    let report = sync::sync_with_options(&c.client, &remote, &key, &opts, &|p| {
        seen.borrow_mut().push(p)
    })
    .await
    .unwrap();
    assert_eq!(report.snapshots_merged, 1, "{report:?}");
    let last = *seen.borrow().last().unwrap();
    assert!(
        last.files_to_merge < 15 && last.files_merged == last.files_to_merge,
        "{last:?}"
    );
    assert_eq!(report.conversations, 40);
    assert_eq!(report.messages, 80);
    assert_eq!(c.state(), a.state());
    // The newcomer is now one more device that has merged everything: the next runs go on
    // from its cursors, reading nothing twice.
    let again = run(&c).await;
    assert_eq!((again.pulled, again.snapshots_merged), (0, 0));
}

/// Heads say which format wrote them, and a reader refuses a newer format with a sentence
/// before merging anything (a format-1 reader would otherwise miss what a snapshot replaced).
#[tokio::test]
async fn a_device_record_from_a_newer_format_is_refused_with_a_sentence() {
    let remote = folder();
    let key = sync::open_folder(&remote, "pass").await.unwrap();
    let a = Device::new("aaaaaaaa-0000-4000-8000-000000000000").await;
    let c = Conversation::new("one");
    a.client.create_conversation(c.clone()).await.unwrap();
    sync::sync_with_key(&a.client, &remote, &key).await.unwrap();
    let head_path = format!(
        "{}/heads/aaaaaaaa-0000-4000-8000-000000000000.nxh",
        sync::ROOT
    );
    let sealed = remote.files.borrow().get(&head_path).cloned().unwrap();
    let mut head: serde_json::Value =
        serde_json::from_slice(&key.open("head", &sealed).unwrap()).unwrap();
    assert_eq!(head["format"], sync::FORMAT);
    head["format"] = serde_json::json!(sync::FORMAT + 1);
    remote.files.borrow_mut().insert(
        head_path,
        key.seal("head", &serde_json::to_vec(&head).unwrap())
            .unwrap(),
    );
    let b = Device::new("bbbbbbbb-0000-4000-8000-000000000000").await;
    let err = sync::sync_with_key(&b.client, &remote, &key)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("newer version of OpenCode Nexus"), "{err}");
    assert!(b.conversations().is_empty());
}

/// An attached file travels with its message, once per content: to a device reading change
/// files, and to a device joining later from a snapshot.
#[tokio::test]
async fn attached_files_reach_other_devices_through_change_files_and_snapshots() {
    use opencode_nexus::engine::attachments::prepare;
    let remote = folder();
    let key = sync::open_folder(&remote, "pass").await.unwrap();
    let opts = sync::SyncOptions {
        snapshot_after_files: 2,
        snapshot_min_percent: 0,
        part_changes: 3,
    };
    let a = Device::new("aaaaaaaa-0000-4000-8000-000000000000").await;
    let b = Device::new("bbbbbbbb-0000-4000-8000-000000000000").await;
    let run = |d: &Device| {
        let (client, key, remote) = (d.client.clone(), key.clone(), &remote);
        async move {
            sync::sync_with_options(&client, remote, &key, &opts, &|_| {})
                .await
                .unwrap()
        }
    };
    let notes = prepare("notes.txt", b"pack the tent\n".to_vec()).unwrap();
    let c = Conversation::new("Camping");
    a.client.create_conversation(c.clone()).await.unwrap();
    let mut m = Message::new(&c.id, None, Role::User, "the list");
    m.parts.push(Part::Attachment(notes.reference()));
    a.client
        .save_message_with_files(m.clone(), vec![notes.clone()], true)
        .await
        .unwrap();
    run(&a).await;
    run(&b).await;
    for i in 0..3 {
        a.client
            .rename_conversation(c.id.clone(), format!("Camping {i}"))
            .await
            .unwrap();
        run(&a).await;
    }
    run(&b).await;
    run(&a).await;
    let newcomer = Device::new("cccccccc-0000-4000-8000-000000000000").await;
    let joined = run(&newcomer).await;
    // The newcomer starts from A's snapshot, which carries the file.
    assert_eq!(joined.snapshots_merged, 1);
    for d in [&b, &newcomer] {
        let blob = d.client.attachment_data(notes.sha256()).await.unwrap();
        assert_eq!(blob.data, b"pack the tent\n");
        let thread = d.client.thread(c.id.clone()).await.unwrap();
        assert_eq!(thread[0].message.attachments().len(), 1);
    }
}

/// A lost device is removed from the folder by another: its changes are merged there and held
/// in a snapshot first, a device that had merged less of it gets the rest from that snapshot, a
/// new device too, and the others' change files it kept in the folder (its merged numbers stood
/// still) can go. If it syncs again it is listed again and nothing is lost.
#[tokio::test]
async fn a_lost_device_is_removed_from_the_folder_and_nothing_it_wrote_is_lost() {
    let remote = folder();
    let key = sync::open_folder(&remote, "pass").await.unwrap();
    // No snapshots of their own accord: the removal writes the one it needs.
    let opts = sync::SyncOptions {
        snapshot_after_files: 1_000,
        ..sync::SyncOptions::default()
    };
    let (a_id, b_id) = (
        "aaaaaaaa-0000-4000-8000-000000000000",
        "bbbbbbbb-0000-4000-8000-000000000000",
    );
    let a = Device::new(a_id).await;
    let b = Device::new(b_id).await;
    let c = Device::new("cccccccc-0000-4000-8000-000000000000").await;
    let run = |d: &Device| {
        let client = d.client.clone();
        let (key, remote) = (key.clone(), &remote);
        async move {
            sync::sync_with_options(&client, remote, &key, &opts, &|_| {})
                .await
                .unwrap()
        }
    };
    let chat = |d: &Device, title: &'static str| {
        let client = d.client.clone();
        async move {
            let conv = Conversation::new(title);
            client.create_conversation(conv.clone()).await.unwrap();
            let q = Message::new(&conv.id, None, Role::User, &format!("{title}?"));
            let r = Message::new(&conv.id, Some(q.id.clone()), Role::Assistant, "yes");
            client.save_message(q, true).await.unwrap();
            client.save_message(r, true).await.unwrap();
        }
    };
    let files_of = |id: &str| {
        remote
            .files
            .borrow()
            .keys()
            .filter(|k| k.contains(id))
            .cloned()
            .collect::<Vec<_>>()
    };

    chat(&a, "from a").await;
    run(&a).await;
    chat(&b, "from b, seen by all").await;
    run(&b).await;
    run(&c).await;
    // The phone writes more, syncs, and is lost; the third device never merged that.
    chat(&b, "from b, before it was lost").await;
    run(&b).await;
    run(&a).await;
    // The others go on; the lost one's merged numbers no longer move.
    chat(&a, "from a, later").await;
    run(&a).await;
    assert_eq!(files_of(&format!("segments/{a_id}/")).len(), 2);

    // Mistakes change nothing and get a sentence.
    let before = remote.files.borrow().clone();
    for (which, says) in [
        (a_id, "That is this device"),
        (
            "the fridge",
            "No device \"the fridge\" is in the sync folder",
        ),
    ] {
        let err = sync::remove_device(&a.client, &remote, &key, which, &opts)
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains(says), "{err}");
    }
    assert_eq!(*remote.files.borrow(), before);

    let removal = sync::remove_device(&a.client, &remote, &key, &format!("device {b_id}"), &opts)
        .await
        .unwrap();
    assert_eq!(
        (removal.device.as_str(), removal.snapshot_written),
        (b_id, true)
    );
    // Its head and its two change files.
    assert_eq!(removal.files_removed, 3, "{removal:?}");
    assert!(files_of(b_id).is_empty(), "{:?}", files_of(b_id));
    let listed: Vec<String> = sync::devices(&remote, &key, a_id)
        .await
        .unwrap()
        .into_iter()
        .map(|d| d.id)
        .collect();
    assert!(!listed.contains(&b_id.to_owned()), "{listed:?}");
    assert_eq!(listed.len(), 2);

    // The device that never merged the lost one's last change file gets it from the snapshot.
    let report = run(&c).await;
    assert_eq!(report.snapshots_merged, 1, "{report:?}");
    assert_eq!(c.state(), a.state());
    assert_eq!(report.conversations, 4);
    // So does a device joining now.
    let d = Device::new("dddddddd-0000-4000-8000-000000000000").await;
    run(&d).await;
    assert_eq!(d.state(), a.state());
    // Every remaining device has merged the first device's change files and the snapshot
    // holds them: they go, no longer held back by the lost device.
    run(&d).await;
    let report = run(&a).await;
    assert!(report.files_removed >= 2, "{report:?}");
    assert!(files_of(&format!("segments/{a_id}/")).is_empty());

    // The lost device turns up and syncs: it sends its history again and is listed again;
    // nothing is lost on either side.
    chat(&b, "from b, found again").await;
    run(&b).await;
    run(&a).await;
    run(&b).await;
    assert_eq!(b.state(), a.state());
    assert_eq!(a.conversations().len(), 5);
    let listed = sync::devices(&remote, &key, a_id).await.unwrap();
    assert!(listed.iter().any(|d| d.id == b_id), "{listed:?}");
    run(&c).await;
    assert_eq!(c.state(), a.state());

    // Then the first device is lost too, after writing more; the third removes it. The one
    // snapshot holding the earlier removal's changes was the first device's, so the remover
    // writes one that holds both; a device joining after that has everything.
    chat(&a, "from a, last").await;
    run(&a).await;
    let removal = sync::remove_device(&c.client, &remote, &key, a_id, &opts)
        .await
        .unwrap();
    assert!(removal.snapshot_written, "{removal:?}");
    assert!(files_of(a_id).is_empty(), "{:?}", files_of(a_id));
    let e = Device::new("eeeeeeee-0000-4000-8000-000000000000").await;
    let report = run(&e).await;
    assert_eq!(report.conversations, 6, "{report:?}");
    assert_eq!(e.state(), c.state());
}

/// Backends given one name on three devices: every device keeps all three, under names that
/// stay distinct, the same everywhere, whatever order the devices sync in.
#[tokio::test]
async fn one_backend_name_on_three_devices_stays_three_distinct_backends() {
    for order in [[0, 1, 2], [2, 1, 0], [1, 2, 0]] {
        let remote = folder();
        let key = sync::open_folder(&remote, "pass").await.unwrap();
        let mut devices = Vec::new();
        for i in 0..3 {
            let d = Device::new(&format!("{i:08x}-0000-4000-8000-000000000000")).await;
            let p = Profile::new("scripted", BackendKind::OpenAiCompatible, "http://x/v1");
            d.client.save_profile(p).await.unwrap();
            devices.push(d);
        }
        for round in 0..3 {
            for &i in &order {
                let d: &Device = &devices[i];
                sync::sync_with_key(&d.client, &remote, &key)
                    .await
                    .unwrap_or_else(|e| panic!("order {order:?}, round {round}, device {i}: {e}"));
            }
        }
        let names = |d: &Device| {
            d.query("SELECT id, name FROM profiles ORDER BY id", |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
            })
        };
        let first = names(&devices[0]);
        assert_eq!(first.len(), 3, "{first:?}");
        let distinct: BTreeSet<&String> = first.iter().map(|p| &p.1).collect();
        assert_eq!(distinct.len(), 3, "{first:?}");
        for d in &devices[1..] {
            assert_eq!(names(d), first, "order {order:?}");
        }
    }
}
