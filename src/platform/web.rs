//! Browser implementations of the platform services.
//!
//! - Store: the same `engine::store::Store` (rusqlite + FTS5 + migrations) running in a dedicated
//!   Web Worker over SQLite's OPFS "SyncAccessHandle pool" VFS, which only works off the main
//!   thread. The page talks to it with the store's serializable request protocol as JSON
//!   messages, so the UI thread never runs SQL. One binary serves both roles: `main` checks
//!   whether it runs inside the worker.
//! - Secrets: browsers have no keychain. Keys are held in memory for the session by default
//!   (`Services::set_session_key`); this store is the explicit "remember on this device" option,
//!   backed by `localStorage`, with its trade-off stated in the UI.
//! - HTTP: reqwest's fetch backend. Shell: `window.open`, the async clipboard API.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use futures_channel::oneshot;
use serde::{Deserialize, Serialize};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use super::{HttpFactory, SecretStatus, SecretStore, Services, Shell};
use crate::engine::error::{Error, Result};
use crate::engine::store::api::{Request, Response, StoreClient, StoreTransport};
use crate::engine::store::Store;

const DB_PATH: &str = "/opencode-nexus/history.db";
const KEY_PREFIX: &str = "opencode-nexus.key.";

#[derive(Serialize, Deserialize)]
struct Envelope {
    id: u64,
    request: Request,
}

#[derive(Serialize, Deserialize)]
struct Reply {
    id: u64,
    result: std::result::Result<Response, Error>,
}

/// Log to the browser console (devtools shows the app's and the storage worker's events).
pub fn init_logging() {
    use tracing_subscriber::fmt::MakeWriter;
    struct Console;
    impl std::io::Write for Console {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            let line = String::from_utf8_lossy(buf);
            let line = crate::engine::redact::redact(line.trim_end());
            if line.contains("ERROR") || line.contains("WARN") {
                web_sys::console::warn_1(&JsValue::from_str(&line));
            } else {
                web_sys::console::log_1(&JsValue::from_str(&line));
            }
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    struct MakeConsole;
    impl<'a> MakeWriter<'a> for MakeConsole {
        type Writer = Console;
        fn make_writer(&'a self) -> Console {
            Console
        }
    }
    let _ = tracing_subscriber::fmt()
        .without_time()
        .with_ansi(false)
        .with_target(false)
        .with_max_level(tracing::Level::INFO)
        .with_writer(MakeConsole)
        .try_init();
}

/// True inside the store worker.
pub fn in_worker() -> bool {
    js_sys::global()
        .dyn_into::<web_sys::DedicatedWorkerGlobalScope>()
        .is_ok()
}

/// The worker side: install the OPFS VFS, open the store, answer requests in order. Requests
/// that arrive while the store is opening wait in a queue.
pub fn worker_main() {
    let scope: web_sys::DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
    let state: Rc<RefCell<WorkerState>> = Rc::new(RefCell::new(WorkerState::Opening(Vec::new())));

    let handler_state = state.clone();
    let handler_scope = scope.clone();
    let onmessage =
        Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |ev: web_sys::MessageEvent| {
            let Some(text) = ev.data().as_string() else {
                return;
            };
            let Ok(envelope) = serde_json::from_str::<Envelope>(&text) else {
                return;
            };
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

enum WorkerState {
    Opening(Vec<Envelope>),
    Ready(Box<Store>),
    Failed(Error),
}

fn answer(
    scope: &web_sys::DedicatedWorkerGlobalScope,
    state: &mut WorkerState,
    envelope: Envelope,
) {
    let result = match state {
        WorkerState::Ready(store) => envelope.request.handle(store),
        WorkerState::Failed(e) => Err(e.clone()),
        WorkerState::Opening(_) => return,
    };
    let reply = Reply {
        id: envelope.id,
        result,
    };
    if let Ok(text) = serde_json::to_string(&reply) {
        let _ = scope.post_message(&JsValue::from_str(&text));
    }
}

async fn open_store() -> Result<Store> {
    let cfg = sqlite_wasm_vfs::sahpool::OpfsSAHPoolCfg::default();
    sqlite_wasm_vfs::sahpool::install::<sqlite_wasm_rs::WasmOsCallback>(&cfg, true)
        .await
        .map_err(|e| Error::Database {
            detail: format!(
                "this browser's private storage (OPFS) could not be opened ({e}); OpenCode Nexus may already be open in another tab — close it and reload"
            ),
        })?;
    Store::open(Path::new(DB_PATH))
}

/// The page side: sends requests to the worker and matches replies by id.
pub struct WorkerTransport {
    worker: web_sys::Worker,
    pending: Rc<RefCell<HashMap<u64, oneshot::Sender<Result<Response>>>>>,
    next_id: Cell<u64>,
    _onmessage: Closure<dyn FnMut(web_sys::MessageEvent)>,
    _onerror: Closure<dyn FnMut(web_sys::ErrorEvent)>,
}

impl WorkerTransport {
    pub fn spawn() -> Result<WorkerTransport> {
        let options = web_sys::WorkerOptions::new();
        options.set_type(web_sys::WorkerType::Module);
        let worker = web_sys::Worker::new_with_options("./worker.js", &options).map_err(|e| {
            Error::Database {
                detail: format!("the storage worker could not start ({e:?})"),
            }
        })?;
        let pending: Rc<RefCell<HashMap<u64, oneshot::Sender<Result<Response>>>>> =
            Rc::new(RefCell::new(HashMap::new()));
        let on_reply = pending.clone();
        let onmessage =
            Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |ev: web_sys::MessageEvent| {
                let Some(text) = ev.data().as_string() else {
                    return;
                };
                let reply: Reply = match serde_json::from_str(&text) {
                    Ok(r) => r,
                    Err(e) => {
                        tracing::error!(error = %e, "unreadable reply from the storage worker");
                        return;
                    }
                };
                if let Some(tx) = on_reply.borrow_mut().remove(&reply.id) {
                    let _ = tx.send(reply.result);
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
            worker,
            pending,
            next_id: Cell::new(1),
            _onmessage: onmessage,
            _onerror: onerror,
        })
    }
}

#[async_trait::async_trait(?Send)]
impl StoreTransport for WorkerTransport {
    async fn call(&self, request: Request) -> Result<Response> {
        let id = self.next_id.get();
        self.next_id.set(id + 1);
        let text = serde_json::to_string(&Envelope { id, request }).map_err(Error::db)?;
        let (tx, rx) = oneshot::channel();
        self.pending.borrow_mut().insert(id, tx);
        if let Err(e) = self.worker.post_message(&JsValue::from_str(&text)) {
            self.pending.borrow_mut().remove(&id);
            return Err(Error::Database {
                detail: format!("the storage worker did not accept the request ({e:?})"),
            });
        }
        rx.await
            .map_err(|_| Error::db("the storage worker stopped before answering"))?
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

impl Shell for BrowserShell {
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
