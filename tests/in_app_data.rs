//! What Settings → Data runs while the app is open, through the desktop's real store worker
//! thread over a real SQLite file: export and import with progress, cancelling an import
//! half-way (nothing changes), backups with retention, restoring a backup into the database
//! the worker holds open (and the app carrying on with it), refusing a bad backup, and "delete
//! all data" leaving none of the text readable in the database files.

use std::path::Path;
use std::time::Duration;

use opencode_nexus::engine::error::Error;
use opencode_nexus::engine::model::*;
use opencode_nexus::engine::portability::{ExportFormat, ImportFormat, Job};
use opencode_nexus::platform::native::{self, DataDirs};
use opencode_nexus::platform::{Services, SettingsStore};

fn services(root: &Path) -> Services {
    native::services(&DataDirs {
        root: root.to_owned(),
        custom: true,
    })
    .unwrap()
}

async fn add_conversation(s: &Services, title: &str, texts: &[&str]) -> Conversation {
    let c = Conversation::new(title);
    s.store.create_conversation(c.clone()).await.unwrap();
    let mut parent: Option<Id> = None;
    for (i, t) in texts.iter().enumerate() {
        let role = if i % 2 == 0 {
            Role::User
        } else {
            Role::Assistant
        };
        let m = Message::new(&c.id, parent.clone(), role, t);
        parent = Some(m.id.clone());
        s.store.save_message(m, true).await.unwrap();
    }
    c
}

