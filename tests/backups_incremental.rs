//! Incremental backups on real SQLite files: the first one stores every page once, an
//! unchanged database is not backed up again, a day of chatting writes only the changed
//! pages, every backup (incremental or complete) restores exactly the history it was taken
//! from, retention by count and by size keeps what later backups need and removes the rest,
//! and a backup killed half-way or a damaged store leaves the history alone with a sentence.

use std::path::Path;

use opencode_nexus::engine::error::Error;
use opencode_nexus::engine::model::*;
use opencode_nexus::engine::portability::{self, incremental};
use opencode_nexus::engine::store::Store;

/// `n` messages in one new conversation, each text different (as chats are).
fn chat(store: &mut Store, title: &str, n: usize, seed: u64) -> Conversation {
    let c = Conversation::new(title);
    store.create_conversation(&c).unwrap();
    let mut parent: Option<Message> = None;
    let mut x = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
    for j in 0..n {
        let words: Vec<String> = (0..60)
            .map(|_| {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                format!("w{:x}", x >> 44)
            })
            .collect();
        let role = if j % 2 == 0 {
            Role::User
        } else {
            Role::Assistant
        };
        let m = Message::new(
            &c.id,
            parent.as_ref().map(|p| p.id.clone()),
            role,
            &words.join(" "),
        );
        store.save_message(&m, true).unwrap();
        parent = Some(m);
    }
    c
}

fn export(store: &Store) -> String {
    portability::export_json(store, None, 1, &mut |_, _| true).unwrap()
}

/// Restores `backup` into a new database file and exports it.
fn restored(dir: &Path, name: &str, backup: &Path) -> String {
    let db = dir.join(name);
    portability::restore(&db, backup).unwrap();
    export(&Store::open(&db).unwrap())
}

fn db_bytes(store: &Store) -> u64 {
    store.size_bytes().unwrap() as u64
}

#[test]
fn incremental_backups_store_changes_only_and_each_restores_its_history() {
    let dir = tempfile::tempdir().unwrap();
    let backups = dir.path().join("backups");
    let mut store = Store::open(&dir.path().join("history.db")).unwrap();
    let mut early = Vec::new();
    for i in 0..40 {
        early.push(chat(&mut store, &format!("conversation {i}"), 50, i));
    }
    let day_one = export(&store);

    let (first, header) = portability::incremental_backup(&store, &backups, 7, None)
        .unwrap()
        .expect("a first backup");
    assert_eq!(first.extension().unwrap(), "nbk");
    let header = header.expect("an incremental backup: this SQLite lists its pages");
    let size = db_bytes(&store);
    assert_eq!(
        u64::from(header.page_count) * u64::from(header.page_size),
        size
    );
    assert!(header.new_pages > 0);

    // Nothing changed: no new backup, nothing written.
    let store_before = incremental::page_store_bytes(&backups);
    assert_eq!(
        portability::incremental_backup(&store, &backups, 7, None).unwrap(),
        None
    );
    assert_eq!(portability::list_backups(&backups).unwrap().len(), 1);
    assert_eq!(incremental::page_store_bytes(&backups), store_before);

    // A day of chatting: a few conversations more, a rename and a pin.
    chat(&mut store, "today", 30, 1000);
    store
        .update_conversation(
            &early[5].id,
            &[
                ConversationEdit::Title("renamed today".into()),
                ConversationEdit::Pinned(true),
            ],
        )
        .unwrap();
    let day_two = export(&store);
    let (second, header) = portability::incremental_backup(&store, &backups, 7, None)
        .unwrap()
        .expect("a second backup");
    let header = header.unwrap();
    let written = header.new_bytes + std::fs::metadata(&second).unwrap().len();
    let size = db_bytes(&store);
    println!(
        "database {size} bytes; first backup stored {} pages; after a day: {} new pages, {written} bytes written ({:.1} %)",
        header.page_count,
        header.new_pages,
        written as f64 * 100.0 / size as f64
    );
    assert!(
        written * 10 < size,
        "a day's changes wrote {written} bytes of a {size}-byte database"
    );

    // Each restores its own day, byte for byte in the export.
    assert_eq!(restored(dir.path(), "r1.db", &first), day_one);
    assert_eq!(restored(dir.path(), "r2.db", &second), day_two);
    // A complete copy beside them restores too.
    let full = portability::backup_now(&store, &backups).unwrap();
    assert_eq!(full.extension().unwrap(), "db");
    assert_eq!(restored(dir.path(), "r3.db", &full), day_two);
    let listed = portability::list_backups(&backups).unwrap();
    assert_eq!(
        listed.iter().map(|b| b.incremental).collect::<Vec<_>>(),
        [false, true, true],
        "newest first, both kinds"
    );

    // Retention by count: the first manifest goes; its pages that the second still lists stay.
    let removed = portability::apply_backup_retention(&backups, 2).unwrap();
    assert_eq!(removed, std::slice::from_ref(&first));
    assert_eq!(restored(dir.path(), "r4.db", &second), day_two);

    // Retention by size: only the newest is kept, whatever the limit.
    let removed = portability::apply_retention_limits(&backups, 7, Some(1)).unwrap();
    assert_eq!(removed, std::slice::from_ref(&second));
    assert!(
        incremental::page_store_bytes(&backups) < store_before,
        "pages of removed backups are given back"
    );
    assert_eq!(portability::list_backups(&backups).unwrap().len(), 1);
    assert_eq!(restored(dir.path(), "r5.db", &full), day_two);
}

