//! The store's message protocol. Every operation the app needs is one [`Request`] variant with a
//! typed [`Response`]; [`StoreClient`] gives each a typed async method over any transport (a
//! worker thread on native, a Web Worker in the browser, an in-process store in tests). One macro
//! keeps the three lists in step so an operation cannot exist in one and be missing in another.

use std::path::PathBuf;
use std::rc::Rc;

use super::dump::{ConversationDump, ImportFormat, ImportReport};
use super::sync;
#[cfg(feature = "sqlite")]
use super::Store;
use crate::engine::error::{Error, Result};
use crate::engine::model::*;
use crate::engine::portability as port;
use crate::engine::wire::Wire;

/// Something that runs store requests somewhere else and hands back the answer.
#[async_trait::async_trait(?Send)]
pub trait StoreTransport {
    async fn call(&self, request: Request) -> Result<Response>;
}

macro_rules! store_api {
    ($( $method:ident / $variant:ident ( $($arg:ident : $ty:ty),* ) -> $ret:ty $([$files:ident])? = $body:expr; )*) => {
        // Tuple variants: the page and the worker are built together, so the arguments go by
        // position, and neither module carries a field-name matcher per operation.
        //
        // An operation on files by path (`[files]`) does not exist in the browser build: its
        // store has no file system (its backups are downloads), so neither module carries its
        // request, answer or code, and the client refuses it without sending anything.
        // (`cfg_attr(any(), ..)` never applies; it only ties the `cfg` to the marker.)
        #[derive(Debug, Wire)]
        pub enum Request { $(
            $( #[cfg_attr(any(), $files)] #[cfg(not(target_family = "wasm"))] )?
            $variant ( $($ty),* )
        ),* }

        #[derive(Debug, Wire)]
        pub enum Response { $(
            $( #[cfg_attr(any(), $files)] #[cfg(not(target_family = "wasm"))] )?
            $variant($ret)
        ),* }

        impl Request {
            /// Run the request against a store (on the worker that owns it).
            #[cfg(feature = "sqlite")]
            pub fn handle(self, store: &mut Store) -> Result<Response> {
                match self {
                    $(
                        $( #[cfg_attr(any(), $files)] #[cfg(not(target_family = "wasm"))] )?
                        Request::$variant ( $($arg),* ) => {
                            let run: fn(&mut Store, $($ty),*) -> Result<$ret> = $body;
                            Ok(Response::$variant(run(store, $($arg),*)?))
                        }
                    )*
                }
            }

            pub fn name(&self) -> &'static str {
                match self { $(
                    $( #[cfg_attr(any(), $files)] #[cfg(not(target_family = "wasm"))] )?
                    Request::$variant ( .. ) => stringify!($method)
                ),* }
            }
        }

        impl Response {
            /// The operation this answers (named in the error for a mismatched answer, rather
            /// than the answer's contents, which may be a whole history).
            pub fn name(&self) -> &'static str {
                match self { $(
                    $( #[cfg_attr(any(), $files)] #[cfg(not(target_family = "wasm"))] )?
                    Response::$variant(_) => stringify!($method)
                ),* }
            }
        }

        /// Typed async access to the store through a transport.
        #[derive(Clone)]
        pub struct StoreClient { transport: Rc<dyn StoreTransport> }

        impl StoreClient {
            pub fn new(transport: Rc<dyn StoreTransport>) -> Self { StoreClient { transport } }

            $(
                #[allow(clippy::too_many_arguments)]
                // (A refused operation's arguments go unused in the browser build.)
                #[cfg_attr(target_family = "wasm", allow(unused_variables))]
                pub async fn $method(&self, $($arg: $ty),*) -> Result<$ret> {
                    $(
                        #[cfg_attr(any(), $files)]
                        #[cfg(target_family = "wasm")]
                        return Err(Error::Invalid(format!(
                            "{} works on files, which the browser's store does not have",
                            stringify!($method)
                        )));
                    )?
                    $( #[cfg_attr(any(), $files)] #[cfg(not(target_family = "wasm"))] )?
                    return match self.transport.call(Request::$variant ( $($arg),* )).await? {
                        Response::$variant(v) => Ok(v),
                        #[allow(unreachable_patterns)]
                        other => Err(Error::db(format!("store answered {} to {}", other.name(), stringify!($method)))),
                    };
                }
            )*
        }
    };
}

store_api! {
    list_profiles / ListProfiles() -> Vec<Profile> = |s| s.list_profiles();
    get_profile / GetProfile(id_or_name: String) -> Profile = |s, id| s.get_profile(&id);
    save_profile / SaveProfile(profile: Profile) -> () = |s, p| s.save_profile(&p);
    delete_profile / DeleteProfile(id: String) -> () = |s, id| s.delete_profile(&id);
    stream_usage / StreamUsage(profile_id: String) -> Option<bool> = |s, id| s.stream_usage(&id);
    set_stream_usage / SetStreamUsage(profile_id: String, accepted: bool) -> () = |s, id, a| s.set_stream_usage(&id, a);
    set_price / SetPrice(price: ModelPrice) -> () = |s, p| s.set_price(&p);
    delete_price / DeletePrice(profile_id: String, model: String) -> () = |s, p, m| s.delete_price(&p, &m);
    list_prices / ListPrices(profile_id: Option<String>) -> Vec<ModelPrice> = |s, p| s.list_prices(p.as_deref());
    get_price / GetPrice(profile_id: String, model: String) -> Option<ModelPrice> = |s, p, m| s.get_price(&p, &m);
    save_model_list / SaveModelList(profile_id: String, list: ModelList) -> () = |s, p, l| s.save_model_list(&p, &l);
    model_list / GetModelList(profile_id: String) -> Option<ModelList> = |s, p| s.model_list(&p);

    list_presets / ListPresets() -> Vec<Preset> = |s| s.list_presets();
    get_preset / GetPreset(id_or_name: String) -> Preset = |s, id| s.get_preset(&id);
    save_preset / SavePreset(preset: Preset) -> () = |s, p| s.save_preset(&p);
    delete_preset / DeletePreset(id_or_name: String) -> () = |s, id| s.delete_preset(&id);
    default_preset / DefaultPreset() -> Option<Preset> = |s| s.default_preset();

    list_conversations / ListConversations(filter: ConversationFilter) -> Vec<ConversationSummary> = |s, f| s.list_conversations(&f);
    get_conversation / GetConversation(id: String) -> Conversation = |s, id| s.get_conversation(&id);
    create_conversation / CreateConversation(conversation: Conversation) -> () = |s, c| s.create_conversation(&c);
    update_conversation / UpdateConversation(id: String, edits: Vec<ConversationEdit>) -> Conversation = |s, id, e| s.update_conversation(&id, &e);
    delete_conversation / DeleteConversation(id: String) -> () = |s, id| s.delete_conversation(&id);
    undelete_conversation / UndeleteConversation(id: String) -> () = |s, id| s.undelete_conversation(&id);
    purge_deleted / PurgeDeleted(deleted_before: i64) -> usize = |s, t| s.purge_deleted(t);
    apply_retention / ApplyRetention(cutoff: i64) -> usize = |s, t| s.apply_retention(t);
    count_retention / CountRetention(cutoff: i64) -> i64 = |s, t| s.count_retention(t);
    count_conversations / CountConversations() -> i64 = |s| s.count_conversations();

    save_message / SaveMessage(message: Message, make_head: bool) -> () = |s, m, h| s.save_message(&m, h);
    save_message_with_files / SaveMessageWithFiles(message: Message, files: Vec<crate::engine::attachments::NewAttachment>, make_head: bool) -> () = |s, m, f, h| s.save_message_with_files(&m, &f, h);
    attachment_data / AttachmentData(sha256: String) -> crate::engine::attachments::Blob = |s, h| s.attachment_data(&h);
    get_message / GetMessage(id: String) -> Message = |s, id| s.get_message(&id);
    thread / Thread(conversation_id: String) -> Vec<ThreadMessage> = |s, id| s.thread(&id);
    thread_tail / ThreadTail(conversation_id: String, limit: u32) -> ThreadTail = |s, id, n| s.thread_tail(&id, n as usize);
    usage_total / UsageTotal(conversation_id: String) -> UsageTotal = |s, id| s.usage_total(&id);
    select_branch / SelectBranch(conversation_id: String, message_id: String) -> () = |s, c, m| s.select_branch(&c, &m);
    delete_message / DeleteMessage(message_id: String) -> Conversation = |s, id| s.delete_message(&id);
    find_remote_conversation / FindRemoteConversation(profile_id: String, remote_session: String) -> Option<Conversation> = |s, p, r| s.find_remote_conversation(&p, &r);
    retitle_copies / RetitleCopies(profile_id: String, titles: Vec<(String, String)>) -> usize = |s, p, t| s.retitle_copies(&p, &t);
    replace_messages / ReplaceMessages(conversation_id: String, messages: Vec<Message>) -> () = |s, c, m| s.replace_messages(&c, &m);
    search / Search(query: String, limit: u32) -> Vec<SearchHit> = |s, q, l| s.search(&q, l);

    get_draft / GetDraft(key: String) -> Option<String> = |s, k| s.get_draft(&k);
    set_draft / SetDraft(key: String, text: String) -> () = |s, k, t| s.set_draft(&k, &t);
    get_setting / GetSetting(key: String) -> Option<serde_json::Value> = |s, k| s.get_setting(&k);
    set_setting / SetSetting(key: String, value: serde_json::Value) -> () = |s, k, v| s.set_setting(&k, &v);

    // Sync between devices (engine::sync; the store's side in store::sync).
    sync_enable / SyncEnable(device: String, name: String) -> () = |s, d, n| s.sync_enable(&d, &n);
    sync_forget / SyncForget() -> () = |s| s.sync_forget();
    sync_state / SyncState() -> sync::LocalState = |s| s.sync_state();
    sync_set_last / SyncSetLast(at_ms: i64) -> () = |s, t| s.sync_set_last(t);
    sync_collect / SyncCollect() -> sync::Outgoing = |s| s.sync_collect();
    sync_ack / SyncAck(seq: i64, out: sync::Outgoing) -> () = |s, q, o| s.sync_ack(q, &o);
    sync_skip / SyncSkip(out: sync::Outgoing) -> () = |s, o| s.sync_skip(&o);
    sync_apply / SyncApply(device: String, seq: i64, changes: Vec<sync::Change>, blobs: Vec<sync::BlobData>) -> sync::Applied = |s, d, q, c, b| s.sync_apply(&d, q, &c, &b);
    sync_apply_snapshot / SyncApplySnapshot(changes: Vec<sync::Change>, blobs: Vec<sync::BlobData>, covers: Vec<(String, i64)>) -> sync::Applied = |s, c, b, v| s.sync_apply_snapshot(&c, &b, &v);
    sync_snapshot_page / SyncSnapshotPage(from: sync::SnapshotCursor, max_changes: usize) -> sync::SnapshotPage = |s, f, m| s.sync_snapshot_page(&f, m);
    sync_counts / SyncCounts() -> (i64, i64) = |s| s.sync_counts();
    sync_resend_all / SyncResendAll() -> () = |s| s.sync_resend_all();
    sync_notes / SyncNotes() -> Vec<(String, String)> = |s| s.sync_notes();

    integrity_check / IntegrityCheck() -> Vec<String> = |s| s.integrity_check();
    vacuum / Vacuum() -> () = |s| s.vacuum();
    size_bytes / SizeBytes() -> i64 = |s| s.size_bytes();
    schema_version / SchemaVersion() -> i64 = |s| s.schema_version();
    backup_to / BackupTo(dest: PathBuf) -> () [files] = |s, d| s.backup_to(&d);
    delete_everything / DeleteEverything() -> () = |s| s.delete_everything();
    list_backups / ListBackups(backups_dir: PathBuf) -> Vec<port::BackupFile> [files] = |_, d| port::list_backups(&d);
    delete_backups / DeleteBackups(backups_dir: PathBuf) -> usize [files] = |_, d| port::delete_backups(&d);
    // Replaces the open database with a validated backup, keeping a copy of the current one.
    restore_backup / RestoreBackup(backup: PathBuf) -> port::RestoreReport [files] = |s, b| s.with_file_closed(|db| port::restore(db, &b));

    // Data portability (engine::portability). `job` names a `port::Job` the caller polls for
    // progress and may cancel (which rolls the operation back).
    export_dump / ExportDump(ids: Option<Vec<Id>>, job: Option<String>) -> Vec<ConversationDump> = |s, ids, j| port::with_job(j.as_deref(), |p| s.export_dump(ids.as_deref(), p));
    export_text / ExportText(format: port::ExportFormat, ids: Option<Vec<Id>>, job: Option<String>) -> String = |s, f, ids, j| port::with_job(j.as_deref(), |p| port::export_text(s, f, ids.as_deref(), p));
    export_file / ExportFile(dest: PathBuf, format: port::ExportFormat, ids: Option<Vec<Id>>, job: Option<String>) -> port::ExportReport [files] = |s, d, f, ids, j| port::with_job(j.as_deref(), |p| port::export_file(s, &d, f, ids.as_deref(), p));
    import_conversations / ImportConversations(format: ImportFormat, conversations: Vec<ConversationDump>, job: Option<String>) -> ImportReport = |s, f, c, j| port::with_job(j.as_deref(), |p| s.import_dump(f, c, Vec::new(), Vec::new(), p));
    import_file / ImportFile(path: PathBuf, format: ImportFormat, job: Option<String>) -> ImportReport [files] = |s, path, f, j| port::with_job(j.as_deref(), |p| port::import_file(s, &path, f, p));
    import_text / ImportText(text: String, format: ImportFormat, job: Option<String>) -> ImportReport = |s, t, f, j| port::with_job(j.as_deref(), |p| port::import_bytes(s, t.as_bytes(), f, port::MAX_IMPORT_BYTES, p));
    backup_now / BackupNow(backups_dir: PathBuf, keep: Option<u32>, job: Option<String>) -> PathBuf [files] = |s, d, k, j| port::with_job(j.as_deref(), |p| port::backup_now_with_progress(s, &d, k.map(|k| k as usize), p));
    auto_backup / AutoBackup(backups_dir: PathBuf, every_ms: i64, keep: u32, max_mb: u32) -> Option<PathBuf> [files] = |s, d, e, k, m| port::auto_backup_within(s, &d, e, k as usize, (m > 0).then_some(u64::from(m) * 1_000_000));
    // Whether the import run as this job was committed (asked after the browser stopped its
    // worker to cancel one: the commit may have come first).
    import_committed / ImportCommitted(job: String) -> bool = |s, j| s.import_committed(&j);
    // The browser's backups: the whole database as a download, and a restore from an uploaded
    // file (checked first, then copied in).
    database_image / DatabaseImage() -> port::FileBytes = |s| s.database_image().map(port::FileBytes);
    check_backup_image / CheckBackupImage(name: String, image: port::FileBytes) -> i64 = |_, n, i| Store::check_image(&n, i.0);
    restore_backup_image / RestoreBackupImage(name: String, image: port::FileBytes) -> i64 = |s, n, i| s.restore_image(&n, i.0);
    backups_bytes / BackupsBytes(backups_dir: PathBuf) -> u64 [files] = |_, d| port::backups_bytes(&d);
    // Retention by count and total size (MB, 0 = none); returns how many backups went.
    apply_backup_limits / ApplyBackupLimits(backups_dir: PathBuf, keep: u32, max_mb: u32) -> usize [files] = |_, d, k, m| port::apply_retention_limits(&d, k as usize, (m > 0).then_some(u64::from(m) * 1_000_000)).map(|r| r.len());
}

impl Request {
    /// The progress job a long operation reports to, if the caller named one.
    pub fn job(&self) -> Option<&str> {
        match self {
            Request::ExportDump(_, job)
            | Request::ExportText(_, _, job)
            | Request::ImportConversations(_, _, job)
            | Request::ImportText(_, _, job) => job.as_deref(),
            #[cfg(not(target_family = "wasm"))]
            Request::ExportFile(_, _, _, job)
            | Request::ImportFile(_, _, job)
            | Request::BackupNow(_, _, job) => job.as_deref(),
            _ => None,
        }
    }

    /// Backups read the whole database: a worker that can runs them on a connection of their
    /// own, so the requests the UI waits for (opening a conversation, a search) are not queued
    /// behind them. They only read the history, which WAL lets them do beside the writer.
    /// Retention goes the same way, one after the other with the backups, so removing pages no
    /// manifest lists never races a backup that has stored its pages but not yet its manifest.
    pub fn runs_beside(&self) -> bool {
        #[cfg(not(target_family = "wasm"))]
        return matches!(
            self,
            Request::AutoBackup(..) | Request::BackupNow(..) | Request::ApplyBackupLimits(..)
        );
        #[cfg(target_family = "wasm")]
        false
    }
}

/// Runs requests directly on a store in the calling thread. For tests and for short-lived
/// command-line runs where there is no UI thread to protect.
#[cfg(feature = "sqlite")]
pub struct InlineTransport(pub std::cell::RefCell<Store>);

#[cfg(feature = "sqlite")]
#[async_trait::async_trait(?Send)]
impl StoreTransport for InlineTransport {
    async fn call(&self, request: Request) -> Result<Response> {
        request.handle(&mut self.0.borrow_mut())
    }
}

/// Like [`InlineTransport`], but every request and every answer is written in the protocol's
/// binary form ([`crate::engine::wire`]) and read back, as the browser's page and storage
/// worker pass them; an answer that does not read back to the same bytes is an error. The
/// in-memory services run on it, so every test that uses them carries its real data through
/// that form.
#[cfg(feature = "sqlite")]
pub struct WireTransport(pub std::cell::RefCell<Store>);

#[cfg(feature = "sqlite")]
#[async_trait::async_trait(?Send)]
impl StoreTransport for WireTransport {
    async fn call(&self, request: Request) -> Result<Response> {
        let request: Request = through_wire(&request)?;
        let answer = request.handle(&mut self.0.borrow_mut());
        through_wire(&answer)?
    }
}

/// `value` written and read back, checked to write the same bytes again.
#[cfg(feature = "sqlite")]
fn through_wire<T: Wire>(value: &T) -> Result<T> {
    let bytes = crate::engine::wire::encode(value);
    let back: T = crate::engine::wire::decode(&bytes).map_err(Error::db)?;
    if crate::engine::wire::encode(&back) != bytes {
        return Err(Error::db(
            "a store message changed on its way through the wire",
        ));
    }
    Ok(back)
}

impl StoreClient {
    #[cfg(feature = "sqlite")]
    pub fn inline(store: Store) -> Self {
        StoreClient::new(Rc::new(InlineTransport(std::cell::RefCell::new(store))))
    }

    /// A store in the calling thread behind [`WireTransport`].
    #[cfg(feature = "sqlite")]
    pub fn inline_over_wire(store: Store) -> Self {
        StoreClient::new(Rc::new(WireTransport(std::cell::RefCell::new(store))))
    }

    /// A client for a store that could not be opened: every request is answered with why.
    pub fn unavailable(reason: Error) -> Self {
        StoreClient::new(Rc::new(Unavailable(reason)))
    }
}

/// The transport of [`StoreClient::unavailable`].
struct Unavailable(Error);

#[async_trait::async_trait(?Send)]
impl StoreTransport for Unavailable {
    async fn call(&self, _request: Request) -> Result<Response> {
        Err(self.0.clone())
    }
}

/// The narrow conversation edits, one per thing a user changes. None of them writes the head.
impl StoreClient {
    pub async fn rename_conversation(&self, id: Id, title: String) -> Result<Conversation> {
        self.update_conversation(id, vec![ConversationEdit::Title(title)])
            .await
    }

    pub async fn set_pinned(&self, id: Id, pinned: bool) -> Result<Conversation> {
        self.update_conversation(id, vec![ConversationEdit::Pinned(pinned)])
            .await
    }

    pub async fn set_archived(&self, id: Id, archived: bool) -> Result<Conversation> {
        self.update_conversation(id, vec![ConversationEdit::Archived(archived)])
            .await
    }

    pub async fn set_backend(
        &self,
        id: Id,
        profile_id: Option<Id>,
        model: Option<String>,
    ) -> Result<Conversation> {
        self.update_conversation(id, vec![ConversationEdit::Backend { profile_id, model }])
            .await
    }

    pub async fn set_model(&self, id: Id, model: Option<String>) -> Result<Conversation> {
        self.update_conversation(id, vec![ConversationEdit::Model(model)])
            .await
    }

    pub async fn set_system_prompt(&self, id: Id, prompt: Option<String>) -> Result<Conversation> {
        self.update_conversation(id, vec![ConversationEdit::SystemPrompt(prompt)])
            .await
    }

    pub async fn set_params(&self, id: Id, params: SamplingParams) -> Result<Conversation> {
        self.update_conversation(id, vec![ConversationEdit::Params(params)])
            .await
    }
}
