// Boots the app. The storage worker starts first, so its module (SQLite) downloads, compiles
// and opens the database while the page's UI module loads and paints; the UI adopts it
// (`platform::web::start_worker`). Then the service worker that keeps the shell offline.
globalThis.nexusStoreWorker = new Worker("./worker.js", { type: "module" });

const { default: init } = await import("./opencode-nexus.js");
await init({ module_or_path: "./opencode-nexus_bg.wasm" });

if ("serviceWorker" in navigator) {
  navigator.serviceWorker.register("./sw.js").catch((e) => console.warn("service worker not registered", e));
}