#[test]
fn a_backup_killed_before_its_manifest_costs_nothing_and_damage_is_said() {
    let dir = tempfile::tempdir().unwrap();
    let backups = dir.path().join("backups");
    let db = dir.path().join("history.db");
    let mut store = Store::open(&db).unwrap();
    chat(&mut store, "kept", 200, 7);
    let (first, _) = portability::incremental_backup(&store, &backups, 7, None)
        .unwrap()
        .unwrap();
    let kept = export(&store);

    // Killed after its pages were committed, before the manifest was renamed into place:
    // the pages are there, no manifest lists them, a leftover `.partial` lies around.
    chat(&mut store, "lost in the crash", 100, 8);
    let (crashed, _) = portability::incremental_backup(&store, &backups, 7, None)
        .unwrap()
        .unwrap();
    std::fs::rename(&crashed, crashed.with_extension("nbk.partial")).unwrap();
    assert_eq!(portability::list_backups(&backups).unwrap().len(), 1);
    let removed = incremental::collect_garbage(&backups).unwrap();
    assert!(removed > 0, "the orphaned pages are removed");
    assert_eq!(restored(dir.path(), "after-crash.db", &first), kept);
    // The next backup is complete again and restores today's history.
    let today = export(&store);
    let (next, _) = portability::incremental_backup(&store, &backups, 7, None)
        .unwrap()
        .unwrap();
    assert_eq!(restored(dir.path(), "next.db", &next), today);

    // A damaged manifest or a missing page store: a sentence, and the database stays.
    drop(store);
    let before = std::fs::read(&db).unwrap();
    let torn = backups.join("history-20200101-000000.nbk");
    std::fs::write(&torn, &std::fs::read(&next).unwrap()[..40]).unwrap();
    match portability::restore(&db, &torn) {
        Err(Error::BadBackup { detail, .. }) => assert!(
            detail.contains("truncated") || detail.contains("not an OpenCode Nexus"),
            "{detail}"
        ),
        other => panic!("a torn manifest restored: {other:?}"),
    }
    std::fs::remove_file(&torn).unwrap();
    std::fs::rename(
        backups.join(incremental::PAGE_STORE),
        dir.path().join("moved.db"),
    )
    .unwrap();
    let _ = std::fs::remove_file(backups.join(format!("{}-wal", incremental::PAGE_STORE)));
    let _ = std::fs::remove_file(backups.join(format!("{}-shm", incremental::PAGE_STORE)));
    match portability::restore(&db, &next) {
        Err(e @ Error::BadBackup { .. }) => {
            assert!(e.to_string().contains("pages.db"), "{e}")
        }
        other => panic!("restored without its pages: {other:?}"),
    }
    assert_eq!(
        std::fs::read(&db).unwrap(),
        before,
        "the history was touched"
    );
}
