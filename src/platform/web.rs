//! Browser implementations of the platform services.
//!
//! - Store: the same `engine::store::Store` (rusqlite + FTS5 + migrations) running in a dedicated
//!   Web Worker over SQLite's OPFS "SyncAccessHandle pool" VFS, which only works off the main
//!   thread. The page talks to it with the store's serializable request protocol as JSON
//!   messages, so the UI thread never runs SQL. The worker is its own wasm module
//!   (`src/bin/nexus-store.rs`): the page's module carries no SQLite and paints without it.
//! - Secrets: browsers have no keychain. Keys are held in memory for the session by default
//!   (`Services::set_session_key`); this store is the explicit "remember on this device" option,
//!   backed by `localStorage`, with its trade-off stated in the UI.
//! - HTTP: reqwest's fetch backend. Shell: `window.open`, the async clipboard API.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
#[cfg(feature = "web-store")]
use std::path::Path;
use std::path::PathBuf;
use std::rc::Rc;

use futures_channel::oneshot;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use super::{HttpFactory, SecretStatus, SecretStore, Services, Shell, Theme};
use crate::engine::error::{Error, Result};
use crate::engine::store::api::{Request, Response, StoreClient, StoreTransport};
#[cfg(feature = "web-store")]
use crate::engine::store::Store;
use crate::engine::wire::{self, Wire};

#[cfg(feature = "web-store")]
const DB_PATH: &str = "/opencode-nexus/history.db";
const KEY_PREFIX: &str = "opencode-nexus.key.";

/// A request to the storage worker, in the protocol's binary form (`engine::wire`). `id` is
/// written first: the worker reads it before the rest, to answer a request that does not read.
#[derive(Wire)]
struct Envelope {
    id: u64,
    request: Request,
}

/// The worker's answer to the request `id` (first, for the same reason as [`Envelope`]'s).
#[cfg(feature = "web-store")]
#[derive(Wire)]
struct Reply {
    id: u64,
    result: std::result::Result<Response, Error>,
}

/// Log to the browser console (devtools shows the app's and the storage worker's events):
/// one line per event at INFO and above (the page's module keeps only warnings and errors,
/// `Cargo.toml`'s `web` feature), ` WARN message key=value`, redacted like the native log
/// files. A subscriber of its own rather than `tracing_subscriber::fmt`: the console
/// needs no spans, timestamps or filters, and the formatter's machinery is a sizeable part of
/// the page's module.
pub fn init_logging() {
    use tracing::field::{Field, Visit};
    use tracing::span::{Attributes, Id, Record};
    use tracing::{Event, Level, Metadata};

    struct Line(String);
    impl Visit for Line {
        fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
            use std::fmt::Write as _;
            let _ = if field.name() == "message" {
                write!(self.0, " {value:?}")
            } else {
                write!(self.0, " {}={value:?}", field.name())
            };
        }
        fn record_str(&mut self, field: &Field, value: &str) {
            if field.name() == "message" {
                self.0.push(' ');
                self.0.push_str(value);
            } else {
                self.record_debug(field, &value);
            }
        }
    }

    struct Console;
    impl tracing::Subscriber for Console {
        fn enabled(&self, metadata: &Metadata<'_>) -> bool {
            *metadata.level() <= Level::INFO
        }
        fn max_level_hint(&self) -> Option<tracing::level_filters::LevelFilter> {
            Some(tracing::level_filters::LevelFilter::INFO)
        }
        fn new_span(&self, _: &Attributes<'_>) -> Id {
            Id::from_u64(1)
        }
        fn record(&self, _: &Id, _: &Record<'_>) {}
        fn record_follows_from(&self, _: &Id, _: &Id) {}
        fn event(&self, event: &Event<'_>) {
            let level = *event.metadata().level();
            let mut line = Line(format!("{level:>5}"));
            event.record(&mut line);
            let line = JsValue::from_str(&crate::engine::redact::redact(&line.0));
            if level <= Level::WARN {
                web_sys::console::warn_1(&line);
            } else {
                web_sys::console::log_1(&line);
            }
        }
        fn enter(&self, _: &Id) {}
        fn exit(&self, _: &Id) {}
    }

    let _ = tracing::subscriber::set_global_default(Console);
}

