// The storage worker: its own wasm module (`src/bin/nexus-store.rs`), serving the SQLite store
// (OPFS) to the page.
//
// The page creates this worker while it renders its first frame and posts `true` once that
// frame is painted: compiling SQLite's module on a second thread would otherwise compete with
// the first paint for the CPU. (A worker restarted after a cancelled operation is told at once.)
// Requests posted before the module has loaded would be dropped with no listener, so they are
// held here and handed to the store's handler once it is installed.
import init from "./nexus-store.js";

const early = [];
let go;
const told = new Promise((resolve) => (go = resolve));
self.onmessage = (event) => (event.data === true ? go() : early.push(event.data));

await told;
await init({ module_or_path: "./nexus-store_bg.wasm" });

const handler = self.onmessage;
for (const data of early) handler({ data });
