//! The browser's storage worker: SQLite with FTS5 over OPFS, answering the page's store
//! requests (`platform::web::worker_main`). Its own wasm module, loaded by `web/worker.js` in a
//! dedicated Web Worker while the page's UI module loads and paints.

#[cfg(target_family = "wasm")]
fn main() {
    opencode_nexus::platform::web::init_logging();
    opencode_nexus::platform::web::worker_main();
}

#[cfg(not(target_family = "wasm"))]
fn main() {
    eprintln!("nexus-store is the browser build's storage worker; it runs only as wasm32.");
    std::process::exit(2);
}