/// The worker side: install the OPFS VFS, open the store, answer requests in order. Requests
/// that arrive while the store is opening wait in a queue.
#[cfg(feature = "web-store")]
pub fn worker_main() {
    let scope: web_sys::DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
    crate::engine::portability::set_progress_hook(post_progress);
    let state: Rc<RefCell<WorkerState>> = Rc::new(RefCell::new(WorkerState::Opening(Vec::new())));

    let handler_state = state.clone();
    let handler_scope = scope.clone();
    let onmessage =
        Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |ev: web_sys::MessageEvent| {
            let Some(bytes) = ev
                .data()
                .dyn_ref::<js_sys::Uint8Array>()
                .map(|b| b.to_vec())
            else {
                return;
            };
            // The id comes first: a request that does not read is still answered.
            let Some((id, request)) = wire::decode_addressed::<Request>(&bytes) else {
                return;
            };
            let Ok(request) = request else {
                post_reply(&handler_scope, id, Err(unreadable()));
                return;
            };
            let envelope = Envelope { id, request };
            let mut st = handler_state.borrow_mut();
            match &mut *st {
                WorkerState::Opening(queue) => queue.push(envelope),
                ready => answer(&handler_scope, ready, envelope),
            }
        });
    scope.set_onmessage(Some(onmessage.as_ref().unchecked_ref()));
    onmessage.forget();

    wasm_bindgen_futures::spawn_local(async move {
        let opened = open_store().await;
        match &opened {
            Ok(_) => tracing::info!("storage worker: database open"),
            Err(e) => tracing::error!(error = %e, "storage worker: database unavailable"),
        }
        let queued = match std::mem::replace(
            &mut *state.borrow_mut(),
            match opened {
                Ok(store) => WorkerState::Ready(Box::new(store)),
                Err(e) => WorkerState::Failed(e),
            },
        ) {
            WorkerState::Opening(q) => q,
            _ => Vec::new(),
        };
        let mut st = state.borrow_mut();
        for envelope in queued {
            answer(&scope, &mut st, envelope);
        }
    });
}

#[cfg(feature = "web-store")]
enum WorkerState {
    Opening(Vec<Envelope>),
    Ready(Box<Store>),
    Failed(Error),
}

#[cfg(feature = "web-store")]
fn answer(
    scope: &web_sys::DedicatedWorkerGlobalScope,
    state: &mut WorkerState,
    envelope: Envelope,
) {
    // A long operation reports progress to a mirror of the page's job (see `post_progress`).
    let _job = envelope
        .request
        .job()
        .map(crate::engine::portability::Job::adopt);
    let result = match state {
        WorkerState::Ready(store) => envelope.request.handle(store),
        WorkerState::Failed(e) => Err(e.clone()),
        WorkerState::Opening(_) => return,
    };
    post_reply(scope, envelope.id, result);
}

#[cfg(feature = "web-store")]
fn post_reply(scope: &web_sys::DedicatedWorkerGlobalScope, id: u64, result: Result<Response>) {
    let bytes = wire::encode(&Reply { id, result });
    let _ = scope.post_message(&js_sys::Uint8Array::from(&bytes[..]));
}

/// A request or an answer between the page and its storage worker did not read: they are from
/// different builds (a page kept open across an update of the site), or the message was cut.
fn unreadable() -> Error {
    Error::Invalid(
        "The page and its storage could not understand each other (they may be from different versions of the app). Reload the page; nothing was changed."
            .into(),
    )
}

/// Progress of a long operation, sent to the page as `[job id, done, total]` (replies are
/// bytes, `engine::wire`, so the two never mix), at most every 100 ms and always at the end.
#[cfg(feature = "web-store")]
fn post_progress(job: &str, done: u64, total: u64) {
    thread_local! {
        static LAST: Cell<f64> = const { Cell::new(0.0) };
    }
    let now = js_sys::Date::now();
    if done < total && now - LAST.with(Cell::get) < 100.0 {
        return;
    }
    LAST.with(|l| l.set(now));
    let scope: web_sys::DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
    let note = js_sys::Array::of3(
        &JsValue::from_str(job),
        &JsValue::from_f64(done as f64),
        &JsValue::from_f64(total as f64),
    );
    let _ = scope.post_message(&note);
}

