// Starts compiling the page's module as soon as the head is parsed: the compilation streams
// while the module downloads, instead of waiting for app.js, the JS glue and its snippets to
// load (app.js hands the compiled module to the glue). A classic async script: it runs as soon
// as it arrives, before app.js (a module script, which waits for the whole document).
// If the host serves the module with another MIME type than application/wasm, streaming
// compilation refuses it and app.js lets the glue load it the slower way.
self.nexusModule = WebAssembly.compileStreaming(fetch("./opencode-nexus_bg.wasm"));
self.nexusModule.catch(() => {});
