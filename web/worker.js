// The storage worker: the same wasm module, whose `main` notices it runs in a worker and serves
// the SQLite store (OPFS) instead of starting the UI.
//
// The page may post requests before the module has loaded; a message with no listener would be
// dropped, so they are held here and handed to the store's handler once it is installed.
import init from "./opencode-nexus.js";

const early = [];
self.onmessage = (event) => early.push(event.data);

await init({ module_or_path: "./opencode-nexus_bg.wasm" });

const handler = self.onmessage;
for (const data of early) handler({ data });