#[cfg(feature = "web-store")]
async fn open_store() -> Result<Store> {
    let cfg = sqlite_wasm_vfs::sahpool::OpfsSAHPoolCfg::default();
    // After a cancelled operation the page replaces this worker; the browser releases the old
    // one's file handles shortly after it stops, so a few retries bridge that moment.
    let mut attempt = 0;
    loop {
        match sqlite_wasm_vfs::sahpool::install::<sqlite_wasm_rs::WasmOsCallback>(&cfg, true).await
        {
            Ok(_) => break,
            Err(_) if attempt < 20 => {
                attempt += 1;
                gloo_timers::future::sleep(std::time::Duration::from_millis(250)).await;
            }
            Err(e) => {
                return Err(Error::Database {
                    detail: format!(
                        "this browser's private storage (OPFS) could not be opened ({e}); OpenCode Nexus may already be open in another tab — close it and reload"
                    ),
                })
            }
        }
    }
    Store::open(Path::new(DB_PATH))
}

/// The page side: sends requests to the worker and matches replies by id.
///
/// Cancelling a long operation stops the worker outright (it is busy inside SQLite and reads no
/// messages until it finishes) and starts a new one: SQLite rolls the unfinished transaction
/// back when the new worker opens the database, so a cancelled import changes nothing.
pub struct WorkerTransport {
    worker: RefCell<web_sys::Worker>,
    pending: Rc<RefCell<HashMap<u64, oneshot::Sender<Result<Response>>>>>,
    next_id: Cell<u64>,
    onmessage: Closure<dyn FnMut(web_sys::MessageEvent)>,
    onerror: Closure<dyn FnMut(web_sys::ErrorEvent)>,
}

/// The storage worker, created as the page's services are made (during the first render). It
/// fetches and compiles its module once it is told to go (`worker.js`): by `after_first_paint`
/// for the page's first worker, at once for a restarted one. A request made before the
/// database is open waits for it in the worker.
fn start_worker() -> Result<web_sys::Worker> {
    let options = web_sys::WorkerOptions::new();
    options.set_type(web_sys::WorkerType::Module);
    web_sys::Worker::new_with_options("./worker.js", &options).map_err(|e| Error::Database {
        detail: format!("the storage worker could not start ({e:?})"),
    })
}

fn tell_to_go(worker: &web_sys::Worker) {
    let _ = worker.post_message(&JsValue::TRUE);
    // The app's first frame is painted: the prerendered one (index.html's #shell, hidden by
    // the stylesheet since the app mounted) can go.
    if let Some(shell) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.get_element_by_id("shell"))
    {
        shell.remove();
    }
}

/// Tell the worker to load its module once the page's first frame is painted: a timeout set
/// from an animation frame callback runs after that frame. On a 2-core machine the module's
/// compilation otherwise takes the CPU the first paint needs. Hidden pages get no animation
/// frames, so a plain timeout tells it too (a second "go" is ignored).
fn after_first_paint(worker: &web_sys::Worker) {
    let Some(window) = web_sys::window() else {
        tell_to_go(worker);
        return;
    };
    let told = worker.clone();
    let go = Closure::once_into_js(move || tell_to_go(&told));
    let timers = window.clone();
    let frame = Closure::once_into_js(move || {
        let _ = timers.set_timeout_with_callback_and_timeout_and_arguments_0(go.unchecked_ref(), 0);
    });
    if window
        .request_animation_frame(frame.unchecked_ref())
        .is_err()
    {
        tell_to_go(worker);
    }
    let late = worker.clone();
    let fallback = Closure::once_into_js(move || tell_to_go(&late));
    let _ = window
        .set_timeout_with_callback_and_timeout_and_arguments_0(fallback.unchecked_ref(), 1000);
}

