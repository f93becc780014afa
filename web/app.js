// Boots the app: load the wasm module (its `main` launches the Dioxus UI), then register the
// service worker that keeps the app shell available offline.
import init from "./opencode-nexus.js";

await init({ module_or_path: "./opencode-nexus_bg.wasm" });

if ("serviceWorker" in navigator) {
  navigator.serviceWorker.register("./sw.js").catch((e) => console.warn("service worker not registered", e));
}