async fn titles(s: &Services) -> Vec<String> {
    let mut t: Vec<String> = s
        .store
        .list_conversations(ConversationFilter {
            limit: 100_000,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.conversation.title)
        .collect();
    t.sort();
    t
}

/// An export of `n` conversations, made in a separate data directory.
async fn big_export(root: &Path, n: usize) -> String {
    let s = services(root);
    for i in 0..n {
        add_conversation(
            &s,
            &format!("imported {i}"),
            &[&format!("question {i}"), &format!("answer {i}")],
        )
        .await;
    }
    s.store
        .export_text(ExportFormat::Json, None, None)
        .await
        .unwrap()
}

#[tokio::test(flavor = "current_thread")]
async fn import_reports_progress_and_a_cancelled_import_changes_nothing() {
    let src = tempfile::tempdir().unwrap();
    let export = big_export(src.path(), 1500).await;

    let dir = tempfile::tempdir().unwrap();
    let s = services(dir.path());
    add_conversation(&s, "already here", &["hi", "hello"]).await;

    // Cancelled as soon as the worker has reported some progress.
    let job = Job::start();
    let import = s.store.import_text(
        export.clone(),
        ImportFormat::Auto,
        Some(job.id().to_owned()),
    );
    let watcher = async {
        let mut seen = (0, 0);
        for _ in 0..2000 {
            seen = job.progress();
            if seen.0 > 0 {
                job.cancel();
                break;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        seen
    };
    let (result, seen) = tokio::join!(import, watcher);
    assert!(
        seen.0 > 0 && seen.1 >= 1500,
        "progress was reported while importing: {seen:?}"
    );
    match result {
        Err(Error::Cancelled) => {}
        other => panic!("the import stopped as cancelled, got {other:?}"),
    }
    assert_eq!(titles(&s).await, vec!["already here".to_owned()]);

    // The same import, not cancelled, brings every conversation and ends at total.
    let job = Job::start();
    let report = s
        .store
        .import_text(export, ImportFormat::Auto, Some(job.id().to_owned()))
        .await
        .unwrap();
    assert_eq!(report.conversations_imported, 1500);
    let (done, total) = job.progress();
    assert_eq!(done, total, "progress ends complete");
    assert_eq!(titles(&s).await.len(), 1501);
}

#[tokio::test(flavor = "current_thread")]
async fn export_to_a_file_reports_progress_and_a_cancelled_export_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let s = services(dir.path());
    for i in 0..50 {
        add_conversation(&s, &format!("c{i}"), &["q", "a"]).await;
    }
    // One conversation has a second version of its reply, not the one shown.
    let branched = add_conversation(&s, "branched", &["question"]).await;
    let question = s.store.thread(branched.id.clone()).await.unwrap()[0]
        .message
        .clone();
    for (text, head) in [("first answer", false), ("second answer", true)] {
        let reply = Message::new(
            &branched.id,
            Some(question.id.clone()),
            Role::Assistant,
            text,
        );
        s.store.save_message(reply, head).await.unwrap();
    }
    let out = dir.path().join("downloads");
    std::fs::create_dir_all(&out).unwrap();

    let job = Job::start();
    job.cancel();
    let dest = out.join("cancelled.json");
    let r = s
        .store
        .export_file(
            dest.clone(),
            ExportFormat::Json,
            None,
            Some(job.id().to_owned()),
        )
        .await;
    assert!(matches!(r, Err(Error::Cancelled)), "{r:?}");
    assert!(!dest.exists(), "a cancelled export leaves no file");
    assert_eq!(
        std::fs::read_dir(&out).unwrap().count(),
        0,
        "nor a temporary one"
    );

    let job = Job::start();
    let dest = out.join("all.md");
    let report = s
        .store
        .export_file(
            dest.clone(),
            ExportFormat::Markdown,
            None,
            Some(job.id().to_owned()),
        )
        .await
        .unwrap();
    assert_eq!(report.conversations, 51);
    assert_eq!(job.progress(), (51, 51));
    let text = std::fs::read_to_string(&dest).unwrap();
    assert!(text.contains("c49"), "{}", &text[..200.min(text.len())]);
    // Markdown holds the version shown of each conversation: the count says what the file has.
    assert_eq!(text.matches("\n## ").count(), 102);
    assert_eq!(report.messages, 102);
    assert!(text.contains("second answer") && !text.contains("first answer"));
    // JSON holds every version.
    let report = s
        .store
        .export_file(out.join("all.json"), ExportFormat::Json, None, None)
        .await
        .unwrap();
    assert_eq!(report.messages, 103);
}

#[tokio::test(flavor = "current_thread")]
async fn restore_replaces_the_open_database_and_the_app_carries_on() {
    let dir = tempfile::tempdir().unwrap();
    let backups = dir.path().join("backups");
    let s = services(dir.path());
    add_conversation(&s, "before the backup", &["one", "two"]).await;
    let mut settings = s.store.load_settings().await.unwrap();
    settings.font_size = 19;
    s.store.save_settings(&settings).await.unwrap();

    let job = Job::start();
    let backup = s
        .store
        .backup_now(backups.clone(), Some(3), Some(job.id().to_owned()))
        .await
        .unwrap();
    let (done, total) = job.progress();
    assert!(total > 0 && done == total, "backup progress {done}/{total}");
    add_conversation(&s, "after the backup", &["three", "four"]).await;
    settings.font_size = 12;
    s.store.save_settings(&settings).await.unwrap();

    // A bad file is refused before anything is closed or replaced.
    let junk = dir.path().join("junk.db");
    std::fs::write(&junk, b"this is not a database at all").unwrap();
    let err = s.store.restore_backup(junk).await.unwrap_err();
    assert!(
        err.to_string().contains("junk.db"),
        "the sentence names the file: {err}"
    );
    assert_eq!(
        titles(&s).await,
        vec![
            "after the backup".to_owned(),
            "before the backup".to_owned()
        ]
    );

    // The real restore, while the worker holds the database open.
    let report = s.store.restore_backup(backup.clone()).await.unwrap();
    assert_eq!(report.restored_from, backup);
    assert_eq!(titles(&s).await, vec!["before the backup".to_owned()]);
    assert_eq!(s.store.load_settings().await.unwrap().font_size, 19);
    // The history as it was is kept, complete.
    let pre = report.pre_restore.expect("a copy of the replaced history");
    let copy = opencode_nexus::engine::store::Store::open_raw(&pre).unwrap();
    let kept: Vec<String> = copy
        .list_conversations(&ConversationFilter {
            limit: 10,
            ..Default::default()
        })
        .unwrap()
        .into_iter()
        .map(|c| c.conversation.title)
        .collect();
    assert!(kept.contains(&"after the backup".to_owned()), "{kept:?}");

    // The app goes on writing to the restored database, and a new worker sees it.
    add_conversation(&s, "after the restore", &["five"]).await;
    drop(s);
    let again = services(dir.path());
    assert_eq!(
        titles(&again).await,
        vec![
            "after the restore".to_owned(),
            "before the backup".to_owned()
        ]
    );
    let listed = again.store.list_backups(backups.clone()).await.unwrap();
    assert_eq!(
        listed.len(),
        1,
        "pre-restore copies are not listed as backups"
    );
    assert_eq!(listed[0].path, backup);
}

#[tokio::test(flavor = "current_thread")]
async fn backup_now_keeps_the_newest_n() {
    let dir = tempfile::tempdir().unwrap();
    let backups = dir.path().join("backups");
    let s = services(dir.path());
    add_conversation(&s, "x", &["y"]).await;
    let mut made = Vec::new();
    for _ in 0..5 {
        made.push(
            s.store
                .backup_now(backups.clone(), Some(2), None)
                .await
                .unwrap(),
        );
    }
    let listed: Vec<_> = s
        .store
        .list_backups(backups.clone())
        .await
        .unwrap()
        .into_iter()
        .map(|b| b.path)
        .collect();
    assert_eq!(listed, vec![made[4].clone(), made[3].clone()]);
}

fn files_contain(dir: &Path, needle: &[u8]) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .filter(|e| e.path().is_file())
        .filter(|e| {
            let bytes = std::fs::read(e.path()).unwrap_or_default();
            bytes.windows(needle.len()).any(|w| w == needle)
        })
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect()
}

#[tokio::test(flavor = "current_thread")]
async fn delete_all_data_leaves_nothing_readable_and_the_app_starts_over() {
    let dir = tempfile::tempdir().unwrap();
    let backups = dir.path().join("backups");
    let s = services(dir.path());
    let secret_text = "zebra-quartz-7734 is my private note";
    add_conversation(&s, "private", &[secret_text, "noted"]).await;
    s.store
        .save_profile(Profile::new(
            "local",
            BackendKind::OpenAiCompatible,
            "http://127.0.0.1:9/v1",
        ))
        .await
        .unwrap();
    s.store
        .set_draft("new".into(), "half-written zebra-quartz-7734".into())
        .await
        .unwrap();
    s.store
        .backup_now(backups.clone(), None, None)
        .await
        .unwrap();
    std::fs::write(backups.join("notes.txt"), "not a backup").unwrap();
    assert!(!files_contain(dir.path(), b"zebra-quartz-7734").is_empty());

    s.store.delete_everything().await.unwrap();
    assert!(titles(&s).await.is_empty());
    assert!(s.store.list_profiles().await.unwrap().is_empty());
    assert!(s.store.search("zebra".into(), 10).await.unwrap().is_empty());
    assert_eq!(s.store.get_draft("new".into()).await.unwrap(), None);
    let left = files_contain(dir.path(), b"zebra-quartz-7734");
    assert!(left.is_empty(), "the text is still readable in {left:?}");

    // Backups go only when asked, and only ours.
    assert_eq!(s.store.delete_backups(backups.clone()).await.unwrap(), 1);
    assert!(files_contain(&backups, b"zebra-quartz-7734").is_empty());
    assert!(backups.join("notes.txt").exists());

    // The app carries on with an empty history.
    add_conversation(&s, "fresh start", &["hello"]).await;
    assert_eq!(titles(&s).await, vec!["fresh start".to_owned()]);
}

/// Backups read the whole database on a connection of their own: a request sent while one
/// runs (a read and a write) is answered before the backup finishes, and both are in order.
#[tokio::test]
async fn a_backup_does_not_hold_up_other_store_requests() {
    use futures_util::future::{select, Either};
    let dir = tempfile::tempdir().unwrap();
    let backups = dir.path().join("backups");
    let s = services(dir.path());
    // About 24 MB of history, each text different so pages do not repeat.
    let mut x: u64 = 1;
    for i in 0..120 {
        let text: String = (0..20_000)
            .map(|_| {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                char::from(b'a' + ((x >> 40) % 26) as u8)
            })
            .collect();
        add_conversation(&s, &format!("big {i}"), &[&text, &text[..10_000]]).await;
    }
    let backup = std::pin::pin!(s.store.backup_now(backups.clone(), None, None));
    let meanwhile = std::pin::pin!(async {
        let n = s.store.count_conversations().await.unwrap();
        add_conversation(&s, "written during the backup", &["still here"]).await;
        n
    });
    match select(backup, meanwhile).await {
        Either::Right((n, backup)) => {
            assert_eq!(n, 120);
            let path = backup.await.expect("the backup finishes too");
            assert!(path.is_file());
        }
        Either::Left((path, _)) => panic!(
            "the backup ({:?}) was answered before a count sent after it",
            path.map(|p| std::fs::metadata(p).map(|m| m.len()))
        ),
    }
    assert!(titles(&s)
        .await
        .contains(&"written during the backup".to_owned()));
}