impl WorkerTransport {
    pub fn spawn() -> Result<WorkerTransport> {
        let worker = start_worker()?;
        after_first_paint(&worker);
        let pending: Rc<RefCell<HashMap<u64, oneshot::Sender<Result<Response>>>>> =
            Rc::new(RefCell::new(HashMap::new()));
        let on_reply = pending.clone();
        let onmessage =
            Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |ev: web_sys::MessageEvent| {
                let data = ev.data();
                if let Some(note) = data.dyn_ref::<js_sys::Array>() {
                    let job = note.get(0).as_string().unwrap_or_default();
                    let done = note.get(1).as_f64().unwrap_or(0.0) as u64;
                    let total = note.get(2).as_f64().unwrap_or(0.0) as u64;
                    if let Some(job) = crate::engine::portability::Job::find(&job) {
                        job.report(done, total);
                    }
                    return;
                }
                let Some(bytes) = data.dyn_ref::<js_sys::Uint8Array>().map(|b| b.to_vec()) else {
                    return;
                };
                // The id comes first: the request waiting for an answer that does not read
                // gets the sentence instead of waiting for ever.
                let Some((id, result)) = wire::decode_addressed::<Result<Response>>(&bytes) else {
                    tracing::error!("unreadable reply from the storage worker");
                    return;
                };
                let result = result.unwrap_or_else(|_| {
                    tracing::error!("unreadable reply from the storage worker");
                    Err(unreadable())
                });
                if let Some(tx) = on_reply.borrow_mut().remove(&id) {
                    let _ = tx.send(result);
                }
            });
        worker.set_onmessage(Some(onmessage.as_ref().unchecked_ref()));
        let on_fail = pending.clone();
        let onerror =
            Closure::<dyn FnMut(web_sys::ErrorEvent)>::new(move |ev: web_sys::ErrorEvent| {
                let detail = format!("the storage worker stopped: {}", ev.message());
                for (_, tx) in on_fail.borrow_mut().drain() {
                    let _ = tx.send(Err(Error::Database {
                        detail: detail.clone(),
                    }));
                }
            });
        worker.set_onerror(Some(onerror.as_ref().unchecked_ref()));
        Ok(WorkerTransport {
            worker: RefCell::new(worker),
            pending,
            next_id: Cell::new(1),
            onmessage,
            onerror,
        })
    }

    /// Stop the worker in the middle of an operation and start a fresh one. Requests queued
    /// behind the cancelled one are answered with a sentence asking to try again.
    fn restart(&self) -> Result<()> {
        self.worker.borrow().terminate();
        for (_, tx) in self.pending.borrow_mut().drain() {
            let _ = tx.send(Err(Error::Database {
                detail: "the storage was restarted after an operation was cancelled; try again"
                    .into(),
            }));
        }
        let worker = start_worker()?;
        tell_to_go(&worker);
        worker.set_onmessage(Some(self.onmessage.as_ref().unchecked_ref()));
        worker.set_onerror(Some(self.onerror.as_ref().unchecked_ref()));
        *self.worker.borrow_mut() = worker;
        tracing::info!("storage worker restarted after a cancelled operation");
        Ok(())
    }
}

