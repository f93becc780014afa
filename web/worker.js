// The storage worker: its own wasm module (`src/bin/nexus-store.rs`), serving the SQLite store
// (OPFS) to the page.
//
// The page may post requests before the module has loaded; a message with no listener would be
// dropped, so they are held here and handed to the store's handler once it is installed.
import init from "./nexus-store.js";

const early = [];
self.onmessage = (event) => early.push(event.data);

await init({ module_or_path: "./nexus-store_bg.wasm" });

const handler = self.onmessage;
for (const data of early) handler({ data });
