// Boots the app: load the page's wasm module (compiled since boot.js started it; its `main`
// launches the Dioxus UI, whose services start the storage worker), then register the service
// worker that keeps the shell offline. The storage worker fetches and compiles its own module
// (SQLite) once the first frame is painted (web/worker.js).

// Marks for scripts/web_budget.py: when the module starts loading and when its `main` (which
// renders the first frame) has returned.
performance.mark("nexus-init-start");
const { default: init } = await import("./opencode-nexus.js");
// boot.js started compiling the module; without it (or when the host's MIME type made
// streaming compilation fail) the glue fetches and compiles it itself.
const compiled = await (self.nexusModule ?? Promise.reject()).catch(() => null);
await init({ module_or_path: compiled ?? "./opencode-nexus_bg.wasm" });
performance.mark("nexus-init-done");

if ("serviceWorker" in navigator) {
  navigator.serviceWorker.register("./sw.js").catch((e) => console.warn("service worker not registered", e));
}