#[async_trait::async_trait(?Send)]
impl StoreTransport for WorkerTransport {
    async fn call(&self, request: Request) -> Result<Response> {
        let id = self.next_id.get();
        self.next_id.set(id + 1);
        let job = request
            .job()
            .and_then(crate::engine::portability::Job::find);
        let bytes = wire::encode(&Envelope { id, request });
        let (tx, rx) = oneshot::channel();
        self.pending.borrow_mut().insert(id, tx);
        if let Err(e) = self
            .worker
            .borrow()
            .post_message(&js_sys::Uint8Array::from(&bytes[..]))
        {
            self.pending.borrow_mut().remove(&id);
            return Err(Error::Database {
                detail: format!("the storage worker did not accept the request ({e:?})"),
            });
        }
        let stopped = |_| Error::db("the storage worker stopped before answering");
        let Some(job) = job else {
            return rx.await.map_err(stopped)?;
        };
        // A cancellable operation: watch the job while waiting for the answer.
        let job_id = job.id().to_owned();
        let cancelled = async move {
            while !job.is_cancelled() {
                gloo_timers::future::sleep(std::time::Duration::from_millis(100)).await;
            }
        };
        match futures_util::future::select(rx, std::pin::pin!(cancelled)).await {
            futures_util::future::Either::Left((reply, _)) => reply.map_err(stopped)?,
            futures_util::future::Either::Right(_) => {
                self.pending.borrow_mut().remove(&id);
                self.restart()?;
                // The worker may have committed just before it was stopped: then the import is
                // in the history, and "nothing was changed" would be untrue.
                let committed = self.call(Request::ImportCommitted(job_id)).await;
                if let Ok(Response::ImportCommitted(true)) = committed {
                    return Err(Error::Invalid(
                        "The import had already finished when Cancel took effect: what it brought in is in the history.".into(),
                    ));
                }
                Err(Error::Cancelled)
            }
        }
    }
}

fn local_storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}

/// "Remember on this device": keys in this browser profile's `localStorage`.
pub struct BrowserSecrets;

#[async_trait::async_trait(?Send)]
impl SecretStore for BrowserSecrets {
    async fn get(&self, profile_id: &str) -> Result<Option<String>> {
        Ok(local_storage().and_then(|s| {
            s.get_item(&format!("{KEY_PREFIX}{profile_id}"))
                .ok()
                .flatten()
        }))
    }

    async fn set(&self, profile_id: &str, secret: &str) -> Result<()> {
        let storage = local_storage().ok_or_else(|| Error::Secret {
            detail: "this browser does not allow storing data for this page".into(),
        })?;
        storage
            .set_item(&format!("{KEY_PREFIX}{profile_id}"), secret)
            .map_err(|_| Error::Secret {
                detail: "the browser refused to store the key (private mode or storage full)"
                    .into(),
            })
    }

    async fn delete(&self, profile_id: &str) -> Result<()> {
        if let Some(s) = local_storage() {
            let _ = s.remove_item(&format!("{KEY_PREFIX}{profile_id}"));
        }
        Ok(())
    }

    async fn status(&self) -> SecretStatus {
        SecretStatus::DeviceStorage {
            note: "Browsers have no system keychain. Keys stay in memory for this session unless you choose “Remember on this device”, which keeps them unencrypted in this browser profile's storage: anyone who can use this browser profile can read them.".into(),
        }
    }
}

pub struct BrowserShell;

/// Where the browser keeps the theme last shown (read by web/look.js before the first paint).
const THEME_KEY: &str = "nexus-theme";

#[async_trait::async_trait(?Send)]
impl Shell for BrowserShell {
    fn remembered_theme(&self) -> Option<Theme> {
        match local_storage()?.get_item(THEME_KEY).ok()??.as_str() {
            "dark" => Some(Theme::Dark),
            "light" => Some(Theme::Light),
            "system" => Some(Theme::System),
            _ => None,
        }
    }

    fn remember_theme(&self, theme: Theme) {
        let name = match theme {
            Theme::System => "system",
            Theme::Light => "light",
            Theme::Dark => "dark",
        };
        if let Some(storage) = local_storage() {
            let _ = storage.set_item(THEME_KEY, name);
        }
        // The class web/look.js sets at the next start, kept in step meanwhile.
        if let Some(root) = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.document_element())
        {
            let classes = root.class_list();
            let _ = classes.remove_2("look-dark", "look-light");
            if theme != Theme::System {
                let _ = classes.add_1(&format!("look-{name}"));
            }
        }
    }

    fn data_dir(&self) -> Option<PathBuf> {
        None
    }

    fn open_url(&self, url: &str) -> Result<()> {
        let safe = crate::engine::markdown::safe_url(url).ok_or_else(|| {
            Error::Invalid("Only http, https and mailto links can be opened.".into())
        })?;
        let window =
            web_sys::window().ok_or_else(|| Error::Invalid("No browser window.".into()))?;
        window
            .open_with_url_and_target_and_features(&safe, "_blank", "noopener,noreferrer")
            .map(|_| ())
            .map_err(|e| Error::Invalid(format!("The browser blocked opening the link ({e:?}).")))
    }

    fn copy_to_clipboard(&self, text: &str) -> Result<()> {
        // navigator.clipboard.writeText(text), reached dynamically: the async clipboard API is
        // present in every browser the app supports.
        let window =
            web_sys::window().ok_or_else(|| Error::Invalid("No browser window.".into()))?;
        let clipboard = js_sys::Reflect::get(&window.navigator(), &JsValue::from_str("clipboard"))
            .map_err(|_| Error::Invalid("The clipboard is not available here.".into()))?;
        let write = js_sys::Reflect::get(&clipboard, &JsValue::from_str("writeText"))
            .ok()
            .and_then(|f| f.dyn_into::<js_sys::Function>().ok())
            .ok_or_else(|| Error::Invalid("The clipboard is not available here.".into()))?;
        write
            .call1(&clipboard, &JsValue::from_str(text))
            .map(|_| ())
            .map_err(|_| Error::Invalid("The browser refused clipboard access.".into()))
    }

    fn notify(&self, title: &str, body: &str) {
        tracing::info!(title, body, "notification");
    }

    fn export_dir(&self) -> Option<PathBuf> {
        None
    }

    fn backups_dir(&self) -> Option<PathBuf> {
        None
    }

    fn save_file(&self, file_name: &str, mime: &str, contents: &[u8]) -> Result<String> {
        // A Blob URL clicked through a temporary `<a download>`: the browser saves the file
        // where the user keeps downloads.
        let fail = |what: &str, e: JsValue| {
            Error::Invalid(format!("The browser refused the download ({what}: {e:?})."))
        };
        let window =
            web_sys::window().ok_or_else(|| Error::Invalid("No browser window.".into()))?;
        let document = window
            .document()
            .ok_or_else(|| Error::Invalid("No document.".into()))?;
        let parts = js_sys::Array::of1(&js_sys::Uint8Array::from(contents));
        let options = web_sys::BlobPropertyBag::new();
        options.set_type(mime);
        let blob = web_sys::Blob::new_with_u8_array_sequence_and_options(&parts, &options)
            .map_err(|e| fail("blob", e))?;
        let url = web_sys::Url::create_object_url_with_blob(&blob).map_err(|e| fail("url", e))?;
        let anchor: web_sys::HtmlAnchorElement = document
            .create_element("a")
            .map_err(|e| fail("link", e))?
            .unchecked_into();
        anchor.set_href(&url);
        anchor.set_download(file_name);
        anchor.click();
        // The click has started the download; the URL can go once the event loop turns.
        let revoke = Closure::once_into_js(move || {
            let _ = web_sys::Url::revoke_object_url(&url);
        });
        let _ = window
            .set_timeout_with_callback_and_timeout_and_arguments_0(revoke.unchecked_ref(), 10_000);
        Ok(format!(
            "{file_name} was handed to your browser's downloads."
        ))
    }

    fn delete_logs(&self) -> Result<()> {
        // Logs go to the developer console only; there are no files to delete.
        Ok(())
    }

    async fn pasted_files(&self) -> Result<Vec<(String, Vec<u8>)>> {
        // The browser hands pasted files to the page itself; a page may not read local paths.
        Ok(Vec::new())
    }
}

pub struct BrowserHttp {
    client: reqwest::Client,
}

impl HttpFactory for BrowserHttp {
    fn client(&self) -> reqwest::Client {
        self.client.clone()
    }
}

pub fn services() -> Result<Services> {
    Ok(Services::new(
        StoreClient::new(Rc::new(WorkerTransport::spawn()?)),
        Rc::new(BrowserSecrets),
        Rc::new(BrowserHttp {
            client: reqwest::Client::new(),
        }),
        Rc::new(BrowserShell),
    ))
}
